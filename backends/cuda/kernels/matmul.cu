/* matmul.cu — "matmul" (batched, broadcasting batch axes, trans_a/trans_b)
 * and "linear" (x @ w^T + b) through _tl_cuda_gemm (cuBLAS), with the
 * batch handling of core/ops/matmul.c: b shared by every batch entry folds
 * the batch into the rows (one GEMM); batches that are full or fully
 * broadcast on each side run as one strided-batched GEMM; other broadcast
 * patterns run one GEMM per batch entry. */
#include "config.h"

#include "kernels.h"

typedef TlMatmulGeom MatmulGeom;

/* The geometry of core/ops/matmul.c (ops-rules.h; shapes were validated by infer). */
static void
matmul_geom (TlTensor *a, TlTensor *b, gboolean ta, gboolean tb, MatmulGeom *gm)
{
  _tl_rule_matmul_geom (gm, tl_tensor_ndim (a), tl_tensor_shape (a), tl_tensor_ndim (b), tl_tensor_shape (b), ta,
                        tb);
}

TL_CUDA_KERNEL_FN (matmul)
{
  gboolean ta = tl_attrs_get_int (ctx->attrs, "trans_a", 0) != 0;
  gboolean tb = tl_attrs_get_int (ctx->attrs, "trans_b", 0) != 0;
  MatmulGeom gm;
  matmul_geom (in[0], in[1], ta, tb, &gm);
  const float *a = (const float *) tl_tensor_const_data (in[0]);
  const float *b = (const float *) tl_tensor_const_data (in[1]);
  float *c = (float *) tl_tensor_data (out[0]);
  if (gm.nbatch == 0 || gm.m == 0 || gm.n == 0)
    return TRUE;
  if (gm.k == 0)
    return _tl_cuda_kern_zero (c, tl_tensor_nbytes (out[0]), "matmul", error);
  gint64 a_mat = gm.rows_a * gm.cols_a, b_mat = gm.rows_b * gm.cols_b, c_mat = gm.m * gm.n;
  if (gm.b_nbatch == 1 && !ta && gm.a_nbatch == gm.nbatch)
    return _tl_cuda_gemm (TL_DTYPE_F32, FALSE, tb, gm.nbatch * gm.m, gm.n, gm.k, 1.0f, a, gm.cols_a, 0, b,
                          gm.cols_b, 0, 0.0f, c, gm.n, 0, 1, error);
  gboolean a_simple = gm.a_nbatch == 1 || gm.a_nbatch == gm.nbatch;
  gboolean b_simple = gm.b_nbatch == 1 || gm.b_nbatch == gm.nbatch;
  if (a_simple && b_simple)
    return _tl_cuda_gemm (TL_DTYPE_F32, ta, tb, gm.m, gm.n, gm.k, 1.0f, a, gm.cols_a,
                          gm.a_nbatch == 1 ? 0 : a_mat, b, gm.cols_b, gm.b_nbatch == 1 ? 0 : b_mat, 0.0f, c, gm.n,
                          c_mat, gm.nbatch, error);
  for (gint64 bi = 0; bi < gm.nbatch; bi++) {
    gint64 oa, ob;
    _tl_rule_matmul_batch (&gm, bi, &oa, &ob);
    if (!_tl_cuda_gemm (TL_DTYPE_F32, ta, tb, gm.m, gm.n, gm.k, 1.0f, a + oa * a_mat, gm.cols_a, 0,
                        b + ob * b_mat, gm.cols_b, 0, 0.0f, c + bi * c_mat, gm.n, 0, 1, error))
      return FALSE;
  }
  return TRUE;
}

/* y[r, j] += b[j] */
static __global__ void
bias_rows_kernel (float *__restrict__ y, const float *__restrict__ b, gint64 rows, gint64 n)
{
  TL_CUDA_GRID_STRIDE (i, rows * n)
    y[i] += b[i % n];
}

TL_CUDA_KERNEL_FN (linear)
{
  gint64 in_f = tl_tensor_dim (in[1], 1), out_f = tl_tensor_dim (in[1], 0);
  gint64 rows = in_f ? tl_tensor_numel (in[0]) / in_f : tl_tensor_numel (out[0]) / MAX (out_f, 1);
  float *y = (float *) tl_tensor_data (out[0]);
  if (rows == 0 || out_f == 0)
    return TRUE;
  if (in_f == 0) {
    if (!_tl_cuda_kern_zero (y, tl_tensor_nbytes (out[0]), "linear", error))
      return FALSE;
  } else if (!_tl_cuda_gemm (TL_DTYPE_F32, FALSE, TRUE, rows, out_f, in_f, 1.0f, tl_tensor_const_data (in[0]), in_f,
                             0, tl_tensor_const_data (in[1]), in_f, 0, 0.0f, y, out_f, 0, 1, error)) {
    return FALSE;
  }
  if (ctx->n_inputs == 3) {
    bias_rows_kernel<<<tl_cuda_grid (rows * out_f), TL_CUDA_BLOCK, 0, tl_cuda_stream ()>>> (
      y, (const float *) tl_tensor_const_data (in[2]), rows, out_f);
    return _tl_cuda_check_launch ("linear (bias)", error);
  }
  return TRUE;
}
