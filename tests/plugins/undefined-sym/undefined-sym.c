/* undefined-sym.c — broken plugin: its op's forward calls a function that
 * no library defines. Linked with undefined symbols allowed, so only the
 * loader can notice: with lazy binding dlopen would succeed and the first
 * call kill the process ("symbol lookup error"); the registry binds
 * immediately and skips the plugin, naming the symbol. */
#include <tl/tl.h>

/* defined nowhere, on purpose */
float tl_test_undefined_function (float x);

static gboolean
call_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out,
            GError **error)
{
  if (call->n_inputs != 1 || max_out < 1 || call->inputs[0].dtype != TL_DTYPE_F32) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "undefined-sym.call: expects one f32 input");
    return FALSE;
  }
  out[0] = call->inputs[0];
  *n_out = 1;
  return TRUE;
}

static gboolean
call_forward (const TlKernelCtx *ctx G_GNUC_UNUSED, TlTensor *const *in, TlTensor *const *out,
              GError **error G_GNUC_UNUSED)
{
  const float *x = tl_tensor_const_data (in[0]);
  float *y = tl_tensor_data (out[0]);
  gint64 n = tl_tensor_numel (in[0]);
  for (gint64 i = 0; i < n; i++)
    y[i] = tl_test_undefined_function (x[i]);
  return TRUE;
}

static const TlOpDef call_op = {
  TL_TABLE_INIT (TlOpDef),
  .name = "undefined-sym.call",
  .flags = TL_OP_ELEMENTWISE,
  .n_inputs = 1,
  .n_outputs = 1,
  .infer = call_infer,
  .forward_cpu = call_forward,
};

static const TlComponent components[] = {
  { TL_COMPONENT_OP, 0, "call", &call_op },
  { 0, 0, NULL, NULL },
};

TL_PLUGIN_DEFINE (.id = "undefined-sym", .version = "1.0.0", .license = "Apache-2.0",
                  .components = components)
