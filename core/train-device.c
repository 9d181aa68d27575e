/* train-device.c — device mirrors of a model's parameters while tl_train
 * runs on a GPU (see train-device.h). */
#include "config.h"

#include <string.h>

#include "train-device.h"
#include "graph-private.h"

/* store -> TlDeviceParams* of the run that holds it */
static GMutex runs_lock;
static GHashTable *runs;

static TlDeviceParams *
run_of (TlParamStore *store)
{
  g_mutex_lock (&runs_lock);
  TlDeviceParams *dp = runs ? g_hash_table_lookup (runs, store) : NULL;
  g_mutex_unlock (&runs_lock);
  return dp;
}

gboolean
_tl_priv_devparams_begin (TlDeviceParams *dp, TlParamStore *store, const TlTrainConfig *cfg,
                          GError **error)
{
  memset (dp, 0, sizeof *dp);
  if (!_tl_priv_device_open (cfg->device, &dp->dev, error)) {
    g_prefix_error (error, "train: ");
    return FALSE;
  }
  if (!dp->dev.be)
    return TRUE;
  g_mutex_lock (&runs_lock);
  if (!runs)
    runs = g_hash_table_new (g_direct_hash, g_direct_equal);
  gboolean busy = g_hash_table_contains (runs, store);
  if (!busy)
    g_hash_table_insert (runs, store, dp);
  g_mutex_unlock (&runs_lock);
  if (busy) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "train: the model is already being trained on a GPU");
    return FALSE;
  }
  dp->active = TRUE;
  dp->store = store;
  dp->mirror = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify) tl_tensor_unref);
  return TRUE;
}

TlTensor *
_tl_priv_devparams_get (TlDeviceParams *dp, const char *name, GError **error)
{
  TlTensor *m = g_hash_table_lookup (dp->mirror, name);
  if (m)
    return m;
  TlTensor *host = tl_param_store_lookup (dp->store, name);
  if (!host) {
    g_set_error (error, TL_ERROR, TL_ERROR_NOT_FOUND, "train: no parameter '%s'", name);
    return NULL;
  }
  m = _tl_priv_tensor_to (host, &dp->dev, error);
  if (!m) {
    g_prefix_error (error, "train: parameter '%s' to cuda:%d: ", name, dp->dev.index);
    return NULL;
  }
  if (m == host) {
    /* already on the device (a model that keeps its own device tensors) */
    tl_tensor_unref (m);
    return host;
  }
  g_hash_table_insert (dp->mirror, g_strdup (name), m);
  return m;
}

static gboolean
transfer (TlDeviceParams *dp, gboolean to_host, GError **error)
{
  if (!dp->active)
    return TRUE;
  GHashTableIter it;
  gpointer key, val;
  g_hash_table_iter_init (&it, dp->mirror);
  while (g_hash_table_iter_next (&it, &key, &val)) {
    TlTensor *host = tl_param_store_lookup (dp->store, key);
    if (!host)
      continue;
    gboolean ok = to_host ? tl_tensor_copy_into (host, val, error)
                          : tl_tensor_copy_into (val, host, error);
    if (!ok) {
      g_prefix_error (error, "train: parameter '%s' %s: ", (const char *) key,
                      to_host ? "to the host" : "to the device");
      return FALSE;
    }
  }
  return TRUE;
}

gboolean
_tl_priv_devparams_download (TlDeviceParams *dp, GError **error)
{
  return transfer (dp, TRUE, error);
}

gboolean
_tl_priv_devparams_upload (TlDeviceParams *dp, GError **error)
{
  return transfer (dp, FALSE, error);
}

void
_tl_priv_devparams_fetch (TlParamStore *store, guint i)
{
  TlDeviceParams *dp = store->device_sync;
  const char *name = store->names->pdata[i];
  if (dp->hook_error || g_hash_table_contains (dp->fetched, name))
    return;
  g_hash_table_add (dp->fetched, (gpointer) name);
  TlTensor *m = g_hash_table_lookup (dp->mirror, name);
  if (m && !tl_tensor_copy_into (store->tensors->pdata[i], m, &dp->hook_error))
    g_prefix_error (&dp->hook_error, "train: parameter '%s' to the host for step_end: ", name);
}

gboolean
_tl_priv_devparams_step_end (TlDeviceParams *dp, TlModelInstance *m, guint64 step, GError **error)
{
  if (!dp->active)
    return tl_model_instance_step_end (m, step, error);
  if (!TL_TABLE_HAS (m->def, TlModelDef, step_end, 0) || !m->def->step_end)
    return TRUE;
  dp->fetched = g_hash_table_new (g_str_hash, g_str_equal);
  dp->store->device_sync = dp;
  gboolean ok = tl_model_instance_step_end (m, step, error);
  dp->store->device_sync = NULL;
  if (ok && dp->hook_error) {
    g_propagate_error (error, g_steal_pointer (&dp->hook_error));
    ok = FALSE;
  }
  g_clear_error (&dp->hook_error);
  GHashTableIter it;
  gpointer name;
  g_hash_table_iter_init (&it, dp->fetched);
  while (ok && g_hash_table_iter_next (&it, &name, NULL)) {
    TlTensor *mirror = g_hash_table_lookup (dp->mirror, name);
    if (mirror && !tl_tensor_copy_into (mirror, tl_param_store_lookup (dp->store, name), error)) {
      g_prefix_error (error, "train: parameter '%s' to the device after step_end: ",
                      (const char *) name);
      ok = FALSE;
    }
  }
  g_clear_pointer (&dp->fetched, g_hash_table_unref);
  return ok;
}

void
_tl_priv_devparams_clear (TlDeviceParams *dp)
{
  if (!dp->active)
    return;
  g_mutex_lock (&runs_lock);
  g_hash_table_remove (runs, dp->store);
  g_mutex_unlock (&runs_lock);
  g_hash_table_unref (dp->mirror);
  memset (dp, 0, sizeof *dp);
}

gboolean
_tl_priv_devparams_bind_graph (TlParamStore *store, TlGraph *g, GError **error)
{
  TlDeviceParams *dp = run_of (store);
  if (!dp)
    return TRUE;
  for (guint i = 0; i < g->params->len; i++) {
    TlValue *v = g->params->pdata[i];
    if (!v->name || !v->tensor || tl_tensor_device (v->tensor) != TL_DEVICE_CPU ||
        !tl_param_store_lookup (store, v->name))
      continue;
    TlTensor *m = _tl_priv_devparams_get (dp, v->name, error);
    if (!m)
      return FALSE;
    tl_tensor_unref (v->tensor);
    v->tensor = tl_tensor_ref (m);
  }
  return TRUE;
}
