/* comm-mpi-check.c — run under mpirun by test-comm-mpi.sh.
 *
 *   comm-mpi-check collectives   every collective's values checked on every
 *                                rank; prints "rank R of N: ok", exit 0
 *   comm-mpi-check dead-peer     rank 1 exits abruptly while rank 0 waits in
 *                                an allreduce: the job must end, non-zero
 *   comm-mpi-check hang          rank 1 sleeps while rank 0 waits: the
 *                                TL_COMM_TIMEOUT watchdog must abort the job
 *   comm-mpi-check mismatch CASE with TL_COMM_CHECK=1: the last rank makes
 *                                a collective that differs from the others'
 *                                (CASE: count, op, dtype, root, kind,
 *                                allgather, refused) between two matching
 *                                ones; prints each rank's error, then "in
 *                                step" when the next collective works; exit 1.
 *                                CUDA cases, on the mock backend with
 *                                TL_MOCK_CUDA_DEVICES=2 (rank R's tensors on
 *                                cuda:R%2, the last rank refuses its own):
 *                                cuda-device (TL_COMM=nccl: a tensor on the
 *                                other device than its communicator's),
 *                                mpi-cuda-device (mpi: the same after a CUDA
 *                                allreduce made the NCCL communicator),
 *                                cuda-allgather (mpi: in and out on two
 *                                devices)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tl/tl.h>

static int failures;

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      fprintf (stderr, "rank %d: check failed at line %d: %s\n", rank, __LINE__, #cond); \
      failures++;                                                                    \
    }                                                                                \
  } while (0)

static int rank, size;

static TlTensor *
vec (TlDType dt, gint64 n, double base)
{
  gint64 shape[1] = {n};
  TlTensor *t = tl_tensor_new (dt, 1, shape, NULL);
  for (gint64 i = 0; i < n; i++)
    tl_tensor_set_flat (t, i, base + (double) i);
  return t;
}

/* ok: a call's result; *error: its error, read here (after the call: an
 * argument `error` would be read in an unspecified order with the call). */
static void
ok_or_fail (gboolean ok, GError **error, const char *what)
{
  if (!ok) {
    fprintf (stderr, "rank %d: %s: %s\n", rank, what, *error ? (*error)->message : "?");
    failures++;
  }
  g_clear_error (error);
}

static void
collectives (TlComm *c)
{
  GError *error = NULL;
  const gint64 n = 1000;
  TlDType dts[4] = {TL_DTYPE_F32, TL_DTYPE_F64, TL_DTYPE_I32, TL_DTYPE_I64};
  double ranks_sum = size * (size - 1) / 2.0;
  for (int d = 0; d < 4; d++) {
    /* rank r holds 10 r + i */
    TlTensor *t = vec (dts[d], n, 10.0 * rank);
    ok_or_fail (tl_comm_allreduce (c, t, TL_COMM_SUM, &error), &error, "allreduce sum");
    for (gint64 i = 0; i < n; i++)
      CHECK (tl_tensor_get_flat (t, i) == 10.0 * ranks_sum + size * (double) i);
    tl_tensor_unref (t);
    t = vec (dts[d], n, 10.0 * rank);
    ok_or_fail (tl_comm_allreduce (c, t, TL_COMM_MAX, &error), &error, "allreduce max");
    for (gint64 i = 0; i < n; i++)
      CHECK (tl_tensor_get_flat (t, i) == 10.0 * (size - 1) + (double) i);
    tl_tensor_unref (t);
    t = vec (dts[d], n, 10.0 * rank);
    ok_or_fail (tl_comm_allreduce (c, t, TL_COMM_MIN, &error), &error, "allreduce min");
    for (gint64 i = 0; i < n; i++)
      CHECK (tl_tensor_get_flat (t, i) == (double) i);
    tl_tensor_unref (t);
    t = vec (dts[d], n, 10.0 * rank);
    ok_or_fail (tl_comm_allreduce (c, t, TL_COMM_MEAN, &error), &error, "allreduce mean");
    for (gint64 i = 0; i < n; i++) {
      double want = (10.0 * ranks_sum + size * (double) i) / size;
      if (dts[d] == TL_DTYPE_I32 || dts[d] == TL_DTYPE_I64)
        want = (double) (gint64) want;
      CHECK (tl_tensor_get_flat (t, i) == want);
    }
    tl_tensor_unref (t);
  }
  /* broadcast from the last rank */
  TlTensor *b = vec (TL_DTYPE_F64, n, rank == size - 1 ? 0.5 : -1.0);
  ok_or_fail (tl_comm_broadcast (c, b, size - 1, &error), &error, "broadcast");
  for (gint64 i = 0; i < n; i++)
    CHECK (tl_tensor_get_flat (b, i) == 0.5 + (double) i);
  tl_tensor_unref (b);
  /* allgather: [size, 3] */
  TlTensor *in = vec (TL_DTYPE_I64, 3, 100.0 * rank);
  gint64 oshape[2] = {size, 3};
  TlTensor *out = tl_tensor_new (TL_DTYPE_I64, 2, oshape, NULL);
  ok_or_fail (tl_comm_allgather (c, in, out, &error), &error, "allgather");
  for (int r = 0; r < size; r++)
    for (int i = 0; i < 3; i++)
      CHECK (tl_tensor_get_flat (out, r * 3 + i) == 100.0 * r + i);
  tl_tensor_unref (in);
  tl_tensor_unref (out);
  /* ring of tagged messages: send to rank+1, receive from rank-1; two tags
   * sent in one order and received in the other */
  if (size > 1) {
    int next = (rank + 1) % size, prev = (rank + size - 1) % size;
    TlTensor *s1 = vec (TL_DTYPE_F32, 8, 1000.0 * rank + 1);
    TlTensor *s2 = vec (TL_DTYPE_F32, 4, 1000.0 * rank + 2);
    TlTensor *r1 = vec (TL_DTYPE_F32, 8, 0);
    TlTensor *r2 = vec (TL_DTYPE_F32, 4, 0);
    if (rank % 2 == 0) {
      ok_or_fail (tl_comm_send (c, s1, next, 11, &error), &error, "send 11");
      ok_or_fail (tl_comm_send (c, s2, next, 22, &error), &error, "send 22");
      ok_or_fail (tl_comm_recv (c, r2, prev, 22, &error), &error, "recv 22");
      ok_or_fail (tl_comm_recv (c, r1, prev, 11, &error), &error, "recv 11");
    } else {
      ok_or_fail (tl_comm_recv (c, r2, prev, 22, &error), &error, "recv 22");
      ok_or_fail (tl_comm_recv (c, r1, prev, 11, &error), &error, "recv 11");
      ok_or_fail (tl_comm_send (c, s1, next, 11, &error), &error, "send 11");
      ok_or_fail (tl_comm_send (c, s2, next, 22, &error), &error, "send 22");
    }
    for (int i = 0; i < 8; i++)
      CHECK (tl_tensor_get_flat (r1, i) == 1000.0 * prev + 1 + i);
    for (int i = 0; i < 4; i++)
      CHECK (tl_tensor_get_flat (r2, i) == 1000.0 * prev + 2 + i);
    tl_tensor_unref (s1);
    tl_tensor_unref (s2);
    tl_tensor_unref (r1);
    tl_tensor_unref (r2);
  }
  ok_or_fail (tl_comm_barrier (c, &error), &error, "barrier");
  /* an MPI error (message larger than the receive buffer) is a GError */
  if (size > 1) {
    TlTensor *big = vec (TL_DTYPE_F64, 16, 0), *small = vec (TL_DTYPE_F64, 2, 0);
    if (rank == 0) {
      ok_or_fail (tl_comm_send (c, big, 1, 5, &error), &error, "send big");
    } else if (rank == 1) {
      CHECK (!tl_comm_recv (c, small, 0, 5, &error));
      CHECK (error && error->domain == TL_ERROR && error->code == TL_ERROR_COMM);
      if (error)
        printf ("rank 1: expected error: %s\n", error->message);
      g_clear_error (&error);
    }
    tl_tensor_unref (big);
    tl_tensor_unref (small);
    ok_or_fail (tl_comm_barrier (c, &error), &error, "barrier 2");
  }
}

/* t moved to the mock device cuda:(index % 2) (consumes t); NULL on error. */
static TlTensor *
on_cuda (TlTensor *t, int index, GError **error)
{
  g_autofree char *dev = g_strdup_printf ("cuda:%d", index % 2);
  TlTensor *d = tl_tensor_to_device (t, dev, error);
  tl_tensor_unref (t);
  return d;
}

/* The CUDA cases of mismatched_call (see the top of this file). */
static int
mismatched_cuda_call (TlComm *c, const char *what, gboolean other, GError **error)
{
  int ok = -1;
  TlTensor *t = NULL;
  if (strcmp (what, "cuda-device") == 0) {
    t = on_cuda (vec (TL_DTYPE_F32, 16, 0), other ? rank + 1 : rank, error);
    ok = t && tl_comm_allreduce (c, t, TL_COMM_SUM, error);
  } else if (strcmp (what, "mpi-cuda-device") == 0) {
    t = on_cuda (vec (TL_DTYPE_F32, 16, 0), rank, error);
    ok = t && tl_comm_allreduce (c, t, TL_COMM_SUM, error); /* makes the NCCL communicator */
    if (t)
      tl_tensor_unref (t);
    t = ok ? on_cuda (vec (TL_DTYPE_F32, 16, 0), other ? rank + 1 : rank, error) : NULL;
    ok = t && tl_comm_allreduce (c, t, TL_COMM_SUM, error);
  } else if (strcmp (what, "cuda-allgather") == 0) {
    gint64 oshape[1] = {size * 3};
    t = on_cuda (vec (TL_DTYPE_I64, 3, 0), rank, error);
    TlTensor *out = t ? on_cuda (tl_tensor_new (TL_DTYPE_I64, 1, oshape, NULL),
                                 other ? rank + 1 : rank, error)
                      : NULL;
    ok = out && tl_comm_allgather (c, t, out, error);
    if (out)
      tl_tensor_unref (out);
  }
  if (t)
    tl_tensor_unref (t);
  return ok;
}

/* The differing call of `mismatch` (other: this rank is the one that
 * differs); FALSE with error when it failed, -1 for an unknown case. */
static int
mismatched_call (TlComm *c, const char *what, gboolean other, GError **error)
{
  int ok = -1;
  TlTensor *t = NULL;
  if (strcmp (what, "count") == 0) {
    t = vec (TL_DTYPE_F32, other ? 512 : 1024, 0);
    ok = tl_comm_allreduce (c, t, TL_COMM_SUM, error);
  } else if (strcmp (what, "op") == 0) {
    t = vec (TL_DTYPE_F32, 16, 0);
    ok = tl_comm_allreduce (c, t, other ? TL_COMM_MAX : TL_COMM_SUM, error);
  } else if (strcmp (what, "dtype") == 0) {
    t = vec (other ? TL_DTYPE_F64 : TL_DTYPE_F32, 16, 0);
    ok = tl_comm_allreduce (c, t, TL_COMM_SUM, error);
  } else if (strcmp (what, "root") == 0) {
    t = vec (TL_DTYPE_F64, 16, 0);
    ok = tl_comm_broadcast (c, t, other ? 1 : 0, error);
  } else if (strcmp (what, "kind") == 0) {
    t = vec (TL_DTYPE_F32, 16, 0);
    ok = other ? tl_comm_allreduce (c, t, TL_COMM_SUM, error) : tl_comm_barrier (c, error);
  } else if (strcmp (what, "allgather") == 0) {
    gint64 n = other ? 4 : 3, oshape[1] = {size * n};
    TlTensor *out = tl_tensor_new (TL_DTYPE_I64, 1, oshape, NULL);
    t = vec (TL_DTYPE_I64, n, 0);
    ok = tl_comm_allgather (c, t, out, error);
    tl_tensor_unref (out);
  } else if (strcmp (what, "refused") == 0) {
    t = vec (TL_DTYPE_F32, 16, 0);
    ok = tl_comm_allreduce (c, t, other ? (TlCommOp) 42 : TL_COMM_SUM, error);
  }
  if (t)
    tl_tensor_unref (t);
  return ok >= 0 ? ok : mismatched_cuda_call (c, what, other, error);
}

static int
mismatch (TlComm *c, const char *what)
{
  GError *error = NULL;
  TlTensor *t = vec (TL_DTYPE_F32, 4, rank);
  ok_or_fail (tl_comm_allreduce (c, t, TL_COMM_SUM, &error), &error, "first allreduce");
  tl_tensor_unref (t);
  int ok = mismatched_call (c, what, rank == size - 1, &error);
  if (ok < 0) {
    fprintf (stderr, "comm-mpi-check: unknown mismatch case \"%s\"\n", what);
    return 2;
  }
  if (ok) {
    printf ("rank %d: the mismatched call succeeded\n", rank);
  } else if (error->domain == TL_ERROR && error->code == TL_ERROR_COMM) {
    printf ("rank %d: error COMM: %s\n", rank, error->message);
  } else if (error->domain == TL_ERROR && error->code == TL_ERROR_INVALID_ARGUMENT) {
    printf ("rank %d: error INVALID_ARGUMENT: %s\n", rank, error->message);
  } else if (error->domain == TL_ERROR && error->code == TL_ERROR_UNSUPPORTED) {
    printf ("rank %d: error UNSUPPORTED: %s\n", rank, error->message);
  } else {
    printf ("rank %d: error %d: %s\n", rank, error->code, error->message);
  }
  g_clear_error (&error);
  /* the ranks are still in step: the next collective works */
  t = vec (TL_DTYPE_F32, 4, rank);
  int before = failures;
  ok_or_fail (tl_comm_allreduce (c, t, TL_COMM_SUM, &error), &error, "allreduce after");
  for (gint64 i = 0; i < 4; i++)
    CHECK (tl_tensor_get_flat (t, i) == size * (size - 1) / 2.0 + size * (double) i);
  tl_tensor_unref (t);
  if (failures == before)
    printf ("rank %d: in step after the mismatch\n", rank);
  fflush (stdout);
  tl_comm_free (c);
  return 1;
}

int
main (int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "collectives";
  GError *error = NULL;
  TlComm *c = tl_comm_new_from_env (&error);
  if (!c) {
    fprintf (stderr, "comm-mpi-check: %s\n", error->message);
    return 2;
  }
  rank = tl_comm_rank (c);
  size = tl_comm_size (c);
  if (strcmp (mode, "collectives") == 0) {
    if (strcmp (tl_comm_backend (c), "mpi") != 0 || size < 2) {
      fprintf (stderr, "expected the mpi backend with >= 2 ranks, got %s with %d\n",
               tl_comm_backend (c), size);
      return 2;
    }
    collectives (c);
    printf ("rank %d of %d: %s\n", rank, size, failures ? "FAILED" : "ok");
    tl_comm_free (c);
    return failures ? 1 : 0;
  }
  if (strcmp (mode, "mismatch") == 0)
    return mismatch (c, argc > 2 ? argv[2] : "");
  TlTensor *t = vec (TL_DTYPE_F32, 4, 0);
  ok_or_fail (tl_comm_allreduce (c, t, TL_COMM_SUM, &error), &error, "allreduce");
  fflush (stdout);
  if (rank == 1) {
    if (strcmp (mode, "dead-peer") == 0)
      _exit (3); /* abruptly: no finalize, no goodbye */
    sleep (120);   /* hang */
  }
  for (int i = 0; i < 10; i++)
    ok_or_fail (tl_comm_allreduce (c, t, TL_COMM_SUM, &error), &error, "allreduce");
  printf ("rank %d: the collective returned although rank 1 is gone\n", rank);
  tl_tensor_unref (t);
  tl_comm_free (c);
  return 0;
}
