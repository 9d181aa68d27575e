/* test-fives.c — the fives plugin through the registry: the planted-data
 * generator, cross features, and the FIVES acceptance on planted data in a
 * short configuration (5 seeds; 10 fields of cardinality 8; planted pairs
 * {1,2}, {3,4} and triple {5,6,7}):
 *   - the two strongest first-layer edges are the planted pairs (precision >= 0.9);
 *   - the triple is read out as a second-layer chain in >= 3 of 5 seeds;
 *   - LR on raw + FIVES crosses beats raw LR by >= 0.05 AUC and is within
 *     0.02 AUC of LR given the true crosses (means over the seeds).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>
#include <tl/tl.h>

#define N_SEEDS 5
/* Seed s seeds the planted problem, its rows, the model and the trainer. */
#define MODEL_SEED s

static TlRegistry *reg;

static const TlComponentInfo *
component (const char *name)
{
  const TlComponentInfo *ci = tl_registry_find_component (reg, name, NULL);
  g_assert_nonnull (ci);
  return ci;
}

/* NULL-terminated "name=value" list -> validated params. */
static TlParams *
params_of (const TlComponentInfo *ci, const char *const *kv)
{
  guint n = kv ? g_strv_length ((char **) kv) : 0;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < n; i++) {
    const char *eq = strchr (kv[i], '=');
    g_assert_nonnull (eq);
    g_ptr_array_add (names, g_strndup (kv[i], (gsize) (eq - kv[i])));
    g_ptr_array_add (values, g_strdup (eq + 1));
  }
  g_autoptr (GError) error = NULL;
  TlParams *p = tl_component_info_make_params (ci, n, (const char *const *) names->pdata,
                                               (const char *const *) values->pdata, NULL, &error);
  g_assert_no_error (error);
  return p;
}

static TlDatasetInstance *
dataset (const char *const *kv)
{
  const TlComponentInfo *ci = component ("fives.planted");
  g_autoptr (GError) error = NULL;
  const TlDatasetDef *def = tl_registry_load_component (reg, ci, &error);
  g_assert_no_error (error);
  TlParams *p = params_of (ci, kv);
  TlDatasetInstance *d = tl_dataset_instance_new (def, "fives.planted", p, &error);
  g_assert_no_error (error);
  tl_params_free (p);
  return d;
}

typedef struct {
  TlModelInstance *m;
  const TlModelDef *def;
  TlParams *params;
} Model;

static void
model_open (Model *mo, const char *name, const char *const *kv, guint64 seed)
{
  const TlComponentInfo *ci = component (name);
  g_autoptr (GError) error = NULL;
  mo->def = tl_registry_load_component (reg, ci, &error);
  g_assert_no_error (error);
  mo->params = params_of (ci, kv);
  mo->m = tl_model_instance_new (mo->def, name, mo->params, seed, &error);
  g_assert_no_error (error);
}

static void
model_close (Model *mo)
{
  tl_model_instance_free (mo->m);
  tl_params_free (mo->params);
}

/* Train, then return the test AUC. */
static double
train_auc (Model *mo, TlDatasetInstance *train, TlDatasetInstance *test, gint64 epochs, double lr,
           guint64 seed)
{
  TlTrainConfig cfg;
  tl_train_config_init (&cfg);
  cfg.epochs = epochs;
  cfg.batch_size = 256;
  cfg.optimizer = "adam";
  cfg.lr = lr;
  cfg.seed = seed;
  cfg.deterministic = 1;
  g_autoptr (GError) error = NULL;
  gboolean ok = tl_train (mo->m, train, NULL, &cfg, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  TlMetrics metrics;
  tl_metrics_init (&metrics);
  cfg.batch_size = 500;
  ok = tl_evaluate (mo->m, test, &cfg, NULL, &metrics, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  return tl_metrics_get (&metrics, "auc");
}

static void
test_planted_schema (void)
{
  const char *kv[] = { "n_rows=50", "seed=3", NULL };
  TlDatasetInstance *a = dataset (kv);
  TlDatasetInstance *b = dataset (kv);
  g_assert_cmpint (tl_dataset_instance_size (a), ==, 50);
  g_assert_cmpuint (tl_dataset_instance_n_fields (a), ==, 11);
  const TlField *f = tl_dataset_instance_field (a, 4);
  g_assert_cmpstr (f->name, ==, "f4");
  g_assert_cmpint (f->cardinality, ==, 8);
  g_assert_cmpint (tl_dataset_instance_field_index (a, "label"), ==, 10);
  gint64 rows[] = { 0, 7, 49 };
  g_autoptr (GError) error = NULL;
  TlTensor **ta = tl_dataset_instance_read (a, 3, rows, &error);
  g_assert_no_error (error);
  TlTensor **tb = tl_dataset_instance_read (b, 3, rows, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 11; i++) {
    g_assert_true (tl_tensor_equal_bits (ta[i], tb[i]));
    for (gint64 r = 0; r < 3; r++) {
      double v = tl_tensor_get_flat (ta[i], r);
      g_assert_cmpfloat (v, >=, 0);
      g_assert_cmpfloat (v, <, i < 10 ? 8 : 2);
    }
    tl_tensor_unref (ta[i]);
    tl_tensor_unref (tb[i]);
  }
  g_free (ta);
  g_free (tb);
  tl_dataset_instance_free (a);
  tl_dataset_instance_free (b);
}

static void
test_planted_bad_params (void)
{
  const TlComponentInfo *ci = component ("fives.planted");
  g_autoptr (GError) error = NULL;
  const TlDatasetDef *def = tl_registry_load_component (reg, ci, &error);
  g_assert_no_error (error);
  const char *kv[] = { "pairs=1+12", NULL };
  TlParams *p = params_of (ci, kv);
  TlDatasetInstance *d = tl_dataset_instance_new (def, "fives.planted", p, &error);
  g_assert_null (d);
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "below 10"));
  tl_params_free (p);
}

/* No pair (triple) table is needed without planted pairs (triples): a
 * cardinality whose pair table would not fit still opens then; with a
 * planted pair it is refused, naming the pairs. */
static void
test_planted_no_interactions (void)
{
  const char *none[] = { "n_rows=100", "n_fields=4", "cardinality=20000", "pairs=", "triples=", NULL };
  const char *triple[] = { "n_rows=100", "n_fields=4", "cardinality=20000", "pairs=", "triples=1+2+3", NULL };
  const char *const *kvs[] = { none, triple };
  for (guint k = 0; k < G_N_ELEMENTS (kvs); k++) {
    TlDatasetInstance *d = dataset (kvs[k]);
    g_assert_cmpint (tl_dataset_instance_size (d), ==, 100);
    g_assert_cmpint (tl_dataset_instance_field (d, 0)->cardinality, ==, 20000);
    tl_dataset_instance_free (d);
  }

  const TlComponentInfo *ci = component ("fives.planted");
  g_autoptr (GError) error = NULL;
  const TlDatasetDef *def = tl_registry_load_component (reg, ci, &error);
  g_assert_no_error (error);
  const char *pair[] = { "n_rows=100", "n_fields=4", "cardinality=20000", "pairs=1+2", "triples=", NULL };
  TlParams *p = params_of (ci, pair);
  TlDatasetInstance *d = tl_dataset_instance_new (def, "fives.planted", p, &error);
  g_assert_null (d);
  g_assert_error (error, TL_ERROR, TL_ERROR_NO_MEMORY);
  g_assert_nonnull (strstr (error->message, "(1 pairs of 20000 x 20000 values)"));
  tl_params_free (p);
}

static void
test_lr_bad_cross (void)
{
  const TlComponentInfo *ci = component ("fives.lr");
  g_autoptr (GError) error = NULL;
  const TlModelDef *def = tl_registry_load_component (reg, ci, &error);
  g_assert_no_error (error);
  const char *kv[] = { "crosses=f1+", NULL };
  TlParams *p = params_of (ci, kv);
  TlModelInstance *m = tl_model_instance_new (def, "fives.lr", p, 1, &error);
  g_assert_null (m);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "empty field name"));
  tl_params_free (p);
}

/* tau anneals only during the search: with anneal_steps > search_steps it
 * stops at its value of the switch step (step 3 here: s = 3 of 20), so the
 * frozen soft gates, the binary mask and the read-out all share it. */
static void
test_tau_stops_with_search (void)
{
  const char *dkv[] = { "n_rows=200", "seed=2", NULL };
  TlDatasetInstance *d = dataset (dkv);
  double expect = 1.0 / pow (0.1, 3.0 / 20.0);
  for (guint bin = 0; bin < 2; bin++) {
    const char *mkv[] = { "search_steps=3", "anneal_steps=20", "search_warmup=0", "tau_start=1", "tau_end=0.1",
                          bin ? "binarize=true" : "binarize=false", NULL };
    Model mo;
    model_open (&mo, "fives.fives", mkv, 1);
    TlTrainConfig cfg;
    tl_train_config_init (&cfg);
    cfg.steps = 8;
    cfg.batch_size = 50;
    cfg.optimizer = "adam";
    cfg.lr = 0.01;
    cfg.seed = 1;
    cfg.deterministic = 1;
    g_autoptr (GError) error = NULL;
    g_assert_true (tl_train (mo.m, d, NULL, &cfg, NULL, NULL, &error));
    g_assert_no_error (error);
    TlParamStore *store = tl_model_instance_params (mo.m);
    TlTensor *t = tl_param_store_lookup (store, "search.tau_inv");
    g_assert_nonnull (t);
    g_assert_cmpfloat_with_epsilon (tl_tensor_get_flat (t, 0), expect, 1e-5);
    g_assert_cmpfloat (tl_tensor_get_flat (tl_param_store_lookup (store, "search.on"), 0), ==, 0.0);
    TlTensor *binary = tl_param_store_lookup (store, "search.binary");
    if (bin)
      g_assert_cmpfloat (tl_tensor_get_flat (binary, 0), ==, 1.0);
    else
      g_assert_null (binary);
    /* later steps keep it */
    g_assert_true (tl_model_instance_step_end (mo.m, 30, &error));
    g_assert_no_error (error);
    g_assert_cmpfloat_with_epsilon (tl_tensor_get_flat (t, 0), expect, 1e-5);
    model_close (&mo);
  }
  tl_dataset_instance_free (d);
}

/* State at the switch, captured by the progress hook (after step_end). */
typedef struct {
  Model *mo;
  gint64 switch_step;
  char *dir;       /* export written at the switch */
  GPtrArray *snap; /* TlTensor* copies of `names` at the switch */
} SwitchCapture;

static const char *const frozen_names[] = { "search.H1", "search.H2", "search.tau_inv", "search.mask1",
                                            "search.mask2", "search.binary" };

static void
export_to (Model *mo, const char *dir)
{
  const TlModelExportExt *ext = mo->def->get_extension (TL_MODEL_EXT_EXPORT);
  g_assert_nonnull (ext);
  g_autoptr (GError) error = NULL;
  g_assert_true (ext->export_model (mo->params, tl_model_instance_params (mo->m), dir, &error));
  g_assert_no_error (error);
}

static void
capture_step (gpointer user_data, gint64 step, const TlMetrics *metrics)
{
  SwitchCapture *c = user_data;
  (void) metrics;
  if (step != c->switch_step)
    return;
  TlParamStore *store = tl_model_instance_params (c->mo->m);
  for (guint i = 0; i < G_N_ELEMENTS (frozen_names); i++) {
    TlTensor *t = tl_param_store_lookup (store, frozen_names[i]);
    g_ptr_array_add (c->snap, t ? tl_tensor_copy (t, NULL) : NULL);
  }
  export_to (c->mo, c->dir);
}

static void
assert_same_file (const char *dir_a, const char *dir_b, const char *name)
{
  g_autofree char *pa = g_build_filename (dir_a, name, NULL);
  g_autofree char *pb = g_build_filename (dir_b, name, NULL);
  g_autofree char *a = NULL, *b = NULL;
  g_assert_true (g_file_get_contents (pa, &a, NULL, NULL));
  g_assert_true (g_file_get_contents (pb, &b, NULL, NULL));
  g_assert_cmpstr (a, ==, b);
  g_unlink (pa);
  g_unlink (pb);
}

/* H is frozen at the switch (step 3 of 8, Adam, whose momentum would keep
 * moving a parameter whose gradient is 0): the logits, tau, the masks after
 * 8 steps are bitwise those of the switch step, and so is the export. */
static void
test_frozen_after_switch (void)
{
  const char *dkv[] = { "n_rows=200", "seed=2", NULL };
  TlDatasetInstance *d = dataset (dkv);
  static const struct {
    gboolean binarize;
    const char *optimizer;
    double weight_decay;
  } cases[] = { { FALSE, "adam", 0 }, { TRUE, "adam", 0 }, { FALSE, "adamw", 0.1 } };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
    const char *mkv[] = { "search_steps=3", "anneal_steps=20", "search_warmup=0",
                          cases[c].binarize ? "binarize=true" : "binarize=false", NULL };
    Model mo;
    model_open (&mo, "fives.fives", mkv, 1);
    g_autofree char *dir_switch = g_dir_make_tmp ("test-fives-switch-XXXXXX", NULL);
    g_autofree char *dir_end = g_dir_make_tmp ("test-fives-end-XXXXXX", NULL);
    g_assert_nonnull (dir_switch);
    g_assert_nonnull (dir_end);
    SwitchCapture cap = { &mo, 3, dir_switch, g_ptr_array_new_with_free_func ((GDestroyNotify) tl_tensor_unref) };
    TlProgress progress = { 0 };
    progress.step = capture_step;
    progress.user_data = &cap;
    TlTrainConfig cfg;
    tl_train_config_init (&cfg);
    cfg.steps = 8;
    cfg.batch_size = 50;
    cfg.optimizer = cases[c].optimizer;
    cfg.weight_decay = cases[c].weight_decay;
    cfg.lr = 0.05;
    cfg.seed = 1;
    cfg.deterministic = 1;
    g_autoptr (GError) error = NULL;
    g_assert_true (tl_train (mo.m, d, NULL, &cfg, &progress, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (cap.snap->len, ==, G_N_ELEMENTS (frozen_names));
    TlParamStore *store = tl_model_instance_params (mo.m);
    /* the search moved H before the switch */
    TlTensor *h1 = cap.snap->pdata[0];
    g_assert_nonnull (h1);
    gboolean moved = FALSE;
    for (gint64 i = 0; i < tl_tensor_numel (h1); i++)
      moved = moved || tl_tensor_get_flat (h1, i) != 0.0;
    g_assert_true (moved);
    for (guint i = 0; i < G_N_ELEMENTS (frozen_names); i++) {
      TlTensor *now = tl_param_store_lookup (store, frozen_names[i]);
      TlTensor *then = cap.snap->pdata[i];
      g_assert_true ((now == NULL) == (then == NULL));
      g_assert_true ((now != NULL) == (cases[c].binarize || i < 3));
      if (!now)
        continue;
      gboolean same = tl_tensor_equal_bits (now, then);
      if (!same)
        g_test_message ("case %u: %s after 8 steps differs from the switch (max rel diff %g)", c,
                        frozen_names[i], tl_tensor_max_rel_diff (now, then));
      g_assert_true (same);
    }
    export_to (&mo, dir_end);
    static const char *const files[] = { "interactions.tsv", "edges-layer1.tsv", "edges-layer2.tsv" };
    for (guint i = 0; i < G_N_ELEMENTS (files); i++)
      assert_same_file (dir_switch, dir_end, files[i]);
    g_rmdir (dir_switch);
    g_rmdir (dir_end);
    g_ptr_array_unref (cap.snap);
    model_close (&mo);
  }
  tl_dataset_instance_free (d);
}

/* Resumed after the switch in a fresh instance (as after a kill): the model
 * holds no copy of H then, step_end takes it from the checkpointed
 * search.H<k>_frozen, and the run ends where an uninterrupted one does. */
static void
test_frozen_resume (void)
{
  const char *dkv[] = { "n_rows=200", "seed=2", NULL };
  const char *mkv[] = { "search_steps=3", "anneal_steps=20", "binarize=false", NULL };
  TlDatasetInstance *d = dataset (dkv);
  g_autofree char *dir = g_dir_make_tmp ("test-fives-resume-XXXXXX", NULL);
  g_assert_nonnull (dir);
  TlTrainConfig cfg;
  tl_train_config_init (&cfg);
  cfg.batch_size = 50;
  cfg.optimizer = "adam";
  cfg.lr = 0.05;
  cfg.seed = 1;
  cfg.deterministic = 1;
  g_autoptr (GError) error = NULL;
  Model full, part, resumed;
  model_open (&full, "fives.fives", mkv, 1);
  cfg.steps = 8;
  g_assert_true (tl_train (full.m, d, NULL, &cfg, NULL, NULL, &error));
  g_assert_no_error (error);
  model_open (&part, "fives.fives", mkv, 1);
  cfg.steps = 5;
  cfg.out_dir = dir;
  g_assert_true (tl_train (part.m, d, NULL, &cfg, NULL, NULL, &error));
  g_assert_no_error (error);
  model_open (&resumed, "fives.fives", mkv, 1);
  cfg.steps = 8;
  cfg.out_dir = NULL;
  cfg.resume_from = dir;
  g_assert_true (tl_train (resumed.m, d, NULL, &cfg, NULL, NULL, &error));
  g_assert_no_error (error);
  TlParamStore *a = tl_model_instance_params (full.m), *b = tl_model_instance_params (resumed.m),
               *p = tl_model_instance_params (part.m);
  static const char *const names[] = { "search.H1", "search.H2", "search.frozen", "search.tau_inv" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    g_assert_true (tl_tensor_equal_bits (tl_param_store_lookup (a, names[i]), tl_param_store_lookup (b, names[i])));
    g_assert_true (tl_tensor_equal_bits (tl_param_store_lookup (a, names[i]), tl_param_store_lookup (p, names[i])));
  }
  g_assert_true (tl_tensor_equal_bits (tl_param_store_lookup (b, "search.H1"),
                                       tl_param_store_lookup (b, "search.H1_frozen")));
  model_close (&full);
  model_close (&part);
  model_close (&resumed);
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
  g_assert_cmpint (system (cmd), ==, 0);
  tl_dataset_instance_free (d);
}

/* The first n ranked edges of edges-layer1.tsv as "fa+fb". */
static char **
top_edges (const char *dir, guint n)
{
  g_autofree char *path = g_build_filename (dir, "edges-layer1.tsv", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  char **out = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++) {
    g_assert_nonnull (lines[i + 1]);
    g_auto (GStrv) cols = g_strsplit (lines[i + 1], "\t", -1);
    g_assert_cmpuint (g_strv_length (cols), ==, 5);
    out[i] = g_strdup_printf ("%s+%s", cols[1], cols[2]);
  }
  return out;
}

static gboolean
has_triple_chain (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "interactions.tsv", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_true (g_str_has_prefix (text, "order\tfields\tscore\tlayer\n"));
  return strstr (text, "\n3\tf5+f6+f7\t") != NULL;
}

static void
test_acceptance (void)
{
  guint hits = 0, chains = 0;
  double raw_sum = 0, fives_sum = 0, true_sum = 0, model_sum = 0;
  for (guint s = 1; s <= N_SEEDS; s++) {
    g_autofree char *seed = g_strdup_printf ("seed=%u", s);
    const char *train_kv[] = { "n_rows=20000", seed, NULL };
    const char *test_kv[] = { "n_rows=5000", seed, "split=1", NULL };
    TlDatasetInstance *train = dataset (train_kv);
    TlDatasetInstance *test = dataset (test_kv);

    g_autofree char *dir = g_dir_make_tmp ("test-fives-XXXXXX", NULL);
    g_assert_nonnull (dir);
    Model fives;
    model_open (&fives, "fives.fives", NULL, MODEL_SEED);
    double a_model = train_auc (&fives, train, test, 6, 0.01, MODEL_SEED);
    /* binarize (default): after the search the GNN ran on the 0/1 graph,
     * which holds at least the top edge of the read-out */
    TlParamStore *fstore = tl_model_instance_params (fives.m);
    TlTensor *binary = tl_param_store_lookup (fstore, "search.binary");
    TlTensor *mask1 = tl_param_store_lookup (fstore, "search.mask1");
    g_assert_nonnull (binary);
    g_assert_nonnull (mask1);
    g_assert_cmpfloat (tl_tensor_get_flat (binary, 0), ==, 1.0);
    double edges = 0;
    for (gint64 i = 0; i < tl_tensor_numel (mask1); i++)
      edges += tl_tensor_get_flat (mask1, i);
    g_assert_cmpfloat (edges, >=, 2.0);
    const TlModelExportExt *ext = fives.def->get_extension (TL_MODEL_EXT_EXPORT);
    g_assert_nonnull (ext);
    g_autoptr (GError) error = NULL;
    g_assert_true (ext->export_model (fives.params, tl_model_instance_params (fives.m), dir, &error));
    g_assert_no_error (error);
    g_auto (GStrv) top = top_edges (dir, 2);
    for (guint i = 0; i < 2; i++)
      hits += g_str_equal (top[i], "f1+f2") || g_str_equal (top[i], "f3+f4");
    gboolean chain = has_triple_chain (dir);
    chains += chain;
    model_close (&fives);

    g_autofree char *file = g_build_filename (dir, "interactions.tsv", NULL);
    g_autofree char *crosses_file = g_strdup_printf ("crosses_file=%s", file);
    const char *lr_fives[] = { crosses_file, NULL };
    const char *lr_true[] = { "crosses=f1+f2,f3+f4,f5+f6+f7", NULL };
    Model m;
    model_open (&m, "fives.lr", NULL, s);
    double a_raw = train_auc (&m, train, test, 5, 0.05, s);
    model_close (&m);
    model_open (&m, "fives.lr", lr_fives, s);
    double a_fives = train_auc (&m, train, test, 5, 0.05, s);
    model_close (&m);
    model_open (&m, "fives.lr", lr_true, s);
    double a_true = train_auc (&m, train, test, 5, 0.05, s);
    model_close (&m);
    g_test_message ("seed %u: top edges %s %s, triple chain %s; AUC fives %.4f, LR raw %.4f, "
                    "LR+FIVES crosses %.4f, LR+true crosses %.4f", s, top[0], top[1], chain ? "yes" : "no",
                    a_model, a_raw, a_fives, a_true);
    raw_sum += a_raw;
    fives_sum += a_fives;
    true_sum += a_true;
    model_sum += a_model;

    g_autofree char *f1 = g_build_filename (dir, "edges-layer1.tsv", NULL);
    g_autofree char *f2 = g_build_filename (dir, "edges-layer2.tsv", NULL);
    g_unlink (f1);
    g_unlink (f2);
    g_unlink (file);
    g_rmdir (dir);
    tl_dataset_instance_free (train);
    tl_dataset_instance_free (test);
  }
  double precision = hits / (2.0 * N_SEEDS);
  double raw = raw_sum / N_SEEDS, fv = fives_sum / N_SEEDS, tr = true_sum / N_SEEDS;
  g_test_message ("precision of the top-2 first-layer edges %.2f; triple chains %u/%d; mean AUC: fives %.4f, "
                  "LR raw %.4f, LR+FIVES %.4f, LR+true %.4f", precision, chains, N_SEEDS, model_sum / N_SEEDS,
                  raw, fv, tr);
  g_assert_cmpfloat (precision, >=, 0.9);
  g_assert_cmpuint (chains, >=, 3);
  g_assert_cmpfloat (fv - raw, >=, 0.05);
  g_assert_cmpfloat (tr - fv, <=, 0.02);
}

/* The example jobs validate against the manifests (data jobs need TL_DATA_DIR). */
static void
test_examples_validate (void)
{
  static const char *const jobs[] = { "planted.xml", "adult.xml", "criteo.xml", "avazu.xml" };
  for (guint i = 0; i < G_N_ELEMENTS (jobs); i++) {
    if (i > 0 && !tl_data_dir ()) {
      g_test_message ("%s: not validated: no data directory (TL_DATA_DIR or ../shared/data)", jobs[i]);
      continue;
    }
    g_autofree char *path = g_test_build_filename (G_TEST_DIST, "plugins", "fives", "examples", jobs[i], NULL);
    g_autoptr (GError) error = NULL;
    TlJob *job = tl_job_load (path, &error);
    g_assert_no_error (error);
    gboolean ok = tl_job_validate (job, reg, &error);
    g_assert_no_error (error);
    g_assert_true (ok);
    tl_job_free (job);
  }
}

/* The planted example end to end (short): train, export, the final LR
 * reads the exported crosses, predictions written. */
static void
test_examples_planted_run (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "plugins", "fives", "examples", "planted.xml", NULL);
  g_autofree char *dir = g_dir_make_tmp ("test-fives-job-XXXXXX", NULL);
  g_autoptr (GError) error = NULL;
  TlJob *job = tl_job_load (path, &error);
  g_assert_no_error (error);
  g_autofree char *set_file = g_strdup_printf ("lr.crosses_file=%s/interactions.tsv", dir);
  const char *sets[] = { set_file, "train.n_rows=8000", "test.n_rows=1000", "task1.epochs=3", "task4.epochs=1" };
  for (guint i = 0; i < G_N_ELEMENTS (sets); i++) {
    g_assert_true (tl_job_apply_set (job, sets[i], &error));
    g_assert_no_error (error);
  }
  TlJobRunOptions opts;
  tl_job_run_options_init (&opts);
  opts.output_dir = dir;
  opts.quiet = 1;
  gboolean ok = tl_job_run (job, reg, &opts, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  const TlMetrics *m = tl_job_final_metrics (job);
  g_assert_cmpfloat (tl_metrics_get (m, "auc"), >, 0.6);
  static const char *const files[] = { "interactions.tsv", "edges-layer1.tsv", "edges-layer2.tsv", "lr-crosses.txt",
                                       "predictions-lr.tsv" };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
    g_autofree char *f = g_build_filename (dir, files[i], NULL);
    g_assert_true (g_file_test (f, G_FILE_TEST_IS_REGULAR));
  }
  g_autofree char *crosses = g_build_filename (dir, "lr-crosses.txt", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (crosses, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "\nf")); /* the final LR uses the found crosses */
  tl_job_free (job);
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
  g_assert_cmpint (system (cmd), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GError) error = NULL;
  TlRegistryOptions opts = { 0 };
  opts.no_probe = 1;
  opts.no_cache = 1;
  reg = tl_registry_new (&opts, &error);
  g_assert_no_error (error);
  const TlPluginInfo *p = tl_registry_find_plugin (reg, "fives");
  if (!p || tl_plugin_info_status (p) != TL_PLUGIN_STATUS_OK) {
    g_printerr ("fives plugin not found on TL_PLUGIN_PATH\n");
    return 1;
  }
  g_test_add_func ("/fives/planted/schema", test_planted_schema);
  g_test_add_func ("/fives/planted/bad-params", test_planted_bad_params);
  g_test_add_func ("/fives/planted/no-interactions", test_planted_no_interactions);
  g_test_add_func ("/fives/lr/bad-cross", test_lr_bad_cross);
  g_test_add_func ("/fives/search/tau-stops", test_tau_stops_with_search);
  g_test_add_func ("/fives/search/frozen-after-switch", test_frozen_after_switch);
  g_test_add_func ("/fives/search/frozen-resume", test_frozen_resume);
  g_test_add_func ("/fives/examples/validate", test_examples_validate);
  g_test_add_func ("/fives/examples/planted-run", test_examples_planted_run);
  g_test_add_func ("/fives/acceptance/planted", test_acceptance);
  int rc = g_test_run ();
  tl_registry_free (reg);
  return rc;
}
