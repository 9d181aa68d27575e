/* softmax.cu — softmax / log_softmax along an axis and their gradient ops
 * on the device, same formulas as core/ops/softmax.c (max-subtracted,
 * tl_expf_approx, logf of the sum):
 *   softmax:      y = e / sum e,  e = exp(x - max)
 *   log_softmax:  y = x - (max + log sum e)
 *   softmax_grad:     dx = y * (dy - sum(dy * y))
 *   log_softmax_grad: dx = dy - exp(y) * sum(dy)
 * The tensor is viewed as [outer, R, inner] around the axis: rows (inner ==
 * 1) take a warp (R <= 1024) or a block per row; otherwise one thread per
 * (outer, inner) column walks R with the CPU's column loop (ops-rules.h). */
#include "config.h"

#include "kernels.h"

enum { SM_FWD, SM_LOG, SM_GRAD, SM_LOG_GRAD };

/* a = x (forward) or dy (grad); b = y (grad only). */
template <int MODE, bool WARP>
static __global__ void __launch_bounds__ (512)
sm_rows_kernel (const float *__restrict__ a, const float *__restrict__ b, float *__restrict__ out, gint64 rows,
                gint64 R)
{
  __shared__ float shm[32];
  TL_CUDA_ROW_SETUP (WARP)
  for (gint64 row = first; row < rows; row += step) {
    const float *x = a + row * R;
    float *y = out + row * R;
    if (MODE == SM_FWD || MODE == SM_LOG) {
      float m = -INFINITY;
      for (gint64 r = t; r < R; r += per)
        m = x[r] > m ? x[r] : m;
      m = tl_cuda_row_max<WARP> (m, shm);
      float s = 0.0f;
      for (gint64 r = t; r < R; r += per)
        s += tl_expf_approx (x[r] - m);
      s = tl_cuda_row_sum<WARP> (s, shm);
      if (MODE == SM_LOG) {
        float lse = m + logf (s);
        for (gint64 r = t; r < R; r += per)
          y[r] = x[r] - lse;
      } else {
        float inv = 1.0f / s;
        for (gint64 r = t; r < R; r += per)
          y[r] = tl_expf_approx (x[r] - m) * inv;
      }
    } else {
      const float *yy = b + row * R;
      float acc = 0.0f;
      for (gint64 r = t; r < R; r += per)
        acc += MODE == SM_GRAD ? x[r] * yy[r] : x[r];
      acc = tl_cuda_row_sum<WARP> (acc, shm);
      for (gint64 r = t; r < R; r += per)
        y[r] = MODE == SM_GRAD ? yy[r] * (x[r] - acc) : x[r] - tl_expf_approx (yy[r]) * acc;
    }
    if (!WARP)
      __syncthreads ();
  }
}

template <int MODE>
static __global__ void
sm_cols_kernel (const float *__restrict__ a, const float *__restrict__ b, float *__restrict__ out, gint64 outer,
                gint64 R, gint64 inner)
{
  TL_CUDA_GRID_STRIDE (t, outer * inner) {
    gint64 o = t / inner, i = t % inner, base = o * R * inner + i;
    if (MODE == SM_FWD || MODE == SM_LOG)
      _tl_rule_softmax_col (a + base, out + base, R, inner, MODE == SM_LOG);
    else
      _tl_rule_softmax_grad_col (a + base, b + base, out + base, R, inner, MODE == SM_LOG_GRAD);
  }
}

template <int MODE>
static gboolean
sm_run (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, const char *what, GError **error)
{
  TlTensor *x = in[0];
  guint nd = tl_tensor_ndim (x);
  const gint64 *shape = tl_tensor_shape (x);
  gint64 outer, R, inner;
  tl_cuda_axis_split (ctx->attrs, nd, shape, &outer, &R, &inner);
  if (R == 0 || outer * inner == 0)
    return TRUE;
  const float *pa = (const float *) tl_tensor_const_data (in[0]);
  const float *pb = (MODE == SM_GRAD || MODE == SM_LOG_GRAD) ? (const float *) tl_tensor_const_data (in[1]) : NULL;
  float *py = (float *) tl_tensor_data (out[0]);
  cudaStream_t s = tl_cuda_stream ();
  if (inner == 1 && R <= 1024)
    sm_rows_kernel<MODE, true><<<tl_cuda_grid (outer * 32), TL_CUDA_BLOCK, 0, s>>> (pa, pb, py, outer, R);
  else if (inner == 1)
    sm_rows_kernel<MODE, false><<<(unsigned int) MIN (outer, (gint64) 65535), 512, 0, s>>> (pa, pb, py, outer, R);
  else
    sm_cols_kernel<MODE><<<tl_cuda_grid (outer * inner), TL_CUDA_BLOCK, 0, s>>> (pa, pb, py, outer, R, inner);
  return _tl_cuda_check_launch (what, error);
}

TL_CUDA_KERNEL_FN (softmax)
{
  return sm_run<SM_FWD> (ctx, in, out, "softmax", error);
}

TL_CUDA_KERNEL_FN (log_softmax)
{
  return sm_run<SM_LOG> (ctx, in, out, "log_softmax", error);
}

TL_CUDA_KERNEL_FN (softmax_grad)
{
  return sm_run<SM_GRAD> (ctx, in, out, "softmax_grad", error);
}

TL_CUDA_KERNEL_FN (log_softmax_grad)
{
  return sm_run<SM_LOG_GRAD> (ctx, in, out, "log_softmax_grad", error);
}
