/* fusion-private.h — declarations shared by the files of the fusion plugin
 * (FusionStitching, arXiv:2009.10924). Not installed; plugin code includes
 * only <tl/tl.h>. Symbols are hidden (-fvisibility=hidden). */
#ifndef FUSION_PRIVATE_H
#define FUSION_PRIVATE_H

#include <tl/tl.h>

G_BEGIN_DECLS

/* Opcodes of the fused interpreter (one per supported primitive op). */
typedef enum {
  FOP_NEG, FOP_EXP, FOP_LOG, FOP_SQRT, FOP_RSQRT, FOP_ABS, FOP_SQUARE, FOP_RELU, FOP_GELU,
  FOP_TANH, FOP_SIGMOID, FOP_SIGN, FOP_AFFINE, FOP_COPY,
  FOP_ADD, FOP_SUB, FOP_MUL, FOP_DIV, FOP_MAXIMUM, FOP_MINIMUM, FOP_POW, FOP_RELU_GRAD,
  FOP_GELU_GRAD, FOP_TANH_GRAD, FOP_SIGMOID_GRAD,
  FOP_SUM, FOP_MEAN, FOP_MAX,
  FOP_N
} FusionOpcode;

typedef struct {
  const char *name;   /* tl op name */
  FusionOpcode op;
  guint arity;
  gboolean reduction; /* over the last axis only */
  double flops;       /* per output element (reductions: per input element) */
} FusionOpInfo;

/* Class of a value relative to the group's domain D = [..., C]. */
typedef enum {
  FCLASS_FULL = 0, /* shape D */
  FCLASS_ROWK,     /* D with last axis 1 (keepdims reduction) */
  FCLASS_ROWN      /* D without its last axis */
} FusionClass;

/* How an external operand is addressed from a row r and column c. */
typedef struct {
  gint64 row_stride[TL_MAX_DIMS]; /* per axis of D[:-1] (0: broadcast) */
  gint64 col_stride;              /* 0 or 1 */
} FusionAccess;

typedef struct {
  const FusionOpInfo *info;
  TlAttrs *attrs;     /* owned copy of the primitive op's attrs */
  guint n_in;
  gint in[2];         /* >= 0: external input; < 0: -(k + 1) = instruction k */
  float scale, bias;  /* affine_scalar */
  TlTensorDesc desc;
  FusionClass cls;
  FusionAccess acc[2];
  gint out_index;     /* output of the fused op, or -1 */
  gboolean flat;      /* full, every operand full-dense or a scalar: a tile of
                         whole rows runs as one flat loop */
} FusionInstr;

typedef struct {
  guint n_in;
  TlTensorDesc *in_desc;
  guint n_instr;
  FusionInstr *ins;
  guint n_out;
  guint *outs;        /* instruction of each output */
  /* filled by fusion_program_analyse() */
  TlTensorDesc domain;
  gint64 rows, cols;
  guint n_reductions;
  guint n_full;       /* instructions of class FULL */
} FusionProgram;

/* pattern.c */
const FusionOpInfo *fusion_op_info (const char *name);
gboolean fusion_node_fusible (const TlNode *n, gboolean elementwise_only);
FusionProgram *fusion_program_from_nodes (guint n_nodes, TlNode *const *sorted,
                                          GHashTable *graph_outputs, GError **error);
FusionProgram *fusion_program_from_attrs (const TlAttrs *attrs, guint n_in,
                                          const TlTensorDesc *in_desc, GError **error);
FusionProgram *fusion_group_program (const TlGraph *g, guint n_nodes, TlNode *const *sorted,
                                     GHashTable *graph_outputs, GError **error);
void fusion_program_to_attrs (const FusionProgram *p, TlAttrs *attrs);
gboolean fusion_program_analyse (FusionProgram *p, GError **error);
void fusion_program_free (FusionProgram *p);
guint64 fusion_program_hash (const FusionProgram *p);
GHashTable *fusion_graph_outputs (const TlGraph *g);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FusionProgram, fusion_program_free)

/* interp.c */
gboolean fusion_program_run (const FusionProgram *p, TlTensor *const *inputs,
                             TlTensor *const *outputs, GError **error);

/* cost.c */
typedef struct {
  double bandwidth;   /* bytes per microsecond */
  double launch_us;   /* per kernel */
  double pressure_us; /* per value above max_live in one group */
  guint max_live;
  guint max_group;    /* nodes per group */
} FusionCostModel;

void fusion_cost_model_init (FusionCostModel *cm, const TlCluster *cluster);
double fusion_value_bytes (const TlValue *v);
double fusion_node_bytes (const TlNode *n);

/* explorer.c */
typedef struct _FusionCtx FusionCtx;
typedef struct {
  guint beam;
  guint top_k;
  gboolean baseline;      /* elementwise-only, producer->consumer chains */
  gboolean non_adjacent;  /* merge unconnected groups (kernel packing) */
  FusionCostModel cm;
} FusionExploreOptions;

FusionCtx *fusion_ctx_new (const TlGraph *g, const FusionExploreOptions *opts);
void fusion_ctx_free (FusionCtx *ctx);
guint fusion_ctx_n_nodes (const FusionCtx *ctx);
TlNode *fusion_ctx_node (const FusionCtx *ctx, guint pos);
gboolean fusion_ctx_fusible (const FusionCtx *ctx, guint pos);
/* Gain (microseconds) of fusing the sorted positions; -INFINITY if invalid. */
double fusion_ctx_gain (FusionCtx *ctx, guint n, const guint *pos);
gboolean fusion_ctx_group_bytes (FusionCtx *ctx, guint n, const guint *pos, double *unfused,
                                 double *fused);
/* comp[pos]: group of each node (any value; equal = same group). */
gboolean fusion_ctx_acyclic (const FusionCtx *ctx, const guint *comp);
/* Groups (GArray of guint positions, sorted, >= 2 nodes); returns objective. */
GPtrArray *fusion_explore (FusionCtx *ctx, double *objective);
/* Full scheme name of a group: kernel-packing / thread / warp / block. */
const char *fusion_group_scheme (FusionCtx *ctx, const GArray *group);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FusionCtx, fusion_ctx_free)

/* plan-io.c */
typedef struct {
  guint kernels_before, kernels_after;
  double bytes_before, bytes_after;
} FusionStats;

TlPlan *fusion_make_plan (const char *planner, FusionCtx *ctx, GPtrArray *groups,
                          double objective, const char *mode);
gboolean fusion_apply_plan (const TlPlan *plan, TlGraph *g, gboolean rewrite, guint *n_fused,
                            GError **error);
void fusion_graph_stats (const TlGraph *g, FusionStats *st);
char *fusion_plan_to_dot (const TlGraph *g, const TlPlan *plan);

/* fusion.c */
extern const TlPlannerDef fusion_stitch_planner;

/* model-transformer.c */
extern const TlModelDef fusion_transformer_model;

/* fused-op.c */
extern const TlOpDef fusion_fused_op;

/* codegen-cuda.c */
char *fusion_codegen_cuda (const FusionProgram *p, const char *kernel_name);
const char *fusion_cuda_ptx (const FusionProgram *p, GError **error);
void fusion_cuda_launch_dims (const FusionProgram *p, guint max_blocks, guint *grid, guint *block);
gboolean fusion_cuda_has_work (const FusionProgram *p);
char *fusion_flatten_log (char *log);
/* Run the group on the GPU (launch-cuda.c): in/out are CUDA tensors, the
 * kernel is enqueued on `stream` (a cudaStream_t). FALSE with
 * TL_ERROR_UNSUPPORTED when the driver or NVRTC is missing. */
gboolean fusion_cuda_run (const FusionProgram *p, TlTensor *const *in, TlTensor *const *out, void *stream,
                          GError **error);
const char *fusion_expr_template (FusionOpcode op);
void fusion_append_expr (GString *s, const char *tmpl, const char *a, const char *b, float scale,
                         float bias);
char *fusion_row_offset_expr (const FusionProgram *p, const FusionAccess *acc);

/* prims.c: the memory-bound patterns as primitive ops (last axis). */
TlValue *fusion_layer_norm_prims (TlGraph *g, TlValue *x, TlValue *gamma, TlValue *beta);
TlValue *fusion_softmax_prims (TlGraph *g, TlValue *x);

/* codegen-c.c */
typedef void (*FusionCFunc) (const float *const *in, float *const *out, long long r0, long long r1);
char *fusion_codegen_c (const FusionProgram *p);
FusionCFunc fusion_c_compile (const FusionProgram *p, GError **error);

G_END_DECLS

#endif /* FUSION_PRIVATE_H */
