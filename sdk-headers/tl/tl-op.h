/* tl-op.h — the op table: one path for every op, built-in or plugin.
 *
 * An op component (kind TL_COMPONENT_OP) provides a const TlOpDef. The host
 * registers built-in ops (core/ops/) through exactly this table, and a
 * plugin's ops when it loads the plugin. A complete op, y = factor * x on f32
 * tensors (attribute "factor", default 1), that leaves the optional slots
 * cost and get_extension NULL:
 *
 * @example-begin op-scale
 *   static gboolean
 *   scale_infer(const TlOpCall *call, TlTensorDesc *out, uint32_t max_out,
 *               uint32_t *n_out, GError **error)
 *   {
 *     (void) max_out; (void) n_out;    // for n_outputs == -1 ops only
 *     if (call->inputs[0].dtype != TL_DTYPE_F32) {
 *       g_set_error(error, TL_ERROR, TL_ERROR_UNSUPPORTED, "myplugin.scale: f32 only");
 *       return FALSE;
 *     }
 *     out[0] = call->inputs[0];        // same dtype and shape
 *     return TRUE;
 *   }
 *
 *   static gboolean
 *   scale_cpu(const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out,
 *             GError **error)
 *   {
 *     float factor = (float) tl_attrs_get_float(ctx->attrs, "factor", 1.0);
 *     const float *x = tl_tensor_data(in[0]);
 *     float *y = tl_tensor_data(out[0]);
 *     (void) error;
 *     for (gint64 i = 0; i < tl_tensor_numel(in[0]); i++)
 *       y[i] = factor * x[i];
 *     return TRUE;
 *   }
 *
 *   static gboolean
 *   scale_backward(TlGraph *g, const TlNode *node, TlValue *const *grad_out,
 *                  TlValue **grad_in, GError **error)
 *   {
 *     double factor = tl_attrs_get_float(tl_node_attrs(node), "factor", 1.0);
 *     (void) error;
 *     grad_in[0] = tl_scale(g, grad_out[0], factor, 0.0);
 *     return TRUE;
 *   }
 *
 *   static const TlOpDef scale_op = {
 *     TL_TABLE_INIT(TlOpDef), .name = "myplugin.scale",
 *     .flags = TL_OP_ELEMENTWISE | TL_OP_OVERWRITES, .n_inputs = 1, .n_outputs = 1,
 *     .infer = scale_infer, .forward_cpu = scale_cpu, .backward = scale_backward };
 * @example-end
 *
 * The plugin lists it as { TL_COMPONENT_OP, 0, "scale", &scale_op } (see
 * tl-plugin.h). The examples marked with @example-begin in the SDK headers
 * are compiled by tests/test-headers.sh.
 */
#ifndef TL_OP_H
#define TL_OP_H

#include <glib.h>
#include <tl/tl-macros.h>
#include <tl/tl-attrs.h>
#include <tl/tl-tensor.h>
#include <tl/tl-graph.h>

TL_BEGIN_DECLS

typedef enum {
  TL_OP_ELEMENTWISE = 1u << 0, /* output[i] depends on input[i] (after broadcasting) */
  TL_OP_BROADCAST = 1u << 1,   /* inputs broadcast numpy-style */
  TL_OP_REDUCTION = 1u << 2,
  TL_OP_MEMORY_BOUND = 1u << 3, /* fusion candidates */
  TL_OP_VIEW = 1u << 4,        /* reshape/transpose/slice: layout only */
  TL_OP_RANDOM = 1u << 5,      /* uses ctx->seed (dropout) */
  TL_OP_LOSS = 1u << 6,
  TL_OP_NONDIFF = 1u << 7,     /* no gradient (argmax, comparisons) */
  TL_OP_COMPUTE_BOUND = 1u << 8, /* GEMM/conv: stays a library call */
  TL_OP_OVERWRITES = 1u << 9,    /* every kernel of the op (CPU and device) writes every
                                  * element of every output: the executor does not
                                  * zero-fill them first (ABI 1.0 tables without the
                                  * bit get zero-filled outputs, as before) */
  TL_OP_SAME_BYTES = 1u << 10    /* output 0 holds exactly input 0's bytes when input 0
                                  * is contiguous (reshape): one input read, one output,
                                  * same dtype and number of elements. The executor may
                                  * give the output input 0's buffer and skip the kernel;
                                  * it ignores the bit on a node with more inputs or
                                  * outputs, or whose output dtype or element count
                                  * differs (ABI 1.0 tables without the bit always run
                                  * their kernel, as before) */
} TlOpFlags;

/* What shape inference and cost estimation see. Host-allocated. */
typedef struct {
  uint32_t n_inputs;
  uint32_t n_outputs;          /* as inferred/declared */
  const TlTensorDesc *inputs;  /* n_inputs descs */
  const TlAttrs *attrs;        /* never NULL */
  void *reserved[6];
} TlOpCall;

/* What a kernel sees. Host-allocated. */
typedef struct {
  uint32_t n_inputs;
  uint32_t n_outputs;
  const TlAttrs *attrs;        /* never NULL */
  uint64_t seed;               /* per node and step; for TL_OP_RANDOM ops */
  uint32_t training;           /* 1 in a training step */
  uint32_t n_threads;          /* threads the kernel may use via tl_parallel_for */
  uint32_t deterministic;      /* 1: results must be bitwise reproducible */
  uint32_t reserved0;
  void *reserved[6];
} TlKernelCtx;

/* Estimated cost for the cost model shared by planners. */
typedef struct {
  double flops;       /* floating-point operations */
  double bytes_read;  /* bytes read from memory (inputs) */
  double bytes_written; /* bytes written (outputs) */
  double reserved[5];
} TlOpCost;

typedef struct _TlOpDef {
  TL_TABLE_HEADER;
  /* Registry-wide name: "matmul" for built-ins, "<plugin>.<op>" for plugins. */
  const char *name;
  uint32_t flags;     /* TlOpFlags */
  int32_t n_inputs;   /* -1: variadic (>= 1) */
  int32_t n_outputs;  /* -1: decided by infer(); then infer sets call->n_outputs via return */
  uint32_t reserved0;
  /* Shape/dtype inference: fill out[0..n_outputs-1]. For n_outputs == -1 ops,
   * `max_out` is the capacity and the op returns the count through *n_out.
   * Must validate inputs and attrs and report bad ones as TL_ERROR_SHAPE /
   * TL_ERROR_INVALID_ARGUMENT (an input dtype the op has no kernel for may be
   * reported as TL_ERROR_UNSUPPORTED instead). (required) */
  gboolean (*infer)(const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out,
                    GError **error);
  /* CPU kernel: inputs may be non-contiguous views only if the op declares
   * TL_OP_VIEW; otherwise they are contiguous. Outputs are preallocated
   * contiguous tensors with the inferred descs. (required) */
  gboolean (*forward_cpu)(const TlKernelCtx *ctx, TlTensor *const *inputs, TlTensor *const *outputs,
                          GError **error);
  /* Gradient rule expressed as graph ops. grad_outputs[i] is NULL when output
   * i gets no gradient. Set grad_inputs[j] (n_inputs entries, pre-zeroed) to a
   * value with input j's desc, or leave NULL for "no gradient". (optional:
   * NULL means non-differentiable) */
  gboolean (*backward)(TlGraph *g, const TlNode *node, TlValue *const *grad_outputs,
                       TlValue **grad_inputs, GError **error);
  /* Cost hints. (optional: NULL means flops 0 and bytes = inputs + outputs) */
  void (*cost)(const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost);
  /* Optional interfaces by id, e.g. TL_OP_EXT_CUDA. NULL for unknown ids.
   * (optional) */
  const void *(*get_extension)(const char *id);
} TlOpDef;

/* Extension ids. */
#define TL_OP_EXT_CUDA "tl.op.cuda/1"

/* TL_OP_EXT_CUDA: the op's CUDA kernel, used when an executor runs on
 * "cuda[:N]" (an op without one cannot run there: tl_exec_new names it).
 * Same contract as forward_cpu, except that tl_tensor_data() of every input
 * and output is a device pointer on the current device, and the work is
 * enqueued on `stream` (a cudaStream_t; it need not be finished when the
 * function returns, and the function must not synchronise the device).
 * Outputs are zero-filled like on the CPU. */
typedef struct {
  TL_TABLE_HEADER;
  gboolean (*forward_cuda)(const TlKernelCtx *ctx, TlTensor *const *inputs,
                           TlTensor *const *outputs, void *stream, GError **error);
  void *reserved[4];
} TlOpCudaExt;

/* The op registry (process-wide, thread-safe). Built-ins are registered by
 * tl_init(). Plugin ops are registered by the plugin registry when a plugin
 * is loaded. The table must outlive the process (it is static in a .so that
 * is never unloaded). */
TL_API gboolean tl_op_register(const TlOpDef *def, GError **error);
TL_API const TlOpDef *tl_op_lookup(const char *name);
/* Names of all registered ops, sorted. (transfer full: g_strfreev) */
TL_API char **tl_op_list(void);

/* Run shape inference for `def` (helper used by graph and conformance). */
TL_API gboolean tl_op_infer(const TlOpDef *def, guint n_inputs, const TlTensorDesc *inputs,
                            const TlAttrs *attrs, guint max_out, TlTensorDesc *out, guint *n_out,
                            GError **error);
/* Cost of a node as the cost model sees it (default rule when the op has none). */
TL_API void tl_node_cost(const TlNode *node, TlOpCost *cost);

/* --- host services for kernels ------------------------------------------ */

/* Call fn(begin, end, data) over [0, n) split in chunks of at least `grain`
 * items on the host thread pool (respects the executor's thread count). */
typedef void (*TlParallelFn)(gint64 begin, gint64 end, gpointer data);
TL_API void tl_parallel_for(gint64 n, gint64 grain, TlParallelFn fn, gpointer data);
TL_API guint tl_get_num_threads(void);
TL_API void tl_set_num_threads(guint n);

/* --- conformance samples (optional op extension) ------------------------- */

/* Op extension returning sample inputs for `tlhost conformance`: shape
 * inference vs kernel outputs, determinism and finite-difference gradients
 * are checked on each sample. Inputs are filled with seeded uniform values
 * in [low, high) (integer inputs: integers in [low, high)). */
#define TL_OP_EXT_SAMPLES "tl.op.samples/1"

typedef struct {
  TL_TABLE_HEADER;
  uint32_t n_samples;
  uint32_t reserved0;
  /* (required) Describe sample `index` (< n_samples): write up to
   * max_inputs input descs, their count to *n_inputs, and attributes into
   * `attrs` (host-allocated, empty). */
  gboolean (*get)(uint32_t index, TlTensorDesc *inputs, uint32_t max_inputs, uint32_t *n_inputs,
                  TlAttrs *attrs);
  double low;   /* value range of inputs; low == high: [-1, 1) */
  double high;
  void *reserved[4];
} TlOpSamples;

TL_END_DECLS

#endif /* TL_OP_H */
