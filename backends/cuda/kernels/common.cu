/* common.cu — small services shared by the kernel files: status checks,
 * fills and copies on the current stream, and the stable key sort that the
 * deterministic scatter paths (scatter_add, spmm_t) use. */
#include "config.h"

#include <cub/device/device_radix_sort.cuh>

#include "kernels.h"

gboolean
_tl_cuda_kern_status (cudaError_t st, const char *what, GError **error)
{
  if (st == cudaSuccess)
    return TRUE;
  /* reported here: clear it from the runtime's last error, or the next
   * launch check (_tl_cuda_check_launch) would report it as its own */
  cudaGetLastError ();
  g_set_error (error, TL_ERROR, TL_ERROR_DEVICE, "cuda: %s: %s (%s)", what, cudaGetErrorString (st),
               cudaGetErrorName (st));
  return FALSE;
}

gboolean
_tl_cuda_kern_zero (void *ptr, gsize nbytes, const char *what, GError **error)
{
  if (nbytes == 0)
    return TRUE;
  return _tl_cuda_kern_status (cudaMemsetAsync (ptr, 0, nbytes, tl_cuda_stream ()), what, error);
}

gboolean
_tl_cuda_kern_copy (void *dst, const void *src, gsize nbytes, const char *what, GError **error)
{
  if (nbytes == 0 || dst == src)
    return TRUE;
  return _tl_cuda_kern_status (cudaMemcpyAsync (dst, src, nbytes, cudaMemcpyDeviceToDevice, tl_cuda_stream ()),
                               what, error);
}

template <typename T>
static __global__ void
fill_kernel (T *p, gint64 n, T v)
{
  TL_CUDA_GRID_STRIDE (i, n)
    p[i] = v;
}

gboolean
_tl_cuda_kern_fill (void *ptr, gint64 n, gsize esize, guint64 bits, const char *what, GError **error)
{
  if (n <= 0)
    return TRUE;
  cudaStream_t s = tl_cuda_stream ();
  unsigned int grid = tl_cuda_grid (n);
  switch (esize) {
  case 1: fill_kernel<guint8><<<grid, TL_CUDA_BLOCK, 0, s>>> ((guint8 *) ptr, n, (guint8) bits); break;
  case 2: fill_kernel<guint16><<<grid, TL_CUDA_BLOCK, 0, s>>> ((guint16 *) ptr, n, (guint16) bits); break;
  case 4: fill_kernel<guint32><<<grid, TL_CUDA_BLOCK, 0, s>>> ((guint32 *) ptr, n, (guint32) bits); break;
  case 8: fill_kernel<guint64><<<grid, TL_CUDA_BLOCK, 0, s>>> ((guint64 *) ptr, n, bits); break;
  default:
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "cuda: %s: element size %" G_GSIZE_FORMAT, what, esize);
    return FALSE;
  }
  return _tl_cuda_check_launch (what, error);
}

/* --- stable sort by key (CUB radix sort) ------------------------------------ */

static int
key_bits (gint64 n_keys)
{
  int b = 1;
  while (b < 31 && ((gint64) 1 << b) <= n_keys)
    b++;
  return b;
}

static gsize
sort_scratch (gint64 n, gint64 n_keys)
{
  size_t bytes = 0;
  if (cub::DeviceRadixSort::SortPairs (NULL, bytes, (const gint32 *) NULL, (gint32 *) NULL,
                                       (const gint32 *) NULL, (gint32 *) NULL, (int) n, 0, key_bits (n_keys),
                                       tl_cuda_stream ()) != cudaSuccess)
    return 0;
  return bytes;
}

gboolean
_tl_cuda_kern_sort_init (TlCudaSort *s, gint64 n, gint64 n_keys, GError **error)
{
  gsize arrays = (gsize) n * 4 * sizeof (gint32);
  s->n = n;
  s->n_keys = n_keys;
  s->tmp_bytes = sort_scratch (n, n_keys);
  guint8 *scratch = (guint8 *) _tl_cuda_scratch (arrays + s->tmp_bytes + 512, error);
  if (!scratch)
    return FALSE;
  s->keys_in = (gint32 *) scratch;
  s->keys = s->keys_in + n;
  s->vals_in = s->keys + n;
  s->vals = s->vals_in + n;
  /* CUB's temporary storage, 256-byte aligned */
  s->tmp = (void *) (((guintptr) (scratch + arrays) + 255) & ~(guintptr) 255);
  return TRUE;
}

gboolean
_tl_cuda_kern_sort_run (const TlCudaSort *s, const char *what, GError **error)
{
  size_t bytes = s->tmp_bytes;
  return _tl_cuda_kern_status (cub::DeviceRadixSort::SortPairs (s->tmp, bytes, s->keys_in, s->keys, s->vals_in,
                                                                s->vals, (int) s->n, 0, key_bits (s->n_keys),
                                                                tl_cuda_stream ()),
                               what, error);
}
