/* emu.h — run CUDA kernels on the CPU (cooperative fibers per block) for
 * validating kernel logic without a GPU. Dev tool, not part of tl. */
#ifndef EMU_H
#define EMU_H
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <functional>
#include <cmath>
#define __host__
#define __device__
#define __global__
#define __launch_bounds__(...)
#define __forceinline__ inline
#define __restrict__ __restrict
#define __shared__ static
struct dim3 { unsigned int x, y, z; dim3 (unsigned int a = 1, unsigned int b = 1, unsigned int c = 1) : x (a), y (b), z (c) {} };
struct uint3_ { unsigned int x, y, z; };
extern uint3_ threadIdx, blockIdx;
extern dim3 blockDim, gridDim;
typedef void *cudaStream_t;
typedef int cudaError_t;
#define cudaSuccess 0
enum cudaMemcpyKind { cudaMemcpyDeviceToDevice = 3 };
static inline const char *cudaGetErrorString (cudaError_t) { return "emu error"; }
static inline const char *cudaGetErrorName (cudaError_t) { return "emuError"; }
static inline cudaError_t cudaGetLastError (void) { return 0; }
static inline cudaError_t cudaMemsetAsync (void *p, int v, size_t n, cudaStream_t) { memset (p, v, n); return 0; }
static inline cudaError_t cudaMemcpyAsync (void *d, const void *s, size_t n, cudaMemcpyKind, cudaStream_t) { memmove (d, s, n); return 0; }
struct float4 { float x, y, z, w; };
struct uint4 { unsigned int x, y, z, w; };
void emu_barrier (long key, int expected);
void emu_syncthreads (void);
#define __syncthreads() emu_syncthreads ()
extern unsigned long long emu_slots[32][32];
template <typename T>
T __shfl_xor_sync (unsigned, T v, int off)
{
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  static_assert (sizeof (T) <= 8, "shfl");
  unsigned long long b = 0;
  memcpy (&b, &v, sizeof v);
  emu_slots[warp][lane] = b;
  emu_barrier (1000 + warp, 32);
  unsigned long long o = emu_slots[warp][lane ^ off];
  emu_barrier (2000 + warp, 32);
  T r;
  memcpy (&r, &o, sizeof r);
  return r;
}
static inline float __fmul_rn (float a, float b) { volatile float r = a * b; return r; }
static inline float __fadd_rn (float a, float b) { volatile float r = a + b; return r; }
static inline float __fsub_rn (float a, float b) { volatile float r = a - b; return r; }
static inline float __fdiv_rn (float a, float b) { volatile float r = a / b; return r; }
static inline float __fsqrt_rn (float a) { return sqrtf (a); }
static inline unsigned int __umulhi (unsigned int a, unsigned int b) { return (unsigned int) (((unsigned long long) a * b) >> 32); }
static inline float atomicAdd (float *p, float v) { float o = *p; *p = o + v; return o; }
static inline int atomicCAS (int *p, int cmp, int v) { int o = *p; if (o == cmp) *p = v; return o; }
static inline void __threadfence_system (void) {}
using std::isnan;
void emu_launch (dim3 grid, dim3 block, std::function<void ()> fn);
#endif
