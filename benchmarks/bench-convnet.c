/* bench-convnet.c — training steps/s of a small convnet on 28x28 images
 * (conv 1->16 3x3 pad 1, relu, maxpool 2, conv 16->32 3x3 pad 1, relu,
 * maxpool 2, linear 1568->128, relu, linear 128->10), batch 64,
 * cross-entropy, SGD with momentum 0.9, on fixed random data: tl's half of
 * "BENCH convnet" (the anchor is torch_convnet.py). */
#include "config.h"

#include <math.h>

#include "bench-util.h"

#define BATCH 64

/* nn.Conv2d / nn.Linear default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
static TlValue *
conv_block (TlGraph *g, TlRng *rng, const char *name, TlValue *x, gint64 cin, gint64 cout)
{
  float bound = 1.0f / sqrtf ((float) (cin * 9));
  g_autofree char *wn = g_strdup_printf ("%s.weight", name);
  g_autofree char *bn = g_strdup_printf ("%s.bias", name);
  TlValue *w = bench_param_uniform (g, rng, wn, 4, (gint64[]){ cout, cin, 3, 3 }, bound);
  TlValue *b = bench_param_uniform (g, rng, bn, 1, (gint64[]){ cout }, bound);
  TlValue *h = tl_relu (g, tl_conv2d (g, x, w, b, 1, 1, 1, 1));
  return tl_max_pool2d (g, h, 2, 2, 0);
}

static TlValue *
linear (TlGraph *g, TlRng *rng, const char *name, TlValue *x, gint64 in, gint64 out)
{
  float bound = 1.0f / sqrtf ((float) in);
  g_autofree char *wn = g_strdup_printf ("%s.weight", name);
  g_autofree char *bn = g_strdup_printf ("%s.bias", name);
  TlValue *w = bench_param_uniform (g, rng, wn, 2, (gint64[]){ out, in }, bound);
  TlValue *b = bench_param_uniform (g, rng, bn, 1, (gint64[]){ out }, bound);
  return tl_linear (g, x, w, b);
}

int
main (int argc, char **argv)
{
  BenchOptions opts = { .threads = 0, .steps = 30, .warmup = 3, .seed = 42 };
  TlRng rng;

  bench_init (&argc, &argv, "Small convnet training steps/s (tl half of BENCH convnet)", &opts);
  tl_rng_init (&rng, (guint64) opts.seed, 0);

  TlGraph *g = tl_graph_new ();
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 4, (gint64[]){ BATCH, 1, 28, 28 });
  TlValue *y = tl_graph_input (g, "y", TL_DTYPE_I64, 1, (gint64[]){ BATCH });
  TlValue *h = conv_block (g, &rng, "conv1", x, 1, 16);   /* [64, 16, 14, 14] */
  h = conv_block (g, &rng, "conv2", h, 16, 32);           /* [64, 32, 7, 7] */
  h = tl_reshape (g, h, 2, (gint64[]){ BATCH, 32 * 7 * 7 });
  h = tl_relu (g, linear (g, &rng, "fc1", h, 32 * 7 * 7, 128));
  h = linear (g, &rng, "fc2", h, 128, 10);
  TlValue *loss = tl_cross_entropy (g, h, y);

  TlTensor *x_data = bench_tensor_normal (&rng, 4, (gint64[]){ BATCH, 1, 28, 28 });
  TlTensor *y_data = bench_tensor_labels (&rng, BATCH, 10);
  TlOptimConfig oc;
  tl_optim_config_init (&oc);
  oc.momentum = 0.9;
  bench_train ("convnet", g, loss, x_data, y_data, "sgd", &oc, 0.01, &opts);

  tl_tensor_unref (x_data);
  tl_tensor_unref (y_data);
  tl_graph_unref (g);
  return 0;
}
