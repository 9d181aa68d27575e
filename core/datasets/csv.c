/* csv.c — "tl.csv": delimited text (CSV, TSV) with a column schema.
 *
 * open() reads the whole file (csv-read.c), checks every row against the
 * schema (csv-schema.c), learns vocabularies, quantile buckets and the label
 * mapping from the "vocabulary source" (vocab_from, or the file itself),
 * then converts the rows into columns (columns.c). Conventions:
 *
 * - missing value: an empty field or one of missing_values (default "?");
 *   a float parsing to NaN is missing too.
 * - str: i64 id; 0 = out of vocabulary (unseen, or cut by min_count /
 *   max_size), 1 = missing, 2.. = tokens by decreasing count (ties: first
 *   seen first). Cardinality 2 + vocabulary size.
 * - float: f32; missing -> 0, and for a column of len 1 that has missing
 *   values in the vocabulary source an extra field "<name>_missing" (f32,
 *   1 where missing). Bucketed (buckets / quantile_buckets): i64 id, 0 =
 *   missing, 1 + the number of boundaries <= value; cardinality B + 2.
 * - int: i64; missing -> 0. Cardinality max + 1 when all values of the
 *   source are in [0, 2^24), values outside [0, cardinality) then map to 0;
 *   else -1 (not categorical).
 * - label: normalised by trimming blanks and trailing dots (so Adult's
 *   "<=50K." in adult.test equals "<=50K" in adult.data). i64 ids follow
 *   label_values when given, else: the values themselves when all are
 *   integers in [0, 2^24), else the sorted distinct values (e.g. "<=50K" = 0,
 *   ">50K" = 1). With label_dtype=f32 the label is parsed as a number.
 *   A missing or unknown label makes the row malformed.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "columns.h"
#include "csv.h"
#include "builtin/tl-builtin.h"
#include <tl/tl-conformance.h>

#define CSV_MAX_CARDINALITY (1 << 24)

typedef struct {
  const TlCsvSchema *schema;
  char list_sep;          /* ' ': any run of blanks */
  char **missing;         /* extra missing-value tokens */
  gint64 min_count;
  gint64 max_size;
  GHashTable *label_values; /* normalised token -> id + 1; NULL: automatic */
  gboolean label_f32;
  GString *scratch;
  const char **elems;     /* max len entries */
} Csv;

typedef struct {
  GHashTable *vocab;      /* str: token -> id (GINT_TO_POINTER) */
  GHashTable *labels;     /* label (automatic, non-numeric): token -> id + 1 */
  gboolean labels_numeric;
  GArray *boundaries;     /* float bucketed: borrowed or quantile-derived */
  gboolean own_boundaries;
  gboolean has_missing;   /* float len 1: emit "<name>_missing" */
  gint64 cardinality;     /* -1: not categorical */
} ColStats;

/* --- small helpers --------------------------------------------------------- */

static gboolean
is_missing (const Csv *csv, const char *s)
{
  if (!*s)
    return TRUE;
  for (guint i = 0; csv->missing && csv->missing[i]; i++)
    if (g_str_equal (csv->missing[i], s))
      return TRUE;
  return FALSE;
}

static char *
normalise_label (const char *s)
{
  char *v = g_strstrip (g_strdup (s));
  gsize n = strlen (v);
  while (n > 0 && v[n - 1] == '.')
    v[--n] = '\0';
  g_strchomp (v);
  return v;
}

/* Split `token` into its elements (pointers valid until the next call);
 * returns how many there are (only the first `len` are stored). */
static guint
split_list (Csv *csv, const char *token, guint len)
{
  if (len == 1) {
    csv->elems[0] = token;
    return 1;
  }
  g_string_assign (csv->scratch, token);
  char *p = csv->scratch->str;
  guint n = 0;
  if (csv->list_sep == ' ') {
    for (;;) {
      while (*p == ' ' || *p == '\t')
        p++;
      if (!*p)
        break;
      char *start = p;
      while (*p && *p != ' ' && *p != '\t')
        p++;
      if (n < len)
        csv->elems[n] = start;
      n++;
      if (!*p)
        break;
      *p++ = '\0';
    }
    return n;
  }
  for (;;) {
    char *sep = strchr (p, csv->list_sep);
    if (sep)
      *sep = '\0';
    if (n < len)
      csv->elems[n] = g_strstrip (p);
    n++;
    if (!sep)
      break;
    p = sep + 1;
  }
  return n;
}

static gboolean
parse_float (const char *s, double *out)
{
  char *end = NULL;
  double v = g_ascii_strtod (s, &end);
  if (end == s || *end)
    return FALSE;
  *out = v;
  return !isinf (v);
}

/* A numeric (label_dtype=f32) label: a float that is neither infinite nor
 * NaN. Unlike a feature, whose NaN means "missing", a NaN label would only
 * reach the loss, so the row is malformed. */
static gboolean
parse_label_f32 (const char *s, double *out)
{
  return parse_float (s, out) && !isnan (*out);
}

static gboolean
parse_int (const char *s, gint64 *out)
{
  return g_ascii_string_to_signed (s, 10, G_MININT64, G_MAXINT64, out, NULL);
}

/* --- phase A: syntax of one row ----------------------------------------- */

/* NULL when the row is fine, else a message (transfer full). */
static char *
check_row (Csv *csv, const TlCsvTable *t, gint64 r)
{
  const TlCsvSchema *s = csv->schema;
  for (guint f = 0; f < s->n; f++) {
    const TlCsvColumn *c = &s->cols[f];
    if (c->type == TL_CSV_SKIP || c->type == TL_CSV_STR) {
      if (c->type == TL_CSV_STR && c->len > 1) {
        guint n = split_list (csv, _tl_priv_csv_table_get (t, r, f), c->len);
        if (n != c->len)
          return g_strdup_printf ("field '%s': expected %u values, found %u", c->name, c->len, n);
      }
      continue;
    }
    const char *tok = _tl_priv_csv_table_get (t, r, f);
    if (c->type == TL_CSV_LABEL) {
      g_autofree char *shown = _tl_priv_csv_token_display (tok);
      if (is_missing (csv, tok))
        return g_strdup_printf ("field '%s': missing label", c->name);
      double v;
      if (csv->label_f32 && !parse_label_f32 (tok, &v))
        return g_strdup_printf ("field '%s': label '%s' is not a finite number", c->name, shown);
      if (!csv->label_f32 && csv->label_values) {
        g_autofree char *norm = normalise_label (tok);
        if (!g_hash_table_contains (csv->label_values, norm))
          return g_strdup_printf ("field '%s': label '%s' is not in label_values", c->name, shown);
      }
      continue;
    }
    guint n = split_list (csv, tok, c->len);
    if (n != c->len)
      return g_strdup_printf ("field '%s': expected %u values, found %u", c->name, c->len, n);
    for (guint k = 0; k < n; k++) {
      const char *e = csv->elems[k];
      if (is_missing (csv, e))
        continue;
      double v;
      gint64 i;
      if (c->type == TL_CSV_FLOAT && !parse_float (e, &v)) {
        g_autofree char *shown = _tl_priv_csv_token_display (e);
        return g_strdup_printf ("field '%s': '%s' is not a finite number", c->name, shown);
      }
      if (c->type == TL_CSV_INT && !parse_int (e, &i)) {
        g_autofree char *shown = _tl_priv_csv_token_display (e);
        return g_strdup_printf ("field '%s': '%s' is not a 64-bit integer", c->name, shown);
      }
    }
  }
  return NULL;
}

/* Marks the rows to keep; malformed rows fail or are skipped per `bad`. */
static guint8 *
check_rows (Csv *csv, const TlCsvTable *t, TlCsvBad *bad, gint64 *n_keep, GError **error)
{
  guint8 *keep = g_malloc (MAX (t->n_records, 1));
  *n_keep = 0;
  for (gint64 r = 0; r < t->n_records; r++) {
    g_autofree char *msg = check_row (csv, t, r);
    keep[r] = msg == NULL;
    if (msg && !_tl_priv_csv_bad_row (bad, t->file, g_array_index (t->lines, gint64, r), error,
                                      "%s", msg)) {
      g_free (keep);
      return NULL;
    }
    *n_keep += keep[r];
  }
  return keep;
}

/* --- phase B: statistics from the vocabulary source ---------------------- */

typedef struct {
  const char *token;
  gint64 count;
  gint64 first;
} VocabEntry;

static gint
vocab_entry_cmp (gconstpointer a, gconstpointer b)
{
  const VocabEntry *x = a, *y = b;
  if (x->count != y->count)
    return x->count > y->count ? -1 : 1;
  return x->first < y->first ? -1 : x->first > y->first;
}

static gint
double_cmp (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static gint
str_ptr_cmp (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static void
stats_vocab (Csv *csv, const TlCsvTable *t, const guint8 *keep, guint f, ColStats *st)
{
  const TlCsvColumn *c = &csv->schema->cols[f];
  g_autoptr (GHashTable) counts = g_hash_table_new (g_str_hash, g_str_equal); /* token -> index */
  g_autoptr (GArray) entries = g_array_new (FALSE, FALSE, sizeof (VocabEntry));
  g_autoptr (GStringChunk) chunk = g_string_chunk_new (4096);
  gint64 seen = 0;
  for (gint64 r = 0; r < t->n_records; r++) {
    if (!keep[r])
      continue;
    guint n = split_list (csv, _tl_priv_csv_table_get (t, r, f), c->len);
    for (guint k = 0; k < MIN (n, c->len); k++) {
      const char *e = csv->elems[k];
      if (is_missing (csv, e))
        continue;
      gpointer idx;
      if (g_hash_table_lookup_extended (counts, e, NULL, &idx)) {
        g_array_index (entries, VocabEntry, GPOINTER_TO_UINT (idx)).count++;
      } else {
        VocabEntry ve = { g_string_chunk_insert (chunk, e), 1, seen };
        g_hash_table_insert (counts, (gpointer) ve.token, GUINT_TO_POINTER (entries->len));
        g_array_append_val (entries, ve);
      }
      seen++;
    }
  }
  g_array_sort (entries, vocab_entry_cmp);
  st->vocab = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gint64 id = 2;
  for (guint i = 0; i < entries->len; i++) {
    VocabEntry *ve = &g_array_index (entries, VocabEntry, i);
    if (ve->count < csv->min_count || (csv->max_size > 0 && id - 2 >= csv->max_size) ||
        id >= CSV_MAX_CARDINALITY)
      break;
    g_hash_table_insert (st->vocab, g_strdup (ve->token), GINT_TO_POINTER ((gint) id));
    id++;
  }
  st->cardinality = id;
}

static void
stats_numeric (Csv *csv, const TlCsvTable *t, const guint8 *keep, guint f, ColStats *st)
{
  const TlCsvColumn *c = &csv->schema->cols[f];
  g_autoptr (GArray) values = g_array_new (FALSE, FALSE, sizeof (double));
  gint64 min = G_MAXINT64, max = G_MININT64;
  for (gint64 r = 0; r < t->n_records; r++) {
    if (!keep[r])
      continue;
    guint n = split_list (csv, _tl_priv_csv_table_get (t, r, f), c->len);
    for (guint k = 0; k < MIN (n, c->len); k++) {
      const char *e = csv->elems[k];
      double v = NAN;
      gint64 i = 0;
      if (is_missing (csv, e) || (c->type == TL_CSV_FLOAT && (!parse_float (e, &v) || isnan (v)))) {
        st->has_missing = TRUE;
        continue;
      }
      if (c->type == TL_CSV_INT && parse_int (e, &i)) {
        min = MIN (min, i);
        max = MAX (max, i);
      } else if (c->quantiles) {
        g_array_append_val (values, v);
      }
    }
  }
  st->cardinality = -1;
  if (c->type == TL_CSV_INT) {
    if (min >= 0 && max < CSV_MAX_CARDINALITY && max >= min)
      st->cardinality = max + 1;
    return;
  }
  if (c->boundaries) {
    st->boundaries = c->boundaries;
  } else if (c->quantiles) {
    st->boundaries = g_array_new (FALSE, FALSE, sizeof (double));
    st->own_boundaries = TRUE;
    g_array_sort (values, double_cmp);
    for (guint k = 1; k < c->quantiles && values->len > 0; k++) {
      double b = g_array_index (values, double, (gsize) k * values->len / c->quantiles);
      if (st->boundaries->len == 0 ||
          b > g_array_index (st->boundaries, double, st->boundaries->len - 1))
        g_array_append_val (st->boundaries, b);
    }
  }
  if (st->boundaries)
    st->cardinality = st->boundaries->len + 2;
  else if (c->len != 1)
    st->has_missing = FALSE;
}

static void
stats_label (Csv *csv, const TlCsvTable *t, const guint8 *keep, guint f, ColStats *st)
{
  st->cardinality = -1;
  if (csv->label_f32)
    return;
  if (csv->label_values) {
    st->cardinality = g_hash_table_size (csv->label_values);
    return;
  }
  g_autoptr (GHashTable) set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gboolean numeric = TRUE;
  gint64 max = 0;
  for (gint64 r = 0; r < t->n_records; r++) {
    if (!keep[r])
      continue;
    char *norm = normalise_label (_tl_priv_csv_table_get (t, r, f));
    gint64 v;
    if (numeric && g_ascii_string_to_signed (norm, 10, 0, CSV_MAX_CARDINALITY - 1, &v, NULL))
      max = MAX (max, v);
    else
      numeric = FALSE;
    g_hash_table_add (set, norm);
  }
  if (numeric) {
    st->labels_numeric = TRUE;
    st->cardinality = MAX (max + 1, 2);
    return;
  }
  guint n = 0;
  g_autofree char **keys = (char **) g_hash_table_get_keys_as_array (set, &n);
  qsort (keys, n, sizeof (char *), str_ptr_cmp);
  st->labels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < n; i++)
    g_hash_table_insert (st->labels, g_strdup (keys[i]), GINT_TO_POINTER ((gint) i + 1));
  st->cardinality = MAX (n, 2);
}

/* vocab_file: lines "column<TAB>token"; ids 2, 3, ... in file order. */
static gboolean
load_vocab_file (Csv *csv, const char *path, ColStats *stats, gboolean *from_file, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) err = NULL;
  if (!g_file_get_contents (path, &data, &len, &err)) {
    g_set_error (error, TL_ERROR, TL_ERROR_NOT_FOUND, "%s", err->message);
    return FALSE;
  }
  g_autofree char *file = g_path_get_basename (path);
  if (memchr (data, '\0', len)) {
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "%s: embedded NUL byte", file);
    return FALSE;
  }
  g_auto (GStrv) lines = g_strsplit (data, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    g_strchomp (lines[i]);
    if (!*lines[i])
      continue;
    char *tab = strchr (lines[i], '\t');
    if (tab)
      *tab = '\0';
    gint f = _tl_priv_csv_schema_find (csv->schema, lines[i]);
    if (!tab || f < 0 || csv->schema->cols[f].type != TL_CSV_STR) {
      g_autofree char *shown = _tl_priv_csv_token_display (lines[i]);
      g_set_error (error, TL_ERROR, TL_ERROR_PARSE,
                   "%s:%u: expected 'column<TAB>token' with a str column, found '%s'", file, i + 1,
                   shown);
      return FALSE;
    }
    ColStats *st = &stats[f];
    if (!st->vocab) {
      st->vocab = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      st->cardinality = 2;
      from_file[f] = TRUE;
    }
    if (!g_hash_table_contains (st->vocab, tab + 1) && st->cardinality < CSV_MAX_CARDINALITY)
      g_hash_table_insert (st->vocab, g_strdup (tab + 1), GINT_TO_POINTER ((gint) st->cardinality++));
  }
  return TRUE;
}

static void
stats_clear (ColStats *st, guint n)
{
  for (guint i = 0; i < n; i++) {
    if (st[i].vocab)
      g_hash_table_unref (st[i].vocab);
    if (st[i].labels)
      g_hash_table_unref (st[i].labels);
    if (st[i].own_boundaries)
      g_array_unref (st[i].boundaries);
  }
  g_free (st);
}

/* --- phase C: conversion ------------------------------------------------- */

typedef struct {
  void *data;        /* the column's values */
  float *missing;    /* "<name>_missing" or NULL */
} OutCol;

static gint64
bucket_of (const GArray *b, double v)
{
  guint lo = 0, hi = b->len; /* number of boundaries <= v */
  while (lo < hi) {
    guint mid = (lo + hi) / 2;
    if (g_array_index (b, double, mid) <= v)
      lo = mid + 1;
    else
      hi = mid;
  }
  return 1 + (gint64) lo;
}

/* Convert row r into output row w; FALSE with *msg for an unknown label. */
static gboolean
convert_row (Csv *csv, const TlCsvTable *t, gint64 r, gint64 w, const ColStats *stats,
             OutCol *out, char **msg)
{
  const TlCsvSchema *s = csv->schema;
  for (guint f = 0; f < s->n; f++) {
    const TlCsvColumn *c = &s->cols[f];
    const ColStats *st = &stats[f];
    const char *tok = _tl_priv_csv_table_get (t, r, f);
    if (c->type == TL_CSV_SKIP)
      continue;
    if (c->type == TL_CSV_LABEL) {
      if (csv->label_f32) {
        double v = 0;
        parse_label_f32 (tok, &v);
        ((float *) out[f].data)[w] = (float) v;
        continue;
      }
      g_autofree char *norm = normalise_label (tok);
      gint64 id = -1, v;
      if (csv->label_values)
        id = GPOINTER_TO_INT (g_hash_table_lookup (csv->label_values, norm)) - 1;
      else if (st->labels_numeric)
        id = g_ascii_string_to_signed (norm, 10, 0, st->cardinality - 1, &v, NULL) ? v : -1;
      else
        id = GPOINTER_TO_INT (g_hash_table_lookup (st->labels, norm)) - 1;
      if (id < 0) {
        g_autofree char *shown = _tl_priv_csv_token_display (tok);
        *msg = g_strdup_printf ("field '%s': label '%s' does not occur in the vocabulary source",
                                c->name, shown);
        return FALSE;
      }
      ((gint64 *) out[f].data)[w] = id;
      continue;
    }
    split_list (csv, tok, c->len);
    for (guint k = 0; k < c->len; k++) {
      const char *e = csv->elems[k];
      gboolean miss = is_missing (csv, e);
      gint64 pos = w * c->len + k;
      if (c->type == TL_CSV_STR) {
        gint64 id = miss ? 1 : GPOINTER_TO_INT (g_hash_table_lookup (st->vocab, e));
        ((gint64 *) out[f].data)[pos] = id;
      } else if (c->type == TL_CSV_INT) {
        gint64 v = 0;
        if (!miss)
          parse_int (e, &v);
        if (st->cardinality > 0 && (v < 0 || v >= st->cardinality))
          v = 0;
        ((gint64 *) out[f].data)[pos] = v;
      } else {
        double v = 0;
        if (!miss && (!parse_float (e, &v) || isnan (v)))
          miss = TRUE;
        if (st->boundaries)
          ((gint64 *) out[f].data)[pos] = miss ? 0 : bucket_of (st->boundaries, v);
        else
          ((float *) out[f].data)[pos] = miss ? 0.0f : (float) v;
        if (out[f].missing)
          out[f].missing[w] = miss ? 1.0f : 0.0f;
      }
    }
  }
  return TRUE;
}

/* --- open ----------------------------------------------------------------- */

static gboolean
parse_delimiter (const char *name, const char *text, char *out, GError **error)
{
  if (g_str_equal (text, "\\t") || g_str_equal (text, "tab") || g_str_equal (text, "\t")) {
    *out = '\t';
    return TRUE;
  }
  if (g_str_equal (text, "space")) {
    *out = ' ';
    return TRUE;
  }
  if (strlen (text) != 1 || text[0] == '"' || text[0] == '\n' || text[0] == '\r') {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "tl.csv: %s must be one character (or \"tab\", \"space\"), not a quote or newline",
                 name);
    return FALSE;
  }
  *out = text[0];
  return TRUE;
}

static void
report_skipped (const TlCsvBad *bad, const char *file)
{
  if (bad->count > 0)
    g_message ("%s: skipped %" G_GINT64_FORMAT " malformed rows (first: %s)", file, bad->count,
               bad->first);
}

static TlDataset *
csv_open (const TlParams *params, GError **error)
{
  const char *path = tl_params_get_string (params, "path", "");
  const char *vocab_from = tl_params_get_string (params, "vocab_from", "");
  const char *vocab_file = tl_params_get_string (params, "vocab_file", "");
  g_autoptr (TlCsvSchema) schema = _tl_priv_csv_schema_parse (
      tl_params_get_string (params, "schema", ""), error);
  if (!schema ||
      !_tl_priv_csv_schema_set_buckets (schema, tl_params_get_string (params, "buckets", ""), error) ||
      !_tl_priv_csv_schema_set_quantiles (schema,
                                          tl_params_get_string (params, "quantile_buckets", ""),
                                          error)) {
    g_prefix_error (error, "tl.csv: ");
    return NULL;
  }

  TlCsvReadOptions ro = { 0 };
  if (!parse_delimiter ("delimiter", tl_params_get_string (params, "delimiter", ","),
                        &ro.delimiter, error))
    return NULL;
  ro.header = tl_params_get_bool (params, "header", FALSE);
  ro.trim = tl_params_get_bool (params, "trim", TRUE);
  ro.skip_rows = MAX (tl_params_get_int (params, "skip_rows", 0), 0);
  ro.comment = tl_params_get_string (params, "comment", "");
  ro.n_fields = schema->n;

  Csv csv = { 0 };
  csv.schema = schema;
  if (!parse_delimiter ("list_separator", tl_params_get_string (params, "list_separator", "space"),
                        &csv.list_sep, error))
    return NULL;
  if (csv.list_sep == ro.delimiter) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "tl.csv: list_separator must differ from the delimiter");
    return NULL;
  }
  g_auto (GStrv) missing = g_strsplit (tl_params_get_string (params, "missing_values", "?"), ",", -1);
  for (guint i = 0; missing[i]; i++)
    g_strstrip (missing[i]);
  csv.missing = missing;
  csv.min_count = tl_params_get_int (params, "min_count", 1);
  csv.max_size = tl_params_get_int (params, "max_size", 0);
  csv.label_f32 = g_strcmp0 (tl_params_get_string (params, "label_dtype", "i64"), "f32") == 0;
  const char *label_values = tl_params_get_string (params, "label_values", "");
  g_autoptr (GHashTable) lv = NULL;
  if (label_values && *label_values && !csv.label_f32) {
    lv = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    g_auto (GStrv) vals = g_strsplit (label_values, ",", -1);
    for (guint i = 0; vals[i]; i++) {
      char *norm = normalise_label (vals[i]);
      if (!*norm || g_hash_table_contains (lv, norm)) {
        g_free (norm);
        g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                     "tl.csv: label_values: empty or duplicate value at position %u", i + 1);
        return NULL;
      }
      g_hash_table_insert (lv, norm, GINT_TO_POINTER ((gint) g_hash_table_size (lv) + 1));
    }
    csv.label_values = lv;
  }
  guint max_len = 1;
  for (guint i = 0; i < schema->n; i++)
    max_len = MAX (max_len, schema->cols[i].len);
  g_autofree const char **elems = g_new0 (const char *, max_len);
  csv.elems = elems;
  g_autoptr (GString) scratch = g_string_new (NULL);
  csv.scratch = scratch;

  TlCsvBad bad = { .skip = g_strcmp0 (tl_params_get_string (params, "on_error", "fail"), "skip") == 0 };
  TlCsvBad src_bad = { .skip = bad.skip };
  TlDataset *ds = NULL;
  ColStats *stats = g_new0 (ColStats, schema->n);
  OutCol *out = g_new0 (OutCol, schema->n);
  g_autofree gboolean *from_file = g_new0 (gboolean, schema->n);
  g_autofree guint8 *keep = NULL;
  g_autofree guint8 *src_keep_own = NULL;
  g_autoptr (TlCsvTable) src_own = NULL;

  g_autoptr (TlCsvTable) t = _tl_priv_csv_table_read (path, &ro, &bad, error);
  if (!t)
    goto fail;
  gint64 n_keep = 0;
  keep = check_rows (&csv, t, &bad, &n_keep, error);
  if (!keep)
    goto fail;

  /* the vocabulary source */
  const TlCsvTable *src = t;
  const guint8 *src_keep = keep;
  if (vocab_from && *vocab_from) {
    src_own = _tl_priv_csv_table_read (vocab_from, &ro, &src_bad, error);
    gint64 n_src = 0;
    if (!src_own || !(src_keep_own = check_rows (&csv, src_own, &src_bad, &n_src, error)))
      goto fail;
    src = src_own;
    src_keep = src_keep_own;
  }
  if (vocab_file && *vocab_file && !load_vocab_file (&csv, vocab_file, stats, from_file, error))
    goto fail;
  for (guint f = 0; f < schema->n; f++) {
    switch (schema->cols[f].type) {
    case TL_CSV_STR:
      if (!from_file[f])
        stats_vocab (&csv, src, src_keep, f, &stats[f]);
      break;
    case TL_CSV_INT:
    case TL_CSV_FLOAT:
      stats_numeric (&csv, src, src_keep, f, &stats[f]);
      break;
    case TL_CSV_LABEL:
      stats_label (&csv, src, src_keep, f, &stats[f]);
      break;
    default:
      break;
    }
  }

  if (n_keep == 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "%s: no data rows", t->file);
    goto fail;
  }
  ds = _tl_priv_columns_new (n_keep);
  for (guint f = 0; f < schema->n; f++) {
    const TlCsvColumn *c = &schema->cols[f];
    gint64 len = c->len;
    guint ndim = c->len > 1 ? 1 : 0;
    TlDType dt = TL_DTYPE_I64;
    if ((c->type == TL_CSV_FLOAT && !stats[f].boundaries) || (c->type == TL_CSV_LABEL && csv.label_f32))
      dt = TL_DTYPE_F32;
    if (c->type == TL_CSV_SKIP)
      continue;
    out[f].data = _tl_priv_columns_add (ds, c->name, dt, ndim, &len, stats[f].cardinality, error);
    if (!out[f].data)
      goto fail;
    if (c->type == TL_CSV_FLOAT && c->len == 1 && !stats[f].boundaries && stats[f].has_missing) {
      g_autofree char *name = g_strdup_printf ("%s_missing", c->name);
      if (_tl_priv_csv_schema_find (schema, name) >= 0) {
        g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                     "tl.csv: schema: '%s' clashes with the missing indicator of '%s'", name,
                     c->name);
        goto fail;
      }
      out[f].missing = _tl_priv_columns_add (ds, name, TL_DTYPE_F32, 0, NULL, -1, error);
      if (!out[f].missing)
        goto fail;
    }
  }

  gint64 w = 0;
  for (gint64 r = 0; r < t->n_records; r++) {
    if (!keep[r])
      continue;
    g_autofree char *msg = NULL;
    if (convert_row (&csv, t, r, w, stats, out, &msg)) {
      w++;
      continue;
    }
    if (!_tl_priv_csv_bad_row (&bad, t->file, g_array_index (t->lines, gint64, r), error, "%s", msg))
      goto fail;
  }
  if (w == 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "%s: no data rows", t->file);
    goto fail;
  }
  _tl_priv_columns_truncate (ds, w);
  report_skipped (&src_bad, src_own ? src_own->file : t->file);
  report_skipped (&bad, t->file);
  goto out;

fail:
  _tl_priv_columns_close (ds);
  ds = NULL;
out:
  stats_clear (stats, schema->n);
  g_free (out);
  g_free (bad.first);
  g_free (src_bad.first);
  return ds;
}

/* For `tlhost conformance`: a file whose third line lacks a field. */
static gboolean
csv_make_malformed (const char *dir, char ***params, char **file, GError **error)
{
  static const char text[] = "a,b\n1,2.5\n3\n4,5\n";
  char *path = g_build_filename (dir, "malformed.csv", NULL);
  if (!_tl_priv_write_atomic (path, text, sizeof text - 1, error)) {
    g_free (path);
    return FALSE;
  }
  char **p = g_new0 (char *, 4);
  p[0] = g_strdup_printf ("path=%s", path);
  p[1] = g_strdup ("schema=a:int,b:float");
  p[2] = g_strdup ("header=true");
  *params = p;
  *file = path;
  return TRUE;
}

static const TlDatasetMalformedSample csv_malformed = {
  TL_TABLE_INIT (TlDatasetMalformedSample),
  .make = csv_make_malformed,
};

static const void *
csv_get_extension (const char *id)
{
  return g_strcmp0 (id, TL_DATASET_EXT_MALFORMED_SAMPLE) == 0 ? &csv_malformed : NULL;
}

const TlDatasetDef _tl_priv_csv_dataset = {
  TL_PRIV_COLUMNS_DATASET (csv_open),
  .get_extension = csv_get_extension,
};
