/* broken-same-bytes.c — broken on purpose for the conformance suite: the op
 * "broken-same-bytes.negate" (y = -x, f32) declares TL_OP_SAME_BYTES (its
 * output would be its input's bytes) although it changes every value. It
 * loads and is otherwise sound (infer, deterministic kernel, gradient,
 * samples), so only the suite's TL_OP_SAME_BYTES check may fail
 * (tests/conformance/expect-failures.sh). */
#include <tl/tl.h>

static gboolean
negate_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out,
              GError **error)
{
  if (call->n_inputs != 1 || max_out < 1 || call->inputs[0].dtype != TL_DTYPE_F32) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "broken-same-bytes.negate: expects one f32 input");
    return FALSE;
  }
  out[0] = call->inputs[0];
  *n_out = 1;
  return TRUE;
}

static gboolean
negate_forward (const TlKernelCtx *ctx G_GNUC_UNUSED, TlTensor *const *in, TlTensor *const *out,
                GError **error G_GNUC_UNUSED)
{
  const float *x = tl_tensor_const_data (in[0]);
  float *y = tl_tensor_data (out[0]);
  gint64 n = tl_tensor_numel (in[0]);
  for (gint64 i = 0; i < n; i++)
    y[i] = -x[i];
  return TRUE;
}

static gboolean
negate_backward (TlGraph *g, const TlNode *node G_GNUC_UNUSED, TlValue *const *gout, TlValue **gin,
                 GError **error G_GNUC_UNUSED)
{
  if (gout[0])
    gin[0] = tl_scale (g, gout[0], -1.0, 0.0);
  return TRUE;
}

static gboolean
negate_sample (uint32_t index, TlTensorDesc *inputs, uint32_t max_inputs, uint32_t *n_inputs,
               TlAttrs *attrs G_GNUC_UNUSED)
{
  const gint64 shapes[2][2] = { { 3, 4 }, { 2, 5 } };
  if (index >= 2 || max_inputs < 1)
    return FALSE;
  tl_tensor_desc_init (&inputs[0], TL_DTYPE_F32, 2, shapes[index]);
  *n_inputs = 1;
  return TRUE;
}

static const TlOpSamples negate_samples = {
  TL_TABLE_INIT (TlOpSamples), .n_samples = 2, .get = negate_sample, .low = -1, .high = 1,
};

static const void *
negate_extension (const char *id)
{
  return g_strcmp0 (id, TL_OP_EXT_SAMPLES) == 0 ? &negate_samples : NULL;
}

static const TlOpDef negate_op = {
  TL_TABLE_INIT (TlOpDef),
  .name = "broken-same-bytes.negate",
  .flags = TL_OP_ELEMENTWISE | TL_OP_MEMORY_BOUND | TL_OP_SAME_BYTES, /* the lie */
  .n_inputs = 1,
  .n_outputs = 1,
  .infer = negate_infer,
  .forward_cpu = negate_forward,
  .backward = negate_backward,
  .get_extension = negate_extension,
};

static const TlComponent components[] = {
  { TL_COMPONENT_OP, 0, "negate", &negate_op },
  { 0, 0, NULL, NULL },
};

TL_PLUGIN_DEFINE (.id = "broken-same-bytes", .version = "1.0.0", .license = "Apache-2.0",
                  .description = "conformance test plugin: an op that falsely declares TL_OP_SAME_BYTES",
                  .components = components)
