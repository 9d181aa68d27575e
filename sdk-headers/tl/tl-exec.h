/* tl-exec.h — autodiff and the executor.
 *
 * @example-begin exec (TlGraph *g, TlValue *loss, TlValue *w, TlValue *b,
 *                      TlTensor *batch_x, guint64 step)
 *   TlValue *grads[2];
 *   tl_autodiff(g, loss, 2, (TlValue *[]){w, b}, grads, &error);
 *   TlExecOptions opts; tl_exec_options_init(&opts);
 *   TlExec *ex = tl_exec_new(g, 3, (TlValue *[]){loss, grads[0], grads[1]}, &opts, &error);
 *   tl_exec_set_input(ex, "x", batch_x, &error);
 *   tl_exec_run(ex, step, &error);             // step: seeds random ops
 *   TlTensor *l = tl_exec_get_output(ex, 0);   // borrowed until next run
 * @example-end
 */
#ifndef TL_EXEC_H
#define TL_EXEC_H

#include <glib.h>
#include <tl/tl-graph.h>

TL_BEGIN_DECLS

/* Append the backward graph of `loss` (a 0-d or any-shape value; seed is ones)
 * with respect to `wrt` and write the gradient values to grads[n_wrt]
 * (NULL where no path exists: the caller treats it as zero). */
TL_API gboolean tl_autodiff(TlGraph *g, TlValue *loss, guint n_wrt, TlValue *const *wrt,
                            TlValue **grads, GError **error);

/* Host-allocated; initialise with tl_exec_options_init (zeroes reserved). */
typedef struct {
  uint32_t n_threads;      /* 0: tl_get_num_threads() */
  uint32_t deterministic;  /* 1: same seed, same bits */
  uint64_t seed;           /* base seed for random ops */
  uint32_t training;       /* 1: dropout etc. active */
  uint32_t reuse_buffers;  /* 1 (default): buffer planning reuses dead tensors' memory */
  const char *device;      /* "cpu" (default) or "cuda[:N]": see tl_exec_new() */
  void *reserved[8];
} TlExecOptions;

TL_API void tl_exec_options_init(TlExecOptions *opts);

typedef struct _TlExec TlExec;

/* Prepare `g` to compute the given values. Takes a reference on g; the
 * graph must not be rewritten while the executor lives. (transfer full) */
TL_API TlExec *tl_exec_new(TlGraph *g, guint n_outputs, TlValue *const *outputs,
                           const TlExecOptions *opts, GError **error);
TL_API void tl_exec_free(TlExec *ex);
/* Feed a placeholder by name. Takes a reference (or converts). */
TL_API gboolean tl_exec_set_input(TlExec *ex, const char *name, TlTensor *t, GError **error);
/* Run once; `step` feeds random ops' seeds (seed, node id, step). */
TL_API gboolean tl_exec_run(TlExec *ex, guint64 step, GError **error);
/* Output i of the last run. Borrowed: valid until the next run or free;
 * take a ref (or tl_tensor_copy) to keep it. On a GPU executor it lives on
 * the device (tl_tensor_data() is a device pointer). */
TL_API TlTensor *tl_exec_get_output(TlExec *ex, guint i);
/* Output i on the host: a new reference (CPU) or a host copy (GPU; waits
 * for the run and reports an asynchronous kernel failure). (transfer full) */
TL_API TlTensor *tl_exec_get_output_host(TlExec *ex, guint i, GError **error);
/* Peak bytes of intermediate buffers the plan needs, and what it would need
 * without reuse. */
TL_API gsize tl_exec_peak_bytes(const TlExec *ex);
TL_API gsize tl_exec_unplanned_bytes(const TlExec *ex);
TL_API guint tl_exec_n_kernels(const TlExec *ex); /* nodes launched per run */

/* Per-node timing (profiler for planners): runs the graph `repeats` times
 * and writes mean seconds per node (indexed like tl_graph_node) into
 * secs[tl_graph_n_nodes]. */
TL_API gboolean tl_exec_profile(TlExec *ex, guint repeats, double *secs, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TlExec, tl_exec_free)

TL_END_DECLS

#endif /* TL_EXEC_H */
