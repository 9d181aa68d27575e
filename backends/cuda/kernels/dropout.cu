/* dropout.cu — "dropout" (outputs y f32 and mask u8) and "dropout_grad" on
 * the device.
 *
 * The mask is drawn exactly as core/ops/dropout.c draws it: elements in
 * blocks of 4096, block b using the Philox-4x32-10 stream (ctx->seed, b) of
 * core/rng.c, element j of a block keeping iff its uniform double (53 bits
 * of the (j/2)-th Philox output, words 2(j%2), 2(j%2)+1) is >= p. So the
 * CUDA mask is bit-identical to the CPU mask for the same seed (and the
 * keep probability is 1 - p by construction); y = x * mask / (1 - p).
 * Not training, or p == 0: y = x, mask = 1. */
#include "config.h"

#include "kernels.h"

#define DROPOUT_BLOCK 4096

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

__device__ __forceinline__ void
philox4x32_10 (guint32 c0, guint32 c1, guint32 c2, guint32 c3, guint32 k0, guint32 k1, guint32 out[4])
{
  for (int r = 0; r < 10; r++) {
    guint32 hi0 = __umulhi (PHILOX_M0, c0), lo0 = PHILOX_M0 * c0;
    guint32 hi1 = __umulhi (PHILOX_M1, c2), lo1 = PHILOX_M1 * c2;
    guint32 n0 = hi1 ^ c1 ^ k0;
    guint32 n2 = hi0 ^ c3 ^ k1;
    c1 = lo1;
    c3 = lo0;
    c0 = n0;
    c2 = n2;
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

__device__ __forceinline__ bool
keep_of (const guint32 w[4], int half, double p)
{
  guint64 u = ((guint64) w[2 * half + 1] << 32) | w[2 * half];
  return (double) (u >> 11) * (1.0 / 9007199254740992.0) >= p;
}

/* One thread per pair of elements (one Philox block). */
static __global__ void
dropout_kernel (const float *__restrict__ x, float *__restrict__ y, guint8 *__restrict__ mask, gint64 n,
                guint64 seed, double p, float scale)
{
  TL_CUDA_GRID_STRIDE (t, (n + 1) / 2) {
    gint64 i0 = 2 * t;
    guint64 b = (guint64) (i0 / DROPOUT_BLOCK), ctr = (guint64) ((i0 % DROPOUT_BLOCK) / 2);
    guint32 w[4];
    philox4x32_10 ((guint32) ctr, (guint32) (ctr >> 32), (guint32) b, (guint32) (b >> 32), (guint32) seed,
                   (guint32) (seed >> 32), w);
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

static gboolean
get_p (const char *op, const TlAttrs *attrs, double *p, GError **error)
{
  *p = tl_attrs_get_float (attrs, "p", 0.5);
  if (!(*p >= 0.0 && *p <= 1.0)) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "%s: p must be in [0, 1], got %g", op, *p);
    return FALSE;
  }
  return TRUE;
}

TL_CUDA_KERNEL_FN (dropout)
{
  double p;
  if (!get_p ("dropout", ctx->attrs, &p, error))
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
  float scale = p < 1.0 ? (float) (1.0 / (1.0 - p)) : 0.0f;
  dropout_kernel<<<tl_cuda_grid ((n + 1) / 2), TL_CUDA_BLOCK, 0, tl_cuda_stream ()>>> (x, y, mask, n, ctx->seed, p,
                                                                                      scale);
  return _tl_cuda_check_launch ("dropout", error);
}

TL_CUDA_KERNEL_FN (dropout_grad)
{
  double p;
  if (!get_p ("dropout_grad", ctx->attrs, &p, error))
    return FALSE;
  gint64 n = tl_tensor_numel (in[0]);
  const float *dy = (const float *) tl_tensor_const_data (in[0]);
  float *dx = (float *) tl_tensor_data (out[0]);
  if (n == 0)
    return TRUE;
  if (!ctx->training || p == 0.0)
    return _tl_cuda_kern_copy (dx, dy, (gsize) n * sizeof (float), "dropout_grad", error);
  float scale = p < 1.0 ? (float) (1.0 / (1.0 - p)) : 0.0f;
  dropout_grad_kernel<<<tl_cuda_grid (n), TL_CUDA_BLOCK, 0, tl_cuda_stream ()>>> (
    dy, (const guint8 *) tl_tensor_const_data (in[1]), dx, n, scale);
  return _tl_cuda_check_launch ("dropout_grad", error);
}
