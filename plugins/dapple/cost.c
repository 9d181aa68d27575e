/* cost.c — pipelines and the cost model the planner and the simulator
 * share: per-micro-batch stage times (linear in samples per replica),
 * activation transfers between stages, the ring allreduce of each stage's
 * gradients over its slowest link, per-device memory, and the planner's
 * analytic step-time estimate (DAPPLE section 4.2: warm-up, steady phase
 * bounded by the slowest stage, ending allreduce). */
#include <string.h>

#include "dapple-private.h"

/**
 * dapple_pipeline_new:
 * @n_stages: stage count
 *
 * Returns: (transfer full): a pipeline with empty stages.
 */
DapplePipeline *
dapple_pipeline_new (guint n_stages)
{
  DapplePipeline *p = g_new0 (DapplePipeline, 1);
  p->n_stages = n_stages;
  p->stages = g_new0 (DappleStage, MAX (n_stages, 1));
  p->micro_batches = 1;
  return p;
}

/**
 * dapple_pipeline_free:
 * @p: (nullable): a pipeline
 */
void
dapple_pipeline_free (DapplePipeline *p)
{
  if (!p)
    return;
  for (guint s = 0; s < p->n_stages; s++)
    g_free (p->stages[s].devices);
  g_free (p->stages);
  g_free (p->policy);
  g_free (p->method);
  g_free (p);
}

/**
 * dapple_pipeline_set_stage:
 * @p: a pipeline
 * @s: stage index
 * @first: first layer
 * @last: one past the last layer
 * @n_devices: replicas
 * @devices: (array length=n_devices): device ids (copied)
 */
void
dapple_pipeline_set_stage (DapplePipeline *p, guint s, guint first, guint last, guint n_devices,
                           const guint *devices)
{
  DappleStage *st = &p->stages[s];
  g_free (st->devices);
  st->first = first;
  st->last = last;
  st->n_devices = n_devices;
  st->devices = g_memdup2 (devices, sizeof (guint) * MAX (n_devices, 1));
}

/**
 * dapple_pipeline_copy:
 * @p: a pipeline
 *
 * Returns: (transfer full): a deep copy.
 */
DapplePipeline *
dapple_pipeline_copy (const DapplePipeline *p)
{
  DapplePipeline *c = dapple_pipeline_new (p->n_stages);
  for (guint s = 0; s < p->n_stages; s++)
    dapple_pipeline_set_stage (c, s, p->stages[s].first, p->stages[s].last, p->stages[s].n_devices,
                               p->stages[s].devices);
  c->micro_batches = p->micro_batches;
  c->global_batch = p->global_batch;
  c->schedule = p->schedule;
  c->policy = g_strdup (p->policy);
  c->method = g_strdup (p->method);
  c->estimate = p->estimate;
  return c;
}

/**
 * dapple_machine_mask:
 * @shape: machine shape
 * @n: device count
 * @devices: (array length=n): device ids
 *
 * Returns: bit m set when a device lies on machine m.
 */
guint64
dapple_machine_mask (const DappleShape *shape, guint n, const guint *devices)
{
  guint64 mask = 0;
  for (guint i = 0; i < n; i++)
    mask |= G_GUINT64_CONSTANT (1) << (devices[i] / shape->per_machine);
  return mask;
}

/* Slowest bandwidth and largest latency between any device of machines
 * `a` and any device of machines `b` (a == b: within the set). */
static void
mask_link (const DappleShape *shape, guint64 a, guint64 b, double *bw, double *lat)
{
  const TlCluster *c = shape->cluster;
  double best_bw = G_MAXDOUBLE, worst_lat = 0;
  for (guint i = 0; i < shape->n_machines; i++) {
    if (!(a & (G_GUINT64_CONSTANT (1) << i)))
      continue;
    for (guint j = 0; j < shape->n_machines; j++) {
      if (!(b & (G_GUINT64_CONSTANT (1) << j)))
        continue;
      guint di = i * shape->per_machine;
      guint dj = j * shape->per_machine;
      if (i == j) {
        if (shape->per_machine < 2)
          continue;
        dj = di + 1;
      }
      best_bw = MIN (best_bw, tl_cluster_link_bandwidth (c, di, dj));
      worst_lat = MAX (worst_lat, tl_cluster_link_latency (c, di, dj));
    }
  }
  if (best_bw == G_MAXDOUBLE)
    best_bw = tl_cluster_device_bandwidth (c, 0);
  *bw = best_bw > 0 ? best_bw : 1e9;
  *lat = worst_lat;
}

/**
 * dapple_allreduce_time:
 * @m: the model
 * @bytes: gradient bytes per replica
 * @n: replicas
 * @mask: machines of the replicas
 *
 * Returns: seconds of a ring allreduce: 2 bytes (n - 1) / n over the
 * slowest link of the ring plus 2 (n - 1) latencies; 0 for one replica.
 */
double
dapple_allreduce_time (const DappleModel *m, double bytes, guint n, guint64 mask)
{
  if (n < 2 || bytes <= 0)
    return 0;
  double bw, lat;
  mask_link (&m->shape, mask, mask, &bw, &lat);
  return 2.0 * bytes * (double) (n - 1) / (double) n / bw + 2.0 * (double) (n - 1) * lat;
}

static double
mask_memory (const DappleShape *shape, guint64 mask)
{
  double mem = G_MAXDOUBLE;
  for (guint i = 0; i < shape->n_machines; i++)
    if (mask & (G_GUINT64_CONSTANT (1) << i))
      mem = MIN (mem, tl_cluster_device_memory (shape->cluster, i * shape->per_machine));
  return mem;
}

/**
 * dapple_stage_cost:
 * @m: the model
 * @first: first layer
 * @last: one past the last layer
 * @n: replicas
 * @mask: machines of the replicas
 * @next_mask: machines of the next stage (0: last stage)
 * @mb: samples per micro-batch (split over the replicas)
 * @out: (out): the costs
 */
void
dapple_stage_cost (const DappleModel *m, guint first, guint last, guint n, guint64 mask, guint64 next_mask,
                   double mb, DappleStageCost *out)
{
  const DappleProfile *p = m->profile;
  double share = mb / (double) n / p->batch;
  double fwd = 0, bwd = 0, act = 0, params = 0;
  for (guint l = first; l < last; l++) {
    fwd += p->layers[l].fwd;
    bwd += p->layers[l].bwd;
    act += p->layers[l].act;
    params += p->layers[l].params;
  }
  memset (out, 0, sizeof *out);
  out->fwd = fwd * share;
  out->bwd = bwd * share;
  out->act_mem = act * share;
  out->param_mem = params * m->param_factor;
  out->allreduce = dapple_allreduce_time (m, params, n, mask);
  out->memory = mask_memory (&m->shape, mask);
  if (next_mask) {
    double bw, lat;
    mask_link (&m->shape, mask, next_mask, &bw, &lat);
    /* each replica sends its share; transfers of the replicas overlap */
    out->link = lat + p->layers[last - 1].out * share / bw;
  }
}

/**
 * dapple_live:
 * @schedule: the schedule
 * @s: stage index
 * @n_stages: stages
 * @micro_batches: micro-batches per step
 *
 * Returns: micro-batches whose activations stage @s keeps at once: all of
 * them under GPipe, min(S - s, M) under early backward.
 */
guint
dapple_live (DappleSchedule schedule, guint s, guint n_stages, guint micro_batches)
{
  if (schedule == DAPPLE_SCHEDULE_GPIPE)
    return micro_batches;
  return MIN (n_stages - s, micro_batches);
}

static void
pipeline_stage_cost (const DappleModel *m, const DapplePipeline *p, guint s, DappleStageCost *c)
{
  const DappleStage *st = &p->stages[s];
  guint64 mask = dapple_machine_mask (&m->shape, st->n_devices, st->devices);
  guint64 next = 0;
  if (s + 1 < p->n_stages)
    next = dapple_machine_mask (&m->shape, p->stages[s + 1].n_devices, p->stages[s + 1].devices);
  dapple_stage_cost (m, st->first, st->last, st->n_devices, mask, next,
                     p->global_batch / (double) p->micro_batches, c);
}

/**
 * dapple_estimate:
 * @m: the model
 * @p: a pipeline
 *
 * The planner's estimate of one step: sum over stages of (forward +
 * backward + 2 link) (warm-up and drain of one micro-batch) + (M - 1) x
 * the steady period: under GPipe the slowest of (forward + backward) and
 * the links; under early backward the slowest (forward + backward + 2
 * link) and the round trip from stage s to the end and back divided by its
 * min(S - s, M) micro-batches in flight + the largest ending allreduce.
 *
 * Returns: seconds.
 */
double
dapple_estimate (const DappleModel *m, const DapplePipeline *p)
{
  double sum = 0, mx = 0, ar = 0;
  for (guint s = p->n_stages; s-- > 0;) {
    DappleStageCost c;
    pipeline_stage_cost (m, p, s, &c);
    sum += c.fwd + c.bwd + 2 * c.link;
    ar = MAX (ar, c.allreduce);
    if (p->schedule != DAPPLE_SCHEDULE_EARLY_BACKWARD) {
      mx = MAX (mx, MAX (c.fwd + c.bwd, c.link));
      continue;
    }
    /* early backward alternates strictly: in the steady phase a stage waits
     * for the round trip to its successor, so its period includes the
     * transfers both ways (this bounds the mean over every window of
     * adjacent stages, the period of the schedule's event graph) */
    mx = MAX (mx, c.fwd + c.bwd + 2 * c.link);
    /* and stage s has min(S - s, M) micro-batches in flight, each of
     * which must reach the last stage and come back */
    mx = MAX (mx, sum / (double) dapple_live (p->schedule, s, p->n_stages, p->micro_batches));
  }
  return sum + (double) (p->micro_batches - 1) * mx + ar;
}

/**
 * dapple_fits:
 * @m: the model
 * @p: a pipeline
 *
 * Returns: whether each stage's parameters (times the model's parameter
 * factor) plus its live activations fit its devices' memory.
 */
gboolean
dapple_fits (const DappleModel *m, const DapplePipeline *p)
{
  for (guint s = 0; s < p->n_stages; s++) {
    DappleStageCost c;
    pipeline_stage_cost (m, p, s, &c);
    guint live = dapple_live (p->schedule, s, p->n_stages, p->micro_batches);
    if (c.param_mem + c.act_mem * live > c.memory)
      return FALSE;
  }
  return TRUE;
}

/**
 * dapple_objective:
 * @m: the model
 * @method: planner method
 * @p: a pipeline
 *
 * Returns: what the planner of @method minimises: dapple_estimate() for
 * DAPPLE, GPipe and data parallelism; for PipeDream its bottleneck, the
 * largest per-step busy time of a stage (M x (forward + backward), the
 * allreduce, or M x a link).
 */
double
dapple_objective (const DappleModel *m, DappleMethod method, const DapplePipeline *p)
{
  if (method != DAPPLE_METHOD_PIPEDREAM)
    return dapple_estimate (m, p);
  double mx = 0, ar = 0;
  for (guint s = 0; s < p->n_stages; s++) {
    DappleStageCost c;
    pipeline_stage_cost (m, p, s, &c);
    mx = MAX (mx, MAX (c.fwd + c.bwd, c.link));
    ar = MAX (ar, c.allreduce);
  }
  return MAX ((double) p->micro_batches * mx, ar);
}

static const char *const method_names[] = { "dapple", "gpipe", "pipedream", "dp" };

/**
 * dapple_method_from_name:
 * @name: "dapple", "gpipe", "pipedream" or "dp"
 * @out: (out): the method
 *
 * Returns: %FALSE for an unknown name.
 */
gboolean
dapple_method_from_name (const char *name, DappleMethod *out)
{
  for (guint i = 0; i < G_N_ELEMENTS (method_names); i++)
    if (g_strcmp0 (name, method_names[i]) == 0) {
      *out = (DappleMethod) i;
      return TRUE;
    }
  return FALSE;
}

/**
 * dapple_method_name:
 * @m: a method
 *
 * Returns: (transfer none): its name.
 */
const char *
dapple_method_name (DappleMethod m)
{
  return (guint) m < G_N_ELEMENTS (method_names) ? method_names[m] : "?";
}
