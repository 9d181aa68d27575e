/* svg.c — presentation of a pipeline: the plan table printed by `tlhost
 * run`, the SVG timeline (Gantt chart) of a simulated step, and the
 * conversion to and from TlPlan (urn:tl:plan:1 XML). */
#include <string.h>

#include "dapple-private.h"

static const char *
schedule_name (DappleSchedule s)
{
  return s == DAPPLE_SCHEDULE_GPIPE ? "gpipe" : "early-backward";
}

static char *
devices_string (const DappleStage *st)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < st->n_devices; i++) {
    /* compress runs a..b */
    guint j = i;
    while (j + 1 < st->n_devices && st->devices[j + 1] == st->devices[j] + 1)
      j++;
    if (s->len)
      g_string_append_c (s, ',');
    if (j > i)
      g_string_append_printf (s, "%u-%u", st->devices[i], st->devices[j]);
    else
      g_string_append_printf (s, "%u", st->devices[i]);
    i = j;
  }
  return g_string_free (s, FALSE);
}

/**
 * dapple_pipeline_table:
 * @m: the model
 * @p: a pipeline
 * @r: (nullable): its simulation
 *
 * Returns: (transfer full): a text table: one row per stage (layers,
 * replicas, devices, forward + backward ms per micro-batch, allreduce ms,
 * peak memory per device) and a summary line.
 */
char *
dapple_pipeline_table (const DappleModel *m, const DapplePipeline *p, const DappleSimResult *r)
{
  GString *s = g_string_new (NULL);
  double mb = p->global_batch / (double) p->micro_batches;
  g_string_append_printf (s, "%-5s %-28s %8s %-12s %11s %11s %12s\n", "stage", "layers", "replicas", "devices",
                          "fwd+bwd ms", "allred. ms", "mem GiB/dev");
  for (guint k = 0; k < p->n_stages; k++) {
    const DappleStage *st = &p->stages[k];
    guint64 mask = dapple_machine_mask (&m->shape, st->n_devices, st->devices);
    guint64 next = k + 1 < p->n_stages ? dapple_machine_mask (&m->shape, p->stages[k + 1].n_devices,
                                                              p->stages[k + 1].devices)
                                       : 0;
    DappleStageCost c;
    dapple_stage_cost (m, st->first, st->last, st->n_devices, mask, next, mb, &c);
    g_autofree char *layers = st->last - st->first > 1
                                ? g_strdup_printf ("%u-%u %s..%s", st->first, st->last - 1,
                                                   m->profile->layers[st->first].name,
                                                   m->profile->layers[st->last - 1].name)
                                : g_strdup_printf ("%u %s", st->first, m->profile->layers[st->first].name);
    if (strlen (layers) > 28)
      layers[28] = '\0';
    g_autofree char *devs = devices_string (st);
    double mem = r ? r->peak_memory[k]
                   : c.param_mem + c.act_mem * dapple_live (p->schedule, k, p->n_stages, p->micro_batches);
    g_string_append_printf (s, "%-5u %-28s %8u %-12s %11.3f %11.3f %12.3f\n", k, layers, st->n_devices, devs,
                            (c.fwd + c.bwd) * 1e3, c.allreduce * 1e3, mem / 1073741824.0);
  }
  g_string_append_printf (s, "plan %s%s%s: %u stage%s, %u micro-batch%s of %g samples, schedule %s, estimated step %.4f s",
                          p->method ? p->method : "?", p->policy ? "/" : "", p->policy ? p->policy : "",
                          p->n_stages, p->n_stages == 1 ? "" : "s", p->micro_batches,
                          p->micro_batches == 1 ? "" : "es", mb, schedule_name (p->schedule), dapple_estimate (m, p));
  if (r)
    g_string_append_printf (s, ", simulated %.4f s, bubble %.1f%%", r->step_time, 100.0 * r->bubble);
  if (!dapple_fits (m, p))
    g_string_append (s, ", DOES NOT FIT device memory");
  g_string_append_c (s, '\n');
  return g_string_free (s, FALSE);
}

/**
 * dapple_timeline_svg:
 * @p: a pipeline
 * @r: its simulation
 *
 * Returns: (transfer full): an SVG Gantt chart: one row per stage, forward
 * passes blue, backward passes green, allreduce orange, transfers grey;
 * boxes labelled with the micro-batch.
 */
char *
dapple_timeline_svg (const DapplePipeline *p, const DappleSimResult *r)
{
  const double left = 70, width = 1000, row = 28, top = 30;
  double T = r->step_time > 0 ? r->step_time : 1;
  double h = top + row * p->n_stages + 40;
  GString *s = g_string_new (NULL);
  g_string_append_printf (s,
                          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                          "font-family=\"sans-serif\" font-size=\"10\">\n",
                          left + width + 20, h);
  g_string_append_printf (s,
                          "<text x=\"%.0f\" y=\"16\" font-size=\"12\">%s plan, %s schedule: %u stages, %u micro-batches, "
                          "step %.4g s, bubble %.1f%%</text>\n",
                          left, p->method ? p->method : "plan", schedule_name (p->schedule), p->n_stages,
                          p->micro_batches, r->step_time, 100.0 * r->bubble);
  for (guint k = 0; k < p->n_stages; k++)
    g_string_append_printf (s, "<text x=\"4\" y=\"%.1f\">stage %u (x%u)</text>\n", top + row * k + row * 0.6, k,
                            p->stages[k].n_devices);
  static const char *const fill[] = { "#6fa8dc", "#93c47d", "#f6b26b", "#bbbbbb", "#999999" };
  for (guint i = 0; i < r->events->len; i++) {
    const DappleEvent *e = &g_array_index (r->events, DappleEvent, i);
    double x = left + width * e->start / T, w = MAX (width * (e->end - e->start) / T, 0.5);
    gboolean transfer = e->kind >= 3;
    double y = top + row * e->stage + (transfer ? row - 6 : 2), hh = transfer ? 4 : row - 8;
    g_string_append_printf (s,
                            "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\" stroke=\"#333\" "
                            "stroke-width=\"0.3\"><title>%s %u: %.6g-%.6g s</title></rect>\n",
                            x, y, w, hh, fill[MIN (e->kind, 4u)],
                            e->kind == 0 ? "forward" : e->kind == 1 ? "backward" : e->kind == 2 ? "allreduce"
                                                                                               : "transfer",
                            e->micro, e->start, e->end);
    if (e->kind < 2 && w > 12)
      g_string_append_printf (s, "<text x=\"%.2f\" y=\"%.1f\" text-anchor=\"middle\">%u</text>\n", x + w / 2,
                              y + hh * 0.7, e->micro);
  }
  double axis = top + row * p->n_stages + 14;
  g_string_append_printf (s, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#000\"/>\n", left,
                          axis - 10, left + width, axis - 10);
  for (guint t = 0; t <= 10; t++)
    g_string_append_printf (s, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%.3g</text>\n",
                            left + width * t / 10.0, axis + 4, T * t / 10.0);
  g_string_append (s, "</svg>\n");
  return g_string_free (s, FALSE);
}

/**
 * dapple_pipeline_to_plan:
 * @m: the model
 * @p: a pipeline
 * @r: (nullable): its simulation
 *
 * Returns: (transfer full): a TlPlan of planner "dapple.planner": plan
 * attributes (method, policy, schedule, micro_batches, global_batch,
 * n_stages, n_layers, n_devices (of the cluster), estimate_seconds,
 * simulated_seconds, bubble) and one "stage" item per
 * stage (stage, first_layer, last_layer, replicas, devices, layers).
 */
TlPlan *
dapple_pipeline_to_plan (const DappleModel *m, const DapplePipeline *p, const DappleSimResult *r)
{
  TlPlan *plan = tl_plan_new ("dapple.planner");
  TlAttrs *a = tl_plan_attrs (plan);
  tl_attrs_set_string (a, "method", p->method ? p->method : "dapple");
  if (p->policy)
    tl_attrs_set_string (a, "policy", p->policy);
  tl_attrs_set_string (a, "schedule", schedule_name (p->schedule));
  tl_attrs_set_int (a, "micro_batches", p->micro_batches);
  tl_attrs_set_float (a, "global_batch", p->global_batch);
  tl_attrs_set_int (a, "n_stages", p->n_stages);
  tl_attrs_set_int (a, "n_layers", m->profile->n_layers);
  tl_attrs_set_int (a, "n_devices", m->shape.n_machines * m->shape.per_machine);
  tl_attrs_set_float (a, "estimate_seconds", dapple_estimate (m, p));
  tl_attrs_set_int (a, "fits", dapple_fits (m, p));
  if (r) {
    tl_attrs_set_float (a, "simulated_seconds", r->step_time);
    tl_attrs_set_float (a, "bubble", r->bubble);
  }
  for (guint k = 0; k < p->n_stages; k++) {
    const DappleStage *st = &p->stages[k];
    TlAttrs *it = tl_plan_add_item (plan, "stage");
    tl_attrs_set_int (it, "stage", k);
    tl_attrs_set_int (it, "first_layer", st->first);
    tl_attrs_set_int (it, "last_layer", st->last);
    tl_attrs_set_int (it, "replicas", st->n_devices);
    g_autofree gint64 *d = g_new (gint64, MAX (st->n_devices, 1));
    for (guint i = 0; i < st->n_devices; i++)
      d[i] = st->devices[i];
    tl_attrs_set_ints (it, "devices", st->n_devices, d);
    GString *names = g_string_new (NULL);
    for (guint l = st->first; l < st->last; l++)
      g_string_append_printf (names, "%s%s", l > st->first ? "," : "", m->profile->layers[l].name);
    tl_attrs_set_string (it, "layers", names->str);
    g_string_free (names, TRUE);
    if (r)
      tl_attrs_set_float (it, "peak_memory", r->peak_memory[k]);
  }
  return plan;
}

/* Prefix of the errors about a plan: "FILE: " or nothing. */
static char *
plan_where (const char *filename)
{
  return filename ? g_strdup_printf ("%s: ", filename) : g_strdup ("");
}

/**
 * dapple_pipeline_from_plan:
 * @plan: a plan of dapple.planner
 * @filename: (nullable): the file @plan was read from, for messages
 * @error: return location for a #GError
 *
 * Checks the stage items: contiguous layers from 0, non-empty, within the
 * plan's n_layers (when given); 1 to %DAPPLE_MAX_DEVICES devices, as many
 * as its replicas (when given), each below the plan's n_devices (when
 * given, else %DAPPLE_MAX_DEVICES) and used by one stage only.
 *
 * Returns: (transfer full) (nullable): the pipeline the plan describes;
 * NULL with TL_ERROR_INVALID_ARGUMENT naming @filename and the stage.
 */
DapplePipeline *
dapple_pipeline_from_plan (const TlPlan *plan, const char *filename, GError **error)
{
  const TlAttrs *a = tl_plan_get_attrs (plan);
  g_autofree char *where = plan_where (filename);
  guint n = 0;
  for (guint i = 0; i < tl_plan_n_items (plan); i++)
    if (g_strcmp0 (tl_plan_item_kind (plan, i), "stage") == 0)
      n++;
  if (n == 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "%sdapple: the plan has no stage items", where);
    return NULL;
  }
  gint64 n_layers = tl_attrs_get_int (a, "n_layers", G_MAXINT32);
  gint64 n_devices = tl_attrs_get_int (a, "n_devices", DAPPLE_MAX_DEVICES);
  if (n_layers < 1 || n_layers > G_MAXINT32 || n_devices < 1 || n_devices > DAPPLE_MAX_DEVICES) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "%sdapple: the plan's n_layers (%" G_GINT64_FORMAT ") or n_devices (%" G_GINT64_FORMAT
                 ") is out of range (1..%d, 1..%d)",
                 where, n_layers, n_devices, G_MAXINT32, DAPPLE_MAX_DEVICES);
    return NULL;
  }
  DapplePipeline *p = dapple_pipeline_new (n);
  gboolean used[DAPPLE_MAX_DEVICES] = { FALSE };
  guint k = 0;
  gint64 prev_last = 0;
  for (guint i = 0; i < tl_plan_n_items (plan); i++) {
    if (g_strcmp0 (tl_plan_item_kind (plan, i), "stage") != 0)
      continue;
    const TlAttrs *it = tl_plan_item (plan, i);
    gint64 first = tl_attrs_get_int (it, "first_layer", -1), last = tl_attrs_get_int (it, "last_layer", -1);
    gint64 replicas = tl_attrs_get_int (it, "replicas", -1);
    guint nd = 0;
    const gint64 *d = tl_attrs_get_ints (it, "devices", &nd);
    g_autofree char *bad = NULL;
    if (first != prev_last || last <= first || last > n_layers)
      bad = g_strdup_printf ("layers [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ") must be non-empty, start at %"
                             G_GINT64_FORMAT " and end by %" G_GINT64_FORMAT,
                             first, last, prev_last, n_layers);
    else if (nd == 0 || nd > DAPPLE_MAX_DEVICES || (replicas >= 0 && replicas != (gint64) nd))
      bad = g_strdup_printf ("%u devices (replicas %" G_GINT64_FORMAT ", at most %d)", nd, replicas,
                             DAPPLE_MAX_DEVICES);
    for (guint j = 0; !bad && j < nd; j++) {
      if (d[j] < 0 || d[j] >= n_devices)
        bad = g_strdup_printf ("device %" G_GINT64_FORMAT " is out of range 0..%" G_GINT64_FORMAT, d[j],
                               n_devices - 1);
      else if (used[d[j]])
        bad = g_strdup_printf ("device %" G_GINT64_FORMAT " is used twice", d[j]);
      else
        used[d[j]] = TRUE;
    }
    if (bad) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "%sdapple: plan stage %u is malformed: %s", where, k,
                   bad);
      dapple_pipeline_free (p);
      return NULL;
    }
    guint devs[DAPPLE_MAX_DEVICES];
    for (guint j = 0; j < nd; j++)
      devs[j] = (guint) d[j];
    dapple_pipeline_set_stage (p, k++, (guint) first, (guint) last, nd, devs);
    prev_last = last;
  }
  p->micro_batches = (guint) CLAMP (tl_attrs_get_int (a, "micro_batches", 1), 1, 255);
  p->global_batch = MAX (tl_attrs_get_float (a, "global_batch", p->micro_batches), p->micro_batches);
  p->schedule = g_strcmp0 (tl_attrs_get_string (a, "schedule", NULL), "gpipe") == 0 ? DAPPLE_SCHEDULE_GPIPE
                                                                                   : DAPPLE_SCHEDULE_EARLY_BACKWARD;
  p->method = g_strdup (tl_attrs_get_string (a, "method", "dapple"));
  p->policy = g_strdup (tl_attrs_get_string (a, "policy", NULL));
  p->estimate = tl_attrs_get_float (a, "estimate_seconds", 0);
  return p;
}
