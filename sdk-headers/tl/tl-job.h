/* tl-job.h — job manifests: load, overlay, validate, run.
 *
 * A job (urn:tl:job:1, see docs/manifest-reference.md) names datasets,
 * models and planners by component ("tl.mlp", "fives.fives"), sets their
 * parameters, and lists tasks (train, evaluate, predict, export, plan,
 * simulate, bench) run in order. Hosts use it like this:
 *
 * @example-begin job (TlRegistry *reg, const TlProgress *progress)
 *   TlJob *job = tl_job_load("job.xml", &error);              // structure only
 *   tl_job_apply_overlay(job, "deploy.xml", &error);          // optional
 *   tl_job_apply_set(job, "m.hidden=256", &error);            // optional
 *   if (!tl_job_validate(job, reg, &error)) {                 // ALL errors, one per line
 *     g_printerr("%s\n", error->message);
 *     return 2;
 *   }
 *   TlJobRunOptions opts; tl_job_run_options_init(&opts);
 *   tl_job_run(job, reg, &opts, progress, &error);            // progress: nullable
 *   tl_job_free(job);
 * @example-end
 *
 * Validation reads plugin manifests only (no plugin code is loaded);
 * tl_job_run() loads the plugins it needs. Every message about the job
 * starts with "FILE:LINE: ".
 *
 * The header also defines the optional component extensions the job tasks
 * use: TL_MODEL_EXT_EXPORT ("export" task) and TL_TASK_EXT_SIMULATE /
 * TL_TASK_EXT_BENCH ("simulate" / "bench" tasks, on a planner or model).
 */
#ifndef TL_JOB_H
#define TL_JOB_H

#include <glib.h>
#include <tl/tl-macros.h>
#include <tl/tl-params.h>
#include <tl/tl-planner.h>
#include <tl/tl-trainer.h>
#include <tl/tl-registry.h>

TL_BEGIN_DECLS

typedef struct _TlJob TlJob;

/* --- loading and editing -------------------------------------------------- */

/* Parse a job file (hardened parser). Structural errors (not a job, unknown
 * element, missing attribute, duplicate id) are reported as
 * "FILE:LINE: ...", all of them, one per line. (transfer full) */
TL_API TlJob *tl_job_load(const char *path, GError **error);
/* Same, from memory; `filename` is used in messages and to resolve relative
 * paths (nullable: "<job>" and the current directory). (transfer full) */
TL_API TlJob *tl_job_parse(const char *xml, gssize len, const char *filename, GError **error);
TL_API void tl_job_free(TlJob *job); /* NULL-safe */

/* Apply an overlay file (<overlay>: <use id= component=/>, <set path=>). */
TL_API gboolean tl_job_apply_overlay(TlJob *job, const char *path, GError **error);
TL_API gboolean tl_job_apply_overlay_data(TlJob *job, const char *xml, gssize len,
                                          const char *filename, GError **error);
/* Apply one assignment "ID.PARAM=VALUE" (component parameter) or
 * "taskN.ATTR=VALUE" (1-based task attribute), as `tlhost run --set`. */
TL_API gboolean tl_job_apply_set(TlJob *job, const char *assignment, GError **error);
/* Add plugin ids to the job's allow-list (as `tlhost run --allow`). */
TL_API void tl_job_add_allow(TlJob *job, const char *plugin_id);

/* --- inspecting ----------------------------------------------------------- */

TL_API const char *tl_job_name(const TlJob *job);
TL_API const char *tl_job_path(const TlJob *job);
/* Components in document order (datasets, models, planners mixed). */
TL_API guint tl_job_n_components(const TlJob *job);
TL_API const char *tl_job_component_id(const TlJob *job, guint i);
TL_API TlComponentKind tl_job_component_kind(const TlJob *job, guint i);
/* Component full name as written ("tl.mlp"); NULL for unknown ids. */
TL_API const char *tl_job_component_ref(const TlJob *job, const char *id);
/* Text value of a <set> of component `id` (after overlays), or NULL. */
TL_API const char *tl_job_get_param(const TlJob *job, const char *id, const char *name);
TL_API guint tl_job_n_tasks(const TlJob *job);
TL_API const char *tl_job_task_kind(const TlJob *job, guint i);          /* 0-based */
TL_API const char *tl_job_task_attr(const TlJob *job, guint i, const char *name);
/* Cluster file named by <cluster path=> (resolved), or NULL (local). */
TL_API const char *tl_job_cluster_path(const TlJob *job);

/* --- validating and running ----------------------------------------------- */

/* Resolve every component through `reg` (manifests only, no dlopen), check
 * kinds, the allow-list, every <set> against the parameter schema, every
 * task attribute against the task schema and every reference to an id.
 * Reports ALL errors, one per line, in one TL_ERROR_INVALID_ARGUMENT error.
 * On success the job holds the validated parameters. */
TL_API gboolean tl_job_validate(TlJob *job, TlRegistry *reg, GError **error);

/* Host-allocated; tl_job_run_options_init() zeroes it. */
typedef struct {
  const char *output_dir;  /* NULL: ./out/<job name> */
  uint32_t quiet;          /* 1: no progress messages from the runner itself */
  uint32_t keep_checkpoints; /* 1: the run fails before its first task when a
                              * train task would replace the checkpoints an
                              * earlier run left in <out>/<model>/ (tlhost run
                              * sets it unless --overwrite); 0: they are
                              * replaced, as in ABI 1.0 (see tl_job_run) */
  void *reserved[8];
} TlJobRunOptions;

TL_STATIC_ASSERT(offsetof(TlJobRunOptions, quiet) == sizeof(void *), "TlJobRunOptions ABI 1.0");
TL_STATIC_ASSERT(offsetof(TlJobRunOptions, keep_checkpoints) == sizeof(void *) + 4, "TlJobRunOptions ABI 1.0");
TL_STATIC_ASSERT(offsetof(TlJobRunOptions, reserved) == sizeof(void *) + 8, "TlJobRunOptions ABI 1.0");

TL_API void tl_job_run_options_init(TlJobRunOptions *opts);

/* Validate (if not done), load the plugins needed, instantiate datasets,
 * models and planners, and run the tasks in order. Outputs (checkpoints,
 * predictions, plans, graphs, metrics) land in the output directory, written
 * atomically. progress is nullable. */
TL_API gboolean tl_job_run(TlJob *job, TlRegistry *reg, const TlJobRunOptions *opts,
                           const TlProgress *progress, GError **error);
/* Ask a running tl_job_run() to stop after the current task step.
 * Async-signal-safe (for SIGINT handlers); written checkpoints stay. */
TL_API void tl_job_cancel(TlJob *job);
/* Metrics of the last task that produced some (train/evaluate/simulate/bench),
 * borrowed; n == 0 when none. */
TL_API const TlMetrics *tl_job_final_metrics(const TlJob *job);
/* Output directory of the last tl_job_run(), or NULL. Borrowed. */
TL_API const char *tl_job_output_dir(const TlJob *job);

/* --- component extensions used by job tasks ------------------------------- */

/* Model extension for the "export" task: write model-specific files (e.g.
 * an ONNX-like description, an embedding table) into out_dir. */
#define TL_MODEL_EXT_EXPORT "tl.model.export/1"

typedef struct {
  TL_TABLE_HEADER;
  /* (required) params: the model's validated parameters; store: its trained
   * parameters; out_dir exists. Write files atomically. */
  gboolean (*export_model)(const TlParams *params, TlParamStore *store, const char *out_dir,
                           GError **error);
  void *reserved[4];
} TlModelExportExt;

/* Planner or model extensions for the "simulate" and "bench" tasks. */
#define TL_TASK_EXT_SIMULATE "tl.task.simulate/1"
#define TL_TASK_EXT_BENCH "tl.task.bench/1"

/* What a task extension sees. Host-allocated, valid during the call. */
typedef struct {
  const char *task;            /* "simulate" or "bench" */
  const char *out_dir;         /* exists */
  TlGraph *graph;              /* the model's train graph (forward, loss, backward:
                                * outputs "loss", "grad/<param>"); NULL without
                                * model= and data= */
  const TlCluster *cluster;
  TlModelInstance *model;      /* nullable */
  TlDatasetInstance *data;     /* nullable */
  const TlParams *params;      /* the providing component's parameters */
  const TlAttrs *attrs;        /* the task's attributes, as strings */
  const TlProgress *progress;  /* nullable */
  TlMetrics *metrics;          /* results (initialised); the host reports them */
  guint64 seed;
  void *reserved[8];
} TlTaskContext;

TL_STATIC_ASSERT(offsetof(TlTaskContext, graph) == 2 * sizeof(void *), "TlTaskContext ABI 1.0");
TL_STATIC_ASSERT(offsetof(TlTaskContext, seed) == 10 * sizeof(void *), "TlTaskContext ABI 1.0");

typedef struct {
  TL_TABLE_HEADER;
  /* (required) */
  gboolean (*run)(const TlTaskContext *ctx, GError **error);
  void *reserved[4];
} TlTaskExt;

TL_END_DECLS

#endif /* TL_JOB_H */
