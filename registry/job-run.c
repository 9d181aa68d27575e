/* job-run.c — run a validated job: load plugins, instantiate components,
 * run the tasks in order, write outputs atomically into the output dir. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>

#include "tl-private.h"
#include "registry-private.h"
#include "job-private.h"

static void
graph_unref0 (TlGraph *g)
{
  if (g)
    tl_graph_unref (g);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TlGraph, graph_unref0)

typedef struct {
  TlJob *job;
  TlRegistry *reg;
  const TlJobRunOptions *opts;
  const TlProgress *progress;
  const char *out_dir;
  TlCluster *cluster;
  guint64 seed;
  /* per component (index as job->components) */
  gpointer *instances;
  const void **tables;
  GString *metrics_log; /* JSON lines of every task's metrics */
} RunCtx;

static void
say (RunCtx *rc, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static void
say (RunCtx *rc, const char *fmt, ...)
{
  if ((rc->opts && rc->opts->quiet) || !rc->progress || !rc->progress->message)
    return;
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  rc->progress->message (rc->progress->user_data, msg);
}

static JobComponent *
component_at (RunCtx *rc, guint i)
{
  return rc->job->components->pdata[i];
}

static gint
component_index (RunCtx *rc, const char *id)
{
  if (!id)
    return -1;
  for (guint i = 0; i < rc->job->components->len; i++)
    if (g_str_equal (component_at (rc, i)->id, id))
      return (gint) i;
  return -1;
}

static const char *
task_value (JobTask *t, const char *name)
{
  return t->values ? g_hash_table_lookup (t->values, name) : NULL;
}

static gboolean
value_bool (const char *v)
{
  return v && (g_str_equal (v, "true") || g_str_equal (v, "1") || g_str_equal (v, "yes"));
}

static void
task_config (JobTask *t, TlTrainConfig *cfg)
{
  const char *v;
  tl_train_config_init (cfg);
#define INT_ATTR(name, field) \
  if ((v = task_value (t, name))) cfg->field = g_ascii_strtoll (v, NULL, 10);
#define FLOAT_ATTR(name, field) \
  if ((v = task_value (t, name))) cfg->field = g_ascii_strtod (v, NULL);
#define BOOL_ATTR(name, field) \
  if ((v = task_value (t, name))) cfg->field = value_bool (v);
#define STR_ATTR(name, field) \
  if ((v = task_value (t, name))) cfg->field = v;
  INT_ATTR ("epochs", epochs);
  INT_ATTR ("steps", steps);
  INT_ATTR ("batch", batch_size);
  STR_ATTR ("optimizer", optimizer);
  FLOAT_ATTR ("lr", lr);
  FLOAT_ATTR ("momentum", momentum);
  BOOL_ATTR ("nesterov", nesterov);
  FLOAT_ATTR ("weight_decay", weight_decay);
  FLOAT_ATTR ("beta1", beta1);
  FLOAT_ATTR ("beta2", beta2);
  FLOAT_ATTR ("eps", adam_eps);
  STR_ATTR ("schedule", schedule);
  INT_ATTR ("warmup", warmup_steps);
  FLOAT_ATTR ("clip_norm", clip_norm);
  INT_ATTR ("accum", accum_steps);
  BOOL_ATTR ("drop_last", drop_last);
  INT_ATTR ("eval_every", eval_every);
  STR_ATTR ("select", select_metric);
  INT_ATTR ("patience", patience);
  INT_ATTR ("seed", seed);
  BOOL_ATTR ("shuffle", shuffle);
  BOOL_ATTR ("deterministic", deterministic);
  INT_ATTR ("threads", n_threads);
  STR_ATTR ("device", device);
  INT_ATTR ("checkpoint_every", checkpoint_every);
  STR_ATTR ("resume", resume_from);
#undef INT_ATTR
#undef FLOAT_ATTR
#undef BOOL_ATTR
#undef STR_ATTR
}

/* Under mpirun the ranks run the same job data-parallel (tl-comm.h): rank 0
 * alone writes outputs (the others compute the same bytes). */
static gboolean
writes_outputs (void)
{
  TlComm *c = tl_comm_get_default (NULL);
  return !c || tl_comm_rank (c) == 0;
}

static gboolean
write_text (const char *dir, const char *name, const char *text, GError **error)
{
  if (!writes_outputs ())
    return TRUE;
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  if (g_mkdir_with_parents (parent, 0755) != 0) {
    int e = errno;
    g_set_error (error, TL_ERROR, TL_ERROR_IO, "%s: %s", parent, g_strerror (e));
    return FALSE;
  }
  return _tl_priv_write_atomic (path, text, strlen (text), error);
}

static void
record_metrics (RunCtx *rc, guint index, const char *kind, const TlMetrics *m)
{
  if (!m || m->n == 0)
    return;
  rc->job->final = *m;
  g_autofree char *json = tl_metrics_to_json (m, (gint64) index + 1, kind);
  if (json)
    g_string_append_printf (rc->metrics_log, "%s\n", json);
}

/* --- instances --------------------------------------------------------------- */

static gboolean
instantiate (RunCtx *rc, guint i, GError **error)
{
  JobComponent *c = component_at (rc, i);
  const char *name = tl_component_info_full_name (c->info);
  GError *local = NULL;
  const void *table = tl_registry_load_component (rc->reg, c->info, &local);
  if (!table) {
    g_set_error (error, TL_ERROR, local->code, "%s: %s '%s': %s", c->loc, tl_component_kind_name (c->kind),
                 c->id, local->message);
    g_error_free (local);
    return FALSE;
  }
  rc->tables[i] = table;
  switch (c->kind) {
  case TL_COMPONENT_DATASET:
    rc->instances[i] = tl_dataset_instance_new (table, name, c->params, &local);
    break;
  case TL_COMPONENT_MODEL:
    rc->instances[i] = tl_model_instance_new (table, name, c->params, rc->seed, &local);
    break;
  case TL_COMPONENT_PLANNER:
    rc->instances[i] = tl_planner_instance_new (table, name, c->params, &local);
    break;
  default:
    break;
  }
  if (!rc->instances[i]) {
    g_set_error (error, TL_ERROR, local ? local->code : TL_ERROR_FAILED, "%s: %s '%s' (%s): %s", c->loc,
                 tl_component_kind_name (c->kind), c->id, name, local ? local->message : "creation failed");
    g_clear_error (&local);
    return FALSE;
  }
  return TRUE;
}

static void
free_instances (RunCtx *rc)
{
  for (guint i = 0; i < rc->job->components->len; i++) {
    if (!rc->instances[i])
      continue;
    switch (component_at (rc, i)->kind) {
    case TL_COMPONENT_DATASET:
      tl_dataset_instance_free (rc->instances[i]);
      break;
    case TL_COMPONENT_MODEL:
      tl_model_instance_free (rc->instances[i]);
      break;
    case TL_COMPONENT_PLANNER:
      tl_planner_instance_free (rc->instances[i]);
      break;
    default:
      break;
    }
  }
}

static gpointer
instance_of (RunCtx *rc, JobTask *t, const char *attr)
{
  gint i = component_index (rc, task_value (t, attr));
  return i < 0 ? NULL : rc->instances[i];
}

/* --- graphs for plan / simulate / bench ------------------------------------- */

/* The model's train graph: forward, loss and the backward graph (gradients
 * of every trainable parameter as outputs "grad/<name>"). */
static TlGraph *
build_train_graph (RunCtx *rc, JobTask *t, GError **error)
{
  TlModelInstance *m = instance_of (rc, t, "model");
  TlDatasetInstance *d = instance_of (rc, t, "data");
  if (!m || !d) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "%s: task %s needs model= and data= to build the graph", t->loc, t->kind);
    return NULL;
  }
  const char *b = task_value (t, "batch");
  gint64 batch = b ? g_ascii_strtoll (b, NULL, 10) : 32;
  TlTask task = TL_TASK_NONE;
  const char *label = NULL;
  TlGraph *g = tl_model_instance_build (m, d, TL_MODE_TRAIN, batch, &task, &label, error);
  if (!g)
    return NULL;
  TlValue *loss = tl_graph_get_output (g, "loss");
  if (!loss)
    return g;
  TlParamStore *store = tl_model_instance_params (m);
  g_autoptr (GPtrArray) wrt = g_ptr_array_new ();
  for (guint i = 0; i < tl_graph_n_params (g); i++) {
    TlValue *v = tl_graph_param_value (g, i);
    const char *name = tl_value_name (v);
    for (guint k = 0; k < tl_param_store_size (store); k++)
      if (g_strcmp0 (tl_param_store_name (store, k), name) == 0 && tl_param_store_trainable (store, k))
        g_ptr_array_add (wrt, v);
  }
  g_autofree TlValue **grads = g_new0 (TlValue *, wrt->len + 1);
  if (!tl_autodiff (g, loss, wrt->len, (TlValue *const *) wrt->pdata, grads, error)) {
    tl_graph_unref (g);
    return NULL;
  }
  for (guint i = 0; i < wrt->len; i++) {
    if (!grads[i])
      continue;
    g_autofree char *name = g_strdup_printf ("grad/%s", tl_value_name (wrt->pdata[i]));
    tl_graph_set_output (g, name, grads[i]);
  }
  return g;
}

static const char *
color_key (const TlGraph *g)
{
  gboolean stage = FALSE;
  for (guint i = 0; i < tl_graph_n_nodes (g); i++) {
    const TlAttrs *a = tl_node_get_annotations (tl_graph_node (g, i));
    if (tl_attrs_has (a, TL_ANNOT_FUSION_GROUP))
      return TL_ANNOT_FUSION_GROUP;
    if (tl_attrs_has (a, TL_ANNOT_STAGE))
      stage = TRUE;
  }
  return stage ? TL_ANNOT_STAGE : NULL;
}

static gboolean
run_plan (RunCtx *rc, guint index, JobTask *t, GError **error)
{
  g_autoptr (TlGraph) g = build_train_graph (rc, t, error);
  if (!g)
    return FALSE;
  gint only = component_index (rc, task_value (t, "planner"));
  guint n_run = 0;
  for (guint i = 0; i < rc->job->components->len; i++) {
    JobComponent *c = component_at (rc, i);
    if (c->kind != TL_COMPONENT_PLANNER || (only >= 0 && (gint) i != only))
      continue;
    say (rc, "task%u plan: planner %s (%s)", index + 1, c->id, c->component);
    TlPlan *plan = tl_planner_instance_plan (rc->instances[i], g, rc->cluster, rc->seed, error);
    if (!plan) {
      g_prefix_error (error, "%s: planner '%s': ", t->loc, c->id);
      return FALSE;
    }
    g_autofree char *xml = tl_plan_to_xml (plan);
    g_autofree char *name = g_strdup_printf ("plan-%s.xml", c->id);
    gboolean ok = xml && write_text (rc->out_dir, name, xml, error);
    ok = ok && tl_planner_instance_apply (rc->instances[i], plan, g, error);
    tl_plan_free (plan);
    if (!ok) {
      g_prefix_error (error, "%s: planner '%s': ", t->loc, c->id);
      return FALSE;
    }
    n_run++;
  }
  if (n_run == 0)
    say (rc, "task%u plan: the job has no planner; writing the unplanned graph", index + 1);
  g_autofree char *dot = tl_graph_to_dot (g, color_key (g));
  const char *out = task_value (t, "out");
  g_autofree char *dot_name = out ? g_strdup (out) : g_strdup_printf ("graph-%s.dot", task_value (t, "model"));
  if (!dot || !write_text (rc->out_dir, dot_name, dot, error))
    return FALSE;
  say (rc, "task%u plan: wrote %s/%s", index + 1, rc->out_dir, dot_name);
  return TRUE;
}

static gboolean
run_export (RunCtx *rc, guint index, JobTask *t, GError **error)
{
  gint mi = component_index (rc, task_value (t, "model"));
  TlModelInstance *m = rc->instances[mi];
  JobComponent *c = component_at (rc, (guint) mi);
  TlParamStore *store = tl_model_instance_params (m);
  if (tl_param_store_size (store) == 0) {
    /* never built: build once so the parameters exist */
    if (!instance_of (rc, t, "data")) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "%s: task export: model '%s' has no parameters yet (train it first or give data=)",
                   t->loc, c->id);
      return FALSE;
    }
    g_autoptr (TlGraph) g = build_train_graph (rc, t, error);
    if (!g)
      return FALSE;
  }
  if (!writes_outputs ())
    return TRUE;
  const char *out = task_value (t, "out");
  g_autofree char *name = out ? g_strdup (out) : g_strdup_printf ("%s.safetensors", c->id);
  g_autofree char *path = g_build_filename (rc->out_dir, name, NULL);
  if (!tl_checkpoint_save (store, NULL, NULL, path, error))
    return FALSE;
  say (rc, "task%u export: wrote %s", index + 1, path);

  const TlModelDef *def = rc->tables[mi];
  if (TL_TABLE_HAS (def, TlModelDef, get_extension, 0) && def->get_extension) {
    const TlModelExportExt *ext = def->get_extension (TL_MODEL_EXT_EXPORT);
    if (ext && TL_TABLE_HAS (ext, TlModelExportExt, export_model, 0) && ext->export_model) {
      if (!ext->export_model (c->params, store, rc->out_dir, error)) {
        g_prefix_error (error, "%s: model '%s' export: ", t->loc, c->id);
        return FALSE;
      }
      say (rc, "task%u export: model-specific export of '%s' done", index + 1, c->id);
    }
  }
  return TRUE;
}

static const TlTaskExt *
task_extension (RunCtx *rc, guint i, const char *ext_id)
{
  const void *table = rc->tables[i];
  const void *ext = NULL;
  switch (component_at (rc, i)->kind) {
  case TL_COMPONENT_PLANNER: {
    const TlPlannerDef *def = table;
    if (TL_TABLE_HAS (def, TlPlannerDef, get_extension, 0) && def->get_extension)
      ext = def->get_extension (ext_id);
    break;
  }
  case TL_COMPONENT_MODEL: {
    const TlModelDef *def = table;
    if (TL_TABLE_HAS (def, TlModelDef, get_extension, 0) && def->get_extension)
      ext = def->get_extension (ext_id);
    break;
  }
  default:
    break;
  }
  const TlTaskExt *te = ext;
  if (te && TL_TABLE_HAS (te, TlTaskExt, run, 0) && te->run)
    return te;
  return NULL;
}

static gboolean
run_task_ext (RunCtx *rc, guint index, JobTask *t, GError **error)
{
  const char *ext_id = g_str_equal (t->kind, "simulate") ? TL_TASK_EXT_SIMULATE : TL_TASK_EXT_BENCH;
  gint provider = -1;
  gint pi = component_index (rc, task_value (t, "planner"));
  gint mi = component_index (rc, task_value (t, "model"));
  const TlTaskExt *ext = NULL;
  if (pi >= 0) {
    provider = pi;
  } else if (mi >= 0) {
    provider = mi;
  }
  if (provider < 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "%s: task %s needs planner= or model=", t->loc,
                 t->kind);
    return FALSE;
  }
  ext = task_extension (rc, (guint) provider, ext_id);
  if (!ext) {
    JobComponent *c = component_at (rc, (guint) provider);
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "%s: component %s (%s) does not support task %s (no extension %s)", t->loc, c->id,
                 c->component, t->kind, ext_id);
    return FALSE;
  }
  g_autoptr (TlGraph) g = NULL;
  if (mi >= 0 && instance_of (rc, t, "data")) {
    g = build_train_graph (rc, t, error);
    if (!g)
      return FALSE;
  }
  TlAttrs *attrs = tl_attrs_new ();
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, t->values);
  while (g_hash_table_iter_next (&it, &k, &v))
    tl_attrs_set_string (attrs, k, v);
  TlMetrics metrics;
  tl_metrics_init (&metrics);
  TlTaskContext ctx = {
    .task = t->kind,
    .out_dir = rc->out_dir,
    .graph = g,
    .cluster = rc->cluster,
    .model = mi >= 0 ? rc->instances[mi] : NULL,
    .data = instance_of (rc, t, "data"),
    .params = component_at (rc, (guint) provider)->params,
    .attrs = attrs,
    .progress = rc->progress,
    .metrics = &metrics,
    .seed = rc->seed,
  };
  say (rc, "task%u %s: %s", index + 1, t->kind, component_at (rc, (guint) provider)->id);
  gboolean ok = ext->run (&ctx, error);
  tl_attrs_free (attrs);
  if (!ok) {
    g_prefix_error (error, "%s: task %s (%s): ", t->loc, t->kind, component_at (rc, (guint) provider)->id);
    return FALSE;
  }
  record_metrics (rc, index, t->kind, &metrics);
  if (metrics.n > 0) {
    g_autofree char *s = tl_metrics_to_string (&metrics);
    say (rc, "task%u %s: %s", index + 1, t->kind, s);
  }
  return TRUE;
}

static gboolean
run_task (RunCtx *rc, guint index, JobTask *t, GError **error)
{
  TlTrainConfig cfg;
  task_config (t, &cfg);
  TlMetrics metrics;
  tl_metrics_init (&metrics);
  TlModelInstance *m = instance_of (rc, t, "model");
  TlDatasetInstance *d = instance_of (rc, t, "data");

  if (g_str_equal (t->kind, "train")) {
    g_autofree char *ckpt = g_build_filename (rc->out_dir, task_value (t, "model"), NULL);
    if (g_mkdir_with_parents (ckpt, 0755) != 0) {
      int e = errno;
      g_set_error (error, TL_ERROR, TL_ERROR_IO, "%s: %s", ckpt, g_strerror (e));
      return FALSE;
    }
    cfg.out_dir = ckpt;
    say (rc, "task%u train: model %s on %s", index + 1, task_value (t, "model"), task_value (t, "data"));
    if (!tl_train (m, d, instance_of (rc, t, "eval"), &cfg, rc->progress, &metrics, error))
      return FALSE;
    record_metrics (rc, index, t->kind, &metrics);
    return TRUE;
  }
  if (g_str_equal (t->kind, "evaluate")) {
    if (!tl_evaluate (m, d, &cfg, rc->progress, &metrics, error))
      return FALSE;
    record_metrics (rc, index, t->kind, &metrics);
    g_autofree char *s = tl_metrics_to_string (&metrics);
    say (rc, "task%u evaluate %s on %s: %s", index + 1, task_value (t, "model"), task_value (t, "data"),
         s ? s : "");
    return TRUE;
  }
  if (g_str_equal (t->kind, "predict")) {
    if (!writes_outputs ())
      return TRUE;
    const char *out = task_value (t, "out");
    g_autofree char *name = out ? g_strdup (out)
                                : g_strdup_printf ("predictions-%s.tsv", task_value (t, "data"));
    g_autofree char *path = g_build_filename (rc->out_dir, name, NULL);
    g_autofree char *parent = g_path_get_dirname (path);
    g_mkdir_with_parents (parent, 0755);
    if (!tl_predict (m, d, &cfg, path, error))
      return FALSE;
    say (rc, "task%u predict: wrote %s", index + 1, path);
    return TRUE;
  }
  if (g_str_equal (t->kind, "export"))
    return run_export (rc, index, t, error);
  if (g_str_equal (t->kind, "plan"))
    return run_plan (rc, index, t, error);
  return run_task_ext (rc, index, t, error);
}

/**
 * tl_job_run_options_init:
 * @opts: options to initialise
 *
 * Zeroes @opts (defaults: output directory ./out/<job name>, not quiet).
 */
void
tl_job_run_options_init (TlJobRunOptions *opts)
{
  g_return_if_fail (opts != NULL);
  memset (opts, 0, sizeof *opts);
}

/**
 * tl_job_run:
 * @job: a job
 * @reg: the registry
 * @opts: (nullable): options
 * @progress: (nullable): progress callbacks
 * @error: return location for a #GError
 *
 * Validates @job if needed, loads the plugins it needs, instantiates its
 * datasets, models and planners and runs its tasks in order. Outputs go to
 * the output directory: <model>/ checkpoints of train tasks, predictions,
 * plan-<planner>.xml and graph-<model>.dot of plan tasks, <model>.safetensors
 * of export tasks, and metrics.jsonl (one JSON line per task with metrics).
 * A tl_job_cancel() stops after the current step (TL_ERROR_CANCELLED).
 *
 * Returns: TRUE when every task succeeded.
 */
gboolean
tl_job_run (TlJob *job, TlRegistry *reg, const TlJobRunOptions *opts, const TlProgress *progress,
            GError **error)
{
  g_return_val_if_fail (job != NULL && reg != NULL, FALSE);
  if ((!job->validated || job->validated_with != reg) && !tl_job_validate (job, reg, error))
    return FALSE;

  RunCtx rc = { .job = job, .reg = reg, .opts = opts, .progress = progress };
  g_free (job->output_dir);
  job->output_dir = opts && opts->output_dir ? g_strdup (opts->output_dir)
                                             : g_build_filename ("out", job->name, NULL);
  rc.out_dir = job->output_dir;
  /* made now, so that an unwritable place fails before any training; a run
   * that fails before writing anything does not leave it (or the parents
   * made for it) behind */
  g_autofree char *made_top = NULL; /* the outermost directory made here */
  g_autofree char *probe = g_strdup (rc.out_dir);
  while (!g_file_test (probe, G_FILE_TEST_EXISTS)) {
    g_free (made_top);
    made_top = g_steal_pointer (&probe);
    probe = g_path_get_dirname (made_top);
    if (g_str_equal (probe, made_top))
      break;
  }
  if (g_mkdir_with_parents (rc.out_dir, 0755) != 0) {
    int e = errno;
    g_set_error (error, TL_ERROR, TL_ERROR_IO, "%s: cannot create the output directory: %s", rc.out_dir,
                 g_strerror (e));
    return FALSE;
  }
  tl_metrics_init (&job->final);
  job->cancelled = 0;

  if (job->allow->len > 0) {
    g_autoptr (GPtrArray) ids = g_ptr_array_new ();
    for (guint i = 0; i < job->allow->len; i++)
      g_ptr_array_add (ids, ((JobSet *) job->allow->pdata[i])->name);
    g_ptr_array_add (ids, (gpointer) "tl");
    g_ptr_array_add (ids, NULL);
    tl_registry_set_allow_list (reg, (const char *const *) ids->pdata);
  }

  rc.seed = 42;
  for (guint i = 0; i < job->tasks->len; i++) {
    const char *s = task_value (job->tasks->pdata[i], "seed");
    if (s) {
      rc.seed = g_ascii_strtoull (s, NULL, 10);
      break;
    }
  }

  gboolean ok = TRUE;
  guint n = job->components->len;
  rc.instances = g_new0 (gpointer, n + 1);
  rc.tables = g_new0 (const void *, n + 1);
  rc.metrics_log = g_string_new (NULL);
  if (job->cluster_resolved)
    rc.cluster = tl_cluster_load (job->cluster_resolved, error);
  else
    rc.cluster = tl_cluster_new_local ();
  ok = rc.cluster != NULL;

  for (guint i = 0; ok && i < n; i++)
    ok = instantiate (&rc, i, error);

  for (guint i = 0; ok && i < job->tasks->len; i++) {
    if (job->cancelled) {
      g_set_error (error, TL_ERROR, TL_ERROR_CANCELLED, "interrupted before task%u", i + 1);
      ok = FALSE;
      break;
    }
    JobTask *t = job->tasks->pdata[i];
    ok = run_task (&rc, i, t, error);
    if (!ok && error && *error && !g_str_has_prefix ((*error)->message, job->path))
      g_prefix_error (error, "%s: task %s: ", t->loc, t->kind);
    if (rc.metrics_log->len > 0) {
      GError *werr = NULL;
      if (!write_text (rc.out_dir, "metrics.jsonl", rc.metrics_log->str, &werr)) {
        if (ok)
          g_propagate_error (error, werr);
        else
          g_error_free (werr);
        ok = FALSE;
      }
    }
  }

  free_instances (&rc);
  tl_cluster_free (rc.cluster);
  g_free (rc.instances);
  g_free (rc.tables);
  g_string_free (rc.metrics_log, TRUE);
  /* only directories still empty go, from the leaf up to the first made */
  for (g_autofree char *d = made_top && !ok ? g_strdup (rc.out_dir) : NULL; d && g_rmdir (d) == 0;) {
    if (g_str_equal (d, made_top))
      break;
    char *up = g_path_get_dirname (d);
    g_free (d);
    d = up;
  }
  return ok;
}
