/* train-dp.c — data-parallel training: batch shards, parameter broadcast,
 * gradient allreduce.
 *
 * A global batch of B rows is split over N ranks: rank r reads rows
 * [r*B/N, (r+1)*B/N) of it. Each rank's loss is the mean over its rows, so
 * the global gradient is sum_r (n_r / B) * grad_r: every rank scales its
 * gradients and loss by n_r / B and one allreduce (SUM) adds them up. When
 * N divides B that is the mean of the ranks' gradients. The gradients
 * travel packed in one f32 buffer (one collective per step), the loss in
 * f64.
 */
#include "config.h"

#include <string.h>

#include "train-dp.h"

gboolean
_tl_priv_dp_init (TlDataParallel *dp, const TlTrainConfig *cfg, const TlProgress *progress,
                  GError **error)
{
  memset (dp, 0, sizeof *dp);
  dp->comm = tl_train_config_get_comm (cfg);
  if (!dp->comm)
    dp->comm = tl_comm_get_default (error);
  if (!dp->comm)
    return FALSE;
  dp->rank = tl_comm_rank (dp->comm);
  dp->size = tl_comm_size (dp->comm);
  dp->global = cfg->batch_size;
  dp->accum = cfg->accum_steps;
  dp->seed = cfg->seed;
  if (dp->global < dp->size) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "train: a batch of %" G_GINT64_FORMAT " rows cannot be split over %d ranks",
                 dp->global, dp->size);
    return FALSE;
  }
  dp->lo = dp->global * dp->rank / dp->size;
  dp->n = dp->global * (dp->rank + 1) / dp->size - dp->lo;
  if (_tl_priv_dp_active (dp) && _tl_priv_dp_is_root (dp))
    _tl_priv_progress_message (progress,
                               "data-parallel: %d ranks (%s), %" G_GINT64_FORMAT
                               " rows per global batch, %" G_GINT64_FORMAT "-%" G_GINT64_FORMAT
                               " per rank",
                               dp->size, tl_comm_backend (dp->comm), dp->global,
                               dp->global / dp->size, (dp->global + dp->size - 1) / dp->size);
  return TRUE;
}

void
_tl_priv_dp_clear (TlDataParallel *dp)
{
  g_clear_pointer (&dp->flat, tl_tensor_unref);
}

/* Every rank must run the same job: compare what the collectives depend on
 * (a mismatch would otherwise hang or mix unrelated gradients). */
static gboolean
check_same_job (TlDataParallel *dp, TlParamStore *store, GError **error)
{
  enum { N_KEYS = 5 };
  gint64 shape[1] = {N_KEYS};
  g_autoptr (TlTensor) mx = tl_tensor_new (TL_DTYPE_I64, 1, shape, error);
  g_autoptr (TlTensor) mn = tl_tensor_new (TL_DTYPE_I64, 1, shape, error);
  if (!mx || !mn)
    return FALSE;
  gint64 *k = tl_tensor_data (mx);
  guint n = tl_param_store_size (store);
  gint64 numel = 0;
  for (guint i = 0; i < n; i++)
    numel += tl_tensor_numel (tl_param_store_tensor (store, i));
  k[0] = dp->global;
  k[1] = dp->accum;
  k[2] = (gint64) (dp->seed & G_MAXINT64);
  k[3] = n;
  k[4] = numel;
  memcpy (tl_tensor_data (mn), k, sizeof (gint64) * N_KEYS);
  if (!tl_comm_allreduce (dp->comm, mx, TL_COMM_MAX, error) ||
      !tl_comm_allreduce (dp->comm, mn, TL_COMM_MIN, error))
    return FALSE;
  if (memcmp (tl_tensor_const_data (mx), tl_tensor_const_data (mn), sizeof (gint64) * N_KEYS) != 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_COMM,
                 "train: the %d ranks do not run the same training (batch size, accumulation, "
                 "seed or model parameters differ); every rank must run the same job",
                 dp->size);
    return FALSE;
  }
  return TRUE;
}

gboolean
_tl_priv_dp_sync_params (TlDataParallel *dp, TlParamStore *store, GError **error)
{
  if (!_tl_priv_dp_active (dp))
    return TRUE;
  if (!check_same_job (dp, store, error))
    return FALSE;
  guint n = tl_param_store_size (store);
  for (guint i = 0; i < n; i++) {
    TlTensor *p = tl_param_store_tensor (store, i);
    if (p && !tl_comm_broadcast (dp->comm, p, 0, error)) {
      g_prefix_error (error, "train: broadcasting parameter %s: ", tl_param_store_name (store, i));
      return FALSE;
    }
  }
  return TRUE;
}

gboolean
_tl_priv_dp_reduce (TlDataParallel *dp, guint n, TlTensor **grads, double *loss, GError **error)
{
  if (!_tl_priv_dp_active (dp))
    return TRUE;
  const float w = (float) dp->n / (float) dp->global;
  gint64 total = 0;
  for (guint i = 0; i < n; i++)
    if (grads[i])
      total += tl_tensor_numel (grads[i]);
  if (!dp->flat || tl_tensor_numel (dp->flat) != total) {
    g_clear_pointer (&dp->flat, tl_tensor_unref);
    gint64 shape[1] = {total};
    dp->flat = tl_tensor_new (TL_DTYPE_F32, 1, shape, error);
    if (!dp->flat)
      return FALSE;
  }
  float *f = tl_tensor_data (dp->flat);
  gint64 off = 0;
  for (guint i = 0; i < n; i++) {
    if (!grads[i])
      continue;
    if (tl_tensor_dtype (grads[i]) != TL_DTYPE_F32 || !tl_tensor_is_contiguous (grads[i])) {
      g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                   "train: data-parallel gradients must be contiguous f32");
      return FALSE;
    }
    const float *g = tl_tensor_const_data (grads[i]);
    gint64 ne = tl_tensor_numel (grads[i]);
    for (gint64 e = 0; e < ne; e++)
      f[off + e] = g[e] * w;
    off += ne;
  }
  if (total > 0 && !tl_comm_allreduce (dp->comm, dp->flat, TL_COMM_SUM, error))
    return FALSE;
  off = 0;
  for (guint i = 0; i < n; i++) {
    if (!grads[i])
      continue;
    float *g = tl_tensor_data (grads[i]);
    gint64 ne = tl_tensor_numel (grads[i]);
    memcpy (g, f + off, (gsize) ne * sizeof (float));
    off += ne;
  }
  gint64 one[1] = {1};
  g_autoptr (TlTensor) l = tl_tensor_new (TL_DTYPE_F64, 1, one, error);
  if (!l)
    return FALSE;
  *(double *) tl_tensor_data (l) = *loss * ((double) dp->n / (double) dp->global);
  if (!tl_comm_allreduce (dp->comm, l, TL_COMM_SUM, error))
    return FALSE;
  *loss = *(double *) tl_tensor_data (l);
  return TRUE;
}
