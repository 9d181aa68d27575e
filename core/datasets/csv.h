/* csv.h — internals of "tl.csv": the column schema (csv-schema.c), the
 * RFC 4180 record reader (csv-read.c) and malformed-row bookkeeping.
 */
#ifndef TL_DATASETS_CSV_H
#define TL_DATASETS_CSV_H

#include "tl-private.h"

G_BEGIN_DECLS

/* --- schema: "name:type:len,..." (EasyTransfer style) -------------------- */

typedef enum {
  TL_CSV_INT = 1, /* integers -> i64 */
  TL_CSV_FLOAT,   /* numbers -> f32, or a bucket id when bucketed */
  TL_CSV_STR,     /* categorical -> i64 vocabulary id */
  TL_CSV_LABEL,   /* class -> i64 id, or f32 with label_dtype=f32 */
  TL_CSV_SKIP     /* column ignored */
} TlCsvType;

typedef struct {
  char *name;
  TlCsvType type;
  guint len;           /* values per row (> 1: a list split by list_separator) */
  GArray *boundaries;  /* (float, len 1) double, increasing; NULL: not bucketed */
  guint quantiles;     /* (float, len 1) quantile bucket count; 0: none */
} TlCsvColumn;

typedef struct {
  guint n;
  TlCsvColumn *cols;
} TlCsvSchema;

G_GNUC_INTERNAL TlCsvSchema *_tl_priv_csv_schema_parse (const char *text, GError **error);
G_GNUC_INTERNAL void _tl_priv_csv_schema_free (TlCsvSchema *s);
G_GNUC_INTERNAL gint _tl_priv_csv_schema_find (const TlCsvSchema *s, const char *name);
/* "age=25,35,45;hours=20,40": explicit bucket boundaries per float column. */
G_GNUC_INTERNAL gboolean _tl_priv_csv_schema_set_buckets (TlCsvSchema *s, const char *spec,
                                                          GError **error);
/* "fnlwgt=8;capital_gain=4", or a bare count for every plain float column. */
G_GNUC_INTERNAL gboolean _tl_priv_csv_schema_set_quantiles (TlCsvSchema *s, const char *spec,
                                                            GError **error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TlCsvSchema, _tl_priv_csv_schema_free)

/* --- malformed rows ----------------------------------------------------- */

typedef struct {
  gboolean skip;  /* on_error=skip: count and go on; else fail */
  gint64 count;
  char *first;    /* "file:line: message" of the first skipped row */
} TlCsvBad;

/* Report a malformed row. Returns TRUE when the row is to be skipped,
 * FALSE with *error set ("FILE:LINE: message", TL_ERROR_PARSE) otherwise. */
G_GNUC_INTERNAL gboolean _tl_priv_csv_bad_row (TlCsvBad *bad, const char *file, gint64 line,
                                               GError **error, const char *fmt, ...)
  G_GNUC_PRINTF (5, 6);
/* A token for messages: at most 40 bytes, escaped (safe for any bytes). (transfer full) */
G_GNUC_INTERNAL char *_tl_priv_csv_token_display (const char *token);

/* --- records ------------------------------------------------------------ */

typedef struct {
  char delimiter;       /* one byte */
  gboolean header;      /* drop the first record */
  gboolean trim;        /* strip blanks around unquoted and quoted fields */
  gint64 skip_rows;     /* physical lines dropped at the start */
  const char *comment;  /* lines starting with it are dropped ("" or NULL: none) */
  guint n_fields;       /* fields every record must have */
} TlCsvReadOptions;

typedef struct {
  char *file;           /* base name, for messages */
  GString *text;        /* every kept field, NUL-terminated */
  GArray *offsets;      /* gsize: field f of record r at offsets[r * n_fields + f] */
  GArray *lines;        /* gint64: first line of each record */
  guint n_fields;
  gint64 n_records;
} TlCsvTable;

/* Read and split a whole file; malformed records go through `bad`. */
G_GNUC_INTERNAL TlCsvTable *_tl_priv_csv_table_read (const char *path, const TlCsvReadOptions *opts,
                                                     TlCsvBad *bad, GError **error);
/* Same on a buffer (for tests and in-memory data); `file` names it. */
G_GNUC_INTERNAL TlCsvTable *_tl_priv_csv_table_parse (const char *file, const char *data, gsize len,
                                                      const TlCsvReadOptions *opts, TlCsvBad *bad,
                                                      GError **error);
G_GNUC_INTERNAL void _tl_priv_csv_table_free (TlCsvTable *t);
static inline const char *
_tl_priv_csv_table_get (const TlCsvTable *t, gint64 r, guint f)
{
  return t->text->str + g_array_index (t->offsets, gsize, (gsize) r * t->n_fields + f);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TlCsvTable, _tl_priv_csv_table_free)

G_END_DECLS

#endif /* TL_DATASETS_CSV_H */
