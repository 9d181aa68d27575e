/* test-broken-plugins.c — every plugin of the broken corpus (tests/plugins/)
 * is listed as SKIPPED with the exact reason, the host survives crashing and
 * hanging plugins, the good one loads, and `tlhost list` shows the reasons.
 * Also in-process loads without a probe (white-box: the registry's private
 * structs are read to check that no table of a refused plugin is published). */
#include "config.h"

#include <dlfcn.h>
#include <string.h>
#include <sys/wait.h>
#include <glib/gstdio.h>
#include <tl/tl.h>
#include <tl/tl-registry.h>
#include "registry-private.h"
#include "builtin-util.h"

static TlRegistry *reg;
static char *cache_dir;

typedef struct {
  const char *id;
  const char *reason; /* substring of the skip reason */
} Broken;

static const Broken broken[] = {
  { "bad-abi", "ABI major 99" },
  { "no-entry", "tl_plugin_query" },
  { "crash", "signal 11" },
  { "hang", "timed out" },
  { "mismatch", "does not match the manifest" },
  { "missing-dep", "cannot open shared object" },
  { "undefined-sym", "dlopen failed: undefined symbol: tl_test_undefined_function" },
  { "init-fails", "init failed: no licence server reachable" },
  { "future-host", "needs a host with ABI 1.7" },
  { "no-table-init", "component 'scale': table missing or built for an unsupported ABI (0.0) "
                     "(start the table with TL_TABLE_INIT(TlModelDef))" },
  { "op-misnamed", "op component 'scale': table must be named 'op-misnamed.scale' and provide infer "
                   "and forward_cpu (it is named 'scale')" },
};

static void
test_broken (gconstpointer data)
{
  const Broken *b = data;
  const TlPluginInfo *p = tl_registry_find_plugin (reg, b->id);
  g_assert_nonnull (p);
  g_assert_cmpstr (tl_plugin_status_name (tl_plugin_info_status (p)), ==, "skipped");
  const char *why = tl_plugin_info_skip_reason (p);
  g_assert_nonnull (why);
  if (!strstr (why, b->reason))
    g_error ("plugin %s: reason '%s' lacks '%s'", b->id, why, b->reason);
  g_assert_null (strchr (why, '\n'));
  /* its components cannot be used, and say why */
  g_autofree char *name = g_strdup_printf ("%s.%s", b->id,
                                           tl_component_info_name (tl_plugin_info_component (p, 0)));
  g_autoptr (GError) error = NULL;
  g_assert_null (tl_registry_find_component (reg, name, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_PLUGIN);
  g_assert_nonnull (strstr (error->message, b->reason));
  g_clear_error (&error);
  g_assert_null (tl_registry_load_component (reg, tl_plugin_info_component (p, 0), &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_PLUGIN);
}

static void
test_good (void)
{
  const TlPluginInfo *p = tl_registry_find_plugin (reg, "good");
  g_assert_nonnull (p);
  g_assert_cmpint (tl_plugin_info_status (p), ==, TL_PLUGIN_STATUS_OK);
  g_assert_null (tl_plugin_info_skip_reason (p));
  g_assert_nonnull (strstr (tl_plugin_info_library_path (p), "libtl-test-good.so"));
  g_autoptr (GError) error = NULL;
  const TlComponentInfo *c = tl_registry_find_component (reg, "good.scale", &error);
  g_assert_no_error (error);
  g_assert_cmpint (tl_component_info_kind (c), ==, TL_COMPONENT_OP);
  g_assert_true (tl_component_info_find_param (c, "factor") != NULL);
}

static void
test_good_load (void)
{
  const TlComponentInfo *c = tl_registry_find_component (reg, "good.scale", NULL);
  g_assert_nonnull (c);
  g_autoptr (GError) error = NULL;
  const TlOpDef *op = tl_registry_load_component (reg, c, &error);
  g_assert_no_error (error);
  g_assert_nonnull (op);
  g_assert_cmpstr (op->name, ==, "good.scale");
  g_assert_true (tl_op_lookup ("good.scale") == op);
  g_assert_cmpint (tl_plugin_info_status (tl_component_info_plugin (c)), ==, TL_PLUGIN_STATUS_LOADED);
  /* loading again is a no-op */
  g_assert_true (tl_registry_load_component (reg, c, &error) == op);
}

/* A registry over the test corpus that trusts the manifests (no probe, no
 * cache): plugins are loaded in this process. */
static TlRegistry *
open_unprobed (void)
{
  TlRegistryOptions opts = { 0 };
  opts.no_probe = 1;
  opts.no_cache = 1;
  g_autoptr (GError) error = NULL;
  TlRegistry *r = tl_registry_new (&opts, &error);
  g_assert_no_error (error);
  return r;
}

/* A function the plugin calls that exists nowhere fails the load with the
 * loader's message, rather than killing the process at its first call. */
static void
test_undefined_symbol_in_process (void)
{
  TlRegistry *r = open_unprobed ();
  const TlPluginInfo *p = tl_registry_find_plugin (r, "undefined-sym");
  g_assert_nonnull (p);
  g_assert_cmpint (tl_plugin_info_status (p), ==, TL_PLUGIN_STATUS_OK); /* not probed */
  g_autoptr (GError) error = NULL;
  const TlComponentInfo *c = tl_registry_find_component (r, "undefined-sym.call", &error);
  g_assert_no_error (error);
  g_assert_null (tl_registry_load_component (r, c, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_PLUGIN);
  g_assert_nonnull (strstr (error->message, "undefined symbol: tl_test_undefined_function"));
  g_assert_true (g_str_has_prefix (error->message, tl_plugin_info_library_path (p)));
  g_assert_cmpint (tl_plugin_info_status (p), ==, TL_PLUGIN_STATUS_SKIPPED);
  g_assert_null (tl_op_lookup ("undefined-sym.call"));
  tl_registry_free (r);
}

/* A plugin whose init failed: no table published, and the library stays
 * mapped (init ran its code; libraries are never unloaded). */
static void
test_init_fails_in_process (void)
{
  TlRegistry *r = open_unprobed ();
  const TlPluginInfo *p = tl_registry_find_plugin (r, "init-fails");
  g_assert_nonnull (p);
  const TlComponentInfo *c = tl_plugin_info_component (p, 0);
  g_autoptr (GError) error = NULL;
  g_assert_null (tl_registry_load_component (r, c, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_PLUGIN);
  g_assert_nonnull (strstr (error->message, "init failed: no licence server reachable"));
  g_assert_cmpint (tl_plugin_info_status (p), ==, TL_PLUGIN_STATUS_SKIPPED);
  g_assert_null (c->table);
  void *h = dlopen (tl_plugin_info_library_path (p), RTLD_NOW | RTLD_NOLOAD);
  if (!h)
    g_error ("%s was unloaded after its init ran", tl_plugin_info_library_path (p));
  dlclose (h);
  /* the next load says why, without trying again */
  g_clear_error (&error);
  g_assert_null (tl_registry_load_component (r, c, &error));
  g_assert_nonnull (strstr (error->message, "init failed"));
  tl_registry_free (r);
}

/* A probe that timed out is not reused by a scan that allows more time
 * (`TL_PROBE_TIMEOUT=0.001 tlhost list` once must not skip `hang` for good). */
static void
test_timeout_not_kept (void)
{
  g_autofree char *dir = g_dir_make_tmp ("tl-test-timeout-XXXXXX", NULL);
  g_autofree char *saved = g_strdup (g_getenv ("XDG_CACHE_HOME"));
  g_setenv ("XDG_CACHE_HOME", dir, TRUE);
  TlRegistryOptions opts = { 0 };
  opts.probe_timeout = 0.25;
  g_setenv ("TL_PLUGIN_ALLOW", "hang", TRUE);
  TlRegistry *r = tl_registry_new (&opts, NULL);
  const TlPluginInfo *p = tl_registry_find_plugin (r, "hang");
  g_assert_cmpstr (tl_plugin_info_skip_reason (p), ==, "probe timed out after 0.25 s");
  tl_registry_free (r);
  opts.probe_timeout = 0.5;
  r = tl_registry_new (&opts, NULL);
  p = tl_registry_find_plugin (r, "hang");
  g_assert_cmpstr (tl_plugin_info_skip_reason (p), ==, "probe timed out after 0.5 s");
  tl_registry_free (r);
  g_unsetenv ("TL_PLUGIN_ALLOW");
  g_setenv ("XDG_CACHE_HOME", saved, TRUE);
  bt_rm_rf (dir);
}

/* A plugin that crashes at probe (SIGSEGV) crashes every time: the verdict
 * is cached, and a second scan reuses it without probing (there, no scanner
 * can run: a probe would trust the manifest and leave the plugin usable). */
static void
test_crash_kept (void)
{
  g_autofree char *dir = g_dir_make_tmp ("tl-test-crash-XXXXXX", NULL);
  g_autofree char *saved = g_strdup (g_getenv ("XDG_CACHE_HOME"));
  g_setenv ("XDG_CACHE_HOME", dir, TRUE);
  g_setenv ("TL_PLUGIN_ALLOW", "crash", TRUE);
  TlRegistry *r = tl_registry_new (NULL, NULL);
  g_autofree char *why = g_strdup (tl_plugin_info_skip_reason (tl_registry_find_plugin (r, "crash")));
  g_assert_nonnull (why);
  g_assert_true (g_str_has_prefix (why, "crashed (signal 11"));
  tl_registry_free (r);
  g_autofree char *none = g_build_filename (dir, "no-such-scanner", NULL);
  g_setenv ("TL_PLUGIN_SCANNER", none, TRUE);
  r = tl_registry_new (NULL, NULL);
  const TlPluginInfo *p = tl_registry_find_plugin (r, "crash");
  g_assert_cmpstr (tl_plugin_info_skip_reason (p), ==, why);
  g_assert_cmpint (tl_plugin_info_status (p), ==, TL_PLUGIN_STATUS_SKIPPED);
  tl_registry_free (r);
  /* no cache: the missing scanner shows (the manifest is trusted) */
  g_autofree char *cache = g_build_filename (dir, "tl-1", NULL);
  bt_rm_rf (cache);
  r = tl_registry_new (NULL, NULL);
  g_assert_null (tl_plugin_info_skip_reason (tl_registry_find_plugin (r, "crash")));
  tl_registry_free (r);
  g_unsetenv ("TL_PLUGIN_SCANNER");
  g_unsetenv ("TL_PLUGIN_ALLOW");
  g_setenv ("XDG_CACHE_HOME", saved, TRUE);
  bt_rm_rf (dir);
}

static void
test_tlhost_list (void)
{
  g_autofree char *tlhost = g_build_filename (TL_BUILDDIR, "hosts", "tlhost", NULL);
  if (!g_file_test (tlhost, G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_skip ("hosts/tlhost is not built");
    return;
  }
  const char *argv[] = { tlhost, "list", NULL };
  g_autofree char *out = NULL, *err = NULL;
  int status = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                               &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (broken); i++) {
    g_autofree char *line = NULL;
    char **lines = g_strsplit (out, "\n", -1);
    for (char **l = lines; *l && !line; l++)
      if (g_str_has_prefix (*l, broken[i].id) && (*l)[strlen (broken[i].id)] == ' ')
        line = g_strdup (*l);
    g_strfreev (lines);
    if (!line || !strstr (line, "skipped") || !strstr (line, broken[i].reason))
      g_error ("tlhost list: no skipped line for %s with '%s':\n%s", broken[i].id, broken[i].reason, out);
  }
  g_assert_nonnull (strstr (out, "good.scale"));
}

/* Runs tlhost with args; returns its exit status, output in *out / *err. */
static int
run_tlhost (const char *const *args, char **out, char **err)
{
  g_autofree char *tlhost = g_build_filename (TL_BUILDDIR, "hosts", "tlhost", NULL);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, tlhost);
  for (; *args; args++)
    g_ptr_array_add (argv, (gpointer) *args);
  g_ptr_array_add (argv, NULL);
  int status = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, out,
                               err, &status, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

static void
test_tlhost_cli (void)
{
  g_autofree char *tlhost = g_build_filename (TL_BUILDDIR, "hosts", "tlhost", NULL);
  if (!g_file_test (tlhost, G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_skip ("hosts/tlhost is not built");
    return;
  }
  char *out = NULL, *err = NULL;
  const char *help[] = { "--help", NULL };
  g_assert_cmpint (run_tlhost (help, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "inspect"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  const char *sub_help[] = { "inspect", "--help", NULL };
  g_assert_cmpint (run_tlhost (sub_help, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "tlhost inspect"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  /* invalid input: exit status 2 and one line "tlhost: ..." */
  const char *bad[] = { "inspect", "good.scal", NULL };
  g_assert_cmpint (run_tlhost (bad, &out, &err), ==, 2);
  g_assert_cmpstr (err, ==, "tlhost: inspect: unknown component 'good.scal'; did you mean 'good.scale'?\n");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  const char *unknown[] = { "frobnicate", NULL };
  g_assert_cmpint (run_tlhost (unknown, &out, &err), ==, 2);
  g_assert_true (g_str_has_prefix (err, "tlhost: unknown command 'frobnicate'"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  /* a skipped plugin is still inspectable, with its reason */
  const char *insp[] = { "inspect", "crash", NULL };
  g_assert_cmpint (run_tlhost (insp, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "status:      skipped: crashed (signal 11"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  const char *ver[] = { "version", NULL };
  g_assert_cmpint (run_tlhost (ver, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "plugin ABI 1.0"));
  g_free (out);
  g_free (err);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* only the test corpus, a private cache, a short probe timeout */
  g_autofree char *dir = g_build_filename (TL_BUILDDIR, "tests", "plugins", NULL);
  g_setenv ("TL_PLUGIN_PATH", dir, TRUE);
  g_setenv ("TL_PLUGIN_SYSTEM_PATH", "", TRUE);
  g_setenv ("TL_PROBE_TIMEOUT", "2", TRUE);
  g_unsetenv ("TL_PLUGIN_ALLOW");
  cache_dir = g_dir_make_tmp ("tl-test-broken-XXXXXX", NULL);
  g_setenv ("XDG_CACHE_HOME", cache_dir, TRUE);
  g_autoptr (GError) error = NULL;
  reg = tl_registry_new (NULL, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (broken); i++) {
    g_autofree char *path = g_strdup_printf ("/broken-plugins/%s", broken[i].id);
    g_test_add_data_func (path, &broken[i], test_broken);
  }
  g_test_add_func ("/broken-plugins/good", test_good);
  g_test_add_func ("/broken-plugins/good-load", test_good_load);
  g_test_add_func ("/broken-plugins/undefined-symbol-in-process", test_undefined_symbol_in_process);
  g_test_add_func ("/broken-plugins/init-fails-in-process", test_init_fails_in_process);
  g_test_add_func ("/broken-plugins/timeout-not-kept", test_timeout_not_kept);
  g_test_add_func ("/broken-plugins/crash-kept", test_crash_kept);
  g_test_add_func ("/broken-plugins/tlhost-list", test_tlhost_list);
  g_test_add_func ("/broken-plugins/tlhost-cli", test_tlhost_cli);
  int rc = g_test_run ();
  tl_registry_free (reg);
  bt_remove_tmpdir (cache_dir);
  return rc;
}
