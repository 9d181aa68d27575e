/* conv.c — "conv1d" / "conv2d" (stride, padding, dilation, groups) by
 * im2col + sgemm, and their gradient ops "conv{1,2}d_grad_input"
 * (dy, w -> dx; col2im) and "conv{1,2}d_grad_weight" (x, dy -> dw). The
 * bias gradient is a sum. Images are im2col'ed in parallel, in chunks, so
 * that each group and chunk is one large sgemm (see conv_run).
 *
 * conv1d is conv2d with H = KH = 1: both share one 2-D implementation.
 * Gradient ops carry the forward attrs plus "input_shape" / "weight_shape".
 */
#include "config.h"

#include <string.h>

#include "ops-nn.h"
#include "ops-rules.h"

typedef TlConvGeom ConvGeom;

/* Forward, grad_input (dy, w -> dx) and grad_weight (x, dy -> dw). */
typedef enum { CONV_FWD, CONV_GIN, CONV_GW } ConvMode;

static const char *
conv_name (guint sp, ConvMode mode)
{
  static const char *const names[2][3] = {
    { "conv1d", "conv1d_grad_input", "conv1d_grad_weight" },
    { "conv2d", "conv2d_grad_input", "conv2d_grad_weight" },
  };
  return names[sp - 1][mode];
}

/* x: [N, C, (H,) W], w: [O, C/groups, (KH,) KW]. */
static gboolean
conv_geom (const char *op, guint sp, const TlTensorDesc *x, const TlTensorDesc *w, const TlAttrs *attrs,
           ConvGeom *c, GError **error)
{
  gint64 stride = tl_attrs_get_int (attrs, "stride", 1);
  gint64 pad = tl_attrs_get_int (attrs, "padding", 0);
  gint64 dil = tl_attrs_get_int (attrs, "dilation", 1);
  gint64 groups = tl_attrs_get_int (attrs, "groups", 1);

  if (x->ndim != sp + 2 || w->ndim != sp + 2) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "%s: x and w need %u axes, got %u and %u", op, sp + 2,
                 x->ndim, w->ndim);
    return FALSE;
  }
  if (x->dtype != TL_DTYPE_F32 || w->dtype != TL_DTYPE_F32) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "%s: f32 only, got %s and %s", op,
                 tl_dtype_name (x->dtype), tl_dtype_name (w->dtype));
    return FALSE;
  }
  switch (_tl_rule_conv_geom (c, sp, x->shape, w->shape, stride, pad, dil, groups)) {
  case TL_RULE_OK: return TRUE;
  case TL_RULE_BAD_ARGS:
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "%s: need stride >= 1, padding >= 0, dilation >= 1, groups >= 1; got %" G_GINT64_FORMAT
                 ", %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT,
                 op, stride, pad, dil, groups);
    return FALSE;
  case TL_RULE_GROUPS:
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                 "%s: groups=%" G_GINT64_FORMAT " must divide in channels %" G_GINT64_FORMAT
                 " and out channels %" G_GINT64_FORMAT,
                 op, groups, c->C, c->O);
    return FALSE;
  case TL_RULE_BAD_SHAPE:
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                 "%s: w axis 1 is %" G_GINT64_FORMAT ", expected in channels / groups = %" G_GINT64_FORMAT,
                 op, w->shape[1], c->cg);
    return FALSE;
  default: {
    gint64 eh = c->dh * (c->KH - 1) + 1, ew = c->dw * (c->KW - 1) + 1;
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                 "%s: kernel %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT " (dilated %" G_GINT64_FORMAT "x%"
                 G_GINT64_FORMAT ") larger than the padded input %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT,
                 op, c->KH, c->KW, eh, ew, c->H + 2 * c->ph, c->W + 2 * c->pw);
    return FALSE;
  }
  }
}

static void
conv_out_desc (guint sp, const ConvGeom *c, TlTensorDesc *out)
{
  gint64 shape[4] = { c->N, c->O, c->OH, c->OW };
  if (sp == 1)
    shape[2] = c->OW;
  tl_tensor_desc_init (out, TL_DTYPE_F32, sp + 2, shape);
}

/* Shape attribute of a gradient op as a desc ("input_shape"/"weight_shape"). */
static gboolean
shape_attr (const char *op, const TlAttrs *attrs, const char *key, guint ndim, TlTensorDesc *d,
            GError **error)
{
  guint n = 0;
  const gint64 *s = tl_attrs_get_ints (attrs, key, &n);
  if (n != ndim) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "%s: attribute %s must list %u sizes, got %u",
                 op, key, ndim, n);
    return FALSE;
  }
  for (guint i = 0; i < n; i++)
    if (s[i] < 0) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "%s: negative size in %s", op, key);
      return FALSE;
    }
  tl_tensor_desc_init (d, TL_DTYPE_F32, ndim, s);
  return TRUE;
}

/* --- im2col / col2im (one image, one group) ------------------------------ */

/* Output columns ow whose input column ow * sw - pw + kw * dw lies in [0, W). */
static void
valid_cols (const ConvGeom *c, gint64 kw, gint64 *lo, gint64 *hi)
{
  gint64 off = kw * c->dw - c->pw;
  gint64 l = 0, h = c->OW;
  if (off < 0)
    l = (-off + c->sw - 1) / c->sw;
  if (c->OW > 0 && (c->OW - 1) * c->sw + off >= c->W)
    h = off >= c->W ? 0 : (c->W - 1 - off) / c->sw + 1;
  *lo = MIN (l, c->OW);
  *hi = MAX (h, *lo);
}

/* col[(c*KH+kh)*KW+kw][oh*OW+ow] (rows ld apart) = x[c][oh*sh-ph+kh*dh][ow*sw-pw+kw*dw] (0 outside). */
static void
im2col (const ConvGeom *c, const float *x, float *col, gint64 ld)
{
  for (gint64 ch = 0; ch < c->cg; ch++)
    for (gint64 kh = 0; kh < c->KH; kh++)
      for (gint64 kw = 0; kw < c->KW; kw++) {
        float *row = col + ((ch * c->KH + kh) * c->KW + kw) * ld;
        gint64 lo, hi, off = kw * c->dw - c->pw;
        valid_cols (c, kw, &lo, &hi);
        for (gint64 oh = 0; oh < c->OH; oh++) {
          gint64 ih = oh * c->sh - c->ph + kh * c->dh;
          float *r = row + oh * c->OW;
          if (ih < 0 || ih >= c->H) {
            memset (r, 0, c->OW * sizeof (float));
            continue;
          }
          const float *xr = x + (ch * c->H + ih) * c->W;
          for (gint64 ow = 0; ow < lo; ow++)
            r[ow] = 0.0f;
          if (c->sw == 1 && hi > lo)
            memcpy (r + lo, xr + lo + off, (hi - lo) * sizeof (float));
          else
            for (gint64 ow = lo; ow < hi; ow++)
              r[ow] = xr[ow * c->sw + off];
          for (gint64 ow = hi; ow < c->OW; ow++)
            r[ow] = 0.0f;
        }
      }
}

/* Adjoint of im2col: x += col2im(col). */
static void
col2im (const ConvGeom *c, const float *col, gint64 ld, float *x)
{
  for (gint64 ch = 0; ch < c->cg; ch++)
    for (gint64 kh = 0; kh < c->KH; kh++)
      for (gint64 kw = 0; kw < c->KW; kw++) {
        const float *row = col + ((ch * c->KH + kh) * c->KW + kw) * ld;
        gint64 lo, hi, off = kw * c->dw - c->pw;
        valid_cols (c, kw, &lo, &hi);
        for (gint64 oh = 0; oh < c->OH; oh++) {
          gint64 ih = oh * c->sh - c->ph + kh * c->dh;
          if (ih < 0 || ih >= c->H)
            continue;
          const float *r = row + oh * c->OW;
          float *xr = x + (ch * c->H + ih) * c->W;
          for (gint64 ow = lo; ow < hi; ow++)
            xr[ow * c->sw + off] += r[ow];
        }
      }
}

/* --- the batched im2col engine (forward and both gradients) -------------- *
 *
 * Images are processed in chunks of B: per group, im2col of the chunk into
 * col[kk, B*ohw] (parallel over images), then ONE sgemm per group and
 * chunk, outside any parallel region, so BLAS sees large products:
 *   forward:     yc[og, B*ohw]  = w_g[og, kk] @ col          -> y (+ bias)
 *   grad_input:  col            = w_g^T @ dyc[og, B*ohw]     -> col2im -> dx
 *   grad_weight: dw_g[og, kk]  += dyc @ col^T                (chunks in order)
 * Results do not depend on the thread count. */

/* Floats of scratch per chunk (col + yc) aimed at: 16 Mi (64 MiB). */
#define CONV_SCRATCH_FLOATS (16 << 20)

/* Every conv kernel writes every output element (forward: GEMM with beta 0
 * plus bias; grad_input / grad_weight zero dx / dw first, also for N = 0;
 * the CUDA kernels likewise), so the executor need not zero-fill them. */
#define CONV_FLAGS (TL_OP_COMPUTE_BOUND | TL_OP_OVERWRITES)

/* The per-image steps around the GEMMs, each run over the chunk's images. */
typedef enum {
  STEP_IM2COL,    /* col[:, b*ohw ...] = im2col(x[n0 + b], group g) */
  STEP_COL2IM,    /* dx[n0 + b], group g += col2im(col[:, b*ohw ...]) */
  STEP_GATHER_DY, /* dyc[o, b*ohw + i] = dy[n0 + b, g*og + o, i] */
  STEP_SCATTER_Y, /* y[n0 + b, g*og + o, i] = yc[o, b*ohw + i] + bias */
} ConvStep;

typedef struct {
  ConvGeom c;
  ConvMode mode;
  ConvStep step;
  const float *x, *w, *b, *dy;
  float *y, *dx, *dw;
  float *col, *yc;
  gint64 n0, nb, g; /* current chunk and group */
} ConvJob;

static void
chunk_step (gint64 begin, gint64 end, gpointer data)
{
  const ConvJob *j = data;
  const ConvGeom *c = &j->c;
  gint64 ohw = c->OH * c->OW, ld = j->nb * ohw;
  for (gint64 b = begin; b < end; b++) {
    gint64 image = ((j->n0 + b) * c->C + j->g * c->cg) * c->H * c->W; /* in x / dx */
    gint64 plane = ((j->n0 + b) * c->O + j->g * c->og) * ohw;          /* in y / dy */
    switch (j->step) {
    case STEP_IM2COL:
      im2col (c, j->x + image, j->col + b * ohw, ld);
      break;
    case STEP_COL2IM:
      col2im (c, j->col + b * ohw, ld, j->dx + image);
      break;
    case STEP_GATHER_DY:
      for (gint64 o = 0; o < c->og; o++)
        memcpy (j->yc + o * ld + b * ohw, j->dy + plane + o * ohw, ohw * sizeof (float));
      break;
    case STEP_SCATTER_Y:
      for (gint64 o = 0; o < c->og; o++) {
        const float *src = j->yc + o * ld + b * ohw;
        float *dst = j->y + plane + o * ohw;
        float bv = j->b ? j->b[j->g * c->og + o] : 0.0f;
        for (gint64 i = 0; i < ohw; i++)
          dst[i] = src[i] + bv;
      }
      break;
    }
  }
}

/* Runs `step` over the images of the current chunk, in parallel. */
static void
conv_step (ConvJob *j, ConvStep step)
{
  j->step = step;
  tl_parallel_for (j->nb, 1, chunk_step, j);
}

static gboolean
conv_run (ConvJob *j, const char *op, GError **error)
{
  const ConvGeom *c = &j->c;
  gint64 ohw = c->OH * c->OW;
  gint64 per_image = MAX ((c->kk + c->og) * ohw, 1);
  gint64 B = CLAMP (CONV_SCRATCH_FLOATS / per_image, 1, MAX (c->N, 1));

  if (j->mode == CONV_GIN)
    memset (j->dx, 0, (gsize) c->N * c->C * c->H * c->W * sizeof (float));
  if (j->mode == CONV_GW)
    memset (j->dw, 0, (gsize) c->O * c->kk * sizeof (float));
  if (c->N == 0)
    return TRUE;
  j->col = g_try_malloc ((gsize) B * per_image * sizeof (float));
  if (j->col == NULL) {
    g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY,
                 "%s: cannot allocate %" G_GINT64_FORMAT " bytes of im2col buffer",
                 op, (gint64) (B * per_image * sizeof (float)));
    return FALSE;
  }
  j->yc = j->col + B * c->kk * ohw;
  for (j->n0 = 0; j->n0 < c->N; j->n0 += B) {
    j->nb = MIN (B, c->N - j->n0);
    gint64 cols = j->nb * ohw;
    for (j->g = 0; j->g < c->groups; j->g++) {
      const float *wg = j->w ? j->w + j->g * c->og * c->kk : NULL;
      switch (j->mode) {
      case CONV_FWD:
        conv_step (j, STEP_IM2COL);
        _tl_priv_nn_sgemm (FALSE, FALSE, c->og, cols, c->kk, wg, c->kk, j->col, cols, 0.0f, j->yc, cols);
        conv_step (j, STEP_SCATTER_Y);
        break;
      case CONV_GIN:
        conv_step (j, STEP_GATHER_DY);
        _tl_priv_nn_sgemm (TRUE, FALSE, c->kk, cols, c->og, wg, c->kk, j->yc, cols, 0.0f, j->col, cols);
        conv_step (j, STEP_COL2IM);
        break;
      case CONV_GW:
        conv_step (j, STEP_IM2COL);
        conv_step (j, STEP_GATHER_DY);
        _tl_priv_nn_sgemm (FALSE, TRUE, c->og, c->kk, cols, j->yc, cols, j->col, cols, 1.0f,
                           j->dw + j->g * c->og * c->kk, c->kk);
        break;
      }
    }
  }
  g_free (j->col);
  j->col = j->yc = NULL;
  return TRUE;
}

static gboolean
conv_infer_sp (guint sp, const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out,
               GError **error)
{
  const char *op = conv_name (sp, CONV_FWD);
  ConvGeom c;
  if (!_tl_priv_nn_n_out (op, 1, max_out, n_out, error))
    return FALSE;
  if (call->n_inputs != 2 && call->n_inputs != 3) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "%s: takes x, w and an optional b, got %u inputs",
                 op, call->n_inputs);
    return FALSE;
  }
  if (!conv_geom (op, sp, &call->inputs[0], &call->inputs[1], call->attrs, &c, error))
    return FALSE;
  if (call->n_inputs == 3) {
    const TlTensorDesc *b = &call->inputs[2];
    if (b->dtype != TL_DTYPE_F32 || b->ndim != 1 || b->shape[0] != c.O) {
      g_autofree char *s = tl_tensor_desc_to_string (b);
      g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "%s: bias must be f32[%" G_GINT64_FORMAT "], got %s", op,
                   c.O, s);
      return FALSE;
    }
  }
  conv_out_desc (sp, &c, out);
  return TRUE;
}

static gboolean
conv_cpu_sp (guint sp, const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  const char *op = conv_name (sp, CONV_FWD);
  TlTensorDesc xd, wd;
  ConvJob j = { 0 };

  tl_tensor_get_desc (in[0], &xd);
  tl_tensor_get_desc (in[1], &wd);
  if (!conv_geom (op, sp, &xd, &wd, ctx->attrs, &j.c, error))
    return FALSE;
  j.x = tl_tensor_const_data (in[0]);
  j.w = tl_tensor_const_data (in[1]);
  j.b = ctx->n_inputs == 3 ? tl_tensor_const_data (in[2]) : NULL;
  j.y = tl_tensor_data (out[0]);
  j.mode = CONV_FWD;
  return conv_run (&j, op, error);
}

static TlValue *
conv_grad_node (TlGraph *g, guint sp, ConvMode mode, TlValue *a, TlValue *b, const TlAttrs *fwd,
                const char *key, const TlTensorDesc *d)
{
  TlAttrs *attrs = tl_attrs_new ();
  static const char *const keys[] = { "stride", "padding", "dilation", "groups" };
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    if (tl_attrs_has (fwd, keys[i]))
      tl_attrs_set_int (attrs, keys[i], tl_attrs_get_int (fwd, keys[i], 0));
  tl_attrs_set_ints (attrs, key, d->ndim, d->shape);
  TlValue *r = tl_graph_op (g, conv_name (sp, mode), 2, (TlValue *[]) { a, b }, attrs);
  tl_attrs_free (attrs);
  return r;
}

static gboolean
conv_backward_sp (guint sp, TlGraph *g, const TlNode *node, TlValue *const *gout, TlValue **gin)
{
  TlValue *x = tl_node_input (node, 0), *w = tl_node_input (node, 1), *dy = gout[0];
  const TlAttrs *attrs = tl_node_attrs (node);
  if (dy == NULL)
    return TRUE;
  gin[0] = conv_grad_node (g, sp, CONV_GIN, dy, w, attrs, "input_shape", tl_value_desc (x));
  gin[1] = conv_grad_node (g, sp, CONV_GW, x, dy, attrs, "weight_shape", tl_value_desc (w));
  if (tl_node_n_inputs (node) == 3)
    gin[2] = sp == 2 ? tl_sum (g, dy, 3, (gint[]) { 0, 2, 3 }, FALSE) : tl_sum (g, dy, 2, (gint[]) { 0, 2 }, FALSE);
  return tl_graph_ok (g);
}

static double
conv_flops (const ConvGeom *c)
{
  return 2.0 * (double) c->N * (double) c->O * (double) (c->OH * c->OW) * (double) c->kk;
}

static void
conv_cost_sp (guint sp, const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost)
{
  ConvGeom c;
  double f = conv_geom ("conv", sp, &call->inputs[0], &call->inputs[1], call->attrs, &c, NULL) ? conv_flops (&c) : 0;
  _tl_priv_nn_cost_io (call, out, 1, f, cost);
}

/* --- gradient ops: grad_input (dy, w) -> dx, grad_weight (x, dy) -> dw --- *
 *
 * Each carries the shape of its output as an attribute ("input_shape" /
 * "weight_shape"); the geometry is the forward one with that tensor in place. */

static gboolean
grad_geom (guint sp, ConvMode mode, const TlTensorDesc *in0, const TlTensorDesc *in1, const TlAttrs *attrs,
           ConvGeom *c, TlTensorDesc *od, GError **error)
{
  gboolean gin = mode == CONV_GIN;
  const char *op = conv_name (sp, mode);
  const TlTensorDesc *dy = gin ? in0 : in1;
  if (!shape_attr (op, attrs, gin ? "input_shape" : "weight_shape", sp + 2, od, error)
      || !conv_geom (op, sp, gin ? od : in0, gin ? in1 : od, attrs, c, error))
    return FALSE;
  TlTensorDesc expect;
  conv_out_desc (sp, c, &expect);
  return _tl_priv_nn_check_dy (op, dy, &expect, error);
}

static gboolean
grad_infer_sp (guint sp, ConvMode mode, const TlOpCall *call, TlTensorDesc *out, uint32_t max_out,
               uint32_t *n_out, GError **error)
{
  ConvGeom c;
  if (!_tl_priv_nn_n_out (conv_name (sp, mode), 1, max_out, n_out, error))
    return FALSE;
  return grad_geom (sp, mode, &call->inputs[0], &call->inputs[1], call->attrs, &c, out, error);
}

static gboolean
grad_cpu_sp (guint sp, ConvMode mode, const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out,
             GError **error)
{
  TlTensorDesc d0, d1, od;
  ConvJob j = { 0 };
  tl_tensor_get_desc (in[0], &d0);
  tl_tensor_get_desc (in[1], &d1);
  if (!grad_geom (sp, mode, &d0, &d1, ctx->attrs, &j.c, &od, error))
    return FALSE;
  j.mode = mode;
  if (mode == CONV_GIN) {
    j.dy = tl_tensor_const_data (in[0]);
    j.w = tl_tensor_const_data (in[1]);
    j.dx = tl_tensor_data (out[0]);
  } else {
    j.x = tl_tensor_const_data (in[0]);
    j.dy = tl_tensor_const_data (in[1]);
    j.dw = tl_tensor_data (out[0]);
  }
  return conv_run (&j, conv_name (sp, mode), error);
}

static void
grad_cost_sp (guint sp, ConvMode mode, const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost)
{
  ConvGeom c;
  TlTensorDesc od;
  gboolean ok = grad_geom (sp, mode, &call->inputs[0], &call->inputs[1], call->attrs, &c, &od, NULL);
  _tl_priv_nn_cost_io (call, out, 1, ok ? conv_flops (&c) : 0, cost);
}

/* --- per-dimension wrappers and tables ----------------------------------- */

/* conv{SP}d_{TAG}_def: the gradient op MODE ("conv{SP}d" SUFFIX). */
#define GRAD_WRAPPERS(SP, TAG, MODE, SUFFIX)                                                                     \
  static gboolean conv##SP##d_##TAG##_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out,        \
                                             uint32_t *n_out, GError **error)                                    \
  {                                                                                                              \
    return grad_infer_sp (SP, MODE, call, out, max_out, n_out, error);                                           \
  }                                                                                                              \
  static gboolean conv##SP##d_##TAG##_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out,  \
                                           GError **error)                                                       \
  {                                                                                                              \
    return grad_cpu_sp (SP, MODE, ctx, in, out, error);                                                          \
  }                                                                                                              \
  static void conv##SP##d_##TAG##_cost (const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost)           \
  {                                                                                                              \
    grad_cost_sp (SP, MODE, call, out, cost);                                                                    \
  }                                                                                                              \
  static const TlOpDef conv##SP##d_##TAG##_def = {                                                               \
    TL_TABLE_INIT (TlOpDef), .name = "conv" #SP "d" SUFFIX, .flags = CONV_FLAGS, .n_inputs = 2,                  \
    .n_outputs = 1, .infer = conv##SP##d_##TAG##_infer, .forward_cpu = conv##SP##d_##TAG##_cpu,                  \
    .cost = conv##SP##d_##TAG##_cost,                                                                            \
  };

#define CONV_WRAPPERS(SP)                                                                                        \
  static gboolean conv##SP##d_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, \
                                     GError **error)                                                             \
  {                                                                                                              \
    return conv_infer_sp (SP, call, out, max_out, n_out, error);                                                 \
  }                                                                                                              \
  static gboolean conv##SP##d_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out,           \
                                   GError **error)                                                               \
  {                                                                                                              \
    return conv_cpu_sp (SP, ctx, in, out, error);                                                                \
  }                                                                                                              \
  static gboolean conv##SP##d_backward (TlGraph *g, const TlNode *node, TlValue *const *gout, TlValue **gin,    \
                                        GError **error)                                                          \
  {                                                                                                              \
    (void) error;                                                                                                \
    return conv_backward_sp (SP, g, node, gout, gin);                                                            \
  }                                                                                                              \
  static void conv##SP##d_cost (const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost)                   \
  {                                                                                                              \
    conv_cost_sp (SP, call, out, cost);                                                                          \
  }                                                                                                              \
  static const TlOpDef conv##SP##d_def = {                                                                       \
    TL_TABLE_INIT (TlOpDef), .name = "conv" #SP "d", .flags = CONV_FLAGS, .n_inputs = -1,                        \
    .n_outputs = 1, .infer = conv##SP##d_infer, .forward_cpu = conv##SP##d_cpu,                                  \
    .backward = conv##SP##d_backward, .cost = conv##SP##d_cost,                                                  \
  };                                                                                                             \
  GRAD_WRAPPERS (SP, gi, CONV_GIN, "_grad_input")                                                                \
  GRAD_WRAPPERS (SP, gw, CONV_GW, "_grad_weight")

CONV_WRAPPERS (1)
CONV_WRAPPERS (2)

static const TlOpDef *const conv_defs[] = {
  &conv1d_def, &conv1d_gi_def, &conv1d_gw_def, &conv2d_def, &conv2d_gi_def, &conv2d_gw_def,
};

TL_OPS_DEFINE_DEFS_GETTER (_tl_priv_nn_conv_defs, conv_defs)

/* --- builders ----------------------------------------------------------- */

static TlValue *
conv_build (TlGraph *g, const char *op, TlValue *x, TlValue *w, TlValue *b, gint stride, gint padding,
            gint dilation, gint groups)
{
  TlAttrs *attrs = tl_attrs_new ();
  tl_attrs_set_int (attrs, "stride", stride);
  tl_attrs_set_int (attrs, "padding", padding);
  tl_attrs_set_int (attrs, "dilation", dilation);
  tl_attrs_set_int (attrs, "groups", groups);
  TlValue *r = b ? tl_graph_op (g, op, 3, (TlValue *[]) { x, w, b }, attrs)
                 : tl_graph_op (g, op, 2, (TlValue *[]) { x, w }, attrs);
  tl_attrs_free (attrs);
  return r;
}

/**
 * tl_conv1d:
 * @g: the graph
 * @x: (nullable): [N, C, L]
 * @w: (nullable): [O, C/groups, K]
 * @b: (nullable): [O] or %NULL
 * @stride: >= 1
 * @padding: zero padding on both sides, >= 0
 * @dilation: >= 1
 * @groups: divides C and O
 *
 * Records a "conv1d" node (cross-correlation, as in PyTorch).
 *
 * Returns: (transfer none) (nullable): [N, O, L_out], or %NULL on error.
 */
TlValue *
tl_conv1d (TlGraph *g, TlValue *x, TlValue *w, TlValue *b, gint stride, gint padding, gint dilation, gint groups)
{
  return conv_build (g, "conv1d", x, w, b, stride, padding, dilation, groups);
}

/**
 * tl_conv2d:
 * @g: the graph
 * @x: (nullable): [N, C, H, W]
 * @w: (nullable): [O, C/groups, KH, KW]
 * @b: (nullable): [O] or %NULL
 * @stride: >= 1 (both axes)
 * @padding: >= 0 (both axes)
 * @dilation: >= 1 (both axes)
 * @groups: divides C and O
 *
 * Records a "conv2d" node (cross-correlation, as in PyTorch).
 *
 * Returns: (transfer none) (nullable): [N, O, H_out, W_out], or %NULL on error.
 */
TlValue *
tl_conv2d (TlGraph *g, TlValue *x, TlValue *w, TlValue *b, gint stride, gint padding, gint dilation, gint groups)
{
  return conv_build (g, "conv2d", x, w, b, stride, padding, dilation, groups);
}
