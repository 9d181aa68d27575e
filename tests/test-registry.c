/* test-registry.c — scanning manifests, versions, allow-list, cache,
 * did-you-mean, the built-in plugin. Manifests are written to a temporary
 * directory; probing uses a fake scanner script that logs its calls. */
#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <glib/gstdio.h>
#include <tl/tl.h>
#include <tl/tl-registry.h>

#include "builtin-util.h"

static char *tmp;

static char *
path_in (const char *a, const char *b)
{
  return g_build_filename (tmp, a, b, NULL);
}

/* dir/<id>.tlplugin.xml naming libtl-<id>.so (created empty) */
static void
write_plugin (const char *dir, const char *id, const char *version, const char *body)
{
  g_autofree char *d = g_build_filename (tmp, dir, NULL);
  g_mkdir_with_parents (d, 0700);
  g_autofree char *name = g_strdup_printf ("%s.tlplugin.xml", id);
  g_autofree char *lib = g_strdup_printf ("libtl-%s.so", id);
  g_autofree char *m = g_build_filename (d, name, NULL);
  g_autofree char *l = g_build_filename (d, lib, NULL);
  g_autofree char *xml = g_strdup_printf (
      "<?xml version=\"1.0\"?>\n"
      "<plugin xmlns=\"urn:tl:plugin:1\" id=\"%s\" version=\"%s\" abi=\"1.0\" library=\"%s\" license=\"MIT\">\n"
      "  <description>test %s</description>\n%s</plugin>\n",
      id, version, lib, id,
      body ? body : "  <component kind=\"model\" name=\"scale\"><param name=\"embed_dim\" type=\"int\" default=\"4\"/></component>\n");
  g_assert_true (g_file_set_contents (m, xml, -1, NULL));
  if (!g_file_test (l, G_FILE_TEST_EXISTS))
    g_assert_true (g_file_set_contents (l, "", 0, NULL));
}

static TlRegistry *
open_dirs (const char *d1, const char *d2, gboolean probe)
{
  g_autofree char *a = g_build_filename (tmp, d1, NULL);
  g_autofree char *b = d2 ? g_build_filename (tmp, d2, NULL) : NULL;
  const char *paths[] = { a, b, NULL };
  TlRegistryOptions opts = { 0 };
  opts.extra_paths = paths;
  opts.no_probe = !probe;
  opts.no_cache = !probe;
  g_autoptr (GError) error = NULL;
  TlRegistry *r = tl_registry_new (&opts, &error);
  g_assert_no_error (error);
  return r;
}

static void
test_scan (void)
{
  write_plugin ("scan", "alpha", "1.0.0", NULL);
  write_plugin ("scan/sub", "beta", "0.3.1",
                "  <requires feature=\"openmp\"/>\n"
                "  <component kind=\"op\" name=\"mul\"><description>m</description><device>cpu</device><device>cuda</device></component>\n"
                "  <component kind=\"dataset\" name=\"data\"><param name=\"path\" type=\"path\"/></component>\n");
  TlRegistry *r = open_dirs ("scan", NULL, FALSE);
  g_autofree char *scan = g_build_filename (tmp, "scan", NULL);
  g_assert_cmpstr (tl_registry_search_path (r)[0], ==, scan);
  const TlPluginInfo *a = tl_registry_find_plugin (r, "alpha");
  const TlPluginInfo *b = tl_registry_find_plugin (r, "beta");
  g_assert_nonnull (a);
  g_assert_nonnull (b);
  g_assert_cmpstr (tl_plugin_info_version (b), ==, "0.3.1");
  g_assert_cmpstr (tl_plugin_info_license (a), ==, "MIT");
  g_assert_cmpstr (tl_plugin_info_abi (a), ==, "1.0");
  g_assert_cmpstr (tl_plugin_info_description (a), ==, "test alpha");
  g_assert_cmpint (tl_plugin_info_status (a), ==, TL_PLUGIN_STATUS_OK);
  g_assert_cmpuint (tl_plugin_info_n_components (b), ==, 2);
  g_assert_cmpstr (tl_plugin_info_requires (b)[0], ==, "openmp");
  const TlComponentInfo *c = tl_plugin_info_component (b, 0);
  g_assert_cmpstr (tl_component_info_full_name (c), ==, "beta.mul");
  g_assert_cmpint (tl_component_info_kind (c), ==, TL_COMPONENT_OP);
  g_assert_cmpstr (tl_component_info_devices (c)[1], ==, "cuda");
  g_assert_true (tl_component_info_plugin (c) == b);
  /* sorted by id */
  const char *prev = "";
  for (guint i = 0; i < tl_registry_n_plugins (r); i++) {
    const char *id = tl_plugin_info_id (tl_registry_plugin (r, i));
    g_assert_cmpint (strcmp (prev, id), <=, 0);
    prev = id;
  }
  /* bare names resolve when unique */
  g_autoptr (GError) error = NULL;
  g_assert_true (tl_registry_find_component (r, "mul", &error) == c);
  g_assert_no_error (error);
  tl_registry_free (r);
  tl_registry_free (NULL);
}

static void
test_builtin (void)
{
  TlRegistry *r = open_dirs ("scan", NULL, FALSE);
  const TlPluginInfo *t = tl_registry_find_plugin (r, "tl");
  g_assert_nonnull (t);
  g_assert_null (tl_plugin_info_library_path (t));
  if (tl_plugin_info_skip_reason (t))
    g_error ("built-in plugin skipped: %s", tl_plugin_info_skip_reason (t));
  g_assert_cmpint (tl_plugin_info_status (t), ==, TL_PLUGIN_STATUS_OK);
  g_assert_cmpstr (tl_plugin_info_manifest_path (t), ==, "built-in");
  /* a plugin on disk cannot take the id "tl", whatever its version */
  g_autofree char *impostor = g_build_filename (tmp, "impostor", NULL);
  write_plugin ("impostor", "tl", "99.0.0", NULL);
  const char *paths[] = { impostor, NULL };
  TlRegistryOptions opts = { 0 };
  opts.extra_paths = paths;
  opts.no_probe = opts.no_cache = 1;
  TlRegistry *r2 = tl_registry_new (&opts, NULL);
  const TlPluginInfo *t2 = tl_registry_find_plugin (r2, "tl");
  g_assert_cmpstr (tl_plugin_info_manifest_path (t2), ==, "built-in");
  for (guint i = 0; i < tl_registry_n_plugins (r2); i++) {
    const TlPluginInfo *q = tl_registry_plugin (r2, i);
    if (q != t2 && strcmp (tl_plugin_info_id (q), "tl") == 0)
      g_assert_nonnull (strstr (tl_plugin_info_skip_reason (q), "reserved"));
  }
  tl_registry_free (r2);
  /* its tables come from libtl itself and agree with the embedded manifest */
  for (guint i = 0; i < tl_plugin_info_n_components (t); i++) {
    g_autoptr (GError) error = NULL;
    const TlComponentInfo *c = tl_plugin_info_component (t, i);
    const void *table = tl_registry_load_component (r, c, &error);
    g_assert_no_error (error);
    g_assert_nonnull (table);
  }
  tl_registry_free (r);
}

static void
test_versions (void)
{
  write_plugin ("v1", "dup", "1.2.0", NULL);
  write_plugin ("v2", "dup", "1.10.0", NULL);
  TlRegistry *r = open_dirs ("v1", "v2", FALSE);
  const TlPluginInfo *p = tl_registry_find_plugin (r, "dup");
  g_assert_cmpstr (tl_plugin_info_version (p), ==, "1.10.0");
  g_assert_cmpint (tl_plugin_info_status (p), ==, TL_PLUGIN_STATUS_OK);
  guint shadowed = 0;
  for (guint i = 0; i < tl_registry_n_plugins (r); i++) {
    const TlPluginInfo *q = tl_registry_plugin (r, i);
    if (strcmp (tl_plugin_info_id (q), "dup") == 0 && tl_plugin_info_status (q) == TL_PLUGIN_STATUS_SHADOWED) {
      g_assert_cmpstr (tl_plugin_info_version (q), ==, "1.2.0");
      shadowed++;
    }
  }
  g_assert_cmpuint (shadowed, ==, 1);
  const char *const *w = tl_registry_warnings (r);
  g_assert_nonnull (w[0]);
  g_assert_nonnull (strstr (w[0], "'dup' 1.2.0"));
  g_assert_nonnull (strstr (w[0], "shadowed by version 1.10.0"));
  /* the component comes from the winner */
  const TlComponentInfo *c = tl_registry_find_component (r, "dup.scale", NULL);
  g_assert_true (tl_component_info_plugin (c) == p);
  tl_registry_free (r);
}

static void
test_allow_list (void)
{
  g_setenv ("TL_PLUGIN_ALLOW", "alpha", TRUE);
  TlRegistry *r = open_dirs ("scan", NULL, FALSE);
  g_unsetenv ("TL_PLUGIN_ALLOW");
  g_assert_cmpint (tl_plugin_info_status (tl_registry_find_plugin (r, "alpha")), ==, TL_PLUGIN_STATUS_OK);
  g_assert_cmpint (tl_plugin_info_status (tl_registry_find_plugin (r, "beta")), ==,
                   TL_PLUGIN_STATUS_NOT_ALLOWED);
  g_assert_cmpint (tl_plugin_info_status (tl_registry_find_plugin (r, "tl")), ==, TL_PLUGIN_STATUS_OK);
  g_autoptr (GError) error = NULL;
  g_assert_null (tl_registry_find_component (r, "beta.mul", &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_PLUGIN);
  g_assert_nonnull (strstr (error->message, "allow-list"));
  g_clear_error (&error);
  const char *only_beta[] = { "beta", NULL };
  tl_registry_set_allow_list (r, only_beta);
  g_assert_cmpint (tl_plugin_info_status (tl_registry_find_plugin (r, "alpha")), ==,
                   TL_PLUGIN_STATUS_NOT_ALLOWED);
  g_assert_nonnull (tl_registry_find_component (r, "beta.mul", &error));
  tl_registry_set_allow_list (r, NULL);
  g_assert_cmpint (tl_plugin_info_status (tl_registry_find_plugin (r, "alpha")), ==, TL_PLUGIN_STATUS_OK);
  tl_registry_free (r);
}

static void
test_did_you_mean (void)
{
  TlRegistry *r = open_dirs ("scan", NULL, FALSE);
  g_autoptr (GError) error = NULL;
  g_assert_null (tl_registry_find_component (r, "alpha.scal", &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "unknown component 'alpha.scal'; did you mean 'alpha.scale'?");
  g_clear_error (&error);
  g_assert_null (tl_registry_find_component (r, "betta.mul", &error));
  g_assert_nonnull (strstr (error->message, "did you mean 'beta.mul'?"));
  g_clear_error (&error);
  g_assert_null (tl_registry_find_component (r, "mull", &error));
  g_assert_nonnull (strstr (error->message, "did you mean 'beta.mul'?"));
  g_clear_error (&error);
  g_assert_null (tl_registry_find_component (r, "zzzzzzzz.qqqq", &error));
  g_assert_null (strstr (error->message, "did you mean"));
  g_clear_error (&error);
  /* a plugin id that names no plugin: say where plugins are looked for,
   * never a component of the same name in another plugin */
  g_setenv ("TL_PLUGIN_PATH", "/nowhere/a:/nowhere/b", TRUE);
  g_assert_null (tl_registry_find_component (r, "hello.scale", &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==,
                   "component 'hello.scale': no plugin 'hello' on the search path (TL_PLUGIN_PATH=/nowhere/a:/nowhere/b "
                   "or the system directories); set TL_PLUGIN_PATH to the directory holding hello.tlplugin.xml");
  g_clear_error (&error);
  g_setenv ("TL_PLUGIN_PATH", "", TRUE);
  g_assert_null (tl_registry_find_component (r, "hello.scale", &error));
  g_assert_nonnull (strstr (error->message, "(TL_PLUGIN_PATH is not set: the system directories only)"));
  g_clear_error (&error);
  /* ... but a plugin id close to an installed one is a typo */
  g_assert_null (tl_registry_find_component (r, "alpah.scale", &error));
  g_assert_cmpstr (error->message, ==, "unknown component 'alpah.scale'; did you mean 'alpha.scale'?");
  tl_registry_free (r);
}

/* Unknown attributes in a manifest: warned about (FILE:LINE, element,
 * attribute, did-you-mean), never a reason to skip the plugin. */
static void
test_unknown_attributes (void)
{
  write_plugin ("attrs", "attrs", "1.0.0",
                "  <requires feature=\"openmp\" optional=\"yes\"/>\n"
                "  <component kind=\"model\" name=\"clf\" nmae=\"x\">\n"
                "    <param name=\"hidden\" type=\"int\" default=\"16\" minimum=\"1\" max=\"64\"/>\n"
                "    <param name=\"act\" type=\"choice\" choices=\"a,b\" default=\"a\" colour=\"red\"/>\n"
                "  </component>\n");
  TlRegistry *r = open_dirs ("attrs", NULL, FALSE);
  const TlPluginInfo *p = tl_registry_find_plugin (r, "attrs");
  g_assert_cmpint (tl_plugin_info_status (p), ==, TL_PLUGIN_STATUS_OK);
  const TlComponentInfo *c = tl_registry_find_component (r, "attrs.clf", NULL);
  g_assert_nonnull (c);
  g_assert_null (tl_param_spec_min (tl_component_info_find_param (c, "hidden")));
  g_autofree char *m = path_in ("attrs", "attrs.tlplugin.xml");
  g_autofree char *w_req = g_strdup_printf ("%s:4: unknown attribute 'optional' on <requires>; ignored", m);
  g_autofree char *w_comp = g_strdup_printf ("%s:5: unknown attribute 'nmae' on <component> (did you mean 'name'?); ignored", m);
  g_autofree char *w_min = g_strdup_printf ("%s:6: unknown attribute 'minimum' on <param> (did you mean 'min'?); ignored", m);
  g_autofree char *w_col = g_strdup_printf ("%s:7: unknown attribute 'colour' on <param>; ignored", m);
  const char *want[] = { w_req, w_comp, w_min, w_col };
  const char *const *w = tl_registry_warnings (r);
  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    if (!g_strv_contains (w, want[i])) {
      g_autofree char *all = g_strjoinv ("\n", (char **) w);
      g_error ("no warning '%s' in:\n%s", want[i], all);
    }
  g_assert_cmpuint (g_strv_length ((char **) w), ==, G_N_ELEMENTS (want));
  tl_registry_free (r);
}

/* A TL_PLUGIN_PATH entry that is a file (a manifest given by mistake) is
 * ignored with one warning per entry; missing entries stay silent. */
static void
test_plugin_path_file (void)
{
  write_plugin ("pathfile", "pf", "1.0.0", NULL);
  g_autofree char *dir = g_build_filename (tmp, "pathfile", NULL);
  g_autofree char *m = path_in ("pathfile", "pf.tlplugin.xml");
  g_autofree char *lib = path_in ("pathfile", "libtl-pf.so");
  g_autofree char *env = g_strdup_printf ("%s:%s:/nowhere/at/all:%s:%s", m, lib, dir, m);
  g_setenv ("TL_PLUGIN_PATH", env, TRUE);
  TlRegistryOptions opts = { 0 };
  opts.no_probe = opts.no_cache = 1;
  TlRegistry *r = tl_registry_new (&opts, NULL);
  g_setenv ("TL_PLUGIN_PATH", "", TRUE);
  g_assert_nonnull (tl_registry_find_plugin (r, "pf"));
  const char *const *w = tl_registry_warnings (r);
  g_autofree char *w_m = g_strdup_printf ("TL_PLUGIN_PATH entry '%s' is not a directory (ignored): give the "
                                          "directory that holds the *.tlplugin.xml", m);
  g_assert_cmpuint (g_strv_length ((char **) w), ==, 2);
  g_assert_cmpstr (w[0], ==, w_m);
  g_assert_nonnull (strstr (w[1], lib));
  tl_registry_free (r);
}

static void
test_broken_manifest (void)
{
  g_autofree char *d = g_build_filename (tmp, "broken", NULL);
  g_mkdir_with_parents (d, 0700);
  g_autofree char *m = g_build_filename (d, "oops.tlplugin.xml", NULL);
  g_assert_true (g_file_set_contents (m,
                                      "<plugin xmlns=\"urn:tl:plugin:1\" id=\"oops\" version=\"1.0.0\" abi=\"1.0\" library=\"x.so\">\n"
                                      "  <component kind=\"model\" name=\"m\">\n"
                                      "    <param name=\"k\" type=\"int\" default=\"zero\"/>\n"
                                      "  </component>\n</plugin>\n", -1, NULL));
  write_plugin ("broken", "nolib", "1.0.0", NULL);
  g_autofree char *lib = g_build_filename (d, "libtl-nolib.so", NULL);
  g_unlink (lib);
  TlRegistry *r = open_dirs ("broken", NULL, FALSE);
  const TlPluginInfo *p = tl_registry_find_plugin (r, "oops");
  g_assert_cmpint (tl_plugin_info_status (p), ==, TL_PLUGIN_STATUS_SKIPPED);
  g_autofree char *prefix = g_strdup_printf ("%s:3: ", m);
  g_assert_true (g_str_has_prefix (tl_plugin_info_skip_reason (p), prefix));
  g_assert_nonnull (strstr (tl_plugin_info_skip_reason (p), "expects an int, got 'zero'"));
  /* its version is unknown, not "0" */
  g_assert_cmpstr (tl_plugin_info_version (p), ==, "?");
  p = tl_registry_find_plugin (r, "nolib");
  g_assert_cmpint (tl_plugin_info_status (p), ==, TL_PLUGIN_STATUS_SKIPPED);
  g_assert_nonnull (strstr (tl_plugin_info_skip_reason (p), "library 'libtl-nolib.so' not found"));
  tl_registry_free (r);
}

static char *
read_log (const char *log)
{
  char *s = NULL;
  if (!g_file_get_contents (log, &s, NULL, NULL))
    s = g_strdup ("");
  g_unlink (log);
  return s;
}

static guint
count_lines (const char *s)
{
  guint n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

static void
test_cache (void)
{
  g_autofree char *log = path_in ("probe.log", NULL);
  g_autofree char *script = path_in ("fake-scanner.sh", NULL);
  g_autofree char *text = g_strdup_printf ("#!/bin/sh\necho \"$1\" >> '%s'\n"
                                           "case \"$1\" in *cskip*) echo 'skip: not today';; *) echo ok;; esac\n",
                                           log);
  g_assert_true (g_file_set_contents (script, text, -1, NULL));
  g_chmod (script, 0755);
  g_autofree char *cache = path_in ("cache", NULL);
  g_setenv ("TL_PLUGIN_SCANNER", script, TRUE);
  g_setenv ("XDG_CACHE_HOME", cache, TRUE);
  write_plugin ("cached", "cone", "1.0.0", NULL);
  write_plugin ("cached", "cskip", "1.0.0", NULL);

  TlRegistry *r = open_dirs ("cached", NULL, TRUE);
  g_autofree char *l1 = read_log (log);
  g_assert_cmpuint (count_lines (l1), ==, 2); /* miss: both probed */
  g_assert_cmpint (tl_plugin_info_status (tl_registry_find_plugin (r, "cone")), ==, TL_PLUGIN_STATUS_OK);
  g_assert_cmpstr (tl_plugin_info_skip_reason (tl_registry_find_plugin (r, "cskip")), ==, "not today");
  tl_registry_free (r);

  g_autofree char *sub = g_build_filename (cache, "tl-1", NULL);
  g_autoptr (GDir) d2 = g_dir_open (sub, 0, NULL);
  g_assert_nonnull (d2);
  const char *name = g_dir_read_name (d2);
  g_assert_nonnull (name);
  g_assert_true (g_str_has_prefix (name, "registry-") && g_str_has_suffix (name, ".xml"));

  r = open_dirs ("cached", NULL, TRUE); /* hit: nothing probed, same results */
  g_autofree char *l2 = read_log (log);
  g_assert_cmpuint (count_lines (l2), ==, 0);
  g_assert_cmpstr (tl_plugin_info_skip_reason (tl_registry_find_plugin (r, "cskip")), ==, "not today");
  g_assert_cmpint (tl_plugin_info_status (tl_registry_find_plugin (r, "cone")), ==, TL_PLUGIN_STATUS_OK);
  tl_registry_free (r);

  /* mtime change of a manifest: that plugin only */
  g_autofree char *m = path_in ("cached", "cone.tlplugin.xml");
  GStatBuf sb;
  g_assert_cmpint (g_stat (m, &sb), ==, 0);
  struct timeval tv[2] = { { sb.st_atime, 0 }, { sb.st_mtime - 10, 0 } };
  g_assert_cmpint (utimes (m, tv), ==, 0);
  r = open_dirs ("cached", NULL, TRUE);
  g_autofree char *l3 = read_log (log);
  g_assert_cmpuint (count_lines (l3), ==, 1);
  g_assert_nonnull (strstr (l3, "cone.tlplugin.xml"));
  tl_registry_free (r);

  /* size change of a library */
  g_autofree char *lib = path_in ("cached", "libtl-cskip.so");
  g_assert_true (g_file_set_contents (lib, "x", 1, NULL));
  r = open_dirs ("cached", NULL, TRUE);
  g_autofree char *l4 = read_log (log);
  g_assert_cmpuint (count_lines (l4), ==, 1);
  g_assert_nonnull (strstr (l4, "cskip.tlplugin.xml"));
  tl_registry_free (r);

  /* a corrupt cache is ignored, not fatal */
  g_autofree char *cfile = g_build_filename (sub, name, NULL);
  g_assert_true (g_file_set_contents (cfile, "<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", -1, NULL));
  r = open_dirs ("cached", NULL, TRUE);
  g_autofree char *l5 = read_log (log);
  g_assert_cmpuint (count_lines (l5), ==, 2);
  tl_registry_free (r);

  g_unsetenv ("TL_PLUGIN_SCANNER");
}

static void
test_add_path (void)
{
  write_plugin ("elsewhere", "extra", "2.0.0", NULL);
  TlRegistry *r = open_dirs ("scan", NULL, FALSE);
  g_assert_null (tl_registry_find_plugin (r, "extra"));
  g_autofree char *m = path_in ("elsewhere", "extra.tlplugin.xml");
  g_autoptr (GError) error = NULL;
  const TlPluginInfo *p = tl_registry_add_path (r, m, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tl_plugin_info_id (p), ==, "extra");
  g_assert_true (tl_registry_find_plugin (r, "extra") == p);
  /* by library path */
  g_autofree char *lib = path_in ("elsewhere", "libtl-extra.so");
  g_assert_true (tl_registry_add_path (r, lib, &error) == p);
  g_assert_no_error (error);
  g_autofree char *none = path_in ("elsewhere", "nothing.so");
  g_assert_null (tl_registry_add_path (r, none, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_NOT_FOUND);
  tl_registry_free (r);
}

/* Verdicts that do not follow from the plugin's files are not kept: a death
 * by SIGKILL (the OOM killer) or without a verdict, a dlopen failure
 * (installed libraries), a failed init (the machine). A crash by SIGSEGV is
 * the plugin's own doing: kept. A timeout is kept only for scans with no
 * longer a timeout, and only a while. */
static TlRegistry *
open_transient (double timeout)
{
  g_autofree char *a = g_build_filename (tmp, "transient", NULL);
  const char *paths[] = { a, NULL };
  TlRegistryOptions opts = { 0 };
  opts.extra_paths = paths;
  opts.probe_timeout = timeout;
  g_autoptr (GError) error = NULL;
  TlRegistry *r = tl_registry_new (&opts, &error);
  g_assert_no_error (error);
  return r;
}

static const char *
reason_of (TlRegistry *r, const char *id)
{
  const TlPluginInfo *p = tl_registry_find_plugin (r, id);
  g_assert_nonnull (p);
  return tl_plugin_info_skip_reason (p);
}

static void
test_cache_transient (void)
{
  g_autofree char *log = path_in ("probe-t.log", NULL);
  g_autofree char *script = path_in ("fake-scanner-t.sh", NULL);
  g_autofree char *text = g_strdup_printf (
      "#!/bin/sh\necho \"$1\" >> '%s'\n"
      "case \"$1\" in\n"
      "  *thang*) exec sleep 60;;\n"
      "  *tcrash*) kill -SEGV $$;;\n"
      "  *tkill*) kill -KILL $$;;\n"
      "  *texit*) exit 0;;\n"
      "  *tdep*) echo 'skip: /x/libtl-tdep.so: dlopen failed: libz9.so: cannot open shared object file';;\n"
      "  *tinit*) echo \"skip: plugin 'tinit': init failed: no device\";;\n"
      "  *tskip*) echo 'skip: bad descriptor';;\n"
      "  *) echo ok;;\n"
      "esac\n",
      log);
  g_assert_true (g_file_set_contents (script, text, -1, NULL));
  g_chmod (script, 0755);
  g_autofree char *cache = path_in ("cache-t", NULL);
  g_setenv ("TL_PLUGIN_SCANNER", script, TRUE);
  g_setenv ("XDG_CACHE_HOME", cache, TRUE);
  const char *ids[] = { "thang", "tcrash", "tkill", "texit", "tdep", "tinit", "tskip", "tok" };
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    write_plugin ("transient", ids[i], "1.0.0", NULL);

  TlRegistry *r = open_transient (0.2);
  g_autofree char *l1 = read_log (log);
  g_assert_cmpuint (count_lines (l1), ==, 8);
  g_assert_cmpstr (reason_of (r, "thang"), ==, "probe timed out after 0.2 s");
  g_assert_true (g_str_has_prefix (reason_of (r, "tcrash"), "crashed (signal 11"));
  g_assert_true (g_str_has_prefix (reason_of (r, "tkill"), "crashed (signal 9"));
  g_assert_cmpstr (reason_of (r, "texit"), ==, "probe failed (exit status 0)");
  g_assert_nonnull (strstr (reason_of (r, "tdep"), "cannot open shared object file"));
  g_assert_nonnull (strstr (reason_of (r, "tinit"), "no device"));
  g_assert_cmpstr (reason_of (r, "tskip"), ==, "bad descriptor");
  g_assert_null (reason_of (r, "tok"));
  tl_registry_free (r);

  /* the same timeout: only the final verdicts (the SIGSEGV crash among
   * them) and the fresh timeout are reused */
  r = open_transient (0.2);
  g_autofree char *l2 = read_log (log);
  g_assert_cmpuint (count_lines (l2), ==, 4);
  g_assert_null (strstr (l2, "tcrash"));
  g_assert_nonnull (strstr (l2, "tkill"));
  g_assert_nonnull (strstr (l2, "texit"));
  g_assert_nonnull (strstr (l2, "tdep"));
  g_assert_nonnull (strstr (l2, "tinit"));
  g_assert_cmpstr (reason_of (r, "thang"), ==, "probe timed out after 0.2 s");
  g_assert_true (g_str_has_prefix (reason_of (r, "tcrash"), "crashed (signal 11"));
  tl_registry_free (r);

  /* a longer timeout: the timed-out probe is run again */
  r = open_transient (0.4);
  g_autofree char *l3 = read_log (log);
  g_assert_cmpuint (count_lines (l3), ==, 5);
  g_assert_nonnull (strstr (l3, "thang"));
  g_assert_cmpstr (reason_of (r, "thang"), ==, "probe timed out after 0.4 s");
  tl_registry_free (r);

  /* a stale timed-out verdict is not reused, whatever the timeout */
  g_autofree char *sub = g_build_filename (cache, "tl-1", NULL);
  g_autoptr (GDir) d = g_dir_open (sub, 0, NULL);
  g_assert_nonnull (d);
  g_autofree char *cfile = g_build_filename (sub, g_dir_read_name (d), NULL);
  g_autofree char *xml = NULL;
  g_assert_true (g_file_get_contents (cfile, &xml, NULL, NULL));
  char *at = strstr (xml, "probed-at=\"");
  g_assert_nonnull (at);
  g_autoptr (GString) old = g_string_new_len (xml, at - xml);
  g_string_append (old, "probed-at=\"1");
  g_string_append (old, strchr (at + strlen ("probed-at=\""), '"'));
  g_assert_true (g_file_set_contents (cfile, old->str, -1, NULL));
  r = open_transient (0.2);
  g_autofree char *l4 = read_log (log);
  g_assert_cmpuint (count_lines (l4), ==, 5);
  g_assert_nonnull (strstr (l4, "thang"));
  g_assert_cmpstr (reason_of (r, "thang"), ==, "probe timed out after 0.2 s");
  tl_registry_free (r);

  g_unsetenv ("TL_PLUGIN_SCANNER");
}

/* A plugin given to tl_registry_add_path wins over the search path's
 * plugins with its id, at an equal or a lower version; the latest given wins. */
static void
test_add_path_precedence (void)
{
  write_plugin ("installed", "same", "1.0.0", NULL);
  write_plugin ("devbuild", "same", "1.0.0", NULL);
  write_plugin ("devbuild-old", "same", "0.9.0-dev", NULL);
  TlRegistry *r = open_dirs ("installed", NULL, FALSE);
  const TlPluginInfo *inst = tl_registry_find_plugin (r, "same");
  g_autofree char *inst_m = path_in ("installed", "same.tlplugin.xml");
  g_assert_cmpstr (tl_plugin_info_manifest_path (inst), ==, inst_m);

  g_autofree char *dev_m = path_in ("devbuild", "same.tlplugin.xml");
  g_autoptr (GError) error = NULL;
  const TlPluginInfo *dev = tl_registry_add_path (r, dev_m, &error);
  g_assert_no_error (error);
  g_assert_nonnull (dev);
  g_assert_cmpstr (tl_plugin_info_manifest_path (dev), ==, dev_m);
  g_assert_cmpint (tl_plugin_info_status (dev), ==, TL_PLUGIN_STATUS_OK);
  g_assert_cmpint (tl_plugin_info_status (inst), ==, TL_PLUGIN_STATUS_SHADOWED);
  g_assert_true (tl_registry_find_plugin (r, "same") == dev);
  const TlComponentInfo *c = tl_registry_find_component (r, "same.scale", &error);
  g_assert_no_error (error);
  g_assert_true (tl_component_info_plugin (c) == dev);
  /* the shadowed one says by what */
  g_assert_null (tl_registry_load_component (r, tl_plugin_info_component (inst, 0), &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_PLUGIN);
  g_autofree char *want = g_strdup_printf ("'same' 1.0.0 (%s) is shadowed by version 1.0.0 (%s)", inst_m,
                                           dev_m);
  if (!strstr (error->message, want))
    g_error ("'%s' lacks '%s'", error->message, want);
  g_clear_error (&error);

  /* an older one given later wins too */
  g_autofree char *old_m = path_in ("devbuild-old", "same.tlplugin.xml");
  const TlPluginInfo *old = tl_registry_add_path (r, old_m, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tl_plugin_info_version (old), ==, "0.9.0-dev");
  g_assert_true (tl_registry_find_plugin (r, "same") == old);
  g_assert_cmpint (tl_plugin_info_status (dev), ==, TL_PLUGIN_STATUS_SHADOWED);
  /* and the one on the search path, given explicitly, wins back */
  g_assert_true (tl_registry_add_path (r, inst_m, &error) == inst);
  g_assert_no_error (error);
  g_assert_cmpint (tl_plugin_info_status (inst), ==, TL_PLUGIN_STATUS_OK);
  g_assert_cmpint (tl_plugin_info_status (old), ==, TL_PLUGIN_STATUS_SHADOWED);
  tl_registry_free (r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp = g_dir_make_tmp ("tl-test-registry-XXXXXX", NULL);
  g_setenv ("TL_PLUGIN_PATH", "", TRUE);
  g_setenv ("TL_PLUGIN_SYSTEM_PATH", "", TRUE);
  g_unsetenv ("TL_PLUGIN_ALLOW");
  g_test_add_func ("/registry/scan", test_scan);
  g_test_add_func ("/registry/builtin", test_builtin);
  g_test_add_func ("/registry/versions", test_versions);
  g_test_add_func ("/registry/allow-list", test_allow_list);
  g_test_add_func ("/registry/did-you-mean", test_did_you_mean);
  g_test_add_func ("/registry/broken-manifest", test_broken_manifest);
  g_test_add_func ("/registry/unknown-attributes", test_unknown_attributes);
  g_test_add_func ("/registry/plugin-path-file", test_plugin_path_file);
  g_test_add_func ("/registry/cache", test_cache);
  g_test_add_func ("/registry/add-path", test_add_path);
  g_test_add_func ("/registry/cache-transient", test_cache_transient);
  g_test_add_func ("/registry/add-path-precedence", test_add_path_precedence);
  int rc = g_test_run ();
  bt_rm_rf (tmp);
  g_free (tmp);
  return rc;
}
