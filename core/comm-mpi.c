/* comm-mpi.c — the "mpi" communicator backend (Open MPI, CPU buffers).
 *
 * Built only with MPI (configure --with-mpi, HAVE_MPI); libtl-1 then links
 * libmpi. MPI is initialised on first use (MPI_Init_thread) unless the
 * program already did it; in that case MPI is also finalised at exit. Each
 * communicator works on a duplicate of MPI_COMM_WORLD whose error handler is
 * MPI_ERRORS_RETURN, so MPI errors become GErrors (MPI_Error_string).
 *
 * Failure behaviour: a rank that dies takes the job down (Open MPI's
 * default: mpirun kills the remaining ranks). A rank that hangs is caught by
 * a watchdog thread: an operation that has not completed after
 * TL_COMM_TIMEOUT seconds (default 300, 0 disables) prints
 *   tl: rank R of N: mpi OP did not complete within S s (TL_COMM_TIMEOUT) ...
 * and calls MPI_Abort, which ends every rank (below MPI_THREAD_MULTIPLE
 * it exits alone and mpirun ends the others).
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <mpi.h>

#include "comm-private.h"

/* Largest element/byte count handed to one MPI call (counts are int). */
#define MAX_CHUNK (1 << 30)

typedef struct {
  MPI_Comm comm;
} MpiState;

/* --- initialisation and the watchdog --------------------------------------- */

static GMutex mpi_lock;       /* guards initialisation and the watchdog state */
static double timeout_s = -1; /* < 0: not read yet */
static GThread *watchdog;
/* The operation in flight (what == NULL: none) and when it started. */
static const char *wd_what;
static gint64 wd_start;
static int wd_rank, wd_size;
/* MPI_Abort may be called from the watchdog thread only at
 * MPI_THREAD_MULTIPLE; below it the watchdog ends this process alone
 * (_exit without MPI_Finalize: mpirun then ends the other ranks). */
static gboolean wd_may_abort;

/* The watchdog watches `what` from now on ... */
static inline void
arm (const char *what)
{
  g_mutex_lock (&mpi_lock);
  wd_what = what;
  wd_start = g_get_monotonic_time ();
  g_mutex_unlock (&mpi_lock);
}

/* ... until this. */
static inline void
disarm (void)
{
  g_mutex_lock (&mpi_lock);
  wd_what = NULL;
  g_mutex_unlock (&mpi_lock);
}

static void
finalize_at_exit (void)
{
  int fin = 0;
  MPI_Finalized (&fin);
  if (fin)
    return;
  arm ("MPI_Finalize");
  MPI_Finalize ();
  disarm ();
}

static gpointer
watchdog_main (gpointer data)
{
  GCond cond; /* never signalled: only for a timed wait */
  g_cond_init (&cond);
  gint64 limit = (gint64) (timeout_s * G_USEC_PER_SEC);
  gint64 tick = CLAMP (limit / 4, G_USEC_PER_SEC / 20, G_USEC_PER_SEC);
  g_mutex_lock (&mpi_lock);
  for (;;) {
    g_cond_wait_until (&cond, &mpi_lock, g_get_monotonic_time () + tick);
    if (wd_what && g_get_monotonic_time () - wd_start >= limit) {
      fprintf (stderr,
               "tl: rank %d of %d: mpi %s did not complete within %g s (TL_COMM_TIMEOUT): a peer "
               "died, hangs or is far behind; aborting the job\n",
               wd_rank, wd_size, wd_what, timeout_s);
      fflush (stderr);
      if (wd_may_abort)
        MPI_Abort (MPI_COMM_WORLD, 1);
      _exit (1);
    }
  }
  return NULL;
}

static gboolean
read_timeout (GError **error)
{
  return timeout_s >= 0 || _tl_priv_comm_read_timeout (&timeout_s, error);
}

/* Turns an MPI return code into a GError. */
static gboolean
check (TlComm *c, int rc, const char *what, GError **error)
{
  if (rc == MPI_SUCCESS)
    return TRUE;
  char msg[MPI_MAX_ERROR_STRING + 1];
  int len = 0;
  if (MPI_Error_string (rc, msg, &len) != MPI_SUCCESS)
    len = g_snprintf (msg, sizeof msg, "MPI error %d", rc);
  msg[CLAMP (len, 0, MPI_MAX_ERROR_STRING)] = '\0';
  g_set_error (error, TL_ERROR, TL_ERROR_COMM, "comm mpi: rank %d of %d: %s failed: %s", c->rank,
               c->size, what, msg);
  return FALSE;
}

/* --- the backend table ------------------------------------------------------- */

static MPI_Datatype
mpi_type (TlDType dtype)
{
  switch (dtype) {
  case TL_DTYPE_F32:
    return MPI_FLOAT;
  case TL_DTYPE_F64:
    return MPI_DOUBLE;
  case TL_DTYPE_I32:
    return MPI_INT32_T;
  case TL_DTYPE_I64:
    return MPI_INT64_T;
  default:
    return MPI_DATATYPE_NULL;
  }
}

static MPI_Op
mpi_op (TlCommOp op)
{
  switch (op) {
  case TL_COMM_MAX:
    return MPI_MAX;
  case TL_COMM_MIN:
    return MPI_MIN;
  default:
    return MPI_SUM;
  }
}

static gboolean
mpi_allreduce (TlComm *c, void *buf, gint64 count, TlDType dtype, TlCommOp op, GError **error)
{
  MpiState *st = c->impl;
  MPI_Datatype type = mpi_type (dtype);
  gsize esize = tl_dtype_size (dtype);
  for (gint64 off = 0; off < count; off += MAX_CHUNK) {
    int n = (int) MIN (count - off, (gint64) MAX_CHUNK);
    arm ("MPI_Allreduce");
    int rc = MPI_Allreduce (MPI_IN_PLACE, (char *) buf + off * esize, n, type, mpi_op (op),
                            st->comm);
    disarm ();
    if (!check (c, rc, "MPI_Allreduce", error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
mpi_broadcast (TlComm *c, void *buf, gsize nbytes, int root, GError **error)
{
  MpiState *st = c->impl;
  for (gsize off = 0; off < nbytes; off += MAX_CHUNK) {
    int n = (int) MIN (nbytes - off, (gsize) MAX_CHUNK);
    arm ("MPI_Bcast");
    int rc = MPI_Bcast ((char *) buf + off, n, MPI_BYTE, root, st->comm);
    disarm ();
    if (!check (c, rc, "MPI_Bcast", error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
mpi_allgather (TlComm *c, const void *in, void *out, gsize nbytes, GError **error)
{
  MpiState *st = c->impl;
  if (nbytes > (gsize) INT_MAX) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "comm mpi: allgather of more than %d bytes per rank", INT_MAX);
    return FALSE;
  }
  arm ("MPI_Allgather");
  int rc = MPI_Allgather (in, (int) nbytes, MPI_BYTE, out, (int) nbytes, MPI_BYTE, st->comm);
  disarm ();
  return check (c, rc, "MPI_Allgather", error);
}

static gboolean
check_tag_ub (TlComm *c, int tag, GError **error)
{
  MpiState *st = c->impl;
  int *ub = NULL, flag = 0;
  MPI_Comm_get_attr (st->comm, MPI_TAG_UB, &ub, &flag);
  if (flag && ub && tag > *ub) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "comm mpi: tag %d is above MPI_TAG_UB (%d)", tag, *ub);
    return FALSE;
  }
  return TRUE;
}

/* The checks of a send or recv (what) of nbytes with tag. */
static gboolean
check_p2p (TlComm *c, const char *what, gsize nbytes, int tag, GError **error)
{
  if (!check_tag_ub (c, tag, error))
    return FALSE;
  if (nbytes > (gsize) INT_MAX) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "comm mpi: %s of more than %d bytes", what,
                 INT_MAX);
    return FALSE;
  }
  return TRUE;
}

static gboolean
mpi_send (TlComm *c, const void *buf, gsize nbytes, int dest, int tag, GError **error)
{
  MpiState *st = c->impl;
  if (!check_p2p (c, "send", nbytes, tag, error))
    return FALSE;
  arm ("MPI_Send");
  int rc = MPI_Send (buf, (int) nbytes, MPI_BYTE, dest, tag, st->comm);
  disarm ();
  return check (c, rc, "MPI_Send", error);
}

static gboolean
mpi_recv (TlComm *c, void *buf, gsize nbytes, int src, int tag, GError **error)
{
  MpiState *st = c->impl;
  if (!check_p2p (c, "recv", nbytes, tag, error))
    return FALSE;
  MPI_Status status;
  arm ("MPI_Recv");
  int rc = MPI_Recv (buf, (int) nbytes, MPI_BYTE, src, tag, st->comm, &status);
  disarm ();
  if (!check (c, rc, "MPI_Recv", error))
    return FALSE;
  int got = 0;
  MPI_Get_count (&status, MPI_BYTE, &got);
  if ((gsize) got != nbytes) {
    g_set_error (error, TL_ERROR, TL_ERROR_COMM,
                 "comm mpi: rank %d: recv of %" G_GSIZE_FORMAT " bytes from rank %d (tag %d) "
                 "got %d bytes",
                 c->rank, nbytes, src, tag, got);
    return FALSE;
  }
  return TRUE;
}

static gboolean
mpi_barrier (TlComm *c, GError **error)
{
  MpiState *st = c->impl;
  arm ("MPI_Barrier");
  int rc = MPI_Barrier (st->comm);
  disarm ();
  return check (c, rc, "MPI_Barrier", error);
}

static void
mpi_abort (TlComm *c, int code, const char *message)
{
  fprintf (stderr, "tl: rank %d of %d: %s\n", c->rank, c->size, message ? message : "aborted");
  fflush (stderr);
  MPI_Abort (MPI_COMM_WORLD, code != 0 ? code : 1);
  _exit (code != 0 ? code : 1);
}

static void
mpi_free (TlComm *c)
{
  MpiState *st = c->impl;
  int fin = 0;
  MPI_Finalized (&fin);
  if (!fin)
    MPI_Comm_free (&st->comm);
  g_free (st);
}

static const TlCommBackend mpi_backend = {
  .name = "mpi",
  .allreduce = mpi_allreduce,
  .broadcast = mpi_broadcast,
  .allgather = mpi_allgather,
  .send = mpi_send,
  .recv = mpi_recv,
  .barrier = mpi_barrier,
  .abort = mpi_abort,
  .free = mpi_free,
};

/* Initialises MPI when nobody did; starts the watchdog once. */
static gboolean
ensure_init (GError **error)
{
  gboolean ok = FALSE;
  g_mutex_lock (&mpi_lock);
  int inited = 0, fin = 0;
  MPI_Finalized (&fin);
  if (fin) {
    g_set_error (error, TL_ERROR, TL_ERROR_COMM, "comm mpi: MPI was already finalised");
    goto out;
  }
  if (!read_timeout (error))
    goto out;
  MPI_Initialized (&inited);
  int provided = MPI_THREAD_SINGLE;
  if (!inited) {
    /* MULTIPLE so that the watchdog thread may call MPI_Abort. */
    int rc = MPI_Init_thread (NULL, NULL, MPI_THREAD_MULTIPLE, &provided);
    if (rc != MPI_SUCCESS) {
      g_set_error (error, TL_ERROR, TL_ERROR_COMM, "comm mpi: MPI_Init_thread failed (%d)", rc);
      goto out;
    }
    atexit (finalize_at_exit);
  } else {
    /* the application initialised MPI, at a thread level of its choice */
    MPI_Query_thread (&provided);
  }
  wd_may_abort = provided >= MPI_THREAD_MULTIPLE;
  MPI_Comm_rank (MPI_COMM_WORLD, &wd_rank);
  MPI_Comm_size (MPI_COMM_WORLD, &wd_size);
  if (!watchdog && timeout_s > 0) {
    watchdog = g_thread_try_new ("tl-comm-watchdog", watchdog_main, NULL, error);
    if (!watchdog)
      goto out;
  }
  ok = TRUE;
out:
  g_mutex_unlock (&mpi_lock);
  return ok;
}

TlComm *
_tl_priv_comm_mpi_new (GError **error)
{
  if (!ensure_init (error))
    return NULL;
  TlComm *c = g_new0 (TlComm, 1);
  MpiState *st = g_new0 (MpiState, 1);
  c->backend = &mpi_backend;
  c->impl = st;
  MPI_Comm_rank (MPI_COMM_WORLD, &c->rank);
  MPI_Comm_size (MPI_COMM_WORLD, &c->size);
  arm ("MPI_Comm_dup");
  int rc = MPI_Comm_dup (MPI_COMM_WORLD, &st->comm);
  disarm ();
  if (!check (c, rc, "MPI_Comm_dup", error)) {
    g_free (st);
    g_free (c);
    return NULL;
  }
  MPI_Comm_set_errhandler (st->comm, MPI_ERRORS_RETURN);
  return c;
}
