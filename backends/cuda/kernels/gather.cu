/* gather.cu — "gather", "embedding" and their adjoint "scatter_add" on the
 * device (core/ops/gather.c):
 *   gather:      x[pre, A, post], idx[I...]        -> [pre, I..., post]
 *   scatter_add: src[pre, I..., post], idx[I...]   -> [pre, n_rows, post]
 * Gathers move rows of any dtype in the widest unit (up to 16 bytes) that
 * the row size and alignment allow. scatter_add has two paths:
 *   ctx->deterministic: indices sorted stably (CUB radix sort), then each
 *     output row sums its source rows in index order, exactly the CPU's
 *     order: bit-identical results, no atomics;
 *   otherwise: float atomicAdd (order-dependent rounding, within fp32
 *     tolerance of the CPU).
 * An index outside [0, bound) is recorded in the stream's fault record
 * (tl_cuda_fault_raise, kernels.h): the host reports it at its next wait for
 * the stream as TL_ERROR_INVALID_ARGUMENT naming the index, its position and
 * the bound, as the CPU kernels do (cuda-runtime.c). Meanwhile gather writes
 * zeros for it and scatter_add skips it (no out-of-bounds access). */
#include "config.h"

#include "kernels.h"

/* Only the index check, for shapes with nothing to move (the CPU kernels
 * validate the indices all the same). */
static __global__ void
index_check_kernel (const void *idx, bool i64, gint64 ni, gint64 bound, TlCudaFault *fault)
{
  TL_CUDA_GRID_STRIDE (i, ni) {
    gint64 r = tl_cuda_index (idx, i64, i);
    if (r < 0 || r >= bound)
      tl_cuda_fault_raise (fault, TL_CUDA_FAULT_INDEX, r, bound, i);
  }
}

static gboolean
index_check (const char *op, const void *idx, bool i64, gint64 ni, gint64 bound, GError **error)
{
  if (ni == 0)
    return TRUE;
  index_check_kernel<<<tl_cuda_grid (ni), TL_CUDA_BLOCK, 0, tl_cuda_stream ()>>> (idx, i64, ni, bound,
                                                                                  _tl_cuda_fault ());
  return _tl_cuda_check_launch (op, error);
}

template <typename U>
static __global__ void
gather_kernel (const U *__restrict__ x, const void *idx, bool i64, U *__restrict__ y, gint64 pre, gint64 ni,
               gint64 bound, gint64 post, TlCudaFault *fault)
{
  TL_CUDA_GRID_STRIDE (t, pre * ni * post) {
    gint64 q = t % post, rest = t / post;
    gint64 i = rest % ni, p = rest / ni;
    gint64 r = tl_cuda_index (idx, i64, i);
    U v;
    if (r >= 0 && r < bound)
      v = x[(p * bound + r) * post + q];
    else {
      memset (&v, 0, sizeof v);
      if (p == 0 && q == 0) /* once per index, not per element: the record is host memory */
        tl_cuda_fault_raise (fault, TL_CUDA_FAULT_INDEX, r, bound, i);
    }
    y[t] = v;
  }
}

template <typename U>
static void
launch_gather (const void *src, const void *ip, bool i64, void *dst, gint64 pre, gint64 ni, gint64 bound,
               gint64 pu)
{
  gather_kernel<U><<<tl_cuda_grid (pre * ni * pu), TL_CUDA_BLOCK, 0, tl_cuda_stream ()>>> (
    (const U *) src, ip, i64, (U *) dst, pre, ni, bound, pu, _tl_cuda_fault ());
}

static gboolean
gather_run (const char *op, TlTensor *x, TlTensor *idx, gint64 axis, TlTensor *out, GError **error)
{
  gint64 pre, bound, post, ni = tl_tensor_numel (idx);
  _tl_rule_gather_split (x, axis, &pre, &bound, &post);
  const void *ip = tl_tensor_const_data (idx);
  bool i64 = tl_tensor_dtype (idx) == TL_DTYPE_I64;
  if (pre * ni * post == 0)
    return index_check (op, ip, i64, ni, bound, error);
  const void *src = tl_tensor_const_data (x);
  void *dst = tl_tensor_data (out);
  gsize row = (gsize) post * tl_dtype_size (tl_tensor_dtype (x));
  gsize align = (gsize) (((guintptr) src | (guintptr) dst | row) & 15u);
  gsize unit = align == 0 ? 16 : (align & 7) == 0 ? 8 : (align & 3) == 0 ? 4 : (align & 1) == 0 ? 2 : 1;
  gint64 pu = (gint64) (row / unit);
  switch (unit) {
  case 16: launch_gather<uint4> (src, ip, i64, dst, pre, ni, bound, pu); break;
  case 8: launch_gather<guint64> (src, ip, i64, dst, pre, ni, bound, pu); break;
  case 4: launch_gather<guint32> (src, ip, i64, dst, pre, ni, bound, pu); break;
  case 2: launch_gather<guint16> (src, ip, i64, dst, pre, ni, bound, pu); break;
  default: launch_gather<guint8> (src, ip, i64, dst, pre, ni, bound, pu); break;
  }
  return _tl_cuda_check_launch (op, error);
}

TL_CUDA_KERNEL_FN (gather)
{
  return gather_run ("gather", in[0], in[1], tl_attrs_get_int (ctx->attrs, "axis", 0), out[0], error);
}

TL_CUDA_KERNEL_FN (embedding)
{
  (void) ctx;
  return gather_run ("embedding", in[0], in[1], 0, out[0], error);
}

/* --- scatter_add ------------------------------------------------------------------ */

static __global__ void
scatter_atomic_kernel (const float *__restrict__ src, const void *idx, bool i64, float *__restrict__ dst,
                       gint64 pre, gint64 ni, gint64 n_rows, gint64 post, TlCudaFault *fault)
{
  TL_CUDA_GRID_STRIDE (t, pre * ni * post) {
    gint64 q = t % post, rest = t / post;
    gint64 i = rest % ni, p = rest / ni;
    gint64 r = tl_cuda_index (idx, i64, i);
    if (r >= 0 && r < n_rows)
      atomicAdd (dst + (p * n_rows + r) * post + q, src[t]);
    else if (p == 0 && q == 0) /* once per index */
      tl_cuda_fault_raise (fault, TL_CUDA_FAULT_INDEX, r, n_rows, i);
  }
}

/* keys[i] = idx[i] (n_rows when out of range: a fault), vals[i] = i. */
static __global__ void
scatter_keys_kernel (const void *idx, bool i64, gint64 ni, gint64 n_rows, gint32 *__restrict__ keys,
                     gint32 *__restrict__ vals, TlCudaFault *fault)
{
  TL_CUDA_GRID_STRIDE (i, ni) {
    gint64 r = tl_cuda_index (idx, i64, i);
    bool ok = r >= 0 && r < n_rows;
    if (!ok)
      tl_cuda_fault_raise (fault, TL_CUDA_FAULT_INDEX, r, n_rows, i);
    keys[i] = (gint32) (ok ? r : n_rows);
    vals[i] = (gint32) i;
  }
}

/* For each run of equal sorted keys (started at position j): out[p, key, q] =
 * sum of src[p, vals[k], q] over the run, in order. */
static __global__ void
scatter_sorted_kernel (const float *__restrict__ src, const gint32 *__restrict__ keys,
                       const gint32 *__restrict__ vals, float *__restrict__ dst, gint64 pre, gint64 ni,
                       gint64 n_rows, gint64 post)
{
  TL_CUDA_GRID_STRIDE (t, pre * ni * post) {
    gint64 q = t % post, rest = t / post;
    gint64 j = rest % ni, p = rest / ni;
    gint32 key = keys[j];
    if (key >= n_rows || (j > 0 && keys[j - 1] == key))
      continue;
    float acc = 0.0f;
    for (gint64 k = j; k < ni && keys[k] == key; k++)
      acc += src[(p * ni + vals[k]) * post + q];
    dst[(p * n_rows + key) * post + q] = acc;
  }
}

TL_CUDA_KERNEL_FN (scatter_add)
{
  TlTensor *src = in[0], *idx = in[1];
  guint snd = tl_tensor_ndim (src), ind = tl_tensor_ndim (idx);
  const gint64 *ss = tl_tensor_shape (src);
  gint64 n_rows = tl_attrs_get_int (ctx->attrs, "n_rows", -1);
  gint64 axis = tl_attrs_get_int (ctx->attrs, "axis", 0);
  guint a = (guint) (axis < 0 ? axis + (snd - ind + 1) : axis);
  gint64 pre, post, ni = tl_tensor_numel (idx);
  _tl_rule_span_split (snd, ss, a, ind, &pre, &post);
  float *dst = (float *) tl_tensor_data (out[0]);
  const float *ps = (const float *) tl_tensor_const_data (src);
  const void *ip = tl_tensor_const_data (idx);
  bool i64 = tl_tensor_dtype (idx) == TL_DTYPE_I64;
  if (!_tl_cuda_kern_zero (dst, tl_tensor_nbytes (out[0]), "scatter_add", error))
    return FALSE;
  if (pre * ni * post == 0 || n_rows == 0)
    return index_check ("scatter_add", ip, i64, ni, n_rows, error);
  cudaStream_t s = tl_cuda_stream ();
  if (!ctx->deterministic) {
    scatter_atomic_kernel<<<tl_cuda_grid (pre * ni * post), TL_CUDA_BLOCK, 0, s>>> (ps, ip, i64, dst, pre, ni,
                                                                                    n_rows, post, _tl_cuda_fault ());
    return _tl_cuda_check_launch ("scatter_add", error);
  }
  if (ni >= G_MAXINT32 || n_rows >= G_MAXINT32) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "scatter_add: deterministic CUDA path needs fewer than 2^31 indices and rows");
    return FALSE;
  }
  TlCudaSort so;
  if (!_tl_cuda_kern_sort_init (&so, ni, n_rows + 1, error))
    return FALSE;
  scatter_keys_kernel<<<tl_cuda_grid (ni), TL_CUDA_BLOCK, 0, s>>> (ip, i64, ni, n_rows, so.keys_in, so.vals_in,
                                                                    _tl_cuda_fault ());
  if (!_tl_cuda_check_launch ("scatter_add (keys)", error)
      || !_tl_cuda_kern_sort_run (&so, "scatter_add (sort)", error))
    return FALSE;
  scatter_sorted_kernel<<<tl_cuda_grid (pre * ni * post), TL_CUDA_BLOCK, 0, s>>> (ps, so.keys, so.vals, dst, pre,
                                                                                  ni, n_rows, post);
  return _tl_cuda_check_launch ("scatter_add", error);
}
