/* tensor.c — reference-counted N-d views onto reference-counted storage.
 *
 * Storage lives on the CPU (64-byte aligned) or on a GPU, where it comes
 * from the device backend's caching allocator (backend.c). Host-side value
 * access to GPU tensors goes through explicit copies of the bytes a view
 * spans (span_download/span_upload); nothing here dereferences a device
 * pointer. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "tl-private.h"
#include "graph-private.h"
#include "backend-private.h"
#include "ops/ops-common.h"
#include "ops/ops-rules.h"

typedef struct {
  gint ref_count;
  void *data;
  gsize nbytes;
  TlDeviceType device;
  int index;
  const TlBackend *be; /* NULL on the CPU */
} TlStorage;

struct _TlTensor {
  gint ref_count;
  TlDType dtype;
  guint ndim;
  gint64 shape[TL_MAX_DIMS];
  gint64 strides[TL_MAX_DIMS];
  gint64 offset; /* in elements */
  TlStorage *storage;
};

/* --- storage ------------------------------------------------------------ */

static TlStorage *
storage_new (gsize nbytes, GError **error)
{
  void *data = _tl_priv_aligned_alloc (nbytes);
  if (!data) {
    g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY,
                 "cannot allocate %" G_GSIZE_FORMAT " bytes for a tensor", nbytes);
    return NULL;
  }
  TlStorage *s = g_try_new0 (TlStorage, 1);
  if (!s) {
    _tl_priv_aligned_free (data);
    g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY, "cannot allocate a tensor storage");
    return NULL;
  }
  s->ref_count = 1;
  s->data = data;
  s->nbytes = nbytes;
  return s;
}

static TlStorage *
storage_new_on (const TlDevice *dev, gsize nbytes, gboolean zero, GError **error)
{
  if (!dev || dev->type == TL_DEVICE_CPU) {
    TlStorage *s = storage_new (nbytes, error);
    if (s && zero)
      memset (s->data, 0, nbytes);
    return s;
  }
  /* the backend allocates on the calling thread's current device */
  void *data = dev->be->set_device (dev->index, error) ? dev->be->alloc (nbytes, error) : NULL;
  if (!data) {
    g_prefix_error (error, "cuda:%d: tensor of %" G_GSIZE_FORMAT " bytes: ", dev->index, nbytes);
    return NULL;
  }
  if (zero && !dev->be->memset_zero (data, nbytes, error)) {
    dev->be->free (data);
    return NULL;
  }
  TlStorage *s = g_new0 (TlStorage, 1);
  s->ref_count = 1;
  s->data = data;
  s->nbytes = nbytes;
  s->device = dev->type;
  s->index = dev->index;
  s->be = dev->be;
  return s;
}

static void
storage_unref (TlStorage *s)
{
  if (s && g_atomic_int_dec_and_test (&s->ref_count)) {
    if (s->be)
      s->be->free (s->data);
    else
      _tl_priv_aligned_free (s->data);
    g_free (s);
  }
}

/* --- descs -------------------------------------------------------------- */

/**
 * tl_tensor_desc_init:
 * @desc: (out caller-allocates): the desc to fill
 * @dtype: element type
 * @ndim: number of dimensions
 * @shape: (array length=ndim) (nullable): dimensions (NULL when ndim is 0)
 *
 * Fills @desc, zeroing unused dimensions and reserved fields.
 *
 * Returns: FALSE if @ndim > %TL_MAX_DIMS (then @desc is zeroed).
 */
gboolean
tl_tensor_desc_init (TlTensorDesc *desc, TlDType dtype, guint ndim, const gint64 *shape)
{
  memset (desc, 0, sizeof *desc);
  if (ndim > TL_MAX_DIMS || (ndim > 0 && !shape))
    return FALSE;
  desc->dtype = dtype;
  desc->ndim = ndim;
  for (guint i = 0; i < ndim; i++)
    desc->shape[i] = shape[i];
  return TRUE;
}

/**
 * tl_tensor_desc_numel:
 * @desc: a desc
 *
 * Returns: the number of elements (1 for 0-d), -1 if a dimension is
 * negative or the product overflows.
 */
gint64
tl_tensor_desc_numel (const TlTensorDesc *desc)
{
  gint64 n = 1;
  if (desc->ndim > TL_MAX_DIMS)
    return -1;
  for (guint i = 0; i < desc->ndim; i++) {
    if (desc->shape[i] < 0 || __builtin_mul_overflow (n, desc->shape[i], &n))
      return -1;
  }
  return n;
}

/**
 * tl_tensor_desc_equal:
 * @a: a desc
 * @b: a desc
 *
 * Returns: TRUE when dtype, rank and every dimension agree.
 */
gboolean
tl_tensor_desc_equal (const TlTensorDesc *a, const TlTensorDesc *b)
{
  if (a->dtype != b->dtype || a->ndim > TL_MAX_DIMS)
    return FALSE;
  return _tl_priv_shape_equal (a->ndim, a->shape, b->ndim, b->shape);
}

/**
 * tl_tensor_desc_to_string:
 * @desc: a desc
 *
 * Returns: (transfer full): text such as "f32[2,3]"; free with g_free().
 */
char *
tl_tensor_desc_to_string (const TlTensorDesc *desc)
{
  GString *s = g_string_new (tl_dtype_name (desc->dtype));
  g_string_append_c (s, '[');
  for (guint i = 0; i < desc->ndim && i < TL_MAX_DIMS; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? "," : "", desc->shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/* Checks dtype/rank/dims and returns the byte size in *nbytes. */
gboolean
_tl_priv_desc_check (const TlTensorDesc *desc, gsize *nbytes, GError **error)
{
  gsize es = tl_dtype_size (desc->dtype);
  if (es == 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "invalid dtype %d", (int) desc->dtype);
    return FALSE;
  }
  if (desc->ndim > TL_MAX_DIMS) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "%u dimensions (at most %d)",
                 desc->ndim, TL_MAX_DIMS);
    return FALSE;
  }
  for (guint i = 0; i < desc->ndim; i++) {
    if (desc->shape[i] < 0) {
      g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "negative dimension %" G_GINT64_FORMAT,
                   desc->shape[i]);
      return FALSE;
    }
  }
  /* The span of the non-zero dimensions must fit too, even when another
   * dimension is 0 (no elements): the contiguous strides are products of
   * them. It bounds the byte count. */
  guint64 span = es, bytes = es;
  for (guint i = 0; i < desc->ndim; i++) {
    guint64 d = (guint64) desc->shape[i];
    if (__builtin_mul_overflow (span, MAX (d, 1), &span) || span > (guint64) G_MAXINT64) {
      g_autofree char *str = tl_tensor_desc_to_string (desc);
      g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "tensor %s is too large", str);
      return FALSE;
    }
    bytes *= d; /* <= span: cannot overflow */
  }
  if (nbytes)
    *nbytes = (gsize) bytes;
  return TRUE;
}

/* --- construction ------------------------------------------------------- */

static void
set_contiguous_strides (TlTensor *t)
{
  gint64 s = 1;
  for (gint i = (gint) t->ndim - 1; i >= 0; i--) {
    t->strides[i] = s;
    s *= t->shape[i] > 0 ? t->shape[i] : 1;
  }
}

static TlTensor *
tensor_alloc_header (TlDType dtype, guint ndim, const gint64 *shape)
{
  TlTensor *t = g_new0 (TlTensor, 1);
  t->ref_count = 1;
  t->dtype = dtype;
  t->ndim = ndim;
  for (guint i = 0; i < ndim; i++)
    t->shape[i] = shape[i];
  set_contiguous_strides (t);
  return t;
}

/**
 * tl_tensor_new_from_desc:
 * @desc: dtype and shape
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): a new zero-filled contiguous CPU
 * tensor, NULL on a bad desc or when memory runs out.
 */
TlTensor *
tl_tensor_new_from_desc (const TlTensorDesc *desc, GError **error)
{
  gsize nbytes;
  if (!_tl_priv_desc_check (desc, &nbytes, error))
    return NULL;
  TlStorage *s = storage_new (nbytes, error);
  if (!s)
    return NULL;
  memset (s->data, 0, nbytes);
  TlTensor *t = tensor_alloc_header (desc->dtype, desc->ndim, desc->shape);
  t->storage = s;
  return t;
}

/**
 * tl_tensor_new:
 * @dtype: element type
 * @ndim: rank
 * @shape: (array length=ndim): dimensions
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): a new zero-filled contiguous tensor.
 */
TlTensor *
tl_tensor_new (TlDType dtype, guint ndim, const gint64 *shape, GError **error)
{
  TlTensorDesc d;
  if (!tl_tensor_desc_init (&d, dtype, ndim, shape)) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "%u dimensions (at most %d)", ndim,
                 TL_MAX_DIMS);
    return NULL;
  }
  return tl_tensor_new_from_desc (&d, error);
}

/**
 * tl_tensor_new_from_data:
 * @dtype: element type
 * @ndim: rank
 * @shape: (array length=ndim): dimensions
 * @data: numel * dtype size bytes, row-major (copied)
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): a new tensor holding a copy of @data.
 */
TlTensor *
tl_tensor_new_from_data (TlDType dtype, guint ndim, const gint64 *shape, const void *data,
                         GError **error)
{
  TlTensor *t = tl_tensor_new (dtype, ndim, shape, error);
  if (t && data)
    memcpy (t->storage->data, data, tl_tensor_nbytes (t));
  return t;
}

/**
 * tl_tensor_new_scalar_f32:
 * @value: the value
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): a 0-d f32 tensor.
 */
TlTensor *
tl_tensor_new_scalar_f32 (float value, GError **error)
{
  TlTensor *t = tl_tensor_new (TL_DTYPE_F32, 0, NULL, error);
  if (t)
    *(float *) t->storage->data = value;
  return t;
}

TlTensor *
_tl_priv_tensor_new_on (const TlDevice *dev, const TlTensorDesc *desc, gboolean zero,
                        GError **error)
{
  gsize nbytes;
  if (!_tl_priv_desc_check (desc, &nbytes, error))
    return NULL;
  TlStorage *s = storage_new_on (dev, nbytes, zero, error);
  if (!s)
    return NULL;
  TlTensor *t = tensor_alloc_header (desc->dtype, desc->ndim, desc->shape);
  t->storage = s;
  return t;
}

/**
 * tl_tensor_new_on_device:
 * @dtype: element type
 * @ndim: rank
 * @shape: (array length=ndim): dimensions
 * @device: (nullable): "cpu", "cuda" or "cuda:N" (NULL: "cpu")
 * @error: return location for a #GError
 *
 * GPU memory comes from the device backend's caching allocator; it goes
 * back to the cache when the last view of the storage is unreffed.
 *
 * Returns: (transfer full) (nullable): a new zero-filled contiguous tensor
 * on @device; NULL when the device is unusable (the message says why) or
 * out of memory.
 */
TlTensor *
tl_tensor_new_on_device (TlDType dtype, guint ndim, const gint64 *shape, const char *device,
                         GError **error)
{
  TlTensorDesc d;
  if (!tl_tensor_desc_init (&d, dtype, ndim, shape)) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "%u dimensions (at most %d)", ndim,
                 TL_MAX_DIMS);
    return NULL;
  }
  TlDevice dev;
  if (!_tl_priv_device_open (device, &dev, error))
    return NULL;
  return _tl_priv_tensor_new_on (&dev, &d, TRUE, error);
}

/**
 * tl_tensor_to_device:
 * @t: a tensor
 * @device: (nullable): "cpu", "cuda" or "cuda:N" (NULL: "cpu")
 * @error: return location for a #GError
 *
 * Moves data between the host and a GPU (the copy is finished when the
 * call returns for a copy to the host; a copy to a GPU is ordered before
 * later work on it).
 *
 * Returns: (transfer full) (nullable): a new reference to @t when it
 * already lives on @device, else a new contiguous copy there with @t's dtype.
 */
TlTensor *
tl_tensor_to_device (TlTensor *t, const char *device, GError **error)
{
  if (!t) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "tl_tensor_to_device: NULL tensor");
    return NULL;
  }
  TlDevice dev;
  if (!_tl_priv_device_open (device, &dev, error))
    return NULL;
  return _tl_priv_tensor_to (t, &dev, error);
}

/* tl_tensor_to_device() for an opened device. */
TlTensor *
_tl_priv_tensor_to (TlTensor *t, const TlDevice *dev, GError **error)
{
  if (_tl_priv_tensor_same_device (t, dev))
    return tl_tensor_ref (t);
  TlTensorDesc d;
  tl_tensor_get_desc (t, &d);
  TlTensor *c = _tl_priv_tensor_new_on (dev, &d, FALSE, error);
  if (c && !tl_tensor_copy_into (c, t, error))
    g_clear_pointer (&c, tl_tensor_unref);
  return c;
}

/* A contiguous tensor with `desc` over the storage of `base` starting at
 * base's offset (which must leave room for it). Used by the executor to
 * wrap planned buffers. */
TlTensor *
_tl_priv_tensor_view_storage (TlTensor *base, const TlTensorDesc *desc)
{
  TlTensor *t = tensor_alloc_header (desc->dtype, desc->ndim, desc->shape);
  gsize es = tl_dtype_size (desc->dtype);
  gsize byte_off = (gsize) base->offset * tl_dtype_size (base->dtype);
  t->offset = (gint64) (byte_off / es);
  g_atomic_int_inc (&base->storage->ref_count);
  t->storage = base->storage;
  return t;
}

/**
 * tl_tensor_ref:
 * @t: (nullable): a tensor
 *
 * Returns: (transfer full): @t with one more reference.
 */
TlTensor *
tl_tensor_ref (TlTensor *t)
{
  if (t)
    g_atomic_int_inc (&t->ref_count);
  return t;
}

/**
 * tl_tensor_unref:
 * @t: (nullable) (transfer full): a tensor
 *
 * Drops a reference; the storage goes when its last view goes.
 */
void
tl_tensor_unref (TlTensor *t)
{
  if (t && g_atomic_int_dec_and_test (&t->ref_count)) {
    storage_unref (t->storage);
    g_free (t);
  }
}

/* --- accessors ---------------------------------------------------------- */

/** tl_tensor_dtype: Returns: the element type. */
TlDType
tl_tensor_dtype (const TlTensor *t)
{
  return t->dtype;
}

/** tl_tensor_ndim: Returns: the rank. */
guint
tl_tensor_ndim (const TlTensor *t)
{
  return t->ndim;
}

/** tl_tensor_shape: Returns: (transfer none): ndim dimensions. */
const gint64 *
tl_tensor_shape (const TlTensor *t)
{
  return t->shape;
}

/** tl_tensor_strides: Returns: (transfer none): ndim strides in elements. */
const gint64 *
tl_tensor_strides (const TlTensor *t)
{
  return t->strides;
}

/**
 * tl_tensor_dim:
 * @t: a tensor
 * @axis: an axis; negative counts from the end
 *
 * Returns: the size of @axis, -1 when out of range.
 */
gint64
tl_tensor_dim (const TlTensor *t, gint axis)
{
  if (axis < 0)
    axis += (gint) t->ndim;
  if (axis < 0 || axis >= (gint) t->ndim)
    return -1;
  return t->shape[axis];
}

/** tl_tensor_numel: Returns: the number of elements. */
gint64
tl_tensor_numel (const TlTensor *t)
{
  return _tl_priv_shape_numel (t->ndim, t->shape);
}

/** tl_tensor_nbytes: Returns: numel * dtype size. */
gsize
tl_tensor_nbytes (const TlTensor *t)
{
  return (gsize) tl_tensor_numel (t) * tl_dtype_size (t->dtype);
}

/** tl_tensor_device: Returns: where the data lives. */
TlDeviceType
tl_tensor_device (const TlTensor *t)
{
  return t->storage->device;
}

/** tl_tensor_device_index: Returns: the device index (0 for CPU tensors). */
int
tl_tensor_device_index (const TlTensor *t)
{
  return t->storage->index;
}

gboolean
_tl_priv_tensor_open_device (const TlTensor *t, TlDevice *dev, GError **error)
{
  memset (dev, 0, sizeof *dev);
  dev->type = t->storage->device;
  dev->index = t->storage->index;
  dev->be = t->storage->be;
  if (!dev->be)
    return TRUE;
  return dev->be->set_device (dev->index, error);
}

gboolean
_tl_priv_tensor_same_device (const TlTensor *a, const TlDevice *dev)
{
  TlDeviceType type = dev ? dev->type : TL_DEVICE_CPU;
  if (a->storage->device != type)
    return FALSE;
  return type == TL_DEVICE_CPU || a->storage->index == dev->index;
}

static gboolean
on_gpu (const TlTensor *t)
{
  return t->storage->be != NULL;
}

/**
 * tl_tensor_get_desc:
 * @t: a tensor
 * @desc: (out caller-allocates): filled with dtype and shape
 */
void
tl_tensor_get_desc (const TlTensor *t, TlTensorDesc *desc)
{
  tl_tensor_desc_init (desc, t->dtype, t->ndim, t->shape);
}

/**
 * tl_tensor_is_contiguous:
 * @t: a tensor
 *
 * Returns: TRUE when elements are laid out row-major without gaps
 * (dimensions of size 1 may have any stride).
 */
gboolean
tl_tensor_is_contiguous (const TlTensor *t)
{
  gint64 s = 1;
  for (gint i = (gint) t->ndim - 1; i >= 0; i--) {
    if (t->shape[i] == 0)
      return TRUE;
    if (t->shape[i] != 1 && t->strides[i] != s)
      return FALSE;
    s *= t->shape[i];
  }
  return TRUE;
}

/** tl_tensor_data: Returns: (transfer none): pointer to the first element. */
void *
tl_tensor_data (TlTensor *t)
{
  return (guint8 *) t->storage->data + t->offset * (gint64) tl_dtype_size (t->dtype);
}

/** tl_tensor_const_data: Returns: (transfer none): pointer to the first element. */
const void *
tl_tensor_const_data (const TlTensor *t)
{
  return (const guint8 *) t->storage->data + t->offset * (gint64) tl_dtype_size (t->dtype);
}

/* --- views -------------------------------------------------------------- */

static TlTensor *
view_new (TlTensor *t)
{
  TlTensor *v = g_new0 (TlTensor, 1);
  *v = *t;
  v->ref_count = 1;
  g_atomic_int_inc (&t->storage->ref_count);
  return v;
}

/**
 * tl_tensor_reshape:
 * @t: a tensor
 * @ndim: new rank
 * @shape: (array length=ndim): new dimensions; one entry may be -1
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): a view when @t is contiguous, else a
 * reshaped contiguous copy.
 */
TlTensor *
tl_tensor_reshape (TlTensor *t, guint ndim, const gint64 *shape, GError **error)
{
  if (ndim > TL_MAX_DIMS) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "reshape: %u dimensions (at most %d)",
                 ndim, TL_MAX_DIMS);
    return NULL;
  }
  gint64 numel = tl_tensor_numel (t);
  gint64 known = 1, dims[TL_MAX_DIMS];
  gint infer = -1;
  for (guint i = 0; i < ndim; i++) {
    dims[i] = shape[i];
    if (shape[i] == -1 && infer < 0) {
      infer = (gint) i;
      continue;
    }
    if (shape[i] < 0 || __builtin_mul_overflow (known, shape[i], &known)) {
      g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "reshape: bad dimension %" G_GINT64_FORMAT,
                   shape[i]);
      return NULL;
    }
  }
  if (infer >= 0) {
    if (known == 0 || numel % known != 0) {
      g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                   "reshape: cannot infer -1 for %" G_GINT64_FORMAT " elements", numel);
      return NULL;
    }
    dims[infer] = numel / known;
    known = numel;
  }
  if (known != numel) {
    TlTensorDesc want;
    tl_tensor_desc_init (&want, t->dtype, ndim, dims);
    g_autofree char *ws = tl_tensor_desc_to_string (&want);
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                 "reshape: %" G_GINT64_FORMAT " elements cannot become %s", numel, ws);
    return NULL;
  }
  TlTensor *src = tl_tensor_contiguous (t, error);
  if (!src)
    return NULL;
  TlTensor *v = view_new (src);
  tl_tensor_unref (src);
  v->ndim = ndim;
  memset (v->shape, 0, sizeof v->shape);
  for (guint i = 0; i < ndim; i++)
    v->shape[i] = dims[i];
  set_contiguous_strides (v);
  return v;
}

static gboolean
norm_axis (const TlTensor *t, gint *axis, const char *what, GError **error)
{
  gint a = *axis < 0 ? *axis + (gint) t->ndim : *axis;
  if (a < 0 || a >= (gint) t->ndim) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "%s: axis %d out of range for rank %u",
                 what, *axis, t->ndim);
    return FALSE;
  }
  *axis = a;
  return TRUE;
}

/**
 * tl_tensor_transpose:
 * @t: a tensor
 * @dim0: an axis (negative from the end)
 * @dim1: an axis (negative from the end)
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): a view with the two axes swapped.
 */
TlTensor *
tl_tensor_transpose (TlTensor *t, gint dim0, gint dim1, GError **error)
{
  if (!norm_axis (t, &dim0, "transpose", error) || !norm_axis (t, &dim1, "transpose", error))
    return NULL;
  TlTensor *v = view_new (t);
  gint64 s = v->shape[dim0], st = v->strides[dim0];
  v->shape[dim0] = v->shape[dim1];
  v->strides[dim0] = v->strides[dim1];
  v->shape[dim1] = s;
  v->strides[dim1] = st;
  return v;
}

/**
 * tl_tensor_permute:
 * @t: a tensor
 * @perm: (array): ndim axes, a permutation
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): a view whose axis i is @t's axis perm[i].
 */
TlTensor *
tl_tensor_permute (TlTensor *t, const gint *perm, GError **error)
{
  gboolean seen[TL_MAX_DIMS] = { FALSE };
  for (guint i = 0; i < t->ndim; i++) {
    if (perm[i] < 0 || perm[i] >= (gint) t->ndim || seen[perm[i]]) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "permute: not a permutation of %u axes",
                   t->ndim);
      return NULL;
    }
    seen[perm[i]] = TRUE;
  }
  TlTensor *v = view_new (t);
  for (guint i = 0; i < t->ndim; i++) {
    v->shape[i] = t->shape[perm[i]];
    v->strides[i] = t->strides[perm[i]];
  }
  return v;
}

/**
 * tl_tensor_slice:
 * @t: a tensor
 * @dim: the axis (negative from the end)
 * @start: first index (negative counts from the end; clamped)
 * @end: one past the last index (negative counts from the end; clamped)
 * @step: stride, > 0
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): a view of elements start, start+step, ... < end.
 */
TlTensor *
tl_tensor_slice (TlTensor *t, gint dim, gint64 start, gint64 end, gint64 step, GError **error)
{
  if (!norm_axis (t, &dim, "slice", error))
    return NULL;
  if (step <= 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "slice: step must be > 0");
    return NULL;
  }
  TlSliceSpec s;
  _tl_rule_slice (&s, start, end, step, t->shape[dim]);
  TlTensor *v = view_new (t);
  if (s.len > 0)
    v->offset += s.start * t->strides[dim];
  v->shape[dim] = s.len;
  /* the step only matters with two or more elements (then stride * step is
   * within the buffer); a huge step would overflow it */
  if (s.len > 1)
    v->strides[dim] = t->strides[dim] * step;
  return v;
}

/* --- element access ----------------------------------------------------- */

/* Element conversions: the rules of core/ops/ops-rules.h, shared with the
 * CUDA "cast" kernel. */
static inline double
load_elem (TlDType dt, const guint8 *p)
{
  return _tl_rule_load_elem (dt, p, 0);
}

static inline void
store_elem (TlDType dt, guint8 *p, double v)
{
  _tl_rule_store_elem (dt, p, 0, v);
}

static gint64
flat_offset (const TlTensor *t, gint64 i)
{
  gint64 off = t->offset;
  for (gint d = (gint) t->ndim - 1; d >= 0; d--) {
    gint64 n = t->shape[d];
    if (n <= 0)
      return off;
    off += (i % n) * t->strides[d];
    i /= n;
  }
  return off;
}

/* Address of row-major element i of t in its storage (host or device). */
static guint8 *
elem_addr (const TlTensor *t, gint64 i)
{
  return (guint8 *) t->storage->data + flat_offset (t, i) * tl_dtype_size (t->dtype);
}

/* Copies element i of the GPU tensor t into buf (to_host) or from buf into
 * t; on failure warns "fn: message" and returns FALSE. */
static gboolean
gpu_elem_copy (const TlTensor *t, gint64 i, guint8 *buf, gboolean to_host, const char *fn)
{
  GError *e = NULL;
  TlDevice dev;
  gsize es = tl_dtype_size (t->dtype);
  guint8 *p = elem_addr (t, i);
  if (_tl_priv_tensor_open_device (t, &dev, &e) &&
      (to_host ? dev.be->memcpy (buf, FALSE, p, TRUE, es, &e) : dev.be->memcpy (p, TRUE, buf, FALSE, es, &e)))
    return TRUE;
  g_warning ("%s: %s", fn, e->message);
  g_error_free (e);
  return FALSE;
}

/**
 * tl_tensor_get_flat:
 * @t: a tensor
 * @i: row-major logical index
 *
 * Returns: element @i converted to double (0 when out of range).
 */
double
tl_tensor_get_flat (const TlTensor *t, gint64 i)
{
  if (i < 0 || i >= tl_tensor_numel (t))
    return 0.0;
  if (on_gpu (t)) {
    guint8 buf[8];
    return gpu_elem_copy (t, i, buf, TRUE, "tl_tensor_get_flat") ? load_elem (t->dtype, buf) : NAN;
  }
  return load_elem (t->dtype, elem_addr (t, i));
}

/**
 * tl_tensor_set_flat:
 * @t: a tensor
 * @i: row-major logical index (ignored when out of range)
 * @value: the value, converted to the tensor's dtype
 */
void
tl_tensor_set_flat (TlTensor *t, gint64 i, double value)
{
  if (i < 0 || i >= tl_tensor_numel (t))
    return;
  if (on_gpu (t)) {
    guint8 buf[8];
    store_elem (t->dtype, buf, value);
    gpu_elem_copy (t, i, buf, FALSE, "tl_tensor_set_flat");
    return;
  }
  store_elem (t->dtype, elem_addr (t, i), value);
}

/* Strided walk over two tensors of the same shape: calls the body with the
 * element offsets of both. */
#define STRIDED_PAIR_LOOP(A, B, OA, OB, BODY)                                   \
  do {                                                                          \
    gint64 n_ = tl_tensor_numel (A), idx_[TL_MAX_DIMS] = { 0 };                 \
    gint64 OA = (A)->offset, OB = (B)->offset;                                  \
    gint nd_ = (gint) (A)->ndim;                                                \
    for (gint64 i_ = 0; i_ < n_; i_++) {                                        \
      BODY;                                                                     \
      for (gint d_ = nd_ - 1; d_ >= 0; d_--) {                                  \
        OA += (A)->strides[d_];                                                 \
        OB += (B)->strides[d_];                                                 \
        if (++idx_[d_] < (A)->shape[d_])                                        \
          break;                                                                \
        OA -= (A)->strides[d_] * (A)->shape[d_];                                \
        OB -= (B)->strides[d_] * (B)->shape[d_];                                \
        idx_[d_] = 0;                                                           \
      }                                                                         \
    }                                                                           \
  } while (0)

static gboolean
same_shape (const TlTensor *a, const TlTensor *b)
{
  return _tl_priv_shape_equal (a->ndim, a->shape, b->ndim, b->shape);
}

/* Elements [*lo, *hi) of the storage a view can touch (strides are never
 * negative). */
static void
view_span (const TlTensor *t, gint64 *lo, gint64 *hi)
{
  *lo = *hi = t->offset;
  if (tl_tensor_numel (t) == 0)
    return;
  gint64 e = t->offset;
  for (guint d = 0; d < t->ndim; d++)
    e += (t->shape[d] - 1) * t->strides[d];
  *hi = e + 1;
}

/* A host tensor with t's dtype, shape and strides over a copy of the bytes
 * t spans on its GPU. */
static TlTensor *
span_download (const TlTensor *t, GError **error)
{
  TlDevice dev;
  if (!_tl_priv_tensor_open_device (t, &dev, error))
    return NULL;
  gint64 lo, hi;
  view_span (t, &lo, &hi);
  gsize es = tl_dtype_size (t->dtype);
  TlStorage *s = storage_new ((gsize) MAX (1, hi - lo) * es, error);
  if (!s)
    return NULL;
  if (hi > lo && !dev.be->memcpy (s->data, FALSE, (const guint8 *) t->storage->data + lo * es, TRUE,
                                  (gsize) (hi - lo) * es, error)) {
    storage_unref (s);
    return NULL;
  }
  TlTensor *h = g_new0 (TlTensor, 1);
  *h = *t;
  h->ref_count = 1;
  h->offset = t->offset - lo;
  h->storage = s;
  return h;
}

/* Writes back a span_download() of dst. */
static gboolean
span_upload (TlTensor *dst, const TlTensor *host, GError **error)
{
  TlDevice dev;
  if (!_tl_priv_tensor_open_device (dst, &dev, error))
    return FALSE;
  gint64 lo, hi;
  view_span (dst, &lo, &hi);
  gsize es = tl_dtype_size (dst->dtype);
  return hi <= lo || dev.be->memcpy ((guint8 *) dst->storage->data + lo * es, TRUE,
                                     host->storage->data, FALSE, (gsize) (hi - lo) * es, error);
}

static void copy_host (TlTensor *dst, const TlTensor *src);

/* A copy where at least one side lives on a GPU: one backend copy when the
 * layouts and dtypes agree, else through host copies of the spans. */
static gboolean
copy_across (TlTensor *dst, const TlTensor *src, GError **error)
{
  if (dst->dtype == src->dtype && tl_tensor_is_contiguous (dst) && tl_tensor_is_contiguous (src)) {
    /* between two GPUs the copy is queued on dst's stream only: wait for
     * src's writers before it, and for the copy before src is reused */
    gboolean two_gpus = on_gpu (dst) && on_gpu (src) && dst->storage->index != src->storage->index;
    TlDevice dev;
    if (two_gpus && (!_tl_priv_tensor_open_device (src, &dev, error) || !dev.be->synchronize (error)))
      return FALSE;
    if (!_tl_priv_tensor_open_device (on_gpu (dst) ? dst : src, &dev, error))
      return FALSE;
    return dev.be->memcpy (tl_tensor_data (dst), on_gpu (dst), tl_tensor_const_data (src),
                           on_gpu (src), tl_tensor_nbytes (src), error) &&
           (!two_gpus || dev.be->synchronize (error));
  }
  g_autoptr (TlTensor) hs = on_gpu (src) ? span_download (src, error)
                                         : tl_tensor_ref ((TlTensor *) src);
  if (!hs)
    return FALSE;
  if (!on_gpu (dst)) {
    copy_host (dst, hs);
    return TRUE;
  }
  if (tl_tensor_is_contiguous (dst)) {
    g_autoptr (TlTensor) tmp = tl_tensor_new (dst->dtype, dst->ndim, dst->shape, error);
    if (!tmp)
      return FALSE;
    copy_host (tmp, hs);
    TlDevice dev;
    if (!_tl_priv_tensor_open_device (dst, &dev, error))
      return FALSE;
    return dev.be->memcpy (tl_tensor_data (dst), TRUE, tl_tensor_const_data (tmp), FALSE,
                           tl_tensor_nbytes (dst), error);
  }
  g_autoptr (TlTensor) hd = span_download (dst, error);
  if (!hd)
    return FALSE;
  copy_host (hd, hs);
  return span_upload (dst, hd, error);
}

/**
 * tl_tensor_copy_into:
 * @dst: destination (any layout)
 * @src: source with the same shape
 * @error: return location for a #GError
 *
 * Copies values, converting dtypes (floats to integers truncate toward zero
 * and saturate; to f16/bf16 rounds to nearest even). Either side may live
 * on a GPU: same dtype and contiguous layouts take one device copy, other
 * cases go through host copies.
 *
 * Returns: FALSE on a shape mismatch or a failed device copy.
 */
gboolean
tl_tensor_copy_into (TlTensor *dst, const TlTensor *src, GError **error)
{
  if (!same_shape (dst, src)) {
    TlTensorDesc a, b;
    tl_tensor_get_desc (dst, &a);
    tl_tensor_get_desc (src, &b);
    g_autofree char *as = tl_tensor_desc_to_string (&a);
    g_autofree char *bs = tl_tensor_desc_to_string (&b);
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "copy: destination %s, source %s", as, bs);
    return FALSE;
  }
  if (tl_tensor_numel (src) == 0)
    return TRUE;
  if (on_gpu (dst) || on_gpu (src))
    return copy_across (dst, src, error);
  copy_host (dst, src);
  return TRUE;
}

/* Host-to-host copy of same-shaped tensors (see tl_tensor_copy_into()). */
static void
copy_host (TlTensor *dst, const TlTensor *src)
{
  guint8 *db = dst->storage->data;
  const guint8 *sb = src->storage->data;
  gsize des = tl_dtype_size (dst->dtype), ses = tl_dtype_size (src->dtype);
  if (dst->dtype == src->dtype && tl_tensor_is_contiguous (dst) && tl_tensor_is_contiguous (src)) {
    memmove (db + dst->offset * des, sb + src->offset * ses, tl_tensor_nbytes (src));
    return;
  }
  switch (_tl_rule_cast_mode (src->dtype, dst->dtype)) {
  case TL_CAST_SAME:
    STRIDED_PAIR_LOOP (dst, src, od, os, memcpy (db + od * des, sb + os * ses, des));
    break;
  case TL_CAST_F16_TO_F32:
    STRIDED_PAIR_LOOP (dst, src, od, os,
                       ((float *) db)[od] = tl_f16_to_f32 (((const guint16 *) sb)[os]));
    break;
  case TL_CAST_BF16_TO_F32:
    STRIDED_PAIR_LOOP (dst, src, od, os,
                       ((float *) db)[od] = tl_bf16_to_f32 (((const guint16 *) sb)[os]));
    break;
  case TL_CAST_F32_TO_F16:
    STRIDED_PAIR_LOOP (dst, src, od, os,
                       ((guint16 *) db)[od] = tl_f32_to_f16 (((const float *) sb)[os]));
    break;
  case TL_CAST_F32_TO_BF16:
    STRIDED_PAIR_LOOP (dst, src, od, os,
                       ((guint16 *) db)[od] = tl_f32_to_bf16 (((const float *) sb)[os]));
    break;
  case TL_CAST_INT_TO_I64:
    STRIDED_PAIR_LOOP (dst, src, od, os, ((gint64 *) db)[od] = _tl_rule_load_int (src->dtype, sb + os * ses, 0));
    break;
  case TL_CAST_I64_TO_INT:
    STRIDED_PAIR_LOOP (dst, src, od, os, _tl_rule_store_from_i64 (dst->dtype, db, od, ((const gint64 *) sb)[os]));
    break;
  case TL_CAST_GENERIC:
    STRIDED_PAIR_LOOP (dst, src, od, os,
                       store_elem (dst->dtype, db + od * des, load_elem (src->dtype, sb + os * ses)));
    break;
  }
}

/**
 * tl_tensor_contiguous:
 * @t: a tensor
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): @t itself (new reference) when
 * contiguous, else a contiguous copy.
 */
TlTensor *
tl_tensor_contiguous (TlTensor *t, GError **error)
{
  if (tl_tensor_is_contiguous (t))
    return tl_tensor_ref (t);
  return tl_tensor_copy (t, error);
}

/**
 * tl_tensor_cast:
 * @t: a tensor
 * @dtype: target type
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): a new contiguous tensor converted to
 * @dtype, on @t's device.
 */
TlTensor *
tl_tensor_cast (const TlTensor *t, TlDType dtype, GError **error)
{
  if (!on_gpu (t)) {
    TlTensor *c = tl_tensor_new (dtype, t->ndim, t->shape, error);
    if (c && !tl_tensor_copy_into (c, t, error))
      g_clear_pointer (&c, tl_tensor_unref);
    return c;
  }
  TlDevice dev;
  if (!_tl_priv_tensor_open_device (t, &dev, error))
    return NULL;
  TlTensorDesc d;
  tl_tensor_desc_init (&d, dtype, t->ndim, t->shape);
  TlTensor *c = _tl_priv_tensor_new_on (&dev, &d, FALSE, error);
  if (c && !tl_tensor_copy_into (c, t, error))
    g_clear_pointer (&c, tl_tensor_unref);
  return c;
}

/**
 * tl_tensor_copy:
 * @t: a tensor
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): a deep contiguous copy on @t's device.
 */
TlTensor *
tl_tensor_copy (const TlTensor *t, GError **error)
{
  return tl_tensor_cast (t, t->dtype, error);
}

/**
 * tl_tensor_fill:
 * @t: a tensor
 * @value: the value, converted to the dtype
 *
 * Sets every element of the view (of a GPU tensor: through a host copy).
 */
void
tl_tensor_fill (TlTensor *t, double value)
{
  gint64 n = tl_tensor_numel (t);
  if (n == 0)
    return;
  if (on_gpu (t)) {
    GError *e = NULL;
    g_autoptr (TlTensor) h = tl_tensor_new (t->dtype, t->ndim, t->shape, &e);
    if (h) {
      tl_tensor_fill (h, value);
      tl_tensor_copy_into (t, h, &e);
    }
    if (e) {
      g_warning ("tl_tensor_fill: %s", e->message);
      g_error_free (e);
    }
    return;
  }
  if (t->dtype == TL_DTYPE_F32 && tl_tensor_is_contiguous (t)) {
    float *p = tl_tensor_data (t), f = (float) value;
    for (gint64 i = 0; i < n; i++)
      p[i] = f;
    return;
  }
  guint8 *b = t->storage->data;
  gsize es = tl_dtype_size (t->dtype);
  guint8 one[8];
  store_elem (t->dtype, one, value);
  STRIDED_PAIR_LOOP (t, t, o, o2, { (void) o2; memcpy (b + o * es, one, es); });
}

/* Host copies *ha, *hb of a and b (for the comparisons); on failure warns
 * "fn: message" and returns FALSE with both NULL. */
static gboolean
host_pair (const TlTensor *a, const TlTensor *b, TlTensor **ha, TlTensor **hb, const char *fn)
{
  GError *e = NULL;
  *ha = tl_tensor_to_device ((TlTensor *) a, "cpu", &e);
  *hb = *ha ? tl_tensor_to_device ((TlTensor *) b, "cpu", &e) : NULL;
  if (*hb)
    return TRUE;
  g_clear_pointer (ha, tl_tensor_unref);
  g_warning ("%s: %s", fn, e->message);
  g_error_free (e);
  return FALSE;
}

/**
 * tl_tensor_max_rel_diff:
 * @a: a tensor
 * @b: the reference, same shape
 *
 * Returns: max |a-b| / max(1, max |b|); -1 on a shape mismatch; +inf when
 * exactly one side is NaN at some element.
 */
double
tl_tensor_max_rel_diff (const TlTensor *a, const TlTensor *b)
{
  if (!same_shape (a, b))
    return -1.0;
  if (on_gpu (a) || on_gpu (b)) {
    g_autoptr (TlTensor) ha = NULL;
    g_autoptr (TlTensor) hb = NULL;
    if (!host_pair (a, b, &ha, &hb, "tl_tensor_max_rel_diff"))
      return INFINITY;
    return tl_tensor_max_rel_diff (ha, hb);
  }
  const guint8 *ab = a->storage->data, *bb = b->storage->data;
  gsize aes = tl_dtype_size (a->dtype), bes = tl_dtype_size (b->dtype);
  double maxd = 0.0, maxb = 0.0;
  gboolean nan_mismatch = FALSE;
  STRIDED_PAIR_LOOP (a, b, oa, ob, {
    double x_ = load_elem (a->dtype, ab + oa * aes);
    double y_ = load_elem (b->dtype, bb + ob * bes);
    if (isnan (x_) || isnan (y_)) {
      if (!(isnan (x_) && isnan (y_)))
        nan_mismatch = TRUE;
    } else {
      double d_ = x_ == y_ ? 0.0 : fabs (x_ - y_);
      if (d_ > maxd)
        maxd = d_;
      if (fabs (y_) > maxb)
        maxb = fabs (y_);
    }
  });
  if (nan_mismatch)
    return INFINITY;
  return maxd / MAX (1.0, maxb);
}

/**
 * tl_tensor_equal_bits:
 * @a: a tensor
 * @b: a tensor
 *
 * Returns: TRUE when dtype, shape and every element's bytes agree.
 */
gboolean
tl_tensor_equal_bits (const TlTensor *a, const TlTensor *b)
{
  if (a->dtype != b->dtype || !same_shape (a, b))
    return FALSE;
  if (on_gpu (a) || on_gpu (b)) {
    g_autoptr (TlTensor) ha = NULL;
    g_autoptr (TlTensor) hb = NULL;
    if (!host_pair (a, b, &ha, &hb, "tl_tensor_equal_bits"))
      return FALSE;
    return tl_tensor_equal_bits (ha, hb);
  }
  const guint8 *ab = a->storage->data, *bb = b->storage->data;
  gsize es = tl_dtype_size (a->dtype);
  if (tl_tensor_is_contiguous (a) && tl_tensor_is_contiguous (b))
    return memcmp (ab + a->offset * es, bb + b->offset * es, tl_tensor_nbytes (a)) == 0;
  gboolean eq = TRUE;
  STRIDED_PAIR_LOOP (a, b, oa, ob, {
    if (memcmp (ab + oa * es, bb + ob * es, es) != 0) {
      eq = FALSE;
      break;
    }
  });
  return eq;
}
