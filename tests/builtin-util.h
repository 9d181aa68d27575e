/* builtin-util.h — helpers for the tests of the built-in plugin "tl":
 * create datasets and models by component name through the registry, with
 * parameters given as text (validated against the built-in manifest), and
 * read columns back.
 */
#ifndef TL_TESTS_BUILTIN_UTIL_H
#define TL_TESTS_BUILTIN_UTIL_H

#include <tl/tl.h>

/* A NULL-terminated list literal: KV ("n_rows", "8", "seed", "1") */
#define KV(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* kv: NULL-terminated list of name, value, name, value, ... (transfer full) */
TlDatasetInstance *bt_dataset_new (const char *component, const char *const *kv, GError **error);
TlModelInstance *bt_model_new (const char *component, const char *const *kv, guint64 seed,
                               GError **error);
/* All rows of field `name` as doubles (n_rows * per-row numel). Fails the test on error. */
double *bt_read_field (TlDatasetInstance *d, const char *name, gint64 *n_values);
/* The field's schema entry, or NULL. */
const TlField *bt_field (TlDatasetInstance *d, const char *name);
/* Write `len` bytes to dir/name; returns the path. (transfer full) */
char *bt_write_file (const char *dir, const char *name, const void *data, gsize len);
/* Remove `path` and, for a directory, everything under it (symbolic links
 * are removed, not followed). NULL-safe. */
void bt_rm_rf (const char *path);
/* bt_rm_rf (dir), then free it. NULL-safe. */
void bt_remove_tmpdir (char *dir);
/* Asserts that `error` (a GError *) is TL_ERROR `code` with exactly the
 * message `msg`, then clears it. */
#define BT_ASSERT_ERROR(error, code, msg) \
  G_STMT_START { \
    g_assert_error ((error), TL_ERROR, (code)); \
    g_assert_cmpstr ((error)->message, ==, (msg)); \
    g_clear_error (&(error)); \
  } G_STMT_END

/* Runs the registered tests (g_test_run()) with *tmpdir set to a new
 * temporary directory made from `tmpl`, removed (and *tmpdir freed)
 * afterwards; returns g_test_run()'s status. */
int bt_test_run_in_tmpdir (const char *tmpl, char **tmpdir);
/* The bytes of an IDX file of type 0x08 (unsigned byte): the header for
 * dims[ndim], then `n_data` data bytes value(0), value(1), ... (transfer full) */
GByteArray *bt_idx_bytes (guint ndim, const guint32 *dims, gsize n_data, guint8 (*value) (gsize));
/* Fixture path $(srcdir)/tests/data/csv/<name>. (transfer full) */
char *bt_fixture (const char *name);

#endif
