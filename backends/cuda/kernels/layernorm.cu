/* layernorm.cu — "layer_norm" over the last axis and its fused gradient
 * "layer_norm_grad" (dx, dgamma, dbeta) on the device, same arithmetic as
 * core/ops/layernorm.c: row statistics accumulated in double, the
 * per-element float operations rounded one by one (no fused multiply-add),
 * so y and dx match the CPU to an ulp. dgamma/dbeta are summed per fixed
 * chunk of rows and the chunks combined in order: deterministic, with a
 * chunking different from the CPU's (parity within fp32 rounding).
 *
 * Inputs: x[, gamma][, beta] (attrs has_gamma/has_beta, eps); the gradient
 * takes dy, x[, gamma]. A row goes to one warp (D <= 1024) or one block. */
#include "config.h"

#include "kernels.h"

/* mean and 1/sqrt(var + eps) of x[0..D) as row_stats in layernorm.c. */
template <bool WARP>
__device__ __forceinline__ void
row_stats (const float *x, gint64 D, float eps, int t, int per, double *shm, float *mean, float *rstd)
{
  double s = 0.0;
  for (gint64 j = t; j < D; j += per)
    s += x[j];
  s = tl_cuda_row_sum<WARP> (s, shm);
  double m = D ? s / (double) D : 0.0;
  double ss = 0.0;
  for (gint64 j = t; j < D; j += per) {
    double d = x[j] - m;
    ss += d * d;
  }
  ss = tl_cuda_row_sum<WARP> (ss, shm);
  *mean = (float) m;
  *rstd = (float) (1.0 / sqrt ((D ? ss / (double) D : 0.0) + eps));
}

#define ROW_LOOP_SETUP                                                                          \
  __shared__ double shm[32];                                                                    \
  TL_CUDA_ROW_SETUP (WARP)

template <bool WARP>
static __global__ void __launch_bounds__ (512)
ln_fwd_kernel (const float *__restrict__ xs, const float *__restrict__ gamma, const float *__restrict__ beta,
               float *__restrict__ ys, gint64 rows, gint64 D, float eps)
{
  ROW_LOOP_SETUP
  for (gint64 r = first; r < rows; r += step) {
    const float *x = xs + r * D;
    float *y = ys + r * D;
    float mean, rstd;
    row_stats<WARP> (x, D, eps, t, per, shm, &mean, &rstd);
    for (gint64 j = t; j < D; j += per) {
      float v = __fmul_rn (__fsub_rn (x[j], mean), rstd);
      if (gamma)
        v = __fmul_rn (v, gamma[j]);
      if (beta)
        v = __fadd_rn (v, beta[j]);
      y[j] = v;
    }
    if (!WARP)
      __syncthreads ();
  }
}

template <bool WARP>
static __global__ void __launch_bounds__ (512)
ln_dx_kernel (const float *__restrict__ dys, const float *__restrict__ xs, const float *__restrict__ gamma,
              float *__restrict__ dxs, float *__restrict__ means, float *__restrict__ rstds, gint64 rows, gint64 D,
              float eps)
{
  ROW_LOOP_SETUP
  for (gint64 r = first; r < rows; r += step) {
    const float *x = xs + r * D, *dy = dys + r * D;
    float *dx = dxs + r * D;
    float mean, rstd;
    row_stats<WARP> (x, D, eps, t, per, shm, &mean, &rstd);
    double sg = 0.0, sgx = 0.0;
    for (gint64 j = t; j < D; j += per) {
      float xh = __fmul_rn (__fsub_rn (x[j], mean), rstd);
      float gj = gamma ? __fmul_rn (dy[j], gamma[j]) : dy[j];
      sg += gj;
      sgx += __fmul_rn (gj, xh);
    }
    sg = tl_cuda_row_sum<WARP> (sg, shm);
    sgx = tl_cuda_row_sum<WARP> (sgx, shm);
    float mg = (float) (sg / (double) D), mgx = (float) (sgx / (double) D);
    for (gint64 j = t; j < D; j += per) {
      float xh = __fmul_rn (__fsub_rn (x[j], mean), rstd);
      float gj = gamma ? __fmul_rn (dy[j], gamma[j]) : dy[j];
      dx[j] = __fmul_rn (rstd, __fsub_rn (__fsub_rn (gj, mg), __fmul_rn (xh, mgx)));
    }
    if (t == 0) {
      means[r] = mean;
      rstds[r] = rstd;
    }
    if (!WARP)
      __syncthreads ();
  }
}

/* partial[c][0][j] = sum over rows of chunk c of dy * xh; partial[c][1][j] = sum of dy. */
static __global__ void
ln_dgb_partial_kernel (const float *__restrict__ dy, const float *__restrict__ x, const float *__restrict__ means,
                       const float *__restrict__ rstds, float *__restrict__ partial, gint64 rows, gint64 D,
                       gint64 rows_per_chunk)
{
  gint64 c = blockIdx.y;
  gint64 r0 = c * rows_per_chunk, r1 = MIN (rows, r0 + rows_per_chunk);
  for (gint64 j = (gint64) blockIdx.x * blockDim.x + threadIdx.x; j < D; j += (gint64) gridDim.x * blockDim.x) {
    float dg = 0.0f, db = 0.0f;
    for (gint64 r = r0; r < r1; r++) {
      float g = dy[r * D + j];
      float xh = __fmul_rn (__fsub_rn (x[r * D + j], means[r]), rstds[r]);
      dg = __fadd_rn (dg, __fmul_rn (g, xh));
      db = __fadd_rn (db, g);
    }
    partial[(c * 2) * D + j] = dg;
    partial[(c * 2 + 1) * D + j] = db;
  }
}

static __global__ void
ln_dgb_final_kernel (const float *__restrict__ partial, float *__restrict__ dg, float *__restrict__ db, gint64 D,
                     gint64 n_chunks)
{
  TL_CUDA_GRID_STRIDE (j, D) {
    float g = 0.0f, b = 0.0f;
    for (gint64 c = 0; c < n_chunks; c++) {
      g += partial[(c * 2) * D + j];
      b += partial[(c * 2 + 1) * D + j];
    }
    dg[j] = g;
    db[j] = b;
  }
}

TL_CUDA_KERNEL_FN (layer_norm)
{
  gboolean hg, hb;
  float eps;
  gint64 D, rows;
  _tl_rule_ln_setup (ctx->attrs, in[0], &hg, &hb, &eps, &D, &rows);
  if (rows == 0)
    return TRUE;
  const float *x = (const float *) tl_tensor_const_data (in[0]);
  const float *gamma = hg ? (const float *) tl_tensor_const_data (in[1]) : NULL;
  const float *beta = hb ? (const float *) tl_tensor_const_data (in[1 + hg]) : NULL;
  float *y = (float *) tl_tensor_data (out[0]);
  cudaStream_t s = tl_cuda_stream ();
  if (D <= 1024)
    ln_fwd_kernel<true><<<tl_cuda_grid (rows * 32), TL_CUDA_BLOCK, 0, s>>> (x, gamma, beta, y, rows, D, eps);
  else
    ln_fwd_kernel<false><<<(unsigned int) MIN (rows, (gint64) 65535), 512, 0, s>>> (x, gamma, beta, y, rows, D,
                                                                                   eps);
  return _tl_cuda_check_launch ("layer_norm", error);
}

TL_CUDA_KERNEL_FN (layer_norm_grad)
{
  gboolean hg, hb;
  float eps;
  gint64 D, rows;
  _tl_rule_ln_setup (ctx->attrs, in[1], &hg, &hb, &eps, &D, &rows);
  float *dx = (float *) tl_tensor_data (out[0]);
  float *dg = (float *) tl_tensor_data (out[1]), *db = (float *) tl_tensor_data (out[2]);
  if (rows == 0) {
    return _tl_cuda_kern_zero (dg, (gsize) D * sizeof (float), "layer_norm_grad", error)
           && _tl_cuda_kern_zero (db, (gsize) D * sizeof (float), "layer_norm_grad", error);
  }
  const float *dy = (const float *) tl_tensor_const_data (in[0]);
  const float *x = (const float *) tl_tensor_const_data (in[1]);
  const float *gamma = hg ? (const float *) tl_tensor_const_data (in[2]) : NULL;
  /* chunks: enough column-thread blocks to fill the device, >= 16 rows each */
  gint64 col_blocks = (D + TL_CUDA_BLOCK - 1) / TL_CUDA_BLOCK;
  gint64 want = MAX ((gint64) 1, (gint64) MAX (_tl_cuda_sm_count (), 1) * 8 / col_blocks);
  gint64 n_chunks = CLAMP (want, 1, MAX ((gint64) 1, MIN (rows / 16, (gint64) 65535)));
  gint64 rpc = (rows + n_chunks - 1) / n_chunks;
  n_chunks = (rows + rpc - 1) / rpc;
  float *scratch = (float *) _tl_cuda_scratch ((gsize) (2 * rows + 2 * n_chunks * D) * sizeof (float), error);
  if (!scratch)
    return FALSE;
  float *means = scratch, *rstds = scratch + rows, *partial = scratch + 2 * rows;
  cudaStream_t s = tl_cuda_stream ();
  if (D <= 1024)
    ln_dx_kernel<true><<<tl_cuda_grid (rows * 32), TL_CUDA_BLOCK, 0, s>>> (dy, x, gamma, dx, means, rstds, rows, D,
                                                                           eps);
  else
    ln_dx_kernel<false><<<(unsigned int) MIN (rows, (gint64) 65535), 512, 0, s>>> (dy, x, gamma, dx, means, rstds,
                                                                                  rows, D, eps);
  if (!_tl_cuda_check_launch ("layer_norm_grad (dx)", error))
    return FALSE;
  dim3 grid ((unsigned int) MIN (col_blocks, (gint64) 65535), (unsigned int) n_chunks);
  ln_dgb_partial_kernel<<<grid, TL_CUDA_BLOCK, 0, s>>> (dy, x, means, rstds, partial, rows, D, rpc);
  if (!_tl_cuda_check_launch ("layer_norm_grad (partial dgamma/dbeta)", error))
    return FALSE;
  ln_dgb_final_kernel<<<tl_cuda_grid (D), TL_CUDA_BLOCK, 0, s>>> (partial, dg, db, D, n_chunks);
  return _tl_cuda_check_launch ("layer_norm_grad (dgamma/dbeta)", error);
}
