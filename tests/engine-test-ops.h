/* engine-test-ops.h — tiny f32 ops for the engine tests (graph, executor,
 * autodiff), so those tests do not depend on the built-in op set. */
#ifndef ENGINE_TEST_OPS_H
#define ENGINE_TEST_OPS_H

#include <tl/tl.h>

/* Registers (once):
 *   test.add(a, b)       a + b, same descs, elementwise; backward: g, g
 *   test.mul(a, b)       a * b, elementwise; backward: g*b, g*a
 *   test.scale(x)        x * attr "factor" (default 1); backward: scale(g)
 *   test.sum(x)          0-d sum (accumulates into a zeroed output); backward: expand
 *   test.expand(s)       0-d -> attr "shape" (ints), broadcast; backward: sum
 *   test.split2(x)       two outputs: x and 2x; backward: g0 + 2 g1
 *   test.nodiff(x)       x, no backward rule
 *   test.count(x)        x + number of times this kernel ran (state outside the graph), no backward
 *   test.seed(x)         0-d f32: low 24 bits of ctx->seed; TL_OP_RANDOM
 * and "add" (as test.add) when no "add" op is registered, so autodiff can
 * accumulate gradients. */
void engine_test_ops_register (void);

/* Graph builders of test.scale (attr factor = f) and test.add. */
TlValue *engine_test_scale (TlGraph *g, TlValue *x, double f);
TlValue *engine_test_add (TlGraph *g, TlValue *a, TlValue *b);

/* A new f32 tensor holding `n` values. */
TlTensor *engine_test_tensor (guint ndim, const gint64 *shape, const float *values);

#endif
