/* softmax.c — softmax and log_softmax along an axis (max-subtracted, so
 * stable for large inputs) and their gradient ops. */
/* vectorisable clamps and selects (see ops-common.h) */
#pragma GCC optimize ("no-trapping-math")

#include "config.h"

#include <math.h>

#include "ops-common.h"
#include "ops-rules.h"

/* x viewed as [outer, R, inner] around the axis. */
typedef struct {
  gint64 outer, R, inner;
  const float *x, *y, *dy;
  float *out;
  gboolean log;
} Sm;

static gboolean
sm_layout (const TlAttrs *attrs, TlTensor *x, Sm *s, const char *op, GError **error)
{
  guint axis, nd = tl_tensor_ndim (x);
  const gint64 *shape = tl_tensor_shape (x);
  if (!_tl_priv_ops_axis (tl_attrs_get_int (attrs, "axis", -1), nd, &axis, op, error))
    return FALSE;
  _tl_rule_axis_split (nd, shape, axis, &s->outer, &s->R, &s->inner);
  return TRUE;
}

/* One contiguous row (inner == 1): the vectorised path. */
static void
sm_row_contig (const float *restrict x, float *restrict y, gint64 R, gboolean log)
{
  float m = -INFINITY;
  TL_SIMD_REDUCTION_MAX (m)
  for (gint64 r = 0; r < R; r++)
    m = x[r] > m ? x[r] : m;
  TL_SIMD
  for (gint64 r = 0; r < R; r++)
    y[r] = tl_expf_approx (x[r] - m);
  float sum = 0.0f;
  for (gint64 r = 0; r < R; r++)
    sum += y[r];
  if (log) {
    float lse = m + logf (sum);
    TL_SIMD
    for (gint64 r = 0; r < R; r++)
      y[r] = x[r] - lse;
  } else {
    float inv = 1.0f / sum;
    TL_SIMD
    for (gint64 r = 0; r < R; r++)
      y[r] *= inv;
  }
}

static void
sm_rows (gint64 begin, gint64 end, gpointer data)
{
  Sm *s = data;
  gint64 R = s->R, inner = s->inner;
  for (gint64 it = begin; it < end; it++) {
    gint64 o = it / inner, i = it % inner;
    const float *restrict x = s->x + o * R * inner + i;
    float *restrict y = s->out + o * R * inner + i;
    if (inner == 1)
      sm_row_contig (x, y, R, s->log);
    else
      _tl_rule_softmax_col (x, y, R, inner, s->log);
  }
}

/* softmax: dx = y * (dy - sum(dy * y)); log_softmax: dx = dy - exp(y) * sum(dy). */
static void
sm_grad_rows (gint64 begin, gint64 end, gpointer data)
{
  Sm *s = data;
  gint64 R = s->R, inner = s->inner;
  for (gint64 it = begin; it < end; it++) {
    gint64 o = it / inner, i = it % inner, base = o * R * inner + i;
    const float *restrict y = s->y + base;
    const float *restrict dy = s->dy + base;
    float *restrict dx = s->out + base;
    float acc = 0.0f;
    if (inner == 1) {
      if (s->log) {
        for (gint64 r = 0; r < R; r++)
          acc += dy[r];
        TL_SIMD
        for (gint64 r = 0; r < R; r++)
          dx[r] = dy[r] - tl_expf_approx (y[r]) * acc;
      } else {
        for (gint64 r = 0; r < R; r++)
          acc += dy[r] * y[r];
        TL_SIMD
        for (gint64 r = 0; r < R; r++)
          dx[r] = y[r] * (dy[r] - acc);
      }
      continue;
    }
    _tl_rule_softmax_grad_col (dy, y, dx, R, inner, s->log);
  }
}

static gboolean
sm_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  (void) max_out;
  (void) n_out;
  const TlTensorDesc *x = &call->inputs[0];
  guint axis;
  if (!_tl_priv_ops_check_float (call, 0, "softmax", error) ||
      !_tl_priv_ops_axis (tl_attrs_get_int (call->attrs, "axis", -1), x->ndim, &axis, "softmax", error))
    return FALSE;
  out[0] = *x;
  return TRUE;
}

static gboolean
sm_grad_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  (void) max_out;
  (void) n_out;
  if (!_tl_priv_ops_check_float (call, 0, "softmax_grad", error) ||
      !_tl_priv_ops_check_float (call, 1, "softmax_grad", error))
    return FALSE;
  if (!_tl_priv_ops_same_shape (&call->inputs[0], &call->inputs[1])) {
    _tl_priv_ops_shape_error (error, "softmax_grad", "dy %s and y %s differ",
                              _tl_priv_ops_desc_str (&call->inputs[0]), _tl_priv_ops_desc_str (&call->inputs[1]));
    return FALSE;
  }
  return sm_infer (call, out, max_out, n_out, error);
}

static gboolean
sm_run (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, gboolean log, GError **error)
{
  Sm s = { 0 };
  if (!sm_layout (ctx->attrs, in[0], &s, log ? "log_softmax" : "softmax", error))
    return FALSE;
  s.x = tl_tensor_const_data (in[0]);
  s.out = tl_tensor_data (out[0]);
  s.log = log;
  if (s.R > 0)
    tl_parallel_for (s.outer * s.inner, MAX (1, TL_OPS_GRAIN / MAX (1, s.R)), sm_rows, &s);
  return TRUE;
}

static gboolean
sm_grad_run (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, gboolean log, GError **error)
{
  Sm s = { 0 };
  if (!sm_layout (ctx->attrs, in[0], &s, log ? "log_softmax_grad" : "softmax_grad", error))
    return FALSE;
  s.dy = tl_tensor_const_data (in[0]);
  s.y = tl_tensor_const_data (in[1]);
  s.out = tl_tensor_data (out[0]);
  s.log = log;
  if (s.R > 0)
    tl_parallel_for (s.outer * s.inner, MAX (1, TL_OPS_GRAIN / MAX (1, s.R)), sm_grad_rows, &s);
  return TRUE;
}

static gboolean
softmax_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  return sm_run (ctx, in, out, FALSE, error);
}

static gboolean
log_softmax_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  return sm_run (ctx, in, out, TRUE, error);
}

static gboolean
softmax_grad_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  return sm_grad_run (ctx, in, out, FALSE, error);
}

static gboolean
log_softmax_grad_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  return sm_grad_run (ctx, in, out, TRUE, error);
}

static gboolean
sm_bw (TlGraph *g, const TlNode *node, TlValue *const *gy, TlValue **gx, const char *grad_op)
{
  if (gy[0])
    gx[0] = _tl_priv_ops_op2 (g, grad_op, gy[0], tl_node_output (node, 0), tl_node_attrs (node));
  return TRUE;
}

static gboolean
softmax_bw (TlGraph *g, const TlNode *node, TlValue *const *gy, TlValue **gx, GError **error)
{
  (void) error;
  return sm_bw (g, node, gy, gx, "softmax_grad");
}

static gboolean
log_softmax_bw (TlGraph *g, const TlNode *node, TlValue *const *gy, TlValue **gx, GError **error)
{
  (void) error;
  return sm_bw (g, node, gy, gx, "log_softmax_grad");
}

TL_OPS_COST_FN (sm_cost, 12)
TL_OPS_COST_FN (sm_grad_cost, 4)

/* every row of the output is written (R = 0: the output is empty) */
#define SM_FLAGS (TL_OP_MEMORY_BOUND | TL_OP_OVERWRITES)
static const TlOpDef softmax_def = { TL_TABLE_INIT (TlOpDef), .name = "softmax", .flags = SM_FLAGS,
                                     .n_inputs = 1, .n_outputs = 1, .infer = sm_infer,
                                     .forward_cpu = softmax_cpu, .backward = softmax_bw, .cost = sm_cost };
static const TlOpDef log_softmax_def = { TL_TABLE_INIT (TlOpDef), .name = "log_softmax", .flags = SM_FLAGS,
                                         .n_inputs = 1, .n_outputs = 1, .infer = sm_infer,
                                         .forward_cpu = log_softmax_cpu, .backward = log_softmax_bw,
                                         .cost = sm_cost };
static const TlOpDef softmax_grad_def = { TL_TABLE_INIT (TlOpDef), .name = "softmax_grad", .flags = SM_FLAGS,
                                          .n_inputs = 2, .n_outputs = 1, .infer = sm_grad_infer,
                                          .forward_cpu = softmax_grad_cpu, .cost = sm_grad_cost };
static const TlOpDef log_softmax_grad_def = { TL_TABLE_INIT (TlOpDef), .name = "log_softmax_grad",
                                              .flags = SM_FLAGS, .n_inputs = 2, .n_outputs = 1,
                                              .infer = sm_grad_infer, .forward_cpu = log_softmax_grad_cpu,
                                              .cost = sm_grad_cost };

static const TlOpDef *const softmax_defs[] = {
  &softmax_def, &log_softmax_def, &softmax_grad_def, &log_softmax_grad_def,
};

TL_OPS_DEFINE_DEFS_GETTER (_tl_priv_ops_softmax_defs, softmax_defs)

static TlValue *
sm_builder (TlGraph *g, const char *op, TlValue *x, gint axis)
{
  TlAttrs *a = tl_attrs_new ();
  tl_attrs_set_int (a, "axis", axis);
  TlValue *v = _tl_priv_ops_op1 (g, op, x, a);
  tl_attrs_free (a);
  return v;
}

/**
 * tl_softmax: (and tl_log_softmax)
 * @g: the graph
 * @x: (nullable): input
 * @axis: normalised axis, negative from the end
 *
 * Returns: (transfer none) (nullable): softmax (log-softmax) of x along axis.
 */
TlValue *
tl_softmax (TlGraph *g, TlValue *x, gint axis)
{
  return sm_builder (g, "softmax", x, axis);
}

TlValue *
tl_log_softmax (TlGraph *g, TlValue *x, gint axis)
{
  return sm_builder (g, "log_softmax", x, axis);
}
