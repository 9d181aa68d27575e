/* engine-test-ops.c — tiny f32 ops for the engine tests. */
#include "config.h"

#include <string.h>

#include "engine-test-ops.h"

static gboolean
check_f32 (const TlOpCall *call, GError **error)
{
  for (guint i = 0; i < call->n_inputs; i++) {
    if (call->inputs[i].dtype != TL_DTYPE_F32) {
      g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "input %u is not f32", i);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
infer_same (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out,
            GError **error)
{
  (void) max_out;
  (void) n_out;
  if (!check_f32 (call, error))
    return FALSE;
  for (guint i = 1; i < call->n_inputs; i++) {
    if (!tl_tensor_desc_equal (&call->inputs[0], &call->inputs[i])) {
      g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "inputs differ in shape");
      return FALSE;
    }
  }
  out[0] = call->inputs[0];
  return TRUE;
}

static gboolean
infer_split2 (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out,
              GError **error)
{
  if (!infer_same (call, out, max_out, n_out, error))
    return FALSE;
  out[1] = out[0];
  return TRUE;
}

static gboolean
infer_scalar (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out,
              GError **error)
{
  (void) max_out;
  (void) n_out;
  if (!check_f32 (call, error))
    return FALSE;
  tl_tensor_desc_init (&out[0], TL_DTYPE_F32, 0, NULL);
  return TRUE;
}

static gboolean
infer_expand (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out,
              GError **error)
{
  (void) max_out;
  (void) n_out;
  guint n = 0;
  const gint64 *shape = tl_attrs_get_ints (call->attrs, "shape", &n);
  if (!check_f32 (call, error))
    return FALSE;
  if (call->inputs[0].ndim != 0 || n > TL_MAX_DIMS) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "expand needs a 0-d input and a shape");
    return FALSE;
  }
  tl_tensor_desc_init (&out[0], TL_DTYPE_F32, n, shape);
  return TRUE;
}

static gboolean
k_add (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  (void) ctx;
  (void) error;
  const float *a = tl_tensor_const_data (in[0]), *b = tl_tensor_const_data (in[1]);
  float *y = tl_tensor_data (out[0]);
  for (gint64 i = 0, n = tl_tensor_numel (out[0]); i < n; i++)
    y[i] = a[i] + b[i];
  return TRUE;
}

static gboolean
k_mul (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  (void) ctx;
  (void) error;
  const float *a = tl_tensor_const_data (in[0]), *b = tl_tensor_const_data (in[1]);
  float *y = tl_tensor_data (out[0]);
  for (gint64 i = 0, n = tl_tensor_numel (out[0]); i < n; i++)
    y[i] = a[i] * b[i];
  return TRUE;
}

static gboolean
k_scale (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  (void) error;
  float f = (float) tl_attrs_get_float (ctx->attrs, "factor", 1.0);
  const float *x = tl_tensor_const_data (in[0]);
  float *y = tl_tensor_data (out[0]);
  for (gint64 i = 0, n = tl_tensor_numel (out[0]); i < n; i++)
    y[i] = x[i] * f;
  return TRUE;
}

static gboolean
k_sum (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  (void) ctx;
  (void) error;
  const float *x = tl_tensor_const_data (in[0]);
  float *y = tl_tensor_data (out[0]);
  for (gint64 i = 0, n = tl_tensor_numel (in[0]); i < n; i++)
    *y += x[i]; /* relies on the executor zeroing non-elementwise outputs */
  return TRUE;
}

static gboolean
k_expand (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  (void) ctx;
  (void) error;
  float v = *(const float *) tl_tensor_const_data (in[0]);
  float *y = tl_tensor_data (out[0]);
  for (gint64 i = 0, n = tl_tensor_numel (out[0]); i < n; i++)
    y[i] = v;
  return TRUE;
}

static gboolean
k_split2 (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  (void) ctx;
  (void) error;
  const float *x = tl_tensor_const_data (in[0]);
  float *a = tl_tensor_data (out[0]), *b = tl_tensor_data (out[1]);
  for (gint64 i = 0, n = tl_tensor_numel (in[0]); i < n; i++) {
    a[i] = x[i];
    b[i] = 2 * x[i];
  }
  return TRUE;
}

static gint count_runs;

static gboolean
k_count (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  (void) ctx;
  (void) error;
  const float *x = tl_tensor_const_data (in[0]);
  float *y = tl_tensor_data (out[0]);
  float c = (float) ++count_runs;
  for (gint64 i = 0, n = tl_tensor_numel (in[0]); i < n; i++)
    y[i] = x[i] + c;
  return TRUE;
}

static gboolean
k_seed (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  (void) in;
  (void) error;
  *(float *) tl_tensor_data (out[0]) = (float) (ctx->seed & 0xffffff);
  return TRUE;
}

static gboolean
k_copy (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  (void) ctx;
  return tl_tensor_copy_into (out[0], in[0], error);
}

static gboolean
b_add (TlGraph *g, const TlNode *node, TlValue *const *go, TlValue **gi, GError **error)
{
  (void) g;
  (void) node;
  (void) error;
  gi[0] = go[0];
  gi[1] = go[0];
  return TRUE;
}

static gboolean
b_mul (TlGraph *g, const TlNode *node, TlValue *const *go, TlValue **gi, GError **error)
{
  (void) error;
  TlValue *a = tl_node_input (node, 0), *b = tl_node_input (node, 1);
  gi[0] = tl_graph_op (g, "test.mul", 2, (TlValue *[]) { go[0], b }, NULL);
  gi[1] = tl_graph_op (g, "test.mul", 2, (TlValue *[]) { go[0], a }, NULL);
  return TRUE;
}

static gboolean
b_scale (TlGraph *g, const TlNode *node, TlValue *const *go, TlValue **gi, GError **error)
{
  (void) error;
  gi[0] = engine_test_scale (g, go[0], tl_attrs_get_float (tl_node_attrs (node), "factor", 1.0));
  return TRUE;
}

static gboolean
b_sum (TlGraph *g, const TlNode *node, TlValue *const *go, TlValue **gi, GError **error)
{
  (void) error;
  const TlTensorDesc *d = tl_value_desc (tl_node_input (node, 0));
  TlAttrs *a = tl_attrs_new ();
  tl_attrs_set_ints (a, "shape", d->ndim, d->shape);
  gi[0] = tl_graph_op (g, "test.expand", 1, &go[0], a);
  tl_attrs_free (a);
  return TRUE;
}

static gboolean
b_expand (TlGraph *g, const TlNode *node, TlValue *const *go, TlValue **gi, GError **error)
{
  (void) node;
  (void) error;
  gi[0] = tl_graph_op (g, "test.sum", 1, &go[0], NULL);
  return TRUE;
}

static gboolean
b_split2 (TlGraph *g, const TlNode *node, TlValue *const *go, TlValue **gi, GError **error)
{
  (void) node;
  (void) error;
  TlValue *b = go[1] ? engine_test_scale (g, go[1], 2.0) : NULL;
  if (go[0] && b)
    gi[0] = tl_graph_op (g, "test.add", 2, (TlValue *[]) { go[0], b }, NULL);
  else
    gi[0] = go[0] ? go[0] : b;
  return TRUE;
}

static void
cost_add (const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost)
{
  (void) call;
  cost->flops = (double) tl_tensor_desc_numel (out);
  cost->bytes_read = 1;
  cost->bytes_written = 2;
}

#define ELEM (TL_OP_ELEMENTWISE | TL_OP_MEMORY_BOUND)

static const TlOpDef op_add = { TL_TABLE_INIT (TlOpDef), .name = "test.add", .flags = ELEM,
                                .n_inputs = 2, .n_outputs = 1, .infer = infer_same,
                                .forward_cpu = k_add, .backward = b_add, .cost = cost_add };
static const TlOpDef op_add_fallback = { TL_TABLE_INIT (TlOpDef), .name = "add", .flags = ELEM,
                                         .n_inputs = 2, .n_outputs = 1, .infer = infer_same,
                                         .forward_cpu = k_add, .backward = b_add };
static const TlOpDef op_mul = { TL_TABLE_INIT (TlOpDef), .name = "test.mul", .flags = ELEM,
                                .n_inputs = 2, .n_outputs = 1, .infer = infer_same,
                                .forward_cpu = k_mul, .backward = b_mul };
static const TlOpDef op_scale = { TL_TABLE_INIT (TlOpDef), .name = "test.scale", .flags = ELEM,
                                  .n_inputs = 1, .n_outputs = 1, .infer = infer_same,
                                  .forward_cpu = k_scale, .backward = b_scale };
static const TlOpDef op_sum = { TL_TABLE_INIT (TlOpDef), .name = "test.sum",
                                .flags = TL_OP_REDUCTION, .n_inputs = 1, .n_outputs = 1,
                                .infer = infer_scalar, .forward_cpu = k_sum, .backward = b_sum };
static const TlOpDef op_expand = { TL_TABLE_INIT (TlOpDef), .name = "test.expand",
                                   .n_inputs = 1, .n_outputs = 1, .infer = infer_expand,
                                   .forward_cpu = k_expand, .backward = b_expand };
static const TlOpDef op_split2 = { TL_TABLE_INIT (TlOpDef), .name = "test.split2",
                                   .n_inputs = 1, .n_outputs = 2, .infer = infer_split2,
                                   .forward_cpu = k_split2, .backward = b_split2 };
static const TlOpDef op_nodiff = { TL_TABLE_INIT (TlOpDef), .name = "test.nodiff",
                                   .n_inputs = 1, .n_outputs = 1, .infer = infer_same,
                                   .forward_cpu = k_copy };
static const TlOpDef op_count = { TL_TABLE_INIT (TlOpDef), .name = "test.count",
                                  .flags = TL_OP_NONDIFF, .n_inputs = 1, .n_outputs = 1,
                                  .infer = infer_same, .forward_cpu = k_count };
static const TlOpDef op_seed = { TL_TABLE_INIT (TlOpDef), .name = "test.seed",
                                 .flags = TL_OP_RANDOM | TL_OP_NONDIFF, .n_inputs = 1,
                                 .n_outputs = 1, .infer = infer_scalar, .forward_cpu = k_seed };

void
engine_test_ops_register (void)
{
  static gsize once;
  if (!g_once_init_enter (&once))
    return;
  const TlOpDef *defs[] = { &op_add, &op_mul, &op_scale, &op_sum, &op_expand,
                            &op_split2, &op_nodiff, &op_count, &op_seed };
  g_assert_true (tl_init (NULL));
  for (guint i = 0; i < G_N_ELEMENTS (defs); i++) {
    GError *error = NULL;
    g_assert_true (tl_op_register (defs[i], &error));
    g_assert_no_error (error);
  }
  if (!tl_op_lookup ("add"))
    g_assert_true (tl_op_register (&op_add_fallback, NULL));
  g_once_init_leave (&once, 1);
}

TlTensor *
engine_test_tensor (guint ndim, const gint64 *shape, const float *values)
{
  GError *error = NULL;
  TlTensor *t = tl_tensor_new_from_data (TL_DTYPE_F32, ndim, shape, values, &error);
  g_assert_no_error (error);
  return t;
}

TlValue *
engine_test_scale (TlGraph *g, TlValue *x, double f)
{
  TlAttrs *a = tl_attrs_new ();
  tl_attrs_set_float (a, "factor", f);
  TlValue *y = tl_graph_op (g, "test.scale", 1, &x, a);
  tl_attrs_free (a);
  return y;
}

TlValue *
engine_test_add (TlGraph *g, TlValue *a, TlValue *b)
{
  return tl_graph_op (g, "test.add", 2, (TlValue *[]) { a, b }, NULL);
}
