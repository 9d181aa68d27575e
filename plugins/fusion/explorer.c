/* explorer.c — the FusionStitching explorer (arXiv:2009.10924, section 4):
 *
 *  1. per node, in topological order, an approximate dynamic programme keeps
 *     the top-k candidate patterns containing the node, built from the
 *     node plus any combination of its fusible producers' candidates;
 *  2. a beam search over the nodes in reverse topological order builds the
 *     global plan from non-overlapping candidates (a candidate that overlaps
 *     the groups chosen so far is trimmed), keeping the `beam` best partial
 *     plans, each acyclic;
 *  3. a greedy pass merges pairs of groups (connected or not: non-adjacent
 *     fusion, i.e. kernel packing) while that raises the objective and keeps
 *     the quotient graph acyclic.
 *
 * The objective of a plan is the sum over its groups of
 *   saved bytes / bandwidth + saved launches * launch cost - pressure penalty
 * (cost.c), in microseconds; a group must be a valid fused program
 * (pattern.c). The rule-based baseline fuses producer-consumer edges of
 * elementwise nodes whenever the result stays valid and acyclic. */
#include <math.h>
#include <string.h>

#include "fusion-private.h"

struct _FusionCtx {
  const TlGraph *g;
  guint n;
  TlNode **nodes;
  GArray **preds; /* unique producer positions */
  guint8 *fusible;
  GHashTable *outputs;
  FusionExploreOptions opts;
  GHashTable *memo; /* "p,q,..." -> double* */
  gboolean check_joint; /* joint acyclicity inside the beam (small graphs) */
};

/**
 * fusion_ctx_new:
 * @g: the graph (not modified; must outlive the context)
 * @opts: explorer options
 *
 * Returns: (transfer full): an exploration context.
 */
FusionCtx *
fusion_ctx_new (const TlGraph *g, const FusionExploreOptions *opts)
{
  FusionCtx *ctx = g_new0 (FusionCtx, 1);
  ctx->g = g;
  ctx->opts = *opts;
  ctx->n = tl_graph_n_nodes (g);
  ctx->nodes = g_new0 (TlNode *, MAX (1, ctx->n));
  ctx->preds = g_new0 (GArray *, MAX (1, ctx->n));
  ctx->fusible = g_new0 (guint8, MAX (1, ctx->n));
  g_autoptr (GHashTable) pos = g_hash_table_new (NULL, NULL);
  for (guint i = 0; i < ctx->n; i++) {
    ctx->nodes[i] = tl_graph_node (g, i);
    g_hash_table_insert (pos, ctx->nodes[i], GUINT_TO_POINTER (i + 1));
    ctx->fusible[i] = fusion_node_fusible (ctx->nodes[i], opts->baseline);
  }
  for (guint i = 0; i < ctx->n; i++) {
    ctx->preds[i] = g_array_new (FALSE, FALSE, sizeof (guint));
    for (guint j = 0; j < tl_node_n_inputs (ctx->nodes[i]); j++) {
      TlNode *p = tl_value_producer (tl_node_input (ctx->nodes[i], j));
      guint k = p ? GPOINTER_TO_UINT (g_hash_table_lookup (pos, p)) : 0;
      gboolean dup = FALSE;
      for (guint q = 0; q < ctx->preds[i]->len && k; q++)
        dup |= g_array_index (ctx->preds[i], guint, q) == k - 1;
      if (k && !dup) {
        guint v = k - 1;
        g_array_append_val (ctx->preds[i], v);
      }
    }
  }
  ctx->outputs = fusion_graph_outputs (g);
  ctx->memo = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  ctx->check_joint = ctx->n <= 3000;
  return ctx;
}

/** fusion_ctx_free: frees @ctx (NULL-safe). */
void
fusion_ctx_free (FusionCtx *ctx)
{
  if (!ctx)
    return;
  for (guint i = 0; i < ctx->n; i++)
    if (ctx->preds[i])
      g_array_unref (ctx->preds[i]);
  g_free (ctx->preds);
  g_free (ctx->nodes);
  g_free (ctx->fusible);
  g_hash_table_unref (ctx->outputs);
  g_hash_table_unref (ctx->memo);
  g_free (ctx);
}

guint
fusion_ctx_n_nodes (const FusionCtx *ctx)
{
  return ctx->n;
}

TlNode *
fusion_ctx_node (const FusionCtx *ctx, guint pos)
{
  return ctx->nodes[pos];
}

gboolean
fusion_ctx_fusible (const FusionCtx *ctx, guint pos)
{
  return ctx->fusible[pos];
}

/**
 * fusion_ctx_group_bytes:
 * @ctx: a context
 * @n: number of nodes
 * @pos: (array length=n): sorted node positions
 * @unfused: (out): bytes the nodes move as separate kernels
 * @fused: (out): bytes one fused kernel moves (inputs once, exposed outputs)
 *
 * Returns: FALSE when the nodes cannot form one fused program
 * (fusion_group_program(), the check fusion_apply_plan() makes).
 */
gboolean
fusion_ctx_group_bytes (FusionCtx *ctx, guint n, const guint *pos, double *unfused, double *fused)
{
  TlNode **nodes = g_newa (TlNode *, n);
  *unfused = *fused = 0;
  for (guint i = 0; i < n; i++) {
    if (!ctx->fusible[pos[i]])
      return FALSE;
    nodes[i] = ctx->nodes[pos[i]];
    *unfused += fusion_node_bytes (nodes[i]);
  }
  /* the check fusion_apply_plan() makes: a planned group is fused */
  g_autoptr (FusionProgram) p = fusion_group_program (ctx->g, n, nodes, ctx->outputs, NULL);
  if (!p)
    return FALSE;
  for (guint i = 0; i < p->n_in; i++)
    *fused += 4.0 * (double) tl_tensor_desc_numel (&p->in_desc[i]);
  for (guint i = 0; i < p->n_out; i++)
    *fused += 4.0 * (double) tl_tensor_desc_numel (&p->ins[p->outs[i]].desc);
  return TRUE;
}

static double
compute_gain (FusionCtx *ctx, guint n, const guint *pos)
{
  double unfused, fused;
  if (n > ctx->opts.cm.max_group || !fusion_ctx_group_bytes (ctx, n, pos, &unfused, &fused))
    return -INFINITY;
  const FusionCostModel *cm = &ctx->opts.cm;
  double pressure = n > cm->max_live ? (n - cm->max_live) * cm->pressure_us : 0;
  return (unfused - fused) / cm->bandwidth + (n - 1) * cm->launch_us - pressure;
}

/**
 * fusion_ctx_gain:
 * @ctx: a context
 * @n: number of nodes
 * @pos: (array length=n): sorted node positions
 *
 * Returns: the objective gain (us) of fusing the nodes into one kernel; 0
 * for one node; -INFINITY when they cannot be fused. Memoised.
 */
double
fusion_ctx_gain (FusionCtx *ctx, guint n, const guint *pos)
{
  if (n == 0)
    return 0;
  if (n == 1)
    return ctx->fusible[pos[0]] ? 0 : -INFINITY;
  GString *key = g_string_sized_new (8 * n);
  for (guint i = 0; i < n; i++)
    g_string_append_printf (key, "%u,", pos[i]);
  double *m = g_hash_table_lookup (ctx->memo, key->str);
  if (m) {
    g_string_free (key, TRUE);
    return *m;
  }
  m = g_new (double, 1);
  *m = compute_gain (ctx, n, pos);
  g_hash_table_insert (ctx->memo, g_string_free (key, FALSE), m);
  return *m;
}

/**
 * fusion_ctx_acyclic:
 * @ctx: a context
 * @comp: (array): for each node position, its group representative (< n)
 *
 * Returns: TRUE when contracting every group to one node leaves the graph
 * acyclic (Kahn's algorithm on the quotient graph).
 */
gboolean
fusion_ctx_acyclic (const FusionCtx *ctx, const guint *comp)
{
  guint n = ctx->n;
  if (n == 0)
    return TRUE;
  g_autofree guint *indeg = g_new0 (guint, n);
  g_autofree gint *head = g_new (gint, n);
  g_autofree gint *next = g_new (gint, n);
  g_autofree guint *queue = g_new (guint, n);
  /* successors: from preds (edge p -> i) */
  g_autofree guint *nsucc = g_new0 (guint, n + 1);
  for (guint i = 0; i < n; i++)
    for (guint q = 0; q < ctx->preds[i]->len; q++)
      nsucc[g_array_index (ctx->preds[i], guint, q)]++;
  g_autofree guint *start = g_new0 (guint, n + 1);
  for (guint i = 0; i < n; i++)
    start[i + 1] = start[i] + nsucc[i];
  g_autofree guint *succ = g_new (guint, MAX (1, start[n]));
  memset (nsucc, 0, (n + 1) * sizeof (guint));
  for (guint i = 0; i < n; i++)
    for (guint q = 0; q < ctx->preds[i]->len; q++) {
      guint p = g_array_index (ctx->preds[i], guint, q);
      succ[start[p] + nsucc[p]++] = i;
    }
  for (guint i = 0; i < n; i++)
    head[i] = -1;
  for (guint i = n; i-- > 0;) {
    next[i] = head[comp[i]];
    head[comp[i]] = (gint) i;
  }
  for (guint i = 0; i < n; i++)
    for (guint q = 0; q < ctx->preds[i]->len; q++)
      if (comp[g_array_index (ctx->preds[i], guint, q)] != comp[i])
        indeg[comp[i]]++;
  guint qh = 0, qt = 0, done = 0;
  for (guint c = 0; c < n; c++)
    if (head[c] >= 0 && indeg[c] == 0)
      queue[qt++] = c;
  while (qh < qt) {
    guint c = queue[qh++];
    for (gint i = head[c]; i >= 0; i = next[i]) {
      done++;
      for (guint s = start[i]; s < start[i + 1]; s++) {
        guint d = comp[succ[s]];
        if (d != c && --indeg[d] == 0)
          queue[qt++] = d;
      }
    }
  }
  return done == n;
}

/* --- candidate sets ------------------------------------------------------ */

typedef struct {
  GArray *set; /* sorted positions */
  double gain;
} Cand;

static GArray *
set_union (const GArray *a, const GArray *b, guint extra)
{
  GArray *r = g_array_new (FALSE, FALSE, sizeof (guint));
  guint i = 0, j = 0, na = a ? a->len : 0, nb = b ? b->len : 0;
  gboolean extra_done = extra == G_MAXUINT;
  while (i < na || j < nb || !extra_done) {
    guint x = i < na ? g_array_index (a, guint, i) : G_MAXUINT;
    guint y = j < nb ? g_array_index (b, guint, j) : G_MAXUINT;
    guint z = extra_done ? G_MAXUINT : extra;
    guint m = MIN (x, MIN (y, z));
    if (x == m)
      i++;
    if (y == m)
      j++;
    if (z == m)
      extra_done = TRUE;
    g_array_append_val (r, m);
  }
  return r;
}

static gboolean
set_equal (const GArray *a, const GArray *b)
{
  return a->len == b->len && memcmp (a->data, b->data, a->len * sizeof (guint)) == 0;
}

static double
set_gain (FusionCtx *ctx, const GArray *s)
{
  return fusion_ctx_gain (ctx, s->len, (const guint *) s->data);
}

/* Insert into a top-k list (sorted by gain, distinct sets); takes s. */
static void
topk_insert (GArray *list, guint k, GArray *s, double gain)
{
  for (guint i = 0; i < list->len; i++)
    if (set_equal (g_array_index (list, Cand, i).set, s)) {
      g_array_unref (s);
      return;
    }
  guint at = list->len;
  while (at > 0 && g_array_index (list, Cand, at - 1).gain < gain)
    at--;
  if (at >= k) {
    g_array_unref (s);
    return;
  }
  Cand c = { s, gain };
  g_array_insert_val (list, at, c);
  if (list->len > k) {
    g_array_unref (g_array_index (list, Cand, list->len - 1).set);
    g_array_set_size (list, k);
  }
}

/* The approximate DP: cands[v] = top-k sets {v} + union of some producers' candidates. */
static GArray **
dp_candidates (FusionCtx *ctx)
{
  guint k = MAX (1, ctx->opts.top_k);
  GArray **cands = g_new0 (GArray *, MAX (1, ctx->n));
  for (guint v = 0; v < ctx->n; v++) {
    if (!ctx->fusible[v])
      continue;
    cands[v] = g_array_new (FALSE, FALSE, sizeof (Cand));
    guint prods[3], np = 0;
    for (guint q = ctx->preds[v]->len; q-- > 0 && np < 3;) {
      guint p = g_array_index (ctx->preds[v], guint, q);
      if (ctx->fusible[p] && cands[p])
        prods[np++] = p;
    }
    guint choice[3] = { 0, 0, 0 };
    for (;;) {
      GArray *s = set_union (NULL, NULL, v);
      for (guint i = 0; i < np; i++)
        if (choice[i] > 0) {
          GArray *t = set_union (s, g_array_index (cands[prods[i]], Cand, choice[i] - 1).set, G_MAXUINT);
          g_array_unref (s);
          s = t;
        }
      double gain = set_gain (ctx, s);
      if (gain > -INFINITY)
        topk_insert (cands[v], k, s, gain);
      else
        g_array_unref (s);
      guint i = 0;
      for (; i < np; i++) {
        if (++choice[i] <= cands[prods[i]]->len)
          break;
        choice[i] = 0;
      }
      if (i == np)
        break;
    }
  }
  return cands;
}

/* --- beam search ---------------------------------------------------------- */

typedef struct {
  GPtrArray *groups; /* GArray* (owned by the pool) */
  guint8 *taken;     /* per node */
  double score;
  guint64 sig;
} State;

static void
state_free (State *s)
{
  if (!s)
    return;
  g_ptr_array_unref (s->groups);
  g_free (s->taken);
  g_free (s);
}

static State *
state_copy (const State *s, guint n)
{
  State *c = g_new0 (State, 1);
  c->groups = g_ptr_array_copy (s->groups, NULL, NULL);
  c->taken = g_memdup2 (s->taken, MAX (1, n));
  c->score = s->score;
  c->sig = s->sig;
  return c;
}

static guint64
set_sig (const GArray *s)
{
  guint64 h = 1469598103934665603ull;
  for (guint i = 0; i < s->len; i++)
    h = (h ^ g_array_index (s, guint, i)) * 1099511628211ull;
  return h;
}

/* Group representative of every node for a list of groups (+ one more). */
static void
fill_comp (const FusionCtx *ctx, GPtrArray *groups, const GArray *extra, guint *comp)
{
  for (guint i = 0; i < ctx->n; i++)
    comp[i] = i;
  for (guint gi = 0; gi <= groups->len; gi++) {
    const GArray *s = gi < groups->len ? groups->pdata[gi] : extra;
    if (!s)
      continue;
    guint rep = g_array_index (s, guint, 0);
    for (guint j = 0; j < s->len; j++)
      comp[g_array_index (s, guint, j)] = rep;
  }
}

static gboolean
plan_acyclic (const FusionCtx *ctx, GPtrArray *groups, const GArray *extra)
{
  g_autofree guint *comp = g_new (guint, MAX (1, ctx->n));
  fill_comp (ctx, groups, extra, comp);
  return fusion_ctx_acyclic (ctx, comp);
}

static gint
state_cmp (gconstpointer a, gconstpointer b)
{
  const State *x = *(State *const *) a, *y = *(State *const *) b;
  return x->score > y->score ? -1 : x->score < y->score;
}

static GPtrArray *
beam_search (FusionCtx *ctx, GArray **cands, GPtrArray *pool)
{
  guint beam = MAX (1, ctx->opts.beam);
  GPtrArray *states = g_ptr_array_new_with_free_func ((GDestroyNotify) state_free);
  State *s0 = g_new0 (State, 1);
  s0->groups = g_ptr_array_new ();
  s0->taken = g_new0 (guint8, MAX (1, ctx->n));
  g_ptr_array_add (states, s0);
  for (guint v = ctx->n; v-- > 0;) {
    if (!ctx->fusible[v] || !cands[v])
      continue;
    GPtrArray *next = g_ptr_array_new_with_free_func ((GDestroyNotify) state_free);
    for (guint si = 0; si < states->len; si++) {
      State *s = states->pdata[si];
      g_ptr_array_add (next, state_copy (s, ctx->n));
      if (s->taken[v])
        continue;
      for (guint ci = 0; ci < cands[v]->len; ci++) {
        GArray *c = g_array_index (cands[v], Cand, ci).set;
        if (c->len < 2)
          continue;
        GArray *t = g_array_new (FALSE, FALSE, sizeof (guint));
        for (guint j = 0; j < c->len; j++)
          if (!s->taken[g_array_index (c, guint, j)])
            g_array_append_val (t, g_array_index (c, guint, j));
        double gain = t->len >= 2 ? set_gain (ctx, t) : -INFINITY;
        if (!(gain > 0) || (ctx->check_joint && !plan_acyclic (ctx, s->groups, t))) {
          g_array_unref (t);
          continue;
        }
        g_ptr_array_add (pool, t);
        State *ns = state_copy (s, ctx->n);
        g_ptr_array_add (ns->groups, t);
        for (guint j = 0; j < t->len; j++)
          ns->taken[g_array_index (t, guint, j)] = 1;
        ns->score += gain;
        ns->sig ^= set_sig (t);
        g_ptr_array_add (next, ns);
      }
    }
    g_ptr_array_sort (next, state_cmp);
    /* keep the best `beam` distinct states */
    GPtrArray *kept = g_ptr_array_new_with_free_func ((GDestroyNotify) state_free);
    for (guint i = 0; i < next->len && kept->len < beam; i++) {
      State *s = next->pdata[i];
      gboolean dup = FALSE;
      for (guint j = 0; j < kept->len && !dup; j++)
        dup = ((State *) kept->pdata[j])->sig == s->sig;
      if (!dup) {
        g_ptr_array_add (kept, s);
        next->pdata[i] = NULL;
      }
    }
    g_ptr_array_unref (next);
    g_ptr_array_unref (states);
    states = kept;
  }
  return states;
}

/* Drop the lowest-gain groups until the plan is acyclic (large graphs). */
static void
repair (FusionCtx *ctx, GPtrArray *groups)
{
  while (groups->len > 0 && !plan_acyclic (ctx, groups, NULL)) {
    guint worst = 0;
    for (guint i = 1; i < groups->len; i++)
      if (set_gain (ctx, groups->pdata[i]) < set_gain (ctx, groups->pdata[worst]))
        worst = i;
    g_ptr_array_remove_index (groups, worst);
  }
}

/* Greedy pairwise merging of groups and fusible singletons (non-adjacent
 * fusion included). */
static void
merge_pass (FusionCtx *ctx, GPtrArray *groups, GPtrArray *pool)
{
  g_autoptr (GPtrArray) units = g_ptr_array_new ();
  g_autofree guint8 *in_group = g_new0 (guint8, MAX (1, ctx->n));
  for (guint i = 0; i < groups->len; i++) {
    GArray *s = groups->pdata[i];
    g_ptr_array_add (units, s);
    for (guint j = 0; j < s->len; j++)
      in_group[g_array_index (s, guint, j)] = 1;
  }
  for (guint v = 0; v < ctx->n; v++)
    if (ctx->fusible[v] && !in_group[v]) {
      GArray *s = set_union (NULL, NULL, v);
      g_ptr_array_add (pool, s);
      g_ptr_array_add (units, s);
    }
  if (units->len > 96 || !ctx->opts.non_adjacent)
    return;
  for (;;) {
    double best = 1e-9;
    gint bi = -1, bj = -1;
    GArray *bu = NULL;
    for (guint i = 0; i < units->len; i++)
      for (guint j = i + 1; j < units->len; j++) {
        GArray *a = units->pdata[i], *b = units->pdata[j];
        GArray *u = set_union (a, b, G_MAXUINT);
        double d = set_gain (ctx, u) - set_gain (ctx, a) - set_gain (ctx, b);
        if (d > best) {
          g_autoptr (GPtrArray) others = g_ptr_array_new ();
          for (guint k = 0; k < units->len; k++)
            if (k != i && k != j && ((GArray *) units->pdata[k])->len > 1)
              g_ptr_array_add (others, units->pdata[k]);
          if (plan_acyclic (ctx, others, u)) {
            best = d;
            bi = (gint) i;
            bj = (gint) j;
            if (bu)
              g_array_unref (bu);
            bu = u;
            continue;
          }
        }
        g_array_unref (u);
      }
    if (bi < 0)
      break;
    g_ptr_array_add (pool, bu);
    g_ptr_array_remove_index (units, (guint) bj);
    units->pdata[bi] = bu;
  }
  g_ptr_array_set_size (groups, 0);
  for (guint i = 0; i < units->len; i++)
    if (((GArray *) units->pdata[i])->len > 1)
      g_ptr_array_add (groups, units->pdata[i]);
}

static double
plan_objective (FusionCtx *ctx, GPtrArray *groups)
{
  double s = 0;
  for (guint i = 0; i < groups->len; i++)
    s += set_gain (ctx, groups->pdata[i]);
  return s;
}

/* Rule-based baseline: fuse every elementwise producer-consumer edge whose
 * merged group stays valid and acyclic (no reductions, no packing). */
static GPtrArray *
baseline_groups (FusionCtx *ctx, GPtrArray *pool)
{
  g_autofree GArray **grp = g_new0 (GArray *, MAX (1, ctx->n));
  GPtrArray *groups = g_ptr_array_new ();
  for (guint v = 0; v < ctx->n; v++) {
    if (!ctx->fusible[v])
      continue;
    if (!grp[v]) {
      grp[v] = set_union (NULL, NULL, v);
      g_ptr_array_add (pool, grp[v]);
    }
    for (guint q = 0; q < ctx->preds[v]->len; q++) {
      guint p = g_array_index (ctx->preds[v], guint, q);
      if (!ctx->fusible[p] || grp[p] == grp[v])
        continue;
      GArray *u = set_union (grp[p], grp[v], G_MAXUINT);
      g_ptr_array_remove (groups, grp[p]);
      g_ptr_array_remove (groups, grp[v]);
      if (set_gain (ctx, u) > -INFINITY && plan_acyclic (ctx, groups, u)) {
        g_ptr_array_add (pool, u);
        for (guint j = 0; j < u->len; j++)
          grp[g_array_index (u, guint, j)] = u;
      } else {
        g_array_unref (u);
      }
      if (grp[p]->len > 1 && !g_ptr_array_find (groups, grp[p], NULL))
        g_ptr_array_add (groups, grp[p]);
      if (grp[v]->len > 1 && !g_ptr_array_find (groups, grp[v], NULL))
        g_ptr_array_add (groups, grp[v]);
    }
  }
  return groups;
}

/**
 * fusion_explore:
 * @ctx: a context
 * @objective: (out): the plan's objective (us saved)
 *
 * Returns: (transfer full): the chosen groups, each a sorted GArray of
 * node positions with at least two nodes, in order of first node.
 */
GPtrArray *
fusion_explore (FusionCtx *ctx, double *objective)
{
  g_autoptr (GPtrArray) pool = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  GPtrArray *best;
  if (ctx->opts.baseline) {
    best = baseline_groups (ctx, pool);
  } else {
    GArray **cands = dp_candidates (ctx);
    GPtrArray *states = beam_search (ctx, cands, pool);
    best = NULL;
    double best_obj = -INFINITY;
    for (guint i = 0; i < states->len; i++) {
      State *s = states->pdata[i];
      GPtrArray *groups = g_ptr_array_copy (s->groups, NULL, NULL);
      if (!ctx->check_joint)
        repair (ctx, groups);
      merge_pass (ctx, groups, pool);
      double obj = plan_objective (ctx, groups);
      if (obj > best_obj) {
        if (best)
          g_ptr_array_unref (best);
        best = groups;
        best_obj = obj;
      } else {
        g_ptr_array_unref (groups);
      }
    }
    g_ptr_array_unref (states);
    for (guint v = 0; v < ctx->n; v++)
      if (cands[v]) {
        for (guint i = 0; i < cands[v]->len; i++)
          g_array_unref (g_array_index (cands[v], Cand, i).set);
        g_array_unref (cands[v]);
      }
    g_free (cands);
  }
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  for (guint i = 0; i < best->len; i++)
    g_ptr_array_add (out, g_array_ref (best->pdata[i]));
  g_ptr_array_unref (best);
  if (objective)
    *objective = plan_objective (ctx, out);
  return out;
}

/**
 * fusion_group_scheme:
 * @ctx: a context
 * @group: sorted node positions
 *
 * Returns: the stitching scheme the group's kernel uses: "kernel-packing"
 * (unconnected parts), "thread" (elementwise: thread composition), "warp"
 * (row reductions over <= 1024 columns: warp reduction + shuffles) or
 * "block" (longer rows: block reduction through shared memory).
 */
const char *
fusion_group_scheme (FusionCtx *ctx, const GArray *group)
{
  guint n = group->len;
  TlNode **nodes = g_newa (TlNode *, n);
  g_autofree guint *uf = g_new (guint, n);
  for (guint i = 0; i < n; i++) {
    nodes[i] = ctx->nodes[g_array_index (group, guint, i)];
    uf[i] = i;
  }
  /* connected components through internal edges */
  for (guint i = 0; i < n; i++) {
    guint v = g_array_index (group, guint, i);
    for (guint q = 0; q < ctx->preds[v]->len; q++)
      for (guint j = 0; j < n; j++)
        if (g_array_index (group, guint, j) == g_array_index (ctx->preds[v], guint, q)) {
          guint a = i, b = j;
          while (uf[a] != a)
            a = uf[a];
          while (uf[b] != b)
            b = uf[b];
          uf[a] = b;
        }
  }
  guint roots = 0;
  for (guint i = 0; i < n; i++)
    roots += uf[i] == i;
  g_autoptr (FusionProgram) p = fusion_program_from_nodes (n, nodes, ctx->outputs, NULL);
  if (roots > 1)
    return "kernel-packing";
  if (!p || p->n_reductions == 0)
    return "thread";
  return p->cols <= 1024 ? "warp" : "block";
}
