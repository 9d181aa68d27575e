/* train-metrics.c — metrics of a task accumulated over batches of predictions. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "train-private.h"

/* --- metric accumulation ------------------------------------------------ */

void
_tl_priv_metric_acc_init (MetricAcc *a, TlTask task)
{
  memset (a, 0, sizeof *a);
  a->task = task;
  a->scores = g_array_new (FALSE, FALSE, sizeof (double));
  a->labels = g_array_new (FALSE, FALSE, sizeof (double));
  a->pclass = g_array_new (FALSE, FALSE, sizeof (gint64));
  a->lclass = g_array_new (FALSE, FALSE, sizeof (gint64));
}

void
_tl_priv_metric_acc_clear (MetricAcc *a)
{
  g_array_unref (a->scores);
  g_array_unref (a->labels);
  g_array_unref (a->pclass);
  g_array_unref (a->lclass);
}

gint64
_tl_priv_argmax_row (const TlTensor *t, gint64 base, gint64 c)
{
  gint64 best = 0;
  double bv = tl_tensor_get_flat (t, base);
  for (gint64 j = 1; j < c; j++) {
    double v = tl_tensor_get_flat (t, base + j);
    if (v > bv) {
      bv = v;
      best = j;
    }
  }
  return best;
}

/* Adds n rows of predictions (and labels, nullable). */
gboolean
_tl_priv_metric_acc_add (MetricAcc *a, const TlTensor *pred, const TlTensor *label, gint64 n,
                         GError **error)
{
  if (!pred)
    return TRUE;
  gint64 np = tl_tensor_numel (pred);
  gint64 per = n > 0 ? np / n : 0;
  if (n > 0 && per * n != np) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                 "prediction has %" G_GINT64_FORMAT " values for %" G_GINT64_FORMAT " rows", np, n);
    return FALSE;
  }
  gint64 nl = label ? tl_tensor_numel (label) : 0;
  switch (a->task) {
    case TL_TASK_BINARY:
      for (gint64 i = 0; i < n; i++) {
        double s = tl_tensor_get_flat (pred, i * per);
        g_array_append_val (a->scores, s);
        if (label && nl >= n) {
          double y = tl_tensor_get_flat (label, nl == n ? i : i * (nl / n));
          g_array_append_val (a->labels, y);
        }
      }
      break;
    case TL_TASK_MULTICLASS:
    case TL_TASK_TAGGING: {
      gint64 c = tl_tensor_ndim (pred) > 0 ? tl_tensor_dim (pred, -1) : 1;
      gint64 positions = c > 0 ? np / c : 0;
      if (c > 0 && (guint) c > a->n_classes)
        a->n_classes = (guint) c;
      for (gint64 i = 0; i < positions; i++) {
        gint64 pc = _tl_priv_argmax_row (pred, i * c, c);
        g_array_append_val (a->pclass, pc);
        if (label && nl == positions) {
          gint64 y = (gint64) tl_tensor_get_flat (label, i);
          g_array_append_val (a->lclass, y);
        }
      }
      break;
    }
    case TL_TASK_MULTILABEL:
    case TL_TASK_REGRESSION:
      for (gint64 i = 0; i < np; i++) {
        double s = tl_tensor_get_flat (pred, i);
        g_array_append_val (a->scores, s);
        if (label && nl == np) {
          double y = tl_tensor_get_flat (label, i);
          g_array_append_val (a->labels, y);
        }
      }
      break;
    default: break;
  }
  return TRUE;
}

void
_tl_priv_metric_acc_finish (MetricAcc *a, TlMetrics *out)
{
  tl_metrics_init (out);
  if (a->loss_rows > 0)
    tl_metrics_set (out, "loss", a->loss_sum / (double) a->loss_rows);
  gsize n = a->scores->len;
  const double *s = (const double *) a->scores->data;
  const double *y = (const double *) a->labels->data;
  switch (a->task) {
    case TL_TASK_BINARY:
    case TL_TASK_MULTILABEL:
      if (a->labels->len == n && n > 0) {
        gsize right = 0;
        for (gsize i = 0; i < n; i++)
          right += (s[i] > 0) == (y[i] > 0.5);
        tl_metrics_set (out, "accuracy", (double) right / (double) n);
        tl_metrics_set (out, "auc", tl_metric_auc (n, s, y));
      }
      break;
    case TL_TASK_REGRESSION:
      if (a->labels->len == n && n > 0)
        tl_metrics_set (out, "mse", tl_metric_mse (n, s, y));
      break;
    case TL_TASK_MULTICLASS:
    case TL_TASK_TAGGING:
      if (a->lclass->len == a->pclass->len && a->pclass->len > 0) {
        gsize m = a->pclass->len;
        const gint64 *pc = (const gint64 *) a->pclass->data;
        const gint64 *lc = (const gint64 *) a->lclass->data;
        double micro, macro;
        tl_metrics_set (out, "accuracy", tl_metric_accuracy (m, pc, lc));
        tl_metric_f1 (m, pc, lc, a->n_classes, &micro, &macro);
        tl_metrics_set (out, "f1_micro", micro);
        tl_metrics_set (out, "f1_macro", macro);
      }
      break;
    default: break;
  }
}
