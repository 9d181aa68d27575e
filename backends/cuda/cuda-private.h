/* cuda-private.h — shared inside the CUDA backend module (backends/cuda/).
 * Included from C (.c) and CUDA (.cu) files; plain C declarations only.
 *
 * Runtime services (cuda-runtime.c, cuda-alloc.c, cuda-blas.c) used by the
 * kernels (kernels/<topic>.cu), and the kernel table (kernels/table.c).
 */
#ifndef TL_CUDA_PRIVATE_H
#define TL_CUDA_PRIVATE_H

#include <tl/tl.h>
#include "core/backend-private.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- runtime services --------------------------------------------------- */

/* The calling thread's current stream (a cudaStream_t) and cuBLAS handle
 * (a cublasHandle_t, bound to that stream; TF32 off unless TL_CUDA_TF32=1). */
void *_tl_cuda_stream (void);
void *_tl_cuda_cublas (void);
/* Device scratch memory from the caching allocator, valid until the next
 * call of _tl_cuda_scratch on this thread (stream-ordered reuse is safe:
 * everything runs on one stream). */
void *_tl_cuda_scratch (gsize nbytes, GError **error);
/* Turn the last CUDA error (after a launch) into a GError naming `what`.
 * Returns FALSE when there was one. */
gboolean _tl_cuda_check_launch (const char *what, GError **error);
/* Multiprocessor count of the current device (for grid sizing). */
int _tl_cuda_sm_count (void);

/* Bad input found by a kernel (data the CPU kernels validate on the host:
 * indices, labels, CSR structure). Kernels cannot fail without a host round
 * trip, so they record the first fault of the stream here (tl_cuda_fault_raise
 * in kernels/kernels.h) and keep to safe behaviour (no out-of-bounds access);
 * the next wait for the stream (_tl_cuda_synchronize, _tl_cuda_memcpy to the
 * host) reports it as TL_ERROR_INVALID_ARGUMENT and clears it. */
typedef enum {
  TL_CUDA_FAULT_NONE = 0,
  TL_CUDA_FAULT_INDEX,        /* gather/embedding/scatter_add: index `value` at position `pos` outside [0, bound) */
  TL_CUDA_FAULT_LABEL,        /* cross_entropy(_grad): label `value` at row `pos` outside [0, bound) (< 0 is ignored) */
  TL_CUDA_FAULT_CSR_COLUMN,   /* spmm/spmm_t/sddmm: column `value` of edge `pos` outside [0, bound) */
  TL_CUDA_FAULT_CSR_START,    /* indptr[0] is `value`, not 0 */
  TL_CUDA_FAULT_CSR_DECREASE, /* indptr decreases at row `pos` (`bound` -> `value`) */
  TL_CUDA_FAULT_CSR_END       /* indptr[pos] is `value`, not nnz = `bound` */
} TlCudaFaultCode;

typedef struct {
  int code; /* a TlCudaFaultCode; the first fault wins (atomicCAS from 0) */
  int pad;
  gint64 value, bound, pos;
} TlCudaFault;

/* The fault record of the calling thread's stream on its current device, as
 * a device pointer (pinned host memory mapped into the device; stable for the
 * thread's lifetime, so captured graphs may hold it). NULL without a usable
 * device. */
TlCudaFault *_tl_cuda_fault (void);

/* GEMM through cuBLAS on the current stream, row-major like the CPU engine:
 *   C[m,n] = alpha * op(A)[m,k] . op(B)[k,n] + beta * C
 * with batch > 1 strided batches (stride_* in elements, 0 = broadcast).
 * dtype TL_DTYPE_F32, TL_DTYPE_BF16 or TL_DTYPE_F16 (accumulation in fp32). */
gboolean _tl_cuda_gemm (TlDType dtype, gboolean trans_a, gboolean trans_b,
                        gint64 m, gint64 n, gint64 k, float alpha,
                        const void *a, gint64 lda, gint64 stride_a,
                        const void *b, gint64 ldb, gint64 stride_b,
                        float beta, void *c, gint64 ldc, gint64 stride_c,
                        gint64 batch, GError **error);

/* --- kernels ------------------------------------------------------------- */

/* Every built-in op with a device kernel: name -> function. NULL-terminated.
 * Defined in kernels/table.c. */
typedef struct {
  const char *op_name;
  TlBackendKernelFn fn;
} TlCudaKernelEntry;

extern const TlCudaKernelEntry _tl_cuda_kernel_table[];

/* Optimizer updates on device (kernels/optim.cu): the arithmetic of
 * core/optim.c element by element (products and sums rounded one by one,
 * as the CPU loops do), used by the trainer when parameters live on the
 * device (TlBackendOptim in core/backend-private.h). All pointers are device
 * pointers of n f32 elements; work is queued on the current stream. With
 * t the step count after its increment: bias_c1 = (float) (1 - beta1^t),
 * bias_c2 = (float) (1 - beta2^t) (not square-rooted).
 *
 * SGD with dampening 0: momentum_buf may be NULL when momentum == 0; a
 * zero-initialised buffer gives buf = g + wd * p on the first step, as on
 * the CPU. */
gboolean _tl_cuda_sgd_update (float *param, const float *grad, float *momentum_buf, gint64 n,
                              float lr, float momentum, float weight_decay, gboolean nesterov,
                              GError **error);
/* SGD with any dampening: `first` is TRUE on the step that creates the
 * buffer (buf = g + wd * p, undampened, as core/optim.c does). */
gboolean _tl_cuda_sgd_update_full (float *param, const float *grad, float *momentum_buf, gint64 n,
                                   float lr, float momentum, float dampening, float weight_decay,
                                   gboolean nesterov, gboolean first, GError **error);
/* Adam (decoupled FALSE: weight decay added to the gradient) and AdamW
 * (decoupled TRUE: p *= 1 - lr * weight_decay in the step). */
gboolean _tl_cuda_adam_update (float *param, const float *grad, float *m, float *v, gint64 n,
                               float lr, float beta1, float beta2, float eps, float weight_decay,
                               gboolean decoupled, float bias_c1, float bias_c2, GError **error);
/* LAMB: moments, update u = (m / bc1) / (sqrt (v) / sqrt (bc2) + eps) + wd * p,
 * trust ratio ||p|| / ||u|| (sums of squares in double on the device, 1 when
 * either is 0), p -= (float) (lr * ratio) * u. No host round trip; takes
 * _tl_cuda_scratch for u. lr is the caller's double, as on the CPU. */
gboolean _tl_cuda_lamb_update (float *param, const float *grad, float *m, float *v, gint64 n,
                               double lr, float beta1, float beta2, float eps, float weight_decay,
                               float bias_c1, float bias_c2, GError **error);

/* --- NCCL communicator (comm-nccl.c; returns NULL when built without NCCL) */
const void *_tl_cuda_nccl_extension (void);

/* --- module internals (cuda-runtime.c, cuda-alloc.c, cuda-blas.c,
 * cuda-graph.c, module.c; added by cuda-core) ----------------------------- */

/* Current device of the calling thread (set_device), 0 by default. */
int _tl_cuda_current_device (void);
/* The calling thread's stream (a cudaStream_t) on device `dev` when it has
 * one, else NULL: a thread without one never queued work there. Never
 * creates a context (safe in the thread-exit destructor). */
void *_tl_cuda_thread_stream (int dev);
/* A number naming the calling thread for the life of the process (never
 * reused, unlike the address of an exited thread's context). */
guint64 _tl_cuda_thread_id (void);
/* Make `index` current and create this thread's stream and cuBLAS handle for
 * it on first use. */
gboolean _tl_cuda_set_device (int index, GError **error);
int _tl_cuda_device_count (GError **error);
char *_tl_cuda_describe (int index);
gboolean _tl_cuda_memcpy (void *dst, gboolean dst_on_device, const void *src,
                          gboolean src_on_device, gsize nbytes, GError **error);
gboolean _tl_cuda_memset_zero (void *dst, gsize nbytes, GError **error);
gboolean _tl_cuda_synchronize (GError **error);
/* Caching allocator of the current device (cuda-alloc.c). */
void *_tl_cuda_alloc (gsize nbytes, GError **error);
void _tl_cuda_free (void *ptr);
void _tl_cuda_mem_stats (TlBackendMemStats *stats);
void _tl_cuda_empty_cache (void);
/* At thread exit, after `stream` (a cudaStream_t of device `dev`) was
 * synchronised and before it is destroyed: the blocks it owned become
 * reusable by every stream. */
void _tl_cuda_alloc_forget_stream (int dev, void *stream);
/* cuBLAS helpers for the trainer's device path (cuda-blas.c). */
gboolean _tl_cuda_axpy (gint64 n, float alpha, const float *x, float *y, GError **error);
gboolean _tl_cuda_scale (gint64 n, float alpha, float *x, GError **error);
gboolean _tl_cuda_sumsq_multi (guint n, const float *const *xs, const gint64 *ns, double *out,
                               GError **error);
/* CUDA graphs (cuda-graph.c). */
gboolean _tl_cuda_graph_begin (GError **error);
gpointer _tl_cuda_graph_end (GError **error);
gboolean _tl_cuda_graph_launch (gpointer graph, GError **error);
void _tl_cuda_graph_free (gpointer graph);
/* A graph was captured on this thread: scratch it may use is never freed. */
void _tl_cuda_note_graph (void);
/* A GError (TL_ERROR_FAILED) for a failed CUDA runtime call, e.g.
 * "cudaMalloc(4096 bytes): out of memory (cudaErrorMemoryAllocation)". */
void _tl_cuda_set_error (GError **error, int cuda_status, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

#ifdef __cplusplus
}
#endif

#endif /* TL_CUDA_PRIVATE_H */
