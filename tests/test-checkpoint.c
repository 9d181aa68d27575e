/* test-checkpoint.c — checkpoints of a param store, optimizer state, mismatch
 * messages, and the BERT name mapping. */
#include <math.h>
#include <string.h>
#include <tl/tl.h>

#include "train-fixture.h"

static char *tmpdir;

/* A model instance whose store holds its parameters (built once). */
static TlModelInstance *
built_model (gint64 hidden, gboolean extra, guint64 seed)
{
  GError *error = NULL;
  TlModelInstance *m = fixture_model (hidden, extra, 0, seed);
  TlDatasetInstance *d = fixture_dataset (8, 3, 3, 1, FALSE);
  TlGraph *g = tl_model_instance_build (m, d, TL_MODE_EVAL, 4, NULL, NULL, &error);
  g_assert_no_error (error);
  tl_graph_unref (g);
  tl_dataset_instance_free (d);
  return m;
}

static gboolean
stores_equal (TlParamStore *a, TlParamStore *b)
{
  if (tl_param_store_size (a) != tl_param_store_size (b))
    return FALSE;
  for (guint i = 0; i < tl_param_store_size (a); i++) {
    TlTensor *t = tl_param_store_lookup (b, tl_param_store_name (a, i));
    if (!t || !tl_tensor_equal_bits (tl_param_store_tensor (a, i), t))
      return FALSE;
  }
  return TRUE;
}

static void
test_round_trip (void)
{
  GError *error = NULL;
  TlModelInstance *a = built_model (4, FALSE, 1);
  TlModelInstance *b = built_model (4, FALSE, 2);
  TlParamStore *sa = tl_model_instance_params (a), *sb = tl_model_instance_params (b);
  g_assert_cmpuint (tl_param_store_size (sa), ==, 4);
  g_assert_false (stores_equal (sa, sb));
  g_autofree char *path = g_build_filename (tmpdir, "ckpt.safetensors", NULL);
  g_autoptr (GHashTable) meta = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (meta, "step", "7");
  g_assert_true (tl_checkpoint_save (sa, NULL, meta, path, &error));
  g_assert_no_error (error);
  GHashTable *got_meta = NULL;
  g_assert_true (tl_checkpoint_load_full (sb, NULL, path, &got_meta, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (g_hash_table_lookup (got_meta, "step"), ==, "7");
  g_hash_table_destroy (got_meta);
  g_assert_true (stores_equal (sa, sb));
  /* Metadata that is not UTF-8 fails before the good checkpoint is
   * replaced (the new one would not load). */
  g_autofree char *good = NULL;
  gsize good_len = 0;
  g_assert_true (g_file_get_contents (path, &good, &good_len, NULL));
  g_hash_table_insert (meta, "note", "bad\xff\xfe");
  g_assert_false (tl_checkpoint_save (sb, NULL, meta, path, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_assert_nonnull (strstr (error->message, "metadata value of \"note\" is not valid UTF-8"));
  g_clear_error (&error);
  g_autofree char *now = NULL;
  gsize now_len = 0;
  g_assert_true (g_file_get_contents (path, &now, &now_len, NULL));
  g_assert_cmpmem (good, good_len, now, now_len);
  g_assert_true (tl_checkpoint_load (sb, NULL, path, &error));
  g_assert_no_error (error);
  /* Same seed, same init; different seed differs (checked above). */
  TlModelInstance *c = built_model (4, FALSE, 1);
  g_assert_true (stores_equal (sa, tl_model_instance_params (c)));
  tl_model_instance_free (a);
  tl_model_instance_free (b);
  tl_model_instance_free (c);
}

static void
test_mismatch (void)
{
  GError *error = NULL;
  TlModelInstance *small = built_model (4, FALSE, 1);
  TlModelInstance *big = built_model (8, FALSE, 1);
  TlModelInstance *extra = built_model (4, TRUE, 1);
  g_autofree char *path = g_build_filename (tmpdir, "small.safetensors", NULL);
  g_assert_true (tl_checkpoint_save (tl_model_instance_params (small), NULL, NULL, path, &error));
  TlTensor *w = tl_param_store_lookup (tl_model_instance_params (big), "fc1.weight");
  TlTensor *before = tl_tensor_copy (w, &error);

  g_assert_false (tl_checkpoint_load (tl_model_instance_params (big), NULL, path, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_SHAPE);
  g_autofree char *want = g_strdup_printf ("%s: parameter 'fc1.weight' has shape [8,3] in the model "
                                           "but [4,3] in the file", path);
  g_assert_cmpstr (error->message, ==, want);
  g_clear_error (&error);
  g_assert_true (tl_tensor_equal_bits (w, before)); /* untouched */

  g_assert_false (tl_checkpoint_load (tl_model_instance_params (extra), NULL, path, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "missing 'extra.weight'"));
  g_clear_error (&error);

  g_autofree char *epath = g_build_filename (tmpdir, "extra.safetensors", NULL);
  g_assert_true (tl_checkpoint_save (tl_model_instance_params (extra), NULL, NULL, epath, &error));
  g_assert_false (tl_checkpoint_load (tl_model_instance_params (small), NULL, epath, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "unexpected 'extra.weight'"));
  g_clear_error (&error);

  /* Asking for optimizer state that is not there. */
  TlOptimizer *opt = tl_optimizer_new ("adam", NULL, &error);
  g_assert_false (tl_checkpoint_load (tl_model_instance_params (small), opt, path, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_NOT_FOUND);
  g_clear_error (&error);
  tl_optimizer_free (opt);

  tl_tensor_unref (before);
  tl_model_instance_free (small);
  tl_model_instance_free (big);
  tl_model_instance_free (extra);
}

static void
test_optimizer_state (void)
{
  GError *error = NULL;
  TlModelInstance *a = built_model (4, FALSE, 1);
  TlParamStore *s = tl_model_instance_params (a);
  guint n = tl_param_store_size (s);
  const char **names = g_new0 (const char *, n);
  TlTensor **params = g_new0 (TlTensor *, n);
  TlTensor **grads = g_new0 (TlTensor *, n);
  for (guint i = 0; i < n; i++) {
    names[i] = tl_param_store_name (s, i);
    params[i] = tl_param_store_tensor (s, i);
    grads[i] = tl_tensor_copy (params[i], &error);
  }
  TlOptimizer *opt = tl_optimizer_new ("adam", NULL, &error);
  g_assert_true (tl_optimizer_set_param_names (opt, n, names, &error));
  grads[1] = (tl_tensor_unref (grads[1]), NULL); /* no gradient: no state */
  g_assert_true (tl_optimizer_step (opt, n, params, grads, 0.1, &error));
  g_assert_true (tl_optimizer_step (opt, n, params, grads, 0.1, &error));
  g_autofree char *path = g_build_filename (tmpdir, "opt.safetensors", NULL);
  g_assert_true (tl_checkpoint_save (s, opt, NULL, path, &error));
  g_assert_no_error (error);
  GHashTable *raw = tl_safetensors_read (path, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *key = g_strdup_printf ("optim/%s/exp_avg_sq", names[0]);
  g_assert_nonnull (g_hash_table_lookup (raw, key));
  g_hash_table_destroy (raw);

  TlModelInstance *b = built_model (4, FALSE, 5);
  TlOptimizer *opt2 = tl_optimizer_new ("adam", NULL, &error);
  g_assert_true (tl_optimizer_set_param_names (opt2, n, names, &error));
  g_assert_true (tl_checkpoint_load (tl_model_instance_params (b), opt2, path, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tl_optimizer_get_steps (opt2), ==, 2);
  for (guint i = 0; i < n; i++)
    for (guint k = 0; k < 2; k++) {
      TlTensor *x = tl_optimizer_get_state (opt, i, k), *y = tl_optimizer_get_state (opt2, i, k);
      g_assert_true ((x == NULL) == (y == NULL));
      if (x)
        g_assert_true (tl_tensor_equal_bits (x, y));
    }
  TlOptimizer *sgd = tl_optimizer_new ("sgd", NULL, &error);
  g_assert_false (tl_checkpoint_load (tl_model_instance_params (b), sgd, path, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "\"adam\""));
  g_clear_error (&error);
  tl_optimizer_free (sgd);
  tl_optimizer_free (opt);
  tl_optimizer_free (opt2);
  for (guint i = 0; i < n; i++)
    tl_tensor_unref (grads[i]);
  g_free (grads);
  g_free (params);
  g_free (names);
  tl_model_instance_free (a);
  tl_model_instance_free (b);
}

static void
test_map_names (void)
{
  static const char *const cases[][2] = {
    { "bert.embeddings.word_embeddings.weight", "embed.word.weight" },
    { "embeddings.word_embeddings.weight", "embed.word.weight" },
    { "bert.embeddings.position_embeddings.weight", "embed.pos.weight" },
    { "bert.embeddings.token_type_embeddings.weight", "embed.type.weight" },
    { "bert.embeddings.LayerNorm.gamma", "embed.norm.weight" },
    { "bert.embeddings.LayerNorm.beta", "embed.norm.bias" },
    { "bert.encoder.layer.0.attention.self.query.weight", "encoder.0.attn.q.weight" },
    { "encoder.layer.11.attention.self.key.bias", "encoder.11.attn.k.bias" },
    { "encoder.layer.3.attention.self.value.weight", "encoder.3.attn.v.weight" },
    { "encoder.layer.3.attention.output.dense.weight", "encoder.3.attn.out.weight" },
    { "encoder.layer.3.attention.output.LayerNorm.weight", "encoder.3.attn_norm.weight" },
    { "encoder.layer.3.intermediate.dense.bias", "encoder.3.ffn.fc1.bias" },
    { "encoder.layer.3.output.dense.weight", "encoder.3.ffn.fc2.weight" },
    { "encoder.layer.3.output.LayerNorm.bias", "encoder.3.ffn_norm.bias" },
    { "bert.pooler.dense.weight", "pooler.dense.weight" },
    { "bert.embeddings.position_ids", NULL },
    { "cls.predictions.bias", NULL },
    { "encoder.layer.x.output.dense.weight", NULL },
    { "encoder.layer.1.output.dense.scale", NULL },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *got = tl_checkpoint_map_name ("bert", cases[i][0]);
    g_assert_cmpstr (got, ==, cases[i][1]);
  }
  g_autofree char *id = tl_checkpoint_map_name (NULL, "a.b");
  g_assert_cmpstr (id, ==, "a.b");
}

/* A model with BERT-like tl names; builds parameters only. */
struct _TlModel {
  int unused;
};

static TlModel *
bm_create (const TlParams *p, GError **error)
{
  (void) p;
  (void) error;
  return g_new0 (TlModel, 1);
}

static void
bm_destroy (TlModel *m)
{
  g_free (m);
}

static gboolean
bm_build (TlModel *m, TlBuild *b, GError **error)
{
  (void) m;
  tl_build_param (b, "embed.word.weight", TL_DTYPE_F32, 2, (gint64[]){ 10, 4 }, TL_INIT_NORMAL, 0.02, TRUE);
  tl_build_param (b, "embed.norm.weight", TL_DTYPE_F32, 1, (gint64[]){ 4 }, TL_INIT_ONES, 0, TRUE);
  tl_build_param (b, "embed.norm.bias", TL_DTYPE_F32, 1, (gint64[]){ 4 }, TL_INIT_ZEROS, 0, TRUE);
  tl_build_param (b, "encoder.0.attn.q.weight", TL_DTYPE_F32, 2, (gint64[]){ 4, 4 }, TL_INIT_XAVIER_UNIFORM, 0, TRUE);
  tl_build_param (b, "encoder.0.attn.q.bias", TL_DTYPE_F32, 1, (gint64[]){ 4 }, TL_INIT_ZEROS, 0, TRUE);
  tl_build_param (b, "classifier.weight", TL_DTYPE_F32, 2, (gint64[]){ 2, 4 }, TL_INIT_CONSTANT, 0.5, TRUE);
  return tl_graph_take_error (tl_build_graph (b), error);
}

static const TlModelDef bert_like_def = {
  TL_TABLE_INIT (TlModelDef),
  .create = bm_create,
  .destroy = bm_destroy,
  .build = bm_build,
};

static TlTensor *
filled (TlDType dt, guint ndim, const gint64 *shape, double base)
{
  TlTensor *t = tl_tensor_new (dt, ndim, shape, NULL);
  for (gint64 i = 0; i < tl_tensor_numel (t); i++)
    tl_tensor_set_flat (t, i, base + 0.25 * (double) i);
  return t;
}

static void
test_bert_mapping (void)
{
  GError *error = NULL;
  /* A synthetic Hugging Face file, written from C. */
  const char *names[] = { "bert.embeddings.word_embeddings.weight", "bert.embeddings.LayerNorm.gamma",
                          "bert.embeddings.LayerNorm.beta",
                          "bert.encoder.layer.0.attention.self.query.weight",
                          "bert.encoder.layer.0.attention.self.query.bias",
                          "bert.embeddings.position_ids", "cls.predictions.bias" };
  TlTensor *ts[7];
  ts[0] = filled (TL_DTYPE_F32, 2, (gint64[]){ 10, 4 }, 1);
  ts[1] = filled (TL_DTYPE_F32, 1, (gint64[]){ 4 }, 2);
  ts[2] = filled (TL_DTYPE_F32, 1, (gint64[]){ 4 }, 3);
  ts[3] = filled (TL_DTYPE_F16, 2, (gint64[]){ 4, 4 }, 4); /* converted to f32 */
  ts[4] = filled (TL_DTYPE_F32, 1, (gint64[]){ 4 }, 5);
  ts[5] = filled (TL_DTYPE_I64, 2, (gint64[]){ 1, 16 }, 0);
  ts[6] = filled (TL_DTYPE_F32, 1, (gint64[]){ 30 }, 6);
  g_autofree char *path = g_build_filename (tmpdir, "model.safetensors", NULL);
  g_assert_true (tl_safetensors_write (path, 7, names, ts, NULL, &error));
  g_assert_no_error (error);

  TlModelInstance *m = tl_model_instance_new (&bert_like_def, "test.bert", NULL, 3, &error);
  g_assert_no_error (error);
  TlDatasetInstance *d = fixture_dataset (4, 3, 3, 1, FALSE);
  TlGraph *g = tl_model_instance_build (m, d, TL_MODE_PREDICT, 2, NULL, NULL, &error);
  g_assert_no_error (error);
  tl_graph_unref (g);
  TlParamStore *s = tl_model_instance_params (m);
  g_assert_true (tl_checkpoint_load_mapped (s, path, "bert", &error));
  g_assert_no_error (error);
  const char *tl_names[] = { "embed.word.weight", "embed.norm.weight", "embed.norm.bias",
                             "encoder.0.attn.q.weight", "encoder.0.attn.q.bias" };
  for (int i = 0; i < 5; i++) {
    TlTensor *t = tl_param_store_lookup (s, tl_names[i]);
    g_assert_cmpint (tl_tensor_dtype (t), ==, TL_DTYPE_F32);
    for (gint64 k = 0; k < tl_tensor_numel (t); k++)
      g_assert_cmpfloat (tl_tensor_get_flat (t, k), ==, tl_tensor_get_flat (ts[i], k));
  }
  /* The head keeps its initial value. */
  g_assert_cmpfloat (tl_tensor_get_flat (tl_param_store_lookup (s, "classifier.weight"), 3), ==, 0.5);

  /* A shape mismatch names both names. */
  tl_tensor_unref (ts[0]);
  ts[0] = filled (TL_DTYPE_F32, 2, (gint64[]){ 12, 4 }, 1);
  g_autofree char *bad = g_build_filename (tmpdir, "bad.safetensors", NULL);
  g_assert_true (tl_safetensors_write (bad, 7, names, ts, NULL, &error));
  g_assert_false (tl_checkpoint_load_mapped (s, bad, "bert", &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "'embed.word.weight'"));
  g_assert_nonnull (strstr (error->message, "[10,4] in the model but [12,4]"));
  g_clear_error (&error);
  g_assert_false (tl_checkpoint_load_mapped (s, path, "gpt9", &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* Nothing matches without the mapping. */
  g_assert_false (tl_checkpoint_load_mapped (s, path, NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_NOT_FOUND);
  g_clear_error (&error);

  for (int i = 0; i < 7; i++)
    tl_tensor_unref (ts[i]);
  tl_dataset_instance_free (d);
  tl_model_instance_free (m);
}

static void
check_range (TlTensor *t, double lo, double hi, double spread)
{
  double mn = 1e30, mx = -1e30;
  for (gint64 i = 0; i < tl_tensor_numel (t); i++) {
    double v = tl_tensor_get_flat (t, i);
    mn = MIN (mn, v);
    mx = MAX (mx, v);
  }
  g_assert_cmpfloat (mn, >=, lo);
  g_assert_cmpfloat (mx, <=, hi);
  g_assert_cmpfloat (mx - mn, >=, spread);
}

static void
test_init (void)
{
  GError *error = NULL;
  TlModelInstance *m = built_model (16, TRUE, 3);
  TlParamStore *s = tl_model_instance_params (m);
  /* fc1: [16, 3] kaiming: U(+-1/sqrt(3)); bias fan_in 3 from scale */
  double b = 1 / sqrt (3.0);
  check_range (tl_param_store_lookup (s, "fc1.weight"), -b, b, b);
  check_range (tl_param_store_lookup (s, "fc1.bias"), -b, b, b / 4);
  /* fc2: [3, 16]: U(+-1/4) */
  check_range (tl_param_store_lookup (s, "fc2.weight"), -0.25, 0.25, 0.25);
  check_range (tl_param_store_lookup (s, "extra.weight"), 0, 0, 0);
  g_assert_true (tl_param_store_trainable (s, 0));
  for (guint i = 0; i < tl_param_store_size (s); i++)
    if (g_str_equal (tl_param_store_name (s, i), "extra.weight"))
      g_assert_false (tl_param_store_trainable (s, i));
  /* Values depend on (seed, name) only: a model without the extra layer
   * has the same fc1 values. */
  TlModelInstance *m2 = built_model (16, FALSE, 3);
  g_assert_true (tl_tensor_equal_bits (tl_param_store_lookup (s, "fc1.weight"),
                                       tl_param_store_lookup (tl_model_instance_params (m2), "fc1.weight")));
  tl_model_instance_free (m2);
  tl_model_instance_free (m);

  TlModelInstance *bm = tl_model_instance_new (&bert_like_def, "test.bert", NULL, 3, &error);
  TlDatasetInstance *d = fixture_dataset (4, 3, 3, 1, FALSE);
  TlGraph *g = tl_model_instance_build (bm, d, TL_MODE_PREDICT, 2, NULL, NULL, &error);
  g_assert_no_error (error);
  tl_graph_unref (g);
  TlParamStore *bs = tl_model_instance_params (bm);
  check_range (tl_param_store_lookup (bs, "embed.word.weight"), -0.1, 0.1, 0.02);
  double xb = sqrt (6.0 / 8.0);
  check_range (tl_param_store_lookup (bs, "encoder.0.attn.q.weight"), -xb, xb, xb / 2);
  check_range (tl_param_store_lookup (bs, "embed.norm.weight"), 1, 1, 0);
  check_range (tl_param_store_lookup (bs, "classifier.weight"), 0.5, 0.5, 0);
  tl_dataset_instance_free (d);
  tl_model_instance_free (bm);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (tl_init (NULL));
  tmpdir = fixture_tmpdir ();
  g_test_add_func ("/checkpoint/round-trip", test_round_trip);
  g_test_add_func ("/checkpoint/mismatch", test_mismatch);
  g_test_add_func ("/checkpoint/optimizer-state", test_optimizer_state);
  g_test_add_func ("/checkpoint/map-names", test_map_names);
  g_test_add_func ("/checkpoint/bert-mapping", test_bert_mapping);
  g_test_add_func ("/checkpoint/init", test_init);
  int r = g_test_run ();
  bt_rm_rf (tmpdir);
  g_free (tmpdir);
  return r;
}
