/* cache.c — the registry cache: probe results of plugins keyed by manifest
 * and library path, mtime and size, in $XDG_CACHE_HOME/tl-1/registry-<arch>.xml.
 *
 * Only verdicts that follow from the plugin's files are kept for good. A
 * probe that timed out is kept with the timeout it was given and the time it
 * ran: it answers only scans whose timeout is not longer, for
 * CACHE_TIMEOUT_TTL_S at most (a hanging plugin then costs one timeout now
 * and then, not one per scan; a plugin that was merely slow is probed again
 * soon, or at once with a longer timeout). */
#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <glib/gstdio.h>

#include "tl-private.h"
#include "xml-private.h"
#include "registry-private.h"
#include "cache-private.h"

/* :2 — timed-out verdicts carry timeout= and probed-at=; caches written
 * before (which kept them for good) are ignored */
#define CACHE_NS "urn:tl:registry-cache:2"
#define CACHE_TIMEOUT_TTL_S (10 * 60)

struct _TlRegistryCache {
  char *path;
  GHashTable *entries; /* manifest path -> CacheEntry* */
  gboolean dirty;
};

typedef struct {
  char *manifest;
  gint64 manifest_mtime, manifest_size;
  char *library;
  gint64 library_mtime, library_size;
  char *reason; /* NULL: ok */
  double timeout;    /* > 0: the probe timed out after this many seconds */
  gint64 probed_at;  /* with timeout: when (seconds since the epoch) */
  gboolean seen;
} CacheEntry;

static void
entry_free (gpointer data)
{
  CacheEntry *e = data;
  g_free (e->manifest);
  g_free (e->library);
  g_free (e->reason);
  g_free (e);
}

static gboolean
stat_file (const char *path, gint64 *mtime, gint64 *size)
{
  GStatBuf sb;
  if (!path || g_stat (path, &sb) != 0)
    return FALSE;
  *mtime = (gint64) sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
  *size = (gint64) sb.st_size;
  return TRUE;
}

static char *
cache_file_path (void)
{
  const char *dir = g_getenv ("XDG_CACHE_HOME");
  if (!dir || !*dir || !g_path_is_absolute (dir))
    dir = g_get_user_cache_dir ();
  struct utsname u;
  const char *arch = uname (&u) == 0 ? u.machine : "unknown";
  g_autofree char *name = g_strdup_printf ("registry-%s.xml", arch);
  return g_build_filename (dir, "tl-1", name, NULL);
}

static gint64
prop_int (xmlNode *n, const char *name)
{
  g_autofree char *v = _tl_priv_xml_prop (n, name);
  return v ? g_ascii_strtoll (v, NULL, 10) : -1;
}

/* The cache; unreadable or foreign caches are treated as empty. */
TlRegistryCache *
_tl_priv_cache_open (void)
{
  TlRegistryCache *c = g_new0 (TlRegistryCache, 1);
  c->path = cache_file_path ();
  c->entries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, entry_free);
  g_autoptr (GError) err = NULL;
  g_autoptr (xmlDoc) doc = g_file_test (c->path, G_FILE_TEST_EXISTS)
                               ? _tl_priv_xml_read_file (c->path, &err) : NULL;
  xmlNode *root = doc ? xmlDocGetRootElement (doc) : NULL;
  g_autofree char *version = root ? _tl_priv_xml_prop (root, "tl-version") : NULL;
  if (err)
    g_debug ("ignoring the registry cache: %s", err->message);
  if (!_tl_priv_xml_is (root, CACHE_NS, "registry-cache") || !version
      || strcmp (version, PACKAGE_VERSION " " G_STRINGIFY (TL_ABI_MAJOR) "." G_STRINGIFY (TL_ABI_MINOR)) != 0)
    return c;
  for (xmlNode *n = root->children; n; n = n->next) {
    if (!_tl_priv_xml_is (n, CACHE_NS, "plugin"))
      continue;
    CacheEntry *e = g_new0 (CacheEntry, 1);
    e->manifest = _tl_priv_xml_prop (n, "manifest");
    e->library = _tl_priv_xml_prop (n, "library");
    e->manifest_mtime = prop_int (n, "manifest-mtime");
    e->manifest_size = prop_int (n, "manifest-size");
    e->library_mtime = prop_int (n, "library-mtime");
    e->library_size = prop_int (n, "library-size");
    g_autofree char *result = _tl_priv_xml_prop (n, "result");
    e->reason = _tl_priv_xml_prop (n, "reason");
    g_autofree char *timeout = _tl_priv_xml_prop (n, "timeout");
    if (timeout) {
      e->timeout = g_ascii_strtod (timeout, NULL);
      e->probed_at = prop_int (n, "probed-at");
    }
    if (!e->manifest || !e->library || !result || (strcmp (result, "ok") == 0) == (e->reason != NULL)
        || (timeout && (!(e->timeout > 0) || !e->reason))) {
      entry_free (e);
      continue;
    }
    g_hash_table_replace (c->entries, e->manifest, e);
  }
  return c;
}

/* Look up the probe result of a plugin for a scan whose probes may take
 * `timeout_s`: TRUE on a hit (valid key; a timed-out verdict only while it
 * is fresh and was given at least `timeout_s`), with *reason (transfer full)
 * NULL for ok. */
gboolean
_tl_priv_cache_lookup (TlRegistryCache *c, const char *manifest, const char *library,
                       double timeout_s, char **reason)
{
  if (!c)
    return FALSE;
  CacheEntry *e = g_hash_table_lookup (c->entries, manifest);
  gint64 mm, ms, lm, ls;
  if (!e || strcmp (e->library, library) != 0 || !stat_file (manifest, &mm, &ms)
      || !stat_file (library, &lm, &ls) || mm != e->manifest_mtime || ms != e->manifest_size
      || lm != e->library_mtime || ls != e->library_size)
    return FALSE;
  if (e->timeout > 0) {
    gint64 age = g_get_real_time () / G_USEC_PER_SEC - e->probed_at;
    if (timeout_s > e->timeout || age < 0 || age > CACHE_TIMEOUT_TTL_S)
      return FALSE;
  }
  e->seen = TRUE;
  /* the cache file is not trusted: its reason is shown by `tlhost list`
   * and in error messages, so control characters (terminal escapes, line
   * breaks) are escaped */
  *reason = e->reason ? _tl_priv_escape_controls (e->reason) : NULL;
  return TRUE;
}

/* Store a probe verdict; `timed_out_after` > 0 marks a probe killed at that
 * timeout (reason required), kept for a while only (see the top). */
void
_tl_priv_cache_store (TlRegistryCache *c, const char *manifest, const char *library,
                      const char *reason, double timed_out_after)
{
  if (!c)
    return;
  if (timed_out_after > 0 && !reason)
    return;
  CacheEntry *e = g_new0 (CacheEntry, 1);
  if (!stat_file (manifest, &e->manifest_mtime, &e->manifest_size)
      || !stat_file (library, &e->library_mtime, &e->library_size)) {
    g_free (e);
    return;
  }
  e->manifest = g_strdup (manifest);
  e->library = g_strdup (library);
  e->reason = g_strdup (reason);
  if (timed_out_after > 0) {
    e->timeout = timed_out_after;
    e->probed_at = g_get_real_time () / G_USEC_PER_SEC;
  }
  e->seen = TRUE;
  g_hash_table_replace (c->entries, e->manifest, e);
  c->dirty = TRUE;
}

/* Drop what is known about a manifest (its verdict is not to be kept). */
void
_tl_priv_cache_forget (TlRegistryCache *c, const char *manifest)
{
  if (c && g_hash_table_remove (c->entries, manifest))
    c->dirty = TRUE;
}

/* Write the cache atomically if it changed; drops entries whose manifest is
 * gone. Failures are logged at debug level only (the cache is an optimisation). */
void
_tl_priv_cache_save (TlRegistryCache *c)
{
  if (!c)
    return;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, c->entries);
  while (g_hash_table_iter_next (&it, &k, &v)) {
    CacheEntry *e = v;
    if (!e->seen && !g_file_test (e->manifest, G_FILE_TEST_EXISTS)) {
      g_hash_table_iter_remove (&it);
      c->dirty = TRUE;
    }
  }
  if (!c->dirty)
    return;
  g_autoptr (GPtrArray) keys = g_ptr_array_new ();
  g_hash_table_iter_init (&it, c->entries);
  while (g_hash_table_iter_next (&it, &k, NULL))
    g_ptr_array_add (keys, k);
  g_ptr_array_sort (keys, (GCompareFunc) _tl_priv_strcmp_p);
  g_autoptr (GString) s = g_string_new ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  g_string_append_printf (s, "<registry-cache xmlns=\"%s\" tl-version=\"%s %d.%d\">\n", CACHE_NS,
                          PACKAGE_VERSION, TL_ABI_MAJOR, TL_ABI_MINOR);
  for (guint i = 0; i < keys->len; i++) {
    CacheEntry *e = g_hash_table_lookup (c->entries, g_ptr_array_index (keys, i));
    g_autofree char *m = g_markup_escape_text (e->manifest, -1);
    g_autofree char *l = g_markup_escape_text (e->library, -1);
    g_autofree char *r = e->reason ? g_markup_escape_text (e->reason, -1) : NULL;
    g_autofree char *t = NULL;
    if (e->timeout > 0) {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      t = g_strdup_printf (" timeout=\"%s\" probed-at=\"%" G_GINT64_FORMAT "\"",
                           g_ascii_dtostr (buf, sizeof buf, e->timeout), e->probed_at);
    }
    g_string_append_printf (s,
                            "  <plugin manifest=\"%s\" manifest-mtime=\"%" G_GINT64_FORMAT
                            "\" manifest-size=\"%" G_GINT64_FORMAT "\"\n          library=\"%s\" library-mtime=\"%"
                            G_GINT64_FORMAT "\" library-size=\"%" G_GINT64_FORMAT "\" result=\"%s\"%s%s%s%s/>\n",
                            m, e->manifest_mtime, e->manifest_size, l, e->library_mtime,
                            e->library_size, r ? "skip" : "ok", r ? " reason=\"" : "", r ? r : "",
                            r ? "\"" : "", t ? t : "");
  }
  g_string_append (s, "</registry-cache>\n");
  g_autofree char *dir = g_path_get_dirname (c->path);
  g_autoptr (GError) err = NULL;
  if (g_mkdir_with_parents (dir, 0700) != 0)
    g_debug ("%s: cannot create the cache directory", dir);
  else if (!_tl_priv_write_atomic (c->path, s->str, s->len, &err))
    g_debug ("cannot write the registry cache: %s", err->message);
  c->dirty = FALSE;
}

void
_tl_priv_cache_free (TlRegistryCache *c)
{
  if (!c)
    return;
  g_hash_table_unref (c->entries);
  g_free (c->path);
  g_free (c);
}
