/* gradcheck.h — shared helpers for op tests (tests/libtltest.la, check only).
 *
 *   TlRng rng; tl_rng_init (&rng, 42, 0);
 *   g_autoptr (GError) error = NULL;
 *   TlTensor *x = tl_test_randn (&rng, 2, (gint64[]){3, 4}, 1.0);
 *   double err;
 *   g_assert_true (tl_gradcheck ("tanh", 1, &x, NULL, 1e-3, 1e-2, &err, &error));
 *   tl_tensor_unref (x);
 *
 * Link: tests/libtltest.la before $(TL_TEST_LIBS).
 *
 * Device: every executor these helpers create runs on tl_test_device()
 * ($TL_TEST_DEVICE, default "cpu"; e.g. "cuda"). Inputs are host tensors
 * (the executor converts them) and every tensor handed back is a host
 * tensor, so a test reads its results the same way on any device. An op
 * without a kernel on that device fails with tl_exec_new()'s error naming
 * it (TL_ERROR_UNSUPPORTED); nothing falls back to the CPU.
 * tests/gpu/test-ops-cuda.sh runs the op tests with TL_TEST_DEVICE=cuda.
 */
#ifndef TL_TEST_GRADCHECK_H
#define TL_TEST_GRADCHECK_H

#include <tl/tl.h>

G_BEGIN_DECLS

/* The device of the helpers' executors: $TL_TEST_DEVICE when set and not
 * empty, else "cpu". (transfer none) */
const char *tl_test_device (void);
/* tl_exec_options_init() with .device = tl_test_device(): for tests that
 * build their own executor and should follow the test device. */
void tl_test_exec_options_init (TlExecOptions *opts);

/* g_assert_true (call) that first shows the message of `error` (a GError *
 * the call sets) when the call fails, e.g. which op has no device kernel:
 *   TL_TEST_ASSERT_OK (tl_test_forward_deterministic ("sum", 1, &x, NULL, &error), error); */
#define TL_TEST_ASSERT_OK(call, error) \
  G_STMT_START { \
    gboolean tl_test_ok_ = (call); \
    g_assert_no_error (error); \
    g_assert_true (tl_test_ok_); \
  } G_STMT_END

/* Random tensors from a seeded TlRng. (transfer full) */
/* f32 tensor with N(0, scale^2) entries. */
TlTensor *tl_test_randn (TlRng *rng, guint ndim, const gint64 *shape, double scale);
/* Integers uniform in [lo, hi) (any dtype, usually i32/i64). */
TlTensor *tl_test_randint (TlRng *rng, gint64 lo, gint64 hi, TlDType dtype, guint ndim,
                           const gint64 *shape);

/* Gradient check of `op`: builds a graph with the inputs as placeholders,
 * loss = sum(out_k * w_k) over all f32 outputs with fixed random weights w_k,
 * autodiff w.r.t. every float input, compares each gradient element with
 * central finite differences (step eps, computed in double from f32
 * forwards). Returns TRUE when the max error |g - fd| / max(1, |fd|) <= tol;
 * writes it to *max_err (nullable); error explains which input/element. */
gboolean tl_gradcheck (const char *op, guint n_inputs, TlTensor *const *inputs, const TlAttrs *attrs,
                       double eps, double tol, double *max_err, GError **error);

/* Forward twice on the same inputs; TRUE when outputs are bitwise equal. */
gboolean tl_test_forward_deterministic (const char *op, guint n_inputs, TlTensor *const *inputs,
                                        const TlAttrs *attrs, GError **error);

/* Run `op` once on `inputs` (graph placeholders): forward outputs and,
 * when with_grads, the vector-Jacobian product for a random upstream
 * gradient (N(0,1) from TlRng (grad_seed, 7), one per f32 output, in output
 * order; NULL for non-f32 outputs) w.r.t. every float input (a zero tensor
 * where autodiff finds no path; NULL for non-float inputs).
 * On success *n_outputs is the output count and *outputs / *grad_outputs
 * (n_outputs entries) and *grad_inputs (n_inputs entries) are (transfer full),
 * free with tl_test_tensors_free; the grad arrays are NULL without with_grads.
 * grad_outputs and grad_inputs may be NULL when not wanted. */
gboolean tl_test_run_op (const char *op, guint n_inputs, TlTensor *const *inputs, const TlAttrs *attrs,
                         gboolean with_grads, guint64 grad_seed, guint *n_outputs, TlTensor ***outputs,
                         TlTensor ***grad_outputs, TlTensor ***grad_inputs, GError **error);
/* tl_test_run_op() with the executor in training mode when `training`
 * (tl_test_run_op() runs in inference mode). */
gboolean tl_test_run_op_mode (const char *op, guint n_inputs, TlTensor *const *inputs, const TlAttrs *attrs,
                              gboolean training, gboolean with_grads, guint64 grad_seed, guint *n_outputs,
                              TlTensor ***outputs, TlTensor ***grad_outputs, TlTensor ***grad_inputs,
                              GError **error);
/* Unref n tensors (NULL entries allowed) and free the array (NULL-safe). */
void tl_test_tensors_free (TlTensor **ts, guint n);

G_END_DECLS

#endif /* TL_TEST_GRADCHECK_H */
