/* columns.c — the columnar store shared by the built-in datasets. */
#include "config.h"

#include <string.h>

#include "columns.h"

TlDataset *
_tl_priv_columns_new (gint64 n_rows)
{
  TlDataset *ds = g_new0 (TlDataset, 1);
  ds->n_rows = MAX (n_rows, 0);
  return ds;
}

void *
_tl_priv_columns_add (TlDataset *ds, const char *name, TlDType dtype, guint ndim,
                      const gint64 *shape, gint64 cardinality, GError **error)
{
  gsize esize = tl_dtype_size (dtype);
  if (esize == 0 || ndim > TL_MAX_DIMS) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "field '%s': invalid dtype or rank",
                 name);
    return NULL;
  }
  guint64 numel = 1;
  for (guint d = 0; d < ndim; d++) {
    if (shape[d] <= 0 || numel > G_MAXINT64 / (guint64) shape[d]) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "field '%s': invalid shape", name);
      return NULL;
    }
    numel *= (guint64) shape[d];
  }
  guint64 row_bytes = numel * esize;
  guint64 total = row_bytes;
  if (ds->n_rows > 0 && total > G_MAXSIZE / (guint64) ds->n_rows) {
    g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY, "field '%s': %" G_GINT64_FORMAT
                 " rows of %" G_GUINT64_FORMAT " bytes do not fit in memory", name, ds->n_rows,
                 row_bytes);
    return NULL;
  }
  total *= (guint64) MAX (ds->n_rows, 1);
  guint8 *data = _tl_priv_aligned_alloc (total);
  if (!data) {
    g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY,
                 "field '%s': cannot allocate %" G_GUINT64_FORMAT " bytes", name, total);
    return NULL;
  }
  memset (data, 0, total);

  ds->columns = g_renew (TlColumn, ds->columns, ds->n_columns + 1);
  TlColumn *c = &ds->columns[ds->n_columns++];
  memset (c, 0, sizeof *c);
  c->name = g_strdup (name);
  c->row_bytes = row_bytes;
  c->data = data;
  c->field.dtype = dtype;
  c->field.ndim = ndim;
  for (guint d = 0; d < ndim; d++)
    c->field.shape[d] = shape[d];
  c->field.cardinality = cardinality > 0 ? cardinality : -1;
  c->field.name = c->name; /* a separate allocation: stays put when columns grows */
  return data;
}

void
_tl_priv_columns_truncate (TlDataset *ds, gint64 n_rows)
{
  if (n_rows >= 0 && n_rows < ds->n_rows)
    ds->n_rows = n_rows;
}

/**
 * _tl_priv_columns_close:
 * @ds: (nullable): a store
 *
 * Frees the store and every column. NULL-safe.
 */
void
_tl_priv_columns_close (TlDataset *ds)
{
  if (!ds)
    return;
  for (guint i = 0; i < ds->n_columns; i++) {
    g_free (ds->columns[i].name);
    _tl_priv_aligned_free (ds->columns[i].data);
  }
  g_free (ds->columns);
  g_free (ds);
}

uint32_t
_tl_priv_columns_n_fields (TlDataset *ds)
{
  return ds ? ds->n_columns : 0;
}

const TlField *
_tl_priv_columns_field (TlDataset *ds, uint32_t i)
{
  if (!ds || i >= ds->n_columns)
    return NULL;
  return &ds->columns[i].field;
}

int64_t
_tl_priv_columns_size (TlDataset *ds)
{
  return ds ? ds->n_rows : 0;
}

/**
 * _tl_priv_columns_read:
 * @ds: a store
 * @n_rows: number of rows to read
 * @rows: (array length=n_rows): row indices in [0, size)
 * @fields: one contiguous tensor per field, each [n_rows, ...field shape]
 *   of the field's dtype (borrowed)
 * @error: return location for a #GError
 *
 * Copies the requested rows into @fields.
 *
 * Returns: FALSE with TL_ERROR_INVALID_ARGUMENT for an out-of-range row,
 *   TL_ERROR_SHAPE for a tensor that does not match the schema.
 */
gboolean
_tl_priv_columns_read (TlDataset *ds, int64_t n_rows, const int64_t *rows,
                       TlTensor *const *fields, GError **error)
{
  if (n_rows < 0 || (n_rows > 0 && !rows)) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "invalid row list");
    return FALSE;
  }
  for (int64_t r = 0; r < n_rows; r++) {
    if (rows[r] < 0 || rows[r] >= ds->n_rows) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "row %" G_GINT64_FORMAT " out of range [0, %" G_GINT64_FORMAT ")", rows[r],
                   ds->n_rows);
      return FALSE;
    }
  }
  for (guint i = 0; i < ds->n_columns; i++) {
    TlColumn *c = &ds->columns[i];
    TlTensor *t = fields[i];
    if (!t || tl_tensor_dtype (t) != c->field.dtype || !tl_tensor_is_contiguous (t) ||
        tl_tensor_nbytes (t) != (gsize) n_rows * c->row_bytes) {
      g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                   "field '%s': output tensor does not match [%" G_GINT64_FORMAT ", ...] %s",
                   c->name, (gint64) n_rows, tl_dtype_name (c->field.dtype));
      return FALSE;
    }
    guint8 *dst = tl_tensor_data (t);
    for (int64_t r = 0; r < n_rows; r++)
      memcpy (dst + (gsize) r * c->row_bytes, c->data + (gsize) rows[r] * c->row_bytes,
              c->row_bytes);
  }
  return TRUE;
}
