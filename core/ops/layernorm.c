/* layernorm.c — "layer_norm" over the last axis with optional gamma/beta
 * and its fused gradient "layer_norm_grad" (dx, dgamma, dbeta).
 *
 * Inputs: x, then gamma when attr has_gamma, then beta when attr has_beta.
 * Row statistics are accumulated in double; dgamma/dbeta are summed per
 * fixed chunk of rows and the chunks combined in order (deterministic).
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "ops-common.h"
#include "ops-rules.h"

typedef struct {
  gint64 rows, D;
  float eps;
  const float *x, *gamma, *beta, *dy;
  float *y, *dx;
  float *partials; /* [n_chunks][2][D] */
  gint64 rows_per_chunk;
} Ln;

static gboolean
ln_check_params (const TlOpCall *call, const TlTensorDesc *x, guint first, guint n, const char *op,
                 GError **error)
{
  gint64 D = x->ndim ? x->shape[x->ndim - 1] : 1;
  for (guint i = first; i < first + n; i++) {
    const TlTensorDesc *p = &call->inputs[i];
    if (!_tl_priv_ops_check_float (call, i, op, error))
      return FALSE;
    if (p->ndim != 1 || p->shape[0] != D) {
      _tl_priv_ops_shape_error (error, op, "input %u %s must be [%" G_GINT64_FORMAT "] (the last axis of x %s)", i,
                                _tl_priv_ops_desc_str (p), D, _tl_priv_ops_desc_str (x));
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
ln_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  (void) max_out;
  (void) n_out;
  gboolean hg, hb;
  double eps;
  _tl_rule_ln_attrs (call->attrs, &hg, &hb, &eps);
  const TlTensorDesc *x = &call->inputs[0];
  if (call->n_inputs != 1u + hg + hb) {
    _tl_priv_ops_arg_error (error, "layer_norm", "%u inputs given, attrs has_gamma/has_beta want %u",
                            call->n_inputs, 1u + hg + hb);
    return FALSE;
  }
  if (!_tl_priv_ops_check_float (call, 0, "layer_norm", error))
    return FALSE;
  if (x->ndim == 0) {
    _tl_priv_ops_shape_error (error, "layer_norm", "input must have at least 1 axis");
    return FALSE;
  }
  if (!(eps >= 0.0)) {
    _tl_priv_ops_arg_error (error, "layer_norm", "eps must be >= 0");
    return FALSE;
  }
  if (!ln_check_params (call, x, 1, hg + hb, "layer_norm", error))
    return FALSE;
  out[0] = *x;
  return TRUE;
}

static void
row_stats (const float *restrict x, gint64 D, float eps, float *mean, float *rstd)
{
  double s = 0.0, ss = 0.0;
  for (gint64 j = 0; j < D; j++)
    s += x[j];
  double m = D ? s / (double) D : 0.0;
  for (gint64 j = 0; j < D; j++) {
    double d = x[j] - m;
    ss += d * d;
  }
  *mean = (float) m;
  *rstd = (float) (1.0 / sqrt ((D ? ss / (double) D : 0.0) + eps));
}

static void
ln_rows (gint64 begin, gint64 end, gpointer data)
{
  Ln *l = data;
  gint64 D = l->D;
  for (gint64 r = begin; r < end; r++) {
    const float *restrict x = l->x + r * D;
    float *restrict y = l->y + r * D;
    float mean, rstd;
    row_stats (x, D, l->eps, &mean, &rstd);
    const float *restrict gamma = l->gamma, *restrict beta = l->beta;
    TL_SIMD
    for (gint64 j = 0; j < D; j++)
      y[j] = (x[j] - mean) * rstd;
    if (gamma) {
      TL_SIMD
      for (gint64 j = 0; j < D; j++)
        y[j] *= gamma[j];
    }
    if (beta) {
      TL_SIMD
      for (gint64 j = 0; j < D; j++)
        y[j] += beta[j];
    }
  }
}

static gboolean
ln_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  (void) error;
  gboolean hg, hb;
  Ln l = { 0 };
  _tl_rule_ln_setup (ctx->attrs, in[0], &hg, &hb, &l.eps, &l.D, &l.rows);
  l.x = tl_tensor_const_data (in[0]);
  l.gamma = hg ? tl_tensor_const_data (in[1]) : NULL;
  l.beta = hb ? tl_tensor_const_data (in[1 + hg]) : NULL;
  l.y = tl_tensor_data (out[0]);
  if (l.rows > 0)
    tl_parallel_for (l.rows, MAX (1, TL_OPS_GRAIN / MAX (1, l.D)), ln_rows, &l);
  return TRUE;
}

/* --- layer_norm_grad: inputs dy, x[, gamma]; outputs dx, dgamma, dbeta --- */

static gboolean
ln_grad_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  gboolean hg, hb;
  double eps;
  _tl_rule_ln_attrs (call->attrs, &hg, &hb, &eps);
  if (call->n_inputs != 2u + hg) {
    _tl_priv_ops_arg_error (error, "layer_norm_grad", "%u inputs given, want %u", call->n_inputs, 2u + hg);
    return FALSE;
  }
  const TlTensorDesc *dy = &call->inputs[0], *x = &call->inputs[1];
  if (!_tl_priv_ops_check_float (call, 0, "layer_norm_grad", error) ||
      !_tl_priv_ops_check_float (call, 1, "layer_norm_grad", error))
    return FALSE;
  if (x->ndim == 0 || !_tl_priv_ops_same_shape (dy, x)) {
    _tl_priv_ops_shape_error (error, "layer_norm_grad", "dy %s and x %s must match (at least 1-d)",
                              _tl_priv_ops_desc_str (dy), _tl_priv_ops_desc_str (x));
    return FALSE;
  }
  if (!ln_check_params (call, x, 2, hg, "layer_norm_grad", error))
    return FALSE;
  if (max_out < 3) {
    _tl_priv_ops_arg_error (error, "layer_norm_grad", "needs room for 3 outputs");
    return FALSE;
  }
  gint64 D = x->shape[x->ndim - 1];
  out[0] = *x;
  tl_tensor_desc_init (&out[1], TL_DTYPE_F32, 1, &D);
  tl_tensor_desc_init (&out[2], TL_DTYPE_F32, 1, &D);
  *n_out = 3;
  return TRUE;
}

static void
ln_grad_chunks (gint64 begin, gint64 end, gpointer data)
{
  Ln *l = data;
  gint64 D = l->D;
  for (gint64 c = begin; c < end; c++) {
    float *restrict dg = l->partials + c * 2 * D;
    float *restrict db = dg + D;
    memset (dg, 0, 2 * D * sizeof (float));
    gint64 r1 = MIN (l->rows, (c + 1) * l->rows_per_chunk);
    for (gint64 r = c * l->rows_per_chunk; r < r1; r++) {
      const float *restrict x = l->x + r * D;
      const float *restrict dy = l->dy + r * D;
      float *restrict dx = l->dx + r * D;
      float mean, rstd;
      row_stats (x, D, l->eps, &mean, &rstd);
      double sg = 0.0, sgx = 0.0;
      for (gint64 j = 0; j < D; j++) {
        float xh = (x[j] - mean) * rstd;
        float gj = dy[j] * (l->gamma ? l->gamma[j] : 1.0f);
        sg += gj;
        sgx += gj * xh;
        dg[j] += dy[j] * xh;
        db[j] += dy[j];
      }
      float mg = (float) (sg / (double) D), mgx = (float) (sgx / (double) D);
      for (gint64 j = 0; j < D; j++) {
        float xh = (x[j] - mean) * rstd;
        float gj = dy[j] * (l->gamma ? l->gamma[j] : 1.0f);
        dx[j] = rstd * (gj - mg - xh * mgx);
      }
    }
  }
}

static gboolean
ln_grad_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  gboolean hg, hb;
  Ln l = { 0 };
  _tl_rule_ln_setup (ctx->attrs, in[1], &hg, &hb, &l.eps, &l.D, &l.rows);
  l.dy = tl_tensor_const_data (in[0]);
  l.x = tl_tensor_const_data (in[1]);
  l.gamma = hg ? tl_tensor_const_data (in[2]) : NULL;
  l.dx = tl_tensor_data (out[0]);
  float *dg = tl_tensor_data (out[1]), *db = tl_tensor_data (out[2]);
  memset (dg, 0, l.D * sizeof (float));
  memset (db, 0, l.D * sizeof (float));
  if (l.rows == 0)
    return TRUE;
  l.rows_per_chunk = MAX (1, TL_OPS_GRAIN / MAX (1, l.D));
  gint64 nc = _tl_priv_ops_n_chunks (l.rows, l.rows_per_chunk);
  l.partials = _tl_priv_aligned_alloc (nc * 2 * l.D * sizeof (float));
  if (!l.partials) {
    g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY, "layer_norm_grad: out of memory");
    return FALSE;
  }
  tl_parallel_for (nc, 1, ln_grad_chunks, &l);
  for (gint64 c = 0; c < nc; c++) {
    const float *pg = l.partials + c * 2 * l.D, *pb = pg + l.D;
    for (gint64 j = 0; j < l.D; j++) {
      dg[j] += pg[j];
      db[j] += pb[j];
    }
  }
  _tl_priv_aligned_free (l.partials);
  return TRUE;
}

static gboolean
ln_bw (TlGraph *g, const TlNode *node, TlValue *const *gy, TlValue **gx, GError **error)
{
  (void) error;
  gboolean hg, hb;
  double eps;
  if (!gy[0])
    return TRUE;
  _tl_rule_ln_attrs (tl_node_attrs (node), &hg, &hb, &eps);
  TlValue *ins[3] = { gy[0], tl_node_input (node, 0), hg ? tl_node_input (node, 1) : NULL };
  TlValue *outs[3] = { NULL, NULL, NULL };
  if (tl_graph_op_multi (g, "layer_norm_grad", 2 + hg, ins, tl_node_attrs (node), 3, outs) != 3)
    return TRUE; /* sticky graph error */
  gx[0] = outs[0];
  if (hg)
    gx[1] = outs[1];
  if (hb)
    gx[1 + hg] = outs[2];
  return TRUE;
}

TL_OPS_COST_FN (ln_cost, 8)

static void
ln_grad_cost (const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost)
{
  _tl_priv_ops_cost_default (call, out, 3, 16, cost);
}

/* Both write every output element: y row by row; dx row by row and dgamma,
 * dbeta zeroed before the sum (also with no rows), CPU and CUDA. */
static const TlOpDef layer_norm_def = { TL_TABLE_INIT (TlOpDef), .name = "layer_norm",
                                        .flags = TL_OP_MEMORY_BOUND | TL_OP_OVERWRITES, .n_inputs = -1, .n_outputs = 1,
                                        .infer = ln_infer, .forward_cpu = ln_cpu, .backward = ln_bw,
                                        .cost = ln_cost };
static const TlOpDef layer_norm_grad_def = { TL_TABLE_INIT (TlOpDef), .name = "layer_norm_grad",
                                             .flags = TL_OP_MEMORY_BOUND | TL_OP_OVERWRITES, .n_inputs = -1, .n_outputs = 3,
                                             .infer = ln_grad_infer, .forward_cpu = ln_grad_cpu,
                                             .cost = ln_grad_cost };

static const TlOpDef *const layernorm_defs[] = { &layer_norm_def, &layer_norm_grad_def };

TL_OPS_DEFINE_DEFS_GETTER (_tl_priv_ops_layernorm_defs, layernorm_defs)

/**
 * tl_layer_norm:
 * @g: the graph
 * @x: (nullable): input [..., D]
 * @gamma: (nullable): scale [D] or NULL
 * @beta: (nullable): shift [D] or NULL
 * @eps: added to the variance
 *
 * Returns: (transfer none) (nullable): the normalised value.
 */
TlValue *
tl_layer_norm (TlGraph *g, TlValue *x, TlValue *gamma, TlValue *beta, double eps)
{
  TlValue *ins[3] = { x, NULL, NULL };
  guint n = 1;
  TlAttrs *a = tl_attrs_new ();
  tl_attrs_set_float (a, "eps", eps);
  tl_attrs_set_int (a, "has_gamma", gamma != NULL);
  tl_attrs_set_int (a, "has_beta", beta != NULL);
  if (gamma)
    ins[n++] = gamma;
  if (beta)
    ins[n++] = beta;
  TlValue *v = tl_graph_op (g, "layer_norm", n, ins, a);
  tl_attrs_free (a);
  return v;
}
