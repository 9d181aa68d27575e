/* backend.c — device names, and the device backend modules libtl loads on
 * demand (today: CUDA, backends/cuda/). libtl never links a device runtime:
 * the module is opened with GModule the first time a "cuda" device is
 * asked for, and a host without it (or without a GPU) gets a GError that
 * says why.
 *
 * Where the module is looked for, first hit wins:
 *   1. each directory of $TL_BACKEND_PATH (colon-separated) when it is set
 *      (an empty value means "no backend module anywhere");
 *   2. the build tree's backends/cuda/.libs when this libtl runs uninstalled;
 *   3. $(libdir)/tl-1/backends (beside $(libdir)/tl-1/plugins).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <gmodule.h>

#include "tl-private.h"
#include "backend-private.h"
#include "registry-private.h"

#ifndef TL_BACKENDDIR
#define TL_BACKENDDIR TL_PLUGINDIR "/../backends"
#endif

/* --- device names ------------------------------------------------------- */

/**
 * _tl_priv_device_parse:
 * @name: (nullable): "cpu", "cpu:N", "cuda" or "cuda:N"; NULL or "" is "cpu"
 * @type: (out): the device type
 * @index: (out): the device index (0 for "cpu" and "cuda")
 * @error: return location for a #GError
 *
 * Returns: FALSE (TL_ERROR_UNSUPPORTED) for anything else.
 */
gboolean
_tl_priv_device_parse (const char *name, TlDeviceType *type, int *index, GError **error)
{
  *type = TL_DEVICE_CPU;
  *index = 0;
  if (!name || !*name)
    return TRUE;
  const char *rest = NULL;
  if (g_str_has_prefix (name, "cpu")) {
    *type = TL_DEVICE_CPU;
    rest = name + 3;
  } else if (g_str_has_prefix (name, "cuda")) {
    *type = TL_DEVICE_CUDA;
    rest = name + 4;
  }
  if (rest && *rest == '\0')
    return TRUE;
  guint64 v = 0;
  if (rest && *rest == ':' && g_ascii_string_to_unsigned (rest + 1, 10, 0, 1023, &v, NULL)) {
    *index = (int) v;
    return TRUE;
  }
  g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
               "unknown device \"%s\" (cpu, cuda or cuda:N)", name);
  return FALSE;
}

/* --- the CUDA backend module -------------------------------------------- */

static GMutex backend_lock;
static gboolean backend_tried;
static const TlBackend *backend_cuda;
static char *backend_error; /* why there is none */

static const TlBackend *
try_dir (const char *dir, GString *why)
{
  g_autofree char *path = g_build_filename (dir, "tl-backend-cuda." G_MODULE_SUFFIX, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
    g_string_append_printf (why, "%s%s: not found", why->len ? "; " : "", path);
    return NULL;
  }
  GModule *mod = g_module_open (path, G_MODULE_BIND_LOCAL);
  if (!mod) {
    g_string_append_printf (why, "%s%s", why->len ? "; " : "", g_module_error ());
    return NULL;
  }
  gpointer sym = NULL;
  if (!g_module_symbol (mod, "tl_backend_query", &sym) || !sym) {
    g_string_append_printf (why, "%s%s: no tl_backend_query", why->len ? "; " : "", path);
    g_module_close (mod);
    return NULL;
  }
  const TlBackend *be = ((TlBackendQueryFn) sym) ();
  if (!be || be->abi != TL_BACKEND_ABI) {
    g_string_append_printf (why, "%s%s: backend ABI %u, libtl expects %u", why->len ? "; " : "",
                            path, be ? be->abi : 0u, TL_BACKEND_ABI);
    g_module_close (mod);
    return NULL;
  }
  g_module_make_resident (mod); /* device memory may outlive any caller */
  return be;
}

static void
load_cuda (void)
{
  g_autoptr (GPtrArray) dirs = g_ptr_array_new_with_free_func (g_free);
  const char *env = g_getenv ("TL_BACKEND_PATH");
  if (env) {
    g_auto (GStrv) parts = g_strsplit (env, G_SEARCHPATH_SEPARATOR_S, -1);
    for (guint i = 0; parts[i]; i++)
      if (*parts[i])
        g_ptr_array_add (dirs, g_strdup (parts[i]));
  } else {
    if (_tl_priv_uninstalled ())
      g_ptr_array_add (dirs, g_build_filename (TL_BUILDDIR, "backends", "cuda", ".libs", NULL));
    g_ptr_array_add (dirs, g_canonicalize_filename (TL_BACKENDDIR, "/"));
  }
  g_autoptr (GString) why = g_string_new (NULL);
  if (!g_module_supported ())
    g_string_append (why, "GModule is not supported on this platform");
  for (guint i = 0; i < dirs->len && !backend_cuda && g_module_supported (); i++)
    backend_cuda = try_dir (dirs->pdata[i], why);
  if (!backend_cuda) {
    if (dirs->len == 0)
      g_string_append (why, "TL_BACKEND_PATH is empty");
    backend_error = g_strdup_printf ("the CUDA backend module is not available (%s)", why->str);
  }
}

/**
 * _tl_priv_backend_cuda:
 * @error: return location for a #GError
 *
 * Loads the CUDA backend module once per process.
 *
 * Returns: (nullable): its table, NULL (TL_ERROR_UNSUPPORTED, saying where
 * it was looked for) when there is none.
 */
const TlBackend *
_tl_priv_backend_cuda (GError **error)
{
  g_mutex_lock (&backend_lock);
  if (!backend_tried) {
    load_cuda ();
    backend_tried = TRUE;
  }
  const TlBackend *be = backend_cuda;
  if (!be)
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "%s", backend_error);
  g_mutex_unlock (&backend_lock);
  return be;
}

/**
 * _tl_priv_device_backend:
 * @type: a device type
 * @index: a device index
 * @error: return location for a #GError
 *
 * Makes device @index current on the calling thread.
 *
 * Returns: (nullable): the backend of a device (NULL for the CPU, without
 * an error); NULL with TL_ERROR_UNSUPPORTED when the device is not usable
 * ("no CUDA device: ..." when the driver or a GPU is missing).
 */
const TlBackend *
_tl_priv_device_backend (TlDeviceType type, int index, GError **error)
{
  if (type == TL_DEVICE_CPU)
    return NULL;
  const TlBackend *be = _tl_priv_backend_cuda (error);
  if (!be)
    return NULL;
  GError *e = NULL;
  int n = be->device_count (&e);
  if (n <= 0) {
    if (!e)
      e = g_error_new (TL_ERROR, TL_ERROR_UNSUPPORTED, "no CUDA device");
    e->code = TL_ERROR_UNSUPPORTED;
    g_propagate_error (error, e);
    return NULL;
  }
  g_clear_error (&e);
  if (index >= n) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "cuda:%d does not exist (%d CUDA device%s)",
                 index, n, n == 1 ? "" : "s");
    return NULL;
  }
  if (!be->set_device (index, error))
    return NULL;
  return be;
}

/**
 * _tl_priv_device_open:
 * @name: (nullable): a device name (see _tl_priv_device_parse())
 * @dev: (out): the device
 * @error: return location for a #GError
 *
 * Parses @name and, for a device other than the CPU, loads its backend and
 * makes the device current on the calling thread.
 *
 * Returns: FALSE with a message naming @name when the device is unusable.
 */
gboolean
_tl_priv_device_open (const char *name, TlDevice *dev, GError **error)
{
  memset (dev, 0, sizeof *dev);
  if (!_tl_priv_device_parse (name, &dev->type, &dev->index, error))
    return FALSE;
  if (dev->type == TL_DEVICE_CPU)
    return TRUE;
  GError *e = NULL;
  dev->be = _tl_priv_device_backend (dev->type, dev->index, &e);
  if (!dev->be) {
    g_propagate_prefixed_error (error, e, "device \"%s\": ", name);
    return FALSE;
  }
  return TRUE;
}

/* --- public device helpers ---------------------------------------------- */

/**
 * tl_device_available:
 * @device: (nullable): "cpu", "cuda" or "cuda:N" (NULL: "cpu")
 * @error: return location for a #GError
 *
 * Checks that tensors, executors and the trainer can use @device: always
 * TRUE for the CPU; for "cuda[:N]" the CUDA backend module must load and
 * the device must exist.
 *
 * Returns: TRUE when usable; else FALSE and a one-line reason, e.g.
 * `device "cuda": no CUDA device: no NVIDIA GPU found (CUDA: no
 * CUDA-capable device is detected)`.
 */
gboolean
tl_device_available (const char *device, GError **error)
{
  TlDevice d;
  return _tl_priv_device_open (device, &d, error);
}

/**
 * tl_device_describe:
 * @device: (nullable): a device name
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): one line naming the device (for a
 * GPU: model, compute capability, memory), NULL when it is not usable.
 */
char *
tl_device_describe (const char *device, GError **error)
{
  TlDevice d;
  if (!_tl_priv_device_open (device, &d, error))
    return NULL;
  if (d.type == TL_DEVICE_CPU)
    return g_strdup_printf ("cpu (%u threads)", tl_get_num_threads ());
  return d.be->describe (d.index);
}

/**
 * tl_device_memory_stats:
 * @device: "cuda" or "cuda:N"
 * @stats: (out caller-allocates): filled with the caching allocator's counters
 * @error: return location for a #GError
 *
 * Returns: FALSE for the CPU (TL_ERROR_UNSUPPORTED) or an unusable device.
 */
gboolean
tl_device_memory_stats (const char *device, TlDeviceMemStats *stats, GError **error)
{
  memset (stats, 0, sizeof *stats);
  TlDevice d;
  if (!_tl_priv_device_open (device, &d, error))
    return FALSE;
  if (d.type == TL_DEVICE_CPU) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "memory statistics: \"%s\" has no caching allocator", device ? device : "cpu");
    return FALSE;
  }
  TlBackendMemStats s;
  d.be->mem_stats (&s);
  stats->bytes_in_use = s.bytes_in_use;
  stats->bytes_cached = s.bytes_cached;
  stats->peak_bytes_in_use = s.peak_bytes_in_use;
  stats->n_device_allocs = s.n_device_allocs;
  stats->n_cache_hits = s.n_cache_hits;
  return TRUE;
}

/**
 * tl_device_empty_cache:
 * @device: "cuda" or "cuda:N"
 * @error: return location for a #GError
 *
 * Returns the caching allocator's free blocks to the driver.
 *
 * Returns: FALSE when @device is not a usable GPU.
 */
gboolean
tl_device_empty_cache (const char *device, GError **error)
{
  TlDevice d;
  if (!_tl_priv_device_open (device, &d, error))
    return FALSE;
  if (d.type != TL_DEVICE_CPU)
    d.be->empty_cache ();
  return TRUE;
}

/**
 * tl_device_synchronize:
 * @device: (nullable): a device name
 * @error: return location for a #GError
 *
 * Waits for the work queued by the calling thread on @device (a no-op for
 * the CPU) and reports an asynchronous kernel failure.
 *
 * Returns: TRUE when everything queued succeeded.
 */
gboolean
tl_device_synchronize (const char *device, GError **error)
{
  TlDevice d;
  if (!_tl_priv_device_open (device, &d, error))
    return FALSE;
  return d.type == TL_DEVICE_CPU || d.be->synchronize (error);
}
