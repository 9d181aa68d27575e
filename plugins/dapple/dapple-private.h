/* dapple-private.h — internal declarations of the dapple plugin (DAPPLE:
 * pipelined data parallel planning, arXiv:2007.01045). Shared by the plugin
 * sources and by its unit tests, which compile them in directly. */
#ifndef DAPPLE_PRIVATE_H
#define DAPPLE_PRIVATE_H

#include <tl/tl.h>

/* --- profiles ---------------------------------------------------------------
 * One entry per layer of the sequence. Times and activation/output bytes are
 * for `batch` samples; they scale linearly with the number of samples.
 * Parameter bytes are per replica. */
typedef struct {
  char *name;
  double fwd;    /* seconds, forward of `batch` samples */
  double bwd;    /* seconds, backward of `batch` samples */
  double act;    /* bytes kept from forward to backward for `batch` samples */
  double out;    /* bytes sent to the next layer for `batch` samples */
  double params; /* parameter bytes */
  double fwd_flops; /* cost model flops of the forward of `batch` samples (graph profiles only) */
  double bwd_flops; /* same, backward */
} DappleLayer;

typedef struct {
  guint n_layers;
  DappleLayer *layers;
  double batch; /* samples the figures above were taken at */
  char *source; /* "file:PATH", "cost-model", "measured" */
} DappleProfile;

DappleProfile *dapple_profile_new (guint n_layers, double batch);
void dapple_profile_free (DappleProfile *p);
DappleProfile *dapple_profile_load (const char *path, GError **error);
DappleProfile *dapple_profile_parse (const char *text, const char *filename, GError **error);
char *dapple_profile_to_text (const DappleProfile *p);

/* Layer grouping of a train graph: layer index of every node (indexed like
 * tl_graph_node) and whether the node belongs to the forward pass. */
typedef struct {
  guint n_nodes;
  guint n_layers;
  guint *layer;         /* [n_nodes] */
  gboolean *forward;    /* [n_nodes] */
  char **names;         /* [n_layers], NULL-terminated */
} DappleLayering;

DappleLayering *dapple_layering_new (const TlGraph *g, GError **error);
void dapple_layering_free (DappleLayering *l);
/* Profile of g's layers from the cost model of `cluster`'s device 0
 * (measure = FALSE) or measured with tl_exec_profile (measure = TRUE). */
DappleProfile *dapple_profile_from_graph (const TlGraph *g, const DappleLayering *l, const TlCluster *cluster,
                                          gboolean measure, GError **error);
/* Cost-model profile for a device of `flops` flop/s and `bandwidth` B/s. */
DappleProfile *dapple_profile_from_device (const TlGraph *g, const DappleLayering *l, double flops,
                                           double bandwidth);

/* --- the paper's models (tools/archs.c) --------------------------------------
 * VGG-19, GNMT-16, BERT-48 train graphs from their published layer shapes,
 * forward nodes tagged with TL_ANNOT_LAYER, gradients by tl_autodiff. */
const char *const *dapple_arch_names (void);
TlGraph *dapple_arch_build (const char *name, gint64 batch, GError **error);

/* --- placement ------------------------------------------------------------- */
typedef enum {
  DAPPLE_FRESH_FIRST = 0,
  DAPPLE_APPEND_FIRST,
  DAPPLE_SCATTER_FIRST,
  DAPPLE_N_POLICIES
} DapplePolicy;

const char *dapple_policy_name (DapplePolicy p);
gboolean dapple_policy_from_name (const char *name, DapplePolicy *out);

/* The cluster's machine shape: n_machines, devices per machine; devices of
 * machine m are m * per_machine ... */
typedef struct {
  guint n_machines;
  guint per_machine;
  const TlCluster *cluster;
} DappleShape;

gboolean dapple_shape_init (DappleShape *shape, const TlCluster *c, GError **error);
/* Take g devices from free[] (free device counts per machine; devices are
 * used from the lowest index of a machine) by `policy`: writes the device
 * ids to devices[g] and updates free[]. FALSE if fewer than g are free. */
gboolean dapple_place (const DappleShape *shape, DapplePolicy policy, guint *free_count, guint g,
                       guint *devices);

/* --- pipelines --------------------------------------------------------------- */
typedef enum {
  DAPPLE_SCHEDULE_EARLY_BACKWARD = 0,
  DAPPLE_SCHEDULE_GPIPE
} DappleSchedule;

#define DAPPLE_MAX_DEVICES 256
/* Machine sets are 64-bit masks (dapple_machine_mask()). */
#define DAPPLE_MAX_MACHINES 64
/* Largest global batch (samples per step) the planner accepts; the
 * manifest's max of 'global_batch'. */
#define DAPPLE_MAX_GLOBAL_BATCH 16777216

typedef struct {
  guint first, last; /* layers [first, last) */
  guint n_devices;   /* replicas */
  guint *devices;    /* [n_devices] */
} DappleStage;

typedef struct {
  guint n_stages;
  DappleStage *stages;
  guint micro_batches;
  double global_batch;
  DappleSchedule schedule;
  char *policy;      /* placement policy used, or NULL */
  char *method;      /* "dapple", "gpipe", "pipedream", "dp" */
  double estimate;   /* objective value of the planner (seconds per step) */
} DapplePipeline;

DapplePipeline *dapple_pipeline_new (guint n_stages);
void dapple_pipeline_free (DapplePipeline *p);
DapplePipeline *dapple_pipeline_copy (const DapplePipeline *p);
void dapple_pipeline_set_stage (DapplePipeline *p, guint s, guint first, guint last, guint n_devices,
                                const guint *devices);

/* Cost model shared by the planner and the simulator. */
typedef struct {
  const DappleProfile *profile;
  DappleShape shape;
  double param_factor; /* bytes of memory per parameter byte (weights, grads, optimizer) */
} DappleModel;

/* Per-micro-batch costs of a stage in a pipeline (mb samples per micro-batch
 * split over its replicas). `link` is the stage's outgoing activation (and
 * incoming gradient) transfer to the next stage, 0 for the last stage. */
typedef struct {
  double fwd, bwd;
  double link;       /* seconds per micro-batch per direction */
  double allreduce;  /* seconds, ring allreduce of the stage's gradients */
  double param_mem;  /* bytes per device */
  double act_mem;    /* bytes per device per live micro-batch */
  double memory;     /* smallest device memory of the stage */
} DappleStageCost;

/* Machines a device list uses, as a bit mask (machine m: bit m). */
guint64 dapple_machine_mask (const DappleShape *shape, guint n, const guint *devices);
/* Ring allreduce of `bytes` over n replicas on the machines in `mask`:
 * 2 bytes (n - 1) / n over the slowest link plus 2 (n - 1) latencies. */
double dapple_allreduce_time (const DappleModel *m, double bytes, guint n, guint64 mask);
/* Costs of layers [first, last) on n replicas in machines `mask`, next stage
 * in `next_mask` (0: none), mb samples per micro-batch. */
void dapple_stage_cost (const DappleModel *m, guint first, guint last, guint n, guint64 mask, guint64 next_mask,
                        double mb, DappleStageCost *out);
/* Live micro-batches of stage s of S under a schedule. */
guint dapple_live (DappleSchedule schedule, guint s, guint n_stages, guint micro_batches);
/* The planner's analytic estimate of a whole pipeline's step time:
 * sum of per-stage (fwd + bwd + 2 link) + (M - 1) * steady period (GPipe:
 * max(fwd + bwd, link); early backward: max(fwd + bwd + 2 link, suffix
 * round trip / micro-batches in flight)) + max allreduce (memory not
 * checked). */
double dapple_estimate (const DappleModel *m, const DapplePipeline *p);
/* Does every stage fit its devices' memory under p's schedule? */
gboolean dapple_fits (const DappleModel *m, const DapplePipeline *p);

/* --- planners ----------------------------------------------------------------- */
typedef enum {
  DAPPLE_METHOD_DAPPLE = 0,
  DAPPLE_METHOD_GPIPE,
  DAPPLE_METHOD_PIPEDREAM,
  DAPPLE_METHOD_DP
} DappleMethod;

gboolean dapple_method_from_name (const char *name, DappleMethod *out);
const char *dapple_method_name (DappleMethod m);

/* The DP over contiguous stages, replica counts and placement (one policy,
 * fixed micro-batch count): exact minimum of the method's objective
 * (DAPPLE: dapple_estimate; PipeDream: the bottleneck max(M * stage, allreduce)).
 * NULL with error when nothing fits. */
DapplePipeline *dapple_dp (const DappleModel *m, DappleMethod method, DapplePolicy policy, guint micro_batches,
                           double global_batch, guint max_devices, double bound, GError **error);
/* Exhaustive search of the same space (tests; small cases only). */
DapplePipeline *dapple_brute_force (const DappleModel *m, DappleMethod method, DapplePolicy policy,
                                    guint micro_batches, double global_batch, GError **error);
/* Objective of `method` for a complete pipeline (what dapple_dp minimises). */
double dapple_objective (const DappleModel *m, DappleMethod method, const DapplePipeline *p);

typedef struct {
  DappleMethod method;
  gint policy;             /* DapplePolicy, or -1: best of all */
  guint micro_batches;     /* 0: choose */
  double global_batch;
} DapplePlanOptions;

/* Plan with any method; choose micro-batches (divisors of the global batch
 * up to 64) and the policy when asked. */
DapplePipeline *dapple_plan_pipeline (const DappleModel *m, const DapplePlanOptions *opts, GError **error);

/* --- simulator ------------------------------------------------------------------ */
typedef struct {
  guint kind; /* 0 forward, 1 backward */
  guint micro;
} DappleOp;

/* Operations of stage s in schedule order (GArray of DappleOp). */
GArray *dapple_stage_ops (DappleSchedule schedule, guint s, guint S, guint M);

typedef struct {
  guint stage;
  guint kind;  /* 0 forward, 1 backward, 2 allreduce, 3 send, 4 gradient send */
  guint micro; /* micro-batch (0 for allreduce) */
  double start, end;
} DappleEvent;

typedef struct {
  double step_time;
  double bubble;        /* mean over stages of idle share of the forward/backward phase */
  guint n_stages;
  guint *peak_live;     /* [n_stages] micro-batches stashed at once */
  double *peak_memory;  /* [n_stages] bytes per device: params + peak activations */
  double *peak_act;     /* [n_stages] bytes per device of activations */
  GArray *events;       /* DappleEvent */
} DappleSimResult;

/* Discrete-event simulation of one training step of p. */
DappleSimResult *dapple_simulate (const DappleModel *m, const DapplePipeline *p);
void dapple_sim_result_free (DappleSimResult *r);

/* --- presentation ------------------------------------------------------------------ */
char *dapple_pipeline_table (const DappleModel *m, const DapplePipeline *p, const DappleSimResult *r);
char *dapple_timeline_svg (const DapplePipeline *p, const DappleSimResult *r);
TlPlan *dapple_pipeline_to_plan (const DappleModel *m, const DapplePipeline *p, const DappleSimResult *r);
DapplePipeline *dapple_pipeline_from_plan (const TlPlan *plan, const char *filename, GError **error);

/* --- runtime ------------------------------------------------------------------------------ */
/* Run a plan (equal replicas per stage, devices = ranks) on this process's
 * rank for `steps` steps and compare its gradients with one process. */
gboolean dapple_run_pipeline (const TlTaskContext *ctx, const DapplePipeline *p, guint steps, GError **error);
/* S stages of g replicas each (devices s * g ... s * g + g - 1), layers
 * balanced by compute time. */
DapplePipeline *dapple_plan_fixed (const DappleModel *m, guint S, guint g, guint micro_batches, double global_batch,
                                   DappleSchedule schedule);

/* --- the component -------------------------------------------------------------------- */
extern const TlPlannerDef dapple_planner_def;

#endif /* DAPPLE_PRIVATE_H */
