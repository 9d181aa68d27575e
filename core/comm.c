/* comm.c — the communicator interface and the "single" backend.
 *
 * The public calls check their tensors (device, dtype, sizes), make CPU
 * tensors contiguous (through a copy that is written back when the tensor
 * is not) and hand plain buffers to the backend table (comm-private.h).
 * For CPU tensors MEAN is a SUM followed by a division here, so every host
 * backend reduces the same way.
 *
 * CUDA tensors (contiguous) go to a backend with device buffers: an nccl
 * communicator takes them itself (and hands CPU tensors to its host
 * communicator); an mpi communicator makes an nccl communicator over the
 * same ranks on the first CUDA tensor (collectively: every rank passes CUDA
 * tensors to the same call); single treats them like CPU tensors
 * (identity), moving bytes with the CUDA backend's copies.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "comm-private.h"
#include "tl-private.h"

/* --- the single backend ---------------------------------------------------- */

typedef struct {
  int tag;
  GBytes *data;
} SingleMsg;

typedef struct {
  /* CUDA tensors: the CUDA backend that copies the device buffers; NULL:
   * host buffers */
  const TlBackend *be;
  GQueue mailbox; /* SingleMsg*, sent to ourselves and not yet received
                   * (host copies of the device buffers with be) */
} SingleState;

static gboolean
single_allreduce (TlComm *c, void *buf, gint64 count, TlDType dtype, TlCommOp op, GError **error)
{
  return TRUE; /* one rank: every reduction is the identity */
}

static gboolean
single_broadcast (TlComm *c, void *buf, gsize nbytes, int root, GError **error)
{
  return TRUE;
}

static gboolean
single_allgather (TlComm *c, const void *in, void *out, gsize nbytes, GError **error)
{
  if (out != in)
    memmove (out, in, nbytes);
  return TRUE;
}

static gboolean
single_send (TlComm *c, const void *buf, gsize nbytes, int dest, int tag, GError **error)
{
  SingleState *st = c->impl;
  SingleMsg *m = g_new (SingleMsg, 1);
  m->tag = tag;
  m->data = g_bytes_new (buf, nbytes);
  g_queue_push_tail (&st->mailbox, m);
  return TRUE;
}

static gboolean
single_recv (TlComm *c, void *buf, gsize nbytes, int src, int tag, GError **error)
{
  SingleState *st = c->impl;
  for (GList *l = st->mailbox.head; l; l = l->next) {
    SingleMsg *m = l->data;
    if (m->tag != tag)
      continue;
    gsize len = g_bytes_get_size (m->data);
    if (len != nbytes) {
      g_set_error (error, TL_ERROR, TL_ERROR_COMM,
                   "comm single: recv of %" G_GSIZE_FORMAT " bytes with tag %d matches a send of "
                   "%" G_GSIZE_FORMAT " bytes",
                   nbytes, tag, len);
      return FALSE;
    }
    memcpy (buf, g_bytes_get_data (m->data, NULL), len);
    g_queue_delete_link (&st->mailbox, l);
    g_bytes_unref (m->data);
    g_free (m);
    return TRUE;
  }
  g_set_error (error, TL_ERROR, TL_ERROR_COMM,
               "comm single: recv with tag %d has no matching send (it would wait forever)", tag);
  return FALSE;
}

static gboolean
single_barrier (TlComm *c, GError **error)
{
  return TRUE;
}

static void
single_abort (TlComm *c, int code, const char *message)
{
  fprintf (stderr, "tl: rank 0: %s\n", message ? message : "aborted");
  fflush (stderr);
  _exit (code != 0 ? code : 1);
}

/* Drops the messages sent to ourselves and not received. */
static void
mailbox_clear (SingleState *st)
{
  SingleMsg *m;
  while ((m = g_queue_pop_head (&st->mailbox))) {
    g_bytes_unref (m->data);
    g_free (m);
  }
}

static void
single_free (TlComm *c)
{
  SingleState *st = c->impl;
  mailbox_clear (st);
  g_free (st);
}

/* A one-rank communicator with `backend`'s table; be: see SingleState. */
static TlComm *
single_make (const TlCommBackend *backend, const TlBackend *be)
{
  TlComm *c = g_new0 (TlComm, 1);
  SingleState *st = g_new0 (SingleState, 1);
  st->be = be;
  g_queue_init (&st->mailbox);
  c->backend = backend;
  c->rank = 0;
  c->size = 1;
  c->impl = st;
  c->device_index = -1;
  return c;
}

static const TlCommBackend single_backend = {
  .name = "single",
  .device_buffers = FALSE,
  .allreduce = single_allreduce,
  .broadcast = single_broadcast,
  .allgather = single_allgather,
  .send = single_send,
  .recv = single_recv,
  .barrier = single_barrier,
  .abort = single_abort,
  .free = single_free,
};

static TlComm *
single_new (void)
{
  return single_make (&single_backend, NULL);
}

/* --- single, CUDA tensors ---------------------------------------------------- */

static gboolean
single_dev_allgather (TlComm *c, const void *in, void *out, gsize nbytes, GError **error)
{
  SingleState *st = c->impl;
  return out == in || nbytes == 0 || st->be->memcpy (out, TRUE, in, TRUE, nbytes, error);
}

static gboolean
single_dev_send (TlComm *c, const void *buf, gsize nbytes, int dest, int tag, GError **error)
{
  SingleState *st = c->impl;
  g_autofree void *host = g_try_malloc (MAX (nbytes, 1));
  if (!host) {
    g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY,
                 "comm single: send of %" G_GSIZE_FORMAT " bytes: out of host memory", nbytes);
    return FALSE;
  }
  if (nbytes && !st->be->memcpy (host, FALSE, buf, TRUE, nbytes, error))
    return FALSE;
  return single_send (c, host, nbytes, dest, tag, error);
}

static gboolean
single_dev_recv (TlComm *c, void *buf, gsize nbytes, int src, int tag, GError **error)
{
  SingleState *st = c->impl;
  g_autofree void *host = g_try_malloc (MAX (nbytes, 1));
  if (!host) {
    g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY,
                 "comm single: recv of %" G_GSIZE_FORMAT " bytes: out of host memory", nbytes);
    return FALSE;
  }
  if (!single_recv (c, host, nbytes, src, tag, error))
    return FALSE;
  return nbytes == 0 || st->be->memcpy (buf, TRUE, host, FALSE, nbytes, error);
}

/* MEAN over one rank is the identity too, so device_buffers holds. */
static const TlCommBackend single_dev_backend = {
  .name = "single",
  .device_buffers = TRUE,
  .allreduce = single_allreduce,
  .broadcast = single_broadcast,
  .allgather = single_dev_allgather,
  .send = single_dev_send,
  .recv = single_dev_recv,
  .barrier = single_barrier,
  .abort = single_abort,
  .free = single_free,
};

static TlComm *
single_dev_new (GError **error)
{
  const TlBackend *be = _tl_priv_backend_cuda (error);
  return be ? single_make (&single_dev_backend, be) : NULL;
}

/* --- construction ------------------------------------------------------------ */

/**
 * _tl_priv_comm_read_timeout:
 * @timeout_s: (out): TL_COMM_TIMEOUT in seconds (default 300; 0: none)
 * @error: return location for a #GError
 *
 * Returns: FALSE when TL_COMM_TIMEOUT is not a number of seconds >= 0
 */
gboolean
_tl_priv_comm_read_timeout (double *timeout_s, GError **error)
{
  const char *s = g_getenv ("TL_COMM_TIMEOUT");
  double v = 300.0;
  if (s && *s) {
    char *end = NULL;
    v = g_ascii_strtod (s, &end);
    if (!end || *end || !(v >= 0) || v > 1e9) {
      g_autofree char *shown = _tl_priv_escape_short (s);
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "comm: TL_COMM_TIMEOUT=\"%s\" is not a number of seconds >= 0", shown);
      return FALSE;
    }
  }
  *timeout_s = v;
  return TRUE;
}

/* Launched by mpirun: the world size it gives (NULL when not). */
static const char *
mpirun_world_size (void)
{
  const char *world = g_getenv ("OMPI_COMM_WORLD_SIZE");
  return world && *world ? world : NULL;
}

/* Started by mpirun for several processes in a libtl without MPI. */
static gboolean
check_mpirun_without_mpi (const char *world, GError **error)
{
#ifndef TL_HAVE_MPI
  if (world && g_strcmp0 (world, "1") != 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "comm: started by mpirun (%s processes) but this libtl was built without MPI; "
                 "set TL_COMM=single to run each process alone",
                 world);
    return FALSE;
  }
#endif
  return TRUE;
}

TlComm *
_tl_priv_comm_host_new (gboolean over_mpi, GError **error)
{
  if (!over_mpi)
    return single_new ();
#ifdef TL_HAVE_MPI
  return _tl_priv_comm_mpi_new (error);
#else
  g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
               "comm: this libtl was built without MPI (configure --with-mpi)");
  return NULL;
#endif
}

/* The communicator that carries the checks' descriptors: host memory. */
static TlComm *
check_host (TlComm *comm)
{
  return comm->backend->device_buffers ? comm->host : comm;
}

/* Switches TL_COMM_CHECK on a new communicator c (NULL: passed on). With
 * several ranks they agree (one small allreduce): on when any rank has it
 * on, so a variable that reached some ranks only cannot make them disagree
 * on which collectives run. Consumes c on error. */
static TlComm *
with_check (TlComm *c, GError **error)
{
  if (!c)
    return NULL;
  gint32 on = _tl_env_flag ("TL_COMM_CHECK");
  TlComm *host = check_host (c);
  if (c->size > 1 && host &&
      !host->backend->allreduce (host, &on, 1, TL_DTYPE_I32, TL_COMM_MAX, error)) {
    g_prefix_error (error, "comm %s: agreeing on settings when the communicator is made: ",
                    c->backend->name);
    tl_comm_free (c);
    return NULL;
  }
  c->check = on != 0;
  return c;
}

/* tl_comm_new() for a named backend, without the check's set-up. */
static TlComm *
comm_new_named (const char *backend, GError **error)
{
  if (g_str_equal (backend, "single") || g_str_equal (backend, "mpi"))
    return _tl_priv_comm_host_new (g_str_equal (backend, "mpi"), error);
  if (g_str_equal (backend, "nccl")) {
    const char *world = mpirun_world_size ();
    if (!check_mpirun_without_mpi (world, error))
      return NULL;
#ifdef TL_HAVE_MPI
    return _tl_priv_comm_nccl_new (world != NULL, -1, error);
#else
    return _tl_priv_comm_nccl_new (FALSE, -1, error);
#endif
  }
  g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
               "comm: unknown backend \"%s\" (single, mpi, nccl)", backend);
  return NULL;
}

/* tl_comm_new_from_env() without the check's set-up. */
static TlComm *
comm_new_from_env (GError **error)
{
  const char *forced = g_getenv ("TL_COMM");
  if (forced && *forced)
    return comm_new_named (forced, error);
  const char *world = mpirun_world_size ();
  if (!world)
    return single_new ();
#ifdef TL_HAVE_MPI
  return _tl_priv_comm_mpi_new (error);
#else
  if (!check_mpirun_without_mpi (world, error))
    return NULL;
  return single_new ();
#endif
}

/**
 * tl_comm_new:
 * @backend: (nullable): "single", "mpi" or "nccl"; NULL chooses like
 *   tl_comm_new_from_env()
 * @error: return location for a #GError
 *
 * Creates a communicator. "mpi" initialises MPI when the program has not
 * (and finalises it at exit); TL_ERROR_UNSUPPORTED when libtl was built
 * without that backend. "nccl" (CUDA tensors; CPU tensors go over mpi or
 * single) is set up over MPI when the process was launched by mpirun, else
 * as one rank; every rank fails with the same message when one cannot take
 * part (no CUDA device, NCCL not built, NCCL refused: TL_ERROR_DEVICE,
 * TL_ERROR_UNSUPPORTED, TL_ERROR_COMM). TL_COMM_CHECK is read here (see
 * tl_comm_allreduce()).
 *
 * Returns: (transfer full): the communicator, or NULL on error
 */
TlComm *
tl_comm_new (const char *backend, GError **error)
{
  return with_check (backend ? comm_new_named (backend, error) : comm_new_from_env (error),
                     error);
}

/**
 * tl_comm_new_from_env:
 * @error: return location for a #GError
 *
 * The communicator this process was launched for: TL_COMM=single|mpi|nccl
 * when set; else "mpi" when started by mpirun (OMPI_COMM_WORLD_SIZE is set)
 * and MPI is built in; else "single". Started by mpirun for several
 * processes without MPI built in is an error (each process would train
 * alone and write the same outputs). Whichever is chosen, CUDA tensors go
 * over NCCL (see tl_comm_allreduce()).
 *
 * Returns: (transfer full): the communicator, or NULL on error
 */
TlComm *
tl_comm_new_from_env (GError **error)
{
  return with_check (comm_new_from_env (error), error);
}

/**
 * tl_comm_free:
 * @comm: (nullable) (transfer full): communicator
 *
 * Releases the communicator (and the nccl communicator it made for CUDA
 * tensors). MPI itself stays initialised until exit.
 */
void
tl_comm_free (TlComm *comm)
{
  if (!comm)
    return;
  tl_comm_free (comm->device);
  comm->backend->free (comm);
  tl_comm_free (comm->host);
  g_free (comm);
}

/**
 * tl_comm_backend:
 * @comm: communicator
 *
 * Returns: (transfer none): the backend's name ("single", "mpi", "nccl")
 */
const char *
tl_comm_backend (const TlComm *comm)
{
  g_return_val_if_fail (comm != NULL, NULL);
  return comm->backend->name;
}

/**
 * tl_comm_rank:
 * @comm: communicator
 *
 * Returns: this process's rank, 0 .. size - 1
 */
int
tl_comm_rank (const TlComm *comm)
{
  g_return_val_if_fail (comm != NULL, 0);
  return comm->rank;
}

/**
 * tl_comm_size:
 * @comm: communicator
 *
 * Returns: the number of ranks (1 for "single")
 */
int
tl_comm_size (const TlComm *comm)
{
  g_return_val_if_fail (comm != NULL, 1);
  return comm->size;
}

/* --- argument checks ----------------------------------------------------------- */

/* The checks of route_local() that need no device: t is on the CPU or a
 * contiguous CUDA tensor. */
static gboolean
check_device (const TlComm *comm, const TlTensor *t, const char *what, GError **error)
{
  TlDeviceType dev = tl_tensor_device (t);
  if (dev != TL_DEVICE_CPU && dev != TL_DEVICE_CUDA) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "comm %s: %s of a tensor on device %d",
                 comm->backend->name, what, (int) dev);
    return FALSE;
  }
  if (dev == TL_DEVICE_CUDA && !tl_tensor_is_contiguous (t)) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "comm %s: %s of a non-contiguous CUDA tensor (make it contiguous first)",
                 comm->backend->name, what);
    return FALSE;
  }
  return TRUE;
}

/* The refusals of routing t that need no peer, so that the collectives make
 * them before TL_COMM_CHECK's exchange (a refusal after it would leave the
 * peers waiting in the collective): check_device(), the tensor's GPU made
 * current on this thread, and its index against the device of the
 * communicator that moves CUDA tensors (comm itself on nccl; on mpi its
 * device communicator once the first CUDA tensor made it, on that
 * tensor's device, so nothing can differ before). */
static gboolean
route_local (const TlComm *comm, const TlTensor *t, const char *what, GError **error)
{
  if (!check_device (comm, t, what, error))
    return FALSE;
  if (tl_tensor_device (t) == TL_DEVICE_CPU)
    return TRUE;
  TlDevice tdev;
  if (!_tl_priv_tensor_open_device (t, &tdev, error)) {
    g_prefix_error (error, "comm %s: %s: ", comm->backend->name, what);
    return FALSE;
  }
  int index = tl_tensor_device_index (t);
  if (comm->backend->device_buffers && comm->device_index >= 0 && index != comm->device_index) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "comm %s: %s of a tensor on cuda:%d, but the communicator runs on cuda:%d",
                 comm->backend->name, what, index, comm->device_index);
    return FALSE;
  }
  if (comm->device && comm->device->device_index >= 0 && index != comm->device->device_index) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "comm %s: %s of a tensor on cuda:%d, but the communicator's CUDA tensors go "
                 "over NCCL on cuda:%d (the device of its first CUDA tensor)",
                 comm->backend->name, what, index, comm->device->device_index);
    return FALSE;
  }
  return TRUE;
}

/* The communicator that moves t, once route_local() accepted it: comm
 * itself, its host communicator (CPU tensors on nccl) or its device
 * communicator (CUDA tensors on mpi and single, made on first use:
 * collectively on mpi). Borrowed; NULL on error. */
static TlComm *
route_via (TlComm *comm, const TlTensor *t, const char *what, GError **error)
{
  if (tl_tensor_device (t) == TL_DEVICE_CPU)
    return check_host (comm);
  if (comm->backend->device_buffers)
    return comm;
  if (!comm->device) {
    GError *e = NULL;
    if (comm->size == 1 && g_str_equal (comm->backend->name, "single"))
      comm->device = single_dev_new (&e);
    else
      comm->device = _tl_priv_comm_nccl_new (TRUE, tl_tensor_device_index (t), &e);
    if (!comm->device) {
      g_propagate_prefixed_error (error, e, "comm %s: %s of a CUDA tensor: ",
                                  comm->backend->name, what);
      return NULL;
    }
  }
  return comm->device;
}

static gboolean
check_rank (const TlComm *comm, int r, const char *what, GError **error)
{
  if (r < 0 || r >= comm->size) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "comm %s: %s: rank %d is not in 0..%d", comm->backend->name, what, r,
                 comm->size - 1);
    return FALSE;
  }
  return TRUE;
}

/* A contiguous tensor with t's values: t itself (new ref) when contiguous
 * (CUDA tensors always are: route_local() checked). */
static TlTensor *
contiguous_of (TlTensor *t, GError **error)
{
  return tl_tensor_is_contiguous (t) ? tl_tensor_ref (t) : tl_tensor_contiguous (t, error);
}

/* route_via() for t (accepted by route_local()), then its contiguous
 * working copy (new ref; NULL on error) with *via the communicator that
 * moves it. */
static TlTensor *
routed_contiguous (TlComm *comm, const TlTensor *t, const char *what, TlComm **via,
                   GError **error)
{
  *via = route_via (comm, t, what, error);
  return *via ? contiguous_of ((TlTensor *) t, error) : NULL;
}

/* Copy a contiguous working copy back into t when they differ. */
static gboolean
write_back (TlTensor *t, TlTensor *c, GError **error)
{
  return c == t || tl_tensor_copy_into (t, c, error);
}

static void
divide (void *buf, gint64 n, TlDType dtype, int by)
{
  switch (dtype) {
  case TL_DTYPE_F32: {
    float *p = buf;
    for (gint64 i = 0; i < n; i++)
      p[i] /= (float) by;
    break;
  }
  case TL_DTYPE_F64: {
    double *p = buf;
    for (gint64 i = 0; i < n; i++)
      p[i] /= (double) by;
    break;
  }
  case TL_DTYPE_I32: {
    gint32 *p = buf;
    for (gint64 i = 0; i < n; i++)
      p[i] /= by;
    break;
  }
  case TL_DTYPE_I64: {
    gint64 *p = buf;
    for (gint64 i = 0; i < n; i++)
      p[i] /= by;
    break;
  }
  default:
    break;
  }
}

/* --- the consistency check (TL_COMM_CHECK) ------------------------------------------ */

typedef enum {
  CHECK_ALLREDUCE = 1,
  CHECK_BROADCAST,
  CHECK_ALLGATHER,
  CHECK_BARRIER
} CheckKind;

/* The fields of a collective's descriptor; those that do not apply to its
 * kind are 0. */
enum {
  F_MAGIC,   /* CHECK_MAGIC: this layout */
  F_SEQ,     /* the collective's number on its communicator, from 1 */
  F_KIND,    /* CheckKind */
  F_DTYPE,   /* the tensor's TlDType (allgather: in's) */
  F_COUNT,   /* its number of elements */
  F_OP,      /* allreduce: the TlCommOp */
  F_ROOT,    /* broadcast: the root */
  F_DEVICE,  /* 1: a CUDA tensor */
  F_REFUSED, /* 1: this rank refused its own arguments; why says why */
  N_FIELDS
};

#define CHECK_MAGIC G_GINT64_CONSTANT (0x746c636b00000001) /* "tlck", layout 1 */

typedef struct {
  gint64 f[N_FIELDS];
  char why[512 - N_FIELDS * sizeof (gint64)];
} CheckDesc;

G_STATIC_ASSERT (sizeof (CheckDesc) == 512);

/* A descriptor in words, e.g. "allreduce(f32, 1024 elements, sum)". The
 * fields come from any rank: every value is range-checked. */
static char *
check_describe (const gint64 *f)
{
  static const char *const ops[] = { "sum", "mean", "max", "min" };
  gint64 dt = f[F_DTYPE], n = f[F_COUNT], op = f[F_OP];
  g_autofree char *type =
      dt > TL_DTYPE_INVALID && dt < TL_DTYPE_COUNT_
          ? g_strdup_printf ("%s%s", tl_dtype_name ((TlDType) dt), f[F_DEVICE] ? " on CUDA" : "")
          : g_strdup_printf ("dtype %" G_GINT64_FORMAT, dt);
  g_autofree char *elems =
      g_strdup_printf ("%" G_GINT64_FORMAT " element%s", n, n == 1 ? "" : "s");
  switch (f[F_KIND]) {
  case CHECK_ALLREDUCE:
    if (op >= 0 && op < (gint64) G_N_ELEMENTS (ops))
      return g_strdup_printf ("allreduce(%s, %s, %s)", type, elems, ops[op]);
    return g_strdup_printf ("allreduce(%s, %s, op %" G_GINT64_FORMAT ")", type, elems, op);
  case CHECK_BROADCAST:
    return g_strdup_printf ("broadcast(%s, %s, root %" G_GINT64_FORMAT ")", type, elems,
                            f[F_ROOT]);
  case CHECK_ALLGATHER:
    return g_strdup_printf ("allgather(%s, %s)", type, elems);
  case CHECK_BARRIER:
    return g_strdup ("barrier()");
  default:
    return g_strdup_printf ("collective kind %" G_GINT64_FORMAT, f[F_KIND]);
  }
}

/* The verdict on the descriptors of every rank (all[size]), the same on
 * every rank; local: this rank's own refusal (consumed). */
static gboolean
check_verdict (const TlComm *comm, CheckDesc *all, GError *local, GError **error)
{
  gint64 seq = all[0].f[F_SEQ];
  if (local) {
    g_propagate_error (error, local);
    return FALSE;
  }
  for (int r = 0; r < comm->size; r++) {
    if (all[r].f[F_MAGIC] != CHECK_MAGIC) {
      g_set_error (error, TL_ERROR, TL_ERROR_COMM,
                   "comm check: collective #%" G_GINT64_FORMAT ": rank %d sent no descriptor "
                   "this libtl reads (another libtl version?)",
                   seq, r);
      return FALSE;
    }
    if (all[r].f[F_REFUSED]) {
      all[r].why[sizeof all[r].why - 1] = '\0';
      g_autofree char *why = g_utf8_make_valid (all[r].why, -1);
      g_set_error (error, TL_ERROR, TL_ERROR_COMM,
                   "comm check: collective #%" G_GINT64_FORMAT ": rank %d's arguments were "
                   "refused: %s",
                   seq, r, why);
      return FALSE;
    }
  }
  for (int r = 1; r < comm->size; r++) {
    if (memcmp (&all[r].f[F_SEQ], &all[0].f[F_SEQ], (F_DEVICE - F_SEQ + 1) * sizeof (gint64)) == 0)
      continue;
    g_autofree char *d0 = check_describe (all[0].f);
    g_autofree char *dr = check_describe (all[r].f);
    /* A guard only: the checks are allgathers paired in call order, so
     * the numbers agree unless an earlier check's exchange failed on some
     * ranks and not on the others. A rank that skips a collective shows up
     * as its next call's descriptor against the skipped one (below), and
     * not at all when the two are alike. */
    if (all[r].f[F_SEQ] != seq)
      g_set_error (error, TL_ERROR, TL_ERROR_COMM,
                   "comm check: collective #%" G_GINT64_FORMAT " of rank 0 is collective #%"
                   G_GINT64_FORMAT " of rank %d (an earlier check failed on some ranks only): "
                   "rank 0 %s, rank %d %s",
                   seq, all[r].f[F_SEQ], r, d0, r, dr);
    else
      g_set_error (error, TL_ERROR, TL_ERROR_COMM,
                   "comm check: collective #%" G_GINT64_FORMAT " differs between ranks: rank 0 "
                   "%s, rank %d %s",
                   seq, d0, r, dr);
    return FALSE;
  }
  return TRUE;
}

/* Before each collective (kind; t: its tensor, NULL for a barrier; op and
 * root where they apply, else 0): with TL_COMM_CHECK on and several ranks,
 * every rank's descriptor goes to every rank (an allgather over the host
 * communicator) and all reach the same verdict, so no rank is left waiting
 * in a collective the others do not make. local: this rank's own argument
 * error (NULL: none; consumed): every refusal that needs no peer
 * (route_local() included) must be made before this call, as nothing after
 * it may fail on one rank alone; with the check on, every rank fails with
 * it (this one with local itself, the others naming this rank). Without the
 * check, only local counts. The descriptors pair in call order, so a rank
 * that skips a collective is seen only when its next call differs from the
 * one it skipped. */
static gboolean
check_call (TlComm *comm, CheckKind kind, const TlTensor *t, gint64 op, gint64 root,
            GError *local, GError **error)
{
  TlComm *host = check_host (comm);
  if (!comm->check || comm->size < 2 || !host) {
    if (!local)
      return TRUE;
    g_propagate_error (error, local);
    return FALSE;
  }
  CheckDesc mine;
  memset (&mine, 0, sizeof mine);
  mine.f[F_MAGIC] = CHECK_MAGIC;
  mine.f[F_SEQ] = ++comm->check_seq;
  mine.f[F_KIND] = kind;
  if (t) {
    mine.f[F_DTYPE] = tl_tensor_dtype (t);
    mine.f[F_COUNT] = tl_tensor_numel (t);
    mine.f[F_DEVICE] = tl_tensor_device (t) != TL_DEVICE_CPU;
  }
  mine.f[F_OP] = op;
  mine.f[F_ROOT] = root;
  if (local) {
    mine.f[F_REFUSED] = 1;
    g_strlcpy (mine.why, local->message, sizeof mine.why);
  }
  g_autofree CheckDesc *all = g_new0 (CheckDesc, comm->size);
  GError *e = NULL;
  if (!host->backend->allgather (host, &mine, all, sizeof mine, &e)) {
    if (local) { /* this rank's own error says more */
      g_error_free (e);
      g_propagate_error (error, local);
    } else {
      g_propagate_prefixed_error (error, e, "comm check: collective #%" G_GINT64_FORMAT ": ",
                                  mine.f[F_SEQ]);
    }
    return FALSE;
  }
  return check_verdict (comm, all, local, error);
}

/* --- collectives ------------------------------------------------------------------ */

/* tl_comm_allreduce's checks of its arguments on this rank. */
static gboolean
allreduce_args_ok (const TlComm *comm, const TlTensor *t, TlCommOp op, GError **error)
{
  if (!route_local (comm, t, "allreduce", error))
    return FALSE;
  TlDType dt = tl_tensor_dtype (t);
  gboolean dev = tl_tensor_device (t) == TL_DEVICE_CUDA; /* moved by a device_buffers backend */
  if (dt != TL_DTYPE_F32 && dt != TL_DTYPE_F64 && dt != TL_DTYPE_I32 && dt != TL_DTYPE_I64 &&
      !(dev && (dt == TL_DTYPE_F16 || dt == TL_DTYPE_BF16))) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "comm %s: allreduce of %s tensors (f32, f64, i32, i64%s)", comm->backend->name,
                 tl_dtype_name (dt), dev ? ", and f16, bf16 on CUDA" : "");
    return FALSE;
  }
  if ((int) op < TL_COMM_SUM || (int) op > TL_COMM_MIN) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "comm %s: unknown reduction %d",
                 comm->backend->name, (int) op);
    return FALSE;
  }
  return TRUE;
}

/**
 * tl_comm_allreduce:
 * @comm: communicator
 * @t: (inout): a tensor of the same shape on every rank; receives the
 *   reduction. CPU tensors: f32, f64, i32 or i64. CUDA tensors (contiguous,
 *   moved by NCCL): also f16 and bf16
 * @op: the reduction
 * @error: return location for a #GError
 *
 * Reduces @t element-wise over all ranks, in place. Every rank must call it
 * with the same shape, dtype, device type and op. The first CUDA tensor
 * given to an "mpi" communicator makes an NCCL communicator over the same
 * ranks (every rank must then pass a CUDA tensor).
 *
 * With TL_COMM_CHECK=1 (read when the communicator was made) and several
 * ranks, this and the other collectives first compare a descriptor of the
 * call (kind, dtype, element count, op, root, CPU or CUDA, its number)
 * across the ranks, over the host communicator. When they differ, or one
 * rank refused its own arguments, every rank fails the call without making
 * it: TL_ERROR_COMM with the same one-line message on every rank (the rank
 * that refused its arguments keeps its own error). The descriptors pair
 * the calls in order: a rank that skipped a collective is caught only when
 * its next call differs from the one it skipped.
 *
 * Returns: TRUE on success
 */
gboolean
tl_comm_allreduce (TlComm *comm, TlTensor *t, TlCommOp op, GError **error)
{
  g_return_val_if_fail (comm != NULL && t != NULL, FALSE);
  GError *local = NULL;
  allreduce_args_ok (comm, t, op, &local);
  if (!check_call (comm, CHECK_ALLREDUCE, t, op, 0, local, error))
    return FALSE;
  TlComm *via = route_via (comm, t, "allreduce", error);
  if (!via)
    return FALSE;
  TlDType dt = tl_tensor_dtype (t);
  gboolean dev = via->backend->device_buffers;
  g_autoptr (TlTensor) c = contiguous_of (t, error);
  if (!c)
    return FALSE;
  gint64 n = tl_tensor_numel (c);
  TlCommOp bop = op == TL_COMM_MEAN && !dev ? TL_COMM_SUM : op;
  if (!via->backend->allreduce (via, tl_tensor_data (c), n, dt, bop, error))
    return FALSE;
  if (op == TL_COMM_MEAN && !dev && via->size > 1)
    divide (tl_tensor_data (c), n, dt, via->size);
  return write_back (t, c, error);
}

/**
 * tl_comm_broadcast:
 * @comm: communicator
 * @t: (inout): the data on @root; receives it on the other ranks (CPU or
 *   contiguous CUDA tensor)
 * @root: the sending rank
 * @error: return location for a #GError
 *
 * Returns: TRUE on success
 */
gboolean
tl_comm_broadcast (TlComm *comm, TlTensor *t, int root, GError **error)
{
  g_return_val_if_fail (comm != NULL && t != NULL, FALSE);
  GError *local = NULL;
  if (check_rank (comm, root, "broadcast", &local))
    route_local (comm, t, "broadcast", &local);
  if (!check_call (comm, CHECK_BROADCAST, t, 0, root, local, error))
    return FALSE;
  TlComm *via = NULL;
  g_autoptr (TlTensor) c = routed_contiguous (comm, t, "broadcast", &via, error);
  if (!c)
    return FALSE;
  if (!via->backend->broadcast (via, tl_tensor_data (c), tl_tensor_nbytes (c), root, error))
    return FALSE;
  return write_back (t, c, error);
}

/* tl_comm_allgather's checks of its arguments on this rank. */
static gboolean
allgather_args_ok (const TlComm *comm, const TlTensor *in, const TlTensor *out, GError **error)
{
  if (tl_tensor_device (in) != tl_tensor_device (out)) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "comm %s: allgather from a %s tensor into a %s tensor (use the same device)",
                 comm->backend->name, tl_tensor_device (in) == TL_DEVICE_CPU ? "CPU" : "CUDA",
                 tl_tensor_device (out) == TL_DEVICE_CPU ? "CPU" : "CUDA");
    return FALSE;
  }
  if (tl_tensor_device (in) == TL_DEVICE_CUDA &&
      tl_tensor_device_index (in) != tl_tensor_device_index (out)) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "comm %s: allgather from a tensor on cuda:%d into a tensor on cuda:%d (use the "
                 "same device)",
                 comm->backend->name, tl_tensor_device_index (in),
                 tl_tensor_device_index (out));
    return FALSE;
  }
  if (tl_tensor_dtype (in) != tl_tensor_dtype (out) ||
      tl_tensor_numel (out) != tl_tensor_numel (in) * comm->size) {
    g_autofree char *a = NULL, *b = NULL;
    TlTensorDesc d;
    tl_tensor_get_desc (in, &d);
    a = tl_tensor_desc_to_string (&d);
    tl_tensor_get_desc (out, &d);
    b = tl_tensor_desc_to_string (&d);
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                 "comm %s: allgather of %s needs an output of %d x that many elements of the "
                 "same dtype, not %s",
                 comm->backend->name, a, comm->size, b);
    return FALSE;
  }
  return route_local (comm, in, "allgather", error) &&
         route_local (comm, out, "allgather", error);
}

/**
 * tl_comm_allgather:
 * @comm: communicator
 * @in: this rank's part
 * @out: (out caller-allocates): size x numel(in) elements of in's dtype
 *   (any shape) on the same device type as @in, receives the parts of
 *   ranks 0, 1, ... in order
 * @error: return location for a #GError
 *
 * Returns: TRUE on success
 */
gboolean
tl_comm_allgather (TlComm *comm, const TlTensor *in, TlTensor *out, GError **error)
{
  g_return_val_if_fail (comm != NULL && in != NULL && out != NULL, FALSE);
  GError *local = NULL;
  allgather_args_ok (comm, in, out, &local);
  if (!check_call (comm, CHECK_ALLGATHER, in, 0, 0, local, error))
    return FALSE;
  TlComm *via = route_via (comm, in, "allgather", error); /* out's too: the same device */
  if (!via)
    return FALSE;
  g_autoptr (TlTensor) ci = contiguous_of ((TlTensor *) in, error);
  if (!ci)
    return FALSE;
  g_autoptr (TlTensor) co = contiguous_of (out, error);
  if (!co)
    return FALSE;
  if (!via->backend->allgather (via, tl_tensor_const_data (ci), tl_tensor_data (co),
                                tl_tensor_nbytes (ci), error))
    return FALSE;
  return write_back (out, co, error);
}

static gboolean
check_tag (const TlComm *comm, int tag, const char *what, GError **error)
{
  if (tag < 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "comm %s: %s: negative tag %d",
                 comm->backend->name, what, tag);
    return FALSE;
  }
  return TRUE;
}

/**
 * tl_comm_send:
 * @comm: communicator
 * @t: the data (borrowed; CPU or contiguous CUDA tensor)
 * @dest: receiving rank
 * @tag: a non-negative tag the matching tl_comm_recv() names
 * @error: return location for a #GError
 *
 * Sends @t's values; may block until @dest receives them. Over NCCL (CUDA
 * tensors) sends and receives between two ranks match in order: the
 * receiver checks the tag and size, and both fail when they differ.
 * TL_COMM_CHECK does not check sends and receives (over MPI a receive of
 * another byte size than the send fails by itself).
 *
 * Returns: TRUE on success
 */
gboolean
tl_comm_send (TlComm *comm, const TlTensor *t, int dest, int tag, GError **error)
{
  g_return_val_if_fail (comm != NULL && t != NULL, FALSE);
  if (!check_rank (comm, dest, "send", error) || !check_tag (comm, tag, "send", error) ||
      !route_local (comm, t, "send", error))
    return FALSE;
  TlComm *via = NULL;
  g_autoptr (TlTensor) c = routed_contiguous (comm, t, "send", &via, error);
  if (!c)
    return FALSE;
  return via->backend->send (via, tl_tensor_const_data (c), tl_tensor_nbytes (c), dest, tag,
                             error);
}

/**
 * tl_comm_recv:
 * @comm: communicator
 * @t: (inout): receives the values; its byte size must match the send's
 *   (CPU or contiguous CUDA tensor)
 * @src: sending rank
 * @tag: the send's tag
 * @error: return location for a #GError
 *
 * Returns: TRUE on success
 */
gboolean
tl_comm_recv (TlComm *comm, TlTensor *t, int src, int tag, GError **error)
{
  g_return_val_if_fail (comm != NULL && t != NULL, FALSE);
  if (!check_rank (comm, src, "recv", error) || !check_tag (comm, tag, "recv", error) ||
      !route_local (comm, t, "recv", error))
    return FALSE;
  TlComm *via = NULL;
  g_autoptr (TlTensor) c = routed_contiguous (comm, t, "recv", &via, error);
  if (!c)
    return FALSE;
  if (!via->backend->recv (via, tl_tensor_data (c), tl_tensor_nbytes (c), src, tag, error))
    return FALSE;
  return write_back (t, c, error);
}

/**
 * tl_comm_barrier:
 * @comm: communicator
 * @error: return location for a #GError
 *
 * Returns once every rank has called it (on an nccl communicator, once the
 * work queued on the current CUDA stream before it has completed too).
 *
 * Returns: TRUE on success
 */
gboolean
tl_comm_barrier (TlComm *comm, GError **error)
{
  g_return_val_if_fail (comm != NULL, FALSE);
  return check_call (comm, CHECK_BARRIER, NULL, 0, 0, NULL, error) &&
         comm->backend->barrier (comm, error);
}

/**
 * tl_comm_abort:
 * @comm: (nullable): communicator; NULL exits this process only
 * @code: exit status (non-zero)
 * @message: (nullable): one line printed as "tl: rank R: MESSAGE"
 *
 * Ends the whole job: every rank exits with @code. Does not return.
 */
void
tl_comm_abort (TlComm *comm, int code, const char *message)
{
  if (comm && comm->device)
    comm->device->backend->abort (comm->device, code, message);
  if (comm)
    comm->backend->abort (comm, code, message);
  fprintf (stderr, "tl: %s\n", message ? message : "aborted");
  fflush (stderr);
  _exit (code != 0 ? code : 1);
}

/* --- the process default and the trainer's slot ------------------------------- */

static GMutex default_lock;
static TlComm *default_comm;

/**
 * tl_comm_get_default:
 * @error: return location for a #GError
 *
 * The process's communicator, made by tl_comm_new_from_env() on the first
 * successful call and kept until exit.
 *
 * Returns: (transfer none): the communicator, or NULL on error
 */
TlComm *
tl_comm_get_default (GError **error)
{
  g_mutex_lock (&default_lock);
  if (!default_comm)
    default_comm = tl_comm_new_from_env (error);
  TlComm *c = default_comm;
  g_mutex_unlock (&default_lock);
  return c;
}

/**
 * tl_train_config_set_comm:
 * @cfg: a train config
 * @comm: (nullable) (transfer none): the communicator tl_train uses for
 *   data-parallel training; NULL means tl_comm_get_default()
 *
 * Stores @comm in cfg->reserved[0]; it must outlive the tl_train call.
 */
void
tl_train_config_set_comm (TlTrainConfig *cfg, TlComm *comm)
{
  g_return_if_fail (cfg != NULL);
  cfg->reserved[0] = comm;
}

/**
 * tl_train_config_get_comm:
 * @cfg: a train config
 *
 * Returns: (transfer none) (nullable): the communicator set with
 *   tl_train_config_set_comm()
 */
TlComm *
tl_train_config_get_comm (const TlTrainConfig *cfg)
{
  g_return_val_if_fail (cfg != NULL, NULL);
  return cfg->reserved[0];
}
