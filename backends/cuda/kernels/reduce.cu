/* reduce.cu — the reduction family on the device: sum, mean, max and sum_to
 * through one engine (_tl_cuda_kern_reduce), and argmax.
 *
 * Like core/ops/reduce.c, a reduction over any set of axes runs as passes
 * over [outer, R, inner], innermost reduced group first. Each pass is one
 * of two kernels: rows (inner == 1; a warp or a block per row) or columns
 * (inner > 1; a thread per output column, coalesced). When the output is
 * too small to fill the GPU, R is cut into S fixed segments whose partial
 * results are reduced by a second pass. The structure depends only on the
 * shapes, so results are deterministic (the summation order differs from
 * the CPU's: parity is within fp32 rounding, 1e-4 relative in the tests). */
#include "config.h"

#include "kernels.h"

template <bool MAX>
__device__ __forceinline__ float
combine (float a, float b)
{
  return MAX ? (b > a ? b : a) : a + b;
}

template <bool MAX>
__device__ __forceinline__ float
identity (void)
{
  return MAX ? -INFINITY : 0.0f;
}

template <bool MAX>
__device__ __forceinline__ float
warp_reduce (float v)
{
  return MAX ? tl_cuda_warp_max (v) : tl_cuda_warp_sum (v);
}

/* Rows, one warp per (row, segment): y[o * S + s] = reduce x[o, seg s]. */
template <bool MAX>
static __global__ void
rows_warp_kernel (const float *__restrict__ x, float *__restrict__ y, gint64 outer, gint64 R, gint64 S, gint64 seg,
                  float scale)
{
  int lane = threadIdx.x & 31;
  TL_CUDA_WARP_STRIDE (w, outer * S) {
    gint64 o = w / S, s = w % S;
    gint64 r0 = s * seg, r1 = MIN (R, r0 + seg);
    const float *xr = x + o * R;
    float acc = identity<MAX> ();
    for (gint64 r = r0 + lane; r < r1; r += 32)
      acc = combine<MAX> (acc, xr[r]);
    acc = warp_reduce<MAX> (acc);
    if (lane == 0)
      y[w] = MAX ? acc : acc * scale;
  }
}

/* Rows, one block per (row, segment). */
template <bool MAX>
static __global__ void
rows_block_kernel (const float *__restrict__ x, float *__restrict__ y, gint64 outer, gint64 R, gint64 S, gint64 seg,
                   float scale)
{
  __shared__ float shm[32];
  for (gint64 w = blockIdx.x; w < outer * S; w += gridDim.x) {
    gint64 o = w / S, s = w % S;
    gint64 r0 = s * seg, r1 = MIN (R, r0 + seg);
    const float *xr = x + o * R;
    float acc = identity<MAX> ();
    for (gint64 r = r0 + threadIdx.x; r < r1; r += blockDim.x)
      acc = combine<MAX> (acc, xr[r]);
    acc = MAX ? tl_cuda_block_max (acc, shm) : tl_cuda_block_sum (acc, shm);
    if (threadIdx.x == 0)
      y[w] = MAX ? acc : acc * scale;
    __syncthreads ();
  }
}

/* Columns: y[(o * S + s) * inner + i] = reduce over r in segment s of x[o, r, i]. */
template <bool MAX>
static __global__ void
cols_kernel (const float *__restrict__ x, float *__restrict__ y, gint64 outer, gint64 R, gint64 inner, gint64 S,
             gint64 seg, float scale)
{
  gint64 n = outer * S * inner;
  TL_CUDA_GRID_STRIDE (t, n) {
    gint64 i = t % inner, w = t / inner;
    gint64 o = w / S, s = w % S;
    gint64 r0 = s * seg, r1 = MIN (R, r0 + seg);
    const float *xp = x + (o * R) * inner + i;
    float acc = identity<MAX> ();
    for (gint64 r = r0; r < r1; r++)
      acc = combine<MAX> (acc, xp[r * inner]);
    y[t] = MAX ? acc : acc * scale;
  }
}

/* Segments for a pass: enough work items to fill the device. */
static gint64
n_segments (gint64 outer, gint64 R, gint64 inner)
{
  gint64 sms = MAX (_tl_cuda_sm_count (), 1);
  if (inner == 1) {
    gint64 want = (sms * 8 + outer - 1) / outer;
    return CLAMP (want, 1, MAX ((gint64) 1, R / 4096));
  }
  gint64 want = (sms * 2048 + outer * inner - 1) / (outer * inner);
  return CLAMP (want, 1, MAX ((gint64) 1, R / 64));
}

static void
launch_pass (gboolean is_max, const float *x, float *y, gint64 outer, gint64 R, gint64 inner, gint64 S, float scale)
{
  cudaStream_t st = tl_cuda_stream ();
  gint64 seg = (R + S - 1) / S;
  if (inner == 1) {
    gint64 items = outer * S;
    if (seg <= 2048) {
      unsigned int grid = tl_cuda_grid (items * 32);
      if (is_max)
        rows_warp_kernel<true><<<grid, TL_CUDA_BLOCK, 0, st>>> (x, y, outer, R, S, seg, scale);
      else
        rows_warp_kernel<false><<<grid, TL_CUDA_BLOCK, 0, st>>> (x, y, outer, R, S, seg, scale);
    } else {
      unsigned int grid = (unsigned int) MIN (items, (gint64) MAX (_tl_cuda_sm_count (), 1) * 32);
      if (is_max)
        rows_block_kernel<true><<<grid, TL_CUDA_BLOCK, 0, st>>> (x, y, outer, R, S, seg, scale);
      else
        rows_block_kernel<false><<<grid, TL_CUDA_BLOCK, 0, st>>> (x, y, outer, R, S, seg, scale);
    }
  } else {
    unsigned int grid = tl_cuda_grid (outer * S * inner);
    if (is_max)
      cols_kernel<true><<<grid, TL_CUDA_BLOCK, 0, st>>> (x, y, outer, R, inner, S, seg, scale);
    else
      cols_kernel<false><<<grid, TL_CUDA_BLOCK, 0, st>>> (x, y, outer, R, inner, S, seg, scale);
  }
}

static __global__ void
scale_kernel (float *y, gint64 n, float s)
{
  TL_CUDA_GRID_STRIDE (i, n)
    y[i] *= s;
}

gboolean
_tl_cuda_kern_reduce (const float *x, guint ndim, const gint64 *shape, const gboolean *mask, float *y,
                      gboolean is_max, float scale, const char *what, GError **error)
{
  gint64 gsz[TL_MAX_DIMS], total, ny;
  gboolean gred[TL_MAX_DIMS];
  int n_red;
  guint ng = _tl_rule_reduce_groups (ndim, shape, mask, gsz, gred, &total, &ny, &n_red);
  if (total == 0)
    return _tl_cuda_kern_zero (y, (gsize) ny * sizeof (float), what, error);
  if (n_red == 0) {
    if (!_tl_cuda_kern_copy (y, x, (gsize) total * sizeof (float), what, error))
      return FALSE;
    if (!is_max && scale != 1.0f) {
      scale_kernel<<<tl_cuda_grid (total), TL_CUDA_BLOCK, 0, tl_cuda_stream ()>>> (y, total, scale);
      return _tl_cuda_check_launch (what, error);
    }
    return TRUE;
  }
  /* plan the passes to size the scratch: two ping-pong buffers + partials */
  gint64 sizes[TL_MAX_DIMS];
  memcpy (sizes, gsz, sizeof sizes);
  gint64 max_mid = 0, max_part = 0;
  {
    gint left = n_red;
    for (gint gi = (gint) ng - 1; gi >= 0; gi--) {
      if (!gred[gi])
        continue;
      gint64 outer, R, inner;
      _tl_rule_reduce_pass (ng, sizes, (guint) gi, &outer, &R, &inner);
      gint64 S = n_segments (outer, R, inner);
      if (S > 1)
        max_part = MAX (max_part, outer * S * inner);
      if (--left > 0)
        max_mid = MAX (max_mid, outer * inner);
      sizes[gi] = 1;
    }
  }
  float *scratch = NULL;
  if (max_mid + max_part > 0) {
    scratch = (float *) _tl_cuda_scratch ((gsize) (2 * max_mid + max_part) * sizeof (float), error);
    if (!scratch)
      return FALSE;
  }
  float *mid[2] = { scratch, scratch + max_mid };
  float *part = scratch + 2 * max_mid;
  const float *src = x;
  gint left = n_red, flip = 0;
  for (gint gi = (gint) ng - 1; gi >= 0; gi--) {
    if (!gred[gi])
      continue;
    gint64 outer, R, inner;
    _tl_rule_reduce_pass (ng, gsz, (guint) gi, &outer, &R, &inner);
    gboolean last = --left == 0;
    float *dst = last ? y : mid[flip];
    float sc = last ? scale : 1.0f;
    gint64 S = n_segments (outer, R, inner);
    if (S > 1) {
      launch_pass (is_max, src, part, outer, R, inner, S, 1.0f);
      launch_pass (is_max, part, dst, outer, S, inner, 1, sc);
    } else {
      launch_pass (is_max, src, dst, outer, R, inner, 1, sc);
    }
    if (!_tl_cuda_check_launch (what, error))
      return FALSE;
    src = dst;
    flip ^= 1;
    gsz[gi] = 1;
  }
  return TRUE;
}

/* --- sum / mean / max / sum_to ------------------------------------------------- */

/* The reduced axes of core/ops/reduce.c (ops-rules.h); the attr validated by
 * infer. mask is filled whatever the status. */
static void
axes_mask (const TlAttrs *attrs, guint ndim, gboolean *mask)
{
  guint n = 0, bad;
  const gint64 *axes = tl_attrs_get_ints (attrs, "axes", &n);
  _tl_rule_axes_mask (ndim, axes, n, mask, &bad);
}

static gboolean
reduce_op (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, gboolean is_max, gboolean mean,
           const char *what, GError **error)
{
  gboolean mask[TL_MAX_DIMS];
  TlTensor *x = in[0];
  axes_mask (ctx->attrs, tl_tensor_ndim (x), mask);
  gint64 nx = tl_tensor_numel (x), ny = tl_tensor_numel (out[0]);
  if (is_max && nx == 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "max: reduction of an empty tensor");
    return FALSE;
  }
  float scale = mean ? _tl_rule_mean_scale (nx, ny) : 1.0f;
  return _tl_cuda_kern_reduce ((const float *) tl_tensor_const_data (x), tl_tensor_ndim (x), tl_tensor_shape (x),
                               mask, (float *) tl_tensor_data (out[0]), is_max, scale, what, error);
}

TL_CUDA_KERNEL_FN (sum)
{
  return reduce_op (ctx, in, out, FALSE, FALSE, "sum", error);
}

TL_CUDA_KERNEL_FN (mean)
{
  return reduce_op (ctx, in, out, FALSE, TRUE, "mean", error);
}

TL_CUDA_KERNEL_FN (max)
{
  return reduce_op (ctx, in, out, TRUE, FALSE, "max", error);
}

TL_CUDA_KERNEL_FN (sum_to)
{
  (void) ctx;
  TlTensor *x = in[0];
  gboolean mask[TL_MAX_DIMS];
  _tl_rule_sum_to_mask_of (x, out[0], mask);
  return _tl_cuda_kern_reduce ((const float *) tl_tensor_const_data (x), tl_tensor_ndim (x), tl_tensor_shape (x),
                               mask, (float *) tl_tensor_data (out[0]), FALSE, 1.0f, "sum_to", error);
}

/* --- argmax ------------------------------------------------------------------------ */

/* Column layout: one thread per (o, i), the CPU loop (first strict maximum). */
static __global__ void
argmax_cols_kernel (const float *__restrict__ x, gint64 *__restrict__ y, gint64 outer, gint64 R, gint64 inner)
{
  TL_CUDA_GRID_STRIDE (t, outer * inner) {
    gint64 o = t / inner, i = t % inner;
    y[t] = _tl_rule_argmax_col (x + o * R * inner + i, R, inner);
  }
}

/* Rows (inner == 1): a warp per row. Same result as the CPU loop: index 0
 * when x[0] is NaN, else the first index of the largest non-NaN value. */
static __global__ void
argmax_rows_kernel (const float *__restrict__ x, gint64 *__restrict__ y, gint64 outer, gint64 R)
{
  int lane = threadIdx.x & 31;
  TL_CUDA_WARP_STRIDE (o, outer) {
    const float *p = x + o * R;
    float bv = -INFINITY;
    gint64 bi = R;
    for (gint64 r = lane; r < R; r += 32) {
      float v = p[r];
      if (v > bv || (bi == R && !isnan (v))) {
        bv = v;
        bi = r;
      }
    }
    for (int off = 16; off > 0; off >>= 1) {
      float ov = __shfl_xor_sync (0xffffffffu, bv, off);
      gint64 oi = __shfl_xor_sync (0xffffffffu, bi, off);
      if (oi != R && (bi == R || ov > bv || (ov == bv && oi < bi))) {
        bv = ov;
        bi = oi;
      }
    }
    if (lane == 0)
      y[o] = (isnan (p[0]) || bi == R) ? 0 : bi;
  }
}

TL_CUDA_KERNEL_FN (argmax)
{
  TlTensor *x = in[0];
  guint nd = tl_tensor_ndim (x);
  const gint64 *shape = tl_tensor_shape (x);
  gint64 outer, R, inner;
  tl_cuda_axis_split (ctx->attrs, nd, shape, &outer, &R, &inner);
  if (outer * inner == 0)
    return TRUE;
  const float *px = (const float *) tl_tensor_const_data (x);
  gint64 *py = (gint64 *) tl_tensor_data (out[0]);
  if (inner == 1)
    argmax_rows_kernel<<<tl_cuda_grid (outer * 32), TL_CUDA_BLOCK, 0, tl_cuda_stream ()>>> (px, py, outer, R);
  else
    argmax_cols_kernel<<<tl_cuda_grid (outer * inner), TL_CUDA_BLOCK, 0, tl_cuda_stream ()>>> (px, py, outer, R,
                                                                                               inner);
  return _tl_cuda_check_launch ("argmax", error);
}
