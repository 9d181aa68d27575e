/* plan-io.c — fusion plans: building the TlPlan (items of kind "group" with
 * the node ids, ops, stitching scheme and estimated gain; plan attributes
 * with the objective and the kernel/byte estimates before and after),
 * applying it with tl_graph_replace_nodes(), statistics and the DOT picture
 * with groups coloured. */
#include <math.h>
#include <string.h>

#include "fusion-private.h"

/**
 * fusion_graph_stats:
 * @g: a graph
 * @st: (out): kernels (nodes) and bytes moved (shared cost model)
 */
void
fusion_graph_stats (const TlGraph *g, FusionStats *st)
{
  st->kernels_before = st->kernels_after = tl_graph_n_nodes (g);
  st->bytes_before = st->bytes_after = 0;
  for (guint i = 0; i < tl_graph_n_nodes (g); i++)
    st->bytes_before += fusion_node_bytes (tl_graph_node (g, i));
  st->bytes_after = st->bytes_before;
}

static char *
group_ops (FusionCtx *ctx, const GArray *s)
{
  GString *str = g_string_new (NULL);
  for (guint j = 0; j < s->len; j++)
    g_string_append_printf (str, "%s%s", j ? "," : "", tl_node_op (fusion_ctx_node (ctx, g_array_index (s, guint, j))));
  return g_string_free (str, FALSE);
}

/**
 * fusion_make_plan:
 * @planner: the planner's full name
 * @ctx: the exploration context of the planned graph
 * @groups: groups from fusion_explore()
 * @objective: their objective
 * @mode: "stitch" or "baseline"
 *
 * Returns: (transfer full): the plan.
 */
TlPlan *
fusion_make_plan (const char *planner, FusionCtx *ctx, GPtrArray *groups, double objective,
                  const char *mode)
{
  TlPlan *plan = tl_plan_new (planner);
  TlAttrs *pa = tl_plan_attrs (plan);
  double bytes = 0, saved = 0;
  guint fused_nodes = 0;
  for (guint i = 0; i < fusion_ctx_n_nodes (ctx); i++)
    bytes += fusion_node_bytes (fusion_ctx_node (ctx, i));
  for (guint gi = 0; gi < groups->len; gi++) {
    GArray *s = groups->pdata[gi];
    const guint *pos = (const guint *) s->data;
    TlAttrs *it = tl_plan_add_item (plan, "group");
    g_autofree gint64 *ids = g_new (gint64, s->len);
    for (guint j = 0; j < s->len; j++)
      ids[j] = tl_node_id (fusion_ctx_node (ctx, pos[j]));
    tl_attrs_set_int (it, "id", gi);
    tl_attrs_set_ints (it, "nodes", s->len, ids);
    g_autofree char *ops = group_ops (ctx, s);
    tl_attrs_set_string (it, "ops", ops);
    tl_attrs_set_string (it, "scheme", fusion_group_scheme (ctx, s));
    tl_attrs_set_float (it, "gain_us", fusion_ctx_gain (ctx, s->len, pos));
    double unfused, fused;
    if (fusion_ctx_group_bytes (ctx, s->len, pos, &unfused, &fused))
      saved += unfused - fused;
    fused_nodes += s->len;
  }
  tl_attrs_set_string (pa, "mode", mode);
  tl_attrs_set_float (pa, "objective_us", objective);
  tl_attrs_set_int (pa, "groups", groups->len);
  tl_attrs_set_int (pa, "kernels_before", fusion_ctx_n_nodes (ctx));
  tl_attrs_set_int (pa, "kernels_after", fusion_ctx_n_nodes (ctx) - fused_nodes + groups->len);
  tl_attrs_set_float (pa, "bytes_before", bytes);
  tl_attrs_set_float (pa, "bytes_after", bytes - saved);
  return plan;
}

static GHashTable *
nodes_by_id (TlGraph *g)
{
  GHashTable *h = g_hash_table_new (NULL, NULL);
  for (guint i = 0; i < tl_graph_n_nodes (g); i++) {
    TlNode *n = tl_graph_node (g, i);
    g_hash_table_insert (h, GUINT_TO_POINTER (tl_node_id (n)), GUINT_TO_POINTER (i + 1));
  }
  return h;
}

/* Nodes of a group item in graph order; NULL with an error when the plan
 * does not match the graph. */
static TlNode **
item_nodes (TlGraph *g, const TlAttrs *it, guint *n, GError **error)
{
  g_autoptr (GHashTable) by_id = nodes_by_id (g);
  const gint64 *ids = tl_attrs_get_ints (it, "nodes", n);
  if (*n == 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "fusion plan: group %" G_GINT64_FORMAT " has no nodes",
                 tl_attrs_get_int (it, "id", -1));
    return NULL;
  }
  g_autofree guint *pos = g_new (guint, *n);
  for (guint j = 0; j < *n; j++) {
    guint p = GPOINTER_TO_UINT (g_hash_table_lookup (by_id, GUINT_TO_POINTER ((guint) ids[j])));
    if (!p || ids[j] < 0) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "fusion plan: node id %" G_GINT64_FORMAT " of group %" G_GINT64_FORMAT
                   " is not in the graph (plan made for another graph?)",
                   ids[j], tl_attrs_get_int (it, "id", -1));
      return NULL;
    }
    pos[j] = p - 1;
  }
  for (guint a = 1; a < *n; a++) /* insertion sort by position */
    for (guint b = a; b > 0 && pos[b - 1] > pos[b]; b--) {
      guint t = pos[b];
      pos[b] = pos[b - 1];
      pos[b - 1] = t;
    }
  TlNode **nodes = g_new (TlNode *, *n);
  for (guint j = 0; j < *n; j++)
    nodes[j] = tl_graph_node (g, pos[j]);
  return nodes;
}

/**
 * fusion_apply_plan:
 * @plan: a fusion plan
 * @g: the graph it was made for
 * @rewrite: replace each group by a "fusion.fused" node (else only annotate
 *   the members with TL_ANNOT_FUSION_GROUP)
 * @n_fused: (out) (optional): groups actually fused
 * @error: return location for a #GError
 *
 * A group that cannot be fused (its program is refused, or the rewrite would
 * create a cycle) stays unfused: that is a fallback, not a failure. Only a
 * plan that does not match the graph fails.
 *
 * Returns: TRUE on success.
 */
gboolean
fusion_apply_plan (const TlPlan *plan, TlGraph *g, gboolean rewrite, guint *n_fused, GError **error)
{
  guint fused = 0;
  for (guint i = 0; i < tl_plan_n_items (plan); i++) {
    if (g_strcmp0 (tl_plan_item_kind (plan, i), "group") != 0)
      continue;
    const TlAttrs *it = tl_plan_item (plan, i);
    gint64 id = tl_attrs_get_int (it, "id", i);
    guint n = 0;
    g_autofree TlNode **nodes = item_nodes (g, it, &n, error);
    if (!nodes)
      return FALSE;
    if (!rewrite) {
      for (guint j = 0; j < n; j++)
        tl_attrs_set_int (tl_node_annotations (nodes[j]), TL_ANNOT_FUSION_GROUP, id);
      fused++;
      continue;
    }
    g_autoptr (GHashTable) outs = fusion_graph_outputs (g);
    g_autoptr (GError) local = NULL;
    g_autoptr (FusionProgram) p = fusion_group_program (g, n, nodes, outs, &local);
    TlNode *nn = NULL;
    if (p) {
      g_autoptr (TlAttrs) a = tl_attrs_new ();
      fusion_program_to_attrs (p, a);
      tl_attrs_set_int (a, "fusion.group", id);
      tl_attrs_set_string (a, "fusion.scheme", tl_attrs_get_string (it, "scheme", "thread"));
      tl_attrs_set_string (a, "fusion.cpu", tl_attrs_get_string (tl_plan_get_attrs (plan), "cpu", "interp"));
      nn = tl_graph_replace_nodes (g, n, nodes, fusion_fused_op.name, a, &local);
    }
    if (!nn) {
      g_debug ("fusion: group %" G_GINT64_FORMAT " stays unfused: %s", id, local ? local->message : "?");
      continue;
    }
    tl_attrs_set_int (tl_node_annotations (nn), TL_ANNOT_FUSION_GROUP, id);
    fused++;
  }
  if (n_fused)
    *n_fused = fused;
  return TRUE;
}

/**
 * fusion_plan_to_dot:
 * @g: the graph the plan was made for (not modified)
 * @plan: a fusion plan
 *
 * Returns: (transfer full) (nullable): DOT of @g with each group's nodes
 * coloured by group.
 */
char *
fusion_plan_to_dot (const TlGraph *g, const TlPlan *plan)
{
  TlGraph *c = tl_graph_copy (g, NULL);
  char *dot = c && fusion_apply_plan (plan, c, FALSE, NULL, NULL) ? tl_graph_to_dot (c, TL_ANNOT_FUSION_GROUP) : NULL;
  tl_graph_unref (c);
  return dot;
}
