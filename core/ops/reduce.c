/* reduce.c — reductions (sum, mean, max, argmax) and broadcast_to / sum_to.
 *
 * A reduction over any set of axes runs as a sequence of [outer, R, inner]
 * passes, innermost reduced group first. Every sum is accumulated in a fixed
 * order (8 lanes within fixed-size chunks, chunks combined in order), so the
 * result does not depend on the thread count.
 */
#include "config.h"

#include <string.h>

#include "ops-common.h"
#include "ops-rules.h"

typedef enum { RED_SUM, RED_MAX } RedKind;

#define LANES 8
#define INNER_CHUNK 4096

static inline float
red_combine (RedKind k, float a, float b)
{
  return k == RED_SUM ? a + b : (b > a ? b : a);
}

/* Reduce x[0..n) (n <= TL_OPS_GRAIN) in LANES lanes. */
static float
lanes_reduce (const float *restrict x, gint64 n, RedKind k)
{
  float acc[LANES];
  gint64 i = 0;
  if (n < LANES) {
    float r = x[0];
    for (i = 1; i < n; i++)
      r = red_combine (k, r, x[i]);
    return r;
  }
  for (int l = 0; l < LANES; l++)
    acc[l] = x[l];
  if (k == RED_SUM) {
    for (i = LANES; i + LANES <= n; i += LANES)
      for (int l = 0; l < LANES; l++)
        acc[l] += x[i + l];
  } else {
    for (i = LANES; i + LANES <= n; i += LANES)
      for (int l = 0; l < LANES; l++)
        acc[l] = x[i + l] > acc[l] ? x[i + l] : acc[l];
  }
  float r = red_combine (k, red_combine (k, red_combine (k, acc[0], acc[1]), red_combine (k, acc[2], acc[3])),
                         red_combine (k, red_combine (k, acc[4], acc[5]), red_combine (k, acc[6], acc[7])));
  for (; i < n; i++)
    r = red_combine (k, r, x[i]);
  return r;
}

/* Fixed-chunk reduction of a contiguous row (n >= 1). */
static float
row_reduce (const float *x, gint64 n, RedKind k)
{
  float acc = lanes_reduce (x, MIN (n, TL_OPS_GRAIN), k);
  for (gint64 c = TL_OPS_GRAIN; c < n; c += TL_OPS_GRAIN)
    acc = red_combine (k, acc, lanes_reduce (x + c, MIN (n - c, TL_OPS_GRAIN), k));
  return acc;
}

typedef struct {
  const float *x;
  float *y;
  gint64 outer, R, inner, n_ic;
  RedKind kind;
  float *partials;
} Pass;

static void
pass_rows (gint64 begin, gint64 end, gpointer data)
{
  Pass *p = data;
  for (gint64 o = begin; o < end; o++)
    p->y[o] = row_reduce (p->x + o * p->R, p->R, p->kind);
}

static void
pass_chunks (gint64 begin, gint64 end, gpointer data)
{
  Pass *p = data;
  for (gint64 c = begin; c < end; c++)
    p->partials[c] = lanes_reduce (p->x + c * TL_OPS_GRAIN, MIN (p->R - c * TL_OPS_GRAIN, TL_OPS_GRAIN),
                                   p->kind);
}

static void
pass_inner (gint64 begin, gint64 end, gpointer data)
{
  Pass *p = data;
  for (gint64 it = begin; it < end; it++) {
    gint64 o = it / p->n_ic, i0 = (it % p->n_ic) * INNER_CHUNK;
    gint64 len = MIN (INNER_CHUNK, p->inner - i0);
    const float *restrict x = p->x + o * p->R * p->inner + i0;
    float *restrict y = p->y + o * p->inner + i0;
    memcpy (y, x, len * sizeof (float));
    for (gint64 r = 1; r < p->R; r++) {
      const float *restrict xr = x + r * p->inner;
      if (p->kind == RED_SUM) {
        TL_SIMD
        for (gint64 i = 0; i < len; i++)
          y[i] += xr[i];
      } else {
        TL_SIMD
        for (gint64 i = 0; i < len; i++)
          y[i] = xr[i] > y[i] ? xr[i] : y[i];
      }
    }
  }
}

static gboolean
run_pass (Pass *p, GError **error)
{
  if (p->inner == 1) {
    if (p->outer == 1 && p->R > 2 * TL_OPS_GRAIN) {
      gint64 nc = _tl_priv_ops_n_chunks (p->R, TL_OPS_GRAIN);
      p->partials = g_try_new (float, nc);
      if (!p->partials) {
        g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY, "reduction: out of memory");
        return FALSE;
      }
      tl_parallel_for (nc, 1, pass_chunks, p);
      float acc = p->partials[0];
      for (gint64 c = 1; c < nc; c++)
        acc = red_combine (p->kind, acc, p->partials[c]);
      p->y[0] = acc;
      g_free (p->partials);
      p->partials = NULL;
    } else {
      tl_parallel_for (p->outer, MAX (1, TL_OPS_GRAIN / MAX (1, p->R)), pass_rows, p);
    }
  } else {
    p->n_ic = (p->inner + INNER_CHUNK - 1) / INNER_CHUNK;
    gint64 work = p->R * MIN (p->inner, INNER_CHUNK);
    tl_parallel_for (p->outer * p->n_ic, MAX (1, TL_OPS_GRAIN / MAX (1, work)), pass_inner, p);
  }
  return TRUE;
}

/* Reduce contiguous x[shape] over the axes in mask into contiguous y. */
static gboolean
reduce_f32 (const float *x, guint ndim, const gint64 *shape, const gboolean *mask, float *y, RedKind kind,
            GError **error)
{
  gint64 gsize_[TL_MAX_DIMS], total, ny;
  gboolean gred[TL_MAX_DIMS];
  int n_red;
  guint ng = _tl_rule_reduce_groups (ndim, shape, mask, gsize_, gred, &total, &ny, &n_red);
  if (total == 0) {
    memset (y, 0, ny * sizeof (float));
    return TRUE;
  }
  if (n_red == 0) {
    memcpy (y, x, total * sizeof (float));
    return TRUE;
  }
  const float *src = x;
  float *tmp = NULL;
  gboolean ok = TRUE;
  for (gint gi = (gint) ng - 1; gi >= 0 && ok; gi--) {
    if (!gred[gi])
      continue;
    Pass p = { .x = src, .kind = kind };
    _tl_rule_reduce_pass (ng, gsize_, (guint) gi, &p.outer, &p.R, &p.inner);
    n_red--;
    float *dst = y;
    if (n_red > 0) {
      dst = _tl_priv_aligned_alloc (p.outer * p.inner * sizeof (float));
      if (!dst) {
        g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY, "reduction: out of memory");
        ok = FALSE;
        break;
      }
    }
    p.y = dst;
    ok = run_pass (&p, error);
    if (tmp)
      _tl_priv_aligned_free (tmp);
    tmp = (dst == y) ? NULL : dst;
    src = dst;
    gsize_[gi] = 1; /* reduced away */
  }
  if (tmp)
    _tl_priv_aligned_free (tmp);
  return ok;
}

/* --- sum / mean / max --------------------------------------------------- */

static gboolean
reduce_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  (void) max_out;
  (void) n_out;
  const TlTensorDesc *x = &call->inputs[0];
  gboolean mask[TL_MAX_DIMS];
  gboolean keep = tl_attrs_get_int (call->attrs, "keepdims", 0) != 0;
  if (!_tl_priv_ops_check_float (call, 0, "reduction", error) ||
      !_tl_priv_ops_axes_mask (call->attrs, "axes", x->ndim, mask, "reduction", error))
    return FALSE;
  tl_tensor_desc_init (out, x->dtype, 0, NULL);
  for (guint i = 0; i < x->ndim; i++) {
    if (mask[i] && !keep)
      continue;
    out->shape[out->ndim++] = mask[i] ? 1 : x->shape[i];
  }
  return TRUE;
}

static gboolean
reduce_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, RedKind kind, gboolean mean,
            GError **error)
{
  gboolean mask[TL_MAX_DIMS];
  TlTensor *x = in[0];
  if (!_tl_priv_ops_axes_mask (ctx->attrs, "axes", tl_tensor_ndim (x), mask, "reduction", error))
    return FALSE;
  if (kind == RED_MAX && tl_tensor_numel (x) == 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "max: reduction of an empty tensor");
    return FALSE;
  }
  float *y = tl_tensor_data (out[0]);
  if (!reduce_f32 (tl_tensor_const_data (x), tl_tensor_ndim (x), tl_tensor_shape (x), mask, y, kind, error))
    return FALSE;
  if (mean) {
    gint64 ny = tl_tensor_numel (out[0]);
    float s = _tl_rule_mean_scale (tl_tensor_numel (x), ny);
    for (gint64 i = 0; i < ny; i++)
      y[i] *= s;
  }
  return TRUE;
}

static gboolean
sum_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  return reduce_cpu (ctx, in, out, RED_SUM, FALSE, error);
}

static gboolean
mean_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  return reduce_cpu (ctx, in, out, RED_SUM, TRUE, error);
}

static gboolean
max_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  return reduce_cpu (ctx, in, out, RED_MAX, FALSE, error);
}

/* dy of a reduction, reshaped to the keepdims shape and broadcast to x. */
static TlValue *
expand_grad (TlGraph *g, const TlNode *node, TlValue *dy)
{
  TlValue *x = tl_node_input (node, 0);
  const TlTensorDesc *dx = tl_value_desc (x);
  gboolean mask[TL_MAX_DIMS];
  if (!_tl_priv_ops_axes_mask (tl_node_attrs (node), "axes", dx->ndim, mask, "reduction", NULL))
    return NULL;
  gint64 keep[TL_MAX_DIMS];
  for (guint i = 0; i < dx->ndim; i++)
    keep[i] = mask[i] ? 1 : dx->shape[i];
  TlValue *k = tl_value_ndim (dy) == dx->ndim ? dy : tl_reshape (g, dy, dx->ndim, keep);
  return tl_broadcast_to (g, k, dx->ndim, dx->shape);
}

static gboolean
sum_bw (TlGraph *g, const TlNode *node, TlValue *const *gy, TlValue **gx, GError **error)
{
  (void) error;
  if (gy[0])
    gx[0] = expand_grad (g, node, gy[0]);
  return TRUE;
}

static gboolean
mean_bw (TlGraph *g, const TlNode *node, TlValue *const *gy, TlValue **gx, GError **error)
{
  (void) error;
  if (!gy[0])
    return TRUE;
  gint64 nx = _tl_priv_ops_numel (tl_value_desc (tl_node_input (node, 0)));
  gint64 ny = _tl_priv_ops_numel (tl_value_desc (tl_node_output (node, 0)));
  gx[0] = tl_scale (g, expand_grad (g, node, gy[0]), nx > 0 ? (double) ny / (double) nx : 0.0, 0.0);
  return TRUE;
}

static gboolean
max_bw (TlGraph *g, const TlNode *node, TlValue *const *gy, TlValue **gx, GError **error)
{
  (void) error;
  if (!gy[0])
    return TRUE;
  /* the gradient is shared evenly between tied maxima */
  TlValue *x = tl_node_input (node, 0);
  TlValue *yb = expand_grad (g, node, tl_node_output (node, 0));
  TlValue *mask = _tl_priv_ops_op2 (g, "equal_mask", x, yb, NULL);
  TlAttrs *a = tl_attrs_copy (tl_node_attrs (node));
  tl_attrs_set_int (a, "keepdims", 1);
  TlValue *count = _tl_priv_ops_op1 (g, "sum", mask, a);
  tl_attrs_free (a);
  gx[0] = tl_div (g, tl_mul (g, mask, expand_grad (g, node, gy[0])), count);
  return TRUE;
}

static void
reduce_cost (const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost)
{
  _tl_priv_ops_cost_default (call, out, 1, 0, cost);
  cost->flops = (double) _tl_priv_ops_numel (&call->inputs[0]);
}

/* sum, mean, max, sum_to write every output element (an empty input: zeros,
 * max: an error), CPU and CUDA: no executor zero-fill (TL_OP_OVERWRITES). */
#define RED_FLAGS (TL_OP_REDUCTION | TL_OP_MEMORY_BOUND | TL_OP_OVERWRITES)
static const TlOpDef sum_def = { TL_TABLE_INIT (TlOpDef), .name = "sum", .flags = RED_FLAGS, .n_inputs = 1,
                                 .n_outputs = 1, .infer = reduce_infer, .forward_cpu = sum_cpu,
                                 .backward = sum_bw, .cost = reduce_cost };
static const TlOpDef mean_def = { TL_TABLE_INIT (TlOpDef), .name = "mean", .flags = RED_FLAGS, .n_inputs = 1,
                                  .n_outputs = 1, .infer = reduce_infer, .forward_cpu = mean_cpu,
                                  .backward = mean_bw, .cost = reduce_cost };
static const TlOpDef max_def = { TL_TABLE_INIT (TlOpDef), .name = "max", .flags = RED_FLAGS, .n_inputs = 1,
                                 .n_outputs = 1, .infer = reduce_infer, .forward_cpu = max_cpu,
                                 .backward = max_bw, .cost = reduce_cost };

/* --- equal_mask (helper of max's gradient) --------------------------------- */

TL_BINARY_KERNEL (equal_mask_f32, float, a == b ? 1.0f : 0.0f)

static gboolean
equal_mask_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  (void) max_out;
  (void) n_out;
  const TlTensorDesc *ins[2] = { &call->inputs[0], &call->inputs[1] };
  if (!_tl_priv_ops_check_float (call, 0, "equal_mask", error) ||
      !_tl_priv_ops_check_float (call, 1, "equal_mask", error))
    return FALSE;
  tl_tensor_desc_init (out, TL_DTYPE_F32, 0, NULL);
  return _tl_priv_ops_broadcast_shape (2, ins, out, "equal_mask", error);
}

static gboolean
equal_mask_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  (void) ctx;
  (void) error;
  _tl_priv_ops_run_binary (equal_mask_f32, in[0], in[1], out[0]);
  return TRUE;
}

TL_OPS_COST_FN (equal_mask_cost, 1)

static const TlOpDef equal_mask_def = { TL_TABLE_INIT (TlOpDef), .name = "equal_mask",
                                        .flags = TL_OP_ELEMENTWISE | TL_OP_BROADCAST | TL_OP_MEMORY_BOUND |
                                                 TL_OP_NONDIFF,
                                        .n_inputs = 2, .n_outputs = 1, .infer = equal_mask_infer,
                                        .forward_cpu = equal_mask_cpu, .cost = equal_mask_cost };

/* --- argmax ---------------------------------------------------------------- */

static gboolean
argmax_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  (void) max_out;
  (void) n_out;
  const TlTensorDesc *x = &call->inputs[0];
  guint axis;
  if (!_tl_priv_ops_check_float (call, 0, "argmax", error) ||
      !_tl_priv_ops_axis (tl_attrs_get_int (call->attrs, "axis", -1), x->ndim, &axis, "argmax", error))
    return FALSE;
  if (x->shape[axis] == 0) {
    _tl_priv_ops_shape_error (error, "argmax", "axis %u of %s is empty", axis, _tl_priv_ops_desc_str (x));
    return FALSE;
  }
  tl_tensor_desc_init (out, TL_DTYPE_I64, 0, NULL);
  for (guint i = 0; i < x->ndim; i++)
    if (i != axis)
      out->shape[out->ndim++] = x->shape[i];
  return TRUE;
}

static gboolean
argmax_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  guint axis;
  TlTensor *x = in[0];
  guint nd = tl_tensor_ndim (x);
  const gint64 *shape = tl_tensor_shape (x);
  if (!_tl_priv_ops_axis (tl_attrs_get_int (ctx->attrs, "axis", -1), nd, &axis, "argmax", error))
    return FALSE;
  gint64 outer, R, inner;
  _tl_rule_axis_split (nd, shape, axis, &outer, &R, &inner);
  const float *px = tl_tensor_const_data (x);
  gint64 *py = tl_tensor_data (out[0]);
  for (gint64 o = 0; o < outer; o++)
    for (gint64 i = 0; i < inner; i++)
      py[o * inner + i] = _tl_rule_argmax_col (px + o * R * inner + i, R, inner);
  return TRUE;
}

static const TlOpDef argmax_def = { TL_TABLE_INIT (TlOpDef), .name = "argmax",
                                    .flags = TL_OP_REDUCTION | TL_OP_MEMORY_BOUND | TL_OP_NONDIFF | TL_OP_OVERWRITES,
                                    .n_inputs = 1, .n_outputs = 1, .infer = argmax_infer,
                                    .forward_cpu = argmax_cpu, .cost = reduce_cost };

/* --- broadcast_to / sum_to ------------------------------------------------- */

static gboolean
read_shape_attr (const TlAttrs *attrs, TlTensorDesc *out, TlDType dtype, const char *op, GError **error)
{
  gint64 shape[TL_MAX_DIMS];
  guint n = 0;
  if (!tl_attrs_has (attrs, "shape")) {
    _tl_priv_ops_arg_error (error, op, "attr 'shape' missing");
    return FALSE;
  }
  if (!_tl_priv_ops_attr_ints (attrs, "shape", TL_MAX_DIMS, shape, &n, op, error))
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (shape[i] < 0) {
      _tl_priv_ops_arg_error (error, op, "negative size %" G_GINT64_FORMAT " in attr 'shape'", shape[i]);
      return FALSE;
    }
  tl_tensor_desc_init (out, dtype, n, shape);
  return TRUE;
}

/* TRUE when `small` broadcasts to `big`. */
static gboolean
broadcasts_to (const TlTensorDesc *small, const TlTensorDesc *big)
{
  if (small->ndim > big->ndim)
    return FALSE;
  guint off = big->ndim - small->ndim;
  for (guint i = 0; i < small->ndim; i++)
    if (small->shape[i] != 1 && small->shape[i] != big->shape[i + off])
      return FALSE;
  return TRUE;
}

static gboolean
broadcast_to_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out,
                    GError **error)
{
  (void) max_out;
  (void) n_out;
  const TlTensorDesc *x = &call->inputs[0];
  if (!read_shape_attr (call->attrs, out, x->dtype, "broadcast_to", error))
    return FALSE;
  if (!broadcasts_to (x, out)) {
    _tl_priv_ops_shape_error (error, "broadcast_to", "%s does not broadcast to %s", _tl_priv_ops_desc_str (x),
                              _tl_priv_ops_desc_str (out));
    return FALSE;
  }
  return TRUE;
}

typedef struct {
  const char *x;
  char *y;
  gsize es;
  const TlBcast *bc;
} BcastJob;

static void
bcast_rows (gint64 begin, gint64 end, gpointer data)
{
  BcastJob *j = data;
  const TlBcast *bc = j->bc;
  gint64 inner = bc->inner;
  gboolean contig = bc->strides[0][bc->ndim - 1] != 0;
  for (gint64 r = begin; r < end; r++) {
    gint64 off;
    _tl_priv_bcast_row (bc, r, &off);
    const char *src = j->x + off * j->es;
    char *dst = j->y + r * inner * j->es;
    if (contig)
      memcpy (dst, src, inner * j->es);
    else if (j->es == 4) {
      guint32 v;
      memcpy (&v, src, 4);
      guint32 *restrict d = (guint32 *) dst;
      TL_SIMD
      for (gint64 i = 0; i < inner; i++)
        d[i] = v;
    } else
      for (gint64 i = 0; i < inner; i++)
        memcpy (dst + i * j->es, src, j->es);
  }
}

static gboolean
broadcast_to_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  (void) ctx;
  (void) error;
  TlTensorDesc dx;
  tl_tensor_get_desc (in[0], &dx);
  const TlTensorDesc *ins[1] = { &dx };
  TlBcast bc;
  _tl_priv_bcast_init (&bc, tl_tensor_ndim (out[0]), tl_tensor_shape (out[0]), 1, ins);
  if (tl_tensor_numel (out[0]) == 0)
    return TRUE;
  BcastJob j = { tl_tensor_const_data (in[0]), tl_tensor_data (out[0]), tl_dtype_size (dx.dtype), &bc };
  tl_parallel_for (bc.n_rows, MAX (1, TL_OPS_GRAIN / MAX (1, bc.inner)), bcast_rows, &j);
  return TRUE;
}

static gboolean
broadcast_to_bw (TlGraph *g, const TlNode *node, TlValue *const *gy, TlValue **gx, GError **error)
{
  (void) error;
  if (gy[0])
    gx[0] = _tl_priv_ops_sum_to_like (g, gy[0], tl_node_input (node, 0));
  return TRUE;
}

static gboolean
sum_to_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  (void) max_out;
  (void) n_out;
  const TlTensorDesc *x = &call->inputs[0];
  if (!_tl_priv_ops_check_float (call, 0, "sum_to", error) ||
      !read_shape_attr (call->attrs, out, x->dtype, "sum_to", error))
    return FALSE;
  if (!broadcasts_to (out, x)) {
    _tl_priv_ops_shape_error (error, "sum_to", "%s is not a broadcast of %s", _tl_priv_ops_desc_str (x),
                              _tl_priv_ops_desc_str (out));
    return FALSE;
  }
  return TRUE;
}

static gboolean
sum_to_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  (void) ctx;
  TlTensor *x = in[0];
  gboolean mask[TL_MAX_DIMS];
  _tl_rule_sum_to_mask_of (x, out[0], mask);
  return reduce_f32 (tl_tensor_const_data (x), tl_tensor_ndim (x), tl_tensor_shape (x), mask, tl_tensor_data (out[0]),
                     RED_SUM, error);
}

static gboolean
sum_to_bw (TlGraph *g, const TlNode *node, TlValue *const *gy, TlValue **gx, GError **error)
{
  (void) error;
  if (gy[0]) {
    const TlTensorDesc *dx = tl_value_desc (tl_node_input (node, 0));
    gx[0] = tl_broadcast_to (g, gy[0], dx->ndim, dx->shape);
  }
  return TRUE;
}

static void
copy_cost (const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost)
{
  _tl_priv_ops_cost_default (call, out, 1, 0, cost);
}

static const TlOpDef broadcast_to_def = { TL_TABLE_INIT (TlOpDef), .name = "broadcast_to",
                                          .flags = TL_OP_BROADCAST | TL_OP_MEMORY_BOUND | TL_OP_OVERWRITES, .n_inputs = 1,
                                          .n_outputs = 1, .infer = broadcast_to_infer,
                                          .forward_cpu = broadcast_to_cpu, .backward = broadcast_to_bw,
                                          .cost = copy_cost };
static const TlOpDef sum_to_def = { TL_TABLE_INIT (TlOpDef), .name = "sum_to", .flags = RED_FLAGS,
                                    .n_inputs = 1, .n_outputs = 1, .infer = sum_to_infer,
                                    .forward_cpu = sum_to_cpu, .backward = sum_to_bw, .cost = reduce_cost };

static const TlOpDef *const reduce_defs[] = {
  &sum_def, &mean_def, &max_def, &equal_mask_def, &argmax_def, &broadcast_to_def, &sum_to_def,
};

TL_OPS_DEFINE_DEFS_GETTER (_tl_priv_ops_reduce_defs, reduce_defs)

/* --- builders ---------------------------------------------------------------- */

static TlValue *
reduce_builder (TlGraph *g, const char *op, TlValue *x, guint n_axes, const gint *axes, gboolean keepdims)
{
  gint64 ax[TL_MAX_DIMS];
  TlAttrs *a = tl_attrs_new ();
  if (n_axes > TL_MAX_DIMS) {
    g_autoptr (GError) err = g_error_new (TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "%s: %u axes given", op, n_axes);
    tl_graph_set_error (g, g_steal_pointer (&err));
    tl_attrs_free (a);
    return NULL;
  }
  for (guint i = 0; i < n_axes; i++)
    ax[i] = axes[i];
  if (n_axes > 0)
    tl_attrs_set_ints (a, "axes", n_axes, ax);
  tl_attrs_set_int (a, "keepdims", keepdims ? 1 : 0);
  TlValue *v = _tl_priv_ops_op1 (g, op, x, a);
  tl_attrs_free (a);
  return v;
}

/**
 * tl_sum: (and tl_mean, tl_max)
 * @g: the graph
 * @x: (nullable): input
 * @n_axes: number of axes (0: all)
 * @axes: (array length=n_axes): axes, negative from the end
 * @keepdims: keep reduced axes with size 1
 *
 * Returns: (transfer none) (nullable): the reduction's output.
 */
TlValue *
tl_sum (TlGraph *g, TlValue *x, guint n_axes, const gint *axes, gboolean keepdims)
{
  return reduce_builder (g, "sum", x, n_axes, axes, keepdims);
}

TlValue *
tl_mean (TlGraph *g, TlValue *x, guint n_axes, const gint *axes, gboolean keepdims)
{
  return reduce_builder (g, "mean", x, n_axes, axes, keepdims);
}

TlValue *
tl_max (TlGraph *g, TlValue *x, guint n_axes, const gint *axes, gboolean keepdims)
{
  return reduce_builder (g, "max", x, n_axes, axes, keepdims);
}

/**
 * tl_argmax:
 * @g: the graph
 * @x: (nullable): input
 * @axis: axis, negative from the end
 *
 * Returns: (transfer none) (nullable): i64 indices with the axis removed.
 */
TlValue *
tl_argmax (TlGraph *g, TlValue *x, gint axis)
{
  TlAttrs *a = tl_attrs_new ();
  tl_attrs_set_int (a, "axis", axis);
  TlValue *v = _tl_priv_ops_op1 (g, "argmax", x, a);
  tl_attrs_free (a);
  return v;
}

static TlValue *
shape_builder (TlGraph *g, const char *op, TlValue *x, guint ndim, const gint64 *shape)
{
  TlAttrs *a = tl_attrs_new ();
  tl_attrs_set_ints (a, "shape", ndim, shape);
  TlValue *v = _tl_priv_ops_op1 (g, op, x, a);
  tl_attrs_free (a);
  return v;
}

/**
 * tl_broadcast_to: (and tl_sum_to)
 * @g: the graph
 * @x: (nullable): input
 * @ndim: target rank
 * @shape: (array length=ndim): target shape
 *
 * Returns: (transfer none) (nullable): x broadcast to (or summed down to) shape.
 */
TlValue *
tl_broadcast_to (TlGraph *g, TlValue *x, guint ndim, const gint64 *shape)
{
  return shape_builder (g, "broadcast_to", x, ndim, shape);
}

TlValue *
tl_sum_to (TlGraph *g, TlValue *x, guint ndim, const gint64 *shape)
{
  return shape_builder (g, "sum_to", x, ndim, shape);
}
