/* spmm.c — sparse (CSR) times dense products.
 *
 *   "spmm"   (indptr, indices, values, dense[cols, n]) attr n_rows -> [n_rows, n]
 *            out[r] = sum_{e in row r} values[e] * dense[indices[e]]
 *   "spmm_t" (indptr, indices, values, y[rows, n])     attr n_cols -> [n_cols, n]
 *            out = A^T y   (the dense gradient of spmm)
 *   "sddmm"  (indptr, indices, a[rows, n], b[cols, n])            -> [nnz]
 *            out[e] = dot(a[row(e)], b[indices[e]])  (the values gradient)
 *
 * The three are closed under differentiation. indptr/indices are i32 or i64;
 * the CSR structure is validated in every kernel (indptr[0] == 0,
 * non-decreasing, indptr[rows] == nnz, column indices in [0, cols)).
 */
#include "config.h"

#include <string.h>

#include "ops-nn.h"
#include "ops-rules.h"

typedef TlRuleCsr Csr;

#define CSR_PTR(c, r) _tl_rule_index_at ((c)->indptr, (c)->p64, (r))
#define CSR_COL(c, e) _tl_rule_index_at ((c)->indices, (c)->i64, (e))

static gboolean
check_csr_descs (const char *op, const TlTensorDesc *indptr, const TlTensorDesc *indices,
                 gint64 rows, GError **error)
{
  if (!_tl_nn_is_index_dtype (indptr->dtype) || !_tl_nn_is_index_dtype (indices->dtype)) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "%s: indptr and indices must be i32 or i64, got %s and %s",
                 op, tl_dtype_name (indptr->dtype), tl_dtype_name (indices->dtype));
    return FALSE;
  }
  if (indptr->ndim != 1 || indices->ndim != 1) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "%s: indptr and indices must be 1-D", op);
    return FALSE;
  }
  if (rows >= 0 && indptr->shape[0] != rows + 1) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                 "%s: indptr has %" G_GINT64_FORMAT " entries, expected n_rows + 1 = %" G_GINT64_FORMAT,
                 op, indptr->shape[0], rows + 1);
    return FALSE;
  }
  if (indptr->shape[0] < 1) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "%s: indptr must not be empty", op);
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_f32 (const char *op, const TlTensorDesc *d, const char *what, guint ndim, GError **error)
{
  if (d->dtype != TL_DTYPE_F32 || d->ndim != ndim) {
    g_autofree char *s = tl_tensor_desc_to_string (d);
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "%s: %s must be a %u-D f32 tensor, got %s", op, what,
                 ndim, s);
    return FALSE;
  }
  return TRUE;
}

/* Validates the CSR structure (the data, not only the shapes). */
static gboolean
csr_load (const char *op, TlTensor *indptr, TlTensor *indices, gint64 cols, gint64 n, Csr *c,
          GError **error)
{
  _tl_rule_csr_init (c, indptr, indices, cols, n);

  gint64 first = CSR_PTR (c, 0);
  if (first != 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "%s: malformed CSR: indptr[0] is %" G_GINT64_FORMAT ", expected 0", op, first);
    return FALSE;
  }
  for (gint64 r = 0; r < c->rows; r++) {
    gint64 lo = CSR_PTR (c, r), hi = CSR_PTR (c, r + 1);
    if (hi < lo) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "%s: malformed CSR: indptr decreases at row %" G_GINT64_FORMAT " (%" G_GINT64_FORMAT
                   " -> %" G_GINT64_FORMAT ")",
                   op, r, lo, hi);
      return FALSE;
    }
  }
  gint64 last = CSR_PTR (c, c->rows);
  if (last != c->nnz) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "%s: malformed CSR: indptr[%" G_GINT64_FORMAT "] is %" G_GINT64_FORMAT
                 ", expected nnz = %" G_GINT64_FORMAT,
                 op, c->rows, last, c->nnz);
    return FALSE;
  }
  return _tl_priv_nn_check_indices (op, indices, cols, error);
}

/* --- spmm --------------------------------------------------------------- */

static gboolean
spmm_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out,
            GError **error)
{
  const TlTensorDesc *in = call->inputs;
  gint64 rows = tl_attrs_get_int (call->attrs, "n_rows", in[0].ndim == 1 ? in[0].shape[0] - 1 : -1);
  if (!_tl_priv_nn_n_out ("spmm", 1, max_out, n_out, error)
      || !check_csr_descs ("spmm", &in[0], &in[1], rows, error)
      || !check_f32 ("spmm", &in[2], "values", 1, error)
      || !check_f32 ("spmm", &in[3], "dense", 2, error))
    return FALSE;
  if (in[2].shape[0] != in[1].shape[0]) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                 "spmm: %" G_GINT64_FORMAT " values for %" G_GINT64_FORMAT " indices", in[2].shape[0],
                 in[1].shape[0]);
    return FALSE;
  }
  tl_tensor_desc_init (out, TL_DTYPE_F32, 2, (gint64[]) { in[0].shape[0] - 1, in[3].shape[1] });
  return TRUE;
}

typedef struct {
  Csr c;
  const float *vals;
  const float *a;  /* dense operand */
  const float *b;  /* second dense operand (sddmm) */
  float *out;
} SpJob;

static void
spmm_rows (gint64 begin, gint64 end, gpointer data)
{
  const SpJob *j = data;
  gint64 n = j->c.n;
  for (gint64 r = begin; r < end; r++) {
    float *o = j->out + r * n;
    memset (o, 0, n * sizeof (float));
    for (gint64 e = CSR_PTR (&j->c, r); e < CSR_PTR (&j->c, r + 1); e++) {
      const float *d = j->a + CSR_COL (&j->c, e) * n;
      float v = j->vals[e];
      for (gint64 q = 0; q < n; q++)
        o[q] += v * d[q];
    }
  }
}

static gboolean
spmm_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  SpJob j;
  (void) ctx;
  if (!csr_load ("spmm", in[0], in[1], tl_tensor_dim (in[3], 0), tl_tensor_dim (in[3], 1), &j.c, error))
    return FALSE;
  j.vals = tl_tensor_const_data (in[2]);
  j.a = tl_tensor_const_data (in[3]);
  j.out = tl_tensor_data (out[0]);
  tl_parallel_for (j.c.rows, 64, spmm_rows, &j);
  return TRUE;
}

static TlValue *
sp_op (TlGraph *g, const char *op, TlValue *indptr, TlValue *indices, TlValue *x, TlValue *y,
       const char *key, gint64 v)
{
  TlAttrs *attrs = tl_attrs_new ();
  if (key)
    tl_attrs_set_int (attrs, key, v);
  TlValue *r = tl_graph_op (g, op, 4, (TlValue *[]) { indptr, indices, x, y }, attrs);
  tl_attrs_free (attrs);
  return r;
}

static gboolean
spmm_backward (TlGraph *g, const TlNode *node, TlValue *const *gout, TlValue **gin, GError **error)
{
  TlValue *ip = tl_node_input (node, 0), *ix = tl_node_input (node, 1);
  TlValue *vals = tl_node_input (node, 2), *dense = tl_node_input (node, 3);
  (void) error;
  if (gout[0] == NULL)
    return TRUE;
  gin[2] = sp_op (g, "sddmm", ip, ix, gout[0], dense, NULL, 0);
  gin[3] = sp_op (g, "spmm_t", ip, ix, vals, gout[0], "n_cols", tl_value_dim (dense, 0));
  return tl_graph_ok (g);
}

static void
spmm_cost (const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost)
{
  _tl_priv_nn_cost_io (call, out, 1, 2.0 * (double) call->inputs[1].shape[0] * (double) out->shape[1],
                       cost);
}

/* --- spmm_t ------------------------------------------------------------- */

static gboolean
spmm_t_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out,
              GError **error)
{
  const TlTensorDesc *in = call->inputs;
  gint64 cols = tl_attrs_get_int (call->attrs, "n_cols", -1);
  if (!_tl_priv_nn_n_out ("spmm_t", 1, max_out, n_out, error)
      || !check_csr_descs ("spmm_t", &in[0], &in[1], -1, error)
      || !check_f32 ("spmm_t", &in[2], "values", 1, error)
      || !check_f32 ("spmm_t", &in[3], "y", 2, error))
    return FALSE;
  if (cols < 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "spmm_t: attribute n_cols (>= 0) is required");
    return FALSE;
  }
  if (in[2].shape[0] != in[1].shape[0] || in[3].shape[0] != in[0].shape[0] - 1) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                 "spmm_t: needs nnz values (%" G_GINT64_FORMAT " vs %" G_GINT64_FORMAT
                 ") and one y row per CSR row (%" G_GINT64_FORMAT " vs %" G_GINT64_FORMAT ")",
                 in[2].shape[0], in[1].shape[0], in[3].shape[0], in[0].shape[0] - 1);
    return FALSE;
  }
  tl_tensor_desc_init (out, TL_DTYPE_F32, 2, (gint64[]) { cols, in[3].shape[1] });
  return TRUE;
}

/* Threads split the n columns; each output element sums its terms in edge
 * order whatever the thread count. */
static void
spmm_t_cols (gint64 begin, gint64 end, gpointer data)
{
  const SpJob *j = data;
  gint64 n = j->c.n;
  for (gint64 r = 0; r < j->c.rows; r++)
    for (gint64 e = CSR_PTR (&j->c, r); e < CSR_PTR (&j->c, r + 1); e++) {
      float *d = j->out + CSR_COL (&j->c, e) * n;
      const float *s = j->a + r * n;
      float v = j->vals[e];
      for (gint64 q = begin; q < end; q++)
        d[q] += v * s[q];
    }
}

static gboolean
spmm_t_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  SpJob j;
  gint64 n = tl_tensor_dim (in[3], 1);
  (void) ctx;
  if (!csr_load ("spmm_t", in[0], in[1], tl_tensor_dim (out[0], 0), n, &j.c, error))
    return FALSE;
  j.vals = tl_tensor_const_data (in[2]);
  j.a = tl_tensor_const_data (in[3]);
  j.out = tl_tensor_data (out[0]);
  memset (j.out, 0, tl_tensor_nbytes (out[0]));
  if (n >= 64 && j.c.nnz >= 256)
    tl_parallel_for (n, 32, spmm_t_cols, &j);
  else
    spmm_t_cols (0, n, &j);
  return TRUE;
}

static gboolean
spmm_t_backward (TlGraph *g, const TlNode *node, TlValue *const *gout, TlValue **gin, GError **error)
{
  TlValue *ip = tl_node_input (node, 0), *ix = tl_node_input (node, 1);
  TlValue *vals = tl_node_input (node, 2), *y = tl_node_input (node, 3);
  (void) error;
  if (gout[0] == NULL)
    return TRUE;
  /* out[c] = sum values[e] y[r]: d values[e] = dot(y[r], dout[c]); dy = A dout. */
  gin[2] = sp_op (g, "sddmm", ip, ix, y, gout[0], NULL, 0);
  gin[3] = sp_op (g, "spmm", ip, ix, vals, gout[0], "n_rows", tl_value_dim (y, 0));
  return tl_graph_ok (g);
}

static void
spmm_t_cost (const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost)
{
  _tl_priv_nn_cost_io (call, out, 1, 2.0 * (double) call->inputs[1].shape[0] * (double) out->shape[1],
                       cost);
}

/* --- sddmm -------------------------------------------------------------- */

static gboolean
sddmm_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out,
             GError **error)
{
  const TlTensorDesc *in = call->inputs;
  if (!_tl_priv_nn_n_out ("sddmm", 1, max_out, n_out, error)
      || !check_csr_descs ("sddmm", &in[0], &in[1], -1, error)
      || !check_f32 ("sddmm", &in[2], "a", 2, error) || !check_f32 ("sddmm", &in[3], "b", 2, error))
    return FALSE;
  if (in[2].shape[0] != in[0].shape[0] - 1 || in[2].shape[1] != in[3].shape[1]) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                 "sddmm: a must be [rows=%" G_GINT64_FORMAT ", n] and b [cols, n], got a [%" G_GINT64_FORMAT
                 ", %" G_GINT64_FORMAT "] and b [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]",
                 in[0].shape[0] - 1, in[2].shape[0], in[2].shape[1], in[3].shape[0], in[3].shape[1]);
    return FALSE;
  }
  tl_tensor_desc_init (out, TL_DTYPE_F32, 1, (gint64[]) { in[1].shape[0] });
  return TRUE;
}

static void
sddmm_rows (gint64 begin, gint64 end, gpointer data)
{
  const SpJob *j = data;
  gint64 n = j->c.n;
  for (gint64 r = begin; r < end; r++) {
    const float *ar = j->a + r * n;
    for (gint64 e = CSR_PTR (&j->c, r); e < CSR_PTR (&j->c, r + 1); e++) {
      const float *br = j->b + CSR_COL (&j->c, e) * n;
      float s = 0.0f;
      for (gint64 q = 0; q < n; q++)
        s += ar[q] * br[q];
      j->out[e] = s;
    }
  }
}

static gboolean
sddmm_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  SpJob j;
  (void) ctx;
  if (!csr_load ("sddmm", in[0], in[1], tl_tensor_dim (in[3], 0), tl_tensor_dim (in[3], 1), &j.c, error))
    return FALSE;
  j.a = tl_tensor_const_data (in[2]);
  j.b = tl_tensor_const_data (in[3]);
  j.out = tl_tensor_data (out[0]);
  tl_parallel_for (j.c.rows, 64, sddmm_rows, &j);
  return TRUE;
}

static gboolean
sddmm_backward (TlGraph *g, const TlNode *node, TlValue *const *gout, TlValue **gin, GError **error)
{
  TlValue *ip = tl_node_input (node, 0), *ix = tl_node_input (node, 1);
  TlValue *a = tl_node_input (node, 2), *b = tl_node_input (node, 3);
  (void) error;
  if (gout[0] == NULL)
    return TRUE;
  gin[2] = sp_op (g, "spmm", ip, ix, gout[0], b, "n_rows", tl_value_dim (a, 0));
  gin[3] = sp_op (g, "spmm_t", ip, ix, gout[0], a, "n_cols", tl_value_dim (b, 0));
  return tl_graph_ok (g);
}

static void
sddmm_cost (const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost)
{
  _tl_priv_nn_cost_io (call, out, 1, 2.0 * (double) out->shape[0] * (double) call->inputs[2].shape[1],
                       cost);
}

static const TlOpDef spmm_def = {
  TL_TABLE_INIT (TlOpDef),
  .name = "spmm",
  .flags = TL_OP_MEMORY_BOUND | TL_OP_OVERWRITES,
  .n_inputs = 4,
  .n_outputs = 1,
  .infer = spmm_infer,
  .forward_cpu = spmm_cpu,
  .backward = spmm_backward,
  .cost = spmm_cost,
};

static const TlOpDef spmm_t_def = {
  TL_TABLE_INIT (TlOpDef),
  .name = "spmm_t",
  .flags = TL_OP_MEMORY_BOUND | TL_OP_OVERWRITES,
  .n_inputs = 4,
  .n_outputs = 1,
  .infer = spmm_t_infer,
  .forward_cpu = spmm_t_cpu,
  .backward = spmm_t_backward,
  .cost = spmm_t_cost,
};

static const TlOpDef sddmm_def = {
  TL_TABLE_INIT (TlOpDef),
  .name = "sddmm",
  .flags = TL_OP_MEMORY_BOUND | TL_OP_OVERWRITES,
  .n_inputs = 4,
  .n_outputs = 1,
  .infer = sddmm_infer,
  .forward_cpu = sddmm_cpu,
  .backward = sddmm_backward,
  .cost = sddmm_cost,
};

static const TlOpDef *const spmm_defs[] = { &spmm_def, &spmm_t_def, &sddmm_def };

TL_OPS_DEFINE_DEFS_GETTER (_tl_priv_nn_spmm_defs, spmm_defs)

/**
 * tl_spmm:
 * @g: the graph
 * @indptr: (nullable): CSR row pointers, i64/i32 [n_rows + 1]
 * @indices: (nullable): CSR column indices, i64/i32 [nnz]
 * @values: (nullable): f32 [nnz]
 * @dense: (nullable): f32 [cols, n]
 * @n_rows: rows of the sparse matrix
 *
 * Records a "spmm" node; gradients flow to @values and @dense.
 *
 * Returns: (transfer none) (nullable): [n_rows, n], or %NULL on error.
 */
TlValue *
tl_spmm (TlGraph *g, TlValue *indptr, TlValue *indices, TlValue *values, TlValue *dense, gint64 n_rows)
{
  return sp_op (g, "spmm", indptr, indices, values, dense, "n_rows", n_rows);
}
