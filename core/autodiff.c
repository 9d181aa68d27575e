/* autodiff.c — reverse-mode differentiation on the graph IR: appends the
 * backward graph built from each op's backward rule. */
#include "config.h"

#include <string.h>

#include "tl-private.h"
#include "graph-private.h"

/* Ones shaped like v: the "ones_like" op when registered, else a constant. */
static TlValue *
ones_like (TlGraph *g, TlValue *v)
{
  if (tl_op_lookup ("ones_like"))
    return tl_graph_op (g, "ones_like", 1, &v, NULL);
  GError *e = NULL;
  TlTensor *t = tl_tensor_new_from_desc (&v->desc, &e);
  if (!t) {
    tl_graph_set_error (g, e);
    return NULL;
  }
  tl_tensor_fill (t, 1.0);
  TlValue *c = tl_graph_const (g, t);
  tl_tensor_unref (t);
  return c;
}

static gboolean
fail_from_graph (TlGraph *g, GError **error)
{
  GError *e = _tl_priv_graph_peek_error (g);
  if (!e)
    e = g_error_new (TL_ERROR, TL_ERROR_FAILED, "autodiff failed");
  g_propagate_prefixed_error (error, e, "autodiff: ");
  return FALSE;
}

/* Add `contrib` to grads[v]. */
static gboolean
accumulate (TlGraph *g, TlValue **grads, TlValue *v, TlValue *contrib, const TlNode *from,
            GError **error)
{
  if (!tl_tensor_desc_equal (&contrib->desc, &v->desc)) {
    g_autofree char *a = tl_tensor_desc_to_string (&contrib->desc);
    g_autofree char *b = tl_tensor_desc_to_string (&v->desc);
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                 "autodiff: op '%s' (node %u) gave a gradient %s for a value %s", from->def->name,
                 from->id, a, b);
    return FALSE;
  }
  if (!grads[v->id]) {
    grads[v->id] = contrib;
    return TRUE;
  }
  TlValue *pair[2] = { grads[v->id], contrib };
  TlValue *sum = tl_graph_op (g, "add", 2, pair, NULL);
  if (!sum)
    return fail_from_graph (g, error);
  grads[v->id] = sum;
  return TRUE;
}

/**
 * tl_autodiff:
 * @g: a graph without a recorded error
 * @loss: the value to differentiate (seeded with ones of its shape)
 * @n_wrt: number of values to differentiate with respect to
 * @wrt: (array length=n_wrt): values of @g
 * @grads: (array length=n_wrt) (out caller-allocates): gradient values, NULL
 *   where @loss does not depend on the value
 * @error: return location for a #GError
 *
 * Walks the nodes between @wrt and @loss in reverse order, calls each op's
 * backward rule and sums multiple contributions with "add". Fails when an op
 * on such a path has no backward rule (naming it); ops flagged
 * %TL_OP_NONDIFF pass no gradient.
 *
 * Returns: TRUE on success.
 */
gboolean
tl_autodiff (TlGraph *g, TlValue *loss, guint n_wrt, TlValue *const *wrt, TlValue **grads,
             GError **error)
{
  if (!g || !loss || loss->graph != g || (n_wrt > 0 && (!wrt || !grads))) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "autodiff: bad arguments");
    return FALSE;
  }
  for (guint i = 0; i < n_wrt; i++) {
    grads[i] = NULL;
    if (!wrt[i] || wrt[i]->graph != g) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "autodiff: wrt[%u] is NULL or from another graph", i);
      return FALSE;
    }
  }
  if (g->error)
    return fail_from_graph (g, error);

  _tl_priv_graph_renumber (g);
  guint n_nodes = g->nodes->len; /* the forward part: nodes added below come later */
  guint n_ids = g->next_value_id;
  /* from_wrt: value depends on some wrt value */
  guint8 *from_wrt = g_new0 (guint8, n_ids);
  for (guint i = 0; i < n_wrt; i++)
    from_wrt[wrt[i]->id] = 1;
  for (guint i = 0; i < n_nodes; i++) {
    TlNode *n = g->nodes->pdata[i];
    gboolean dep = FALSE;
    for (guint j = 0; j < n->n_inputs && !dep; j++)
      dep = from_wrt[n->inputs[j]->id];
    if (dep)
      for (guint o = 0; o < n->n_outputs; o++)
        from_wrt[n->outputs[o]->id] = 1;
  }
  TlValue **g_of = g_new0 (TlValue *, n_ids);
  gboolean ok = TRUE;
  if (from_wrt[loss->id]) {
    TlValue *seed = ones_like (g, loss);
    if (!seed)
      ok = fail_from_graph (g, error);
    g_of[loss->id] = seed;
  }
  guint max_in = 1, max_out = 1;
  for (guint i = 0; i < n_nodes; i++) {
    TlNode *n = g->nodes->pdata[i];
    max_in = MAX (max_in, n->n_inputs);
    max_out = MAX (max_out, n->n_outputs);
  }
  TlValue **gout = g_new0 (TlValue *, max_out);
  TlValue **gin = g_new0 (TlValue *, max_in);

  for (guint i = n_nodes; ok && i-- > 0;) {
    TlNode *n = g->nodes->pdata[i];
    gboolean has_grad = FALSE, wants = FALSE;
    for (guint o = 0; o < n->n_outputs; o++) {
      gout[o] = g_of[n->outputs[o]->id];
      has_grad |= gout[o] != NULL;
    }
    for (guint j = 0; j < n->n_inputs; j++)
      wants |= from_wrt[n->inputs[j]->id];
    if (!has_grad || !wants)
      continue;
    if (n->def->flags & TL_OP_NONDIFF)
      continue;
    if (!TL_TABLE_HAS (n->def, TlOpDef, backward, 0) || !n->def->backward) {
      g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                   "autodiff: op '%s' (node %u) has no backward rule but a gradient must flow "
                   "through it",
                   n->def->name, n->id);
      ok = FALSE;
      break;
    }
    memset (gin, 0, sizeof (TlValue *) * max_in);
    GError *e = NULL;
    if (!n->def->backward (g, n, gout, gin, &e)) {
      if (!e)
        e = _tl_priv_graph_peek_error (g);
      if (!e)
        e = g_error_new (TL_ERROR, TL_ERROR_FAILED, "backward failed");
      g_propagate_prefixed_error (error, e, "autodiff: op '%s' (node %u): ", n->def->name, n->id);
      ok = FALSE;
      break;
    }
    g_clear_error (&e);
    if (g->error) {
      ok = fail_from_graph (g, error);
      break;
    }
    for (guint j = 0; j < n->n_inputs && ok; j++) {
      TlValue *v = n->inputs[j];
      if (!gin[j] || !from_wrt[v->id])
        continue;
      if (gin[j]->graph != g) {
        g_set_error (error, TL_ERROR, TL_ERROR_FAILED,
                     "autodiff: op '%s' backward returned a value of another graph", n->def->name);
        ok = FALSE;
        break;
      }
      ok = accumulate (g, g_of, v, gin[j], n, error);
    }
  }
  if (ok)
    for (guint i = 0; i < n_wrt; i++)
      grads[i] = g_of[wrt[i]->id];
  g_free (gout);
  g_free (gin);
  g_free (g_of);
  g_free (from_wrt);
  return ok;
}
