/* prims.c — LayerNorm and softmax written as primitive ops: the graphs a
 * framework without hand-fused kernels builds, and the patterns the
 * stitching explorer is measured on (fusion.transformer, the tests and
 * benchmarks/bench-fusion). */
#include "fusion-private.h"

/**
 * fusion_layer_norm_prims:
 * @g: graph
 * @x: input, normalised over its last axis
 * @gamma: scale, broadcast over the last axis
 * @beta: shift, broadcast over the last axis
 *
 * (x - mean) * rsqrt (var + 1e-5) * gamma + beta, as mean, sub, square,
 * mean, add, rsqrt, mul, mul, add.
 *
 * Returns: (transfer none): the output value of @g.
 */
TlValue *
fusion_layer_norm_prims (TlGraph *g, TlValue *x, TlValue *gamma, TlValue *beta)
{
  gint ax = -1;
  TlValue *m = tl_mean (g, x, 1, &ax, TRUE);
  TlValue *d = tl_sub (g, x, m);
  TlValue *v = tl_mean (g, tl_square (g, d), 1, &ax, TRUE);
  TlValue *r = tl_rsqrt (g, tl_add (g, v, tl_graph_scalar (g, 1e-5f)));
  return tl_add (g, tl_mul (g, tl_mul (g, d, r), gamma), beta);
}

/**
 * fusion_softmax_prims:
 * @g: graph
 * @x: input, normalised over its last axis
 *
 * exp (x - max) / sum (exp (x - max)), as max, sub, exp, sum, div.
 *
 * Returns: (transfer none): the output value of @g.
 */
TlValue *
fusion_softmax_prims (TlGraph *g, TlValue *x)
{
  gint ax = -1;
  TlValue *e = tl_exp (g, tl_sub (g, x, tl_max (g, x, 1, &ax, TRUE)));
  return tl_div (g, e, tl_sum (g, e, 1, &ax, TRUE));
}
