/* planner.c — the "dapple.planner" component: plan() profiles the graph's
 * layers (or reads a profile file), plans a pipeline (DAPPLE or a
 * baseline), simulates it and returns it as a TlPlan; apply() annotates the
 * graph's nodes with their stage and replica group. The "simulate" task
 * extension plans, compares DAPPLE with the three baselines and both
 * schedules, and writes the plan XML and SVG timelines. */
#include <string.h>

#include "dapple-private.h"

struct _TlPlanner {
  DappleMethod method;
  gint policy; /* -1: best */
  guint micro_batches;
  double global_batch; /* 0: the graph's batch (or the profile's) */
  char *profile;       /* path or NULL */
  gboolean measure;
  double param_factor;
  gint schedule; /* -1: the method's */
  gboolean show;
  char *timeline;
  guint stages; /* bench: stages of the run (0: choose) */
  char *plan;   /* bench: run this plan file instead */
};

static void
planner_destroy (TlPlanner *p)
{
  if (!p)
    return;
  g_free (p->profile);
  g_free (p->timeline);
  g_free (p->plan);
  g_free (p);
}

static TlPlanner *
planner_create (const TlParams *params, GError **error)
{
  TlPlanner *p = g_new0 (TlPlanner, 1);
  const char *baseline = tl_params_get_string (params, "baseline", "dapple");
  if (!dapple_method_from_name (baseline, &p->method)) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "dapple: unknown baseline '%s' (dapple, gpipe, pipedream, dp)", baseline);
    planner_destroy (p);
    return NULL;
  }
  const char *policy = tl_params_get_string (params, "policy", "best");
  DapplePolicy pol;
  if (g_strcmp0 (policy, "best") == 0)
    p->policy = -1;
  else if (dapple_policy_from_name (policy, &pol))
    p->policy = (gint) pol;
  else {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "dapple: unknown policy '%s' (best, fresh, append, scatter)", policy);
    planner_destroy (p);
    return NULL;
  }
  gint64 mbs = tl_params_get_int (params, "micro_batches", 0);
  gint64 gb = tl_params_get_int (params, "global_batch", 0);
  if (mbs < 0 || mbs > 255 || gb < 0 || gb > DAPPLE_MAX_GLOBAL_BATCH) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "dapple: micro_batches must be 0..255 and global_batch 0..%d", DAPPLE_MAX_GLOBAL_BATCH);
    planner_destroy (p);
    return NULL;
  }
  p->micro_batches = (guint) mbs;
  p->global_batch = (double) gb;
  const char *prof = tl_params_get_string (params, "profile", "");
  p->profile = prof && *prof ? g_strdup (prof) : NULL;
  p->measure = g_strcmp0 (tl_params_get_string (params, "source", "cost"), "measure") == 0;
  p->param_factor = tl_params_get_float (params, "param_factor", 4.0);
  const char *sched = tl_params_get_string (params, "schedule", "auto");
  p->schedule = g_strcmp0 (sched, "gpipe") == 0            ? DAPPLE_SCHEDULE_GPIPE
                : g_strcmp0 (sched, "early-backward") == 0 ? DAPPLE_SCHEDULE_EARLY_BACKWARD
                                                           : -1;
  p->show = tl_params_get_bool (params, "show", FALSE);
  p->stages = (guint) CLAMP (tl_params_get_int (params, "stages", 0), 0, DAPPLE_MAX_DEVICES);
  const char *plan = tl_params_get_string (params, "plan", "");
  p->plan = plan && *plan ? g_strdup (plan) : NULL;
  const char *tlp = tl_params_get_string (params, "timeline", "");
  p->timeline = tlp && *tlp ? g_strdup (tlp) : NULL;
  return p;
}

/* Everything a planning run needs; free with ctx_clear. */
typedef struct {
  DappleProfile *profile;
  DappleLayering *layering; /* NULL with a profile file */
  DappleModel model;
} Ctx;

static void
ctx_clear (Ctx *c)
{
  dapple_profile_free (c->profile);
  dapple_layering_free (c->layering);
}

static gboolean
ctx_init (TlPlanner *p, const TlGraph *g, const TlCluster *cluster, Ctx *c, GError **error)
{
  memset (c, 0, sizeof *c);
  if (!dapple_shape_init (&c->model.shape, cluster, error))
    return FALSE;
  if (p->profile) {
    c->profile = dapple_profile_load (p->profile, error);
  } else if (g) {
    c->layering = dapple_layering_new (g, error);
    if (c->layering)
      c->profile = dapple_profile_from_graph (g, c->layering, cluster, p->measure, error);
  } else {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "dapple: no graph and no profile file (set the planner's 'profile' or give the task model= and data=)");
  }
  if (!c->profile)
    return FALSE;
  c->model.profile = c->profile;
  c->model.param_factor = p->param_factor;
  return TRUE;
}

static DapplePipeline *
plan_method (TlPlanner *p, Ctx *c, DappleMethod method, GError **error)
{
  DapplePlanOptions o = { method, p->policy, p->micro_batches,
                          p->global_batch > 0 ? p->global_batch : c->profile->batch };
  DapplePipeline *pl = dapple_plan_pipeline (&c->model, &o, error);
  if (pl && p->schedule >= 0 && method == p->method)
    pl->schedule = (DappleSchedule) p->schedule;
  return pl;
}

static gboolean
write_file (const char *path, const char *text, GError **error)
{
  GError *local = NULL;
  if (!g_file_set_contents (path, text, -1, &local)) {
    g_set_error (error, TL_ERROR, TL_ERROR_IO, "%s: %s", path, local->message);
    g_error_free (local);
    return FALSE;
  }
  return TRUE;
}

static TlPlan *
planner_plan (TlPlanner *p, const TlGraph *g, const TlCluster *cluster, guint64 seed, GError **error)
{
  (void) seed; /* the planner is deterministic */
  Ctx c;
  if (!ctx_init (p, g, cluster, &c, error)) {
    ctx_clear (&c);
    return NULL;
  }
  DapplePipeline *pl = plan_method (p, &c, p->method, error);
  if (!pl) {
    ctx_clear (&c);
    return NULL;
  }
  DappleSimResult *r = dapple_simulate (&c.model, pl);
  TlPlan *plan = dapple_pipeline_to_plan (&c.model, pl, r);
  tl_attrs_set_string (tl_plan_attrs (plan), "profile", c.profile->source);
  gboolean ok = TRUE;
  if (p->show) {
    g_autofree char *table = dapple_pipeline_table (&c.model, pl, r);
    g_print ("%s", table);
  }
  if (p->timeline) {
    g_autofree char *svg = dapple_timeline_svg (pl, r);
    ok = write_file (p->timeline, svg, error);
  }
  dapple_sim_result_free (r);
  dapple_pipeline_free (pl);
  ctx_clear (&c);
  if (!ok) {
    tl_plan_free (plan);
    return NULL;
  }
  return plan;
}

static gboolean
planner_apply (TlPlanner *p, const TlPlan *plan, TlGraph *g, GError **error)
{
  (void) p;
  DapplePipeline *pl = dapple_pipeline_from_plan (plan, NULL, error);
  if (!pl)
    return FALSE;
  DappleLayering *l = dapple_layering_new (g, error);
  gboolean ok = l != NULL;
  guint n_layers = pl->stages[pl->n_stages - 1].last;
  if (ok && l->n_layers != n_layers) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "dapple: the plan covers %u layers but the graph has %u (was it planned from another profile?)",
                 n_layers, l->n_layers);
    ok = FALSE;
  }
  if (ok) {
    g_autofree guint *stage_of = g_new0 (guint, n_layers);
    for (guint s = 0; s < pl->n_stages; s++)
      for (guint k = pl->stages[s].first; k < pl->stages[s].last; k++)
        stage_of[k] = s;
    for (guint i = 0; i < l->n_nodes; i++) {
      guint s = stage_of[l->layer[i]];
      const DappleStage *st = &pl->stages[s];
      TlAttrs *a = tl_node_annotations (tl_graph_node (g, i));
      tl_attrs_set_int (a, TL_ANNOT_STAGE, s);
      tl_attrs_set_int (a, TL_ANNOT_REPLICA_GROUP, s);
      tl_attrs_set_int (a, "dapple.replicas", st->n_devices);
      g_autofree gint64 *d = g_new (gint64, st->n_devices);
      for (guint k = 0; k < st->n_devices; k++)
        d[k] = st->devices[k];
      tl_attrs_set_ints (a, "dapple.devices", st->n_devices, d);
      tl_attrs_set_string (a, TL_ANNOT_LAYER, l->names[l->layer[i]]);
    }
  }
  dapple_layering_free (l);
  dapple_pipeline_free (pl);
  return ok;
}

/* --- the simulate task ---------------------------------------------------------- */

static gboolean
write_out (const char *dir, const char *name, const char *text, GError **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  return write_file (path, text, error);
}

static gboolean
simulate_task (const TlTaskContext *ctx, GError **error)
{
  TlPlanner *p = planner_create (ctx->params, error);
  if (!p)
    return FALSE;
  Ctx c;
  gboolean ok = ctx_init (p, ctx->graph, ctx->cluster, &c, error);
  DapplePipeline *pl[4] = { NULL };
  DappleSimResult *r[4] = { NULL };
  static const DappleMethod order[4] = { DAPPLE_METHOD_DAPPLE, DAPPLE_METHOD_GPIPE, DAPPLE_METHOD_PIPEDREAM,
                                         DAPPLE_METHOD_DP };
  for (guint i = 0; ok && i < 4; i++) {
    DappleMethod m = i == 0 ? p->method : order[i];
    if (i > 0 && m == p->method)
      m = DAPPLE_METHOD_DAPPLE;
    GError *local = NULL;
    pl[i] = plan_method (p, &c, m, &local);
    if (!pl[i]) {
      if (i == 0) {
        g_propagate_error (error, local);
        ok = FALSE;
      } else {
        g_print ("%-9s: no plan (%s)\n", dapple_method_name (m), local->message);
        g_error_free (local);
      }
      continue;
    }
    r[i] = dapple_simulate (&c.model, pl[i]);
  }
  if (ok) {
    g_autofree char *table = dapple_pipeline_table (&c.model, pl[0], r[0]);
    g_print ("%s", table);
    /* the chosen plan under both schedules */
    DapplePipeline *other = dapple_pipeline_copy (pl[0]);
    other->schedule = pl[0]->schedule == DAPPLE_SCHEDULE_GPIPE ? DAPPLE_SCHEDULE_EARLY_BACKWARD
                                                               : DAPPLE_SCHEDULE_GPIPE;
    DappleSimResult *ro = dapple_simulate (&c.model, other);
    double peak0 = 0, peak1 = 0;
    for (guint s = 0; s < pl[0]->n_stages; s++) {
      peak0 = MAX (peak0, r[0]->peak_memory[s]);
      peak1 = MAX (peak1, ro->peak_memory[s]);
    }
    g_print ("schedules of this plan: %s %.4f s (peak %.3f GiB/device), %s %.4f s (peak %.3f GiB/device)\n",
             pl[0]->schedule == DAPPLE_SCHEDULE_GPIPE ? "gpipe" : "early-backward", r[0]->step_time,
             peak0 / 1073741824.0, other->schedule == DAPPLE_SCHEDULE_GPIPE ? "gpipe" : "early-backward",
             ro->step_time, peak1 / 1073741824.0);
    tl_metrics_set (ctx->metrics, "step_seconds", r[0]->step_time);
    tl_metrics_set (ctx->metrics, "estimate_seconds", dapple_estimate (&c.model, pl[0]));
    tl_metrics_set (ctx->metrics, "bubble", r[0]->bubble);
    tl_metrics_set (ctx->metrics, "stages", pl[0]->n_stages);
    tl_metrics_set (ctx->metrics, "micro_batches", pl[0]->micro_batches);
    tl_metrics_set (ctx->metrics, "peak_memory_gib", peak0 / 1073741824.0);
    tl_metrics_set (ctx->metrics, "other_schedule_seconds", ro->step_time);
    tl_metrics_set (ctx->metrics, "other_schedule_peak_memory_gib", peak1 / 1073741824.0);
    for (guint i = 1; i < 4; i++) {
      if (!pl[i])
        continue;
      gboolean fits = dapple_fits (&c.model, pl[i]);
      g_autofree char *name = g_strdup_printf ("speedup_vs_%s", pl[i]->method);
      if (fits)
        tl_metrics_set (ctx->metrics, g_intern_string (name), r[i]->step_time / r[0]->step_time);
      g_print ("%-9s: %u stage%s, M=%u, simulated %.4f s%s; %s is %.2fx as fast as %s\n", pl[i]->method,
               pl[i]->n_stages, pl[i]->n_stages == 1 ? "" : "s", pl[i]->micro_batches, r[i]->step_time,
               fits ? "" : " (DOES NOT FIT memory)", pl[0]->method, r[i]->step_time / r[0]->step_time,
               pl[i]->method);
    }
    TlPlan *plan = dapple_pipeline_to_plan (&c.model, pl[0], r[0]);
    tl_attrs_set_string (tl_plan_attrs (plan), "profile", c.profile->source);
    g_autofree char *xml = tl_plan_to_xml (plan);
    tl_plan_free (plan);
    g_autofree char *svg0 = dapple_timeline_svg (pl[0], r[0]);
    g_autofree char *svg1 = dapple_timeline_svg (other, ro);
    const char *out = tl_attrs_get_string (ctx->attrs, "out", NULL);
    ok = write_out (ctx->out_dir, "dapple-plan.xml", xml, error) &&
         write_out (ctx->out_dir, out ? out : "dapple-timeline.svg", svg0, error) &&
         write_out (ctx->out_dir,
                    other->schedule == DAPPLE_SCHEDULE_GPIPE ? "dapple-timeline-gpipe.svg"
                                                             : "dapple-timeline-early-backward.svg",
                    svg1, error);
    dapple_sim_result_free (ro);
    dapple_pipeline_free (other);
  }
  for (guint i = 0; i < 4; i++) {
    dapple_pipeline_free (pl[i]);
    dapple_sim_result_free (r[i]);
  }
  ctx_clear (&c);
  planner_destroy (p);
  return ok;
}

static const TlTaskExt simulate_ext = {
  TL_TABLE_INIT (TlTaskExt),
  .run = simulate_task,
};

/* --- the bench task: the plan for real across the job's processes ------------- */

static gboolean
bench_task (const TlTaskContext *ctx, GError **error)
{
  TlComm *comm = tl_comm_get_default (error);
  if (!comm)
    return FALSE;
  if (!ctx->graph) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "dapple: the bench task needs model= and data=");
    return FALSE;
  }
  TlPlanner *p = planner_create (ctx->params, error);
  if (!p)
    return FALSE;
  g_free (p->profile); /* the run needs the graph's own layers */
  p->profile = NULL;
  Ctx c;
  gboolean ok = ctx_init (p, ctx->graph, ctx->cluster, &c, error);
  guint N = (guint) tl_comm_size (comm);
  guint S = p->stages;
  if (ok && !p->plan && S == 0) {
    /* plan now, with the planner's method, on the job's cluster */
    if (tl_cluster_n_devices (ctx->cluster) != N) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "dapple: the cluster has %u devices but the job %u processes (give a matching <cluster>, or set 'stages' or 'plan')",
                   tl_cluster_n_devices (ctx->cluster), N);
      ok = FALSE;
    }
    if (ok && p->global_batch <= 0)
      p->global_batch = c.profile->batch * N;
    DapplePipeline *pl = ok ? plan_method (p, &c, p->method, error) : NULL;
    ok = pl != NULL;
    if (ok) {
      g_autofree char *table = dapple_pipeline_table (&c.model, pl, NULL);
      if (tl_comm_rank (comm) == 0)
        g_print ("%s", table);
    }
    const char *steps = tl_attrs_get_string (ctx->attrs, "steps", NULL);
    guint n_steps = steps ? (guint) CLAMP (g_ascii_strtoll (steps, NULL, 10), 1, 1000000) : 1;
    ok = ok && dapple_run_pipeline (ctx, pl, n_steps, error);
    dapple_pipeline_free (pl);
    ctx_clear (&c);
    planner_destroy (p);
    return ok;
  }
  if (ok && !p->plan && (N % S != 0 || S > c.profile->n_layers)) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "dapple: %u stages do not divide %u processes (or exceed the %u layers)", S, N,
                 c.profile->n_layers);
    ok = FALSE;
  }
  if (ok && p->plan) {
    /* a stored plan (plan-<id>.xml of a plan task, dapple-plan.xml of a
     * simulate task) */
    g_autofree char *xml = NULL;
    gsize len = 0;
    GError *local = NULL;
    TlPlan *plan = NULL;
    if (!g_file_get_contents (p->plan, &xml, &len, &local)) {
      g_set_error (error, TL_ERROR, TL_ERROR_IO, "%s: %s", p->plan, local->message);
      g_error_free (local);
      ok = FALSE;
    } else {
      plan = tl_plan_from_xml (xml, (gssize) len, p->plan, error);
    }
    DapplePipeline *pl = plan ? dapple_pipeline_from_plan (plan, p->plan, error) : NULL;
    tl_plan_free (plan);
    ok = pl != NULL;
    if (ok && p->schedule >= 0)
      pl->schedule = (DappleSchedule) p->schedule;
    const char *steps = tl_attrs_get_string (ctx->attrs, "steps", NULL);
    guint n_steps = steps ? (guint) CLAMP (g_ascii_strtoll (steps, NULL, 10), 1, 1000000) : 1;
    ok = ok && dapple_run_pipeline (ctx, pl, n_steps, error);
    dapple_pipeline_free (pl);
  } else if (ok) {
    guint g = N / S, M = p->micro_batches ? p->micro_batches : 2 * S;
    double B = c.profile->batch * M * g;
    DappleSchedule sched = p->schedule >= 0 ? (DappleSchedule) p->schedule : DAPPLE_SCHEDULE_EARLY_BACKWARD;
    DapplePipeline *pl = dapple_plan_fixed (&c.model, S, g, M, B, sched);
    const char *steps = tl_attrs_get_string (ctx->attrs, "steps", NULL);
    guint n_steps = steps ? (guint) CLAMP (g_ascii_strtoll (steps, NULL, 10), 1, 1000000) : 1;
    ok = dapple_run_pipeline (ctx, pl, n_steps, error);
    dapple_pipeline_free (pl);
  }
  ctx_clear (&c);
  planner_destroy (p);
  return ok;
}

static const TlTaskExt bench_ext = {
  TL_TABLE_INIT (TlTaskExt),
  .run = bench_task,
};

static const void *
planner_extension (const char *id)
{
  if (g_strcmp0 (id, TL_TASK_EXT_SIMULATE) == 0)
    return &simulate_ext;
  if (g_strcmp0 (id, TL_TASK_EXT_BENCH) == 0)
    return &bench_ext;
  return NULL;
}

const TlPlannerDef dapple_planner_def = {
  TL_TABLE_INIT (TlPlannerDef),
  .create = planner_create,
  .destroy = planner_destroy,
  .plan = planner_plan,
  .apply = planner_apply,
  .get_extension = planner_extension,
};
