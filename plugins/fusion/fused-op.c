/* fused-op.c — the op "fusion.fused": one node standing for a stitched group
 * of memory-bound primitives. Its attributes carry the group as a small
 * program (pattern.c); shape inference re-runs the primitives' own
 * inference; the CPU kernel is the fused interpreter (interp.c).
 *
 * Gradient: re-expansion. backward() rebuilds the group's primitive nodes
 * from the fused node's inputs (recomputation, as XLA and FusionStitching do
 * for memory-bound producers) and chains the primitives' own backward rules
 * in reverse order. The re-expanded forward and the backward nodes are
 * ordinary memory-bound nodes that a later planning pass may fuse again. So
 * a graph fused before tl_autodiff() still trains, and one fused after it
 * (what `tlhost run` does in a plan task) keeps its backward as it was. */
#include <string.h>

#include "fusion-private.h"

static GMutex cache_lock;
static GHashTable *cache; /* key hash -> FusionProgram* (lives for the process) */

static guint64
key_hash (const TlAttrs *attrs, guint n_in, const TlTensorDesc *in)
{
  guint64 h = tl_attrs_hash (attrs);
  for (guint i = 0; i < n_in; i++) {
    h = h * 1099511628211ull + (guint64) in[i].dtype + 31u * in[i].ndim;
    for (guint k = 0; k < in[i].ndim; k++)
      h = h * 1099511628211ull + (guint64) in[i].shape[k];
  }
  return h;
}

/* A program for these attrs and input descs, from the process-wide cache
 * (keyed by a hash of the pattern). Borrowed. */
static const FusionProgram *
get_program (const TlAttrs *attrs, guint n_in, const TlTensorDesc *in, GError **error)
{
  guint64 h = key_hash (attrs, n_in, in);
  g_mutex_lock (&cache_lock);
  if (!cache)
    cache = g_hash_table_new (g_int64_hash, g_int64_equal);
  FusionProgram *p = g_hash_table_lookup (cache, &h);
  g_mutex_unlock (&cache_lock);
  if (p)
    return p;
  p = fusion_program_from_attrs (attrs, n_in, in, error);
  if (!p)
    return NULL;
  g_mutex_lock (&cache_lock);
  FusionProgram *old = g_hash_table_lookup (cache, &h);
  if (old) {
    fusion_program_free (p);
    p = old;
  } else {
    guint64 *k = g_new (guint64, 1);
    *k = h;
    g_hash_table_insert (cache, k, p);
  }
  g_mutex_unlock (&cache_lock);
  return p;
}

static gboolean
fused_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  const FusionProgram *p = get_program (call->attrs, call->n_inputs, call->inputs, error);
  if (!p)
    return FALSE;
  if (p->n_out > max_out) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "fusion.fused: %u outputs, room for %u",
                 p->n_out, max_out);
    return FALSE;
  }
  for (guint i = 0; i < p->n_out; i++)
    out[i] = p->ins[p->outs[i]].desc;
  *n_out = p->n_out;
  return TRUE;
}

typedef struct {
  FusionCFunc fn;
  const float **in;
  float **out;
} CompiledRun;

static void
run_compiled_rows (gint64 begin, gint64 end, gpointer data)
{
  const CompiledRun *cr = data;
  cr->fn (cr->in, cr->out, begin, end);
}

static gboolean
fused_forward (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  TlTensorDesc *d = g_newa (TlTensorDesc, ctx->n_inputs + 1);
  for (guint i = 0; i < ctx->n_inputs; i++)
    tl_tensor_get_desc (in[i], &d[i]);
  const FusionProgram *p = get_program (ctx->attrs, ctx->n_inputs, d, error);
  if (!p)
    return FALSE;
  /* cpu=cc: the compiled kernel when it can be built, else the interpreter */
  if (g_strcmp0 (tl_attrs_get_string (ctx->attrs, "fusion.cpu", "interp"), "cc") == 0) {
    FusionCFunc fn = fusion_c_compile (p, NULL);
    if (fn) {
      CompiledRun cr = { fn, g_newa (const float *, p->n_in + 1), g_newa (float *, p->n_out + 1) };
      for (guint i = 0; i < p->n_in; i++)
        cr.in[i] = tl_tensor_const_data (in[i]);
      for (guint i = 0; i < p->n_out; i++)
        cr.out[i] = tl_tensor_data (out[i]);
      tl_parallel_for (p->rows, MAX (1, 32768 / MAX (p->cols, 1)), run_compiled_rows, &cr);
      return TRUE;
    }
  }
  return fusion_program_run (p, in, out, error);
}

static TlValue *
accumulate (TlGraph *g, TlValue *acc, TlValue *v)
{
  return acc ? tl_add (g, acc, v) : v;
}

static gboolean
fused_backward (TlGraph *g, const TlNode *node, TlValue *const *grad_out, TlValue **grad_in,
                GError **error)
{
  guint n_in = tl_node_n_inputs (node);
  TlTensorDesc *d = g_newa (TlTensorDesc, n_in + 1);
  for (guint i = 0; i < n_in; i++)
    d[i] = *tl_value_desc (tl_node_input (node, i));
  const FusionProgram *p = get_program (tl_node_attrs (node), n_in, d, error);
  if (!p)
    return FALSE;
  /* re-expand the forward */
  g_autofree TlValue **val = g_new0 (TlValue *, p->n_instr);
  g_autofree TlValue **grad = g_new0 (TlValue *, p->n_instr);
  for (guint k = 0; k < p->n_instr; k++) {
    const FusionInstr *ins = &p->ins[k];
    TlValue *args[2];
    for (guint j = 0; j < ins->n_in; j++)
      args[j] = ins->in[j] >= 0 ? tl_node_input (node, ins->in[j]) : val[-ins->in[j] - 1];
    val[k] = tl_graph_op (g, ins->info->name, ins->n_in, args, ins->attrs);
    if (!val[k])
      return tl_graph_take_error (g, error);
  }
  for (guint o = 0; o < p->n_out; o++)
    if (grad_out[o])
      grad[p->outs[o]] = grad_out[o];
  /* reverse sweep with the primitives' rules */
  for (guint k = p->n_instr; k-- > 0;) {
    if (!grad[k])
      continue;
    const FusionInstr *ins = &p->ins[k];
    TlNode *prim = tl_value_producer (val[k]);
    const TlOpDef *def = tl_node_op_def (prim);
    if (!def->backward)
      continue;
    TlValue *gin[2] = { NULL, NULL };
    if (!def->backward (g, prim, &grad[k], gin, error))
      return FALSE;
    for (guint j = 0; j < ins->n_in; j++) {
      if (!gin[j])
        continue;
      gint r = ins->in[j];
      if (r >= 0)
        grad_in[r] = accumulate (g, grad_in[r], gin[j]);
      else
        grad[-r - 1] = accumulate (g, grad[-r - 1], gin[j]);
    }
  }
  return tl_graph_take_error (g, error);
}

static void
fused_cost (const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost)
{
  double rd = 0, wr = 0, flops = 0;
  for (guint i = 0; i < call->n_inputs; i++)
    rd += 4.0 * (double) tl_tensor_desc_numel (&call->inputs[i]);
  for (guint i = 0; i < call->n_outputs; i++)
    wr += 4.0 * (double) tl_tensor_desc_numel (&out[i]);
  const FusionProgram *p = get_program (call->attrs, call->n_inputs, call->inputs, NULL);
  for (guint k = 0; p && k < p->n_instr; k++)
    flops += p->ins[k].info->flops * (double) tl_tensor_desc_numel (&p->ins[k].desc) *
             (p->ins[k].info->reduction ? (double) p->cols : 1.0);
  cost->flops = flops;
  cost->bytes_read = rd;
  cost->bytes_written = wr;
}

/* Conformance samples: a softmax and a layer-norm pattern written as
 * programs over primitives (inputs in [-1, 1)). */
static void
add_instr (TlAttrs *a, guint i, const char *op, guint n, gint64 r0, gint64 r1)
{
  char key[32];
  g_snprintf (key, sizeof key, "i%u.op", i);
  tl_attrs_set_string (a, key, op);
  g_snprintf (key, sizeof key, "i%u.in", i);
  gint64 refs[2] = { r0, r1 };
  tl_attrs_set_ints (a, key, n, refs);
  if (g_str_equal (op, "sum") || g_str_equal (op, "mean") || g_str_equal (op, "max")) {
    gint64 ax = -1;
    g_snprintf (key, sizeof key, "i%u.a.axes", i);
    tl_attrs_set_ints (a, key, 1, &ax);
    g_snprintf (key, sizeof key, "i%u.a.keepdims", i);
    tl_attrs_set_int (a, key, 1);
  }
}

static gboolean
fused_sample (uint32_t index, TlTensorDesc *inputs, uint32_t max_inputs, uint32_t *n_inputs,
              TlAttrs *attrs)
{
  if (index >= 2 || max_inputs < 2)
    return FALSE;
  gint64 shape[2] = { 3, 5 };
  tl_tensor_desc_init (&inputs[0], TL_DTYPE_F32, 2, shape);
  if (index == 0) {
    /* softmax: max, sub, exp, sum, div */
    add_instr (attrs, 0, "max", 1, 0, 0);
    add_instr (attrs, 1, "sub", 2, 0, -1);
    add_instr (attrs, 2, "exp", 1, -2, 0);
    add_instr (attrs, 3, "sum", 1, -3, 0);
    add_instr (attrs, 4, "div", 2, -3, -4);
    tl_attrs_set_int (attrs, "fusion.n", 5);
    tl_attrs_set_int (attrs, "fusion.n_in", 1);
    gint64 outs[] = { 4 };
    tl_attrs_set_ints (attrs, "fusion.outs", 1, outs);
    *n_inputs = 1;
    return TRUE;
  }
  /* layer norm with gamma: mean, sub, square, mean, affine(+eps), rsqrt, mul, mul gamma */
  tl_tensor_desc_init (&inputs[1], TL_DTYPE_F32, 1, &shape[1]);
  add_instr (attrs, 0, "mean", 1, 0, 0);
  add_instr (attrs, 1, "sub", 2, 0, -1);
  add_instr (attrs, 2, "square", 1, -2, 0);
  add_instr (attrs, 3, "mean", 1, -3, 0);
  add_instr (attrs, 4, "affine_scalar", 1, -4, 0);
  tl_attrs_set_float (attrs, "i4.a.bias", 1e-1);
  add_instr (attrs, 5, "rsqrt", 1, -5, 0);
  add_instr (attrs, 6, "mul", 2, -2, -6);
  add_instr (attrs, 7, "mul", 2, -7, 1);
  tl_attrs_set_int (attrs, "fusion.n", 8);
  tl_attrs_set_int (attrs, "fusion.n_in", 2);
  gint64 outs[] = { 3, 7 };
  tl_attrs_set_ints (attrs, "fusion.outs", 2, outs);
  *n_inputs = 2;
  return TRUE;
}

static const TlOpSamples fused_samples = {
  TL_TABLE_INIT (TlOpSamples), .n_samples = 2, .get = fused_sample, .low = -1, .high = 1,
};

#ifdef FUSION_CUDA
/* On "cuda[:N]": the group's generated CUDA kernel (codegen-cuda.c,
 * compiled by NVRTC, launched by launch-cuda.c) on the host's stream. */
static gboolean
fused_forward_cuda (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, void *stream,
                    GError **error)
{
  TlTensorDesc *d = g_newa (TlTensorDesc, ctx->n_inputs + 1);
  for (guint i = 0; i < ctx->n_inputs; i++)
    tl_tensor_get_desc (in[i], &d[i]);
  const FusionProgram *p = get_program (ctx->attrs, ctx->n_inputs, d, error);
  return p && fusion_cuda_run (p, in, out, stream, error);
}

static const TlOpCudaExt fused_cuda = {
  TL_TABLE_INIT (TlOpCudaExt), .forward_cuda = fused_forward_cuda,
};
#endif

static const void *
fused_extension (const char *id)
{
  if (g_strcmp0 (id, TL_OP_EXT_SAMPLES) == 0)
    return &fused_samples;
#ifdef FUSION_CUDA
  if (g_strcmp0 (id, TL_OP_EXT_CUDA) == 0)
    return &fused_cuda;
#endif
  return NULL;
}

const TlOpDef fusion_fused_op = {
  TL_TABLE_INIT (TlOpDef),
  .name = "fusion.fused",
  .flags = TL_OP_MEMORY_BOUND,
  .n_inputs = -1,
  .n_outputs = -1,
  .infer = fused_infer,
  .forward_cpu = fused_forward,
  .backward = fused_backward,
  .cost = fused_cost,
  .get_extension = fused_extension,
};
