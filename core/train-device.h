/* train-device.h — parameters of a training run on a GPU (train-device.c),
 * used by trainer.c and train-pass.c.
 *
 * While tl_train runs on "cuda[:N]" each parameter of the model's store has
 * a device mirror: every graph the run builds (the training pass and the
 * evaluation passes) reads the mirrors in place, the optimizer updates
 * them, and the host tensors of the store are refreshed from them only for
 * checkpoints and when the run ends. On the CPU nothing here is active and
 * the trainer is unchanged. */
#ifndef TL_TRAIN_DEVICE_H
#define TL_TRAIN_DEVICE_H

#include "train-private.h"

G_BEGIN_DECLS

typedef struct {
  gboolean active;
  TlDevice dev;
  TlParamStore *store;  /* borrowed */
  GHashTable *mirror;   /* parameter name -> device tensor (owned) */
  /* during step_end: names fetched from their mirrors (borrowed keys) */
  GHashTable *fetched;
  GError *hook_error;   /* the first failed fetch of the hook */
} TlDeviceParams;

/* Parse cfg->device; for a GPU, open it and register the mirrors of `store`
 * (one run per store at a time). */
G_GNUC_INTERNAL gboolean _tl_priv_devparams_begin (TlDeviceParams *dp, TlParamStore *store,
                                                   const TlTrainConfig *cfg, GError **error);
/* Copy the mirrors to the store's host tensors (checkpoints, end of run). */
G_GNUC_INTERNAL gboolean _tl_priv_devparams_download (TlDeviceParams *dp, GError **error);
/* Copy the store's host tensors into the mirrors (after a resume). */
G_GNUC_INTERNAL gboolean _tl_priv_devparams_upload (TlDeviceParams *dp, GError **error);
/* The mirror of parameter `name` (created from the store's host tensor on
 * first use). Borrowed. */
G_GNUC_INTERNAL TlTensor *_tl_priv_devparams_get (TlDeviceParams *dp, const char *name,
                                                  GError **error);
/* Call the model's step_end hook (tl_model_instance_step_end). On a GPU
 * run, every store tensor the hook reaches through tl_param_store_lookup or
 * tl_param_store_tensor is first refreshed from its mirror, and after the
 * hook those tensors go back to their mirrors: a hook reads and writes the
 * current values and costs only the copies of what it touches. */
G_GNUC_INTERNAL gboolean _tl_priv_devparams_step_end (TlDeviceParams *dp, TlModelInstance *m,
                                                      guint64 step, GError **error);
/* For the store accessors (build.c) while store->device_sync is set:
 * refresh tensor `i` from its mirror once per hook. */
G_GNUC_INTERNAL void _tl_priv_devparams_fetch (TlParamStore *store, guint i);
/* Unregister and drop the mirrors (download first to keep their values). */
G_GNUC_INTERNAL void _tl_priv_devparams_clear (TlDeviceParams *dp);
/* For a graph built on a GPU run: point its parameter values at the run's
 * mirrors. A no-op when no run on a GPU holds `store`: an executor then
 * copies the host parameters when it is created. */
G_GNUC_INTERNAL gboolean _tl_priv_devparams_bind_graph (TlParamStore *store, TlGraph *g,
                                                        GError **error);

G_END_DECLS

#endif /* TL_TRAIN_DEVICE_H */
