/* runtime.c — the "bench" task: runs a dapple plan for real across the
 * processes of a job (`mpirun -np N tlhost run job.xml`) through tl's
 * communicator. Rank d plays device d of the plan: it holds its stage's
 * layers as a graph of their own (forward nodes of the train graph, values
 * from earlier stages as placeholders) whose backward is the
 * vector-Jacobian product sum(out * grad_out); activations go forward and
 * gradients back by send/recv; after the step the replicas of each stage
 * average their gradients. Backward passes recompute their stage's forward
 * from the stashed stage inputs (what the schedules' memory bound is
 * about: GPipe stashes M micro-batches, early backward min(S - s, M)).
 *
 * All ranks derive one global order of computations and transfers from the
 * schedule (list scheduling of the stages' operation sequences), and each
 * executes its share in that order: with blocking send/recv this cannot
 * deadlock, since the earliest unfinished transfer always finds both ends
 * waiting for it.
 *
 * Rank 0 then computes the gradients of the same global batch in one
 * process and reports the largest relative difference. */
#include <math.h>
#include <string.h>

#include "dapple-private.h"

typedef struct {
  guint id;      /* value id in the train graph */
  guint from;    /* producing stage */
  guint to;      /* consuming stage */
  gboolean grad; /* float: a gradient flows back */
  TlValue *orig;
} Boundary;

typedef struct {
  TlGraph *g;
  GArray *in_b;   /* guint: boundaries entering */
  GArray *out_b;  /* guint: boundaries leaving */
  TlValue *loss;  /* last stage */
  GPtrArray *params; /* TlValue* (in g) */
  TlExec *fwd;
  TlExec *bwd;    /* outputs: param grads, then grads of in_b (zeros where none), then loss */
  guint n_bwd_out;
} Stage;

typedef struct {
  guint kind;  /* 0 forward, 1 backward, 2 transfer of an activation, 3 of a gradient */
  guint stage; /* computing stage, or the boundary for transfers */
  guint micro;
} Item;

static gboolean
is_float (TlDType t)
{
  return tl_dtype_is_float (t);
}

static TlValue *
stage_value (TlGraph *g, GHashTable *map, TlValue *v)
{
  TlValue *m = g_hash_table_lookup (map, v);
  if (m)
    return m;
  switch (tl_value_kind (v)) {
  case TL_VALUE_PARAM:
    m = tl_graph_param (g, tl_value_name (v), tl_value_tensor (v));
    break;
  case TL_VALUE_CONST:
    m = tl_graph_const (g, tl_value_tensor (v));
    break;
  case TL_VALUE_INPUT: {
    const TlTensorDesc *d = tl_value_desc (v);
    m = tl_graph_input (g, tl_value_name (v), d->dtype, d->ndim, d->shape);
    break;
  }
  default: {
    g_autofree char *name = g_strdup_printf ("dapple.act.%u", tl_value_id (v));
    const TlTensorDesc *d = tl_value_desc (v);
    m = tl_graph_input (g, name, d->dtype, d->ndim, d->shape);
    break;
  }
  }
  if (m)
    g_hash_table_insert (map, v, m);
  return m;
}

static void
stage_clear (Stage *st)
{
  tl_exec_free (st->fwd);
  tl_exec_free (st->bwd);
  if (st->g)
    tl_graph_unref (st->g);
  if (st->in_b)
    g_array_unref (st->in_b);
  if (st->out_b)
    g_array_unref (st->out_b);
  if (st->params)
    g_ptr_array_unref (st->params);
}

/* Boundaries: forward op values produced in one stage and read by a later one. */
static GArray *
find_boundaries (const TlGraph *g, const DappleLayering *l, const guint *stage_of_layer, GHashTable *index)
{
  GArray *b = g_array_new (FALSE, TRUE, sizeof (Boundary));
  for (guint i = 0; i < l->n_nodes; i++) {
    if (!l->forward[i])
      continue;
    TlNode *n = tl_graph_node (g, i);
    guint s = stage_of_layer[l->layer[i]];
    for (guint o = 0; o < tl_node_n_outputs (n); o++) {
      TlValue *v = tl_node_output (n, o);
      guint done_to[64];
      guint n_to = 0;
      for (guint u = 0; u < tl_value_n_users (v); u++) {
        guint ui = GPOINTER_TO_UINT (g_hash_table_lookup (index, tl_value_user (v, u))) - 1;
        if (!l->forward[ui])
          continue;
        guint t = stage_of_layer[l->layer[ui]];
        gboolean seen = FALSE;
        for (guint k = 0; k < n_to; k++)
          seen = seen || done_to[k] == t;
        if (t == s || seen || n_to >= G_N_ELEMENTS (done_to))
          continue;
        done_to[n_to++] = t;
        Boundary bd = { tl_value_id (v), s, t, is_float (tl_value_dtype (v)), v };
        g_array_append_val (b, bd);
      }
    }
  }
  return b;
}

static gboolean
build_stage (const TlGraph *full, const DappleLayering *l, const guint *stage_of_layer, GArray *bounds,
             guint s, guint S, Stage *st, GError **error)
{
  memset (st, 0, sizeof *st);
  st->g = tl_graph_new ();
  st->in_b = g_array_new (FALSE, FALSE, sizeof (guint));
  st->out_b = g_array_new (FALSE, FALSE, sizeof (guint));
  st->params = g_ptr_array_new ();
  g_autoptr (GHashTable) map = g_hash_table_new (NULL, NULL);
  TlValue *loss = tl_graph_get_output (full, "loss");
  for (guint i = 0; i < l->n_nodes; i++) {
    if (!l->forward[i] || stage_of_layer[l->layer[i]] != s)
      continue;
    TlNode *n = tl_graph_node (full, i);
    guint ni = tl_node_n_inputs (n), no = tl_node_n_outputs (n);
    g_autofree TlValue **in = g_new0 (TlValue *, MAX (ni, 1));
    for (guint k = 0; k < ni; k++)
      in[k] = stage_value (st->g, map, tl_node_input (n, k));
    g_autofree TlValue **out = g_new0 (TlValue *, MAX (no, 1));
    guint got = tl_graph_op_multi (st->g, tl_node_op (n), ni, in, tl_node_attrs (n), no, out);
    for (guint o = 0; o < got; o++)
      g_hash_table_insert (map, tl_node_output (n, o), out[o]);
  }
  if (!tl_graph_take_error (st->g, error))
    return FALSE;
  for (guint k = 0; k < bounds->len; k++) {
    const Boundary *b = &g_array_index (bounds, Boundary, k);
    if (b->to == s)
      g_array_append_val (st->in_b, k);
    if (b->from == s)
      g_array_append_val (st->out_b, k);
  }
  /* the surrogate loss: the real one on the last stage, else sum(out * gout) */
  TlValue *target = NULL;
  if (s == S - 1) {
    target = loss ? g_hash_table_lookup (map, loss) : NULL;
    if (!target) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "dapple runtime: the last stage has no loss");
      return FALSE;
    }
    st->loss = target;
  }
  for (guint k = 0; k < st->out_b->len; k++) {
    const Boundary *b = &g_array_index (bounds, Boundary, g_array_index (st->out_b, guint, k));
    if (!b->grad)
      continue;
    TlValue *v = g_hash_table_lookup (map, b->orig);
    g_autofree char *name = g_strdup_printf ("dapple.gout.%u.%u", b->id, b->to);
    const TlTensorDesc *d = tl_value_desc (v);
    TlValue *gin = tl_graph_input (st->g, name, d->dtype, d->ndim, d->shape);
    TlValue *term = tl_sum (st->g, tl_mul (st->g, v, gin), 0, NULL, FALSE);
    target = target ? tl_add (st->g, target, term) : term;
  }
  if (!tl_graph_take_error (st->g, error))
    return FALSE;
  /* what to differentiate against: trainable params, float stage inputs */
  GPtrArray *wrt = g_ptr_array_new ();
  for (guint i = 0; i < tl_graph_n_params (st->g); i++) {
    TlValue *p = tl_graph_param_value (st->g, i);
    if (is_float (tl_value_dtype (p))) {
      g_ptr_array_add (wrt, p);
      g_ptr_array_add (st->params, p);
    }
  }
  for (guint k = 0; k < st->in_b->len; k++) {
    const Boundary *b = &g_array_index (bounds, Boundary, g_array_index (st->in_b, guint, k));
    g_ptr_array_add (wrt, g_hash_table_lookup (map, b->orig));
  }
  g_autofree TlValue **grads = g_new0 (TlValue *, wrt->len + 1);
  gboolean ok = !target || tl_autodiff (st->g, target, wrt->len, (TlValue *const *) wrt->pdata, grads, error);
  TlExecOptions opts;
  tl_exec_options_init (&opts);
  opts.deterministic = 1;
  opts.training = 1;
  if (ok && st->out_b->len) {
    g_autofree TlValue **outs = g_new0 (TlValue *, st->out_b->len);
    for (guint k = 0; k < st->out_b->len; k++)
      outs[k] = g_hash_table_lookup (map, g_array_index (bounds, Boundary, g_array_index (st->out_b, guint, k)).orig);
    st->fwd = tl_exec_new (st->g, st->out_b->len, outs, &opts, error);
    ok = st->fwd != NULL;
  }
  if (ok) {
    /* missing gradients (no path) become zeros of the right shape */
    GPtrArray *outs = g_ptr_array_new ();
    for (guint k = 0; k < wrt->len; k++) {
      TlValue *gv = grads[k];
      if (!gv) {
        TlValue *w = wrt->pdata[k];
        gv = tl_mul (st->g, w, tl_graph_scalar (st->g, 0.0f));
      }
      g_ptr_array_add (outs, gv);
    }
    if (st->loss)
      g_ptr_array_add (outs, st->loss);
    ok = tl_graph_take_error (st->g, error);
    if (ok) {
      st->n_bwd_out = outs->len;
      st->bwd = tl_exec_new (st->g, outs->len, (TlValue *const *) outs->pdata, &opts, error);
      ok = st->bwd != NULL;
    }
    g_ptr_array_free (outs, TRUE);
  }
  g_ptr_array_free (wrt, TRUE);
  return ok;
}

/* One global order of computations and transfers (see the file comment). */
static GArray *
global_order (const DapplePipeline *p, GArray *bounds, GError **error)
{
  guint S = p->n_stages, M = p->micro_batches;
  GArray *order = g_array_new (FALSE, FALSE, sizeof (Item));
  GArray **ops = g_new0 (GArray *, S);
  guint *next = g_new0 (guint, S);
  gboolean *fdone = g_new0 (gboolean, S * M), *bdone = g_new0 (gboolean, S * M);
  guint remaining = 0;
  for (guint s = 0; s < S; s++) {
    ops[s] = dapple_stage_ops (p->schedule, s, S, M);
    remaining += ops[s]->len;
  }
  while (remaining > 0) {
    gboolean progress = FALSE;
    for (guint s = 0; s < S; s++) {
      if (next[s] >= ops[s]->len)
        continue;
      DappleOp o = g_array_index (ops[s], DappleOp, next[s]);
      gboolean ready = TRUE;
      for (guint k = 0; k < bounds->len; k++) {
        const Boundary *b = &g_array_index (bounds, Boundary, k);
        if (o.kind == 0 && b->to == s && !fdone[b->from * M + o.micro])
          ready = FALSE;
        if (o.kind == 1 && b->from == s && b->grad && !bdone[b->to * M + o.micro])
          ready = FALSE;
      }
      if (o.kind == 1 && !fdone[s * M + o.micro])
        ready = FALSE;
      if (!ready)
        continue;
      Item it = { o.kind, s, o.micro };
      g_array_append_val (order, it);
      for (guint k = 0; k < bounds->len; k++) {
        const Boundary *b = &g_array_index (bounds, Boundary, k);
        if (o.kind == 0 && b->from == s) {
          Item x = { 2, k, o.micro };
          g_array_append_val (order, x);
        }
        if (o.kind == 1 && b->to == s && b->grad) {
          Item x = { 3, k, o.micro };
          g_array_append_val (order, x);
        }
      }
      (o.kind == 0 ? fdone : bdone)[s * M + o.micro] = TRUE;
      next[s]++;
      remaining--;
      progress = TRUE;
    }
    if (!progress) {
      g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "dapple runtime: the schedule cannot be ordered");
      g_array_set_size (order, 0);
      break;
    }
  }
  for (guint s = 0; s < S; s++)
    g_array_unref (ops[s]);
  g_free (ops);
  g_free (next);
  g_free (fdone);
  g_free (bdone);
  return order;
}

/* Feed the dataset fields the stage graph reads, rows [first, first + n). */
static gboolean
feed_data (TlExec *ex, TlGraph *g, TlDatasetInstance *data, gint64 first, gint64 n, GError **error)
{
  g_autofree gint64 *rows = g_new (gint64, n);
  gint64 size = tl_dataset_instance_size (data);
  for (gint64 i = 0; i < n; i++)
    rows[i] = size > 0 ? (first + i) % size : first + i;
  TlTensor **t = tl_dataset_instance_read (data, n, rows, error);
  if (!t)
    return FALSE;
  guint nf = tl_dataset_instance_n_fields (data);
  gboolean ok = TRUE;
  for (guint f = 0; f < nf; f++) {
    const char *name = tl_dataset_instance_field (data, f)->name;
    if (ok && tl_graph_find_input (g, name))
      ok = tl_exec_set_input (ex, name, t[f], error);
    tl_tensor_unref (t[f]);
  }
  g_free (t);
  return ok;
}

static void
accumulate (TlTensor *acc, const TlTensor *t, double scale)
{
  gint64 n = tl_tensor_numel (acc);
  for (gint64 i = 0; i < n; i++)
    tl_tensor_set_flat (acc, i, tl_tensor_get_flat (acc, i) + scale * tl_tensor_get_flat (t, i));
}

typedef struct {
  const TlTaskContext *ctx;
  DappleModel *model;
  DapplePipeline *plan;
  TlComm *comm;
} Run;

static gboolean
stage_of_rank (const DapplePipeline *p, int rank, guint *stage, guint *replica)
{
  for (guint s = 0; s < p->n_stages; s++)
    for (guint r = 0; r < p->stages[s].n_devices; r++)
      if ((int) p->stages[s].devices[r] == rank) {
        *stage = s;
        *replica = r;
        return TRUE;
      }
  return FALSE;
}

static int
rank_of (const DapplePipeline *p, guint s, guint r)
{
  return (int) p->stages[s].devices[r];
}

/* Reference gradients of rows [0, B) in one process; the largest relative
 * difference to the pipeline's (name -> tensor). */
static gboolean
reference_diff (const TlTaskContext *ctx, gint64 B, GHashTable *got, double *max_diff, GError **error)
{
  TlTask task = TL_TASK_NONE;
  const char *label = NULL;
  TlGraph *g = tl_model_instance_build (ctx->model, ctx->data, TL_MODE_TRAIN, B, &task, &label, error);
  if (!g)
    return FALSE;
  TlValue *loss = tl_graph_get_output (g, "loss");
  GPtrArray *wrt = g_ptr_array_new ();
  for (guint i = 0; i < tl_graph_n_params (g); i++) {
    TlValue *v = tl_graph_param_value (g, i);
    if (g_hash_table_contains (got, tl_value_name (v)))
      g_ptr_array_add (wrt, v);
  }
  g_autofree TlValue **grads = g_new0 (TlValue *, wrt->len + 1);
  gboolean ok = loss && tl_autodiff (g, loss, wrt->len, (TlValue *const *) wrt->pdata, grads, error);
  TlExec *ex = NULL;
  *max_diff = 0;
  if (ok) {
    GPtrArray *outs = g_ptr_array_new ();
    for (guint k = 0; k < wrt->len; k++)
      g_ptr_array_add (outs, grads[k] ? grads[k] : tl_mul (g, wrt->pdata[k], tl_graph_scalar (g, 0.0f)));
    TlExecOptions opts;
    tl_exec_options_init (&opts);
    opts.deterministic = 1;
    opts.training = 1;
    ok = tl_graph_take_error (g, error) &&
         (ex = tl_exec_new (g, outs->len, (TlValue *const *) outs->pdata, &opts, error)) != NULL &&
         feed_data (ex, g, ctx->data, 0, B, error) && tl_exec_run (ex, 0, error);
    for (guint k = 0; ok && k < wrt->len; k++) {
      TlTensor *ref = tl_exec_get_output (ex, k);
      TlTensor *mine = g_hash_table_lookup (got, tl_value_name (wrt->pdata[k]));
      double d = tl_tensor_max_rel_diff (ref, mine);
      *max_diff = MAX (*max_diff, d < 0 || !isfinite (d) ? G_MAXDOUBLE : d); /* -1: shapes differ */
    }
    g_ptr_array_free (outs, TRUE);
  }
  tl_exec_free (ex);
  g_ptr_array_free (wrt, TRUE);
  tl_graph_unref (g);
  return ok;
}

static void
free_tensor_array (GPtrArray **a, guint n)
{
  for (guint i = 0; i < n; i++)
    if (a[i])
      g_ptr_array_unref (a[i]);
  g_free (a);
}

static GPtrArray **
tensor_slots (guint M, guint n)
{
  GPtrArray **a = g_new0 (GPtrArray *, M);
  for (guint m = 0; m < M; m++) {
    a[m] = g_ptr_array_new_with_free_func ((GDestroyNotify) tl_tensor_unref);
    g_ptr_array_set_size (a[m], n);
  }
  return a;
}

/* Position of boundary k in a stage's list, or -1. */
static gint
slot_of (GArray *list, guint k)
{
  for (guint i = 0; i < list->len; i++)
    if (g_array_index (list, guint, i) == k)
      return (gint) i;
  return -1;
}

typedef struct {
  guint S, M, s, r, g;
  gint64 b;   /* rows per micro-batch and replica of this rank's stage */
  gint64 *rows; /* [S]: the same for every stage */
  GArray *bounds;
  Stage st;
  TlComm *comm;
  const DapplePipeline *p;
  TlDatasetInstance *data;
  GPtrArray **stash;    /* [M]: tensors of st.in_b */
  GPtrArray **out;      /* [M]: forward outputs of st.out_b, until sent */
  GPtrArray **gout;     /* [M]: gradients received for st.out_b */
  GPtrArray **gin;      /* [M]: gradients of st.in_b, until sent */
  TlTensor **acc;       /* [params] */
  double loss;
  guint live, peak_live;
  double stash_bytes, peak_stash_bytes;
  double data_bytes;    /* dataset rows a micro-batch keeps for its backward */
} Rank;

static gboolean
set_inputs (Rank *k, TlExec *ex, guint m, gboolean with_gout, GError **error)
{
  gint64 first = (gint64) m * k->b * k->g + (gint64) k->r * k->b; /* b g: the micro-batch */
  if (!feed_data (ex, k->st.g, k->data, first, k->b, error))
    return FALSE;
  for (guint i = 0; i < k->st.in_b->len; i++) {
    const Boundary *b = &g_array_index (k->bounds, Boundary, g_array_index (k->st.in_b, guint, i));
    g_autofree char *name = g_strdup_printf ("dapple.act.%u", b->id);
    if (!tl_exec_set_input (ex, name, k->stash[m]->pdata[i], error))
      return FALSE;
  }
  for (guint i = 0; with_gout && i < k->st.out_b->len; i++) {
    const Boundary *b = &g_array_index (k->bounds, Boundary, g_array_index (k->st.out_b, guint, i));
    if (!b->grad)
      continue;
    g_autofree char *name = g_strdup_printf ("dapple.gout.%u.%u", b->id, b->to);
    if (!tl_exec_set_input (ex, name, k->gout[m]->pdata[i], error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
run_item (Rank *k, const Item *it, guint64 step, GError **error)
{
  guint m = it->micro;
  if (it->kind == 0 || it->kind == 1) {
    if (it->stage != k->s)
      return TRUE;
    if (it->kind == 0) {
      k->live++;
      k->peak_live = MAX (k->peak_live, k->live);
      k->stash_bytes += k->data_bytes;
      for (guint i = 0; i < k->st.in_b->len; i++)
        k->stash_bytes += (double) tl_tensor_nbytes (k->stash[m]->pdata[i]);
      k->peak_stash_bytes = MAX (k->peak_stash_bytes, k->stash_bytes);
      if (!k->st.fwd)
        return TRUE;
      if (!set_inputs (k, k->st.fwd, m, FALSE, error) || !tl_exec_run (k->st.fwd, step, error))
        return FALSE;
      for (guint i = 0; i < k->st.out_b->len; i++) {
        TlTensor *t = tl_tensor_copy (tl_exec_get_output (k->st.fwd, i), error);
        if (!t)
          return FALSE;
        g_ptr_array_index (k->out[m], i) = t;
      }
      return TRUE;
    }
    if (!set_inputs (k, k->st.bwd, m, TRUE, error) || !tl_exec_run (k->st.bwd, step, error))
      return FALSE;
    /* the micro-batch loss is the mean of the last stage's replicas' losses:
     * their gradients count 1/g_last, and every stage then sums over its
     * replicas */
    double scale = k->s == k->S - 1 ? 1.0 / k->g : 1.0;
    guint np = k->st.params->len;
    for (guint i = 0; i < np; i++)
      accumulate (k->acc[i], tl_exec_get_output (k->st.bwd, i), scale / k->M);
    for (guint i = 0; i < k->st.in_b->len; i++) {
      TlTensor *t = tl_tensor_copy (tl_exec_get_output (k->st.bwd, np + i), error);
      if (!t)
        return FALSE;
      if (scale != 1.0)
        for (gint64 e = 0; e < tl_tensor_numel (t); e++)
          tl_tensor_set_flat (t, e, scale * tl_tensor_get_flat (t, e));
      g_ptr_array_index (k->gin[m], i) = t;
    }
    if (k->st.loss)
      k->loss += tl_tensor_get_flat (tl_exec_get_output (k->st.bwd, k->st.n_bwd_out - 1), 0) / k->M;
    k->live--;
    k->stash_bytes -= k->data_bytes;
    for (guint i = 0; i < k->st.in_b->len; i++)
      k->stash_bytes -= (double) tl_tensor_nbytes (k->stash[m]->pdata[i]);
    g_ptr_array_set_size (k->stash[m], 0);
    g_ptr_array_set_size (k->stash[m], k->st.in_b->len);
    g_ptr_array_set_size (k->gout[m], 0);
    g_ptr_array_set_size (k->gout[m], k->st.out_b->len);
    return TRUE;
  }
  /* transfers of boundary it->stage: replica r of the sending stage holds
   * rows [r b_a, (r + 1) b_a) of the micro-batch, replica r' of the
   * receiving stage needs [r' b_c, (r' + 1) b_c); every overlapping pair
   * exchanges its rows, pairs in one fixed order on every rank */
  const Boundary *b = &g_array_index (k->bounds, Boundary, it->stage);
  /* transfers run in one global order, so tags only tell the two kinds apart */
  int tag = (int) (((guint64) it->stage * k->M + m) * 2 + (it->kind == 3)) % 32768;
  gboolean fwd = it->kind == 2;
  guint sender = fwd ? b->from : b->to, receiver = fwd ? b->to : b->from;
  if (k->s != sender && k->s != receiver)
    return TRUE;
  gint64 ba = k->rows[sender], bc = k->rows[receiver];
  guint ga = k->p->stages[sender].n_devices, gc = k->p->stages[receiver].n_devices;
  GPtrArray *mine = k->s == sender ? (fwd ? k->out[m] : k->gin[m]) : (fwd ? k->stash[m] : k->gout[m]);
  gint slot = slot_of (k->s == sender ? (fwd ? k->st.out_b : k->st.in_b) : (fwd ? k->st.in_b : k->st.out_b),
                       it->stage);
  TlTensor *have = mine->pdata[slot];
  if (k->s == receiver && !have) {
    have = tl_tensor_new_from_desc (tl_value_desc (b->orig), error);
    if (!have)
      return FALSE;
    mine->pdata[slot] = have;
  }
  gboolean ok = TRUE;
  for (guint ra = 0; ok && ra < ga; ra++)
    for (guint rc = 0; ok && rc < gc; rc++) {
      gint64 lo = MAX ((gint64) ra * ba, (gint64) rc * bc), hi = MIN ((gint64) (ra + 1) * ba, (gint64) (rc + 1) * bc);
      if (lo >= hi || !((k->s == sender && k->r == ra) || (k->s == receiver && k->r == rc)))
        continue;
      gsize row = tl_tensor_nbytes (have) / (gsize) MAX (tl_tensor_dim (have, 0), 1);
      gint64 at = k->s == sender ? lo - (gint64) ra * ba : lo - (gint64) rc * bc;
      if (ga == gc) {
        /* same split on both sides: the whole tensor, no copy */
        ok = k->s == sender ? tl_comm_send (k->comm, have, rank_of (k->p, receiver, rc), tag, error)
                            : tl_comm_recv (k->comm, have, rank_of (k->p, sender, ra), tag, error);
        continue;
      }
      gint64 shape[TL_MAX_DIMS];
      guint nd = tl_tensor_ndim (have);
      memcpy (shape, tl_tensor_shape (have), sizeof (gint64) * nd);
      shape[0] = hi - lo;
      TlTensor *part = tl_tensor_new (tl_tensor_dtype (have), nd, shape, error);
      ok = part != NULL;
      if (ok && k->s == sender) {
        memcpy (tl_tensor_data (part), (const char *) tl_tensor_const_data (have) + at * row, (gsize) (hi - lo) * row);
        ok = tl_comm_send (k->comm, part, rank_of (k->p, receiver, rc), tag, error);
      } else if (ok) {
        ok = tl_comm_recv (k->comm, part, rank_of (k->p, sender, ra), tag, error);
        if (ok)
          memcpy ((char *) tl_tensor_data (have) + at * row, tl_tensor_const_data (part), (gsize) (hi - lo) * row);
      }
      if (part)
        tl_tensor_unref (part);
    }
  if (k->s == sender) {
    tl_tensor_unref (have);
    mine->pdata[slot] = NULL;
  }
  return ok;
}

/**
 * dapple_run_pipeline:
 * @ctx: the bench task's context (graph, model and data needed)
 * @p: the plan: devices = ranks 0..N-1 of the communicator; its
 *   micro-batches must split evenly over every stage's replicas (with
 *   uneven replica counts, values between stages must have rows first)
 * @steps: steps to run
 * @error: return location for a #GError
 *
 * Runs @steps training steps (forward, backward, gradient averaging; the
 * parameters are not updated) of the plan on this process's rank, then
 * compares the gradients with one process computing the same global batch
 * (rank 0). Metrics: max_rel_diff, samples_per_second, loss,
 * peak_live_micro_batches and peak_stash_mib (largest over the ranks).
 *
 * Returns: %FALSE with @error on failure.
 */
gboolean
dapple_run_pipeline (const TlTaskContext *ctx, const DapplePipeline *p, guint steps, GError **error)
{
  if (!ctx->graph || !ctx->model || !ctx->data) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "dapple runtime: the bench task needs model= and data=");
    return FALSE;
  }
  TlComm *comm = tl_comm_get_default (error);
  if (!comm)
    return FALSE;
  guint N = 0;
  gint64 mb = (gint64) p->global_batch / p->micro_batches;
  gboolean even = TRUE;
  for (guint s = 0; s < p->n_stages; s++) {
    N += p->stages[s].n_devices;
    even = even && p->stages[s].n_devices == p->stages[0].n_devices;
    if (mb * p->micro_batches != (gint64) p->global_batch || mb % p->stages[s].n_devices != 0) {
      g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                   "dapple runtime: micro-batches of %g rows do not split evenly over the %u replicas of stage %u",
                   p->global_batch / p->micro_batches, p->stages[s].n_devices, s);
      return FALSE;
    }
  }
  if ((int) N != tl_comm_size (comm)) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "dapple runtime: the plan uses %u devices but the job has %d processes (mpirun -np %u)", N,
                 tl_comm_size (comm), N);
    return FALSE;
  }
  Rank k = { 0 };
  k.S = p->n_stages;
  k.M = p->micro_batches;
  k.p = p;
  k.comm = comm;
  k.data = ctx->data;
  if (!stage_of_rank (p, tl_comm_rank (comm), &k.s, &k.r)) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "dapple runtime: no stage for rank %d",
                 tl_comm_rank (comm));
    return FALSE;
  }
  g_autofree gint64 *rows = g_new (gint64, k.S);
  for (guint s = 0; s < k.S; s++)
    rows[s] = mb / p->stages[s].n_devices;
  k.rows = rows;
  k.g = p->stages[k.s].n_devices;
  k.b = rows[k.s];
  guint g = k.g;
  /* this rank's train graph, for its rows per micro-batch */
  TlTask task = TL_TASK_NONE;
  const char *label = NULL;
  TlGraph *own = tl_model_instance_build (ctx->model, ctx->data, TL_MODE_TRAIN, k.b, &task, &label, error);
  if (!own)
    return FALSE;
  DappleLayering *l = dapple_layering_new (own, error);
  if (!l) {
    tl_graph_unref (own);
    return FALSE;
  }
  gboolean ok = TRUE;
  if (p->stages[p->n_stages - 1].last != l->n_layers) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "dapple runtime: the plan covers %u layers, the graph has %u",
                 p->stages[p->n_stages - 1].last, l->n_layers);
    ok = FALSE;
  }
  g_autofree guint *stage_of_layer = g_new0 (guint, l->n_layers);
  for (guint s = 0; s < p->n_stages; s++)
    for (guint x = p->stages[s].first; x < p->stages[s].last && x < l->n_layers; x++)
      stage_of_layer[x] = s;
  g_autoptr (GHashTable) index = g_hash_table_new (NULL, NULL);
  for (guint i = 0; i < tl_graph_n_nodes (own); i++)
    g_hash_table_insert (index, tl_graph_node (own, i), GUINT_TO_POINTER (i + 1));
  k.bounds = find_boundaries (own, l, stage_of_layer, index);
  for (guint x = 0; ok && !even && x < k.bounds->len; x++) {
    const Boundary *b = &g_array_index (k.bounds, Boundary, x);
    if ((b->from == k.s || b->to == k.s) && (tl_value_ndim (b->orig) == 0 || tl_value_dim (b->orig, 0) != k.b)) {
      g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                   "dapple runtime: a value between stages %u and %u is not split by rows (uneven replicas need that)",
                   b->from, b->to);
      ok = FALSE;
    }
  }
  ok = ok && build_stage (own, l, stage_of_layer, k.bounds, k.s, k.S, &k.st, error);
  g_autoptr (GArray) order = ok ? global_order (p, k.bounds, error) : NULL;
  for (guint i = 0; ok && i < tl_graph_n_inputs (k.st.g); i++) {
    TlValue *v = tl_graph_input_value (k.st.g, i);
    if (!g_str_has_prefix (tl_value_name (v), "dapple."))
      k.data_bytes += (double) tl_tensor_desc_numel (tl_value_desc (v)) * tl_dtype_size (tl_value_dtype (v));
  }
  ok = ok && order->len > 0;

  /* the full parameter layout, the same on every rank */
  GPtrArray *names = g_ptr_array_new ();
  gint64 total = 0;
  for (guint i = 0; i < tl_graph_n_params (own); i++) {
    TlValue *v = tl_graph_param_value (own, i);
    if (tl_value_dtype (v) != TL_DTYPE_F32)
      continue;
    g_ptr_array_add (names, (gpointer) tl_value_name (v));
    total += tl_tensor_desc_numel (tl_value_desc (v));
  }
  double t0 = g_get_monotonic_time () / 1e6, t1 = t0;
  TlTensor *flat = NULL;
  if (ok) {
    k.stash = tensor_slots (k.M, k.st.in_b->len);
    k.out = tensor_slots (k.M, k.st.out_b->len);
    k.gout = tensor_slots (k.M, k.st.out_b->len);
    k.gin = tensor_slots (k.M, k.st.in_b->len);
    k.acc = g_new0 (TlTensor *, k.st.params->len + 1);
    for (guint i = 0; ok && i < k.st.params->len; i++) {
      k.acc[i] = tl_tensor_new_from_desc (tl_value_desc (k.st.params->pdata[i]), error);
      ok = k.acc[i] != NULL;
      if (ok)
        tl_tensor_fill (k.acc[i], 0);
    }
    ok = ok && tl_comm_barrier (comm, error);
    t0 = g_get_monotonic_time () / 1e6;
    for (guint step = 0; ok && step < MAX (steps, 1); step++) {
      for (guint i = 0; i < k.st.params->len; i++)
        tl_tensor_fill (k.acc[i], 0);
      k.loss = 0;
      for (guint x = 0; ok && x < order->len; x++)
        ok = run_item (&k, &g_array_index (order, Item, x), step, error);
      /* replicas (and stages sharing a parameter) add up their gradients
       * (already scaled to the micro-batch mean) */
      flat = flat ? flat : tl_tensor_new (TL_DTYPE_F32, 1, (gint64[]){ MAX (total, 1) }, error);
      ok = ok && flat;
      if (ok) {
        tl_tensor_fill (flat, 0);
        gint64 off = 0;
        float *f = tl_tensor_data (flat);
        for (guint i = 0; i < names->len; i++) {
          TlValue *v = tl_graph_find_param (own, names->pdata[i]);
          gint64 n = tl_tensor_desc_numel (tl_value_desc (v));
          for (guint j = 0; j < k.st.params->len; j++)
            if (g_strcmp0 (tl_value_name (k.st.params->pdata[j]), names->pdata[i]) == 0)
              for (gint64 e = 0; e < n; e++)
                f[off + e] += (float) tl_tensor_get_flat (k.acc[j], e);
          off += n;
        }
        ok = tl_comm_allreduce (comm, flat, TL_COMM_SUM, error);
      }
    }
    t1 = g_get_monotonic_time () / 1e6;
  }
  /* per-rank figures to everyone: [live, stash bytes, loss] x N */
  TlTensor *fig = ok ? tl_tensor_new (TL_DTYPE_F64, 1, (gint64[]){ 3 * (gint64) N }, error) : NULL;
  ok = ok && fig;
  if (ok) {
    tl_tensor_fill (fig, 0);
    int me = tl_comm_rank (comm);
    tl_tensor_set_flat (fig, 3 * me, k.peak_live);
    tl_tensor_set_flat (fig, 3 * me + 1, k.peak_stash_bytes);
    tl_tensor_set_flat (fig, 3 * me + 2, k.st.loss ? k.loss / g : 0);
    ok = tl_comm_allreduce (comm, fig, TL_COMM_SUM, error);
  }
  if (ok) {
    double loss = 0, peak = 0, live = 0;
    for (guint d = 0; d < N; d++) {
      live = MAX (live, tl_tensor_get_flat (fig, 3 * d));
      peak = MAX (peak, tl_tensor_get_flat (fig, 3 * d + 1));
      loss += tl_tensor_get_flat (fig, 3 * d + 2);
    }
    double B = (double) mb * k.M;
    tl_metrics_set (ctx->metrics, "samples_per_second", MAX (steps, 1) * B / MAX (t1 - t0, 1e-9));
    tl_metrics_set (ctx->metrics, "loss", loss);
    tl_metrics_set (ctx->metrics, "peak_live_micro_batches", live);
    tl_metrics_set (ctx->metrics, "peak_stash_mib", peak / 1048576.0);
    if (tl_comm_rank (comm) == 0) {
      GString *reps = g_string_new (NULL);
      for (guint s = 0; s < k.S; s++)
        g_string_append_printf (reps, "%s%u", s ? "+" : "", p->stages[s].n_devices);
      g_print ("dapple runtime: %u stages (replicas %s), %u micro-batches of %" G_GINT64_FORMAT
               " rows, schedule %s, %.1f samples/s\n",
               k.S, reps->str, k.M, mb, p->schedule == DAPPLE_SCHEDULE_GPIPE ? "gpipe" : "early-backward",
               MAX (steps, 1) * B / MAX (t1 - t0, 1e-9));
      g_string_free (reps, TRUE);
      for (guint d = 0; d < N; d++) {
        guint s = 0, r = 0;
        stage_of_rank (p, (int) d, &s, &r);
        g_print ("  rank %u: stage %u replica %u, peak %g micro-batches stashed, %.3f MiB\n", d, s, r,
                 tl_tensor_get_flat (fig, 3 * d), tl_tensor_get_flat (fig, 3 * d + 1) / 1048576.0);
      }
      /* the same global batch in one process */
      g_autoptr (GHashTable) got = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                          (GDestroyNotify) tl_tensor_unref);
      gint64 off = 0;
      const float *f = tl_tensor_const_data (flat);
      for (guint i = 0; ok && i < names->len; i++) {
        TlValue *v = tl_graph_find_param (own, names->pdata[i]);
        const TlTensorDesc *d = tl_value_desc (v);
        TlTensor *t = tl_tensor_new_from_data (TL_DTYPE_F32, d->ndim, d->shape, f + off, error);
        ok = t != NULL;
        if (ok)
          g_hash_table_insert (got, names->pdata[i], t);
        off += tl_tensor_desc_numel (d);
      }
      double diff = 0;
      ok = ok && reference_diff (ctx, (gint64) B, got, &diff, error);
      if (ok) {
        tl_metrics_set (ctx->metrics, "max_rel_diff", diff);
        g_print ("  gradients vs one process on the same %g rows: max relative difference %.3g\n", B, diff);
      }
    }
  }
  if (fig)
    tl_tensor_unref (fig);
  if (flat)
    tl_tensor_unref (flat);
  if (k.acc) {
    for (guint i = 0; i < k.st.params->len; i++)
      if (k.acc[i])
        tl_tensor_unref (k.acc[i]);
    g_free (k.acc);
  }
  if (k.stash) {
    free_tensor_array (k.stash, k.M);
    free_tensor_array (k.out, k.M);
    free_tensor_array (k.gout, k.M);
    free_tensor_array (k.gin, k.M);
  }
  g_ptr_array_free (names, TRUE);
  stage_clear (&k.st);
  g_array_unref (k.bounds);
  dapple_layering_free (l);
  tl_graph_unref (own);
  return ok;
}
