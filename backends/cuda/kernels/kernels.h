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

/* Sorting for the deterministic scatter paths (gather.cu): perm[0..n) =
 * positions 0..n-1 stably sorted by keys[] (int32 in [0, n_keys]),
 * sorted_keys the keys in that order. Scratch is taken by the caller
 * (size from _tl_cuda_kern_sort_scratch). */
G_GNUC_INTERNAL gsize _tl_cuda_kern_sort_scratch (gint64 n, gint64 n_keys);
G_GNUC_INTERNAL gboolean _tl_cuda_kern_sort_pairs (void *scratch, gsize scratch_bytes, const gint32 *keys_in,
                                                   gint32 *keys_out, const gint32 *vals_in, gint32 *vals_out,
                                                   gint64 n, gint64 n_keys, const char *what, GError **error);

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
template <typename I>
__device__ __forceinline__ gint64
tl_cuda_index_at (const void *p, gint64 i)
{
  return (gint64) ((const I *) p)[i];
}

__device__ __forceinline__ gint64
tl_cuda_index (const void *p, bool i64, gint64 i)
{
  return i64 ? ((const gint64 *) p)[i] : (gint64) ((const gint32 *) p)[i];
}

/* Warp and block reductions (blockDim.x a multiple of 32, at most 1024). */
template <typename T>
__device__ __forceinline__ T
tl_cuda_warp_sum (T v)
{
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_xor_sync (0xffffffffu, v, o);
  return v;
}

template <typename T>
__device__ __forceinline__ T
tl_cuda_warp_max (T v)
{
  for (int o = 16; o > 0; o >>= 1) {
    T w = __shfl_xor_sync (0xffffffffu, v, o);
    v = w > v ? w : v;
  }
  return v;
}

/* Sum over the block; every thread gets the result. `shm` holds 32 T. */
template <typename T>
__device__ __forceinline__ T
tl_cuda_block_sum (T v, T *shm)
{
  int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
  v = tl_cuda_warp_sum (v);
  __syncthreads ();
  if (lane == 0)
    shm[wid] = v;
  __syncthreads ();
  T r = lane < nw ? shm[lane] : (T) 0;
  r = tl_cuda_warp_sum (r);
  return r;
}

template <typename T>
__device__ __forceinline__ T
tl_cuda_block_max (T v, T *shm)
{
  int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
  v = tl_cuda_warp_max (v);
  __syncthreads ();
  if (lane == 0)
    shm[wid] = v;
  __syncthreads ();
  T r = lane < nw ? shm[lane] : shm[0];
  r = tl_cuda_warp_max (r);
  return r;
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
