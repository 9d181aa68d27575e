/* dp.c — the planner's dynamic programming over contiguous stages,
 * replica counts and device placement (DAPPLE section 4), and an
 * exhaustive search of the same space for tests.
 *
 * Stages are added from the last layer backwards, so the number of stages
 * after a stage — which bounds its live activations under early backward,
 * min(S - s, M) — is known when its memory is checked, and so is the sum
 * over the stages from s to the end, which bounds the steady phase: stage s
 * has min(S - s, M) micro-batches in flight, each of which must travel to
 * the last stage and back. A state is (first layer of the suffix placed,
 * stages in it (capped at M), machines of its first stage, free devices per
 * machine); placement policies are deterministic, so the free vector fixes
 * every later device choice. The objective, sum + (M - 1) max +
 * max-allreduce (or PipeDream's max(M max, allreduce)), is not additive, so
 * each state keeps the Pareto front of its (sum, max, max allreduce)
 * triples: exact, since the objectives and the transitions are monotone in
 * each. */
#include <string.h>

#include "dapple-private.h"

typedef struct _DpState DpState;

typedef struct {
  double sum, mx, ar; /* over the suffix of stages */
  guint n;            /* replicas of its first stage: layers [state->j, parent->j) */
  DpState *parent;    /* the suffix after that stage (NULL: the empty suffix) */
  guint parent_elem;
} DpElem;

struct _DpState {
  guint8 *key;
  guint j, k;
  guint64 mask;
  GArray *front; /* DpElem */
};

typedef struct {
  const DappleModel *m;
  DappleMethod method;
  DapplePolicy policy;
  guint M;
  double mb;
  guint max_devices;
  double bound; /* drop partial plans whose objective already reaches it */
  guint key_len;
  GHashTable *memo;   /* key -> DpState */
  GPtrArray **at;     /* [L + 1]: states by first layer */
} Dp;

/* key: [len][j lo][j hi][k][mask x 8][free x n_machines] */
static guint
key_hash (gconstpointer p)
{
  const guint8 *k = p;
  guint h = 5381;
  for (guint i = 0; i < k[0]; i++)
    h = h * 33 + k[i];
  return h;
}

static gboolean
key_equal (gconstpointer a, gconstpointer b)
{
  const guint8 *x = a, *y = b;
  return x[0] == y[0] && memcmp (x, y, x[0]) == 0;
}

static void
state_free (gpointer p)
{
  DpState *s = p;
  g_free (s->key);
  g_array_unref (s->front);
  g_free (s);
}

static guint8 *
make_key (const Dp *dp, guint j, guint k, guint64 mask, const guint *free_count)
{
  guint8 *key = g_malloc0 (dp->key_len);
  key[0] = (guint8) dp->key_len;
  key[1] = (guint8) (j & 0xff);
  key[2] = (guint8) (j >> 8);
  key[3] = (guint8) k;
  for (guint b = 0; b < 8; b++)
    key[4 + b] = (guint8) (mask >> (8 * b));
  for (guint i = 0; i < dp->m->shape.n_machines; i++)
    key[12 + i] = (guint8) free_count[i];
  return key;
}

#define EPS 1e-12

static gboolean
dominates (const DpElem *a, const DpElem *b)
{
  return a->sum <= b->sum * (1 + EPS) + EPS && a->mx <= b->mx * (1 + EPS) + EPS &&
         a->ar <= b->ar * (1 + EPS) + EPS;
}

static double elem_objective (const Dp *dp, const DpElem *e);

static void
front_insert (const Dp *dp, GArray *front, const DpElem *c)
{
  /* the objective only grows as stages are added: a partial plan already
   * at the bound cannot beat it */
  if (dp->bound < G_MAXDOUBLE && elem_objective (dp, c) >= dp->bound)
    return;
  for (guint i = 0; i < front->len; i++)
    if (dominates (&g_array_index (front, DpElem, i), c))
      return;
  for (guint i = front->len; i-- > 0;)
    if (dominates (c, &g_array_index (front, DpElem, i)))
      g_array_remove_index (front, i);
  g_array_append_val (front, *c);
}

static double
elem_objective (const Dp *dp, const DpElem *e)
{
  if (dp->method == DAPPLE_METHOD_PIPEDREAM)
    return MAX ((double) dp->M * e->mx, e->ar);
  return e->sum + (double) (dp->M - 1) * e->mx + e->ar;
}

static DpState *
state_get (Dp *dp, guint j, guint k, guint64 mask, const guint *free_count)
{
  guint8 *key = make_key (dp, j, k, mask, free_count);
  DpState *st = g_hash_table_lookup (dp->memo, key);
  if (st) {
    g_free (key);
    return st;
  }
  st = g_new0 (DpState, 1);
  st->key = key;
  st->j = j;
  st->k = k;
  st->mask = mask;
  st->front = g_array_new (FALSE, FALSE, sizeof (DpElem));
  g_hash_table_insert (dp->memo, key, st);
  g_ptr_array_add (dp->at[j], st);
  return st;
}

/* Extend every suffix of state st by one stage in front of it. */
static void
expand (Dp *dp, DpState *st)
{
  const DappleModel *m = dp->m;
  guint n_mach = m->shape.n_machines;
  guint free_count[DAPPLE_MAX_MACHINES], next_free[DAPPLE_MAX_MACHINES];
  guint total = 0;
  for (guint i = 0; i < n_mach; i++) {
    free_count[i] = st->key[12 + i];
    total += free_count[i];
  }
  guint max_n = dp->mb < (double) total ? (guint) dp->mb : total; /* mb may exceed G_MAXUINT */
  guint used = n_mach * m->shape.per_machine - total;
  max_n = MIN (max_n, dp->max_devices > used ? dp->max_devices - used : 0);
  guint w = MIN (st->k + 1, dp->M); /* live micro-batches of the new stage */
  guint devices[DAPPLE_MAX_DEVICES];
  for (guint first = st->j; first-- > 0;) {
    for (guint n = 1; n <= max_n; n++) {
      memcpy (next_free, free_count, sizeof (guint) * n_mach);
      if (!dapple_place (&m->shape, dp->policy, next_free, n, devices))
        continue;
      guint64 mask = dapple_machine_mask (&m->shape, n, devices);
      DappleStageCost c;
      dapple_stage_cost (m, first, st->j, n, mask, st->mask, dp->mb, &c);
      if (c.param_mem + c.act_mem * w > c.memory)
        continue;
      gboolean pd = dp->method == DAPPLE_METHOD_PIPEDREAM;
      /* PipeDream's objective ignores the sum: keep it 0 (smaller fronts) */
      double t_sum = pd ? 0 : c.fwd + c.bwd + 2 * c.link;
      /* early backward: a stage's steady period includes the transfers to
       * and from the next stage (PipeDream: overlapped, a link is a stage) */
      double t_mx = pd ? MAX (c.fwd + c.bwd, c.link) : c.fwd + c.bwd + 2 * c.link;
      DpState *to = state_get (dp, first, MIN (st->k + 1, dp->M), mask, next_free);
      for (guint x = 0; x < st->front->len; x++) {
        const DpElem *pe = &g_array_index (st->front, DpElem, x);
        DpElem e = { pe->sum + t_sum, MAX (pe->mx, t_mx), MAX (pe->ar, c.allreduce), n, st, x };
        if (!pd)
          e.mx = MAX (e.mx, e.sum / w); /* w micro-batches in flight for the round trip */
        front_insert (dp, to->front, &e);
      }
    }
  }
}

static void
init_free (const DappleModel *m, guint *free_count)
{
  for (guint i = 0; i < m->shape.n_machines; i++)
    free_count[i] = m->shape.per_machine;
}

static gboolean
check_model (const DappleModel *m, guint micro_batches, double global_batch, GError **error)
{
  /* dapple_shape_init() caps the machines at DAPPLE_MAX_MACHINES */
  if (m->shape.per_machine > 255 || m->profile->n_layers > 65535 ||
      micro_batches == 0 || micro_batches > 255 || global_batch < micro_batches) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "dapple: unsupported size (%u machines x %u devices, %u layers, %u micro-batches of a batch of %g)",
                 m->shape.n_machines, m->shape.per_machine, m->profile->n_layers, micro_batches, global_batch);
    return FALSE;
  }
  return TRUE;
}

/**
 * dapple_dp:
 * @m: the model
 * @method: %DAPPLE_METHOD_DAPPLE or %DAPPLE_METHOD_PIPEDREAM
 * @policy: placement policy
 * @micro_batches: M
 * @global_batch: samples per step
 * @max_devices: use at most this many devices
 * @bound: only look for plans whose objective is below this (G_MAXDOUBLE:
 *   no bound); partial plans at the bound are pruned
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the pipeline minimising the
 * method's objective under the early-backward memory bound; NULL with
 * TL_ERROR_NO_MEMORY when no plan fits (or none is below @bound).
 */
DapplePipeline *
dapple_dp (const DappleModel *m, DappleMethod method, DapplePolicy policy, guint micro_batches, double global_batch,
           guint max_devices, double bound, GError **error)
{
  if (!check_model (m, micro_batches, global_batch, error))
    return NULL;
  guint L = m->profile->n_layers;
  Dp dp = { m, method, policy, micro_batches, global_batch / micro_batches, max_devices, bound,
            12 + m->shape.n_machines, NULL, NULL };
  dp.memo = g_hash_table_new_full (key_hash, key_equal, NULL, state_free);
  dp.at = g_new0 (GPtrArray *, L + 1);
  for (guint j = 0; j <= L; j++)
    dp.at[j] = g_ptr_array_new ();
  guint free_count[DAPPLE_MAX_MACHINES];
  init_free (m, free_count);
  DpState *root = state_get (&dp, L, 0, 0, free_count);
  DpElem empty = { 0, 0, 0, 0, NULL, 0 };
  g_array_append_val (root->front, empty);
  /* suffixes grow towards layer 0: a state's front is complete once every
   * state of a later first layer has been expanded */
  for (guint j = L; j > 0; j--)
    for (guint i = 0; i < dp.at[j]->len; i++)
      expand (&dp, dp.at[j]->pdata[i]);
  const DpElem *best = NULL;
  DpState *best_st = NULL;
  double best_v = G_MAXDOUBLE;
  for (guint i = 0; i < dp.at[0]->len; i++) {
    DpState *st = dp.at[0]->pdata[i];
    for (guint x = 0; x < st->front->len; x++) {
      const DpElem *e = &g_array_index (st->front, DpElem, x);
      double v = elem_objective (&dp, e);
      if (v < best_v * (1 - 1e-12)) {
        best_v = v;
        best = e;
        best_st = st;
      }
    }
  }
  DapplePipeline *p = NULL;
  if (best) {
    /* the chain runs from stage 0 to the last stage; devices were placed
     * from the last stage backwards */
    GPtrArray *chain = g_ptr_array_new ();
    const DpElem *e = best;
    DpState *st = best_st;
    while (e->parent) {
      g_ptr_array_add (chain, (gpointer) e);
      g_ptr_array_add (chain, st);
      st = e->parent;
      e = &g_array_index (st->front, DpElem, e->parent_elem);
    }
    guint S = chain->len / 2;
    p = dapple_pipeline_new (S);
    init_free (m, free_count);
    for (guint s = S; s-- > 0;) {
      const DpElem *ce = chain->pdata[2 * s];
      const DpState *cs = chain->pdata[2 * s + 1];
      guint devices[DAPPLE_MAX_DEVICES];
      dapple_place (&m->shape, policy, free_count, ce->n, devices);
      dapple_pipeline_set_stage (p, s, cs->j, ce->parent->j, ce->n, devices);
    }
    g_ptr_array_free (chain, TRUE);
  }
  for (guint j = 0; j <= L; j++)
    g_ptr_array_free (dp.at[j], TRUE);
  g_free (dp.at);
  g_hash_table_destroy (dp.memo);
  if (!p) {
    g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY,
                 "dapple: no pipeline of the model fits the devices' memory (%u micro-batches)", micro_batches);
    return NULL;
  }
  p->micro_batches = micro_batches;
  p->global_batch = global_batch;
  p->schedule = DAPPLE_SCHEDULE_EARLY_BACKWARD;
  p->policy = g_strdup (dapple_policy_name (policy));
  p->method = g_strdup (dapple_method_name (method));
  p->estimate = best_v;
  return p;
}

/* --- exhaustive search ------------------------------------------------------- */

typedef struct {
  const DappleModel *m;
  DappleMethod method;
  DapplePolicy policy;
  guint M;
  double B;
  guint L;
  guint cuts[64];  /* stage boundaries, from the end: cuts[0] = L */
  guint reps[64];
  DapplePipeline *best;
  double best_v;
} Brute;

static void
brute_eval (Brute *b, guint n_stages)
{
  guint free_count[DAPPLE_MAX_MACHINES];
  init_free (b->m, free_count);
  DapplePipeline *p = dapple_pipeline_new (n_stages);
  p->micro_batches = b->M;
  p->global_batch = b->B;
  p->schedule = DAPPLE_SCHEDULE_EARLY_BACKWARD;
  for (guint i = 0; i < n_stages; i++) {
    guint devices[DAPPLE_MAX_DEVICES];
    if (!dapple_place (&b->m->shape, b->policy, free_count, b->reps[i], devices)) {
      dapple_pipeline_free (p);
      return;
    }
    dapple_pipeline_set_stage (p, n_stages - 1 - i, b->cuts[i + 1], b->cuts[i], b->reps[i], devices);
  }
  double v = dapple_objective (b->m, b->method, p);
  if (dapple_fits (b->m, p) && v < b->best_v * (1 - 1e-12)) {
    b->best_v = v;
    dapple_pipeline_free (b->best);
    b->best = p;
    p->estimate = v;
  } else {
    dapple_pipeline_free (p);
  }
}

/* Stage i (from the end) ends at cuts[i]; choose its start and replicas. */
static void
brute_rec (Brute *b, guint i, guint devices_left)
{
  guint end = b->cuts[i];
  for (guint first = 0; first < end; first++) {
    for (guint n = 1; n <= devices_left && n <= b->B / b->M; n++) {
      b->cuts[i + 1] = first;
      b->reps[i] = n;
      if (first == 0)
        brute_eval (b, i + 1);
      else if (i + 2 < G_N_ELEMENTS (b->cuts))
        brute_rec (b, i + 1, devices_left - n);
    }
  }
}

/**
 * dapple_brute_force:
 * @m: the model
 * @method: %DAPPLE_METHOD_DAPPLE or %DAPPLE_METHOD_PIPEDREAM
 * @policy: placement policy
 * @micro_batches: M
 * @global_batch: samples per step
 * @error: return location for a #GError
 *
 * Enumerates every split into contiguous stages and every replica count
 * (placed by @policy from the last stage backwards, as the DP does).
 * Exponential: small cases only.
 *
 * Returns: (transfer full) (nullable): the best pipeline.
 */
DapplePipeline *
dapple_brute_force (const DappleModel *m, DappleMethod method, DapplePolicy policy, guint micro_batches,
                    double global_batch, GError **error)
{
  if (!check_model (m, micro_batches, global_batch, error))
    return NULL;
  Brute b = { 0 };
  b.m = m;
  b.method = method;
  b.policy = policy;
  b.M = micro_batches;
  b.B = global_batch;
  b.L = m->profile->n_layers;
  b.cuts[0] = b.L;
  b.best_v = G_MAXDOUBLE;
  brute_rec (&b, 0, m->shape.n_machines * m->shape.per_machine);
  if (!b.best) {
    g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY, "dapple: nothing fits");
    return NULL;
  }
  b.best->policy = g_strdup (dapple_policy_name (policy));
  b.best->method = g_strdup (dapple_method_name (method));
  return b.best;
}
