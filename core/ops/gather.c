/* gather.c — "gather" (take indices along an axis), "embedding" (gather of
 * rows of a [V, D] table) and their adjoint "scatter_add".
 *
 * Indices (i32 or i64, any shape) are validated in the kernel: an index
 * outside [0, bound) is a TL_ERROR_INVALID_ARGUMENT naming it.
 *
 *   gather:      x[pre, A, post], idx[I...]        -> [pre, I..., post]
 *   scatter_add: src[pre, I..., post], idx[I...]   -> [pre, n_rows, post]
 *                out[p, idx[i], q] += src[p, i, q]
 * "embedding" is gather with axis 0 on a 2-D table.
 */
#include "config.h"

#include <string.h>

#include "ops-nn.h"
#include "ops-rules.h"

static gboolean
gather_shape (const char *op, const TlTensorDesc *x, const TlTensorDesc *idx, gint64 axis,
              TlTensorDesc *out, guint *axis_out, GError **error)
{
  guint a;
  if (!_tl_nn_is_index_dtype (idx->dtype)) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "%s: indices must be i32 or i64, got %s", op,
                 tl_dtype_name (idx->dtype));
    return FALSE;
  }
  if (!_tl_priv_ops_axis (axis, x->ndim, &a, op, error))
    return FALSE;
  if (x->ndim - 1 + idx->ndim > TL_MAX_DIMS) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "%s: result would have more than %d axes", op,
                 TL_MAX_DIMS);
    return FALSE;
  }
  gint64 shape[TL_MAX_DIMS];
  guint nd = 0;
  for (guint i = 0; i < a; i++)
    shape[nd++] = x->shape[i];
  for (guint i = 0; i < idx->ndim; i++)
    shape[nd++] = idx->shape[i];
  for (guint i = a + 1; i < x->ndim; i++)
    shape[nd++] = x->shape[i];
  tl_tensor_desc_init (out, x->dtype, nd, shape);
  *axis_out = a;
  return TRUE;
}

static gboolean
gather_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out,
              GError **error)
{
  guint a;
  if (!_tl_priv_nn_n_out ("gather", 1, max_out, n_out, error))
    return FALSE;
  if (call->inputs[0].ndim == 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "gather: x must have at least one axis");
    return FALSE;
  }
  return gather_shape ("gather", &call->inputs[0], &call->inputs[1],
                       tl_attrs_get_int (call->attrs, "axis", 0), out, &a, error);
}

static gboolean
embedding_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out,
                 GError **error)
{
  guint a;
  if (!_tl_priv_nn_n_out ("embedding", 1, max_out, n_out, error))
    return FALSE;
  if (call->inputs[0].ndim != 2) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "embedding: table must be [V, D], got %u axes",
                 call->inputs[0].ndim);
    return FALSE;
  }
  return gather_shape ("embedding", &call->inputs[0], &call->inputs[1], 0, out, &a, error);
}

/* out[p, i, q] = x[p, idx[i], q], copied as bytes of any dtype. */
static gboolean
gather_run (const char *op, TlTensor *x, TlTensor *idx, gint64 axis, TlTensor *out, GError **error)
{
  gint64 pre, bound, post, ni = tl_tensor_numel (idx);
  gsize es = tl_dtype_size (tl_tensor_dtype (x));

  _tl_rule_gather_split (x, axis, &pre, &bound, &post);
  if (!_tl_priv_nn_check_indices (op, idx, bound, error))
    return FALSE;

  const guint8 *src = tl_tensor_const_data (x);
  guint8 *dst = tl_tensor_data (out);
  const void *ip = tl_tensor_const_data (idx);
  TlDType it = tl_tensor_dtype (idx);
  gsize row = (gsize) post * es;
  for (gint64 p = 0; p < pre; p++)
    for (gint64 i = 0; i < ni; i++) {
      gint64 r = _tl_nn_index_at (ip, it, i);
      memcpy (dst + ((p * ni + i) * row), src + ((p * bound + r) * row), row);
    }
  return TRUE;
}

static gboolean
gather_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  return gather_run ("gather", in[0], in[1], tl_attrs_get_int (ctx->attrs, "axis", 0), out[0], error);
}

static gboolean
embedding_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  (void) ctx;
  return gather_run ("embedding", in[0], in[1], 0, out[0], error);
}

/* Builds scatter_add(dy, idx, n_rows, axis) as a node. */
static TlValue *
scatter_add_axis (TlGraph *g, TlValue *src, TlValue *idx, gint64 n_rows, gint64 axis)
{
  TlAttrs *attrs = tl_attrs_new ();
  tl_attrs_set_int (attrs, "n_rows", n_rows);
  tl_attrs_set_int (attrs, "axis", axis);
  TlValue *r = tl_graph_op (g, "scatter_add", 2, (TlValue *[]) { src, idx }, attrs);
  tl_attrs_free (attrs);
  return r;
}

static gboolean
gather_backward (TlGraph *g, const TlNode *node, TlValue *const *gout, TlValue **gin,
                 GError **error)
{
  TlValue *x = tl_node_input (node, 0);
  const TlTensorDesc *xd = tl_value_desc (x);
  gint64 axis = g_str_equal (tl_node_op (node), "embedding")
                  ? 0 : tl_attrs_get_int (tl_node_attrs (node), "axis", 0);
  guint a = (guint) (axis < 0 ? axis + xd->ndim : axis);

  (void) error;
  if (gout[0] == NULL || !tl_dtype_is_float (xd->dtype))
    return TRUE;
  gin[0] = scatter_add_axis (g, gout[0], tl_node_input (node, 1), xd->shape[a], a);
  return tl_graph_ok (g);
}

static void
gather_cost (const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost)
{
  /* Reads only the gathered rows of x. */
  _tl_priv_nn_cost_io (call, out, 1, 0, cost);
  double xb = (double) tl_tensor_desc_numel (&call->inputs[0]) * tl_dtype_size (call->inputs[0].dtype);
  double ob = (double) tl_tensor_desc_numel (out) * tl_dtype_size (out->dtype);
  cost->bytes_read = cost->bytes_read - xb + MIN (xb, ob);
}

/* --- scatter_add -------------------------------------------------------- */

static gboolean
scatter_geom (const TlTensorDesc *src, const TlTensorDesc *idx, const TlAttrs *attrs, guint *a,
              gint64 *n_rows, TlTensorDesc *out, GError **error)
{
  *n_rows = tl_attrs_get_int (attrs, "n_rows", -1);
  gint64 axis = tl_attrs_get_int (attrs, "axis", 0);

  if (!_tl_nn_is_index_dtype (idx->dtype)) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "scatter_add: indices must be i32 or i64, got %s",
                 tl_dtype_name (idx->dtype));
    return FALSE;
  }
  if (src->dtype != TL_DTYPE_F32) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "scatter_add: f32 src only, got %s",
                 tl_dtype_name (src->dtype));
    return FALSE;
  }
  if (*n_rows < 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "scatter_add: attribute n_rows (>= 0) is required");
    return FALSE;
  }
  if (src->ndim < idx->ndim) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                 "scatter_add: src has %u axes, fewer than the %u of indices", src->ndim, idx->ndim);
    return FALSE;
  }
  guint out_nd = src->ndim - idx->ndim + 1;
  if (!_tl_priv_ops_axis (axis, out_nd, a, "scatter_add", error))
    return FALSE;
  for (guint i = 0; i < idx->ndim; i++)
    if (src->shape[*a + i] != idx->shape[i]) {
      g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                   "scatter_add: src axis %u is %" G_GINT64_FORMAT ", indices axis %u is %" G_GINT64_FORMAT,
                   *a + i, src->shape[*a + i], i, idx->shape[i]);
      return FALSE;
    }
  gint64 shape[TL_MAX_DIMS];
  guint nd = 0;
  for (guint i = 0; i < *a; i++)
    shape[nd++] = src->shape[i];
  shape[nd++] = *n_rows;
  for (guint i = *a + idx->ndim; i < src->ndim; i++)
    shape[nd++] = src->shape[i];
  tl_tensor_desc_init (out, TL_DTYPE_F32, nd, shape);
  return TRUE;
}

static gboolean
scatter_add_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out,
                   GError **error)
{
  guint a;
  gint64 n_rows;
  if (!_tl_priv_nn_n_out ("scatter_add", 1, max_out, n_out, error))
    return FALSE;
  return scatter_geom (&call->inputs[0], &call->inputs[1], call->attrs, &a, &n_rows, out, error);
}

typedef struct {
  const float *src;
  float *dst;
  const void *ip;
  TlDType it;
  gint64 pre, ni, n_rows, post;
} ScatterJob;

/* Threads split the trailing `post` columns: each output element is summed
 * in index order whatever the thread count. */
static void
scatter_chunk (gint64 begin, gint64 end, gpointer data)
{
  const ScatterJob *j = data;
  for (gint64 p = 0; p < j->pre; p++)
    for (gint64 i = 0; i < j->ni; i++) {
      gint64 r = _tl_nn_index_at (j->ip, j->it, i);
      const float *s = j->src + (p * j->ni + i) * j->post;
      float *d = j->dst + (p * j->n_rows + r) * j->post;
      for (gint64 q = begin; q < end; q++)
        d[q] += s[q];
    }
}

static gboolean
scatter_add_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  TlTensorDesc sd, id, od;
  guint a;
  ScatterJob j;

  tl_tensor_get_desc (in[0], &sd);
  tl_tensor_get_desc (in[1], &id);
  if (!scatter_geom (&sd, &id, ctx->attrs, &a, &j.n_rows, &od, error))
    return FALSE;
  if (!_tl_priv_nn_check_indices ("scatter_add", in[1], j.n_rows, error))
    return FALSE;
  _tl_rule_span_split (sd.ndim, sd.shape, a, id.ndim, &j.pre, &j.post);
  j.ni = tl_tensor_numel (in[1]);
  j.src = tl_tensor_const_data (in[0]);
  j.dst = tl_tensor_data (out[0]);
  j.ip = tl_tensor_const_data (in[1]);
  j.it = id.dtype;
  memset (j.dst, 0, tl_tensor_nbytes (out[0]));
  if (j.post >= 256 && j.pre * j.ni >= 64)
    tl_parallel_for (j.post, 128, scatter_chunk, &j);
  else
    scatter_chunk (0, j.post, &j);
  return TRUE;
}

static gboolean
scatter_add_backward (TlGraph *g, const TlNode *node, TlValue *const *gout, TlValue **gin,
                      GError **error)
{
  TlAttrs *attrs;
  (void) error;
  if (gout[0] == NULL)
    return TRUE;
  attrs = tl_attrs_new ();
  tl_attrs_set_int (attrs, "axis", tl_attrs_get_int (tl_node_attrs (node), "axis", 0));
  gin[0] = tl_graph_op (g, "gather", 2, (TlValue *[]) { gout[0], tl_node_input (node, 1) }, attrs);
  tl_attrs_free (attrs);
  return tl_graph_ok (g);
}

static void
scatter_add_cost (const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost)
{
  _tl_priv_nn_cost_io (call, out, 1, (double) tl_tensor_desc_numel (&call->inputs[0]), cost);
}

static const TlOpDef gather_def = {
  TL_TABLE_INIT (TlOpDef),
  .name = "gather",
  .flags = TL_OP_MEMORY_BOUND | TL_OP_OVERWRITES,
  .n_inputs = 2,
  .n_outputs = 1,
  .infer = gather_infer,
  .forward_cpu = gather_cpu,
  .backward = gather_backward,
  .cost = gather_cost,
};

static const TlOpDef embedding_def = {
  TL_TABLE_INIT (TlOpDef),
  .name = "embedding",
  .flags = TL_OP_MEMORY_BOUND | TL_OP_OVERWRITES,
  .n_inputs = 2,
  .n_outputs = 1,
  .infer = embedding_infer,
  .forward_cpu = embedding_cpu,
  .backward = gather_backward,
  .cost = gather_cost,
};

static const TlOpDef scatter_add_def = {
  TL_TABLE_INIT (TlOpDef),
  .name = "scatter_add",
  .flags = TL_OP_MEMORY_BOUND,
  .n_inputs = 2,
  .n_outputs = 1,
  .infer = scatter_add_infer,
  .forward_cpu = scatter_add_cpu,
  .backward = scatter_add_backward,
  .cost = scatter_add_cost,
};

static const TlOpDef *const gather_defs[] = { &gather_def, &embedding_def, &scatter_add_def };

TL_OPS_DEFINE_DEFS_GETTER (_tl_priv_nn_gather_defs, gather_defs)

/* --- builders ----------------------------------------------------------- */

/**
 * tl_embedding:
 * @g: the graph
 * @table: (nullable): [V, D] f32 table
 * @indices: (nullable): i32/i64 indices of any shape, each in [0, V)
 *
 * Records an "embedding" node (rows of @table picked by @indices).
 *
 * Returns: (transfer none) (nullable): [indices..., D], or %NULL on error.
 */
TlValue *
tl_embedding (TlGraph *g, TlValue *table, TlValue *indices)
{
  return tl_graph_op (g, "embedding", 2, (TlValue *[]) { table, indices }, NULL);
}

/**
 * tl_gather:
 * @g: the graph
 * @x: (nullable): source
 * @indices: (nullable): i32/i64 indices (1-D, or any shape) into axis @axis
 * @axis: the axis (negative counts from the end)
 *
 * Records a "gather" node: x.shape[:axis] + indices.shape + x.shape[axis+1:].
 *
 * Returns: (transfer none) (nullable): the gathered value, or %NULL on error.
 */
TlValue *
tl_gather (TlGraph *g, TlValue *x, TlValue *indices, gint axis)
{
  TlAttrs *attrs = tl_attrs_new ();
  tl_attrs_set_int (attrs, "axis", axis);
  TlValue *r = tl_graph_op (g, "gather", 2, (TlValue *[]) { x, indices }, attrs);
  tl_attrs_free (attrs);
  return r;
}

/**
 * tl_scatter_add:
 * @g: the graph
 * @src: (nullable): f32 rows [indices..., rest...]
 * @indices: (nullable): i32/i64 target rows, each in [0, @n_rows)
 * @n_rows: rows of the result
 *
 * Records a "scatter_add" node: out = zeros(n_rows, rest...);
 * out[idx[i]] += src[i].
 *
 * Returns: (transfer none) (nullable): the sums, or %NULL on error.
 */
TlValue *
tl_scatter_add (TlGraph *g, TlValue *src, TlValue *indices, gint64 n_rows)
{
  return scatter_add_axis (g, src, indices, n_rows, 0);
}
