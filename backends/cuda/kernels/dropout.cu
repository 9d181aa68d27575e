/* dropout.cu — "dropout" (outputs y f32 and mask u8) and "dropout_grad" on
 * the device.
 *
 * The mask is drawn exactly as core/ops/dropout.c draws it: elements in
 * blocks of TL_RULE_DROPOUT_BLOCK, block b using the Philox-4x32-10 stream
 * (ctx->seed, b) of core/rng.c (both from core/ops/ops-rules.h), element j
 * of a block keeping iff its uniform double (53 bits of the (j/2)-th Philox
 * output, words 2(j%2), 2(j%2)+1) is >= p. So the
 * CUDA mask is bit-identical to the CPU mask for the same seed (and the
 * keep probability is 1 - p by construction); y = x * mask / (1 - p).
 * Not training, or p == 0: y = x, mask = 1. */
#include "config.h"

#include "kernels.h"

__device__ __forceinline__ bool
keep_of (const guint32 w[4], int half, double p)
{
  guint64 u = ((guint64) w[2 * half + 1] << 32) | w[2 * half];
  return _tl_rule_uniform53 (u) >= p;
}

/* One thread per pair of elements (one Philox block). */
static __global__ void
dropout_kernel (const float *__restrict__ x, float *__restrict__ y, guint8 *__restrict__ mask, gint64 n,
                guint64 seed, double p, float scale)
{
  TL_CUDA_GRID_STRIDE (t, (n + 1) / 2) {
    gint64 i0 = 2 * t;
    guint64 b = (guint64) (i0 / TL_RULE_DROPOUT_BLOCK), ctr = (guint64) ((i0 % TL_RULE_DROPOUT_BLOCK) / 2);
    guint32 w[4];
    _tl_rule_philox_block (seed, b, ctr, w);
    for (int h = 0; h < 2 && i0 + h < n; h++) {
      bool keep = keep_of (w, h, p);
      mask[i0 + h] = keep ? 1 : 0;
      y[i0 + h] = keep ? __fmul_rn (x[i0 + h], scale) : 0.0f;
    }
  }
}

static __global__ void
dropout_grad_kernel (const float *__restrict__ dy, const guint8 *__restrict__ mask, float *__restrict__ dx, gint64 n,
                     float scale)
{
  TL_CUDA_GRID_STRIDE (i, n)
    dx[i] = mask[i] ? __fmul_rn (dy[i], scale) : 0.0f;
}

TL_CUDA_KERNEL_FN (dropout)
{
  double p;
  if (!_tl_rule_dropout_p ("dropout", ctx->attrs, &p, error))
    return FALSE;
  gint64 n = tl_tensor_numel (in[0]);
  const float *x = (const float *) tl_tensor_const_data (in[0]);
  float *y = (float *) tl_tensor_data (out[0]);
  guint8 *mask = (guint8 *) tl_tensor_data (out[1]);
  if (n == 0)
    return TRUE;
  if (!ctx->training || p == 0.0)
    return _tl_cuda_kern_copy (y, x, (gsize) n * sizeof (float), "dropout", error)
           && _tl_cuda_kern_fill (mask, n, 1, 1, "dropout", error);
  float scale = _tl_rule_dropout_scale (p);
  dropout_kernel<<<tl_cuda_grid ((n + 1) / 2), TL_CUDA_BLOCK, 0, tl_cuda_stream ()>>> (x, y, mask, n, ctx->seed, p,
                                                                                      scale);
  return _tl_cuda_check_launch ("dropout", error);
}

TL_CUDA_KERNEL_FN (dropout_grad)
{
  double p;
  if (!_tl_rule_dropout_p ("dropout_grad", ctx->attrs, &p, error))
    return FALSE;
  gint64 n = tl_tensor_numel (in[0]);
  const float *dy = (const float *) tl_tensor_const_data (in[0]);
  float *dx = (float *) tl_tensor_data (out[0]);
  if (n == 0)
    return TRUE;
  if (!ctx->training || p == 0.0)
    return _tl_cuda_kern_copy (dx, dy, (gsize) n * sizeof (float), "dropout_grad", error);
  float scale = _tl_rule_dropout_scale (p);
  dropout_grad_kernel<<<tl_cuda_grid (n), TL_CUDA_BLOCK, 0, tl_cuda_stream ()>>> (
    dy, (const guint8 *) tl_tensor_const_data (in[1]), dx, n, scale);
  return _tl_cuda_check_launch ("dropout_grad", error);
}
