/* test-attrs.c — typed key/value sets. */
#include "config.h"

#include <tl/tl.h>

static void
test_get_set (void)
{
  TlAttrs *a = tl_attrs_new ();
  tl_attrs_set_int (a, "n", 3);
  tl_attrs_set_float (a, "lr", 0.5);
  tl_attrs_set_string (a, "act", "relu");
  tl_attrs_set_ints (a, "shape", 2, (gint64[]) { 1, 2 });
  tl_attrs_set_floats (a, "w", 2, (double[]) { 0.25, 1.0 });
  g_assert_cmpuint (tl_attrs_size (a), ==, 5);
  g_assert_cmpstr (tl_attrs_key (a, 0), ==, "n");
  g_assert_cmpstr (tl_attrs_key (a, 4), ==, "w");
  g_assert_null (tl_attrs_key (a, 5));
  g_assert_cmpint (tl_attrs_get_int (a, "n", -1), ==, 3);
  g_assert_cmpint (tl_attrs_get_int (a, "lr", -1), ==, -1); /* wrong type: default */
  g_assert_cmpfloat (tl_attrs_get_float (a, "lr", 0), ==, 0.5);
  g_assert_cmpfloat (tl_attrs_get_float (a, "n", 0), ==, 3.0); /* ints convert */
  g_assert_cmpstr (tl_attrs_get_string (a, "act", NULL), ==, "relu");
  g_assert_cmpstr (tl_attrs_get_string (a, "nope", "d"), ==, "d");
  guint n = 99;
  const gint64 *s = tl_attrs_get_ints (a, "shape", &n);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpint (s[1], ==, 2);
  g_assert_null (tl_attrs_get_ints (a, "w", &n));
  g_assert_cmpuint (n, ==, 0);
  const double *w = tl_attrs_get_floats (a, "w", &n);
  g_assert_cmpfloat (w[0], ==, 0.25);
  g_assert_cmpint (tl_attrs_type (a, "act"), ==, TL_ATTR_STRING);
  g_assert_cmpint (tl_attrs_type (a, "nope"), ==, TL_ATTR_NONE);

  g_autofree char *s1 = tl_attrs_value_to_string (a, "n");
  g_autofree char *s2 = tl_attrs_value_to_string (a, "lr");
  g_autofree char *s3 = tl_attrs_value_to_string (a, "act");
  g_autofree char *s4 = tl_attrs_value_to_string (a, "shape");
  g_autofree char *s5 = tl_attrs_value_to_string (a, "w");
  g_assert_cmpstr (s1, ==, "3");
  g_assert_cmpstr (s2, ==, "0.5");
  g_assert_cmpstr (s3, ==, "relu");
  g_assert_cmpstr (s4, ==, "[1,2]");
  g_assert_cmpstr (s5, ==, "[0.25,1]");
  g_assert_null (tl_attrs_value_to_string (a, "nope"));
  tl_attrs_set_float (a, "x", 0.1);
  g_autofree char *s6 = tl_attrs_value_to_string (a, "x");
  g_assert_cmpstr (s6, ==, "0.1");

  /* replace keeps the position, changes the type */
  tl_attrs_set_string (a, "n", "three");
  g_assert_cmpstr (tl_attrs_key (a, 0), ==, "n");
  g_assert_cmpstr (tl_attrs_get_string (a, "n", NULL), ==, "three");
  /* setting a string to itself is safe */
  tl_attrs_set_string (a, "n", tl_attrs_get_string (a, "n", NULL));
  g_assert_cmpstr (tl_attrs_get_string (a, "n", NULL), ==, "three");

  g_assert_true (tl_attrs_remove (a, "lr"));
  g_assert_false (tl_attrs_remove (a, "lr"));
  g_assert_false (tl_attrs_has (a, "lr"));
  g_assert_cmpuint (tl_attrs_size (a), ==, 5);
  tl_attrs_free (a);
}

static void
test_null_set (void)
{
  g_assert_cmpint (tl_attrs_get_int (NULL, "x", 7), ==, 7);
  g_assert_cmpstr (tl_attrs_get_string (NULL, "x", "d"), ==, "d");
  g_assert_false (tl_attrs_has (NULL, "x"));
  g_assert_cmpuint (tl_attrs_size (NULL), ==, 0);
  guint n = 5;
  g_assert_null (tl_attrs_get_floats (NULL, "x", &n));
  g_assert_cmpuint (n, ==, 0);
  TlAttrs *c = tl_attrs_copy (NULL);
  g_assert_cmpuint (tl_attrs_size (c), ==, 0);
  g_assert_true (tl_attrs_equal (c, NULL));
  g_assert_cmphex (tl_attrs_hash (c), ==, tl_attrs_hash (NULL));
  tl_attrs_free (c);
  tl_attrs_free (NULL);
}

static void
test_equal_hash (void)
{
  TlAttrs *a = tl_attrs_new (), *b = tl_attrs_new ();
  tl_attrs_set_int (a, "k", 1);
  tl_attrs_set_string (a, "s", "x");
  tl_attrs_set_ints (a, "v", 3, (gint64[]) { 1, 2, 3 });
  /* other insertion order */
  tl_attrs_set_ints (b, "v", 3, (gint64[]) { 1, 2, 3 });
  tl_attrs_set_string (b, "s", "x");
  tl_attrs_set_int (b, "k", 1);
  g_assert_true (tl_attrs_equal (a, b));
  g_assert_cmphex (tl_attrs_hash (a), ==, tl_attrs_hash (b));
  TlAttrs *c = tl_attrs_copy (a);
  g_assert_true (tl_attrs_equal (a, c));
  g_assert_cmphex (tl_attrs_hash (a), ==, tl_attrs_hash (c));
  tl_attrs_set_int (c, "k", 2);
  g_assert_false (tl_attrs_equal (a, c));
  g_assert_cmphex (tl_attrs_hash (a), !=, tl_attrs_hash (c));
  tl_attrs_set_float (c, "k", 1.0); /* same number, other type */
  g_assert_false (tl_attrs_equal (a, c));
  g_assert_cmphex (tl_attrs_hash (a), !=, tl_attrs_hash (c));
  tl_attrs_remove (c, "k");
  g_assert_false (tl_attrs_equal (a, c));
  /* the copy is deep */
  tl_attrs_free (a);
  g_assert_cmpint (tl_attrs_get_ints (c, "v", NULL)[2], ==, 3);
  tl_attrs_free (b);
  tl_attrs_free (c);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/attrs/get-set", test_get_set);
  g_test_add_func ("/attrs/null-set", test_null_set);
  g_test_add_func ("/attrs/equal-hash", test_equal_hash);
  return g_test_run ();
}
