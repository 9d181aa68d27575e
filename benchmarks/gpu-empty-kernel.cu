// gpu-empty-kernel.cu — the launch-overhead baseline of the GPU benchmarks:
// the host time per launch of an empty kernel on this machine (the least
// any one op launched by the engine, or by PyTorch, can cost on the host).
#include <cuda_runtime.h>

#include <time.h>

__global__ void
tl_bench_empty_kernel (void)
{
}

// Microseconds per launch of an empty kernel (one block of 32 threads),
// averaged over n launches on a fresh stream; < 0 on a CUDA error, whose
// name is then written to *err (static string).
extern "C" double
tl_bench_empty_launch_us (int n, const char **err)
{
  cudaStream_t s;
  cudaError_t e = cudaStreamCreateWithFlags (&s, cudaStreamNonBlocking);
  if (e != cudaSuccess) {
    *err = cudaGetErrorString (e);
    return -1;
  }
  for (int i = 0; i < 100; i++) // warm-up: module load, first launch
    tl_bench_empty_kernel<<<1, 32, 0, s>>> ();
  cudaStreamSynchronize (s);
  struct timespec t0, t1;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < n; i++)
    tl_bench_empty_kernel<<<1, 32, 0, s>>> ();
  e = cudaStreamSynchronize (s);
  clock_gettime (CLOCK_MONOTONIC, &t1);
  if (e == cudaSuccess)
    e = cudaGetLastError ();
  cudaStreamDestroy (s);
  if (e != cudaSuccess) {
    *err = cudaGetErrorString (e);
    return -1;
  }
  return ((double) (t1.tv_sec - t0.tv_sec) * 1e6 + (double) (t1.tv_nsec - t0.tv_nsec) / 1e3) / n;
}
