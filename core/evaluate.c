/* evaluate.c — the evaluate and predict tasks. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "train-private.h"

/* --- evaluation ----------------------------------------------------------- */

static gboolean
eval_batch (Pass *p, const gint64 *rows, gint64 n, TlTensor **fields, gpointer data, GError **error)
{
  (void) rows;
  MetricAcc *a = data;
  a->task = p->task;
  if (p->loss_out < 0 && (p->pred_out < 0 || p->label_idx < 0)) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "the model sets no loss and no prediction with a label field in eval mode: "
                 "nothing to evaluate");
    return FALSE;
  }
  if (p->loss_out >= 0) {
    a->loss_sum +=
        _tl_priv_scalar_of (tl_exec_get_output (p->ex, (guint) p->loss_out)) * (double) n;
    a->loss_rows += n;
  }
  TlTensor *pred = p->pred_out >= 0 ? tl_exec_get_output (p->ex, (guint) p->pred_out) : NULL;
  TlTensor *label = p->label_idx >= 0 ? fields[p->label_idx] : NULL;
  return _tl_priv_metric_acc_add (a, pred, label, n, error);
}

gboolean
_tl_priv_evaluate_with (Evaluator *e, TlModelInstance *m, TlDatasetInstance *d,
                        const TlTrainConfig *cfg, const TlProgress *progress, TlMetrics *out,
                        GError **error)
{
  MetricAcc a;
  _tl_priv_metric_acc_init (&a, TL_TASK_NONE);
  gboolean ok = _tl_priv_evaluator_run (e, m, d, cfg, progress, "evaluate", eval_batch, &a, error);
  if (ok)
    _tl_priv_metric_acc_finish (&a, out);
  _tl_priv_metric_acc_clear (&a);
  return ok;
}

/**
 * tl_evaluate:
 * @m: model instance
 * @data: dataset, read in order
 * @cfg: (nullable): batch size, threads, seed (defaults when NULL)
 * @progress: (nullable): progress sink
 * @out: (out caller-allocates): metrics (loss and the task's metrics)
 * @error: return location for a #GError
 *
 * Returns: TRUE on success.
 */
gboolean
tl_evaluate (TlModelInstance *m, TlDatasetInstance *data, const TlTrainConfig *cfg,
             const TlProgress *progress, TlMetrics *out, GError **error)
{
  TlTrainConfig defaults;
  if (!cfg) {
    tl_train_config_init (&defaults);
    cfg = &defaults;
  }
  Evaluator e = {.mode = TL_MODE_EVAL};
  TlMetrics tmp;
  gboolean ok = _tl_priv_evaluate_with (&e, m, data, cfg, progress, out ? out : &tmp, error);
  _tl_priv_evaluator_clear (&e);
  return ok;
}

/* --- prediction ----------------------------------------------------------- */

static gboolean
predict_batch (Pass *p, const gint64 *rows, gint64 n, TlTensor **fields, gpointer data,
               GError **error)
{
  (void) fields;
  GString *s = data;
  if (p->pred_out < 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "the model sets no prediction in predict mode");
    return FALSE;
  }
  TlTensor *pred = tl_exec_get_output (p->ex, (guint) p->pred_out);
  gint64 per = n > 0 ? tl_tensor_numel (pred) / n : 0;
  gint64 c = tl_tensor_ndim (pred) > 1 ? tl_tensor_dim (pred, -1) : 1;
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  for (gint64 i = 0; i < n; i++) {
    g_string_append_printf (s, "%" G_GINT64_FORMAT, rows[i]);
    gint64 base = i * per;
    switch (p->task) {
      case TL_TASK_BINARY: {
        double z = tl_tensor_get_flat (pred, base);
        g_string_append_printf (s, "\t%s",
                                g_ascii_formatd (buf, sizeof buf, "%.9g", 1.0 / (1.0 + exp (-z))));
        break;
      }
      case TL_TASK_MULTICLASS:
        g_string_append_printf (s, "\t%" G_GINT64_FORMAT, _tl_priv_argmax_row (pred, base, per));
        break;
      case TL_TASK_TAGGING:
        g_string_append_c (s, '\t');
        for (gint64 t = 0; c > 0 && t < per / c; t++)
          g_string_append_printf (s, "%s%" G_GINT64_FORMAT, t ? " " : "",
                                  _tl_priv_argmax_row (pred, base + t * c, c));
        break;
      case TL_TASK_MULTILABEL:
        for (gint64 j = 0; j < per; j++) {
          double z = tl_tensor_get_flat (pred, base + j);
          g_string_append_printf (
              s, "\t%s", g_ascii_formatd (buf, sizeof buf, "%.9g", 1.0 / (1.0 + exp (-z))));
        }
        break;
      default:
        for (gint64 j = 0; j < per; j++)
          g_string_append_printf (
              s, "\t%s",
              g_ascii_formatd (buf, sizeof buf, "%.9g", tl_tensor_get_flat (pred, base + j)));
        break;
    }
    g_string_append_c (s, '\n');
  }
  return TRUE;
}

/**
 * tl_predict:
 * @m: model instance
 * @data: dataset, read in order
 * @cfg: (nullable): batch size, threads (defaults when NULL)
 * @path: TSV file to write atomically
 * @error: return location for a #GError
 *
 * Writes a header line "row\tprediction" and one line per row: the row
 * index, then by task: binary: P(positive); multiclass: the class;
 * tagging: the classes of all positions separated by spaces; multilabel:
 * one probability per label; otherwise the prediction values.
 *
 * Returns: TRUE on success.
 */
gboolean
tl_predict (TlModelInstance *m, TlDatasetInstance *data, const TlTrainConfig *cfg, const char *path,
            GError **error)
{
  TlTrainConfig defaults;
  if (!cfg) {
    tl_train_config_init (&defaults);
    cfg = &defaults;
  }
  Evaluator e = {.mode = TL_MODE_PREDICT};
  g_autoptr (GString) s = g_string_new ("row\tprediction\n");
  gboolean ok = _tl_priv_evaluator_run (&e, m, data, cfg, NULL, "predict", predict_batch, s, error);
  _tl_priv_evaluator_clear (&e);
  if (!ok)
    return FALSE;
  return _tl_priv_write_atomic (path, s->str, s->len, error);
}
