/* train-dp.c — data-parallel training: batch shards, parameter broadcast,
 * gradient allreduce.
 *
 * A global batch of B rows is split over N ranks: rank r reads rows
 * [r*B/N, (r+1)*B/N) of it. Each rank's loss is the mean over its rows, so
 * the global gradient is sum_r (n_r / B) * grad_r: every rank scales its
 * gradients and loss by n_r / B and one allreduce (SUM) adds them up. When
 * N divides B that is the mean of the ranks' gradients. The gradients
 * travel packed in one f32 buffer (one collective per step), the loss in
 * f64 together with the stop requests (a stop asked on any rank, e.g. a
 * SIGINT to one process, stops every rank after the same step).
 *
 * On a GPU the packed buffer lives on the device: the gradients are packed
 * with device-to-device copies, scaled by one kernel and allreduced by the
 * communicator's NCCL path, then unpacked on the device. When the
 * communicator cannot take device tensors (NCCL not built, NCCL refusing
 * the ranks' GPUs, ...) or TL_DP_STAGE=host, every rank instead copies the
 * packed buffer to the host and back around a host allreduce; which path
 * is decided once, at the start of the run, the same way on every rank.
 */
#include "config.h"

#include <string.h>

#include "train-dp.h"
#include "tl-private.h"

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
  g_clear_pointer (&dp->host_flat, tl_tensor_unref);
  g_clear_pointer (&dp->loss, tl_tensor_unref);
}

/* Every rank must run the same job: compare what the collectives depend on
 * (a mismatch would otherwise hang or mix unrelated gradients): the batch
 * and its split, the parameters, and how many steps, evaluation points
 * (each one a collective) and device set-up collectives the run makes. One
 * MAX allreduce of (v, -v) per key gives every rank the largest and the
 * smallest value; the error names the first key that differs. */
static gboolean
check_same_job (TlDataParallel *dp, TlParamStore *store, const TlDpJobKeys *keys,
                GError **error)
{
  guint n = tl_param_store_size (store);
  gint64 numel = 0;
  for (guint i = 0; i < n; i++)
    numel += tl_tensor_numel (tl_param_store_tensor (store, i));
  const struct {
    const char *what; /* plural: "... differ" */
    gint64 v;         /* >= 0 */
  } key[] = {
    { "batch sizes", dp->global },
    { "accumulation steps", dp->accum },
    { "seeds", (gint64) (dp->seed & G_MAXINT64) },
    { "model parameter counts", n },
    { "model parameter sizes", numel },
    { "steps", keys->total },
    { "start steps (resumed checkpoints)", keys->start },
    { "batches per epoch", keys->spe },
    { "eval_every values", keys->eval_every },
    { "patience values", keys->patience },
    { "devices (CPU or GPU)", keys->on_device },
  };
  const guint nk = G_N_ELEMENTS (key);
  gint64 shape[1] = { 2 * (gint64) nk };
  g_autoptr (TlTensor) mx = tl_tensor_new (TL_DTYPE_I64, 1, shape, error);
  if (!mx)
    return FALSE;
  gint64 *k = tl_tensor_data (mx);
  for (guint i = 0; i < nk; i++) {
    k[2 * i] = key[i].v;
    k[2 * i + 1] = -key[i].v;
  }
  if (!tl_comm_allreduce (dp->comm, mx, TL_COMM_MAX, error))
    return FALSE;
  for (guint i = 0; i < nk; i++) {
    gint64 hi = k[2 * i], lo = -k[2 * i + 1];
    if (hi != lo) {
      g_set_error (error, TL_ERROR, TL_ERROR_COMM,
                   "train: the %d ranks do not run the same training: %s differ (%" G_GINT64_FORMAT
                   " vs %" G_GINT64_FORMAT "); every rank must run the same job",
                   dp->size, key[i].what, lo, hi);
      return FALSE;
    }
  }
  return TRUE;
}

gboolean
_tl_priv_dp_sync_params (TlDataParallel *dp, TlParamStore *store, const TlDpJobKeys *keys,
                         GError **error)
{
  if (!_tl_priv_dp_active (dp))
    return TRUE;
  if (!check_same_job (dp, store, keys, error))
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

/* --- stopping together ---------------------------------------------------------- */

gboolean
_tl_priv_dp_agree_eval (TlDataParallel *dp, gboolean *early_stop, gboolean *stop,
                        GError **error)
{
  if (!_tl_priv_dp_active (dp))
    return TRUE;
  gint64 two[1] = { 2 };
  g_autoptr (TlTensor) v = tl_tensor_new (TL_DTYPE_I64, 1, two, error);
  if (!v)
    return FALSE;
  gint64 *f = tl_tensor_data (v);
  /* rank 0 decides: the others' evaluations may differ in the last bits */
  f[0] = _tl_priv_dp_is_root (dp) && *early_stop;
  f[1] = *stop != FALSE;
  if (!tl_comm_allreduce (dp->comm, v, TL_COMM_MAX, error))
    return FALSE;
  *early_stop = f[0] != 0;
  *stop = f[1] != 0;
  return TRUE;
}

/* --- the device or the host ------------------------------------------------ */

/* *first = the lowest rank whose `ok` is FALSE, or the number of ranks when
 * every rank is ok (a MIN allreduce over the host communicator). */
static gboolean
first_failed_rank (TlDataParallel *dp, gboolean ok, int *first, GError **error)
{
  gint64 one[1] = {1};
  g_autoptr (TlTensor) v = tl_tensor_new (TL_DTYPE_I64, 1, one, error);
  if (!v)
    return FALSE;
  *(gint64 *) tl_tensor_data (v) = ok ? dp->size : dp->rank;
  if (!tl_comm_allreduce (dp->comm, v, TL_COMM_MIN, error))
    return FALSE;
  *first = (int) *(const gint64 *) tl_tensor_const_data (v);
  return TRUE;
}

/* TL_DP_STAGE of this rank: 0 unset or "device", 1 "host", -1 anything else
 * (with the message). */
static int
read_stage (GError **error)
{
  const char *env = g_getenv ("TL_DP_STAGE");
  if (!env || !*env || g_str_equal (env, "device"))
    return 0;
  if (g_str_equal (env, "host"))
    return 1;
  g_autofree char *shown = _tl_priv_escape_short (env);
  g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
               "TL_DP_STAGE=\"%s\" is neither host nor device", shown);
  return -1;
}

/* The probe's operand: a one-element f32 tensor holding 1 on the run's
 * device (local: no collective). */
static TlTensor *
probe_operand (TlDataParallel *dp, GError **error)
{
  gint64 one[1] = {1};
  float v = 1.0f;
  g_autoptr (TlTensor) h = tl_tensor_new_from_data (TL_DTYPE_F32, 1, one, &v, error);
  return h ? _tl_priv_tensor_to (h, &dp->dev, error) : NULL;
}

/* Does the communicator allreduce the run's device tensors? One SUM of d
 * (the first one makes the NCCL communicator of an mpi communicator, a
 * set-up every rank agrees on); FALSE with the reason otherwise. */
static gboolean
probe_device (TlDataParallel *dp, TlTensor *d, GError **error)
{
  gint64 one[1] = {1};
  g_autoptr (TlTensor) h = tl_tensor_new (TL_DTYPE_F32, 1, one, error);
  if (!h || !tl_comm_allreduce (dp->comm, d, TL_COMM_SUM, error) || !tl_tensor_copy_into (h, d, error))
    return FALSE;
  float v = *(const float *) tl_tensor_const_data (h);
  if (v != (float) dp->size) {
    g_set_error (error, TL_ERROR, TL_ERROR_COMM,
                 "the device allreduce of 1 over %d ranks gave %g", dp->size, (double) v);
    return FALSE;
  }
  return TRUE;
}

/* Every rank learns whether every rank's `local` step succeeded. FALSE when
 * the agreement itself fails (error set) or when a rank failed; then *why
 * is the reason: this rank's own message when it failed (local is taken),
 * else "rank R: WHAT". */
static gboolean
agree (TlDataParallel *dp, GError *local, const char *what, char **why, GError **error)
{
  int first;
  if (!first_failed_rank (dp, local == NULL, &first, error)) {
    g_clear_error (&local);
    return FALSE;
  }
  if (first < dp->size)
    *why = local ? g_strdup (local->message) : g_strdup_printf ("rank %d: %s", first, what);
  g_clear_error (&local);
  return TRUE;
}

gboolean
_tl_priv_dp_use_device (TlDataParallel *dp, const TlDevice *dev, const TlBackendOptim *dops,
                        const TlProgress *progress, GError **error)
{
  dp->on_device = TRUE;
  dp->dev = *dev;
  dp->dops = dops;
  g_clear_pointer (&dp->flat, tl_tensor_unref);
  g_clear_pointer (&dp->host_flat, tl_tensor_unref);
  if (!_tl_priv_dp_active (dp))
    return TRUE;
  /* Each rank reads its own environment and makes its own probe operand;
   * every outcome is agreed by all ranks before the next collective, so
   * a rank that fails on its own ends the run on every rank (a bad value)
   * or sends every rank through host memory (the probe), instead of
   * leaving the others waiting in a collective it skipped. */
  GError *e = NULL;
  g_autofree char *why = NULL;
  int stage = read_stage (&e);
  if (!agree (dp, e, "TL_DP_STAGE is neither host nor device", &why, error))
    return FALSE;
  if (why) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "train: %s", why);
    return FALSE;
  }
  int first;
  if (!first_failed_rank (dp, stage != 1, &first, error))
    return FALSE;
  if (first < dp->size) {
    why = g_strdup_printf ("TL_DP_STAGE=host on rank %d", first);
  } else {
    g_autoptr (TlTensor) d = probe_operand (dp, &e);
    if (!agree (dp, e, "no probe tensor on its device", &why, error))
      return FALSE;
    if (!why) {
      (void) probe_device (dp, d, &e); /* the outcome is e */
      if (!agree (dp, e, "cannot allreduce device tensors", &why, error))
        return FALSE;
    }
  }
  dp->staged = why != NULL;
  if (!_tl_priv_dp_is_root (dp))
    return TRUE;
  if (why)
    _tl_priv_progress_message (progress,
                               "data-parallel: gradients allreduced through host memory (%s)",
                               why);
  else
    _tl_priv_progress_message (progress,
                               "data-parallel: gradients allreduced on cuda:%d (NCCL)",
                               dp->dev.index);
  return TRUE;
}

/* --- the reduction ------------------------------------------------------------ */

/* The packed buffer of `total` f32 where the gradients live (and its host
 * copy when staged). */
static gboolean
flat_of (TlDataParallel *dp, gint64 total, GError **error)
{
  if (dp->flat && tl_tensor_numel (dp->flat) == total)
    return TRUE;
  g_clear_pointer (&dp->flat, tl_tensor_unref);
  g_clear_pointer (&dp->host_flat, tl_tensor_unref);
  gint64 shape[1] = {total};
  TlTensorDesc d;
  tl_tensor_desc_init (&d, TL_DTYPE_F32, 1, shape);
  dp->flat = _tl_priv_tensor_new_on (&dp->dev, &d, FALSE, error);
  if (!dp->flat)
    return FALSE;
  if (dp->on_device && dp->staged && !(dp->host_flat = tl_tensor_new_from_desc (&d, error)))
    return FALSE;
  return TRUE;
}

/* Every gradient into its slice of the packed buffer (unpack: back). Packing
 * also weighs by this rank's share of the batch: on the host in the same pass
 * (f = g * w), on a device by one kernel over the packed buffer. */
static gboolean
pack (TlDataParallel *dp, guint n, TlTensor **grads, gboolean unpack, GError **error)
{
  const float w = (float) dp->n / (float) dp->global;
  char *f = tl_tensor_data (dp->flat);
  gsize off = 0;
  for (guint i = 0; i < n; i++) {
    if (!grads[i])
      continue;
    char *g = tl_tensor_data (grads[i]);
    gsize nb = tl_tensor_nbytes (grads[i]);
    void *dst = unpack ? g : f + off;
    const void *src = unpack ? f + off : g;
    if (dp->dev.be) {
      if (!dp->dev.be->memcpy (dst, TRUE, src, TRUE, nb, error))
        return FALSE;
    } else if (unpack) {
      memcpy (dst, src, nb);
    } else {
      float *restrict d = dst;
      const float *restrict x = src;
      for (gsize e = 0; e < nb / sizeof (float); e++)
        d[e] = x[e] * w;
    }
    off += nb;
  }
  if (unpack || !dp->dev.be)
    return TRUE;
  return dp->dops->scale (tl_tensor_numel (dp->flat), w, (float *) f, error);
}

static gboolean
allreduce_flat (TlDataParallel *dp, GError **error)
{
  if (!dp->host_flat)
    return tl_comm_allreduce (dp->comm, dp->flat, TL_COMM_SUM, error);
  return tl_tensor_copy_into (dp->host_flat, dp->flat, error) &&
         tl_comm_allreduce (dp->comm, dp->host_flat, TL_COMM_SUM, error) &&
         tl_tensor_copy_into (dp->flat, dp->host_flat, error);
}

gboolean
_tl_priv_dp_reduce (TlDataParallel *dp, guint n, TlTensor **grads, double *loss,
                    gboolean *stop, GError **error)
{
  if (!_tl_priv_dp_active (dp))
    return TRUE;
  gint64 total = 0;
  for (guint i = 0; i < n; i++) {
    if (!grads[i])
      continue;
    if (tl_tensor_dtype (grads[i]) != TL_DTYPE_F32 || !tl_tensor_is_contiguous (grads[i]) ||
        !_tl_priv_tensor_same_device (grads[i], &dp->dev)) {
      g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                   "train: data-parallel gradients must be contiguous f32 on the run's device");
      return FALSE;
    }
    total += tl_tensor_numel (grads[i]);
  }
  if (total > 0 && !(flat_of (dp, total, error) && pack (dp, n, grads, FALSE, error) &&
                     allreduce_flat (dp, error) && pack (dp, n, grads, TRUE, error)))
    return FALSE;
  /* the loss and the number of ranks asked to stop (exact in f64) in one
   * SUM: no extra collective per step */
  if (!dp->loss) {
    gint64 two[1] = {2};
    if (!(dp->loss = tl_tensor_new (TL_DTYPE_F64, 1, two, error)))
      return FALSE;
  }
  double *l = tl_tensor_data (dp->loss);
  l[0] = *loss * ((double) dp->n / (double) dp->global);
  l[1] = *stop ? 1.0 : 0.0;
  if (!tl_comm_allreduce (dp->comm, dp->loss, TL_COMM_SUM, error))
    return FALSE;
  *loss = l[0];
  *stop = l[1] > 0;
  return TRUE;
}
