/* backend-private.h — the interface between libtl and a separately built
 * device backend module (today: the CUDA backend, backends/cuda/).
 *
 * Internal to this project: the module is built from the same tree and
 * installed beside libtl ($(libdir)/tl-1/backends/tl-backend-<name>.so);
 * libtl loads it with GModule on first use of a device ("cuda[:N]") and
 * refuses a module whose `abi` differs from TL_BACKEND_ABI. libtl itself
 * never links the CUDA runtime: a host without CUDA runs every CPU job, and
 * asking for "cuda" there is a clear error, not a crash.
 *
 * Entry symbol of a backend module:  const TlBackend *tl_backend_query (void);
 */
#ifndef TL_BACKEND_PRIVATE_H
#define TL_BACKEND_PRIVATE_H

#include <tl/tl.h>

G_BEGIN_DECLS

#define TL_BACKEND_ABI 1u

/* A device kernel for an op: the same contract as TlOpDef.forward_cpu, but
 * tl_tensor_data() of every input and output is a device pointer on the
 * backend's current device, and the work is enqueued on the backend's
 * current stream (it need not be finished when the function returns).
 * Inputs are contiguous unless the op declares TL_OP_VIEW. */
typedef gboolean (*TlBackendKernelFn) (const TlKernelCtx *ctx, TlTensor *const *inputs,
                                       TlTensor *const *outputs, GError **error);

typedef struct {
  guint64 bytes_in_use;      /* handed out to tensors */
  guint64 bytes_cached;      /* held by the caching allocator, free for reuse */
  guint64 peak_bytes_in_use;
  guint64 n_device_allocs;   /* calls into the driver's allocator */
  guint64 n_cache_hits;
} TlBackendMemStats;

typedef struct _TlBackend {
  guint32 abi;               /* TL_BACKEND_ABI */
  guint32 reserved0;
  const char *name;          /* "cuda" */
  /* Number of usable devices; 0 (and a reason in *error) when the driver or
   * a device is missing. Never fails hard. */
  int (*device_count) (GError **error);
  /* Make device `index` current for the calling thread (creates its stream,
   * BLAS handle and allocator on first use). */
  gboolean (*set_device) (int index, GError **error);
  /* One line naming the device ("NVIDIA H100 80GB HBM3, cc 9.0, 79 GiB"). (transfer full) */
  char *(*describe) (int index);
  /* Caching allocator on the current device: never managed memory. */
  void *(*alloc) (gsize nbytes, GError **error);
  void (*free) (void *ptr);
  void (*mem_stats) (TlBackendMemStats *stats);
  void (*empty_cache) (void);
  /* Copies on the current stream; host pointers are ordinary memory.
   * dst_on_device/src_on_device say which side is device memory. Copies to
   * the host synchronise before returning. */
  gboolean (*memcpy) (void *dst, gboolean dst_on_device, const void *src, gboolean src_on_device,
                      gsize nbytes, GError **error);
  gboolean (*memset_zero) (void *dst, gsize nbytes, GError **error);
  /* Wait for all work queued on the current stream; reports an asynchronous
   * kernel error as a GError. */
  gboolean (*synchronize) (GError **error);
  /* Kernel for a built-in op name ("matmul", "add", ...), or NULL. */
  TlBackendKernelFn (*lookup_kernel) (const char *op_name);
  /* The current stream as an opaque pointer (a cudaStream_t), handed to
   * plugin ops through TL_OP_EXT_CUDA. */
  void *(*current_stream) (void);
  /* Optional CUDA-graph capture of a repeated step: begin/end capture on the
   * current stream, then replay. A handle is freed with graph_free. */
  gboolean (*graph_begin) (GError **error);
  gpointer (*graph_end) (GError **error);
  gboolean (*graph_launch) (gpointer graph, GError **error);
  void (*graph_free) (gpointer graph);
  /* Optional interfaces by id (e.g. TL_BACKEND_EXT_NCCL), NULL if unknown. */
  const void *(*get_extension) (const char *id);
  void *reserved[7];
} TlBackend;

typedef const TlBackend *(*TlBackendQueryFn) (void);

/* Extension id of the NCCL communicator in the CUDA backend; its table is
 * declared in core/backend-nccl-private.h. */
#define TL_BACKEND_EXT_NCCL "tl.backend.nccl/1"

/* Extension id of the trainer's device arithmetic (added by cuda-core):
 * optimizer updates and the few BLAS-1 operations the trainer needs on
 * device-resident f32 gradients. All work is queued on the current stream
 * unless said otherwise. */
#define TL_BACKEND_EXT_OPTIM "tl.backend.optim/1"

typedef struct {
  guint32 abi;               /* TL_BACKEND_ABI */
  guint32 reserved0;
  /* Same arithmetic as core/optim.c (PyTorch semantics; SGD with dampening
   * 0: a zero-initialised momentum buffer gives buf = g on the first step).
   * NULL when the module was built without the update kernels. */
  gboolean (*sgd_update) (float *param, const float *grad, float *momentum_buf, gint64 n,
                          float lr, float momentum, float weight_decay, gboolean nesterov,
                          GError **error);
  /* bias_c1 = 1 - beta1^t, bias_c2 = 1 - beta2^t (not square-rooted). */
  gboolean (*adam_update) (float *param, const float *grad, float *m, float *v, gint64 n,
                           float lr, float beta1, float beta2, float eps, float weight_decay,
                           gboolean decoupled, float bias_c1, float bias_c2, GError **error);
  /* y += alpha * x */
  gboolean (*axpy) (gint64 n, float alpha, const float *x, float *y, GError **error);
  /* x *= alpha */
  gboolean (*scale) (gint64 n, float alpha, float *x, GError **error);
  /* out[i] = sum of squares of xs[i][0 .. ns[i]) for i < n (synchronises once). */
  gboolean (*sumsq_multi) (guint n, const float *const *xs, const gint64 *ns, double *out,
                           GError **error);
  /* SGD with any dampening; `first` on the step that creates the buffer. */
  gboolean (*sgd_update_full) (float *param, const float *grad, float *momentum_buf, gint64 n,
                               float lr, float momentum, float dampening, float weight_decay,
                               gboolean nesterov, gboolean first, GError **error);
  /* LAMB (trust ratio computed on the device). */
  gboolean (*lamb_update) (float *param, const float *grad, float *m, float *v, gint64 n,
                           double lr, float beta1, float beta2, float eps, float weight_decay,
                           float bias_c1, float bias_c2, GError **error);
  void *reserved[2];
} TlBackendOptim;

/* Extension id of the backend's GEMM, for tests and benchmarks that call
 * it without an executor (added by cuda-core). */
#define TL_BACKEND_EXT_BLAS "tl.backend.blas/1"

typedef struct {
  guint32 abi;               /* TL_BACKEND_ABI */
  guint32 reserved0;
  /* Row-major C[m,n] = alpha op(A)[m,k] op(B)[k,n] + beta C on the current
   * stream, `batch` strided batches (stride 0: broadcast); f32, bf16 or f16
   * with fp32 accumulation (TF32 only with TL_CUDA_TF32=1). Device pointers. */
  gboolean (*gemm) (TlDType dtype, gboolean trans_a, gboolean trans_b, gint64 m, gint64 n,
                    gint64 k, float alpha, const void *a, gint64 lda, gint64 stride_a,
                    const void *b, gint64 ldb, gint64 stride_b, float beta, void *c, gint64 ldc,
                    gint64 stride_c, gint64 batch, GError **error);
  void *reserved[4];
} TlBackendBlas;

/* An on/off switch from the environment (TL_CUDA_TF32, ...): unset, empty,
 * 0/false/no/off are off, 1/true/yes/on are on (any case), anything else
 * is off with one warning per variable. Exported by libtl for the backend
 * modules (core/env.c). */
TL_API gboolean _tl_env_flag (const char *name);

G_END_DECLS

#endif /* TL_BACKEND_PRIVATE_H */
