/* graph-rewrite.c — rewriting the graph: redirecting uses, pruning, fusing
 * node sets into one node, copying. */
#include "config.h"

#include <string.h>

#include "tl-private.h"
#include "graph-private.h"

void
_tl_priv_graph_renumber (TlGraph *g)
{
  for (guint i = 0; i < g->nodes->len; i++)
    ((TlNode *) g->nodes->pdata[i])->pos = i;
}

/* Replace the node list by `order` (same nodes, no ownership change). */
static void
set_order (TlGraph *g, TlNode **order, guint n)
{
  g_assert (n == g->nodes->len);
  memcpy (g->nodes->pdata, order, sizeof (gpointer) * n);
  _tl_priv_graph_renumber (g);
}

typedef struct {
  TlNode *node;
  guint next_input;
} DfsFrame;

gboolean
_tl_priv_graph_toposort (TlGraph *g)
{
  guint n = g->nodes->len;
  _tl_priv_graph_renumber (g);
  guint8 *state = g_new0 (guint8, n); /* 0 new, 1 on stack, 2 placed */
  TlNode **order = g_new (TlNode *, n);
  DfsFrame *stack = g_new (DfsFrame, n + 1);
  guint n_order = 0;
  gboolean ok = TRUE;

  for (guint i = 0; i < n && ok; i++) {
    TlNode *root = g->nodes->pdata[i];
    if (state[root->pos])
      continue;
    guint sp = 0;
    stack[sp++] = (DfsFrame) { root, 0 };
    state[root->pos] = 1;
    while (sp > 0) {
      DfsFrame *f = &stack[sp - 1];
      if (f->next_input < f->node->n_inputs) {
        TlNode *p = f->node->inputs[f->next_input++]->producer;
        if (!p)
          continue;
        if (state[p->pos] == 1) {
          ok = FALSE;
          break;
        }
        if (state[p->pos] == 0) {
          state[p->pos] = 1;
          stack[sp++] = (DfsFrame) { p, 0 };
        }
      } else {
        state[f->node->pos] = 2;
        order[n_order++] = f->node;
        sp--;
      }
    }
  }
  if (ok)
    set_order (g, order, n);
  g_free (state);
  g_free (order);
  g_free (stack);
  return ok;
}

static gboolean
is_graph_output (const TlGraph *g, const TlValue *v)
{
  for (guint i = 0; i < g->outputs->len; i++)
    if (g_array_index (g->outputs, TlGraphOutput, i).value == v)
      return TRUE;
  return FALSE;
}

/* Is node `target` reachable from the users of `v` (forward)? */
static gboolean
reaches (const TlGraph *g, const TlValue *v, const TlNode *target)
{
  guint8 *seen = g_new0 (guint8, g->nodes->len);
  GPtrArray *queue = g_ptr_array_new ();
  gboolean found = FALSE;
  for (guint i = 0; i < v->users->len; i++)
    g_ptr_array_add (queue, v->users->pdata[i]);
  for (guint qi = 0; qi < queue->len && !found; qi++) {
    TlNode *n = queue->pdata[qi];
    if (seen[n->pos])
      continue;
    seen[n->pos] = 1;
    if (n == target) {
      found = TRUE;
      break;
    }
    if (n->pos > target->pos)
      continue; /* topological order: cannot come back */
    for (guint o = 0; o < n->n_outputs; o++)
      for (guint u = 0; u < n->outputs[o]->users->len; u++)
        g_ptr_array_add (queue, n->outputs[o]->users->pdata[u]);
  }
  g_ptr_array_unref (queue);
  g_free (seen);
  return found;
}

/* Move every use of `old` (node inputs and graph outputs) to `repl`,
 * except uses by nodes for which skip(node) holds. */
static void
move_uses (TlGraph *g, TlValue *old, TlValue *repl, GHashTable *skip)
{
  GPtrArray *users = g_ptr_array_copy (old->users, NULL, NULL);
  for (guint i = 0; i < users->len; i++) {
    TlNode *u = users->pdata[i];
    if (skip && g_hash_table_contains (skip, u))
      continue;
    for (guint j = 0; j < u->n_inputs; j++)
      if (u->inputs[j] == old)
        u->inputs[j] = repl;
    _tl_priv_value_remove_user (old, u);
    _tl_priv_value_add_user (repl, u);
  }
  g_ptr_array_unref (users);
  old->out_name = NULL; /* no longer an output (refresh only visits current outputs) */
  for (guint i = 0; i < g->outputs->len; i++) {
    TlGraphOutput *o = &g_array_index (g->outputs, TlGraphOutput, i);
    if (o->value == old)
      o->value = repl;
  }
  _tl_priv_graph_refresh_out_names (g);
}

/**
 * tl_graph_replace_uses:
 * @g: a graph
 * @old: a value of @g
 * @replacement: a value of @g with the same desc
 * @error: return location for a #GError
 *
 * Makes every user of @old, and every graph output naming it, use
 * @replacement. Refuses when the descs differ (%TL_ERROR_SHAPE) or when
 * @replacement depends on @old (a cycle, %TL_ERROR_INVALID_ARGUMENT).
 * The node order is repaired afterwards.
 *
 * Returns: TRUE on success.
 */
gboolean
tl_graph_replace_uses (TlGraph *g, TlValue *old, TlValue *replacement, GError **error)
{
  if (!g || !old || !replacement || old->graph != g || replacement->graph != g) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "replace_uses: values must belong to the graph");
    return FALSE;
  }
  if (old == replacement)
    return TRUE;
  if (!tl_tensor_desc_equal (&old->desc, &replacement->desc)) {
    g_autofree char *a = tl_tensor_desc_to_string (&old->desc);
    g_autofree char *b = tl_tensor_desc_to_string (&replacement->desc);
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "replace_uses: value %u is %s, replacement %u is %s",
                 old->id, a, replacement->id, b);
    return FALSE;
  }
  if (replacement->producer && reaches (g, old, replacement->producer)) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "replace_uses: value %u depends on value %u: replacing would create a cycle",
                 replacement->id, old->id);
    return FALSE;
  }
  move_uses (g, old, replacement, NULL);
  if (!_tl_priv_graph_toposort (g)) {
    g_set_error (error, TL_ERROR, TL_ERROR_FAILED, "replace_uses: graph has a cycle");
    return FALSE;
  }
  return TRUE;
}

/* Unlink and free the nodes marked in `dead` (indexed by pos). */
static guint
remove_nodes (TlGraph *g, const guint8 *dead)
{
  guint removed = 0;
  for (guint i = 0; i < g->nodes->len; i++) {
    TlNode *n = g->nodes->pdata[i];
    if (!dead[i])
      continue;
    for (guint j = 0; j < n->n_inputs; j++)
      _tl_priv_value_remove_user (n->inputs[j], n);
  }
  GPtrArray *keep = g_ptr_array_new_full (g->nodes->len,
                                          (GDestroyNotify) _tl_priv_node_free);
  for (guint i = 0; i < g->nodes->len; i++) {
    TlNode *n = g->nodes->pdata[i];
    if (dead[i]) {
      _tl_priv_node_free (n);
      removed++;
    } else {
      g_ptr_array_add (keep, n);
    }
  }
  g_ptr_array_set_free_func (g->nodes, NULL);
  g_ptr_array_unref (g->nodes);
  g->nodes = keep;
  _tl_priv_graph_renumber (g);
  return removed;
}

/**
 * tl_graph_prune:
 * @g: a graph
 *
 * Removes nodes none of whose outputs reaches a named graph output. Inputs,
 * params and consts stay.
 *
 * Returns: the number of nodes removed.
 */
guint
tl_graph_prune (TlGraph *g)
{
  if (!g || g->nodes->len == 0)
    return 0;
  guint n = g->nodes->len;
  _tl_priv_graph_renumber (g);
  guint8 *dead = g_new (guint8, n);
  guint n_dead = 0;
  for (guint i = n; i-- > 0;) {
    TlNode *node = g->nodes->pdata[i];
    gboolean live = FALSE;
    for (guint o = 0; o < node->n_outputs && !live; o++) {
      TlValue *v = node->outputs[o];
      if (v->out_name)
        live = TRUE;
      for (guint u = 0; u < v->users->len && !live; u++)
        if (!dead[((TlNode *) v->users->pdata[u])->pos])
          live = TRUE;
    }
    dead[i] = !live;
    n_dead += !live;
  }
  guint removed = n_dead ? remove_nodes (g, dead) : 0;
  g_free (dead);
  return removed;
}

static gboolean
check_node_set (const TlGraph *g, guint n_nodes, TlNode *const *nodes, GHashTable *set,
                GError **error)
{
  if (n_nodes == 0 || !nodes) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "empty node set");
    return FALSE;
  }
  for (guint i = 0; i < n_nodes; i++) {
    TlNode *n = nodes[i];
    if (!n || n->graph != g || n->pos >= g->nodes->len || g->nodes->pdata[n->pos] != n) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "node %u is not in the graph", i);
      return FALSE;
    }
    if (!g_hash_table_add (set, n)) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "node %u (id %u) is listed twice", i,
                   n->id);
      return FALSE;
    }
  }
  return TRUE;
}

/* A path that leaves the set and comes back? */
static gboolean
set_has_cycle (const TlGraph *g, GHashTable *set)
{
  guint max_pos = 0;
  GHashTableIter it;
  gpointer k;
  GPtrArray *queue = g_ptr_array_new ();
  g_hash_table_iter_init (&it, set);
  while (g_hash_table_iter_next (&it, &k, NULL)) {
    TlNode *n = k;
    max_pos = MAX (max_pos, n->pos);
    for (guint o = 0; o < n->n_outputs; o++)
      for (guint u = 0; u < n->outputs[o]->users->len; u++) {
        TlNode *user = n->outputs[o]->users->pdata[u];
        if (!g_hash_table_contains (set, user))
          g_ptr_array_add (queue, user);
      }
  }
  guint8 *seen = g_new0 (guint8, g->nodes->len);
  gboolean cycle = FALSE;
  for (guint qi = 0; qi < queue->len && !cycle; qi++) {
    TlNode *n = queue->pdata[qi];
    if (seen[n->pos])
      continue;
    seen[n->pos] = 1;
    if (g_hash_table_contains (set, n)) {
      cycle = TRUE;
      break;
    }
    if (n->pos > max_pos)
      continue;
    for (guint o = 0; o < n->n_outputs; o++)
      for (guint u = 0; u < n->outputs[o]->users->len; u++)
        g_ptr_array_add (queue, n->outputs[o]->users->pdata[u]);
  }
  g_free (seen);
  g_ptr_array_unref (queue);
  return cycle;
}

/**
 * tl_graph_nodes_fusible:
 * @g: a graph
 * @n_nodes: number of nodes
 * @nodes: (array length=n_nodes): distinct nodes of @g
 *
 * Returns: TRUE when merging @nodes into one node would not create a cycle
 * (no path leaves the set and re-enters it); FALSE also for a bad set.
 */
gboolean
tl_graph_nodes_fusible (const TlGraph *g, guint n_nodes, TlNode *const *nodes)
{
  if (!g)
    return FALSE;
  GHashTable *set = g_hash_table_new (NULL, NULL);
  gboolean ok = check_node_set (g, n_nodes, nodes, set, NULL) && !set_has_cycle (g, set);
  g_hash_table_unref (set);
  return ok;
}

static gint
cmp_pos (gconstpointer a, gconstpointer b)
{
  const TlNode *x = *(TlNode *const *) a, *y = *(TlNode *const *) b;
  return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/**
 * tl_graph_replace_nodes:
 * @g: a graph
 * @n_nodes: number of nodes
 * @nodes: (array length=n_nodes): distinct nodes of @g
 * @op: registered op that computes what the set computed
 * @attrs: (nullable): its attributes (copied)
 * @error: return location for a #GError
 *
 * Replaces the set by one node. Its inputs are the values the set reads
 * from outside, in first-use order (walking the set in node order, each
 * node's inputs in order); its outputs replace, in node order, the set's
 * values that are used outside the set or are graph outputs. The op's
 * inference must yield exactly those descs. Refuses a set with a path that
 * leaves and re-enters it. On failure the graph is unchanged.
 *
 * Returns: (transfer none) (nullable): the new node.
 */
TlNode *
tl_graph_replace_nodes (TlGraph *g, guint n_nodes, TlNode *const *nodes, const char *op,
                        const TlAttrs *attrs, GError **error)
{
  if (!g) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "replace_nodes: graph is NULL");
    return NULL;
  }
  _tl_priv_graph_renumber (g);
  g_autoptr (GHashTable) set = g_hash_table_new (NULL, NULL);
  if (!check_node_set (g, n_nodes, nodes, set, error))
    return NULL;
  if (set_has_cycle (g, set)) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "replace_nodes: a path leaves the set and re-enters it: merging would create a cycle");
    return NULL;
  }
  const TlOpDef *def = tl_op_lookup (op);
  if (!def) {
    g_set_error (error, TL_ERROR, TL_ERROR_NOT_FOUND, "replace_nodes: unknown op '%s'",
                 op ? op : "(null)");
    return NULL;
  }
  g_autoptr (GPtrArray) sorted = g_ptr_array_new ();
  for (guint i = 0; i < n_nodes; i++)
    g_ptr_array_add (sorted, nodes[i]);
  g_ptr_array_sort (sorted, cmp_pos);

  g_autoptr (GPtrArray) ext = g_ptr_array_new ();
  g_autoptr (GPtrArray) outs = g_ptr_array_new ();
  for (guint i = 0; i < sorted->len; i++) {
    TlNode *n = sorted->pdata[i];
    for (guint j = 0; j < n->n_inputs; j++) {
      TlValue *v = n->inputs[j];
      if ((!v->producer || !g_hash_table_contains (set, v->producer)) &&
          !g_ptr_array_find (ext, v, NULL))
        g_ptr_array_add (ext, v);
    }
  }
  for (guint i = 0; i < sorted->len; i++) {
    TlNode *n = sorted->pdata[i];
    for (guint o = 0; o < n->n_outputs; o++) {
      TlValue *v = n->outputs[o];
      gboolean outside = is_graph_output (g, v);
      for (guint u = 0; u < v->users->len && !outside; u++)
        if (!g_hash_table_contains (set, v->users->pdata[u]))
          outside = TRUE;
      if (outside)
        g_ptr_array_add (outs, v);
    }
  }
  TlTensorDesc *ins = g_new (TlTensorDesc, MAX (1, ext->len));
  for (guint i = 0; i < ext->len; i++)
    ins[i] = ((TlValue *) ext->pdata[i])->desc;
  TlTensorDesc out[TL_GRAPH_MAX_OUTPUTS];
  guint n_out = 0;
  gboolean ok = tl_op_infer (def, ext->len, ins, attrs, TL_GRAPH_MAX_OUTPUTS, out, &n_out, error);
  g_free (ins);
  if (!ok) {
    g_prefix_error (error, "replace_nodes: ");
    return NULL;
  }
  if (n_out != outs->len) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                 "replace_nodes: op '%s' gives %u outputs, the set exposes %u", def->name, n_out,
                 outs->len);
    return NULL;
  }
  for (guint i = 0; i < n_out; i++) {
    TlValue *v = outs->pdata[i];
    if (!tl_tensor_desc_equal (&out[i], &v->desc)) {
      g_autofree char *a = tl_tensor_desc_to_string (&out[i]);
      g_autofree char *b = tl_tensor_desc_to_string (&v->desc);
      g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                   "replace_nodes: op '%s' output %u is %s, the set's value %u is %s", def->name, i,
                   a, v->id, b);
      return NULL;
    }
  }

  /* commit */
  TlNode *first = sorted->pdata[0];
  guint first_pos = first->pos;
  TlNode *nn = _tl_priv_graph_add_node (g, def, ext->len, (TlValue *const *) ext->pdata, attrs,
                                        n_out, out);
  for (guint i = 0; i < n_out; i++)
    move_uses (g, outs->pdata[i], nn->outputs[i], set);

  /* new order: the new node where the first set node was */
  guint n = g->nodes->len;
  TlNode **order = g_new (TlNode *, n);
  guint k = 0;
  for (guint i = 0; i + 1 < n; i++) {
    if (i == first_pos)
      order[k++] = nn;
    TlNode *x = g->nodes->pdata[i];
    if (!g_hash_table_contains (set, x))
      order[k++] = x;
  }
  for (guint i = 0; i < sorted->len; i++)
    order[k++] = sorted->pdata[i]; /* to be removed */
  set_order (g, order, n);
  g_free (order);
  guint8 *dead = g_new0 (guint8, n);
  for (guint i = n - sorted->len; i < n; i++)
    dead[i] = 1;
  remove_nodes (g, dead);
  g_free (dead);
  if (!_tl_priv_graph_toposort (g))
    g_critical ("replace_nodes: internal error: cycle after a checked rewrite");
  return nn;
}

/**
 * tl_graph_copy:
 * @g: a graph
 * @error: return location for a #GError
 *
 * Deep copy keeping node and value ids; params and consts share their
 * tensors; attrs, annotations, outputs and a recorded error are copied.
 *
 * Returns: (transfer full) (nullable): the copy.
 */
TlGraph *
tl_graph_copy (const TlGraph *g, GError **error)
{
  if (!g) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "tl_graph_copy: graph is NULL");
    return NULL;
  }
  TlGraph *c = tl_graph_new ();
  g_clear_error (&c->error);
  TlValue **map = g_new0 (TlValue *, MAX (1, g->next_value_id));
  for (guint i = 0; i < g->leaves->len; i++) {
    TlValue *v = g->leaves->pdata[i];
    TlValue *nv = _tl_priv_value_new (c, v->kind, &v->desc);
    nv->id = v->id;
    nv->name = g_strdup (v->name);
    nv->tensor = v->tensor ? tl_tensor_ref (v->tensor) : NULL;
    g_ptr_array_add (c->leaves, nv);
    if (v->kind == TL_VALUE_INPUT) {
      g_ptr_array_add (c->inputs, nv);
      g_hash_table_insert (c->input_by_name, nv->name, nv);
    } else if (v->kind == TL_VALUE_PARAM) {
      g_ptr_array_add (c->params, nv);
      g_hash_table_insert (c->param_by_name, nv->name, nv);
    }
    map[v->id] = nv;
  }
  /* keep the input/param list order of the original */
  g_ptr_array_set_size (c->inputs, 0);
  for (guint i = 0; i < g->inputs->len; i++)
    g_ptr_array_add (c->inputs, map[((TlValue *) g->inputs->pdata[i])->id]);
  g_ptr_array_set_size (c->params, 0);
  for (guint i = 0; i < g->params->len; i++)
    g_ptr_array_add (c->params, map[((TlValue *) g->params->pdata[i])->id]);

  GPtrArray *ins = g_ptr_array_new ();
  for (guint i = 0; i < g->nodes->len; i++) {
    TlNode *n = g->nodes->pdata[i];
    g_ptr_array_set_size (ins, 0);
    for (guint j = 0; j < n->n_inputs; j++)
      g_ptr_array_add (ins, map[n->inputs[j]->id]);
    TlTensorDesc *descs = g_new (TlTensorDesc, n->n_outputs);
    for (guint o = 0; o < n->n_outputs; o++)
      descs[o] = n->outputs[o]->desc;
    TlNode *nn = _tl_priv_graph_add_node (c, n->def, n->n_inputs, (TlValue *const *) ins->pdata,
                                          n->attrs, n->n_outputs, descs);
    g_free (descs);
    nn->id = n->id;
    tl_attrs_free (nn->annotations);
    nn->annotations = tl_attrs_copy (n->annotations);
    for (guint o = 0; o < n->n_outputs; o++) {
      nn->outputs[o]->id = n->outputs[o]->id;
      map[n->outputs[o]->id] = nn->outputs[o];
    }
  }
  g_ptr_array_unref (ins);
  for (guint i = 0; i < g->outputs->len; i++) {
    TlGraphOutput *o = &g_array_index (g->outputs, TlGraphOutput, i);
    TlGraphOutput no = { g_strdup (o->name), map[o->value->id] };
    g_array_append_val (c->outputs, no);
  }
  _tl_priv_graph_refresh_out_names (c);
  c->next_node_id = g->next_node_id;
  c->next_value_id = g->next_value_id;
  if (g->error)
    c->error = g_error_copy (g->error);
  g_free (map);
  return c;
}
