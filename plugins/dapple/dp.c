/* dp.c — the planner's dynamic programming over contiguous stages,
 * replica counts and device placement (DAPPLE section 4), and an
 * exhaustive search of the same space for tests.
 *
 * Stages are chosen from the last layer backwards, so the number of stages
 * after a stage — which bounds its live activations under early backward,
 * min(S - s, M) — is known when its memory is checked. A state is (first
 * layer placed, stages placed (capped at M), machines of the stage starting
 * there, free devices per machine); placement policies are deterministic,
 * so the free vector fixes every later device choice. The objective,
 * sum + (M - 1) max + max-allreduce (or PipeDream's max(M max, allreduce)),
 * is not additive, so each state keeps the Pareto front of its
 * (sum, max stage, max allreduce) triples: exact, since both objectives are
 * monotone in each. */
#include <string.h>

#include "dapple-private.h"

typedef struct _DpState DpState;

typedef struct {
  double sum, mx, ar;
  guint first;      /* the stage chosen here: layers [first, state->j) */
  guint n;          /* its replicas */
  DpState *child;   /* state after it (NULL: this stage starts at layer 0) */
  guint child_elem;
} DpElem;

struct _DpState {
  guint8 *key;
  guint j;
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
  GHashTable *memo; /* key -> DpState */
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

/* Front for layers [0, j) given k stages placed after them, the stage at j
 * on machines next_mask (0 when j is the end) and free devices. */
static DpState *
solve (Dp *dp, guint j, guint k, guint64 next_mask, const guint *free_count)
{
  const DappleModel *m = dp->m;
  guint n_mach = m->shape.n_machines;
  guint8 *key = make_key (dp, j, k, next_mask, free_count);
  DpState *st = g_hash_table_lookup (dp->memo, key);
  if (st) {
    g_free (key);
    return st;
  }
  st = g_new0 (DpState, 1);
  st->key = key;
  st->j = j;
  st->front = g_array_new (FALSE, FALSE, sizeof (DpElem));
  g_hash_table_insert (dp->memo, key, st);

  guint total = 0;
  for (guint i = 0; i < n_mach; i++)
    total += free_count[i];
  guint max_n = MIN (total, (guint) dp->mb);
  guint used = m->shape.n_machines * m->shape.per_machine - total;
  max_n = MIN (max_n, dp->max_devices > used ? dp->max_devices - used : 0);
  guint live = MIN (k + 1, dp->M);
  guint devices[DAPPLE_MAX_DEVICES];
  guint next_free[64];
  for (guint first = j; first-- > 0;) {
    for (guint n = 1; n <= max_n; n++) {
      memcpy (next_free, free_count, sizeof (guint) * n_mach);
      if (!dapple_place (&m->shape, dp->policy, next_free, n, devices))
        continue;
      guint64 mask = dapple_machine_mask (&m->shape, n, devices);
      DappleStageCost c;
      dapple_stage_cost (m, first, j, n, mask, next_mask, dp->mb, &c);
      if (c.param_mem + c.act_mem * live > c.memory)
        continue;
      double t_sum = c.fwd + c.bwd + 2 * c.link;
      double t_mx = MAX (c.fwd + c.bwd, c.link);
      if (first == 0) {
        DpElem e = { t_sum, t_mx, c.allreduce, first, n, NULL, 0 };
        front_insert (dp, st->front, &e);
        continue;
      }
      DpState *child = solve (dp, first, MIN (k + 1, dp->M), mask, next_free);
      for (guint x = 0; x < child->front->len; x++) {
        const DpElem *ce = &g_array_index (child->front, DpElem, x);
        DpElem e = { ce->sum + t_sum, MAX (ce->mx, t_mx), MAX (ce->ar, c.allreduce), first, n, child, x };
        front_insert (dp, st->front, &e);
      }
    }
  }
  return st;
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
  if (m->shape.n_machines > 64 || m->shape.per_machine > 255 || m->profile->n_layers > 65535 ||
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
  Dp dp = { m, method, policy, micro_batches, global_batch / micro_batches, max_devices, bound,
            12 + m->shape.n_machines, NULL };
  dp.memo = g_hash_table_new_full (key_hash, key_equal, NULL, state_free);
  guint free_count[64];
  init_free (m, free_count);
  DpState *root = solve (&dp, m->profile->n_layers, 0, 0, free_count);
  gint best = -1;
  double best_v = G_MAXDOUBLE;
  for (guint x = 0; x < root->front->len; x++) {
    double v = elem_objective (&dp, &g_array_index (root->front, DpElem, x));
    if (v < best_v * (1 - 1e-12)) {
      best_v = v;
      best = (gint) x;
    }
  }
  if (best < 0) {
    g_hash_table_destroy (dp.memo);
    g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY,
                 "dapple: no pipeline of the model fits the devices' memory (%u micro-batches)", micro_batches);
    return NULL;
  }
  /* walk the choices: they run from the last stage to the first */
  GArray *path = g_array_new (FALSE, FALSE, sizeof (DpElem));
  DpState *s = root;
  guint x = (guint) best;
  while (s) {
    DpElem e = g_array_index (s->front, DpElem, x);
    g_array_append_val (path, e);
    s = e.child;
    x = e.child_elem;
  }
  DapplePipeline *p = dapple_pipeline_new (path->len);
  init_free (m, free_count);
  guint j = m->profile->n_layers;
  for (guint i = 0; i < path->len; i++) {
    const DpElem *e = &g_array_index (path, DpElem, i);
    guint devices[DAPPLE_MAX_DEVICES];
    dapple_place (&m->shape, policy, free_count, e->n, devices);
    dapple_pipeline_set_stage (p, path->len - 1 - i, e->first, j, e->n, devices);
    j = e->first;
  }
  g_array_unref (path);
  g_hash_table_destroy (dp.memo);
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
  guint free_count[64];
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
