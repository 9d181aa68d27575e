/* parity.c — CPU vs CUDA parity of every built-in op, forward and backward.
 *
 * The cases are the PyTorch parity tables (tests/parity/cases-*.c: the
 * built-in ops have no TL_OP_EXT_SAMPLES) plus the extra cases below
 * (casts to and from bf16/f16, sizes that take the kernels' other paths:
 * vectorised tails, block-per-row reductions, segmented reductions, tiled
 * transposes, 16-byte gathers, chunked convolutions). Each case builds the
 * op on placeholders and, for differentiable ops, the gradient of
 * sum_k sum(out_k * w_k) w.r.t. every float input (fixed random w_k), so
 * the backward ops (relu_grad, softmax_grad, layer_norm_grad,
 * conv*_grad_*, *_pool*_grad, scatter_add, slice_grad, dropout_grad,
 * spmm_t, sddmm, sum_to, broadcast_to, greater_mask, equal_mask, ...) run
 * too. The graph runs on a CPU executor and on a "cuda" executor
 * (ctx->deterministic 0, then 1 twice) with the same inputs and seed, and
 * every output and gradient is compared.
 *
 * Tolerances (tl_tensor_max_rel_diff: max |cuda - cpu| / max(1, max |cpu|)):
 *   integer and bool outputs (argmax, dropout masks, int arithmetic): exact;
 *   forward outputs of elementwise, layout and indexing ops: 1e-5;
 *   everything else (reductions, softmax, norms, losses, GEMM, conv,
 *   pooling, sparse products) and all gradients: 1e-4;
 *   a case's own tolerance when it sets a larger one;
 *   two deterministic CUDA runs: bitwise equal;
 *   optimizer steps (sgd, momentum, Nesterov, adam, adamw; parameters on
 *   the GPU through tl_optimizer_step): 1e-6 after three steps.
 *
 * The CUDA executors run with TL_CUDA_SYNC=1 (unless set otherwise), so an
 * asynchronous kernel fault fails the case whose op caused it.
 *
 * TL_PARITY_DEVICE=cpu compares the CPU with itself (a check of the harness
 * where there is no GPU).
 *
 * Without a usable GPU each parity test is skipped with the reason
 * ("no CUDA device: ..."). Two checks run everywhere: /cuda-parity/coverage
 * (every built-in op occurs in some case's graph, so a new op without a
 * case fails here) and /cuda-parity/kernel-table (every built-in op has a
 * kernel in the CUDA backend's table; skipped when the module is not
 * built), so a missing kernel is a `not ok` line, never a silent pass.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <gmodule.h>
#include <tl/tl.h>

#include "core/backend-private.h"
#include "gradcheck.h"
#include "parity/parity.h"

#define MAX_OUT 8
#define TOL_EXACT_EW 1e-5
#define TOL_DEFAULT 1e-4

/* --- extra cases ------------------------------------------------------------ */

#define F TL_PARITY_F32
#define P TL_PARITY_POS
#define I64(lo, hi, nd, ...) TL_PARITY_INTS (TL_DTYPE_I64, lo, hi, nd, __VA_ARGS__)
#define I32(lo, hi, nd, ...) TL_PARITY_INTS (TL_DTYPE_I32, lo, hi, nd, __VA_ARGS__)
#define TYPED(dt, nd, ...) { dt, TL_PARITY_RANDN, nd, { __VA_ARGS__ }, 1.0, 0 }

static const TlParityCase extra_cases[] = {
  /* casts f32 <-> bf16 / f16 and to integers */
  { "cast_f32_bf16", "cast", 1, { F (2, 5, 33) }, "dtype='bf16'" },
  { "cast_f32_f16", "cast", 1, { F (2, 5, 33) }, "dtype='f16'" },
  { "cast_bf16_f32", "cast", 1, { TYPED (TL_DTYPE_BF16, 2, 5, 33) }, "dtype='f32'" },
  { "cast_f16_f32", "cast", 1, { TYPED (TL_DTYPE_F16, 2, 5, 33) }, "dtype='f32'" },
  { "cast_f32_i32", "cast", 1, { F (2, 4, 9) }, "dtype='i32'" },
  { "cast_i64_i32", "cast", 1, { I64 (-1000, 1000, 1, 17) }, "dtype='i32'" },
  { "cast_f32_bool", "cast", 1, { TL_PARITY_BIN (2, 3, 5) }, "dtype='bool'" },
  { "ones_like_i64", "ones_like", 1, { I64 (0, 5, 2, 3, 5) } },
  { "ones_like_bf16", "ones_like", 1, { TYPED (TL_DTYPE_BF16, 1, 9) } },
  /* elementwise: float4 body and tail, broadcasting in 32- and 64-bit index paths */
  { "exp_big", "exp", 1, { F (1, 100003) } },
  { "gelu_big", "gelu", 1, { F (2, 257, 129) } },
  { "mul_big", "mul", 2, { F (2, 300, 301), F (2, 300, 301) } },
  { "add_bcast_big", "add", 2, { F (4, 3, 64, 33, 17), F (3, 64, 1, 17) } },
  { "sub_i64_bcast", "sub", 2, { I64 (-50, 50, 2, 5, 6), I64 (-50, 50, 1, 6) } },
  /* reductions: rows (warp, block, segmented), columns (segmented), all */
  { "sum_rows_big", "sum", 1, { F (2, 3, 50000) }, "axes=[-1]" },
  { "sum_cols_big", "sum", 1, { F (2, 20000, 7) }, "axes=[0]" },
  { "sum_all_big", "sum", 1, { F (1, 300001) } },
  { "mean_ax02", "mean", 1, { F (3, 40, 5, 60) }, "axes=[0,2]" },
  { "max_rows_big", "max", 1, { F (2, 30, 5000) }, "axes=[1]" },
  { "max_mid", "max", 1, { F (3, 6, 500, 9) }, "axes=[1];keepdims=1" },
  { "argmax_rows", "argmax", 1, { F (2, 33, 1500) }, "axis=-1" },
  { "sum_to_big", "sum_to", 1, { F (3, 64, 128, 96) }, "shape=[1,96]" },
  /* softmax: warp rows, block rows, columns */
  { "softmax_big", "softmax", 1, { F (2, 5, 3000) }, "axis=-1" },
  { "log_softmax_big", "log_softmax", 1, { F (2, 5, 3000) }, "axis=-1" },
  { "softmax_mid", "softmax", 1, { F (3, 4, 300, 6) }, "axis=1" },
  /* layer norm: block rows, many rows (chunked dgamma/dbeta), gamma only */
  { "layer_norm_wide", "layer_norm", 3, { F (2, 6, 2048), F (1, 2048), F (1, 2048) },
    "has_gamma=1;has_beta=1;eps=1e-5" },
  { "layer_norm_rows", "layer_norm", 2, { F (2, 700, 64), F (1, 64) }, "has_gamma=1;eps=1e-5" },
  { "layer_norm_beta", "layer_norm", 2, { F (2, 9, 40), F (1, 40) }, "has_beta=1;eps=1e-3" },
  /* layout ops */
  { "transpose_tiled", "transpose", 1, { F (3, 4, 70, 45) } },
  { "transpose_i64", "transpose", 1, { I64 (0, 100, 3, 4, 5, 6) }, "perm=[1,2,0]" },
  { "slice_step3", "slice", 1, { F (2, 9, 4) }, "axis=0;start=-8;end=9;step=3" },
  { "slice_last", "slice", 1, { F (3, 4, 5, 6) }, "axis=-1;start=2;end=5" },
  { "concat_i32", "concat", 2, { I32 (0, 9, 2, 3, 4), I32 (0, 9, 2, 3, 2) }, "axis=1" },
  { "concat_ax0", "concat", 2, { F (2, 2, 5), F (2, 3, 5) }, "axis=0" },
  { "split_ax0", "split", 1, { F (3, 6, 2, 3) }, "axis=0;sizes=[2,4]" },
  { "broadcast_to_lead", "broadcast_to", 1, { F (1, 5) }, "shape=[3,4,5]" },
  { "reshape_flat", "reshape", 1, { F (3, 4, 5, 6) }, "shape=[-1]" },
  { "transpose_heads", "transpose", 1, { F (4, 2, 5, 3, 8) }, "perm=[0,2,1,3]" },
  { "concat_rows16", "concat", 2, { F (3, 4, 8, 16), F (3, 4, 4, 16) }, "axis=1" },
  { "split_rows16", "split", 1, { F (3, 4, 12, 16) }, "axis=1;sizes=[4,8]" },
  /* indexing: 16-byte rows, scatter with repeats */
  { "embedding_big", "embedding", 2, { F (2, 1000, 64), I64 (0, 1000, 2, 8, 32) } },
  { "gather_odd", "gather", 2, { F (2, 50, 3), I32 (0, 50, 1, 77) }, "axis=0" },
  { "scatter_add_big", "scatter_add", 2, { F (2, 500, 32), I64 (0, 40, 1, 500) }, "n_rows=40" },
  /* losses */
  { "cross_entropy_big", "cross_entropy", 2, { F (2, 64, 1000), I64 (-1, 1000, 1, 64) } },
  { "mse_big", "mse", 2, { F (1, 70000), F (1, 70000) } },
  { "bce_big", "bce_with_logits", 2, { F (2, 300, 301), TL_PARITY_BIN (2, 300, 301) } },
  /* GEMM and convolution at sizes that leave the tiny-matrix paths */
  { "matmul_large", "matmul", 2, { F (2, 200, 300), F (2, 300, 150) }, NULL, 1e-4 },
  { "matmul_bcast_a", "matmul", 2, { F (2, 7, 9), F (3, 4, 9, 5) }, NULL, 1e-4 },
  { "linear_large", "linear", 3, { F (3, 8, 32, 256), F (2, 128, 256), F (1, 128) }, NULL, 1e-4 },
  { "conv2d_large", "conv2d", 3, { F (4, 8, 16, 20, 20), F (4, 32, 16, 3, 3), F (1, 32) }, "padding=1", 1e-4 },
  { "conv2d_s2_groups", "conv2d", 2, { F (4, 3, 6, 11, 9), F (4, 9, 2, 3, 2) }, "stride=2;groups=3", 1e-4 },
  { "max_pool2d_k3s1", "max_pool2d", 1, { F (4, 2, 3, 9, 8) }, "kernel=3;stride=1;padding=1", 1e-4 },
  { "avg_pool1d_k4", "avg_pool1d", 1, { F (3, 2, 3, 17) }, "kernel=4;stride=3;padding=2", 1e-4 },
  /* edge shapes: empty axes, length-1 axes, k = 0 */
  { "sum_empty_axis", "sum", 1, { F (3, 2, 0, 3) }, "axes=[1]" },
  { "mean_empty_all", "mean", 1, { F (2, 0, 3) } },
  { "matmul_k0", "matmul", 2, { F (2, 3, 0), F (2, 0, 4) }, NULL, 1e-4 },
  { "conv1d_c0_bias", "conv1d", 3, { F (3, 2, 0, 5), F (3, 4, 0, 3), F (1, 4) }, NULL, 1e-4 },
  { "softmax_r1", "softmax", 1, { F (2, 5, 1) }, "axis=-1" },
  { "layer_norm_d1", "layer_norm", 1, { F (2, 4, 1) }, "eps=1e-5" },
  { "concat_empty_part", "concat", 2, { F (2, 2, 0), F (2, 2, 3) }, "axis=1" },
  { "slice_empty", "slice", 1, { F (2, 4, 5) }, "axis=0;start=3;end=1" },
  { "relu_empty", "relu", 1, { F (2, 0, 7) } },
  /* dropout over several 4096-element blocks: the CUDA mask equals the CPU mask */
  { .name = "dropout_blocks", .op = "dropout", .n_inputs = 1, .inputs = { F (2, 37, 1001) }, .attrs = "p=0.25",
    .tol = 1e-5, .training = TRUE },
};

/* --- case inputs and attrs (the tl-parity-dump conventions) -------------------- */

/* --- one case: graph, executors ------------------------------------------------- */

typedef struct {
  const TlParityCase *pc;
  TlTensor *in[TL_PARITY_MAX_INPUTS];
  TlAttrs *attrs;
  TlGraph *g;
  guint n_vals;          /* op outputs, then gradients */
  guint n_out;
  TlValue *vals[MAX_OUT + TL_PARITY_MAX_INPUTS];
  gboolean is_grad[MAX_OUT + TL_PARITY_MAX_INPUTS];
  TlTensor *w[MAX_OUT];
} Built;

static void
built_clear (Built *b)
{
  for (guint i = 0; i < TL_PARITY_MAX_INPUTS; i++)
    tl_tensor_unref (b->in[i]);
  for (guint k = 0; k < MAX_OUT; k++)
    tl_tensor_unref (b->w[k]);
  tl_attrs_free (b->attrs);
  if (b->g)
    tl_graph_unref (b->g);
  memset (b, 0, sizeof *b);
}

static gboolean
build_case (const TlParityCase *pc, Built *b, GError **error)
{
  guint64 seed = pc->seed ? pc->seed : tl_hash_string (pc->name);
  TlValue *ins[TL_PARITY_MAX_INPUTS], *outs[MAX_OUT];
  TlRng rng;
  memset (b, 0, sizeof *b);
  b->pc = pc;
  if (!tl_init (error))
    return FALSE;
  tl_rng_init (&rng, seed, 0);
  b->attrs = tl_parity_parse_attrs (pc->attrs, NULL);
  b->g = tl_graph_new ();
  gboolean any_float = FALSE;
  for (guint i = 0; i < pc->n_inputs; i++) {
    g_autofree char *name = g_strdup_printf ("in%u", i);
    b->in[i] = tl_parity_make_input (&rng, &pc->inputs[i]);
    g_assert_nonnull (b->in[i]);
    ins[i] = tl_graph_input (b->g, name, tl_tensor_dtype (b->in[i]), tl_tensor_ndim (b->in[i]),
                             tl_tensor_shape (b->in[i]));
    any_float |= tl_tensor_dtype (b->in[i]) == TL_DTYPE_F32;
  }
  b->n_out = tl_graph_op_multi (b->g, pc->op, pc->n_inputs, ins, b->attrs, MAX_OUT, outs);
  if (!tl_graph_take_error (b->g, error))
    return FALSE;
  for (guint k = 0; k < b->n_out; k++)
    b->vals[b->n_vals++] = outs[k];
  const TlOpDef *def = tl_op_lookup (pc->op);
  if (!def || !def->backward || (def->flags & TL_OP_NONDIFF) || !any_float)
    return TRUE;
  TlValue *loss = NULL;
  TlRng wr;
  tl_rng_init (&wr, seed ^ 0x5eed, 7);
  for (guint k = 0; k < b->n_out; k++) {
    const TlTensorDesc *d = tl_value_desc (outs[k]);
    if (d->dtype != TL_DTYPE_F32)
      continue;
    b->w[k] = tl_test_randn (&wr, d->ndim, d->shape, 1.0);
    TlValue *t = tl_sum (b->g, tl_mul (b->g, outs[k], tl_graph_const (b->g, b->w[k])), 0, NULL, FALSE);
    loss = loss ? tl_add (b->g, loss, t) : t;
  }
  if (!loss)
    return tl_graph_take_error (b->g, error);
  TlValue *wrt[TL_PARITY_MAX_INPUTS], *gr[TL_PARITY_MAX_INPUTS];
  guint n_wrt = 0;
  for (guint i = 0; i < pc->n_inputs; i++)
    if (tl_tensor_dtype (b->in[i]) == TL_DTYPE_F32)
      wrt[n_wrt++] = ins[i];
  if (!tl_autodiff (b->g, loss, n_wrt, wrt, gr, error))
    return FALSE;
  for (guint j = 0; j < n_wrt; j++)
    if (gr[j]) {
      b->is_grad[b->n_vals] = TRUE;
      b->vals[b->n_vals++] = gr[j];
    }
  return tl_graph_take_error (b->g, error);
}

/* Run the built graph on `device`; host copies of every value. (transfer full) */
static TlTensor **
run_built (Built *b, const char *device, gboolean deterministic, GError **error)
{
  TlExecOptions opts;
  tl_exec_options_init (&opts);
  opts.device = device;
  opts.deterministic = deterministic ? 1 : 0;
  opts.training = b->pc->training ? 1 : 0;
  opts.seed = 1234;
  g_autoptr (TlExec) ex = tl_exec_new (b->g, b->n_vals, b->vals, &opts, error);
  if (!ex)
    return NULL;
  for (guint i = 0; i < b->pc->n_inputs; i++) {
    g_autofree char *name = g_strdup_printf ("in%u", i);
    if (!tl_exec_set_input (ex, name, b->in[i], error))
      return NULL;
  }
  if (!tl_exec_run (ex, 3, error))
    return NULL;
  TlTensor **res = g_new0 (TlTensor *, b->n_vals);
  for (guint i = 0; i < b->n_vals; i++)
    if (!(res[i] = tl_exec_get_output_host (ex, i, error))) {
      tl_test_tensors_free (res, b->n_vals);
      return NULL;
    }
  return res;
}

static double
tolerance (const Built *b, guint i)
{
  const TlOpDef *def = tl_op_lookup (b->pc->op);
  double tol = TOL_DEFAULT;
  if (!b->is_grad[i] && def && (def->flags & (TL_OP_ELEMENTWISE | TL_OP_VIEW)) && !(def->flags & TL_OP_REDUCTION))
    tol = TOL_EXACT_EW;
  const char *name = b->pc->op;
  if (!b->is_grad[i] && (g_str_equal (name, "concat") || g_str_equal (name, "split")
                         || g_str_equal (name, "broadcast_to") || g_str_equal (name, "gather")
                         || g_str_equal (name, "embedding") || g_str_equal (name, "dropout")))
    tol = TOL_EXACT_EW;
  return MAX (tol, b->pc->tol);
}

/* Compares a CUDA result with the CPU's; a message on mismatch. */
static char *
compare (const Built *b, guint i, TlTensor *cuda, TlTensor *cpu)
{
  TlDType dt = tl_tensor_dtype (cpu);
  const char *what = b->is_grad[i] ? "gradient" : "output";
  if (tl_tensor_dtype (cuda) != dt || tl_tensor_numel (cuda) != tl_tensor_numel (cpu))
    return g_strdup_printf ("%s %u: dtype/size differ", what, i);
  if (!tl_dtype_is_float (dt)) {
    if (!tl_tensor_equal_bits (cuda, cpu)) {
      gint64 j = 0;
      while (j < tl_tensor_numel (cpu) && tl_tensor_get_flat (cuda, j) == tl_tensor_get_flat (cpu, j))
        j++;
      return g_strdup_printf ("%s %u (%s): element %" G_GINT64_FORMAT " is %g on CUDA, %g on the CPU", what, i,
                              tl_dtype_name (dt), j, tl_tensor_get_flat (cuda, j), tl_tensor_get_flat (cpu, j));
    }
    return NULL;
  }
  double d = tl_tensor_max_rel_diff (cuda, cpu), tol = tolerance (b, i);
  if (d <= tol) /* NaN fails */
    return NULL;
  gint64 worst = 0;
  double wd = -1;
  for (gint64 j = 0; j < tl_tensor_numel (cpu); j++) {
    double e = tl_tensor_get_flat (cuda, j) - tl_tensor_get_flat (cpu, j);
    e = e < 0 ? -e : e;
    if (!(e <= wd)) {
      wd = e;
      worst = j;
      if (e != e)
        break;
    }
  }
  return g_strdup_printf ("%s %u: max rel diff %.3g > %.1g (element %" G_GINT64_FORMAT ": cuda %.9g, cpu %.9g)",
                          what, i, d, tol, worst, tl_tensor_get_flat (cuda, worst), tl_tensor_get_flat (cpu, worst));
}

/* The device compared with the CPU: "cuda", or $TL_PARITY_DEVICE (e.g. "cpu"
 * to check the harness itself on a machine without a GPU). */
static const char *target = "cuda";

static gboolean
need_gpu (void)
{
  g_autoptr (GError) error = NULL;
  if (tl_device_available (target, &error))
    return TRUE;
  g_test_skip (error ? error->message : "no CUDA device");
  return FALSE;
}

static void
test_case (gconstpointer data)
{
  const TlParityCase *pc = data;
  g_autoptr (GError) error = NULL;
  Built b;
  if (!need_gpu ())
    return;
  gboolean built = build_case (pc, &b, &error);
  g_assert_no_error (error);
  g_assert_true (built);
  TlTensor **cpu = run_built (&b, "cpu", TRUE, &error);
  g_assert_no_error (error);
  GString *fails = g_string_new (NULL);
  for (guint mode = 0; mode < 2; mode++) {
    gboolean det = mode > 0;
    TlTensor **cuda = run_built (&b, target, det, &error);
    if (!cuda) {
      g_string_append_printf (fails, "\n  cuda (deterministic=%d): %s", det, error->message);
      g_clear_error (&error);
      continue;
    }
    for (guint i = 0; i < b.n_vals; i++) {
      g_autofree char *msg = compare (&b, i, cuda[i], cpu[i]);
      if (msg)
        g_string_append_printf (fails, "\n  deterministic=%d: %s", det, msg);
    }
    if (det) {
      /* a second deterministic run: the same bits */
      TlTensor **again = run_built (&b, target, TRUE, &error);
      for (guint i = 0; again && i < b.n_vals; i++)
        if (!tl_tensor_equal_bits (again[i], cuda[i]))
          g_string_append_printf (fails, "\n  deterministic runs differ in value %u", i);
      if (!again) {
        g_string_append_printf (fails, "\n  cuda (second deterministic run): %s", error->message);
        g_clear_error (&error);
      }
      tl_test_tensors_free (again, b.n_vals);
    }
    tl_test_tensors_free (cuda, b.n_vals);
  }
  tl_test_tensors_free (cpu, b.n_vals);
  built_clear (&b);
  if (fails->len) {
    g_test_message ("%s (%s):%s", pc->name, pc->op, fails->str);
    g_test_fail_printf ("%s (%s): CUDA differs from the CPU:%s", pc->name, pc->op, fails->str);
  }
  g_string_free (fails, TRUE);
}

/* --- optimizer updates ---------------------------------------------------------- */

typedef struct {
  const char *name, *kind;
  double momentum, weight_decay;
  gboolean nesterov;
} OptimCase;

static const OptimCase optim_cases[] = {
  { "sgd", "sgd", 0.0, 0.0, FALSE },
  { "sgd_momentum_wd", "sgd", 0.9, 0.01, FALSE },
  { "sgd_nesterov", "sgd", 0.9, 0.001, TRUE },
  { "adam", "adam", 0.0, 0.01, FALSE },
  { "adamw", "adamw", 0.0, 0.1, FALSE },
};

/* Three steps of tl_optimizer_step on host tensors and on the same values
 * on the GPU (the backend's update kernels): parameters agree to 1e-6. */
static void
test_optim (gconstpointer data)
{
  const OptimCase *oc = data;
  g_autoptr (GError) error = NULL;
  if (!need_gpu ())
    return;
  TlOptimConfig cfg;
  tl_optim_config_init (&cfg);
  cfg.momentum = oc->momentum;
  cfg.weight_decay = oc->weight_decay;
  cfg.nesterov = oc->nesterov;
  TlOptimizer *host = tl_optimizer_new (oc->kind, &cfg, &error);
  TlOptimizer *dev = tl_optimizer_new (oc->kind, &cfg, &error);
  g_assert_no_error (error);
  static const gint64 shapes[2][2] = { { 1000, 1 }, { 37, 5 } };
  TlTensor *hp[2], *dp[2];
  TlRng rng;
  tl_rng_init (&rng, tl_hash_string (oc->name), 0);
  for (guint i = 0; i < 2; i++) {
    hp[i] = tl_test_randn (&rng, 2, shapes[i], 1.0);
    dp[i] = tl_tensor_to_device (hp[i], target, &error);
    g_assert_no_error (error);
  }
  for (guint step = 0; step < 3; step++) {
    TlTensor *hg[2], *dg[2];
    for (guint i = 0; i < 2; i++) {
      hg[i] = tl_test_randn (&rng, 2, shapes[i], 0.5);
      dg[i] = tl_tensor_to_device (hg[i], target, &error);
      g_assert_no_error (error);
    }
    g_assert_true (tl_optimizer_step (host, 2, hp, hg, 0.05, &error));
    g_assert_no_error (error);
    g_assert_true (tl_optimizer_step (dev, 2, dp, dg, 0.05, &error));
    g_assert_no_error (error);
    for (guint i = 0; i < 2; i++) {
      tl_tensor_unref (hg[i]);
      tl_tensor_unref (dg[i]);
    }
  }
  for (guint i = 0; i < 2; i++) {
    g_autoptr (TlTensor) back = tl_tensor_to_device (dp[i], "cpu", &error);
    g_assert_no_error (error);
    double d = tl_tensor_max_rel_diff (back, hp[i]);
    if (!(d <= 1e-6))
      g_test_fail_printf ("%s: parameter %u differs by %.3g after 3 steps (tolerance 1e-6)", oc->name, i, d);
    tl_tensor_unref (hp[i]);
    tl_tensor_unref (dp[i]);
  }
  tl_optimizer_free (host);
  tl_optimizer_free (dev);
}

/* --- coverage and the kernel table ------------------------------------------- */

static GPtrArray *all_cases;

static gboolean
is_builtin (const char *op)
{
  return strchr (op, '.') == NULL;
}

/* The case tables every parity walk covers: the PyTorch parity suites, the
 * extras above and the zero-size cases (also used by the programs that
 * include this file: tests/test-ops-overwrites.c, tests/gpu/emu/driver.c). */
#define N_CASE_TABLES 4
static void
case_tables (const TlParityCase *tables[N_CASE_TABLES], guint counts[N_CASE_TABLES])
{
  tables[0] = tl_parity_cases_basic (&counts[0]);
  tables[1] = tl_parity_cases_nn (&counts[1]);
  tables[2] = extra_cases;
  counts[2] = G_N_ELEMENTS (extra_cases);
  tables[3] = tl_parity_cases_zero (&counts[3]); /* zero-size shapes */
}

/* Every case of case_tables() into all_cases, and a test PREFIX/NAME
 * running `fn` on it. */
static void
add_case_tests (const char *prefix, GTestDataFunc fn)
{
  const TlParityCase *tables[N_CASE_TABLES];
  guint counts[N_CASE_TABLES];
  case_tables (tables, counts);
  for (guint t = 0; t < N_CASE_TABLES; t++)
    for (guint i = 0; i < counts[t]; i++) {
      g_autofree char *path = g_strdup_printf ("%s/%s", prefix, tables[t][i].name);
      g_ptr_array_add (all_cases, (gpointer) &tables[t][i]);
      g_test_add_data_func (path, &tables[t][i], fn);
    }
}

/* The names of the ops in the graphs (forward and backward) of every case
 * in all_cases. (transfer full) */
static GHashTable *
ops_reached (void)
{
  GHashTable *seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint c = 0; c < all_cases->len; c++) {
    g_autoptr (GError) error = NULL;
    Built b;
    gboolean ok = build_case (all_cases->pdata[c], &b, &error);
    g_assert_no_error (error);
    g_assert_true (ok);
    for (guint i = 0; i < tl_graph_n_nodes (b.g); i++)
      g_hash_table_add (seen, g_strdup (tl_node_op (tl_graph_node (b.g, i))));
    built_clear (&b);
  }
  return seen;
}

/* Every built-in op occurs in some case's graph (forward or backward). */
static void
test_coverage (void)
{
  g_autoptr (GHashTable) seen = ops_reached ();
  g_auto (GStrv) ops = tl_op_list ();
  g_autoptr (GString) missing = g_string_new (NULL);
  for (guint i = 0; ops[i]; i++)
    if (is_builtin (ops[i]) && !g_hash_table_contains (seen, ops[i]))
      g_string_append_printf (missing, " %s", ops[i]);
  if (missing->len)
    g_test_fail_printf ("built-in ops without a CUDA parity case:%s", missing->str);
}

/* The backend's table from the module (where core/backend.c looks: each
 * directory of $TL_BACKEND_PATH, else the build tree); NULL with the reason
 * when it cannot be opened. The libtool module is "tl-backend-cuda.so";
 * "libtl-backend-cuda.so" (g_module_build_path) is tried too. */
static const TlBackend *
backend_module (char **why)
{
  const char *env = g_getenv ("TL_BACKEND_PATH");
  g_auto (GStrv) dirs = env ? g_strsplit (env, ":", -1) : NULL;
  g_autofree char *def = g_build_filename (TL_BUILDDIR, "backends", "cuda", ".libs", NULL);
  g_autoptr (GString) reasons = g_string_new (NULL);
  for (guint i = 0; dirs ? dirs[i] != NULL : i < 1; i++) {
    const char *dir = dirs ? dirs[i] : def;
    char *paths[2] = { g_build_filename (dir, "tl-backend-cuda.so", NULL),
                       g_module_build_path (dir, "tl-backend-cuda") };
    const TlBackend *be = NULL;
    for (guint k = 0; k < 2 && !be; k++) {
      GModule *mod = g_file_test (paths[k], G_FILE_TEST_EXISTS)
                       ? g_module_open (paths[k], G_MODULE_BIND_LOCAL) : NULL;
      gpointer sym = NULL;
      if (mod && g_module_symbol (mod, "tl_backend_query", &sym) && sym) {
        g_module_make_resident (mod);
        be = ((TlBackendQueryFn) sym) ();
      } else {
        g_string_append_printf (reasons, "%s%s", reasons->len ? "; " : "", mod ? g_module_error () : paths[k]);
        if (mod)
          g_module_close (mod);
      }
    }
    g_free (paths[0]);
    g_free (paths[1]);
    if (be)
      return be;
  }
  g_free (*why);
  *why = g_strdup_printf ("the CUDA backend module is not available (%s)", reasons->str);
  return NULL;
}

/* Every built-in op has a device kernel (needs the module, not a GPU). */
static void
test_kernel_table (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *why = NULL;
  g_assert_true (tl_init (&error));
  const TlBackend *be = backend_module (&why);
  if (!be) {
    g_test_skip (why);
    return;
  }
  g_assert_cmpuint (be->abi, ==, TL_BACKEND_ABI);
  g_auto (GStrv) ops = tl_op_list ();
  g_autoptr (GString) missing = g_string_new (NULL);
  guint n = 0;
  for (guint i = 0; ops[i]; i++) {
    if (!is_builtin (ops[i]))
      continue;
    n++;
    if (!be->lookup_kernel (ops[i]))
      g_string_append_printf (missing, " %s", ops[i]);
  }
  g_test_message ("%u built-in ops", n);
  if (missing->len)
    g_test_fail_printf ("built-in ops without a CUDA kernel:%s", missing->str);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* synchronise after every op: an asynchronous kernel fault is reported
   * by the op (and case) that caused it */
  g_setenv ("TL_CUDA_SYNC", "1", FALSE);
  if (g_getenv ("TL_PARITY_DEVICE"))
    target = g_getenv ("TL_PARITY_DEVICE");
  all_cases = g_ptr_array_new ();
  add_case_tests ("/cuda-parity/op", test_case);
  for (guint i = 0; i < G_N_ELEMENTS (optim_cases); i++) {
    g_autofree char *path = g_strdup_printf ("/cuda-parity/optim/%s", optim_cases[i].name);
    g_test_add_data_func (path, &optim_cases[i], test_optim);
  }
  g_test_add_func ("/cuda-parity/coverage", test_coverage);
  g_test_add_func ("/cuda-parity/kernel-table", test_kernel_table);
  int rc = g_test_run ();
  g_ptr_array_unref (all_cases);
  return rc;
}
