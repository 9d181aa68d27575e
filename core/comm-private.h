/* comm-private.h — the communicator's backend table (core/comm*.c only).
 *
 * The generic layer (comm.c) checks tensors (device, dtype, contiguity,
 * sizes) and hands backends plain contiguous buffers: host memory for the
 * host backends (single, mpi), device memory for a backend with
 * device_buffers (nccl). Every slot is required.
 */
#ifndef TL_COMM_PRIVATE_H
#define TL_COMM_PRIVATE_H

#include "tl-private.h"
#include "backend-private.h"

G_BEGIN_DECLS

typedef struct {
  const char *name;
  /* Buffers are CUDA device pointers (nccl); such a backend also gets MEAN
   * (it cannot be divided on the host) and f16/bf16 in allreduce. */
  gboolean device_buffers;
  /* Element-wise op over count elements of dtype (f32, f64, i32, i64);
   * op is SUM, MAX or MIN (MEAN is SUM followed by a division in comm.c). */
  gboolean (*allreduce) (TlComm *c, void *buf, gint64 count, TlDType dtype, TlCommOp op,
                         GError **error);
  gboolean (*broadcast) (TlComm *c, void *buf, gsize nbytes, int root, GError **error);
  /* out holds size * nbytes. */
  gboolean (*allgather) (TlComm *c, const void *in, void *out, gsize nbytes, GError **error);
  gboolean (*send) (TlComm *c, const void *buf, gsize nbytes, int dest, int tag, GError **error);
  gboolean (*recv) (TlComm *c, void *buf, gsize nbytes, int src, int tag, GError **error);
  gboolean (*barrier) (TlComm *c, GError **error);
  /* Ends the job; must not return. */
  void (*abort) (TlComm *c, int code, const char *message);
  void (*free) (TlComm *c);
} TlCommBackend;

struct _TlComm {
  const TlCommBackend *backend;
  int rank;
  int size;
  gpointer impl; /* the backend's state */
  /* device_buffers backends: the host communicator (owned) that carries
   * CPU tensors, bootstrap and the checks. NULL otherwise. */
  TlComm *host;
  /* host backends: the nccl communicator made over this one for the first
   * CUDA tensor (owned; mpi, and single for the CUDA backend's copies).
   * NULL otherwise. */
  TlComm *device;
  /* device_buffers backends: the CUDA device index of their buffers (-1:
   * any; route_local() in comm.c checks tensors against it). */
  int device_index;
  /* TL_COMM_CHECK (set by tl_comm_new*, the same on every rank): each
   * public collective first compares a descriptor of itself across the
   * ranks; check_seq counts the collectives checked so far. */
  gboolean check;
  gint64 check_seq;
};

/* comm.c: TL_COMM_TIMEOUT in seconds (default 300; 0: no limit). */
G_GNUC_INTERNAL gboolean _tl_priv_comm_read_timeout (double *timeout_s, GError **error);

/* comm.c: the host communicator a process launched like this one uses:
 * mpi (a fresh duplicate of MPI_COMM_WORLD) when over_mpi, else single. */
G_GNUC_INTERNAL TlComm *_tl_priv_comm_host_new (gboolean over_mpi, GError **error);

/* comm-nccl.c: the "nccl" communicator (CUDA tensors), bootstrapped over
 * a host communicator made with _tl_priv_comm_host_new (over_mpi), on CUDA
 * device `device` (< 0: TL_COMM_DEVICE, else the local rank modulo the
 * number of devices). Every rank gets the same error when one rank cannot
 * take part. */
G_GNUC_INTERNAL TlComm *_tl_priv_comm_nccl_new (gboolean over_mpi, int device, GError **error);

#ifdef TL_HAVE_MPI
/* comm-mpi.c: a communicator over MPI_COMM_WORLD (initialises MPI when
 * needed). */
G_GNUC_INTERNAL TlComm *_tl_priv_comm_mpi_new (GError **error);
#endif

G_END_DECLS

#endif /* TL_COMM_PRIVATE_H */
