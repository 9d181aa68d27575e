/* matmul.c — "matmul" (batched, broadcasting, trans_a/trans_b) and "linear"
 * (x @ w^T + b), both through cblas_sgemm. Gradients are matmul ops again;
 * broadcast batch axes are reduced with "sum_to". */
#include "config.h"

#include <string.h>

#include <math.h>

#include "ops-nn.h"
#include "ops-rules.h"

/* --- matmul ------------------------------------------------------------- */

typedef TlMatmulGeom MatmulGeom;

static gboolean
matmul_geom (const TlTensorDesc *a, const TlTensorDesc *b, gboolean ta, gboolean tb, MatmulGeom *gm,
             GError **error)
{
  switch (_tl_rule_matmul_geom (gm, a->ndim, a->shape, b->ndim, b->shape, ta, tb)) {
  case TL_RULE_OK: return TRUE;
  case TL_RULE_BAD_ARGS:
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                 "matmul: operands need at least 2 axes, got %u and %u", a->ndim, b->ndim);
    return FALSE;
  default:
    if (gm->bad_axis < 0)
      g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                   "matmul: inner dimensions differ: %" G_GINT64_FORMAT " vs %" G_GINT64_FORMAT
                   " (trans_a=%d, trans_b=%d)",
                   gm->bad_a, gm->bad_b, ta ? 1 : 0, tb ? 1 : 0);
    else
      g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                   "matmul: batch axes do not broadcast: %" G_GINT64_FORMAT " vs %" G_GINT64_FORMAT
                   " at batch axis %d",
                   gm->bad_a, gm->bad_b, gm->bad_axis);
    return FALSE;
  }
}

static gboolean
matmul_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out,
              GError **error)
{
  const TlTensorDesc *a = &call->inputs[0], *b = &call->inputs[1];
  gboolean ta = tl_attrs_get_int (call->attrs, "trans_a", 0) != 0;
  gboolean tb = tl_attrs_get_int (call->attrs, "trans_b", 0) != 0;
  MatmulGeom gm;

  if (!_tl_priv_nn_n_out ("matmul", 1, max_out, n_out, error))
    return FALSE;
  if (a->dtype != TL_DTYPE_F32 || b->dtype != TL_DTYPE_F32) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "matmul: f32 operands only, got %s and %s",
                 tl_dtype_name (a->dtype), tl_dtype_name (b->dtype));
    return FALSE;
  }
  if (!matmul_geom (a, b, ta, tb, &gm, error))
    return FALSE;
  gint64 shape[TL_MAX_DIMS];
  memcpy (shape, gm.batch, gm.nbatch_dims * sizeof (gint64));
  shape[gm.nbatch_dims] = gm.m;
  shape[gm.nbatch_dims + 1] = gm.n;
  tl_tensor_desc_init (out, TL_DTYPE_F32, gm.nbatch_dims + 2, shape);
  return TRUE;
}

typedef struct {
  const MatmulGeom *gm;
  gboolean ta, tb;
  const float *a, *b;
  float *c;
} MatmulJob;

/* One sgemm per batch entry in [begin, end), broadcast offsets resolved. */
static void
matmul_batches (gint64 begin, gint64 end, gpointer data)
{
  const MatmulJob *j = data;
  const MatmulGeom *gm = j->gm;
  gint64 a_mat = gm->rows_a * gm->cols_a, b_mat = gm->rows_b * gm->cols_b, c_mat = gm->m * gm->n;
  for (gint64 bi = begin; bi < end; bi++) {
    gint64 oa, ob;
    _tl_rule_matmul_batch (gm, bi, &oa, &ob);
    _tl_priv_nn_sgemm (j->ta, j->tb, gm->m, gm->n, gm->k, j->a + oa * a_mat, gm->cols_a, j->b + ob * b_mat,
                       gm->cols_b, 0.0f, j->c + bi * c_mat, gm->n);
  }
}

static gboolean
matmul_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  gboolean ta = tl_attrs_get_int (ctx->attrs, "trans_a", 0) != 0;
  gboolean tb = tl_attrs_get_int (ctx->attrs, "trans_b", 0) != 0;
  TlTensorDesc da, db;
  MatmulGeom gm;

  tl_tensor_get_desc (in[0], &da);
  tl_tensor_get_desc (in[1], &db);
  if (!matmul_geom (&da, &db, ta, tb, &gm, error))
    return FALSE;

  const float *a = tl_tensor_const_data (in[0]);
  const float *b = tl_tensor_const_data (in[1]);
  float *c = tl_tensor_data (out[0]);

  if (gm.nbatch == 0)
    return TRUE;
  /* b shared by every batch and a not transposed: one GEMM over all rows. */
  if (gm.b_nbatch == 1 && !ta && gm.a_nbatch == gm.nbatch && gm.nbatch * gm.m <= G_MAXINT) {
    _tl_priv_nn_sgemm (FALSE, tb, gm.nbatch * gm.m, gm.n, gm.k, a, gm.cols_a, b, gm.cols_b, 0.0f, c, gm.n);
    return TRUE;
  }
  MatmulJob j = { &gm, ta, tb, a, b, c };
  /* batches over threads only when each chunk is worth a fork/join: many
   * tiny products (e.g. [256, 10, 8] x [8, 8]) stay on one thread */
  double per_batch = MAX (1.0, (double) gm.m * (double) gm.n * (double) MAX (gm.k, 1));
  gint64 grain = (gint64) MIN ((double) gm.nbatch, ceil (TL_GEMM_SPLIT_MIN / per_batch));
  if (gm.nbatch > 1 && _tl_priv_nn_gemm_split_ok ())
    tl_parallel_for (gm.nbatch, MAX (grain, 1), matmul_batches, &j);
  else
    matmul_batches (0, gm.nbatch, &j);
  return TRUE;
}

static gboolean
matmul_backward (TlGraph *g, const TlNode *node, TlValue *const *gout, TlValue **gin,
                 GError **error)
{
  const TlAttrs *attrs = tl_node_attrs (node);
  gboolean ta = tl_attrs_get_int (attrs, "trans_a", 0) != 0;
  gboolean tb = tl_attrs_get_int (attrs, "trans_b", 0) != 0;
  TlValue *a = tl_node_input (node, 0), *b = tl_node_input (node, 1), *dc = gout[0];

  (void) error;
  if (dc == NULL)
    return TRUE;
  /* op(A) op(B) = C: d op(A) = dC op(B)^T, d op(B) = op(A)^T dC. */
  TlValue *ga = ta ? tl_matmul (g, b, dc, tb, TRUE) : tl_matmul (g, dc, b, FALSE, !tb);
  TlValue *gb;
  MatmulGeom gm;
  if (!ta && matmul_geom (tl_value_desc (a), tl_value_desc (b), ta, tb, &gm, NULL) && gm.nbatch > 1
      && gm.b_nbatch == 1 && gm.a_nbatch == gm.nbatch) {
    /* b shared by every batch entry: fold the batch into the rows, one
     * product instead of nbatch products and a sum_to. */
    const TlTensorDesc *bd = tl_value_desc (b);
    TlValue *a2 = tl_reshape (g, a, 2, (gint64[]) { gm.nbatch * gm.m, gm.k });
    TlValue *c2 = tl_reshape (g, dc, 2, (gint64[]) { gm.nbatch * gm.m, gm.n });
    gb = tb ? tl_matmul (g, c2, a2, TRUE, FALSE) : tl_matmul (g, a2, c2, TRUE, FALSE);
    if (bd->ndim != 2)
      gb = tl_reshape (g, gb, bd->ndim, bd->shape);
  } else {
    gb = tb ? tl_matmul (g, dc, a, TRUE, ta) : tl_matmul (g, a, dc, !ta, FALSE);
  }
  gin[0] = _tl_priv_ops_sum_to_like (g, ga, a);
  gin[1] = _tl_priv_ops_sum_to_like (g, gb, b);
  return tl_graph_ok (g);
}

static void
matmul_cost (const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost)
{
  const TlTensorDesc *a = &call->inputs[0];
  gboolean ta = tl_attrs_get_int (call->attrs, "trans_a", 0) != 0;
  gint64 k = ta ? a->shape[a->ndim - 2] : a->shape[a->ndim - 1];
  _tl_priv_nn_cost_io (call, out, 1, 2.0 * (double) tl_tensor_desc_numel (out) * (double) k, cost);
}

static const TlOpDef matmul_def = {
  TL_TABLE_INIT (TlOpDef),
  .name = "matmul",
  .flags = TL_OP_COMPUTE_BOUND | TL_OP_OVERWRITES, /* sgemm with beta 0; k = 0 zeroes */
  .n_inputs = 2,
  .n_outputs = 1,
  .infer = matmul_infer,
  .forward_cpu = matmul_cpu,
  .backward = matmul_backward,
  .cost = matmul_cost,
};

/* --- linear ------------------------------------------------------------- */

static gboolean
linear_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out,
              GError **error)
{
  if (!_tl_priv_nn_n_out ("linear", 1, max_out, n_out, error))
    return FALSE;
  if (call->n_inputs != 2 && call->n_inputs != 3) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "linear: takes x, w and an optional b, got %u inputs", call->n_inputs);
    return FALSE;
  }
  const TlTensorDesc *x = &call->inputs[0], *w = &call->inputs[1];
  for (guint i = 0; i < call->n_inputs; i++)
    if (call->inputs[i].dtype != TL_DTYPE_F32) {
      g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "linear: f32 only, input %u is %s", i,
                   tl_dtype_name (call->inputs[i].dtype));
      return FALSE;
    }
  if (x->ndim < 1 || w->ndim != 2) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                 "linear: x needs at least 1 axis and w exactly 2, got %u and %u", x->ndim, w->ndim);
    return FALSE;
  }
  if (x->shape[x->ndim - 1] != w->shape[1]) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                 "linear: x has %" G_GINT64_FORMAT " features, w[out, in] expects %" G_GINT64_FORMAT,
                 x->shape[x->ndim - 1], w->shape[1]);
    return FALSE;
  }
  if (call->n_inputs == 3) {
    const TlTensorDesc *b = &call->inputs[2];
    if (b->ndim != 1 || b->shape[0] != w->shape[0]) {
      g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                   "linear: bias must be [%" G_GINT64_FORMAT "], got %u axes of first size %" G_GINT64_FORMAT,
                   w->shape[0], b->ndim, b->ndim ? b->shape[0] : 0);
      return FALSE;
    }
  }
  tl_tensor_desc_init (out, TL_DTYPE_F32, x->ndim, x->shape);
  out->shape[x->ndim - 1] = w->shape[0];
  return TRUE;
}

static gboolean
linear_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  gint64 in_f = tl_tensor_dim (in[1], 1), out_f = tl_tensor_dim (in[1], 0);
  gint64 rows = in_f ? tl_tensor_numel (in[0]) / in_f : tl_tensor_numel (out[0]) / MAX (out_f, 1);
  float *y = tl_tensor_data (out[0]);

  (void) error;
  _tl_priv_nn_sgemm (FALSE, TRUE, rows, out_f, in_f, tl_tensor_const_data (in[0]), in_f,
            tl_tensor_const_data (in[1]), in_f, 0.0f, y, out_f);
  if (ctx->n_inputs == 3) {
    const float *b = tl_tensor_const_data (in[2]);
    for (gint64 r = 0; r < rows; r++)
      for (gint64 j = 0; j < out_f; j++)
        y[r * out_f + j] += b[j];
  }
  return TRUE;
}

static gboolean
linear_backward (TlGraph *g, const TlNode *node, TlValue *const *gout, TlValue **gin,
                 GError **error)
{
  TlValue *x = tl_node_input (node, 0), *w = tl_node_input (node, 1), *dy = gout[0];
  const TlTensorDesc *xd = tl_value_desc (x);
  gint64 in_f = tl_value_dim (w, 1), out_f = tl_value_dim (w, 0);
  gint64 rows = 1;

  (void) error;
  if (dy == NULL)
    return TRUE;
  for (guint i = 0; i + 1 < xd->ndim; i++)
    rows *= xd->shape[i];
  TlValue *dy2 = tl_reshape (g, dy, 2, (gint64[]) { rows, out_f });
  TlValue *x2 = tl_reshape (g, x, 2, (gint64[]) { rows, in_f });
  gin[0] = tl_reshape (g, tl_matmul (g, dy2, w, FALSE, FALSE), xd->ndim, xd->shape);
  gin[1] = tl_matmul (g, dy2, x2, TRUE, FALSE);
  if (tl_node_n_inputs (node) == 3)
    gin[2] = tl_sum (g, dy2, 1, (gint[]) { 0 }, FALSE);
  return tl_graph_ok (g);
}

static void
linear_cost (const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost)
{
  _tl_priv_nn_cost_io (call, out, 1,
                       2.0 * (double) tl_tensor_desc_numel (out) * (double) call->inputs[1].shape[1],
                       cost);
}

static const TlOpDef linear_def = {
  TL_TABLE_INIT (TlOpDef),
  .name = "linear",
  .flags = TL_OP_COMPUTE_BOUND | TL_OP_OVERWRITES, /* sgemm with beta 0; k = 0 zeroes */
  .n_inputs = -1,
  .n_outputs = 1,
  .infer = linear_infer,
  .forward_cpu = linear_cpu,
  .backward = linear_backward,
  .cost = linear_cost,
};

static const TlOpDef *const matmul_defs[] = { &matmul_def, &linear_def };

TL_OPS_DEFINE_DEFS_GETTER (_tl_priv_nn_matmul_defs, matmul_defs)

/* --- builders ----------------------------------------------------------- */

/**
 * tl_matmul:
 * @g: the graph
 * @a: (nullable): left operand [..., m, k] (or [..., k, m] with @trans_a)
 * @b: (nullable): right operand [..., k, n] (or [..., n, k] with @trans_b)
 * @trans_a: transpose the last two axes of @a
 * @trans_b: transpose the last two axes of @b
 *
 * Records a "matmul" node; batch axes broadcast NumPy-style.
 *
 * Returns: (transfer none) (nullable): the product, or %NULL with the
 * graph's sticky error set.
 */
TlValue *
tl_matmul (TlGraph *g, TlValue *a, TlValue *b, gboolean trans_a, gboolean trans_b)
{
  TlAttrs *attrs = tl_attrs_new ();
  tl_attrs_set_int (attrs, "trans_a", trans_a ? 1 : 0);
  tl_attrs_set_int (attrs, "trans_b", trans_b ? 1 : 0);
  TlValue *r = tl_graph_op (g, "matmul", 2, (TlValue *[]) { a, b }, attrs);
  tl_attrs_free (attrs);
  return r;
}

/**
 * tl_linear:
 * @g: the graph
 * @x: (nullable): input [..., in]
 * @w: (nullable): weight [out, in]
 * @b: (nullable): bias [out], or %NULL for none
 *
 * Records a "linear" node computing x @ w^T + b.
 *
 * Returns: (transfer none) (nullable): [..., out], or %NULL on error.
 */
TlValue *
tl_linear (TlGraph *g, TlValue *x, TlValue *w, TlValue *b)
{
  if (b)
    return tl_graph_op (g, "linear", 3, (TlValue *[]) { x, w, b }, NULL);
  return tl_graph_op (g, "linear", 2, (TlValue *[]) { x, w }, NULL);
}
