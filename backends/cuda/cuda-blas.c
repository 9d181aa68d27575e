/* cuda-blas.c — GEMM through cuBLAS (row-major, like the CPU engine) and the
 * BLAS-1 helpers the trainer uses on device gradients. */
#include "config.h"

#include <math.h>

#include <cuda_runtime.h>
#include <cublas_v2.h>

#include "cuda-private.h"

static gboolean
blas_check (cublasStatus_t s, const char *what, GError **error)
{
  if (s == CUBLAS_STATUS_SUCCESS)
    return TRUE;
  g_set_error (error, TL_ERROR, TL_ERROR_FAILED, "%s: cuBLAS status %d%s", what, (int) s,
               s == CUBLAS_STATUS_NOT_SUPPORTED  ? " (not supported)"
               : s == CUBLAS_STATUS_INVALID_VALUE ? " (invalid value)"
               : s == CUBLAS_STATUS_ARCH_MISMATCH ? " (architecture mismatch)"
               : s == CUBLAS_STATUS_EXECUTION_FAILED ? " (execution failed)"
               : s == CUBLAS_STATUS_ALLOC_FAILED ? " (allocation failed)"
                                                  : "");
  return FALSE;
}

static cublasHandle_t
handle (GError **error)
{
  cublasHandle_t h = _tl_cuda_cublas ();
  if (!h)
    g_set_error (error, TL_ERROR, TL_ERROR_FAILED, "CUDA backend: no cuBLAS handle");
  return h;
}

static gboolean
fits_int (gint64 v)
{
  return v >= 0 && v <= G_MAXINT;
}

/**
 * _tl_cuda_gemm:
 *
 * Row-major C[m,n] = alpha op(A)[m,k] op(B)[k,n] + beta C on the current
 * stream. cuBLAS is column-major: a row-major matrix is its transpose in
 * column-major, so C^T = op(B)^T op(A)^T is computed with the operands
 * swapped (n, m in place of m, n). fp32 accumulation for every dtype; TF32
 * only when TL_CUDA_TF32=1 (the handle's math mode, cuda-runtime.c).
 *
 * f32 goes through cublasSgemm / cublasSgemmStridedBatched, the calls
 * PyTorch makes (cublasGemmStridedBatchedEx with one batch picked slower
 * kernels for some shapes: 4% at 4096x3072x768 on an H200); bf16 and f16
 * through cublasGemmStridedBatchedEx with fp32 compute.
 */
gboolean
_tl_cuda_gemm (TlDType dtype, gboolean trans_a, gboolean trans_b, gint64 m, gint64 n, gint64 k,
               float alpha, const void *a, gint64 lda, gint64 stride_a, const void *b, gint64 ldb,
               gint64 stride_b, float beta, void *c, gint64 ldc, gint64 stride_c, gint64 batch,
               GError **error)
{
  if (m == 0 || n == 0 || batch == 0)
    return TRUE;
  if (!fits_int (m) || !fits_int (n) || !fits_int (k) || !fits_int (lda) || !fits_int (ldb) ||
      !fits_int (ldc) || !fits_int (batch) || batch < 1) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "cuBLAS gemm: m=%" G_GINT64_FORMAT " n=%" G_GINT64_FORMAT " k=%" G_GINT64_FORMAT
                 " batch=%" G_GINT64_FORMAT " (leading dimensions %" G_GINT64_FORMAT
                 "/%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT ") exceed 32-bit cuBLAS limits",
                 m, n, k, batch, lda, ldb, ldc);
    return FALSE;
  }
  cudaDataType_t t;
  switch (dtype) {
  case TL_DTYPE_F32: t = CUDA_R_32F; break;
  case TL_DTYPE_BF16: t = CUDA_R_16BF; break;
  case TL_DTYPE_F16: t = CUDA_R_16F; break;
  default:
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "cuBLAS gemm: dtype %s is not supported",
                 tl_dtype_name (dtype));
    return FALSE;
  }
  cublasHandle_t h = handle (error);
  if (!h)
    return FALSE;
  if (k == 0) {
    /* cuBLAS rejects k = 0: C = beta C, done here for the dense beta = 0 case */
    if (beta == 0.0f && ldc == n && (batch == 1 || stride_c == m * n))
      return _tl_cuda_memset_zero (c, (gsize) (m * n * batch) * tl_dtype_size (dtype), error);
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "cuBLAS gemm: k = 0 with beta != 0 or a strided C");
    return FALSE;
  }
  cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasStatus_t s;
  const char *call;
  if (dtype == TL_DTYPE_F32 && batch == 1) {
    call = "cublasSgemm";
    s = cublasSgemm (h, op_b, op_a, (int) n, (int) m, (int) k, &alpha, b, (int) ldb, a, (int) lda, &beta, c,
                     (int) ldc);
  } else if (dtype == TL_DTYPE_F32) {
    call = "cublasSgemmStridedBatched";
    s = cublasSgemmStridedBatched (h, op_b, op_a, (int) n, (int) m, (int) k, &alpha, b, (int) ldb,
                                   (long long) stride_b, a, (int) lda, (long long) stride_a, &beta, c,
                                   (int) ldc, (long long) stride_c, (int) batch);
  } else {
    call = "cublasGemmStridedBatchedEx";
    s = cublasGemmStridedBatchedEx (h, op_b, op_a, (int) n, (int) m, (int) k, &alpha, b, t, (int) ldb,
                                    (long long) stride_b, a, t, (int) lda, (long long) stride_a, &beta, c, t,
                                    (int) ldc, (long long) stride_c, (int) batch, CUBLAS_COMPUTE_32F,
                                    CUBLAS_GEMM_DEFAULT);
  }
  if (s != CUBLAS_STATUS_SUCCESS) {
    GError *e = NULL;
    blas_check (s, call, &e);
    g_prefix_error (&e, "%s gemm m=%" G_GINT64_FORMAT " n=%" G_GINT64_FORMAT " k=%" G_GINT64_FORMAT
                    " batch=%" G_GINT64_FORMAT " trans_a=%d trans_b=%d: ",
                    tl_dtype_name (dtype), m, n, k, batch, trans_a ? 1 : 0, trans_b ? 1 : 0);
    g_propagate_error (error, e);
    return FALSE;
  }
  return TRUE;
}

/* cuBLAS level-1 routines take int counts: long vectors go in chunks. */
#define CHUNK ((gint64) 1 << 30)

gboolean
_tl_cuda_axpy (gint64 n, float alpha, const float *x, float *y, GError **error)
{
  cublasHandle_t h = handle (error);
  if (!h)
    return FALSE;
  for (gint64 o = 0; o < n; o += CHUNK)
    if (!blas_check (cublasSaxpy (h, (int) MIN (CHUNK, n - o), &alpha, x + o, 1, y + o, 1),
                     "cublasSaxpy", error))
      return FALSE;
  return TRUE;
}

gboolean
_tl_cuda_scale (gint64 n, float alpha, float *x, GError **error)
{
  cublasHandle_t h = handle (error);
  if (!h)
    return FALSE;
  for (gint64 o = 0; o < n; o += CHUNK)
    if (!blas_check (cublasSscal (h, (int) MIN (CHUNK, n - o), &alpha, x + o, 1), "cublasSscal",
                     error))
      return FALSE;
  return TRUE;
}

/* Norms go to device memory (device pointer mode: no synchronisation per
 * tensor), then one copy brings them to the host. */
gboolean
_tl_cuda_sumsq_multi (guint n, const float *const *xs, const gint64 *ns, double *out,
                      GError **error)
{
  if (n == 0)
    return TRUE;
  cublasHandle_t h = handle (error);
  if (!h)
    return FALSE;
  guint n_chunks = 0;
  for (guint i = 0; i < n; i++)
    n_chunks += (guint) MAX (1, (ns[i] + CHUNK - 1) / CHUNK);
  float *dev = _tl_cuda_scratch (sizeof (float) * n_chunks, error);
  if (!dev)
    return FALSE;
  if (!_tl_cuda_memset_zero (dev, sizeof (float) * n_chunks, error))
    return FALSE;
  if (!blas_check (cublasSetPointerMode (h, CUBLAS_POINTER_MODE_DEVICE), "cublasSetPointerMode",
                   error))
    return FALSE;
  gboolean ok = TRUE;
  guint j = 0;
  for (guint i = 0; i < n && ok; i++) {
    for (gint64 o = 0; o < MAX (1, ns[i]) && ok; o += CHUNK, j++)
      if (ns[i] > 0)
        ok = blas_check (cublasSnrm2 (h, (int) MIN (CHUNK, ns[i] - o), xs[i] + o, 1, dev + j),
                         "cublasSnrm2", error);
  }
  cublasSetPointerMode (h, CUBLAS_POINTER_MODE_HOST);
  if (!ok)
    return FALSE;
  g_autofree float *host = g_new (float, n_chunks);
  if (!_tl_cuda_memcpy (host, FALSE, dev, TRUE, sizeof (float) * n_chunks, error))
    return FALSE;
  j = 0;
  for (guint i = 0; i < n; i++) {
    double s = 0;
    for (gint64 o = 0; o < MAX (1, ns[i]); o += CHUNK, j++)
      s += (double) host[j] * host[j];
    out[i] = s;
  }
  return TRUE;
}
