/* comm-nccl.c — the "nccl" communicator backend (CUDA tensors).
 *
 * libtl never links NCCL: the NCCL calls live in the CUDA backend module
 * (backends/cuda/comm-nccl.c, table core/backend-nccl-private.h). This file
 * bootstraps a communicator over a host communicator (mpi when the process
 * was launched by mpirun, else single): rank 0 makes the ncclUniqueId and
 * broadcasts it; after each step of the set-up every rank learns whether
 * every other rank succeeded (an allgather of a status), so all ranks fail
 * together with the same message instead of waiting for a rank that gave up.
 *
 * The host communicator (owned, TlComm.host) also carries CPU tensors given
 * to an nccl communicator; a second one (NcclState.ctl) the header of each
 * send of a CUDA tensor (tag and size: NCCL has no tags, so the receiver
 * checks them and answers before the data moves).
 *
 * Failure: an NCCL error reported by a peer, or an operation that does not
 * complete within TL_COMM_TIMEOUT seconds, aborts the NCCL communicator in
 * the module (ncclCommAbort) and ends the job here: "tl: rank R of N:
 * MESSAGE; aborting the job" on stderr, then the host communicator's abort
 * (MPI_Abort ends every rank).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "backend-nccl-private.h"
#include "comm-private.h"
#include "tl-private.h"

typedef struct {
  const TlBackend *be;
  const TlBackendNccl *ext;
  TlNcclComm *nc;
  int device;
  /* a second host communicator for the headers of sends (their tags must
   * not meet the tags of CPU tensors sent over TlComm.host) */
  TlComm *ctl;
} NcclState;

/* Makes the communicator's device current on the calling thread (the
 * module enqueues on that thread's stream). */
static gboolean
enter (TlComm *c, GError **error)
{
  NcclState *st = c->impl;
  return st->be->set_device (st->device, error);
}

/* --- agreement over the host communicator --------------------------------- */

#define STATUS_MSG_BYTES 1016

typedef struct {
  gint32 failed;
  gint32 code;
  char message[STATUS_MSG_BYTES];
} RankStatus;

G_STATIC_ASSERT (sizeof (RankStatus) == 1024);

/* Drops a leading "comm nccl: " (the module's messages carry it too). */
static const char *
unprefixed (const char *m)
{
  return g_str_has_prefix (m, "comm nccl: ") ? m + strlen ("comm nccl: ") : m;
}

/* Every rank passes its own failure of step `what` (NULL: none; consumed);
 * all ranks return the same verdict: FALSE with the message of the first
 * rank that failed when any did. */
static gboolean
agree (TlComm *host, const char *what, GError *local, GError **error)
{
  RankStatus mine;
  memset (&mine, 0, sizeof mine);
  if (local) {
    mine.failed = 1;
    mine.code = local->code;
    g_strlcpy (mine.message, unprefixed (local->message), sizeof mine.message);
    g_error_free (local);
  }
  g_autofree RankStatus *all = g_new0 (RankStatus, host->size);
  GError *e = NULL;
  if (!host->backend->allgather (host, &mine, all, sizeof mine, &e)) {
    g_propagate_prefixed_error (error, e, "comm nccl: %s: ", what);
    return FALSE;
  }
  int first = -1, n_failed = 0;
  for (int r = 0; r < host->size; r++) {
    if (!all[r].failed)
      continue;
    if (first < 0)
      first = r;
    n_failed++;
  }
  if (first < 0)
    return TRUE;
  all[first].message[STATUS_MSG_BYTES - 1] = '\0';
  const char *m = all[first].message;
  g_autofree char *others = n_failed > 1 ? g_strdup_printf (" (%d other rank%s failed too)",
                                                            n_failed - 1, n_failed > 2 ? "s" : "")
                                         : g_strdup ("");
  if (g_str_has_prefix (m, "rank "))
    g_set_error (error, TL_ERROR, all[first].code, "comm nccl: %s: %s%s", what, m, others);
  else
    g_set_error (error, TL_ERROR, all[first].code, "comm nccl: %s: rank %d of %d: %s%s", what,
                 first, host->size, m, others);
  return FALSE;
}

/* --- the backend table ------------------------------------------------------- */

/* After a failed module call: a communicator failure (a peer, a timeout)
 * ends the job on this rank; anything else is the caller's error. */
static gboolean
finish (TlComm *c, gboolean ok, GError *e, GError **error)
{
  if (ok)
    return TRUE;
  if (e->code == TL_ERROR_COMM) {
    g_autofree char *msg = g_strdup_printf ("%s; aborting the job", e->message);
    c->host->backend->abort (c->host, 1, msg); /* does not return */
  }
  g_propagate_error (error, e);
  return FALSE;
}

static gboolean
nccl_allreduce (TlComm *c, void *buf, gint64 count, TlDType dtype, TlCommOp op, GError **error)
{
  NcclState *st = c->impl;
  if (!enter (c, error))
    return FALSE;
  GError *e = NULL;
  gboolean ok = st->ext->allreduce (st->nc, buf, count, dtype, op, &e);
  return finish (c, ok, e, error);
}

static gboolean
nccl_broadcast (TlComm *c, void *buf, gsize nbytes, int root, GError **error)
{
  NcclState *st = c->impl;
  if (!enter (c, error))
    return FALSE;
  GError *e = NULL;
  gboolean ok = st->ext->broadcast (st->nc, buf, nbytes, root, &e);
  return finish (c, ok, e, error);
}

static gboolean
nccl_allgather (TlComm *c, const void *in, void *out, gsize nbytes, GError **error)
{
  NcclState *st = c->impl;
  if (!enter (c, error))
    return FALSE;
  GError *e = NULL;
  gboolean ok = st->ext->allgather (st->nc, in, out, nbytes, &e);
  return finish (c, ok, e, error);
}

/* Header of a send, on the host communicator with HDR_TAG; the receiver
 * answers with one gint64 (1: matches) on ACK_TAG. */
#define HDR_TAG 0
#define ACK_TAG 1

typedef struct {
  gint64 tag;
  gint64 nbytes;
} SendHeader;

static gboolean
check_peer (TlComm *c, int peer, const char *what, GError **error)
{
  if (peer != c->rank)
    return TRUE;
  g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
               "comm nccl: rank %d: %s to itself is not supported (NCCL would wait forever)",
               c->rank, what);
  return FALSE;
}

static gboolean
nccl_send (TlComm *c, const void *buf, gsize nbytes, int dest, int tag, GError **error)
{
  NcclState *st = c->impl;
  if (!check_peer (c, dest, "send", error))
    return FALSE;
  SendHeader h = { tag, (gint64) nbytes };
  gint64 ack = 0;
  if (!st->ctl->backend->send (st->ctl, &h, sizeof h, dest, HDR_TAG, error) ||
      !st->ctl->backend->recv (st->ctl, &ack, sizeof ack, dest, ACK_TAG, error))
    return FALSE;
  if (ack != 1) {
    g_set_error (error, TL_ERROR, TL_ERROR_COMM,
                 "comm nccl: rank %d: send of %" G_GSIZE_FORMAT " bytes with tag %d to rank %d "
                 "does not match the receive rank %d posted (NCCL matches sends and receives in "
                 "order: post them in the same order on both ranks)",
                 c->rank, nbytes, tag, dest, dest);
    return FALSE;
  }
  if (!enter (c, error))
    return FALSE;
  GError *e = NULL;
  gboolean ok = st->ext->send (st->nc, buf, nbytes, dest, &e);
  return finish (c, ok, e, error);
}

static gboolean
nccl_recv (TlComm *c, void *buf, gsize nbytes, int src, int tag, GError **error)
{
  NcclState *st = c->impl;
  if (!check_peer (c, src, "recv", error))
    return FALSE;
  SendHeader h = { 0, 0 };
  if (!st->ctl->backend->recv (st->ctl, &h, sizeof h, src, HDR_TAG, error))
    return FALSE;
  gint64 ack = h.tag == tag && h.nbytes == (gint64) nbytes ? 1 : 0;
  if (!st->ctl->backend->send (st->ctl, &ack, sizeof ack, src, ACK_TAG, error))
    return FALSE;
  if (!ack) {
    g_set_error (error, TL_ERROR, TL_ERROR_COMM,
                 "comm nccl: rank %d: recv of %" G_GSIZE_FORMAT " bytes with tag %d from rank %d "
                 "met a send of %" G_GINT64_FORMAT " bytes with tag %" G_GINT64_FORMAT
                 " (NCCL matches sends and receives in order: post them in the same order on "
                 "both ranks)",
                 c->rank, nbytes, tag, src, h.nbytes, h.tag);
    return FALSE;
  }
  if (!enter (c, error))
    return FALSE;
  GError *e = NULL;
  gboolean ok = st->ext->recv (st->nc, buf, nbytes, src, &e);
  return finish (c, ok, e, error);
}

static gboolean
nccl_barrier (TlComm *c, GError **error)
{
  NcclState *st = c->impl;
  if (!enter (c, error))
    return FALSE;
  GError *e = NULL;
  gboolean ok = st->ext->barrier (st->nc, &e);
  return finish (c, ok, e, error);
}

static void
nccl_abort (TlComm *c, int code, const char *message)
{
  NcclState *st = c->impl;
  st->ext->abort (st->nc);
  st->nc = NULL;
  c->host->backend->abort (c->host, code, message); /* does not return */
}

static void
nccl_free (TlComm *c)
{
  NcclState *st = c->impl;
  if (st->nc)
    st->ext->destroy (st->nc);
  tl_comm_free (st->ctl);
  g_free (st);
}

static const TlCommBackend nccl_backend = {
  .name = "nccl",
  .device_buffers = TRUE,
  .allreduce = nccl_allreduce,
  .broadcast = nccl_broadcast,
  .allgather = nccl_allgather,
  .send = nccl_send,
  .recv = nccl_recv,
  .barrier = nccl_barrier,
  .abort = nccl_abort,
  .free = nccl_free,
};

/* --- construction ------------------------------------------------------------ */

/* The CUDA device of this rank: `want` when >= 0, else TL_COMM_DEVICE when
 * set, else the local rank (OMPI_COMM_WORLD_LOCAL_RANK, 0 without mpirun)
 * modulo the number of devices. */
static gboolean
choose_device (int want, int n_devices, int *device, GError **error)
{
  if (want >= 0) {
    if (want >= n_devices) {
      g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                   "cuda:%d does not exist (%d CUDA devices)", want, n_devices);
      return FALSE;
    }
    *device = want;
    return TRUE;
  }
  const char *forced = g_getenv ("TL_COMM_DEVICE");
  if (forced && *forced) {
    char *end = NULL;
    gint64 v = g_ascii_strtoll (forced, &end, 10);
    if (!end || *end || v < 0 || v >= n_devices) {
      g_autofree char *shown = _tl_priv_escape_short (forced);
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "TL_COMM_DEVICE=\"%s\" is not a CUDA device of this machine (0..%d)", shown,
                   n_devices - 1);
      return FALSE;
    }
    *device = (int) v;
    return TRUE;
  }
  const char *local = g_getenv ("OMPI_COMM_WORLD_LOCAL_RANK");
  gint64 lr = local && *local ? g_ascii_strtoll (local, NULL, 10) : 0;
  *device = (int) (MAX (lr, 0) % n_devices);
  return TRUE;
}

/* This rank's part of the set-up before NCCL: the module, its NCCL
 * extension, a device. */
static gboolean
setup_local (NcclState *st, int want, GError **error)
{
  st->be = _tl_priv_backend_cuda (error);
  if (!st->be)
    return FALSE;
  GError *e = NULL;
  int n = st->be->device_count (&e);
  if (n <= 0) {
    if (e && g_str_has_prefix (e->message, "no CUDA device"))
      g_set_error_literal (error, TL_ERROR, TL_ERROR_UNSUPPORTED, e->message);
    else
      g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "no CUDA device: %s",
                   e ? e->message : "the driver reports none");
    g_clear_error (&e);
    return FALSE;
  }
  g_clear_error (&e);
  st->ext = st->be->get_extension ? st->be->get_extension (TL_BACKEND_EXT_NCCL) : NULL;
  if (!st->ext) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "the CUDA backend was built without NCCL (configure found no nccl.h and "
                 "libnccl: see --with-nccl)");
    return FALSE;
  }
  if (st->ext->size < sizeof (TlBackendNccl)) {
    g_set_error (error, TL_ERROR, TL_ERROR_ABI,
                 "the CUDA backend's NCCL table is older than this libtl (%u < %u bytes)",
                 st->ext->size, (guint) sizeof (TlBackendNccl));
    return FALSE;
  }
  return choose_device (want, n, &st->device, error) && st->be->set_device (st->device, error);
}

TlComm *
_tl_priv_comm_nccl_new (gboolean over_mpi, int device, GError **error)
{
  double timeout_s = 0;
  if (!_tl_priv_comm_read_timeout (&timeout_s, error))
    return NULL;
  TlComm *host = _tl_priv_comm_host_new (over_mpi, error);
  if (!host)
    return NULL;
  NcclState *st = g_new0 (NcclState, 1);
  st->ctl = _tl_priv_comm_host_new (over_mpi, error);
  if (!st->ctl)
    goto fail;
  GError *local = NULL;
  guint8 id[TL_NCCL_UNIQUE_ID_BYTES];
  memset (id, 0, sizeof id);
  setup_local (st, device, &local);
  if (!agree (host, "set-up", local, error))
    goto fail;
  local = NULL;
  if (host->rank == 0)
    st->ext->get_unique_id (id, &local);
  if (!agree (host, "ncclGetUniqueId on rank 0", local, error) ||
      !host->backend->broadcast (host, id, sizeof id, 0, error))
    goto fail;
  local = NULL;
  st->nc = st->ext->comm_init (host->size, host->rank, id, timeout_s, &local);
  if (!agree (host, "ncclCommInitRank", local, error))
    goto fail;

  TlComm *c = g_new0 (TlComm, 1);
  c->backend = &nccl_backend;
  c->rank = host->rank;
  c->size = host->size;
  c->impl = st;
  c->host = host;
  c->device_index = st->device;
  return c;

fail:
  if (st->nc)
    st->ext->abort (st->nc);
  tl_comm_free (st->ctl);
  g_free (st);
  tl_comm_free (host);
  return NULL;
}
