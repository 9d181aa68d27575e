/* train-dp.h — data-parallel training over a TlComm (train-dp.c), used by
 * trainer.c. With one rank every call is a no-op and the shard is the whole
 * batch, so the single-process trainer is unchanged. */
#ifndef TL_TRAIN_DP_H
#define TL_TRAIN_DP_H

#include "train-private.h"
#include "backend-private.h"

G_BEGIN_DECLS

typedef struct {
  TlComm *comm; /* borrowed */
  int rank;
  int size;
  gint64 global; /* rows per global batch */
  gint64 accum;  /* micro-batches per step */
  guint64 seed;
  gint64 lo;     /* this rank reads rows [lo, lo + n) of each global batch */
  gint64 n;
  /* GPU runs (_tl_priv_dp_use_device): the gradients live on dev */
  gboolean on_device;
  TlDevice dev;
  const TlBackendOptim *dops;
  gboolean staged;     /* the packed gradients cross host memory for the allreduce */
  TlTensor *flat;      /* f32 packed gradients, where the gradients live */
  TlTensor *host_flat; /* staged: the host copy of flat */
  TlTensor *loss;      /* f64 [2] on the host: the loss, the stop requests */
} TlDataParallel;

/* Resolve the communicator (cfg's slot, else the default) and this rank's
 * shard of a batch_size batch; with several ranks, rank 0 says so through
 * progress (nullable). */
G_GNUC_INTERNAL gboolean _tl_priv_dp_init (TlDataParallel *dp, const TlTrainConfig *cfg,
                                           const TlProgress *progress, GError **error);
G_GNUC_INTERNAL void _tl_priv_dp_clear (TlDataParallel *dp);
#define _tl_priv_dp_active(dp) ((dp)->size > 1)
#define _tl_priv_dp_is_root(dp) ((dp)->rank == 0)
/* What sets the number and order of the collectives of a run, besides the
 * config values _tl_priv_dp_init keeps (batch, accumulation, seed) and the
 * parameters: the trainer's values after its set-up (a resumed run's start
 * step comes from the checkpoint each rank read). */
typedef struct {
  gint64 total;      /* optimizer steps of the run */
  gint64 start;      /* optimizer steps already taken (resumed runs) */
  gint64 spe;        /* micro-batches per epoch (the eval points when eval_every is 0) */
  gint64 eval_every;
  gint64 patience;
  gint64 on_device;  /* the run's parameters live on a GPU (_tl_priv_dp_use_device) */
} TlDpJobKeys;

/* Checks that every rank runs the same training (batch, accumulation, seed,
 * parameter count and sizes, and `keys`; the error names the first setting
 * that differs), then every tensor of the store takes rank 0's values. */
G_GNUC_INTERNAL gboolean _tl_priv_dp_sync_params (TlDataParallel *dp, TlParamStore *store,
                                                  const TlDpJobKeys *keys, GError **error);
/* A run whose gradients live on `dev` (dops: its arithmetic). Collective:
 * every rank calls it at the same point of a GPU run. Decides once, the
 * same way on every rank, whether the gradients are allreduced on the
 * device (the communicator's NCCL path) or staged through host memory
 * (TL_DP_STAGE=host, or the communicator cannot take device tensors);
 * rank 0 reports the choice through progress (nullable). */
G_GNUC_INTERNAL gboolean _tl_priv_dp_use_device (TlDataParallel *dp, const TlDevice *dev,
                                                 const TlBackendOptim *dops,
                                                 const TlProgress *progress, GError **error);
/* grads[n] (contiguous f32 on the run's device, NULL entries skipped) and
 * *loss, each rank's scaled by its share n / global, summed over the ranks
 * in place. *stop (in: this rank was asked to stop) becomes TRUE on every
 * rank when any rank was: it travels with the loss, so that the ranks stop
 * at the same step. */
G_GNUC_INTERNAL gboolean _tl_priv_dp_reduce (TlDataParallel *dp, guint n, TlTensor **grads,
                                             double *loss, gboolean *stop, GError **error);
/* At an evaluation point (collective: every rank at the same step):
 * *early_stop becomes rank 0's decision and *stop (in: this rank was asked
 * to stop) TRUE on every rank when any rank was. */
G_GNUC_INTERNAL gboolean _tl_priv_dp_agree_eval (TlDataParallel *dp, gboolean *early_stop,
                                                 gboolean *stop, GError **error);

G_END_DECLS

#endif /* TL_TRAIN_DP_H */
