/* test-tensor.c — tensors: views, copies, conversions, errors. */
#include "config.h"

#include <math.h>
#include <string.h>
#include <tl/tl.h>

static TlTensor *
iota (guint ndim, const gint64 *shape)
{
  g_autoptr (GError) error = NULL;
  TlTensor *t = tl_tensor_new (TL_DTYPE_F32, ndim, shape, &error);
  g_assert_no_error (error);
  float *p = tl_tensor_data (t);
  for (gint64 i = 0; i < tl_tensor_numel (t); i++)
    p[i] = (float) i;
  return t;
}

static void
test_new (void)
{
  g_autoptr (GError) error = NULL;
  TlTensor *t = tl_tensor_new (TL_DTYPE_F32, 2, (gint64[]) { 2, 3 }, &error);
  g_assert_no_error (error);
  g_assert_cmpint (tl_tensor_numel (t), ==, 6);
  g_assert_cmpuint (tl_tensor_nbytes (t), ==, 24);
  g_assert_cmpint (tl_tensor_dim (t, -1), ==, 3);
  g_assert_cmpint (tl_tensor_dim (t, 2), ==, -1);
  g_assert_cmpint (tl_tensor_strides (t)[0], ==, 3);
  g_assert_true (tl_tensor_is_contiguous (t));
  g_assert_cmpuint ((guintptr) tl_tensor_data (t) % 64, ==, 0);
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (tl_tensor_get_flat (t, i), ==, 0.0);
  g_assert_cmpint (tl_tensor_device (t), ==, TL_DEVICE_CPU);
  TlTensorDesc d;
  tl_tensor_get_desc (t, &d);
  g_autofree char *s = tl_tensor_desc_to_string (&d);
  g_assert_cmpstr (s, ==, "f32[2,3]");
  tl_tensor_unref (t);

  TlTensor *sc = tl_tensor_new_scalar_f32 (2.5f, &error);
  g_assert_cmpuint (tl_tensor_ndim (sc), ==, 0);
  g_assert_cmpint (tl_tensor_numel (sc), ==, 1);
  g_assert_cmpfloat (tl_tensor_get_flat (sc, 0), ==, 2.5);
  tl_tensor_unref (sc);

  gint32 data[4] = { 1, -2, 3, -4 };
  TlTensor *i = tl_tensor_new_from_data (TL_DTYPE_I32, 1, (gint64[]) { 4 }, data, &error);
  g_assert_cmpfloat (tl_tensor_get_flat (i, 3), ==, -4);
  tl_tensor_unref (i);

  TlTensor *z = tl_tensor_new (TL_DTYPE_F32, 2, (gint64[]) { 0, 5 }, &error);
  g_assert_no_error (error);
  g_assert_cmpint (tl_tensor_numel (z), ==, 0);
  tl_tensor_unref (z);
}

static void
test_bad_shapes (void)
{
  GError *error = NULL;
  g_assert_null (tl_tensor_new (TL_DTYPE_F32, 2, (gint64[]) { G_MAXINT64 / 2, 4 }, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_SHAPE);
  g_clear_error (&error);
  g_assert_null (tl_tensor_new (TL_DTYPE_F64, 1, (gint64[]) { G_MAXINT64 / 4 }, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_SHAPE);
  g_clear_error (&error);
  g_assert_null (tl_tensor_new (TL_DTYPE_F32, 1, (gint64[]) { -1 }, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_SHAPE);
  g_clear_error (&error);
  g_assert_null (tl_tensor_new (TL_DTYPE_F32, 9, (gint64[]) { 1, 1, 1, 1, 1, 1, 1, 1, 1 }, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (tl_tensor_new ((TlDType) 77, 1, (gint64[]) { 1 }, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* no elements, but the other dimensions' strides would overflow */
  g_assert_null (tl_tensor_new (TL_DTYPE_F32, 3, (gint64[]) { 0, G_MAXINT64, G_MAXINT64 }, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_SHAPE);
  g_clear_error (&error);
  g_assert_null (tl_tensor_new (TL_DTYPE_F32, 2, (gint64[]) { (gint64) 1 << 61, 0 }, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_SHAPE);
  g_clear_error (&error);
  /* the largest span that fits: an empty tensor with its strides */
  g_autoptr (TlTensor) empty =
    tl_tensor_new (TL_DTYPE_F32, 2, (gint64[]) { 0, ((gint64) 1 << 61) - 1 }, &error);
  g_assert_no_error (error);
  g_assert_cmpint (tl_tensor_numel (empty), ==, 0);
#ifndef __SANITIZE_ADDRESS__ /* ASan aborts on absurd allocation sizes */
  /* large but representable: no abort, a NO_MEMORY error */
  TlTensor *big = tl_tensor_new (TL_DTYPE_U8, 1, (gint64[]) { G_MAXINT64 / 2 }, &error);
  g_assert_null (big);
  g_assert_error (error, TL_ERROR, TL_ERROR_NO_MEMORY);
  g_clear_error (&error);
#endif
}

static void
test_views (void)
{
  g_autoptr (GError) error = NULL;
  TlTensor *t = iota (2, (gint64[]) { 2, 3 });
  TlTensor *r = tl_tensor_reshape (t, 2, (gint64[]) { 3, -1 }, &error);
  g_assert_no_error (error);
  g_assert_cmpint (tl_tensor_dim (r, 1), ==, 2);
  g_assert_true (tl_tensor_data (r) == tl_tensor_data (t)); /* view */
  tl_tensor_set_flat (r, 5, 42);
  g_assert_cmpfloat (tl_tensor_get_flat (t, 5), ==, 42); /* shared storage */
  g_assert_null (tl_tensor_reshape (t, 1, (gint64[]) { 7 }, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_SHAPE);
  g_clear_error (&error);

  TlTensor *tt = tl_tensor_transpose (t, 0, 1, &error);
  g_assert_no_error (error);
  g_assert_false (tl_tensor_is_contiguous (tt));
  g_assert_cmpint (tl_tensor_dim (tt, 0), ==, 3);
  /* tt[1][0] == t[0][1] */
  g_assert_cmpfloat (tl_tensor_get_flat (tt, 2), ==, 1);
  g_assert_cmpfloat (tl_tensor_get_flat (tt, 1), ==, 3);
  TlTensor *c = tl_tensor_contiguous (tt, &error);
  g_assert_true (tl_tensor_is_contiguous (c));
  g_assert_true (tl_tensor_data (c) != tl_tensor_data (t));
  g_assert_cmpfloat (tl_tensor_max_rel_diff (c, tt), ==, 0.0);
  TlTensor *c2 = tl_tensor_contiguous (c, &error);
  g_assert_true (c2 == c); /* already contiguous: same tensor */
  tl_tensor_unref (c2);
  /* reshape of a non-contiguous view copies */
  TlTensor *flat = tl_tensor_reshape (tt, 1, (gint64[]) { 6 }, &error);
  g_assert_no_error (error);
  const float want[6] = { 0, 3, 1, 4, 2, 42 };
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (tl_tensor_get_flat (flat, i), ==, want[i]);

  TlTensor *p = tl_tensor_permute (t, (gint[]) { 1, 0 }, &error);
  g_assert_true (tl_tensor_equal_bits (p, tt));
  g_assert_null (tl_tensor_permute (t, (gint[]) { 0, 0 }, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (tl_tensor_transpose (t, 0, 2, &error));
  g_clear_error (&error);

  TlTensor *big = iota (2, (gint64[]) { 4, 5 });
  TlTensor *sl = tl_tensor_slice (big, 1, 1, 5, 2, &error); /* cols 1, 3 */
  g_assert_no_error (error);
  g_assert_cmpint (tl_tensor_dim (sl, 1), ==, 2);
  g_assert_cmpfloat (tl_tensor_get_flat (sl, 0), ==, 1);
  g_assert_cmpfloat (tl_tensor_get_flat (sl, 1), ==, 3);
  g_assert_cmpfloat (tl_tensor_get_flat (sl, 2), ==, 6);
  TlTensor *sl2 = tl_tensor_slice (sl, 0, -2, G_MAXINT64, 1, &error); /* rows 2..3 */
  g_assert_cmpint (tl_tensor_dim (sl2, 0), ==, 2);
  g_assert_cmpfloat (tl_tensor_get_flat (sl2, 0), ==, 11);
  TlTensor *cp = tl_tensor_copy (sl2, &error);
  g_assert_true (tl_tensor_is_contiguous (cp));
  g_assert_cmpfloat (tl_tensor_get_flat (cp, 3), ==, 18);
  g_assert_true (tl_tensor_equal_bits (cp, sl2));
  /* copy_into a strided destination */
  TlTensor *ones = tl_tensor_new (TL_DTYPE_F64, 2, (gint64[]) { 2, 2 }, &error);
  tl_tensor_fill (ones, 1.0);
  g_assert_true (tl_tensor_copy_into (sl2, ones, &error));
  g_assert_cmpfloat (tl_tensor_get_flat (big, 11), ==, 1);
  g_assert_cmpfloat (tl_tensor_get_flat (big, 12), ==, 12);
  g_assert_cmpfloat (tl_tensor_get_flat (big, 13), ==, 1);
  g_assert_false (tl_tensor_copy_into (big, ones, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_SHAPE);
  g_clear_error (&error);
  g_assert_null (tl_tensor_slice (big, 0, 0, 1, 0, &error));
  g_clear_error (&error);
  /* fill on a strided view touches only the view */
  tl_tensor_fill (sl, -1.0);
  g_assert_cmpfloat (tl_tensor_get_flat (big, 0), ==, 0);
  g_assert_cmpfloat (tl_tensor_get_flat (big, 1), ==, -1);

  /* the storage outlives the first view */
  tl_tensor_unref (t);
  g_assert_cmpfloat (tl_tensor_get_flat (r, 5), ==, 42);
  tl_tensor_ref (r);
  tl_tensor_unref (r);

  TlTensor *list[] = { r, tt, c, flat, p, big, sl, sl2, cp, ones };
  for (guint i = 0; i < G_N_ELEMENTS (list); i++)
    tl_tensor_unref (list[i]);
}

static void
test_cast (void)
{
  g_autoptr (GError) error = NULL;
  const float v[6] = { 1.5f, -2.7f, 300.0f, 1e-8f, 65520.0f, NAN };
  TlTensor *t = tl_tensor_new_from_data (TL_DTYPE_F32, 1, (gint64[]) { 6 }, v, &error);
  TlTensor *h = tl_tensor_cast (t, TL_DTYPE_F16, &error);
  g_assert_no_error (error);
  const guint16 *hp = tl_tensor_const_data (h);
  g_assert_cmphex (hp[0], ==, tl_f32_to_f16 (1.5f));
  g_assert_cmphex (hp[4], ==, 0x7c00);
  TlTensor *back = tl_tensor_cast (h, TL_DTYPE_F32, &error);
  g_assert_cmpfloat (tl_tensor_get_flat (back, 0), ==, 1.5);
  g_assert_true (isinf (tl_tensor_get_flat (back, 4)));
  g_assert_true (isnan (tl_tensor_get_flat (back, 5)));
  TlTensor *bf = tl_tensor_cast (t, TL_DTYPE_BF16, &error);
  g_assert_cmphex (((const guint16 *) tl_tensor_const_data (bf))[1], ==, tl_f32_to_bf16 (-2.7f));
  TlTensor *i8 = tl_tensor_cast (t, TL_DTYPE_I8, &error);
  g_assert_cmpfloat (tl_tensor_get_flat (i8, 0), ==, 1);   /* truncates */
  g_assert_cmpfloat (tl_tensor_get_flat (i8, 1), ==, -2);
  g_assert_cmpfloat (tl_tensor_get_flat (i8, 2), ==, 127); /* saturates */
  g_assert_cmpfloat (tl_tensor_get_flat (i8, 5), ==, 0);   /* NaN -> 0 */
  TlTensor *b = tl_tensor_cast (t, TL_DTYPE_BOOL, &error);
  g_assert_cmpfloat (tl_tensor_get_flat (b, 3), ==, 1);
  gint64 big[2] = { G_MAXINT64 - 1, -5 };
  TlTensor *i64 = tl_tensor_new_from_data (TL_DTYPE_I64, 1, (gint64[]) { 2 }, big, &error);
  TlTensor *i64c = tl_tensor_cast (i64, TL_DTYPE_I64, &error);
  g_assert_true (tl_tensor_equal_bits (i64, i64c));
  TlTensor *i32 = tl_tensor_cast (i64, TL_DTYPE_I32, &error);
  g_assert_cmpfloat (tl_tensor_get_flat (i32, 0), ==, G_MAXINT32);
  g_assert_cmpfloat (tl_tensor_get_flat (i32, 1), ==, -5);
  TlTensor *u8 = tl_tensor_cast (i32, TL_DTYPE_U8, &error);
  g_assert_cmpfloat (tl_tensor_get_flat (u8, 1), ==, 0);
  /* every dtype pair converts small integers exactly */
  for (int s = TL_DTYPE_F32; s < TL_DTYPE_COUNT_; s++)
    for (int d = TL_DTYPE_F32; d < TL_DTYPE_COUNT_; d++) {
      TlTensor *x = tl_tensor_new ((TlDType) s, 1, (gint64[]) { 3 }, &error);
      g_assert_no_error (error);
      tl_tensor_set_flat (x, 0, 0);
      tl_tensor_set_flat (x, 1, 1);
      tl_tensor_set_flat (x, 2, 5);
      TlTensor *y = tl_tensor_cast (x, (TlDType) d, &error);
      g_assert_no_error (error);
      g_assert_cmpfloat (tl_tensor_get_flat (y, 1), ==, 1);
      g_assert_cmpfloat (tl_tensor_get_flat (y, 2), ==, (d == TL_DTYPE_BOOL || s == TL_DTYPE_BOOL) ? 1 : 5);
      tl_tensor_unref (x);
      tl_tensor_unref (y);
    }
  TlTensor *list[] = { t, h, back, bf, i8, b, i64, i64c, i32, u8 };
  for (guint i = 0; i < G_N_ELEMENTS (list); i++)
    tl_tensor_unref (list[i]);
}

static void
test_compare (void)
{
  TlTensor *a = iota (1, (gint64[]) { 4 });
  TlTensor *b = iota (1, (gint64[]) { 4 });
  g_assert_true (tl_tensor_equal_bits (a, b));
  g_assert_cmpfloat (tl_tensor_max_rel_diff (a, b), ==, 0.0);
  tl_tensor_set_flat (a, 3, 3.3);
  g_assert_false (tl_tensor_equal_bits (a, b));
  g_assert_cmpfloat (fabs (tl_tensor_max_rel_diff (a, b) - 0.1), <, 1e-6);
  TlTensor *c = iota (1, (gint64[]) { 5 });
  g_assert_cmpfloat (tl_tensor_max_rel_diff (a, c), ==, -1.0);
  g_assert_false (tl_tensor_equal_bits (a, c));
  tl_tensor_set_flat (a, 0, NAN);
  g_assert_true (isinf (tl_tensor_max_rel_diff (a, b)));
  g_assert_cmpfloat (tl_tensor_get_flat (a, 99), ==, 0.0);
  tl_tensor_unref (a);
  tl_tensor_unref (b);
  tl_tensor_unref (c);
}

static gpointer
ref_worker (gpointer data)
{
  TlTensor *t = data;
  for (int i = 0; i < 100000; i++)
    tl_tensor_unref (tl_tensor_ref (t));
  return NULL;
}

static void
test_threaded_refs (void)
{
  TlTensor *t = iota (1, (gint64[]) { 4 });
  GThread *th[4];
  for (int i = 0; i < 4; i++)
    th[i] = g_thread_new ("ref", ref_worker, t);
  for (int i = 0; i < 4; i++)
    g_thread_join (th[i]);
  g_assert_cmpfloat (tl_tensor_get_flat (t, 3), ==, 3);
  tl_tensor_unref (t);
}

static void
test_free_null (void)
{
  tl_tensor_unref (NULL);
  g_assert_null (tl_tensor_ref (NULL));
  tl_attrs_free (NULL);
  tl_graph_unref (NULL);
  tl_exec_free (NULL);
}

/* A huge step: one element (the length must not overflow), also through
 * the "slice" op's CPU kernel, which slices with tl_tensor_slice. */
static void
test_slice_huge_step (void)
{
  g_autoptr (GError) error = NULL;
  TlTensor *t = iota (2, (gint64[]) { 4, 5 });
  const gint64 steps[] = { G_MAXINT64 - 1, G_MAXINT64 };
  for (guint k = 0; k < G_N_ELEMENTS (steps); k++) {
    TlTensor *v = tl_tensor_slice (t, 1, 2, 5, steps[k], &error);
    g_assert_no_error (error);
    g_assert_cmpint (tl_tensor_dim (v, 0), ==, 4);
    g_assert_cmpint (tl_tensor_dim (v, 1), ==, 1);
    for (int r = 0; r < 4; r++)
      g_assert_cmpfloat (tl_tensor_get_flat (v, r), ==, r * 5 + 2);
    TlTensor *c = tl_tensor_copy (v, &error);
    g_assert_no_error (error);
    g_assert_true (tl_tensor_equal_bits (c, v));
    tl_tensor_unref (c);
    tl_tensor_unref (v);
    /* start at the end: empty */
    v = tl_tensor_slice (t, 0, 4, G_MAXINT64, steps[k], &error);
    g_assert_no_error (error);
    g_assert_cmpint (tl_tensor_dim (v, 0), ==, 0);
    tl_tensor_unref (v);

    TlGraph *g = tl_graph_new ();
    TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 2, (gint64[]) { 4, 5 });
    TlValue *y = tl_slice (g, x, 1, 2, 5, steps[k]);
    g_assert_true (tl_graph_take_error (g, &error));
    TlExec *ex = tl_exec_new (g, 1, &y, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (tl_exec_set_input (ex, "x", t, &error));
    g_assert_true (tl_exec_run (ex, 0, &error));
    g_assert_no_error (error);
    TlTensor *out = tl_exec_get_output_host (ex, 0, &error);
    g_assert_no_error (error);
    g_assert_cmpint (tl_tensor_dim (out, 1), ==, 1);
    for (int r = 0; r < 4; r++)
      g_assert_cmpfloat (tl_tensor_get_flat (out, r), ==, r * 5 + 2);
    tl_tensor_unref (out);
    tl_exec_free (ex);
    tl_graph_unref (g);
  }
  tl_tensor_unref (t);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tensor/new", test_new);
  g_test_add_func ("/tensor/bad-shapes", test_bad_shapes);
  g_test_add_func ("/tensor/views", test_views);
  g_test_add_func ("/tensor/slice-huge-step", test_slice_huge_step);
  g_test_add_func ("/tensor/cast", test_cast);
  g_test_add_func ("/tensor/compare", test_compare);
  g_test_add_func ("/tensor/threaded-refs", test_threaded_refs);
  g_test_add_func ("/tensor/free-null", test_free_null);
  return g_test_run ();
}
