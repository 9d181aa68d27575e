/* tl-dataset.h — the dataset component ABI.
 *
 * A dataset is random access: the host decides the order (deterministic
 * shuffling by seed, sharding across ranks) and asks for rows by index.
 * Fields have a per-example dtype and shape; read() fills host-allocated
 * tensors of shape [n_rows, ...field shape].
 *
 * Errors in input files name the file and line: "adult.data:17: ...".
 */
#ifndef TL_DATASET_H
#define TL_DATASET_H

#include <glib.h>
#include <tl/tl-macros.h>
#include <tl/tl-tensor.h>
#include <tl/tl-params.h>

TL_BEGIN_DECLS

typedef struct _TlDataset TlDataset; /* plugin-defined */

/* One field of the schema. Returned by the plugin (plugin-owned memory). */
typedef struct {
  const char *name;
  TlDType dtype;
  uint32_t ndim;                 /* per example (0: scalar) */
  int64_t shape[TL_MAX_DIMS];
  int64_t cardinality;           /* categorical: number of categories; else -1 */
  uint32_t reserved[8];
} TlField;

TL_STATIC_ASSERT(offsetof(TlField, dtype) == sizeof(void *), "TlField ABI 1.0");

typedef struct {
  TL_TABLE_HEADER;
  /* (required) Open with validated params. */
  TlDataset *(*open)(const TlParams *params, GError **error);
  /* (required) NULL-safe. */
  void (*close)(TlDataset *ds);
  /* (required) Schema. field(i) is valid while ds is open. */
  uint32_t (*n_fields)(TlDataset *ds);
  const TlField *(*field)(TlDataset *ds, uint32_t i);
  /* (required) Number of rows. */
  int64_t (*size)(TlDataset *ds);
  /* (required) Fill fields[n_fields] (each [n_rows, ...]) with rows[n_rows]. */
  gboolean (*read)(TlDataset *ds, int64_t n_rows, const int64_t *rows, TlTensor *const *fields,
                   GError **error);
  /* (optional) */
  const void *(*get_extension)(const char *id);
} TlDatasetDef;

TL_END_DECLS

#endif /* TL_DATASET_H */
