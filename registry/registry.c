/* registry.c — the plugin registry: search path, scanning manifests,
 * library resolution, probing (through the cache), versions, allow-list,
 * lookup of components. Loading lives in load.c. */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "tl-private.h"
#include "registry-private.h"
#include "cache-private.h"
#include "registry-impl.h"

static void
add_warning (TlRegistry *r, char *msg)
{
  for (guint i = 0; i + 1 < r->warnings->len; i++)
    if (strcmp (g_ptr_array_index (r->warnings, i), msg) == 0) {
      g_free (msg);
      return;
    }
  g_debug ("%s", msg);
  g_ptr_array_insert (r->warnings, (gint) r->warnings->len - 1, msg);
}

/* The warnings met reading a plugin's manifest become the registry's. */
static void
take_manifest_warnings (TlRegistry *r, TlPluginInfo *p)
{
  for (guint i = 0; p->warnings && i < p->warnings->len; i++)
    add_warning (r, g_strdup (g_ptr_array_index (p->warnings, i)));
}

/* A $TL_PLUGIN_PATH entry that exists but is not a directory (a manifest or
 * a library given by mistake) is ignored by the scan: say so, once each. */
static void
warn_plugin_path_files (TlRegistry *r)
{
  g_auto (GStrv) parts = g_strsplit (g_getenv ("TL_PLUGIN_PATH") ? g_getenv ("TL_PLUGIN_PATH") : "",
                                     G_SEARCHPATH_SEPARATOR_S, -1);
  for (char **e = parts; *e; e++) {
    if (!**e || !g_file_test (*e, G_FILE_TEST_EXISTS) || g_file_test (*e, G_FILE_TEST_IS_DIR))
      continue;
    g_autofree char *shown = _tl_priv_escape_short (*e);
    add_warning (r, g_strdup_printf ("TL_PLUGIN_PATH entry '%s' is not a directory (ignored): give the "
                                     "directory that holds the *" TL_MANIFEST_SUFFIX, shown));
  }
}

static void
add_dir (GPtrArray *dirs, const char *d)
{
  if (!d || !*d)
    return;
  for (guint i = 0; i < dirs->len; i++)
    if (strcmp (g_ptr_array_index (dirs, i), d) == 0)
      return;
  g_ptr_array_add (dirs, g_strdup (d));
}

static void
add_dirs_from (GPtrArray *dirs, const char *list)
{
  g_auto (GStrv) parts = g_strsplit (list ? list : "", G_SEARCHPATH_SEPARATOR_S, -1);
  for (char **p = parts; *p; p++)
    add_dir (dirs, *p);
}

static char **
build_search_path (const TlRegistryOptions *opts)
{
  GPtrArray *dirs = g_ptr_array_new ();
  for (const char *const *e = opts ? opts->extra_paths : NULL; e && *e; e++)
    add_dir (dirs, *e);
  add_dirs_from (dirs, g_getenv ("TL_PLUGIN_PATH"));
  const char *sys = g_getenv ("TL_PLUGIN_SYSTEM_PATH");
  if (sys)
    add_dirs_from (dirs, sys);
  else
    add_dir (dirs, TL_PLUGINDIR);
  /* uninstalled, the build tree's plugins/ stands in beside the system
   * directory; $TL_PLUGIN_SYSTEM_PATH replaces both (tests pin it to "") */
  if (!sys && _tl_priv_uninstalled ()) {
    g_autofree char *bp = g_build_filename (TL_BUILDDIR, "plugins", NULL);
    add_dir (dirs, bp);
  }
  g_ptr_array_add (dirs, NULL);
  return (char **) g_ptr_array_free (dirs, FALSE);
}

/* `path` relative to `root` when it lies inside it, else NULL (transfer
 * full). Both are canonicalised first: a build configured through a
 * relative path (`../../configure`, as `make distcheck` does) compiles in
 * TL_SRCDIR with ".." segments. */
static char *
under (const char *path, const char *root)
{
  g_autofree char *cp = g_canonicalize_filename (path, NULL);
  g_autofree char *cr = g_canonicalize_filename (root, NULL);
  gsize n = strlen (cr);
  if (strncmp (cp, cr, n) == 0 && (cp[n] == '/' || cp[n] == '\0'))
    return g_strdup (cp + n);
  return NULL;
}

static gboolean
vpath_build (void)
{
  g_autofree char *s = g_canonicalize_filename (TL_SRCDIR, NULL);
  g_autofree char *b = g_canonicalize_filename (TL_BUILDDIR, NULL);
  return strcmp (s, b) != 0;
}

static void
collect_manifests (const char *dir, int depth, GPtrArray *out)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  if (!d)
    return;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *n;
  while ((n = g_dir_read_name (d)))
    g_ptr_array_add (names, g_strdup (n));
  g_ptr_array_sort (names, (GCompareFunc) _tl_priv_strcmp_p);
  for (guint i = 0; i < names->len; i++) {
    const char *name = g_ptr_array_index (names, i);
    if (name[0] == '.')
      continue;
    g_autofree char *full = g_build_filename (dir, name, NULL);
    if (g_str_has_suffix (name, TL_MANIFEST_SUFFIX)) {
      if (g_file_test (full, G_FILE_TEST_IS_REGULAR))
        g_ptr_array_add (out, g_steal_pointer (&full));
    } else if (depth > 0 && g_file_test (full, G_FILE_TEST_IS_DIR)) {
      collect_manifests (full, depth - 1, out);
    }
  }
}

int
_tl_priv_strcmp_p (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Resolve a plugin's library: beside the manifest, in .libs/ (libtool build
 * tree), and in the build-tree mirror of a source-tree manifest (VPATH). */
static void
resolve_library (TlPluginInfo *p)
{
  g_autofree char *dir = g_path_get_dirname (p->manifest_path);
  g_autoptr (GPtrArray) cands = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (cands, g_build_filename (dir, p->library, NULL));
  g_ptr_array_add (cands, g_build_filename (dir, ".libs", p->library, NULL));
  g_autofree char *rel = under (dir, TL_SRCDIR);
  if (rel && vpath_build ()) {
    g_ptr_array_add (cands, g_build_filename (TL_BUILDDIR, rel, p->library, NULL));
    g_ptr_array_add (cands, g_build_filename (TL_BUILDDIR, rel, ".libs", p->library, NULL));
  }
  for (guint i = 0; i < cands->len; i++)
    if (g_file_test (g_ptr_array_index (cands, i), G_FILE_TEST_IS_REGULAR)) {
      p->library_path = g_strdup (g_ptr_array_index (cands, i));
      return;
    }
  g_autofree char *where = g_strdup_printf ("%s%s", dir, rel && vpath_build () ? " and the build tree" : "");
  p->skip_reason = g_strdup_printf ("library '%s' not found (looked in %s and its .libs/)",
                                    p->library, where);
}

static gboolean
host_has_feature (const char *f)
{
  if (strcmp (f, "openmp") == 0) {
#ifdef _OPENMP
    return TRUE;
#endif
  }
  if (strcmp (f, "cuda") == 0) {
#ifdef TL_HAVE_CUDA
    return TRUE;
#endif
  }
  if (strcmp (f, "mpi") == 0) {
#ifdef TL_HAVE_MPI
    return TRUE;
#endif
  }
  if (strcmp (f, "nccl") == 0) {
#ifdef TL_HAVE_NCCL
    return TRUE;
#endif
  }
  return FALSE;
}

/* Checks that need no code from the plugin. */
static void
static_checks (TlPluginInfo *p)
{
  if (p->skip_reason)
    return;
  if (!p->builtin && strcmp (p->id, "tl") == 0) {
    p->skip_reason = g_strdup ("the plugin id 'tl' is reserved for the built-in plugin");
    return;
  }
  guint maj = 0, min = 0;
  if (sscanf (p->abi, "%u.%u", &maj, &min) != 2 || maj != TL_ABI_MAJOR || min > TL_ABI_MINOR) {
    p->skip_reason = g_strdup_printf ("manifest declares ABI %s; this host supports ABI %d.0 to %d.%d",
                                      p->abi, TL_ABI_MAJOR, TL_ABI_MAJOR, TL_ABI_MINOR);
    return;
  }
  for (char **f = p->requires; f && *f; f++)
    if (!host_has_feature (*f)) {
      p->skip_reason = g_strdup_printf ("requires feature '%s', which this host was built without", *f);
      return;
    }
  if (!p->builtin)
    resolve_library (p);
}

/* A probe's own verdict that follows from the plugin's files alone: not a
 * dlopen failure (a dependency missing or lacking a symbol: installed
 * libraries are not part of the cache key), not a failed init (which may
 * depend on the machine). */
static gboolean
verdict_is_final (const char *reason)
{
  return !reason || (!strstr (reason, TL_PRIV_DLOPEN_FAILED) && !strstr (reason, TL_PRIV_INIT_FAILED));
}

static void
probe_plugin (TlRegistry *r, TlPluginInfo *p)
{
  if (p->probed || p->builtin)
    return;
  p->probed = TRUE;
  if (p->skip_reason || r->opts.no_probe)
    return;
  char *reason = NULL;
  if (_tl_priv_cache_lookup (r->cache, p->manifest_path, p->library_path, r->probe_timeout, &reason)) {
    if (verdict_is_final (reason)) {
      p->skip_reason = reason;
      return;
    }
    g_clear_pointer (&reason, g_free); /* written by hand, or by an older tl */
  }
  g_autoptr (GError) err = NULL;
  TlPrivProbeOutcome how = TL_PRIV_PROBE_DIED;
  if (!_tl_priv_probe (p->manifest_path, r->probe_timeout, &reason, &how, &err)) {
    /* the probe could not run (no scanner): trust the manifest */
    add_warning (r, g_strdup_printf ("plugin '%s' not probed: %s", p->id, err->message));
    return;
  }
  p->skip_reason = reason;
  /* Keep for good only what follows from the plugin's files: a verdict that
   * is final (above), or a crash by a signal the plugin's code raises
   * (SIGSEGV, SIGABRT...: a plugin that crashes at probe would otherwise be
   * probed, and dump core, at every start). Not kept: a probe killed by
   * another signal or gone without a verdict (the OOM killer's SIGKILL, a
   * resource limit, SIGTERM). A timeout is kept a short while, for scans
   * with no longer a timeout (cache.c). */
  if (how == TL_PRIV_PROBE_TIMED_OUT)
    _tl_priv_cache_store (r->cache, p->manifest_path, p->library_path, reason, r->probe_timeout);
  else if ((how == TL_PRIV_PROBE_VERDICT && verdict_is_final (reason)) || how == TL_PRIV_PROBE_CRASHED)
    _tl_priv_cache_store (r->cache, p->manifest_path, p->library_path, reason, 0);
  else
    _tl_priv_cache_forget (r->cache, p->manifest_path);
}

static gboolean
allowed (const TlRegistry *r, const char *id)
{
  if (!r->allow || strcmp (id, "tl") == 0)
    return TRUE;
  for (char **a = r->allow; *a; a++)
    if (strcmp (*a, id) == 0)
      return TRUE;
  return FALSE;
}

static gint
plugin_order (gconstpointer a, gconstpointer b)
{
  const TlPluginInfo *x = *(TlPluginInfo *const *) a, *y = *(TlPluginInfo *const *) b;
  int c = strcmp (x->id, y->id);
  if (c)
    return c;
  /* given to tl_registry_add_path first, the latest given first */
  if (x->added != y->added)
    return x->added > y->added ? -1 : 1;
  c = -_tl_priv_semver_compare (x->version, y->version);
  if (c)
    return c;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* Apply the allow-list, probe what is allowed, decide which version of each
 * id wins. */
static void
resolve (TlRegistry *r)
{
  for (guint i = 0; i < r->plugins->len; i++) {
    TlPluginInfo *p = g_ptr_array_index (r->plugins, i);
    p->allowed = allowed (r, p->id);
    p->shadowed = FALSE;
    if (p->allowed)
      probe_plugin (r, p);
  }
  if (!r->opts.no_cache)
    _tl_priv_cache_save (r->cache);
  g_ptr_array_sort (r->plugins, plugin_order);
  TlPluginInfo *winner = NULL;
  for (guint i = 0; i < r->plugins->len; i++) {
    TlPluginInfo *p = g_ptr_array_index (r->plugins, i);
    if (!p->allowed || p->skip_reason)
      continue;
    if (winner && strcmp (winner->id, p->id) == 0) {
      p->shadowed = TRUE;
      add_warning (r, g_strdup_printf ("plugin '%s' %s (%s) is shadowed by version %s (%s)", p->id,
                                       p->version, p->manifest_path, winner->version,
                                       winner->manifest_path));
    } else {
      winner = p;
    }
  }
}

/* Add a manifest found on disk (or given). Returns the info (owned by r);
 * when it duplicates one already known, that one. */
static TlPluginInfo *
add_manifest (TlRegistry *r, const char *path)
{
  g_autofree char *real = g_canonicalize_filename (path, NULL);
  for (guint i = 0; i < r->plugins->len; i++) {
    TlPluginInfo *q = g_ptr_array_index (r->plugins, i);
    if (q->manifest_path && strcmp (q->manifest_path, real) == 0)
      return q;
  }
  g_autoptr (GError) err = NULL;
  TlPluginInfo *p = _tl_priv_manifest_parse (real, NULL, 0, FALSE, &err);
  if (!p)
    p = _tl_priv_plugin_info_new_broken (real, err->message);
  else
    static_checks (p);
  /* the same plugin seen twice (source tree and a copy in the build tree) */
  for (guint i = 0; i < r->plugins->len && p->library_path; i++) {
    TlPluginInfo *q = g_ptr_array_index (r->plugins, i);
    if (q->library_path && strcmp (q->library_path, p->library_path) == 0
        && strcmp (q->id, p->id) == 0 && strcmp (q->version, p->version) == 0) {
      _tl_priv_plugin_info_free (p);
      return q;
    }
  }
  take_manifest_warnings (r, p);
  p->order = r->plugins->len;
  g_ptr_array_add (r->plugins, p);
  return p;
}

static void
scan (TlRegistry *r)
{
  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  for (char **d = r->search_path; *d; d++) {
    collect_manifests (*d, 2, found);
    g_autofree char *rel = under (*d, TL_BUILDDIR);
    if (rel && vpath_build ()) {
      g_autofree char *src = g_build_filename (TL_SRCDIR, rel, NULL);
      collect_manifests (src, 2, found);
    }
  }
  for (guint i = 0; i < found->len; i++)
    add_manifest (r, g_ptr_array_index (found, i));
}

static char **
split_allow (const char *s)
{
  if (!s)
    return NULL;
  g_auto (GStrv) parts = g_strsplit_set (s, ",:", -1);
  GPtrArray *a = g_ptr_array_new ();
  for (char **p = parts; *p; p++) {
    g_strstrip (*p);
    if (**p)
      g_ptr_array_add (a, g_strdup (*p));
  }
  g_ptr_array_add (a, NULL);
  return (char **) g_ptr_array_free (a, FALSE);
}

/**
 * tl_registry_new:
 * @opts: (nullable): options (zero-initialised struct; NULL for defaults)
 * @error: return location for a #GError
 *
 * Scans the search path (see tl-registry.h), reads manifests, probes new or
 * changed plugins in a child process (results cached) and resolves versions
 * and the allow-list. Broken plugins are listed as SKIPPED, never an error.
 *
 * Returns: (transfer full): a registry; free with tl_registry_free().
 */
TlRegistry *
tl_registry_new (const TlRegistryOptions *opts, GError **error)
{
  TlRegistry *r = g_new0 (TlRegistry, 1);
  if (opts)
    r->opts = *opts;
  r->opts.extra_paths = NULL;
  g_mutex_init (&r->lock);
  r->plugins = g_ptr_array_new_with_free_func ((GDestroyNotify) _tl_priv_plugin_info_free);
  r->warnings = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (r->warnings, NULL);
  r->search_path = build_search_path (opts);
  r->allow = split_allow (g_getenv ("TL_PLUGIN_ALLOW"));
  double t = r->opts.probe_timeout;
  if (t <= 0) {
    const char *env = g_getenv ("TL_PROBE_TIMEOUT");
    t = 0;
    if (env && *env) {
      char *end = NULL;
      t = g_ascii_strtod (env, &end);
      /* "abc", "-1", "inf", "1e999" would wait forever or not at all */
      if (!end || *end || !(t > 0) || t > 86400) {
        g_autofree char *shown = _tl_priv_escape_short (env);
        add_warning (r, g_strdup_printf ("TL_PROBE_TIMEOUT=\"%s\" is not a number of seconds "
                                         "(0 < s <= 86400); using 10", shown));
        t = 0;
      }
    }
  }
  r->probe_timeout = t > 0 ? t : 10.0;
  if (!r->opts.no_cache)
    r->cache = _tl_priv_cache_open ();

  g_autoptr (GError) berr = NULL;
  TlPluginInfo *b = _tl_priv_builtin_info (&berr);
  if (!b)
    b = _tl_priv_plugin_info_new_broken ("built-in/tl" TL_MANIFEST_SUFFIX, berr->message);
  b->builtin = TRUE;
  b->order = 0;
  take_manifest_warnings (r, b);
  g_ptr_array_add (r->plugins, b);
  if (!r->opts.no_scan) {
    /* without a scan TL_PLUGIN_PATH is not read: nothing to warn about */
    warn_plugin_path_files (r);
    scan (r);
  }
  resolve (r);
  (void) error;
  return r;
}

/**
 * tl_registry_free:
 * @r: (transfer full) (nullable): a registry
 *
 * Frees the registry. Loaded plugin libraries stay resident (their tables
 * may be registered process-wide). NULL is a no-op.
 */
void
tl_registry_free (TlRegistry *r)
{
  if (!r)
    return;
  g_ptr_array_unref (r->plugins);
  g_ptr_array_unref (r->warnings);
  g_strfreev (r->search_path);
  g_strfreev (r->allow);
  _tl_priv_cache_free (r->cache);
  g_mutex_clear (&r->lock);
  g_free (r);
}

/**
 * tl_registry_set_allow_list:
 * @r: a registry
 * @plugin_ids: (nullable): NULL-terminated plugin ids; NULL allows all
 *
 * Restricts which plugins may be used ("tl" is always allowed). Plugins that
 * become allowed are probed now.
 */
void
tl_registry_set_allow_list (TlRegistry *r, const char *const *plugin_ids)
{
  g_return_if_fail (r != NULL);
  g_mutex_lock (&r->lock);
  g_strfreev (r->allow);
  r->allow = plugin_ids ? g_strdupv ((char **) plugin_ids) : NULL;
  resolve (r);
  g_mutex_unlock (&r->lock);
}

/**
 * tl_registry_search_path:
 * @r: a registry
 *
 * Returns: (transfer none): the directories searched, in order.
 */
const char *const *
tl_registry_search_path (const TlRegistry *r)
{
  g_return_val_if_fail (r != NULL, NULL);
  return (const char *const *) r->search_path;
}

/**
 * tl_registry_warnings:
 * @r: a registry
 *
 * Returns: (transfer none): NULL-terminated warnings collected while
 * scanning (shadowed versions, plugins that could not be probed).
 */
const char *const *
tl_registry_warnings (const TlRegistry *r)
{
  g_return_val_if_fail (r != NULL, NULL);
  return (const char *const *) r->warnings->pdata;
}

/**
 * tl_registry_n_plugins:
 * @r: a registry
 *
 * Returns: the number of plugins known, whatever their status.
 */
guint
tl_registry_n_plugins (const TlRegistry *r)
{
  g_return_val_if_fail (r != NULL, 0);
  return r->plugins->len;
}

/**
 * tl_registry_plugin:
 * @r: a registry
 * @i: index below tl_registry_n_plugins()
 *
 * Returns: (transfer none) (nullable): the i-th plugin, sorted by id then
 * newest version first.
 */
const TlPluginInfo *
tl_registry_plugin (const TlRegistry *r, guint i)
{
  g_return_val_if_fail (r != NULL, NULL);
  return i < r->plugins->len ? g_ptr_array_index (r->plugins, i) : NULL;
}

static gboolean
active (const TlPluginInfo *p)
{
  return p->allowed && !p->shadowed && !p->skip_reason;
}

/**
 * tl_registry_find_plugin:
 * @r: a registry
 * @id: plugin id
 *
 * Returns: (transfer none) (nullable): the plugin with @id that is in use
 * (the newest usable version), else the first listed with that id (skipped,
 * shadowed, not allowed), else NULL.
 */
const TlPluginInfo *
tl_registry_find_plugin (const TlRegistry *r, const char *id)
{
  g_return_val_if_fail (r != NULL && id != NULL, NULL);
  const TlPluginInfo *any = NULL;
  for (guint i = 0; i < r->plugins->len; i++) {
    const TlPluginInfo *p = g_ptr_array_index (r->plugins, i);
    if (strcmp (p->id, id) != 0)
      continue;
    if (active (p))
      return p;
    if (!any)
      any = p;
  }
  return any;
}

static const TlComponentInfo *
plugin_component (const TlPluginInfo *p, const char *name)
{
  for (guint i = 0; i < p->components->len; i++) {
    const TlComponentInfo *c = g_ptr_array_index (p->components, i);
    if (strcmp (c->name, name) == 0)
      return c;
  }
  return NULL;
}

/**
 * _tl_priv_no_plugin_message:
 * @id: a plugin id that no manifest on the search path declares
 *
 * Returns: (transfer full): "no plugin 'ID' on the search path
 * (TL_PLUGIN_PATH=... or the system directories); set TL_PLUGIN_PATH to the
 * directory holding ID.tlplugin.xml", for the component and <allow> errors.
 */
char *
_tl_priv_no_plugin_message (const char *id)
{
  const char *pp = g_getenv ("TL_PLUGIN_PATH");
  g_autofree char *eid = _tl_priv_escape_short (id);
  g_autofree char *epp = pp && *pp ? _tl_priv_escape_short (pp) : NULL;
  g_autofree char *where = epp ? g_strdup_printf ("TL_PLUGIN_PATH=%s or the system directories", epp)
                               : g_strdup ("TL_PLUGIN_PATH is not set: the system directories only");
  return g_strdup_printf ("no plugin '%s' on the search path (%s); set TL_PLUGIN_PATH to the "
                          "directory holding %s" TL_MANIFEST_SUFFIX, eid, where, eid);
}

static void
not_found (const TlRegistry *r, const char *name, GError **error)
{
  g_autoptr (GPtrArray) cands = g_ptr_array_new ();
  gboolean bare = strchr (name, '.') == NULL;
  for (guint i = 0; i < r->plugins->len; i++) {
    const TlPluginInfo *p = g_ptr_array_index (r->plugins, i);
    if (!active (p))
      continue;
    for (guint j = 0; j < p->components->len; j++) {
      const TlComponentInfo *c = g_ptr_array_index (p->components, j);
      g_ptr_array_add (cands, bare ? c->name : c->full_name);
    }
  }
  const char *dym = _tl_priv_did_you_mean (name, (const char *const *) cands->pdata, cands->len);
  if (dym && bare) {
    /* report the full name of the bare match */
    for (guint i = 0; i < r->plugins->len; i++) {
      const TlPluginInfo *p = g_ptr_array_index (r->plugins, i);
      const TlComponentInfo *c = active (p) ? plugin_component (p, dym) : NULL;
      if (c) {
        dym = c->full_name;
        break;
      }
    }
  }
  g_autofree char *ename = _tl_priv_escape_short (name);
  const char *dot = strchr (name, '.');
  g_autofree char *pid = dot ? g_strndup (name, (gsize) (dot - name)) : NULL;
  if (pid && !tl_registry_find_plugin (r, pid)) {
    /* no such plugin: a component of the same name in another plugin
     * ('hello.synthetic' -> 'tl.synthetic') is no answer; a plugin id
     * close to the one written ('helo.synthetic') is */
    if (dym) {
      g_autofree char *dym_pid = g_strndup (dym, (gsize) (strchr (dym, '.') - dym));
      const char *cand[] = { dym_pid };
      if (!_tl_priv_did_you_mean (pid, cand, 1))
        dym = NULL;
    }
    if (!dym) {
      g_autofree char *why = _tl_priv_no_plugin_message (pid);
      g_set_error (error, TL_ERROR, TL_ERROR_NOT_FOUND, "component '%s': %s", ename, why);
      return;
    }
  }
  if (dym)
    g_set_error (error, TL_ERROR, TL_ERROR_NOT_FOUND, "unknown component '%s'; did you mean '%s'?",
                 ename, dym);
  else
    g_set_error (error, TL_ERROR, TL_ERROR_NOT_FOUND,
                 "unknown component '%s' (see `tlhost list` for what is installed)", ename);
}

/**
 * tl_registry_find_component:
 * @r: a registry
 * @name: "plugin.component", or a bare component name that is unique
 * @error: return location for a #GError
 *
 * Finds a component from the manifests alone (nothing is loaded).
 *
 * Returns: (transfer none) (nullable): the component, or NULL with
 * %TL_ERROR_NOT_FOUND (with a did-you-mean) or %TL_ERROR_PLUGIN (its plugin
 * is skipped or not allowed).
 */
const TlComponentInfo *
tl_registry_find_component (const TlRegistry *r, const char *name, GError **error)
{
  g_return_val_if_fail (r != NULL && name != NULL, NULL);
  const char *dot = strchr (name, '.');
  if (dot) {
    g_autofree char *pid = g_strndup (name, (gsize) (dot - name));
    const TlPluginInfo *p = tl_registry_find_plugin (r, pid);
    const TlComponentInfo *c = p ? plugin_component (p, dot + 1) : NULL;
    if (c && !p->allowed) {
      g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN,
                   "component '%s': plugin '%s' is not in the allow-list", name, pid);
      return NULL;
    }
    if (c && p->skip_reason) {
      g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "component '%s': plugin '%s' was skipped: %s",
                   name, pid, p->skip_reason);
      return NULL;
    }
    if (c)
      return c;
    not_found (r, name, error);
    return NULL;
  }
  const TlComponentInfo *found = NULL;
  g_autoptr (GString) all = g_string_new (NULL);
  for (guint i = 0; i < r->plugins->len; i++) {
    const TlPluginInfo *p = g_ptr_array_index (r->plugins, i);
    const TlComponentInfo *c = active (p) ? plugin_component (p, name) : NULL;
    if (!c)
      continue;
    g_string_append_printf (all, "%s%s", all->len ? ", " : "", c->full_name);
    if (found) {
      continue;
    }
    found = c;
  }
  if (found && strchr (all->str, ',')) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "component name '%s' is ambiguous: %s", name, all->str);
    return NULL;
  }
  if (!found)
    not_found (r, name, error);
  return found;
}

/**
 * tl_registry_add_path:
 * @r: a registry
 * @path: a plugin manifest, or a plugin library with its manifest beside it
 * @error: return location for a #GError
 *
 * Adds a plugin from outside the search path (probed like the others), or
 * picks one already listed. The plugin given takes precedence over every
 * other plugin with its id, whatever their versions: those found on the
 * search path and those given before are listed as shadowed by it (this is
 * what `tlhost conformance PATH` relies on to test a development build while
 * the same or another version is installed). A plugin given that is skipped
 * does not shadow anything.
 *
 * Returns: (transfer none) (nullable): the plugin; NULL with @error when no
 * manifest is found or the plugin is skipped or shadowed (it is still
 * listed).
 */
const TlPluginInfo *
tl_registry_add_path (TlRegistry *r, const char *path, GError **error)
{
  g_return_val_if_fail (r != NULL && path != NULL, NULL);
  g_autofree char *real = g_canonicalize_filename (path, NULL);
  g_autofree char *manifest = NULL;
  if (g_str_has_suffix (real, TL_MANIFEST_SUFFIX)) {
    manifest = g_strdup (real);
  } else {
    /* a library: find the manifest naming it beside it (or above .libs/) */
    g_autofree char *dir = g_path_get_dirname (real);
    g_autofree char *base = g_path_get_basename (real);
    g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
    collect_manifests (dir, 0, found);
    if (g_str_has_suffix (dir, "/.libs")) {
      g_autofree char *up = g_path_get_dirname (dir);
      collect_manifests (up, 0, found);
      g_autofree char *rel = under (up, TL_BUILDDIR);
      if (rel && vpath_build ()) {
        g_autofree char *src = g_build_filename (TL_SRCDIR, rel, NULL);
        collect_manifests (src, 0, found);
      }
    }
    for (guint i = 0; i < found->len && !manifest; i++) {
      TlPluginInfo *p = _tl_priv_manifest_parse (g_ptr_array_index (found, i), NULL, 0, FALSE, NULL);
      if (p && p->library && strcmp (p->library, base) == 0)
        manifest = g_strdup (g_ptr_array_index (found, i));
      _tl_priv_plugin_info_free (p);
    }
    if (!manifest) {
      g_set_error (error, TL_ERROR, TL_ERROR_NOT_FOUND,
                   "%s: no *" TL_MANIFEST_SUFFIX " beside it names it as its library", path);
      return NULL;
    }
  }
  if (!g_file_test (manifest, G_FILE_TEST_IS_REGULAR)) {
    g_set_error (error, TL_ERROR, TL_ERROR_NOT_FOUND, "%s: no such file", manifest);
    return NULL;
  }
  g_mutex_lock (&r->lock);
  TlPluginInfo *p = add_manifest (r, manifest);
  p->added = ++r->n_added;
  resolve (r);
  g_autofree char *why = NULL;
  if (p->skip_reason) {
    why = g_strdup_printf ("plugin '%s' (%s) was skipped: %s", p->id, manifest, p->skip_reason);
  } else if (p->shadowed) {
    /* cannot happen by the rule above; kept so that a change of the rule
     * does not return an unusable plugin without saying so */
    const TlPluginInfo *w = tl_registry_find_plugin (r, p->id);
    why = g_strdup_printf ("plugin '%s' %s (%s) is shadowed by version %s (%s)", p->id, p->version,
                           manifest, w->version, w->manifest_path);
  }
  g_mutex_unlock (&r->lock);
  if (why) {
    g_set_error_literal (error, TL_ERROR, TL_ERROR_PLUGIN, why);
    return NULL;
  }
  return p;
}
