/* optim.cu — optimizer updates on device-resident f32 parameters, the
 * arithmetic of core/optim.c element by element: each product, sum,
 * division and square root is rounded on its own (__fmul_rn, __fadd_rn,
 * __fdiv_rn, __fsqrt_rn: no fused multiply-add), in the CPU loops' order,
 * so a device step matches the CPU step to the bit given the same inputs
 * (bias corrections arrive as floats: Adam's sqrt of bc2 may differ by an
 * ulp from the CPU's double sqrt). LAMB's norms are sums in double in a
 * fixed order (deterministic; the order differs from the CPU's). */
#include "config.h"

#include "kernels.h"

#define MUL __fmul_rn
#define ADD __fadd_rn
#define SUB __fsub_rn
#define DIV __fdiv_rn

static __global__ void
sgd_kernel (float *__restrict__ p, const float *__restrict__ g, float *__restrict__ buf, gint64 n, float lr,
            float mom, float damp1, float wd, bool nesterov, bool first)
{
  TL_CUDA_GRID_STRIDE (i, n) {
    float gi = ADD (g[i], MUL (wd, p[i]));
    if (!buf) {
      p[i] = SUB (p[i], MUL (lr, gi));
      continue;
    }
    float b = first ? gi : ADD (MUL (mom, buf[i]), MUL (damp1, gi));
    buf[i] = b;
    p[i] = SUB (p[i], MUL (lr, nesterov ? ADD (gi, MUL (mom, b)) : b));
  }
}

gboolean
_tl_cuda_sgd_update_full (float *param, const float *grad, float *momentum_buf, gint64 n, float lr, float momentum,
                          float dampening, float weight_decay, gboolean nesterov, gboolean first, GError **error)
{
  if (n <= 0)
    return TRUE;
  float *buf = momentum != 0.0f ? momentum_buf : NULL;
  if (momentum != 0.0f && !momentum_buf) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "sgd update: momentum %g needs a momentum buffer",
                 (double) momentum);
    return FALSE;
  }
  sgd_kernel<<<tl_cuda_grid (n), TL_CUDA_BLOCK, 0, tl_cuda_stream ()>>> (
    param, grad, buf, n, lr, momentum, (float) (1.0 - (double) dampening), weight_decay, nesterov != FALSE,
    first != FALSE);
  return _tl_cuda_check_launch ("sgd update", error);
}

gboolean
_tl_cuda_sgd_update (float *param, const float *grad, float *momentum_buf, gint64 n, float lr, float momentum,
                     float weight_decay, gboolean nesterov, GError **error)
{
  return _tl_cuda_sgd_update_full (param, grad, momentum_buf, n, lr, momentum, 0.0f, weight_decay, nesterov, FALSE,
                                   error);
}

/* adam_range of core/optim.c */
static __global__ void
adam_kernel (float *__restrict__ p, const float *__restrict__ g, float *__restrict__ m, float *__restrict__ v,
             gint64 n, float b1, float b2, float eps, float l2, float decay, float step_size, float bc2s)
{
  float one_b1 = 1.0f - b1, one_b2 = 1.0f - b2;
  TL_CUDA_GRID_STRIDE (i, n) {
    float gi = ADD (g[i], MUL (l2, p[i]));
    float mi = ADD (m[i], MUL (SUB (gi, m[i]), one_b1));
    float vi = ADD (MUL (v[i], b2), MUL (MUL (one_b2, gi), gi));
    m[i] = mi;
    v[i] = vi;
    float denom = ADD (DIV (__fsqrt_rn (vi), bc2s), eps);
    p[i] = SUB (MUL (p[i], decay), MUL (step_size, DIV (mi, denom)));
  }
}

gboolean
_tl_cuda_adam_update (float *param, const float *grad, float *m, float *v, gint64 n, float lr, float beta1,
                      float beta2, float eps, float weight_decay, gboolean decoupled, float bias_c1, float bias_c2,
                      GError **error)
{
  if (n <= 0)
    return TRUE;
  float bc2s = (float) sqrt ((double) bias_c2);
  float step_size = lr / bias_c1;
  float decay = decoupled ? 1.0f - lr * weight_decay : 1.0f;
  float l2 = decoupled ? 0.0f : weight_decay;
  adam_kernel<<<tl_cuda_grid (n), TL_CUDA_BLOCK, 0, tl_cuda_stream ()>>> (param, grad, m, v, n, beta1, beta2, eps,
                                                                          l2, decay, step_size, bc2s);
  return _tl_cuda_check_launch (decoupled ? "adamw update" : "adam update", error);
}

/* --- LAMB --------------------------------------------------------------------- */

#define LAMB_BLOCKS 512

/* lamb_moments_range of core/optim.c: moments and the update u. */
static __global__ void
lamb_moments_kernel (const float *__restrict__ p, const float *__restrict__ g, float *__restrict__ m,
                     float *__restrict__ v, float *__restrict__ u, gint64 n, float b1, float b2, float eps,
                     float wd, float bc1, float bc2s)
{
  float one_b1 = 1.0f - b1, one_b2 = 1.0f - b2;
  TL_CUDA_GRID_STRIDE (i, n) {
    float mi = ADD (MUL (b1, m[i]), MUL (one_b1, g[i]));
    float vi = ADD (MUL (b2, v[i]), MUL (MUL (one_b2, g[i]), g[i]));
    m[i] = mi;
    v[i] = vi;
    u[i] = ADD (DIV (DIV (mi, bc1), ADD (DIV (__fsqrt_rn (vi), bc2s), eps)), MUL (wd, p[i]));
  }
}

/* partial[2 * block] = sum p^2, partial[2 * block + 1] = sum u^2 (fixed grid). */
static __global__ void
lamb_norms_kernel (const float *__restrict__ p, const float *__restrict__ u, gint64 n, double *__restrict__ partial)
{
  __shared__ double shm[32];
  double sp = 0.0, su = 0.0;
  TL_CUDA_GRID_STRIDE (i, n) {
    sp += (double) p[i] * p[i];
    su += (double) u[i] * u[i];
  }
  sp = tl_cuda_block_sum (sp, shm);
  su = tl_cuda_block_sum (su, shm);
  if (threadIdx.x == 0) {
    partial[2 * blockIdx.x] = sp;
    partial[2 * blockIdx.x + 1] = su;
  }
}

/* *step = (float) (lr * ratio), ratio = ||p|| / ||u|| (1 if either is 0). */
static __global__ void __launch_bounds__ (1024)
lamb_ratio_kernel (const double *__restrict__ partial, int n_partial, double lr, float *__restrict__ step)
{
  __shared__ double shm[32];
  double sp = 0.0, su = 0.0;
  for (int i = threadIdx.x; i < n_partial; i += blockDim.x) {
    sp += partial[2 * i];
    su += partial[2 * i + 1];
  }
  sp = tl_cuda_block_sum (sp, shm);
  su = tl_cuda_block_sum (su, shm);
  if (threadIdx.x == 0) {
    double wn = sqrt (sp), un = sqrt (su);
    double ratio = (wn > 0 && un > 0) ? wn / un : 1.0;
    *step = (float) (lr * ratio);
  }
}

static __global__ void
lamb_apply_kernel (float *__restrict__ p, const float *__restrict__ u, gint64 n, const float *__restrict__ step)
{
  float s = *step;
  TL_CUDA_GRID_STRIDE (i, n)
    p[i] = SUB (p[i], MUL (s, u[i]));
}

gboolean
_tl_cuda_lamb_update (float *param, const float *grad, float *m, float *v, gint64 n, double lr, float beta1,
                      float beta2, float eps, float weight_decay, float bias_c1, float bias_c2, GError **error)
{
  if (n <= 0)
    return TRUE;
  int blocks = (int) MIN ((n + TL_CUDA_BLOCK - 1) / TL_CUDA_BLOCK, (gint64) LAMB_BLOCKS);
  gsize u_bytes = ((gsize) n * sizeof (float) + 15) & ~(gsize) 15;
  guint8 *scratch = (guint8 *) _tl_cuda_scratch (u_bytes + 2 * LAMB_BLOCKS * sizeof (double) + 16, error);
  if (!scratch)
    return FALSE;
  float *u = (float *) scratch;
  double *partial = (double *) (scratch + u_bytes);
  float *step = (float *) (partial + 2 * LAMB_BLOCKS);
  cudaStream_t s = tl_cuda_stream ();
  lamb_moments_kernel<<<tl_cuda_grid (n), TL_CUDA_BLOCK, 0, s>>> (param, grad, m, v, u, n, beta1, beta2, eps,
                                                                  weight_decay, bias_c1,
                                                                  (float) sqrt ((double) bias_c2));
  if (!_tl_cuda_check_launch ("lamb update (moments)", error))
    return FALSE;
  lamb_norms_kernel<<<blocks, TL_CUDA_BLOCK, 0, s>>> (param, u, n, partial);
  if (!_tl_cuda_check_launch ("lamb update (norms)", error))
    return FALSE;
  lamb_ratio_kernel<<<1, 1024, 0, s>>> (partial, blocks, lr, step);
  if (!_tl_cuda_check_launch ("lamb update (trust ratio)", error))
    return FALSE;
  lamb_apply_kernel<<<tl_cuda_grid (n), TL_CUDA_BLOCK, 0, s>>> (param, u, n, step);
  return _tl_cuda_check_launch ("lamb update", error);
}
