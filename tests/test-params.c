/* test-params.c — TlParams, and validation of textual values against a
 * component's declared parameters (types, ranges, choices, required,
 * did-you-mean, every problem reported with its location). */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>
#include <tl/tl.h>
#include <tl/tl-registry.h>

static char *tmp;
static TlRegistry *reg;
static const TlComponentInfo *fives;

static void
test_basic (void)
{
  TlParams *p = tl_params_new ();
  g_assert_cmpuint (tl_params_size (p), ==, 0);
  tl_params_set_int (p, "n", 42);
  tl_params_set_float (p, "tau", 0.5);
  tl_params_set_bool (p, "v", TRUE);
  tl_params_set_string (p, "s", "hello");
  g_assert_cmpuint (tl_params_size (p), ==, 4);
  g_assert_cmpstr (tl_params_name (p, 0), ==, "n");
  g_assert_cmpstr (tl_params_name (p, 3), ==, "s");
  g_assert_null (tl_params_name (p, 4));
  g_assert_true (tl_params_has (p, "tau"));
  g_assert_false (tl_params_has (p, "nope"));
  g_assert_cmpint (tl_params_get_int (p, "n", -1), ==, 42);
  g_assert_cmpfloat (tl_params_get_float (p, "n", -1), ==, 42.0); /* ints convert */
  g_assert_cmpfloat (tl_params_get_float (p, "tau", -1), ==, 0.5);
  g_assert_true (tl_params_get_bool (p, "v", FALSE));
  g_assert_cmpstr (tl_params_get_string (p, "s", NULL), ==, "hello");
  /* wrong type or unknown name: the fallback */
  g_assert_cmpint (tl_params_get_int (p, "s", -7), ==, -7);
  g_assert_cmpstr (tl_params_get_string (p, "n", "fb"), ==, "fb");
  g_assert_cmpint (tl_params_get_int (p, "nope", 3), ==, 3);
  /* replace keeps the position, changes the type */
  tl_params_set_string (p, "n", "x");
  g_assert_cmpuint (tl_params_size (p), ==, 4);
  g_assert_cmpstr (tl_params_get_string (p, "n", NULL), ==, "x");
  char *s = tl_params_to_string (p, "tau");
  g_assert_cmpstr (s, ==, "0.5");
  g_free (s);
  s = tl_params_to_string (p, "v");
  g_assert_cmpstr (s, ==, "true");
  g_free (s);
  g_assert_null (tl_params_to_string (p, "nope"));
  TlParams *c = tl_params_copy (p);
  tl_params_set_string (p, "s", "changed");
  g_assert_cmpstr (tl_params_get_string (c, "s", NULL), ==, "hello");
  g_assert_cmpuint (tl_params_size (c), ==, 4);
  tl_params_free (c);
  tl_params_free (p);
  tl_params_free (NULL);
  g_assert_null (tl_params_copy (NULL));
  g_assert_cmpuint (tl_params_size (NULL), ==, 0);
}

static TlParams *
make (guint n, const char *const *names, const char *const *values, GError **error)
{
  static const char *const locs[] = { "job.xml:10", "job.xml:11", "job.xml:12", "job.xml:13",
                                      "job.xml:14", "job.xml:15", "job.xml:16", "job.xml:17" };
  g_assert_cmpuint (n, <=, G_N_ELEMENTS (locs));
  return tl_component_info_make_params (fives, n, names, values, locs, error);
}

static void
test_defaults (void)
{
  const char *names[] = { "path" };
  const char *values[] = { "/data/x" };
  g_autoptr (GError) error = NULL;
  TlParams *p = make (1, names, values, &error);
  g_assert_no_error (error);
  g_assert_cmpint (tl_params_get_int (p, "embed_dim", 0), ==, 16);
  g_assert_cmpfloat (tl_params_get_float (p, "tau", 0), ==, 1.0);
  g_assert_cmpstr (tl_params_get_string (p, "act", NULL), ==, "relu");
  g_assert_cmpstr (tl_params_get_string (p, "path", NULL), ==, "/data/x");
  g_assert_false (tl_params_get_bool (p, "verbose", TRUE));
  g_assert_cmpstr (tl_params_get_string (p, "name", NULL), ==, "x");
  g_assert_cmpuint (tl_params_size (p), ==, 6);
  tl_params_free (p);
}

static void
test_values (void)
{
  const char *names[] = { "path", "embed_dim", "tau", "act", "verbose", "name" };
  const char *values[] = { "p", " 1024 ", "2.5e-1", "gelu", "YES", "" };
  g_autoptr (GError) error = NULL;
  TlParams *p = make (6, names, values, &error);
  g_assert_no_error (error);
  g_assert_cmpint (tl_params_get_int (p, "embed_dim", 0), ==, 1024);
  g_assert_cmpfloat (tl_params_get_float (p, "tau", 0), ==, 0.25);
  g_assert_cmpstr (tl_params_get_string (p, "act", NULL), ==, "gelu");
  g_assert_true (tl_params_get_bool (p, "verbose", FALSE));
  g_assert_cmpstr (tl_params_get_string (p, "name", NULL), ==, "");
  tl_params_free (p);
}

static void
test_all_problems (void)
{
  const char *names[] = { "embdim", "tau", "act", "verbose", "embed_dim", "nonsense_here" };
  const char *values[] = { "8", "-1", "relux", "maybe", "1.5", "1" };
  g_autoptr (GError) error = NULL;
  g_assert_null (make (6, names, values, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_auto (GStrv) lines = g_strsplit (error->message, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 7);
  g_assert_cmpstr (lines[0], ==,
                   "job.xml:10: parameter 'embdim' is not known to component 'fives.fives'; did you mean 'embed_dim'?");
  g_assert_cmpstr (lines[1], ==,
                   "job.xml:11: parameter 'tau' of component 'fives.fives' must be >= 0, got '-1'");
  g_assert_cmpstr (lines[2], ==,
                   "job.xml:12: parameter 'act' of component 'fives.fives' must be one of relu, gelu, tanh, got 'relux'; did you mean 'relu'?");
  g_assert_true (g_str_has_prefix (lines[3], "job.xml:13: parameter 'verbose' of component 'fives.fives' expects a bool"));
  g_assert_cmpstr (lines[4], ==,
                   "job.xml:14: parameter 'embed_dim' of component 'fives.fives' expects an int, got '1.5'");
  g_assert_cmpstr (lines[5], ==,
                   "job.xml:15: parameter 'nonsense_here' is not known to component 'fives.fives'");
  g_assert_true (g_str_has_prefix (lines[6], "component 'fives.fives' requires parameter 'path'"));
}

static void
test_range_and_twice (void)
{
  const char *names[] = { "path", "embed_dim", "embed_dim" };
  const char *values[] = { "p", "0", "4" };
  g_autoptr (GError) error = NULL;
  g_assert_null (tl_component_info_make_params (fives, 3, names, values, NULL, &error));
  g_assert_cmpstr (error->message, ==,
                   "parameter 'embed_dim' of component 'fives.fives' must be between 1 and 1024, got '0'\n"
                   "parameter 'embed_dim' of component 'fives.fives' is set twice");
}

static void
test_path_expansion (void)
{
  g_setenv ("TL_TEST_PARAMS_DIR", "/srv/data", TRUE);
  const char *names[] = { "path" };
  const char *values[] = { "${TL_TEST_PARAMS_DIR}/train.csv" };
  g_autoptr (GError) error = NULL;
  TlParams *p = make (1, names, values, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tl_params_get_string (p, "path", NULL), ==, "/srv/data/train.csv");
  tl_params_free (p);
  const char *bad[] = { "${TL_TEST_PARAMS_NOT_SET_ANYWHERE}/x" };
  g_assert_null (make (1, names, bad, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_assert_true (g_str_has_prefix (error->message, "job.xml:10: parameter 'path' of component 'fives.fives': "));
  g_assert_nonnull (strstr (error->message, "TL_TEST_PARAMS_NOT_SET_ANYWHERE"));
}

static void
test_spec_accessors (void)
{
  g_assert_cmpuint (tl_component_info_n_params (fives), ==, 6);
  const TlParamSpec *s = tl_component_info_find_param (fives, "embed_dim");
  g_assert_cmpstr (tl_param_spec_name (s), ==, "embed_dim");
  g_assert_cmpint (tl_param_spec_type (s), ==, TL_PARAM_INT);
  g_assert_cmpstr (tl_param_spec_type_name (s), ==, "int");
  g_assert_cmpstr (tl_param_spec_default (s), ==, "16");
  g_assert_cmpstr (tl_param_spec_min (s), ==, "1");
  g_assert_cmpstr (tl_param_spec_max (s), ==, "1024");
  g_assert_cmpstr (tl_param_spec_doc (s), ==, "embedding size per field");
  g_assert_null (tl_param_spec_choices (s));
  s = tl_component_info_find_param (fives, "act");
  g_assert_cmpstr (tl_param_spec_choices (s)[2], ==, "tanh");
  s = tl_component_info_find_param (fives, "path");
  g_assert_null (tl_param_spec_default (s));
  g_assert_cmpint (tl_param_spec_type (s), ==, TL_PARAM_PATH);
  g_assert_null (tl_component_info_find_param (fives, "nope"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp = g_dir_make_tmp ("tl-test-params-XXXXXX", NULL);
  g_autofree char *m = g_build_filename (tmp, "fives.tlplugin.xml", NULL);
  g_autofree char *lib = g_build_filename (tmp, "libtl-fives.so", NULL);
  g_assert_true (g_file_set_contents (
      m,
      "<plugin xmlns=\"urn:tl:plugin:1\" id=\"fives\" version=\"1.0.0\" abi=\"1.0\" library=\"libtl-fives.so\">\n"
      "  <component kind=\"model\" name=\"fives\">\n"
      "    <param name=\"embed_dim\" type=\"int\" default=\"16\" min=\"1\" max=\"1024\">embedding size per field</param>\n"
      "    <param name=\"tau\" type=\"float\" default=\"1.0\" min=\"0\">temperature</param>\n"
      "    <param name=\"act\" type=\"choice\" default=\"relu\" choices=\"relu,gelu,tanh\">activation</param>\n"
      "    <param name=\"path\" type=\"path\">data file</param>\n"
      "    <param name=\"verbose\" type=\"bool\" default=\"false\">talk</param>\n"
      "    <param name=\"name\" type=\"string\" default=\"x\">a name</param>\n"
      "  </component>\n</plugin>\n", -1, NULL));
  g_assert_true (g_file_set_contents (lib, "", 0, NULL));
  g_setenv ("TL_PLUGIN_SYSTEM_PATH", "", TRUE);
  g_setenv ("TL_PLUGIN_PATH", tmp, TRUE);
  TlRegistryOptions opts = { 0 };
  opts.no_probe = 1;
  opts.no_cache = 1;
  reg = tl_registry_new (&opts, NULL);
  fives = tl_registry_find_component (reg, "fives.fives", NULL);
  g_assert_nonnull (fives);
  g_test_add_func ("/params/basic", test_basic);
  g_test_add_func ("/params/defaults", test_defaults);
  g_test_add_func ("/params/values", test_values);
  g_test_add_func ("/params/all-problems", test_all_problems);
  g_test_add_func ("/params/range-and-twice", test_range_and_twice);
  g_test_add_func ("/params/path-expansion", test_path_expansion);
  g_test_add_func ("/params/spec-accessors", test_spec_accessors);
  int rc = g_test_run ();
  tl_registry_free (reg);
  g_unlink (m);
  g_unlink (lib);
  g_rmdir (tmp);
  g_free (tmp);
  return rc;
}
