/* graph-private.h — internal structures of the graph IR, shared by
 * graph*.c, exec*.c and autodiff.c (and tensor internals they need). */
#ifndef TL_GRAPH_PRIVATE_H
#define TL_GRAPH_PRIVATE_H

#ifndef TL_COMPILATION
#error "graph-private.h is internal to libtl-1"
#endif

#include <glib.h>
#include <tl/tl.h>

G_BEGIN_DECLS

/* Most outputs a variadic-output op may produce. */
#define TL_GRAPH_MAX_OUTPUTS 64

struct _TlValue {
  TlGraph *graph;      /* borrowed back-pointer */
  guint id;            /* stable, unique within the graph */
  TlValueKind kind;
  TlTensorDesc desc;
  char *name;          /* input/param name; NULL otherwise */
  const char *out_name; /* first graph-output name (borrowed from the outputs list) */
  TlNode *producer;    /* TL_VALUE_OP only */
  guint index;         /* output index within the producer */
  TlTensor *tensor;    /* params and consts (owned reference) */
  GPtrArray *users;    /* TlNode*, each user once, in the order they were added */
};

struct _TlNode {
  TlGraph *graph;
  guint id;            /* stable, unique within the graph */
  guint pos;           /* current position in graph->nodes */
  const TlOpDef *def;
  TlAttrs *attrs;
  TlAttrs *annotations;
  guint n_inputs;
  TlValue **inputs;
  guint n_outputs;
  TlValue **outputs;   /* owned */
};

typedef struct {
  char *name;
  TlValue *value;
} TlGraphOutput;

struct _TlGraph {
  gint ref_count;
  GPtrArray *nodes;        /* TlNode*, topological order (owned) */
  GPtrArray *leaves;       /* inputs, params and consts (owned) */
  GPtrArray *inputs;       /* TlValue* placeholders (borrowed from leaves) */
  GPtrArray *params;       /* TlValue* params (borrowed from leaves) */
  GHashTable *input_by_name; /* name -> TlValue* */
  GHashTable *param_by_name; /* name -> TlValue* */
  GArray *outputs;         /* TlGraphOutput */
  GError *error;           /* sticky: first wins */
  guint next_node_id;
  guint next_value_id;
};

/* graph.c */
G_GNUC_INTERNAL void _tl_priv_graph_error (TlGraph *g, gint code, const char *fmt, ...)
  G_GNUC_PRINTF (3, 4);
/* Copy of the sticky error without clearing it (NULL if none). */
G_GNUC_INTERNAL GError *_tl_priv_graph_peek_error (const TlGraph *g);
G_GNUC_INTERNAL void _tl_priv_value_add_user (TlValue *v, TlNode *n);
G_GNUC_INTERNAL void _tl_priv_value_remove_user (TlValue *v, TlNode *n);
G_GNUC_INTERNAL void _tl_priv_node_free (TlNode *n);
/* A new value with the next id (not added to any list). */
G_GNUC_INTERNAL TlValue *_tl_priv_value_new (TlGraph *g, TlValueKind kind, const TlTensorDesc *desc);
/* Point each value's out_name at its first graph-output name. */
G_GNUC_INTERNAL void _tl_priv_graph_refresh_out_names (TlGraph *g);
/* Add a node with the given op and precomputed output descs (no inference). */
G_GNUC_INTERNAL TlNode *_tl_priv_graph_add_node (TlGraph *g, const TlOpDef *def, guint n_inputs,
                                                 TlValue *const *inputs, const TlAttrs *attrs,
                                                 guint n_outputs, const TlTensorDesc *out_descs);
/* Restore a topological order that keeps the current order where it can;
 * refreshes node->pos. Returns FALSE on a cycle. */
G_GNUC_INTERNAL gboolean _tl_priv_graph_toposort (TlGraph *g);
G_GNUC_INTERNAL void _tl_priv_graph_renumber (TlGraph *g);

/* tensor.c */
G_GNUC_INTERNAL gboolean _tl_priv_desc_check (const TlTensorDesc *desc, gsize *nbytes,
                                              GError **error);
G_GNUC_INTERNAL TlTensor *_tl_priv_tensor_view_storage (TlTensor *base, const TlTensorDesc *desc);

/* parallel.c */
/* Thread count for tl_parallel_for in the calling thread (0: global). */
G_GNUC_INTERNAL void _tl_priv_set_thread_override (guint n);
G_GNUC_INTERNAL void _tl_priv_threads_init (void);

/* exec-plan.c: buffer planning. */
typedef struct {
  guint n_buffers;
  gsize *buffer_sizes;   /* n_buffers */
  gint *value_buffer;    /* per planned value (index given by the caller), -1: none */
  gsize peak_bytes;
  gsize unplanned_bytes;
} TlBufferPlan;

/* Planning input: steps in schedule order, each reading some values and
 * writing some values; values are dense indices [0, n_values). */
typedef struct {
  guint n_reads;
  const guint *reads;
  guint n_writes;
  const guint *writes;
} TlPlanStep;

/* alias (nullable): alias[v] >= 0 makes value v share the buffer of the
 * earlier value alias[v] (an op flagged TL_OP_SAME_BYTES on a contiguous
 * intermediate, e.g. a reshape); that buffer then lives until the last of
 * them is read. */
G_GNUC_INTERNAL void _tl_priv_plan_buffers (guint n_values, const gsize *value_bytes,
                                            const gboolean *pinned, const gint *alias,
                                            guint n_steps, const TlPlanStep *steps,
                                            gboolean reuse, TlBufferPlan *plan);
G_GNUC_INTERNAL void _tl_priv_plan_clear (TlBufferPlan *plan);

G_END_DECLS

#endif /* TL_GRAPH_PRIVATE_H */
