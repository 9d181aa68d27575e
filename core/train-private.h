/* train-private.h — internals shared by build.c, instance.c and trainer.c. */
#ifndef TL_TRAIN_PRIVATE_H
#define TL_TRAIN_PRIVATE_H

#include "tl-private.h"

G_BEGIN_DECLS

struct _TlParamStore {
  GPtrArray *names;   /* char* */
  GPtrArray *tensors; /* TlTensor* (owned) */
  GArray *trainable;  /* gboolean */
  GHashTable *index;  /* name -> index + 1 */
  guint64 seed;
  /* Set only while a GPU run calls the model's step_end hook: the
   * TlDeviceParams of that run. The accessors then fetch each tensor they
   * hand out from its device mirror (train-device.c). */
  gpointer device_sync;
};

struct _TlDatasetInstance {
  const TlDatasetDef *def;
  char *name;
  TlDataset *ds;
  guint n_fields;
  const TlField **fields; /* borrowed from the plugin */
  TlTensorDesc *descs;    /* per-example descs */
};

struct _TlModelInstance {
  const TlModelDef *def;
  char *name;
  TlModel *model;
  TlParamStore *store;
  guint64 seed;
  char *label_field[3]; /* per mode, from the last build */
};

G_GNUC_INTERNAL TlParamStore *_tl_priv_param_store_new (guint64 seed);
G_GNUC_INTERNAL void _tl_priv_param_store_free (TlParamStore *s);

/* The build context handed to TlModelDef.build. */
G_GNUC_INTERNAL TlBuild *_tl_priv_build_new (TlGraph *g, TlMode mode, gint64 batch_size,
                                             guint64 seed, TlParamStore *store,
                                             TlDatasetInstance *data);
G_GNUC_INTERNAL void _tl_priv_build_free (TlBuild *b);
G_GNUC_INTERNAL TlValue *_tl_priv_build_loss (TlBuild *b);
G_GNUC_INTERNAL TlValue *_tl_priv_build_prediction (TlBuild *b, TlTask *task,
                                                    const char **label_field);
G_GNUC_INTERNAL guint _tl_priv_build_n_outputs (TlBuild *b);
G_GNUC_INTERNAL TlValue *_tl_priv_build_output (TlBuild *b, guint i, const char **name);

/* --- trainer internals (trainer.c, train-pass.c, train-metrics.c, evaluate.c) --- */

/* Progress one-liner (no-op without a message slot). */
G_GNUC_INTERNAL void _tl_priv_progress_message (const TlProgress *p, const char *fmt, ...)
    G_GNUC_PRINTF (2, 3);
/* TRUE (and a TL_ERROR_CANCELLED error) when tl_trainer_request_stop() was called. */
G_GNUC_INTERNAL gboolean _tl_priv_train_cancelled (GError **error, const char *what, gint64 step);

/* Metrics of a task accumulated over batches. */
typedef struct {
  TlTask task;
  GArray *scores; /* double: binary/multilabel scores, regression preds */
  GArray *labels; /* double */
  GArray *pclass; /* gint64 */
  GArray *lclass; /* gint64 */
  guint n_classes;
  double loss_sum;
  gint64 loss_rows;
} MetricAcc;

G_GNUC_INTERNAL void _tl_priv_metric_acc_init (MetricAcc *a, TlTask task);
G_GNUC_INTERNAL void _tl_priv_metric_acc_clear (MetricAcc *a);
G_GNUC_INTERNAL gboolean _tl_priv_metric_acc_add (MetricAcc *a, const TlTensor *pred,
                                                  const TlTensor *label, gint64 n, GError **error);
G_GNUC_INTERNAL void _tl_priv_metric_acc_finish (MetricAcc *a, TlMetrics *out);
/* Index of the largest of t[base .. base + c). */
G_GNUC_INTERNAL gint64 _tl_priv_argmax_row (const TlTensor *t, gint64 base, gint64 c);

/* One graph + executor with a fixed batch size. */
typedef struct {
  TlGraph *g;
  TlExec *ex;
  gint64 batch;
  TlTask task;
  gint label_idx; /* dataset field index of the labels, -1 */
  gint loss_out;  /* executor output index, -1 */
  gint pred_out;  /* -1 */
  guint n_grads;  /* training: gradient outputs, from index grad_out0 */
  guint grad_out0;
  gint *grad_param; /* training: per gradient output, index into the trainable list */
} Pass;

/* Build for `mode`; in train mode also the gradients w.r.t. the trainable
 * parameters, whose names are appended to train_names. */
G_GNUC_INTERNAL gboolean _tl_priv_pass_init (Pass *p, TlModelInstance *m, TlDatasetInstance *d,
                                             TlMode mode, gint64 batch, const TlTrainConfig *cfg,
                                             GPtrArray *train_names, GError **error);
G_GNUC_INTERNAL void _tl_priv_pass_clear (Pass *p);
/* Read rows[batch], feed, run; returns the field tensors (free with _tl_priv_free_fields). */
G_GNUC_INTERNAL TlTensor **_tl_priv_pass_run (Pass *p, TlDatasetInstance *d, const gint64 *rows,
                                              guint64 step, GError **error);
G_GNUC_INTERNAL void _tl_priv_free_fields (TlDatasetInstance *d, TlTensor **fields);
/* The value of a 1-element tensor (mean otherwise). */
G_GNUC_INTERNAL double _tl_priv_scalar_of (TlTensor *t);

/* Every row of a dataset in order: full batches + a remainder graph. */
typedef struct {
  Pass full; /* batch_size rows */
  Pass rest; /* the remainder */
  gboolean full_ok, rest_ok;
  TlMode mode;
  /* runs to the end despite a stop request (data-parallel training: the
   * other ranks evaluate every row before the ranks agree to stop) */
  gboolean uncancellable;
} Evaluator;

typedef gboolean (*BatchFn) (Pass *p, const gint64 *rows, gint64 n, TlTensor **fields,
                             gpointer data, GError **error);

G_GNUC_INTERNAL gboolean _tl_priv_evaluator_run (Evaluator *e, TlModelInstance *m,
                                                 TlDatasetInstance *d, const TlTrainConfig *cfg,
                                                 const TlProgress *progress, const char *phase,
                                                 BatchFn fn, gpointer data, GError **error);
G_GNUC_INTERNAL gboolean _tl_priv_evaluator_prepare (Evaluator *e, TlModelInstance *m,
                                                     TlDatasetInstance *d, const TlTrainConfig *cfg,
                                                     const char *phase, GError **error);
G_GNUC_INTERNAL void _tl_priv_evaluator_clear (Evaluator *e);
/* Loss and task metrics over all rows of d. */
G_GNUC_INTERNAL gboolean _tl_priv_evaluate_with (Evaluator *e, TlModelInstance *m,
                                                 TlDatasetInstance *d, const TlTrainConfig *cfg,
                                                 const TlProgress *progress, TlMetrics *out,
                                                 GError **error);

G_END_DECLS

#endif /* TL_TRAIN_PRIVATE_H */
