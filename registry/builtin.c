/* builtin.c — the built-in plugin "tl": manifest embedded at build time
 * (registry/builtin-manifest.inc, generated from core/builtin/tl.tlplugin.xml),
 * tables from _tl_priv_builtin_plugin() (core/). */
#include "config.h"

#include <string.h>

#include "tl-private.h"
#include "registry-private.h"

/* generated: static const unsigned char tl_builtin_manifest_data[] (NUL-terminated) */
#include "registry/builtin-manifest.inc"

/**
 * _tl_priv_builtin_manifest:
 *
 * Returns: (transfer none): the built-in plugin's manifest (XML text).
 */
const char *
_tl_priv_builtin_manifest (void)
{
  return (const char *) tl_builtin_manifest_data;
}

/**
 * _tl_priv_builtin_info:
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the built-in plugin "tl" as the
 * registry lists it: no library path, always allowed, never probed.
 */
TlPluginInfo *
_tl_priv_builtin_info (GError **error)
{
  const char *m = _tl_priv_builtin_manifest ();
  TlPluginInfo *p = _tl_priv_manifest_parse ("built-in:tl" ".tlplugin.xml", m, strlen (m), TRUE, error);
  if (!p)
    return NULL;
  if (strcmp (p->id, "tl") != 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "built-in manifest has id '%s', expected 'tl'", p->id);
    _tl_priv_plugin_info_free (p);
    return NULL;
  }
  g_free (p->manifest_path);
  p->manifest_path = g_strdup ("built-in");
  p->probed = TRUE;
  return p;
}
