/* test-adult.c — tl.csv on the real UCI Adult files (when tl_data_dir()
 * has ctr/adult): the schema used by the examples, row counts, field
 * cardinalities, label normalisation of adult.test ("<=50K.") through the
 * vocabulary of adult.data, and a short logistic-regression fit.
 */
#include "config.h"

#include <string.h>

#include "builtin-util.h"

#define ADULT_SCHEMA                                                                           \
  "age:float,workclass:str,fnlwgt:float,education:str,education_num:float,"                    \
  "marital_status:str,occupation:str,relationship:str,race:str,sex:str,capital_gain:float,"    \
  "capital_loss:float,hours_per_week:float,native_country:str,income:label"
#define ADULT_QUANTILES "age=10;fnlwgt=10;education_num=8;capital_gain=4;capital_loss=4;hours_per_week=8"

static char *
adult_file (const char *name)
{
  const char *dir = tl_data_dir ();
  if (!dir)
    return NULL;
  char *path = g_build_filename (dir, "ctr", "adult", name, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
    g_free (path);
    return NULL;
  }
  return path;
}

static void
test_adult_data (void)
{
  g_autofree char *path = adult_file ("adult.data");
  if (!path) {
    g_test_skip ("no ctr/adult/adult.data under tl_data_dir() (set TL_DATA_DIR)");
    return;
  }
  g_autoptr (GError) error = NULL;
  TlDatasetInstance *d = bt_dataset_new ("tl.csv", KV ("path", path, "schema", ADULT_SCHEMA),
                                         &error);
  g_assert_no_error (error);
  g_assert_cmpint (tl_dataset_instance_size (d), ==, 32561);
  struct {
    const char *name;
    gint64 cardinality;
  } expect[] = {
    /* distinct tokens (without "?") + 2 (out of vocabulary, missing) */
    { "workclass", 10 }, { "education", 18 }, { "marital_status", 9 }, { "occupation", 16 },
    { "relationship", 8 }, { "race", 7 }, { "sex", 4 }, { "native_country", 43 },
    { "income", 2 }, { "age", -1 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (expect); i++) {
    const TlField *f = bt_field (d, expect[i].name);
    g_assert_nonnull (f);
    g_assert_cmpint (f->cardinality, ==, expect[i].cardinality);
  }
  /* no float column of adult.data has missing values */
  g_assert_null (bt_field (d, "age_missing"));
  gint64 n = 0;
  g_autofree double *y = bt_read_field (d, "income", &n);
  gint64 pos = 0;
  for (gint64 i = 0; i < n; i++)
    pos += y[i] == 1;
  g_assert_cmpint (pos, ==, 7841); /* ">50K" */
  tl_dataset_instance_free (d);
}

static void
test_adult_test (void)
{
  g_autofree char *train = adult_file ("adult.data");
  g_autofree char *path = adult_file ("adult.test");
  if (!train || !path) {
    g_test_skip ("no ctr/adult/adult.test under tl_data_dir() (set TL_DATA_DIR)");
    return;
  }
  g_autoptr (GError) error = NULL;
  TlDatasetInstance *d = bt_dataset_new ("tl.csv", KV ("path", path, "schema", ADULT_SCHEMA,
                                                       "comment", "|", "vocab_from", train,
                                                       "quantile_buckets", ADULT_QUANTILES),
                                         &error);
  g_assert_no_error (error);
  g_assert_cmpint (tl_dataset_instance_size (d), ==, 16281);
  g_assert_cmpint (bt_field (d, "native_country")->cardinality, ==, 43);
  g_assert_cmpint (bt_field (d, "age")->dtype, ==, TL_DTYPE_I64);
  g_assert_cmpint (bt_field (d, "age")->cardinality, >, 5);
  gint64 n = 0;
  g_autofree double *y = bt_read_field (d, "income", &n);
  gint64 pos = 0;
  for (gint64 i = 0; i < n; i++)
    pos += y[i] == 1;
  g_assert_cmpint (pos, ==, 3846); /* ">50K." */

  /* a quick logistic regression beats the majority class (0.764) */
  TlDatasetInstance *tr = bt_dataset_new ("tl.csv", KV ("path", train, "schema", ADULT_SCHEMA,
                                                        "quantile_buckets", ADULT_QUANTILES),
                                          &error);
  g_assert_no_error (error);
  TlModelInstance *m = bt_model_new ("tl.logreg", KV ("label", "income"), 1, &error);
  g_assert_no_error (error);
  TlTrainConfig cfg;
  tl_train_config_init (&cfg);
  cfg.epochs = 1;
  cfg.batch_size = 256;
  cfg.lr = 0.05;
  TlMetrics met;
  tl_metrics_init (&met);
  g_assert_true (tl_train (m, tr, NULL, &cfg, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (tl_evaluate (m, d, &cfg, NULL, &met, &error));
  g_assert_no_error (error);
  g_autofree char *text = tl_metrics_to_string (&met);
  g_test_message ("adult.test: %s", text);
  g_assert_cmpfloat (tl_metrics_get (&met, "accuracy"), >, 0.80);
  tl_model_instance_free (m);
  tl_dataset_instance_free (tr);
  tl_dataset_instance_free (d);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/adult/data", test_adult_data);
  g_test_add_func ("/adult/test", test_adult_test);
  return g_test_run ();
}
