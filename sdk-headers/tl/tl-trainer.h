/* tl-trainer.h — instances of components, and the trainer that runs tasks.
 *
 * Host-side wrappers bind a component table to an instance: the generic code
 * (trainer, conformance suite, job runner) uses these, never the raw tables.
 *
 * @example-begin trainer (const TlModelDef *mlp_def, const TlDatasetDef *idx_def,
 *                         const TlParams *params, const TlParams *dparams,
 *                         const TlProgress *progress)
 *   TlModelInstance *m = tl_model_instance_new(mlp_def, "tl.mlp", params, 42, &error);
 *   TlDatasetInstance *d = tl_dataset_instance_new(idx_def, "tl.idx", dparams, &error);
 *   TlTrainConfig cfg; tl_train_config_init(&cfg);
 *   cfg.epochs = 3; cfg.batch_size = 128; cfg.lr = 1e-3;
 *   TlMetrics final; tl_metrics_init(&final);
 *   tl_train(m, d, NULL, &cfg, progress, &final, &error);   // eval set, progress, final: nullable
 * @example-end
 */
#ifndef TL_TRAINER_H
#define TL_TRAINER_H

#include <glib.h>
#include <tl/tl-macros.h>
#include <tl/tl-model.h>
#include <tl/tl-dataset.h>
#include <tl/tl-planner.h>
#include <tl/tl-metrics.h>

TL_BEGIN_DECLS

/* --- instances ----------------------------------------------------------- */

typedef struct _TlModelInstance TlModelInstance;
typedef struct _TlDatasetInstance TlDatasetInstance;
typedef struct _TlPlannerInstance TlPlannerInstance;

/* Create through def->create; `name` is the component's full name (for
 * messages); params borrowed. The instance owns a TlParamStore. (transfer full) */
TL_API TlModelInstance *tl_model_instance_new(const TlModelDef *def, const char *name,
                                              const TlParams *params, guint64 seed, GError **error);
TL_API void tl_model_instance_free(TlModelInstance *m); /* NULL-safe */
TL_API const char *tl_model_instance_name(const TlModelInstance *m);
TL_API TlParamStore *tl_model_instance_params(TlModelInstance *m); /* borrowed */
/* Build the model's graph for `mode` against the schema of `data`, with a
 * fixed batch size. Returns the graph; loss/prediction/outputs are named
 * graph outputs "loss", "prediction" and the model's extra names; the task
 * kind and label field are returned through task/label_field (borrowed).
 * (transfer full) */
TL_API TlGraph *tl_model_instance_build(TlModelInstance *m, TlDatasetInstance *data, TlMode mode,
                                        gint64 batch_size, TlTask *task, const char **label_field,
                                        GError **error);
/* Call the model's step_end hook if it has one. */
TL_API gboolean tl_model_instance_step_end(TlModelInstance *m, guint64 step, GError **error);

TL_API TlDatasetInstance *tl_dataset_instance_new(const TlDatasetDef *def, const char *name,
                                                  const TlParams *params, GError **error);
TL_API void tl_dataset_instance_free(TlDatasetInstance *d); /* NULL-safe */
TL_API const char *tl_dataset_instance_name(const TlDatasetInstance *d);
TL_API gint64 tl_dataset_instance_size(TlDatasetInstance *d);
TL_API guint tl_dataset_instance_n_fields(TlDatasetInstance *d);
TL_API const TlField *tl_dataset_instance_field(TlDatasetInstance *d, guint i);
TL_API gint tl_dataset_instance_field_index(TlDatasetInstance *d, const char *name); /* -1 */
/* Read rows into new tensors out[n_fields] (each [n_rows, ...]); the caller
 * unrefs each and g_free()s the array. Checks the plugin filled the schema. */
TL_API TlTensor **tl_dataset_instance_read(TlDatasetInstance *d, gint64 n_rows, const gint64 *rows,
                                           GError **error);

TL_API TlPlannerInstance *tl_planner_instance_new(const TlPlannerDef *def, const char *name,
                                                  const TlParams *params, GError **error);
TL_API void tl_planner_instance_free(TlPlannerInstance *p); /* NULL-safe */
TL_API TlPlan *tl_planner_instance_plan(TlPlannerInstance *p, const TlGraph *g,
                                        const TlCluster *cluster, guint64 seed, GError **error);
TL_API gboolean tl_planner_instance_apply(TlPlannerInstance *p, const TlPlan *plan, TlGraph *g,
                                          GError **error);

/* --- progress ------------------------------------------------------------ */

/* Hosts receive progress through this interface (tlhost draws a bar on a
 * terminal, plain lines otherwise, JSON lines to --metrics). Host-allocated;
 * any slot may be NULL. */
typedef struct {
  /* A phase starts: "train", "evaluate", ...; total steps (-1 unknown). */
  void (*begin)(gpointer user_data, const char *phase, gint64 total_steps);
  /* After each step: step number, and the latest metrics (borrowed). */
  void (*step)(gpointer user_data, gint64 step, const TlMetrics *metrics);
  /* An evaluation finished at `step`. */
  void (*eval)(gpointer user_data, gint64 step, const TlMetrics *metrics);
  void (*end)(gpointer user_data, const char *phase);
  /* A one-line message (checkpoint written, early stop, ...). */
  void (*message)(gpointer user_data, const char *text);
  gpointer user_data;
  void *reserved[4];
} TlProgress;

/* --- trainer ------------------------------------------------------------- */

/* Host-allocated; tl_train_config_init() sets the defaults noted. */
typedef struct {
  int64_t epochs;            /* 1; ignored when steps > 0 */
  int64_t steps;             /* 0: use epochs */
  int64_t batch_size;        /* 32 */
  const char *optimizer;     /* "adam": sgd | adam | adamw | lamb */
  double lr;                 /* 1e-3 */
  double momentum;           /* 0.9 (sgd) */
  gboolean nesterov;         /* FALSE */
  double weight_decay;       /* 0 */
  double beta1, beta2, adam_eps; /* 0.9, 0.999, 1e-8 */
  const char *schedule;      /* "constant": constant | linear | cosine */
  int64_t warmup_steps;      /* 0 */
  double clip_norm;          /* 0: off */
  int32_t accum_steps;       /* 1 */
  int32_t drop_last;         /* 1 */
  int64_t eval_every;        /* 0: at each epoch end */
  const char *select_metric; /* NULL: loss; "accuracy", "auc", "f1_macro", ... */
  int64_t patience;          /* 0: no early stopping (counted in evaluations) */
  guint64 seed;              /* 42 */
  uint32_t shuffle;          /* 1 */
  uint32_t deterministic;    /* 0 */
  uint32_t n_threads;        /* 0: default */
  uint32_t cuda_graph;       /* 0; 1: on a GPU, replay the training step's forward and
                              * backward pass as a captured CUDA graph (also
                              * TL_CUDA_GRAPH=1); ignored with ops that draw random numbers */
  const char *device;        /* "cpu"; "cuda" or "cuda:N": parameters, gradients and
                              * optimizer state live on that GPU */
  const char *out_dir;       /* NULL: no checkpoints; else best.safetensors, last.safetensors, state */
  const char *resume_from;   /* NULL or a checkpoint written by a previous run */
  int64_t checkpoint_every;  /* 0: at each evaluation */
  void *reserved[8];         /* [0]: the TlComm for data-parallel training, set with
                              * tl_train_config_set_comm() (tl-comm.h); [1], [2]: the
                              * graph hook and its data, set with
                              * tl_train_config_set_graph_hook(); others zero */
} TlTrainConfig;

TL_API void tl_train_config_init(TlTrainConfig *cfg);

/* Called by tl_train, tl_evaluate and tl_predict on every graph they build
 * (the training graph, and the evaluation/prediction graphs for full batches
 * and for the remainder), after the model's build() and, in train mode, after
 * autodiff, before the executor is made: a planner may transform or annotate
 * the graph here (tl_planner_instance_plan + tl_planner_instance_apply). The
 * graph's named outputs "loss", "prediction" and, in train mode, one
 * "grad/<parameter name>" per trainable parameter the loss depends on must
 * stay (a rewrite through tl-graph.h re-points them); the trainer reads them
 * back by name after the hook, and fails when one went missing. Parameters
 * must not be removed. The hook must be deterministic: in data-parallel
 * training every rank calls it on its own graph. Return FALSE with `error`
 * set to fail the run. */
typedef gboolean (*TlTrainGraphHook)(TlGraph *g, TlMode mode, gpointer user_data, GError **error);
/* Store hook (NULL: none, the default) and user_data (borrowed; must outlive
 * the tl_train/tl_evaluate/tl_predict call) in cfg->reserved[1] and [2]
 * (ABI 1.0 layout unchanged). */
TL_API void tl_train_config_set_graph_hook(TlTrainConfig *cfg, TlTrainGraphHook hook,
                                           gpointer user_data);

/* Train m on `train`, evaluating on `eval` (nullable) as configured. On
 * success `final` (nullable, caller-initialised with tl_metrics_init) gets
 * the last evaluation's metrics (or the last training metrics). */
TL_API gboolean tl_train(TlModelInstance *m, TlDatasetInstance *train, TlDatasetInstance *eval,
                         const TlTrainConfig *cfg, const TlProgress *progress, TlMetrics *final,
                         GError **error);
/* Evaluate on all rows of `data` in order. */
TL_API gboolean tl_evaluate(TlModelInstance *m, TlDatasetInstance *data, const TlTrainConfig *cfg,
                            const TlProgress *progress, TlMetrics *out, GError **error);
/* Write predictions for all rows of `data` as TSV to `path` (atomic write). */
TL_API gboolean tl_predict(TlModelInstance *m, TlDatasetInstance *data, const TlTrainConfig *cfg,
                           const char *path, GError **error);

/* Ask a running tl_train/tl_evaluate/tl_predict to stop at the next step
 * boundary; it then fails with TL_ERROR_CANCELLED (after writing
 * last.safetensors when out_dir is set). Async-signal-safe (sets a volatile
 * sig_atomic_t): call it from a SIGINT handler. tl_train clears the flag
 * when it starts. */
TL_API void tl_trainer_request_stop(void);

TL_END_DECLS

#endif /* TL_TRAINER_H */
