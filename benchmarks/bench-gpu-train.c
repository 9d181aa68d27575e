/* bench-gpu-train.c — tl's half of the GPU training-step benchmarks
 * (benchmarks/run-gpu-bench.sh pairs it with torch_gpu_train.py):
 *
 *   mlp          MLP 784-512-512-10 (ReLU), batch 128, cross-entropy, Adam
 *                (the configuration of bench-mlp.c)
 *   transformer  one transformer encoder layer (post-norm, as PyTorch's
 *                nn.TransformerEncoderLayer: hidden 768, 12 heads, FFN 3072,
 *                GELU, no dropout), sequence 128, batch 32, MSE against a
 *                random target, Adam
 *
 * on device "cuda": parameters live on the GPU (the executor uses them in
 * place, the optimizer updates them there), the inputs are fed once. A step
 * is tl_exec_run (forward + backward) + tl_optimizer_step; the timed steps
 * are queued back to back and the clock stops after tl_device_synchronize,
 * as the PyTorch half does with torch.cuda.synchronize().
 *
 * Prints one half line:
 *   gpu-NAME tl device=.. steps=S ms_per_step=.. steps_per_s=.. kernels=K
 *     launch_us_per_kernel=.. empty_launch_us=.. loss_first=.. loss_last=..
 * where kernels = the executor's nodes per run + one optimizer update per
 * parameter, launch_us_per_kernel = time per step / kernels, and
 * empty_launch_us the host time per launch of an empty kernel (the floor).
 * Without a usable GPU it prints "SKIP no CUDA device: REASON" and exits 0.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench-util.h"

/* gpu-empty-kernel.cu */
double tl_bench_empty_launch_us (int n, const char **err);

/* "cuda"; TL_GPU_BENCH_DEVICE overrides it (e.g. "cpu" to check the
 * graphs on a machine without a GPU) */
static const char *device = "cuda";
#define DEVICE device

static TlValue *
param_on_device (TlGraph *g, TlRng *rng, const char *name, guint ndim, const gint64 *shape,
                 double bound, double constant)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TlTensor) h = tl_tensor_new (TL_DTYPE_F32, ndim, shape, &error);
  bench_check (h != NULL, error, name);
  float *p = tl_tensor_data (h);
  gint64 n = tl_tensor_numel (h);
  for (gint64 i = 0; i < n; i++)
    p[i] = bound > 0 ? (float) ((2.0 * tl_rng_uniform (rng) - 1.0) * bound) : (float) constant;
  g_autoptr (TlTensor) d = tl_tensor_to_device (h, DEVICE, &error);
  bench_check (d != NULL, error, name);
  return tl_graph_param (g, name, d);
}

/* nn.Linear: weight [out, in] and bias [out] from U(-1/sqrt(in), 1/sqrt(in)). */
static TlValue *
linear (TlGraph *g, TlRng *rng, TlValue *x, const char *name, gint64 in, gint64 out)
{
  g_autofree char *wn = g_strdup_printf ("%s.weight", name);
  g_autofree char *bn = g_strdup_printf ("%s.bias", name);
  double bound = 1.0 / sqrt ((double) in);
  TlValue *w = param_on_device (g, rng, wn, 2, (gint64[]){ out, in }, bound, 0);
  TlValue *b = param_on_device (g, rng, bn, 1, (gint64[]){ out }, bound, 0);
  return tl_linear (g, x, w, b);
}

static TlValue *
layer_norm (TlGraph *g, TlRng *rng, TlValue *x, const char *name, gint64 dim)
{
  g_autofree char *gn = g_strdup_printf ("%s.weight", name);
  g_autofree char *bn = g_strdup_printf ("%s.bias", name);
  TlValue *gamma = param_on_device (g, rng, gn, 1, &dim, 0, 1.0);
  TlValue *beta = param_on_device (g, rng, bn, 1, &dim, 0, 0.0);
  return tl_layer_norm (g, x, gamma, beta, 1e-5);
}

#define MLP_BATCH 128

static TlValue *
build_mlp (TlGraph *g, TlRng *rng, TlTensor **x, TlTensor **y)
{
  const gint64 sizes[] = { 784, 512, 512, 10 };
  TlValue *h = tl_graph_input (g, "x", TL_DTYPE_F32, 2, (gint64[]){ MLP_BATCH, sizes[0] });
  TlValue *lab = tl_graph_input (g, "y", TL_DTYPE_I64, 1, (gint64[]){ MLP_BATCH });
  for (guint l = 0; l < 3; l++) {
    g_autofree char *name = g_strdup_printf ("fc%u", l + 1);
    h = linear (g, rng, h, name, sizes[l], sizes[l + 1]);
    if (l < 2)
      h = tl_relu (g, h);
  }
  *x = bench_tensor_normal (rng, 2, (gint64[]){ MLP_BATCH, sizes[0] });
  *y = bench_tensor_labels (rng, MLP_BATCH, sizes[3]);
  return tl_cross_entropy (g, h, lab);
}

#define TF_BATCH 32
#define TF_SEQ 128
#define TF_HIDDEN 768
#define TF_HEADS 12
#define TF_FFN 3072

/* [B*S, H] -> [B, heads, S, H/heads] */
static TlValue *
split_heads (TlGraph *g, TlValue *x)
{
  gint64 s[4] = { TF_BATCH, TF_SEQ, TF_HEADS, TF_HIDDEN / TF_HEADS };
  gint perm[4] = { 0, 2, 1, 3 };
  return tl_transpose (g, tl_reshape (g, x, 4, s), 4, perm);
}

static TlValue *
build_transformer (TlGraph *g, TlRng *rng, TlTensor **x, TlTensor **y)
{
  gint64 flat[2] = { TF_BATCH * TF_SEQ, TF_HIDDEN };
  TlValue *in = tl_graph_input (g, "x", TL_DTYPE_F32, 2, flat);
  TlValue *target = tl_graph_input (g, "y", TL_DTYPE_F32, 2, flat);
  TlValue *q = split_heads (g, linear (g, rng, in, "self_attn.q", TF_HIDDEN, TF_HIDDEN));
  TlValue *k = split_heads (g, linear (g, rng, in, "self_attn.k", TF_HIDDEN, TF_HIDDEN));
  TlValue *v = split_heads (g, linear (g, rng, in, "self_attn.v", TF_HIDDEN, TF_HIDDEN));
  double scale = 1.0 / sqrt ((double) (TF_HIDDEN / TF_HEADS));
  TlValue *att = tl_softmax (g, tl_scale (g, tl_matmul (g, q, k, FALSE, TRUE), scale, 0), -1);
  gint perm[4] = { 0, 2, 1, 3 };
  TlValue *ctx = tl_reshape (g, tl_transpose (g, tl_matmul (g, att, v, FALSE, FALSE), 4, perm), 2,
                             flat);
  TlValue *o = linear (g, rng, ctx, "self_attn.out_proj", TF_HIDDEN, TF_HIDDEN);
  TlValue *h1 = layer_norm (g, rng, tl_add (g, in, o), "norm1", TF_HIDDEN);
  TlValue *f = linear (g, rng, tl_gelu (g, linear (g, rng, h1, "linear1", TF_HIDDEN, TF_FFN)),
                       "linear2", TF_FFN, TF_HIDDEN);
  TlValue *h2 = layer_norm (g, rng, tl_add (g, h1, f), "norm2", TF_HIDDEN);
  *x = bench_tensor_normal (rng, 2, flat);
  *y = bench_tensor_normal (rng, 2, flat);
  return tl_mse (g, h2, target);
}

#define MAX_PARAMS 64

/* TL_GPU_BENCH_PROFILE: where a forward + backward run spends its time,
 * by op (tl_exec_profile: each node timed to its own synchronisation, so
 * small nodes carry a launch + sync latency the timed steps do not), one
 * "profile-NAME tl op=.. nodes=.. ms=.. share=.." line per op, largest
 * first. */
static void
print_profile (const char *model, TlGraph *g, TlExec *ex)
{
  g_autoptr (GError) error = NULL;
  guint nn = tl_graph_n_nodes (g);
  g_autofree double *secs = g_new0 (double, nn);
  bench_check (tl_exec_profile (ex, 5, secs, &error), error, "tl_exec_profile");
  g_autoptr (GHashTable) by_op = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GPtrArray) ops = g_ptr_array_new ();
  g_autofree double *t = g_new0 (double, nn + 1);
  g_autofree guint *cnt = g_new0 (guint, nn + 1);
  double total = 0;
  for (guint i = 0; i < nn; i++) {
    if (secs[i] <= 0)
      continue;
    const char *op = tl_node_op (tl_graph_node (g, i));
    gpointer k;
    if (!g_hash_table_lookup_extended (by_op, op, NULL, &k)) {
      k = GUINT_TO_POINTER (ops->len);
      g_hash_table_insert (by_op, (gpointer) op, k);
      g_ptr_array_add (ops, (gpointer) op);
    }
    t[GPOINTER_TO_UINT (k)] += secs[i];
    cnt[GPOINTER_TO_UINT (k)]++;
    total += secs[i];
  }
  for (guint shown = 0; shown < ops->len; shown++) {
    guint best = 0;
    for (guint j = 1; j < ops->len; j++)
      if (t[j] > t[best])
        best = j;
    if (t[best] <= 0)
      break;
    printf ("profile-%s tl op=%s nodes=%u ms=%.4f share=%.3f\n", model,
            (const char *) ops->pdata[best], cnt[best], 1e3 * t[best], t[best] / total);
    t[best] = -1;
  }
}

int
main (int argc, char **argv)
{
  BenchOptions opts = { .threads = 1, .steps = 50, .warmup = 5, .seed = 42 };
  bench_init (&argc, &argv, "MODEL (mlp|transformer): GPU training steps/s (tl half)", &opts);
  const char *model = argc > 1 ? argv[1] : "mlp";
  if (g_getenv ("TL_GPU_BENCH_DEVICE"))
    device = g_getenv ("TL_GPU_BENCH_DEVICE");
  if (!g_str_equal (model, "mlp") && !g_str_equal (model, "transformer")) {
    fprintf (stderr, "bench-gpu-train: unknown model '%s' (mlp, transformer)\n", model);
    return 2;
  }
  g_autoptr (GError) error = NULL;
  if (!tl_device_available (DEVICE, &error)) {
    printf ("SKIP no CUDA device: %s\n", error->message);
    return 0;
  }
  g_autofree char *desc = tl_device_describe (DEVICE, NULL);

  TlRng rng;
  tl_rng_init (&rng, (guint64) opts.seed, 0);
  TlGraph *g = tl_graph_new ();
  TlTensor *x = NULL, *y = NULL;
  TlValue *loss = g_str_equal (model, "mlp") ? build_mlp (g, &rng, &x, &y)
                                             : build_transformer (g, &rng, &x, &y);
  bench_check (tl_graph_take_error (g, &error), error, "building the graph");

  guint n = tl_graph_n_params (g);
  bench_check (n > 0 && n <= MAX_PARAMS, NULL, "parameter count");
  TlValue *wrt[MAX_PARAMS], *outs[MAX_PARAMS + 1];
  TlTensor *params[MAX_PARAMS], *grads[MAX_PARAMS];
  for (guint i = 0; i < n; i++) {
    wrt[i] = tl_graph_param_value (g, i);
    params[i] = tl_value_tensor (wrt[i]);
  }
  outs[0] = loss;
  bench_check (tl_autodiff (g, loss, n, wrt, outs + 1, &error), error, "tl_autodiff");

  TlExecOptions eo;
  tl_exec_options_init (&eo);
  eo.training = 1;
  eo.device = DEVICE;
  TlExec *ex = tl_exec_new (g, n + 1, outs, &eo, &error);
  bench_check (ex != NULL, error, "tl_exec_new");
  bench_check (tl_exec_set_input (ex, "x", x, &error), error, "tl_exec_set_input x");
  bench_check (tl_exec_set_input (ex, "y", y, &error), error, "tl_exec_set_input y");
  TlOptimConfig oc;
  tl_optim_config_init (&oc);
  TlOptimizer *opt = tl_optimizer_new ("adam", &oc, &error);
  bench_check (opt != NULL, error, "tl_optimizer_new");

  double loss_first = NAN, loss_last = NAN;
  guint64 step = 0;
  double t0 = 0;
  for (gint i = 0; i < opts.warmup + opts.steps; i++, step++) {
    if (i == opts.warmup) {
      bench_check (tl_device_synchronize (DEVICE, &error), error, "warm-up");
      t0 = bench_now ();
    }
    bench_check (tl_exec_run (ex, step, &error), error, "tl_exec_run");
    for (guint p = 0; p < n; p++)
      grads[p] = tl_exec_get_output (ex, p + 1);
    if (i == 0) {
      g_autoptr (TlTensor) l = tl_exec_get_output_host (ex, 0, &error);
      bench_check (l != NULL, error, "loss");
      loss_first = tl_tensor_get_flat (l, 0);
    }
    bench_check (tl_optimizer_step (opt, n, params, grads, 1e-3, &error), error,
                 "tl_optimizer_step");
  }
  bench_check (tl_device_synchronize (DEVICE, &error), error, "tl_device_synchronize");
  double secs = bench_now () - t0;
  {
    g_autoptr (TlTensor) l = tl_exec_get_output_host (ex, 0, &error);
    bench_check (l != NULL, error, "loss");
    loss_last = tl_tensor_get_flat (l, 0);
  }
  bench_check (isfinite (loss_first) && isfinite (loss_last), NULL, "finite loss");

  const char *err = NULL;
  double empty_us = tl_bench_empty_launch_us (2000, &err);
  if (empty_us < 0)
    fprintf (stderr, "bench-gpu-train: empty-kernel baseline failed: %s\n", err);
  if (g_getenv ("TL_GPU_BENCH_PROFILE"))
    print_profile (model, g, ex);
  guint kernels = tl_exec_n_kernels (ex) + n;
  double ms = 1e3 * secs / opts.steps;
  g_autofree char *dev = g_strdelimit (g_strdup (desc ? desc : "cuda"), " ,=", '_');
  printf ("gpu-%s tl device=%s steps=%d ms_per_step=%.4f steps_per_s=%.3f kernels=%u "
          "launch_us_per_kernel=%.3f empty_launch_us=%.3f loss_first=%.5f loss_last=%.5f\n",
          model, dev, opts.steps, ms, opts.steps / secs, kernels, 1e3 * ms / kernels, empty_us,
          loss_first, loss_last);
  fflush (stdout);
  tl_optimizer_free (opt);
  tl_exec_free (ex);
  tl_tensor_unref (x);
  tl_tensor_unref (y);
  tl_graph_unref (g);
  return 0;
}
