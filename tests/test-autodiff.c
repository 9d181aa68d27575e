/* test-autodiff.c — reverse mode on chains, diamonds, multi-output ops. */
#include "config.h"

#include <math.h>
#include <string.h>
#include <tl/tl.h>

#include "engine-test-ops.h"

static TlValue *
op2 (TlGraph *g, const char *op, TlValue *a, TlValue *b)
{
  return tl_graph_op (g, op, 2, (TlValue *[]) { a, b }, NULL);
}

/* Runs `vals` with x fed and returns copies. */
static void
run (TlGraph *g, guint n, TlValue **vals, TlTensor *x, TlTensor **out)
{
  GError *error = NULL;
  TlExec *ex = tl_exec_new (g, n, vals, NULL, &error);
  g_assert_no_error (error);
  if (x)
    g_assert_true (tl_exec_set_input (ex, "x", x, &error));
  g_assert_true (tl_exec_run (ex, 0, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < n; i++)
    out[i] = tl_tensor_copy (tl_exec_get_output (ex, i), NULL);
  tl_exec_free (ex);
}

/* loss = sum(3 * (w * x)) -> dloss/dw = 3x, dloss/dx = 3w */
static void
test_chain (void)
{
  GError *error = NULL;
  TlGraph *g = tl_graph_new ();
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 1, (gint64[]) { 4 });
  TlTensor *wt = engine_test_tensor (1, (gint64[]) { 4 }, (float[]) { 1, 2, 3, 4 });
  TlValue *w = tl_graph_param (g, "w", wt);
  TlValue *loss = tl_graph_op (g, "test.sum", 1,
                               (TlValue *[]) { engine_test_scale (g, op2 (g, "test.mul", w, x), 3.0) }, NULL);
  TlValue *grads[2];
  g_assert_true (tl_autodiff (g, loss, 2, (TlValue *[]) { w, x }, grads, &error));
  g_assert_no_error (error);
  g_assert_nonnull (grads[0]);
  g_assert_nonnull (grads[1]);
  g_assert_true (tl_tensor_desc_equal (tl_value_desc (grads[0]), tl_value_desc (w)));
  TlTensor *xt = engine_test_tensor (1, (gint64[]) { 4 }, (float[]) { -1, 0.5f, 2, 10 });
  TlTensor *out[3];
  run (g, 3, (TlValue *[]) { loss, grads[0], grads[1] }, xt, out);
  g_assert_cmpfloat (tl_tensor_get_flat (out[0], 0), ==, 3 * (-1 + 1 + 6 + 40));
  for (int i = 0; i < 4; i++) {
    g_assert_cmpfloat (tl_tensor_get_flat (out[1], i), ==, 3 * tl_tensor_get_flat (xt, i));
    g_assert_cmpfloat (tl_tensor_get_flat (out[2], i), ==, 3 * tl_tensor_get_flat (wt, i));
  }
  for (int i = 0; i < 3; i++)
    tl_tensor_unref (out[i]);
  tl_tensor_unref (xt);
  tl_tensor_unref (wt);
  tl_graph_unref (g);
}

/* diamond: a = 2x, b = 3x, c = a*b, loss = sum(c + a) -> d/dx = 12x + 2 */
static void
test_diamond (void)
{
  GError *error = NULL;
  TlGraph *g = tl_graph_new ();
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 1, (gint64[]) { 3 });
  TlValue *a = engine_test_scale (g, x, 2.0);
  TlValue *b = engine_test_scale (g, x, 3.0);
  TlValue *c = op2 (g, "test.mul", a, b);
  TlValue *loss = tl_graph_op (g, "test.sum", 1, (TlValue *[]) { op2 (g, "test.add", c, a) }, NULL);
  guint before = tl_graph_n_nodes (g);
  TlValue *gx;
  g_assert_true (tl_autodiff (g, loss, 1, &x, &gx, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tl_graph_n_nodes (g), >, before);
  /* contributions were summed with "add" */
  gboolean saw_add = FALSE;
  for (guint i = before; i < tl_graph_n_nodes (g); i++)
    saw_add |= strcmp (tl_node_op (tl_graph_node (g, i)), "add") == 0;
  g_assert_true (saw_add);
  TlTensor *xt = engine_test_tensor (1, (gint64[]) { 3 }, (float[]) { 1, -2, 0.5f });
  TlTensor *out;
  run (g, 1, &gx, xt, &out);
  for (int i = 0; i < 3; i++)
    g_assert_cmpfloat (fabs (tl_tensor_get_flat (out, i) - (12 * tl_tensor_get_flat (xt, i) + 2)),
                       <, 1e-5);
  tl_tensor_unref (out);
  tl_tensor_unref (xt);

  /* x used twice by one node: d/dx sum(x*x) = 2x */
  TlValue *sq = tl_graph_op (g, "test.sum", 1, (TlValue *[]) { op2 (g, "test.mul", x, x) }, NULL);
  TlValue *gsq;
  g_assert_true (tl_autodiff (g, sq, 1, &x, &gsq, &error));
  xt = engine_test_tensor (1, (gint64[]) { 3 }, (float[]) { 1, -2, 0.5f });
  run (g, 1, &gsq, xt, &out);
  g_assert_cmpfloat (tl_tensor_get_flat (out, 1), ==, -4);
  tl_tensor_unref (out);
  tl_tensor_unref (xt);
  tl_graph_unref (g);
}

static void
test_no_path (void)
{
  GError *error = NULL;
  TlGraph *g = tl_graph_new ();
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 1, (gint64[]) { 2 });
  TlTensor *ut = engine_test_tensor (1, (gint64[]) { 2 }, (float[]) { 1, 1 });
  TlValue *u = tl_graph_param (g, "unused", ut);
  TlValue *side = engine_test_scale (g, u, 5.0); /* depends on u but does not reach the loss */
  (void) side;
  TlValue *loss = tl_graph_op (g, "test.sum", 1, (TlValue *[]) { engine_test_scale (g, x, 2.0) }, NULL);
  TlValue *grads[2] = { (TlValue *) 1, (TlValue *) 1 };
  g_assert_true (tl_autodiff (g, loss, 2, (TlValue *[]) { u, x }, grads, &error));
  g_assert_no_error (error);
  g_assert_null (grads[0]);
  g_assert_nonnull (grads[1]);
  /* the seed is ones_like (or a constant of ones) of a 0-d loss */
  TlValue *gl;
  g_assert_true (tl_autodiff (g, loss, 1, &loss, &gl, &error));
  TlTensor *out;
  TlTensor *xt = engine_test_tensor (1, (gint64[]) { 2 }, (float[]) { 1, 2 });
  run (g, 1, &gl, xt, &out);
  g_assert_cmpfloat (tl_tensor_get_flat (out, 0), ==, 1.0);
  tl_tensor_unref (out);
  tl_tensor_unref (xt);
  tl_tensor_unref (ut);
  tl_graph_unref (g);
}

static void
test_no_backward (void)
{
  GError *error = NULL;
  TlGraph *g = tl_graph_new ();
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 1, (gint64[]) { 2 });
  TlValue *loss = tl_graph_op (g, "test.sum", 1,
                               (TlValue *[]) { tl_graph_op (g, "test.nodiff", 1, &x, NULL) }, NULL);
  TlValue *gx;
  g_assert_false (tl_autodiff (g, loss, 1, &x, &gx, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "test.nodiff"));
  g_clear_error (&error);
  /* a NONDIFF op passes no gradient: no error, no path */
  TlValue *loss2 = tl_graph_op (g, "test.sum", 1,
                                (TlValue *[]) { tl_graph_op (g, "test.count", 1, &x, NULL) }, NULL);
  g_assert_true (tl_autodiff (g, loss2, 1, &x, &gx, &error));
  g_assert_null (gx);
  tl_graph_unref (g);
}

/* multi-output op where only one output reaches the loss */
static void
test_multi_output (void)
{
  GError *error = NULL;
  TlGraph *g = tl_graph_new ();
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 1, (gint64[]) { 2 });
  TlValue *o[2];
  tl_graph_op_multi (g, "test.split2", 1, &x, NULL, 2, o);
  TlValue *loss = tl_graph_op (g, "test.sum", 1, &o[1], NULL);
  TlValue *gx;
  g_assert_true (tl_autodiff (g, loss, 1, &x, &gx, &error));
  g_assert_no_error (error);
  TlTensor *out;
  TlTensor *xt = engine_test_tensor (1, (gint64[]) { 2 }, (float[]) { 1, 2 });
  run (g, 1, &gx, xt, &out);
  g_assert_cmpfloat (tl_tensor_get_flat (out, 0), ==, 2.0);
  tl_tensor_unref (out);
  tl_tensor_unref (xt);
  tl_graph_unref (g);
}

/* Expected value, NaN or +-inf (exact), else within 1e-6. */
static void
assert_close_or_special (double got, double want)
{
  if (isnan (want))
    g_assert_true (isnan (got));
  else if (isinf (want))
    g_assert_cmpfloat (got, ==, want);
  else
    g_assert_cmpfloat_with_epsilon (got, want, 1e-6);
}

/* pow's gradients where the base is 0 or negative match PyTorch 1.13:
 * loss = sum(pow(x, y)), torch.autograd on the same values. */
static void
test_pow_zero_base (void)
{
  GError *error = NULL;
  enum { N = 8 };
  const float xv[N] = { 0, 0, 2, 0, -2, -2, 0, 0.5f };
  const float yv[N] = { 0, 2, 0, -1, 2, 0.5f, 0.5f, 0 };
  const double ln2 = 0.6931471824645996;
  const double dx_torch[N] = { 0, 0, 0, -INFINITY, -4, NAN, INFINITY, 0 };
  const double dy_torch[N] = { 0, 0, ln2, -INFINITY, NAN, NAN, 0, -ln2 };
  TlGraph *g = tl_graph_new ();
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 1, (gint64[]) { N });
  TlTensor *yt = engine_test_tensor (1, (gint64[]) { N }, yv);
  TlValue *y = tl_graph_param (g, "y", yt);
  TlValue *loss = tl_sum (g, tl_pow (g, x, y), 0, NULL, FALSE);
  TlValue *grads[2];
  g_assert_true (tl_autodiff (g, loss, 2, (TlValue *[]) { x, y }, grads, &error));
  g_assert_no_error (error);
  TlTensor *xt = engine_test_tensor (1, (gint64[]) { N }, xv);
  TlTensor *out[2];
  run (g, 2, grads, xt, out);
  for (int i = 0; i < N; i++) {
    assert_close_or_special (tl_tensor_get_flat (out[0], i), dx_torch[i]);
    assert_close_or_special (tl_tensor_get_flat (out[1], i), dy_torch[i]);
  }
  for (int i = 0; i < 2; i++)
    tl_tensor_unref (out[i]);
  tl_tensor_unref (xt);
  tl_tensor_unref (yt);
  tl_graph_unref (g);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  engine_test_ops_register ();
  g_test_add_func ("/autodiff/chain", test_chain);
  g_test_add_func ("/autodiff/diamond", test_diamond);
  g_test_add_func ("/autodiff/no-path", test_no_path);
  g_test_add_func ("/autodiff/no-backward", test_no_backward);
  g_test_add_func ("/autodiff/multi-output", test_multi_output);
  g_test_add_func ("/autodiff/pow-zero-base", test_pow_zero_base);
  return g_test_run ();
}
