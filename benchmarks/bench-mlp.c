/* bench-mlp.c — training steps/s of an MLP 784-512-512-10 (ReLU), batch
 * 128, cross-entropy, Adam, on fixed random data: tl's half of
 * "BENCH mlp" (the anchor is torch_mlp.py; run-bench.sh pairs them). */
#include "config.h"

#include <math.h>

#include "bench-util.h"

#define BATCH 128

int
main (int argc, char **argv)
{
  BenchOptions opts = { .threads = 0, .steps = 50, .warmup = 5, .seed = 42 };
  const gint64 sizes[] = { 784, 512, 512, 10 };
  TlRng rng;

  bench_init (&argc, &argv, "MLP 784-512-512-10 training steps/s (tl half of BENCH mlp)", &opts);
  tl_rng_init (&rng, (guint64) opts.seed, 0);

  TlGraph *g = tl_graph_new ();
  TlValue *h = tl_graph_input (g, "x", TL_DTYPE_F32, 2, (gint64[]){ BATCH, sizes[0] });
  TlValue *y = tl_graph_input (g, "y", TL_DTYPE_I64, 1, (gint64[]){ BATCH });
  for (guint l = 0; l < 3; l++) {
    /* nn.Linear's default init: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias */
    float bound = 1.0f / sqrtf ((float) sizes[l]);
    g_autofree char *wn = g_strdup_printf ("fc%u.weight", l + 1);
    g_autofree char *bn = g_strdup_printf ("fc%u.bias", l + 1);
    TlValue *w = bench_param_uniform (g, &rng, wn, 2, (gint64[]){ sizes[l + 1], sizes[l] }, bound);
    TlValue *b = bench_param_uniform (g, &rng, bn, 1, (gint64[]){ sizes[l + 1] }, bound);
    h = tl_linear (g, h, w, b);
    if (l < 2)
      h = tl_relu (g, h);
  }
  TlValue *loss = tl_cross_entropy (g, h, y);

  TlTensor *x_data = bench_tensor_normal (&rng, 2, (gint64[]){ BATCH, sizes[0] });
  TlTensor *y_data = bench_tensor_labels (&rng, BATCH, sizes[3]);
  TlOptimConfig oc;
  tl_optim_config_init (&oc);
  bench_train ("mlp", g, loss, x_data, y_data, "adam", &oc, 1e-3, &opts);

  tl_tensor_unref (x_data);
  tl_tensor_unref (y_data);
  tl_graph_unref (g);
  return 0;
}
