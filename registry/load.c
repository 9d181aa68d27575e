/* load.c — dlopen a plugin, check its descriptor against the host ABI and
 * its manifest, call its init, register its ops. */
#include "config.h"

#include <string.h>

#include "tl-private.h"
#include "registry-impl.h"

#define MAX_COMPONENTS 4096

static const TlComponentInfo *
manifest_component (const TlPluginInfo *p, const char *name)
{
  for (guint i = 0; i < p->components->len; i++) {
    const TlComponentInfo *c = g_ptr_array_index (p->components, i);
    if (strcmp (c->name, name) == 0)
      return c;
  }
  return NULL;
}

static char *
manifest_component_list (const TlPluginInfo *p)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < p->components->len; i++) {
    const TlComponentInfo *c = g_ptr_array_index (p->components, i);
    g_string_append_printf (s, "%s%s %s", i ? ", " : "", tl_component_kind_name (c->kind), c->name);
  }
  return g_string_free (s, FALSE);
}

/* The table type of a component kind, for messages. */
static const char *
table_type (TlComponentKind kind)
{
  switch (kind) {
  case TL_COMPONENT_OP:
    return "TlOpDef";
  case TL_COMPONENT_MODEL:
    return "TlModelDef";
  case TL_COMPONENT_PLANNER:
    return "TlPlannerDef";
  case TL_COMPONENT_DATASET:
    return "TlDatasetDef";
  default:
    return "its table type";
  }
}

/* Check a descriptor against the host and the manifest. Reads nothing past
 * desc->struct_size. Publishes nothing: see publish_tables(). */
static gboolean
check_descriptor (TlPluginInfo *p, const TlPluginDesc *d, GError **error)
{
  const char *what = p->library_path ? p->library_path : "built-in plugin";
  if (!d) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "%s: tl_plugin_query() returned NULL", what);
    return FALSE;
  }
  if (d->abi_major != TL_ABI_MAJOR) {
    g_set_error (error, TL_ERROR, TL_ERROR_ABI,
                 "%s: plugin ABI major %u is not supported (this host has ABI %d.%d)", what,
                 d->abi_major, TL_ABI_MAJOR, TL_ABI_MINOR);
    return FALSE;
  }
  if (d->abi_minor > TL_ABI_MINOR) {
    g_set_error (error, TL_ERROR, TL_ERROR_ABI,
                 "%s: plugin built for ABI %u.%u, newer than this host's %d.%d", what, d->abi_major,
                 d->abi_minor, TL_ABI_MAJOR, TL_ABI_MINOR);
    return FALSE;
  }
  if (d->struct_size < offsetof (TlPluginDesc, components) + sizeof (void *)) {
    g_set_error (error, TL_ERROR, TL_ERROR_ABI, "%s: descriptor too small (struct_size %u)", what,
                 d->struct_size);
    return FALSE;
  }
  if (d->min_host_minor > TL_ABI_MINOR) {
    g_set_error (error, TL_ERROR, TL_ERROR_ABI, "%s: plugin needs a host with ABI %d.%u or newer (this is %d.%d)",
                 what, TL_ABI_MAJOR, d->min_host_minor, TL_ABI_MAJOR, TL_ABI_MINOR);
    return FALSE;
  }
  if (!d->id || strcmp (d->id, p->id) != 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN,
                 "%s: descriptor id '%s' does not match the manifest id '%s'", what,
                 d->id ? d->id : "(null)", p->id);
    return FALSE;
  }
  if (!d->version || strcmp (d->version, p->version) != 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN,
                 "%s: descriptor version '%s' does not match the manifest version '%s'", what,
                 d->version ? d->version : "(null)", p->version);
    return FALSE;
  }
  guint n = 0;
  for (const TlComponent *c = d->components; c && c->kind != TL_COMPONENT_NONE; c++, n++) {
    g_autofree char *list = manifest_component_list (p);
    const TlComponentInfo *ci = c->name ? manifest_component (p, c->name) : NULL;
    if (n >= MAX_COMPONENTS || !ci || ci->kind != (TlComponentKind) c->kind) {
      g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN,
                   "%s: descriptor component %s '%s' does not match the manifest (which declares: %s)",
                   what, tl_component_kind_name ((TlComponentKind) c->kind),
                   c->name ? c->name : "(null)", list);
      return FALSE;
    }
    const TlTableHeader *t = c->table;
    if (!t || t->abi_major != TL_ABI_MAJOR || t->abi_minor > TL_ABI_MINOR
        || t->struct_size < sizeof (TlTableHeader)) {
      /* an all-zero header: the table was written without TL_TABLE_INIT */
      g_autofree char *hint =
          !t ? g_strdup (" (the TlComponent entry gives no table)")
          : t->abi_major == 0 && t->abi_minor == 0 && t->struct_size == 0
              ? g_strdup_printf (" (start the table with TL_TABLE_INIT(%s))", table_type (c->kind))
              : g_strdup ("");
      g_set_error (error, TL_ERROR, TL_ERROR_ABI,
                   "%s: component '%s': table missing or built for an unsupported ABI (%u.%u)%s", what,
                   c->name, t ? t->abi_major : 0, t ? t->abi_minor : 0, hint);
      return FALSE;
    }
    if (c->kind == TL_COMPONENT_OP) {
      const TlOpDef *op = c->table;
      g_autofree char *why = NULL;
      if (!TL_TABLE_HAS (op, TlOpDef, forward_cpu, 0))
        why = g_strdup_printf ("its struct_size %u is too small", t->struct_size);
      else if (!op->name)
        why = g_strdup ("it has no name");
      else if (!p->builtin && strcmp (op->name, ci->full_name) != 0) {
        g_autofree char *shown = _tl_priv_escape_short (op->name);
        why = g_strdup_printf ("it is named '%s'", shown);
      } else if (!op->infer || !op->forward_cpu)
        why = g_strdup_printf ("it has no %s", !op->infer ? "infer" : "forward_cpu");
      if (why) {
        g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN,
                     "%s: op component '%s': table must be named '%s' and provide infer and forward_cpu "
                     "(%s)",
                     what, c->name, ci->full_name, why);
        return FALSE;
      }
    }
  }
  if (n != p->components->len) {
    g_autofree char *list = manifest_component_list (p);
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN,
                 "%s: descriptor lists %u components; this does not match the manifest (which declares: %s)",
                 what, n, list);
    return FALSE;
  }
  return TRUE;
}

/* Fill each component's table from a checked descriptor; done only once the
 * plugin's init succeeded, so that no table of a refused plugin is ever
 * visible. */
static void
publish_tables (TlPluginInfo *p, const TlPluginDesc *d)
{
  for (const TlComponent *c = d->components; c && c->kind != TL_COMPONENT_NONE; c++)
    ((TlComponentInfo *) manifest_component (p, c->name))->table = c->table;
}

/**
 * _tl_priv_plugin_open:
 * @p: a plugin whose library is resolved
 * @error: return location for a #GError
 *
 * Opens the plugin's library (RTLD_LOCAL, immediate binding: a function the
 * plugin calls that exists nowhere fails here with the loader's message,
 * not at its first call), looks up tl_plugin_query, checks the descriptor
 * and calls the plugin's init, then publishes the component tables. A
 * library refused before init ran is closed again; once init has run
 * (whatever its result) the module is kept resident, never unloaded.
 * Registers nothing.
 */
gboolean
_tl_priv_plugin_open (TlPluginInfo *p, GError **error)
{
  const TlPluginDesc *d = NULL;
  GModule *m = NULL;
  if (p->builtin) {
    d = _tl_priv_builtin_plugin ();
    if (!d) {
      g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                   "the built-in plugin 'tl' has no components in this build");
      return FALSE;
    }
  } else {
    if (!p->library_path) {
      g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "plugin '%s': %s", p->id,
                   p->skip_reason ? p->skip_reason : "library not found");
      return FALSE;
    }
    m = g_module_open (p->library_path, G_MODULE_BIND_LOCAL);
    if (!m) {
      /* the loader names the library first: "LIB: libdep.so: cannot open
       * shared object file: ...", "LIB: undefined symbol: f" */
      const char *why = g_module_error ();
      gsize n = strlen (p->library_path);
      if (!why)
        why = "cannot open";
      else if (strncmp (why, p->library_path, n) == 0 && why[n] == ':')
        why += n + 1 + (why[n + 1] == ' ');
      g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "%s" TL_PRIV_DLOPEN_FAILED "%s",
                   p->library_path, why);
      return FALSE;
    }
    gpointer sym = NULL;
    if (!g_module_symbol (m, TL_PLUGIN_ENTRY_SYMBOL, &sym) || !sym) {
      g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "%s: does not export " TL_PLUGIN_ENTRY_SYMBOL,
                   p->library_path);
      g_module_close (m);
      return FALSE;
    }
    d = ((TlPluginQueryFunc) sym) ();
  }
  if (!check_descriptor (p, d, error)) {
    if (m)
      g_module_close (m);
    return FALSE;
  }
  if (TL_TABLE_HAS (d, TlPluginDesc, init, 0) && d->init) {
    GError *ierr = NULL;
    if (!d->init (&ierr)) {
      g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "plugin '%s'" TL_PRIV_INIT_FAILED "%s", p->id,
                   ierr ? ierr->message : "(no message)");
      g_clear_error (&ierr);
      /* init ran: it may have left threads, handlers or registrations
       * pointing into the library, so it stays mapped (no table was
       * published) */
      if (m)
        g_module_make_resident (m);
      p->module = m;
      return FALSE;
    }
    g_clear_error (&ierr);
  }
  if (m)
    g_module_make_resident (m);
  p->module = m;
  p->desc = d;
  publish_tables (p, d);
  return TRUE;
}

static gboolean
register_ops (TlPluginInfo *p, GError **error)
{
  for (guint i = 0; i < p->components->len; i++) {
    const TlComponentInfo *c = g_ptr_array_index (p->components, i);
    if (c->kind != TL_COMPONENT_OP || !c->table)
      continue;
    const TlOpDef *op = c->table;
    if (tl_op_lookup (op->name) == op)
      continue;
    if (!tl_op_register (op, error))
      return FALSE;
  }
  return TRUE;
}

/**
 * tl_registry_load_component:
 * @r: a registry
 * @ci: a component of one of @r's plugins
 * @error: return location for a #GError
 *
 * Loads @ci's plugin if needed (see _tl_priv_plugin_open) and registers its
 * ops. A plugin that fails to load is marked SKIPPED with the reason.
 *
 * Returns: (transfer none) (nullable): the component's table (const
 * TlOpDef/TlModelDef/TlPlannerDef/TlDatasetDef), valid for the process.
 */
const void *
tl_registry_load_component (TlRegistry *r, const TlComponentInfo *ci, GError **error)
{
  g_return_val_if_fail (r != NULL && ci != NULL, NULL);
  TlPluginInfo *p = ci->plugin;
  const void *table = NULL;
  g_mutex_lock (&r->lock);
  if (!p->allowed) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "component '%s': plugin '%s' is not in the allow-list",
                 ci->full_name, p->id);
  } else if (p->skip_reason) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "component '%s': plugin '%s' was skipped: %s",
                 ci->full_name, p->id, p->skip_reason);
  } else if (p->shadowed) {
    const TlPluginInfo *w = tl_registry_find_plugin (r, p->id);
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN,
                 "component '%s': plugin '%s' %s (%s) is shadowed by version %s (%s)", ci->full_name,
                 p->id, p->version, p->manifest_path, w && w != p ? w->version : "?",
                 w && w != p ? w->manifest_path : "?");
  } else {
    GError *err = NULL;
    if (!p->loaded && _tl_priv_plugin_open (p, &err) && register_ops (p, &err))
      p->loaded = TRUE;
    if (err) {
      if (!p->builtin)
        p->skip_reason = g_strdup (err->message);
      g_propagate_error (error, err);
    } else if (!ci->table) {
      g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "component '%s' is not provided by its plugin",
                   ci->full_name);
    } else {
      table = ci->table;
    }
  }
  g_mutex_unlock (&r->lock);
  return table;
}

/**
 * _tl_registry_probe_manifest:
 * @path: a plugin manifest
 * @error: return location for a #GError
 *
 * What tl-plugin-scanner runs in its own process: parse the manifest,
 * resolve the library, open and check the plugin, call its init.
 *
 * Returns: TRUE when the plugin is usable.
 */
gboolean
_tl_registry_probe_manifest (const char *path, GError **error)
{
  TlRegistryOptions opts = { 0 };
  opts.no_scan = 1;
  opts.no_probe = 1;
  opts.no_cache = 1;
  g_autoptr (GError) err = NULL;
  TlRegistry *r = tl_registry_new (&opts, error);
  if (!r)
    return FALSE;
  const TlPluginInfo *p = tl_registry_add_path (r, path, error);
  gboolean ok = p != NULL && _tl_priv_plugin_open ((TlPluginInfo *) p, error);
  tl_registry_free (r);
  return ok;
}
