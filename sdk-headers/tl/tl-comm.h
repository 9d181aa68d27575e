/* tl-comm.h — the communicator: collectives between the processes of a job.
 *
 * One interface, several backends:
 *   "single"  one process (the embedded default): every collective is the
 *             identity, send/recv go through an in-process mailbox.
 *   "mpi"     Open MPI, CPU tensors (built when configure finds Open MPI;
 *             libtl-1 then links libmpi). MPI is initialised on first use
 *             unless the program already did it (and then finalised at
 *             exit by tl).
 *   "nccl"    CUDA tensors over NCCL, ranks set up over MPI (or one rank
 *             without mpirun); CPU tensors go over MPI. Needs the CUDA
 *             backend module built with NCCL and a GPU per rank, else
 *             TL_ERROR_UNSUPPORTED with the reason on every rank.
 *
 * tl_comm_new_from_env() picks "mpi" when the process was started by mpirun
 * (OMPI_COMM_WORLD_SIZE is set) and MPI was built in, else "single"; the
 * environment variable TL_COMM=single|mpi|nccl overrides the choice.
 * Whatever the backend, contiguous CUDA tensors go over NCCL (an "mpi"
 * communicator makes its NCCL communicator on the first one).
 *
 * Failure: a peer that dies ends the whole job (Open MPI's default); a
 * collective that does not complete within TL_COMM_TIMEOUT seconds (default
 * 300, 0 disables) aborts the job with a message naming the operation and
 * the rank (over NCCL too: ncclCommAbort, then the job ends). A rank that
 * fails on its own while its peers go on must end the job with
 * tl_comm_abort(): returning from main instead runs MPI_Finalize at exit,
 * which waits for the peers, so the job would end only at the timeout.
 * Every rank must make the same collectives in the same order, each with
 * the same dtype, element count, op and root; this is not checked (a
 * mismatch gives wrong values, an MPI error or a timeout) unless
 * TL_COMM_CHECK=1, which compares each collective across the ranks first
 * (one small allgather per call) and fails it on every rank with the same
 * one-line TL_ERROR_COMM naming the difference, or the rank that refused
 * its own arguments. The comparisons pair the calls in order, so a rank
 * that skips a collective is caught only when its next call differs from
 * the skipped one (two alike calls are combined). Non-contiguous
 * CPU tensors are handled through a contiguous copy; CUDA tensors must be
 * contiguous.
 *
 *   TlComm *comm = tl_comm_new_from_env (&error);
 *   tl_comm_allreduce (comm, grad, TL_COMM_MEAN, &error);   // in place
 *   if (tl_comm_rank (comm) == 0) write_checkpoint ();
 *   tl_comm_free (comm);
 */
#ifndef TL_COMM_H
#define TL_COMM_H

#include <glib.h>
#include <tl/tl-macros.h>
#include <tl/tl-error.h>
#include <tl/tl-tensor.h>
#include <tl/tl-trainer.h>

TL_BEGIN_DECLS

typedef struct _TlComm TlComm;

/* Reductions of tl_comm_allreduce. MEAN on integer tensors divides the sum
 * by the number of ranks, truncating toward zero. */
typedef enum {
  TL_COMM_SUM = 0,
  TL_COMM_MEAN = 1,
  TL_COMM_MAX = 2,
  TL_COMM_MIN = 3
} TlCommOp;

/* A communicator on `backend` ("single", "mpi", "nccl"); NULL means the same as
 * tl_comm_new_from_env(). TL_ERROR_UNSUPPORTED when the backend was not
 * built, TL_ERROR_COMM when it cannot start. (transfer full) */
TL_API TlComm *tl_comm_new(const char *backend, GError **error);
TL_API TlComm *tl_comm_new_from_env(GError **error);
TL_API void tl_comm_free(TlComm *comm); /* NULL-safe; does not finalise MPI */
/* The process's communicator: made by tl_comm_new_from_env() on the first
 * call and kept until exit (do not free). tl_train uses it when the config
 * names none, so `mpirun -np N tlhost run job.xml` trains data-parallel.
 * (transfer none) */
TL_API TlComm *tl_comm_get_default(GError **error);

TL_API const char *tl_comm_backend(const TlComm *comm); /* "single", "mpi", "nccl" */
TL_API int tl_comm_rank(const TlComm *comm);            /* 0 .. size-1 */
TL_API int tl_comm_size(const TlComm *comm);            /* >= 1 */

/* In place over every rank: f32, f64, i32 or i64 tensors of the same
 * shape on every rank. */
TL_API gboolean tl_comm_allreduce(TlComm *comm, TlTensor *t, TlCommOp op, GError **error);
/* Root's values into t on every rank (any dtype; same shape everywhere). */
TL_API gboolean tl_comm_broadcast(TlComm *comm, TlTensor *t, int root, GError **error);
/* out = the `in` of ranks 0..size-1 concatenated (out has size * numel(in)
 * elements of in's dtype, e.g. shape [size, ...]). */
TL_API gboolean tl_comm_allgather(TlComm *comm, const TlTensor *in, TlTensor *out,
                                  GError **error);
/* Point to point; a recv matches a send of the same tag and byte size.
 * tag >= 0. */
TL_API gboolean tl_comm_send(TlComm *comm, const TlTensor *t, int dest, int tag, GError **error);
TL_API gboolean tl_comm_recv(TlComm *comm, TlTensor *t, int src, int tag, GError **error);
TL_API gboolean tl_comm_barrier(TlComm *comm, GError **error);
/* End the whole job now: prints "tl: rank R: MESSAGE" on stderr and aborts
 * every rank with exit status `code` (the single backend exits the
 * process). Does not return. */
TL_API G_GNUC_NORETURN void tl_comm_abort(TlComm *comm, int code, const char *message);

/* --- data-parallel training ----------------------------------------------
 *
 * tl_train on a communicator of N > 1 ranks: every rank builds its graph
 * for batch_size / N rows (rank r reads rows [r*B/N, (r+1)*B/N) of each
 * global batch of B rows, in the same seeded order on every rank); after
 * each backward the gradients (and the loss) are allreduced, weighted by
 * each rank's share of the batch (the mean when N divides B); parameters are
 * broadcast from rank 0 before the first step. Only rank 0 reports progress
 * and writes checkpoints. The loss must be a mean over the batch rows.
 * On a GPU (device "cuda[:N]") the packed gradients are allreduced on the
 * device over NCCL; when the communicator cannot take device tensors (no
 * NCCL, NCCL refusing the ranks' GPUs) or TL_DP_STAGE=host is set, every
 * rank stages them through host memory instead (rank 0 says which and why).
 *
 * The communicator travels in TlTrainConfig.reserved[0] (ABI 1.0 layout
 * unchanged); NULL there means tl_comm_get_default(). comm is borrowed and
 * must outlive the tl_train call. */
TL_API void tl_train_config_set_comm(TlTrainConfig *cfg, TlComm *comm);
TL_API TlComm *tl_train_config_get_comm(const TlTrainConfig *cfg); /* nullable, borrowed */

/* After a tl_train, tl_evaluate or tl_predict failed with
 * TL_ERROR_CANCELLED: TRUE when every rank stopped after the same training
 * step (in a data-parallel tl_train a stop asked on any rank travels with
 * the step's loss allreduce; rank 0 wrote last.safetensors), so each rank
 * may return normally; FALSE when this process stopped alone (a
 * single-process run, tl_evaluate, tl_predict): with several ranks, end the
 * job with tl_comm_abort() so that no peer waits for it in a collective.
 * Process-wide, like tl_trainer_request_stop(); cleared when tl_train
 * starts and when a tl_evaluate or tl_predict is cancelled. */
TL_API gboolean tl_train_stop_was_agreed(void);

TL_END_DECLS

#endif /* TL_COMM_H */
