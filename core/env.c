/* env.c — on/off switches read from the environment (TL_CUDA_SYNC,
 * TL_CUDA_GRAPH, TL_CUDA_TF32). One reading for libtl and the backend
 * modules, so "TL_CUDA_TF32=off" means off everywhere and a value that is
 * neither on nor off is said, not taken as on. */
#include "config.h"

#include "backend-private.h"
#include "tl-private.h"

static const char *const on_words[] = { "1", "true", "yes", "on" };
static const char *const off_words[] = { "0", "false", "no", "off" };

static gboolean
is_word (const char *v, const char *const *words, guint n)
{
  for (guint i = 0; i < n; i++)
    if (g_ascii_strcasecmp (v, words[i]) == 0)
      return TRUE;
  return FALSE;
}

/**
 * _tl_env_flag:
 * @name: an environment variable
 *
 * Reads a switch: unset or empty is off; 1, true, yes, on (any case) are
 * on; 0, false, no, off are off. Any other value is off, with one warning
 * per variable and process naming it. Exported for the backend modules
 * (declared in core/backend-private.h); not part of the SDK.
 *
 * Returns: whether the switch is on.
 */
gboolean
_tl_env_flag (const char *name)
{
  const char *v = g_getenv (name);
  if (!v || !*v || is_word (v, off_words, G_N_ELEMENTS (off_words)))
    return FALSE;
  if (is_word (v, on_words, G_N_ELEMENTS (on_words)))
    return TRUE;
  static GMutex lock;
  static GHashTable *warned; /* names said once; lives as long as the process */
  g_mutex_lock (&lock);
  if (!warned)
    warned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gboolean first = g_hash_table_add (warned, g_strdup (name));
  g_mutex_unlock (&lock);
  if (first) {
    g_autofree char *shown = _tl_priv_escape_short (v);
    g_warning ("%s=\"%s\" is neither on (1, true, yes, on) nor off (0, false, no, off); "
               "taken as off",
               name, shown);
  }
  return FALSE;
}
