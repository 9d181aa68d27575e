/* tl-model.h — the model component ABI and the build context.
 *
 * A model component provides a const TlModelDef. The host creates an instance
 * with validated parameters, then asks it to build its graph once per mode
 * (train, eval, predict) through a host-provided TlBuild context:
 *
 * @example-begin model-build
 *   static gboolean mlp_build(TlModel *m, TlBuild *b, GError **error) {
 *     TlGraph *g = tl_build_graph(b);
 *     TlValue *x = tl_build_input(b, "image");            // [batch, 784] f32
 *     TlValue *w1 = tl_build_param(b, "fc1.weight", TL_DTYPE_F32, 2,
 *                                  (gint64[]){512, 784}, TL_INIT_KAIMING_UNIFORM, 0, TRUE);
 *     TlValue *w2 = tl_build_param(b, "fc2.weight", TL_DTYPE_F32, 2,
 *                                  (gint64[]){10, 512}, TL_INIT_KAIMING_UNIFORM, 0, TRUE);
 *     TlValue *h = tl_relu(g, tl_matmul(g, x, w1, FALSE, TRUE));   // [batch, 512]
 *     TlValue *logits = tl_matmul(g, h, w2, FALSE, TRUE);         // [batch, 10]
 *     tl_build_set_prediction(b, logits, TL_TASK_MULTICLASS, "label");
 *     tl_build_set_loss(b, tl_cross_entropy(g, logits, tl_build_input(b, "label")));
 *     return tl_graph_take_error(g, error);
 *   }
 * @example-end
 *
 * Parameters live in a host-owned TlParamStore shared by all builds of one
 * instance, so train and eval graphs see the same tensors, and checkpoints
 * are generic. Initial values are deterministic in (seed, name).
 */
#ifndef TL_MODEL_H
#define TL_MODEL_H

#include <glib.h>
#include <tl/tl-macros.h>
#include <tl/tl-graph.h>
#include <tl/tl-params.h>

TL_BEGIN_DECLS

typedef struct _TlModel TlModel;       /* plugin-defined */
typedef struct _TlBuild TlBuild;       /* host-provided */
typedef struct _TlParamStore TlParamStore;

typedef enum {
  TL_MODE_TRAIN = 0,
  TL_MODE_EVAL = 1,
  TL_MODE_PREDICT = 2
} TlMode;

typedef enum {
  TL_TASK_NONE = 0,
  TL_TASK_BINARY,      /* prediction: logits [N] or [N,1]; labels 0/1 */
  TL_TASK_MULTICLASS,  /* prediction: logits [N, C]; labels int [N] */
  TL_TASK_MULTILABEL,  /* prediction: logits [N, C]; labels 0/1 [N, C] */
  TL_TASK_REGRESSION,  /* prediction: [N] or [N, D]; targets same shape */
  TL_TASK_TAGGING      /* prediction: logits [N, T, C]; labels int [N, T], < 0 ignored */
} TlTask;

typedef enum {
  TL_INIT_ZEROS = 0,
  TL_INIT_ONES,
  TL_INIT_CONSTANT,        /* scale = the value */
  TL_INIT_NORMAL,          /* N(0, scale^2) */
  TL_INIT_UNIFORM,         /* U(-scale, scale) */
  TL_INIT_XAVIER_UNIFORM,  /* scale ignored (gain 1) */
  TL_INIT_KAIMING_UNIFORM  /* PyTorch nn.Linear/Conv default: U(-1/sqrt(fan_in), +);
                            * fan_in = shape[1] * prod(shape[2:]); a 1-d parameter (a bias)
                            * takes fan_in = scale when scale > 0, else shape[0] */
} TlInit;

/* --- build context (host implements) ------------------------------------ */

TL_API TlGraph *tl_build_graph(TlBuild *b);          /* borrowed */
TL_API TlMode tl_build_mode(const TlBuild *b);
TL_API gint64 tl_build_batch_size(const TlBuild *b);
TL_API guint64 tl_build_seed(const TlBuild *b);
/* Dataset field `name` as a graph input [batch, ...per-example shape].
 * Unknown field: sticky graph error naming the available fields. */
TL_API TlValue *tl_build_input(TlBuild *b, const char *field);
TL_API gboolean tl_build_has_field(const TlBuild *b, const char *field);
/* Per-example desc of a field (borrowed) or NULL. */
TL_API const TlTensorDesc *tl_build_field_desc(const TlBuild *b, const char *field);
/* Number of categories of a categorical field; -1 when not categorical. */
TL_API gint64 tl_build_field_cardinality(const TlBuild *b, const char *field);
TL_API guint tl_build_n_fields(const TlBuild *b);
TL_API const char *tl_build_field_name(const TlBuild *b, guint i);
/* Create (first build) or fetch (later builds) a parameter; shapes must match. */
TL_API TlValue *tl_build_param(TlBuild *b, const char *name, TlDType dtype, guint ndim,
                               const gint64 *shape, TlInit init, double scale, gboolean trainable);
TL_API void tl_build_set_loss(TlBuild *b, TlValue *loss);
/* What the trainer scores: prediction value, task kind, label field. */
TL_API void tl_build_set_prediction(TlBuild *b, TlValue *prediction, TlTask task,
                                    const char *label_field);
/* Extra named outputs (e.g. "embedding") the predict task writes. */
TL_API void tl_build_add_output(TlBuild *b, const char *name, TlValue *v);
TL_API TlParamStore *tl_build_param_store(TlBuild *b); /* borrowed */

/* --- parameter store ---------------------------------------------------- */

TL_API guint tl_param_store_size(const TlParamStore *s);
TL_API const char *tl_param_store_name(const TlParamStore *s, guint i);
TL_API TlTensor *tl_param_store_tensor(const TlParamStore *s, guint i);   /* borrowed */
TL_API gboolean tl_param_store_trainable(const TlParamStore *s, guint i);
TL_API TlTensor *tl_param_store_lookup(const TlParamStore *s, const char *name); /* borrowed or NULL */

/* --- the component table ------------------------------------------------- */

typedef struct {
  TL_TABLE_HEADER;
  /* (required) New instance; params validated by the host. */
  TlModel *(*create)(const TlParams *params, GError **error);
  /* (required) NULL-safe. */
  void (*destroy)(TlModel *model);
  /* (required) Build the graph for tl_build_mode(b). */
  gboolean (*build)(TlModel *model, TlBuild *b, GError **error);
  /* (optional) After each optimizer step: e.g. EMA teacher update. While
   * tl_train runs on a GPU, the tensors the hook gets through
   * tl_param_store_lookup / tl_param_store_tensor hold the current values
   * and what it writes to them goes back to the device when it returns
   * (each tensor it reaches is copied twice per step: keep the hook to the
   * tensors it needs); tensor pointers kept from before the run are not
   * refreshed. */
  gboolean (*step_end)(TlModel *model, TlParamStore *store, guint64 step, GError **error);
  /* (optional) NULL for unknown ids. */
  const void *(*get_extension)(const char *id);
} TlModelDef;

TL_END_DECLS

#endif /* TL_MODEL_H */
