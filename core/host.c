/* host.c — library initialisation, version, data directory, variable
 * expansion, error domain and component kind names. */
#include "config.h"

#include <string.h>

#include "tl-private.h"
#include "graph-private.h"

G_DEFINE_QUARK (tl-error-quark, tl_error)

static GMutex init_lock;
static gint init_done;      /* atomic: 1 once initialised */
static gboolean init_ok;
static GError *init_error;
static __thread gboolean in_init;

/**
 * tl_init:
 * @error: return location for a #GError
 *
 * Registers the built-in ops and sets up the thread pool. Idempotent and
 * thread-safe: later calls return the first call's result (and error).
 * Calls made from inside initialisation return TRUE at once.
 *
 * Returns: TRUE on success.
 */
gboolean
tl_init (GError **error)
{
  if (!g_atomic_int_get (&init_done)) {
    if (in_init)
      return TRUE;
    g_mutex_lock (&init_lock);
    if (!init_done) {
      in_init = TRUE;
      _tl_priv_threads_init ();
      GError *e = NULL;
      init_ok = _tl_priv_ops_basic_register (&e) && _tl_priv_ops_nn_register (&e);
      if (!init_ok) {
        if (!e)
          e = g_error_new (TL_ERROR, TL_ERROR_FAILED, "registering the built-in ops failed");
        g_prefix_error (&e, "tl_init: ");
        init_error = e;
        g_warning ("%s", e->message);
      }
      in_init = FALSE;
      g_atomic_int_set (&init_done, 1);
    }
    g_mutex_unlock (&init_lock);
  }
  if (!init_ok && error)
    *error = g_error_copy (init_error);
  return init_ok;
}

/** tl_version_string: Returns: (transfer none): the package version, e.g. "0.1.0". */
const char *
tl_version_string (void)
{
  return PACKAGE_VERSION;
}

/**
 * tl_abi_version:
 * @major: (out) (optional): %TL_ABI_MAJOR
 * @minor: (out) (optional): %TL_ABI_MINOR
 */
void
tl_abi_version (guint *major, guint *minor)
{
  if (major)
    *major = TL_ABI_MAJOR;
  if (minor)
    *minor = TL_ABI_MINOR;
}

/* Where tl_data_dir() looks when TL_DATA_DIR is not set, in order. */
static const char *const data_dir_rel[] = { "../shared/data", "../../shared/data" };

static char *
existing_dir (char *p)
{
  if (g_file_test (p, G_FILE_TEST_IS_DIR)) {
    char *canon = g_canonicalize_filename (p, NULL);
    g_free (p);
    return canon;
  }
  g_free (p);
  return NULL;
}

/* $TL_SRCDIR/../shared/data, the last place tl_data_dir() looks (NULL
 * when TL_SRCDIR is unset or empty). (transfer full) */
static char *
srcdir_data_dir (void)
{
  const char *srcdir = g_getenv ("TL_SRCDIR");
  return srcdir && *srcdir ? g_build_filename (srcdir, "..", "shared", "data", NULL) : NULL;
}

/* The current directory tl_data_dir() looked from (NULL: not yet). */
static char *data_dir_cwd;

static char *
find_data_dir (void)
{
  const char *env = g_getenv ("TL_DATA_DIR");
  if (env && *env)
    return g_strdup (env);
  const char *cwd = data_dir_cwd = g_get_current_dir ();
  for (guint i = 0; i < G_N_ELEMENTS (data_dir_rel); i++) {
    char *found = existing_dir (g_build_filename (cwd, data_dir_rel[i], NULL));
    if (found)
      return found;
  }
  char *from_src = srcdir_data_dir ();
  return from_src ? existing_dir (from_src) : NULL;
}

/* Why ${TL_DATA_DIR} has no value: the places find_data_dir() tried.
 * (transfer full) */
static char *
data_dir_missing_message (void)
{
  g_autoptr (GString) tried = g_string_new (NULL);
  for (guint i = 0; i < G_N_ELEMENTS (data_dir_rel); i++)
    g_string_append_printf (tried, "%s%s", i == 0 ? "" : " and ", data_dir_rel[i]);
  g_autofree char *cwd = data_dir_cwd ? NULL : g_get_current_dir ();
  g_autofree char *ecwd = _tl_priv_escape_short (data_dir_cwd ? data_dir_cwd : cwd);
  g_string_append_printf (tried, " from the current directory (%s)", ecwd);
  g_autofree char *p = srcdir_data_dir ();
  if (p) {
    g_autofree char *ep = _tl_priv_escape_short (p);
    g_string_append_printf (tried, " and $TL_SRCDIR/../shared/data (%s)", ep);
  }
  const char *env = g_getenv ("TL_DATA_DIR");
  return g_strdup_printf ("${TL_DATA_DIR}: the data directory is not set (%s TL_DATA_DIR to the "
                          "shared datasets folder; %s were not found)",
                          env ? "TL_DATA_DIR is empty: set" : "set", tried->str);
}

/**
 * tl_data_dir:
 *
 * $TL_DATA_DIR when set; else ../shared/data or ../../shared/data from the
 * current directory, or $TL_SRCDIR/../shared/data, when present.
 * Computed once.
 *
 * Returns: (transfer none) (nullable): the data directory or NULL.
 */
const char *
tl_data_dir (void)
{
  static gsize once;
  static char *dir;
  if (g_once_init_enter (&once)) {
    dir = find_data_dir ();
    g_once_init_leave (&once, 1);
  }
  return dir;
}

/**
 * tl_expand_vars:
 * @s: text with ${VAR} references
 * @error: return location for a #GError
 *
 * Replaces each ${VAR} by the environment variable VAR (TL_DATA_DIR by
 * tl_data_dir()). An unset variable or an unterminated reference is an
 * error (%TL_ERROR_NOT_FOUND / %TL_ERROR_PARSE).
 *
 * Returns: (transfer full) (nullable): the expanded text.
 */
char *
tl_expand_vars (const char *s, GError **error)
{
  if (!s) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "tl_expand_vars: NULL string");
    return NULL;
  }
  GString *out = g_string_new (NULL);
  const char *p = s;
  while (*p) {
    if (p[0] == '$' && p[1] == '{') {
      const char *end = strchr (p + 2, '}');
      if (!end) {
        g_autofree char *es = _tl_priv_escape_short (s);
        g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "unterminated ${ in \"%s\"", es);
        g_string_free (out, TRUE);
        return NULL;
      }
      g_autofree char *name = g_strndup (p + 2, (gsize) (end - p - 2));
      const char *val = strcmp (name, "TL_DATA_DIR") == 0 ? tl_data_dir () : g_getenv (name);
      if (!val && strcmp (name, "TL_DATA_DIR") == 0) {
        g_autofree char *msg = data_dir_missing_message ();
        g_set_error_literal (error, TL_ERROR, TL_ERROR_NOT_FOUND, msg);
        g_string_free (out, TRUE);
        return NULL;
      }
      if (!val) {
        g_autofree char *ename = _tl_priv_escape_short (name);
        g_autofree char *es = _tl_priv_escape_short (s);
        g_set_error (error, TL_ERROR, TL_ERROR_NOT_FOUND, "unknown variable ${%s} in \"%s\"", ename,
                     es);
        g_string_free (out, TRUE);
        return NULL;
      }
      g_string_append (out, val);
      p = end + 1;
    } else {
      g_string_append_c (out, *p++);
    }
  }
  return g_string_free (out, FALSE);
}

static const char *const kind_names[] = {
  [TL_COMPONENT_NONE] = "none",
  [TL_COMPONENT_OP] = "op",
  [TL_COMPONENT_MODEL] = "model",
  [TL_COMPONENT_PLANNER] = "planner",
  [TL_COMPONENT_DATASET] = "dataset",
};

/** tl_component_kind_name: Returns: (transfer none): "op", "model", ...; "none" for unknown kinds. */
const char *
tl_component_kind_name (TlComponentKind kind)
{
  if ((guint) kind >= G_N_ELEMENTS (kind_names))
    return "none";
  return kind_names[kind];
}

/** tl_component_kind_from_name: Returns: the kind, %TL_COMPONENT_NONE for unknown names. */
TlComponentKind
tl_component_kind_from_name (const char *name)
{
  if (!name)
    return TL_COMPONENT_NONE;
  for (guint i = 1; i < G_N_ELEMENTS (kind_names); i++)
    if (strcmp (kind_names[i], name) == 0)
      return (TlComponentKind) i;
  return TL_COMPONENT_NONE;
}
