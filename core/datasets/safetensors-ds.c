/* safetensors-ds.c — "tl.safetensors": a dataset from one safetensors file.
 *
 * Every tensor (or those listed in `fields`) is a field; all must share
 * their first dimension, the number of rows. Fields keep the file's dtype
 * and per-row shape. Integer tensors of rank 1 whose values are all in
 * [0, 2^24) are categorical with cardinality max + 1.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "columns.h"
#include "builtin/tl-builtin.h"
#include "tl-private.h"

static gint
str_ptr_cmp (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static gint64
integer_cardinality (const TlTensor *t)
{
  TlDType dt = tl_tensor_dtype (t);
  if (tl_tensor_ndim (t) != 1 || (dt != TL_DTYPE_I64 && dt != TL_DTYPE_I32 && dt != TL_DTYPE_U8 &&
                                  dt != TL_DTYPE_I8))
    return -1;
  double max = 0;
  for (gint64 i = 0; i < tl_tensor_numel (t); i++) {
    double v = tl_tensor_get_flat (t, i);
    if (v < 0 || v >= (1 << 24))
      return -1;
    max = MAX (max, v);
  }
  return (gint64) max + 1;
}

static TlDataset *
safetensors_open (const TlParams *params, GError **error)
{
  const char *path = tl_params_get_string (params, "path", "");
  const char *fields = tl_params_get_string (params, "fields", "");
  g_autofree char *file = g_path_get_basename (path);
  g_autoptr (GHashTable) tensors = tl_safetensors_read (path, NULL, error);
  if (!tensors)
    return NULL;

  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  if (fields && *fields) {
    g_auto (GStrv) parts = g_strsplit (fields, ",", -1);
    for (guint i = 0; parts[i]; i++) {
      g_strstrip (parts[i]);
      if (!*parts[i])
        continue;
      if (!g_hash_table_contains (tensors, parts[i])) {
        g_set_error (error, TL_ERROR, TL_ERROR_NOT_FOUND, "%s: no tensor named '%s'", file,
                     parts[i]);
        return NULL;
      }
      g_ptr_array_add (names, g_strdup (parts[i]));
    }
  } else {
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init (&it, tensors);
    while (g_hash_table_iter_next (&it, &key, NULL))
      g_ptr_array_add (names, g_strdup (key));
    g_ptr_array_sort (names, str_ptr_cmp);
  }
  if (names->len == 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "%s: no tensors", file);
    return NULL;
  }
  for (guint i = 0; i < names->len; i++) {
    if (!*(const char *) names->pdata[i]) {
      g_set_error (error, TL_ERROR, TL_ERROR_PARSE,
                   "%s: a tensor has an empty name (it would be a field without one)", file);
      return NULL;
    }
  }

  gint64 n_rows = -1;
  for (guint i = 0; i < names->len; i++) {
    TlTensor *t = g_hash_table_lookup (tensors, names->pdata[i]);
    if (tl_tensor_ndim (t) < 1 || (n_rows >= 0 && tl_tensor_dim (t, 0) != n_rows)) {
      /* names come from the file: keep the message on one line */
      g_autofree char *ename = _tl_priv_escape_short (names->pdata[i]);
      g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                   "%s: tensor '%s' has %s first dimension %" G_GINT64_FORMAT
                   "; every tensor needs the same first dimension (the rows)",
                   file, ename, tl_tensor_ndim (t) < 1 ? "no" : "a",
                   tl_tensor_ndim (t) < 1 ? 0 : tl_tensor_dim (t, 0));
      return NULL;
    }
    n_rows = tl_tensor_dim (t, 0);
  }
  if (n_rows < 1) {
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "%s: no rows", file);
    return NULL;
  }

  g_autoptr (TlDataset) ds = _tl_priv_columns_new (n_rows);
  for (guint i = 0; i < names->len; i++) {
    TlTensor *t = g_hash_table_lookup (tensors, names->pdata[i]);
    TlTensor *c = tl_tensor_contiguous (t, error);
    if (!c)
      return NULL;
    void *data = _tl_priv_columns_add (ds, names->pdata[i], tl_tensor_dtype (c),
                                       tl_tensor_ndim (c) - 1, tl_tensor_shape (c) + 1,
                                       integer_cardinality (c), error);
    if (data)
      memcpy (data, tl_tensor_data (c), tl_tensor_nbytes (c));
    tl_tensor_unref (c);
    if (!data) {
      g_prefix_error (error, "%s: ", file);
      return NULL;
    }
  }
  return g_steal_pointer (&ds);
}

const TlDatasetDef _tl_priv_safetensors_dataset = {
  TL_PRIV_COLUMNS_DATASET (safetensors_open),
};
