/* comm.c — the communicator interface and the "single" backend.
 *
 * The public calls check their tensors (CPU, dtype, sizes), make them
 * contiguous (through a copy that is written back when the tensor is not)
 * and hand plain buffers to the backend table (comm-private.h). MEAN is a
 * SUM followed by a division here, so every backend reduces the same way.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "comm-private.h"

/* --- the single backend ---------------------------------------------------- */

typedef struct {
  int tag;
  GBytes *data;
} SingleMsg;

typedef struct {
  GQueue mailbox; /* SingleMsg*, sent to ourselves and not yet received */
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

static void
single_free (TlComm *c)
{
  SingleState *st = c->impl;
  SingleMsg *m;
  while ((m = g_queue_pop_head (&st->mailbox))) {
    g_bytes_unref (m->data);
    g_free (m);
  }
  g_free (st);
}

static const TlCommBackend single_backend = {
  .name = "single",
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
  TlComm *c = g_new0 (TlComm, 1);
  SingleState *st = g_new0 (SingleState, 1);
  g_queue_init (&st->mailbox);
  c->backend = &single_backend;
  c->rank = 0;
  c->size = 1;
  c->impl = st;
  return c;
}

/* --- construction ------------------------------------------------------------ */

/**
 * tl_comm_new:
 * @backend: (nullable): "single" or "mpi"; NULL chooses like
 *   tl_comm_new_from_env()
 * @error: return location for a #GError
 *
 * Creates a communicator. "mpi" initialises MPI when the program has not
 * (and finalises it at exit); TL_ERROR_UNSUPPORTED when libtl was built
 * without that backend.
 *
 * Returns: (transfer full): the communicator, or NULL on error
 */
TlComm *
tl_comm_new (const char *backend, GError **error)
{
  if (!backend)
    return tl_comm_new_from_env (error);
  if (g_str_equal (backend, "single"))
    return single_new ();
  if (g_str_equal (backend, "mpi")) {
#ifdef TL_HAVE_MPI
    return _tl_priv_comm_mpi_new (error);
#else
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "comm: this libtl was built without MPI (configure --with-mpi)");
    return NULL;
#endif
  }
  if (g_str_equal (backend, "nccl")) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "comm: the nccl backend is not built in this libtl");
    return NULL;
  }
  g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
               "comm: unknown backend \"%s\" (single, mpi)", backend);
  return NULL;
}

/**
 * tl_comm_new_from_env:
 * @error: return location for a #GError
 *
 * The communicator this process was launched for: TL_COMM=single|mpi when
 * set; else "mpi" when started by mpirun (OMPI_COMM_WORLD_SIZE is set) and
 * MPI is built in; else "single". Started by mpirun for several processes
 * without MPI built in is an error (each process would train alone and
 * write the same outputs).
 *
 * Returns: (transfer full): the communicator, or NULL on error
 */
TlComm *
tl_comm_new_from_env (GError **error)
{
  const char *forced = g_getenv ("TL_COMM");
  if (forced && *forced)
    return tl_comm_new (forced, error);
  const char *world = g_getenv ("OMPI_COMM_WORLD_SIZE");
  if (!world || !*world)
    return single_new ();
#ifdef TL_HAVE_MPI
  return _tl_priv_comm_mpi_new (error);
#else
  if (g_strcmp0 (world, "1") != 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "comm: started by mpirun (%s processes) but this libtl was built without MPI; "
                 "set TL_COMM=single to run each process alone",
                 world);
    return NULL;
  }
  return single_new ();
#endif
}

/**
 * tl_comm_free:
 * @comm: (nullable) (transfer full): communicator
 *
 * Releases the communicator. MPI itself stays initialised until exit.
 */
void
tl_comm_free (TlComm *comm)
{
  if (!comm)
    return;
  comm->backend->free (comm);
  g_free (comm);
}

/**
 * tl_comm_backend:
 * @comm: communicator
 *
 * Returns: (transfer none): the backend's name
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

static gboolean
check_tensor (const TlComm *comm, const TlTensor *t, const char *what, GError **error)
{
  if (tl_tensor_device (t) != TL_DEVICE_CPU) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "comm %s: %s needs a CPU tensor", comm->backend->name, what);
    return FALSE;
  }
  return TRUE;
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

/* A contiguous tensor with t's values: t itself (new ref) when contiguous. */
static TlTensor *
contiguous_of (TlTensor *t, GError **error)
{
  return tl_tensor_contiguous (t, error);
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

/* --- collectives ------------------------------------------------------------------ */

/**
 * tl_comm_allreduce:
 * @comm: communicator
 * @t: (inout): a CPU tensor (f32, f64, i32 or i64) of the same shape on
 *   every rank; receives the reduction
 * @op: the reduction
 * @error: return location for a #GError
 *
 * Reduces @t element-wise over all ranks, in place. Every rank must call it
 * with the same shape, dtype and op.
 *
 * Returns: TRUE on success
 */
gboolean
tl_comm_allreduce (TlComm *comm, TlTensor *t, TlCommOp op, GError **error)
{
  g_return_val_if_fail (comm != NULL && t != NULL, FALSE);
  if (!check_tensor (comm, t, "allreduce", error))
    return FALSE;
  TlDType dt = tl_tensor_dtype (t);
  if (dt != TL_DTYPE_F32 && dt != TL_DTYPE_F64 && dt != TL_DTYPE_I32 && dt != TL_DTYPE_I64) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "comm %s: allreduce of %s tensors (f32, f64, i32, i64)", comm->backend->name,
                 tl_dtype_name (dt));
    return FALSE;
  }
  if ((int) op < TL_COMM_SUM || (int) op > TL_COMM_MIN) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "comm %s: unknown reduction %d",
                 comm->backend->name, (int) op);
    return FALSE;
  }
  g_autoptr (TlTensor) c = contiguous_of (t, error);
  if (!c)
    return FALSE;
  gint64 n = tl_tensor_numel (c);
  if (!comm->backend->allreduce (comm, tl_tensor_data (c), n, dt,
                                 op == TL_COMM_MEAN ? TL_COMM_SUM : op, error))
    return FALSE;
  if (op == TL_COMM_MEAN && comm->size > 1)
    divide (tl_tensor_data (c), n, dt, comm->size);
  return write_back (t, c, error);
}

/**
 * tl_comm_broadcast:
 * @comm: communicator
 * @t: (inout): the data on @root; receives it on the other ranks
 * @root: the sending rank
 * @error: return location for a #GError
 *
 * Returns: TRUE on success
 */
gboolean
tl_comm_broadcast (TlComm *comm, TlTensor *t, int root, GError **error)
{
  g_return_val_if_fail (comm != NULL && t != NULL, FALSE);
  if (!check_tensor (comm, t, "broadcast", error) || !check_rank (comm, root, "broadcast", error))
    return FALSE;
  g_autoptr (TlTensor) c = contiguous_of (t, error);
  if (!c)
    return FALSE;
  if (!comm->backend->broadcast (comm, tl_tensor_data (c), tl_tensor_nbytes (c), root, error))
    return FALSE;
  return write_back (t, c, error);
}

/**
 * tl_comm_allgather:
 * @comm: communicator
 * @in: this rank's part
 * @out: (out caller-allocates): size x numel(in) elements of in's dtype
 *   (any shape), receives the parts of ranks 0, 1, ... in order
 * @error: return location for a #GError
 *
 * Returns: TRUE on success
 */
gboolean
tl_comm_allgather (TlComm *comm, const TlTensor *in, TlTensor *out, GError **error)
{
  g_return_val_if_fail (comm != NULL && in != NULL && out != NULL, FALSE);
  if (!check_tensor (comm, in, "allgather", error) ||
      !check_tensor (comm, out, "allgather", error))
    return FALSE;
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
  g_autoptr (TlTensor) ci = contiguous_of ((TlTensor *) in, error);
  if (!ci)
    return FALSE;
  g_autoptr (TlTensor) co = contiguous_of (out, error);
  if (!co)
    return FALSE;
  if (!comm->backend->allgather (comm, tl_tensor_const_data (ci), tl_tensor_data (co),
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
 * @t: the data (borrowed)
 * @dest: receiving rank
 * @tag: a non-negative tag the matching tl_comm_recv() names
 * @error: return location for a #GError
 *
 * Sends @t's values; may block until @dest receives them.
 *
 * Returns: TRUE on success
 */
gboolean
tl_comm_send (TlComm *comm, const TlTensor *t, int dest, int tag, GError **error)
{
  g_return_val_if_fail (comm != NULL && t != NULL, FALSE);
  if (!check_tensor (comm, t, "send", error) || !check_rank (comm, dest, "send", error) ||
      !check_tag (comm, tag, "send", error))
    return FALSE;
  g_autoptr (TlTensor) c = contiguous_of ((TlTensor *) t, error);
  if (!c)
    return FALSE;
  return comm->backend->send (comm, tl_tensor_const_data (c), tl_tensor_nbytes (c), dest, tag,
                              error);
}

/**
 * tl_comm_recv:
 * @comm: communicator
 * @t: (inout): receives the values; its byte size must match the send's
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
  if (!check_tensor (comm, t, "recv", error) || !check_rank (comm, src, "recv", error) ||
      !check_tag (comm, tag, "recv", error))
    return FALSE;
  g_autoptr (TlTensor) c = contiguous_of (t, error);
  if (!c)
    return FALSE;
  if (!comm->backend->recv (comm, tl_tensor_data (c), tl_tensor_nbytes (c), src, tag, error))
    return FALSE;
  return write_back (t, c, error);
}

/**
 * tl_comm_barrier:
 * @comm: communicator
 * @error: return location for a #GError
 *
 * Returns once every rank has called it. Returns: TRUE on success
 */
gboolean
tl_comm_barrier (TlComm *comm, GError **error)
{
  g_return_val_if_fail (comm != NULL, FALSE);
  return comm->backend->barrier (comm, error);
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
