/* checks-dataset.c — dataset components: two instances give the same rows
 * in the same seeded order, batches match the declared schema, and a
 * malformed input file (TL_DATASET_EXT_MALFORMED_SAMPLE) gives an error
 * naming the file and the line. */
#include "config.h"

#include <string.h>

#include "conformance.h"

#define N_ROWS 32
#define READ_CHUNK 256
#define MAX_SCAN_ROWS 100000

/* FALSE without error: skipped. */
static TlDatasetInstance *
open_default (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  GError *local = NULL;
  TlParams *p = tlc_default_params (ci, &local);
  if (!p) {
    if (local)
      g_propagate_error (error, local);
    return NULL;
  }
  TlDatasetInstance *d = tlc_create (s, ci, p, error);
  tl_params_free (p);
  return d;
}

/* A seeded order of up to N_ROWS row indices. */
static gint64 *
seeded_rows (gint64 size, guint64 seed, gint64 *n)
{
  TlRng rng;
  tl_rng_init (&rng, seed, 0);
  *n = MIN (size, N_ROWS);
  gint64 *rows = g_new (gint64, MAX (*n, 1));
  if (size <= 4096) {
    g_autofree gint64 *perm = g_new (gint64, size);
    for (gint64 i = 0; i < size; i++)
      perm[i] = i;
    tl_rng_shuffle (&rng, perm, size);
    memcpy (rows, perm, sizeof (gint64) * *n);
  } else {
    for (gint64 i = 0; i < *n; i++)
      rows[i] = (gint64) tl_rng_below (&rng, (guint64) size);
  }
  return rows;
}

static void
free_fields (TlTensor **f, guint n)
{
  if (!f)
    return;
  for (guint i = 0; i < n; i++)
    tl_tensor_unref (f[i]);
  g_free (f);
}

static gboolean
check_same_order (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  TlDatasetInstance *a = open_default (s, ci, error);
  if (!a)
    return *error == NULL;
  TlDatasetInstance *b = open_default (s, ci, error);
  if (!b) {
    tl_dataset_instance_free (a);
    return FALSE;
  }
  gboolean ok = TRUE;
  gint64 size = tl_dataset_instance_size (a);
  if (size != tl_dataset_instance_size (b)) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "two instances report %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT " rows",
                 size, tl_dataset_instance_size (b));
    ok = FALSE;
  } else if (size <= 0) {
    tlc_warn ("the dataset is empty with default parameters");
  } else {
    gint64 n = 0, n2 = 0;
    g_autofree gint64 *r1 = seeded_rows (size, 7, &n);
    g_autofree gint64 *r2 = seeded_rows (size, 7, &n2);
    guint nf = tl_dataset_instance_n_fields (a);
    TlTensor **fa = tl_dataset_instance_read (a, n, r1, error);
    TlTensor **fb = fa ? tl_dataset_instance_read (b, n2, r2, error) : NULL;
    TlTensor **fc = fb ? tl_dataset_instance_read (a, n, r1, error) : NULL;
    ok = fc != NULL;
    for (guint i = 0; ok && i < nf; i++) {
      if (!tl_tensor_equal_bits (fa[i], fb[i]) || !tl_tensor_equal_bits (fa[i], fc[i])) {
        g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "field '%s' differs between reads of the same rows",
                     tl_dataset_instance_field (a, i)->name);
        ok = FALSE;
      }
    }
    free_fields (fa, nf);
    free_fields (fb, nf);
    free_fields (fc, nf);
  }
  tl_dataset_instance_free (a);
  tl_dataset_instance_free (b);
  return ok;
}

static gboolean
check_schema (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  TlDatasetInstance *d = open_default (s, ci, error);
  if (!d)
    return *error == NULL;
  gboolean ok = TRUE;
  guint nf = tl_dataset_instance_n_fields (d);
  gint64 size = tl_dataset_instance_size (d);
  if (nf == 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "the schema has no field");
    ok = FALSE;
  }
  for (guint i = 0; ok && i < nf; i++) {
    const TlField *f = tl_dataset_instance_field (d, i);
    if (!f || !f->name || !*f->name || tl_dtype_size (f->dtype) == 0 || f->ndim > TL_MAX_DIMS - 1) {
      g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "field %u is malformed (name, dtype or ndim)", i);
      ok = FALSE;
    }
  }
  gint64 n = MIN (size, N_ROWS);
  if (ok && n > 0) {
    g_autofree gint64 *rows = g_new (gint64, n);
    for (gint64 i = 0; i < n; i++)
      rows[i] = size - 1 - i; /* from the end: catches off-by-one at the last row */
    TlTensor **fields = tl_dataset_instance_read (d, n, rows, error);
    ok = fields != NULL;
    for (guint i = 0; ok && i < nf; i++) {
      const TlField *f = tl_dataset_instance_field (d, i);
      TlTensor *t = fields[i];
      gboolean match = tl_tensor_dtype (t) == f->dtype && tl_tensor_ndim (t) == f->ndim + 1 &&
                       tl_tensor_dim (t, 0) == n;
      for (guint k = 0; match && k < f->ndim; k++)
        match = tl_tensor_dim (t, (gint) k + 1) == f->shape[k];
      if (!match) {
        g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "field '%s': batch does not match the declared schema",
                     f->name);
        ok = FALSE;
        break;
      }
      if (f->cardinality > 0 && !tl_dtype_is_float (f->dtype)) {
        for (gint64 e = 0; e < tl_tensor_numel (t); e++) {
          double v = tl_tensor_get_flat (t, e);
          if (v < 0 || v >= (double) f->cardinality) {
            g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN,
                         "field '%s': value %g outside [0, %" G_GINT64_FORMAT ") (its cardinality)", f->name, v,
                         f->cardinality);
            ok = FALSE;
            break;
          }
        }
      } else if (!tlc_tensor_finite (t)) {
        tlc_warn ("field '%s' has NaN/Inf values", f->name);
      }
    }
    free_fields (fields, nf);
  }
  tl_dataset_instance_free (d);
  return ok;
}

/* TRUE when msg contains "<basename>:<digits>". */
static gboolean
names_file_and_line (const char *msg, const char *file)
{
  g_autofree char *base = g_path_get_basename (file);
  for (const char *p = strstr (msg, base); p; p = strstr (p + 1, base)) {
    const char *q = p + strlen (base);
    if (q[0] == ':' && g_ascii_isdigit (q[1]))
      return TRUE;
  }
  return FALSE;
}

static gboolean
check_malformed (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  const TlDatasetDef *def = tlc_load (s, ci, error);
  if (!def)
    return FALSE;
  const TlDatasetMalformedSample *ms = tlc_extension (ci, def, TL_DATASET_EXT_MALFORMED_SAMPLE);
  if (!ms || !TL_TABLE_HAS (ms, TlDatasetMalformedSample, make, 0) || !ms->make) {
    tlc_warn ("no malformed sample: %s has no extension " TL_DATASET_EXT_MALFORMED_SAMPLE,
              tl_component_info_full_name (ci));
    tlc_skip ("no malformed sample");
    return TRUE;
  }
  g_autofree char *dir = g_strdup_printf ("%s/malformed-%s", s->tmpdir, tl_component_info_full_name (ci));
  g_mkdir_with_parents (dir, 0700);
  g_auto (GStrv) params = NULL;
  g_autofree char *file = NULL;
  if (!ms->make (dir, &params, &file, error)) {
    tlc_failed_silently (error, "make");
    g_prefix_error (error, "the malformed-sample extension failed: ");
    return FALSE;
  }
  TlParams *p = tlc_make_params (ci, (const char *const *) params, error);
  if (!p)
    return FALSE;
  g_autoptr (GError) e = NULL;
  TlDatasetInstance *d = tlc_create (s, ci, p, &e);
  tl_params_free (p);
  if (d) {
    gint64 size = MIN (tl_dataset_instance_size (d), MAX_SCAN_ROWS);
    guint nf = tl_dataset_instance_n_fields (d);
    gint64 rows[READ_CHUNK];
    for (gint64 start = 0; start < size && !e; start += READ_CHUNK) {
      gint64 n = MIN (READ_CHUNK, size - start);
      for (gint64 i = 0; i < n; i++)
        rows[i] = start + i;
      free_fields (tl_dataset_instance_read (d, n, rows, &e), nf);
    }
    tl_dataset_instance_free (d);
  }
  if (!e) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "the malformed file %s was accepted", file);
    return FALSE;
  }
  if (!names_file_and_line (e->message, file)) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "the error does not name FILE:LINE: %s", e->message);
    return FALSE;
  }
  tlc_note ("%s", e->message);
  return TRUE;
}

void
tlc_checks_dataset (TlcSuite *s, const TlComponentInfo *ci)
{
  const char *name = tl_component_info_full_name (ci);
  g_autofree char *n1 = g_strdup_printf ("%s: same rows in the same order for the same seed", name);
  g_autofree char *n2 = g_strdup_printf ("%s: batches match the declared schema", name);
  g_autofree char *n3 = g_strdup_printf ("%s: malformed input names file and line", name);
  tlc_run (s, n1, check_same_order, ci);
  tlc_run (s, n2, check_schema, ci);
  tlc_run (s, n3, check_malformed, ci);
}
