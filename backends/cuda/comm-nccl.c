/* comm-nccl.c — the NCCL side of the "nccl" communicator, inside the CUDA
 * backend module (table: core/backend-nccl-private.h; the communicator
 * itself, bootstrap over MPI and the agreement checks: core/comm-nccl.c).
 *
 * Every communicator is non-blocking (ncclConfig_t.blocking = 0): no NCCL
 * call can hang the process. Each operation is enqueued on the backend's
 * current stream, then this file polls ncclCommGetAsyncError and
 * cudaStreamQuery until the work has completed, a peer reported an error,
 * or the communicator's timeout expired; in the last two cases the
 * communicator is aborted (ncclCommAbort) and the error (TL_ERROR_COMM)
 * names the call, the rank and NCCL's own last message.
 *
 * Built without NCCL (configure found no nccl.h/libnccl, so nccl.mk's
 * TL_CUDA_NCCL_CFLAGS do not define TL_CUDA_WITH_NCCL), the module has no
 * NCCL extension: _tl_cuda_nccl_extension() returns NULL.
 */
#include "config.h"

#include "cuda-private.h"
#include "core/backend-nccl-private.h"

#ifdef TL_CUDA_WITH_NCCL

#include <sched.h>
#include <string.h>

#include <cuda_runtime.h>
/* nccl.h declares a few functions as f() */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <nccl.h>
#pragma GCC diagnostic pop

G_STATIC_ASSERT (NCCL_UNIQUE_ID_BYTES == TL_NCCL_UNIQUE_ID_BYTES);

struct _TlNcclComm {
  ncclComm_t comm;
  int rank;
  int nranks;
  int device;
  double timeout_s; /* <= 0: no limit */
  gboolean broken;  /* aborted after a peer error or a timeout */
  char *broken_why; /* the error that broke it */
  int *one;         /* device scratch for barrier */
};

/* "ncclSystemError: <NCCL's last message>" */
static char *
describe_result (ncclComm_t comm, ncclResult_t r)
{
  const char *last = ncclGetLastError (comm);
  if (!last || !*last)
    return g_strdup (ncclGetErrorString (r));
  g_autofree char *l = g_strdup (last);
  g_strdelimit (l, "\r\n", ' ');
  return g_strdup_printf ("%s (%s)", ncclGetErrorString (r), g_strstrip (l));
}

/* Marks c broken: aborts the NCCL communicator (it never waits for peers). */
static void
break_comm (TlNcclComm *c, const char *why)
{
  if (c->broken)
    return;
  c->broken = TRUE;
  c->broken_why = g_strdup (why);
  if (c->comm)
    ncclCommAbort (c->comm);
  c->comm = NULL;
}

static gboolean
check_usable (TlNcclComm *c, const char *what, GError **error)
{
  if (!c->broken)
    return TRUE;
  g_set_error (error, TL_ERROR, TL_ERROR_COMM,
               "comm nccl: rank %d of %d: %s on a communicator aborted earlier (%s)", c->rank,
               c->nranks, what, c->broken_why);
  return FALSE;
}

/* Spins briefly, then sleeps: small collectives return quickly, long waits
 * do not burn a core. */
static void
backoff (guint spins)
{
  if (spins < 2000)
    sched_yield ();
  else
    g_usleep (spins < 20000 ? 20 : 200);
}

/* After `what` returned rc on c (non-blocking communicator): waits until
 * NCCL has taken the call (no longer ncclInProgress) and, with
 * wait_stream, until the current stream has run it. */
static gboolean
wait_done (TlNcclComm *c, const char *what, ncclResult_t rc, gboolean wait_stream, GError **error)
{
  if (rc == ncclInvalidArgument || rc == ncclInvalidUsage) {
    /* refused before anything was enqueued: the communicator stays usable */
    g_autofree char *d = describe_result (c->comm, rc);
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "comm nccl: rank %d of %d: %s: %s",
                 c->rank, c->nranks, what, d);
    return FALSE;
  }
  cudaStream_t stream = (cudaStream_t) _tl_cuda_stream ();
  gint64 start = g_get_monotonic_time ();
  gint64 limit = c->timeout_s > 0 ? (gint64) (c->timeout_s * G_USEC_PER_SEC) : G_MAXINT64;
  for (guint spins = 0;; spins++) {
    ncclResult_t state = rc;
    if (state == ncclSuccess || state == ncclInProgress) {
      ncclResult_t q = ncclCommGetAsyncError (c->comm, &state);
      if (q != ncclSuccess)
        state = q;
    }
    if (state != ncclSuccess && state != ncclInProgress) {
      g_autofree char *d = describe_result (c->comm, state);
      g_autofree char *msg = g_strdup_printf ("comm nccl: rank %d of %d: %s failed: %s; the NCCL "
                                              "communicator was aborted",
                                              c->rank, c->nranks, what, d);
      break_comm (c, msg);
      g_set_error_literal (error, TL_ERROR, TL_ERROR_COMM, msg);
      return FALSE;
    }
    rc = ncclSuccess;
    if (state == ncclSuccess) {
      if (!wait_stream)
        return TRUE;
      cudaError_t e = cudaStreamQuery (stream);
      if (e == cudaSuccess)
        return TRUE;
      if (e != cudaErrorNotReady) {
        g_autofree char *msg = g_strdup_printf (
          "comm nccl: rank %d of %d: %s: the stream failed: %s (%s); the NCCL communicator was "
          "aborted",
          c->rank, c->nranks, what, cudaGetErrorName (e), cudaGetErrorString (e));
        break_comm (c, msg);
        g_set_error_literal (error, TL_ERROR, TL_ERROR_DEVICE, msg);
        return FALSE;
      }
    }
    if (g_get_monotonic_time () - start >= limit) {
      g_autofree char *msg = g_strdup_printf (
        "comm nccl: rank %d of %d: %s did not complete within %g s (TL_COMM_TIMEOUT): a peer "
        "died, hangs or is far behind; the NCCL communicator was aborted",
        c->rank, c->nranks, what, c->timeout_s);
      break_comm (c, msg);
      g_set_error_literal (error, TL_ERROR, TL_ERROR_COMM, msg);
      return FALSE;
    }
    backoff (spins);
  }
}

static gboolean
nccl_type (TlDType dtype, ncclDataType_t *out)
{
  switch (dtype) {
  case TL_DTYPE_F32:
    *out = ncclFloat32;
    return TRUE;
  case TL_DTYPE_F64:
    *out = ncclFloat64;
    return TRUE;
  case TL_DTYPE_F16:
    *out = ncclFloat16;
    return TRUE;
  case TL_DTYPE_BF16:
    *out = ncclBfloat16;
    return TRUE;
  case TL_DTYPE_I32:
    *out = ncclInt32;
    return TRUE;
  case TL_DTYPE_I64:
    *out = ncclInt64;
    return TRUE;
  case TL_DTYPE_I8:
    *out = ncclInt8;
    return TRUE;
  case TL_DTYPE_U8:
    *out = ncclUint8;
    return TRUE;
  default:
    return FALSE;
  }
}

static int
ext_version (void)
{
  int v = 0;
  return ncclGetVersion (&v) == ncclSuccess ? v : 0;
}

static gboolean
ext_get_unique_id (guint8 id[TL_NCCL_UNIQUE_ID_BYTES], GError **error)
{
  ncclUniqueId uid;
  ncclResult_t r = ncclGetUniqueId (&uid);
  if (r != ncclSuccess) {
    g_autofree char *d = describe_result (NULL, r);
    g_set_error (error, TL_ERROR, TL_ERROR_COMM, "comm nccl: ncclGetUniqueId failed: %s", d);
    return FALSE;
  }
  memcpy (id, uid.internal, TL_NCCL_UNIQUE_ID_BYTES);
  return TRUE;
}

static void
comm_free (TlNcclComm *c)
{
  if (c->one) {
    int cur = -1;
    if (cudaGetDevice (&cur) == cudaSuccess && cur != c->device)
      cudaSetDevice (c->device);
    cudaFree (c->one);
    if (cur >= 0 && cur != c->device)
      cudaSetDevice (cur);
  }
  g_free (c->broken_why);
  g_free (c);
}

static TlNcclComm *
ext_comm_init (int nranks, int rank, const guint8 id[TL_NCCL_UNIQUE_ID_BYTES], double timeout_s,
               GError **error)
{
  TlNcclComm *c = g_new0 (TlNcclComm, 1);
  c->rank = rank;
  c->nranks = nranks;
  c->timeout_s = timeout_s;
  cudaError_t ce = cudaGetDevice (&c->device);
  if (ce == cudaSuccess)
    ce = cudaMalloc ((void **) &c->one, sizeof (int));
  if (ce != cudaSuccess) {
    g_set_error (error, TL_ERROR, TL_ERROR_DEVICE, "comm nccl: rank %d of %d: cuda: %s (%s)", rank,
                 nranks, cudaGetErrorName (ce), cudaGetErrorString (ce));
    comm_free (c);
    return NULL;
  }
  ncclUniqueId uid;
  memcpy (uid.internal, id, TL_NCCL_UNIQUE_ID_BYTES);
  ncclConfig_t cfg = NCCL_CONFIG_INITIALIZER;
  cfg.blocking = 0;
  ncclResult_t r = ncclCommInitRankConfig (&c->comm, nranks, uid, rank, &cfg);
  if (r != ncclSuccess && r != ncclInProgress) {
    g_autofree char *d = describe_result (c->comm, r);
    g_set_error (error, TL_ERROR, TL_ERROR_COMM,
                 "comm nccl: rank %d of %d on CUDA device %d: ncclCommInitRankConfig failed: %s",
                 rank, nranks, c->device, d);
    if (c->comm)
      ncclCommAbort (c->comm);
    comm_free (c);
    return NULL;
  }
  g_autofree char *what = g_strdup_printf ("ncclCommInitRankConfig on CUDA device %d", c->device);
  if (!wait_done (c, what, ncclSuccess, FALSE, error)) {
    /* every failure of the init is the communicator's: report it as such */
    if (error && *error)
      (*error)->code = TL_ERROR_COMM;
    if (!c->broken && c->comm)
      ncclCommAbort (c->comm);
    comm_free (c);
    return NULL;
  }
  /* on this thread's stream, not the legacy default stream (which does not
   * order against the non-blocking stream the barrier runs on) */
  cudaStream_t stream = (cudaStream_t) _tl_cuda_stream ();
  ce = cudaMemsetAsync (c->one, 0, sizeof (int), stream);
  if (ce == cudaSuccess)
    ce = cudaStreamSynchronize (stream);
  if (ce != cudaSuccess) {
    g_set_error (error, TL_ERROR, TL_ERROR_DEVICE, "comm nccl: rank %d of %d: cudaMemset: %s",
                 rank, nranks, cudaGetErrorString (ce));
    ncclCommAbort (c->comm);
    comm_free (c);
    return NULL;
  }
  return c;
}

static gboolean
ext_allreduce (TlNcclComm *c, void *buf, gint64 count, TlDType dtype, TlCommOp op,
               GError **error)
{
  if (!check_usable (c, "allreduce", error))
    return FALSE;
  ncclDataType_t t;
  if (!nccl_type (dtype, &t) || dtype == TL_DTYPE_I8 || dtype == TL_DTYPE_U8) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "comm nccl: allreduce of %s tensors (f32, f64, f16, bf16, i32, i64)",
                 tl_dtype_name (dtype));
    return FALSE;
  }
  ncclRedOp_t o;
  switch (op) {
  case TL_COMM_SUM:
    o = ncclSum;
    break;
  case TL_COMM_MEAN:
    o = ncclAvg;
    break;
  case TL_COMM_MAX:
    o = ncclMax;
    break;
  case TL_COMM_MIN:
    o = ncclMin;
    break;
  default:
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "comm nccl: unknown reduction %d",
                 (int) op);
    return FALSE;
  }
  if (count <= 0)
    return TRUE;
  ncclResult_t r = ncclAllReduce (buf, buf, (size_t) count, t, o, c->comm,
                                  (cudaStream_t) _tl_cuda_stream ());
  return wait_done (c, "ncclAllReduce", r, TRUE, error);
}

static gboolean
ext_broadcast (TlNcclComm *c, void *buf, gsize nbytes, int root, GError **error)
{
  if (!check_usable (c, "broadcast", error))
    return FALSE;
  if (nbytes == 0)
    return TRUE;
  ncclResult_t r = ncclBroadcast (buf, buf, nbytes, ncclUint8, root, c->comm,
                                  (cudaStream_t) _tl_cuda_stream ());
  return wait_done (c, "ncclBroadcast", r, TRUE, error);
}

static gboolean
ext_allgather (TlNcclComm *c, const void *in, void *out, gsize nbytes, GError **error)
{
  if (!check_usable (c, "allgather", error))
    return FALSE;
  if (nbytes == 0)
    return TRUE;
  ncclResult_t r = ncclAllGather (in, out, nbytes, ncclUint8, c->comm,
                                  (cudaStream_t) _tl_cuda_stream ());
  return wait_done (c, "ncclAllGather", r, TRUE, error);
}

static gboolean
check_peer (TlNcclComm *c, int peer, const char *what, GError **error)
{
  if (peer == c->rank) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "comm nccl: rank %d: %s to itself (NCCL would wait forever)", c->rank, what);
    return FALSE;
  }
  return TRUE;
}

static gboolean
ext_send (TlNcclComm *c, const void *buf, gsize nbytes, int peer, GError **error)
{
  if (!check_usable (c, "send", error) || !check_peer (c, peer, "send", error))
    return FALSE;
  if (nbytes == 0)
    return TRUE;
  ncclResult_t r = ncclSend (buf, nbytes, ncclUint8, peer, c->comm,
                             (cudaStream_t) _tl_cuda_stream ());
  return wait_done (c, "ncclSend", r, TRUE, error);
}

static gboolean
ext_recv (TlNcclComm *c, void *buf, gsize nbytes, int peer, GError **error)
{
  if (!check_usable (c, "recv", error) || !check_peer (c, peer, "recv", error))
    return FALSE;
  if (nbytes == 0)
    return TRUE;
  ncclResult_t r = ncclRecv (buf, nbytes, ncclUint8, peer, c->comm,
                             (cudaStream_t) _tl_cuda_stream ());
  return wait_done (c, "ncclRecv", r, TRUE, error);
}

static gboolean
ext_barrier (TlNcclComm *c, GError **error)
{
  if (!check_usable (c, "barrier", error))
    return FALSE;
  ncclResult_t r = ncclAllReduce (c->one, c->one, 1, ncclInt32, ncclSum, c->comm,
                                  (cudaStream_t) _tl_cuda_stream ());
  return wait_done (c, "barrier (ncclAllReduce of one int)", r, TRUE, error);
}

static void
ext_abort (TlNcclComm *c)
{
  if (!c)
    return;
  break_comm (c, "aborted");
  comm_free (c);
}

static void
ext_destroy (TlNcclComm *c)
{
  if (!c)
    return;
  if (!c->broken) {
    /* flush outstanding work with the peers; bounded by the timeout */
    ncclResult_t r = ncclCommFinalize (c->comm);
    GError *e = NULL;
    if (wait_done (c, "ncclCommFinalize", r, FALSE, &e))
      ncclCommDestroy (c->comm);
    else
      g_clear_error (&e); /* wait_done aborted it */
    c->comm = NULL;
  }
  comm_free (c);
}

static int
ext_device (TlNcclComm *c)
{
  return c->device;
}

static const TlBackendNccl nccl_extension = {
  .size = sizeof (TlBackendNccl),
  .version = ext_version,
  .get_unique_id = ext_get_unique_id,
  .comm_init = ext_comm_init,
  .allreduce = ext_allreduce,
  .broadcast = ext_broadcast,
  .allgather = ext_allgather,
  .send = ext_send,
  .recv = ext_recv,
  .barrier = ext_barrier,
  .abort = ext_abort,
  .destroy = ext_destroy,
  .device = ext_device,
};

const void *
_tl_cuda_nccl_extension (void)
{
  return &nccl_extension;
}

#else /* !TL_CUDA_WITH_NCCL */

const void *
_tl_cuda_nccl_extension (void)
{
  return NULL;
}

#endif
