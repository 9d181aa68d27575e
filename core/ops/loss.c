/* loss.c — mean-reduced losses with 0-d f32 results: cross_entropy (labels
 * < 0 ignored), bce_with_logits (stable form), mse; plus the gradient ops
 * "cross_entropy_grad" and "bce_with_logits_grad".
 *
 * Sums run over fixed chunks in double, chunks combined in order. */
/* vectorisable clamps and selects (see ops-common.h) */
#pragma GCC optimize ("no-trapping-math")

#include "config.h"

#include <math.h>

#include "ops-common.h"
#include "ops-rules.h"

/* The losses store their scalar (0 with no rows / elements) and the grads
 * write every element (ignored labels: zero rows): TL_OP_OVERWRITES. */
#define LOSS_FLAGS (TL_OP_LOSS | TL_OP_REDUCTION | TL_OP_MEMORY_BOUND | TL_OP_OVERWRITES)

/* --- deterministic chunked sums ----------------------------------------- */

typedef double (*ChunkFn) (gint64 begin, gint64 end, gpointer data);

typedef struct {
  ChunkFn fn;
  gpointer data;
  gint64 n, grain;
  double *partials;
} SumJob;

static void
sum_chunks (gint64 begin, gint64 end, gpointer data)
{
  SumJob *j = data;
  for (gint64 c = begin; c < end; c++)
    j->partials[c] = j->fn (c * j->grain, MIN (j->n, (c + 1) * j->grain), j->data);
}

static gboolean
chunked_sum (gint64 n, gint64 grain, ChunkFn fn, gpointer data, double *out, GError **error)
{
  gint64 nc = _tl_priv_ops_n_chunks (n, grain);
  SumJob j = { fn, data, n, grain, NULL };
  *out = 0.0;
  if (nc == 0)
    return TRUE;
  j.partials = g_try_new (double, nc);
  if (!j.partials) {
    g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY, "loss: out of memory");
    return FALSE;
  }
  tl_parallel_for (nc, 1, sum_chunks, &j);
  for (gint64 c = 0; c < nc; c++)
    *out += j.partials[c];
  g_free (j.partials);
  return TRUE;
}

static gboolean
scalar_out (TlTensorDesc *out)
{
  return tl_tensor_desc_init (out, TL_DTYPE_F32, 0, NULL);
}

static gboolean
same_shape_f32_pair (const TlOpCall *call, const char *op, GError **error)
{
  if (!_tl_priv_ops_check_float (call, 0, op, error) || !_tl_priv_ops_check_float (call, 1, op, error))
    return FALSE;
  if (!_tl_priv_ops_same_shape (&call->inputs[0], &call->inputs[1])) {
    _tl_priv_ops_shape_error (error, op, "inputs %s and %s must have the same shape",
                              _tl_priv_ops_desc_str (&call->inputs[0]), _tl_priv_ops_desc_str (&call->inputs[1]));
    return FALSE;
  }
  return TRUE;
}

static gboolean
dy_is_scalar (const TlOpCall *call, const char *op, GError **error)
{
  if (call->inputs[0].dtype != TL_DTYPE_F32 || call->inputs[0].ndim != 0) {
    _tl_priv_ops_shape_error (error, op, "dy must be a 0-d f32, got %s", _tl_priv_ops_desc_str (&call->inputs[0]));
    return FALSE;
  }
  return TRUE;
}

/* --- cross_entropy ---------------------------------------------------------- */

typedef struct {
  const float *x;
  const void *labels;
  gboolean i64;
  gint64 N, C;
  float scale;   /* grad: dy / count */
  float *dx;
  gint64 bad;    /* first out-of-range label row, -1 if none (set by ce_count) */
} Ce;

static inline gint64
ce_label (const Ce *c, gint64 r)
{
  return _tl_rule_index_at (c->labels, c->i64, r);
}

static double
row_lse (const float *restrict x, gint64 C)
{
  float m = -INFINITY;
  for (gint64 j = 0; j < C; j++)
    m = x[j] > m ? x[j] : m;
  double s = 0.0;
  for (gint64 j = 0; j < C; j++)
    s += exp ((double) x[j] - m);
  return m + log (s);
}

static double
ce_chunk (gint64 begin, gint64 end, gpointer data)
{
  Ce *c = data;
  double acc = 0.0;
  for (gint64 r = begin; r < end; r++) {
    gint64 l = ce_label (c, r);
    if (l < 0 || l >= c->C)
      continue; /* out of range: found and reported by ce_count */
    const float *x = c->x + r * c->C;
    acc += row_lse (x, c->C) - x[l];
  }
  return acc;
}

/* The number of labels >= 0; sets c->bad to the first row whose label is
 * out of range (serial, so the reported row is deterministic). */
static gint64
ce_count (Ce *c)
{
  gint64 n = 0;
  c->bad = -1;
  for (gint64 r = 0; r < c->N; r++) {
    gint64 l = ce_label (c, r);
    if (l >= c->C && c->bad < 0)
      c->bad = r;
    n += l >= 0;
  }
  return n;
}

static gboolean
ce_check_inputs (const TlOpCall *call, guint xi, const char *op, GError **error)
{
  const TlTensorDesc *x = &call->inputs[xi], *l = &call->inputs[xi + 1];
  if (!_tl_priv_ops_check_float (call, xi, op, error) ||
      !_tl_priv_ops_check_dtype (call, xi + 1, op, error, TL_DTYPE_I32, TL_DTYPE_I64, TL_DTYPE_INVALID))
    return FALSE;
  if (x->ndim != 2 || l->ndim != 1 || l->shape[0] != x->shape[0]) {
    _tl_priv_ops_shape_error (error, op, "want logits [N, C] and labels [N], got %s and %s",
                              _tl_priv_ops_desc_str (x), _tl_priv_ops_desc_str (l));
    return FALSE;
  }
  return TRUE;
}

static gboolean
ce_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  (void) max_out;
  (void) n_out;
  return ce_check_inputs (call, 0, "cross_entropy", error) && scalar_out (out);
}

static void
ce_setup (Ce *c, TlTensor *x, TlTensor *labels)
{
  c->x = tl_tensor_const_data (x);
  c->labels = tl_tensor_const_data (labels);
  c->i64 = tl_tensor_dtype (labels) == TL_DTYPE_I64;
  c->N = tl_tensor_dim (x, 0);
  c->C = tl_tensor_dim (x, 1);
}

static gboolean
ce_bad_label (const Ce *c, GError **error)
{
  if (c->bad < 0)
    return FALSE;
  g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
               "cross_entropy: label %" G_GINT64_FORMAT " at row %" G_GINT64_FORMAT " is out of range [0, %"
               G_GINT64_FORMAT ")", ce_label (c, c->bad), c->bad, c->C);
  return TRUE;
}

static gboolean
ce_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  (void) ctx;
  Ce c = { 0 };
  double s;
  ce_setup (&c, in[0], in[1]);
  gint64 cnt = ce_count (&c);
  if (ce_bad_label (&c, error))
    return FALSE;
  if (!chunked_sum (c.N, MAX (1, TL_OPS_GRAIN / MAX (1, c.C)), ce_chunk, &c, &s, error))
    return FALSE;
  *(float *) tl_tensor_data (out[0]) = cnt > 0 ? (float) (s / (double) cnt) : 0.0f;
  return TRUE;
}

static void
ce_grad_rows (gint64 begin, gint64 end, gpointer data)
{
  Ce *c = data;
  for (gint64 r = begin; r < end; r++) {
    const float *restrict x = c->x + r * c->C;
    float *restrict dx = c->dx + r * c->C;
    gint64 l = ce_label (c, r);
    if (l < 0 || l >= c->C) {
      for (gint64 j = 0; j < c->C; j++)
        dx[j] = 0.0f;
      continue;
    }
    double lse = row_lse (x, c->C);
    for (gint64 j = 0; j < c->C; j++)
      dx[j] = (float) exp ((double) x[j] - lse) * c->scale;
    dx[l] -= c->scale;
  }
}

/* inputs: dy (0-d), logits, labels -> dlogits */
static gboolean
ce_grad_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  (void) max_out;
  (void) n_out;
  if (!dy_is_scalar (call, "cross_entropy_grad", error) || !ce_check_inputs (call, 1, "cross_entropy_grad", error))
    return FALSE;
  out[0] = call->inputs[1];
  return TRUE;
}

static gboolean
ce_grad_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  (void) ctx;
  Ce c = { 0 };
  ce_setup (&c, in[1], in[2]);
  gint64 cnt = ce_count (&c);
  if (ce_bad_label (&c, error))
    return FALSE;
  c.scale = cnt > 0 ? *(const float *) tl_tensor_const_data (in[0]) / (float) cnt : 0.0f;
  c.dx = tl_tensor_data (out[0]);
  if (c.N > 0)
    tl_parallel_for (c.N, MAX (1, TL_OPS_GRAIN / MAX (1, c.C)), ce_grad_rows, &c);
  return TRUE;
}

static gboolean
ce_bw (TlGraph *g, const TlNode *node, TlValue *const *gy, TlValue **gx, GError **error)
{
  (void) error;
  if (!gy[0])
    return TRUE;
  TlValue *ins[3] = { gy[0], tl_node_input (node, 0), tl_node_input (node, 1) };
  gx[0] = tl_graph_op (g, "cross_entropy_grad", 3, ins, NULL);
  return TRUE;
}

/* --- bce_with_logits ------------------------------------------------------------ */

typedef struct {
  const float *x, *t;
} Pair;

static double
bce_chunk (gint64 begin, gint64 end, gpointer data)
{
  Pair *p = data;
  double acc = 0.0;
  for (gint64 i = begin; i < end; i++) {
    double x = p->x[i], t = p->t[i];
    acc += (x > 0 ? x : 0) - x * t + log1p (exp (-fabs (x)));
  }
  return acc;
}

static gboolean
bce_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  (void) max_out;
  (void) n_out;
  return same_shape_f32_pair (call, "bce_with_logits", error) && scalar_out (out);
}

static gboolean
pair_mean (TlTensor *const *in, TlTensor *out, ChunkFn fn, GError **error)
{
  Pair p = { tl_tensor_const_data (in[0]), tl_tensor_const_data (in[1]) };
  gint64 n = tl_tensor_numel (in[0]);
  double s;
  if (!chunked_sum (n, TL_OPS_GRAIN, fn, &p, &s, error))
    return FALSE;
  *(float *) tl_tensor_data (out) = n > 0 ? (float) (s / (double) n) : 0.0f;
  return TRUE;
}

static gboolean
bce_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  (void) ctx;
  return pair_mean (in, out[0], bce_chunk, error);
}

/* inputs: dy (0-d), logits, targets -> dlogits = dy * (sigmoid(x) - t) / n */
static gboolean
bce_grad_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  (void) max_out;
  (void) n_out;
  TlOpCall sub = *call;
  sub.inputs = call->inputs + 1;
  sub.n_inputs = 2;
  if (!dy_is_scalar (call, "bce_with_logits_grad", error) || !same_shape_f32_pair (&sub, "bce_with_logits_grad", error))
    return FALSE;
  out[0] = call->inputs[1];
  return TRUE;
}

TL_BINARY_KERNEL (bce_grad_k, float, tl_sigmoidf_approx (a) - b)

static gboolean
bce_grad_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  (void) ctx;
  (void) error;
  gint64 n = tl_tensor_numel (in[1]);
  float s = n > 0 ? *(const float *) tl_tensor_const_data (in[0]) / (float) n : 0.0f;
  _tl_priv_ops_run_binary (bce_grad_k, in[1], in[2], out[0]);
  float *restrict y = tl_tensor_data (out[0]);
  TL_SIMD
  for (gint64 i = 0; i < n; i++)
    y[i] *= s;
  return TRUE;
}

static gboolean
bce_bw (TlGraph *g, const TlNode *node, TlValue *const *gy, TlValue **gx, GError **error)
{
  (void) error;
  if (!gy[0])
    return TRUE;
  TlValue *x = tl_node_input (node, 0), *t = tl_node_input (node, 1);
  TlValue *ins[3] = { gy[0], x, t };
  gint64 n = _tl_priv_ops_numel (tl_value_desc (x));
  gx[0] = tl_graph_op (g, "bce_with_logits_grad", 3, ins, NULL);
  gx[1] = tl_mul (g, x, tl_scale (g, gy[0], n > 0 ? -1.0 / (double) n : 0.0, 0.0));
  return TRUE;
}

/* --- mse ---------------------------------------------------------------------------- */

static double
mse_chunk (gint64 begin, gint64 end, gpointer data)
{
  Pair *p = data;
  double acc = 0.0;
  for (gint64 i = begin; i < end; i++) {
    double d = (double) p->x[i] - (double) p->t[i];
    acc += d * d;
  }
  return acc;
}

static gboolean
mse_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  (void) max_out;
  (void) n_out;
  return same_shape_f32_pair (call, "mse", error) && scalar_out (out);
}

static gboolean
mse_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  (void) ctx;
  return pair_mean (in, out[0], mse_chunk, error);
}

static gboolean
mse_bw (TlGraph *g, const TlNode *node, TlValue *const *gy, TlValue **gx, GError **error)
{
  (void) error;
  if (!gy[0])
    return TRUE;
  TlValue *p = tl_node_input (node, 0), *t = tl_node_input (node, 1);
  gint64 n = _tl_priv_ops_numel (tl_value_desc (p));
  TlValue *dp = tl_mul (g, tl_sub (g, p, t), tl_scale (g, gy[0], n > 0 ? 2.0 / (double) n : 0.0, 0.0));
  gx[0] = dp;
  gx[1] = tl_neg (g, dp);
  return TRUE;
}

/* --- tables and builders ------------------------------------------------------------ */

static void
loss_cost (const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost)
{
  _tl_priv_ops_cost_default (call, out, 1, 0, cost);
  cost->flops = 8.0 * (double) _tl_priv_ops_numel (&call->inputs[0]);
}

static void
loss_grad_cost (const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost)
{
  _tl_priv_ops_cost_default (call, out, 1, 8, cost);
}

static const TlOpDef ce_def = { TL_TABLE_INIT (TlOpDef), .name = "cross_entropy", .flags = LOSS_FLAGS,
                                .n_inputs = 2, .n_outputs = 1, .infer = ce_infer, .forward_cpu = ce_cpu,
                                .backward = ce_bw, .cost = loss_cost };
static const TlOpDef ce_grad_def = { TL_TABLE_INIT (TlOpDef), .name = "cross_entropy_grad",
                                     .flags = TL_OP_MEMORY_BOUND | TL_OP_OVERWRITES, .n_inputs = 3, .n_outputs = 1,
                                     .infer = ce_grad_infer, .forward_cpu = ce_grad_cpu, .cost = loss_grad_cost };
static const TlOpDef bce_def = { TL_TABLE_INIT (TlOpDef), .name = "bce_with_logits", .flags = LOSS_FLAGS,
                                 .n_inputs = 2, .n_outputs = 1, .infer = bce_infer, .forward_cpu = bce_cpu,
                                 .backward = bce_bw, .cost = loss_cost };
static const TlOpDef bce_grad_def = { TL_TABLE_INIT (TlOpDef), .name = "bce_with_logits_grad",
                                      .flags = TL_OP_MEMORY_BOUND | TL_OP_OVERWRITES, .n_inputs = 3, .n_outputs = 1,
                                      .infer = bce_grad_infer, .forward_cpu = bce_grad_cpu,
                                      .cost = loss_grad_cost };
static const TlOpDef mse_def = { TL_TABLE_INIT (TlOpDef), .name = "mse", .flags = LOSS_FLAGS, .n_inputs = 2,
                                 .n_outputs = 1, .infer = mse_infer, .forward_cpu = mse_cpu, .backward = mse_bw,
                                 .cost = loss_cost };

static const TlOpDef *const loss_defs[] = { &ce_def, &ce_grad_def, &bce_def, &bce_grad_def, &mse_def };

TL_OPS_DEFINE_DEFS_GETTER (_tl_priv_ops_loss_defs, loss_defs)

/**
 * tl_cross_entropy: (and tl_bce_with_logits, tl_mse)
 * @g: the graph
 * @logits: (nullable): predictions
 * @labels: (nullable): labels / targets
 *
 * Returns: (transfer none) (nullable): the 0-d f32 mean loss.
 */
TL_OPS_DEFINE_BINARY_BUILDER (tl_cross_entropy, "cross_entropy")
TL_OPS_DEFINE_BINARY_BUILDER (tl_bce_with_logits, "bce_with_logits")
TL_OPS_DEFINE_BINARY_BUILDER (tl_mse, "mse")
