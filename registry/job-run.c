/* job-run.c — run a validated job: load plugins, instantiate components,
 * run the tasks in order, write outputs atomically into the output dir. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
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
  gboolean wrote;       /* this run wrote an output */
  GPtrArray *made_dirs; /* checkpoint directories made by this run */
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

/* The setting a component's creation error is about: the last <set> (or
 * --set) of a parameter the message starts with ("hidden: ...") or quotes
 * ("... 'hidden' ..."); NULL when none. Its location is more precise than
 * the component's, and names a --set or an overlay line the job file does
 * not show. */
static const JobSet *
blamed_set (const JobComponent *c, const char *message)
{
  const JobSet *found = NULL;
  for (guint k = 0; message && k < c->sets->len; k++) {
    const JobSet *s = c->sets->pdata[k];
    gsize n = strlen (s->name);
    g_autofree char *quoted = g_strdup_printf ("'%s'", s->name);
    if ((strncmp (message, s->name, n) == 0 && (message[n] == ':' || message[n] == ' ')) ||
        strstr (message, quoted))
      found = s;
  }
  return found;
}

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
    const JobSet *blamed = blamed_set (c, local ? local->message : NULL);
    g_set_error (error, TL_ERROR, local ? local->code : TL_ERROR_FAILED, "%s: %s '%s' (%s): %s",
                 blamed ? blamed->loc : c->loc, tl_component_kind_name (c->kind), c->id, name,
                 local ? local->message : "creation failed");
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

/* Plan g with planner component i and apply the plan to g; with
 * `plan_name`, also write the plan as XML to that file of the output dir.
 * Errors start with "LOC: planner 'ID': ". */
static gboolean
apply_planner (RunCtx *rc, JobTask *t, guint i, TlGraph *g, const char *plan_name, GError **error)
{
  JobComponent *c = component_at (rc, i);
  TlPlan *plan = tl_planner_instance_plan (rc->instances[i], g, rc->cluster, rc->seed, error);
  gboolean ok = plan != NULL;
  if (ok && plan_name) {
    g_autofree char *xml = tl_plan_to_xml (plan);
    ok = xml && write_text (rc->out_dir, plan_name, xml, error);
  }
  ok = ok && tl_planner_instance_apply (rc->instances[i], plan, g, error);
  tl_plan_free (plan);
  if (!ok)
    g_prefix_error (error, "%s: planner '%s': ", t->loc, c->id);
  return ok;
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
    g_autofree char *name = g_strdup_printf ("plan-%s.xml", c->id);
    if (!apply_planner (rc, t, i, g, name, error))
      return FALSE;
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

/* --- planners= of train / evaluate / predict tasks ---------------------------- */

typedef struct {
  RunCtx *rc;
  JobTask *t;
  GArray *planners; /* guint component indices, in the order planners= names them */
} PlannersHook;

/* The TlTrainGraphHook of a task with planners=: every graph the trainer
 * builds goes through the named planners in order. */
static gboolean
planners_hook (TlGraph *g, TlMode mode, gpointer user_data, GError **error)
{
  PlannersHook *h = user_data;
  (void) mode;
  for (guint k = 0; k < h->planners->len; k++) {
    guint i = g_array_index (h->planners, guint, k);
    /* the trainer reads the named outputs back: a planner that loses one
     * is named here, with the task's line */
    g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
    for (guint o = 0; o < tl_graph_n_outputs (g); o++)
      g_ptr_array_add (names, g_strdup (tl_graph_output_name (g, o)));
    if (!apply_planner (h->rc, h->t, i, g, NULL, error))
      return FALSE;
    for (guint o = 0; o < names->len; o++)
      if (!tl_graph_get_output (g, names->pdata[o])) {
        g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN,
                     "%s: planner '%s': its apply removed the graph output '%s' (a rewrite must re-point "
                     "named outputs)",
                     h->t->loc, component_at (h->rc, i)->id, (const char *) names->pdata[o]);
        return FALSE;
      }
  }
  return TRUE;
}

/* planners="p,q" (validated: ids of planner components): fill h and set
 * the hook on cfg; says once which planners the task applies. */
static void
set_planners_hook (RunCtx *rc, guint index, JobTask *t, TlTrainConfig *cfg, PlannersHook *h)
{
  const char *v = task_value (t, "planners");
  h->rc = rc;
  h->t = t;
  h->planners = g_array_new (FALSE, FALSE, sizeof (guint));
  if (!v)
    return;
  g_auto (GStrv) ids = g_strsplit (v, ",", -1);
  g_autoptr (GString) names = g_string_new (NULL);
  g_autoptr (GString) comps = g_string_new (NULL);
  for (guint k = 0; ids[k]; k++) {
    gint i = component_index (rc, g_strstrip (ids[k]));
    if (i < 0)
      continue;
    guint ui = (guint) i;
    g_array_append_val (h->planners, ui);
    g_string_append_printf (names, "%s%s", k ? "," : "", ids[k]);
    g_string_append_printf (comps, "%s%s", k ? ", " : "", component_at (rc, ui)->component);
  }
  if (h->planners->len == 0)
    return;
  tl_train_config_set_graph_hook (cfg, planners_hook, h);
  say (rc, "task%u %s: planners %s applied (%s)", index + 1, t->kind, names->str, comps->str);
}

/* weights="PATH": the parameters of a checkpoint (best.safetensors,
 * last.safetensors or an export) replace the model's before the task;
 * ignored on a train task with resume= (the checkpoint's parameters). The
 * model's parameters exist once it has been built, so a model no task has
 * built yet is built once here (the graph is dropped). */
static gboolean
load_weights (RunCtx *rc, guint index, JobTask *t, GError **error)
{
  const char *path = task_value (t, "weights");
  if (!path)
    return TRUE;
  if (g_str_equal (t->kind, "train") && task_value (t, "resume")) {
    /* the run continues with the parameters of its checkpoint */
    say (rc, "task%u train: weights= ignored: resuming from %s", index + 1, task_value (t, "resume"));
    return TRUE;
  }
  TlModelInstance *m = instance_of (rc, t, "model");
  TlParamStore *store = tl_model_instance_params (m);
  if (tl_param_store_size (store) == 0) {
    TlDatasetInstance *d = instance_of (rc, t, "data");
    if (!d) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "%s: task %s: weights= needs data= to build model '%s' before loading %s", t->loc,
                   t->kind, task_value (t, "model"), path);
      return FALSE;
    }
    TlMode mode = g_str_equal (t->kind, "train")     ? TL_MODE_TRAIN
                  : g_str_equal (t->kind, "predict") ? TL_MODE_PREDICT
                                                     : TL_MODE_EVAL;
    const char *b = task_value (t, "batch");
    g_autoptr (TlGraph) g = tl_model_instance_build (m, d, mode, b ? g_ascii_strtoll (b, NULL, 10) : 32, NULL,
                                                     NULL, error);
    if (!g)
      return FALSE;
  }
  /* the checks of resume=: every parameter present with its dtype and
   * shape, no other; optimizer state in the file is ignored */
  if (!tl_checkpoint_load (store, NULL, path, error))
    return FALSE;
  say (rc, "task%u %s: model %s: parameters loaded from %s", index + 1, t->kind, task_value (t, "model"),
       path);
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
  if (!load_weights (rc, index, t, error))
    return FALSE;
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
  PlannersHook hook;
  set_planners_hook (rc, index, t, &cfg, &hook);
  g_autoptr (GArray) hook_planners = hook.planners;
  TlMetrics metrics;
  tl_metrics_init (&metrics);
  TlModelInstance *m = instance_of (rc, t, "model");
  TlDatasetInstance *d = instance_of (rc, t, "data");

  if (!g_str_equal (t->kind, "export") && !load_weights (rc, index, t, error))
    return FALSE;
  if (g_str_equal (t->kind, "train")) {
    g_autofree char *ckpt = g_build_filename (rc->out_dir, task_value (t, "model"), NULL);
    if (g_mkdir_with_parents (ckpt, 0755) != 0) {
      int e = errno;
      g_set_error (error, TL_ERROR, TL_ERROR_IO, "cannot create the checkpoint directory %s: %s", ckpt,
                   g_strerror (e));
      return FALSE;
    }
    cfg.out_dir = ckpt;
    say (rc, "task%u train: model %s on %s", index + 1, task_value (t, "model"), task_value (t, "data"));
    if (!tl_train (m, d, instance_of (rc, t, "eval"), &cfg, rc->progress, &metrics, error)) {
      /* best.safetensors and exports hold parameters only */
      if (cfg.resume_from && error && g_error_matches (*error, TL_ERROR, TL_ERROR_NOT_FOUND) &&
          g_str_has_suffix ((*error)->message, "has no optimizer state")) {
        char *msg = g_strdup_printf ("%s (resume= continues a run from its last.safetensors; to start "
                                     "from this checkpoint's parameters with a new optimizer, use "
                                     "weights= instead)", (*error)->message);
        g_free ((*error)->message);
        (*error)->message = msg;
      }
      return FALSE;
    }
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

/* --- before the first task -------------------------------------------------- */

static gboolean
same_dir (const char *a, const char *b)
{
  struct stat sa, sb;
  return g_stat (a, &sa) == 0 && g_stat (b, &sb) == 0 && S_ISDIR (sa.st_mode) && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

/* A train task whose resume= is (a file in) its checkpoint directory
 * continues the run that left the checkpoints there. */
static gboolean
resumes_in (JobTask *t, const char *ckpt)
{
  const char *resume = task_value (t, "resume");
  if (!resume)
    return FALSE;
  if (g_file_test (resume, G_FILE_TEST_IS_DIR))
    return same_dir (resume, ckpt);
  g_autofree char *dir = g_path_get_dirname (resume);
  return same_dir (dir, ckpt);
}

/* Problems found without running anything and without touching the file
 * system, one line each: a device a task names that is not available, and
 * (with opts->keep_checkpoints) the checkpoints of an earlier run that a train
 * task would replace. */
static gboolean
check_before_run (RunCtx *rc, GError **error)
{
  g_autoptr (GString) errs = g_string_new (NULL);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  gboolean overwrite = !(rc->opts && rc->opts->keep_checkpoints);
  for (guint i = 0; i < rc->job->tasks->len; i++) {
    JobTask *t = rc->job->tasks->pdata[i];
    const char *device = task_value (t, "device");
    GError *local = NULL;
    if (device && !g_str_equal (device, "cpu") && !tl_device_available (device, &local)) {
      g_string_append_printf (errs, "%s: task %s (task%u): %s\n", t->loc, t->kind, i + 1, local->message);
      g_clear_error (&local);
    }
    const char *model = task_value (t, "model");
    if (!g_str_equal (t->kind, "train") || overwrite || !writes_outputs () ||
        g_hash_table_contains (seen, model))
      continue;
    g_hash_table_add (seen, (gpointer) model);
    g_autofree char *ckpt = g_build_filename (rc->out_dir, model, NULL);
    if (resumes_in (t, ckpt))
      continue;
    g_autofree char *best = g_build_filename (ckpt, "best.safetensors", NULL);
    g_autofree char *last = g_build_filename (ckpt, "last.safetensors", NULL);
    gboolean has_best = g_file_test (best, G_FILE_TEST_EXISTS);
    gboolean has_last = g_file_test (last, G_FILE_TEST_EXISTS);
    if (!has_best && !has_last)
      continue;
    g_string_append_printf (errs, "%s already holds the checkpoints of an earlier run (%s%s%s): ", ckpt,
                            has_best ? "best.safetensors" : "", has_best && has_last ? ", " : "",
                            has_last ? "last.safetensors" : "");
    if (has_last)
      g_string_append_printf (errs, "continue it with --set task%u.resume=%s, ", i + 1, last);
    g_string_append (errs, "write elsewhere with -o NEWDIR, or replace them with --overwrite\n");
  }
  if (errs->len == 0)
    return TRUE;
  g_string_truncate (errs, errs->len - 1);
  g_set_error_literal (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, errs->str);
  return FALSE;
}

/* Writes (and removes) the temporary file an atomic write of DIR/NAME
 * starts with, so that a directory the run cannot write to fails before
 * the first task, not after an epoch. */
static gboolean
probe_writable (const char *dir, const char *name, const char *what, GError **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  GError *local = NULL;
  TlAtomicFile *f = _tl_priv_atomic_open (path, &local);
  if (f) {
    _tl_priv_atomic_abort (f);
    return TRUE;
  }
  /* "PATH: cannot create a temporary file: REASON" -> REASON */
  g_autofree char *head = g_strdup_printf ("%s: cannot create a temporary file: ", path);
  const char *why = g_str_has_prefix (local->message, head) ? local->message + strlen (head) : local->message;
  g_set_error (error, TL_ERROR, TL_ERROR_IO, "%s: cannot write %s here: %s", dir, what, why);
  g_error_free (local);
  return FALSE;
}

/* The output directory exists: probe it and make and probe the checkpoint
 * directory of every train task (rank 0 alone writes). */
static gboolean
prepare_outputs (RunCtx *rc, GError **error)
{
  if (!writes_outputs ())
    return TRUE;
  if (!probe_writable (rc->out_dir, "metrics.jsonl", "outputs", error))
    return FALSE;
  for (guint i = 0; i < rc->job->tasks->len; i++) {
    JobTask *t = rc->job->tasks->pdata[i];
    if (!g_str_equal (t->kind, "train"))
      continue;
    g_autofree char *ckpt = g_build_filename (rc->out_dir, task_value (t, "model"), NULL);
    if (!g_file_test (ckpt, G_FILE_TEST_IS_DIR)) {
      if (g_mkdir_with_parents (ckpt, 0755) != 0) {
        int e = errno;
        g_set_error (error, TL_ERROR, TL_ERROR_IO, "cannot create the checkpoint directory %s: %s", ckpt,
                     g_strerror (e));
        return FALSE;
      }
      g_ptr_array_add (rc->made_dirs, g_strdup (ckpt));
    }
    if (!probe_writable (ckpt, "last.safetensors", "checkpoints", error))
      return FALSE;
  }
  return TRUE;
}

/* --- interruption ----------------------------------------------------------- */

typedef struct {
  gboolean exists;
  struct stat st;
} FileStamp;

static void
file_stamp (const char *path, FileStamp *s)
{
  memset (s, 0, sizeof *s);
  s->exists = g_stat (path, &s->st) == 0;
}

/* An atomic write replaces the file: another inode or modification time. */
static gboolean
file_changed (const char *path, const FileStamp *before)
{
  FileStamp now;
  file_stamp (path, &now);
  if (!now.exists)
    return FALSE;
  return !before->exists || now.st.st_ino != before->st.st_ino || now.st.st_dev != before->st.st_dev ||
         now.st.st_mtim.tv_sec != before->st.st_mtim.tv_sec ||
         now.st.st_mtim.tv_nsec != before->st.st_mtim.tv_nsec;
}

/* Appends to `out`, in task order, " --set taskK.resume=DIR/last.safetensors"
 * for each checkpoint directory DIR that holds that file, K being the last
 * train task on DIR among tasks 0..upto (0-based). The interrupted task
 * `stopped` (-1: none) counts only when it wrote the file at this stop
 * (`written`) or continues a run there (resume=); else the file is an
 * earlier task's. A rerun with these passes check_before_run and goes on
 * where this run stopped (a finished training has nothing to do). */
static void
append_resume_advice (RunCtx *rc, gint upto, gint stopped, gboolean written, GString *out)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  for (gint i = upto; i >= 0; i--) {
    JobTask *t = rc->job->tasks->pdata[i];
    if (!g_str_equal (t->kind, "train"))
      continue;
    g_autofree char *ckpt = g_build_filename (rc->out_dir, task_value (t, "model"), NULL);
    if (g_hash_table_contains (seen, ckpt) || (i == stopped && !written && !resumes_in (t, ckpt)))
      continue;
    g_autofree char *last = g_build_filename (ckpt, "last.safetensors", NULL);
    if (g_file_test (last, G_FILE_TEST_IS_REGULAR))
      g_ptr_array_add (found, g_strdup_printf (" --set task%d.resume=%s", i + 1, last));
    g_hash_table_add (seen, g_steal_pointer (&ckpt));
  }
  for (guint k = found->len; k > 0; k--)
    g_string_append (out, found->pdata[k - 1]);
}

/* The message of a TL_ERROR_CANCELLED: how far the run got and how to go
 * on. Task `index` (0-based) was running (`started`) or about to start;
 * `last` (nullable): the last.safetensors it wrote at this stop. Its step
 * comes from the file's header (the tensors are not read). */
static char *
interrupted_message (RunCtx *rc, guint index, gboolean started, const char *last)
{
  g_autoptr (GString) advice = g_string_new (NULL);
  append_resume_advice (rc, started ? (gint) index : (gint) index - 1, started ? (gint) index : -1,
                        last != NULL, advice);
  if (last) {
    g_autoptr (GHashTable) meta = _tl_priv_safetensors_read_metadata (last, NULL);
    const char *step = meta ? g_hash_table_lookup (meta, "step") : NULL;
    g_autofree char *where = index > 0 ? g_strdup_printf (" in task%u", index + 1) : g_strdup ("");
    g_autofree char *after = step ? g_strdup_printf (" after step %s", step) : g_strdup ("");
    /* advice holds at least `last` */
    return g_strdup_printf ("interrupted%s%s; continue with%s", where, after, advice->str);
  }
  if (!rc->wrote && advice->len == 0)
    return g_strdup ("interrupted before anything was written");
  JobTask *t = rc->job->tasks->pdata[index];
  GString *msg = g_string_new (NULL);
  g_string_printf (msg, "interrupted %s task%u (%s)", started ? "in" : "before", index + 1, t->kind);
  if (rc->wrote)
    g_string_append_printf (msg, "; the outputs of the tasks before it are in %s", rc->out_dir);
  g_string_append_printf (msg, "; to go on, run the job again%s%s", advice->len ? " with" : "", advice->str);
  return g_string_free (msg, FALSE);
}

/* Sets *error (replacing the task's own TL_ERROR_CANCELLED, if any) to
 * the interrupted_message(); nothing when error is NULL. */
static void
set_interrupted (RunCtx *rc, guint index, gboolean started, const char *last, GError **error)
{
  if (!error)
    return;
  g_autofree char *msg = interrupted_message (rc, index, started, last);
  g_clear_error (error);
  g_set_error_literal (error, TL_ERROR, TL_ERROR_CANCELLED, msg);
}

/* The runner prefixes a task's error with "FILE:LINE: task KIND: "; when
 * the message already starts with the trainer's own "KIND: " ("train: ",
 * "evaluate: ", "predict: "), only "FILE:LINE: task " goes before it. */
static void
prefix_task_error (JobTask *t, GError **error)
{
  if (!error || !*error)
    return;
  const char *msg = (*error)->message;
  gsize n = strlen (t->kind);
  if (strncmp (msg, t->kind, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
    g_prefix_error (error, "%s: task ", t->loc);
  else
    g_prefix_error (error, "%s: task %s: ", t->loc, t->kind);
}

/**
 * tl_job_run_options_init:
 * @opts: options to initialise
 *
 * Zeroes @opts (defaults: output directory ./out/<job name>, not quiet,
 * checkpoints of an earlier run replaced as in ABI 1.0; tlhost sets
 * keep_checkpoints).
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
 *
 * Before the first task it fails (nothing run, nothing written) when a task
 * names a device that is not available, or, with @opts->keep_checkpoints, when
 * a train task would replace the best.safetensors / last.safetensors an
 * earlier run left in its checkpoint directory (a train task whose resume=
 * lies in that directory continues that run and may). It then makes the
 * output and checkpoint directories and probes that it can write there.
 * Other outputs (metrics.jsonl, predictions, exports, plans) are replaced.
 *
 * A tl_job_cancel() stops after the current step (TL_ERROR_CANCELLED); the
 * error says how far the run got and how to go on, e.g. "interrupted after
 * step 40; continue with --set task1.resume=out/j/m/last.safetensors": a
 * --set taskK.resume= for every train task up to the stop whose checkpoint
 * directory holds last.safetensors.
 *
 * A train task with both weights= and resume= resumes (weights= ignored).
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
  if (!check_before_run (&rc, error))
    return FALSE;
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
  rc.made_dirs = g_ptr_array_new_with_free_func (g_free);
  gboolean ok = prepare_outputs (&rc, error);

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

  guint n = job->components->len;
  rc.instances = g_new0 (gpointer, n + 1);
  rc.tables = g_new0 (const void *, n + 1);
  rc.metrics_log = g_string_new (NULL);
  if (ok) {
    if (job->cluster_resolved)
      rc.cluster = tl_cluster_load (job->cluster_resolved, error);
    else
      rc.cluster = tl_cluster_new_local ();
    ok = rc.cluster != NULL;
  }

  for (guint i = 0; ok && i < n; i++)
    ok = instantiate (&rc, i, error);

  for (guint i = 0; ok && i < job->tasks->len; i++) {
    if (job->cancelled) {
      set_interrupted (&rc, i, FALSE, NULL, error);
      ok = FALSE;
      break;
    }
    JobTask *t = job->tasks->pdata[i];
    g_autofree char *last = NULL;
    FileStamp before;
    if (g_str_equal (t->kind, "train")) {
      last = g_build_filename (rc.out_dir, task_value (t, "model"), "last.safetensors", NULL);
      file_stamp (last, &before);
    }
    ok = run_task (&rc, i, t, error);
    if (ok) {
      rc.wrote = TRUE;
    } else if (error && *error && g_error_matches (*error, TL_ERROR, TL_ERROR_CANCELLED)) {
      gboolean written = last && writes_outputs () && file_changed (last, &before);
      set_interrupted (&rc, i, TRUE, written ? last : NULL, error);
    } else if (error && *error && !g_str_has_prefix ((*error)->message, job->path)) {
      prefix_task_error (t, error);
    }
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
  /* only directories still empty go: the checkpoint directories made here,
   * then the output directory from the leaf up to the first made */
  for (guint i = rc.made_dirs->len; !ok && i > 0; i--)
    (void) g_rmdir (rc.made_dirs->pdata[i - 1]);
  g_ptr_array_unref (rc.made_dirs);
  for (g_autofree char *d = made_top && !ok ? g_strdup (rc.out_dir) : NULL; d && g_rmdir (d) == 0;) {
    if (g_str_equal (d, made_top))
      break;
    char *up = g_path_get_dirname (d);
    g_free (d);
    d = up;
  }
  return ok;
}
