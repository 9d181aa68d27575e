/* loss.cu — mean-reduced losses on the device, same formulas as
 * core/ops/loss.c (sums in double): cross_entropy (labels < 0 ignored),
 * bce_with_logits (stable form), mse, and the gradient ops
 * cross_entropy_grad and bce_with_logits_grad. Everything stays on the
 * device: the 0-d dy is read by the kernels, the label count is computed on
 * the device. Sums run in a fixed order (deterministic).
 *
 * A label >= C (the CPU kernels' TL_ERROR_INVALID_ARGUMENT) is recorded in
 * the stream's fault record (tl_cuda_fault_raise, kernels.h) and reported
 * by the host at its next wait for the stream, naming the label, its row
 * and C (cuda-runtime.c); the loss (and the gradient row) is NaN meanwhile.
 * Negative labels are ignored, as on the CPU. */
#include "config.h"

#include "kernels.h"

#define FINAL_THREADS 1024
#define PAIR_BLOCKS 1024

/* Across a warp (lane 0..31): m = max of xr[0..C), s = sum of exp(xr - m) in double. */
__device__ __forceinline__ void
warp_row_max_sumexp (const float *xr, gint64 C, int lane, float *m_out, double *s_out)
{
  float m = -INFINITY;
  for (gint64 j = lane; j < C; j += 32)
    m = xr[j] > m ? xr[j] : m;
  m = tl_cuda_warp_max (m);
  double s = 0.0;
  for (gint64 j = lane; j < C; j += 32)
    s += exp ((double) xr[j] - m);
  *m_out = m;
  *s_out = tl_cuda_warp_sum (s);
}

/* Per row: loss[r] = lse(x[r]) - x[r, label] in double, valid[r] = label >= 0. */
static __global__ void
ce_rows_kernel (const float *__restrict__ x, const void *labels, bool i64, gint64 N, gint64 C,
                double *__restrict__ loss, int *__restrict__ valid, TlCudaFault *fault)
{
  int lane = threadIdx.x & 31;
  TL_CUDA_WARP_STRIDE (r, N) {
    gint64 l = tl_cuda_index (labels, i64, r);
    const float *xr = x + r * C;
    if (l < 0 || l >= C) {
      if (lane == 0) {
        loss[r] = l < 0 ? 0.0 : (double) NAN;
        valid[r] = l >= 0;
        if (l >= C)
          tl_cuda_fault_raise (fault, TL_CUDA_FAULT_LABEL, l, C, r);
      }
      continue;
    }
    float m;
    double s;
    warp_row_max_sumexp (xr, C, lane, &m, &s);
    if (lane == 0) {
      loss[r] = (m + log (s)) - xr[l];
      valid[r] = 1;
    }
  }
}

/* out = count > 0 ? sum(loss) / count : 0 (one block). */
static __global__ void __launch_bounds__ (FINAL_THREADS)
ce_final_kernel (const double *__restrict__ loss, const int *__restrict__ valid, gint64 N, float *__restrict__ out)
{
  __shared__ double shm[32];
  __shared__ gint64 shc[32];
  double s = 0.0;
  gint64 c = 0;
  for (gint64 r = threadIdx.x; r < N; r += blockDim.x) {
    s += loss[r];
    c += valid[r];
  }
  s = tl_cuda_block_sum (s, shm);
  c = tl_cuda_block_sum (c, shc);
  if (threadIdx.x == 0)
    *out = c > 0 ? (float) (s / (double) c) : 0.0f;
}

/* scale = count > 0 ? dy / (float) count : 0, count = labels >= 0 (one block). */
static __global__ void __launch_bounds__ (FINAL_THREADS)
ce_scale_kernel (const float *__restrict__ dy, const void *labels, bool i64, gint64 N, float *__restrict__ scale)
{
  __shared__ gint64 shc[32];
  gint64 c = 0;
  for (gint64 r = threadIdx.x; r < N; r += blockDim.x)
    c += tl_cuda_index (labels, i64, r) >= 0;
  c = tl_cuda_block_sum (c, shc);
  if (threadIdx.x == 0)
    *scale = c > 0 ? *dy / (float) c : 0.0f;
}

static __global__ void
ce_grad_rows_kernel (const float *__restrict__ x, const void *labels, bool i64, gint64 N, gint64 C,
                     const float *__restrict__ scale_p, float *__restrict__ dx, TlCudaFault *fault)
{
  int lane = threadIdx.x & 31;
  float scale = *scale_p;
  TL_CUDA_WARP_STRIDE (r, N) {
    gint64 l = tl_cuda_index (labels, i64, r);
    const float *xr = x + r * C;
    float *dr = dx + r * C;
    if (l < 0 || l >= C) {
      for (gint64 j = lane; j < C; j += 32)
        dr[j] = l < 0 ? 0.0f : NAN;
      if (l >= C && lane == 0)
        tl_cuda_fault_raise (fault, TL_CUDA_FAULT_LABEL, l, C, r);
      continue;
    }
    float m;
    double s;
    warp_row_max_sumexp (xr, C, lane, &m, &s);
    double lse = m + log (s);
    for (gint64 j = lane; j < C; j += 32) {
      float v = __fmul_rn ((float) exp ((double) xr[j] - lse), scale);
      dr[j] = j == l ? __fsub_rn (v, scale) : v;
    }
  }
}

static gboolean
ce_setup (TlTensor *x, TlTensor *labels, gint64 *N, gint64 *C, bool *i64)
{
  *N = tl_tensor_dim (x, 0);
  *C = tl_tensor_dim (x, 1);
  *i64 = tl_tensor_dtype (labels) == TL_DTYPE_I64;
  return TRUE;
}

TL_CUDA_KERNEL_FN (cross_entropy)
{
  (void) ctx;
  gint64 N, C;
  bool i64;
  ce_setup (in[0], in[1], &N, &C, &i64);
  float *y = (float *) tl_tensor_data (out[0]);
  if (N == 0)
    return _tl_cuda_kern_zero (y, sizeof (float), "cross_entropy", error);
  void *scratch = _tl_cuda_scratch ((gsize) N * (sizeof (double) + sizeof (int)), error);
  if (!scratch)
    return FALSE;
  double *loss = (double *) scratch;
  int *valid = (int *) (loss + N);
  cudaStream_t s = tl_cuda_stream ();
  ce_rows_kernel<<<tl_cuda_grid (N * 32), TL_CUDA_BLOCK, 0, s>>> ((const float *) tl_tensor_const_data (in[0]),
                                                                  tl_tensor_const_data (in[1]), i64, N, C, loss,
                                                                  valid, _tl_cuda_fault ());
  if (!_tl_cuda_check_launch ("cross_entropy (rows)", error))
    return FALSE;
  ce_final_kernel<<<1, FINAL_THREADS, 0, s>>> (loss, valid, N, y);
  return _tl_cuda_check_launch ("cross_entropy", error);
}

TL_CUDA_KERNEL_FN (cross_entropy_grad)
{
  (void) ctx;
  gint64 N, C;
  bool i64;
  ce_setup (in[1], in[2], &N, &C, &i64);
  /* C == 0 with rows still runs: every label >= 0 is out of range, as on the CPU */
  if (N == 0)
    return TRUE;
  float *scale = (float *) _tl_cuda_scratch (sizeof (float), error);
  if (!scale)
    return FALSE;
  cudaStream_t s = tl_cuda_stream ();
  ce_scale_kernel<<<1, FINAL_THREADS, 0, s>>> ((const float *) tl_tensor_const_data (in[0]),
                                               tl_tensor_const_data (in[2]), i64, N, scale);
  if (!_tl_cuda_check_launch ("cross_entropy_grad (count)", error))
    return FALSE;
  ce_grad_rows_kernel<<<tl_cuda_grid (N * 32), TL_CUDA_BLOCK, 0, s>>> (
    (const float *) tl_tensor_const_data (in[1]), tl_tensor_const_data (in[2]), i64, N, C, scale,
    (float *) tl_tensor_data (out[0]), _tl_cuda_fault ());
  return _tl_cuda_check_launch ("cross_entropy_grad", error);
}

/* --- bce_with_logits / mse: mean of a per-element term in double ---------------- */

struct BceTerm {
  __device__ __forceinline__ double operator() (double x, double t) const
  {
    return (x > 0 ? x : 0) - x * t + log1p (exp (-fabs (x)));
  }
};

struct MseTerm {
  __device__ __forceinline__ double operator() (double x, double t) const
  {
    double d = x - t;
    return d * d;
  }
};

/* partial[block] = sum of term over the block's grid-stride share (fixed grid). */
template <typename F>
static __global__ void
pair_partial_kernel (const float *__restrict__ x, const float *__restrict__ t, gint64 n, double *__restrict__ partial,
                     F f)
{
  __shared__ double shm[32];
  double s = 0.0;
  TL_CUDA_GRID_STRIDE (i, n)
    s += f ((double) x[i], (double) t[i]);
  s = tl_cuda_block_sum (s, shm);
  if (threadIdx.x == 0)
    partial[blockIdx.x] = s;
}

static __global__ void __launch_bounds__ (FINAL_THREADS)
pair_final_kernel (const double *__restrict__ partial, int n_partial, gint64 n, float *__restrict__ out)
{
  __shared__ double shm[32];
  double s = 0.0;
  for (int i = threadIdx.x; i < n_partial; i += blockDim.x)
    s += partial[i];
  s = tl_cuda_block_sum (s, shm);
  if (threadIdx.x == 0)
    *out = (float) (s / (double) n);
}

template <typename F>
static gboolean
pair_mean (TlTensor *const *in, TlTensor *out, F f, const char *what, GError **error)
{
  gint64 n = tl_tensor_numel (in[0]);
  float *y = (float *) tl_tensor_data (out);
  if (n == 0)
    return _tl_cuda_kern_zero (y, sizeof (float), what, error);
  int blocks = (int) MIN ((n + TL_CUDA_BLOCK - 1) / TL_CUDA_BLOCK, (gint64) PAIR_BLOCKS);
  double *partial = (double *) _tl_cuda_scratch ((gsize) blocks * sizeof (double), error);
  if (!partial)
    return FALSE;
  cudaStream_t s = tl_cuda_stream ();
  pair_partial_kernel<F><<<blocks, TL_CUDA_BLOCK, 0, s>>> ((const float *) tl_tensor_const_data (in[0]),
                                                           (const float *) tl_tensor_const_data (in[1]), n,
                                                           partial, f);
  if (!_tl_cuda_check_launch (what, error))
    return FALSE;
  pair_final_kernel<<<1, FINAL_THREADS, 0, s>>> (partial, blocks, n, y);
  return _tl_cuda_check_launch (what, error);
}

TL_CUDA_KERNEL_FN (bce_with_logits)
{
  (void) ctx;
  return pair_mean (in, out[0], BceTerm (), "bce_with_logits", error);
}

TL_CUDA_KERNEL_FN (mse)
{
  (void) ctx;
  return pair_mean (in, out[0], MseTerm (), "mse", error);
}

/* dx = (sigmoid(x) - t) * (dy / n) */
static __global__ void
bce_grad_kernel (const float *__restrict__ dy, const float *__restrict__ x, const float *__restrict__ t,
                 float *__restrict__ dx, gint64 n)
{
  float s = *dy / (float) n;
  TL_CUDA_GRID_STRIDE (i, n)
    dx[i] = __fmul_rn (__fsub_rn (tl_sigmoidf_approx (x[i]), t[i]), s);
}

TL_CUDA_KERNEL_FN (bce_with_logits_grad)
{
  (void) ctx;
  gint64 n = tl_tensor_numel (in[1]);
  if (n == 0)
    return TRUE;
  bce_grad_kernel<<<tl_cuda_grid (n), TL_CUDA_BLOCK, 0, tl_cuda_stream ()>>> (
    (const float *) tl_tensor_const_data (in[0]), (const float *) tl_tensor_const_data (in[1]),
    (const float *) tl_tensor_const_data (in[2]), (float *) tl_tensor_data (out[0]), n);
  return _tl_cuda_check_launch ("bce_with_logits_grad", error);
}
