/* test-rng.c — Philox known answers, distributions, shuffling; and the
 * other host services of tl-host.h (version, data dir, variables). */
#include "config.h"

#include <math.h>
#include <string.h>
#include <tl/tl.h>

static void
test_philox_kat (void)
{
  /* Random123 kat_vectors: philox4x32_10, ctr {0,0,0,0}, key {0,0} */
  TlRng r;
  tl_rng_init (&r, 0, 0);
  g_assert_cmphex (tl_rng_u32 (&r), ==, 0x6627e8d5);
  g_assert_cmphex (tl_rng_u32 (&r), ==, 0xe169c58d);
  g_assert_cmphex (tl_rng_u32 (&r), ==, 0xbc57ac4c);
  g_assert_cmphex (tl_rng_u32 (&r), ==, 0x9b00dbd8);
  /* ctr {ffffffff x4}, key {ffffffff x2}: seed = key, counter/stream = ctr */
  tl_rng_init (&r, G_MAXUINT64, G_MAXUINT64);
  r.counter = G_MAXUINT64;
  g_assert_cmphex (tl_rng_u32 (&r), ==, 0x408f276d);
  g_assert_cmphex (tl_rng_u32 (&r), ==, 0x41c83b0e);
  g_assert_cmphex (tl_rng_u32 (&r), ==, 0xa20bc7c6);
  g_assert_cmphex (tl_rng_u32 (&r), ==, 0x6d5451fd);
  /* ctr {243f6a88 85a308d3 13198a2e 03707344}, key {a4093822 299f31d0} */
  tl_rng_init (&r, 0x299f31d0a4093822ULL, 0x0370734413198a2eULL);
  r.counter = 0x85a308d3243f6a88ULL;
  g_assert_cmphex (tl_rng_u32 (&r), ==, 0xd16cfe09);
  g_assert_cmphex (tl_rng_u32 (&r), ==, 0x94fdcceb);
  g_assert_cmphex (tl_rng_u32 (&r), ==, 0x5001e420);
  g_assert_cmphex (tl_rng_u32 (&r), ==, 0x24126ea1);
}

static void
test_streams (void)
{
  TlRng a, b, c;
  tl_rng_init (&a, 42, 1);
  tl_rng_init (&b, 42, 1);
  tl_rng_init (&c, 42, 2);
  gboolean differ = FALSE;
  for (int i = 0; i < 100; i++) {
    guint64 x = tl_rng_u64 (&a);
    g_assert_cmpuint (x, ==, tl_rng_u64 (&b));
    differ |= x != tl_rng_u64 (&c);
  }
  g_assert_true (differ);
}

static void
test_distributions (void)
{
  TlRng r;
  tl_rng_init (&r, 7, 0);
  const int n = 200000;
  double sum = 0, sum2 = 0, usum = 0;
  for (int i = 0; i < n; i++) {
    double u = tl_rng_uniform (&r);
    g_assert_true (u >= 0.0 && u < 1.0);
    usum += u;
    double z = tl_rng_normal (&r);
    g_assert_true (isfinite (z));
    sum += z;
    sum2 += z * z;
  }
  g_assert_cmpfloat (fabs (usum / n - 0.5), <, 0.01);
  g_assert_cmpfloat (fabs (sum / n), <, 0.02);
  g_assert_cmpfloat (fabs (sum2 / n - 1.0), <, 0.02);

  int counts[3] = { 0 };
  for (int i = 0; i < 30000; i++) {
    guint64 k = tl_rng_below (&r, 3);
    g_assert_cmpuint (k, <, 3);
    counts[k]++;
  }
  for (int k = 0; k < 3; k++)
    g_assert_cmpint (abs (counts[k] - 10000), <, 600);
  g_assert_cmpuint (tl_rng_below (&r, 0), ==, 0);
  g_assert_cmpuint (tl_rng_below (&r, 1), ==, 0);
  /* a bound near 2^64 still terminates and stays in range */
  g_assert_cmpuint (tl_rng_below (&r, G_MAXUINT64 - 5), <, G_MAXUINT64 - 5);
}

static void
test_shuffle (void)
{
  gint64 idx[100], idx2[100];
  for (int i = 0; i < 100; i++)
    idx[i] = idx2[i] = i;
  TlRng r, r2;
  tl_rng_init (&r, 3, 0);
  tl_rng_init (&r2, 3, 0);
  tl_rng_shuffle (&r, idx, 100);
  tl_rng_shuffle (&r2, idx2, 100);
  gboolean seen[100] = { FALSE };
  int moved = 0;
  for (int i = 0; i < 100; i++) {
    g_assert_cmpint (idx[i], ==, idx2[i]);
    g_assert_false (seen[idx[i]]);
    seen[idx[i]] = TRUE;
    moved += idx[i] != i;
  }
  g_assert_cmpint (moved, >, 50);
  tl_rng_shuffle (&r, idx, 0);
  tl_rng_shuffle (&r, idx, 1);
}

static void
test_hash (void)
{
  g_assert_cmphex (tl_hash_string (""), ==, 0xcbf29ce484222325ULL);
  g_assert_cmphex (tl_hash_string ("a"), ==, 0xaf63dc4c8601ec8cULL);
  g_assert_cmphex (tl_hash_string (NULL), ==, tl_hash_string (""));
}

static void
test_host (void)
{
  GError *error = NULL;
  g_assert_true (tl_init (&error));
  g_assert_no_error (error);
  g_assert_true (tl_init (NULL));
  g_assert_cmpstr (tl_version_string (), ==, PACKAGE_VERSION);
  guint major = 0, minor = 99;
  tl_abi_version (&major, &minor);
  g_assert_cmpuint (major, ==, TL_ABI_MAJOR);
  g_assert_cmpuint (minor, ==, TL_ABI_MINOR);
  tl_abi_version (NULL, NULL);
  g_assert_cmpuint (tl_get_num_threads (), >=, 1);

  g_assert_cmpstr (tl_component_kind_name (TL_COMPONENT_MODEL), ==, "model");
  g_assert_cmpstr (tl_component_kind_name ((TlComponentKind) 42), ==, "none");
  g_assert_cmpint (tl_component_kind_from_name ("planner"), ==, TL_COMPONENT_PLANNER);
  g_assert_cmpint (tl_component_kind_from_name ("op"), ==, TL_COMPONENT_OP);
  g_assert_cmpint (tl_component_kind_from_name ("nope"), ==, TL_COMPONENT_NONE);
  g_assert_cmpint (tl_component_kind_from_name (NULL), ==, TL_COMPONENT_NONE);

  g_setenv ("TL_TEST_VAR", "abc", TRUE);
  g_unsetenv ("TL_TEST_UNSET_VAR");
  char *s = tl_expand_vars ("x/${TL_TEST_VAR}/y${TL_TEST_VAR}$z", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (s, ==, "x/abc/yabc$z");
  g_free (s);
  g_assert_null (tl_expand_vars ("${TL_TEST_UNSET_VAR}/a", &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "TL_TEST_UNSET_VAR"));
  g_clear_error (&error);
  g_assert_null (tl_expand_vars ("${OPEN", &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_PARSE);
  g_clear_error (&error);
  const char *dd = tl_data_dir ();
  if (dd) {
    s = tl_expand_vars ("${TL_DATA_DIR}/f", &error);
    g_assert_no_error (error);
    g_assert_true (g_str_has_prefix (s, dd));
    g_free (s);
    g_assert_true (g_file_test (dd, G_FILE_TEST_IS_DIR) || g_getenv ("TL_DATA_DIR"));
  } else {
    g_test_message ("no data directory: ${TL_DATA_DIR} expansion not checked");
    g_assert_null (tl_expand_vars ("${TL_DATA_DIR}", &error));
    g_clear_error (&error);
  }
  g_assert_true (tl_data_dir () == dd); /* computed once */
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rng/philox-kat", test_philox_kat);
  g_test_add_func ("/rng/streams", test_streams);
  g_test_add_func ("/rng/distributions", test_distributions);
  g_test_add_func ("/rng/shuffle", test_shuffle);
  g_test_add_func ("/rng/hash", test_hash);
  g_test_add_func ("/host/services", test_host);
  return g_test_run ();
}
