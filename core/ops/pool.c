/* pool.c — "max_pool{1,2}d" and "avg_pool{1,2}d" (kernel, stride, padding;
 * square windows) and their gradient ops.
 *
 *   max_pool*d_grad (x, dy) -> dx: the argmax of each window is recomputed
 *     from x (first maximum wins, as in PyTorch), so the forward stores
 *     nothing extra. Padding counts as -inf.
 *   avg_pool*d_grad (dy) attr input_shape -> dx. Averages divide by
 *     kernel*kernel (PyTorch's count_include_pad=True).
 *
 * Attributes: kernel (>= 1), stride (default and 0: kernel), padding
 * (0 <= padding <= kernel/2). 1-D pools share the 2-D code with H = 1.
 */
/* the 2x2 max pool's compares and selects vectorise only without trapping
 * math (results are the same; only FP exception flags may differ) */
#pragma GCC optimize ("no-trapping-math")
#include "config.h"

#include <math.h>
#include <string.h>

#include "ops-nn.h"
#include "ops-rules.h"

typedef TlPoolGeom PoolGeom;

static gboolean
pool_geom (const char *op, guint sp, const TlTensorDesc *x, const TlAttrs *attrs, PoolGeom *p, GError **error)
{
  gint64 k = tl_attrs_get_int (attrs, "kernel", 0);
  gint64 s = tl_attrs_get_int (attrs, "stride", 0);
  gint64 pad = tl_attrs_get_int (attrs, "padding", 0);

  if (x->ndim != sp + 2 || x->dtype != TL_DTYPE_F32) {
    g_autofree char *d = tl_tensor_desc_to_string (x);
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "%s: x must be f32 with %u axes, got %s", op, sp + 2, d);
    return FALSE;
  }
  switch (_tl_rule_pool_geom (p, sp, x->shape, k, s, pad)) {
  case TL_RULE_OK: return TRUE;
  case TL_RULE_BAD_ARGS:
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "%s: need kernel >= 1, stride >= 1, 0 <= padding <= kernel/2; got %" G_GINT64_FORMAT
                 ", %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT,
                 op, k, p->sw, pad);
    return FALSE;
  default:
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                 "%s: kernel %" G_GINT64_FORMAT " larger than the padded input %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT,
                 op, k, p->H + 2 * p->ph, p->W + 2 * p->pw);
    return FALSE;
  }
}

static void
pool_out_desc (guint sp, const TlTensorDesc *x, const PoolGeom *p, TlTensorDesc *out)
{
  tl_tensor_desc_init (out, TL_DTYPE_F32, x->ndim, x->shape);
  if (sp == 2)
    out->shape[2] = p->OH;
  out->shape[sp + 1] = p->OW;
}

/* One output row (oh) of a plane, scanned row-wise: for each window row ih
 * and offset k, all windows of the row advance together (independent
 * iterations, no data-dependent branch). Max: m[ow] and idx[ow] end as the
 * value and plane index of the first maximum of each window, a NaN
 * winning; avg: m[ow] is the window sum. Each window holds at least one
 * real element since padding <= kernel/2. */
static void
pool_row (const PoolGeom *p, gboolean is_max, const float *x, gint64 oh, float *m, gint64 *idx)
{
  gint64 h0 = oh * p->sh - p->ph;
  gint64 hs = MAX (h0, 0), he = MIN (h0 + p->kh, p->H);
  gboolean nan = FALSE;

  for (gint64 ow = 0; ow < p->OW; ow++) {
    gint64 ws = MAX (ow * p->sw - p->pw, 0);
    idx[ow] = hs * p->W + ws;
    m[ow] = is_max ? x[idx[ow]] : 0.0f;
  }
  for (gint64 ih = hs; ih < he; ih++) {
    const float *row = x + ih * p->W;
    for (gint64 k = 0; k < p->kw; k++) {
      /* windows whose column ow * sw - pw + k lies inside [0, W) */
      gint64 lo = 0, hi = p->OW;
      while (lo < hi && lo * p->sw - p->pw + k < 0)
        lo++;
      while (hi > lo && (hi - 1) * p->sw - p->pw + k >= p->W)
        hi--;
      if (!is_max) {
        for (gint64 ow = lo; ow < hi; ow++)
          m[ow] += row[ow * p->sw - p->pw + k];
        continue;
      }
      gint64 off = k - p->pw, base = ih * p->W + off;
      for (gint64 ow = lo; ow < hi; ow++) {
        float v = row[ow * p->sw + off], cur = m[ow];
        gint64 take = v > cur;
        nan |= v != v;
        m[ow] = v > cur ? v : cur;
        idx[ow] ^= (idx[ow] ^ (base + ow * p->sw)) & -take;
      }
    }
  }
  if (G_UNLIKELY (nan))
    for (gint64 ow = 0; ow < p->OW; ow++) {
      /* the first NaN of the window (row-major) wins */
      gint64 w0 = ow * p->sw - p->pw;
      for (gint64 ih = hs; ih < he; ih++)
        for (gint64 iw = MAX (w0, 0); iw < MIN (w0 + p->kw, p->W); iw++)
          if (x[ih * p->W + iw] != x[ih * p->W + iw]) {
            m[ow] = x[ih * p->W + iw];
            idx[ow] = ih * p->W + iw;
            goto next;
          }
    next:;
    }
}

/* Fast path of max pooling with 2-wide windows, stride 2, no padding (the
 * usual CNN downsampling; kh is 1 for 1-D, 2 for 2-D): per window the first
 * maximum in row-major order, NaN first; same results as pool_row. */
static gboolean
pool_is_2x2 (const PoolGeom *p)
{
  return p->kw == 2 && p->sw == 2 && p->pw == 0 && p->ph == 0 && p->kh == p->sh && p->kh <= 2;
}

/* The first of a and b in window order that is the maximum, a NaN first:
 * TRUE picks b. A tournament of these over a 2x2 window picks the same
 * element as a row-major scan keeping the first maximum (and the first
 * NaN), so values and gradients match pool_row. */
static inline gboolean
second_wins (float a, float b)
{
  return !((a >= b) | (a != a)); /* no short-circuit: stays a select */
}

/* Windows do not overlap: the forward runs over a row of windows without
 * branches (vectorised: compares and blends), the backward scatters each
 * window's gradient to its winner. */
static void
pool_plane_2x2 (const PoolGeom *p, const float *x, float *y, const float *dy, float *dx)
{
  gboolean two = p->kh == 2;
  gint64 W = p->W, OW = p->OW;
  for (gint64 oh = 0; oh < p->OH; oh++) {
    const float *r0 = x + oh * p->sh * W, *r1 = two ? r0 + W : r0;
    if (y) {
      float *yo = y + oh * OW;
      TL_SIMD
      for (gint64 ow = 0; ow < OW; ow++) {
        float a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1];
        float m1 = second_wins (a, b) ? b : a, m2 = second_wins (c, d) ? d : c;
        yo[ow] = two && second_wins (m1, m2) ? m2 : m1;
      }
      continue;
    }
    /* backward: dx (zeroed) += dy at each window's winner, picked by the
     * same tournament (a select-and-store form of this loop was not
     * vectorised by gcc and measured slower) */
    const float *g = dy + oh * OW;
    float *d0 = dx + oh * p->sh * W;
    for (gint64 ow = 0; ow < OW; ow++) {
      float a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1];
      gint s1 = second_wins (a, b), s2 = two && second_wins (c, d);
      float m1 = s1 ? b : a, m2 = s2 ? d : c;
      gint s3 = two && second_wins (m1, m2);
      d0[s3 * W + 2 * ow + (s3 ? s2 : s1)] += g[ow];
    }
  }
}

typedef struct {
  PoolGeom p;
  gboolean is_max;
  const float *x, *dy;
  float *y, *dx;
  gint failed;
} PoolJob;

static void
pool_planes (gint64 begin, gint64 end, gpointer data, gboolean backward)
{
  PoolJob *j = data;
  const PoolGeom *p = &j->p;
  float inv = 1.0f / (float) (p->kh * p->kw);
  /* scratch: idx[OW] then m[OW] */
  gint64 *idx = g_try_malloc (MAX (p->OW, 1) * (sizeof (gint64) + sizeof (float)));
  float *m = (float *) (idx + MAX (p->OW, 1));

  if (idx == NULL) {
    g_atomic_int_set (&j->failed, 1);
    return;
  }
  for (gint64 pl = begin; pl < end; pl++) {
    const float *x = j->x ? j->x + pl * p->H * p->W : NULL;
    if (j->is_max && pool_is_2x2 (p)) {
      if (backward) {
        float *dx = j->dx + pl * p->H * p->W;
        memset (dx, 0, p->H * p->W * sizeof (float));
        pool_plane_2x2 (p, x, NULL, j->dy + pl * p->OH * p->OW, dx);
      } else {
        pool_plane_2x2 (p, x, j->y + pl * p->OH * p->OW, NULL, NULL);
      }
      continue;
    }
    if (!backward) {
      float *y = j->y + pl * p->OH * p->OW;
      for (gint64 oh = 0; oh < p->OH; oh++) {
        pool_row (p, j->is_max, x, oh, m, idx);
        for (gint64 ow = 0; ow < p->OW; ow++)
          y[oh * p->OW + ow] = j->is_max ? m[ow] : m[ow] * inv;
      }
      continue;
    }
    const float *dy = j->dy + pl * p->OH * p->OW;
    float *dx = j->dx + pl * p->H * p->W;
    memset (dx, 0, p->H * p->W * sizeof (float));
    for (gint64 oh = 0; oh < p->OH; oh++) {
      if (j->is_max) {
        pool_row (p, TRUE, x, oh, m, idx);
        for (gint64 ow = 0; ow < p->OW; ow++)
          dx[idx[ow]] += dy[oh * p->OW + ow];
        continue;
      }
      gint64 h0 = oh * p->sh - p->ph, w0;
      for (gint64 ow = 0; ow < p->OW; ow++) {
        float g = dy[oh * p->OW + ow] * inv;
        w0 = ow * p->sw - p->pw;
        for (gint64 ih = MAX (h0, 0); ih < MIN (h0 + p->kh, p->H); ih++)
          for (gint64 iw = MAX (w0, 0); iw < MIN (w0 + p->kw, p->W); iw++)
            dx[ih * p->W + iw] += g;
      }
    }
  }
  g_free (idx);
}

static void
pool_fwd_planes (gint64 begin, gint64 end, gpointer data)
{
  pool_planes (begin, end, data, FALSE);
}

static void
pool_bwd_planes (gint64 begin, gint64 end, gpointer data)
{
  pool_planes (begin, end, data, TRUE);
}

static const char *
pool_name (guint sp, gboolean is_max, gboolean grad)
{
  static const char *const names[2][2][2] = {
    { { "avg_pool1d", "avg_pool1d_grad" }, { "max_pool1d", "max_pool1d_grad" } },
    { { "avg_pool2d", "avg_pool2d_grad" }, { "max_pool2d", "max_pool2d_grad" } },
  };
  return names[sp - 1][is_max ? 1 : 0][grad ? 1 : 0];
}

static gboolean
pool_infer_sp (guint sp, gboolean is_max, const TlOpCall *call, TlTensorDesc *out, uint32_t max_out,
               uint32_t *n_out, GError **error)
{
  const char *op = pool_name (sp, is_max, FALSE);
  PoolGeom p;
  if (!_tl_priv_nn_n_out (op, 1, max_out, n_out, error)
      || !pool_geom (op, sp, &call->inputs[0], call->attrs, &p, error))
    return FALSE;
  pool_out_desc (sp, &call->inputs[0], &p, out);
  return TRUE;
}

static gboolean
pool_cpu_sp (guint sp, gboolean is_max, const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out,
             GError **error)
{
  TlTensorDesc xd;
  PoolJob j = { 0 };
  tl_tensor_get_desc (in[0], &xd);
  if (!pool_geom (pool_name (sp, is_max, FALSE), sp, &xd, ctx->attrs, &j.p, error))
    return FALSE;
  j.is_max = is_max;
  j.x = tl_tensor_const_data (in[0]);
  j.y = tl_tensor_data (out[0]);
  tl_parallel_for (j.p.planes, 4, pool_fwd_planes, &j);
  if (j.failed) {
    g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY, "%s: out of memory", pool_name (sp, is_max, FALSE));
    return FALSE;
  }
  return TRUE;
}

static TlValue *
pool_grad_node (TlGraph *g, guint sp, gboolean is_max, const TlNode *node, TlValue *dy)
{
  TlAttrs *attrs = tl_attrs_copy (tl_node_attrs (node));
  TlValue *x = tl_node_input (node, 0), *r;
  if (is_max) {
    r = tl_graph_op (g, pool_name (sp, TRUE, TRUE), 2, (TlValue *[]) { x, dy }, attrs);
  } else {
    const TlTensorDesc *xd = tl_value_desc (x);
    tl_attrs_set_ints (attrs, "input_shape", xd->ndim, xd->shape);
    r = tl_graph_op (g, pool_name (sp, FALSE, TRUE), 1, (TlValue *[]) { dy }, attrs);
  }
  tl_attrs_free (attrs);
  return r;
}

static void
pool_cost_sp (guint sp, gboolean is_max, const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost)
{
  PoolGeom p;
  double f = 0;
  if (pool_geom ("pool", sp, &call->inputs[0], call->attrs, &p, NULL))
    f = (double) p.planes * (double) (p.OH * p.OW) * (double) (p.kh * p.kw);
  (void) is_max;
  _tl_priv_nn_cost_io (call, out, 1, f, cost);
}

/* Grad ops: max: (x, dy) -> dx; avg: (dy) + input_shape -> dx. */
static gboolean
pool_grad_geom (guint sp, gboolean is_max, const TlOpCall *call, PoolGeom *p, TlTensorDesc *xd, GError **error)
{
  const char *op = pool_name (sp, is_max, TRUE);
  const TlTensorDesc *dy;
  if (is_max) {
    *xd = call->inputs[0];
    dy = &call->inputs[1];
  } else {
    guint n = 0;
    const gint64 *s = tl_attrs_get_ints (call->attrs, "input_shape", &n);
    if (n != sp + 2) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "%s: attribute input_shape must list %u sizes", op,
                   sp + 2);
      return FALSE;
    }
    tl_tensor_desc_init (xd, TL_DTYPE_F32, n, s);
    dy = &call->inputs[0];
  }
  if (!pool_geom (op, sp, xd, call->attrs, p, error))
    return FALSE;
  TlTensorDesc expect;
  pool_out_desc (sp, xd, p, &expect);
  return _tl_priv_nn_check_dy (op, dy, &expect, error);
}

static gboolean
pool_grad_infer_sp (guint sp, gboolean is_max, const TlOpCall *call, TlTensorDesc *out, uint32_t max_out,
                    uint32_t *n_out, GError **error)
{
  PoolGeom p;
  if (!_tl_priv_nn_n_out (pool_name (sp, is_max, TRUE), 1, max_out, n_out, error))
    return FALSE;
  return pool_grad_geom (sp, is_max, call, &p, out, error);
}

static gboolean
pool_grad_cpu_sp (guint sp, gboolean is_max, const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out,
                  GError **error)
{
  TlTensorDesc descs[2], xd;
  TlOpCall call = { 0 };
  PoolJob j = { 0 };
  for (guint i = 0; i < ctx->n_inputs && i < 2; i++)
    tl_tensor_get_desc (in[i], &descs[i]);
  call.n_inputs = ctx->n_inputs;
  call.inputs = descs;
  call.attrs = ctx->attrs;
  if (!pool_grad_geom (sp, is_max, &call, &j.p, &xd, error))
    return FALSE;
  j.is_max = is_max;
  j.x = is_max ? tl_tensor_const_data (in[0]) : NULL;
  j.dy = tl_tensor_const_data (in[is_max ? 1 : 0]);
  j.dx = tl_tensor_data (out[0]);
  tl_parallel_for (j.p.planes, 4, pool_bwd_planes, &j);
  if (j.failed) {
    g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY, "%s: out of memory", pool_name (sp, is_max, TRUE));
    return FALSE;
  }
  return TRUE;
}

static gboolean
pool_grad_backward_sp (guint sp, gboolean is_max, TlGraph *g, const TlNode *node, TlValue *const *gout,
                       TlValue **gin)
{
  /* Both grads are linear in dy; their adjoint is the forward pool (for max,
   * the pool of ddx at the same argmax: not expressible with max_pool, so
   * max grads are not differentiated further). */
  if (gout[0] == NULL || is_max)
    return TRUE;
  TlAttrs *attrs = tl_attrs_copy (tl_node_attrs (node));
  tl_attrs_remove (attrs, "input_shape");
  gin[0] = tl_graph_op (g, pool_name (sp, FALSE, FALSE), 1, (TlValue *[]) { gout[0] }, attrs);
  tl_attrs_free (attrs);
  return tl_graph_ok (g);
}

/* Forward pools write every window's output; the grads zero each dx plane
 * before accumulating into it (CPU and CUDA), so no executor zero-fill. */
#define POOL_FLAGS (TL_OP_MEMORY_BOUND | TL_OP_OVERWRITES)

#define POOL_WRAPPERS(KIND, SP, MAX)                                                                              \
  static gboolean KIND##_pool##SP##d_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out,          \
                                            uint32_t *n_out, GError **error)                                     \
  {                                                                                                              \
    return pool_infer_sp (SP, MAX, call, out, max_out, n_out, error);                                            \
  }                                                                                                              \
  static gboolean KIND##_pool##SP##d_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out,    \
                                          GError **error)                                                        \
  {                                                                                                              \
    return pool_cpu_sp (SP, MAX, ctx, in, out, error);                                                           \
  }                                                                                                              \
  static gboolean KIND##_pool##SP##d_backward (TlGraph *g, const TlNode *node, TlValue *const *gout,            \
                                               TlValue **gin, GError **error)                                    \
  {                                                                                                              \
    (void) error;                                                                                                \
    if (gout[0] == NULL)                                                                                         \
      return TRUE;                                                                                               \
    gin[0] = pool_grad_node (g, SP, MAX, node, gout[0]);                                                         \
    return tl_graph_ok (g);                                                                                      \
  }                                                                                                              \
  static void KIND##_pool##SP##d_cost (const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost)            \
  {                                                                                                              \
    pool_cost_sp (SP, MAX, call, out, cost);                                                                     \
  }                                                                                                              \
  static gboolean KIND##_pool##SP##d_grad_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out,     \
                                                 uint32_t *n_out, GError **error)                                \
  {                                                                                                              \
    return pool_grad_infer_sp (SP, MAX, call, out, max_out, n_out, error);                                       \
  }                                                                                                              \
  static gboolean KIND##_pool##SP##d_grad_cpu (const TlKernelCtx *ctx, TlTensor *const *in,                     \
                                               TlTensor *const *out, GError **error)                             \
  {                                                                                                              \
    return pool_grad_cpu_sp (SP, MAX, ctx, in, out, error);                                                      \
  }                                                                                                              \
  static gboolean KIND##_pool##SP##d_grad_backward (TlGraph *g, const TlNode *node, TlValue *const *gout,       \
                                                    TlValue **gin, GError **error)                               \
  {                                                                                                              \
    (void) error;                                                                                                \
    return pool_grad_backward_sp (SP, MAX, g, node, gout, gin);                                                  \
  }                                                                                                              \
  static const TlOpDef KIND##_pool##SP##d_def = {                                                                \
    TL_TABLE_INIT (TlOpDef), .name = #KIND "_pool" #SP "d", .flags = POOL_FLAGS, .n_inputs = 1,                  \
    .n_outputs = 1, .infer = KIND##_pool##SP##d_infer, .forward_cpu = KIND##_pool##SP##d_cpu,                    \
    .backward = KIND##_pool##SP##d_backward, .cost = KIND##_pool##SP##d_cost,                                    \
  };                                                                                                             \
  static const TlOpDef KIND##_pool##SP##d_grad_def = {                                                           \
    TL_TABLE_INIT (TlOpDef), .name = #KIND "_pool" #SP "d_grad", .flags = POOL_FLAGS,                            \
    .n_inputs = (MAX) ? 2 : 1, .n_outputs = 1, .infer = KIND##_pool##SP##d_grad_infer,                           \
    .forward_cpu = KIND##_pool##SP##d_grad_cpu,                                                                  \
    .backward = (MAX) ? NULL : KIND##_pool##SP##d_grad_backward,                                                 \
  };

POOL_WRAPPERS (max, 1, TRUE)
POOL_WRAPPERS (avg, 1, FALSE)
POOL_WRAPPERS (max, 2, TRUE)
POOL_WRAPPERS (avg, 2, FALSE)

static const TlOpDef *const pool_defs[] = {
  &max_pool1d_def, &max_pool1d_grad_def, &avg_pool1d_def, &avg_pool1d_grad_def,
  &max_pool2d_def, &max_pool2d_grad_def, &avg_pool2d_def, &avg_pool2d_grad_def,
};

TL_OPS_DEFINE_DEFS_GETTER (_tl_priv_nn_pool_defs, pool_defs)

/* --- builders ----------------------------------------------------------- */

static TlValue *
pool_build (TlGraph *g, const char *op, TlValue *x, gint kernel, gint stride, gint padding)
{
  TlAttrs *attrs = tl_attrs_new ();
  tl_attrs_set_int (attrs, "kernel", kernel);
  tl_attrs_set_int (attrs, "stride", stride);
  tl_attrs_set_int (attrs, "padding", padding);
  TlValue *r = tl_graph_op (g, op, 1, (TlValue *[]) { x }, attrs);
  tl_attrs_free (attrs);
  return r;
}

/**
 * tl_max_pool2d:
 * @g: the graph
 * @x: (nullable): [N, C, H, W]
 * @kernel: window size (square)
 * @stride: step (0: @kernel)
 * @padding: implicit -inf padding, at most @kernel / 2
 *
 * Records a "max_pool2d" node.
 *
 * Returns: (transfer none) (nullable): the pooled value, or %NULL on error.
 */
TlValue *
tl_max_pool2d (TlGraph *g, TlValue *x, gint kernel, gint stride, gint padding)
{
  return pool_build (g, "max_pool2d", x, kernel, stride, padding);
}

/**
 * tl_avg_pool2d:
 * @g: the graph
 * @x: (nullable): [N, C, H, W]
 * @kernel: window size (square)
 * @stride: step (0: @kernel)
 * @padding: implicit zero padding, at most @kernel / 2 (counted in the average)
 *
 * Records an "avg_pool2d" node.
 *
 * Returns: (transfer none) (nullable): the pooled value, or %NULL on error.
 */
TlValue *
tl_avg_pool2d (TlGraph *g, TlValue *x, gint kernel, gint stride, gint padding)
{
  return pool_build (g, "avg_pool2d", x, kernel, stride, padding);
}

/**
 * tl_max_pool1d:
 * @g: the graph
 * @x: (nullable): [N, C, L]
 * @kernel: window size
 * @stride: step (0: @kernel)
 * @padding: implicit -inf padding, at most @kernel / 2
 *
 * Records a "max_pool1d" node.
 *
 * Returns: (transfer none) (nullable): the pooled value, or %NULL on error.
 */
TlValue *
tl_max_pool1d (TlGraph *g, TlValue *x, gint kernel, gint stride, gint padding)
{
  return pool_build (g, "max_pool1d", x, kernel, stride, padding);
}

/**
 * tl_avg_pool1d:
 * @g: the graph
 * @x: (nullable): [N, C, L]
 * @kernel: window size
 * @stride: step (0: @kernel)
 * @padding: implicit zero padding, at most @kernel / 2 (counted in the average)
 *
 * Records an "avg_pool1d" node.
 *
 * Returns: (transfer none) (nullable): the pooled value, or %NULL on error.
 */
TlValue *
tl_avg_pool1d (TlGraph *g, TlValue *x, gint kernel, gint stride, gint padding)
{
  return pool_build (g, "avg_pool1d", x, kernel, stride, padding);
}
