/* kernels.h — private to backends/cuda/kernels/: the list of built-in op
 * kernels (one X-macro list feeds the declarations here and the table in
 * table.c) and, for the .cu files, the shared device helpers.
 *
 * Every kernel entry has the TlBackendKernelFn contract (core/backend-private.h):
 * device pointers in, work enqueued on _tl_cuda_stream (), each launch checked
 * with _tl_cuda_check_launch. Numerics mirror the CPU kernels of core/ops/; the tl-math.h
 * approximations (tl_expf_approx, ...) are compiled for the device so that
 * exp/tanh/sigmoid/gelu agree with the CPU kernels to an ulp or two.
 */
#ifndef TL_CUDA_KERNELS_H
#define TL_CUDA_KERNELS_H

#ifdef __CUDACC__
/* glib's printf format attributes ("gnu_printf") are unknown to cudafe. */
#pragma nv_diag_suppress 1217
#endif

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <tl/tl-macros.h>

/* The ops' geometry and numeric rules shared with core/ops/ (TL_HD), and
 * tl-math.h compiled for host and device (so before any other tl header). */
#include "core/ops/ops-rules.h"

#include "backends/cuda/cuda-private.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X (op name, C identifier) for every built-in op (core/ops/). A name here
 * without a definition of _tl_cuda_k_<id> fails the module's link. */
#define TL_CUDA_KERNEL_OPS(X)                                                                     \
  /* elementwise.cu */                                                                            \
  X ("neg", neg) X ("exp", exp) X ("log", log) X ("sqrt", sqrt) X ("rsqrt", rsqrt) X ("abs", abs)  \
  X ("square", square) X ("relu", relu) X ("gelu", gelu) X ("tanh", tanh) X ("sigmoid", sigmoid)  \
  X ("sign", sign) X ("add", add) X ("sub", sub) X ("mul", mul) X ("div", div)                    \
  X ("maximum", maximum) X ("minimum", minimum) X ("pow", pow) X ("greater_mask", greater_mask)    \
  X ("relu_grad", relu_grad) X ("gelu_grad", gelu_grad) X ("tanh_grad", tanh_grad)                \
  X ("sigmoid_grad", sigmoid_grad) X ("affine_scalar", affine_scalar) X ("cast", cast)            \
  X ("zeros_like", zeros_like) X ("ones_like", ones_like) X ("equal_mask", equal_mask)            \
  /* reduce.cu */                                                                                 \
  X ("sum", sum) X ("mean", mean) X ("max", max) X ("argmax", argmax) X ("sum_to", sum_to)        \
  /* shape.cu */                                                                                  \
  X ("broadcast_to", broadcast_to) X ("reshape", reshape) X ("transpose", transpose)               \
  X ("concat", concat) X ("split", split) X ("slice", slice) X ("slice_grad", slice_grad)         \
  /* softmax.cu */                                                                                \
  X ("softmax", softmax) X ("log_softmax", log_softmax) X ("softmax_grad", softmax_grad)          \
  X ("log_softmax_grad", log_softmax_grad)                                                        \
  /* layernorm.cu */                                                                              \
  X ("layer_norm", layer_norm) X ("layer_norm_grad", layer_norm_grad)                             \
  /* loss.cu */                                                                                   \
  X ("cross_entropy", cross_entropy) X ("cross_entropy_grad", cross_entropy_grad)                 \
  X ("bce_with_logits", bce_with_logits) X ("bce_with_logits_grad", bce_with_logits_grad)         \
  X ("mse", mse)                                                                                  \
  /* matmul.cu */                                                                                 \
  X ("matmul", matmul) X ("linear", linear)                                                       \
  /* conv.cu */                                                                                   \
  X ("conv1d", conv1d) X ("conv1d_grad_input", conv1d_grad_input)                                 \
  X ("conv1d_grad_weight", conv1d_grad_weight) X ("conv2d", conv2d)                               \
  X ("conv2d_grad_input", conv2d_grad_input) X ("conv2d_grad_weight", conv2d_grad_weight)         \
  /* pool.cu */                                                                                   \
  X ("max_pool1d", max_pool1d) X ("max_pool1d_grad", max_pool1d_grad)                             \
  X ("avg_pool1d", avg_pool1d) X ("avg_pool1d_grad", avg_pool1d_grad)                             \
  X ("max_pool2d", max_pool2d) X ("max_pool2d_grad", max_pool2d_grad)                             \
  X ("avg_pool2d", avg_pool2d) X ("avg_pool2d_grad", avg_pool2d_grad)                             \
  /* gather.cu */                                                                                 \
  X ("gather", gather) X ("embedding", embedding) X ("scatter_add", scatter_add)                  \
  /* spmm.cu */                                                                                   \
  X ("spmm", spmm) X ("spmm_t", spmm_t) X ("sddmm", sddmm)                                        \
  /* dropout.cu */                                                                                \
  X ("dropout", dropout) X ("dropout_grad", dropout_grad)

#define TL_CUDA_KERNEL_FN(id)                                                                     \
  gboolean _tl_cuda_k_##id (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out,    \
                            GError **error)

#define TL_CUDA_KERNEL_DECLARE_(name, id) G_GNUC_INTERNAL TL_CUDA_KERNEL_FN (id);
TL_CUDA_KERNEL_OPS (TL_CUDA_KERNEL_DECLARE_)
#undef TL_CUDA_KERNEL_DECLARE_

#ifdef __cplusplus
}
#endif

/* --- shared device helpers (CUDA C++ only) ------------------------------- */
#ifdef __CUDACC__

#include <cuda_runtime.h>

#define TL_CUDA_BLOCK 256

static inline cudaStream_t
tl_cuda_stream (void)
{
  return (cudaStream_t) _tl_cuda_stream ();
}

/* Blocks for a grid-stride loop over n items with `block` threads each. */
static inline unsigned int
tl_cuda_grid (gint64 n, int block = TL_CUDA_BLOCK)
{
  gint64 want = (n + block - 1) / block;
  gint64 cap = (gint64) MAX (_tl_cuda_sm_count (), 1) * 32;
  return (unsigned int) MAX ((gint64) 1, MIN (want, cap));
}

#define TL_CUDA_GRID_STRIDE(i, n)                                                                 \
  for (gint64 i = (gint64) blockIdx.x * blockDim.x + threadIdx.x; i < (n);                        \
       i += (gint64) blockDim.x * gridDim.x)

/* Element offsets along two stride sets (st0, st1) of the element at
 * linear index i of a row-major shape[ndim], in the index type I. */
template <typename I>
__device__ __forceinline__ void
tl_cuda_offsets2 (I i, int ndim, const gint64 *shape, const gint64 *st0, const gint64 *st1, I *o0, I *o1)
{
  I rem = i, a = 0, b = 0;
  for (int d = ndim - 1; d >= 0; d--) {
    I idx = rem % (I) shape[d];
    rem /= (I) shape[d];
    a += idx * (I) st0[d];
    b += idx * (I) st1[d];
  }
  *o0 = a;
  *o1 = b;
}

/* One warp per item i in [0, n), grid-stride (blockDim.x a multiple of 32). */
#define TL_CUDA_WARP_ID ((gint64) blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32)
#define TL_CUDA_WARPS ((gint64) gridDim.x * (blockDim.x / 32))
#define TL_CUDA_WARP_STRIDE(i, n) for (gint64 i = TL_CUDA_WARP_ID, i##_step = TL_CUDA_WARPS; i < (n); i += i##_step)

/* Rows handled by a warp (WARP) or by the whole block, grid-stride:
 * declares the thread's first element t of a row and its step per, and
 * the first row and row step of its warp or block. */
#define TL_CUDA_ROW_SETUP(WARP)                                                                   \
  int per = (WARP) ? 32 : blockDim.x;                                                             \
  int t = (WARP) ? (threadIdx.x & 31) : threadIdx.x;                                              \
  gint64 first = (WARP) ? TL_CUDA_WARP_ID : blockIdx.x;                                           \
  gint64 step = (WARP) ? TL_CUDA_WARPS : gridDim.x;

/* x[shape] as [outer, R, inner] around the attr "axis" (default -1; validated by infer). */
static inline void
tl_cuda_axis_split (const TlAttrs *attrs, guint ndim, const gint64 *shape, gint64 *outer, gint64 *R, gint64 *inner)
{
  gint64 a = tl_attrs_get_int (attrs, "axis", -1);
  _tl_rule_axis_split (ndim, shape, (guint) (a < 0 ? a + ndim : a), outer, R, inner);
}

/* Turn a CUDA runtime status into a GError naming `what`. */
G_GNUC_INTERNAL gboolean _tl_cuda_kern_status (cudaError_t st, const char *what, GError **error);
/* cudaMemsetAsync (ptr, 0, nbytes) on the current stream. */
G_GNUC_INTERNAL gboolean _tl_cuda_kern_zero (void *ptr, gsize nbytes, const char *what, GError **error);
/* Fill n elements of `esize` bytes (1, 2, 4 or 8) with the bit pattern `bits`. */
G_GNUC_INTERNAL gboolean _tl_cuda_kern_fill (void *ptr, gint64 n, gsize esize, guint64 bits, const char *what,
                                             GError **error);
/* Device-to-device copy on the current stream. */
G_GNUC_INTERNAL gboolean _tl_cuda_kern_copy (void *dst, const void *src, gsize nbytes, const char *what,
                                             GError **error);

/* A strided view for copies: ndim logical dims, strides in elements. */
typedef struct {
  guint ndim;
  gint64 shape[TL_MAX_DIMS];
  gint64 src_strides[TL_MAX_DIMS];
  gint64 dst_strides[TL_MAX_DIMS];
} TlCudaCopyGeom;

/* dst[i...] = src[i...] over geom's logical shape, elements of esize bytes
 * (1, 2, 4 or 8); dims are coalesced first. (shape.cu) */
G_GNUC_INTERNAL gboolean _tl_cuda_kern_strided_copy (void *dst, const void *src, gsize esize,
                                                     const TlCudaCopyGeom *geom, const char *what,
                                                     GError **error);
/* Contiguous strides of shape into strides. */
G_GNUC_INTERNAL void _tl_cuda_kern_contig_strides (guint ndim, const gint64 *shape, gint64 *strides);

/* Reduce contiguous f32 x[shape] over the axes in mask into contiguous y,
 * sum or max, y *= scale at the end (sum only). (reduce.cu) */
G_GNUC_INTERNAL gboolean _tl_cuda_kern_reduce (const float *x, guint ndim, const gint64 *shape,
                                               const gboolean *mask, float *y, gboolean is_max, float scale,
                                               const char *what, GError **error);

/* Sorting for the deterministic scatter paths (gather.cu scatter_add,
 * spmm.cu spmm_t): n (key, value) pairs, int32 keys in [0, n_keys), sorted
 * stably by key from keys_in / vals_in into keys / vals. */
typedef struct {
  gint32 *keys_in, *keys, *vals_in, *vals; /* n each, in the scratch */
  void *tmp;                               /* CUB's temporary storage */
  gsize tmp_bytes;
  gint64 n, n_keys;
} TlCudaSort;

/* Lays out the arrays and CUB's storage in _tl_cuda_scratch; FALSE with
 * error set when the scratch cannot be had. n and n_keys must be below 2^31
 * (CUB takes int counts, the keys are gint32): the callers check, naming
 * their op. */
G_GNUC_INTERNAL gboolean _tl_cuda_kern_sort_init (TlCudaSort *s, gint64 n, gint64 n_keys, GError **error);
/* Enqueues the sort of keys_in / vals_in (filled by the caller) into keys / vals. */
G_GNUC_INTERNAL gboolean _tl_cuda_kern_sort_run (const TlCudaSort *s, const char *what, GError **error);

/* A function out of line: kept off the hot path of the kernels (fewer
 * registers). Not for the CPU emulation of tests/gpu/emu, which has no
 * __noinline__ (glib uses the name as an attribute). */
#ifdef __NVCC__
#define TL_CUDA_NOINLINE __noinline__
#else
#define TL_CUDA_NOINLINE
#endif

/* Records bad input in the stream's fault record f (_tl_cuda_fault (),
 * TlCudaFault in cuda-private.h), reported by the host at its next wait for
 * the stream. The first fault wins: the thread that swaps code from 0 writes
 * value, bound and pos. Call it on the rare path only; the kernel goes on
 * with safe behaviour (no out-of-bounds access). */
static inline __device__ TL_CUDA_NOINLINE void
tl_cuda_fault_raise (TlCudaFault *f, int code, gint64 value, gint64 bound, gint64 pos)
{
  if (!f || atomicCAS (&f->code, 0, code) != 0)
    return;
  f->value = value;
  f->bound = bound;
  f->pos = pos;
  __threadfence_system ();
}

/* Index tensors (i32/i64) on the device. */
__device__ __forceinline__ gint64
tl_cuda_index (const void *p, bool i64, gint64 i)
{
  return _tl_rule_index_at (p, i64, i);
}

/* Warp and block reductions (blockDim.x a multiple of 32, at most 1024):
 * IS_MAX picks the maximum (w > v ? w : v), otherwise the sum. */
template <bool IS_MAX, typename T>
__device__ __forceinline__ T
tl_cuda_warp_reduce (T v)
{
  for (int o = 16; o > 0; o >>= 1) {
    T w = __shfl_xor_sync (0xffffffffu, v, o);
    if (IS_MAX)
      v = w > v ? w : v;
    else
      v += w;
  }
  return v;
}

template <typename T>
__device__ __forceinline__ T
tl_cuda_warp_sum (T v)
{
  return tl_cuda_warp_reduce<false> (v);
}

template <typename T>
__device__ __forceinline__ T
tl_cuda_warp_max (T v)
{
  return tl_cuda_warp_reduce<true> (v);
}

/* Over the block; every thread gets the result. `shm` holds 32 T. The
 * lanes past the last warp read 0 (sum) or warp 0's maximum (max). */
template <bool IS_MAX, typename T>
__device__ __forceinline__ T
tl_cuda_block_reduce (T v, T *shm)
{
  int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
  v = tl_cuda_warp_reduce<IS_MAX> (v);
  __syncthreads ();
  if (lane == 0)
    shm[wid] = v;
  __syncthreads ();
  T r = lane < nw ? shm[lane] : IS_MAX ? shm[0] : (T) 0;
  return tl_cuda_warp_reduce<IS_MAX> (r);
}

template <typename T>
__device__ __forceinline__ T
tl_cuda_block_sum (T v, T *shm)
{
  return tl_cuda_block_reduce<false> (v, shm);
}

template <typename T>
__device__ __forceinline__ T
tl_cuda_block_max (T v, T *shm)
{
  return tl_cuda_block_reduce<true> (v, shm);
}

/* Sum / max across the threads of a row: a warp (WARP) or the whole block. */
template <bool WARP, typename T>
__device__ __forceinline__ T
tl_cuda_row_sum (T v, T *shm)
{
  return WARP ? tl_cuda_warp_sum (v) : tl_cuda_block_sum (v, shm);
}

template <bool WARP, typename T>
__device__ __forceinline__ T
tl_cuda_row_max (T v, T *shm)
{
  return WARP ? tl_cuda_warp_max (v) : tl_cuda_block_max (v, shm);
}

#endif /* __CUDACC__ */

#endif /* TL_CUDA_KERNELS_H */
