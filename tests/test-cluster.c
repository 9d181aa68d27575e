/* test-cluster.c — cluster descriptions: the local cluster, parsing with
 * units, link lookups, and errors reported all at once with FILE:LINE. */
#include "config.h"

#include <math.h>
#include <string.h>
#include <tl/tl.h>

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
  g_assert_error (error, TL_ERROR, TL_ERROR_IO);
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
  return g_test_run ();
}
