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
  TlTensor *loss;      /* f64 [1] on the host */
} TlDataParallel;

/* Resolve the communicator (cfg's slot, else the default) and this rank's
 * shard of a batch_size batch; with several ranks, rank 0 says so through
 * progress (nullable). */
G_GNUC_INTERNAL gboolean _tl_priv_dp_init (TlDataParallel *dp, const TlTrainConfig *cfg,
                                           const TlProgress *progress, GError **error);
G_GNUC_INTERNAL void _tl_priv_dp_clear (TlDataParallel *dp);
#define _tl_priv_dp_active(dp) ((dp)->size > 1)
#define _tl_priv_dp_is_root(dp) ((dp)->rank == 0)
/* Checks that every rank runs the same training (batch, accumulation, seed,
 * parameter count and sizes), then every tensor of the store takes rank 0's
 * values. */
G_GNUC_INTERNAL gboolean _tl_priv_dp_sync_params (TlDataParallel *dp, TlParamStore *store,
                                                  GError **error);
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
 * in place. */
G_GNUC_INTERNAL gboolean _tl_priv_dp_reduce (TlDataParallel *dp, guint n, TlTensor **grads,
                                             double *loss, GError **error);

G_END_DECLS

#endif /* TL_TRAIN_DP_H */
