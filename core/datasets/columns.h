/* columns.h — the in-memory columnar store behind the built-in datasets.
 *
 * Every built-in dataset (tl.csv, tl.idx, tl.safetensors, tl.synthetic)
 * loads its whole input on open() into one column per field, each a
 * contiguous 64-byte aligned array of n_rows examples; the generic table
 * slots below then serve the schema and random-access reads.
 */
#ifndef TL_DATASETS_COLUMNS_H
#define TL_DATASETS_COLUMNS_H

#include "tl-private.h"

G_BEGIN_DECLS

typedef struct {
  TlField field;     /* field.name points at name */
  char *name;
  gsize row_bytes;   /* bytes per example */
  guint8 *data;      /* n_rows * row_bytes */
} TlColumn;

struct _TlDataset {
  gint64 n_rows;
  guint n_columns;
  TlColumn *columns;
};

/* A store for n_rows examples without columns yet. */
G_GNUC_INTERNAL TlDataset *_tl_priv_columns_new (gint64 n_rows);
/* Add a zero-filled column; returns its data (n_rows * per-example numel
 * elements of dtype) or NULL with TL_ERROR_NO_MEMORY / INVALID_ARGUMENT. */
G_GNUC_INTERNAL void *_tl_priv_columns_add (TlDataset *ds, const char *name, TlDType dtype,
                                            guint ndim, const gint64 *shape, gint64 cardinality,
                                            GError **error);
/* Keep only the first n_rows rows (n_rows <= current). */
G_GNUC_INTERNAL void _tl_priv_columns_truncate (TlDataset *ds, gint64 n_rows);

/* The TlDatasetDef slots shared by all built-in datasets. */
G_GNUC_INTERNAL void _tl_priv_columns_close (TlDataset *ds);
G_GNUC_INTERNAL uint32_t _tl_priv_columns_n_fields (TlDataset *ds);
G_GNUC_INTERNAL const TlField *_tl_priv_columns_field (TlDataset *ds, uint32_t i);
G_GNUC_INTERNAL int64_t _tl_priv_columns_size (TlDataset *ds);
G_GNUC_INTERNAL gboolean _tl_priv_columns_read (TlDataset *ds, int64_t n_rows, const int64_t *rows,
                                                TlTensor *const *fields, GError **error);

/* Designated initialisers of a TlDatasetDef served by the column store. */
#define TL_PRIV_COLUMNS_DATASET(open_fn)          \
  TL_TABLE_INIT (TlDatasetDef),                   \
  .open = open_fn,                                \
  .close = _tl_priv_columns_close,                \
  .n_fields = _tl_priv_columns_n_fields,          \
  .field = _tl_priv_columns_field,                \
  .size = _tl_priv_columns_size,                  \
  .read = _tl_priv_columns_read

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TlDataset, _tl_priv_columns_close)

G_END_DECLS

#endif /* TL_DATASETS_COLUMNS_H */
