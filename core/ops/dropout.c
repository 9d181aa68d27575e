/* dropout.c — "dropout" and its gradient "dropout_grad".
 *
 * Design: the forward op has two outputs, y (f32) and mask (u8, 1 = kept),
 * and the backward is dropout_grad(dy, mask). Storing the mask (1 byte per
 * element) avoids having to reproduce the executor's per-node seed in
 * another node. The mask is drawn from a counter-based TlRng: elements are
 * split in fixed blocks of TL_RULE_DROPOUT_BLOCK (ops-rules.h, shared with
 * the CUDA kernel), block b uses the stream
 * (ctx->seed, b), so the mask is the same at any thread count.
 *
 * Training: y = x * mask / (1 - p). Otherwise (or p == 0): y = x, mask = 1,
 * and dropout_grad passes dy through.
 */
#include "config.h"

#include <string.h>

#include "ops-nn.h"
#include "ops-rules.h"

static gboolean
dropout_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out,
               GError **error)
{
  double p;
  const TlTensorDesc *x = &call->inputs[0];
  if (!_tl_priv_nn_n_out ("dropout", 2, max_out, n_out, error)
      || !_tl_rule_dropout_p ("dropout", call->attrs, &p, error))
    return FALSE;
  if (x->dtype != TL_DTYPE_F32) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "dropout: f32 only, got %s",
                 tl_dtype_name (x->dtype));
    return FALSE;
  }
  tl_tensor_desc_init (&out[0], TL_DTYPE_F32, x->ndim, x->shape);
  tl_tensor_desc_init (&out[1], TL_DTYPE_U8, x->ndim, x->shape);
  return TRUE;
}

typedef struct {
  const float *x;
  float *y;
  guint8 *mask;
  gint64 n;
  guint64 seed;
  double p;
  float scale;
} DropoutJob;

static void
dropout_blocks (gint64 begin, gint64 end, gpointer data)
{
  const DropoutJob *j = data;
  for (gint64 b = begin; b < end; b++) {
    TlRng rng;
    gint64 lo = b * TL_RULE_DROPOUT_BLOCK, hi = MIN (lo + TL_RULE_DROPOUT_BLOCK, j->n);
    tl_rng_init (&rng, j->seed, (guint64) b);
    for (gint64 i = lo; i < hi; i++) {
      gboolean keep = tl_rng_uniform (&rng) >= j->p;
      j->mask[i] = keep ? 1 : 0;
      j->y[i] = keep ? j->x[i] * j->scale : 0.0f;
    }
  }
}

static gboolean
dropout_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  DropoutJob j;
  if (!_tl_rule_dropout_p ("dropout", ctx->attrs, &j.p, error))
    return FALSE;
  j.x = tl_tensor_const_data (in[0]);
  j.y = tl_tensor_data (out[0]);
  j.mask = tl_tensor_data (out[1]);
  j.n = tl_tensor_numel (in[0]);
  j.seed = ctx->seed;
  if (!ctx->training || j.p == 0.0) {
    memcpy (j.y, j.x, j.n * sizeof (float));
    memset (j.mask, 1, j.n);
    return TRUE;
  }
  j.scale = _tl_rule_dropout_scale (j.p);
  tl_parallel_for ((j.n + TL_RULE_DROPOUT_BLOCK - 1) / TL_RULE_DROPOUT_BLOCK, 1, dropout_blocks, &j);
  return TRUE;
}

static TlValue *
dropout_grad_node (TlGraph *g, TlValue *dy, TlValue *mask, const TlAttrs *attrs)
{
  return tl_graph_op (g, "dropout_grad", 2, (TlValue *[]) { dy, mask }, attrs);
}

static gboolean
dropout_backward (TlGraph *g, const TlNode *node, TlValue *const *gout, TlValue **gin,
                  GError **error)
{
  (void) error;
  if (gout[0] == NULL)
    return TRUE;
  gin[0] = dropout_grad_node (g, gout[0], tl_node_output (node, 1), tl_node_attrs (node));
  return tl_graph_ok (g);
}

static void
dropout_cost (const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost)
{
  _tl_priv_nn_cost_io (call, out, 2, 2.0 * (double) tl_tensor_desc_numel (&call->inputs[0]), cost);
}

static gboolean
dropout_grad_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out,
                    GError **error)
{
  double p;
  const TlTensorDesc *dy = &call->inputs[0], *mask = &call->inputs[1];
  if (!_tl_priv_nn_n_out ("dropout_grad", 1, max_out, n_out, error)
      || !_tl_rule_dropout_p ("dropout_grad", call->attrs, &p, error))
    return FALSE;
  if (dy->dtype != TL_DTYPE_F32 || mask->dtype != TL_DTYPE_U8 || dy->ndim != mask->ndim
      || memcmp (dy->shape, mask->shape, dy->ndim * sizeof (gint64)) != 0) {
    g_autofree char *a = tl_tensor_desc_to_string (dy);
    g_autofree char *b = tl_tensor_desc_to_string (mask);
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                 "dropout_grad: needs f32 dy and a u8 mask of its shape, got %s and %s", a, b);
    return FALSE;
  }
  tl_tensor_desc_init (out, TL_DTYPE_F32, dy->ndim, dy->shape);
  return TRUE;
}

static gboolean
dropout_grad_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  double p;
  if (!_tl_rule_dropout_p ("dropout_grad", ctx->attrs, &p, error))
    return FALSE;
  const float *dy = tl_tensor_const_data (in[0]);
  const guint8 *mask = tl_tensor_const_data (in[1]);
  float *dx = tl_tensor_data (out[0]);
  gint64 n = tl_tensor_numel (in[0]);
  if (!ctx->training || p == 0.0) {
    memcpy (dx, dy, n * sizeof (float));
    return TRUE;
  }
  float scale = _tl_rule_dropout_scale (p);
  for (gint64 i = 0; i < n; i++)
    dx[i] = mask[i] ? dy[i] * scale : 0.0f;
  return TRUE;
}

static gboolean
dropout_grad_backward (TlGraph *g, const TlNode *node, TlValue *const *gout, TlValue **gin,
                       GError **error)
{
  (void) error;
  if (gout[0] == NULL)
    return TRUE;
  gin[0] = dropout_grad_node (g, gout[0], tl_node_input (node, 1), tl_node_attrs (node));
  return tl_graph_ok (g);
}

static void
dropout_grad_cost (const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost)
{
  _tl_priv_nn_cost_io (call, out, 1, (double) tl_tensor_desc_numel (out), cost);
}

static const TlOpDef dropout_def = {
  TL_TABLE_INIT (TlOpDef),
  .name = "dropout",
  .flags = TL_OP_RANDOM | TL_OP_MEMORY_BOUND | TL_OP_OVERWRITES, /* y and mask, every element */
  .n_inputs = 1,
  .n_outputs = 2,
  .infer = dropout_infer,
  .forward_cpu = dropout_cpu,
  .backward = dropout_backward,
  .cost = dropout_cost,
};

static const TlOpDef dropout_grad_def = {
  TL_TABLE_INIT (TlOpDef),
  .name = "dropout_grad",
  .flags = TL_OP_MEMORY_BOUND | TL_OP_OVERWRITES,
  .n_inputs = 2,
  .n_outputs = 1,
  .infer = dropout_grad_infer,
  .forward_cpu = dropout_grad_cpu,
  .backward = dropout_grad_backward,
  .cost = dropout_grad_cost,
};

static const TlOpDef *const dropout_defs[] = { &dropout_def, &dropout_grad_def };

TL_OPS_DEFINE_DEFS_GETTER (_tl_priv_nn_dropout_defs, dropout_defs)

/**
 * tl_dropout:
 * @g: the graph
 * @x: (nullable): f32 input
 * @p: drop probability in [0, 1]
 *
 * Records a "dropout" node: in a training run each element is zeroed with
 * probability @p and the others scaled by 1/(1-p); otherwise identity. The
 * node's second output is the u8 keep-mask its gradient uses.
 *
 * Returns: (transfer none) (nullable): the result, or %NULL on error.
 */
TlValue *
tl_dropout (TlGraph *g, TlValue *x, double p)
{
  TlAttrs *attrs = tl_attrs_new ();
  tl_attrs_set_float (attrs, "p", p);
  TlValue *r = tl_graph_op (g, "dropout", 1, (TlValue *[]) { x }, attrs);
  tl_attrs_free (attrs);
  return r;
}
