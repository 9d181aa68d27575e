/* bench-fusion.c — tl's half of the fusion benchmarks (plugins/fusion):
 * unfused primitive graphs vs the FusionStitching planner ("stitch", with the
 * fused interpreter; "stitch-cc", with compiled C kernels) vs its
 * rule-based elementwise baseline, on LayerNorm, softmax,
 * bias+GELU+residual+LayerNorm, the memory-bound part of a BERT encoder
 * layer, and a whole encoder-layer training step (forward + backward, the
 * planner applied after autodiff as `tlhost run` does; the optimizer update
 * is the same with and without fusion and is left out).
 *
 * Prints one half line per benchmark:
 *   fusion-NAME tl threads=N unfused_ms=.. stitch_ms=.. stitch_cc_ms=.. baseline_ms=..
 *     kernels_unfused=.. kernels_stitch=.. kernels_baseline=..
 *     mbytes_unfused=.. mbytes_stitch=..
 * (best of --steps runs: other processes share the machine). benchmarks/bench-fusion.sh pairs them with
 * benchmarks/torch_fusion.py. The planner is loaded through the registry
 * (TL_PLUGIN_PATH must reach plugins/fusion).
 *
 * With a CUDA device, LayerNorm on the GPU as well:
 *   fusion-gpu-layernorm-RxC tl device=cuda unfused_us=.. stitch_us=.. baseline_us=.. roof_us=..
 *     kernels_*=.. blocks=..
 * each figure the median, over --steps blocks of back-to-back runs ended by
 * one synchronisation, of the block's wall time per run (runs_per_block();
 * torch_fusion_gpu.py times torch the same way). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench-util.h"
#include "fusion-private.h"

typedef struct {
  TlRegistry *reg;
  const TlPlannerDef *def;
  const TlComponentInfo *ci;
} Planner;

static void
planner_init (Planner *p)
{
  GError *error = NULL;
  p->reg = tl_registry_new (NULL, &error);
  bench_check (p->reg != NULL, error, "registry");
  p->ci = tl_registry_find_component (p->reg, "fusion.stitch", &error);
  bench_check (p->ci != NULL, error, "find fusion.stitch");
  p->def = tl_registry_load_component (p->reg, p->ci, &error);
  bench_check (p->def != NULL, error, "load fusion.stitch");
}

/* Apply the planner in `mode` to g in place (NULL mode: leave g as it is). */
static void
plan_apply (Planner *p, TlGraph *g, const char *mode)
{
  if (!mode)
    return;
  GError *error = NULL;
  gboolean cc = g_str_has_suffix (mode, "-cc");
  g_autofree char *m = cc ? g_strndup (mode, strlen (mode) - 3) : g_strdup (mode);
  const char *names[] = { "mode", "report", "cpu" };
  const char *values[] = { m, "false", cc ? "cc" : "interp" };
  TlParams *params = tl_component_info_make_params (p->ci, 3, names, values, NULL, &error);
  bench_check (params != NULL, error, "params");
  TlPlanner *pl = p->def->create (params, &error);
  bench_check (pl != NULL, error, "create");
  TlPlan *plan = p->def->plan (pl, g, NULL, 1, &error);
  bench_check (plan != NULL, error, "plan");
  bench_check (p->def->apply (pl, plan, g, &error), error, "apply");
  tl_plan_free (plan);
  p->def->destroy (pl);
  tl_params_free (params);
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

typedef TlGraph *(*BuildFn) (TlRng *rng, GPtrArray *names, GPtrArray *inputs, GPtrArray *outs);

typedef struct {
  double ms;
  guint kernels;
  double mbytes;
} Result;

static const char *bench_device = "cpu";

/* GPU timing, the same method as torch_fusion_gpu.py's timed_us() and
 * bench-gpu-gemm.c: host wall clock around a block of back-to-back runs
 * ended by one tl_device_synchronize(), so that both sides' figures
 * include the same dispatch and one synchronisation per block. A block
 * holds about GPU_BLOCK_SECONDS of work (estimated from one probe block of
 * GPU_PROBE_RUNS runs), GPU_MIN_RUNS to GPU_MAX_RUNS runs. */
#define GPU_BLOCK_SECONDS 5e-3
#define GPU_PROBE_RUNS 5
#define GPU_MIN_RUNS 20
#define GPU_MAX_RUNS 2000

static gint
runs_per_block (TlExec *ex)
{
  GError *error = NULL;
  double t0 = bench_now ();
  for (gint i = 0; i < GPU_PROBE_RUNS; i++)
    bench_check (tl_exec_run (ex, (guint64) i, &error), error, "run");
  bench_check (tl_device_synchronize (bench_device, &error), error, "synchronize");
  double per_run = MAX ((bench_now () - t0) / GPU_PROBE_RUNS, 1e-7);
  return (gint) CLAMP (GPU_BLOCK_SECONDS / per_run, GPU_MIN_RUNS, GPU_MAX_RUNS);
}

static Result
measure (Planner *p, BuildFn build, const char *mode, const BenchOptions *opts)
{
  GError *error = NULL;
  TlRng rng;
  tl_rng_init (&rng, (guint64) opts->seed, 0);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) inputs = g_ptr_array_new_with_free_func ((GDestroyNotify) tl_tensor_unref);
  g_autoptr (GPtrArray) outs = g_ptr_array_new_with_free_func (g_free);
  TlGraph *g = build (&rng, names, inputs, outs);
  bench_check (tl_graph_take_error (g, &error), error, "build");
  plan_apply (p, g, mode);
  Result r = { 0 };
  for (guint i = 0; i < tl_graph_n_nodes (g); i++) {
    TlOpCost c = { 0 };
    tl_node_cost (tl_graph_node (g, i), &c);
    r.mbytes += (c.bytes_read + c.bytes_written) / 1e6;
  }
  TlValue **ov = g_new (TlValue *, outs->len);
  for (guint i = 0; i < outs->len; i++)
    ov[i] = tl_graph_get_output (g, outs->pdata[i]);
  TlExecOptions eo;
  tl_exec_options_init (&eo);
  eo.device = bench_device;
  TlExec *ex = tl_exec_new (g, outs->len, ov, &eo, &error);
  bench_check (ex != NULL, error, "exec");
  for (guint i = 0; i < names->len; i++) {
    /* on a GPU the inputs are moved there once, outside the timed runs */
    g_autoptr (TlTensor) in = tl_tensor_to_device (inputs->pdata[i], bench_device, &error);
    bench_check (in != NULL, error, "input to device");
    bench_check (tl_exec_set_input (ex, names->pdata[i], in, &error), error, "input");
  }
  for (gint i = 0; i < opts->warmup; i++)
    bench_check (tl_exec_run (ex, (guint64) i, &error), error, "run");
  bench_check (tl_device_synchronize (bench_device, &error), error, "synchronize");
  /* CPU: each run timed alone (runs are synchronous). GPU: a sample is a
   * block of back-to-back runs ended by one synchronisation (runs_per_block) */
  gboolean gpu = !g_str_equal (bench_device, "cpu");
  gint per_block = gpu ? runs_per_block (ex) : 1;
  gint n = MAX (1, opts->steps);
  double *t = g_new (double, n);
  for (gint i = 0; i < n; i++) {
    double t0 = bench_now ();
    for (gint j = 0; j < per_block; j++)
      bench_check (tl_exec_run (ex, (guint64) (i * per_block + j), &error), error, "run");
    bench_check (tl_device_synchronize (bench_device, &error), error, "synchronize");
    t[i] = (bench_now () - t0) * 1e3 / per_block;
  }
  qsort (t, (size_t) n, sizeof (double), cmp_double);
  if (opts->profile) {
    printf ("# %s:\n", mode ? mode : "unfused");
    bench_profile (ex, g, opts, NULL, 0);
  }
  /* CPU: the best run (the box is shared, as in run-bench.sh); GPU: the
   * median block, per run (as bench-gpu-gemm.c and torch_fusion_gpu.py) */
  r.ms = gpu ? t[n / 2] : t[0];
  r.kernels = tl_exec_n_kernels (ex);
  g_free (t);
  tl_exec_free (ex);
  g_free (ov);
  tl_graph_unref (g);
  return r;
}

static TlValue *
input (TlGraph *g, TlRng *rng, GPtrArray *names, GPtrArray *inputs, const char *name, guint nd,
       const gint64 *shape)
{
  g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_add (inputs, bench_tensor_normal (rng, nd, shape));
  return tl_graph_input (g, name, TL_DTYPE_F32, nd, shape);
}

static TlValue *
param (TlGraph *g, TlRng *rng, const char *name, gint64 n, float lo)
{
  return bench_param_uniform (g, rng, name, 1, &n, lo);
}

#define ROWS 2048
#define COLS 768

static TlGraph *
build_ln (TlRng *rng, GPtrArray *names, GPtrArray *inputs, GPtrArray *outs)
{
  TlGraph *g = tl_graph_new ();
  gint64 s[2] = { ROWS, COLS };
  TlValue *x = input (g, rng, names, inputs, "x", 2, s);
  tl_graph_set_output (g, "y", fusion_layer_norm_prims (g, x, param (g, rng, "gamma", COLS, 1), param (g, rng, "beta", COLS, 1)));
  g_ptr_array_add (outs, g_strdup ("y"));
  return g;
}

/* GPU sizes of the reference points (LayerNorm R x 1024), and the
 * copy roof: one elementwise op reading and writing the same tensor, i.e.
 * the least traffic a fused LayerNorm can move. */
static gint64 gpu_rows = 65536;
#define GPU_COLS 1024

static TlGraph *
build_ln_gpu (TlRng *rng, GPtrArray *names, GPtrArray *inputs, GPtrArray *outs)
{
  TlGraph *g = tl_graph_new ();
  gint64 s[2] = { gpu_rows, GPU_COLS };
  TlValue *x = input (g, rng, names, inputs, "x", 2, s);
  tl_graph_set_output (g, "y", fusion_layer_norm_prims (g, x, param (g, rng, "gamma", GPU_COLS, 1),
                                         param (g, rng, "beta", GPU_COLS, 1)));
  g_ptr_array_add (outs, g_strdup ("y"));
  return g;
}

static TlGraph *
build_copy_gpu (TlRng *rng, GPtrArray *names, GPtrArray *inputs, GPtrArray *outs)
{
  TlGraph *g = tl_graph_new ();
  gint64 s[2] = { gpu_rows, GPU_COLS };
  TlValue *x = input (g, rng, names, inputs, "x", 2, s);
  tl_graph_set_output (g, "y", tl_neg (g, x));
  g_ptr_array_add (outs, g_strdup ("y"));
  return g;
}

static TlGraph *
build_softmax (TlRng *rng, GPtrArray *names, GPtrArray *inputs, GPtrArray *outs)
{
  TlGraph *g = tl_graph_new ();
  gint64 s[2] = { 8 * 12 * 128 / 4, 128 }; /* attention rows of a small batch */
  TlValue *x = input (g, rng, names, inputs, "x", 2, s);
  tl_graph_set_output (g, "y", fusion_softmax_prims (g, x));
  g_ptr_array_add (outs, g_strdup ("y"));
  return g;
}

static TlGraph *
build_gelu_ln (TlRng *rng, GPtrArray *names, GPtrArray *inputs, GPtrArray *outs)
{
  TlGraph *g = tl_graph_new ();
  gint64 s[2] = { ROWS, COLS };
  TlValue *x = input (g, rng, names, inputs, "x", 2, s);
  TlValue *res = input (g, rng, names, inputs, "res", 2, s);
  TlValue *h = tl_gelu (g, tl_add (g, x, param (g, rng, "bias", COLS, 1)));
  tl_graph_set_output (g, "y", fusion_layer_norm_prims (g, tl_add (g, h, res), param (g, rng, "gamma", COLS, 1),
                                         param (g, rng, "beta", COLS, 1)));
  g_ptr_array_add (outs, g_strdup ("y"));
  return g;
}

/* The memory-bound ops of one BERT-base encoder layer at its usual
 * training size (batch 32, sequence 128: 50 MB of activations, beyond the
 * caches, as on a GPU); GEMM outputs are inputs here. */
#define BB 32
#define SS 128
#define HH 768
#define NH 12
#define FF 3072

static TlGraph *
build_bert_mb (TlRng *rng, GPtrArray *names, GPtrArray *inputs, GPtrArray *outs)
{
  TlGraph *g = tl_graph_new ();
  gint64 sc[4] = { BB, NH, SS, SS }, mk[4] = { BB, 1, 1, SS };
  gint64 sh[2] = { BB * SS, HH }, sf[2] = { BB * SS, FF };
  TlValue *scores = input (g, rng, names, inputs, "scores", 4, sc);
  TlValue *mask = input (g, rng, names, inputs, "mask", 4, mk);
  TlValue *attn = input (g, rng, names, inputs, "attn_out", 2, sh);
  TlValue *x = input (g, rng, names, inputs, "x", 2, sh);
  TlValue *ff1 = input (g, rng, names, inputs, "ff1", 2, sf);
  TlValue *ff2 = input (g, rng, names, inputs, "ff2", 2, sh);
  TlValue *p = fusion_softmax_prims (g, tl_add (g, tl_scale (g, scores, 0.125, 0), mask));
  TlValue *h1 = fusion_layer_norm_prims (g, tl_add (g, tl_add (g, attn, param (g, rng, "bo", HH, 1)), x),
                          param (g, rng, "g1", HH, 1), param (g, rng, "b1", HH, 1));
  TlValue *act = tl_gelu (g, tl_add (g, ff1, param (g, rng, "bf1", FF, 1)));
  TlValue *h2 = fusion_layer_norm_prims (g, tl_add (g, tl_add (g, ff2, param (g, rng, "bf2", HH, 1)), h1),
                          param (g, rng, "g2", HH, 1), param (g, rng, "b2", HH, 1));
  tl_graph_set_output (g, "probs", p);
  tl_graph_set_output (g, "act", act);
  tl_graph_set_output (g, "h2", h2);
  g_ptr_array_add (outs, g_strdup ("probs"));
  g_ptr_array_add (outs, g_strdup ("act"));
  g_ptr_array_add (outs, g_strdup ("h2"));
  return g;
}

/* A whole encoder layer (batch 4, sequence 64, hidden 256, 4 heads, FFN
 * 1024), MSE loss, gradients of every parameter as outputs. */
#define TB 4
#define TS 64
#define TH 256
#define TN 4
#define TF 1024

static TlValue *
dense (TlGraph *g, TlRng *rng, TlValue *x, const char *name, gint64 in, gint64 out)
{
  g_autofree char *wn = g_strdup_printf ("%s.w", name);
  g_autofree char *bn = g_strdup_printf ("%s.b", name);
  gint64 ws[2] = { in, out };
  TlValue *w = bench_param_uniform (g, rng, wn, 2, ws, 1.0f / sqrtf ((float) in));
  return tl_add (g, tl_matmul (g, x, w, FALSE, FALSE), param (g, rng, bn, out, 0.1f));
}

static TlValue *
heads (TlGraph *g, TlValue *x)
{
  gint64 s[4] = { TB, TS, TN, TH / TN };
  gint perm[4] = { 0, 2, 1, 3 };
  return tl_transpose (g, tl_reshape (g, x, 4, s), 4, perm);
}

static TlGraph *
build_train (TlRng *rng, GPtrArray *names, GPtrArray *inputs, GPtrArray *outs)
{
  GError *error = NULL;
  TlGraph *g = tl_graph_new ();
  gint64 sx[2] = { TB * TS, TH };
  TlValue *x = input (g, rng, names, inputs, "x", 2, sx);
  TlValue *y = input (g, rng, names, inputs, "y", 2, sx);
  TlValue *q = heads (g, dense (g, rng, x, "q", TH, TH));
  TlValue *k = heads (g, dense (g, rng, x, "k", TH, TH));
  TlValue *v = heads (g, dense (g, rng, x, "v", TH, TH));
  TlValue *p = fusion_softmax_prims (g, tl_scale (g, tl_matmul (g, q, k, FALSE, TRUE), 1.0 / sqrt (TH / TN), 0));
  gint perm[4] = { 0, 2, 1, 3 };
  TlValue *ctx = tl_reshape (g, tl_transpose (g, tl_matmul (g, p, v, FALSE, FALSE), 4, perm), 2, sx);
  TlValue *h1 = fusion_layer_norm_prims (g, tl_add (g, dense (g, rng, ctx, "o", TH, TH), x), param (g, rng, "ln1.g", TH, 1),
                          param (g, rng, "ln1.b", TH, 1));
  TlValue *f = tl_gelu (g, dense (g, rng, h1, "f1", TH, TF));
  TlValue *h2 = fusion_layer_norm_prims (g, tl_add (g, dense (g, rng, f, "f2", TF, TH), h1), param (g, rng, "ln2.g", TH, 1),
                          param (g, rng, "ln2.b", TH, 1));
  TlValue *loss = tl_mse (g, h2, y);
  tl_graph_set_output (g, "loss", loss);
  g_ptr_array_add (outs, g_strdup ("loss"));
  guint np = tl_graph_n_params (g);
  TlValue **wrt = g_new (TlValue *, np), **grads = g_new0 (TlValue *, np);
  for (guint i = 0; i < np; i++)
    wrt[i] = tl_graph_param_value (g, i);
  bench_check (tl_autodiff (g, loss, np, wrt, grads, &error), error, "autodiff");
  for (guint i = 0; i < np; i++) {
    char *name = g_strdup_printf ("grad/%s", tl_value_name (wrt[i]));
    tl_graph_set_output (g, name, grads[i]);
    g_ptr_array_add (outs, name);
  }
  g_free (wrt);
  g_free (grads);
  return g;
}

int
main (int argc, char **argv)
{
  BenchOptions opts = { .steps = 20, .warmup = 3, .seed = 42 };
  bench_init (&argc, &argv, "- fusion planner benchmarks (tl's half)", &opts);
  Planner p;
  planner_init (&p);
  static const struct {
    const char *name;
    BuildFn build;
  } cases[] = {
    { "layernorm", build_ln },
    { "softmax", build_softmax },
    { "gelu-residual-layernorm", build_gelu_ln },
    { "bert-memory-bound", build_bert_mb },
    { "encoder-train-step", build_train },
  };
  const char *only = argc > 1 ? argv[1] : NULL;
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
    if (only && !strstr (cases[c].name, only))
      continue;
    Result u = measure (&p, cases[c].build, NULL, &opts);
    Result s = measure (&p, cases[c].build, "stitch", &opts);
    Result b = measure (&p, cases[c].build, "baseline", &opts);
    Result sc = measure (&p, cases[c].build, "stitch-cc", &opts);
    Result bc = measure (&p, cases[c].build, "baseline-cc", &opts);
    printf ("fusion-%s tl threads=%d unfused_ms=%.3f stitch_ms=%.3f stitch_cc_ms=%.3f baseline_ms=%.3f "
            "baseline_cc_ms=%.3f kernels_unfused=%u kernels_stitch=%u kernels_baseline=%u mbytes_unfused=%.1f "
            "mbytes_stitch=%.1f mbytes_baseline=%.1f\n",
            cases[c].name, opts.threads, u.ms, s.ms, sc.ms, b.ms, bc.ms, u.kernels, s.kernels, b.kernels,
            u.mbytes, s.mbytes, b.mbytes);
    fflush (stdout);
  }
  /* On the GPU (when there is one): LayerNorm at the two sizes,
   * unfused / stitch / baseline, against the copy roof of the same run. */
  GError *error = NULL;
  if (!tl_device_available ("cuda", &error)) {
    printf ("# fusion GPU benchmarks skipped: %s\n", error->message);
    g_clear_error (&error);
  } else {
    bench_device = "cuda";
    static const gint64 rows[] = { 65536, 4096 };
    for (guint r = 0; r < G_N_ELEMENTS (rows); r++) {
      g_autofree char *name = g_strdup_printf ("gpu-layernorm-%" G_GINT64_FORMAT "x%d", rows[r], GPU_COLS);
      if (only && !strstr (name, only))
        continue;
      gpu_rows = rows[r];
      Result u = measure (&p, build_ln_gpu, NULL, &opts);
      Result s = measure (&p, build_ln_gpu, "stitch", &opts);
      Result b = measure (&p, build_ln_gpu, "baseline", &opts);
      Result roof = measure (&p, build_copy_gpu, NULL, &opts);
      printf ("fusion-%s tl device=cuda unfused_us=%.1f stitch_us=%.1f baseline_us=%.1f roof_us=%.1f "
              "kernels_unfused=%u kernels_stitch=%u kernels_baseline=%u blocks=%d\n",
              name, u.ms * 1e3, s.ms * 1e3, b.ms * 1e3, roof.ms * 1e3, u.kernels, s.kernels, b.kernels,
              MAX (1, opts.steps));
      fflush (stdout);
    }
    bench_device = "cpu";
  }
  tl_registry_free (p.reg);
  return 0;
}
