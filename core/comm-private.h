/* comm-private.h — the communicator's backend table (core/comm*.c only).
 *
 * The generic layer (comm.c) checks tensors (CPU, dtype, contiguity, sizes)
 * and hands backends plain contiguous buffers. Every slot is required.
 */
#ifndef TL_COMM_PRIVATE_H
#define TL_COMM_PRIVATE_H

#include "tl-private.h"

G_BEGIN_DECLS

typedef struct {
  const char *name;
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
};

#ifdef TL_HAVE_MPI
/* comm-mpi.c: a communicator over MPI_COMM_WORLD (initialises MPI when
 * needed). */
G_GNUC_INTERNAL TlComm *_tl_priv_comm_mpi_new (GError **error);
#endif

G_END_DECLS

#endif /* TL_COMM_PRIVATE_H */
