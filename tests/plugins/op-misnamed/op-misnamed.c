/* op-misnamed.c — broken plugin: its op table is named "scale", not the
 * full name "op-misnamed.scale" its manifest implies. The registry must
 * refuse it and say what the table is named. */
#include <tl/tl.h>

static gboolean
scale_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out,
             GError **error G_GNUC_UNUSED)
{
  if (max_out < 1)
    return FALSE;
  out[0] = call->inputs[0];
  *n_out = 1;
  return TRUE;
}

static gboolean
scale_forward (const TlKernelCtx *ctx G_GNUC_UNUSED, TlTensor *const *in G_GNUC_UNUSED,
               TlTensor *const *out G_GNUC_UNUSED, GError **error G_GNUC_UNUSED)
{
  return TRUE;
}

static const TlOpDef scale_op = {
  TL_TABLE_INIT (TlOpDef),
  .name = "scale", /* must be "op-misnamed.scale" */
  .n_inputs = 1,
  .n_outputs = 1,
  .infer = scale_infer,
  .forward_cpu = scale_forward,
};

static const TlComponent components[] = {
  { TL_COMPONENT_OP, 0, "scale", &scale_op },
  { 0, 0, NULL, NULL },
};

TL_PLUGIN_DEFINE (.id = "op-misnamed", .version = "1.0.0", .license = "Apache-2.0",
                  .components = components)
