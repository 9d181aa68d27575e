/* good.c — a tiny well-formed plugin for the registry tests: one op,
 * "good.scale" (y = factor * x, f32), with infer, forward, backward, cost. */
#include <tl/tl.h>

static gboolean
scale_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out,
             GError **error)
{
  if (call->n_inputs != 1 || max_out < 1 || call->inputs[0].dtype != TL_DTYPE_F32) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "good.scale: expects one f32 input");
    return FALSE;
  }
  out[0] = call->inputs[0];
  *n_out = 1;
  return TRUE;
}

static gboolean
scale_forward (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out,
               GError **error G_GNUC_UNUSED)
{
  float f = (float) tl_attrs_get_float (ctx->attrs, "factor", 2.0);
  const float *x = tl_tensor_const_data (in[0]);
  float *y = tl_tensor_data (out[0]);
  gint64 n = tl_tensor_numel (in[0]);
  for (gint64 i = 0; i < n; i++)
    y[i] = f * x[i];
  return TRUE;
}

static gboolean
scale_backward (TlGraph *g, const TlNode *node, TlValue *const *gout, TlValue **gin,
                GError **error G_GNUC_UNUSED)
{
  if (gout[0])
    gin[0] = tl_scale (g, gout[0], tl_attrs_get_float (tl_node_attrs (node), "factor", 2.0), 0.0);
  return TRUE;
}

static void
scale_cost (const TlOpCall *call, const TlTensorDesc *out G_GNUC_UNUSED, TlOpCost *cost)
{
  double n = (double) tl_tensor_desc_numel (&call->inputs[0]);
  cost->flops = n;
  cost->bytes_read = 4 * n;
  cost->bytes_written = 4 * n;
}

static const TlOpDef scale_op = {
  TL_TABLE_INIT (TlOpDef),
  .name = "good.scale",
  .flags = TL_OP_ELEMENTWISE | TL_OP_MEMORY_BOUND,
  .n_inputs = 1,
  .n_outputs = 1,
  .infer = scale_infer,
  .forward_cpu = scale_forward,
  .backward = scale_backward,
  .cost = scale_cost,
};

static const TlComponent components[] = {
  { TL_COMPONENT_OP, 0, "scale", &scale_op },
  { 0, 0, NULL, NULL },
};

TL_PLUGIN_DEFINE (.id = "good", .version = "1.0.0", .license = "Apache-2.0",
                  .description = "registry test plugin: a scaling op", .components = components)
