/* bench-gpu-allreduce.c — allreduce bandwidth of CUDA tensors through the
 * communicator ("nccl" backend: tl_comm_allreduce) vs ncclAllReduce called
 * directly on a communicator of its own, same ranks, same devices, f32
 * buffers of 1, 4, 16 and 64 MB. Run under mpirun (run-gpu-bench.sh starts
 * one rank per GPU, at most 2); rank 0 prints
 *   BENCH nccl_allreduce bytes=.. ranks=.. tl_gbps=.. nccl_gbps=.. ratio=<tl/nccl> better=higher
 * GB/s is the algorithm bandwidth (bytes / time). Each sample is one tl call
 * and one direct call (enqueue + wait for completion), each after an
 * MPI_Barrier, interleaved; the figure is the median of 21 samples. With
 * one GPU there is one rank: NCCL moves nothing between GPUs and the line
 * measures what the communicator adds per call.
 * Without a usable GPU it prints "SKIP no CUDA device: REASON".
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <cuda_runtime.h>
#include <mpi.h>
/* nccl.h declares a few functions as f() */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <nccl.h>
#pragma GCC diagnostic pop
#include <tl/tl.h>

#define SAMPLES 21

static int rank;

static void
die (const char *what, const char *why)
{
  printf ("bench-gpu-allreduce: rank %d: %s: %s\n", rank, what, why);
  fflush (stdout);
  MPI_Abort (MPI_COMM_WORLD, 1);
  exit (1);
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
  int provided = 0, size = 1;
  MPI_Init_thread (&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  MPI_Comm_rank (MPI_COMM_WORLD, &rank);
  MPI_Comm_size (MPI_COMM_WORLD, &size);
  setvbuf (stdout, NULL, _IOLBF, 0);
  g_autoptr (GError) error = NULL;
  if (!tl_init (&error))
    die ("tl_init", error->message);
  /* every rank must agree on skipping */
  int have = tl_device_available ("cuda", rank == 0 ? &error : NULL) ? 1 : 0, all = 0;
  MPI_Allreduce (&have, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (!all) {
    if (rank == 0)
      printf ("SKIP no CUDA device: %s\n", error ? error->message : "on another rank");
    MPI_Finalize ();
    return 0;
  }
  TlComm *comm = tl_comm_new ("nccl", &error);
  if (!comm)
    die ("tl_comm_new (nccl)", error->message);

  /* the direct anchor: its own NCCL communicator on the device tl chose */
  int dev = 0;
  cudaGetDevice (&dev);
  ncclUniqueId id;
  if (rank == 0 && ncclGetUniqueId (&id) != ncclSuccess)
    die ("ncclGetUniqueId", "failed");
  MPI_Bcast (&id, sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD);
  ncclComm_t nc;
  ncclResult_t r = ncclCommInitRank (&nc, size, id, rank);
  if (r != ncclSuccess)
    die ("ncclCommInitRank", ncclGetErrorString (r));
  cudaStream_t stream;
  if (cudaStreamCreateWithFlags (&stream, cudaStreamNonBlocking) != cudaSuccess)
    die ("cudaStreamCreate", "failed");

  static const gint64 mbytes[] = { 1, 4, 16, 64 };
  for (guint s = 0; s < G_N_ELEMENTS (mbytes); s++) {
    gint64 bytes = mbytes[s] << 20, count = bytes / 4;
    g_autoptr (TlTensor) t = tl_tensor_new_on_device (TL_DTYPE_F32, 1, &count, "cuda", &error);
    if (!t)
      die ("tl_tensor_new_on_device", error->message);
    void *buf = NULL;
    if (cudaMalloc (&buf, (size_t) bytes) != cudaSuccess ||
        cudaMemset (buf, 0, (size_t) bytes) != cudaSuccess)
      die ("cudaMalloc", "failed");
    double tt[SAMPLES], td[SAMPLES];
    for (int i = -3; i < SAMPLES; i++) { /* 3 warm-up samples */
      MPI_Barrier (MPI_COMM_WORLD);
      double t0 = MPI_Wtime ();
      if (!tl_comm_allreduce (comm, t, TL_COMM_SUM, &error))
        die ("tl_comm_allreduce", error->message);
      double t1 = MPI_Wtime ();
      MPI_Barrier (MPI_COMM_WORLD);
      double t2 = MPI_Wtime ();
      r = ncclAllReduce (buf, buf, (size_t) count, ncclFloat32, ncclSum, nc, stream);
      if (r != ncclSuccess)
        die ("ncclAllReduce", ncclGetErrorString (r));
      if (cudaStreamSynchronize (stream) != cudaSuccess)
        die ("cudaStreamSynchronize", "failed");
      double t3 = MPI_Wtime ();
      if (i >= 0) {
        tt[i] = t1 - t0;
        td[i] = t3 - t2;
      }
    }
    cudaFree (buf);
    qsort (tt, SAMPLES, sizeof (double), cmp_double);
    qsort (td, SAMPLES, sizeof (double), cmp_double);
    double gt = bytes / tt[SAMPLES / 2] / 1e9, gd = bytes / td[SAMPLES / 2] / 1e9;
    if (rank == 0)
      printf ("BENCH nccl_allreduce bytes=%" G_GINT64_FORMAT " ranks=%d device=cuda:%d "
              "tl_gbps=%.2f nccl_gbps=%.2f tl_us=%.1f nccl_us=%.1f ratio=%.3f better=higher\n",
              bytes, size, dev, gt, gd, 1e6 * tt[SAMPLES / 2], 1e6 * td[SAMPLES / 2], gt / gd);
  }
  ncclCommDestroy (nc);
  cudaStreamDestroy (stream);
  tl_comm_free (comm);
  MPI_Finalize ();
  return 0;
}
