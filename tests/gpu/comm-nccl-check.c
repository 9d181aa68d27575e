/* comm-nccl-check.c — run by tests/gpu/test-comm-nccl-mpi.sh under mpirun: the
 * "nccl" communicator on several processes.
 *
 *   comm-nccl-check probe         "devices=N" or "nodevice REASON" (no MPI)
 *   comm-nccl-check collectives   every collective on CUDA tensors; prints
 *                                 "rank R of N: ok", or, when NCCL cannot
 *                                 be set up (two ranks on one GPU),
 *                                 "rank R of N: set-up failed: MESSAGE" and
 *                                 exits 3 — the same message on every rank
 *   comm-nccl-check mpi-lazy      an "mpi" communicator given CUDA tensors
 *                                 makes its NCCL communicator on the fly
 *   comm-nccl-check tag-mismatch  rank 0 sends tag 1, rank 1 receives tag
 *                                 2: both fail with a message
 *   comm-nccl-check hang          rank 1 sleeps instead of reducing: rank
 *                                 0 must end the job after TL_COMM_TIMEOUT
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tl/tl.h>

static int failures;

#define CHECK(cond, ...)                                  \
  do {                                                    \
    if (!(cond)) {                                        \
      printf ("rank %d: FAILED %s: ", rank, #cond);       \
      printf (__VA_ARGS__);                               \
      printf ("\n");                                      \
      failures++;                                         \
    }                                                     \
  } while (0)

static int rank = -1;

static TlTensor *
filled (const char *device, TlDType dt, gint64 n, double scale, double shift)
{
  GError *error = NULL;
  gint64 shape[1] = { n };
  g_autoptr (TlTensor) h = tl_tensor_new (dt, 1, shape, &error);
  for (gint64 i = 0; h && i < n; i++)
    tl_tensor_set_flat (h, i, scale * (double) (i % 1000) + shift);
  TlTensor *t = h ? tl_tensor_to_device (h, device, &error) : NULL;
  if (!t) {
    printf ("rank %d: cannot make a %s tensor: %s\n", rank, device, error->message);
    exit (1);
  }
  return t;
}

/* Element i of t is expected to be scale * (i % 1000) + shift. */
static void
expect (const char *what, const TlTensor *t, double scale, double shift)
{
  gint64 n = tl_tensor_numel (t);
  for (gint64 i = 0; i < n; i += 1 + n / 97) {
    double want = scale * (double) (i % 1000) + shift, got = tl_tensor_get_flat (t, i);
    if (fabs (got - want) > 1e-3 * MAX (1.0, fabs (want))) {
      CHECK (FALSE, "%s: element %" G_GINT64_FORMAT " is %g, not %g", what, i, got, want);
      return;
    }
  }
}

static gboolean
ok_or_report (gboolean ok, GError **error, const char *what)
{
  CHECK (ok, "%s: %s", what, *error ? (*error)->message : "?");
  g_clear_error (error);
  return ok;
}

static TlComm *
nccl_comm (const char *backend)
{
  GError *error = NULL;
  TlComm *c = tl_comm_new (backend, &error);
  if (!c) {
    printf ("rank %s of %s: set-up failed: %s\n", g_getenv ("OMPI_COMM_WORLD_RANK"),
            g_getenv ("OMPI_COMM_WORLD_SIZE"), error->message);
    fflush (stdout);
    exit (3);
  }
  rank = tl_comm_rank (c);
  return c;
}

static int
collectives (void)
{
  TlComm *c = nccl_comm ("nccl");
  int n = tl_comm_size (c);
  GError *error = NULL;
  double r = rank;
  /* 4 MB f32: rank r holds i + r; the sum is n*i + n(n-1)/2 */
  g_autoptr (TlTensor) a = filled ("cuda", TL_DTYPE_F32, 1 << 20, 1, r);
  if (ok_or_report (tl_comm_allreduce (c, a, TL_COMM_SUM, &error), &error, "allreduce sum"))
    expect ("allreduce sum", a, n, n * (n - 1) / 2.0);
  g_autoptr (TlTensor) m = filled ("cuda", TL_DTYPE_F64, 1000, 1, r);
  if (ok_or_report (tl_comm_allreduce (c, m, TL_COMM_MEAN, &error), &error, "allreduce mean"))
    expect ("allreduce mean", m, 1, (n - 1) / 2.0);
  g_autoptr (TlTensor) x = filled ("cuda", TL_DTYPE_I64, 1000, 0, 10 * r);
  if (ok_or_report (tl_comm_allreduce (c, x, TL_COMM_MAX, &error), &error, "allreduce max"))
    expect ("allreduce max", x, 0, 10.0 * (n - 1));
  g_autoptr (TlTensor) y = filled ("cuda", TL_DTYPE_I32, 1000, 0, 10 * r + 3);
  if (ok_or_report (tl_comm_allreduce (c, y, TL_COMM_MIN, &error), &error, "allreduce min"))
    expect ("allreduce min", y, 0, 3);
  int root = n - 1;
  g_autoptr (TlTensor) b = filled ("cuda", TL_DTYPE_F32, 5000, 2, r);
  if (ok_or_report (tl_comm_broadcast (c, b, root, &error), &error, "broadcast"))
    expect ("broadcast", b, 2, root);
  g_autoptr (TlTensor) in = filled ("cuda", TL_DTYPE_F32, 100, 0, r + 1);
  g_autoptr (TlTensor) out = filled ("cuda", TL_DTYPE_F32, 100 * n, 0, -1);
  if (ok_or_report (tl_comm_allgather (c, in, out, &error), &error, "allgather"))
    for (int k = 0; k < n; k++) {
      double got = tl_tensor_get_flat (out, 100 * k + 50);
      CHECK (got == k + 1, "allgather: part %d is %g", k, got);
    }
  /* a ring of sends: rank r sends to r+1 and receives from r-1 (even
   * ranks send first so that the ring cannot deadlock) */
  if (n > 1) {
    int next = (rank + 1) % n, prev = (rank + n - 1) % n;
    g_autoptr (TlTensor) s = filled ("cuda", TL_DTYPE_F32, 3000, 1, 100 * r);
    g_autoptr (TlTensor) got = filled ("cuda", TL_DTYPE_F32, 3000, 0, 0);
    gboolean ok;
    if (rank % 2 == 0)
      ok = tl_comm_send (c, s, next, 5, &error) && tl_comm_recv (c, got, prev, 5, &error);
    else
      ok = tl_comm_recv (c, got, prev, 5, &error) && tl_comm_send (c, s, next, 5, &error);
    if (ok_or_report (ok, &error, "send/recv ring"))
      expect ("send/recv ring", got, 1, 100.0 * prev);
  }
  ok_or_report (tl_comm_barrier (c, &error), &error, "barrier");
  /* CPU tensors on the same communicator go over MPI */
  g_autoptr (TlTensor) h = filled ("cpu", TL_DTYPE_F32, 100, 1, r);
  if (ok_or_report (tl_comm_allreduce (c, h, TL_COMM_SUM, &error), &error, "cpu allreduce"))
    expect ("cpu allreduce", h, n, n * (n - 1) / 2.0);
  if (!failures)
    printf ("rank %d of %d: ok\n", rank, n);
  fflush (stdout);
  tl_comm_free (c);
  return failures ? 1 : 0;
}

static int
mpi_lazy (void)
{
  TlComm *c = nccl_comm ("mpi");
  int n = tl_comm_size (c);
  GError *error = NULL;
  g_autoptr (TlTensor) a = filled ("cuda", TL_DTYPE_F32, 4096, 1, rank);
  gboolean ok = tl_comm_allreduce (c, a, TL_COMM_SUM, &error);
  if (!ok) {
    printf ("rank %d of %d: set-up failed: %s\n", rank, n, error->message);
    fflush (stdout);
    exit (3);
  }
  expect ("mpi allreduce of a CUDA tensor", a, n, n * (n - 1) / 2.0);
  if (!failures)
    printf ("rank %d of %d: ok (%s)\n", rank, n, tl_comm_backend (c));
  fflush (stdout);
  tl_comm_free (c);
  return failures ? 1 : 0;
}

static int
tag_mismatch (void)
{
  TlComm *c = nccl_comm ("nccl");
  GError *error = NULL;
  g_autoptr (TlTensor) t = filled ("cuda", TL_DTYPE_F32, 16, 1, 0);
  gboolean ok = rank == 0 ? tl_comm_send (c, t, 1, 1, &error) : tl_comm_recv (c, t, 0, 2, &error);
  CHECK (!ok, "a mismatched send/recv succeeded");
  if (error)
    printf ("rank %d: expected error: %s\n", rank, error->message);
  g_clear_error (&error);
  fflush (stdout);
  tl_comm_free (c);
  return failures ? 1 : 0;
}

static int
hang (void)
{
  TlComm *c = nccl_comm ("nccl");
  GError *error = NULL;
  g_autoptr (TlTensor) t = filled ("cuda", TL_DTYPE_F32, 1024, 1, 0);
  if (rank == 1) {
    g_usleep (120 * G_USEC_PER_SEC);
    return 0;
  }
  gboolean ok = tl_comm_allreduce (c, t, TL_COMM_SUM, &error);
  printf ("rank %d: allreduce returned although rank 1 never joined (%s)\n", rank,
          ok ? "ok" : error->message);
  return 1;
}

int
main (int argc, char **argv)
{
  GError *error = NULL;
  setvbuf (stdout, NULL, _IOLBF, 0);
  if (argc != 2) {
    fprintf (stderr, "usage: %s probe|collectives|mpi-lazy|tag-mismatch|hang\n", argv[0]);
    return 2;
  }
  if (!tl_init (&error)) {
    fprintf (stderr, "tl_init: %s\n", error->message);
    return 1;
  }
  if (g_str_equal (argv[1], "probe")) {
    g_autoptr (GError) why = NULL;
    if (!tl_device_available ("cuda", &why)) {
      printf ("nodevice %s\n", why ? why->message : "?");
      return 0;
    }
    /* count the devices: the highest cuda:N that is available */
    int n = 0;
    for (int i = 0; i < 64; i++) {
      g_autofree char *name = g_strdup_printf ("cuda:%d", i);
      if (!tl_device_available (name, NULL))
        break;
      n = i + 1;
    }
    printf ("devices=%d\n", n);
    return 0;
  }
  if (g_str_equal (argv[1], "collectives"))
    return collectives ();
  if (g_str_equal (argv[1], "mpi-lazy"))
    return mpi_lazy ();
  if (g_str_equal (argv[1], "tag-mismatch"))
    return tag_mismatch ();
  if (g_str_equal (argv[1], "hang"))
    return hang ();
  fprintf (stderr, "unknown mode %s\n", argv[1]);
  return 2;
}
