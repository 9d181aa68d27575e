/* spmm.cu — sparse (CSR) times dense products on the device
 * (core/ops/spmm.c):
 *   spmm   (indptr, indices, values, dense[cols, n]) -> [rows, n]   thread per output, edges in order
 *   spmm_t (indptr, indices, values, y[rows, n])     -> [n_cols, n] A^T y
 *   sddmm  (indptr, indices, a[rows, n], b[cols, n]) -> [nnz]        warp per edge
 * spmm_t with ctx->deterministic sorts the edges by column (stable) and
 * sums each output row's terms in edge order, the CPU's order; otherwise
 * it uses float atomicAdd. Products and sums are rounded separately (no
 * fused multiply-add) where the order matches the CPU's.
 * The CSR structure is validated as on the CPU (core/ops/spmm.c csr_load:
 * indptr[0] = 0, indptr non-decreasing, indptr[rows] = nnz, columns in
 * [0, cols)) by one O(rows + nnz) kernel before each op, csr_check_kernel:
 * a violation is recorded in the stream's fault record (tl_cuda_fault_raise,
 * kernels.h) and reported by the host at its next wait for the stream as
 * TL_ERROR_INVALID_ARGUMENT (cuda-runtime.c). Meanwhile the kernels stay
 * in bounds: edges with a column outside [0, cols) or outside [0, nnz) are
 * skipped. */
#include "config.h"

#include "kernels.h"

/* The CSR view of core/ops/spmm.c (ops-rules.h). */
typedef TlRuleCsr Csr;

/* Row of edge e: the r with indptr[r] <= e < indptr[r + 1]. */
__device__ __forceinline__ gint64
edge_row (const Csr &c, gint64 e)
{
  gint64 lo = 0, hi = c.rows; /* first r in [0, rows] with indptr[r] > e, minus one */
  while (lo < hi) {
    gint64 mid = (lo + hi) / 2;
    if (tl_cuda_index (c.indptr, c.p64, mid) > e)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo - 1;
}

/* The CPU's checks of the CSR structure (see the top), one thread per
 * indptr entry and per edge; the first violation found is recorded. */
static __global__ void
csr_check_kernel (Csr c, TlCudaFault *fault)
{
  TL_CUDA_GRID_STRIDE (i, MAX (c.rows + 1, c.nnz)) {
    if (i <= c.rows) {
      gint64 p = tl_cuda_index (c.indptr, c.p64, i);
      if (i == 0 && p != 0)
        tl_cuda_fault_raise (fault, TL_CUDA_FAULT_CSR_START, p, 0, 0);
      if (i > 0) {
        gint64 prev = tl_cuda_index (c.indptr, c.p64, i - 1);
        if (p < prev)
          tl_cuda_fault_raise (fault, TL_CUDA_FAULT_CSR_DECREASE, p, prev, i - 1);
      }
      if (i == c.rows && p != c.nnz)
        tl_cuda_fault_raise (fault, TL_CUDA_FAULT_CSR_END, p, c.nnz, c.rows);
    }
    if (i < c.nnz) {
      gint64 col = tl_cuda_index (c.indices, c.i64, i);
      if (col < 0 || col >= c.cols)
        tl_cuda_fault_raise (fault, TL_CUDA_FAULT_CSR_COLUMN, col, c.cols, i);
    }
  }
}

static gboolean
csr_check (const Csr *c, const char *what, GError **error)
{
  gint64 n = MAX (c->rows + 1, c->nnz);
  if (n <= 0)
    return TRUE;
  csr_check_kernel<<<tl_cuda_grid (n), TL_CUDA_BLOCK, 0, tl_cuda_stream ()>>> (*c, _tl_cuda_fault ());
  return _tl_cuda_check_launch (what, error);
}

/* The CSR of indptr in[0] and indices in[1] (cols columns, times n dense
 * columns), its structure checked (see the top): core/ops/spmm.c csr_load. */
static gboolean
csr_load (TlTensor *const *in, gint64 cols, gint64 n, Csr *c, const char *what, GError **error)
{
  _tl_rule_csr_init (c, in[0], in[1], cols, n);
  return csr_check (c, what, error);
}

static __global__ void
spmm_kernel (Csr c, const float *__restrict__ vals, const float *__restrict__ dense, float *__restrict__ out)
{
  TL_CUDA_GRID_STRIDE (t, c.rows * c.n) {
    gint64 r = t / c.n, q = t % c.n;
    gint64 e0 = tl_cuda_index (c.indptr, c.p64, r), e1 = tl_cuda_index (c.indptr, c.p64, r + 1);
    e0 = MAX (e0, (gint64) 0); /* a malformed indptr (a fault of csr_check_kernel): stay in bounds */
    e1 = MIN (e1, c.nnz);
    float acc = 0.0f;
    for (gint64 e = e0; e < e1; e++) {
      gint64 col = tl_cuda_index (c.indices, c.i64, e);
      if (col >= 0 && col < c.cols)
        acc = __fadd_rn (acc, __fmul_rn (vals[e], dense[col * c.n + q]));
    }
    out[t] = acc;
  }
}

TL_CUDA_KERNEL_FN (spmm)
{
  (void) ctx;
  Csr c;
  if (!csr_load (in, tl_tensor_dim (in[3], 0), tl_tensor_dim (in[3], 1), &c, "spmm (CSR check)", error))
    return FALSE;
  if (c.rows * c.n == 0)
    return TRUE;
  spmm_kernel<<<tl_cuda_grid (c.rows * c.n), TL_CUDA_BLOCK, 0, tl_cuda_stream ()>>> (
    c, (const float *) tl_tensor_const_data (in[2]), (const float *) tl_tensor_const_data (in[3]),
    (float *) tl_tensor_data (out[0]));
  return _tl_cuda_check_launch ("spmm", error);
}

/* --- spmm_t -------------------------------------------------------------------- */

static __global__ void
spmm_t_atomic_kernel (Csr c, const float *__restrict__ vals, const float *__restrict__ y, float *__restrict__ out)
{
  TL_CUDA_GRID_STRIDE (t, c.nnz * c.n) {
    gint64 e = t / c.n, q = t % c.n;
    gint64 col = tl_cuda_index (c.indices, c.i64, e);
    gint64 r = edge_row (c, e);
    if (col >= 0 && col < c.cols && r >= 0 && r < c.rows)
      atomicAdd (out + col * c.n + q, vals[e] * y[r * c.n + q]);
  }
}

static __global__ void
spmm_t_keys_kernel (Csr c, gint32 *__restrict__ keys, gint32 *__restrict__ vals)
{
  TL_CUDA_GRID_STRIDE (e, c.nnz) {
    gint64 col = tl_cuda_index (c.indices, c.i64, e);
    keys[e] = (gint32) (col >= 0 && col < c.cols ? col : c.cols);
    vals[e] = (gint32) e;
  }
}

/* Runs of equal sorted columns: out[col, q] = sum over the run (edge order). */
static __global__ void
spmm_t_sorted_kernel (Csr c, const gint32 *__restrict__ keys, const gint32 *__restrict__ edges,
                      const float *__restrict__ vals, const float *__restrict__ y, float *__restrict__ out)
{
  TL_CUDA_GRID_STRIDE (t, c.nnz * c.n) {
    gint64 j = t / c.n, q = t % c.n;
    gint32 key = keys[j];
    if (key >= c.cols || (j > 0 && keys[j - 1] == key))
      continue;
    float acc = 0.0f;
    for (gint64 k = j; k < c.nnz && keys[k] == key; k++) {
      gint64 e = edges[k], r = edge_row (c, e);
      if (r >= 0 && r < c.rows)
        acc = __fadd_rn (acc, __fmul_rn (vals[e], y[r * c.n + q]));
    }
    out[(gint64) key * c.n + q] = acc;
  }
}

TL_CUDA_KERNEL_FN (spmm_t)
{
  Csr c;
  float *o = (float *) tl_tensor_data (out[0]);
  const float *vals = (const float *) tl_tensor_const_data (in[2]);
  const float *y = (const float *) tl_tensor_const_data (in[3]);
  if (!_tl_cuda_kern_zero (o, tl_tensor_nbytes (out[0]), "spmm_t", error)
      || !csr_load (in, tl_tensor_dim (out[0], 0), tl_tensor_dim (in[3], 1), &c, "spmm_t (CSR check)", error))
    return FALSE;
  if (c.nnz * c.n == 0 || c.cols == 0)
    return TRUE;
  cudaStream_t s = tl_cuda_stream ();
  if (!ctx->deterministic) {
    spmm_t_atomic_kernel<<<tl_cuda_grid (c.nnz * c.n), TL_CUDA_BLOCK, 0, s>>> (c, vals, y, o);
    return _tl_cuda_check_launch ("spmm_t", error);
  }
  if (c.nnz >= G_MAXINT32 || c.cols >= G_MAXINT32) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "spmm_t: deterministic CUDA path needs fewer than 2^31 edges and columns");
    return FALSE;
  }
  TlCudaSort so; /* keys: columns, values: edges */
  if (!_tl_cuda_kern_sort_init (&so, c.nnz, c.cols + 1, error))
    return FALSE;
  spmm_t_keys_kernel<<<tl_cuda_grid (c.nnz), TL_CUDA_BLOCK, 0, s>>> (c, so.keys_in, so.vals_in);
  if (!_tl_cuda_check_launch ("spmm_t (keys)", error) || !_tl_cuda_kern_sort_run (&so, "spmm_t (sort)", error))
    return FALSE;
  spmm_t_sorted_kernel<<<tl_cuda_grid (c.nnz * c.n), TL_CUDA_BLOCK, 0, s>>> (c, so.keys, so.vals, vals, y, o);
  return _tl_cuda_check_launch ("spmm_t", error);
}

/* --- sddmm ----------------------------------------------------------------------- */

static __global__ void
sddmm_kernel (Csr c, const float *__restrict__ a, const float *__restrict__ b, float *__restrict__ out)
{
  int lane = threadIdx.x & 31;
  TL_CUDA_WARP_STRIDE (e, c.nnz) {
    gint64 col = tl_cuda_index (c.indices, c.i64, e);
    gint64 r = edge_row (c, e);
    float s = 0.0f;
    if (col >= 0 && col < c.cols && r >= 0 && r < c.rows)
      for (gint64 q = lane; q < c.n; q += 32)
        s += a[r * c.n + q] * b[col * c.n + q];
    s = tl_cuda_warp_sum (s);
    if (lane == 0)
      out[e] = s;
  }
}

TL_CUDA_KERNEL_FN (sddmm)
{
  (void) ctx;
  Csr c;
  if (!csr_load (in, tl_tensor_dim (in[3], 0), tl_tensor_dim (in[3], 1), &c, "sddmm (CSR check)", error))
    return FALSE;
  if (c.nnz == 0)
    return TRUE;
  sddmm_kernel<<<tl_cuda_grid (c.nnz * 32), TL_CUDA_BLOCK, 0, tl_cuda_stream ()>>> (
    c, (const float *) tl_tensor_const_data (in[2]), (const float *) tl_tensor_const_data (in[3]),
    (float *) tl_tensor_data (out[0]));
  return _tl_cuda_check_launch ("sddmm", error);
}
