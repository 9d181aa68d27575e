/* shape.cu — layout ops on the device (any dtype, moved as 1/2/4/8-byte
 * elements): reshape, transpose, concat, split, slice, slice_grad and
 * broadcast_to, all through one strided-copy kernel (plus a tiled kernel
 * for the common swap of the last two axes of 4-byte elements).
 *
 * reshape, transpose and slice are TL_OP_VIEW: their input may be a
 * non-contiguous view, read through its strides (tl_tensor_strides). */
#include "config.h"

#include "kernels.h"

void
_tl_cuda_kern_contig_strides (guint ndim, const gint64 *shape, gint64 *strides)
{
  gint64 st = 1;
  for (gint i = (gint) ndim - 1; i >= 0; i--) {
    strides[i] = st;
    st *= shape[i];
  }
}

typedef struct {
  int ndim;
  gint64 shape[TL_MAX_DIMS];
  gint64 st[2][TL_MAX_DIMS]; /* source, destination strides */
} CopyDev;

template <typename T, typename I>
static __global__ void
strided_copy_kernel (CopyDev g, const T *__restrict__ src, T *__restrict__ dst, I n)
{
  for (I i = (I) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (I) blockDim.x * gridDim.x) {
    I os, od;
    tl_cuda_offsets2 (i, g.ndim, g.shape, g.st[0], g.st[1], &os, &od);
    dst[od] = src[os];
  }
}

template <typename T>
static void
launch_copy (const CopyDev *g, const void *src, void *dst, gint64 n, gboolean small)
{
  cudaStream_t s = tl_cuda_stream ();
  if (small)
    strided_copy_kernel<T, gint32><<<tl_cuda_grid (n), TL_CUDA_BLOCK, 0, s>>> (*g, (const T *) src, (T *) dst,
                                                                               (gint32) n);
  else
    strided_copy_kernel<T, gint64><<<tl_cuda_grid (n), TL_CUDA_BLOCK, 0, s>>> (*g, (const T *) src, (T *) dst, n);
}

gboolean
_tl_cuda_kern_strided_copy (void *dst, const void *src, gsize esize, const TlCudaCopyGeom *geom, const char *what,
                            GError **error)
{
  gint64 n = 1, span_s = 1, span_d = 1;
  for (guint i = 0; i < geom->ndim; i++) {
    n *= geom->shape[i];
    span_s += (geom->shape[i] - 1) * geom->src_strides[i];
    span_d += (geom->shape[i] - 1) * geom->dst_strides[i];
  }
  if (n == 0)
    return TRUE;
  CopyDev g;
  memset (&g, 0, sizeof g);
  memcpy (g.shape, geom->shape, geom->ndim * sizeof (gint64));
  memcpy (g.st[0], geom->src_strides, geom->ndim * sizeof (gint64));
  memcpy (g.st[1], geom->dst_strides, geom->ndim * sizeof (gint64));
  g.ndim = (int) _tl_rule_dims_merge (geom->ndim, g.shape, 2, g.st);
  for (guint i = (guint) g.ndim; i < geom->ndim; i++)
    g.shape[i] = g.st[0][i] = g.st[1][i] = 0;
  if (g.ndim == 0) {
    g.ndim = 1;
    g.shape[0] = 1;
    g.st[0][0] = g.st[1][0] = 1;
  }
  /* one contiguous run on both sides: a plain copy */
  if (g.ndim == 1 && g.st[0][0] == 1 && g.st[1][0] == 1)
    return _tl_cuda_kern_copy (dst, src, (gsize) n * esize, what, error);
  /* rows contiguous on both sides: move them in the widest unit (up to 16
   * bytes) that the row length, the strides and the pointers allow */
  if (g.st[0][g.ndim - 1] == 1 && g.st[1][g.ndim - 1] == 1) {
    guintptr bits = (guintptr) src | (guintptr) dst | (guintptr) (g.shape[g.ndim - 1] * (gint64) esize);
    for (int i = 0; i + 1 < g.ndim; i++)
      bits |= (guintptr) (g.st[0][i] * (gint64) esize) | (guintptr) (g.st[1][i] * (gint64) esize);
    gsize unit = (bits & 15) == 0 ? 16 : (bits & 7) == 0 ? 8 : (bits & 3) == 0 ? 4 : esize;
    if (unit > esize) {
      gint64 f = (gint64) (unit / esize);
      g.shape[g.ndim - 1] /= f;
      for (int i = 0; i + 1 < g.ndim; i++) {
        g.st[0][i] /= f;
        g.st[1][i] /= f;
      }
      n /= f;
      span_s = span_s / f + 1;
      span_d = span_d / f + 1;
      esize = unit;
    }
  }
  /* 32-bit indices only while i + the grid stride cannot wrap */
  gboolean small = n <= G_MAXINT32 / 2 && span_s < G_MAXINT32 && span_d < G_MAXINT32;
  switch (esize) {
  case 1: launch_copy<guint8> (&g, src, dst, n, small); break;
  case 2: launch_copy<guint16> (&g, src, dst, n, small); break;
  case 4: launch_copy<guint32> (&g, src, dst, n, small); break;
  case 8: launch_copy<guint64> (&g, src, dst, n, small); break;
  case 16: launch_copy<uint4> (&g, src, dst, n, small); break;
  default:
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "%s: element size %" G_GSIZE_FORMAT " not supported on CUDA",
                 what, esize);
    return FALSE;
  }
  return _tl_cuda_check_launch (what, error);
}

/* Copy all of src (any layout) into the contiguous dst in src's logical order. */
static gboolean
copy_view_to_contig (TlTensor *dst, TlTensor *src, const char *what, GError **error)
{
  TlCudaCopyGeom g;
  g.ndim = tl_tensor_ndim (src);
  memcpy (g.shape, tl_tensor_shape (src), g.ndim * sizeof (gint64));
  memcpy (g.src_strides, tl_tensor_strides (src), g.ndim * sizeof (gint64));
  _tl_cuda_kern_contig_strides (g.ndim, g.shape, g.dst_strides);
  return _tl_cuda_kern_strided_copy (tl_tensor_data (dst), tl_tensor_const_data (src),
                                     tl_dtype_size (tl_tensor_dtype (src)), &g, what, error);
}

/* --- reshape ----------------------------------------------------------------------- */

TL_CUDA_KERNEL_FN (reshape)
{
  (void) ctx;
  return copy_view_to_contig (out[0], in[0], "reshape", error);
}

/* --- transpose ----------------------------------------------------------------------- */

/* The permutation (ops-rules.h; infer validated it). */
static gboolean
read_perm (const TlAttrs *attrs, guint ndim, gint *perm, GError **error)
{
  guint n = 0, bad = 0;
  const gint64 *p = tl_attrs_get_ints (attrs, "perm", &n);
  if (_tl_rule_transpose_perm (ndim, p, n, perm, &bad) == TL_RULE_OK)
    return TRUE;
  g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "transpose: attr 'perm' is not a permutation of %u axes",
               ndim);
  return FALSE;
}

#define TR_TILE 32
#define TR_ROWS 8

/* y[b][j][i] = x[b][i][j] for x [batch, M, N], 4-byte elements. */
static __global__ void
transpose_tiles (const guint32 *__restrict__ x, guint32 *__restrict__ y, gint64 M, gint64 N, gint64 tiles_m,
                 gint64 tiles_n, gint64 n_tiles)
{
  __shared__ guint32 tile[TR_TILE][TR_TILE + 1];
  for (gint64 t = blockIdx.x; t < n_tiles; t += gridDim.x) {
    gint64 per = tiles_m * tiles_n;
    gint64 b = t / per, r = t % per;
    gint64 i0 = (r / tiles_n) * TR_TILE, j0 = (r % tiles_n) * TR_TILE;
    const guint32 *xb = x + b * M * N;
    guint32 *yb = y + b * M * N;
    for (int k = threadIdx.y; k < TR_TILE; k += TR_ROWS) {
      gint64 i = i0 + k, j = j0 + threadIdx.x;
      if (i < M && j < N)
        tile[k][threadIdx.x] = xb[i * N + j];
    }
    __syncthreads ();
    for (int k = threadIdx.y; k < TR_TILE; k += TR_ROWS) {
      gint64 j = j0 + k, i = i0 + threadIdx.x;
      if (i < M && j < N)
        yb[j * M + i] = tile[threadIdx.x][k];
    }
    __syncthreads ();
  }
}

TL_CUDA_KERNEL_FN (transpose)
{
  TlTensor *x = in[0];
  guint nd = tl_tensor_ndim (x);
  gint perm[TL_MAX_DIMS];
  if (!read_perm (ctx->attrs, nd, perm, error))
    return FALSE;
  if (tl_tensor_numel (x) == 0)
    return TRUE;
  gboolean last2 = nd >= 2 && perm[nd - 2] == (gint) nd - 1 && perm[nd - 1] == (gint) nd - 2;
  for (guint i = 0; last2 && i + 2 < nd; i++)
    last2 = perm[i] == (gint) i;
  if (last2 && tl_dtype_size (tl_tensor_dtype (x)) == 4 && tl_tensor_is_contiguous (x)) {
    gint64 M = tl_tensor_dim (x, -2), N = tl_tensor_dim (x, -1);
    gint64 batch = tl_tensor_numel (x) / (M * N);
    gint64 tm = (M + TR_TILE - 1) / TR_TILE, tn = (N + TR_TILE - 1) / TR_TILE;
    gint64 n_tiles = batch * tm * tn;
    unsigned int grid = (unsigned int) MIN (n_tiles, (gint64) MAX (_tl_cuda_sm_count (), 1) * 16);
    transpose_tiles<<<grid, dim3 (TR_TILE, TR_ROWS), 0, tl_cuda_stream ()>>> (
      (const guint32 *) tl_tensor_const_data (x), (guint32 *) tl_tensor_data (out[0]), M, N, tm, tn, n_tiles);
    return _tl_cuda_check_launch ("transpose", error);
  }
  TlCudaCopyGeom g;
  const gint64 *sh = tl_tensor_shape (x), *st = tl_tensor_strides (x);
  g.ndim = nd;
  for (guint i = 0; i < nd; i++) {
    g.shape[i] = sh[perm[i]];
    g.src_strides[i] = st[perm[i]];
  }
  _tl_cuda_kern_contig_strides (nd, g.shape, g.dst_strides);
  return _tl_cuda_kern_strided_copy (tl_tensor_data (out[0]), tl_tensor_const_data (x),
                                     tl_dtype_size (tl_tensor_dtype (x)), &g, "transpose", error);
}

/* --- concat / split ------------------------------------------------------------------ */

static guint
norm_axis (gint64 axis, guint ndim)
{
  return (guint) (axis < 0 ? axis + (gint64) ndim : axis);
}

/* Copy between the contiguous `part` and the slab [off, off + len) along
 * axis of the contiguous `whole`; to_whole picks the direction. */
static gboolean
slab_copy (TlTensor *whole, TlTensor *part, guint axis, gint64 off, gboolean to_whole, const char *what,
           GError **error)
{
  TlCudaCopyGeom g;
  gint64 wst[TL_MAX_DIMS];
  guint nd = tl_tensor_ndim (whole);
  gsize es = tl_dtype_size (tl_tensor_dtype (whole));
  g.ndim = nd;
  memcpy (g.shape, tl_tensor_shape (part), nd * sizeof (gint64));
  _tl_cuda_kern_contig_strides (nd, tl_tensor_shape (whole), wst);
  guint8 *wp = (guint8 *) tl_tensor_data (whole) + off * wst[axis] * es;
  if (to_whole) {
    _tl_cuda_kern_contig_strides (nd, g.shape, g.src_strides);
    memcpy (g.dst_strides, wst, nd * sizeof (gint64));
    return _tl_cuda_kern_strided_copy (wp, tl_tensor_const_data (part), es, &g, what, error);
  }
  memcpy (g.src_strides, wst, nd * sizeof (gint64));
  _tl_cuda_kern_contig_strides (nd, g.shape, g.dst_strides);
  return _tl_cuda_kern_strided_copy (tl_tensor_data (part), wp, es, &g, what, error);
}

/* concat (to_whole: the n parts into whole, in order along attr axis) or
 * split (whole into the parts). */
static gboolean
slabs_copy (const TlKernelCtx *ctx, TlTensor *whole, TlTensor *const *parts, guint n, gboolean to_whole,
            const char *what, GError **error)
{
  guint axis = norm_axis (tl_attrs_get_int (ctx->attrs, "axis", 0), tl_tensor_ndim (whole));
  gint64 off = 0;
  for (guint k = 0; k < n; k++) {
    gint64 len = tl_tensor_dim (parts[k], (gint) axis);
    if (len > 0 && !slab_copy (whole, parts[k], axis, off, to_whole, what, error))
      return FALSE;
    off += len;
  }
  return TRUE;
}

TL_CUDA_KERNEL_FN (concat)
{
  return slabs_copy (ctx, out[0], in, ctx->n_inputs, TRUE, "concat", error);
}

TL_CUDA_KERNEL_FN (split)
{
  return slabs_copy (ctx, in[0], out, ctx->n_outputs, FALSE, "split", error);
}

/* --- slice / slice_grad ---------------------------------------------------------------- */

typedef TlSliceSpec SliceSpec;

/* read_slice of core/ops/shape.c (ops-rules.h; inputs were validated by infer). */
static void
read_slice (const TlAttrs *attrs, guint ndim, gint64 size, SliceSpec *s)
{
  s->axis = norm_axis (tl_attrs_get_int (attrs, "axis", 0), ndim);
  _tl_rule_slice (s, tl_attrs_get_int (attrs, "start", 0), tl_attrs_get_int (attrs, "end", G_MAXINT64),
                  tl_attrs_get_int (attrs, "step", 1), size);
}

TL_CUDA_KERNEL_FN (slice)
{
  TlTensor *x = in[0];
  guint nd = tl_tensor_ndim (x);
  SliceSpec s;
  read_slice (ctx->attrs, nd, tl_tensor_shape (x)[norm_axis (tl_attrs_get_int (ctx->attrs, "axis", 0), nd)], &s);
  if (s.len == 0 || tl_tensor_numel (out[0]) == 0)
    return TRUE;
  TlCudaCopyGeom g;
  gsize es = tl_dtype_size (tl_tensor_dtype (x));
  const gint64 *st = tl_tensor_strides (x);
  g.ndim = nd;
  memcpy (g.shape, tl_tensor_shape (x), nd * sizeof (gint64));
  memcpy (g.src_strides, st, nd * sizeof (gint64));
  g.shape[s.axis] = s.len;
  g.src_strides[s.axis] = st[s.axis] * s.step;
  _tl_cuda_kern_contig_strides (nd, g.shape, g.dst_strides);
  const guint8 *src = (const guint8 *) tl_tensor_const_data (x) + s.start * st[s.axis] * (gint64) es;
  return _tl_cuda_kern_strided_copy (tl_tensor_data (out[0]), src, es, &g, "slice", error);
}

TL_CUDA_KERNEL_FN (slice_grad)
{
  TlTensor *dy = in[0];
  guint nd = tl_tensor_ndim (dy);
  SliceSpec s;
  read_slice (ctx->attrs, nd, tl_attrs_get_int (ctx->attrs, "dim_size", -1), &s);
  if (!_tl_cuda_kern_zero (tl_tensor_data (out[0]), tl_tensor_nbytes (out[0]), "slice_grad", error))
    return FALSE;
  if (s.len == 0 || tl_tensor_numel (dy) == 0)
    return TRUE;
  TlCudaCopyGeom g;
  gsize es = tl_dtype_size (tl_tensor_dtype (dy));
  gint64 ost[TL_MAX_DIMS];
  g.ndim = nd;
  memcpy (g.shape, tl_tensor_shape (dy), nd * sizeof (gint64));
  _tl_cuda_kern_contig_strides (nd, g.shape, g.src_strides);
  _tl_cuda_kern_contig_strides (nd, tl_tensor_shape (out[0]), ost);
  memcpy (g.dst_strides, ost, nd * sizeof (gint64));
  g.dst_strides[s.axis] = ost[s.axis] * s.step;
  guint8 *dst = (guint8 *) tl_tensor_data (out[0]) + s.start * ost[s.axis] * (gint64) es;
  return _tl_cuda_kern_strided_copy (dst, tl_tensor_const_data (dy), es, &g, "slice_grad", error);
}

/* --- broadcast_to ----------------------------------------------------------------------- */

TL_CUDA_KERNEL_FN (broadcast_to)
{
  (void) ctx;
  TlTensor *x = in[0];
  guint nd = tl_tensor_ndim (out[0]), xnd = tl_tensor_ndim (x);
  const gint64 *xs = tl_tensor_shape (x);
  TlCudaCopyGeom g;
  g.ndim = nd;
  memcpy (g.shape, tl_tensor_shape (out[0]), nd * sizeof (gint64));
  _tl_cuda_kern_contig_strides (nd, g.shape, g.dst_strides);
  _tl_rule_bcast_strides (nd, xnd, xs, g.src_strides);
  return _tl_cuda_kern_strided_copy (tl_tensor_data (out[0]), tl_tensor_const_data (x),
                                     tl_dtype_size (tl_tensor_dtype (x)), &g, "broadcast_to", error);
}
