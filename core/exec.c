/* exec.c — the executor: schedule, buffer binding, dispatch, profiling.
 *
 * Everything a run needs is prepared in tl_exec_new: the schedule (nodes
 * needed for the requested outputs, in graph order), one kernel context per
 * node, and a tensor per intermediate value wrapping its planned buffer. A
 * run in steady state allocates nothing (unless a fed input or parameter is
 * a non-contiguous view and the op needs contiguous data).
 *
 * Outputs handed to a kernel are zero-filled first, except for elementwise,
 * view and TL_OP_OVERWRITES ops, which write every element (on an H200 the
 * engine's time over direct cuBLAS for a 4096x4096 matmul, 19 us per run,
 * was the time of that fill). A TL_OP_SAME_BYTES op (reshape) of an
 * intermediate value runs nothing: its output shares the input's planned
 * buffer (the planner keeps that buffer alive for both).
 *
 * On a GPU ("cuda[:N]"): every op needs a device kernel (the backend's
 * table, else the op's TL_OP_EXT_CUDA) or tl_exec_new fails naming the ops
 * without one; planned buffers come from the backend's caching allocator;
 * host parameters and constants are copied to the device once, when the
 * executor is created (device-resident ones are used in place); a fed input
 * is copied into a device buffer the executor keeps (so it is copied once
 * per feed, and its address is stable for graph replay); outputs stay on
 * the device. Kernels are queued on the calling thread's stream: a run
 * returns before the work is done, and reading an output on the host
 * (tl_exec_get_output_host, tl_tensor_to_device) waits for it.
 * TL_CUDA_SYNC=1 synchronises after every op so that an asynchronous
 * kernel failure is reported with the op that caused it.
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "tl-private.h"
#include "graph-private.h"
#include "backend-private.h"

typedef struct {
  TlNode *node;
  const TlOpDef *def;
  TlBackendKernelFn dev_fn;  /* device kernel from the backend's table */
  const TlOpCudaExt *dev_ext; /* else the op's TL_OP_EXT_CUDA */
  TlKernelCtx ctx;
  guint n_in;
  guint n_out;
  guint *in_vid;        /* value id of each input */
  guint8 *in_leaf;      /* input may be a non-contiguous tensor */
  TlTensor **in;        /* filled per run */
  TlTensor **out;       /* planned wrappers (borrowed from ex->owned) */
  gboolean zero_out;
  gboolean needs_contig;
  gboolean alias_only;  /* a TL_OP_SAME_BYTES op of an intermediate: its output
                         * shares the input's buffer, nothing runs */
} ExecStep;

struct _TlExec {
  TlGraph *g;
  TlExecOptions opts;
  guint n_threads;
  guint n_steps;
  ExecStep *steps;
  guint n_slots;
  TlTensor **slots;     /* per value id: tensor used at run time (borrowed) */
  TlTensor **owned;     /* per value id: planned wrapper (owned) */
  TlTensor **fed;       /* per graph input index: fed tensor (owned) */
  GPtrArray *needed_inputs; /* TlValue* placeholders the plan reads */
  guint n_outputs;
  guint *out_vid;
  guint n_buffers;
  TlTensor **buffers;
  gsize peak_bytes;
  gsize unplanned_bytes;
  GPtrArray *tmp;       /* per-step temporaries (contiguous copies) */
  TlDevice dev;         /* where it runs (backend NULL: CPU) */
  gboolean sync_each;   /* TL_CUDA_SYNC: synchronise after every op */
  guint8 *host_out;     /* per output: mirror it to the host after a run */
  TlTensor **host_copy; /* per output: the host mirror (owned) */
  gboolean capture;     /* replay the run as a captured device graph */
  guint64 n_runs;
  gpointer graph;       /* backend graph handle once captured */
  GThread *graph_thread; /* the thread that captured it (a reference: the
                          * address names no other thread while held) */
};

/**
 * tl_exec_options_init:
 * @opts: (out caller-allocates): options to fill
 *
 * Defaults: threads from tl_get_num_threads(), not deterministic, seed 0,
 * inference mode, buffer reuse on, device "cpu".
 */
void
tl_exec_options_init (TlExecOptions *opts)
{
  memset (opts, 0, sizeof *opts);
  opts->reuse_buffers = 1;
  opts->device = "cpu";
}

static guint64
mix64 (guint64 x)
{
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

static inline guint64
node_seed (guint64 seed, guint node_id, guint64 step)
{
  return mix64 (mix64 (seed ^ mix64 (node_id)) ^ step);
}

static void
step_clear (ExecStep *st)
{
  g_free (st->in_vid);
  g_free (st->in_leaf);
  g_free (st->in);
  g_free (st->out);
}

/**
 * tl_exec_free:
 * @ex: (nullable) (transfer full): an executor
 */
void
tl_exec_free (TlExec *ex)
{
  if (!ex)
    return;
  for (guint i = 0; i < ex->n_steps; i++)
    step_clear (&ex->steps[i]);
  g_free (ex->steps);
  for (guint i = 0; i < ex->n_slots; i++)
    tl_tensor_unref (ex->owned[i]);
  g_free (ex->owned);
  g_free (ex->slots);
  if (ex->fed) {
    for (guint i = 0; i < tl_graph_n_inputs (ex->g); i++)
      tl_tensor_unref (ex->fed[i]);
    g_free (ex->fed);
  }
  for (guint i = 0; i < ex->n_buffers; i++)
    tl_tensor_unref (ex->buffers[i]);
  g_free (ex->buffers);
  if (ex->needed_inputs)
    g_ptr_array_unref (ex->needed_inputs);
  if (ex->tmp)
    g_ptr_array_unref (ex->tmp);
  g_free (ex->out_vid);
  if (ex->host_copy) {
    for (guint i = 0; i < ex->n_outputs; i++)
      tl_tensor_unref (ex->host_copy[i]);
    g_free (ex->host_copy);
  }
  g_free (ex->host_out);
  if (ex->graph && ex->dev.be)
    ex->dev.be->graph_free (ex->graph);
  if (ex->graph_thread)
    g_thread_unref (ex->graph_thread);
  tl_graph_unref (ex->g);
  g_free (ex);
}

/* The step's op declares TL_OP_SAME_BYTES and the node fits the claim: one
 * input, one output, same dtype and element count (else the flag is
 * ignored and the kernel runs: never a view larger than its buffer). */
static gboolean
same_bytes (const ExecStep *st)
{
  if (!(st->def->flags & TL_OP_SAME_BYTES) || st->n_in != 1 || st->n_out != 1)
    return FALSE;
  const TlTensorDesc *in = &st->node->inputs[0]->desc, *out = &st->node->outputs[0]->desc;
  return in->dtype == out->dtype && tl_tensor_desc_numel (in) == tl_tensor_desc_numel (out);
}

static gboolean
plan_and_bind (TlExec *ex, const guint8 *pinned_vid, GError **error)
{
  /* dense indices for the intermediate values */
  gint *pidx = g_new (gint, ex->n_slots);
  for (guint i = 0; i < ex->n_slots; i++)
    pidx[i] = -1;
  GArray *vals = g_array_new (FALSE, FALSE, sizeof (TlValue *));
  for (guint s = 0; s < ex->n_steps; s++) {
    TlNode *n = ex->steps[s].node;
    for (guint o = 0; o < n->n_outputs; o++) {
      pidx[n->outputs[o]->id] = (gint) vals->len;
      g_array_append_val (vals, n->outputs[o]);
    }
  }
  guint nv = vals->len;
  /* a TL_OP_SAME_BYTES op (reshape) of an intermediate (contiguous: every
   * planned buffer is) is the same bytes: its output shares the input's
   * buffer and no kernel runs; not when both are requested outputs (each
   * gets its own tensor) */
  gint *alias = g_new (gint, MAX (1, nv));
  for (guint i = 0; i < nv; i++)
    alias[i] = -1;
  for (guint s = 0; s < ex->n_steps; s++) {
    ExecStep *st = &ex->steps[s];
    if (same_bytes (st) && pidx[st->in_vid[0]] >= 0 &&
        !(pinned_vid[st->in_vid[0]] && pinned_vid[st->node->outputs[0]->id])) {
      alias[pidx[st->node->outputs[0]->id]] = pidx[st->in_vid[0]];
      st->alias_only = TRUE;
    }
  }
  gsize *bytes = g_new0 (gsize, MAX (1, nv));
  gboolean *pinned = g_new0 (gboolean, MAX (1, nv));
  for (guint i = 0; i < nv; i++) {
    TlValue *v = g_array_index (vals, TlValue *, i);
    _tl_priv_desc_check (&v->desc, &bytes[i], NULL);
    pinned[i] = pinned_vid[v->id];
  }
  TlPlanStep *ps = g_new0 (TlPlanStep, MAX (1, ex->n_steps));
  guint total_reads = 0;
  for (guint s = 0; s < ex->n_steps; s++)
    total_reads += ex->steps[s].n_in;
  guint *reads = g_new (guint, MAX (1, total_reads));
  guint *writes = g_new (guint, MAX (1, nv));
  guint ri = 0, wi = 0;
  for (guint s = 0; s < ex->n_steps; s++) {
    ExecStep *st = &ex->steps[s];
    ps[s].reads = reads + ri;
    for (guint j = 0; j < st->n_in; j++)
      if (pidx[st->in_vid[j]] >= 0)
        reads[ri++] = (guint) pidx[st->in_vid[j]];
    ps[s].n_reads = (guint) (reads + ri - ps[s].reads);
    ps[s].writes = writes + wi;
    for (guint o = 0; o < st->n_out; o++)
      writes[wi++] = (guint) pidx[st->node->outputs[o]->id];
    ps[s].n_writes = st->n_out;
  }
  TlBufferPlan plan;
  _tl_priv_plan_buffers (nv, bytes, pinned, alias, ex->n_steps, ps, ex->opts.reuse_buffers != 0,
                         &plan);
  ex->peak_bytes = plan.peak_bytes;
  ex->unplanned_bytes = plan.unplanned_bytes;
  ex->n_buffers = plan.n_buffers;
  ex->buffers = g_new0 (TlTensor *, MAX (1, plan.n_buffers));
  gboolean ok = TRUE;
  for (guint b = 0; b < plan.n_buffers && ok; b++) {
    gint64 len = (gint64) plan.buffer_sizes[b];
    TlTensorDesc bd;
    tl_tensor_desc_init (&bd, TL_DTYPE_U8, 1, &len);
    ex->buffers[b] = ex->dev.be ? _tl_priv_tensor_new_on (&ex->dev, &bd, FALSE, error)
                                : tl_tensor_new (TL_DTYPE_U8, 1, &len, error);
    ok = ex->buffers[b] != NULL;
  }
  for (guint i = 0; i < nv && ok; i++) {
    TlValue *v = g_array_index (vals, TlValue *, i);
    ex->owned[v->id] = _tl_priv_tensor_view_storage (ex->buffers[plan.value_buffer[i]], &v->desc);
    ex->slots[v->id] = ex->owned[v->id];
  }
  _tl_priv_plan_clear (&plan);
  g_free (ps);
  g_free (reads);
  g_free (writes);
  g_free (bytes);
  g_free (pinned);
  g_free (alias);
  g_array_unref (vals);
  g_free (pidx);
  return ok;
}

/* Device kernels for every step, or an error listing the ops without one. */
static gboolean
bind_device_kernels (TlExec *ex, GError **error)
{
  g_autoptr (GPtrArray) missing = g_ptr_array_new ();
  for (guint s = 0; s < ex->n_steps; s++) {
    ExecStep *st = &ex->steps[s];
    st->dev_fn = ex->dev.be->lookup_kernel (st->def->name);
    if (!st->dev_fn && st->def->get_extension) {
      const TlOpCudaExt *ext = st->def->get_extension (TL_OP_EXT_CUDA);
      if (ext && ext->struct_size >= G_STRUCT_OFFSET (TlOpCudaExt, forward_cuda) + sizeof (void *) &&
          ext->forward_cuda)
        st->dev_ext = ext;
    }
    if (st->dev_fn || st->dev_ext)
      continue;
    gboolean seen = FALSE;
    for (guint i = 0; i < missing->len && !seen; i++)
      seen = strcmp (missing->pdata[i], st->def->name) == 0;
    if (!seen)
      g_ptr_array_add (missing, (gpointer) st->def->name);
  }
  if (missing->len == 0)
    return TRUE;
  g_autoptr (GString) names = g_string_new (NULL);
  for (guint i = 0; i < missing->len; i++)
    g_string_append_printf (names, "%s%s", i ? ", " : "", (const char *) missing->pdata[i]);
  g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
               "device \"%s\": %u op%s without a CUDA kernel: %s", ex->opts.device,
               missing->len, missing->len == 1 ? "" : "s", names->str);
  return FALSE;
}

/* Host parameters and constants the schedule reads: copied to the device
 * once (owned by the executor); device-resident ones are read in place. */
static gboolean
leaves_to_device (TlExec *ex, GError **error)
{
  for (guint s = 0; s < ex->n_steps; s++) {
    ExecStep *st = &ex->steps[s];
    for (guint j = 0; j < st->n_in; j++) {
      guint vid = st->in_vid[j];
      TlTensor *t = ex->slots[vid];
      if (!st->in_leaf[j] || !t || ex->owned[vid] || _tl_priv_tensor_same_device (t, &ex->dev))
        continue;
      ex->owned[vid] = tl_tensor_to_device (t, ex->opts.device, error);
      if (!ex->owned[vid]) {
        g_prefix_error (error, "copying '%s' to device \"%s\": ",
                        st->node->inputs[j]->name ? st->node->inputs[j]->name : "a constant",
                        ex->opts.device);
        return FALSE;
      }
      ex->slots[vid] = ex->owned[vid];
    }
  }
  return TRUE;
}

/**
 * tl_exec_new:
 * @g: a graph without a recorded error (the executor takes a reference)
 * @n_outputs: number of values to compute
 * @outputs: (array length=n_outputs): values of @g
 * @opts: (nullable): options (NULL: defaults)
 * @error: return location for a #GError
 *
 * Schedules the nodes the outputs need, plans intermediate buffers and
 * prepares every kernel call. @g must not be rewritten while the executor
 * lives.
 *
 * Returns: (transfer full) (nullable): the executor; free with tl_exec_free().
 */
TlExec *
tl_exec_new (TlGraph *g, guint n_outputs, TlValue *const *outputs, const TlExecOptions *opts,
             GError **error)
{
  if (!tl_init (error))
    return NULL;
  if (!g) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "tl_exec_new: graph is NULL");
    return NULL;
  }
  if (g->error) {
    g_propagate_error (error, g_error_copy (g->error));
    g_prefix_error (error, "tl_exec_new: graph has an error: ");
    return NULL;
  }
  for (guint i = 0; i < n_outputs; i++) {
    if (!outputs || !outputs[i] || outputs[i]->graph != g) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "tl_exec_new: output %u is NULL or from another graph", i);
      return NULL;
    }
  }
  TlExec *ex = g_new0 (TlExec, 1);
  ex->g = tl_graph_ref (g);
  if (opts)
    ex->opts = *opts;
  else
    tl_exec_options_init (&ex->opts);
  /* the device's own message ("device \"cuda\": ..."), as users see it
   * through tlhost: no function name in front */
  if (!_tl_priv_device_open (ex->opts.device, &ex->dev, error)) {
    tl_exec_free (ex);
    return NULL;
  }
  if (ex->dev.be) {
    ex->sync_each = _tl_env_flag ("TL_CUDA_SYNC");
  }
  ex->n_threads = ex->opts.n_threads ? ex->opts.n_threads : tl_get_num_threads ();
  ex->n_slots = MAX (1, g->next_value_id);
  ex->slots = g_new0 (TlTensor *, ex->n_slots);
  ex->owned = g_new0 (TlTensor *, ex->n_slots);
  ex->fed = g_new0 (TlTensor *, MAX (1, g->inputs->len));
  ex->needed_inputs = g_ptr_array_new ();
  ex->tmp = g_ptr_array_new_with_free_func ((GDestroyNotify) tl_tensor_unref);
  ex->n_outputs = n_outputs;
  ex->out_vid = g_new0 (guint, MAX (1, n_outputs));

  _tl_priv_graph_renumber (g);
  guint8 *needed = g_new0 (guint8, MAX (1, g->nodes->len));
  guint8 *pinned = g_new0 (guint8, ex->n_slots);
  guint8 *input_seen = g_new0 (guint8, ex->n_slots);
  GPtrArray *stack = g_ptr_array_new ();
  for (guint i = 0; i < n_outputs; i++) {
    ex->out_vid[i] = outputs[i]->id;
    pinned[outputs[i]->id] = 1;
    g_ptr_array_add (stack, outputs[i]);
  }
  while (stack->len > 0) {
    TlValue *v = g_ptr_array_steal_index_fast (stack, stack->len - 1);
    if (v->kind == TL_VALUE_INPUT) {
      if (!input_seen[v->id]) {
        input_seen[v->id] = 1;
        g_ptr_array_add (ex->needed_inputs, v);
      }
      continue;
    }
    if (v->kind != TL_VALUE_OP) {
      ex->slots[v->id] = v->tensor; /* params and consts are read in place */
      continue;
    }
    TlNode *n = v->producer;
    if (needed[n->pos])
      continue;
    needed[n->pos] = 1;
    for (guint j = 0; j < n->n_inputs; j++)
      g_ptr_array_add (stack, n->inputs[j]);
  }
  g_ptr_array_unref (stack);
  g_free (input_seen);

  for (guint i = 0; i < g->nodes->len; i++)
    ex->n_steps += needed[i];
  ex->steps = g_new0 (ExecStep, MAX (1, ex->n_steps));
  guint s = 0;
  for (guint i = 0; i < g->nodes->len; i++) {
    if (!needed[i])
      continue;
    TlNode *n = g->nodes->pdata[i];
    ExecStep *st = &ex->steps[s++];
    st->node = n;
    st->def = n->def;
    st->n_in = n->n_inputs;
    st->n_out = n->n_outputs;
    st->in_vid = g_new (guint, MAX (1, n->n_inputs));
    st->in_leaf = g_new0 (guint8, MAX (1, n->n_inputs));
    st->in = g_new0 (TlTensor *, MAX (1, n->n_inputs));
    st->out = g_new0 (TlTensor *, MAX (1, n->n_outputs));
    for (guint j = 0; j < n->n_inputs; j++) {
      st->in_vid[j] = n->inputs[j]->id;
      st->in_leaf[j] = n->inputs[j]->kind != TL_VALUE_OP;
    }
    st->zero_out = !(n->def->flags & (TL_OP_ELEMENTWISE | TL_OP_VIEW | TL_OP_OVERWRITES));
    st->needs_contig = !(n->def->flags & TL_OP_VIEW);
    st->ctx.n_inputs = n->n_inputs;
    st->ctx.n_outputs = n->n_outputs;
    st->ctx.attrs = n->attrs;
    st->ctx.training = ex->opts.training ? 1 : 0;
    st->ctx.n_threads = ex->n_threads;
    st->ctx.deterministic = ex->opts.deterministic ? 1 : 0;
  }
  g_free (needed);
  gboolean ok = !ex->dev.be || (bind_device_kernels (ex, error) && leaves_to_device (ex, error));
  ok = ok && plan_and_bind (ex, pinned, error);
  g_free (pinned);
  if (!ok) {
    tl_exec_free (ex);
    return NULL;
  }
  for (guint i = 0; i < ex->n_steps; i++)
    for (guint o = 0; o < ex->steps[i].n_out; o++)
      ex->steps[i].out[o] = ex->slots[ex->steps[i].node->outputs[o]->id];
  return ex;
}

/**
 * tl_exec_set_input:
 * @ex: an executor
 * @name: a placeholder name of the graph
 * @t: (transfer none): the value; the executor takes a reference (or a
 *   converted copy when only the dtype differs). On a GPU executor the
 *   values are copied into a device buffer the executor keeps: @t may live
 *   on the host or on the device.
 * @error: return location for a #GError
 *
 * Returns: FALSE for an unknown name or a shape mismatch (the message names
 * the input and both descs).
 */
gboolean
tl_exec_set_input (TlExec *ex, const char *name, TlTensor *t, GError **error)
{
  if (!ex || !name || !t) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "tl_exec_set_input: NULL argument");
    return FALSE;
  }
  TlValue *v = tl_graph_find_input (ex->g, name);
  if (!v) {
    g_set_error (error, TL_ERROR, TL_ERROR_NOT_FOUND, "unknown input '%s'", name);
    return FALSE;
  }
  if (v->id >= ex->n_slots) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "input '%s' was added to the graph after the executor was created", name);
    return FALSE;
  }
  TlTensorDesc d;
  tl_tensor_get_desc (t, &d);
  gboolean same_shape = d.ndim == v->desc.ndim;
  for (guint i = 0; same_shape && i < d.ndim; i++)
    same_shape = d.shape[i] == v->desc.shape[i];
  if (!same_shape || tl_dtype_size (d.dtype) == 0) {
    g_autofree char *want = tl_tensor_desc_to_string (&v->desc);
    g_autofree char *got = tl_tensor_desc_to_string (&d);
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "input '%s': expected %s, got %s", name, want,
                 got);
    return FALSE;
  }
  guint idx = 0;
  g_ptr_array_find (ex->g->inputs, v, &idx);
  if (ex->dev.be) {
    /* one device buffer per input, filled by each feed */
    if (!ex->fed[idx]) {
      ex->fed[idx] = _tl_priv_tensor_new_on (&ex->dev, &v->desc, FALSE, error);
      if (!ex->fed[idx])
        return FALSE;
    }
    if (!tl_tensor_copy_into (ex->fed[idx], t, error)) {
      g_prefix_error (error, "input '%s': ", name);
      return FALSE;
    }
    ex->slots[v->id] = ex->fed[idx];
    return TRUE;
  }
  TlTensor *keep = d.dtype == v->desc.dtype ? tl_tensor_ref (t)
                                            : tl_tensor_cast (t, v->desc.dtype, error);
  if (!keep)
    return FALSE;
  tl_tensor_unref (ex->fed[idx]);
  ex->fed[idx] = keep;
  ex->slots[v->id] = keep;
  return TRUE;
}

static inline double
now_seconds (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

static gboolean
check_inputs (TlExec *ex, GError **error)
{
  for (guint i = 0; i < ex->needed_inputs->len; i++) {
    TlValue *v = ex->needed_inputs->pdata[i];
    if (!ex->slots[v->id]) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "input '%s' was not set", v->name);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
run_step_kernel (TlExec *ex, ExecStep *st, GError **error)
{
  const TlBackend *be = ex->dev.be;
  if (!be)
    return st->def->forward_cpu (&st->ctx, st->in, st->out, error);
  for (guint o = 0; st->zero_out && o < st->n_out; o++)
    if (!be->memset_zero (tl_tensor_data (st->out[o]), tl_tensor_nbytes (st->out[o]), error))
      return FALSE;
  if (st->dev_fn)
    return st->dev_fn (&st->ctx, st->in, st->out, error);
  return st->dev_ext->forward_cuda (&st->ctx, st->in, st->out, be->current_stream (), error);
}

static gboolean
run_once (TlExec *ex, guint64 step, double *secs, GError **error)
{
  if (!check_inputs (ex, error))
    return FALSE;
  if (ex->dev.be && !ex->dev.be->set_device (ex->dev.index, error))
    return FALSE;
  _tl_priv_set_thread_override (ex->n_threads);
  gboolean ok = TRUE;
  for (guint s = 0; s < ex->n_steps && ok; s++) {
    ExecStep *st = &ex->steps[s];
    if (st->alias_only)
      continue;
    double t0 = secs ? now_seconds () : 0.0;
    for (guint j = 0; j < st->n_in; j++) {
      TlTensor *t = ex->slots[st->in_vid[j]];
      if (st->in_leaf[j] && st->needs_contig && !tl_tensor_is_contiguous (t)) {
        t = tl_tensor_contiguous (t, error);
        if (!t) {
          ok = FALSE;
          break;
        }
        g_ptr_array_add (ex->tmp, t);
      }
      st->in[j] = t;
    }
    if (!ok)
      break;
    if (st->zero_out && !ex->dev.be)
      for (guint o = 0; o < st->n_out; o++)
        memset (tl_tensor_data (st->out[o]), 0, tl_tensor_nbytes (st->out[o]));
    st->ctx.seed = node_seed (ex->opts.seed, st->node->id, step);
    GError *e = NULL;
    gboolean kok = run_step_kernel (ex, st, &e);
    if (kok && ex->dev.be && (ex->sync_each || secs))
      kok = ex->dev.be->synchronize (&e);
    if (!kok) {
      if (!e)
        e = g_error_new (TL_ERROR, TL_ERROR_FAILED, "kernel failed (returned no error)");
      g_prefix_error (&e, "op '%s' (node %u): ", st->def->name, st->node->id);
      g_propagate_error (error, e);
      ok = FALSE;
    } else if (e) {
      g_error_free (e);
    }
    if (ex->tmp->len)
      g_ptr_array_set_size (ex->tmp, 0);
    if (secs)
      secs[st->node->pos] += now_seconds () - t0;
  }
  if (ex->tmp->len)
    g_ptr_array_set_size (ex->tmp, 0);
  _tl_priv_set_thread_override (0);
  return ok;
}

/* Captured replay: the first run (warm-up: every buffer and cuBLAS
 * workspace allocated) went through run_once; the second is captured, and
 * every later one replays the graph. Inputs live in the executor's device
 * buffers, so their addresses do not change between runs. The captured
 * kernels use the capturing thread's stream resources (its fault record and
 * scratch, freed when that thread exits), so the graph replays only on that
 * thread; a run on any other thread is not replayed. */
static gboolean
run_graph (TlExec *ex, guint64 step, GError **error)
{
  const TlBackend *be = ex->dev.be;
  /* another thread runs the nodes one by one (correct, without the
   * replay's saving) */
  if (ex->graph && ex->graph_thread != g_thread_self ())
    return run_once (ex, step, NULL, error);
  if (!check_inputs (ex, error) || !be->set_device (ex->dev.index, error))
    return FALSE;
  if (!ex->graph) {
    if (!be->graph_begin (error)) {
      g_prefix_error (error, "CUDA graph capture: ");
      return FALSE;
    }
    GError *e = NULL;
    /* no TL_CUDA_SYNC inside the capture: synchronising a capturing stream
     * is illegal and invalidates the capture (the replay below synchronises) */
    gboolean sync_each = ex->sync_each;
    ex->sync_each = FALSE;
    gboolean ok = run_once (ex, step, NULL, &e);
    ex->sync_each = sync_each;
    gpointer graph = be->graph_end (ok ? &e : NULL);
    if (!ok || !graph) {
      if (graph)
        be->graph_free (graph);
      g_propagate_prefixed_error (error, e, "CUDA graph capture: ");
      return FALSE;
    }
    ex->graph = graph;
    ex->graph_thread = g_thread_ref (g_thread_self ());
  }
  if (!be->graph_launch (ex->graph, error))
    return FALSE;
  return !ex->sync_each || be->synchronize (error);
}

/* Outputs marked with _tl_priv_exec_set_host_output: copied to the host
 * after each run (waits for the run). */
static gboolean
fetch_host_outputs (TlExec *ex, GError **error)
{
  if (!ex->host_out)
    return TRUE;
  for (guint i = 0; i < ex->n_outputs; i++) {
    if (!ex->host_out[i])
      continue;
    TlTensor *out = ex->slots[ex->out_vid[i]];
    TlTensor *h = ex->host_copy[i];
    if (h && tl_tensor_dtype (h) == tl_tensor_dtype (out) && tl_tensor_numel (h) == tl_tensor_numel (out)) {
      if (!tl_tensor_copy_into (h, out, error))
        return FALSE;
      continue;
    }
    tl_tensor_unref (h);
    ex->host_copy[i] = tl_tensor_to_device (out, "cpu", error);
    if (!ex->host_copy[i])
      return FALSE;
  }
  return TRUE;
}

/**
 * tl_exec_run:
 * @ex: an executor with every needed input set
 * @step: training step, mixed into random ops' seeds with the base seed and node id
 * @error: return location for a #GError
 *
 * On a GPU the work is queued and the call may return before it is done;
 * an asynchronous kernel failure is reported by the next call that waits
 * (a copy to the host, tl_device_synchronize()).
 *
 * Returns: TRUE on success; on failure the message names the op and node.
 */
gboolean
tl_exec_run (TlExec *ex, guint64 step, GError **error)
{
  if (!ex) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "tl_exec_run: NULL executor");
    return FALSE;
  }
  gboolean ok;
  if (ex->capture && ex->dev.be && ex->n_runs > 0)
    ok = run_graph (ex, step, error);
  else
    ok = run_once (ex, step, NULL, error);
  if (ok)
    ex->n_runs++;
  return ok && fetch_host_outputs (ex, error);
}

/**
 * tl_exec_get_output:
 * @ex: an executor
 * @i: index into the outputs given to tl_exec_new()
 *
 * Returns: (transfer none) (nullable): output @i of the last run, valid until
 * the next run or tl_exec_free().
 */
TlTensor *
tl_exec_get_output (TlExec *ex, guint i)
{
  if (!ex || i >= ex->n_outputs)
    return NULL;
  if (ex->host_out && ex->host_out[i] && ex->host_copy[i])
    return ex->host_copy[i];
  return ex->slots[ex->out_vid[i]];
}

/**
 * tl_exec_get_output_host:
 * @ex: an executor
 * @i: index into the outputs given to tl_exec_new()
 * @error: return location for a #GError
 *
 * Output @i of the last run on the host: for a CPU executor a new reference
 * to the output, for a GPU executor a host copy (waits for the run).
 *
 * Returns: (transfer full) (nullable): the host tensor; NULL on a bad index
 * or a failed copy (which reports an asynchronous kernel failure).
 */
TlTensor *
tl_exec_get_output_host (TlExec *ex, guint i, GError **error)
{
  TlTensor *t = tl_exec_get_output (ex, i);
  if (!t) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "tl_exec_get_output_host: no output %u", i);
    return NULL;
  }
  return tl_tensor_to_device (t, "cpu", error);
}

/* Mirror output i to the host after each run: tl_exec_get_output() then
 * returns the host copy (the trainer does this for the loss and the
 * predictions). A no-op on the CPU. */
void
_tl_priv_exec_set_host_output (TlExec *ex, guint i)
{
  if (!ex->dev.be || i >= ex->n_outputs)
    return;
  if (!ex->host_out) {
    ex->host_out = g_new0 (guint8, ex->n_outputs);
    ex->host_copy = g_new0 (TlTensor *, ex->n_outputs);
  }
  ex->host_out[i] = 1;
}

/* Replay runs as a captured device graph (see run_graph()). Refused, with
 * the reason, on the CPU and when an op draws random numbers (its seed
 * changes with the step, and a replay would repeat the captured one). */
gboolean
_tl_priv_exec_set_capture (TlExec *ex, gboolean on, GError **error)
{
  if (!on) {
    ex->capture = FALSE;
    return TRUE;
  }
  if (!ex->dev.be) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "graph capture needs a GPU executor");
    return FALSE;
  }
  for (guint s = 0; s < ex->n_steps; s++) {
    if (ex->steps[s].def->flags & TL_OP_RANDOM) {
      g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                   "graph capture: op '%s' (node %u) draws random numbers per step",
                   ex->steps[s].def->name, ex->steps[s].node->id);
      return FALSE;
    }
  }
  ex->capture = TRUE;
  return TRUE;
}

/* Where the executor runs (backend NULL: CPU). */
const TlDevice *
_tl_priv_exec_device (const TlExec *ex)
{
  return &ex->dev;
}

/** tl_exec_peak_bytes: Returns: bytes of intermediate buffers the plan allocates. */
gsize
tl_exec_peak_bytes (const TlExec *ex)
{
  return ex ? ex->peak_bytes : 0;
}

/** tl_exec_unplanned_bytes: Returns: bytes the intermediates would need without reuse. */
gsize
tl_exec_unplanned_bytes (const TlExec *ex)
{
  return ex ? ex->unplanned_bytes : 0;
}

/** tl_exec_n_kernels: Returns: nodes launched per run (a TL_OP_SAME_BYTES op
 * such as reshape of an intermediate launches nothing: it shares its input's
 * buffer). */
guint
tl_exec_n_kernels (const TlExec *ex)
{
  guint n = 0;
  for (guint s = 0; ex && s < ex->n_steps; s++)
    n += !ex->steps[s].alias_only;
  return n;
}

/**
 * tl_exec_profile:
 * @ex: an executor with its inputs set
 * @repeats: number of runs (at least 1)
 * @secs: (array) (out caller-allocates): tl_graph_n_nodes() entries: mean
 *   seconds per node, indexed like tl_graph_node(); 0 for nodes not run
 * @error: return location for a #GError
 *
 * Returns: TRUE on success.
 */
gboolean
tl_exec_profile (TlExec *ex, guint repeats, double *secs, GError **error)
{
  if (!ex || !secs) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "tl_exec_profile: NULL argument");
    return FALSE;
  }
  guint n = ex->g->nodes->len;
  memset (secs, 0, sizeof (double) * n);
  _tl_priv_graph_renumber (ex->g);
  repeats = MAX (1, repeats);
  for (guint r = 0; r < repeats; r++)
    if (!run_once (ex, r, secs, error))
      return FALSE;
  for (guint i = 0; i < n; i++)
    secs[i] /= repeats;
  return TRUE;
}
