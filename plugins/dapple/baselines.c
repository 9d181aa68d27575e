/* baselines.c — planning front end: the DAPPLE planner over placement
 * policies and micro-batch counts, and the baselines of the paper's
 * comparison: GPipe (balanced contiguous stages, one device each,
 * all-forward-then-all-backward), the PipeDream planner's objective (its
 * bottleneck, planned with the same DP, then run synchronously) and pure
 * data parallelism. */
#include "dapple-private.h"

/* Micro-batch counts tried: divisors of the global batch up to 64. */
static GArray *
micro_batch_candidates (const DapplePlanOptions *o)
{
  GArray *a = g_array_new (FALSE, FALSE, sizeof (guint));
  if (o->micro_batches > 0) {
    g_array_append_val (a, o->micro_batches);
    return a;
  }
  guint64 b = (guint64) o->global_batch;
  for (guint m = 1; m <= 64 && m <= b; m++)
    if (b % m == 0)
      g_array_append_val (a, m);
  return a;
}

/**
 * dapple_plan_fixed:
 * @m: the model
 * @S: stages (at most the layer count)
 * @g: replicas per stage
 * @micro_batches: M
 * @global_batch: samples per step
 * @schedule: the schedule
 *
 * Returns: (transfer full): @S contiguous stages minimising the largest
 * stage compute time, stage s on devices s g ... s g + g - 1.
 */
DapplePipeline *
dapple_plan_fixed (const DappleModel *m, guint S, guint g, guint micro_batches, double global_batch,
                   DappleSchedule schedule)
{
  const DappleProfile *pr = m->profile;
  guint L = pr->n_layers;
  S = CLAMP (S, 1, L);
  /* best[s][j]: min over splits of layers [0, j) into s stages of the max stage time */
  g_autofree double *best = g_new (double, (S + 1) * (L + 1));
  g_autofree guint *cut = g_new0 (guint, (S + 1) * (L + 1));
  g_autofree double *prefix = g_new0 (double, L + 1);
  for (guint l = 0; l < L; l++)
    prefix[l + 1] = prefix[l] + pr->layers[l].fwd + pr->layers[l].bwd;
  for (guint i = 0; i < (S + 1) * (L + 1); i++)
    best[i] = G_MAXDOUBLE;
  best[0] = 0;
  for (guint s = 1; s <= S; s++)
    for (guint j = s; j <= L; j++)
      for (guint i = s - 1; i < j; i++) {
        double prev = best[(s - 1) * (L + 1) + i];
        if (prev == G_MAXDOUBLE)
          continue;
        double v = MAX (prev, prefix[j] - prefix[i]);
        if (v < best[s * (L + 1) + j]) {
          best[s * (L + 1) + j] = v;
          cut[s * (L + 1) + j] = i;
        }
      }
  DapplePipeline *p = dapple_pipeline_new (S);
  g_autofree guint *devs = g_new (guint, MAX (g, 1));
  guint j = L;
  for (guint s = S; s > 0; s--) {
    guint i = cut[s * (L + 1) + j];
    for (guint r = 0; r < g; r++)
      devs[r] = (s - 1) * g + r;
    dapple_pipeline_set_stage (p, s - 1, i, j, g, devs);
    j = i;
  }
  p->micro_batches = micro_batches;
  p->global_batch = global_batch;
  p->schedule = schedule;
  p->method = g_strdup ("fixed");
  return p;
}

/* GPipe: S = min(devices, layers) stages minimising the largest stage
 * compute time, stage s on device s. */
static DapplePipeline *
plan_gpipe (const DappleModel *m, guint M, double B)
{
  guint N = m->shape.n_machines * m->shape.per_machine;
  DapplePipeline *p = dapple_plan_fixed (m, MIN (N, m->profile->n_layers), 1, M, B, DAPPLE_SCHEDULE_GPIPE);
  g_free (p->method);
  p->method = g_strdup ("gpipe");
  p->estimate = dapple_estimate (m, p);
  return p;
}

static DapplePipeline *
plan_data_parallel (const DappleModel *m, guint M, double B)
{
  guint N = m->shape.n_machines * m->shape.per_machine;
  /* at most one replica per sample of a micro-batch (compared as doubles:
   * B / M may exceed G_MAXUINT) */
  if (B / M < (double) N)
    N = (guint) MAX (B / M, 1.0);
  g_autofree guint *devices = g_new (guint, N);
  for (guint d = 0; d < N; d++)
    devices[d] = d;
  DapplePipeline *p = dapple_pipeline_new (1);
  dapple_pipeline_set_stage (p, 0, 0, m->profile->n_layers, N, devices);
  p->micro_batches = M;
  p->global_batch = B;
  p->schedule = DAPPLE_SCHEDULE_EARLY_BACKWARD;
  p->method = g_strdup ("dp");
  p->estimate = dapple_estimate (m, p);
  return p;
}

/* Keep the better of *best and p (by estimate, fitting plans first). */
static void
keep_better (const DappleModel *m, DapplePipeline **best, DapplePipeline *p)
{
  if (!p)
    return;
  if (!*best) {
    *best = p;
    return;
  }
  gboolean fb = dapple_fits (m, *best), fp = dapple_fits (m, p);
  if ((fp && !fb) || (fp == fb && p->estimate < (*best)->estimate * (1 - 1e-12))) {
    dapple_pipeline_free (*best);
    *best = p;
  } else {
    dapple_pipeline_free (p);
  }
}

/**
 * dapple_plan_pipeline:
 * @m: the model
 * @opts: method, policy (-1: best), micro-batches (0: choose), global batch
 * @error: return location for a #GError
 *
 * Plans with @opts->method. With micro-batches 0 every divisor of the global
 * batch up to 64 is tried and the plan with the smallest estimated step
 * (dapple_estimate()) kept; data parallelism takes the fewest micro-batches
 * that fit. PipeDream's plans come from its own objective and are then
 * compared by the same estimate.
 *
 * Returns: (transfer full) (nullable): the pipeline.
 */
DapplePipeline *
dapple_plan_pipeline (const DappleModel *m, const DapplePlanOptions *opts, GError **error)
{
  if (!(opts->global_batch >= 1)) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "dapple: the global batch must be >= 1");
    return NULL;
  }
  if (opts->micro_batches > opts->global_batch) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "dapple: micro_batches %u exceeds the global batch %g",
                 opts->micro_batches, opts->global_batch);
    return NULL;
  }
  g_autoptr (GArray) ms = micro_batch_candidates (opts);
  DapplePipeline *best = NULL;
  if (opts->method == DAPPLE_METHOD_DAPPLE) {
    /* a first bound: pure data parallelism, a DAPPLE plan too */
    DapplePlanOptions dp = *opts;
    dp.method = DAPPLE_METHOD_DP;
    best = dapple_plan_pipeline (m, &dp, NULL);
    if (best && !dapple_fits (m, best))
      g_clear_pointer (&best, dapple_pipeline_free);
    if (best) {
      g_free (best->method);
      best->method = g_strdup ("dapple");
      best->policy = g_strdup (opts->policy >= 0 ? dapple_policy_name ((DapplePolicy) opts->policy) : "fresh");
    }
  }
  /* most micro-batches first: their plans tend to be good, which makes the
   * bound of the following searches tight */
  for (guint k = ms->len; k-- > 0;) {
    guint M = g_array_index (ms, guint, k);
    double pd_bound = G_MAXDOUBLE; /* PipeDream: its objective at this M */
    switch (opts->method) {
    case DAPPLE_METHOD_GPIPE:
      keep_better (m, &best, plan_gpipe (m, M, opts->global_batch));
      break;
    case DAPPLE_METHOD_DP: {
      /* M descends: the last plan that fits has the fewest micro-batches */
      DapplePipeline *p = plan_data_parallel (m, M, opts->global_batch);
      if (best && !dapple_fits (m, p)) {
        dapple_pipeline_free (p);
        break;
      }
      dapple_pipeline_free (best);
      best = p;
      break;
    }
    case DAPPLE_METHOD_DAPPLE:
    case DAPPLE_METHOD_PIPEDREAM:
    default:
      for (guint pol = 0; pol < DAPPLE_N_POLICIES; pol++) {
        if (opts->policy >= 0 && (guint) opts->policy != pol)
          continue;
        GError *local = NULL;
        guint N = m->shape.n_machines * m->shape.per_machine;
        /* DAPPLE's objective is the estimate: the best fitting plan so
         * far bounds the search (PipeDream's objective is another one) */
        double bound = G_MAXDOUBLE;
        if (opts->method == DAPPLE_METHOD_DAPPLE && best && dapple_fits (m, best))
          bound = best->estimate;
        else if (opts->method == DAPPLE_METHOD_PIPEDREAM)
          bound = pd_bound;
        DapplePipeline *p = dapple_dp (m, opts->method, (DapplePolicy) pol, M, opts->global_batch, N, bound, &local);
        if (!p) {
          if (!g_error_matches (local, TL_ERROR, TL_ERROR_NO_MEMORY)) {
            g_propagate_error (error, local);
            dapple_pipeline_free (best);
            return NULL;
          }
          g_error_free (local);
          continue;
        }
        if (opts->method == DAPPLE_METHOD_PIPEDREAM)
          pd_bound = MIN (pd_bound, p->estimate * (1 + 1e-12));
        p->estimate = dapple_estimate (m, p);
        keep_better (m, &best, p);
      }
      break;
    }
  }
  if (!best) {
    g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY,
                 "dapple: no %s plan fits the devices' memory", dapple_method_name (opts->method));
    return NULL;
  }
  return best;
}
