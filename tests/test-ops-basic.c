/* test-ops-basic.c — gradient checks, forward values, error messages and
 * determinism of the basic op set (elementwise, reductions, softmax, layer
 * norm, shape ops, losses). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "gradcheck.h"

#define EPS 1e-3
#define TOL 1e-2

#define SHAPE(...) (sizeof ((gint64[]){ __VA_ARGS__ }) / sizeof (gint64)), ((const gint64[]){ __VA_ARGS__ })

static TlRng rng;

static void
check_grad (const char *op, guint n, TlTensor **in, const TlAttrs *attrs)
{
  g_autoptr (GError) error = NULL;
  double err = -1;
  gboolean ok = tl_gradcheck (op, n, in, attrs, EPS, TOL, &err, &error);
  if (!ok)
    g_test_message ("%s: %s", op, error ? error->message : "?");
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_cmpfloat (err, <=, TOL);
}

/* Gradcheck then unref the inputs. */
static void
grad_and_free (const char *op, guint n, TlTensor **in, TlAttrs *attrs)
{
  check_grad (op, n, in, attrs);
  for (guint i = 0; i < n; i++)
    tl_tensor_unref (in[i]);
  tl_attrs_free (attrs);
}

/* randn pushed away from 0 by `gap` (for kinks at 0). */
static TlTensor *
randn_away (guint nd, const gint64 *shape, double gap)
{
  TlTensor *t = tl_test_randn (&rng, nd, shape, 1.0);
  float *p = tl_tensor_data (t);
  for (gint64 i = 0; i < tl_tensor_numel (t); i++)
    p[i] += p[i] >= 0 ? (float) gap : (float) -gap;
  return t;
}

static TlTensor *
randpos (guint nd, const gint64 *shape)
{
  TlTensor *t = tl_test_randn (&rng, nd, shape, 1.0);
  float *p = tl_tensor_data (t);
  for (gint64 i = 0; i < tl_tensor_numel (t); i++)
    p[i] = 0.5f + fabsf (p[i]);
  return t;
}

static TlAttrs *
attrs_ints (const char *key, guint n, const gint64 *v)
{
  TlAttrs *a = tl_attrs_new ();
  tl_attrs_set_ints (a, key, n, v);
  return a;
}

/* --- elementwise ---------------------------------------------------------- */

static const char *const smooth_unary[] = { "neg", "exp", "square", "gelu", "tanh", "sigmoid" };
static const char *const positive_unary[] = { "log", "sqrt", "rsqrt" };
static const char *const kink_unary[] = { "abs", "relu" };

static void
test_unary_grad (void)
{
  for (guint s = 0; s < 3; s++) {
    const gint64 shapes[3][3] = { { 3, 4, 0 }, { 2, 3, 5 }, { 7, 0, 0 } };
    const guint nds[3] = { 2, 3, 1 };
    for (guint i = 0; i < G_N_ELEMENTS (smooth_unary); i++) {
      TlTensor *x = tl_test_randn (&rng, nds[s], shapes[s], 1.0);
      grad_and_free (smooth_unary[i], 1, &x, NULL);
    }
    for (guint i = 0; i < G_N_ELEMENTS (positive_unary); i++) {
      TlTensor *x = randpos (nds[s], shapes[s]);
      grad_and_free (positive_unary[i], 1, &x, NULL);
    }
    for (guint i = 0; i < G_N_ELEMENTS (kink_unary); i++) {
      TlTensor *x = randn_away (nds[s], shapes[s], 0.1);
      grad_and_free (kink_unary[i], 1, &x, NULL);
    }
  }
  /* 0-d input */
  TlTensor *x = tl_test_randn (&rng, 0, NULL, 1.0);
  grad_and_free ("tanh", 1, &x, NULL);
}

typedef struct {
  guint na, nb;
  gint64 a[4], b[4];
} ShapePair;

static const ShapePair bin_shapes[] = {
  { 2, 2, { 3, 4 }, { 3, 4 } },       /* same shape */
  { 2, 1, { 3, 4 }, { 4 } },          /* row broadcast */
  { 3, 2, { 2, 1, 4 }, { 3, 1 } },    /* both sides broadcast */
  { 2, 0, { 3, 4 }, { 0 } },          /* scalar b */
  { 0, 2, { 0 }, { 2, 3 } },          /* scalar a */
  { 3, 3, { 2, 3, 1 }, { 1, 3, 5 } }, /* middle dim shared */
};

static void
test_binary_grad (void)
{
  const char *ops[] = { "add", "sub", "mul", "div", "maximum", "minimum", "pow" };
  for (guint s = 0; s < G_N_ELEMENTS (bin_shapes); s++) {
    const ShapePair *sp = &bin_shapes[s];
    for (guint i = 0; i < G_N_ELEMENTS (ops); i++) {
      TlTensor *in[2];
      gboolean pos = !strcmp (ops[i], "div") || !strcmp (ops[i], "pow");
      in[0] = pos ? randpos (sp->na, sp->a) : tl_test_randn (&rng, sp->na, sp->a, 1.0);
      in[1] = pos ? randpos (sp->nb, sp->b) : tl_test_randn (&rng, sp->nb, sp->b, 1.0);
      grad_and_free (ops[i], 2, in, NULL);
    }
  }
}

static void
test_affine_grad (void)
{
  TlAttrs *a = tl_attrs_new ();
  tl_attrs_set_float (a, "scale", -2.5);
  tl_attrs_set_float (a, "bias", 0.75);
  TlTensor *x = tl_test_randn (&rng, SHAPE (4, 5), 1.0);
  grad_and_free ("affine_scalar", 1, &x, a);
}

/* Forward of one op on given inputs; returns output 0 (transfer full). */
static TlTensor *
run1 (const char *op, guint n, TlTensor **in, const TlAttrs *attrs)
{
  g_autoptr (GError) error = NULL;
  guint n_out = 0;
  TlTensor **outs = NULL;
  TL_TEST_ASSERT_OK (tl_test_run_op (op, n, in, attrs, FALSE, 0, &n_out, &outs, NULL, NULL, &error), error);
  TlTensor *r = tl_tensor_ref (outs[0]);
  tl_test_tensors_free (outs, n_out);
  return r;
}

static void
test_binary_values (void)
{
  /* broadcast [2,1,3] + [2,1] -> [2,2,3], checked against a direct loop */
  TlTensor *in[2] = { tl_test_randn (&rng, SHAPE (2, 1, 3), 1.0), tl_test_randn (&rng, SHAPE (2, 1), 1.0) };
  const char *ops[] = { "add", "sub", "mul", "maximum" };
  for (guint o = 0; o < G_N_ELEMENTS (ops); o++) {
    TlTensor *y = run1 (ops[o], 2, in, NULL);
    g_assert_cmpuint (tl_tensor_ndim (y), ==, 3);
    g_assert_cmpint (tl_tensor_dim (y, 1), ==, 2);
    for (gint64 i = 0; i < 2; i++)
      for (gint64 j = 0; j < 2; j++)
        for (gint64 k = 0; k < 3; k++) {
          double a = tl_tensor_get_flat (in[0], i * 3 + k), b = tl_tensor_get_flat (in[1], j);
          double want = o == 0 ? a + b : o == 1 ? a - b : o == 2 ? a * b : MAX (a, b);
          g_assert_cmpfloat_with_epsilon (tl_tensor_get_flat (y, (i * 2 + j) * 3 + k), want, 1e-6);
        }
    tl_tensor_unref (y);
  }
  tl_tensor_unref (in[0]);
  tl_tensor_unref (in[1]);

  /* integer add/mul with broadcasting */
  const gint32 av[] = { 1, 2, 3, 4, 5, 6 }, bv[] = { 10, 20, 30 };
  TlTensor *ia[2] = { tl_tensor_new_from_data (TL_DTYPE_I32, SHAPE (2, 3), av, NULL),
                      tl_tensor_new_from_data (TL_DTYPE_I32, SHAPE (3), bv, NULL) };
  TlTensor *s = run1 ("add", 2, ia, NULL);
  g_assert_cmpint (tl_tensor_dtype (s), ==, TL_DTYPE_I32);
  g_assert_cmpfloat (tl_tensor_get_flat (s, 5), ==, 36);
  tl_tensor_unref (s);
  s = run1 ("mul", 2, ia, NULL);
  g_assert_cmpfloat (tl_tensor_get_flat (s, 4), ==, 100);
  tl_tensor_unref (s);
  tl_tensor_unref (ia[0]);
  tl_tensor_unref (ia[1]);

  /* a large same-shape and a large broadcast run (parallel paths) */
  TlTensor *big[2] = { tl_test_randn (&rng, SHAPE (300, 401), 1.0), tl_test_randn (&rng, SHAPE (401), 1.0) };
  TlTensor *y = run1 ("add", 2, big, NULL);
  for (gint64 i = 0; i < 300 * 401; i += 997)
    g_assert_cmpfloat_with_epsilon (tl_tensor_get_flat (y, i),
                                    tl_tensor_get_flat (big[0], i) + tl_tensor_get_flat (big[1], i % 401), 1e-6);
  tl_tensor_unref (y);
  tl_tensor_unref (big[0]);
  tl_tensor_unref (big[1]);
}

static void
test_unary_values (void)
{
  const float xv[] = { -2.0f, -0.5f, 0.0f, 1.5f };
  TlTensor *x = tl_tensor_new_from_data (TL_DTYPE_F32, SHAPE (4), xv, NULL);
  TlTensor *y = run1 ("gelu", 1, &x, NULL);
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat_with_epsilon (tl_tensor_get_flat (y, i), 0.5 * xv[i] * (1 + erf (xv[i] / sqrt (2.0))), 1e-6);
  tl_tensor_unref (y);
  y = run1 ("relu", 1, &x, NULL);
  g_assert_cmpfloat (tl_tensor_get_flat (y, 0), ==, 0.0);
  g_assert_cmpfloat (tl_tensor_get_flat (y, 3), ==, 1.5);
  tl_tensor_unref (y);
  y = run1 ("sigmoid", 1, &x, NULL);
  g_assert_cmpfloat_with_epsilon (tl_tensor_get_flat (y, 2), 0.5, 1e-7);
  tl_tensor_unref (y);
  y = run1 ("ones_like", 1, &x, NULL);
  g_assert_cmpfloat (tl_tensor_get_flat (y, 1), ==, 1.0);
  tl_tensor_unref (y);
  y = run1 ("zeros_like", 1, &x, NULL);
  g_assert_cmpfloat (tl_tensor_get_flat (y, 3), ==, 0.0);
  tl_tensor_unref (y);

  TlAttrs *a = tl_attrs_new ();
  tl_attrs_set_string (a, "dtype", "i64");
  y = run1 ("cast", 1, &x, a);
  g_assert_cmpint (tl_tensor_dtype (y), ==, TL_DTYPE_I64);
  g_assert_cmpfloat (tl_tensor_get_flat (y, 3), ==, 1.0);
  tl_tensor_unref (y);
  tl_attrs_free (a);
  tl_tensor_unref (x);
}

/* --- reductions ------------------------------------------------------------- */

static void
test_reduce_grad (void)
{
  const char *ops[] = { "sum", "mean", "max" };
  const gint64 axes_sets[][3] = { { 0 }, { 1 }, { 0, 2 }, { -1 } };
  const guint n_axes[] = { 1, 1, 2, 1 };
  for (guint o = 0; o < G_N_ELEMENTS (ops); o++) {
    for (guint k = 0; k < 2; k++) {
      /* all axes */
      TlAttrs *a = tl_attrs_new ();
      tl_attrs_set_int (a, "keepdims", k);
      TlTensor *x = tl_test_randn (&rng, SHAPE (3, 4), 1.0);
      grad_and_free (ops[o], 1, &x, a);
      for (guint s = 0; s < G_N_ELEMENTS (n_axes); s++) {
        a = attrs_ints ("axes", n_axes[s], axes_sets[s]);
        tl_attrs_set_int (a, "keepdims", k);
        x = tl_test_randn (&rng, SHAPE (2, 3, 4), 1.0);
        grad_and_free (ops[o], 1, &x, a);
      }
    }
  }
}

static void
test_reduce_values (void)
{
  /* sum of 200k elements (parallel chunked path) vs a double reference */
  TlTensor *x = tl_test_randn (&rng, SHAPE (200003), 1.0);
  TlTensor *s = run1 ("sum", 1, &x, NULL);
  double ref = 0;
  for (gint64 i = 0; i < 200003; i++)
    ref += tl_tensor_get_flat (x, i);
  g_assert_cmpuint (tl_tensor_ndim (s), ==, 0);
  g_assert_cmpfloat_with_epsilon (tl_tensor_get_flat (s, 0), ref, 1e-3 * MAX (1.0, fabs (ref)));
  tl_tensor_unref (s);
  g_autoptr (GError) error = NULL;
  TL_TEST_ASSERT_OK (tl_test_forward_deterministic ("sum", 1, &x, NULL, &error), error);
  tl_tensor_unref (x);

  /* mean over the middle axis, keepdims */
  x = tl_test_randn (&rng, SHAPE (3, 5, 2), 1.0);
  TlAttrs *a = attrs_ints ("axes", 1, (gint64[]){ 1 });
  tl_attrs_set_int (a, "keepdims", 1);
  TlTensor *m = run1 ("mean", 1, &x, a);
  g_assert_cmpint (tl_tensor_ndim (m), ==, 3);
  g_assert_cmpint (tl_tensor_dim (m, 1), ==, 1);
  double r = 0;
  for (int j = 0; j < 5; j++)
    r += tl_tensor_get_flat (x, 2 * 10 + j * 2 + 1);
  g_assert_cmpfloat_with_epsilon (tl_tensor_get_flat (m, 2 * 2 + 1), r / 5, 1e-6);
  tl_tensor_unref (m);
  tl_attrs_free (a);

  /* argmax along axis 1 */
  a = tl_attrs_new ();
  tl_attrs_set_int (a, "axis", 1);
  TlTensor *am = run1 ("argmax", 1, &x, a);
  g_assert_cmpint (tl_tensor_dtype (am), ==, TL_DTYPE_I64);
  for (int i = 0; i < 3; i++)
    for (int k = 0; k < 2; k++) {
      int best = 0;
      for (int j = 1; j < 5; j++)
        if (tl_tensor_get_flat (x, i * 10 + j * 2 + k) > tl_tensor_get_flat (x, i * 10 + best * 2 + k))
          best = j;
      g_assert_cmpfloat (tl_tensor_get_flat (am, i * 2 + k), ==, best);
    }
  tl_tensor_unref (am);
  tl_attrs_free (a);
  tl_tensor_unref (x);
}

static void
test_broadcast_grad (void)
{
  TlTensor *x = tl_test_randn (&rng, SHAPE (3, 1), 1.0);
  grad_and_free ("broadcast_to", 1, &x, attrs_ints ("shape", 3, (gint64[]){ 2, 3, 4 }));
  x = tl_test_randn (&rng, SHAPE (2, 3, 4), 1.0);
  grad_and_free ("sum_to", 1, &x, attrs_ints ("shape", 2, (gint64[]){ 3, 1 }));
  x = tl_test_randn (&rng, SHAPE (2, 3, 4), 1.0);
  grad_and_free ("sum_to", 1, &x, attrs_ints ("shape", 3, (gint64[]){ 1, 3, 1 }));
}

/* --- softmax and layer norm ----------------------------------------------------- */

static void
test_softmax (void)
{
  const gint64 axes[] = { -1, 0, 1 };
  for (guint i = 0; i < G_N_ELEMENTS (axes); i++) {
    for (guint l = 0; l < 2; l++) {
      TlAttrs *a = tl_attrs_new ();
      tl_attrs_set_int (a, "axis", axes[i]);
      TlTensor *x = tl_test_randn (&rng, SHAPE (3, 4, 2), 2.0);
      grad_and_free (l ? "log_softmax" : "softmax", 1, &x, a);
    }
  }
  /* stable for large logits; rows sum to 1 */
  const float xv[] = { 1000.0f, 1001.0f, 999.0f, -5.0f, 0.0f, 5.0f };
  TlTensor *x = tl_tensor_new_from_data (TL_DTYPE_F32, SHAPE (2, 3), xv, NULL);
  TlTensor *y = run1 ("softmax", 1, &x, NULL);
  for (int r = 0; r < 2; r++) {
    double s = 0;
    for (int j = 0; j < 3; j++) {
      g_assert_true (isfinite (tl_tensor_get_flat (y, r * 3 + j)));
      s += tl_tensor_get_flat (y, r * 3 + j);
    }
    g_assert_cmpfloat_with_epsilon (s, 1.0, 1e-6);
  }
  tl_tensor_unref (y);
  y = run1 ("log_softmax", 1, &x, NULL);
  g_assert_true (isfinite (tl_tensor_get_flat (y, 0)));
  tl_tensor_unref (y);
  tl_tensor_unref (x);
}

static void
test_layer_norm (void)
{
  for (guint mode = 0; mode < 4; mode++) {
    gboolean hg = mode & 1, hb = mode & 2;
    TlTensor *in[3];
    guint n = 0;
    in[n++] = tl_test_randn (&rng, SHAPE (3, 2, 5), 1.0);
    if (hg)
      in[n++] = tl_test_randn (&rng, SHAPE (5), 1.0);
    if (hb)
      in[n++] = tl_test_randn (&rng, SHAPE (5), 1.0);
    TlAttrs *a = tl_attrs_new ();
    tl_attrs_set_int (a, "has_gamma", hg);
    tl_attrs_set_int (a, "has_beta", hb);
    tl_attrs_set_float (a, "eps", 1e-5);
    grad_and_free ("layer_norm", n, in, a);
  }
  /* normalised rows: mean 0, variance 1 */
  TlTensor *x = tl_test_randn (&rng, SHAPE (4, 64), 3.0);
  TlTensor *y = run1 ("layer_norm", 1, &x, NULL);
  for (int r = 0; r < 4; r++) {
    double s = 0, ss = 0;
    for (int j = 0; j < 64; j++) {
      double v = tl_tensor_get_flat (y, r * 64 + j);
      s += v;
      ss += v * v;
    }
    g_assert_cmpfloat_with_epsilon (s / 64, 0.0, 1e-5);
    g_assert_cmpfloat_with_epsilon (ss / 64, 1.0, 1e-3);
  }
  tl_tensor_unref (y);
  tl_tensor_unref (x);
}

/* --- shape ops ------------------------------------------------------------------- */

static void
test_shape_grad (void)
{
  TlTensor *x = tl_test_randn (&rng, SHAPE (2, 3, 4), 1.0);
  grad_and_free ("reshape", 1, &x, attrs_ints ("shape", 2, (gint64[]){ 4, -1 }));
  x = tl_test_randn (&rng, SHAPE (2, 3, 4), 1.0);
  grad_and_free ("transpose", 1, &x, attrs_ints ("perm", 3, (gint64[]){ 2, 0, 1 }));
  x = tl_test_randn (&rng, SHAPE (3, 4), 1.0);
  grad_and_free ("transpose", 1, &x, NULL);

  TlTensor *cin[3] = { tl_test_randn (&rng, SHAPE (2, 1, 3), 1.0), tl_test_randn (&rng, SHAPE (2, 4, 3), 1.0),
                       tl_test_randn (&rng, SHAPE (2, 2, 3), 1.0) };
  TlAttrs *a = tl_attrs_new ();
  tl_attrs_set_int (a, "axis", 1);
  grad_and_free ("concat", 3, cin, a);

  a = attrs_ints ("sizes", 3, (gint64[]){ 1, 3, 2 });
  tl_attrs_set_int (a, "axis", -1);
  x = tl_test_randn (&rng, SHAPE (3, 6), 1.0);
  grad_and_free ("split", 1, &x, a);

  a = tl_attrs_new ();
  tl_attrs_set_int (a, "axis", 1);
  tl_attrs_set_int (a, "start", 1);
  tl_attrs_set_int (a, "end", -1);
  tl_attrs_set_int (a, "step", 2);
  x = tl_test_randn (&rng, SHAPE (2, 7, 2), 1.0);
  grad_and_free ("slice", 1, &x, a);
}

static void
test_shape_values (void)
{
  /* transpose / slice / concat on i64 data */
  gint64 v[6] = { 0, 1, 2, 3, 4, 5 };
  TlTensor *x = tl_tensor_new_from_data (TL_DTYPE_I64, SHAPE (2, 3), v, NULL);
  TlTensor *t = run1 ("transpose", 1, &x, NULL);
  g_assert_cmpint (tl_tensor_dim (t, 0), ==, 3);
  g_assert_cmpfloat (tl_tensor_get_flat (t, 1), ==, 3);
  g_assert_cmpfloat (tl_tensor_get_flat (t, 4), ==, 2);
  tl_tensor_unref (t);
  TlAttrs *a = tl_attrs_new ();
  tl_attrs_set_int (a, "axis", 1);
  tl_attrs_set_int (a, "start", -2);
  TlTensor *s = run1 ("slice", 1, &x, a);
  g_assert_cmpint (tl_tensor_dim (s, 1), ==, 2);
  g_assert_cmpfloat (tl_tensor_get_flat (s, 0), ==, 1);
  g_assert_cmpfloat (tl_tensor_get_flat (s, 3), ==, 5);
  tl_attrs_free (a);
  TlTensor *cat_in[2] = { x, s };
  a = tl_attrs_new ();
  tl_attrs_set_int (a, "axis", 1);
  TlTensor *c = run1 ("concat", 2, cat_in, a);
  g_assert_cmpint (tl_tensor_dim (c, 1), ==, 5);
  g_assert_cmpfloat (tl_tensor_get_flat (c, 4), ==, 2);
  g_assert_cmpfloat (tl_tensor_get_flat (c, 9), ==, 5);
  tl_attrs_free (a);
  tl_tensor_unref (c);
  tl_tensor_unref (s);
  tl_tensor_unref (x);
}

/* --- losses -------------------------------------------------------------------------- */

static void
test_losses (void)
{
  for (guint dt = 0; dt < 2; dt++) {
    TlTensor *in[2] = { tl_test_randn (&rng, SHAPE (5, 4), 1.5),
                        tl_test_randint (&rng, 0, 4, dt ? TL_DTYPE_I64 : TL_DTYPE_I32, SHAPE (5)) };
    tl_tensor_set_flat (in[1], 2, -1); /* ignored row */
    check_grad ("cross_entropy", 2, in, NULL);
    /* value against a direct computation */
    TlTensor *l = run1 ("cross_entropy", 2, in, NULL);
    double ref = 0;
    int cnt = 0;
    for (int r = 0; r < 5; r++) {
      int lab = (int) tl_tensor_get_flat (in[1], r);
      if (lab < 0)
        continue;
      double m = -INFINITY, s = 0;
      for (int j = 0; j < 4; j++)
        m = MAX (m, tl_tensor_get_flat (in[0], r * 4 + j));
      for (int j = 0; j < 4; j++)
        s += exp (tl_tensor_get_flat (in[0], r * 4 + j) - m);
      ref += m + log (s) - tl_tensor_get_flat (in[0], r * 4 + lab);
      cnt++;
    }
    g_assert_cmpfloat_with_epsilon (tl_tensor_get_flat (l, 0), ref / cnt, 1e-5);
    tl_tensor_unref (l);
    tl_tensor_unref (in[0]);
    tl_tensor_unref (in[1]);
  }
  TlTensor *b[2] = { tl_test_randn (&rng, SHAPE (3, 4), 3.0), tl_test_randn (&rng, SHAPE (3, 4), 1.0) };
  float *t = tl_tensor_data (b[1]);
  for (int i = 0; i < 12; i++)
    t[i] = t[i] > 0 ? 1.0f : 0.0f;
  check_grad ("bce_with_logits", 2, b, NULL);
  tl_tensor_unref (b[0]);
  tl_tensor_unref (b[1]);
  /* stable for large logits */
  const float big[] = { 200.0f, -200.0f }, tgt[] = { 0.0f, 1.0f };
  b[0] = tl_tensor_new_from_data (TL_DTYPE_F32, SHAPE (2), big, NULL);
  b[1] = tl_tensor_new_from_data (TL_DTYPE_F32, SHAPE (2), tgt, NULL);
  TlTensor *l = run1 ("bce_with_logits", 2, b, NULL);
  g_assert_cmpfloat_with_epsilon (tl_tensor_get_flat (l, 0), 200.0, 1e-3);
  tl_tensor_unref (l);
  tl_tensor_unref (b[0]);
  tl_tensor_unref (b[1]);

  TlTensor *m[2] = { tl_test_randn (&rng, SHAPE (2, 3, 2), 1.0), tl_test_randn (&rng, SHAPE (2, 3, 2), 1.0) };
  grad_and_free ("mse", 2, m, NULL);
}

/* --- errors ----------------------------------------------------------------------------- */

/* Build op on placeholders of the given descs; expect an error code and a message fragment. */
static void
expect_error (const char *op, guint n, const TlTensorDesc *descs, const TlAttrs *attrs, gint code,
              const char *fragment)
{
  g_autoptr (GError) error = NULL;
  TlGraph *g = tl_graph_new ();
  TlValue *in[4];
  for (guint i = 0; i < n; i++) {
    g_autofree char *name = g_strdup_printf ("x%u", i);
    in[i] = tl_graph_input (g, name, descs[i].dtype, descs[i].ndim, descs[i].shape);
  }
  TlValue *outs[8];
  guint got = tl_graph_op_multi (g, op, n, in, attrs, 8, outs);
  g_assert_cmpuint (got, ==, 0);
  g_assert_false (tl_graph_take_error (g, &error));
  g_assert_error (error, TL_ERROR, code);
  if (!strstr (error->message, fragment))
    g_error ("%s: message '%s' lacks '%s'", op, error->message, fragment);
  tl_graph_unref (g);
}

static TlTensorDesc
desc (TlDType dt, guint nd, const gint64 *shape)
{
  TlTensorDesc d;
  tl_tensor_desc_init (&d, dt, nd, shape);
  return d;
}

static void
test_errors (void)
{
  g_assert_true (tl_init (NULL));
  TlTensorDesc d[3];
  d[0] = desc (TL_DTYPE_F32, SHAPE (3, 4));
  d[1] = desc (TL_DTYPE_F32, SHAPE (5));
  expect_error ("add", 2, d, NULL, TL_ERROR_SHAPE, "do not broadcast");
  d[1] = desc (TL_DTYPE_I32, SHAPE (4));
  expect_error ("mul", 2, d, NULL, TL_ERROR_SHAPE, "dtypes differ");
  d[0] = desc (TL_DTYPE_I32, SHAPE (3, 4));
  expect_error ("exp", 1, d, NULL, TL_ERROR_SHAPE, "expected f32");
  d[0] = desc (TL_DTYPE_F32, SHAPE (3, 4));

  TlAttrs *a = attrs_ints ("shape", 2, (gint64[]){ 5, -1 });
  expect_error ("reshape", 1, d, a, TL_ERROR_SHAPE, "cannot infer");
  tl_attrs_free (a);
  a = attrs_ints ("perm", 2, (gint64[]){ 0, 0 });
  expect_error ("transpose", 1, d, a, TL_ERROR_INVALID_ARGUMENT, "not a permutation");
  tl_attrs_free (a);
  a = attrs_ints ("axes", 1, (gint64[]){ 2 });
  expect_error ("sum", 1, d, a, TL_ERROR_INVALID_ARGUMENT, "out of range");
  tl_attrs_free (a);
  a = attrs_ints ("shape", 2, (gint64[]){ 2, 4 });
  expect_error ("broadcast_to", 1, d, a, TL_ERROR_SHAPE, "does not broadcast");
  tl_attrs_free (a);

  d[1] = desc (TL_DTYPE_F32, SHAPE (3, 5));
  a = tl_attrs_new ();
  tl_attrs_set_int (a, "axis", 0);
  expect_error ("concat", 2, d, a, TL_ERROR_SHAPE, "does not match");
  tl_attrs_free (a);
  a = attrs_ints ("sizes", 2, (gint64[]){ 1, 1 });
  expect_error ("split", 1, d, a, TL_ERROR_SHAPE, "add up to");
  tl_attrs_free (a);

  a = tl_attrs_new ();
  tl_attrs_set_int (a, "has_gamma", 1);
  expect_error ("layer_norm", 2, d, a, TL_ERROR_SHAPE, "must be [4]");
  tl_attrs_free (a);

  d[1] = desc (TL_DTYPE_F32, SHAPE (3));
  expect_error ("cross_entropy", 2, d, NULL, TL_ERROR_SHAPE, "expected i32/i64");
  d[1] = desc (TL_DTYPE_I64, SHAPE (2));
  expect_error ("cross_entropy", 2, d, NULL, TL_ERROR_SHAPE, "labels [N]");
  d[1] = desc (TL_DTYPE_F32, SHAPE (4, 3));
  expect_error ("mse", 2, d, NULL, TL_ERROR_SHAPE, "same shape");
}

/* An out-of-range label: a run-time error of the CPU kernel; the CUDA
 * kernel records it on the device and the next wait for the stream (the
 * read of the output) reports it. */
static void
test_errors_run_time (void)
{
  TlTensor *in[2] = { tl_test_randn (&rng, SHAPE (2, 3), 1.0),
                      tl_test_randint (&rng, 3, 4, TL_DTYPE_I64, SHAPE (2)) };
  g_autoptr (GError) error = NULL;
  guint n_out = 0;
  TlTensor **outs = NULL;
  g_assert_false (tl_test_run_op ("cross_entropy", 2, in, NULL, FALSE, 0, &n_out, &outs, NULL, NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  tl_tensor_unref (in[0]);
  tl_tensor_unref (in[1]);
}

/* --- determinism ------------------------------------------------------------------------- */

static void
test_deterministic (void)
{
  g_autoptr (GError) error = NULL;
  TlTensor *x = tl_test_randn (&rng, SHAPE (64, 1031), 1.0);
  const char *unary[] = { "softmax", "log_softmax", "layer_norm", "sum", "mean", "max", "gelu" };
  for (guint i = 0; i < G_N_ELEMENTS (unary); i++) {
    TL_TEST_ASSERT_OK (tl_test_forward_deterministic (unary[i], 1, &x, NULL, &error), error);
  }
  TlAttrs *a = attrs_ints ("axes", 1, (gint64[]){ 0 });
  TL_TEST_ASSERT_OK (tl_test_forward_deterministic ("sum", 1, &x, a, &error), error);
  tl_attrs_free (a);
  TlTensor *in[2] = { x, tl_test_randn (&rng, SHAPE (64, 1031), 1.0) };
  TL_TEST_ASSERT_OK (tl_test_forward_deterministic ("mse", 2, in, NULL, &error), error);
  tl_tensor_unref (in[1]);
  tl_tensor_unref (x);
}

/* The typed builders of tl-ops.h: shapes, one run, sticky errors. */
static void
test_builders (void)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (tl_init (NULL));
  TlGraph *g = tl_graph_new ();
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 2, (gint64[]){ 4, 6 });
  TlValue *b = tl_graph_input (g, "b", TL_DTYPE_F32, 1, (gint64[]){ 6 });
  TlValue *h = tl_relu (g, tl_add (g, x, b));
  h = tl_scale (g, tl_gelu (g, tl_sub (g, tl_mul (g, h, b), tl_div (g, h, tl_exp (g, b)))), 0.5, 1.0);
  h = tl_maximum (g, tl_minimum (g, h, tl_sqrt (g, tl_abs (g, x))), tl_neg (g, tl_square (g, b)));
  h = tl_add (g, h, tl_pow (g, tl_sigmoid (g, x), tl_tanh (g, b)));
  h = tl_add (g, h, tl_log (g, tl_rsqrt (g, tl_add (g, tl_ones_like (g, x), tl_zeros_like (g, x)))));
  TlValue *ln = tl_layer_norm (g, h, NULL, b, 1e-5);
  TlValue *sm = tl_softmax (g, ln, -1);
  TlValue *lsm = tl_log_softmax (g, ln, 0);
  TlValue *parts[2];
  g_assert_true (tl_split (g, sm, 1, 2, (gint64[]){ 2, 4 }, parts));
  TlValue *cat = tl_concat (g, 2, (TlValue *[]){ parts[1], parts[0] }, 1);
  TlValue *t = tl_transpose (g, tl_slice (g, cat, 0, 1, 4, 2), 0, NULL);
  g_assert_cmpint (tl_value_dim (t, 0), ==, 6);
  g_assert_cmpint (tl_value_dim (t, 1), ==, 2);
  {
    /* a huge step: one element, no overflow in the length */
    TlGraph *g2 = tl_graph_new ();
    TlValue *x2 = tl_graph_input (g2, "x", TL_DTYPE_F32, 2, (gint64[]){ 4, 6 });
    g_assert_cmpint (tl_value_dim (tl_slice (g2, x2, 1, 1, 6, G_MAXINT64), 1), ==, 1);
    g_assert_true (tl_graph_take_error (g2, &error));
    tl_graph_unref (g2);
  }
  TlValue *r = tl_reshape (g, t, 1, (gint64[]){ -1 });
  g_assert_cmpint (tl_value_dim (r, 0), ==, 12);
  TlValue *bt = tl_broadcast_to (g, b, 3, (gint64[]){ 2, 4, 6 });
  TlValue *st = tl_sum_to (g, bt, 2, (gint64[]){ 1, 6 });
  TlValue *red = tl_add (g, tl_sum (g, r, 0, NULL, FALSE), tl_mean (g, tl_max (g, lsm, 1, (gint[]){ 1 }, TRUE), 0, NULL, FALSE));
  TlValue *am = tl_argmax (g, x, 1);
  g_assert_cmpint (tl_value_dtype (am), ==, TL_DTYPE_I64);
  TlValue *labels = tl_cast (g, am, TL_DTYPE_I32);
  TlValue *loss = tl_add (g, tl_add (g, tl_cross_entropy (g, x, labels), tl_mse (g, x, h)),
                          tl_add (g, tl_bce_with_logits (g, x, sm), red));
  g_assert_true (tl_graph_take_error (g, &error));
  g_assert_cmpuint (tl_value_ndim (loss), ==, 0);
  g_assert_cmpint (tl_value_dim (st, 0), ==, 1);

  TlValue *grads[2];
  g_assert_true (tl_autodiff (g, loss, 2, (TlValue *[]){ x, b }, grads, &error));
  g_assert_no_error (error);
  TlExecOptions opts;
  tl_test_exec_options_init (&opts);
  TlExec *ex = tl_exec_new (g, 3, (TlValue *[]){ loss, grads[0], grads[1] }, &opts, &error);
  g_assert_no_error (error);
  TlTensor *xt = tl_test_randn (&rng, SHAPE (4, 6), 1.0), *bt_ = tl_test_randn (&rng, SHAPE (6), 1.0);
  TL_TEST_ASSERT_OK (tl_exec_set_input (ex, "x", xt, &error), error);
  TL_TEST_ASSERT_OK (tl_exec_set_input (ex, "b", bt_, &error), error);
  TL_TEST_ASSERT_OK (tl_exec_run (ex, 0, &error), error);
  for (guint i = 0; i < 3; i++) {
    g_autoptr (TlTensor) gt = tl_exec_get_output_host (ex, i, &error);
    g_assert_no_error (error);
    for (gint64 j = 0; j < tl_tensor_numel (gt); j++)
      g_assert_true (isfinite (tl_tensor_get_flat (gt, j)));
  }
  tl_exec_free (ex);
  tl_tensor_unref (xt);
  tl_tensor_unref (bt_);

  /* sticky error: a bad broadcast poisons later calls */
  TlValue *bad = tl_add (g, x, tl_graph_input (g, "c", TL_DTYPE_F32, 1, (gint64[]){ 5 }));
  g_assert_null (bad);
  g_assert_null (tl_relu (g, bad));
  g_assert_false (tl_graph_take_error (g, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_SHAPE);
  tl_graph_unref (g);
}

/* Same bits with 1 and 3 threads: every reduction uses fixed chunks. */
static void
test_thread_invariance (void)
{
  TlTensor *x = tl_test_randn (&rng, SHAPE (3, 70001), 1.0);
  TlTensor *t = tl_test_randn (&rng, SHAPE (3, 70001), 1.0);
  TlTensor *in2[2] = { x, t };
  TlAttrs *ax0 = attrs_ints ("axes", 1, (gint64[]){ 0 });
  struct {
    const char *op;
    guint n;
    TlAttrs *attrs;
  } cases[] = { { "sum", 1, NULL }, { "mean", 1, ax0 }, { "max", 1, NULL }, { "softmax", 1, NULL },
                { "layer_norm", 1, NULL }, { "mse", 2, NULL }, { "bce_with_logits", 2, NULL },
                { "sum_to", 1, NULL } };
  TlAttrs *st = attrs_ints ("shape", 2, (gint64[]){ 1, 70001 });
  cases[7].attrs = st;
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
    TlTensor *r[2];
    for (guint k = 0; k < 2; k++) {
      tl_set_num_threads (k ? 3 : 1);
      r[k] = run1 (cases[c].op, cases[c].n, in2, cases[c].attrs);
    }
    tl_set_num_threads (0);
    if (!tl_tensor_equal_bits (r[0], r[1]))
      g_error ("%s: results differ between 1 and 3 threads", cases[c].op);
    tl_tensor_unref (r[0]);
    tl_tensor_unref (r[1]);
  }
  /* gradients of layer_norm (chunked dgamma/dbeta) */
  TlTensor *ln[3] = { tl_test_randn (&rng, SHAPE (4096, 24), 1.0), tl_test_randn (&rng, SHAPE (24), 1.0),
                      tl_test_randn (&rng, SHAPE (24), 1.0) };
  TlAttrs *a = tl_attrs_new ();
  tl_attrs_set_int (a, "has_gamma", 1);
  tl_attrs_set_int (a, "has_beta", 1);
  TlTensor **g[2];
  for (guint k = 0; k < 2; k++) {
    g_autoptr (GError) error = NULL;
    guint n_out;
    TlTensor **outs;
    tl_set_num_threads (k ? 3 : 1);
    TL_TEST_ASSERT_OK (tl_test_run_op ("layer_norm", 3, ln, a, TRUE, 5, &n_out, &outs, NULL, &g[k], &error), error);
    tl_test_tensors_free (outs, n_out);
  }
  tl_set_num_threads (0);
  for (guint i = 0; i < 3; i++)
    g_assert_true (tl_tensor_equal_bits (g[0][i], g[1][i]));
  tl_test_tensors_free (g[0], 3);
  tl_test_tensors_free (g[1], 3);
  for (guint i = 0; i < 3; i++)
    tl_tensor_unref (ln[i]);
  tl_attrs_free (a);
  tl_attrs_free (ax0);
  tl_attrs_free (st);
  tl_tensor_unref (x);
  tl_tensor_unref (t);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tl_rng_init (&rng, 20261127, 0);
  g_test_add_func ("/ops-basic/unary/grad", test_unary_grad);
  g_test_add_func ("/ops-basic/unary/values", test_unary_values);
  g_test_add_func ("/ops-basic/binary/grad", test_binary_grad);
  g_test_add_func ("/ops-basic/binary/values", test_binary_values);
  g_test_add_func ("/ops-basic/affine/grad", test_affine_grad);
  g_test_add_func ("/ops-basic/reduce/grad", test_reduce_grad);
  g_test_add_func ("/ops-basic/reduce/values", test_reduce_values);
  g_test_add_func ("/ops-basic/broadcast/grad", test_broadcast_grad);
  g_test_add_func ("/ops-basic/softmax", test_softmax);
  g_test_add_func ("/ops-basic/layer-norm", test_layer_norm);
  g_test_add_func ("/ops-basic/shape/grad", test_shape_grad);
  g_test_add_func ("/ops-basic/shape/values", test_shape_values);
  g_test_add_func ("/ops-basic/losses", test_losses);
  g_test_add_func ("/ops-basic/errors", test_errors);
  g_test_add_func ("/ops-basic/errors/run-time", test_errors_run_time);
  g_test_add_func ("/ops-basic/deterministic", test_deterministic);
  g_test_add_func ("/ops-basic/thread-invariance", test_thread_invariance);
  g_test_add_func ("/ops-basic/builders", test_builders);
  return g_test_run ();
}
