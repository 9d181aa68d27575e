/* hello.c — a complete third-party tl plugin in one file:
 *
 *   hello.axpy       op: out = a * x + y (attribute "a", default 1), with shape
 *                    inference, a CPU kernel, a gradient rule, cost hints and
 *                    sample inputs for `tlhost conformance`;
 *   hello.linreg     model: linear regression y ~ w.x + b, using hello.axpy;
 *   hello.synthetic  dataset: generated regression data (seeded), or rows read
 *                    from a text file ("x1 x2 ... y" per line);
 *   hello.stages     planner: splits the graph's nodes into pipeline stages
 *                    of equal node count, and a "simulate" task extension
 *                    estimating the step time on the job's cluster.
 *
 * Build: see Makefile (only `pkg-config --cflags --libs tl-1`). Only
 * tl_plugin_query is exported: everything else is static and the file is
 * compiled with -fvisibility=hidden.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <tl/tl.h>

/* ======================================================================
 * op hello.axpy
 * ====================================================================== */

static gboolean
axpy_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  const TlTensorDesc *x = &call->inputs[0], *y = &call->inputs[1];
  if (x->dtype != TL_DTYPE_F32 || !tl_tensor_desc_equal (x, y)) {
    g_autofree char *a = tl_tensor_desc_to_string (x);
    g_autofree char *b = tl_tensor_desc_to_string (y);
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "hello.axpy: x and y must be equal f32 shapes, got %s and %s",
                 a, b);
    return FALSE;
  }
  if (max_out < 1)
    return FALSE;
  out[0] = *x;
  *n_out = 1;
  return TRUE;
}

static gboolean
axpy_forward (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  float a = (float) tl_attrs_get_float (ctx->attrs, "a", 1.0);
  const float *x = tl_tensor_const_data (in[0]);
  const float *y = tl_tensor_const_data (in[1]);
  float *o = tl_tensor_data (out[0]);
  gint64 n = tl_tensor_numel (out[0]);
  for (gint64 i = 0; i < n; i++)
    o[i] = a * x[i] + y[i];
  return TRUE;
}

/* d out / d x = a, d out / d y = 1: expressed as graph ops. */
static gboolean
axpy_backward (TlGraph *g, const TlNode *node, TlValue *const *grad_out, TlValue **grad_in, GError **error)
{
  if (!grad_out[0])
    return TRUE;
  double a = tl_attrs_get_float (tl_node_attrs (node), "a", 1.0);
  grad_in[0] = tl_scale (g, grad_out[0], a, 0.0);
  grad_in[1] = grad_out[0];
  return tl_graph_take_error (g, error);
}

static void
axpy_cost (const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost)
{
  double n = (double) tl_tensor_desc_numel (out);
  cost->flops = 2 * n;
  cost->bytes_read = 2 * 4 * n;
  cost->bytes_written = 4 * n;
}

/* Sample inputs for the conformance suite. */
static gboolean
axpy_sample (uint32_t index, TlTensorDesc *inputs, uint32_t max_inputs, uint32_t *n_inputs, TlAttrs *attrs)
{
  static const gint64 shapes[][2] = { { 4, 3 }, { 17, 1 } };
  static const double as[] = { 2.5, -0.5 };
  if (index >= G_N_ELEMENTS (as) || max_inputs < 2)
    return FALSE;
  tl_tensor_desc_init (&inputs[0], TL_DTYPE_F32, 2, shapes[index]);
  inputs[1] = inputs[0];
  *n_inputs = 2;
  tl_attrs_set_float (attrs, "a", as[index]);
  return TRUE;
}

static const TlOpSamples axpy_samples = {
  TL_TABLE_INIT (TlOpSamples), .n_samples = 2, .get = axpy_sample, .low = -2, .high = 2,
};

static const void *
axpy_extension (const char *id)
{
  return g_strcmp0 (id, TL_OP_EXT_SAMPLES) == 0 ? &axpy_samples : NULL;
}

static const TlOpDef axpy_def = {
  TL_TABLE_INIT (TlOpDef),
  .name = "hello.axpy",
  .flags = TL_OP_ELEMENTWISE | TL_OP_MEMORY_BOUND,
  .n_inputs = 2,
  .n_outputs = 1,
  .infer = axpy_infer,
  .forward_cpu = axpy_forward,
  .backward = axpy_backward,
  .cost = axpy_cost,
  .get_extension = axpy_extension,
};

/* ======================================================================
 * dataset hello.synthetic
 * ====================================================================== */

struct _TlDataset {
  gint64 n_rows;
  gint64 n_features;
  float *data; /* n_rows x (n_features + 1): features then target */
  TlField fields[2];
};

/* Ground truth of the generated problem. */
static double
true_weight (gint64 j)
{
  return (j % 2 ? -0.5 : 0.5) * (double) (j + 1);
}

static gboolean
synthetic_generate (TlDataset *ds, guint64 seed, double noise)
{
  gint64 stride = ds->n_features + 1;
  ds->data = g_try_new (float, ds->n_rows * stride);
  if (!ds->data)
    return FALSE;
  for (gint64 r = 0; r < ds->n_rows; r++) {
    TlRng rng;
    tl_rng_init (&rng, seed, (guint64) r); /* one stream per row: random access */
    double y = 0.3;
    for (gint64 j = 0; j < ds->n_features; j++) {
      double x = 2 * tl_rng_uniform (&rng) - 1;
      ds->data[r * stride + j] = (float) x;
      y += true_weight (j) * x;
    }
    ds->data[r * stride + ds->n_features] = (float) (y + noise * tl_rng_normal (&rng));
  }
  return TRUE;
}

/* Rows "x1 ... xN y" from a text file; '#' starts a comment. Errors name
 * FILE:LINE. */
static gboolean
synthetic_read_file (TlDataset *ds, const char *path, GError **error)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, error))
    return FALSE;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  gint64 stride = ds->n_features + 1;
  GArray *values = g_array_new (FALSE, FALSE, sizeof (float));
  gint64 rows = 0;
  for (guint i = 0; lines[i]; i++) {
    char *line = g_strstrip (lines[i]);
    if (!*line || *line == '#')
      continue;
    g_auto (GStrv) tok = g_strsplit_set (line, " \t,", -1);
    gint64 n = 0;
    for (guint k = 0; tok[k]; k++) {
      if (!*tok[k])
        continue;
      char *end = NULL;
      double v = g_ascii_strtod (tok[k], &end);
      if (*end || !isfinite (v)) {
        g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "%s:%u: '%s' is not a number", path, i + 1, tok[k]);
        g_array_free (values, TRUE);
        return FALSE;
      }
      float f = (float) v;
      g_array_append_val (values, f);
      n++;
    }
    if (n != stride) {
      g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "%s:%u: expected %" G_GINT64_FORMAT " numbers, found %" G_GINT64_FORMAT,
                   path, i + 1, stride, n);
      g_array_free (values, TRUE);
      return FALSE;
    }
    rows++;
  }
  ds->n_rows = rows;
  ds->data = (float *) g_array_free (values, FALSE);
  return TRUE;
}

static void
synthetic_close (TlDataset *ds)
{
  if (!ds)
    return;
  g_free (ds->data);
  g_free (ds);
}

static TlDataset *
synthetic_open (const TlParams *p, GError **error)
{
  TlDataset *ds = g_new0 (TlDataset, 1);
  ds->n_features = tl_params_get_int (p, "n_features", 3);
  ds->n_rows = tl_params_get_int (p, "n_rows", 256);
  const char *path = tl_params_get_string (p, "path", "");
  gboolean ok = *path ? synthetic_read_file (ds, path, error)
                      : synthetic_generate (ds, (guint64) tl_params_get_int (p, "seed", 7),
                                            tl_params_get_float (p, "noise", 0.1));
  if (!ok) {
    if (error && !*error)
      g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY, "hello.synthetic: out of memory");
    synthetic_close (ds);
    return NULL;
  }
  ds->fields[0] = (TlField){ .name = "x", .dtype = TL_DTYPE_F32, .ndim = 1, .shape = { ds->n_features },
                             .cardinality = -1 };
  ds->fields[1] = (TlField){ .name = "y", .dtype = TL_DTYPE_F32, .ndim = 1, .shape = { 1 }, .cardinality = -1 };
  return ds;
}

static uint32_t
synthetic_n_fields (TlDataset *ds)
{
  return 2;
}

static const TlField *
synthetic_field (TlDataset *ds, uint32_t i)
{
  return i < 2 ? &ds->fields[i] : NULL;
}

static int64_t
synthetic_size (TlDataset *ds)
{
  return ds->n_rows;
}

static gboolean
synthetic_read (TlDataset *ds, int64_t n_rows, const int64_t *rows, TlTensor *const *fields, GError **error)
{
  float *x = tl_tensor_data (fields[0]);
  float *y = tl_tensor_data (fields[1]);
  gint64 stride = ds->n_features + 1;
  for (int64_t i = 0; i < n_rows; i++) {
    if (rows[i] < 0 || rows[i] >= ds->n_rows) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "hello.synthetic: row %" G_GINT64_FORMAT " out of range",
                   (gint64) rows[i]);
      return FALSE;
    }
    const float *src = ds->data + rows[i] * stride;
    memcpy (x + i * ds->n_features, src, sizeof (float) * ds->n_features);
    y[i] = src[ds->n_features];
  }
  return TRUE;
}

/* For the conformance suite: a file with a bad line 3. */
static gboolean
synthetic_malformed (const char *dir, char ***params, char **file, GError **error)
{
  *file = g_build_filename (dir, "bad-rows.txt", NULL);
  if (!g_file_set_contents (*file, "# x1 x2 x3 y\n0.1 0.2 0.3 1.0\n0.5 oops 0.1 2.0\n", -1, error))
    return FALSE;
  *params = g_new0 (char *, 3);
  (*params)[0] = g_strdup_printf ("path=%s", *file);
  (*params)[1] = g_strdup ("n_features=3");
  return TRUE;
}

static const TlDatasetMalformedSample synthetic_malformed_ext = {
  TL_TABLE_INIT (TlDatasetMalformedSample), .make = synthetic_malformed,
};

static const void *
synthetic_extension (const char *id)
{
  return g_strcmp0 (id, TL_DATASET_EXT_MALFORMED_SAMPLE) == 0 ? &synthetic_malformed_ext : NULL;
}

static const TlDatasetDef synthetic_def = {
  TL_TABLE_INIT (TlDatasetDef),
  .open = synthetic_open,
  .close = synthetic_close,
  .n_fields = synthetic_n_fields,
  .field = synthetic_field,
  .size = synthetic_size,
  .read = synthetic_read,
  .get_extension = synthetic_extension,
};

/* ======================================================================
 * model hello.linreg
 * ====================================================================== */

struct _TlModel {
  char *input;
  char *label;
};

static TlModel *
linreg_create (const TlParams *p, GError **error)
{
  TlModel *m = g_new0 (TlModel, 1);
  m->input = g_strdup (tl_params_get_string (p, "input", "x"));
  m->label = g_strdup (tl_params_get_string (p, "label", "y"));
  return m;
}

static void
linreg_destroy (TlModel *m)
{
  if (!m)
    return;
  g_free (m->input);
  g_free (m->label);
  g_free (m);
}

static gboolean
linreg_build (TlModel *m, TlBuild *b, GError **error)
{
  TlGraph *g = tl_build_graph (b);
  const TlTensorDesc *xd = tl_build_field_desc (b, m->input);
  if (!xd || xd->ndim != 1) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "hello.linreg: input field '%s' must be a vector", m->input);
    return FALSE;
  }
  gint64 n = tl_build_batch_size (b), d = xd->shape[0];
  TlValue *x = tl_build_input (b, m->input);                       /* [n, d] */
  TlValue *w = tl_build_param (b, "linear.weight", TL_DTYPE_F32, 2, (gint64[]){ 1, d }, TL_INIT_NORMAL, 0.01,
                               TRUE);
  TlValue *bias = tl_build_param (b, "linear.bias", TL_DTYPE_F32, 1, (gint64[]){ 1 }, TL_INIT_ZEROS, 0, TRUE);
  TlValue *xw = tl_matmul (g, x, w, FALSE, TRUE);                  /* [n, 1] */
  TlValue *bb = tl_broadcast_to (g, bias, 2, (gint64[]){ n, 1 });  /* [n, 1] */
  TlAttrs *attrs = tl_attrs_new ();
  tl_attrs_set_float (attrs, "a", 1.0);
  /* the plugin's own op: the host put every op of the plugin in the op
   * registry when it loaded the plugin */
  TlValue *pred = tl_graph_op (g, "hello.axpy", 2, (TlValue *[]){ xw, bb }, attrs); /* xw + b */
  tl_attrs_free (attrs);
  tl_build_set_prediction (b, pred, TL_TASK_REGRESSION, m->label);
  if (tl_build_mode (b) != TL_MODE_PREDICT)
    tl_build_set_loss (b, tl_mse (g, pred, tl_build_input (b, m->label)));
  return tl_graph_take_error (g, error);
}

/* Conformance: train on 64 generated rows. */
static const char *const linreg_sample_params[] = { "n_rows=64", NULL };
static const TlModelSampleData linreg_sample = {
  TL_TABLE_INIT (TlModelSampleData), .dataset = "hello.synthetic", .params = linreg_sample_params,
};

/* The "export" task: the fitted line as text. */
static gboolean
linreg_export (const TlParams *params, TlParamStore *store, const char *out_dir, GError **error)
{
  TlTensor *w = tl_param_store_lookup (store, "linear.weight");
  TlTensor *b = tl_param_store_lookup (store, "linear.bias");
  if (!w || !b) {
    g_set_error (error, TL_ERROR, TL_ERROR_NOT_FOUND, "hello.linreg: no trained parameters");
    return FALSE;
  }
  GString *s = g_string_new ("# y = b + sum_j w_j x_j\n");
  g_string_append_printf (s, "b %.9g\n", tl_tensor_get_flat (b, 0));
  for (gint64 j = 0; j < tl_tensor_numel (w); j++)
    g_string_append_printf (s, "w%" G_GINT64_FORMAT " %.9g\n", j, tl_tensor_get_flat (w, j));
  g_autofree char *path = g_build_filename (out_dir, "hello-linreg.txt", NULL);
  gboolean ok = g_file_set_contents (path, s->str, (gssize) s->len, error); /* atomic */
  g_string_free (s, TRUE);
  return ok;
}

static const TlModelExportExt linreg_export_ext = {
  TL_TABLE_INIT (TlModelExportExt), .export_model = linreg_export,
};

static const void *
linreg_extension (const char *id)
{
  if (g_strcmp0 (id, TL_MODEL_EXT_SAMPLE_DATA) == 0)
    return &linreg_sample;
  if (g_strcmp0 (id, TL_MODEL_EXT_EXPORT) == 0)
    return &linreg_export_ext;
  return NULL;
}

static const TlModelDef linreg_def = {
  TL_TABLE_INIT (TlModelDef),
  .create = linreg_create,
  .destroy = linreg_destroy,
  .build = linreg_build,
  .get_extension = linreg_extension,
};

/* ======================================================================
 * planner hello.stages
 * ====================================================================== */

struct _TlPlanner {
  gint64 n_stages;
};

static TlPlanner *
stages_create (const TlParams *p, GError **error)
{
  TlPlanner *pl = g_new0 (TlPlanner, 1);
  pl->n_stages = tl_params_get_int (p, "n_stages", 2);
  return pl;
}

static void
stages_destroy (TlPlanner *pl)
{
  g_free (pl);
}

/* Stage of node index i of n: equal node counts, in topological order. */
static gint64
stage_of (guint i, guint n, gint64 n_stages)
{
  return n ? (gint64) i * n_stages / (gint64) n : 0;
}

static TlPlan *
stages_plan (TlPlanner *pl, const TlGraph *g, const TlCluster *cluster, guint64 seed, GError **error)
{
  TlPlan *plan = tl_plan_new ("hello.stages");
  guint n = tl_graph_n_nodes (g);
  tl_attrs_set_int (tl_plan_attrs (plan), "n_stages", pl->n_stages);
  for (gint64 s = 0; s < pl->n_stages; s++) {
    GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint64));
    for (guint i = 0; i < n; i++)
      if (stage_of (i, n, pl->n_stages) == s) {
        gint64 id = tl_node_id (tl_graph_node (g, i));
        g_array_append_val (ids, id);
      }
    TlAttrs *item = tl_plan_add_item (plan, "stage");
    tl_attrs_set_int (item, "stage", s);
    tl_attrs_set_int (item, "device", s % MAX (1, (gint64) tl_cluster_n_devices (cluster)));
    tl_attrs_set_ints (item, "nodes", ids->len, (const gint64 *) ids->data);
    g_array_free (ids, TRUE);
  }
  return plan;
}

static gboolean
stages_apply (TlPlanner *pl, const TlPlan *plan, TlGraph *g, GError **error)
{
  for (guint k = 0; k < tl_plan_n_items (plan); k++) {
    const TlAttrs *item = tl_plan_item (plan, k);
    guint n_ids = 0;
    const gint64 *ids = tl_attrs_get_ints (item, "nodes", &n_ids);
    for (guint j = 0; j < n_ids; j++) {
      TlNode *node = NULL;
      for (guint i = 0; !node && i < tl_graph_n_nodes (g); i++)
        if ((gint64) tl_node_id (tl_graph_node (g, i)) == ids[j])
          node = tl_graph_node (g, i);
      if (!node) {
        g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "hello.stages: the plan names node %" G_GINT64_FORMAT
                     " which the graph lacks", ids[j]);
        return FALSE;
      }
      tl_attrs_set_int (tl_node_annotations (node), TL_ANNOT_STAGE, tl_attrs_get_int (item, "stage", 0));
    }
  }
  return TRUE;
}

/* The "simulate" task: estimated seconds per training step when each stage
 * runs on its device, from the cost model (flops and bytes per node). */
static gboolean
stages_simulate (const TlTaskContext *ctx, GError **error)
{
  if (!ctx->graph) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "hello.stages: simulate needs model= and data=");
    return FALSE;
  }
  gint64 n_stages = tl_params_get_int (ctx->params, "n_stages", 2);
  guint n = tl_graph_n_nodes (ctx->graph), n_dev = MAX (1, tl_cluster_n_devices (ctx->cluster));
  double slowest = 0, total = 0;
  for (gint64 s = 0; s < n_stages; s++) {
    guint dev = (guint) (s % n_dev);
    double t = 0;
    for (guint i = 0; i < n; i++) {
      if (stage_of (i, n, n_stages) != s)
        continue;
      TlOpCost c;
      tl_node_cost (tl_graph_node (ctx->graph, i), &c);
      t += MAX (c.flops / tl_cluster_device_flops (ctx->cluster, dev),
                (c.bytes_read + c.bytes_written) / tl_cluster_device_bandwidth (ctx->cluster, dev));
    }
    slowest = MAX (slowest, t);
    total += t;
  }
  tl_metrics_set (ctx->metrics, "step_seconds", slowest);
  tl_metrics_set (ctx->metrics, "serial_seconds", total);
  tl_metrics_set (ctx->metrics, "stages", (double) n_stages);
  return TRUE;
}

static const TlTaskExt stages_simulate_ext = {
  TL_TABLE_INIT (TlTaskExt), .run = stages_simulate,
};

static const void *
stages_extension (const char *id)
{
  return g_strcmp0 (id, TL_TASK_EXT_SIMULATE) == 0 ? &stages_simulate_ext : NULL;
}

static const TlPlannerDef stages_def = {
  TL_TABLE_INIT (TlPlannerDef),
  .create = stages_create,
  .destroy = stages_destroy,
  .plan = stages_plan,
  .apply = stages_apply,
  .get_extension = stages_extension,
};

/* ======================================================================
 * the plugin
 * ====================================================================== */

static const TlComponent hello_components[] = {
  { TL_COMPONENT_OP, 0, "axpy", &axpy_def },
  { TL_COMPONENT_MODEL, 0, "linreg", &linreg_def },
  { TL_COMPONENT_DATASET, 0, "synthetic", &synthetic_def },
  { TL_COMPONENT_PLANNER, 0, "stages", &stages_def },
  { 0 },
};

TL_PLUGIN_DEFINE (.id = "hello", .version = "1.0.0", .license = "Apache-2.0",
                  .description = "Example plugin: an axpy op, linear regression, synthetic data and a pipeline planner",
                  .components = hello_components)
