/* pool.cu — max/avg pooling (1-D and 2-D) and their gradient ops on the
 * device, with the semantics of core/ops/pool.c: square windows, stride 0
 * meaning kernel, padding ignored by max (first maximum in row-major order
 * wins, the first NaN before it) and counted by avg (divides by
 * kernel*kernel). Forward: a thread per output. Gradients are gathers, a
 * thread per input element summing its windows in (oh, ow) order — the
 * order of the CPU's scatter, so results match it bit for bit, with no
 * atomics. max_pool*_grad first recomputes each window's argmax. */
#include "config.h"

#include "kernels.h"

typedef TlPoolGeom PoolGeom;

/* The geometry of core/ops/pool.c (ops-rules.h) for x of shape xs (validated by infer). */
static void
pool_geom (guint sp, const gint64 *xs, const TlAttrs *attrs, PoolGeom *p)
{
  _tl_rule_pool_geom (p, sp, xs, tl_attrs_get_int (attrs, "kernel", 0), tl_attrs_get_int (attrs, "stride", 0),
                      tl_attrs_get_int (attrs, "padding", 0));
}

/* Plane index of the window's maximum (first in row-major order, the first NaN wins). */
__device__ __forceinline__ gint64
window_argmax (const PoolGeom &p, const float *x, gint64 oh, gint64 ow)
{
  gint64 h0 = oh * p.sh - p.ph, w0 = ow * p.sw - p.pw;
  gint64 hs = MAX (h0, (gint64) 0), he = MIN (h0 + p.kh, p.H);
  gint64 ws = MAX (w0, (gint64) 0), we = MIN (w0 + p.kw, p.W);
  gint64 best = hs * p.W + ws;
  float m = x[best];
  for (gint64 ih = hs; ih < he; ih++)
    for (gint64 iw = ws; iw < we; iw++) {
      float v = x[ih * p.W + iw];
      if (v != v)
        return ih * p.W + iw;
      if (v > m) {
        m = v;
        best = ih * p.W + iw;
      }
    }
  return best;
}

template <bool MAX>
static __global__ void
pool_fwd_kernel (PoolGeom p, const float *__restrict__ x, float *__restrict__ y)
{
  gint64 ohw = p.OH * p.OW;
  float inv = 1.0f / (float) (p.kh * p.kw);
  TL_CUDA_GRID_STRIDE (t, p.planes * ohw) {
    gint64 pl = t / ohw, oh = (t % ohw) / p.OW, ow = t % p.OW;
    const float *xp = x + pl * p.H * p.W;
    if (MAX) {
      y[t] = xp[window_argmax (p, xp, oh, ow)];
    } else {
      gint64 h0 = oh * p.sh - p.ph, w0 = ow * p.sw - p.pw;
      float s = 0.0f;
      for (gint64 ih = MAX (h0, (gint64) 0); ih < MIN (h0 + p.kh, p.H); ih++)
        for (gint64 iw = MAX (w0, (gint64) 0); iw < MIN (w0 + p.kw, p.W); iw++)
          s += xp[ih * p.W + iw];
      y[t] = s * inv;
    }
  }
}

static __global__ void
pool_argmax_kernel (PoolGeom p, const float *__restrict__ x, gint64 *__restrict__ idx)
{
  gint64 ohw = p.OH * p.OW;
  TL_CUDA_GRID_STRIDE (t, p.planes * ohw) {
    gint64 pl = t / ohw, oh = (t % ohw) / p.OW, ow = t % p.OW;
    idx[t] = window_argmax (p, x + pl * p.H * p.W, oh, ow);
  }
}

/* Range of output positions whose window covers input position i. */
__device__ __forceinline__ void
covering (gint64 i, gint64 pad, gint64 k, gint64 s, gint64 n_out, gint64 *lo, gint64 *hi)
{
  gint64 num = i + pad - k + 1;
  *lo = num <= 0 ? 0 : (num + s - 1) / s;
  *hi = MIN ((i + pad) / s, n_out - 1);
}

/* dx[pl, ih, iw] = sum over covering windows (oh, ow ascending) of
 * max: dy where the window's argmax is (ih, iw); avg: dy * inv. */
template <bool MAX>
static __global__ void
pool_grad_kernel (PoolGeom p, const gint64 *__restrict__ idx, const float *__restrict__ dy, float *__restrict__ dx)
{
  gint64 hw = p.H * p.W, ohw = p.OH * p.OW;
  float inv = 1.0f / (float) (p.kh * p.kw);
  TL_CUDA_GRID_STRIDE (t, p.planes * hw) {
    gint64 pl = t / hw, ih = (t % hw) / p.W, iw = t % p.W, me = ih * p.W + iw;
    gint64 oh0, oh1, ow0, ow1;
    covering (ih, p.ph, p.kh, p.sh, p.OH, &oh0, &oh1);
    covering (iw, p.pw, p.kw, p.sw, p.OW, &ow0, &ow1);
    const float *d = dy + pl * ohw;
    float acc = 0.0f;
    for (gint64 oh = oh0; oh <= oh1; oh++)
      for (gint64 ow = ow0; ow <= ow1; ow++) {
        if (MAX) {
          if (idx[pl * ohw + oh * p.OW + ow] == me)
            acc += d[oh * p.OW + ow];
        } else {
          acc += d[oh * p.OW + ow] * inv;
        }
      }
    dx[t] = acc;
  }
}

static gboolean
pool_fwd (guint sp, gboolean is_max, const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out,
          const char *op, GError **error)
{
  PoolGeom p;
  pool_geom (sp, tl_tensor_shape (in[0]), ctx->attrs, &p);
  gint64 n = p.planes * p.OH * p.OW;
  if (n <= 0)
    return TRUE;
  const float *x = (const float *) tl_tensor_const_data (in[0]);
  float *y = (float *) tl_tensor_data (out[0]);
  if (is_max)
    pool_fwd_kernel<true><<<tl_cuda_grid (n), TL_CUDA_BLOCK, 0, tl_cuda_stream ()>>> (p, x, y);
  else
    pool_fwd_kernel<false><<<tl_cuda_grid (n), TL_CUDA_BLOCK, 0, tl_cuda_stream ()>>> (p, x, y);
  return _tl_cuda_check_launch (op, error);
}

/* max: (x, dy) -> dx; avg: (dy) attr input_shape -> dx. */
static gboolean
pool_grad (guint sp, gboolean is_max, const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out,
           const char *op, GError **error)
{
  PoolGeom p;
  pool_geom (sp, tl_tensor_shape (out[0]), ctx->attrs, &p);
  gint64 n = p.planes * p.H * p.W, nout = p.planes * p.OH * p.OW;
  float *dx = (float *) tl_tensor_data (out[0]);
  if (n <= 0)
    return TRUE;
  if (nout <= 0)
    return _tl_cuda_kern_zero (dx, tl_tensor_nbytes (out[0]), op, error);
  cudaStream_t s = tl_cuda_stream ();
  if (!is_max) {
    pool_grad_kernel<false><<<tl_cuda_grid (n), TL_CUDA_BLOCK, 0, s>>> (
      p, NULL, (const float *) tl_tensor_const_data (in[0]), dx);
    return _tl_cuda_check_launch (op, error);
  }
  gint64 *idx = (gint64 *) _tl_cuda_scratch ((gsize) nout * sizeof (gint64), error);
  if (!idx)
    return FALSE;
  pool_argmax_kernel<<<tl_cuda_grid (nout), TL_CUDA_BLOCK, 0, s>>> (p, (const float *) tl_tensor_const_data (in[0]),
                                                                    idx);
  if (!_tl_cuda_check_launch (op, error))
    return FALSE;
  pool_grad_kernel<true><<<tl_cuda_grid (n), TL_CUDA_BLOCK, 0, s>>> (
    p, idx, (const float *) tl_tensor_const_data (in[1]), dx);
  return _tl_cuda_check_launch (op, error);
}

#define POOL_KERNELS(KIND, SP, IS_MAX)                                                          \
  TL_CUDA_KERNEL_FN (KIND##_pool##SP##d)                                                        \
  {                                                                                             \
    return pool_fwd (SP, IS_MAX, ctx, in, out, #KIND "_pool" #SP "d", error);                   \
  }                                                                                             \
  TL_CUDA_KERNEL_FN (KIND##_pool##SP##d_grad)                                                   \
  {                                                                                             \
    return pool_grad (SP, IS_MAX, ctx, in, out, #KIND "_pool" #SP "d_grad", error);             \
  }

POOL_KERNELS (max, 1, TRUE)
POOL_KERNELS (avg, 1, FALSE)
POOL_KERNELS (max, 2, TRUE)
POOL_KERNELS (avg, 2, FALSE)
