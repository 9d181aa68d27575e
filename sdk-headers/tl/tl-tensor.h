/* tl-tensor.h — N-d tensors.
 *
 * A TlTensor is a reference-counted view (dtype, shape, strides in elements,
 * offset) onto a reference-counted storage. CPU storage is 64-byte aligned.
 * Views (reshape of contiguous data, transpose, slice) share storage; writes
 * through one view are visible through the others.
 *
 * Devices: a tensor's storage lives on the CPU or on a GPU ("cuda:N", see
 * tl_tensor_new_on_device()). tl_tensor_data() of a GPU tensor is a device
 * pointer: never dereference it on the host. Functions that read or write
 * values on the host (get_flat, set_flat, fill, copy_into, max_rel_diff,
 * equal_bits) work on GPU tensors through explicit copies (slow: for tests
 * and small values); move data with tl_tensor_to_device().
 *
 * Ownership: functions returning TlTensor* return a new reference
 * ("transfer full") that the caller releases with tl_tensor_unref();
 * tl_tensor_unref(NULL) is a no-op. Arguments are borrowed ("transfer none").
 *
 * @example-begin tensor (void)
 *   gint64 shape[2] = {2, 3};
 *   TlTensor *t = tl_tensor_new(TL_DTYPE_F32, 2, shape, &error);
 *   float *p = tl_tensor_data(t);   // 6 zeros
 *   TlTensor *tt = tl_tensor_transpose(t, 0, 1, &error);  // view, 3x2
 *   tl_tensor_unref(tt); tl_tensor_unref(t);
 * @example-end
 */
#ifndef TL_TENSOR_H
#define TL_TENSOR_H

#include <glib.h>
#include <tl/tl-macros.h>
#include <tl/tl-dtype.h>
#include <tl/tl-error.h>

TL_BEGIN_DECLS

typedef enum {
  TL_DEVICE_CPU = 0,
  TL_DEVICE_CUDA = 1
} TlDeviceType;

/* Shape and dtype of a value, without data. Host-allocated public struct:
 * reserved fields must be zero. */
typedef struct {
  TlDType dtype;
  uint32_t ndim;
  int64_t shape[TL_MAX_DIMS];
  uint32_t reserved[6];
} TlTensorDesc;

TL_STATIC_ASSERT(offsetof(TlTensorDesc, dtype) == 0, "TlTensorDesc ABI 1.0");
TL_STATIC_ASSERT(offsetof(TlTensorDesc, ndim) == 4, "TlTensorDesc ABI 1.0");
TL_STATIC_ASSERT(offsetof(TlTensorDesc, shape) == 8, "TlTensorDesc ABI 1.0");
TL_STATIC_ASSERT(sizeof(TlTensorDesc) == 96, "TlTensorDesc ABI 1.0");

/* Fill a desc (reserved fields zeroed). Returns FALSE if ndim > TL_MAX_DIMS. */
TL_API gboolean tl_tensor_desc_init(TlTensorDesc *desc, TlDType dtype, guint ndim, const gint64 *shape);
TL_API gint64 tl_tensor_desc_numel(const TlTensorDesc *desc);
TL_API gboolean tl_tensor_desc_equal(const TlTensorDesc *a, const TlTensorDesc *b);
/* "f32[2,3]"; caller frees with g_free. */
TL_API char *tl_tensor_desc_to_string(const TlTensorDesc *desc);

typedef struct _TlTensor TlTensor;

/* New zero-filled contiguous CPU tensor. (transfer full) */
TL_API TlTensor *tl_tensor_new(TlDType dtype, guint ndim, const gint64 *shape, GError **error);
TL_API TlTensor *tl_tensor_new_from_desc(const TlTensorDesc *desc, GError **error);
/* New tensor holding a copy of `data` (numel * dtype size bytes, row-major). */
TL_API TlTensor *tl_tensor_new_from_data(TlDType dtype, guint ndim, const gint64 *shape,
                                        const void *data, GError **error);
/* 0-d tensor holding one f32 value. */
TL_API TlTensor *tl_tensor_new_scalar_f32(float value, GError **error);

TL_API TlTensor *tl_tensor_ref(TlTensor *t);
TL_API void tl_tensor_unref(TlTensor *t);

TL_API TlDType tl_tensor_dtype(const TlTensor *t);
TL_API guint tl_tensor_ndim(const TlTensor *t);
/* Borrowed arrays of ndim entries, valid while t lives. */
TL_API const gint64 *tl_tensor_shape(const TlTensor *t);
TL_API const gint64 *tl_tensor_strides(const TlTensor *t); /* in elements */
TL_API gint64 tl_tensor_dim(const TlTensor *t, gint axis); /* negative axis counts from the end */
TL_API gint64 tl_tensor_numel(const TlTensor *t);
TL_API gsize tl_tensor_nbytes(const TlTensor *t); /* numel * dtype size */
TL_API TlDeviceType tl_tensor_device(const TlTensor *t);
TL_API void tl_tensor_get_desc(const TlTensor *t, TlTensorDesc *desc);
TL_API gboolean tl_tensor_is_contiguous(const TlTensor *t);
/* Pointer to the first element (storage + offset). Borrowed. For a GPU
 * tensor this is a device pointer. */
TL_API void *tl_tensor_data(TlTensor *t);
TL_API const void *tl_tensor_const_data(const TlTensor *t);

/* Views. Each returns a new reference sharing storage where possible. */
/* Reshape: a view when t is contiguous, else a contiguous copy. One entry may be -1. */
TL_API TlTensor *tl_tensor_reshape(TlTensor *t, guint ndim, const gint64 *shape, GError **error);
TL_API TlTensor *tl_tensor_transpose(TlTensor *t, gint dim0, gint dim1, GError **error);
TL_API TlTensor *tl_tensor_permute(TlTensor *t, const gint *perm, GError **error);
/* Elements start, start+step, ... < end along dim (step > 0). */
TL_API TlTensor *tl_tensor_slice(TlTensor *t, gint dim, gint64 start, gint64 end, gint64 step,
                                 GError **error);
/* A contiguous tensor with the same values: t itself (new ref) when already contiguous. */
TL_API TlTensor *tl_tensor_contiguous(TlTensor *t, GError **error);
/* Deep contiguous copy. */
TL_API TlTensor *tl_tensor_copy(const TlTensor *t, GError **error);
/* Copy values from src into dst (same shape; dtypes may differ: converts). */
TL_API gboolean tl_tensor_copy_into(TlTensor *dst, const TlTensor *src, GError **error);
/* New contiguous tensor converted to dtype. */
TL_API TlTensor *tl_tensor_cast(const TlTensor *t, TlDType dtype, GError **error);
TL_API void tl_tensor_fill(TlTensor *t, double value);
/* Element i (row-major logical index) as double; for tests and printing. */
TL_API double tl_tensor_get_flat(const TlTensor *t, gint64 i);
TL_API void tl_tensor_set_flat(TlTensor *t, gint64 i, double value);
/* Max |a-b| / max(1, max|b|) over all elements; -1 on shape mismatch. */
TL_API double tl_tensor_max_rel_diff(const TlTensor *a, const TlTensor *b);
TL_API gboolean tl_tensor_equal_bits(const TlTensor *a, const TlTensor *b);

/* --- devices (ABI 1.0 additions) ------------------------------------------ */

/* Device index (0 for CPU tensors). */
TL_API int tl_tensor_device_index(const TlTensor *t);
/* New zero-filled contiguous tensor on `device` ("cpu", "cuda", "cuda:N";
 * NULL means "cpu"). GPU memory comes from the backend's caching allocator
 * and goes back to it when the last view is unreffed. (transfer full) */
TL_API TlTensor *tl_tensor_new_on_device(TlDType dtype, guint ndim, const gint64 *shape,
                                         const char *device, GError **error);
/* t on `device`: a new reference to t when it already lives there, else a
 * new contiguous copy (same dtype) there. The only way data crosses between
 * host and GPU besides tl_tensor_copy_into(). (transfer full) */
TL_API TlTensor *tl_tensor_to_device(TlTensor *t, const char *device, GError **error);

/* TRUE when `device` can be used (always for "cpu"); else FALSE with the
 * reason (device "cuda": no CUDA device: ..., or that the CUDA backend
 * module was not found). */
TL_API gboolean tl_device_available(const char *device, GError **error);
/* One line naming the device (GPU model, compute capability, memory).
 * (transfer full) */
TL_API char *tl_device_describe(const char *device, GError **error);
/* Wait for the work the calling thread queued on `device`; reports an
 * asynchronous kernel failure. A no-op for "cpu". */
TL_API gboolean tl_device_synchronize(const char *device, GError **error);

/* Counters of a GPU's caching allocator. Host-allocated. */
typedef struct {
  guint64 bytes_in_use;      /* handed out to tensors */
  guint64 bytes_cached;      /* free, kept for reuse */
  guint64 peak_bytes_in_use;
  guint64 n_device_allocs;   /* calls into the driver's allocator */
  guint64 n_cache_hits;      /* requests served from the cache */
  guint64 reserved[3];
} TlDeviceMemStats;

TL_API gboolean tl_device_memory_stats(const char *device, TlDeviceMemStats *stats,
                                       GError **error);
/* Return the cached free blocks of a GPU to the driver. */
TL_API gboolean tl_device_empty_cache(const char *device, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TlTensor, tl_tensor_unref)

TL_END_DECLS

#endif /* TL_TENSOR_H */
