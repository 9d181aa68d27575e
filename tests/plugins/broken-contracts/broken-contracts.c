/* broken-contracts.c — broken on purpose for the conformance suite: each
 * component breaks one documented contract and is otherwise sound, so only
 * the suite's check of that contract fails for it
 * (tests/conformance/expect-failures.sh):
 *
 *   grad-doubler  planner: apply() scales every "grad/..." output by 2
 *                 (the loss is unchanged: only the gradients show it);
 *   graph-writer  planner: plan() adds an output to the graph it was only
 *                 to inspect;
 *   null-unsafe   planner: destroy(NULL) dereferences NULL;
 *   exits         planner: destroy(NULL) calls exit(0) (a check ended
 *                 without a verdict: not a pass, whatever the status);
 *   bad-range     planner: its parameter "stages" declares min 10, max 1,
 *                 so neither declared bound can be set explicitly;
 *   train-only    model: builds the train graph only (eval, predict fail);
 *   unseeded      model: overwrites its weight with values that depend on
 *                 how many instances the process created, not on the seed;
 *   wrong-code    op: y = 2x (f32); infer refuses other dtypes with
 *                 TL_ERROR_IO instead of TL_ERROR_SHAPE,
 *                 TL_ERROR_INVALID_ARGUMENT or TL_ERROR_UNSUPPORTED;
 *   unsupported-rank  op: y = 2x; infer refuses a rank-0 input with
 *                 TL_ERROR_UNSUPPORTED, which tl-op.h allows for a dtype
 *                 only (a shape is TL_ERROR_SHAPE / INVALID_ARGUMENT);
 *   silent-refusal  op: y = 2x (f32); infer returns FALSE for other
 *                 dtypes without setting its error (tl_op_infer() would
 *                 fill in a generic TL_ERROR_SHAPE for it);
 *   unsupported-dtype op: y = 2x (f32); infer refuses other dtypes with
 *                 TL_ERROR_UNSUPPORTED as the built-in ops do. It breaks
 *                 nothing: the control, every check of it passes.
 *
 * Partly after the review mutant (planner doubling gradients, model
 * building the train graph only). */
#include <stdlib.h>
#include <tl/tl.h>

/* --- planners --------------------------------------------------------------- */

struct _TlPlanner {
  int magic;
};

static TlPlanner *
pl_create (const TlParams *params G_GNUC_UNUSED, GError **error G_GNUC_UNUSED)
{
  TlPlanner *p = g_new0 (TlPlanner, 1);
  p->magic = 42;
  return p;
}

static void
pl_destroy (TlPlanner *p)
{
  g_free (p);
}

/* The contract break of "null-unsafe": no NULL check. */
static void
pl_destroy_unsafe (TlPlanner *p)
{
  p->magic = 0;
  g_free (p);
}

/* The contract break of "exits": the process ends, with status 0. */
static void
pl_destroy_exiting (TlPlanner *p)
{
  if (!p)
    exit (0);
  g_free (p);
}

static TlPlan *
pl_plan (TlPlanner *p G_GNUC_UNUSED, const TlGraph *g G_GNUC_UNUSED, const TlCluster *c G_GNUC_UNUSED,
         guint64 seed G_GNUC_UNUSED, GError **error G_GNUC_UNUSED)
{
  return tl_plan_new ("broken-contracts");
}

static gboolean
pl_apply (TlPlanner *p G_GNUC_UNUSED, const TlPlan *plan G_GNUC_UNUSED, TlGraph *g G_GNUC_UNUSED,
          GError **error G_GNUC_UNUSED)
{
  return TRUE;
}

/* The contract break of "grad-doubler". */
static gboolean
pl_apply_doubling (TlPlanner *p G_GNUC_UNUSED, const TlPlan *plan G_GNUC_UNUSED, TlGraph *g, GError **error)
{
  guint n = tl_graph_n_outputs (g);
  for (guint i = 0; i < n; i++) {
    g_autofree char *name = g_strdup (tl_graph_output_name (g, i));
    if (g_str_has_prefix (name, "grad/"))
      tl_graph_set_output (g, name, tl_scale (g, tl_graph_get_output (g, name), 2.0, 0.0));
  }
  return tl_graph_take_error (g, error);
}

/* The contract break of "graph-writer": plan() gets a const graph. */
static TlPlan *
pl_plan_writing (TlPlanner *p G_GNUC_UNUSED, const TlGraph *g, const TlCluster *c G_GNUC_UNUSED,
                 guint64 seed G_GNUC_UNUSED, GError **error G_GNUC_UNUSED)
{
  TlGraph *w = (TlGraph *) g;
  tl_graph_set_output (w, "broken-contracts/seen", tl_graph_get_output (g, "loss"));
  return tl_plan_new ("broken-contracts");
}

static const TlPlannerDef grad_doubler = {
  TL_TABLE_INIT (TlPlannerDef), .create = pl_create, .destroy = pl_destroy, .plan = pl_plan,
  .apply = pl_apply_doubling,
};

static const TlPlannerDef graph_writer = {
  TL_TABLE_INIT (TlPlannerDef), .create = pl_create, .destroy = pl_destroy, .plan = pl_plan_writing,
  .apply = pl_apply,
};

static const TlPlannerDef null_unsafe = {
  TL_TABLE_INIT (TlPlannerDef), .create = pl_create, .destroy = pl_destroy_unsafe, .plan = pl_plan,
  .apply = pl_apply,
};

static const TlPlannerDef exits = {
  TL_TABLE_INIT (TlPlannerDef), .create = pl_create, .destroy = pl_destroy_exiting, .plan = pl_plan,
  .apply = pl_apply,
};

static const TlPlannerDef bad_range = {
  TL_TABLE_INIT (TlPlannerDef), .create = pl_create, .destroy = pl_destroy, .plan = pl_plan,
  .apply = pl_apply,
};

/* --- models: a linear classifier on tl.synthetic ------------------------------- */

struct _TlModel {
  guint salt;         /* instances created before this one, plus one */
  gboolean overwritten;
};

static gint instances_created;

static TlModel *
m_create (const TlParams *params G_GNUC_UNUSED, GError **error G_GNUC_UNUSED)
{
  TlModel *m = g_new0 (TlModel, 1);
  m->salt = (guint) g_atomic_int_add (&instances_created, 1) + 1;
  return m;
}

static void
m_destroy (TlModel *m)
{
  g_free (m);
}

static gboolean
m_build_graph (TlBuild *b, GError **error)
{
  TlGraph *g = tl_build_graph (b);
  TlValue *x = tl_build_input (b, "features");
  TlValue *w = tl_build_param (b, "w", TL_DTYPE_F32, 2, (gint64[]){ 3, 4 }, TL_INIT_KAIMING_UNIFORM, 0, TRUE);
  TlValue *bias = tl_build_param (b, "b", TL_DTYPE_F32, 1, (gint64[]){ 3 }, TL_INIT_ZEROS, 0, TRUE);
  TlValue *logits = tl_linear (g, x, w, bias);
  tl_build_set_prediction (b, logits, TL_TASK_MULTICLASS, "label");
  if (tl_build_has_field (b, "label"))
    tl_build_set_loss (b, tl_cross_entropy (g, logits, tl_build_input (b, "label")));
  return tl_graph_take_error (g, error);
}

/* The contract break of "train-only". */
static gboolean
m_build_train_only (TlModel *m G_GNUC_UNUSED, TlBuild *b, GError **error)
{
  if (tl_build_mode (b) != TL_MODE_TRAIN) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "broken-contracts.train-only: only the train graph builds");
    return FALSE;
  }
  return m_build_graph (b, error);
}

/* The contract break of "unseeded": at its first build, the instance
 * replaces the host's seeded initial weight with values of its own. */
static gboolean
m_build_unseeded (TlModel *m, TlBuild *b, GError **error)
{
  if (!m_build_graph (b, error))
    return FALSE;
  TlTensor *w = tl_param_store_lookup (tl_build_param_store (b), "w");
  if (w && !m->overwritten) {
    for (gint64 e = 0; e < tl_tensor_numel (w); e++)
      tl_tensor_set_flat (w, e, 0.05 * (double) ((e + m->salt) % 7) - 0.15);
    m->overwritten = TRUE;
  }
  return TRUE;
}

static const char *const sample_params[] = { "n_rows=64", "n_features=4", "n_classes=3", NULL };
static const TlModelSampleData sample = {
  TL_TABLE_INIT (TlModelSampleData), .dataset = "tl.synthetic", .params = sample_params,
};

static const void *
m_extension (const char *id)
{
  return g_strcmp0 (id, TL_MODEL_EXT_SAMPLE_DATA) == 0 ? &sample : NULL;
}

static const TlModelDef train_only = {
  TL_TABLE_INIT (TlModelDef), .create = m_create, .destroy = m_destroy, .build = m_build_train_only,
  .get_extension = m_extension,
};

static const TlModelDef unseeded = {
  TL_TABLE_INIT (TlModelDef), .create = m_create, .destroy = m_destroy, .build = m_build_unseeded,
  .get_extension = m_extension,
};

/* --- ops wrong-code, unsupported-rank, unsupported-dtype: y = 2x ---------------- */

/* y = 2x for f32 inputs of any shape; refuses another dtype with @dtype_code,
 * and a rank-0 input with @rank0_code unless it is 0. */
static gboolean
twice_infer_with (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out,
                  TlErrorCode dtype_code, TlErrorCode rank0_code, GError **error)
{
  if (call->n_inputs != 1 || max_out < 1) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "broken-contracts: expects one input");
    return FALSE;
  }
  if (call->inputs[0].dtype != TL_DTYPE_F32) {
    g_set_error (error, TL_ERROR, dtype_code, "broken-contracts: f32 only");
    return FALSE;
  }
  if (call->inputs[0].ndim == 0 && rank0_code != 0) {
    g_set_error (error, TL_ERROR, rank0_code, "broken-contracts: no scalars");
    return FALSE;
  }
  out[0] = call->inputs[0];
  *n_out = 1;
  return TRUE;
}

/* The contract break of "wrong-code": another dtype is no I/O error. */
static gboolean
twice_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  return twice_infer_with (call, out, max_out, n_out, TL_ERROR_IO, 0, error);
}

/* The contract break of "unsupported-rank": TL_ERROR_UNSUPPORTED is for a
 * dtype the op has no kernel for, not for a shape. */
static gboolean
twice_infer_rank (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out,
                  GError **error)
{
  return twice_infer_with (call, out, max_out, n_out, TL_ERROR_UNSUPPORTED, TL_ERROR_UNSUPPORTED, error);
}

/* The contract break of "silent-refusal": a refusal without an error. */
static gboolean
twice_infer_silent (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out,
                    GError **error)
{
  if (call->n_inputs == 1 && call->inputs[0].dtype != TL_DTYPE_F32)
    return FALSE;
  return twice_infer_with (call, out, max_out, n_out, TL_ERROR_UNSUPPORTED, 0, error);
}

/* "unsupported-dtype", sound: the built-in ops' pattern (core/ops/matmul.c). */
static gboolean
twice_infer_dtype (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out,
                   GError **error)
{
  return twice_infer_with (call, out, max_out, n_out, TL_ERROR_UNSUPPORTED, 0, error);
}

static gboolean
twice_forward (const TlKernelCtx *ctx G_GNUC_UNUSED, TlTensor *const *in, TlTensor *const *out,
               GError **error G_GNUC_UNUSED)
{
  const float *x = tl_tensor_const_data (in[0]);
  float *y = tl_tensor_data (out[0]);
  gint64 n = tl_tensor_numel (in[0]);
  for (gint64 i = 0; i < n; i++)
    y[i] = 2.0f * x[i];
  return TRUE;
}

static gboolean
twice_backward (TlGraph *g, const TlNode *node G_GNUC_UNUSED, TlValue *const *gout, TlValue **gin,
                GError **error G_GNUC_UNUSED)
{
  if (gout[0])
    gin[0] = tl_scale (g, gout[0], 2.0, 0.0);
  return TRUE;
}

static gboolean
twice_sample (uint32_t index, TlTensorDesc *inputs, uint32_t max_inputs, uint32_t *n_inputs,
              TlAttrs *attrs G_GNUC_UNUSED)
{
  if (index >= 1 || max_inputs < 1)
    return FALSE;
  tl_tensor_desc_init (&inputs[0], TL_DTYPE_F32, 2, (gint64[]){ 3, 4 });
  *n_inputs = 1;
  return TRUE;
}

static const TlOpSamples twice_samples = {
  TL_TABLE_INIT (TlOpSamples), .n_samples = 1, .get = twice_sample, .low = -1, .high = 1,
};

static const void *
twice_extension (const char *id)
{
  return g_strcmp0 (id, TL_OP_EXT_SAMPLES) == 0 ? &twice_samples : NULL;
}

static const TlOpDef wrong_code = {
  TL_TABLE_INIT (TlOpDef),
  .name = "broken-contracts.wrong-code",
  .flags = TL_OP_ELEMENTWISE | TL_OP_MEMORY_BOUND,
  .n_inputs = 1,
  .n_outputs = 1,
  .infer = twice_infer,
  .forward_cpu = twice_forward,
  .backward = twice_backward,
  .get_extension = twice_extension,
};

static const TlOpDef unsupported_rank = {
  TL_TABLE_INIT (TlOpDef),
  .name = "broken-contracts.unsupported-rank",
  .flags = TL_OP_ELEMENTWISE | TL_OP_MEMORY_BOUND,
  .n_inputs = 1,
  .n_outputs = 1,
  .infer = twice_infer_rank,
  .forward_cpu = twice_forward,
  .backward = twice_backward,
  .get_extension = twice_extension,
};

static const TlOpDef silent_refusal = {
  TL_TABLE_INIT (TlOpDef),
  .name = "broken-contracts.silent-refusal",
  .flags = TL_OP_ELEMENTWISE | TL_OP_MEMORY_BOUND,
  .n_inputs = 1,
  .n_outputs = 1,
  .infer = twice_infer_silent,
  .forward_cpu = twice_forward,
  .backward = twice_backward,
  .get_extension = twice_extension,
};

static const TlOpDef unsupported_dtype = {
  TL_TABLE_INIT (TlOpDef),
  .name = "broken-contracts.unsupported-dtype",
  .flags = TL_OP_ELEMENTWISE | TL_OP_MEMORY_BOUND,
  .n_inputs = 1,
  .n_outputs = 1,
  .infer = twice_infer_dtype,
  .forward_cpu = twice_forward,
  .backward = twice_backward,
  .get_extension = twice_extension,
};

static const TlComponent components[] = {
  { TL_COMPONENT_PLANNER, 0, "grad-doubler", &grad_doubler },
  { TL_COMPONENT_PLANNER, 0, "graph-writer", &graph_writer },
  { TL_COMPONENT_PLANNER, 0, "null-unsafe", &null_unsafe },
  { TL_COMPONENT_PLANNER, 0, "exits", &exits },
  { TL_COMPONENT_PLANNER, 0, "bad-range", &bad_range },
  { TL_COMPONENT_MODEL, 0, "train-only", &train_only },
  { TL_COMPONENT_MODEL, 0, "unseeded", &unseeded },
  { TL_COMPONENT_OP, 0, "wrong-code", &wrong_code },
  { TL_COMPONENT_OP, 0, "unsupported-rank", &unsupported_rank },
  { TL_COMPONENT_OP, 0, "silent-refusal", &silent_refusal },
  { TL_COMPONENT_OP, 0, "unsupported-dtype", &unsupported_dtype },
  { 0, 0, NULL, NULL },
};

TL_PLUGIN_DEFINE (.id = "broken-contracts", .version = "1.0.0", .license = "Apache-2.0",
                  .description = "conformance test plugin: components that each break one documented contract",
                  .components = components)
