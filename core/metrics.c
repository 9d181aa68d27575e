/* metrics.c — named metric sets and the metric functions (AUC, F1, ...). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tl-private.h"
#include "json-mini.h"

/**
 * tl_metrics_init:
 * @m: set to clear
 */
void
tl_metrics_init (TlMetrics *m)
{
  memset (m, 0, sizeof *m);
}

/**
 * tl_metrics_set:
 * @m: metric set
 * @name: name (static or outliving the set; not copied)
 * @value: value
 *
 * Sets or overwrites a value; ignored when the set is full.
 */
void
tl_metrics_set (TlMetrics *m, const char *name, double value)
{
  for (guint32 i = 0; i < m->n; i++) {
    if (strcmp (m->names[i], name) == 0) {
      m->values[i] = value;
      return;
    }
  }
  if (m->n >= TL_METRICS_MAX)
    return;
  m->names[m->n] = name;
  m->values[m->n] = value;
  m->n++;
}

/**
 * tl_metrics_get:
 * @m: metric set
 * @name: name
 *
 * Returns: the value, or NAN when missing.
 */
double
tl_metrics_get (const TlMetrics *m, const char *name)
{
  for (guint32 i = 0; i < m->n && i < TL_METRICS_MAX; i++)
    if (m->names[i] && name && strcmp (m->names[i], name) == 0)
      return m->values[i];
  return NAN;
}

/**
 * tl_metrics_to_string:
 * @m: metric set
 *
 * Returns: (transfer full): "loss=0.3123 accuracy=0.88" (values with %.4g).
 */
char *
tl_metrics_to_string (const TlMetrics *m)
{
  GString *s = g_string_new (NULL);
  for (guint32 i = 0; i < m->n && i < TL_METRICS_MAX; i++)
    g_string_append_printf (s, "%s%s=%.4g", i ? " " : "", m->names[i], m->values[i]);
  return g_string_free (s, FALSE);
}

/**
 * tl_metrics_to_json:
 * @m: metric set
 * @step: step number
 * @phase: (nullable): "train", "eval", ... (written as "phase" when set)
 *
 * One JSON object on one line; values in shortest round-trip form, NaN and infinities as null.
 *
 * Returns: (transfer full): the JSON text.
 */
char *
tl_metrics_to_json (const TlMetrics *m, gint64 step, const char *phase)
{
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "{\"step\":%" G_GINT64_FORMAT, step);
  if (phase) {
    g_string_append (s, ",\"phase\":");
    _tl_priv_json_append_string (s, phase);
  }
  for (guint32 i = 0; i < m->n && i < TL_METRICS_MAX; i++) {
    g_string_append_c (s, ',');
    _tl_priv_json_append_string (s, m->names[i]);
    g_string_append_c (s, ':');
    _tl_priv_json_append_double (s, m->values[i]);
  }
  g_string_append_c (s, '}');
  return g_string_free (s, FALSE);
}

/**
 * tl_metric_higher_is_better:
 * @name: metric name
 *
 * Returns: TRUE for accuracy, auc, f1*, precision*, recall*; FALSE otherwise
 * (loss, mse, logloss, ...).
 */
gboolean
tl_metric_higher_is_better (const char *name)
{
  if (!name)
    return FALSE;
  return g_str_equal (name, "accuracy") || g_str_equal (name, "auc") ||
         g_str_has_prefix (name, "f1") || g_str_has_prefix (name, "precision") ||
         g_str_has_prefix (name, "recall");
}

typedef struct {
  double score;
  double label;
} ScoreLabel;

static int
score_cmp (const void *a, const void *b)
{
  double x = ((const ScoreLabel *) a)->score, y = ((const ScoreLabel *) b)->score;
  return x < y ? -1 : (x > y);
}

/**
 * tl_metric_auc:
 * @n: number of examples
 * @scores: (array length=n): scores (higher means positive)
 * @labels: (array length=n): labels (> 0.5 is positive)
 *
 * Area under the ROC curve by the rank-sum formula, ties sharing their
 * average rank (equal to the trapezoidal ROC area). NaN scores are skipped.
 *
 * Returns: the AUC, or NAN when only one class is present.
 */
double
tl_metric_auc (gsize n, const double *scores, const double *labels)
{
  ScoreLabel *v = g_try_new (ScoreLabel, n ? n : 1);
  if (!v)
    return NAN;
  gsize m = 0;
  for (gsize i = 0; i < n; i++) {
    if (isnan (scores[i]) || isnan (labels[i]))
      continue;
    v[m].score = scores[i];
    v[m].label = labels[i];
    m++;
  }
  qsort (v, m, sizeof *v, score_cmp);
  double npos = 0, rank_sum = 0;
  for (gsize i = 0; i < m;) {
    gsize j = i;
    while (j < m && v[j].score == v[i].score)
      j++;
    double avg_rank = (double) (i + 1 + j) / 2.0; /* ranks i+1 .. j */
    for (gsize k = i; k < j; k++) {
      if (v[k].label > 0.5) {
        npos += 1;
        rank_sum += avg_rank;
      }
    }
    i = j;
  }
  g_free (v);
  double nneg = (double) m - npos;
  if (npos == 0 || nneg == 0)
    return NAN;
  return (rank_sum - npos * (npos + 1) / 2.0) / (npos * nneg);
}

/**
 * tl_metric_accuracy:
 * @n: number of examples
 * @pred: (array length=n): predicted classes
 * @labels: (array length=n): true classes (< 0 ignored)
 *
 * Returns: the fraction of correct predictions, NAN when there is none to count.
 */
double
tl_metric_accuracy (gsize n, const gint64 *pred, const gint64 *labels)
{
  gsize counted = 0, right = 0;
  for (gsize i = 0; i < n; i++) {
    if (labels[i] < 0)
      continue;
    counted++;
    right += pred[i] == labels[i];
  }
  return counted ? (double) right / (double) counted : NAN;
}

/**
 * tl_metric_f1:
 * @n: number of examples
 * @pred: (array length=n): predicted classes
 * @labels: (array length=n): true classes; < 0 ignored
 * @n_classes: number of classes
 * @micro: (out) (optional): micro-averaged F1 (2TP / (2TP + FP + FN))
 * @macro: (out) (optional): mean F1 over the classes that occur in labels
 *   or predictions (a class with TP = 0 there counts as 0)
 *
 * Predictions outside [0, n_classes) count as wrong. NAN when nothing is counted.
 */
void
tl_metric_f1 (gsize n, const gint64 *pred, const gint64 *labels, guint n_classes, double *micro,
              double *macro)
{
  guint64 *tp = g_new0 (guint64, n_classes + 1);
  guint64 *fp = g_new0 (guint64, n_classes + 1);
  guint64 *fn = g_new0 (guint64, n_classes + 1);
  guint64 TP = 0, FP = 0, FN = 0;
  for (gsize i = 0; i < n; i++) {
    gint64 y = labels[i], p = pred[i];
    if (y < 0)
      continue;
    gboolean p_ok = p >= 0 && p < (gint64) n_classes;
    gboolean y_ok = y < (gint64) n_classes;
    if (p == y && y_ok) {
      tp[y]++;
      TP++;
    } else {
      if (p_ok) {
        fp[p]++;
        FP++;
      }
      if (y_ok)
        fn[y]++;
      FN++;
    }
  }
  if (micro)
    *micro = (TP + FP + FN) ? 2.0 * (double) TP / (double) (2 * TP + FP + FN) : NAN;
  if (macro) {
    double sum = 0;
    guint present = 0;
    for (guint c = 0; c < n_classes; c++) {
      guint64 d = 2 * tp[c] + fp[c] + fn[c];
      if (d == 0)
        continue;
      present++;
      sum += 2.0 * (double) tp[c] / (double) d;
    }
    *macro = present ? sum / present : NAN;
  }
  g_free (tp);
  g_free (fp);
  g_free (fn);
}

/**
 * tl_metric_logloss:
 * @n: number of examples
 * @probs: (array length=n): predicted probabilities of the positive class
 * @labels: (array length=n): 0/1 labels
 *
 * Probabilities are clipped to [1e-15, 1 - 1e-15].
 *
 * Returns: mean binary cross-entropy, NAN for n = 0.
 */
double
tl_metric_logloss (gsize n, const double *probs, const double *labels)
{
  if (n == 0)
    return NAN;
  double s = 0;
  for (gsize i = 0; i < n; i++) {
    double p = CLAMP (probs[i], 1e-15, 1.0 - 1e-15);
    double y = labels[i];
    s -= y * log (p) + (1.0 - y) * log (1.0 - p);
  }
  return s / (double) n;
}

/**
 * tl_metric_mse:
 * @n: number of values
 * @pred: (array length=n): predictions
 * @target: (array length=n): targets
 *
 * Returns: mean squared error, NAN for n = 0.
 */
double
tl_metric_mse (gsize n, const double *pred, const double *target)
{
  if (n == 0)
    return NAN;
  double s = 0;
  for (gsize i = 0; i < n; i++) {
    double d = pred[i] - target[i];
    s += d * d;
  }
  return s / (double) n;
}
