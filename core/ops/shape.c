/* shape.c — layout ops: reshape, transpose, concat, split, slice (any dtype).
 *
 * Kernels write their preallocated contiguous outputs by copying through
 * tensor views (tl_tensor_permute/slice + tl_tensor_copy_into). */
#include "config.h"

#include <string.h>

#include "ops-common.h"
#include "ops-rules.h"

#define VIEW_FLAGS (TL_OP_VIEW | TL_OP_MEMORY_BOUND)

static void
copy_cost (const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost)
{
  _tl_priv_ops_cost_default (call, out, 1, 0, cost);
}

static void
copy_cost_multi (const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost)
{
  _tl_priv_ops_cost_default (call, out, call->n_outputs, 0, cost);
}

/* Copy src (any layout) into the contiguous dst with the same numel. */
static gboolean
copy_flat (TlTensor *dst, TlTensor *src, GError **error)
{
  TlTensor *c = tl_tensor_contiguous (src, error);
  if (!c)
    return FALSE;
  memcpy (tl_tensor_data (dst), tl_tensor_const_data (c), tl_tensor_nbytes (dst));
  tl_tensor_unref (c);
  return TRUE;
}

/* Copy between `view` (transfer full; NULL after a failed view call) and
 * `other`: into the view when into_view, else out of it into other. */
static gboolean
copy_view (TlTensor *view, TlTensor *other, gboolean into_view, GError **error)
{
  if (!view)
    return FALSE;
  gboolean ok = into_view ? tl_tensor_copy_into (view, other, error) : tl_tensor_copy_into (other, view, error);
  tl_tensor_unref (view);
  return ok;
}

/* The attr "axis" (default 0), normalised against ndim. */
static gboolean
attr_axis (const TlAttrs *attrs, guint ndim, guint *axis, const char *op, GError **error)
{
  return _tl_priv_ops_axis (tl_attrs_get_int (attrs, "axis", 0), ndim, axis, op, error);
}

/* --- reshape --------------------------------------------------------------- */

static gboolean
reshape_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  (void) max_out;
  (void) n_out;
  const TlTensorDesc *x = &call->inputs[0];
  gint64 shape[TL_MAX_DIMS];
  guint n = 0;
  gint infer_at = -1;
  gint64 known = 1, numel = _tl_priv_ops_numel (x);
  if (!tl_attrs_has (call->attrs, "shape")) {
    _tl_priv_ops_arg_error (error, "reshape", "attr 'shape' missing");
    return FALSE;
  }
  if (!_tl_priv_ops_attr_ints (call->attrs, "shape", TL_MAX_DIMS, shape, &n, "reshape", error))
    return FALSE;
  for (guint i = 0; i < n; i++) {
    if (shape[i] == -1) {
      if (infer_at >= 0) {
        _tl_priv_ops_arg_error (error, "reshape", "more than one -1 in attr 'shape'");
        return FALSE;
      }
      infer_at = (gint) i;
    } else if (shape[i] < 0) {
      _tl_priv_ops_arg_error (error, "reshape", "negative size %" G_GINT64_FORMAT, shape[i]);
      return FALSE;
    } else
      known *= shape[i];
  }
  if (infer_at >= 0) {
    if (known == 0 || numel % known != 0) {
      _tl_priv_ops_shape_error (error, "reshape", "cannot infer -1 reshaping %s", _tl_priv_ops_desc_str (x));
      return FALSE;
    }
    shape[infer_at] = numel / known;
    known = numel;
  }
  if (known != numel) {
    _tl_priv_ops_shape_error (error, "reshape", "%s has %" G_GINT64_FORMAT " elements, the new shape %"
                              G_GINT64_FORMAT, _tl_priv_ops_desc_str (x), numel, known);
    return FALSE;
  }
  tl_tensor_desc_init (out, x->dtype, n, shape);
  return TRUE;
}

static gboolean
reshape_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  (void) ctx;
  return copy_flat (out[0], in[0], error);
}

static gboolean
reshape_bw (TlGraph *g, const TlNode *node, TlValue *const *gy, TlValue **gx, GError **error)
{
  (void) error;
  if (gy[0]) {
    const TlTensorDesc *d = tl_value_desc (tl_node_input (node, 0));
    gx[0] = tl_reshape (g, gy[0], d->ndim, d->shape);
  }
  return TRUE;
}

/* the output is the input's bytes in order (same dtype and numel): the
 * executor lets it share the input's buffer (TL_OP_SAME_BYTES) */
static const TlOpDef reshape_def = { TL_TABLE_INIT (TlOpDef), .name = "reshape",
                                     .flags = VIEW_FLAGS | TL_OP_SAME_BYTES,
                                     .n_inputs = 1, .n_outputs = 1, .infer = reshape_infer,
                                     .forward_cpu = reshape_cpu, .backward = reshape_bw, .cost = copy_cost };

/* --- transpose -------------------------------------------------------------- */

static gboolean
read_perm (const TlAttrs *attrs, guint ndim, gint *perm, GError **error)
{
  gint64 p[TL_MAX_DIMS];
  guint n = 0, bad = 0;
  if (!_tl_priv_ops_attr_ints (attrs, "perm", TL_MAX_DIMS, p, &n, "transpose", error))
    return FALSE;
  switch (_tl_rule_transpose_perm (ndim, p, n, perm, &bad)) {
  case TL_RULE_OK: return TRUE;
  case TL_RULE_BAD_SHAPE:
    _tl_priv_ops_arg_error (error, "transpose", "attr 'perm' has %u entries for a %u-d input", n, ndim);
    return FALSE;
  case TL_RULE_BAD_AXIS:
    _tl_priv_ops_arg_error (error, "transpose", "axis %" G_GINT64_FORMAT " out of range for a %u-d input",
                            p[bad], ndim);
    return FALSE;
  default:
    _tl_priv_ops_arg_error (error, "transpose", "attr 'perm' is not a permutation");
    return FALSE;
  }
}

static gboolean
transpose_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  (void) max_out;
  (void) n_out;
  const TlTensorDesc *x = &call->inputs[0];
  gint perm[TL_MAX_DIMS];
  if (!read_perm (call->attrs, x->ndim, perm, error))
    return FALSE;
  tl_tensor_desc_init (out, x->dtype, 0, NULL);
  out->ndim = x->ndim;
  for (guint i = 0; i < x->ndim; i++)
    out->shape[i] = x->shape[perm[i]];
  return TRUE;
}

/* Batched [M, N] -> [N, M] transpose of 4-byte elements in 32x32 tiles. */
typedef struct {
  const guint32 *x;
  guint32 *y;
  gint64 M, N, tiles_m, tiles_n;
} Tr2;

#define TR_TILE 32

static void
tr2_tiles (gint64 begin, gint64 end, gpointer data)
{
  Tr2 *t = data;
  gint64 per_batch = t->tiles_m * t->tiles_n;
  for (gint64 it = begin; it < end; it++) {
    gint64 b = it / per_batch, r = it % per_batch;
    gint64 i0 = (r / t->tiles_n) * TR_TILE, j0 = (r % t->tiles_n) * TR_TILE;
    gint64 i1 = MIN (t->M, i0 + TR_TILE), j1 = MIN (t->N, j0 + TR_TILE);
    const guint32 *restrict x = t->x + b * t->M * t->N;
    guint32 *restrict y = t->y + b * t->M * t->N;
    for (gint64 j = j0; j < j1; j++)
      for (gint64 i = i0; i < i1; i++)
        y[j * t->M + i] = x[i * t->N + j];
  }
}

/* TRUE when handled: contiguous 4-byte input, perm swaps the last two axes. */
static gboolean
transpose_last2 (TlTensor *x, TlTensor *y, const gint *perm)
{
  guint nd = tl_tensor_ndim (x);
  if (nd < 2 || tl_dtype_size (tl_tensor_dtype (x)) != 4 || !tl_tensor_is_contiguous (x))
    return FALSE;
  for (guint i = 0; i + 2 < nd; i++)
    if (perm[i] != (gint) i)
      return FALSE;
  if (perm[nd - 2] != (gint) nd - 1 || perm[nd - 1] != (gint) nd - 2)
    return FALSE;
  Tr2 t = { tl_tensor_const_data (x), tl_tensor_data (y), tl_tensor_dim (x, -2), tl_tensor_dim (x, -1), 0, 0 };
  if (t.M == 0 || t.N == 0)
    return TRUE;
  gint64 batch = tl_tensor_numel (x) / (t.M * t.N);
  t.tiles_m = (t.M + TR_TILE - 1) / TR_TILE;
  t.tiles_n = (t.N + TR_TILE - 1) / TR_TILE;
  tl_parallel_for (batch * t.tiles_m * t.tiles_n, MAX (1, TL_OPS_GRAIN / (TR_TILE * TR_TILE)), tr2_tiles, &t);
  return TRUE;
}

static gboolean
transpose_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  gint perm[TL_MAX_DIMS];
  if (!read_perm (ctx->attrs, tl_tensor_ndim (in[0]), perm, error))
    return FALSE;
  if (transpose_last2 (in[0], out[0], perm))
    return TRUE;
  return copy_view (tl_tensor_permute (in[0], perm, error), out[0], FALSE, error);
}

static gboolean
transpose_bw (TlGraph *g, const TlNode *node, TlValue *const *gy, TlValue **gx, GError **error)
{
  gint perm[TL_MAX_DIMS], inv[TL_MAX_DIMS];
  guint nd = tl_value_ndim (tl_node_input (node, 0));
  if (!gy[0])
    return TRUE;
  if (!read_perm (tl_node_attrs (node), nd, perm, error))
    return FALSE;
  for (guint i = 0; i < nd; i++)
    inv[perm[i]] = (gint) i;
  gx[0] = tl_transpose (g, gy[0], nd, inv);
  return TRUE;
}

static const TlOpDef transpose_def = { TL_TABLE_INIT (TlOpDef), .name = "transpose", .flags = VIEW_FLAGS,
                                       .n_inputs = 1, .n_outputs = 1, .infer = transpose_infer,
                                       .forward_cpu = transpose_cpu, .backward = transpose_bw,
                                       .cost = copy_cost };

/* --- concat ------------------------------------------------------------------- */

static gboolean
concat_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  (void) max_out;
  (void) n_out;
  const TlTensorDesc *x0 = &call->inputs[0];
  guint axis;
  if (call->n_inputs < 1) {
    _tl_priv_ops_arg_error (error, "concat", "needs at least one input");
    return FALSE;
  }
  if (!attr_axis (call->attrs, x0->ndim, &axis, "concat", error))
    return FALSE;
  *out = *x0;
  for (guint k = 1; k < call->n_inputs; k++) {
    const TlTensorDesc *xk = &call->inputs[k];
    gboolean ok = xk->dtype == x0->dtype && xk->ndim == x0->ndim;
    for (guint i = 0; ok && i < x0->ndim; i++)
      if (i != axis && xk->shape[i] != x0->shape[i])
        ok = FALSE;
    if (!ok) {
      _tl_priv_ops_shape_error (error, "concat", "input %u %s does not match input 0 %s along axes other than %u",
                                k, _tl_priv_ops_desc_str (xk), _tl_priv_ops_desc_str (x0), axis);
      return FALSE;
    }
    out->shape[axis] += xk->shape[axis];
  }
  return TRUE;
}

/* Copy the n parts to (concat: into_whole) or from (split) consecutive
 * slices of whole along the attr axis. */
static gboolean
copy_parts (const TlKernelCtx *ctx, TlTensor *whole, TlTensor *const *parts, guint n, gboolean into_whole,
            const char *op, GError **error)
{
  guint axis;
  if (!attr_axis (ctx->attrs, tl_tensor_ndim (whole), &axis, op, error))
    return FALSE;
  gint64 off = 0;
  for (guint k = 0; k < n; k++) {
    gint64 len = tl_tensor_dim (parts[k], (gint) axis);
    if (len > 0 &&
        !copy_view (tl_tensor_slice (whole, (gint) axis, off, off + len, 1, error), parts[k], into_whole, error))
      return FALSE;
    off += len;
  }
  return TRUE;
}

static gboolean
concat_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  return copy_parts (ctx, out[0], in, ctx->n_inputs, TRUE, "concat", error);
}

static gboolean
concat_bw (TlGraph *g, const TlNode *node, TlValue *const *gy, TlValue **gx, GError **error)
{
  guint n = tl_node_n_inputs (node);
  guint axis;
  if (!gy[0])
    return TRUE;
  if (!attr_axis (tl_node_attrs (node), tl_value_ndim (gy[0]), &axis, "concat", error))
    return FALSE;
  gint64 off = 0;
  for (guint k = 0; k < n; k++) {
    gint64 len = tl_value_dim (tl_node_input (node, k), (gint) axis);
    gx[k] = tl_slice (g, gy[0], (gint) axis, off, off + len, 1);
    off += len;
  }
  return TRUE;
}

static const TlOpDef concat_def = { TL_TABLE_INIT (TlOpDef), .name = "concat", .flags = TL_OP_MEMORY_BOUND | TL_OP_OVERWRITES,
                                    .n_inputs = -1, .n_outputs = 1, .infer = concat_infer,
                                    .forward_cpu = concat_cpu, .backward = concat_bw, .cost = copy_cost };

/* --- split --------------------------------------------------------------------- */

static gboolean
split_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  const TlTensorDesc *x = &call->inputs[0];
  guint axis, n = 0;
  const gint64 *sizes = tl_attrs_get_ints (call->attrs, "sizes", &n);
  if (!attr_axis (call->attrs, x->ndim, &axis, "split", error))
    return FALSE;
  if (n == 0) {
    _tl_priv_ops_arg_error (error, "split", "attr 'sizes' missing or empty");
    return FALSE;
  }
  if (n > max_out) {
    _tl_priv_ops_arg_error (error, "split", "%u parts requested, at most %u outputs allowed", n, max_out);
    return FALSE;
  }
  gint64 total = 0;
  for (guint k = 0; k < n; k++) {
    if (sizes[k] < 0) {
      _tl_priv_ops_arg_error (error, "split", "negative part size %" G_GINT64_FORMAT, sizes[k]);
      return FALSE;
    }
    total += sizes[k];
  }
  if (total != x->shape[axis]) {
    _tl_priv_ops_shape_error (error, "split", "sizes add up to %" G_GINT64_FORMAT ", axis %u of %s has %"
                              G_GINT64_FORMAT, total, axis, _tl_priv_ops_desc_str (x), x->shape[axis]);
    return FALSE;
  }
  for (guint k = 0; k < n; k++) {
    out[k] = *x;
    out[k].shape[axis] = sizes[k];
  }
  *n_out = n;
  return TRUE;
}

static gboolean
split_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  return copy_parts (ctx, in[0], out, ctx->n_outputs, FALSE, "split", error);
}

static gboolean
split_bw (TlGraph *g, const TlNode *node, TlValue *const *gy, TlValue **gx, GError **error)
{
  guint n = tl_node_n_outputs (node);
  gboolean any = FALSE;
  g_autofree TlValue **parts = g_new0 (TlValue *, n);
  (void) error;
  for (guint k = 0; k < n; k++) {
    parts[k] = gy[k] ? gy[k] : tl_zeros_like (g, tl_node_output (node, k));
    any |= gy[k] != NULL;
  }
  if (any)
    gx[0] = tl_concat (g, n, parts, (gint) tl_attrs_get_int (tl_node_attrs (node), "axis", 0));
  return TRUE;
}

static const TlOpDef split_def = { TL_TABLE_INIT (TlOpDef), .name = "split", .flags = TL_OP_MEMORY_BOUND | TL_OP_OVERWRITES,
                                   .n_inputs = 1, .n_outputs = -1, .infer = split_infer,
                                   .forward_cpu = split_cpu, .backward = split_bw, .cost = copy_cost_multi };

/* --- slice and its adjoint slice_grad ------------------------------------------ */

typedef TlSliceSpec SliceSpec;

/* Python-style normalisation of start/end against dim size (ops-rules.h). */
static gboolean
read_slice (const TlAttrs *attrs, guint ndim, gint64 dim_size_or_neg, const gint64 *shape, SliceSpec *s,
            const char *op, GError **error)
{
  if (!attr_axis (attrs, ndim, &s->axis, op, error))
    return FALSE;
  gint64 size = dim_size_or_neg >= 0 ? dim_size_or_neg : shape[s->axis];
  gint64 step = tl_attrs_get_int (attrs, "step", 1);
  if (step <= 0) {
    _tl_priv_ops_arg_error (error, op, "step %" G_GINT64_FORMAT " must be > 0", step);
    return FALSE;
  }
  _tl_rule_slice (s, tl_attrs_get_int (attrs, "start", 0), tl_attrs_get_int (attrs, "end", G_MAXINT64), step, size);
  return TRUE;
}

static gboolean
slice_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  (void) max_out;
  (void) n_out;
  const TlTensorDesc *x = &call->inputs[0];
  SliceSpec s;
  if (x->ndim == 0) {
    _tl_priv_ops_shape_error (error, "slice", "cannot slice a 0-d tensor");
    return FALSE;
  }
  if (!read_slice (call->attrs, x->ndim, -1, x->shape, &s, "slice", error))
    return FALSE;
  *out = *x;
  out->shape[s.axis] = s.len;
  return TRUE;
}

static gboolean
slice_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  SliceSpec s;
  if (!read_slice (ctx->attrs, tl_tensor_ndim (in[0]), -1, tl_tensor_shape (in[0]), &s, "slice", error))
    return FALSE;
  if (s.len == 0)
    return TRUE;
  return copy_view (tl_tensor_slice (in[0], (gint) s.axis, s.start, s.end, s.step, error), out[0], FALSE, error);
}

static gboolean
slice_bw (TlGraph *g, const TlNode *node, TlValue *const *gy, TlValue **gx, GError **error)
{
  (void) error;
  if (!gy[0])
    return TRUE;
  g_autoptr (TlAttrs) a = tl_attrs_copy (tl_node_attrs (node));
  const TlTensorDesc *dx = tl_value_desc (tl_node_input (node, 0));
  guint axis = 0;
  attr_axis (a, dx->ndim, &axis, "slice", NULL);
  tl_attrs_set_int (a, "dim_size", dx->shape[axis]);
  gx[0] = _tl_priv_ops_op1 (g, "slice_grad", gy[0], a);
  return TRUE;
}

static gboolean
slice_grad_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  (void) max_out;
  (void) n_out;
  const TlTensorDesc *dy = &call->inputs[0];
  SliceSpec s;
  gint64 size = tl_attrs_get_int (call->attrs, "dim_size", -1);
  if (size < 0) {
    _tl_priv_ops_arg_error (error, "slice_grad", "attr 'dim_size' missing");
    return FALSE;
  }
  if (dy->ndim == 0 || !read_slice (call->attrs, dy->ndim, size, dy->shape, &s, "slice_grad", error)) {
    if (dy->ndim == 0)
      _tl_priv_ops_shape_error (error, "slice_grad", "0-d input");
    return FALSE;
  }
  if (s.len != dy->shape[s.axis]) {
    _tl_priv_ops_shape_error (error, "slice_grad", "%s does not match a slice of length %" G_GINT64_FORMAT,
                              _tl_priv_ops_desc_str (dy), s.len);
    return FALSE;
  }
  *out = *dy;
  out->shape[s.axis] = size;
  return TRUE;
}

static gboolean
slice_grad_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  SliceSpec s;
  gint64 size = tl_attrs_get_int (ctx->attrs, "dim_size", -1);
  if (!read_slice (ctx->attrs, tl_tensor_ndim (in[0]), size, tl_tensor_shape (in[0]), &s, "slice_grad", error))
    return FALSE;
  tl_tensor_fill (out[0], 0.0);
  if (s.len == 0)
    return TRUE;
  return copy_view (tl_tensor_slice (out[0], (gint) s.axis, s.start, s.end, s.step, error), in[0], TRUE, error);
}

static gboolean
slice_grad_bw (TlGraph *g, const TlNode *node, TlValue *const *gy, TlValue **gx, GError **error)
{
  (void) error;
  if (!gy[0])
    return TRUE;
  const TlAttrs *a = tl_node_attrs (node);
  gx[0] = tl_slice (g, gy[0], (gint) tl_attrs_get_int (a, "axis", 0), tl_attrs_get_int (a, "start", 0),
                    tl_attrs_get_int (a, "end", G_MAXINT64), tl_attrs_get_int (a, "step", 1));
  return TRUE;
}

static const TlOpDef slice_def = { TL_TABLE_INIT (TlOpDef), .name = "slice", .flags = VIEW_FLAGS,
                                   .n_inputs = 1, .n_outputs = 1, .infer = slice_infer,
                                   .forward_cpu = slice_cpu, .backward = slice_bw, .cost = copy_cost };
static const TlOpDef slice_grad_def = { TL_TABLE_INIT (TlOpDef), .name = "slice_grad",
                                        .flags = TL_OP_MEMORY_BOUND | TL_OP_OVERWRITES, .n_inputs = 1, .n_outputs = 1,
                                        .infer = slice_grad_infer, .forward_cpu = slice_grad_cpu,
                                        .backward = slice_grad_bw, .cost = copy_cost };

static const TlOpDef *const shape_defs[] = {
  &reshape_def, &transpose_def, &concat_def, &split_def, &slice_def, &slice_grad_def,
};

TL_OPS_DEFINE_DEFS_GETTER (_tl_priv_ops_shape_defs, shape_defs)

/* --- builders ------------------------------------------------------------------ */

/**
 * tl_reshape:
 * @g: the graph
 * @x: (nullable): input
 * @ndim: new rank
 * @shape: (array length=ndim): new shape, one entry may be -1
 *
 * Returns: (transfer none) (nullable): the reshaped value.
 */
TlValue *
tl_reshape (TlGraph *g, TlValue *x, guint ndim, const gint64 *shape)
{
  g_autoptr (TlAttrs) a = tl_attrs_new ();
  tl_attrs_set_ints (a, "shape", ndim, shape);
  return _tl_priv_ops_op1 (g, "reshape", x, a);
}

/**
 * tl_transpose:
 * @g: the graph
 * @x: (nullable): input
 * @n: perm length (the rank of x), 0 with a NULL perm
 * @perm: (nullable) (array length=n): permutation; NULL swaps the last two axes
 *
 * Returns: (transfer none) (nullable): the permuted value.
 */
TlValue *
tl_transpose (TlGraph *g, TlValue *x, guint n, const gint *perm)
{
  gint64 p[TL_MAX_DIMS];
  g_autoptr (TlAttrs) a = tl_attrs_new ();
  if (perm) {
    for (guint i = 0; i < n && i < TL_MAX_DIMS; i++)
      p[i] = perm[i];
    tl_attrs_set_ints (a, "perm", MIN (n, TL_MAX_DIMS), p);
  }
  return _tl_priv_ops_op1 (g, "transpose", x, a);
}

/**
 * tl_concat:
 * @g: the graph
 * @n: number of inputs (>= 1)
 * @xs: (array length=n): inputs
 * @axis: concatenation axis
 *
 * Returns: (transfer none) (nullable): the concatenation.
 */
TlValue *
tl_concat (TlGraph *g, guint n, TlValue *const *xs, gint axis)
{
  g_autoptr (TlAttrs) a = tl_attrs_new ();
  tl_attrs_set_int (a, "axis", axis);
  return tl_graph_op (g, "concat", n, xs, a);
}

/**
 * tl_split:
 * @g: the graph
 * @x: (nullable): input
 * @axis: split axis
 * @n: number of parts
 * @sizes: (array length=n): part sizes along axis (sum = its size)
 * @outs: (out) (array length=n): the parts (transfer none)
 *
 * Returns: FALSE with the graph's sticky error set on failure.
 */
gboolean
tl_split (TlGraph *g, TlValue *x, gint axis, guint n, const gint64 *sizes, TlValue **outs)
{
  g_autoptr (TlAttrs) a = tl_attrs_new ();
  tl_attrs_set_int (a, "axis", axis);
  tl_attrs_set_ints (a, "sizes", n, sizes);
  return tl_graph_op_multi (g, "split", 1, &x, a, n, outs) == n && n > 0;
}

/**
 * tl_slice:
 * @g: the graph
 * @x: (nullable): input
 * @axis: sliced axis
 * @start: first index (negative: from the end)
 * @end: one past the last index (negative: from the end; clamped)
 * @step: stride (> 0)
 *
 * Returns: (transfer none) (nullable): the slice.
 */
TlValue *
tl_slice (TlGraph *g, TlValue *x, gint axis, gint64 start, gint64 end, gint64 step)
{
  g_autoptr (TlAttrs) a = tl_attrs_new ();
  tl_attrs_set_int (a, "axis", axis);
  tl_attrs_set_int (a, "start", start);
  tl_attrs_set_int (a, "end", end);
  tl_attrs_set_int (a, "step", step);
  return _tl_priv_ops_op1 (g, "slice", x, a);
}
