/* test-cluster.c — cluster descriptions: the local cluster, parsing with
 * units, link lookups, and errors reported all at once with FILE:LINE. */
#include "config.h"

#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <tl/tl.h>

/* Occurrences of `needle` in `hay`. */
static guint
count_str (const char *hay, const char *needle)
{
  guint n = 0;
  for (const char *p = strstr (hay, needle); p; p = strstr (p + 1, needle))
    n++;
  return n;
}

static void
test_local (void)
{
  TlCluster *c = tl_cluster_new_local ();
  g_assert_cmpuint (tl_cluster_n_machines (c), ==, 1);
  g_assert_cmpuint (tl_cluster_n_devices (c), ==, 1);
  g_assert_cmpstr (tl_cluster_device_kind (c, 0), ==, "cpu");
  g_assert_cmpfloat (tl_cluster_device_memory (c, 0), >, 1e6);
  g_assert_cmpfloat (tl_cluster_device_flops (c, 0), >, 1e9);
  g_assert_cmpfloat (tl_cluster_device_bandwidth (c, 0), >, 1e9);
  g_assert_cmpfloat (tl_cluster_link_latency (c, 0, 0), ==, 0);
  tl_cluster_free (c);
  tl_cluster_free (NULL);
}

static void
test_file (void)
{
  g_autofree char *path = g_build_filename (TL_SRCDIR, "tests", "data", "clusters", "two-nodes.xml", NULL);
  g_autoptr (GError) error = NULL;
  TlCluster *c = tl_cluster_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tl_cluster_n_machines (c), ==, 2);
  g_assert_cmpuint (tl_cluster_n_devices (c), ==, 16);
  g_assert_cmpuint (tl_cluster_device_machine (c, 7), ==, 0);
  g_assert_cmpuint (tl_cluster_device_machine (c, 8), ==, 1);
  g_assert_cmpstr (tl_cluster_device_kind (c, 15), ==, "gpu");
  g_assert_cmpfloat (tl_cluster_device_memory (c, 3), ==, 16.0 * 1024 * 1024 * 1024);
  g_assert_cmpfloat (tl_cluster_device_flops (c, 3), ==, 15.7e12);
  g_assert_cmpfloat (tl_cluster_device_bandwidth (c, 3), ==, 900e9);
  g_assert_cmpfloat (tl_cluster_link_bandwidth (c, 0, 0), ==, 900e9);
  g_assert_cmpfloat (tl_cluster_link_bandwidth (c, 0, 7), ==, 150e9);
  g_assert_cmpfloat (tl_cluster_link_latency (c, 0, 7), ==, 5e-6);
  g_assert_cmpfloat (tl_cluster_link_bandwidth (c, 0, 8), ==, 1.25e9);
  g_assert_cmpfloat (tl_cluster_link_latency (c, 15, 1), ==, 20e-6);
  tl_cluster_free (c);

  g_assert_null (tl_cluster_load ("/nonexistent/cluster.xml", &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_NOT_FOUND);
  /* regression: the file was named twice ("F: Failed to open file “F”: ...") */
  g_assert_true (g_str_has_prefix (error->message, "/nonexistent/cluster.xml: "));
  g_assert_cmpuint (count_str (error->message, "cluster.xml"), ==, 1);
}

/* Regression: tl_cluster_load read with g_file_get_contents, so a FIFO
 * with no writer blocked it forever and /dev/zero was read until memory ran
 * out. Run in a subprocess so that a hang fails the test instead of
 * stalling the suite. */
static void
test_not_regular (void)
{
  if (!g_test_subprocess ()) {
    g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
    g_test_trap_assert_passed ();
    return;
  }
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tl-cluster-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *fifo = g_build_filename (dir, "fifo.xml", NULL);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_null (tl_cluster_load (fifo, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_assert_true (g_str_has_prefix (error->message, fifo));
  g_assert_nonnull (strstr (error->message, "not a regular file"));
  g_clear_error (&error);
  g_unlink (fifo);

  if (g_file_test ("/dev/zero", G_FILE_TEST_EXISTS)) {
    g_assert_null (tl_cluster_load ("/dev/zero", &error));
    g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
    g_assert_cmpstr (error->message, ==, "/dev/zero: not a regular file");
    g_clear_error (&error);
  }
  g_rmdir (dir);
}

/* Regression: a file over the 4 MiB limit was read whole before the size
 * was checked. A sparse 1 TiB file is refused from its size alone (reading
 * it, or allocating for it, fails differently). */
static void
test_too_large (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tl-cluster-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, "huge.xml", NULL);
  int fd = g_open (path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  g_assert_cmpint (fd, >=, 0);
  const off_t size = (off_t) 1 << 40;
  gboolean sparse = ftruncate (fd, size) == 0;
  if (!sparse)
    sparse = ftruncate (fd, (off_t) 5 << 20) == 0;
  g_assert_true (sparse);
  close (fd);
  GStatBuf sb;
  g_assert_cmpint (g_stat (path, &sb), ==, 0);
  g_assert_null (tl_cluster_load (path, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_PARSE);
  g_autofree char *expected = g_strdup_printf ("%s: document is too large (%lld bytes; the limit is ", path,
                                               (long long) sb.st_size);
  if (!g_str_has_prefix (error->message, expected))
    g_error ("expected '%s...', got '%s'", expected, error->message);
  g_clear_error (&error);
  g_unlink (path);
  g_rmdir (dir);
}

/* Regression: the device limit was checked after every <device count> of a
 * machine had been expanded, so 40 devices of count 1000000 (a 3 KB file)
 * made 40 million entries first. Now the <device> that goes over is
 * refused, named by its line, before anything is added. */
static void
test_too_many_devices (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) xml = g_string_new ("<cluster xmlns='urn:tl:cluster:1'>\n<machine>\n");
  for (guint i = 0; i < 40; i++)
    g_string_append (xml, "<device kind='gpu' count='1000000' memory='1GiB' flops='1e12' bandwidth='1e9'/>\n");
  g_string_append (xml, "</machine>\n</cluster>\n");
  g_autofree char *dir = g_dir_make_tmp ("tl-cluster-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, "big.xml", NULL);
  g_assert_true (g_file_set_contents (path, xml->str, (gssize) xml->len, NULL));
  g_assert_null (tl_cluster_load (path, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_PARSE);
  /* the first device makes 1000000 (the limit), the second (line 4) goes over */
  g_autofree char *expected = g_strdup_printf ("%s:4: too many devices (the cluster may have at most 1000000)",
                                               path);
  g_assert_cmpstr (error->message, ==, expected);
  g_clear_error (&error);
  g_unlink (path);
  g_rmdir (dir);

  /* machines multiply: 1000 machines of 1001 devices */
  const char *mul =
    "<cluster xmlns='urn:tl:cluster:1'>\n"
    "<machine count='1000'>\n"
    "<device kind='cpu' count='1001' memory='1GiB' flops='1e12' bandwidth='1e9'/>\n"
    "</machine>\n</cluster>\n";
  g_assert_null (tl_cluster_parse (mul, -1, "mul.xml", &error));
  g_assert_cmpstr (error->message, ==, "mul.xml:3: too many devices (the cluster may have at most 1000000)");
  g_clear_error (&error);

  /* and the machines before count too */
  const char *later =
    "<cluster xmlns='urn:tl:cluster:1'>\n"
    "<machine count='1000'><device kind='cpu' count='1000' memory='1GiB' flops='1e12' bandwidth='1e9'/></machine>\n"
    "<machine>\n<device kind='cpu' memory='1GiB' flops='1e12' bandwidth='1e9'/>\n</machine>\n</cluster>\n";
  g_assert_null (tl_cluster_parse (later, -1, "later.xml", &error));
  g_assert_cmpstr (error->message, ==, "later.xml:4: too many devices (the cluster may have at most 1000000)");
  g_clear_error (&error);
}

static void
test_units (void)
{
  const char *xml =
    "<cluster xmlns='urn:tl:cluster:1'>"
    "<machine><device kind='cpu' memory='512MB' flops='2T' bandwidth='20GB/s'/>"
    "<device kind='gpu' memory='1.5KiB' flops='3e12 flop/s' bandwidth='1e9'/>"
    "<link scope='intra' bandwidth='10GiB/s' latency='3us'/></machine>"
    "</cluster>";
  g_autoptr (GError) error = NULL;
  TlCluster *c = tl_cluster_parse (xml, -1, "units.xml", &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (tl_cluster_device_memory (c, 0), ==, 512e6);
  g_assert_cmpfloat (tl_cluster_device_flops (c, 0), ==, 2e12);
  g_assert_cmpfloat (tl_cluster_device_bandwidth (c, 0), ==, 20e9);
  g_assert_cmpfloat (tl_cluster_device_memory (c, 1), ==, 1536);
  g_assert_cmpfloat (tl_cluster_device_flops (c, 1), ==, 3e12);
  g_assert_cmpfloat (tl_cluster_link_bandwidth (c, 0, 1), ==, 10.0 * 1024 * 1024 * 1024);
  g_assert_cmpfloat (fabs (tl_cluster_link_latency (c, 1, 0) - 3e-6), <, 1e-18);
  tl_cluster_free (c);
}

static void
test_errors (void)
{
  const char *xml =
    "<cluster xmlns='urn:tl:cluster:1'>\n"
    "  <machine count='0'>\n"
    "    <device kind='tpu' memory='16GiB' flops='1e12' bandwidth='1e9'/>\n"
    "    <device kind='gpu' flops='1e12' bandwidth='1e9'/>\n"
    "    <device kind='gpu' memory='16 bananas' flops='-1' bandwidth='1e9' colour='red'/>\n"
    "    <link scope='inter' bandwidth='1e9'/>\n"
    "  </machine>\n"
    "  <rack/>\n"
    "  <link scope='inter' bandwidth='1e9' latency='5 years'/>\n"
    "</cluster>\n";
  g_autoptr (GError) error = NULL;
  g_assert_null (tl_cluster_parse (xml, -1, "bad.xml", &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_PARSE);
  static const char *const expected[] = {
    "bad.xml:2: <machine count=\"0\">: expected a positive integer",
    "bad.xml:3: <device kind=\"tpu\">: kind must be cpu or gpu",
    "bad.xml:4: <device> needs attribute 'memory'",
    "bad.xml:5: unknown attribute 'colour'",
    "bad.xml:5: <device memory=\"16 bananas\">: unknown unit",
    "bad.xml:5: <device flops=\"-1\">: must be positive",
    "bad.xml:6: <link scope=\"inter\"> here must have scope \"intra\"",
    "bad.xml:8: unexpected <rack>",
    "bad.xml:9: <link latency=\"5 years\">: unknown time unit",
  };
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    if (!strstr (error->message, expected[i]))
      g_error ("missing '%s' in:\n%s", expected[i], error->message);
  g_clear_error (&error);

  static const char *const docs[] = {
    "<cluster xmlns='urn:tl:cluster:1'/>",
    "<cluster/>",
    "<cluster xmlns='urn:tl:cluster:1'><machine/></cluster>",
    "<!DOCTYPE cluster [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><cluster xmlns='urn:tl:cluster:1'>&e;</cluster>",
  };
  for (guint i = 0; i < G_N_ELEMENTS (docs); i++) {
    g_assert_null (tl_cluster_parse (docs[i], -1, "c.xml", &error));
    g_assert_error (error, TL_ERROR, TL_ERROR_PARSE);
    g_assert_true (g_str_has_prefix (error->message, "c.xml:"));
    g_clear_error (&error);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cluster/local", test_local);
  g_test_add_func ("/cluster/file", test_file);
  g_test_add_func ("/cluster/units", test_units);
  g_test_add_func ("/cluster/errors", test_errors);
  g_test_add_func ("/cluster/not-regular", test_not_regular);
  g_test_add_func ("/cluster/too-large", test_too_large);
  g_test_add_func ("/cluster/too-many-devices", test_too_many_devices);
  return g_test_run ();
}
