/* crosses.c — explicit cross features: parsing "a+b,c+d+e", reading the
 * read-out file of fives.fives, and the cross id of each row in a graph. */
#include <string.h>

#include "fives-private.h"

/**
 * fives_cross_free:
 * @c: (nullable): a cross
 *
 * Frees @c and its field names.
 */
void
fives_cross_free (FivesCross *c)
{
  if (!c)
    return;
  for (guint i = 0; i < c->order; i++)
    g_free (c->names[i]);
  g_free (c);
}

static FivesCross *
parse_one (const char *spec, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (spec, "+", -1);
  guint n = g_strv_length (parts);
  if (n < 2 || n >= G_N_ELEMENTS (((FivesCross *) NULL)->names)) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "cross '%s': expected 2 to 7 field names joined by '+'", spec);
    return NULL;
  }
  FivesCross *c = g_new0 (FivesCross, 1);
  c->order = n;
  for (guint i = 0; i < n; i++) {
    c->names[i] = g_strstrip (g_strdup (parts[i]));
    if (!*c->names[i]) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "cross '%s': empty field name", spec);
      fives_cross_free (c);
      return NULL;
    }
  }
  return c;
}

/**
 * fives_crosses_parse:
 * @text: comma-separated crosses, each field names joined by '+'
 * @error: return location for a #GError
 *
 * Returns: (transfer full): FivesCross* (names set, indices not), or NULL.
 */
GPtrArray *
fives_crosses_parse (const char *text, GError **error)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) fives_cross_free);
  if (!text)
    return out;
  g_auto (GStrv) items = g_strsplit (text, ",", -1);
  for (guint i = 0; items[i]; i++) {
    g_strstrip (items[i]);
    if (!*items[i])
      continue;
    FivesCross *c = parse_one (items[i], error);
    if (!c) {
      g_ptr_array_unref (out);
      return NULL;
    }
    g_ptr_array_add (out, c);
  }
  return out;
}

/**
 * fives_crosses_load:
 * @path: a file: the TSV written by the fives.fives export (header
 *   "order<TAB>fields<TAB>..."), or one "a+b" per line; '#' starts a comment
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the crosses, or NULL with "FILE:LINE: ..." errors.
 */
GPtrArray *
fives_crosses_load (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, error))
    return NULL;
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) fives_cross_free);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    char *line = g_strstrip (lines[i]);
    if (!*line || *line == '#' || g_str_has_prefix (line, "order\t"))
      continue;
    g_auto (GStrv) cols = g_strsplit (line, "\t", -1);
    const char *spec = g_strv_length (cols) >= 2 ? cols[1] : cols[0];
    GError *local = NULL;
    GPtrArray *some = fives_crosses_parse (spec, &local);
    if (!some) {
      g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "%s:%u: %s", path, i + 1, local->message);
      g_error_free (local);
      g_ptr_array_unref (out);
      return NULL;
    }
    for (guint k = 0; k < some->len; k++)
      g_ptr_array_add (out, some->pdata[k]);
    g_ptr_array_set_free_func (some, NULL);
    g_ptr_array_unref (some);
  }
  return out;
}

/**
 * fives_cross_index:
 * @b: the build context
 * @c: a cross (names)
 * @cardinality: (out): number of cross ids
 * @error: return location for a #GError
 *
 * The mixed-radix id x_a * card_b + x_b (...) of each row, computed exactly
 * in f32 (ids below 2^24) and cast to i64.
 *
 * Returns: (transfer none): [batch] i64, or NULL with @error set.
 */
TlValue *
fives_cross_index (TlBuild *b, const FivesCross *c, gint64 *cardinality, GError **error)
{
  TlGraph *g = tl_build_graph (b);
  gint64 batch = tl_build_batch_size (b);
  TlValue *acc = NULL;
  gint64 card = 1;
  for (guint i = 0; i < c->order; i++) {
    gint64 ci = tl_build_field_cardinality (b, c->names[i]);
    const TlTensorDesc *d = tl_build_field_desc (b, c->names[i]);
    if (ci <= 0 || !d || d->ndim != 0) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "cross field '%s' is not a categorical scalar field of the dataset", c->names[i]);
      return NULL;
    }
    card *= ci;
    if (card >= (1 << 24)) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "cross of %u fields has too many values (>= 2^24)", c->order);
      return NULL;
    }
    TlValue *x = tl_reshape (g, tl_cast (g, tl_build_input (b, c->names[i]), TL_DTYPE_F32), 1, &batch);
    acc = acc ? tl_add (g, tl_scale (g, acc, (double) ci, 0.0), x) : x;
  }
  *cardinality = card;
  return tl_cast (g, acc, TL_DTYPE_I64);
}
