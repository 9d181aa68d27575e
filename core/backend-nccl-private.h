/* backend-nccl-private.h — the NCCL extension of a device backend module:
 * what core/comm-nccl.c needs to run a communicator over NCCL.
 *
 * libtl never links NCCL. The CUDA backend module (backends/cuda/) returns
 * this table from get_extension (TL_BACKEND_EXT_NCCL) when it was built with
 * NCCL (configure found nccl.h and libnccl), NULL otherwise. Bootstrap (the
 * ncclUniqueId travels from rank 0 to every rank) and the checks that every
 * rank agrees happen in libtl over the host communicator (MPI or single);
 * the module only speaks NCCL and CUDA.
 *
 * Buffers are device pointers on the device that was current (TlBackend
 * set_device) when the communicator was made. Every call enqueues its work
 * on the backend's current stream (so it is ordered after the kernels that
 * produced the data) and returns once that work has completed, polling the
 * stream and ncclCommGetAsyncError. Errors:
 *   TL_ERROR_COMM     a peer failed or the operation did not complete within
 *                     the communicator's timeout: the NCCL communicator has
 *                     been aborted (ncclCommAbort) and every later call fails
 *                     at once; the caller ends the job (comm-nccl.c does);
 *   TL_ERROR_DEVICE   a CUDA error on this rank;
 *   TL_ERROR_INVALID_ARGUMENT / TL_ERROR_UNSUPPORTED  a bad call (the
 *                     communicator stays usable).
 * Messages are one line and name the NCCL call and the rank.
 */
#ifndef TL_BACKEND_NCCL_PRIVATE_H
#define TL_BACKEND_NCCL_PRIVATE_H

#include <tl/tl.h>

G_BEGIN_DECLS

/* NCCL_UNIQUE_ID_BYTES */
#define TL_NCCL_UNIQUE_ID_BYTES 128

typedef struct _TlNcclComm TlNcclComm; /* the module's, opaque here */

typedef struct {
  guint32 size;      /* sizeof (TlBackendNccl) of the module */
  guint32 reserved0;
  /* NCCL's version code (ncclGetVersion: e.g. 22809 for 2.28.9), 0 if unknown. */
  int (*version) (void);
  /* A fresh ncclUniqueId (rank 0 makes it, every rank joins with it). */
  gboolean (*get_unique_id) (guint8 id[TL_NCCL_UNIQUE_ID_BYTES], GError **error);
  /* Joins rank `rank` of `nranks` on the current device (non-blocking
   * NCCL init, polled): fails with TL_ERROR_COMM when not every rank joined
   * within timeout_s seconds (<= 0: wait forever), or NCCL refused (two
   * ranks on one GPU, ...). timeout_s also bounds every later call.
   * (transfer full) */
  TlNcclComm *(*comm_init) (int nranks, int rank, const guint8 id[TL_NCCL_UNIQUE_ID_BYTES],
                            double timeout_s, GError **error);
  /* In place; dtype f32, f64, f16, bf16, i32, i64; op SUM, MEAN (ncclAvg;
   * integers truncate toward zero), MAX, MIN. */
  gboolean (*allreduce) (TlNcclComm *c, void *buf, gint64 count, TlDType dtype, TlCommOp op,
                         GError **error);
  gboolean (*broadcast) (TlNcclComm *c, void *buf, gsize nbytes, int root, GError **error);
  /* out holds nranks * nbytes; in may be out + rank * nbytes (in place). */
  gboolean (*allgather) (TlNcclComm *c, const void *in, void *out, gsize nbytes,
                         GError **error);
  /* Point to point: a send is matched by the peer's next recv from this
   * rank (NCCL has no tags; comm-nccl.c checks tags and sizes). */
  gboolean (*send) (TlNcclComm *c, const void *buf, gsize nbytes, int peer, GError **error);
  gboolean (*recv) (TlNcclComm *c, void *buf, gsize nbytes, int peer, GError **error);
  gboolean (*barrier) (TlNcclComm *c, GError **error);
  /* ncclCommAbort (never waits for peers) and frees c. NULL-safe. */
  void (*abort) (TlNcclComm *c);
  /* ncclCommFinalize + ncclCommDestroy, bounded by the timeout (aborts
   * instead when it expires) and frees c. NULL-safe. */
  void (*destroy) (TlNcclComm *c);
  /* The device the communicator runs on (CUDA ordinal). */
  int (*device) (TlNcclComm *c);
  void *reserved[8];
} TlBackendNccl;

G_END_DECLS

#endif /* TL_BACKEND_NCCL_PRIVATE_H */
