/* bench-gpu-gemm.c — overhead of the engine around cuBLAS on the GPU: a
 * graph with one "matmul" node run by an executor on device "cuda" vs
 * cublasSgemm called directly on the same operands, same device, same
 * process (TF32 off on both sides). Prints one line per shape:
 *   BENCH gpu_gemm_overhead m=.. n=.. k=.. engine_us=.. direct_us=.. tflops=..
 *     ratio=<engine/direct> better=lower target=1.05
 * A sample is a block of back-to-back calls (about 5 ms of GPU work, at
 * least 20 calls) timed up to the synchronisation that ends it; blocks of
 * the two sides alternate, and the figure is the median per call over 9
 * blocks. The engine's result is checked against cuBLAS's once per shape.
 * Without a usable GPU it prints "SKIP no CUDA device: REASON" and exits 0.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <cuda_runtime.h>
#include <cublas_v2.h>
#include <tl/tl.h>

#define DEVICE "cuda"
#define BLOCKS 9

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static void
die (const char *what, const char *why)
{
  printf ("bench-gpu-gemm: %s: %s\n", what, why);
  fflush (stdout);
  exit (1);
}

static void
check_tl (gboolean ok, GError *error, const char *what)
{
  if (!ok)
    die (what, error ? error->message : "failed");
}

static void
check_cuda (cudaError_t e, const char *what)
{
  if (e != cudaSuccess)
    die (what, cudaGetErrorString (e));
}

static void
check_cublas (cublasStatus_t s, const char *what)
{
  if (s != CUBLAS_STATUS_SUCCESS) {
    char buf[64];
    g_snprintf (buf, sizeof buf, "cuBLAS status %d", (int) s);
    die (what, buf);
  }
}

static TlTensor *
random_on_device (TlRng *rng, gint64 rows, gint64 cols)
{
  GError *error = NULL;
  gint64 shape[2] = { rows, cols };
  g_autoptr (TlTensor) h = tl_tensor_new (TL_DTYPE_F32, 2, shape, &error);
  check_tl (h != NULL, error, "host tensor");
  float *p = tl_tensor_data (h);
  for (gint64 i = 0; i < rows * cols; i++)
    p[i] = (float) tl_rng_uniform (rng) - 0.5f;
  TlTensor *d = tl_tensor_to_device (h, DEVICE, &error);
  check_tl (d != NULL, error, "tl_tensor_to_device");
  return d;
}

static void
bench_shape (cublasHandle_t handle, cudaStream_t stream, gint64 m, gint64 n, gint64 k)
{
  GError *error = NULL;
  TlRng rng;
  tl_rng_init (&rng, 7, 0);
  g_autoptr (TlTensor) a = random_on_device (&rng, m, k);
  g_autoptr (TlTensor) b = random_on_device (&rng, k, n);
  gint64 sc[2] = { m, n };
  g_autoptr (TlTensor) c = tl_tensor_new_on_device (TL_DTYPE_F32, 2, sc, DEVICE, &error);
  check_tl (c != NULL, error, "output tensor");

  TlGraph *g = tl_graph_new ();
  TlValue *av = tl_graph_input (g, "a", TL_DTYPE_F32, 2, (gint64[]){ m, k });
  TlValue *bv = tl_graph_input (g, "b", TL_DTYPE_F32, 2, (gint64[]){ k, n });
  TlValue *cv = tl_matmul (g, av, bv, FALSE, FALSE);
  check_tl (tl_graph_take_error (g, &error), error, "graph");
  TlExecOptions opts;
  tl_exec_options_init (&opts);
  opts.device = DEVICE;
  TlExec *ex = tl_exec_new (g, 1, &cv, &opts, &error);
  check_tl (ex != NULL, error, "tl_exec_new");
  check_tl (tl_exec_set_input (ex, "a", a, &error), error, "set_input a");
  check_tl (tl_exec_set_input (ex, "b", b, &error), error, "set_input b");

  const float one = 1.0f, zero = 0.0f;
  const float *pa = tl_tensor_const_data (a), *pb = tl_tensor_const_data (b);
  float *pc = tl_tensor_data (c);
  double flops = 2.0 * m * n * k;
  /* about 5 ms of work at ~40 TFLOP/s, at least 20 calls */
  int per_block = (int) CLAMP (2e11 / flops, 20, 2000);

  /* warm-up (and the result check) */
  for (int w = 0; w < 3; w++) {
    check_tl (tl_exec_run (ex, 0, &error), error, "tl_exec_run");
    check_cublas (cublasSgemm (handle, CUBLAS_OP_N, CUBLAS_OP_N, (int) n, (int) m, (int) k, &one,
                               pb, (int) n, pa, (int) k, &zero, pc, (int) n),
                  "cublasSgemm");
  }
  check_cuda (cudaStreamSynchronize (stream), "cudaStreamSynchronize");
  g_autoptr (TlTensor) eng = tl_exec_get_output_host (ex, 0, &error);
  check_tl (eng != NULL, error, "engine output");
  g_autoptr (TlTensor) dir = tl_tensor_to_device (c, "cpu", &error);
  check_tl (dir != NULL, error, "direct output");
  double diff = tl_tensor_max_rel_diff (eng, dir);
  if (!(diff >= 0 && diff < 1e-4)) {
    char buf[96];
    g_snprintf (buf, sizeof buf, "engine and cuBLAS disagree at %ldx%ldx%ld (max rel diff %g)",
                (long) m, (long) n, (long) k, diff);
    die ("check", buf);
  }

  double te[BLOCKS], td[BLOCKS];
  for (int r = 0; r < BLOCKS; r++) {
    check_tl (tl_device_synchronize (DEVICE, &error), error, "sync");
    gint64 t0 = g_get_monotonic_time ();
    for (int i = 0; i < per_block; i++)
      check_tl (tl_exec_run (ex, (guint64) i, &error), error, "tl_exec_run");
    check_tl (tl_device_synchronize (DEVICE, &error), error, "tl_device_synchronize");
    gint64 t1 = g_get_monotonic_time ();
    for (int i = 0; i < per_block; i++)
      check_cublas (cublasSgemm (handle, CUBLAS_OP_N, CUBLAS_OP_N, (int) n, (int) m, (int) k, &one,
                                 pb, (int) n, pa, (int) k, &zero, pc, (int) n),
                    "cublasSgemm");
    check_cuda (cudaStreamSynchronize (stream), "cudaStreamSynchronize");
    gint64 t2 = g_get_monotonic_time ();
    te[r] = (double) (t1 - t0) / per_block;
    td[r] = (double) (t2 - t1) / per_block;
  }
  qsort (te, BLOCKS, sizeof (double), cmp_double);
  qsort (td, BLOCKS, sizeof (double), cmp_double);
  double e = te[BLOCKS / 2], d = MAX (td[BLOCKS / 2], 1e-3);
  printf ("BENCH gpu_gemm_overhead m=%ld n=%ld k=%ld calls=%d engine_us=%.2f direct_us=%.2f "
          "tflops=%.2f ratio=%.3f better=lower target=1.05\n",
          (long) m, (long) n, (long) k, per_block, e, d, flops / (d * 1e6), e / d);
  fflush (stdout);
  tl_exec_free (ex);
  tl_graph_unref (g);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  static const gint64 shapes[][3] = {
    { 64, 64, 64 },        /* launch-bound */
    { 128, 512, 784 },     /* MLP layer, batch 128 */
    { 512, 512, 512 },
    { 1024, 1024, 1024 },
    { 4096, 3072, 768 },   /* transformer FFN, batch 32 x seq 128 */
    { 4096, 4096, 4096 },
  };
  (void) argc;
  (void) argv;
  setvbuf (stdout, NULL, _IOLBF, 0);
  if (!tl_init (&error))
    die ("tl_init", error->message);
  if (!tl_device_available (DEVICE, &error)) {
    printf ("SKIP no CUDA device: %s\n", error->message);
    return 0;
  }
  /* the device the engine uses is current now; cuBLAS runs on its own
   * stream there, plain fp32 (no TF32), like the engine by default */
  cudaStream_t stream;
  cublasHandle_t handle;
  check_cuda (cudaStreamCreateWithFlags (&stream, cudaStreamNonBlocking), "cudaStreamCreate");
  check_cublas (cublasCreate (&handle), "cublasCreate");
  check_cublas (cublasSetStream (handle, stream), "cublasSetStream");
  check_cublas (cublasSetMathMode (handle, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    bench_shape (handle, stream, shapes[i][0], shapes[i][1], shapes[i][2]);
  cublasDestroy (handle);
  cudaStreamDestroy (stream);
  return 0;
}
