/* model-fives.c — "fives.fives": Feature Interaction Via Edge Search
 * (Xie et al., arXiv:2007.14573).
 *
 * Fields are the nodes of a graph. Node i starts with its embedding
 * n_i(0) = e_i; layer k multiplies the state by the mean of the transformed
 * original embeddings of its neighbours under the layer-k adjacency:
 *
 *   n_i(k) = n_i(k-1) * sum_j A(k)_ij (W_k e_j) / (F - 1)
 *
 * so layer k holds interactions of order k + 1. The soft adjacency is built
 * recursively from the logits H(k) ("search.H<k>", [F, F]):
 *
 *   A(1) = offdiag * sigmoid(c H(1) / tau),  A(k) = A(k-1) * sigmoid(c H(k) / tau)
 *
 * (c = arch_lr_scale re-parameterises H, i.e. its learning rate under Adam;
 * tau is annealed from tau_start to tau_end by the step_end hook, kept in the
 * non-trainable parameter "search.tau_inv"). The logit is a bias, a
 * first-order term and a linear read-out of every n(k), k >= 1.
 *
 * Alternating optimisation inside one trainer step. The training rows are
 * split deterministically into a train part and a validation part by a
 * fixed random hash of the row's field values (non-trainable tables
 * "split.<field>"; `val_fraction` of the rows). The train graph holds two
 * forward passes: the weights' loss on the train part with H detached, and
 * the architecture loss on the validation part with the weights detached
 * (detached = a constant sharing the parameter's storage, see
 * fives_param()). Their sum is the loss, so the optimizer step updates the
 * weights from train rows only and H from validation rows only: the
 * first-order DARTS alternation, in one step. The search runs for
 * `search_steps` optimizer steps (after `search_warmup`); then the search
 * stops (H's loss is multiplied by the non-trainable "search.on" = 0), H is
 * frozen and the weights keep training on all rows of the found graph. A
 * zero gradient does not stop the optimizer (Adam's moments, weight
 * decay), so step_end freezes H itself: it stores H at the switch
 * (non-trainable "search.H<k>_frozen", "search.frozen" = 1) and writes it
 * back after every later step (see freeze_h()). With `binarize` (the
 * paper's step) the found graph is binary: at the switch step_end writes
 * [A(k) > threshold] into the non-trainable "search.mask<k>" and sets
 * "search.binary", and the graph uses A(k) + binary * (mask(k) - A(k)).
 *
 * Evaluation and prediction use one pass over all rows. The export task
 * writes the learned interactions (readout.c).
 */
#include <math.h>
#include <string.h>

#include "fives-private.h"

typedef struct {
  char *label;
  gint64 dim;
  guint layers;
  double tau_start, tau_end;
  gint64 anneal_steps;
  double val_fraction;
  double h_scale;
  double init_scale;
  double sparsity;
  gint64 search_warmup;
  gboolean degree_norm;
  gint64 search_steps;
  gboolean symmetric;
  gboolean binarize;
  double threshold;
  /* H<k> at the switch (TlTensor*, one per layer): the device-free copy
   * step_end writes back; NULL until the switch is seen, and dropped by
   * every build (a checkpoint loaded into the store may change it) */
  GPtrArray *frozen;
} Fives;

static void
fives_destroy (TlModel *model)
{
  Fives *m = (Fives *) model;
  if (!m)
    return;
  g_free (m->label);
  g_clear_pointer (&m->frozen, g_ptr_array_unref);
  g_free (m);
}

static TlModel *
fives_create (const TlParams *params, GError **error)
{
  Fives *m = g_new0 (Fives, 1);
  m->label = g_strdup (tl_params_get_string (params, "label", "label"));
  m->dim = tl_params_get_int (params, "embed_dim", 8);
  m->layers = (guint) tl_params_get_int (params, "layers", 2);
  m->tau_start = tl_params_get_float (params, "tau_start", 1.0);
  m->tau_end = tl_params_get_float (params, "tau_end", 0.1);
  m->anneal_steps = tl_params_get_int (params, "anneal_steps", 150);
  m->val_fraction = tl_params_get_float (params, "val_fraction", 0.2);
  m->h_scale = tl_params_get_float (params, "arch_lr_scale", 1.0);
  m->init_scale = tl_params_get_float (params, "init_scale", 0.3);
  m->sparsity = tl_params_get_float (params, "sparsity", 0.01);
  m->search_warmup = tl_params_get_int (params, "search_warmup", 0);
  m->search_steps = tl_params_get_int (params, "search_steps", 150);
  m->symmetric = tl_params_get_bool (params, "symmetric", TRUE);
  m->binarize = tl_params_get_bool (params, "binarize", TRUE);
  m->threshold = tl_params_get_float (params, "threshold", 0.5);
  m->degree_norm = g_strcmp0 (tl_params_get_string (params, "aggregate", "sum"), "mean") == 0;
  if (m->dim < 1 || m->layers < 1 || m->layers > 6 || m->tau_start <= 0 || m->tau_end <= 0 ||
      m->val_fraction <= 0 || m->val_fraction >= 1 || m->h_scale <= 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "fives: need embed_dim >= 1, 1 <= layers <= 6, tau_start, tau_end, arch_lr_scale > 0 and "
                 "0 < val_fraction < 1");
    fives_destroy ((TlModel *) m);
    return NULL;
  }
  return (TlModel *) m;
}

/* Inverse of the standard normal CDF by bisection (val_fraction quantile). */
static double
normal_quantile (double p)
{
  double lo = -10, hi = 10;
  for (int i = 0; i < 100; i++) {
    double mid = 0.5 * (lo + hi);
    if (0.5 * erfc (-mid / sqrt (2.0)) < p)
      lo = mid;
    else
      hi = mid;
  }
  return 0.5 * (lo + hi);
}

/* Validation-part weight of each row, ~0/1: sigmoid(50 (s - z)) with
 * s = sum_f R_f[x_f] / sqrt(F) (~N(0,1)) and z its (1 - val_fraction) quantile. */
static TlValue *
val_mask (Fives *m, TlBuild *b, GPtrArray *fields)
{
  TlGraph *g = tl_build_graph (b);
  gint64 batch = tl_build_batch_size (b);
  TlValue *s = NULL;
  for (guint i = 0; i < fields->len; i++) {
    const char *name = fields->pdata[i];
    g_autofree char *pname = g_strdup_printf ("split.%s", name);
    gint64 shape[2] = { tl_build_field_cardinality (b, name), 1 };
    TlValue *t = tl_build_param (b, pname, TL_DTYPE_F32, 2, shape, TL_INIT_NORMAL, 1.0, FALSE);
    TlValue *e = tl_reshape (g, tl_embedding (g, t, tl_build_input (b, name)), 1, &batch);
    s = s ? tl_add (g, s, e) : e;
  }
  double z = normal_quantile (1.0 - m->val_fraction);
  double k = 50.0, inv = 1.0 / sqrt ((double) fields->len);
  return tl_sigmoid (g, tl_scale (g, s, k * inv, -k * z));
}

/* Logits [batch]. weights_detached / arch_detached: stop-gradients. */
static TlValue *
forward (Fives *m, TlBuild *b, GPtrArray *fields, TlValue *offdiag, TlValue *tau_inv,
         gboolean weights_detached, gboolean arch_detached, TlValue **adj_mass)
{
  TlGraph *g = tl_build_graph (b);
  gint64 batch = tl_build_batch_size (b);
  gint64 F = (gint64) fields->len, D = m->dim;
  TlValue *e = fives_stack_embeddings (b, fields, "emb", D, TL_INIT_NORMAL, m->init_scale, weights_detached);
  gint64 one = 1;
  TlValue *z = tl_add (g, fives_first_order (b, fields, "w", weights_detached),
                       fives_param (b, "bias", 1, &one, TL_INIT_ZEROS, 0, weights_detached));
  TlValue *state = e, *adj = offdiag;
  gint64 fxf[2] = { F, F }, dxd[2] = { D, D }, ro[2] = { 1, F * D }, a3[3] = { 1, F, F };
  gint64 flat[2] = { batch, F * D };
  for (guint k = 1; k <= m->layers; k++) {
    g_autofree char *hn = g_strdup_printf ("search.H%u", k);
    g_autofree char *wn = g_strdup_printf ("gnn%u.weight", k);
    g_autofree char *on = g_strdup_printf ("out%u.weight", k);
    TlValue *h = fives_param (b, hn, 2, fxf, TL_INIT_ZEROS, 0, arch_detached);
    if (m->symmetric)
      h = tl_scale (g, tl_add (g, h, tl_transpose (g, h, 0, NULL)), 0.5, 0.0);
    TlValue *gate = tl_sigmoid (g, tl_mul (g, tl_scale (g, h, m->h_scale, 0.0), tau_inv));
    adj = tl_mul (g, adj, gate);
    if (adj_mass && k == 1) {
      TlValue *mass = tl_mean (g, adj, 0, NULL, FALSE);
      *adj_mass = *adj_mass ? tl_add (g, *adj_mass, mass) : mass;
    }
    TlValue *used = adj;
    if (m->binarize) {
      /* after the search: A(k) -> search.mask<k> (its binarisation, set by
       * step_end): used = adj + binary * (mask - adj) */
      g_autofree char *mn = g_strdup_printf ("search.mask%u", k);
      TlValue *mask = tl_build_param (b, mn, TL_DTYPE_F32, 2, fxf, TL_INIT_ZEROS, 0, FALSE);
      TlValue *bin = tl_build_param (b, "search.binary", TL_DTYPE_F32, 1, &one, TL_INIT_ZEROS, 0, FALSE);
      used = tl_add (g, adj, tl_mul (g, tl_sub (g, mask, adj), bin));
    }
    TlValue *w = fives_param (b, wn, 2, dxd, TL_INIT_KAIMING_UNIFORM, 0, weights_detached);
    TlValue *t = tl_linear (g, e, w, NULL);                          /* [B, F, D] */
    TlValue *msg = tl_matmul (g, tl_reshape (g, used, 3, a3), t, FALSE, FALSE);
    if (m->degree_norm) {
      gint last = -1;
      gint64 d3[3] = { 1, F, 1 };
      TlValue *deg = tl_scale (g, tl_sum (g, used, 1, &last, TRUE), 1.0, 1e-6);
      msg = tl_div (g, msg, tl_reshape (g, deg, 3, d3));
    } else {
      msg = tl_scale (g, msg, 1.0 / (double) (F - 1), 0.0);
    }
    state = tl_mul (g, state, msg);
    TlValue *wo = fives_param (b, on, 2, ro, TL_INIT_ZEROS, 0, weights_detached);
    TlValue *r = tl_linear (g, tl_reshape (g, state, 2, flat), wo, NULL); /* [B, 1] */
    z = tl_add (g, z, tl_reshape (g, r, 1, &batch));
  }
  return z;
}

static TlValue *
masked_mean (TlGraph *g, TlValue *rows, TlValue *weight)
{
  TlValue *num = tl_sum (g, tl_mul (g, rows, weight), 0, NULL, FALSE);
  TlValue *den = tl_scale (g, tl_sum (g, weight, 0, NULL, FALSE), 1.0, 1e-6);
  return tl_div (g, num, den);
}

static gboolean
fives_build (TlModel *model, TlBuild *b, GError **error)
{
  Fives *m = (Fives *) model;
  TlGraph *g = tl_build_graph (b);
  g_clear_pointer (&m->frozen, g_ptr_array_unref);
  g_autoptr (GPtrArray) fields = fives_categorical_fields (b, m->label, error);
  if (!fields)
    return FALSE;
  gint64 F = (gint64) fields->len;
  if (F < 2) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "fives: needs at least 2 categorical fields");
    return FALSE;
  }
  gint64 one = 1;
  TlValue *tau_inv = tl_build_param (b, "search.tau_inv", TL_DTYPE_F32, 1, &one, TL_INIT_CONSTANT,
                                     1.0 / m->tau_start, FALSE);
  gint64 fxf[2] = { F, F };
  g_autoptr (GError) terr = NULL;
  TlTensor *od = tl_tensor_new (TL_DTYPE_F32, 2, fxf, &terr);
  if (!od) {
    g_propagate_error (error, g_steal_pointer (&terr));
    return FALSE;
  }
  float *p = tl_tensor_data (od);
  for (gint64 i = 0; i < F * F; i++)
    p[i] = i / F == i % F ? 0.0f : 1.0f;
  TlValue *offdiag = tl_graph_const (g, od);
  tl_tensor_unref (od);

  if (tl_build_mode (b) != TL_MODE_TRAIN) {
    TlValue *z = forward (m, b, fields, offdiag, tau_inv, FALSE, FALSE, NULL);
    fives_binary_head (b, z, m->label);
    return tl_graph_take_error (g, error);
  }
  TlValue *y = fives_label_f32 (b, m->label);
  TlValue *val = val_mask (m, b, fields);
  /* search.on: 1 while searching (in the search_warmup .. + search_steps
   * window), else 0: no gradient into H, and the weights train on all rows */
  TlValue *on = tl_build_param (b, "search.on", TL_DTYPE_F32, 1, &one, TL_INIT_CONSTANT,
                                m->search_warmup > 0 ? 0.0 : 1.0, FALSE);
  TlValue *trn = tl_scale (g, tl_mul (g, val, on), -1.0, 1.0);
  /* H at the switch, kept by step_end (freeze_h()); not in the graph */
  tl_build_param (b, "search.frozen", TL_DTYPE_F32, 1, &one, TL_INIT_ZEROS, 0, FALSE);
  for (guint k = 1; k <= m->layers; k++) {
    g_autofree char *fn = g_strdup_printf ("search.H%u_frozen", k);
    tl_build_param (b, fn, TL_DTYPE_F32, 2, fxf, TL_INIT_ZEROS, 0, FALSE);
  }
  TlValue *mass = NULL;
  TlValue *z_w = forward (m, b, fields, offdiag, tau_inv, FALSE, TRUE, NULL);
  TlValue *z_h = forward (m, b, fields, offdiag, tau_inv, TRUE, FALSE, &mass);
  TlValue *loss_w = masked_mean (g, fives_bce_rows (g, z_w, y), trn);
  TlValue *loss_h = masked_mean (g, fives_bce_rows (g, z_h, y), val);
  if (m->sparsity > 0)
    loss_h = tl_add (g, loss_h, tl_scale (g, mass, m->sparsity, 0.0));
  loss_h = tl_mul (g, tl_reshape (g, loss_h, 1, &one), on);
  loss_h = tl_reshape (g, loss_h, 0, NULL);
  tl_build_set_prediction (b, z_w, TL_TASK_BINARY, m->label);
  tl_build_set_loss (b, tl_add (g, loss_w, loss_h));
  return tl_graph_take_error (g, error);
}

/* binarize: write search.mask<k> = [A(k) > threshold] from the current
 * logits and temperature (A(k) as the graph computes it, with the symmetric
 * H when `symmetric`) and switch search.binary on. */
static void
binarize_adjacency (Fives *m, TlParamStore *store, double tau_inv)
{
  TlTensor *bin = tl_param_store_lookup (store, "search.binary");
  if (!bin || tl_tensor_get_flat (bin, 0) != 0.0)
    return;
  TlTensor *h1 = tl_param_store_lookup (store, "search.H1");
  if (!h1)
    return;
  gint64 F = (gint64) llround (sqrt ((double) tl_tensor_numel (h1)));
  g_autofree double *adj = g_new (double, F * F);
  for (gint64 i = 0; i < F * F; i++)
    adj[i] = i / F == i % F ? 0.0 : 1.0;
  for (guint k = 1; k <= m->layers; k++) {
    g_autofree char *hn = g_strdup_printf ("search.H%u", k);
    g_autofree char *mn = g_strdup_printf ("search.mask%u", k);
    TlTensor *h = tl_param_store_lookup (store, hn);
    TlTensor *mask = tl_param_store_lookup (store, mn);
    if (!h || !mask || tl_tensor_numel (h) != F * F || tl_tensor_numel (mask) != F * F)
      return;
    for (gint64 i = 0; i < F; i++)
      for (gint64 j = 0; j < F; j++) {
        double v = tl_tensor_get_flat (h, i * F + j);
        if (m->symmetric)
          v = 0.5 * (v + tl_tensor_get_flat (h, j * F + i));
        adj[i * F + j] *= 1.0 / (1.0 + exp (-m->h_scale * tau_inv * v));
      }
    for (gint64 i = 0; i < F * F; i++)
      tl_tensor_set_flat (mask, i, adj[i] > m->threshold ? 1.0 : 0.0);
  }
  tl_tensor_set_flat (bin, 0, 1.0);
}

/* Keeps H frozen after the switch. The first time (search.frozen = 0, the
 * switch step) it copies each search.H<k> into the non-trainable
 * search.H<k>_frozen and sets search.frozen = 1; afterwards it writes those
 * values back into search.H<k> (the optimizer moved them in this step).
 * The values are also kept in m->frozen, so that later steps touch only
 * search.H<k>: on a GPU each tensor step_end reaches is copied to the host
 * and back. Missing parameters (not a training store): nothing to do. */
static gboolean
freeze_h (Fives *m, TlParamStore *store, GError **error)
{
  TlTensor *flag = tl_param_store_lookup (store, "search.frozen");
  if (!flag)
    return TRUE;
  gboolean at_switch = tl_tensor_get_flat (flag, 0) == 0.0;
  g_autoptr (GPtrArray) frozen = g_ptr_array_new_with_free_func ((GDestroyNotify) tl_tensor_unref);
  for (guint k = 1; k <= m->layers; k++) {
    g_autofree char *hn = g_strdup_printf ("search.H%u", k);
    g_autofree char *fn = g_strdup_printf ("search.H%u_frozen", k);
    TlTensor *h = tl_param_store_lookup (store, hn);
    TlTensor *f = tl_param_store_lookup (store, fn);
    if (!h || !f)
      return TRUE;
    TlTensor *c = NULL;
    if ((at_switch && !tl_tensor_copy_into (f, h, error)) || !(c = tl_tensor_copy (f, error))) {
      g_prefix_error (error, "fives: %s: ", fn);
      return FALSE;
    }
    g_ptr_array_add (frozen, c);
  }
  tl_tensor_set_flat (flag, 0, 1.0);
  m->frozen = g_steal_pointer (&frozen);
  return TRUE;
}

/* Writes m->frozen back into search.H<k>. */
static gboolean
restore_h (Fives *m, TlParamStore *store, GError **error)
{
  for (guint k = 1; k <= m->frozen->len; k++) {
    g_autofree char *hn = g_strdup_printf ("search.H%u", k);
    TlTensor *h = tl_param_store_lookup (store, hn);
    if (h && !tl_tensor_copy_into (h, m->frozen->pdata[k - 1], error)) {
      g_prefix_error (error, "fives: %s: ", hn);
      return FALSE;
    }
  }
  return TRUE;
}

/* Anneal tau: tau_start * (tau_end / tau_start)^min(1, s / anneal_steps)
 * with s the search steps done so far (steps after search_warmup, at most
 * search_steps); switch the search off after search_steps, freeze H there
 * (freeze_h()) and, with binarize, replace the soft adjacency by its
 * binarisation. */
static gboolean
fives_step_end (TlModel *model, TlParamStore *store, guint64 step, GError **error)
{
  Fives *m = (Fives *) model;
  gboolean searching = (gint64) step >= m->search_warmup &&
                       (m->search_steps == 0 || (gint64) step < m->search_warmup + m->search_steps);
  gboolean after = !searching && (gint64) step >= m->search_warmup;
  /* after the switch (seen in this run): search.on, tau and the masks are
   * set; only H needs writing back */
  if (after && m->frozen)
    return restore_h (m, store, error);
  TlTensor *on = tl_param_store_lookup (store, "search.on");
  if (on)
    tl_tensor_set_flat (on, 0, searching ? 1.0 : 0.0);
  TlTensor *t = tl_param_store_lookup (store, "search.tau_inv");
  if (!t)
    return TRUE;
  /* tau stops with the search: H is frozen then, and the soft gates
   * (binarize=false), the mask (binarize=true) and the read-out all use the
   * tau of the switch step. */
  gint64 last = m->search_steps > 0 ? m->search_warmup + m->search_steps : G_MAXINT64;
  gint64 s = MAX (0, MIN ((gint64) step, last) - m->search_warmup);
  double frac = m->anneal_steps > 0 ? MIN (1.0, (double) s / (double) m->anneal_steps) : 1.0;
  double tau = m->tau_start * pow (m->tau_end / m->tau_start, frac);
  tl_tensor_set_flat (t, 0, 1.0 / tau);
  if (!after)
    return TRUE;
  if (!freeze_h (m, store, error))
    return FALSE;
  /* the stored (f32) tau_inv, as the graph and the read-out use it */
  if (m->binarize)
    binarize_adjacency (m, store, tl_tensor_get_flat (t, 0));
  return m->frozen ? restore_h (m, store, error) : TRUE;
}

/* --- export: the learned interactions ----------------------------------- */

static gboolean
write_file (const char *dir, const char *name, const char *text, GError **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  return g_file_set_contents (path, text, -1, error);
}

static gboolean
fives_export (const TlParams *params, TlParamStore *store, const char *out_dir, GError **error)
{
  FivesReadoutOptions opts = {
    .threshold = tl_params_get_float (params, "threshold", 0.5),
    .max_pairs = (guint) tl_params_get_int (params, "max_pairs", 0),
    .max_triples = (guint) tl_params_get_int (params, "max_triples", 0),
    .h_scale = tl_params_get_float (params, "arch_lr_scale", 1.0),
  };
  g_autoptr (GPtrArray) crosses = fives_readout (store, &opts, error);
  if (!crosses)
    return FALSE;
  g_autofree char *tsv = fives_readout_to_tsv (crosses);
  if (!write_file (out_dir, tl_params_get_string (params, "interactions_file", "interactions.tsv"), tsv, error))
    return FALSE;
  for (guint k = 1;; k++) {
    g_autofree char *hn = g_strdup_printf ("search.H%u", k);
    if (!tl_param_store_lookup (store, hn))
      break;
    g_autofree char *edges = fives_readout_edges_tsv (store, k, &opts);
    g_autofree char *name = g_strdup_printf ("edges-layer%u.tsv", k);
    if (!edges || !write_file (out_dir, name, edges, error))
      return FALSE;
  }
  return TRUE;
}

static const TlModelExportExt fives_export_ext = {
  TL_TABLE_INIT (TlModelExportExt),
  .export_model = fives_export,
};

static const void *
fives_extension (const char *id)
{
  if (g_strcmp0 (id, TL_MODEL_EXT_SAMPLE_DATA) == 0)
    return &fives_sample_data;
  if (g_strcmp0 (id, TL_MODEL_EXT_EXPORT) == 0)
    return &fives_export_ext;
  return NULL;
}

const TlModelDef fives_model_def = {
  TL_TABLE_INIT (TlModelDef),
  .create = fives_create,
  .destroy = fives_destroy,
  .build = fives_build,
  .step_end = fives_step_end,
  .get_extension = fives_extension,
};
