/* tl-graph.h — the graph IR.
 *
 * Models build a static graph of op nodes; nothing is computed until an
 * executor runs it (tl-exec.h). Planners inspect and rewrite the graph.
 *
 * Values (TlValue) are node outputs: dtype and shape are inferred when the
 * node is added. Graph inputs are placeholders fed at run time; parameters
 * are persistent tensors bound by name.
 *
 * Errors while building are sticky, as in cairo: the first failure is
 * recorded on the graph, the failing call returns NULL, and every later call
 * given a NULL input also returns NULL. Check once with tl_graph_take_error().
 *
 * @example-begin graph (TlTensor *weight_tensor)
 *   TlGraph *g = tl_graph_new();
 *   TlValue *x = tl_graph_input(g, "x", TL_DTYPE_F32, 2, (gint64[]){128, 784});
 *   TlValue *w = tl_graph_param(g, "fc.weight", weight_tensor);
 *   TlValue *y = tl_relu(g, tl_matmul(g, x, w, FALSE, TRUE));
 *   if (!tl_graph_take_error(g, &error))
 *     return FALSE;                 // error: the first failure, e.g. a shape mismatch
 * @example-end
 *
 * Ownership: the graph owns nodes, values and attrs; node and value pointers are
 * borrowed and valid while the graph lives (until a rewrite removes them).
 */
#ifndef TL_GRAPH_H
#define TL_GRAPH_H

#include <glib.h>
#include <tl/tl-macros.h>
#include <tl/tl-attrs.h>
#include <tl/tl-tensor.h>

TL_BEGIN_DECLS

typedef struct _TlGraph TlGraph;
typedef struct _TlNode TlNode;
typedef struct _TlValue TlValue;

/* Well-known annotation keys (string values unless noted). */
#define TL_ANNOT_DEVICE "device"             /* "cpu", "cuda:0" */
#define TL_ANNOT_STAGE "stage"               /* int: pipeline stage */
#define TL_ANNOT_REPLICA_GROUP "replica_group" /* int */
#define TL_ANNOT_FUSION_GROUP "fusion_group" /* int */
#define TL_ANNOT_SHARDING "sharding"         /* e.g. "split:0" */
#define TL_ANNOT_LAYER "layer"               /* string: model layer name, for planners */

/* (transfer full) */
TL_API TlGraph *tl_graph_new(void);
TL_API TlGraph *tl_graph_ref(TlGraph *g);
TL_API void tl_graph_unref(TlGraph *g);

/* --- building ---------------------------------------------------------- */

/* Placeholder fed at run time. A shape entry of -1 is not allowed. */
TL_API TlValue *tl_graph_input(TlGraph *g, const char *name, TlDType dtype, guint ndim,
                               const gint64 *shape);
/* Persistent parameter bound by name; the graph takes a reference to `tensor`.
 * Asking twice for the same name returns the same value. */
TL_API TlValue *tl_graph_param(TlGraph *g, const char *name, TlTensor *tensor);
/* Constant; the graph takes a reference. */
TL_API TlValue *tl_graph_const(TlGraph *g, TlTensor *tensor);
TL_API TlValue *tl_graph_scalar(TlGraph *g, float value); /* f32 0-d constant */

/* Add a node applying op `op` (looked up in the op registry). attrs is copied
 * (may be NULL). Returns the node's first output. */
TL_API TlValue *tl_graph_op(TlGraph *g, const char *op, guint n_inputs, TlValue *const *inputs,
                            const TlAttrs *attrs);
/* Same, for ops with several outputs: writes up to max_outputs values into
 * outputs and returns the number of outputs (0 on error). */
TL_API guint tl_graph_op_multi(TlGraph *g, const char *op, guint n_inputs, TlValue *const *inputs,
                               const TlAttrs *attrs, guint max_outputs, TlValue **outputs);

/* Mark a value as a named graph output (e.g. "loss", "logits"). */
TL_API void tl_graph_set_output(TlGraph *g, const char *name, TlValue *v);
TL_API TlValue *tl_graph_get_output(const TlGraph *g, const char *name);
TL_API guint tl_graph_n_outputs(const TlGraph *g);
TL_API const char *tl_graph_output_name(const TlGraph *g, guint i);

/* Sticky error handling. */
TL_API gboolean tl_graph_ok(const TlGraph *g);
/* Record an error (first one wins); takes ownership of err. */
TL_API void tl_graph_set_error(TlGraph *g, GError *err);
/* TRUE if no error; else moves the recorded error to *error and clears it. */
TL_API gboolean tl_graph_take_error(TlGraph *g, GError **error);

/* --- inspecting --------------------------------------------------------- */

/* Nodes in a topological order (inputs before users). */
TL_API guint tl_graph_n_nodes(const TlGraph *g);
TL_API TlNode *tl_graph_node(const TlGraph *g, guint i);
TL_API guint tl_graph_n_inputs(const TlGraph *g);   /* placeholders */
TL_API TlValue *tl_graph_input_value(const TlGraph *g, guint i);
TL_API TlValue *tl_graph_find_input(const TlGraph *g, const char *name);
TL_API guint tl_graph_n_params(const TlGraph *g);
TL_API TlValue *tl_graph_param_value(const TlGraph *g, guint i);
TL_API TlValue *tl_graph_find_param(const TlGraph *g, const char *name);

TL_API guint tl_node_id(const TlNode *n); /* stable, unique within the graph */
TL_API const char *tl_node_op(const TlNode *n);
TL_API const struct _TlOpDef *tl_node_op_def(const TlNode *n);
TL_API guint tl_node_n_inputs(const TlNode *n);
TL_API TlValue *tl_node_input(const TlNode *n, guint i);
TL_API guint tl_node_n_outputs(const TlNode *n);
TL_API TlValue *tl_node_output(const TlNode *n, guint i);
TL_API const TlAttrs *tl_node_attrs(const TlNode *n);
/* Annotations (device, stage, fusion group, ...): a mutable attr set. */
TL_API TlAttrs *tl_node_annotations(TlNode *n);
TL_API const TlAttrs *tl_node_get_annotations(const TlNode *n);

typedef enum {
  TL_VALUE_OP = 0,   /* output of a node */
  TL_VALUE_INPUT,    /* placeholder */
  TL_VALUE_PARAM,    /* persistent parameter */
  TL_VALUE_CONST     /* constant */
} TlValueKind;

TL_API TlValueKind tl_value_kind(const TlValue *v);
TL_API const TlTensorDesc *tl_value_desc(const TlValue *v);
TL_API TlDType tl_value_dtype(const TlValue *v);
TL_API guint tl_value_ndim(const TlValue *v);
TL_API gint64 tl_value_dim(const TlValue *v, gint axis); /* negative from end */
/* Name of an input/param/graph output; NULL otherwise. */
TL_API const char *tl_value_name(const TlValue *v);
/* Producing node (NULL for inputs, params, consts) and output index. */
TL_API TlNode *tl_value_producer(const TlValue *v);
TL_API guint tl_value_index(const TlValue *v);
/* Tensor of a param or const (borrowed), NULL otherwise. */
TL_API TlTensor *tl_value_tensor(const TlValue *v);
TL_API guint tl_value_n_users(const TlValue *v);
TL_API TlNode *tl_value_user(const TlValue *v, guint i);
TL_API guint tl_value_id(const TlValue *v); /* unique within the graph */

/* --- rewriting ---------------------------------------------------------- */

/* Make every user of `old` (and graph outputs) use `replacement` instead.
 * Fails if descs differ or if that would create a cycle. */
TL_API gboolean tl_graph_replace_uses(TlGraph *g, TlValue *old, TlValue *replacement,
                                      GError **error);
/* Remove nodes whose outputs reach no graph output. Returns nodes removed. */
TL_API guint tl_graph_prune(TlGraph *g);
/* Replace the connected set `nodes` by one node applying `op` with `attrs`:
 * its inputs are the values the set reads from outside (in first-use order;
 * read them back with tl_node_input() on the returned node), and its
 * outputs replace the set's values used outside (in node order). The op's
 * shape inference must yield exactly those descs. Refuses to create a cycle.
 * Returns the new node (borrowed). */
TL_API TlNode *tl_graph_replace_nodes(TlGraph *g, guint n_nodes, TlNode *const *nodes,
                                      const char *op, const TlAttrs *attrs, GError **error);
/* Would merging `nodes` into one node create a cycle? */
TL_API gboolean tl_graph_nodes_fusible(const TlGraph *g, guint n_nodes, TlNode *const *nodes);
/* Deep copy (params/consts shared by reference). (transfer full) */
TL_API TlGraph *tl_graph_copy(const TlGraph *g, GError **error);

/* --- export ------------------------------------------------------------- */

/* Graphviz DOT; nodes coloured by `color_by` annotation key when not NULL
 * (e.g. TL_ANNOT_FUSION_GROUP). (transfer full) */
TL_API char *tl_graph_to_dot(const TlGraph *g, const char *color_by);
/* Readable JSON: nodes, ops, attrs, annotations, descs. (transfer full) */
TL_API char *tl_graph_to_json(const TlGraph *g);

TL_END_DECLS

#endif /* TL_GRAPH_H */
