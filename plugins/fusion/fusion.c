/* fusion.c — the plugin descriptor and the planner "fusion.stitch".
 *
 *   fusion.stitch  planner: FusionStitching explorer (mode=stitch) or the
 *                  rule-based elementwise baseline (mode=baseline); plan()
 *                  returns groups, apply() replaces each by a fusion.fused
 *                  node (or only annotates with rewrite=false).
 *   fusion.fused   op: one stitched group (see fused-op.c).
 *   fusion.transformer  model: a small transformer with LayerNorm/softmax
 *                  as primitives, fused at build time (model-transformer.c).
 */
#include <string.h>

#include "fusion-private.h"

struct _TlPlanner {
  gboolean baseline;
  gboolean cc;
  guint beam, top_k, max_group;
  gboolean non_adjacent, rewrite, report;
  double launch_us;
  char *dot;
};

static TlPlanner *
stitch_create (const TlParams *params, GError **error)
{
  if (!tl_op_lookup (fusion_fused_op.name) && !tl_op_register (&fusion_fused_op, error))
    return NULL;
  TlPlanner *p = g_new0 (TlPlanner, 1);
  p->baseline = g_strcmp0 (tl_params_get_string (params, "mode", "stitch"), "baseline") == 0;
  p->cc = g_strcmp0 (tl_params_get_string (params, "cpu", "interp"), "cc") == 0;
  p->beam = (guint) CLAMP (tl_params_get_int (params, "beam", 4), 1, 64);
  p->top_k = (guint) CLAMP (tl_params_get_int (params, "top_k", 4), 1, 32);
  p->max_group = (guint) CLAMP (tl_params_get_int (params, "max_group", 64), 2, 4096);
  p->non_adjacent = tl_params_get_bool (params, "non_adjacent", TRUE);
  p->rewrite = tl_params_get_bool (params, "rewrite", TRUE);
  p->report = tl_params_get_bool (params, "report", TRUE);
  p->launch_us = tl_params_get_float (params, "launch_us", 0);
  const char *dot = tl_params_get_string (params, "dot", "");
  p->dot = dot && *dot ? g_strdup (dot) : NULL;
  return p;
}

static void
stitch_destroy (TlPlanner *p)
{
  if (!p)
    return;
  g_free (p->dot);
  g_free (p);
}

static TlPlan *
stitch_plan (TlPlanner *p, const TlGraph *g, const TlCluster *cluster, guint64 seed, GError **error)
{
  (void) seed; /* the search is deterministic */
  if (!g) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "fusion.stitch: no graph");
    return NULL;
  }
  FusionExploreOptions o = { .beam = p->beam, .top_k = p->top_k, .baseline = p->baseline,
                             .non_adjacent = p->non_adjacent && !p->baseline };
  fusion_cost_model_init (&o.cm, cluster);
  o.cm.max_group = p->max_group;
  if (p->launch_us > 0)
    o.cm.launch_us = p->launch_us;
  g_autoptr (FusionCtx) ctx = fusion_ctx_new (g, &o);
  double objective = 0;
  g_autoptr (GPtrArray) groups = fusion_explore (ctx, &objective);
  TlPlan *plan = fusion_make_plan ("fusion.stitch", ctx, groups, objective,
                                   p->baseline ? "baseline" : "stitch");
  tl_attrs_set_string (tl_plan_attrs (plan), "cpu", p->cc ? "cc" : "interp");
  if (p->dot) {
    g_autofree char *dot = fusion_plan_to_dot (g, plan);
    if (!dot || !g_file_set_contents (p->dot, dot, -1, error)) {
      if (!dot)
        g_set_error (error, TL_ERROR, TL_ERROR_FAILED, "fusion.stitch: cannot draw the plan");
      g_prefix_error (error, "%s: ", p->dot);
      tl_plan_free (plan);
      return NULL;
    }
  }
  return plan;
}

static gboolean
stitch_apply (TlPlanner *p, const TlPlan *plan, TlGraph *g, GError **error)
{
  FusionStats before, after;
  fusion_graph_stats (g, &before);
  guint n_fused = 0;
  if (!fusion_apply_plan (plan, g, p->rewrite, &n_fused, error))
    return FALSE;
  fusion_graph_stats (g, &after);
  if (p->report)
    g_message ("fusion.stitch (%s): %u of %u groups fused; kernels %u -> %u; bytes moved %.4g -> %.4g",
               p->baseline ? "baseline" : "stitch", n_fused, tl_plan_n_items (plan),
               before.kernels_before, after.kernels_before, before.bytes_before, after.bytes_before);
  return TRUE;
}

const TlPlannerDef fusion_stitch_planner = {
  TL_TABLE_INIT (TlPlannerDef),
  .create = stitch_create,
  .destroy = stitch_destroy,
  .plan = stitch_plan,
  .apply = stitch_apply,
};

static const TlComponent components[] = {
  { TL_COMPONENT_OP, 0, "fused", &fusion_fused_op },
  { TL_COMPONENT_PLANNER, 0, "stitch", &fusion_stitch_planner },
  { TL_COMPONENT_MODEL, 0, "transformer", &fusion_transformer_model },
  { 0 }
};

TL_PLUGIN_DEFINE (.id = "fusion", .version = "1.0.0", .license = "Apache-2.0",
                  .description = "FusionStitching: fusion of memory-bound ops with reduction stitching",
                  .components = components)
