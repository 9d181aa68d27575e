/* csv-schema.c — the column schema of "tl.csv".
 *
 * EasyTransfer style: comma-separated "name:type[:len]" entries, one per
 * column of the file in order. Types: int, float, str, label, skip; len
 * (default 1, at most 65536) > 1 makes a fixed-length list whose values are
 * split by the list separator. Names are [A-Za-z0-9_.-]+ and unique.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "csv.h"

static const struct {
  const char *name;
  TlCsvType type;
} csv_types[] = {
  { "int", TL_CSV_INT },     { "float", TL_CSV_FLOAT }, { "str", TL_CSV_STR },
  { "label", TL_CSV_LABEL }, { "skip", TL_CSV_SKIP },
};

static gboolean
valid_name (const char *s)
{
  if (!*s)
    return FALSE;
  for (; *s; s++)
    if (!g_ascii_isalnum (*s) && *s != '_' && *s != '.' && *s != '-')
      return FALSE;
  return TRUE;
}

/**
 * _tl_priv_csv_schema_free:
 * @s: (nullable): a schema
 *
 * Frees @s. NULL-safe.
 */
void
_tl_priv_csv_schema_free (TlCsvSchema *s)
{
  if (!s)
    return;
  for (guint i = 0; i < s->n; i++) {
    g_free (s->cols[i].name);
    if (s->cols[i].boundaries)
      g_array_unref (s->cols[i].boundaries);
  }
  g_free (s->cols);
  g_free (s);
}

/**
 * _tl_priv_csv_schema_parse:
 * @text: "name:type[:len],..."
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the schema, or NULL with
 *   TL_ERROR_INVALID_ARGUMENT naming the bad entry.
 */
TlCsvSchema *
_tl_priv_csv_schema_parse (const char *text, GError **error)
{
  g_auto (GStrv) entries = g_strsplit (text ? text : "", ",", -1);
  guint n = g_strv_length (entries);
  g_autoptr (TlCsvSchema) s = g_new0 (TlCsvSchema, 1);
  s->cols = g_new0 (TlCsvColumn, MAX (n, 1));

  for (guint i = 0; i < n; i++) {
    g_autofree char *entry = g_strstrip (g_strdup (entries[i]));
    g_auto (GStrv) parts = g_strsplit (entry, ":", -1);
    guint np = g_strv_length (parts);
    g_autofree char *shown = _tl_priv_csv_token_display (entry);
    if (np < 2 || np > 3) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "schema: entry %u '%s': expected name:type[:len]", i + 1, shown);
      return NULL;
    }
    g_strstrip (parts[0]);
    g_strstrip (parts[1]);
    if (!valid_name (parts[0])) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "schema: entry %u '%s': invalid name (letters, digits, '_', '.', '-')", i + 1,
                   shown);
      return NULL;
    }
    TlCsvType type = 0;
    for (guint k = 0; k < G_N_ELEMENTS (csv_types); k++)
      if (g_str_equal (parts[1], csv_types[k].name))
        type = csv_types[k].type;
    if (!type) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "schema: entry %u '%s': unknown type (int, float, str, label, skip)", i + 1,
                   shown);
      return NULL;
    }
    guint64 len = 1;
    if (np == 3 && !g_ascii_string_to_unsigned (g_strstrip (parts[2]), 10, 1, 65536, &len, NULL)) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "schema: entry %u '%s': len must be an integer from 1 to 65536", i + 1, shown);
      return NULL;
    }
    if (type == TL_CSV_LABEL && len != 1) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "schema: entry %u '%s': a label has len 1", i + 1, shown);
      return NULL;
    }
    if (type != TL_CSV_SKIP && _tl_priv_csv_schema_find (s, parts[0]) >= 0) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "schema: entry %u: duplicate name '%s'", i + 1, parts[0]);
      return NULL;
    }
    TlCsvColumn *c = &s->cols[s->n++];
    c->name = g_strdup (parts[0]);
    c->type = type;
    c->len = (guint) len;
  }
  if (s->n == 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "schema: empty (expected name:type[:len],...)");
    return NULL;
  }
  return g_steal_pointer (&s);
}

gint
_tl_priv_csv_schema_find (const TlCsvSchema *s, const char *name)
{
  for (guint i = 0; i < s->n; i++)
    if (s->cols[i].type != TL_CSV_SKIP && g_str_equal (s->cols[i].name, name))
      return (gint) i;
  return -1;
}

/* Split "a=x;b=y" and resolve each column; calls fn on each (column, value). */
typedef gboolean (*SpecFunc) (TlCsvColumn *c, const char *value, const char *what, GError **error);

static gboolean
for_each_spec (TlCsvSchema *s, const char *spec, const char *what, SpecFunc fn, GError **error)
{
  g_auto (GStrv) items = g_strsplit (spec ? spec : "", ";", -1);
  for (guint i = 0; items[i]; i++) {
    g_autofree char *item = g_strstrip (g_strdup (items[i]));
    if (!*item)
      continue;
    char *eq = strchr (item, '=');
    if (!eq) {
      g_autofree char *shown = _tl_priv_csv_token_display (item);
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "%s: '%s': expected column=values",
                   what, shown);
      return FALSE;
    }
    *eq = '\0';
    g_strstrip (item);
    gint k = _tl_priv_csv_schema_find (s, item);
    if (k < 0 || s->cols[k].type != TL_CSV_FLOAT || s->cols[k].len != 1) {
      g_autofree char *shown = _tl_priv_csv_token_display (item);
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "%s: '%s' is not a float column of len 1 in the schema", what, shown);
      return FALSE;
    }
    if (s->cols[k].boundaries || s->cols[k].quantiles) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "%s: column '%s' is bucketed twice", what, s->cols[k].name);
      return FALSE;
    }
    if (!fn (&s->cols[k], eq + 1, what, error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
set_boundaries (TlCsvColumn *c, const char *value, const char *what, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (value, ",", -1);
  GArray *b = g_array_new (FALSE, FALSE, sizeof (double));
  for (guint i = 0; parts[i]; i++) {
    char *end = NULL;
    g_strstrip (parts[i]);
    double v = g_ascii_strtod (parts[i], &end);
    if (!*parts[i] || *end || !isfinite (v) ||
        (b->len > 0 && !(v > g_array_index (b, double, b->len - 1)))) {
      g_array_unref (b);
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "%s: column '%s': boundaries must be increasing finite numbers", what, c->name);
      return FALSE;
    }
    g_array_append_val (b, v);
  }
  if (b->len == 0) {
    g_array_unref (b);
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "%s: column '%s': no boundaries",
                 what, c->name);
    return FALSE;
  }
  c->boundaries = b;
  return TRUE;
}

static gboolean
set_quantiles (TlCsvColumn *c, const char *value, const char *what, GError **error)
{
  guint64 k = 0;
  g_autofree char *v = g_strstrip (g_strdup (value));
  if (!g_ascii_string_to_unsigned (v, 10, 2, 65536, &k, NULL)) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "%s: column '%s': the bucket count must be an integer from 2 to 65536", what,
                 c->name);
    return FALSE;
  }
  c->quantiles = (guint) k;
  return TRUE;
}

gboolean
_tl_priv_csv_schema_set_buckets (TlCsvSchema *s, const char *spec, GError **error)
{
  return for_each_spec (s, spec, "buckets", set_boundaries, error);
}

gboolean
_tl_priv_csv_schema_set_quantiles (TlCsvSchema *s, const char *spec, GError **error)
{
  g_autofree char *v = g_strstrip (g_strdup (spec ? spec : ""));
  if (*v && !strchr (v, '=')) {
    /* a bare count: every float column of len 1 not bucketed explicitly */
    for (guint i = 0; i < s->n; i++) {
      TlCsvColumn *c = &s->cols[i];
      if (c->type == TL_CSV_FLOAT && c->len == 1 && !c->boundaries &&
          !set_quantiles (c, v, "quantile_buckets", error))
        return FALSE;
    }
    return TRUE;
  }
  return for_each_spec (s, v, "quantile_buckets", set_quantiles, error);
}
