/* simulator.c — discrete-event simulation of one training step of a
 * pipeline on a cluster: each stage (its replicas in lockstep) runs its
 * forward and backward passes in the order of the schedule, activations
 * and gradients cross the link to the neighbouring stage (one transfer at a
 * time per direction), and each stage allreduces its gradients after its
 * last backward pass.
 *
 * Schedules: GPipe runs all M forwards, then all M backwards; early
 * backward (DAPPLE) runs min(S - s, M) warm-up forwards on stage s, then
 * alternates one backward and one forward, then drains the backwards. */
#include <string.h>

#include "dapple-private.h"

/**
 * dapple_stage_ops:
 * @schedule: the schedule
 * @s: stage
 * @S: stages
 * @M: micro-batches
 *
 * Returns: (transfer full): the DappleOp sequence stage @s runs.
 */
GArray *
dapple_stage_ops (DappleSchedule schedule, guint s, guint S, guint M)
{
  GArray *ops = g_array_new (FALSE, FALSE, sizeof (DappleOp));
  if (schedule == DAPPLE_SCHEDULE_GPIPE) {
    for (guint m = 0; m < M; m++) {
      DappleOp o = { 0, m };
      g_array_append_val (ops, o);
    }
    for (guint m = 0; m < M; m++) {
      DappleOp o = { 1, m };
      g_array_append_val (ops, o);
    }
    return ops;
  }
  guint w = dapple_live (schedule, s, S, M);
  for (guint m = 0; m < w; m++) {
    DappleOp o = { 0, m };
    g_array_append_val (ops, o);
  }
  for (guint m = 0; m < M; m++) {
    DappleOp b = { 1, m };
    g_array_append_val (ops, b);
    if (w + m < M) {
      DappleOp f = { 0, w + m };
      g_array_append_val (ops, f);
    }
  }
  return ops;
}

static void
add_event (GArray *events, guint stage, guint kind, guint micro, double start, double end)
{
  DappleEvent e = { stage, kind, micro, start, end };
  g_array_append_val (events, e);
}

/**
 * dapple_simulate:
 * @m: the model
 * @p: a pipeline
 *
 * Simulates one step of @p (its schedule, micro-batches and placement).
 *
 * Returns: (transfer full): step time, bubble fraction (mean over stages of
 * the share of the forward/backward phase — until the last backward pass
 * ends, before the final allreduce — a stage does no work), peak
 * live micro-batches and memory per device of every stage, and the events.
 */
DappleSimResult *
dapple_simulate (const DappleModel *m, const DapplePipeline *p)
{
  guint S = p->n_stages, M = p->micro_batches;
  double mb = p->global_batch / (double) M;
  DappleSimResult *r = g_new0 (DappleSimResult, 1);
  r->n_stages = S;
  r->peak_live = g_new0 (guint, S);
  r->peak_memory = g_new0 (double, S);
  r->peak_act = g_new0 (double, S);
  r->events = g_array_new (FALSE, FALSE, sizeof (DappleEvent));

  DappleStageCost *cost = g_new0 (DappleStageCost, S);
  for (guint s = 0; s < S; s++) {
    const DappleStage *st = &p->stages[s];
    guint64 mask = dapple_machine_mask (&m->shape, st->n_devices, st->devices);
    guint64 next = s + 1 < S ? dapple_machine_mask (&m->shape, p->stages[s + 1].n_devices,
                                                    p->stages[s + 1].devices)
                             : 0;
    dapple_stage_cost (m, st->first, st->last, st->n_devices, mask, next, mb, &cost[s]);
  }
  /* arrival times: act_in[s][m] activation at stage s, grad_in[s][m] gradient at stage s */
  double *act_in = g_new (double, S * M);
  double *grad_in = g_new (double, S * M);
  for (guint i = 0; i < S * M; i++)
    act_in[i] = grad_in[i] = -1;
  for (guint m0 = 0; m0 < M; m0++)
    act_in[m0] = 0;
  double *fwd_link_free = g_new0 (double, S);
  double *bwd_link_free = g_new0 (double, S);
  double *stage_free = g_new0 (double, S);
  double *fwd_done = g_new0 (double, S * M);
  guint *next_op = g_new0 (guint, S);
  guint *live = g_new0 (guint, S);
  GArray **ops = g_new0 (GArray *, S);
  for (guint s = 0; s < S; s++)
    ops[s] = dapple_stage_ops (p->schedule, s, S, M);

  guint remaining = S * 2 * M;
  while (remaining > 0) {
    gboolean progress = FALSE;
    for (guint s = 0; s < S; s++) {
      while (next_op[s] < ops[s]->len) {
        DappleOp o = g_array_index (ops[s], DappleOp, next_op[s]);
        double ready;
        if (o.kind == 0)
          ready = act_in[s * M + o.micro];
        else if (s + 1 == S)
          ready = fwd_done[s * M + o.micro];
        else
          ready = grad_in[s * M + o.micro];
        if (ready < 0)
          break;
        double start = MAX (ready, stage_free[s]);
        double end = start + (o.kind == 0 ? cost[s].fwd : cost[s].bwd);
        stage_free[s] = end;
        add_event (r->events, s, o.kind, o.micro, start, end);
        if (o.kind == 0) {
          live[s]++;
          r->peak_live[s] = MAX (r->peak_live[s], live[s]);
          fwd_done[s * M + o.micro] = end;
          if (s + 1 < S) {
            double t0 = MAX (end, fwd_link_free[s]);
            double t1 = t0 + cost[s].link;
            fwd_link_free[s] = t1;
            act_in[(s + 1) * M + o.micro] = t1;
            if (cost[s].link > 0)
              add_event (r->events, s, 3, o.micro, t0, t1);
          }
        } else {
          live[s]--;
          if (s > 0) {
            double t0 = MAX (end, bwd_link_free[s - 1]);
            double t1 = t0 + cost[s - 1].link;
            bwd_link_free[s - 1] = t1;
            grad_in[(s - 1) * M + o.micro] = t1;
            if (cost[s - 1].link > 0)
              add_event (r->events, s, 4, o.micro, t0, t1);
          }
        }
        next_op[s]++;
        remaining--;
        progress = TRUE;
      }
    }
    if (!progress)
      break; /* cannot happen for the two schedules */
  }
  double step = 0, idle = 0, compute_end = 0;
  for (guint s = 0; s < S; s++)
    compute_end = MAX (compute_end, stage_free[s]);
  for (guint s = 0; s < S; s++) {
    double end = stage_free[s];
    if (cost[s].allreduce > 0) {
      add_event (r->events, s, 2, 0, end, end + cost[s].allreduce);
      end += cost[s].allreduce;
    }
    step = MAX (step, end);
  }
  for (guint s = 0; s < S; s++) {
    idle += 1.0 - (double) M * (cost[s].fwd + cost[s].bwd) / MAX (compute_end, 1e-300);
    r->peak_act[s] = cost[s].act_mem * r->peak_live[s];
    r->peak_memory[s] = cost[s].param_mem + r->peak_act[s];
  }
  r->step_time = step;
  r->bubble = S ? idle / S : 0;

  for (guint s = 0; s < S; s++)
    g_array_unref (ops[s]);
  g_free (ops);
  g_free (cost);
  g_free (act_in);
  g_free (grad_in);
  g_free (fwd_link_free);
  g_free (bwd_link_free);
  g_free (stage_free);
  g_free (fwd_done);
  g_free (next_op);
  g_free (live);
  return r;
}

/**
 * dapple_sim_result_free:
 * @r: (nullable): a result
 */
void
dapple_sim_result_free (DappleSimResult *r)
{
  if (!r)
    return;
  g_free (r->peak_live);
  g_free (r->peak_memory);
  g_free (r->peak_act);
  g_array_unref (r->events);
  g_free (r);
}
