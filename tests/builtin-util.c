/* builtin-util.c — helpers for the tests of the built-in plugin "tl". */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "builtin-util.h"

static TlRegistry *
bt_registry (void)
{
  static TlRegistry *reg;
  if (!reg) {
    g_autoptr (GError) error = NULL;
    TlRegistryOptions opts = { 0 };
    opts.no_cache = 1;
    opts.no_probe = 1;
    reg = tl_registry_new (&opts, &error);
    g_assert_no_error (error);
  }
  return reg;
}

static const void *
bt_load (const char *component, const char *const *kv, TlParams **params, GError **error)
{
  TlRegistry *reg = bt_registry ();
  const TlComponentInfo *ci = tl_registry_find_component (reg, component, error);
  if (!ci)
    return NULL;
  guint n = kv ? g_strv_length ((char **) kv) / 2 : 0;
  g_autofree const char **names = g_new0 (const char *, n + 1);
  g_autofree const char **values = g_new0 (const char *, n + 1);
  for (guint i = 0; i < n; i++) {
    names[i] = kv[2 * i];
    values[i] = kv[2 * i + 1];
  }
  *params = tl_component_info_make_params (ci, n, names, values, NULL, error);
  if (!*params)
    return NULL;
  const void *def = tl_registry_load_component (reg, ci, error);
  if (!def) {
    tl_params_free (*params);
    *params = NULL;
  }
  return def;
}

TlDatasetInstance *
bt_dataset_new (const char *component, const char *const *kv, GError **error)
{
  TlParams *params = NULL;
  const TlDatasetDef *def = bt_load (component, kv, &params, error);
  if (!def)
    return NULL;
  TlDatasetInstance *d = tl_dataset_instance_new (def, component, params, error);
  tl_params_free (params);
  return d;
}

TlModelInstance *
bt_model_new (const char *component, const char *const *kv, guint64 seed, GError **error)
{
  TlParams *params = NULL;
  const TlModelDef *def = bt_load (component, kv, &params, error);
  if (!def)
    return NULL;
  TlModelInstance *m = tl_model_instance_new (def, component, params, seed, error);
  tl_params_free (params);
  return m;
}

const TlField *
bt_field (TlDatasetInstance *d, const char *name)
{
  gint i = tl_dataset_instance_field_index (d, name);
  return i < 0 ? NULL : tl_dataset_instance_field (d, (guint) i);
}

double *
bt_read_field (TlDatasetInstance *d, const char *name, gint64 *n_values)
{
  g_autoptr (GError) error = NULL;
  gint idx = tl_dataset_instance_field_index (d, name);
  g_assert_cmpint (idx, >=, 0);
  gint64 n = tl_dataset_instance_size (d);
  g_autofree gint64 *rows = g_new (gint64, MAX (n, 1));
  for (gint64 i = 0; i < n; i++)
    rows[i] = i;
  guint nf = tl_dataset_instance_n_fields (d);
  TlTensor **t = tl_dataset_instance_read (d, n, rows, &error);
  g_assert_no_error (error);
  gint64 m = tl_tensor_numel (t[idx]);
  double *out = g_new (double, MAX (m, 1));
  for (gint64 i = 0; i < m; i++)
    out[i] = tl_tensor_get_flat (t[idx], i);
  for (guint i = 0; i < nf; i++)
    tl_tensor_unref (t[i]);
  g_free (t);
  if (n_values)
    *n_values = m;
  return out;
}

char *
bt_write_file (const char *dir, const char *name, const void *data, gsize len)
{
  char *path = g_build_filename (dir, name, NULL);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, data, (gssize) len, &error);
  g_assert_no_error (error);
  return path;
}

char *
bt_fixture (const char *name)
{
  return g_build_filename (TL_SRCDIR, "tests", "data", "csv", name, NULL);
}

int
bt_test_run_in_tmpdir (const char *tmpl, char **tmpdir)
{
  *tmpdir = g_dir_make_tmp (tmpl, NULL);
  g_assert_nonnull (*tmpdir);
  int rc = g_test_run ();
  bt_remove_tmpdir (*tmpdir);
  *tmpdir = NULL;
  return rc;
}

GByteArray *
bt_idx_bytes (guint ndim, const guint32 *dims, gsize n_data, guint8 (*value) (gsize))
{
  GByteArray *b = g_byte_array_new ();
  guint8 hdr[4] = { 0, 0, 0x08, (guint8) ndim };
  g_byte_array_append (b, hdr, 4);
  for (guint d = 0; d < ndim; d++) {
    guint8 v[4] = { dims[d] >> 24, dims[d] >> 16, dims[d] >> 8, dims[d] };
    g_byte_array_append (b, v, 4);
  }
  for (gsize i = 0; i < n_data; i++) {
    guint8 v = value (i);
    g_byte_array_append (b, &v, 1);
  }
  return b;
}

void
bt_rm_rf (const char *path)
{
  if (!path)
    return;
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK)) {
    GDir *d = g_dir_open (path, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name (d))) {
      g_autofree char *p = g_build_filename (path, name, NULL);
      bt_rm_rf (p);
    }
    if (d)
      g_dir_close (d);
    g_rmdir (path);
  } else {
    g_unlink (path);
  }
}

void
bt_remove_tmpdir (char *dir)
{
  bt_rm_rf (dir);
  g_free (dir);
}
