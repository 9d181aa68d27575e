/* test-builtin-models.c — the built-in models tl.mlp, tl.convnet and
 * tl.logreg: each builds against tl.synthetic, and a few epochs of training
 * lower the evaluation loss and beat chance; bad parameters give clear
 * errors.
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "builtin-util.h"

static TlDatasetInstance *
synthetic_split (const char *n_features, const char *seed, const char *split)
{
  g_autoptr (GError) error = NULL;
  TlDatasetInstance *d = bt_dataset_new ("tl.synthetic", KV ("n_rows", "384", "n_features",
                                                             n_features, "n_classes", "3", "seed",
                                                             seed, "noise", "2.0", "split", split),
                                         &error);
  g_assert_no_error (error);
  return d;
}

static TlDatasetInstance *
synthetic (const char *n_features, const char *seed)
{
  return synthetic_split (n_features, seed, "0");
}

static void
check_builds (TlModelInstance *m, TlDatasetInstance *d)
{
  g_autoptr (GError) error = NULL;
  for (TlMode mode = TL_MODE_TRAIN; mode <= TL_MODE_PREDICT; mode++) {
    TlTask task = TL_TASK_NONE;
    const char *label = NULL;
    TlGraph *g = tl_model_instance_build (m, d, mode, 16, &task, &label, &error);
    g_assert_no_error (error);
    g_assert_nonnull (g);
    g_assert_nonnull (tl_graph_get_output (g, "prediction"));
    g_assert_nonnull (tl_graph_get_output (g, "loss"));
    g_assert_cmpstr (label, ==, "label");
    tl_graph_unref (g);
  }
}

/* Train for `epochs`; returns (loss before, loss after, accuracy after). */
static void
train_and_eval (TlModelInstance *m, TlDatasetInstance *train, TlDatasetInstance *test, int epochs,
                double lr, double *before, double *after, double *acc)
{
  g_autoptr (GError) error = NULL;
  TlTrainConfig cfg;
  tl_train_config_init (&cfg);
  cfg.epochs = epochs;
  cfg.batch_size = 32;
  cfg.lr = lr;
  cfg.seed = 7;
  cfg.deterministic = 1;
  TlMetrics m0, m1;
  tl_metrics_init (&m0);
  tl_metrics_init (&m1);
  g_assert_true (tl_evaluate (m, test, &cfg, NULL, &m0, &error));
  g_assert_no_error (error);
  g_assert_true (tl_train (m, train, NULL, &cfg, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (tl_evaluate (m, test, &cfg, NULL, &m1, &error));
  g_assert_no_error (error);
  *before = tl_metrics_get (&m0, "loss");
  *after = tl_metrics_get (&m1, "loss");
  *acc = tl_metrics_get (&m1, "accuracy");
  g_test_message ("loss %.4f -> %.4f, accuracy %.3f", *before, *after, *acc);
  g_assert_true (isfinite (*before) && isfinite (*after));
}

/* `m` builds against `train`, and `epochs` of training lower the loss on
 * `test`; returns the accuracy after. */
static double
check_trains (TlModelInstance *m, TlDatasetInstance *train, TlDatasetInstance *test, int epochs, double lr)
{
  check_builds (m, train);
  double before, after, acc;
  train_and_eval (m, train, test, epochs, lr, &before, &after, &acc);
  g_assert_cmpfloat (after, <, before);
  return acc;
}

static void
check_model (const char *component, const char *const *kv, const char *n_features, double min_acc)
{
  g_autoptr (GError) error = NULL;
  TlDatasetInstance *train = synthetic (n_features, "1");
  /* the same centres (seed fixes them), another sample: a fair held-out set */
  TlDatasetInstance *test = synthetic_split (n_features, "1", "1");
  TlModelInstance *m = bt_model_new (component, kv, 42, &error);
  g_assert_no_error (error);
  double acc = check_trains (m, train, test, 3, 1e-2);
  if (!isnan (min_acc))
    g_assert_cmpfloat (acc, >, min_acc);
  tl_model_instance_free (m);
  tl_dataset_instance_free (train);
  tl_dataset_instance_free (test);
}

static void
test_mlp (void)
{
  check_model ("tl.mlp", KV ("input", "features", "hidden", "16,16", "dropout", "0.1"), "8", 0.6);
  check_model ("tl.mlp", KV ("input", "features", "hidden", "", "activation", "tanh"), "8", 0.6);
  check_model ("tl.mlp", KV ("input", "features", "hidden", "8", "activation", "gelu", "task",
                             "regression"), "8", NAN);
}

static void
test_mlp_binary (void)
{
  g_autoptr (GError) error = NULL;
  TlDatasetInstance *d = bt_dataset_new ("tl.synthetic", KV ("n_rows", "256", "n_classes", "2"),
                                         &error);
  g_assert_no_error (error);
  TlModelInstance *m = bt_model_new ("tl.mlp", KV ("input", "features", "hidden", "8", "task",
                                                   "binary"), 1, &error);
  g_assert_no_error (error);
  check_trains (m, d, d, 3, 1e-2);
  tl_model_instance_free (m);
  tl_dataset_instance_free (d);
}

static void
test_convnet (void)
{
  /* 64 features read as an 8x8 image */
  check_model ("tl.convnet", KV ("input", "features", "channels", "4,8", "hidden", "16"), "64", 0.6);
}

static void
test_default_input (void)
{
  /* features_name=image feeds tl.mlp with its default input */
  g_autoptr (GError) error = NULL;
  TlDatasetInstance *d = bt_dataset_new ("tl.synthetic", KV ("n_rows", "64", "features_name",
                                                             "image"), &error);
  g_assert_no_error (error);
  g_assert_nonnull (bt_field (d, "image"));
  g_assert_null (bt_field (d, "features"));
  TlModelInstance *m = bt_model_new ("tl.mlp", KV ("hidden", "4"), 1, &error);
  g_assert_no_error (error);
  check_builds (m, d);
  tl_model_instance_free (m);
  tl_dataset_instance_free (d);
}

static void
test_convnet_chw (void)
{
  /* a [1, 8, 8] image field (from tl.safetensors) */
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tl-test-models-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "img.safetensors", NULL);
  gint64 si[4] = { 32, 1, 8, 8 }, sl[1] = { 32 };
  TlTensor *t[2] = { tl_tensor_new (TL_DTYPE_F32, 4, si, &error),
                     tl_tensor_new (TL_DTYPE_I64, 1, sl, &error) };
  g_assert_no_error (error);
  for (gint64 i = 0; i < 32; i++) {
    tl_tensor_set_flat (t[1], i, (double) (i % 2));
    for (gint64 j = 0; j < 64; j++)
      tl_tensor_set_flat (t[0], i * 64 + j, (i % 2) ? (j % 8) / 8.0 : (j / 8) / 8.0);
  }
  const char *names[2] = { "image", "label" };
  g_assert_true (tl_safetensors_write (path, 2, names, t, NULL, &error));
  g_assert_no_error (error);
  tl_tensor_unref (t[0]);
  tl_tensor_unref (t[1]);
  TlDatasetInstance *d = bt_dataset_new ("tl.safetensors", KV ("path", path), &error);
  g_assert_no_error (error);
  g_assert_cmpint (bt_field (d, "image")->ndim, ==, 3);
  TlModelInstance *m = bt_model_new ("tl.convnet", KV ("channels", "2,4", "hidden", "8"), 1, &error);
  g_assert_no_error (error);
  check_trains (m, d, d, 5, 1e-2);
  tl_model_instance_free (m);
  tl_dataset_instance_free (d);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_logreg (void)
{
  check_model ("tl.logreg", NULL, "8", 0.6);
}

static void
test_logreg_categorical (void)
{
  /* a str column (one-hot through the embedding table) decides the label */
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tl-test-models-XXXXXX", NULL);
  GString *s = g_string_new (NULL);
  for (int i = 0; i < 200; i++)
    g_string_append_printf (s, "%s,%d,%s\n", (i % 3) == 0 ? "red" : (i % 3) == 1 ? "green" : "blue",
                            i % 5, (i % 3) == 0 ? "yes" : "no");
  g_autofree char *path = bt_write_file (dir, "cat.csv", s->str, s->len);
  g_string_free (s, TRUE);
  TlDatasetInstance *d = bt_dataset_new ("tl.csv", KV ("path", path, "schema",
                                                       "color:str,n:float,label:label"), &error);
  g_assert_no_error (error);
  TlModelInstance *m = bt_model_new ("tl.logreg", NULL, 3, &error);
  g_assert_no_error (error);
  double acc = check_trains (m, d, d, 5, 5e-2);
  g_assert_cmpfloat (acc, ==, 1.0);
  tl_model_instance_free (m);
  tl_dataset_instance_free (d);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_errors (void)
{
  g_autoptr (GError) error = NULL;
  TlModelInstance *m = bt_model_new ("tl.mlp", KV ("hidden", "12,x"), 1, &error);
  g_assert_null (m);
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "hidden: '12,x' is not a size"));
  g_clear_error (&error);

  m = bt_model_new ("tl.convnet", KV ("channels", "16"), 1, &error);
  g_assert_null (m);
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* the label of a regression dataset is not categorical: multiclass needs n_classes */
  TlDatasetInstance *d = synthetic ("8", "1");
  m = bt_model_new ("tl.mlp", KV ("input", "features", "label", "features"), 1, &error);
  g_assert_no_error (error);
  TlGraph *g = tl_model_instance_build (m, d, TL_MODE_TRAIN, 8, NULL, NULL, &error);
  g_assert_null (g);
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "n_classes is 0 and field 'features' is not categorical"));
  g_clear_error (&error);
  tl_model_instance_free (m);

  /* a missing input field is an error naming it */
  m = bt_model_new ("tl.mlp", NULL, 1, &error);
  g_assert_no_error (error);
  g = tl_model_instance_build (m, d, TL_MODE_TRAIN, 8, NULL, NULL, &error);
  g_assert_null (g);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "image"));
  g_clear_error (&error);
  tl_model_instance_free (m);
  tl_dataset_instance_free (d);
}

/* The built-in models with a misspelt label field: training and
 * evaluation fail with the dataset's "no field" error (whatever n_classes),
 * prediction does not need the label. */
static void
test_missing_label (void)
{
  static const char *const components[] = { "tl.mlp", "tl.convnet", "tl.logreg" };
  g_autoptr (GError) error = NULL;
  TlDatasetInstance *d = synthetic ("64", "1");
  g_autofree char *dir = g_dir_make_tmp ("tl-test-models-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "pred.tsv", NULL);
  TlTrainConfig cfg;
  tl_train_config_init (&cfg);
  cfg.batch_size = 32;
  cfg.epochs = 1;
  for (guint i = 0; i < G_N_ELEMENTS (components); i++) {
    for (int with_n = 0; with_n < 2; with_n++) {
      const char *n_classes = with_n ? "3" : "0";
      /* (one expression: a compound literal lives until the end of its block) */
      const char *const *kv =
          g_str_equal (components[i], "tl.logreg")
              ? KV ("label", "lable", "n_classes", n_classes)
              : KV ("input", "features", "hidden", "8", "label", "lable", "n_classes", n_classes);
      TlModelInstance *m = bt_model_new (components[i], kv, 1, &error);
      g_assert_no_error (error);
      g_autofree char *msg = g_strdup_printf (
          "model %s: the dataset has no field 'lable' (fields: features, label)", components[i]);
      TlMetrics mt;
      g_assert_false (tl_evaluate (m, d, &cfg, NULL, &mt, &error));
      BT_ASSERT_ERROR (error, TL_ERROR_NOT_FOUND, msg);
      g_assert_false (tl_train (m, d, NULL, &cfg, NULL, NULL, &error));
      BT_ASSERT_ERROR (error, TL_ERROR_NOT_FOUND, msg);
      if (with_n) {
        g_assert_true (tl_predict (m, d, &cfg, out, &error));
        g_assert_no_error (error);
      }
      tl_model_instance_free (m);
    }
  }
  g_unlink (out);
  g_rmdir (dir);
  tl_dataset_instance_free (d);
}

/* task=binary refuses a label with more than two categories. */
static void
test_binary_multiclass_label (void)
{
  static const char *const components[] = { "tl.mlp", "tl.logreg" };
  g_autoptr (GError) error = NULL;
  TlDatasetInstance *d = bt_dataset_new ("tl.synthetic", KV ("n_rows", "64", "n_classes", "4"),
                                         &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (components); i++) {
    const char *const *kv = g_str_equal (components[i], "tl.logreg")
                                ? KV ("task", "binary")
                                : KV ("input", "features", "hidden", "4", "task", "binary");
    TlModelInstance *m = bt_model_new (components[i], kv, 1, &error);
    g_assert_no_error (error);
    g_autofree char *msg = g_strdup_printf (
        "model %s: task binary needs 0/1 labels; field 'label' has 4 categories", components[i]);
    for (TlMode mode = TL_MODE_TRAIN; mode <= TL_MODE_EVAL; mode++) {
      g_assert_null (tl_model_instance_build (m, d, mode, 8, NULL, NULL, &error));
      BT_ASSERT_ERROR (error, TL_ERROR_INVALID_ARGUMENT, msg);
    }
    tl_model_instance_free (m);
  }
  tl_dataset_instance_free (d);
}

/* A safetensors dataset with only the "features" of `d` (no label), as
 * tl.idx gives with labels="". (transfer full) */
static TlDatasetInstance *
unlabelled_copy (TlDatasetInstance *d, const char *dir)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (dir, "features.safetensors", NULL);
  gint64 n = 0;
  g_autofree double *x = bt_read_field (d, "features", &n);
  gint64 rows = tl_dataset_instance_size (d);
  gint64 shape[2] = { rows, n / rows };
  TlTensor *t = tl_tensor_new (TL_DTYPE_F32, 2, shape, &error);
  g_assert_no_error (error);
  for (gint64 i = 0; i < n; i++)
    tl_tensor_set_flat (t, i, x[i]);
  const char *names[1] = { "features" };
  g_assert_true (tl_safetensors_write (path, 1, names, &t, NULL, &error));
  g_assert_no_error (error);
  tl_tensor_unref (t);
  TlDatasetInstance *u = bt_dataset_new ("tl.safetensors", KV ("path", path), &error);
  g_assert_no_error (error);
  g_assert_null (bt_field (u, "label"));
  return u;
}

/* Predict on data without the label (n_classes left at 0): the output width
 * comes from the trained output layer; an untrained model asks for n_classes. */
static void
test_predict_unlabelled (void)
{
  static const char *const components[] = { "tl.mlp", "tl.convnet", "tl.logreg" };
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tl-test-models-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "pred.tsv", NULL);
  TlDatasetInstance *d = synthetic ("64", "1");
  TlDatasetInstance *u = unlabelled_copy (d, dir);
  TlTrainConfig cfg;
  tl_train_config_init (&cfg);
  cfg.batch_size = 32;
  cfg.epochs = 1;
  cfg.seed = 3;
  for (guint i = 0; i < G_N_ELEMENTS (components); i++) {
    const char *const *kv = g_str_equal (components[i], "tl.logreg") ? NULL
                            : g_str_equal (components[i], "tl.convnet")
                                ? KV ("input", "features", "hidden", "8", "channels", "2,4")
                                : KV ("input", "features", "hidden", "8");
    TlModelInstance *m = bt_model_new (components[i], kv, 1, &error);
    g_assert_no_error (error);
    g_assert_false (tl_predict (m, u, &cfg, out, &error));
    g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull (strstr (error->message, "no field 'label'"));
    g_assert_nonnull (strstr (error->message, "set n_classes"));
    g_clear_error (&error);
    g_assert_true (tl_train (m, d, NULL, &cfg, NULL, NULL, &error));
    g_assert_no_error (error);
    TlTask task = TL_TASK_NONE;
    TlGraph *g = tl_model_instance_build (m, u, TL_MODE_PREDICT, 16, &task, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (task, ==, TL_TASK_MULTICLASS);
    TlValue *pred = tl_graph_get_output (g, "prediction");
    g_assert_nonnull (pred);
    g_assert_cmpint (tl_value_dim (pred, 1), ==, 3);
    tl_graph_unref (g);
    g_assert_true (tl_predict (m, u, &cfg, out, &error));
    g_assert_no_error (error);
    g_autofree char *text = NULL;
    g_assert_true (g_file_get_contents (out, &text, NULL, NULL));
    g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
    g_assert_cmpuint (g_strv_length (lines), ==, 384 + 2); /* header, rows, "" */
    for (guint k = 1; k <= 384; k++) {
      const char *tab = strchr (lines[k], '\t');
      g_assert_nonnull (tab);
      g_assert_true (tab[1] >= '0' && tab[1] <= '2' && tab[2] == '\0');
    }
    g_unlink (out);
    tl_model_instance_free (m);
  }
  tl_dataset_instance_free (u);
  tl_dataset_instance_free (d);
  bt_remove_tmpdir (g_steal_pointer (&dir));
}

static void
test_synthetic_deterministic (void)
{
  TlDatasetInstance *a = synthetic ("4", "5"), *b = synthetic ("4", "5"), *c = synthetic ("4", "6");
  TlDatasetInstance *a1 = synthetic_split ("4", "5", "1");
  gint64 n = 0;
  g_autofree double *xa = bt_read_field (a, "features", &n);
  g_autofree double *xb = bt_read_field (b, "features", NULL);
  g_autofree double *xc = bt_read_field (c, "features", NULL);
  g_assert_cmpint (n, ==, 384 * 4);
  g_assert_cmpmem (xa, n * sizeof (double), xb, n * sizeof (double));
  g_autofree double *xa1 = bt_read_field (a1, "features", NULL);
  g_assert_true (memcmp (xa, xc, n * sizeof (double)) != 0);
  g_assert_true (memcmp (xa, xa1, n * sizeof (double)) != 0);
  tl_dataset_instance_free (a1);
  g_assert_cmpint (bt_field (a, "label")->cardinality, ==, 3);
  tl_dataset_instance_free (a);
  tl_dataset_instance_free (b);
  tl_dataset_instance_free (c);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/builtin-models/synthetic", test_synthetic_deterministic);
  g_test_add_func ("/builtin-models/mlp", test_mlp);
  g_test_add_func ("/builtin-models/mlp-binary", test_mlp_binary);
  g_test_add_func ("/builtin-models/convnet", test_convnet);
  g_test_add_func ("/builtin-models/default-input", test_default_input);
  g_test_add_func ("/builtin-models/convnet-chw", test_convnet_chw);
  g_test_add_func ("/builtin-models/logreg", test_logreg);
  g_test_add_func ("/builtin-models/logreg-categorical", test_logreg_categorical);
  g_test_add_func ("/builtin-models/errors", test_errors);
  g_test_add_func ("/builtin-models/missing-label", test_missing_label);
  g_test_add_func ("/builtin-models/binary-multiclass-label", test_binary_multiclass_label);
  g_test_add_func ("/builtin-models/predict-unlabelled", test_predict_unlabelled);
  return g_test_run ();
}
