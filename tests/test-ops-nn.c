/* test-ops-nn.c — the neural-network ops: matmul, linear, conv, pool,
 * gather/embedding/scatter_add, spmm, dropout. Forward results against
 * naive references, gradients by finite differences, bad inputs by error. */
#include "config.h"

#include <math.h>
#include <string.h>
#include <cblas.h>

#include "gradcheck.h"

#define EPS 1e-2
#define TOL 1e-3

static TlRng rng;

/* Runs op and returns its output `k` (transfer full), or NULL with error. */
static TlTensor *
run_k (const char *op, guint n, TlTensor *const *in, const TlAttrs *attrs, guint k, GError **error)
{
  guint n_out = 0;
  TlTensor **outs = NULL;
  if (!tl_test_run_op (op, n, in, attrs, FALSE, 0, &n_out, &outs, NULL, NULL, error))
    return NULL;
  g_assert_cmpuint (k, <, n_out);
  TlTensor *r = tl_tensor_ref (outs[k]);
  tl_test_tensors_free (outs, n_out);
  return r;
}

static TlTensor *
run1 (const char *op, guint n, TlTensor *const *in, const TlAttrs *attrs)
{
  g_autoptr (GError) error = NULL;
  TlTensor *r = run_k (op, n, in, attrs, 0, &error);
  g_assert_no_error (error);
  g_assert_nonnull (r);
  return r;
}

static void
assert_close (TlTensor *got, TlTensor *want, double tol)
{
  g_assert_cmpuint (tl_tensor_ndim (got), ==, tl_tensor_ndim (want));
  for (guint i = 0; i < tl_tensor_ndim (got); i++)
    g_assert_cmpint (tl_tensor_shape (got)[i], ==, tl_tensor_shape (want)[i]);
  double d = tl_tensor_max_rel_diff (got, want);
  if (!(d >= 0 && d <= tol))
    g_error ("max rel diff %g > %g", d, tol);
}

static void
gradcheck (const char *op, guint n, TlTensor *const *in, const TlAttrs *attrs, double eps, double tol)
{
  g_autoptr (GError) error = NULL;
  double err = 0;
  gboolean ok = tl_gradcheck (op, n, in, attrs, eps, tol, &err, &error);
  g_assert_no_error (error);
  g_test_message ("gradcheck %s: max err %.3g", op, err);
  g_assert_true (ok);
  g_assert_cmpfloat (err, <=, tol);
}

static void
unref_all (TlTensor **t, guint n)
{
  for (guint i = 0; i < n; i++)
    tl_tensor_unref (t[i]);
}

static TlAttrs *
attrs_ints (const char *k1, gint64 v1, ...)
{
  TlAttrs *a = tl_attrs_new ();
  va_list ap;
  const char *k = k1;
  gint64 v = v1;
  va_start (ap, v1);
  while (k) {
    tl_attrs_set_int (a, k, v);
    k = va_arg (ap, const char *);
    if (k)
      v = va_arg (ap, gint64);
  }
  va_end (ap);
  return a;
}

/* Expects op to fail (at graph build or run) with `code` and a message
 * containing `needle` (nullable). */
static void
expect_error (const char *op, guint n, TlTensor *const *in, const TlAttrs *attrs, gint code, const char *needle)
{
  g_autoptr (GError) error = NULL;
  TlTensor *r = run_k (op, n, in, attrs, 0, &error);
  g_assert_null (r);
  g_assert_error (error, TL_ERROR, code);
  if (needle && !strstr (error->message, needle))
    g_error ("message \"%s\" lacks \"%s\"", error->message, needle);
}

/* --- matmul ------------------------------------------------------------- */

/* Reference batched matmul with broadcasting, in double. */
static TlTensor *
ref_matmul (TlTensor *a, TlTensor *b, gboolean ta, gboolean tb)
{
  guint na = tl_tensor_ndim (a), nb = tl_tensor_ndim (b), nd = MAX (na, nb) - 2;
  const gint64 *sa = tl_tensor_shape (a), *sb = tl_tensor_shape (b);
  gint64 ra = sa[na - 2], ca = sa[na - 1], rb = sb[nb - 2], cb = sb[nb - 1];
  gint64 m = ta ? ca : ra, k = ta ? ra : ca, n = tb ? rb : cb;
  gint64 shape[TL_MAX_DIMS], nbatch = 1;
  for (guint i = 0; i < nd; i++) {
    gint ia = (gint) i - (gint) (nd - (na - 2)), ib = (gint) i - (gint) (nd - (nb - 2));
    gint64 da = ia >= 0 ? sa[ia] : 1, db = ib >= 0 ? sb[ib] : 1;
    shape[i] = MAX (da, db);
    nbatch *= shape[i];
  }
  shape[nd] = m;
  shape[nd + 1] = n;
  TlTensor *c = tl_tensor_new (TL_DTYPE_F32, nd + 2, shape, NULL);
  for (gint64 bi = 0; bi < nbatch; bi++) {
    gint64 rem = bi, oa = 0, ob = 0, ma = 1, mb = 1;
    for (gint i = (gint) nd - 1; i >= 0; i--) {
      gint64 idx = rem % shape[i];
      rem /= shape[i];
      gint ia = i - (gint) (nd - (na - 2)), ib = i - (gint) (nd - (nb - 2));
      gint64 da = ia >= 0 ? sa[ia] : 1, db = ib >= 0 ? sb[ib] : 1;
      oa += (da == 1 ? 0 : idx) * ma;
      ob += (db == 1 ? 0 : idx) * mb;
      ma *= da;
      mb *= db;
    }
    for (gint64 i = 0; i < m; i++)
      for (gint64 j = 0; j < n; j++) {
        double s = 0;
        for (gint64 q = 0; q < k; q++) {
          double av = tl_tensor_get_flat (a, oa * ra * ca + (ta ? q * ca + i : i * ca + q));
          double bv = tl_tensor_get_flat (b, ob * rb * cb + (tb ? j * cb + q : q * cb + j));
          s += av * bv;
        }
        tl_tensor_set_flat (c, (bi * m + i) * n + j, s);
      }
  }
  return c;
}

typedef struct {
  guint na, nb;
  gint64 a[4], b[4];
  gboolean ta, tb;
} MatmulCase;

static const MatmulCase matmul_cases[] = {
  { 2, 2, { 3, 4 }, { 4, 5 }, FALSE, FALSE },
  { 2, 2, { 4, 3 }, { 4, 5 }, TRUE, FALSE },
  { 2, 2, { 3, 4 }, { 5, 4 }, FALSE, TRUE },
  { 2, 2, { 4, 3 }, { 5, 4 }, TRUE, TRUE },
  { 3, 2, { 2, 3, 4 }, { 4, 2 }, FALSE, FALSE },         /* shared b: one GEMM */
  { 3, 3, { 2, 3, 4 }, { 2, 4, 2 }, FALSE, FALSE },
  { 3, 4, { 1, 3, 4 }, { 2, 2, 4, 3 }, FALSE, FALSE },   /* a broadcast over two axes */
  { 4, 3, { 2, 1, 4, 3 }, { 3, 2, 4 }, TRUE, TRUE },     /* both broadcast */
  { 2, 3, { 3, 4 }, { 2, 5, 4 }, FALSE, TRUE },          /* a without batch */
  { 3, 2, { 2, 3, 4 }, { 5, 4 }, FALSE, TRUE },          /* shared b, transposed */
  { 4, 3, { 2, 2, 3, 4 }, { 1, 4, 5 }, FALSE, FALSE },   /* shared b with a size-1 batch axis */
  { 3, 2, { 2, 4, 3 }, { 4, 5 }, TRUE, FALSE },          /* shared b, a transposed */
};

/* Runs `op` and checks its output against `want` (transfer full). */
static void
check_forward (const char *op, guint n, TlTensor *const *in, const TlAttrs *attrs, TlTensor *want)
{
  TlTensor *got = run1 (op, n, in, attrs);
  assert_close (got, want, 1e-5);
  tl_tensor_unref (got);
  tl_tensor_unref (want);
}

/* Random inputs in[0..1] of a matmul case; returns its attributes. (transfer full) */
static TlAttrs *
matmul_inputs (const MatmulCase *mc, TlTensor **in)
{
  in[0] = tl_test_randn (&rng, mc->na, mc->a, 1.0);
  in[1] = tl_test_randn (&rng, mc->nb, mc->b, 1.0);
  return attrs_ints ("trans_a", (gint64) mc->ta, "trans_b", (gint64) mc->tb, NULL);
}

/* One matmul case on random inputs against the reference. */
static void
check_matmul_case (const MatmulCase *mc)
{
  TlTensor *in[2];
  TlAttrs *attrs = matmul_inputs (mc, in);
  check_forward ("matmul", 2, in, attrs, ref_matmul (in[0], in[1], mc->ta, mc->tb));
  tl_attrs_free (attrs);
  unref_all (in, 2);
}

static void
test_matmul_forward (void)
{
  for (guint c = 0; c < G_N_ELEMENTS (matmul_cases); c++)
    check_matmul_case (&matmul_cases[c]);
}

static void
test_matmul_grad (void)
{
  for (guint c = 0; c < G_N_ELEMENTS (matmul_cases); c++) {
    TlTensor *in[2];
    TlAttrs *attrs = matmul_inputs (&matmul_cases[c], in);
    gradcheck ("matmul", 2, in, attrs, EPS, TOL);
    tl_attrs_free (attrs);
    unref_all (in, 2);
  }
}

/* Empty inner dimension: zeros; empty batch: empty result. */
static void
test_matmul_empty (void)
{
  TlTensor *in[2] = { tl_test_randn (&rng, 2, (gint64[]) { 2, 0 }, 1.0),
                      tl_test_randn (&rng, 2, (gint64[]) { 0, 3 }, 1.0) };
  TlTensor *got = run1 ("matmul", 2, in, NULL);
  g_assert_cmpint (tl_tensor_numel (got), ==, 6);
  for (gint64 i = 0; i < 6; i++)
    g_assert_cmpfloat (tl_tensor_get_flat (got, i), ==, 0.0);
  tl_tensor_unref (got);
  unref_all (in, 2);

  TlTensor *bat[2] = { tl_test_randn (&rng, 3, (gint64[]) { 0, 2, 3 }, 1.0),
                       tl_test_randn (&rng, 2, (gint64[]) { 3, 4 }, 1.0) };
  got = run1 ("matmul", 2, bat, NULL);
  g_assert_cmpint (tl_tensor_numel (got), ==, 0);
  tl_tensor_unref (got);
  unref_all (bat, 2);
}

static void
test_matmul_errors (void)
{
  TlTensor *in[2] = { tl_test_randn (&rng, 2, (gint64[]) { 3, 4 }, 1.0),
                      tl_test_randn (&rng, 2, (gint64[]) { 5, 2 }, 1.0) };
  expect_error ("matmul", 2, in, NULL, TL_ERROR_SHAPE, "inner dimensions");
  unref_all (in, 2);

  TlTensor *bat[2] = { tl_test_randn (&rng, 3, (gint64[]) { 2, 3, 4 }, 1.0),
                       tl_test_randn (&rng, 3, (gint64[]) { 3, 4, 2 }, 1.0) };
  expect_error ("matmul", 2, bat, NULL, TL_ERROR_SHAPE, "broadcast");
  unref_all (bat, 2);

  TlTensor *vec[2] = { tl_test_randn (&rng, 1, (gint64[]) { 4 }, 1.0),
                       tl_test_randn (&rng, 2, (gint64[]) { 4, 2 }, 1.0) };
  expect_error ("matmul", 2, vec, NULL, TL_ERROR_SHAPE, "at least 2 axes");
  unref_all (vec, 2);
}

static void
test_matmul_cost (void)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (tl_init (&error));
  const TlOpDef *def = tl_op_lookup ("matmul");
  g_assert_nonnull (def);
  g_assert_true (def->flags & TL_OP_COMPUTE_BOUND);
  TlTensorDesc in[2], out;
  tl_tensor_desc_init (&in[0], TL_DTYPE_F32, 3, (gint64[]) { 2, 8, 16 });
  tl_tensor_desc_init (&in[1], TL_DTYPE_F32, 2, (gint64[]) { 16, 4 });
  TlAttrs *attrs = tl_attrs_new ();
  TlOpCall call = { .n_inputs = 2, .n_outputs = 1, .inputs = in, .attrs = attrs };
  guint n_out = 0;
  g_assert_true (tl_op_infer (def, 2, in, attrs, 1, &out, &n_out, &error));
  g_assert_no_error (error);
  g_assert_cmpint (out.shape[1], ==, 8);
  g_assert_cmpint (out.shape[2], ==, 4);
  TlOpCost cost = { 0 };
  def->cost (&call, &out, &cost);
  g_assert_cmpfloat (cost.flops, ==, 2.0 * 2 * 8 * 4 * 16);
  g_assert_cmpfloat (cost.bytes_read, ==, 4.0 * (2 * 8 * 16 + 16 * 4));
  g_assert_cmpfloat (cost.bytes_written, ==, 4.0 * 2 * 8 * 4);
  tl_attrs_free (attrs);

  /* conv2d: 2 * N * O * OH * OW * (C/groups) * KH * KW */
  def = tl_op_lookup ("conv2d");
  g_assert_nonnull (def);
  g_assert_true (def->flags & TL_OP_COMPUTE_BOUND);
  TlTensorDesc cin[2];
  tl_tensor_desc_init (&cin[0], TL_DTYPE_F32, 4, (gint64[]) { 2, 4, 8, 8 });
  tl_tensor_desc_init (&cin[1], TL_DTYPE_F32, 4, (gint64[]) { 6, 2, 3, 3 });
  attrs = attrs_ints ("stride", (gint64) 2, "padding", (gint64) 1, "groups", (gint64) 2, NULL);
  g_assert_true (tl_op_infer (def, 2, cin, attrs, 1, &out, &n_out, &error));
  g_assert_no_error (error);
  g_assert_cmpint (out.shape[2], ==, 4);
  TlOpCall ccall = { .n_inputs = 2, .n_outputs = 1, .inputs = cin, .attrs = attrs };
  def->cost (&ccall, &out, &cost);
  g_assert_cmpfloat (cost.flops, ==, 2.0 * 2 * 6 * 4 * 4 * 2 * 3 * 3);
  tl_attrs_free (attrs);

  /* gather and pools are memory-bound, dropout random */
  g_assert_true (tl_op_lookup ("gather")->flags & TL_OP_MEMORY_BOUND);
  g_assert_true (tl_op_lookup ("max_pool2d")->flags & TL_OP_MEMORY_BOUND);
  g_assert_true (tl_op_lookup ("dropout")->flags & TL_OP_RANDOM);
}

/* --- linear ------------------------------------------------------------- */

static void
test_linear (void)
{
  static const gint64 xs[][3] = { { 5, 4, 0 }, { 2, 3, 4 } };
  static const guint xn[] = { 2, 3 };
  for (guint c = 0; c < G_N_ELEMENTS (xn); c++)
    for (guint with_b = 0; with_b < 2; with_b++) {
      TlTensor *in[3] = { tl_test_randn (&rng, xn[c], xs[c], 1.0), tl_test_randn (&rng, 2, (gint64[]) { 3, 4 }, 1.0),
                          tl_test_randn (&rng, 1, (gint64[]) { 3 }, 1.0) };
      guint n = with_b ? 3 : 2;
      TlTensor *got = run1 ("linear", n, in, NULL);
      TlTensor *want = ref_matmul (in[0], in[1], FALSE, TRUE);
      if (with_b) {
        gint64 rows = tl_tensor_numel (want) / 3;
        for (gint64 r = 0; r < rows; r++)
          for (gint64 j = 0; j < 3; j++)
            tl_tensor_set_flat (want, r * 3 + j, tl_tensor_get_flat (want, r * 3 + j) + tl_tensor_get_flat (in[2], j));
      }
      assert_close (got, want, 1e-5);
      gradcheck ("linear", n, in, NULL, EPS, TOL);
      tl_tensor_unref (got);
      tl_tensor_unref (want);
      unref_all (in, 3);
    }

  TlTensor *bad[3] = { tl_test_randn (&rng, 2, (gint64[]) { 2, 5 }, 1.0),
                       tl_test_randn (&rng, 2, (gint64[]) { 3, 4 }, 1.0),
                       tl_test_randn (&rng, 1, (gint64[]) { 4 }, 1.0) };
  expect_error ("linear", 2, bad, NULL, TL_ERROR_SHAPE, "features");
  tl_tensor_unref (bad[0]);
  bad[0] = tl_test_randn (&rng, 2, (gint64[]) { 2, 4 }, 1.0);
  expect_error ("linear", 3, bad, NULL, TL_ERROR_SHAPE, "bias");
  unref_all (bad, 3);
}

/* --- conv --------------------------------------------------------------- */

typedef struct {
  guint sp;
  gint64 n, c, h, w, o, kh, kw;
  gint64 stride, pad, dil, groups;
  gboolean bias;
} ConvCase;

static const ConvCase conv_cases[] = {
  { 2, 2, 3, 5, 5, 4, 3, 3, 1, 0, 1, 1, TRUE },
  { 2, 1, 2, 6, 5, 3, 3, 2, 2, 1, 1, 1, FALSE },
  { 2, 2, 4, 6, 6, 4, 3, 3, 1, 2, 2, 2, TRUE },   /* dilation + groups + padding */
  { 2, 1, 4, 4, 4, 4, 3, 3, 1, 1, 1, 4, FALSE },  /* depthwise */
  { 2, 2, 3, 4, 4, 2, 1, 1, 1, 0, 1, 1, TRUE },   /* pointwise */
  { 1, 2, 3, 1, 9, 4, 1, 3, 2, 1, 1, 1, TRUE },
  { 1, 1, 4, 1, 10, 2, 1, 3, 1, 2, 3, 2, FALSE },
};

static TlTensor *
ref_conv (const ConvCase *cc, TlTensor *x, TlTensor *w, TlTensor *b)
{
  gint64 eh = cc->dil * (cc->kh - 1) + 1, ew = cc->dil * (cc->kw - 1) + 1;
  gint64 sh = cc->sp == 2 ? cc->stride : 1, ph = cc->sp == 2 ? cc->pad : 0, dh = cc->sp == 2 ? cc->dil : 1;
  gint64 oh_n = (cc->h + 2 * ph - (cc->sp == 2 ? eh : 1)) / sh + 1;
  gint64 ow_n = (cc->w + 2 * cc->pad - ew) / cc->stride + 1;
  gint64 cg = cc->c / cc->groups, og = cc->o / cc->groups;
  gint64 shape4[4] = { cc->n, cc->o, oh_n, ow_n }, shape3[3] = { cc->n, cc->o, ow_n };
  TlTensor *y = cc->sp == 2 ? tl_tensor_new (TL_DTYPE_F32, 4, shape4, NULL)
                            : tl_tensor_new (TL_DTYPE_F32, 3, shape3, NULL);
  for (gint64 n = 0; n < cc->n; n++)
    for (gint64 o = 0; o < cc->o; o++)
      for (gint64 oh = 0; oh < oh_n; oh++)
        for (gint64 ow = 0; ow < ow_n; ow++) {
          double s = b ? tl_tensor_get_flat (b, o) : 0;
          gint64 g = o / og;
          for (gint64 ci = 0; ci < cg; ci++)
            for (gint64 i = 0; i < cc->kh; i++)
              for (gint64 k = 0; k < cc->kw; k++) {
                gint64 ih = oh * sh - ph + i * dh, iw = ow * cc->stride - cc->pad + k * cc->dil;
                if (ih < 0 || ih >= cc->h || iw < 0 || iw >= cc->w)
                  continue;
                gint64 c = g * cg + ci;
                s += tl_tensor_get_flat (x, ((n * cc->c + c) * cc->h + ih) * cc->w + iw)
                     * tl_tensor_get_flat (w, ((o * cg + ci) * cc->kh + i) * cc->kw + k);
              }
          tl_tensor_set_flat (y, ((n * cc->o + o) * oh_n + oh) * ow_n + ow, s);
        }
  return y;
}

static void
conv_inputs (const ConvCase *cc, TlTensor **in)
{
  if (cc->sp == 2) {
    in[0] = tl_test_randn (&rng, 4, (gint64[]) { cc->n, cc->c, cc->h, cc->w }, 1.0);
    in[1] = tl_test_randn (&rng, 4, (gint64[]) { cc->o, cc->c / cc->groups, cc->kh, cc->kw }, 0.5);
  } else {
    in[0] = tl_test_randn (&rng, 3, (gint64[]) { cc->n, cc->c, cc->w }, 1.0);
    in[1] = tl_test_randn (&rng, 3, (gint64[]) { cc->o, cc->c / cc->groups, cc->kw }, 0.5);
  }
  in[2] = tl_test_randn (&rng, 1, (gint64[]) { cc->o }, 1.0);
}

static TlAttrs *
conv_attrs (const ConvCase *cc)
{
  return attrs_ints ("stride", cc->stride, "padding", cc->pad, "dilation", cc->dil, "groups", cc->groups, NULL);
}

/* One convolution case on random inputs against the reference. */
static void
check_conv_case (const ConvCase *cc)
{
  TlTensor *in[3];
  conv_inputs (cc, in);
  TlAttrs *attrs = conv_attrs (cc);
  check_forward (cc->sp == 2 ? "conv2d" : "conv1d", cc->bias ? 3 : 2, in, attrs,
                 ref_conv (cc, in[0], in[1], cc->bias ? in[2] : NULL));
  tl_attrs_free (attrs);
  unref_all (in, 3);
}

static void
test_conv_forward (void)
{
  for (guint c = 0; c < G_N_ELEMENTS (conv_cases); c++)
    check_conv_case (&conv_cases[c]);
}

static void
test_conv_grad (void)
{
  for (guint c = 0; c < G_N_ELEMENTS (conv_cases); c++) {
    const ConvCase *cc = &conv_cases[c];
    TlTensor *in[3];
    conv_inputs (cc, in);
    TlAttrs *attrs = conv_attrs (cc);
    gradcheck (cc->sp == 2 ? "conv2d" : "conv1d", cc->bias ? 3 : 2, in, attrs, EPS, TOL);
    tl_attrs_free (attrs);
    unref_all (in, 3);
  }
}

static void
test_conv_errors (void)
{
  TlTensor *in[3] = { tl_test_randn (&rng, 4, (gint64[]) { 1, 3, 5, 5 }, 1.0),
                      tl_test_randn (&rng, 4, (gint64[]) { 4, 2, 3, 3 }, 1.0),
                      tl_test_randn (&rng, 1, (gint64[]) { 5 }, 1.0) };
  TlAttrs *attrs = attrs_ints ("groups", (gint64) 1, NULL);
  expect_error ("conv2d", 2, in, attrs, TL_ERROR_SHAPE, "w axis 1");
  tl_attrs_free (attrs);
  attrs = attrs_ints ("groups", (gint64) 2, NULL);
  expect_error ("conv2d", 2, in, attrs, TL_ERROR_SHAPE, "groups=2");
  tl_attrs_free (attrs);
  tl_tensor_unref (in[1]);
  in[1] = tl_test_randn (&rng, 4, (gint64[]) { 4, 3, 3, 3 }, 1.0);
  expect_error ("conv2d", 3, in, NULL, TL_ERROR_SHAPE, "bias");
  attrs = attrs_ints ("stride", (gint64) 0, NULL);
  expect_error ("conv2d", 2, in, attrs, TL_ERROR_INVALID_ARGUMENT, "stride");
  tl_attrs_free (attrs);
  tl_tensor_unref (in[1]);
  in[1] = tl_test_randn (&rng, 4, (gint64[]) { 4, 3, 7, 7 }, 1.0);
  expect_error ("conv2d", 2, in, NULL, TL_ERROR_SHAPE, "larger than");
  expect_error ("conv1d", 2, in, NULL, TL_ERROR_SHAPE, "3 axes");
  unref_all (in, 3);
}

/* With OpenBLAS single-threaded, large products are split over tl's
 * threads (gemm.c) and batches run in parallel: same results. */
static void
test_matmul_split (void)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (tl_init (&error));
  int saved = openblas_get_num_threads ();
  openblas_set_num_threads (1);
  static const MatmulCase cases[] = {
    { 2, 2, { 97, 70 }, { 70, 61 }, FALSE, FALSE },  /* split by rows */
    { 2, 2, { 70, 21 }, { 300, 70 }, TRUE, TRUE },   /* split by columns */
    { 3, 3, { 3, 40, 50 }, { 3, 50, 30 }, FALSE, FALSE },
  };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    check_matmul_case (&cases[c]);
  /* a conv big enough to split its GEMMs */
  static const ConvCase cc = { 2, 4, 8, 12, 12, 16, 3, 3, 1, 1, 1, 1, TRUE };
  check_conv_case (&cc);
  openblas_set_num_threads (saved);
}

/* --- pool --------------------------------------------------------------- */

typedef struct {
  guint sp;
  gint64 n, c, h, w, k, stride, pad;
} PoolCase;

static const PoolCase pool_cases[] = {
  { 2, 2, 2, 4, 4, 2, 2, 0 },
  { 2, 1, 2, 5, 7, 2, 2, 0 }, /* 2x2 path, odd H and W: uncovered row and column */
  { 2, 1, 3, 5, 6, 3, 2, 1 },
  { 2, 1, 1, 5, 5, 3, 1, 1 },
  { 1, 2, 3, 1, 7, 3, 2, 1 },
  { 1, 1, 2, 1, 8, 2, 0, 0 }, /* stride 0: kernel */
};

/* Well-separated values so finite differences never cross a max tie. */
static TlTensor *
distinct_tensor (guint ndim, const gint64 *shape)
{
  TlTensor *t = tl_tensor_new (TL_DTYPE_F32, ndim, shape, NULL);
  gint64 n = tl_tensor_numel (t);
  g_autofree gint64 *perm = g_new (gint64, n);
  for (gint64 i = 0; i < n; i++)
    perm[i] = i;
  tl_rng_shuffle (&rng, perm, n);
  for (gint64 i = 0; i < n; i++)
    tl_tensor_set_flat (t, i, 0.1 * (double) perm[i] - 0.05 * (double) n);
  return t;
}

static TlTensor *
ref_pool (const PoolCase *pc, TlTensor *x, gboolean is_max)
{
  gint64 s = pc->stride ? pc->stride : pc->k;
  gint64 kh = pc->sp == 2 ? pc->k : 1, sh = pc->sp == 2 ? s : 1, ph = pc->sp == 2 ? pc->pad : 0;
  gint64 oh_n = (pc->h + 2 * ph - kh) / sh + 1, ow_n = (pc->w + 2 * pc->pad - pc->k) / s + 1;
  gint64 shape4[4] = { pc->n, pc->c, oh_n, ow_n }, shape3[3] = { pc->n, pc->c, ow_n };
  TlTensor *y = pc->sp == 2 ? tl_tensor_new (TL_DTYPE_F32, 4, shape4, NULL)
                            : tl_tensor_new (TL_DTYPE_F32, 3, shape3, NULL);
  for (gint64 p = 0; p < pc->n * pc->c; p++)
    for (gint64 oh = 0; oh < oh_n; oh++)
      for (gint64 ow = 0; ow < ow_n; ow++) {
        double acc = is_max ? -INFINITY : 0;
        for (gint64 i = 0; i < kh; i++)
          for (gint64 k = 0; k < pc->k; k++) {
            gint64 ih = oh * sh - ph + i, iw = ow * s - pc->pad + k;
            if (ih < 0 || ih >= pc->h || iw < 0 || iw >= pc->w)
              continue;
            double v = tl_tensor_get_flat (x, (p * pc->h + ih) * pc->w + iw);
            acc = is_max ? MAX (acc, v) : acc + v;
          }
        tl_tensor_set_flat (y, (p * oh_n + oh) * ow_n + ow, is_max ? acc : acc / (double) (kh * pc->k));
      }
  return y;
}

static void
test_pool (void)
{
  for (guint c = 0; c < G_N_ELEMENTS (pool_cases); c++)
    for (guint is_max = 0; is_max < 2; is_max++) {
      const PoolCase *pc = &pool_cases[c];
      TlTensor *x = pc->sp == 2 ? distinct_tensor (4, (gint64[]) { pc->n, pc->c, pc->h, pc->w })
                                : distinct_tensor (3, (gint64[]) { pc->n, pc->c, pc->w });
      g_autofree char *op = g_strdup_printf ("%s_pool%ud", is_max ? "max" : "avg", pc->sp);
      TlAttrs *attrs = attrs_ints ("kernel", pc->k, "stride", pc->stride, "padding", pc->pad, NULL);
      TlTensor *got = run1 (op, 1, &x, attrs);
      TlTensor *want = ref_pool (pc, x, is_max);
      assert_close (got, want, 1e-6);
      gradcheck (op, 1, &x, attrs, 1e-2, TOL);
      tl_tensor_unref (got);
      tl_tensor_unref (want);
      tl_attrs_free (attrs);
      tl_tensor_unref (x);
    }
}

static void
test_pool_errors (void)
{
  TlTensor *x = tl_test_randn (&rng, 4, (gint64[]) { 1, 1, 4, 4 }, 1.0);
  TlAttrs *attrs = attrs_ints ("kernel", (gint64) 2, "padding", (gint64) 2, NULL);
  expect_error ("max_pool2d", 1, &x, attrs, TL_ERROR_INVALID_ARGUMENT, "padding");
  tl_attrs_free (attrs);
  attrs = attrs_ints ("kernel", (gint64) 5, NULL);
  expect_error ("avg_pool2d", 1, &x, attrs, TL_ERROR_SHAPE, "larger than");
  expect_error ("max_pool1d", 1, &x, attrs, TL_ERROR_SHAPE, "3 axes");
  tl_attrs_free (attrs);
  tl_tensor_unref (x);
}

/* Max pooling propagates NaN and routes its gradient to the (first) NaN,
 * on the 2x2 fast path and on the general path. */
static void
test_pool_nan (void)
{
  static const gint64 ks[2][3] = { { 2, 2, 0 }, { 3, 1, 1 } }; /* kernel, stride, padding */
  for (guint c = 0; c < 2; c++) {
    TlTensor *x = distinct_tensor (4, (gint64[]) { 1, 1, 4, 4 });
    tl_tensor_set_flat (x, 5, NAN);  /* (1, 1) */
    tl_tensor_set_flat (x, 10, NAN); /* (2, 2) */
    TlAttrs *attrs = attrs_ints ("kernel", ks[c][0], "stride", ks[c][1], "padding", ks[c][2], NULL);
    TlTensor *y = run1 ("max_pool2d", 1, &x, attrs);
    g_assert_true (isnan (tl_tensor_get_flat (y, 0)));
    guint n_out = 0;
    TlTensor **outs = NULL, **gin = NULL;
    g_autoptr (GError) error = NULL;
    TL_TEST_ASSERT_OK (tl_test_run_op ("max_pool2d", 1, &x, attrs, TRUE, 5, &n_out, &outs, NULL, &gin, &error), error);
    /* window (0, 0) holds the NaN at 5 (and the 2x2 path's window (1, 1) the one at 10) */
    g_assert_cmpfloat (tl_tensor_get_flat (gin[0], 5), !=, 0.0);
    g_assert_cmpfloat (tl_tensor_get_flat (gin[0], 0), ==, 0.0);
    tl_test_tensors_free (outs, n_out);
    tl_test_tensors_free (gin, 1);
    tl_tensor_unref (y);
    tl_attrs_free (attrs);
    tl_tensor_unref (x);
  }
}

/* The 2x2 stride-2 fast path against a row-major scan that keeps the first
 * maximum (and the first NaN), on every window of values from
 * {-1, -0, +0, 1, NaN} (625 windows: ties, signed zeros, NaNs anywhere):
 * the output's bits and the position its gradient goes to. */
static void
test_pool_2x2_ties (void)
{
  static const float vals[5] = { -1.0f, -0.0f, 0.0f, 1.0f, NAN };
  const gint64 nw = 625;
  TlTensor *x = tl_tensor_new (TL_DTYPE_F32, 4, (gint64[]) { 1, 1, 2, 2 * nw }, NULL);
  float *px = tl_tensor_data (x);
  for (gint64 w = 0; w < nw; w++)
    for (gint64 e = 0, code = w; e < 4; e++, code /= 5)
      px[(e / 2) * 2 * nw + 2 * w + e % 2] = vals[code % 5];
  TlAttrs *attrs = attrs_ints ("kernel", (gint64) 2, "stride", (gint64) 2, NULL);
  guint n_out = 0;
  TlTensor **outs = NULL, **gout = NULL, **gin = NULL;
  g_autoptr (GError) error = NULL;
  TL_TEST_ASSERT_OK (tl_test_run_op ("max_pool2d", 1, &x, attrs, TRUE, 9, &n_out, &outs, &gout, &gin, &error),
                     error);
  const float *y = tl_tensor_const_data (outs[0]), *dy = tl_tensor_const_data (gout[0]);
  const float *dx = tl_tensor_const_data (gin[0]);
  for (gint64 w = 0; w < nw; w++) {
    gint64 pos[4] = { 2 * w, 2 * w + 1, 2 * nw + 2 * w, 2 * nw + 2 * w + 1 }, best = pos[0];
    for (guint e = 1; e < 4; e++) {
      float v = px[pos[e]], m = px[best];
      if (m == m && (v != v || v > m))
        best = pos[e];
    }
    guint32 got_bits, want_bits;
    memcpy (&got_bits, &y[w], 4);
    memcpy (&want_bits, &px[best], 4);
    if (got_bits != want_bits)
      g_error ("window %" G_GINT64_FORMAT ": max_pool2d gives %08x, want %08x", w, got_bits, want_bits);
    for (guint e = 0; e < 4; e++) {
      float want = pos[e] == best ? 0.0f + dy[w] : 0.0f;
      if (memcmp (&dx[pos[e]], &want, 4) != 0)
        g_error ("window %" G_GINT64_FORMAT " element %u: gradient %g, want %g", w, e, dx[pos[e]], want);
    }
  }
  tl_test_tensors_free (outs, n_out);
  tl_test_tensors_free (gout, n_out);
  tl_test_tensors_free (gin, 1);
  tl_attrs_free (attrs);
  tl_tensor_unref (x);
}

/* --- gather / embedding / scatter_add ----------------------------------- */

static void
test_embedding (void)
{
  for (guint dt = 0; dt < 2; dt++) {
    TlDType it = dt ? TL_DTYPE_I64 : TL_DTYPE_I32;
    TlTensor *in[2] = { tl_test_randn (&rng, 2, (gint64[]) { 7, 3 }, 1.0),
                        tl_test_randint (&rng, 0, 7, it, 2, (gint64[]) { 2, 5 }) };
    TlTensor *got = run1 ("embedding", 2, in, NULL);
    g_assert_cmpuint (tl_tensor_ndim (got), ==, 3);
    for (gint64 i = 0; i < 10; i++) {
      gint64 r = (gint64) tl_tensor_get_flat (in[1], i);
      for (gint64 d = 0; d < 3; d++)
        g_assert_cmpfloat (tl_tensor_get_flat (got, i * 3 + d), ==, tl_tensor_get_flat (in[0], r * 3 + d));
    }
    gradcheck ("embedding", 2, in, NULL, EPS, TOL);
    tl_tensor_unref (got);
    unref_all (in, 2);
  }
}

static void
test_gather (void)
{
  for (gint axis = -3; axis < 3; axis++) {
    gint64 shape[3] = { 3, 4, 5 };
    guint a = (guint) (axis < 0 ? axis + 3 : axis);
    TlTensor *in[2] = { tl_test_randn (&rng, 3, shape, 1.0),
                        tl_test_randint (&rng, 0, shape[a], TL_DTYPE_I64, 1, (gint64[]) { 6 }) };
    TlAttrs *attrs = attrs_ints ("axis", (gint64) axis, NULL);
    TlTensor *got = run1 ("gather", 2, in, attrs);
    g_assert_cmpint (tl_tensor_dim (got, a), ==, 6);
    const gint64 *os = tl_tensor_shape (got);
    for (gint64 i = 0; i < os[0]; i++)
      for (gint64 j = 0; j < os[1]; j++)
        for (gint64 k = 0; k < os[2]; k++) {
          gint64 src[3] = { i, j, k };
          src[a] = (gint64) tl_tensor_get_flat (in[1], src[a]);
          g_assert_cmpfloat (tl_tensor_get_flat (got, (i * os[1] + j) * os[2] + k), ==,
                             tl_tensor_get_flat (in[0], (src[0] * 4 + src[1]) * 5 + src[2]));
        }
    gradcheck ("gather", 2, in, attrs, EPS, TOL);
    tl_tensor_unref (got);
    tl_attrs_free (attrs);
    unref_all (in, 2);
  }
}

static void
test_scatter_add (void)
{
  TlTensor *in[2] = { tl_test_randn (&rng, 2, (gint64[]) { 6, 3 }, 1.0),
                      tl_tensor_new_from_data (TL_DTYPE_I64, 1, (gint64[]) { 6 },
                                               (gint64[]) { 0, 2, 0, 3, 2, 0 }, NULL) };
  TlAttrs *attrs = attrs_ints ("n_rows", (gint64) 4, NULL);
  TlTensor *got = run1 ("scatter_add", 2, in, attrs);
  g_assert_cmpint (tl_tensor_dim (got, 0), ==, 4);
  for (gint64 d = 0; d < 3; d++) {
    double r0 = 0, r2 = 0;
    static const gint64 idx[6] = { 0, 2, 0, 3, 2, 0 };
    for (gint64 i = 0; i < 6; i++) {
      if (idx[i] == 0)
        r0 += tl_tensor_get_flat (in[0], i * 3 + d);
      if (idx[i] == 2)
        r2 += tl_tensor_get_flat (in[0], i * 3 + d);
    }
    g_assert_cmpfloat (fabs (tl_tensor_get_flat (got, 0 * 3 + d) - r0), <, 1e-5);
    g_assert_cmpfloat (tl_tensor_get_flat (got, 1 * 3 + d), ==, 0.0);
    g_assert_cmpfloat (fabs (tl_tensor_get_flat (got, 2 * 3 + d) - r2), <, 1e-5);
  }
  gradcheck ("scatter_add", 2, in, attrs, EPS, TOL);
  tl_tensor_unref (got);
  tl_attrs_free (attrs);

  /* along axis 1 with 2-D indices */
  TlTensor *in2[2] = { tl_test_randn (&rng, 4, (gint64[]) { 2, 2, 3, 2 }, 1.0),
                       tl_test_randint (&rng, 0, 5, TL_DTYPE_I32, 2, (gint64[]) { 2, 3 }) };
  attrs = attrs_ints ("n_rows", (gint64) 5, "axis", (gint64) 1, NULL);
  got = run1 ("scatter_add", 2, in2, attrs);
  g_assert_cmpuint (tl_tensor_ndim (got), ==, 3);
  g_assert_cmpint (tl_tensor_dim (got, 1), ==, 5);
  gradcheck ("scatter_add", 2, in2, attrs, EPS, TOL);
  tl_tensor_unref (got);
  tl_attrs_free (attrs);
  unref_all (in2, 2);
  unref_all (in, 2);
}

static void
test_index_errors (void)
{
  TlTensor *in[2] = { tl_test_randn (&rng, 2, (gint64[]) { 5, 3 }, 1.0),
                      tl_test_randn (&rng, 1, (gint64[]) { 2 }, 1.0) };
  expect_error ("embedding", 2, in, NULL, TL_ERROR_SHAPE, "i32 or i64");
  unref_all (in, 2);
}

/* Out-of-range indices: run-time errors of the CPU kernels; the CUDA
 * kernels record them on the device and the next wait for the stream (the
 * read of the output) reports them with the same text. */
static void
test_index_errors_run_time (void)
{
  TlTensor *in[2] = { tl_test_randn (&rng, 2, (gint64[]) { 5, 3 }, 1.0),
                      tl_tensor_new_from_data (TL_DTYPE_I64, 1, (gint64[]) { 3 }, (gint64[]) { 1, 5, 0 }, NULL) };
  expect_error ("embedding", 2, in, NULL, TL_ERROR_INVALID_ARGUMENT, "index 5 at position 1 is out of range [0, 5)");
  expect_error ("gather", 2, in, NULL, TL_ERROR_INVALID_ARGUMENT, "index 5");
  tl_tensor_unref (in[1]);
  in[1] = tl_tensor_new_from_data (TL_DTYPE_I32, 1, (gint64[]) { 2 }, (gint32[]) { -1, 0 }, NULL);
  expect_error ("embedding", 2, in, NULL, TL_ERROR_INVALID_ARGUMENT, "index -1");
  tl_tensor_unref (in[1]);
  in[1] = tl_tensor_new_from_data (TL_DTYPE_I64, 1, (gint64[]) { 5 }, (gint64[]) { 0, 1, 2, 3, 9 }, NULL);
  TlAttrs *attrs = attrs_ints ("n_rows", (gint64) 4, NULL);
  expect_error ("scatter_add", 2, in, attrs, TL_ERROR_INVALID_ARGUMENT, "[0, 4)");
  tl_attrs_free (attrs);
  unref_all (in, 2);
}

/* --- spmm --------------------------------------------------------------- */

static void
random_csr (gint64 rows, gint64 cols, TlTensor **indptr, TlTensor **indices, TlTensor **values)
{
  g_autofree gint64 *ptr = g_new0 (gint64, rows + 1);
  GArray *idx = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (gint64 r = 0; r < rows; r++) {
    for (gint64 c = 0; c < cols; c++)
      if (tl_rng_uniform (&rng) < 0.4)
        g_array_append_val (idx, c);
    ptr[r + 1] = idx->len;
  }
  *indptr = tl_tensor_new_from_data (TL_DTYPE_I64, 1, (gint64[]) { rows + 1 }, ptr, NULL);
  *indices = tl_tensor_new_from_data (TL_DTYPE_I64, 1, (gint64[]) { idx->len }, idx->data, NULL);
  *values = tl_test_randn (&rng, 1, (gint64[]) { idx->len }, 1.0);
  g_array_free (idx, TRUE);
}

/* The dense [rows, cols] matrix of the CSR structure in[0..2] (indptr,
 * indices, values). (transfer full) */
static TlTensor *
csr_dense (TlTensor *const *in, gint64 rows, gint64 cols)
{
  TlTensor *a = tl_tensor_new (TL_DTYPE_F32, 2, (gint64[]) { rows, cols }, NULL);
  for (gint64 r = 0; r < rows; r++)
    for (gint64 e = (gint64) tl_tensor_get_flat (in[0], r); e < (gint64) tl_tensor_get_flat (in[0], r + 1); e++)
      tl_tensor_set_flat (a, r * cols + (gint64) tl_tensor_get_flat (in[1], e), tl_tensor_get_flat (in[2], e));
  return a;
}

/* cross_entropy and its grad with out-of-range labels in two rows far
 * apart (in different parallel chunks): the message names the first row,
 * whatever the thread count. */
static void
test_cross_entropy_bad_label_row (void)
{
  enum { N = 40000, C = 2 };
  guint saved = tl_get_num_threads ();
  TlTensor *x = tl_test_randn (&rng, 2, (gint64[]) { N, C }, 1.0);
  TlTensor *labels = tl_tensor_new (TL_DTYPE_I32, 1, (gint64[]) { N }, NULL);
  gint32 *l = tl_tensor_data (labels);
  l[7] = 5;
  l[N - 7] = 9;
  TlTensor *dy = tl_tensor_new (TL_DTYPE_F32, 0, NULL, NULL);
  tl_tensor_fill (dy, 1.0);
  const guint threads[] = { 1, 2, 4 };
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++) {
    tl_set_num_threads (threads[i]);
    expect_error ("cross_entropy", 2, (TlTensor *[]) { x, labels }, NULL, TL_ERROR_INVALID_ARGUMENT,
                  "label 5 at row 7 is out of range [0, 2)");
    expect_error ("cross_entropy_grad", 3, (TlTensor *[]) { dy, x, labels }, NULL, TL_ERROR_INVALID_ARGUMENT,
                  "label 5 at row 7 is out of range [0, 2)");
  }
  tl_set_num_threads (saved);
  tl_tensor_unref (dy);
  tl_tensor_unref (labels);
  tl_tensor_unref (x);
}

static void
test_spmm (void)
{
  gint64 rows = 5, cols = 6, n = 3;
  TlTensor *in[4];
  random_csr (rows, cols, &in[0], &in[1], &in[2]);
  in[3] = tl_test_randn (&rng, 2, (gint64[]) { cols, n }, 1.0);
  TlAttrs *attrs = attrs_ints ("n_rows", rows, NULL);
  TlTensor *a = csr_dense (in, rows, cols);
  check_forward ("spmm", 4, in, attrs, ref_matmul (a, in[3], FALSE, FALSE));
  gradcheck ("spmm", 4, in, attrs, EPS, TOL);
  tl_tensor_unref (a);
  tl_attrs_free (attrs);

  /* the gradient ops are differentiable too */
  TlTensor *tin[4] = { in[0], in[1], in[2], tl_test_randn (&rng, 2, (gint64[]) { rows, n }, 1.0) };
  attrs = attrs_ints ("n_cols", cols, NULL);
  gradcheck ("spmm_t", 4, tin, attrs, EPS, TOL);
  tl_attrs_free (attrs);
  TlTensor *sin[4] = { in[0], in[1], tin[3], in[3] };
  gradcheck ("sddmm", 4, sin, NULL, EPS, TOL);
  tl_tensor_unref (tin[3]);
  unref_all (in, 4);
}

/* A larger matrix: spmm, and spmm_t (parallel over columns) against dense A^T y. */
static void
test_spmm_large (void)
{
  gint64 rows = 40, cols = 30, n = 70;
  TlTensor *in[4];
  random_csr (rows, cols, &in[0], &in[1], &in[2]);
  g_assert_cmpint (tl_tensor_numel (in[1]), >=, 256);
  in[3] = tl_test_randn (&rng, 2, (gint64[]) { rows, n }, 1.0);
  TlTensor *a = csr_dense (in, rows, cols);
  TlAttrs *attrs = attrs_ints ("n_cols", cols, NULL);
  check_forward ("spmm_t", 4, in, attrs, ref_matmul (a, in[3], TRUE, FALSE));
  tl_attrs_free (attrs);
  g_autoptr (GError) error = NULL;
  attrs = attrs_ints ("n_cols", cols, NULL);
  TL_TEST_ASSERT_OK (tl_test_forward_deterministic ("spmm_t", 4, in, attrs, &error), error);
  tl_attrs_free (attrs);
  tl_tensor_unref (a);
  unref_all (in, 4);
}

/* spmm inputs: a CSR structure with indptr `indptr` (3 entries), one non-zero in
 * column 0, and a random [3, 2] dense operand. */
static void
spmm_inputs_3x2 (TlTensor **in, const gint64 *indptr)
{
  in[0] = tl_tensor_new_from_data (TL_DTYPE_I64, 1, (gint64[]) { 3 }, indptr, NULL);
  in[1] = tl_tensor_new_from_data (TL_DTYPE_I64, 1, (gint64[]) { 1 }, (gint64[]) { 0 }, NULL);
  in[2] = tl_test_randn (&rng, 1, (gint64[]) { 1 }, 1.0);
  in[3] = tl_test_randn (&rng, 2, (gint64[]) { 3, 2 }, 1.0);
}

/* A malformed CSR structure: run-time errors of the CPU kernels; the CUDA
 * kernels check it on the device (the next wait for the stream reports it). */
static void
test_spmm_errors_run_time (void)
{
  TlTensor *in[4];
  spmm_inputs_3x2 (in, (gint64[]) { 0, 2, 1 });
  TlAttrs *attrs = attrs_ints ("n_rows", (gint64) 2, NULL);
  expect_error ("spmm", 4, in, attrs, TL_ERROR_INVALID_ARGUMENT, "indptr decreases");
  tl_tensor_unref (in[0]);
  in[0] = tl_tensor_new_from_data (TL_DTYPE_I64, 1, (gint64[]) { 3 }, (gint64[]) { 1, 1, 1 }, NULL);
  expect_error ("spmm", 4, in, attrs, TL_ERROR_INVALID_ARGUMENT, "indptr[0]");
  tl_tensor_unref (in[0]);
  in[0] = tl_tensor_new_from_data (TL_DTYPE_I64, 1, (gint64[]) { 3 }, (gint64[]) { 0, 0, 2 }, NULL);
  expect_error ("spmm", 4, in, attrs, TL_ERROR_INVALID_ARGUMENT, "expected nnz");
  tl_tensor_unref (in[0]);
  in[0] = tl_tensor_new_from_data (TL_DTYPE_I64, 1, (gint64[]) { 3 }, (gint64[]) { 0, 0, 1 }, NULL);
  tl_tensor_unref (in[1]);
  in[1] = tl_tensor_new_from_data (TL_DTYPE_I64, 1, (gint64[]) { 1 }, (gint64[]) { 3 }, NULL);
  expect_error ("spmm", 4, in, attrs, TL_ERROR_INVALID_ARGUMENT, "index 3");
  tl_attrs_free (attrs);
  unref_all (in, 4);
}

static void
test_spmm_errors (void)
{
  TlTensor *in[4];
  spmm_inputs_3x2 (in, (gint64[]) { 0, 0, 1 });
  TlAttrs *attrs = attrs_ints ("n_rows", (gint64) 3, NULL);
  expect_error ("spmm", 4, in, attrs, TL_ERROR_SHAPE, "n_rows + 1");
  tl_attrs_free (attrs);
  unref_all (in, 4);
}

/* --- dropout ------------------------------------------------------------ */

/* One dropout node run by an executor; returns y (and mask, dx). */
static void
run_dropout (TlTensor *x, double p, gboolean training, guint threads, guint64 seed, TlTensor **y,
             TlTensor **dx)
{
  g_autoptr (GError) error = NULL;
  TlGraph *g = tl_graph_new ();
  TlValue *xv = tl_graph_input (g, "x", TL_DTYPE_F32, tl_tensor_ndim (x), tl_tensor_shape (x));
  TlValue *yv = tl_dropout (g, xv, p);
  TlValue *loss = tl_sum (g, yv, 0, NULL, FALSE);
  TlValue *gx = NULL;
  g_assert_true (tl_graph_take_error (g, &error));
  g_assert_true (tl_autodiff (g, loss, 1, &xv, &gx, &error));
  g_assert_no_error (error);
  TlExecOptions opts;
  tl_test_exec_options_init (&opts);
  opts.training = training;
  opts.n_threads = threads;
  opts.seed = seed;
  opts.deterministic = 1;
  TlExec *ex = tl_exec_new (g, 2, (TlValue *[]) { yv, gx }, &opts, &error);
  g_assert_no_error (error);
  TL_TEST_ASSERT_OK (tl_exec_set_input (ex, "x", x, &error), error);
  TL_TEST_ASSERT_OK (tl_exec_run (ex, 3, &error), error);
  *y = tl_exec_get_output_host (ex, 0, &error);
  g_assert_no_error (error);
  *dx = tl_exec_get_output_host (ex, 1, &error);
  g_assert_no_error (error);
  tl_exec_free (ex);
  tl_graph_unref (g);
}

static void
test_dropout (void)
{
  gint64 shape[2] = { 100, 123 }; /* 12300 elements: several RNG blocks */
  TlTensor *x = tl_test_randn (&rng, 2, shape, 1.0);
  gint64 n = tl_tensor_numel (x);
  TlTensor *y1, *d1, *y2, *d2;

  run_dropout (x, 0.3, TRUE, 1, 11, &y1, &d1);
  run_dropout (x, 0.3, TRUE, 2, 11, &y2, &d2);
  g_assert_true (tl_tensor_equal_bits (y1, y2));
  g_assert_true (tl_tensor_equal_bits (d1, d2));
  gint64 kept = 0;
  float scale = (float) (1.0 / 0.7);
  for (gint64 i = 0; i < n; i++) {
    double yv = tl_tensor_get_flat (y1, i), dv = tl_tensor_get_flat (d1, i);
    if (yv != 0.0) {
      kept++;
      g_assert_cmpfloat (yv, ==, (float) tl_tensor_get_flat (x, i) * scale);
      g_assert_cmpfloat (dv, ==, scale);
    } else {
      g_assert_cmpfloat (dv, ==, 0.0);
    }
  }
  /* 12300 Bernoulli(0.7): mean 8610, sd ~51 */
  g_assert_cmpint (kept, >, 8610 - 400);
  g_assert_cmpint (kept, <, 8610 + 400);
  tl_tensor_unref (y2);
  tl_tensor_unref (d2);

  /* another seed, another mask */
  run_dropout (x, 0.3, TRUE, 2, 12, &y2, &d2);
  g_assert_false (tl_tensor_equal_bits (y1, y2));
  tl_tensor_unref (y2);
  tl_tensor_unref (d2);

  /* not training: identity, gradient ones */
  run_dropout (x, 0.3, FALSE, 2, 11, &y2, &d2);
  g_assert_true (tl_tensor_equal_bits (y2, x));
  for (gint64 i = 0; i < n; i++)
    g_assert_cmpfloat (tl_tensor_get_flat (d2, i), ==, 1.0);
  tl_tensor_unref (y2);
  tl_tensor_unref (d2);
  tl_tensor_unref (y1);
  tl_tensor_unref (d1);

  /* p = 1 in training zeroes everything */
  run_dropout (x, 1.0, TRUE, 2, 11, &y1, &d1);
  for (gint64 i = 0; i < n; i++)
    g_assert_cmpfloat (tl_tensor_get_flat (y1, i), ==, 0.0);
  tl_tensor_unref (y1);
  tl_tensor_unref (d1);

  TlAttrs *attrs = tl_attrs_new ();
  tl_attrs_set_float (attrs, "p", 1.5);
  expect_error ("dropout", 1, &x, attrs, TL_ERROR_INVALID_ARGUMENT, "p must be");
  tl_attrs_free (attrs);
  tl_tensor_unref (x);
}

/* --- determinism and builders ------------------------------------------- */

static void
test_deterministic (void)
{
  g_autoptr (GError) error = NULL;
  const ConvCase *cc = &conv_cases[2];
  TlTensor *in[3];
  conv_inputs (cc, in);
  TlAttrs *attrs = conv_attrs (cc);
  TL_TEST_ASSERT_OK (tl_test_forward_deterministic ("conv2d", 3, in, attrs, &error), error);
  tl_attrs_free (attrs);
  unref_all (in, 3);

  TlTensor *sp[4];
  random_csr (8, 7, &sp[0], &sp[1], &sp[2]);
  sp[3] = tl_test_randn (&rng, 2, (gint64[]) { 7, 5 }, 1.0);
  attrs = attrs_ints ("n_rows", (gint64) 8, NULL);
  TL_TEST_ASSERT_OK (tl_test_forward_deterministic ("spmm", 4, sp, attrs, &error), error);
  tl_attrs_free (attrs);
  unref_all (sp, 4);
}

static void
test_builders (void)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (tl_init (&error));
  TlGraph *g = tl_graph_new ();
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 4, (gint64[]) { 2, 3, 8, 8 });
  TlTensor *wt = tl_test_randn (&rng, 4, (gint64[]) { 4, 3, 3, 3 }, 1.0);
  TlValue *w = tl_graph_param (g, "w", wt);
  TlValue *y = tl_conv2d (g, x, w, NULL, 1, 1, 1, 1);
  y = tl_max_pool2d (g, y, 2, 2, 0);
  g_assert_cmpint (tl_value_dim (y, 2), ==, 4);
  y = tl_avg_pool2d (g, y, 2, 0, 0);
  g_assert_cmpint (tl_value_dim (y, 3), ==, 2);
  TlValue *f = tl_reshape (g, y, 2, (gint64[]) { 2, 16 });
  TlTensor *lw = tl_test_randn (&rng, 2, (gint64[]) { 5, 16 }, 1.0);
  TlValue *z = tl_linear (g, f, tl_graph_param (g, "lw", lw), NULL);
  g_assert_cmpint (tl_value_dim (z, 1), ==, 5);
  z = tl_dropout (g, z, 0.1);
  TlValue *mm = tl_matmul (g, z, z, FALSE, TRUE);
  g_assert_cmpint (tl_value_dim (mm, 0), ==, 2);
  g_assert_cmpint (tl_value_dim (mm, 1), ==, 2);
  g_assert_true (tl_graph_take_error (g, &error));

  /* sticky error: a bad shape fails and later calls return NULL */
  g_assert_null (tl_matmul (g, z, z, FALSE, FALSE));
  g_assert_null (tl_linear (g, NULL, w, NULL));
  g_assert_false (tl_graph_take_error (g, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_SHAPE);
  tl_graph_unref (g);
  tl_tensor_unref (wt);
  tl_tensor_unref (lw);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tl_rng_init (&rng, 20261127, 0);
  g_test_add_func ("/ops-nn/matmul/forward", test_matmul_forward);
  g_test_add_func ("/ops-nn/matmul/grad", test_matmul_grad);
  g_test_add_func ("/ops-nn/matmul/errors", test_matmul_errors);
  g_test_add_func ("/ops-nn/matmul/empty", test_matmul_empty);
  g_test_add_func ("/ops-nn/matmul/cost", test_matmul_cost);
  g_test_add_func ("/ops-nn/matmul/split", test_matmul_split);
  g_test_add_func ("/ops-nn/linear", test_linear);
  g_test_add_func ("/ops-nn/conv/forward", test_conv_forward);
  g_test_add_func ("/ops-nn/conv/grad", test_conv_grad);
  g_test_add_func ("/ops-nn/conv/errors", test_conv_errors);
  g_test_add_func ("/ops-nn/pool", test_pool);
  g_test_add_func ("/ops-nn/pool/errors", test_pool_errors);
  g_test_add_func ("/ops-nn/pool/nan", test_pool_nan);
  g_test_add_func ("/ops-nn/pool/2x2-ties", test_pool_2x2_ties);
  g_test_add_func ("/ops-nn/embedding", test_embedding);
  g_test_add_func ("/ops-nn/gather", test_gather);
  g_test_add_func ("/ops-nn/scatter-add", test_scatter_add);
  g_test_add_func ("/ops-nn/index-errors", test_index_errors);
  g_test_add_func ("/ops-nn/index-errors/run-time", test_index_errors_run_time);
  g_test_add_func ("/ops-nn/cross-entropy/bad-label-row", test_cross_entropy_bad_label_row);
  g_test_add_func ("/ops-nn/spmm", test_spmm);
  g_test_add_func ("/ops-nn/spmm/large", test_spmm_large);
  g_test_add_func ("/ops-nn/spmm/errors", test_spmm_errors);
  g_test_add_func ("/ops-nn/spmm/errors/run-time", test_spmm_errors_run_time);
  g_test_add_func ("/ops-nn/dropout", test_dropout);
  g_test_add_func ("/ops-nn/deterministic", test_deterministic);
  g_test_add_func ("/ops-nn/builders", test_builders);
  return g_test_run ();
}
