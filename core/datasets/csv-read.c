/* csv-read.c — RFC 4180 record reader for "tl.csv".
 *
 * Fields are separated by a one-byte delimiter; records end at LF or CRLF.
 * A field that starts with '"' (after blanks when trimming) is quoted: it
 * may hold delimiters and line breaks, and "" stands for one quote. Blank
 * lines are ignored. Malformed records (wrong field count, an unterminated
 * quote, text after a closing quote, a NUL byte) are reported through
 * TlCsvBad with the line the record starts on. Files may be
 * gzip-compressed. Works on bytes: any input,
 * including invalid UTF-8 and very long lines, is handled without crashing.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <zlib.h>

#include "csv.h"

char *
_tl_priv_csv_token_display (const char *token)
{
  return _tl_priv_escape_cut (token, 40);
}

gboolean
_tl_priv_csv_bad_row (TlCsvBad *bad, const char *file, gint64 line, GError **error,
                      const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (!bad->skip) {
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "%s:%" G_GINT64_FORMAT ": %s", file, line, msg);
    return FALSE;
  }
  if (bad->count++ == 0)
    bad->first = g_strdup_printf ("%s:%" G_GINT64_FORMAT ": %s", file, line, msg);
  return TRUE;
}

void
_tl_priv_csv_table_free (TlCsvTable *t)
{
  if (!t)
    return;
  g_free (t->file);
  if (t->text)
    g_string_free (t->text, TRUE);
  if (t->offsets)
    g_array_unref (t->offsets);
  if (t->lines)
    g_array_unref (t->lines);
  g_free (t);
}

typedef struct {
  const char *p;   /* data */
  gsize len;
  gsize pos;
  gint64 line;     /* current physical line, 1-based */
} Cursor;

static inline gboolean
is_blank (const TlCsvReadOptions *o, char c)
{
  return (c == ' ' || c == '\t') && c != o->delimiter;
}

/* Move past the end of the current physical line. */
static void
skip_line (Cursor *c)
{
  const char *nl = memchr (c->p + c->pos, '\n', c->len - c->pos);
  c->pos = nl ? (gsize) (nl - c->p) + 1 : c->len;
  c->line++;
}

/* Parse one record into t->text (fields NUL-terminated) and `fields`
 * (offsets). Returns NULL on success, or a static/constant reason when the
 * record is malformed (the cursor then sits past the record). */
static const char *
parse_record (Cursor *c, const TlCsvReadOptions *o, GString *text, GArray *fields, gboolean *blank)
{
  const char *reason = NULL;
  *blank = FALSE;
  for (;;) {
    gsize start = text->len;
    gboolean quoted = FALSE;
    if (o->trim)
      while (c->pos < c->len && is_blank (o, c->p[c->pos]))
        c->pos++;
    if (c->pos < c->len && c->p[c->pos] == '"') {
      quoted = TRUE;
      c->pos++;
      gboolean closed = FALSE;
      while (c->pos < c->len) {
        const char *q = memchr (c->p + c->pos, '"', c->len - c->pos);
        gsize stop = q ? (gsize) (q - c->p) : c->len;
        for (gsize i = c->pos; i < stop; i++)
          if (c->p[i] == '\n')
            c->line++;
        g_string_append_len (text, c->p + c->pos, (gssize) (stop - c->pos));
        c->pos = stop;
        if (!q)
          break;
        if (c->pos + 1 < c->len && c->p[c->pos + 1] == '"') {
          g_string_append_c (text, '"');
          c->pos += 2;
          continue;
        }
        c->pos++;
        closed = TRUE;
        break;
      }
      if (!closed)
        return "unterminated quoted field";
      if (o->trim)
        while (c->pos < c->len && is_blank (o, c->p[c->pos]))
          c->pos++;
      if (c->pos < c->len && c->p[c->pos] != o->delimiter && c->p[c->pos] != '\n' &&
          !(c->p[c->pos] == '\r' && c->pos + 1 < c->len && c->p[c->pos + 1] == '\n') &&
          !(c->p[c->pos] == '\r' && c->pos + 1 == c->len)) {
        reason = "unexpected text after a closing quote";
        skip_line (c);
        return reason;
      }
    } else {
      gsize i = c->pos;
      while (i < c->len && c->p[i] != o->delimiter && c->p[i] != '\n')
        i++;
      gsize end = i;
      if (end > c->pos && c->p[end - 1] == '\r' && (end == c->len || c->p[end] == '\n'))
        end--;
      if (o->trim)
        while (end > c->pos && is_blank (o, c->p[end - 1]))
          end--;
      g_string_append_len (text, c->p + c->pos, (gssize) (end - c->pos));
      c->pos = i;
    }
    if (memchr (text->str + start, '\0', text->len - start))
      reason = "embedded NUL byte";
    g_string_append_c (text, '\0');
    gsize off = start;
    g_array_append_val (fields, off);

    if (c->pos < c->len && c->p[c->pos] == o->delimiter) {
      c->pos++;
      continue;
    }
    /* end of record */
    if (c->pos < c->len && c->p[c->pos] == '\r')
      c->pos++;
    if (c->pos < c->len && c->p[c->pos] == '\n')
      c->pos++;
    c->line++;
    *blank = fields->len == 1 && !quoted && text->str[start] == '\0';
    return reason;
  }
}

TlCsvTable *
_tl_priv_csv_table_parse (const char *file, const char *data, gsize len,
                          const TlCsvReadOptions *o, TlCsvBad *bad, GError **error)
{
  g_autoptr (TlCsvTable) t = g_new0 (TlCsvTable, 1);
  t->file = g_strdup (file);
  t->text = g_string_sized_new (len + 1);
  t->offsets = g_array_new (FALSE, FALSE, sizeof (gsize));
  t->lines = g_array_new (FALSE, FALSE, sizeof (gint64));
  t->n_fields = o->n_fields;

  Cursor c = { data, len, 0, 1 };
  gsize comment_len = o->comment ? strlen (o->comment) : 0;
  for (gint64 i = 0; i < o->skip_rows && c.pos < c.len; i++)
    skip_line (&c);
  gboolean header_pending = o->header;
  g_autoptr (GArray) fields = g_array_new (FALSE, FALSE, sizeof (gsize));

  while (c.pos < c.len) {
    gint64 line = c.line;
    if (comment_len && c.len - c.pos >= comment_len &&
        memcmp (c.p + c.pos, o->comment, comment_len) == 0) {
      skip_line (&c);
      continue;
    }
    gsize text_start = t->text->len;
    gboolean blank = FALSE;
    g_array_set_size (fields, 0);
    const char *reason = parse_record (&c, o, t->text, fields, &blank);
    if (!reason && blank) {
      g_string_truncate (t->text, text_start);
      continue;
    }
    if (!reason && header_pending) {
      header_pending = FALSE;
      g_string_truncate (t->text, text_start);
      continue;
    }
    header_pending = FALSE;
    if (reason || fields->len != o->n_fields) {
      g_string_truncate (t->text, text_start);
      gboolean go_on = reason
          ? _tl_priv_csv_bad_row (bad, file, line, error, "%s", reason)
          : _tl_priv_csv_bad_row (bad, file, line, error, "expected %u fields, found %u",
                                  o->n_fields, fields->len);
      if (!go_on)
        return NULL;
      continue;
    }
    g_array_append_vals (t->offsets, fields->data, fields->len);
    g_array_append_val (t->lines, line);
    t->n_records++;
  }
  return g_steal_pointer (&t);
}

/* Whole file, gzip-compressed or not (zlib reads plain files as they are). */
static GByteArray *
read_file (const char *path, GError **error)
{
  errno = 0;
  gzFile gz = gzopen (path, "rb");
  if (!gz) {
    int e = errno;
    g_set_error (error, TL_ERROR, e == ENOENT ? TL_ERROR_NOT_FOUND : TL_ERROR_IO,
                 "%s: cannot open: %s", path, e ? g_strerror (e) : "out of memory");
    return NULL;
  }
  GByteArray *buf = g_byte_array_new ();
  guint8 chunk[1 << 16];
  for (;;) {
    int n = gzread (gz, chunk, sizeof chunk);
    if (n < 0) {
      int errnum = 0;
      const char *msg = gzerror (gz, &errnum);
      g_set_error (error, TL_ERROR, errnum == Z_ERRNO ? TL_ERROR_IO : TL_ERROR_PARSE, "%s: %s",
                   path, errnum == Z_ERRNO ? g_strerror (errno) : msg);
      g_byte_array_unref (buf);
      gzclose (gz);
      return NULL;
    }
    if (n == 0)
      break;
    if ((guint64) buf->len + (guint64) n >= G_MAXUINT) {
      g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY, "%s: larger than 4 GiB (uncompressed)",
                   path);
      g_byte_array_unref (buf);
      gzclose (gz);
      return NULL;
    }
    g_byte_array_append (buf, chunk, (guint) n);
  }
  gzclose (gz);
  return buf;
}

/**
 * _tl_priv_csv_table_read:
 * @path: file to read (plain or gzip-compressed)
 * @opts: how to split it
 * @bad: malformed-row policy and counters
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the records, or NULL with TL_ERROR_NOT_FOUND /
 *   TL_ERROR_IO for an unreadable file, TL_ERROR_PARSE for a malformed row
 *   when not skipping.
 */
TlCsvTable *
_tl_priv_csv_table_read (const char *path, const TlCsvReadOptions *opts, TlCsvBad *bad,
                         GError **error)
{
  GByteArray *data = read_file (path, error);
  if (!data)
    return NULL;
  g_autofree char *file = g_path_get_basename (path);
  TlCsvTable *t = _tl_priv_csv_table_parse (file, (const char *) data->data, data->len, opts, bad,
                                            error);
  g_byte_array_unref (data);
  return t;
}
