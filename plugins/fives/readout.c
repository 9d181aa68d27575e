/* readout.c — the interactions FIVES learned, as explicit cross features.
 *
 * From a trained fives.fives parameter store: the soft adjacencies
 * A(1) = offdiag * sigmoid(c H(1) / tau), A(k) = A(k-1) * sigmoid(c H(k) / tau)
 * at the final temperature, binarised at `threshold`. Node i's state at
 * layer k is e_i times one neighbour per layer, so every chain
 * i -(layer 1)- j1 -(layer 2)- j2 ... with binarised edges A(l)_{i,jl}
 * and distinct fields is the cross feature {i, j1, ..., jk} of order k + 1,
 * scored by the product of its edges' soft values. Crosses are
 * deduplicated (best score kept) and sorted by order, then score; at most
 * MAX_CROSSES are enumerated (a dense graph of many layers explodes).
 */
#include <math.h>
#include <string.h>

#include "fives-private.h"

/* Bound on the crosses a (dense) learned graph can produce. */
#define MAX_CROSSES 100000

typedef struct {
  guint F;
  guint layers;
  char **names;  /* borrowed from the store's parameter names */
  double *adj;   /* [layers, F, F] soft adjacency */
  double *logit; /* [layers, F, F] min over layers <= k of c H / tau: the weakest gate */
} Graph;

static void
graph_clear (Graph *gr)
{
  g_free (gr->names);
  g_free (gr->adj);
  g_free (gr->logit);
}

static gboolean
graph_load (TlParamStore *store, double h_scale, Graph *gr, GError **error)
{
  memset (gr, 0, sizeof *gr);
  GPtrArray *names = g_ptr_array_new ();
  for (guint i = 0; i < tl_param_store_size (store); i++) {
    const char *n = tl_param_store_name (store, i);
    if (g_str_has_prefix (n, "emb."))
      g_ptr_array_add (names, (gpointer) (n + strlen ("emb.")));
  }
  gr->F = names->len;
  g_ptr_array_add (names, NULL);
  gr->names = (char **) g_ptr_array_free (names, FALSE);
  TlTensor *ti = tl_param_store_lookup (store, "search.tau_inv");
  double tau_inv = ti ? tl_tensor_get_flat (ti, 0) : 1.0;
  while (TRUE) {
    g_autofree char *hn = g_strdup_printf ("search.H%u", gr->layers + 1);
    if (!tl_param_store_lookup (store, hn))
      break;
    gr->layers++;
  }
  if (gr->F < 2 || gr->layers == 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "not a trained fives.fives model (no embeddings or adjacency logits search.H1)");
    graph_clear (gr);
    return FALSE;
  }
  guint F = gr->F;
  gr->adj = g_new0 (double, (gsize) gr->layers * F * F);
  gr->logit = g_new0 (double, (gsize) gr->layers * F * F);
  for (guint k = 0; k < gr->layers; k++) {
    g_autofree char *hn = g_strdup_printf ("search.H%u", k + 1);
    TlTensor *h = tl_param_store_lookup (store, hn);
    if (tl_tensor_numel (h) != (gint64) F * F) {
      g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "%s has %" G_GINT64_FORMAT " values, expected %u x %u",
                   hn, tl_tensor_numel (h), F, F);
      graph_clear (gr);
      return FALSE;
    }
    for (guint i = 0; i < F; i++)
      for (guint j = 0; j < F; j++) {
        double z = h_scale * tau_inv * tl_tensor_get_flat (h, (gint64) i * F + j);
        double gate = 1.0 / (1.0 + exp (-z));
        double prev = k == 0 ? (i == j ? 0.0 : 1.0) : gr->adj[((gsize) (k - 1) * F + i) * F + j];
        double prev_z = k == 0 ? (i == j ? -HUGE_VAL : HUGE_VAL) : gr->logit[((gsize) (k - 1) * F + i) * F + j];
        gr->adj[((gsize) k * F + i) * F + j] = prev * gate;
        gr->logit[((gsize) k * F + i) * F + j] = MIN (prev_z, z);
      }
  }
  return TRUE;
}

static double
adj (const Graph *gr, guint layer, guint i, guint j)
{
  return gr->adj[((gsize) layer * gr->F + i) * gr->F + j];
}

typedef struct {
  const Graph *gr;
  double threshold;
  GHashTable *seen; /* key "i,j,k" sorted -> FivesCross* */
  GPtrArray *out;
} Walk;

static int
cmp_uint (const void *a, const void *b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;
  return x < y ? -1 : x > y;
}

static void
emit (Walk *w, const guint *chain, guint len, double score, guint layer)
{
  guint sorted[8];
  memcpy (sorted, chain, len * sizeof (guint));
  qsort (sorted, len, sizeof (guint), cmp_uint);
  GString *key = g_string_new (NULL);
  for (guint i = 0; i < len; i++)
    g_string_append_printf (key, "%u,", sorted[i]);
  FivesCross *c = g_hash_table_lookup (w->seen, key->str);
  if (c) {
    if (score > c->score)
      c->score = score;
    g_string_free (key, TRUE);
    return;
  }
  c = g_new0 (FivesCross, 1);
  c->order = len;
  c->layer = layer;
  c->score = score;
  for (guint i = 0; i < len; i++) {
    c->fields[i] = sorted[i];
    c->names[i] = g_strdup (w->gr->names[sorted[i]]);
  }
  g_hash_table_insert (w->seen, g_string_free (key, FALSE), c);
  g_ptr_array_add (w->out, c);
}

static void
walk (Walk *w, guint *chain, guint len, double score)
{
  guint layer = len - 1; /* next layer index (0-based) */
  if (layer >= w->gr->layers || len >= 7 || w->out->len >= MAX_CROSSES)
    return;
  guint i = chain[0];
  for (guint j = 0; j < w->gr->F; j++) {
    double a = adj (w->gr, layer, i, j);
    if (a <= w->threshold)
      continue;
    gboolean dup = FALSE;
    for (guint k = 0; k < len; k++)
      dup = dup || chain[k] == j;
    if (dup)
      continue;
    chain[len] = j;
    emit (w, chain, len + 1, score * a, layer + 1);
    walk (w, chain, len + 1, score * a);
  }
}

static int
cmp_cross (gconstpointer a, gconstpointer b)
{
  const FivesCross *x = *(FivesCross *const *) a, *y = *(FivesCross *const *) b;
  if (x->order != y->order)
    return x->order < y->order ? -1 : 1;
  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  for (guint i = 0; i < x->order; i++)
    if (x->fields[i] != y->fields[i])
      return x->fields[i] < y->fields[i] ? -1 : 1;
  return 0;
}

/**
 * fives_readout:
 * @store: a trained fives.fives parameter store
 * @opts: binarisation threshold, limits and the model's arch_lr_scale
 * @error: return location for a #GError
 *
 * Returns: (transfer full): FivesCross* sorted by order, then score
 * (descending), or NULL with @error set.
 */
GPtrArray *
fives_readout (TlParamStore *store, const FivesReadoutOptions *opts, GError **error)
{
  Graph gr;
  if (!graph_load (store, opts->h_scale, &gr, error))
    return NULL;
  Walk w = {
    .gr = &gr,
    .threshold = opts->threshold,
    .seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
    .out = g_ptr_array_new_with_free_func ((GDestroyNotify) fives_cross_free),
  };
  guint chain[8];
  for (guint i = 0; i < gr.F; i++) {
    chain[0] = i;
    walk (&w, chain, 1, 1.0);
  }
  g_hash_table_unref (w.seen);
  g_ptr_array_sort (w.out, cmp_cross);
  /* limits per order */
  GPtrArray *kept = g_ptr_array_new_with_free_func ((GDestroyNotify) fives_cross_free);
  guint n_order[8] = { 0 };
  for (guint i = 0; i < w.out->len; i++) {
    FivesCross *c = w.out->pdata[i];
    guint limit = c->order == 2 ? opts->max_pairs : opts->max_triples;
    if (limit == 0 || n_order[c->order] < limit) {
      n_order[c->order]++;
      g_ptr_array_add (kept, c);
      w.out->pdata[i] = NULL;
    }
  }
  g_ptr_array_unref (w.out);
  graph_clear (&gr);
  return kept;
}

/**
 * fives_readout_to_tsv:
 * @crosses: FivesCross*
 *
 * Returns: (transfer full): "order fields score layer" lines with a header;
 * the fields column ("a+b+c") is what fives.lr's crosses / crosses_file read.
 */
char *
fives_readout_to_tsv (GPtrArray *crosses)
{
  GString *s = g_string_new ("order\tfields\tscore\tlayer\n");
  for (guint i = 0; i < crosses->len; i++) {
    FivesCross *c = crosses->pdata[i];
    g_autofree char *spec = g_strjoinv ("+", c->names);
    g_string_append_printf (s, "%u\t%s\t%.6f\t%u\n", c->order, spec, c->score, c->layer);
  }
  return g_string_free (s, FALSE);
}

typedef struct {
  guint i, j;
  double score, logit;
} Edge;

static int
cmp_edge (const void *a, const void *b)
{
  const Edge *x = a, *y = b;
  if (x->logit != y->logit)
    return x->logit > y->logit ? -1 : 1;
  if (x->i != y->i)
    return x->i < y->i ? -1 : 1;
  return x->j < y->j ? -1 : x->j > y->j;
}

/**
 * fives_readout_edges_tsv:
 * @store: a trained fives.fives parameter store
 * @layer: 1-based layer
 * @opts: options (h_scale)
 *
 * An edge {i, j} is scored in both directions (i's neighbour j, j's
 * neighbour i): score is the mean of A_ij and A_ji, and edges are ranked by
 * the mean of the two logits (each the weakest gate c H / tau on the way to
 * layer k), which does not saturate like the soft score.
 *
 * Returns: (transfer full) (nullable): "rank field_a field_b score logit"
 * lines, strongest first; NULL when the store has no such layer.
 */
char *
fives_readout_edges_tsv (TlParamStore *store, guint layer, const FivesReadoutOptions *opts)
{
  Graph gr;
  if (layer < 1 || !graph_load (store, opts->h_scale, &gr, NULL))
    return NULL;
  if (layer > gr.layers) {
    graph_clear (&gr);
    return NULL;
  }
  GArray *edges = g_array_new (FALSE, FALSE, sizeof (Edge));
  for (guint i = 0; i < gr.F; i++)
    for (guint j = i + 1; j < gr.F; j++) {
      gsize ij = ((gsize) (layer - 1) * gr.F + i) * gr.F + j, ji = ((gsize) (layer - 1) * gr.F + j) * gr.F + i;
      Edge e = { i, j, 0.5 * (gr.adj[ij] + gr.adj[ji]), 0.5 * (gr.logit[ij] + gr.logit[ji]) };
      g_array_append_val (edges, e);
    }
  qsort (edges->data, edges->len, sizeof (Edge), cmp_edge);
  GString *s = g_string_new ("rank\tfield_a\tfield_b\tscore\tlogit\n");
  for (guint k = 0; k < edges->len; k++) {
    Edge *e = &g_array_index (edges, Edge, k);
    g_string_append_printf (s, "%u\t%s\t%s\t%.6f\t%.4f\n", k + 1, gr.names[e->i], gr.names[e->j], e->score,
                            e->logit);
  }
  g_array_unref (edges);
  graph_clear (&gr);
  return g_string_free (s, FALSE);
}
