/* bench-allreduce.c — issue 4 (c): allreduce bandwidth through the
 * communicator (tl_comm_allreduce, "mpi" backend) against MPI_Allreduce
 * called directly, on f32 buffers of 1 MB to 64 MB. Run under
 * `mpirun -np 2` (benchmarks/run-allreduce.sh). Rank 0 prints
 *   BENCH allreduce bytes=N ranks=R tl_gbps=X mpi_gbps=Y ratio=<tl/mpi> better=higher
 * where gbps is the buffer size in GB (1e9 bytes) over the median time of
 * one allreduce on rank 0 (tl and MPI calls interleaved one by one, each
 * after a barrier, so that both see the same load on a busy machine).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <mpi.h>
#include <tl/tl.h>

/* One call of each kind, timed alone after a barrier (seconds). */
static double
time_tl (TlComm *comm, TlTensor *t)
{
  GError *error = NULL;
  MPI_Barrier (MPI_COMM_WORLD);
  double t0 = MPI_Wtime ();
  if (!tl_comm_allreduce (comm, t, TL_COMM_SUM, &error)) {
    fprintf (stderr, "bench-allreduce: %s\n", error->message);
    exit (1);
  }
  return MPI_Wtime () - t0;
}

static double
time_mpi (float *buf, int count)
{
  MPI_Barrier (MPI_COMM_WORLD);
  double t0 = MPI_Wtime ();
  if (MPI_Allreduce (MPI_IN_PLACE, buf, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS) {
    fprintf (stderr, "bench-allreduce: MPI_Allreduce failed\n");
    exit (1);
  }
  return MPI_Wtime () - t0;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
median (double *v, int n)
{
  qsort (v, (size_t) n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int
main (int argc, char **argv)
{
  GError *error = NULL;
  /* tl initialises MPI (MPI_THREAD_MULTIPLE, for its watchdog); the direct
   * calls below run in the same process, so both sides share that level. */
  TlComm *comm = tl_comm_new ("mpi", &error);
  if (!comm) {
    fprintf (stderr, "bench-allreduce: %s\n", error->message);
    return 1;
  }
  int rank = tl_comm_rank (comm), size = tl_comm_size (comm);
  if (rank == 0 && size < 2)
    fprintf (stderr, "bench-allreduce: run it under mpirun -np 2 (1 rank measures nothing)\n");
  for (gint64 mb = 1; mb <= 64; mb *= 4) {
    gint64 bytes = mb << 20;
    gint64 n = bytes / 4;
    TlTensor *t = tl_tensor_new (TL_DTYPE_F32, 1, &n, &error);
    float *raw = malloc ((size_t) bytes);
    if (!t || !raw) {
      fprintf (stderr, "bench-allreduce: out of memory\n");
      return 1;
    }
    float *p = tl_tensor_data (t);
    for (gint64 i = 0; i < n; i++)
      p[i] = raw[i] = 1e-3f * (float) (i % 1000);
    /* Samples alternate one tl call and one MPI call (the order flipping
     * each time), so both see the same machine load; the median of each. */
    int samples = (int) CLAMP ((512 << 20) / bytes, 15, 101);
    double *ts = g_new (double, samples), *ms = g_new (double, samples);
    time_tl (comm, t); /* warm up both paths */
    time_mpi (raw, (int) n);
    for (int i = 0; i < samples; i++) {
      if (i % 2 == 0) {
        ts[i] = time_tl (comm, t);
        ms[i] = time_mpi (raw, (int) n);
      } else {
        ms[i] = time_mpi (raw, (int) n);
        ts[i] = time_tl (comm, t);
      }
    }
    double best_tl = median (ts, samples), best_mpi = median (ms, samples);
    g_free (ts);
    g_free (ms);
    if (rank == 0) {
      double tl_gbps = (double) bytes / 1e9 / best_tl, mpi_gbps = (double) bytes / 1e9 / best_mpi;
      printf ("BENCH allreduce bytes=%" G_GINT64_FORMAT " ranks=%d tl_gbps=%.3f mpi_gbps=%.3f "
              "ratio=%.3f better=higher\n",
              bytes, size, tl_gbps, mpi_gbps, tl_gbps / mpi_gbps);
      fflush (stdout);
    }
    free (raw);
    tl_tensor_unref (t);
  }
  tl_comm_free (comm);
  return 0;
}
