/* conv.cu — "conv1d"/"conv2d" and their gradient ops on the device by
 * im2col + _tl_cuda_gemm, the scheme of core/ops/conv.c, per chunk of B
 * images and per group:
 *   forward:     y_b[og, ohw] = w_g[og, kk] @ col_b[kk, ohw]   (strided-batched over b) + bias
 *   grad_input:  col_b = w_g^T @ dy_b, then col2im -> dx       (gather form: each dx element
 *                sums its (kh, kw) taps in the CPU's order, no atomics)
 *   grad_weight: dw_g[og, kk] (+)= dyc[og, B*ohw] @ col[kk, B*ohw]^T   (chunks in order)
 * conv1d is conv2d with H = KH = 1. Deterministic. */
#include "config.h"

#include "kernels.h"

/* Floats of scratch per chunk aimed at: 16 Mi (64 MiB), as on the CPU. */
#define CONV_SCRATCH_FLOATS (16 << 20)

typedef TlConvGeom ConvGeom;

typedef enum { CONV_FWD, CONV_GIN, CONV_GW } ConvMode;

/* The geometry of core/ops/conv.c (ops-rules.h); x and w validated by infer. */
static void
conv_geom (guint sp, const gint64 *x, const gint64 *w, const TlAttrs *attrs, ConvGeom *c)
{
  _tl_rule_conv_geom (c, sp, x, w, tl_attrs_get_int (attrs, "stride", 1), tl_attrs_get_int (attrs, "padding", 0),
                      tl_attrs_get_int (attrs, "dilation", 1), tl_attrs_get_int (attrs, "groups", 1));
}

/* col[b * bstride + r * ld + p] for the chunk's images b in [0, nb), row
 * r = (c * KH + kh) * KW + kw, p = oh * OW + ow: x[n0 + b, g * cg + c, ih, iw] or 0. */
static __global__ void
im2col_kernel (ConvGeom c, const float *__restrict__ x, float *__restrict__ col, gint64 n0, gint64 nb, gint64 g,
               gint64 bstride, gint64 ld)
{
  gint64 ohw = c.OH * c.OW;
  gint64 total = nb * c.kk * ohw;
  TL_CUDA_GRID_STRIDE (t, total) {
    gint64 p = t % ohw, rest = t / ohw;
    gint64 r = rest % c.kk, b = rest / c.kk;
    gint64 kw = r % c.KW, kh = (r / c.KW) % c.KH, ch = r / (c.KW * c.KH);
    gint64 oh = p / c.OW, ow = p % c.OW;
    gint64 ih = oh * c.sh - c.ph + kh * c.dh, iw = ow * c.sw - c.pw + kw * c.dw;
    float v = 0.0f;
    if (ih >= 0 && ih < c.H && iw >= 0 && iw < c.W)
      v = x[(((n0 + b) * c.C + g * c.cg + ch) * c.H + ih) * c.W + iw];
    col[b * bstride + r * ld + p] = v;
  }
}

/* dx[n0 + b, g * cg + ch, ih, iw] = sum over taps (kh, kw) of col[b][(ch*KH+kh)*KW+kw][oh*OW+ow]. */
static __global__ void
col2im_kernel (ConvGeom c, const float *__restrict__ col, float *__restrict__ dx, gint64 n0, gint64 nb, gint64 g)
{
  gint64 hw = c.H * c.W, ohw = c.OH * c.OW;
  gint64 total = nb * c.cg * hw;
  TL_CUDA_GRID_STRIDE (t, total) {
    gint64 iw = t % c.W, ih = (t / c.W) % c.H, ch = (t / hw) % c.cg, b = t / (hw * c.cg);
    const float *cb = col + b * c.kk * ohw;
    float acc = 0.0f;
    for (gint64 kh = 0; kh < c.KH; kh++) {
      gint64 hn = ih + c.ph - kh * c.dh;
      if (hn < 0 || hn % c.sh != 0 || hn / c.sh >= c.OH)
        continue;
      gint64 oh = hn / c.sh;
      for (gint64 kw = 0; kw < c.KW; kw++) {
        gint64 wn = iw + c.pw - kw * c.dw;
        if (wn < 0 || wn % c.sw != 0 || wn / c.sw >= c.OW)
          continue;
        acc += cb[((ch * c.KH + kh) * c.KW + kw) * ohw + oh * c.OW + wn / c.sw];
      }
    }
    dx[(((n0 + b) * c.C + g * c.cg + ch) * c.H + ih) * c.W + iw] = acc;
  }
}

/* y[n, o, p] += b[o] */
static __global__ void
conv_bias_kernel (float *__restrict__ y, const float *__restrict__ bias, gint64 N, gint64 O, gint64 ohw)
{
  TL_CUDA_GRID_STRIDE (t, N * O * ohw)
    y[t] += bias[(t / ohw) % O];
}

typedef struct {
  ConvGeom c;
  ConvMode mode;
  const float *x, *w, *b, *dy;
  float *y, *dx, *dw;
} ConvJob;

/* y += bias (forward with a bias). */
static gboolean
conv_add_bias (ConvJob *j, const char *op, GError **error)
{
  const ConvGeom *c = &j->c;
  gint64 ohw = c->OH * c->OW;
  if (!j->b || c->N * c->O * ohw == 0)
    return TRUE;
  conv_bias_kernel<<<tl_cuda_grid (c->N * c->O * ohw), TL_CUDA_BLOCK, 0, tl_cuda_stream ()>>> (j->y, j->b, c->N,
                                                                                              c->O, ohw);
  return _tl_cuda_check_launch (op, error);
}

static gboolean
conv_run (ConvJob *j, const char *op, GError **error)
{
  const ConvGeom *c = &j->c;
  gint64 ohw = c->OH * c->OW;
  gint64 per_image = MAX ((j->mode == CONV_GW ? c->kk + c->og : c->kk) * ohw, (gint64) 1);
  gint64 B = CLAMP (CONV_SCRATCH_FLOATS / per_image, 1, MAX (c->N, (gint64) 1));
  cudaStream_t st = tl_cuda_stream ();

  if (c->N == 0 || ohw == 0 || c->kk == 0 || c->og == 0) {
    if (j->mode == CONV_GIN)
      return _tl_cuda_kern_zero (j->dx, (gsize) (c->N * c->C * c->H * c->W) * sizeof (float), op, error);
    if (j->mode == CONV_GW)
      return _tl_cuda_kern_zero (j->dw, (gsize) (c->O * c->kk) * sizeof (float), op, error);
    /* no input channels: y = bias, as on the CPU */
    if (c->kk == 0)
      return _tl_cuda_kern_zero (j->y, (gsize) (c->N * c->O * ohw) * sizeof (float), op, error)
             && conv_add_bias (j, op, error);
    return TRUE;
  }
  float *col = (float *) _tl_cuda_scratch ((gsize) (B * per_image) * sizeof (float), error);
  if (!col)
    return FALSE;
  float *dyc = col + B * c->kk * ohw;
  for (gint64 n0 = 0; n0 < c->N; n0 += B) {
    gint64 nb = MIN (B, c->N - n0);
    for (gint64 g = 0; g < c->groups; g++) {
      const float *wg = j->w ? j->w + g * c->og * c->kk : NULL;
      switch (j->mode) {
      case CONV_FWD:
        im2col_kernel<<<tl_cuda_grid (nb * c->kk * ohw), TL_CUDA_BLOCK, 0, st>>> (*c, j->x, col, n0, nb, g,
                                                                                  c->kk * ohw, ohw);
        if (!_tl_cuda_check_launch (op, error)
            || !_tl_cuda_gemm (TL_DTYPE_F32, FALSE, FALSE, c->og, ohw, c->kk, 1.0f, wg, c->kk, 0, col, ohw,
                               c->kk * ohw, 0.0f, j->y + (n0 * c->O + g * c->og) * ohw, ohw, c->O * ohw, nb,
                               error))
          return FALSE;
        break;
      case CONV_GIN:
        if (!_tl_cuda_gemm (TL_DTYPE_F32, TRUE, FALSE, c->kk, ohw, c->og, 1.0f, wg, c->kk, 0,
                            j->dy + (n0 * c->O + g * c->og) * ohw, ohw, c->O * ohw, 0.0f, col, ohw, c->kk * ohw, nb,
                            error))
          return FALSE;
        col2im_kernel<<<tl_cuda_grid (nb * c->cg * c->H * c->W), TL_CUDA_BLOCK, 0, st>>> (*c, col, j->dx, n0, nb,
                                                                                          g);
        if (!_tl_cuda_check_launch (op, error))
          return FALSE;
        break;
      case CONV_GW: {
        im2col_kernel<<<tl_cuda_grid (nb * c->kk * ohw), TL_CUDA_BLOCK, 0, st>>> (*c, j->x, col, n0, nb, g, ohw,
                                                                                  nb * ohw);
        if (!_tl_cuda_check_launch (op, error))
          return FALSE;
        /* dyc[o, b * ohw + p] = dy[n0 + b, g * og + o, p] */
        TlCudaCopyGeom cg = { 3, { c->og, nb, ohw }, { ohw, c->O * ohw, 1 }, { nb * ohw, ohw, 1 } };
        if (!_tl_cuda_kern_strided_copy (dyc, j->dy + (n0 * c->O + g * c->og) * ohw, sizeof (float), &cg, op,
                                         error)
            || !_tl_cuda_gemm (TL_DTYPE_F32, FALSE, TRUE, c->og, c->kk, nb * ohw, 1.0f, dyc, nb * ohw, 0, col,
                               nb * ohw, 0, n0 == 0 ? 0.0f : 1.0f, j->dw + g * c->og * c->kk, c->kk, 0, 1, error))
          return FALSE;
        break;
      }
      }
    }
  }
  return j->mode != CONV_FWD || conv_add_bias (j, op, error);
}

static gboolean
conv_fwd (guint sp, const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, const char *op,
          GError **error)
{
  ConvJob j;
  memset (&j, 0, sizeof j);
  conv_geom (sp, tl_tensor_shape (in[0]), tl_tensor_shape (in[1]), ctx->attrs, &j.c);
  j.mode = CONV_FWD;
  j.x = (const float *) tl_tensor_const_data (in[0]);
  j.w = (const float *) tl_tensor_const_data (in[1]);
  j.b = ctx->n_inputs == 3 ? (const float *) tl_tensor_const_data (in[2]) : NULL;
  j.y = (float *) tl_tensor_data (out[0]);
  return conv_run (&j, op, error);
}

/* grad_input: (dy, w) attr input_shape -> dx; grad_weight: (x, dy) attr weight_shape -> dw. */
static gboolean
conv_grad (guint sp, ConvMode mode, const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out,
           const char *op, GError **error)
{
  ConvJob j;
  memset (&j, 0, sizeof j);
  j.mode = mode;
  if (mode == CONV_GIN) {
    conv_geom (sp, tl_tensor_shape (out[0]), tl_tensor_shape (in[1]), ctx->attrs, &j.c);
    j.dy = (const float *) tl_tensor_const_data (in[0]);
    j.w = (const float *) tl_tensor_const_data (in[1]);
    j.dx = (float *) tl_tensor_data (out[0]);
  } else {
    conv_geom (sp, tl_tensor_shape (in[0]), tl_tensor_shape (out[0]), ctx->attrs, &j.c);
    j.x = (const float *) tl_tensor_const_data (in[0]);
    j.dy = (const float *) tl_tensor_const_data (in[1]);
    j.dw = (float *) tl_tensor_data (out[0]);
  }
  return conv_run (&j, op, error);
}

TL_CUDA_KERNEL_FN (conv1d)
{
  return conv_fwd (1, ctx, in, out, "conv1d", error);
}

TL_CUDA_KERNEL_FN (conv2d)
{
  return conv_fwd (2, ctx, in, out, "conv2d", error);
}

TL_CUDA_KERNEL_FN (conv1d_grad_input)
{
  return conv_grad (1, CONV_GIN, ctx, in, out, "conv1d_grad_input", error);
}

TL_CUDA_KERNEL_FN (conv2d_grad_input)
{
  return conv_grad (2, CONV_GIN, ctx, in, out, "conv2d_grad_input", error);
}

TL_CUDA_KERNEL_FN (conv1d_grad_weight)
{
  return conv_grad (1, CONV_GW, ctx, in, out, "conv1d_grad_weight", error);
}

TL_CUDA_KERNEL_FN (conv2d_grad_weight)
{
  return conv_grad (2, CONV_GW, ctx, in, out, "conv2d_grad_weight", error);
}
