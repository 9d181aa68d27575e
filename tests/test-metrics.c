/* test-metrics.c — AUC with ties, F1, accuracy, logloss, mse, metric sets. */
#include <math.h>
#include <string.h>
#include <tl/tl.h>

static void
test_auc (void)
{
  /* Perfect and inverted rankings. */
  double s1[4] = { 0.1, 0.2, 0.8, 0.9 }, y1[4] = { 0, 0, 1, 1 };
  g_assert_cmpfloat (tl_metric_auc (4, s1, y1), ==, 1.0);
  double y1r[4] = { 1, 1, 0, 0 };
  g_assert_cmpfloat (tl_metric_auc (4, s1, y1r), ==, 0.0);
  /* sklearn example: roc_auc_score([0,0,1,1], [0.1,0.4,0.35,0.8]) = 0.75 */
  double s2[4] = { 0.1, 0.4, 0.35, 0.8 }, y2[4] = { 0, 0, 1, 1 };
  g_assert_cmpfloat_with_epsilon (tl_metric_auc (4, s2, y2), 0.75, 1e-12);
  /* Ties: scores [0.5,0.5,0.5,0.9], labels [0,1,0,1]. Pairs (pos,neg):
   * pos 0.5 vs neg 0.5 twice -> 0.5 each; pos 0.9 beats both -> 1, 1.
   * AUC = (0.5 + 0.5 + 1 + 1) / 4 = 0.75 */
  double s3[4] = { 0.5, 0.5, 0.5, 0.9 }, y3[4] = { 0, 1, 0, 1 };
  g_assert_cmpfloat_with_epsilon (tl_metric_auc (4, s3, y3), 0.75, 1e-12);
  /* All tied: 0.5 */
  double s4[5] = { 1, 1, 1, 1, 1 }, y4[5] = { 0, 1, 0, 1, 1 };
  g_assert_cmpfloat_with_epsilon (tl_metric_auc (5, s4, y4), 0.5, 1e-12);
  /* Hand computed with ties across classes:
   * scores [0.2,0.4,0.4,0.6,0.6,0.6], labels [0,1,0,1,0,1]
   * pos: 0.4, 0.6, 0.6; neg: 0.2, 0.4, 0.6
   * 0.4: 1 + 0.5 + 0 = 1.5; 0.6: 1 + 1 + 0.5 = 2.5 (x2) -> 6.5 / 9 */
  double s5[6] = { 0.2, 0.4, 0.4, 0.6, 0.6, 0.6 }, y5[6] = { 0, 1, 0, 1, 0, 1 };
  g_assert_cmpfloat_with_epsilon (tl_metric_auc (6, s5, y5), 6.5 / 9.0, 1e-12);
  /* One class only: NaN */
  double y6[4] = { 1, 1, 1, 1 };
  g_assert_true (isnan (tl_metric_auc (4, s1, y6)));
  g_assert_true (isnan (tl_metric_auc (0, NULL, NULL)));
}

static void
test_f1 (void)
{
  /* 3 classes: y = [0,0,1,1,2,2,-1], p = [0,1,1,1,0,2,2] */
  gint64 y[7] = { 0, 0, 1, 1, 2, 2, -1 }, p[7] = { 0, 1, 1, 1, 0, 2, 2 };
  double micro, macro;
  tl_metric_f1 (7, p, y, 3, &micro, &macro);
  /* class 0: tp1 fp1 fn1 -> 0.5; class 1: tp2 fp1 fn0 -> 0.8; class 2: tp1 fp0 fn1 -> 2/3 */
  g_assert_cmpfloat_with_epsilon (macro, (0.5 + 0.8 + 2.0 / 3.0) / 3.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (micro, 4.0 / 6.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (tl_metric_accuracy (7, p, y), 4.0 / 6.0, 1e-12);
  /* A class that never occurs is not averaged. */
  tl_metric_f1 (7, p, y, 5, NULL, &macro);
  g_assert_cmpfloat_with_epsilon (macro, (0.5 + 0.8 + 2.0 / 3.0) / 3.0, 1e-12);
  /* Out of range predictions are wrong. */
  gint64 y2[2] = { 0, 1 }, p2[2] = { 7, 1 };
  tl_metric_f1 (2, p2, y2, 2, &micro, &macro);
  g_assert_cmpfloat_with_epsilon (micro, 2.0 / 3.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (macro, 0.5, 1e-12);
}

static void
test_losses (void)
{
  double p[3] = { 0.9, 0.2, 1.0 }, y[3] = { 1, 0, 0 };
  double want = -(log (0.9) + log (0.8) + log (1.0 - (1.0 - 1e-15))) / 3.0;
  g_assert_cmpfloat_with_epsilon (tl_metric_logloss (3, p, y), want, 1e-9);
  double a[3] = { 1, 2, 3 }, b[3] = { 1, 0, 4 };
  g_assert_cmpfloat_with_epsilon (tl_metric_mse (3, a, b), 5.0 / 3.0, 1e-12);
  g_assert_true (isnan (tl_metric_mse (0, a, b)));
}

static void
test_set (void)
{
  TlMetrics m;
  tl_metrics_init (&m);
  g_assert_true (isnan (tl_metrics_get (&m, "loss")));
  tl_metrics_set (&m, "loss", 0.5);
  tl_metrics_set (&m, "accuracy", 0.25);
  tl_metrics_set (&m, "loss", 0.3125);
  tl_metrics_set (&m, "auc", NAN);
  g_assert_cmpuint (m.n, ==, 3);
  g_assert_cmpfloat (tl_metrics_get (&m, "loss"), ==, 0.3125);
  g_autofree char *s = tl_metrics_to_string (&m);
  g_assert_cmpstr (s, ==, "loss=0.3125 accuracy=0.25 auc=nan");
  g_autofree char *j = tl_metrics_to_json (&m, 12, "eval");
  g_assert_cmpstr (j, ==, "{\"step\":12,\"phase\":\"eval\",\"loss\":0.3125,\"accuracy\":0.25,\"auc\":null}");
  static const char *const names[] = { "a", "b", "c", "d", "e", "f", "g", "h", "i", "j",
                                       "k", "l", "m", "n", "o", "p", "q", "r", "s", "t" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    tl_metrics_set (&m, names[i], i);
  g_assert_cmpuint (m.n, ==, TL_METRICS_MAX);
  g_assert_true (tl_metric_higher_is_better ("accuracy"));
  g_assert_true (tl_metric_higher_is_better ("f1_macro"));
  g_assert_true (tl_metric_higher_is_better ("auc"));
  g_assert_false (tl_metric_higher_is_better ("loss"));
  g_assert_false (tl_metric_higher_is_better ("mse"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metrics/auc", test_auc);
  g_test_add_func ("/metrics/f1", test_f1);
  g_test_add_func ("/metrics/losses", test_losses);
  g_test_add_func ("/metrics/set", test_set);
  return g_test_run ();
}
