/* tl-metrics.h — metrics computed in C (loss, accuracy, AUC, F1, MSE) and a
 * small named-value set to carry them.
 */
#ifndef TL_METRICS_H
#define TL_METRICS_H

#include <glib.h>
#include <tl/tl-macros.h>
#include <tl/tl-tensor.h>

TL_BEGIN_DECLS

#define TL_METRICS_MAX 16

/* A fixed-capacity set of (name, value) pairs. Host-allocated. Names are
 * static strings or strings that outlive the set. */
typedef struct {
  uint32_t n;
  uint32_t reserved0;
  const char *names[TL_METRICS_MAX];
  double values[TL_METRICS_MAX];
} TlMetrics;

TL_API void tl_metrics_init(TlMetrics *m);
/* Set (or overwrite) a value; silently ignored when full. */
TL_API void tl_metrics_set(TlMetrics *m, const char *name, double value);
/* NAN when missing. */
TL_API double tl_metrics_get(const TlMetrics *m, const char *name);
/* "loss=0.31 accuracy=0.88" (transfer full) */
TL_API char *tl_metrics_to_string(const TlMetrics *m);
/* {"step":12,"loss":0.31,...} (transfer full) */
TL_API char *tl_metrics_to_json(const TlMetrics *m, gint64 step, const char *phase);
/* TRUE if larger is better for this metric name (accuracy, auc, f1*), FALSE for loss/mse/logloss. */
TL_API gboolean tl_metric_higher_is_better(const char *name);

/* Building blocks, usable on their own (scores/labels are double arrays). */
TL_API double tl_metric_auc(gsize n, const double *scores, const double *labels);
TL_API double tl_metric_accuracy(gsize n, const gint64 *pred, const gint64 *labels);
/* F1 over n_classes; labels < 0 ignored. */
TL_API void tl_metric_f1(gsize n, const gint64 *pred, const gint64 *labels, guint n_classes,
                         double *micro, double *macro);
TL_API double tl_metric_logloss(gsize n, const double *probs, const double *labels);
TL_API double tl_metric_mse(gsize n, const double *pred, const double *target);

TL_END_DECLS

#endif /* TL_METRICS_H */
