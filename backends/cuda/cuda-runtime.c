/* cuda-runtime.c — devices, per-thread streams and cuBLAS handles, copies,
 * synchronisation and error reporting of the CUDA backend module.
 *
 * Each stream has a fault record (TlCudaFault, cuda-private.h) in pinned,
 * device-mapped host memory: kernels that find bad input (an index, a label,
 * a CSR structure the CPU kernels would reject) record it there, and every
 * wait for the stream (_tl_cuda_synchronize, _tl_cuda_memcpy to the host)
 * reads it afterwards and turns it into TL_ERROR_INVALID_ARGUMENT. */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime.h>
#include <cublas_v2.h>

#include "cuda-private.h"

#define TL_CUDA_MAX_DEVICES 64
/* cuBLAS workspace per handle: set explicitly so that captured graphs never
 * allocate inside cuBLAS. */
#define TL_CUDA_CUBLAS_WORKSPACE (32u << 20)

typedef struct {
  gboolean ready;
  cudaStream_t stream;
  cublasHandle_t blas;
  void *blas_ws;
  void *scratch;
  gsize scratch_bytes;
  gboolean graphs;  /* a graph was captured on this stream: it may hold scratch */
  GSList *retired;  /* outgrown scratch blocks a captured graph may still use */
  TlCudaFault *fault_host; /* the stream's fault record (pinned, mapped) ... */
  TlCudaFault *fault_dev;  /* ... and its device address */
} DeviceCtx;

typedef struct {
  int device;
  guint64 id; /* _tl_cuda_thread_id () */
  DeviceCtx dev[TL_CUDA_MAX_DEVICES];
} ThreadCtx;

static void
thread_ctx_free (gpointer data)
{
  ThreadCtx *tc = data;
  int cur = 0;
  cudaGetDevice (&cur);
  for (int i = 0; i < TL_CUDA_MAX_DEVICES; i++) {
    DeviceCtx *d = &tc->dev[i];
    if (!d->ready)
      continue;
    cudaSetDevice (i);
    cudaStreamSynchronize (d->stream);
    if (d->scratch)
      _tl_cuda_free (d->scratch);
    g_slist_free_full (d->retired, _tl_cuda_free);
    /* the stream's work is done: what it owned in the allocator is free
     * for every stream, not stranded on a handle about to be destroyed */
    _tl_cuda_alloc_forget_stream (i, d->stream);
    cublasDestroy (d->blas);
    cudaFree (d->blas_ws);
    cudaStreamDestroy (d->stream);
    cudaFreeHost (d->fault_host);
  }
  cudaSetDevice (cur);
  g_free (tc);
}

static GPrivate thread_key = G_PRIVATE_INIT (thread_ctx_free);

static ThreadCtx *
thread_ctx (void)
{
  static guint64 next_id;
  ThreadCtx *tc = g_private_get (&thread_key);
  if (!tc) {
    tc = g_new0 (ThreadCtx, 1);
    tc->id = __atomic_add_fetch (&next_id, 1, __ATOMIC_RELAXED);
    g_private_set (&thread_key, tc);
  }
  return tc;
}

guint64
_tl_cuda_thread_id (void)
{
  return thread_ctx ()->id;
}

void *
_tl_cuda_thread_stream (int dev)
{
  /* g_private_get, not thread_ctx (): no context is created here (in the
   * thread-exit destructor the key already reads NULL) */
  ThreadCtx *tc = g_private_get (&thread_key);
  if (!tc || dev < 0 || dev >= TL_CUDA_MAX_DEVICES || !tc->dev[dev].ready)
    return NULL;
  return (void *) tc->dev[dev].stream;
}

void
_tl_cuda_set_error (GError **error, int cuda_status, const char *fmt, ...)
{
  /* the failure is reported here: clear it from the runtime's last error,
   * or the next launch check would report it again as its own */
  cudaGetLastError ();
  if (!error)
    return;
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *what = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  cudaError_t st = (cudaError_t) cuda_status;
  g_set_error (error, TL_ERROR, TL_ERROR_FAILED, "%s: %s (%s)", what, cudaGetErrorString (st),
               cudaGetErrorName (st));
}

/* The reason for a failed cudaGetDeviceCount() in words a user can act
 * on, with the runtime's own string in parentheses (tests/gpu/check.sh and
 * users grep for it). */
static void
set_no_device_error (GError **error, cudaError_t st)
{
  const char *cuda_says = cudaGetErrorString (st);
  int rt = 0;
  switch (st) {
  case cudaErrorInsufficientDriver:
    if (cudaRuntimeGetVersion (&rt) == cudaSuccess && rt > 0)
      g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                   "no CUDA device: the NVIDIA driver is missing or older than this build's "
                   "CUDA runtime %d.%d (CUDA: %s)", rt / 1000, rt % 1000 / 10, cuda_says);
    else
      g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                   "no CUDA device: the NVIDIA driver is missing or older than this build's "
                   "CUDA runtime (CUDA: %s)", cuda_says);
    break;
  case cudaErrorNoDevice:
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "no CUDA device: no NVIDIA GPU found (CUDA: %s)", cuda_says);
    break;
  default:
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "no CUDA device: %s (%s)", cuda_says,
                 cudaGetErrorName (st));
    break;
  }
}

/* Says why there is no usable device, or returns the count. */
int
_tl_cuda_device_count (GError **error)
{
  int n = 0;
  cudaError_t st = cudaGetDeviceCount (&n);
  if (st != cudaSuccess) {
    cudaGetLastError (); /* clear the sticky status of a failed init */
    set_no_device_error (error, st);
    return 0;
  }
  if (n <= 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "no CUDA device: no NVIDIA GPU found (the driver reports 0 devices)");
    return 0;
  }
  return n;
}

int
_tl_cuda_current_device (void)
{
  return thread_ctx ()->device;
}


static const char *
cublas_status_name (cublasStatus_t s)
{
  switch (s) {
  case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
  case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
  case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
  case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
  case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
  case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
  case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
  case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
  case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
  case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
  default: return "CUBLAS_STATUS_?";
  }
}

static gboolean
blas_fail (GError **error, cublasStatus_t s, const char *what)
{
  g_set_error (error, TL_ERROR, TL_ERROR_FAILED, "%s: %s (%d)", what, cublas_status_name (s),
               (int) s);
  return FALSE;
}

static gboolean
device_ctx_init (DeviceCtx *d, GError **error)
{
  cudaError_t st = cudaStreamCreateWithFlags (&d->stream, cudaStreamNonBlocking);
  if (st != cudaSuccess) {
    _tl_cuda_set_error (error, st, "cudaStreamCreateWithFlags");
    return FALSE;
  }
  cublasStatus_t bs = cublasCreate (&d->blas);
  if (bs != CUBLAS_STATUS_SUCCESS) {
    cudaStreamDestroy (d->stream);
    return blas_fail (error, bs, "cublasCreate");
  }
  bs = cublasSetStream (d->blas, d->stream);
  if (bs == CUBLAS_STATUS_SUCCESS)
    bs = cublasSetMathMode (d->blas, _tl_env_flag ("TL_CUDA_TF32") ? CUBLAS_TF32_TENSOR_OP_MATH
                                                               : CUBLAS_DEFAULT_MATH);
  if (bs != CUBLAS_STATUS_SUCCESS) {
    cublasDestroy (d->blas);
    cudaStreamDestroy (d->stream);
    return blas_fail (error, bs, "cublasSetStream/cublasSetMathMode");
  }
  st = cudaMalloc (&d->blas_ws, TL_CUDA_CUBLAS_WORKSPACE);
  if (st == cudaSuccess)
    bs = cublasSetWorkspace (d->blas, d->blas_ws, TL_CUDA_CUBLAS_WORKSPACE);
  if (st != cudaSuccess || bs != CUBLAS_STATUS_SUCCESS) {
    if (st != cudaSuccess)
      _tl_cuda_set_error (error, st, "cudaMalloc(cuBLAS workspace of %u bytes)",
                          TL_CUDA_CUBLAS_WORKSPACE);
    else
      blas_fail (error, bs, "cublasSetWorkspace");
    cudaFree (d->blas_ws);
    cublasDestroy (d->blas);
    cudaStreamDestroy (d->stream);
    return FALSE;
  }
  /* the fault record: written by kernels, read by the host after a wait
   * (never managed memory: no migration, no page faults) */
  void *fh = NULL, *fd = NULL;
  st = cudaHostAlloc (&fh, sizeof (TlCudaFault), cudaHostAllocMapped);
  if (st == cudaSuccess)
    st = cudaHostGetDevicePointer (&fd, fh, 0);
  if (st != cudaSuccess) {
    _tl_cuda_set_error (error, st, "cudaHostAlloc(fault record, mapped)");
    if (fh)
      cudaFreeHost (fh);
    cudaFree (d->blas_ws);
    cublasDestroy (d->blas);
    cudaStreamDestroy (d->stream);
    return FALSE;
  }
  memset (fh, 0, sizeof (TlCudaFault));
  d->fault_host = fh;
  d->fault_dev = fd;
  d->ready = TRUE;
  return TRUE;
}

gboolean
_tl_cuda_set_device (int index, GError **error)
{
  ThreadCtx *cur = thread_ctx ();
  if (index >= 0 && index < TL_CUDA_MAX_DEVICES && cur->device == index && cur->dev[index].ready) {
    int now = -1;
    if (cudaGetDevice (&now) == cudaSuccess && now == index)
      return TRUE;
  }
  GError *e = NULL;
  int n = _tl_cuda_device_count (&e);
  if (n == 0) {
    g_propagate_error (error, e);
    return FALSE;
  }
  if (index < 0 || index >= n || index >= TL_CUDA_MAX_DEVICES) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "cuda:%d does not exist (%d CUDA device%s)", index, n, n == 1 ? "" : "s");
    return FALSE;
  }
  cudaError_t st = cudaSetDevice (index);
  if (st != cudaSuccess) {
    _tl_cuda_set_error (error, st, "cudaSetDevice(%d)", index);
    return FALSE;
  }
  ThreadCtx *tc = thread_ctx ();
  tc->device = index;
  if (!tc->dev[index].ready && !device_ctx_init (&tc->dev[index], error)) {
    g_prefix_error (error, "cuda:%d: ", index);
    return FALSE;
  }
  return TRUE;
}

/* The calling thread's context on its current device, created on demand. */
static DeviceCtx *
cur_ctx (void)
{
  ThreadCtx *tc = thread_ctx ();
  DeviceCtx *d = &tc->dev[tc->device];
  if (!d->ready) {
    GError *e = NULL;
    if (!_tl_cuda_set_device (tc->device, &e)) {
      g_warning ("CUDA backend: %s", e->message);
      g_error_free (e);
      return NULL;
    }
  }
  return d;
}

/* cur_ctx(), or NULL with an error for the caller. */
static DeviceCtx *
cur_ctx_or_error (GError **error)
{
  DeviceCtx *d = cur_ctx ();
  if (!d)
    g_set_error (error, TL_ERROR, TL_ERROR_FAILED, "CUDA backend: no usable device");
  return d;
}

void *
_tl_cuda_stream (void)
{
  DeviceCtx *d = cur_ctx ();
  return d ? (void *) d->stream : NULL;
}

void *
_tl_cuda_cublas (void)
{
  DeviceCtx *d = cur_ctx ();
  return d ? (void *) d->blas : NULL;
}

void *
_tl_cuda_scratch (gsize nbytes, GError **error)
{
  DeviceCtx *d = cur_ctx_or_error (error);
  if (!d)
    return NULL;
  if (nbytes == 0)
    nbytes = 1;
  if (d->scratch_bytes >= nbytes)
    return d->scratch;
  /* stream-ordered: work queued with the old scratch finishes before any
   * later use of the block (same stream); but a captured graph replays
   * with the old address, so then the block is kept until the thread ends */
  if (d->scratch && d->graphs)
    d->retired = g_slist_prepend (d->retired, d->scratch);
  else if (d->scratch)
    _tl_cuda_free (d->scratch);
  d->scratch = NULL;
  d->scratch_bytes = 0;
  void *p = _tl_cuda_alloc (nbytes, error);
  if (!p)
    return NULL;
  d->scratch = p;
  d->scratch_bytes = nbytes;
  return p;
}

TlCudaFault *
_tl_cuda_fault (void)
{
  DeviceCtx *d = cur_ctx ();
  return d ? d->fault_dev : NULL;
}

/* After a wait for d's stream: a fault recorded by its kernels becomes
 * TL_ERROR_INVALID_ARGUMENT (and the record is cleared). */
static gboolean
fault_check (DeviceCtx *d, GError **error)
{
  volatile TlCudaFault *vf = d->fault_host;
  if (G_LIKELY (vf->code == TL_CUDA_FAULT_NONE))
    return TRUE;
  TlCudaFault f = { vf->code, 0, vf->value, vf->bound, vf->pos };
  vf->value = vf->bound = vf->pos = 0;
  vf->code = TL_CUDA_FAULT_NONE;
  const char *csr = "malformed CSR in spmm/spmm_t/sddmm";
  g_autofree char *what = NULL;
  switch ((TlCudaFaultCode) f.code) {
  case TL_CUDA_FAULT_INDEX:
    what = g_strdup_printf ("index %" G_GINT64_FORMAT " at position %" G_GINT64_FORMAT
                            " is out of range [0, %" G_GINT64_FORMAT ") in gather/embedding/scatter_add",
                            f.value, f.pos, f.bound);
    break;
  case TL_CUDA_FAULT_LABEL:
    what = g_strdup_printf ("label %" G_GINT64_FORMAT " at row %" G_GINT64_FORMAT
                            " is out of range [0, %" G_GINT64_FORMAT ") in cross_entropy/cross_entropy_grad",
                            f.value, f.pos, f.bound);
    break;
  case TL_CUDA_FAULT_CSR_COLUMN:
    what = g_strdup_printf ("%s: index %" G_GINT64_FORMAT " at position %" G_GINT64_FORMAT
                            " is out of range [0, %" G_GINT64_FORMAT ")",
                            csr, f.value, f.pos, f.bound);
    break;
  case TL_CUDA_FAULT_CSR_START:
    what = g_strdup_printf ("%s: indptr[0] is %" G_GINT64_FORMAT ", expected 0", csr, f.value);
    break;
  case TL_CUDA_FAULT_CSR_DECREASE:
    what = g_strdup_printf ("%s: indptr decreases at row %" G_GINT64_FORMAT " (%" G_GINT64_FORMAT
                            " -> %" G_GINT64_FORMAT ")", csr, f.pos, f.bound, f.value);
    break;
  case TL_CUDA_FAULT_CSR_END:
    what = g_strdup_printf ("%s: indptr[%" G_GINT64_FORMAT "] is %" G_GINT64_FORMAT
                            ", expected nnz = %" G_GINT64_FORMAT, csr, f.pos, f.value, f.bound);
    break;
  case TL_CUDA_FAULT_NONE:
  default:
    what = g_strdup_printf ("bad input (fault code %d, value %" G_GINT64_FORMAT ")", f.code, f.value);
    break;
  }
  g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
               "cuda: %s (reported by an earlier kernel on this stream)", what);
  return FALSE;
}

/* Errors that only a kernel running on the device produces (they are
 * sticky: every later call returns them). A launch check that finds one
 * saw an asynchronous failure, most likely of an earlier kernel. */
static gboolean
is_device_fault (cudaError_t st)
{
  switch (st) {
  case cudaErrorIllegalAddress:
  case cudaErrorLaunchFailure:
  case cudaErrorLaunchTimeout:
  case cudaErrorMisalignedAddress:
  case cudaErrorInvalidAddressSpace:
  case cudaErrorInvalidPc:
  case cudaErrorIllegalInstruction:
  case cudaErrorHardwareStackError:
  case cudaErrorAssert:
  case cudaErrorECCUncorrectable:
    return TRUE;
  default:
    return FALSE;
  }
}

gboolean
_tl_cuda_check_launch (const char *what, GError **error)
{
  cudaError_t st = cudaGetLastError ();
  if (st == cudaSuccess)
    return TRUE;
  if (is_device_fault (st))
    _tl_cuda_set_error (error, st,
                        "a kernel failed on the device (detected at the launch of %s; "
                        "the failing kernel is most likely an earlier one, TL_CUDA_SYNC=1 names it)",
                        what);
  else
    _tl_cuda_set_error (error, st, "kernel launch of %s", what);
  return FALSE;
}

/* Called when a graph is captured on the calling thread's stream. */
void
_tl_cuda_note_graph (void)
{
  DeviceCtx *d = cur_ctx ();
  if (d)
    d->graphs = TRUE;
}

int
_tl_cuda_sm_count (void)
{
  static int cache[TL_CUDA_MAX_DEVICES];
  int dev = _tl_cuda_current_device ();
  if (cache[dev] > 0)
    return cache[dev];
  int n = 0;
  if (cudaDeviceGetAttribute (&n, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess || n <= 0)
    n = 1;
  cache[dev] = n;
  return n;
}

char *
_tl_cuda_describe (int index)
{
  struct cudaDeviceProp p;
  cudaError_t st = cudaGetDeviceProperties (&p, index);
  if (st != cudaSuccess)
    return g_strdup_printf ("cuda:%d (cudaGetDeviceProperties: %s)", index,
                            cudaGetErrorString (st));
  int rt = 0, drv = 0;
  cudaRuntimeGetVersion (&rt);
  cudaDriverGetVersion (&drv);
  return g_strdup_printf ("%s, cc %d.%d, %.0f GiB, %d SMs, runtime %d.%d, driver %d.%d%s", p.name,
                          p.major, p.minor, (double) p.totalGlobalMem / (1024.0 * 1024 * 1024),
                          p.multiProcessorCount, rt / 1000, (rt % 1000) / 10, drv / 1000,
                          (drv % 1000) / 10, _tl_env_flag ("TL_CUDA_TF32") ? ", TF32 on" : "");
}

gboolean
_tl_cuda_memcpy (void *dst, gboolean dst_on_device, const void *src, gboolean src_on_device,
                 gsize nbytes, GError **error)
{
  if (nbytes == 0)
    return TRUE;
  DeviceCtx *d = cur_ctx_or_error (error);
  if (!d)
    return FALSE;
  enum cudaMemcpyKind kind = dst_on_device ? (src_on_device ? cudaMemcpyDeviceToDevice
                                                            : cudaMemcpyHostToDevice)
                                           : (src_on_device ? cudaMemcpyDeviceToHost
                                                            : cudaMemcpyHostToHost);
  if (kind == cudaMemcpyHostToHost) {
    memmove (dst, src, nbytes);
    return TRUE;
  }
  cudaError_t st = cudaMemcpyAsync (dst, src, nbytes, kind, d->stream);
  if (st == cudaSuccess && !dst_on_device)
    st = cudaStreamSynchronize (d->stream);
  if (st != cudaSuccess) {
    static const char *const names[] = {"host to host", "host to device", "device to host",
                                        "device to device"};
    _tl_cuda_set_error (error, st, "cudaMemcpyAsync(%" G_GSIZE_FORMAT " bytes, %s)", nbytes,
                        names[kind & 3]);
    return FALSE;
  }
  return dst_on_device || fault_check (d, error);
}

gboolean
_tl_cuda_memset_zero (void *dst, gsize nbytes, GError **error)
{
  if (nbytes == 0)
    return TRUE;
  DeviceCtx *d = cur_ctx_or_error (error);
  if (!d)
    return FALSE;
  cudaError_t st = cudaMemsetAsync (dst, 0, nbytes, d->stream);
  if (st != cudaSuccess) {
    _tl_cuda_set_error (error, st, "cudaMemsetAsync(%" G_GSIZE_FORMAT " bytes)", nbytes);
    return FALSE;
  }
  return TRUE;
}

gboolean
_tl_cuda_synchronize (GError **error)
{
  DeviceCtx *d = cur_ctx_or_error (error);
  if (!d)
    return FALSE;
  cudaError_t st = cudaStreamSynchronize (d->stream);
  if (st == cudaSuccess)
    st = cudaGetLastError ();
  if (st != cudaSuccess) {
    _tl_cuda_set_error (error, st, "cudaStreamSynchronize (an earlier kernel failed)");
    return FALSE;
  }
  return fault_check (d, error);
}
