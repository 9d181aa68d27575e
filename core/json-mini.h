/* json-mini.h — a small hardened JSON reader (internal to libtl-1).
 *
 * Parses a complete JSON text into a tree. Limits: nesting depth 64, no
 * duplicate object keys, strings must be valid UTF-8 without raw control
 * characters. Non-negative integers are also kept exactly as guint64.
 * Errors say "offset N: ..." (callers prefix the file name).
 */
#ifndef TL_JSON_MINI_H
#define TL_JSON_MINI_H

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  TL_JSON_NULL = 0,
  TL_JSON_BOOL,
  TL_JSON_NUMBER,
  TL_JSON_STRING,
  TL_JSON_ARRAY,
  TL_JSON_OBJECT
} TlJsonType;

typedef struct _TlJson TlJson;
struct _TlJson {
  TlJsonType type;
  gboolean boolean;
  double number;
  gboolean is_uint; /* number is a non-negative integer that fits guint64 */
  guint64 uint;
  char *str;      /* TL_JSON_STRING (NUL-terminated; may contain no NUL) */
  guint n;        /* array/object size */
  TlJson **items; /* array elements / object values */
  char **keys;    /* object keys (in file order) */
};

/* Writers: append a JSON string literal (escaped, quoted; NULL as "") or a
 * number (shortest round-trip form; NaN and infinities as null). */
G_GNUC_INTERNAL void _tl_priv_json_append_string (GString *s, const char *str);
G_GNUC_INTERNAL void _tl_priv_json_append_double (GString *s, double v);

G_GNUC_INTERNAL TlJson *_tl_priv_json_parse (const char *text, gsize len, GError **error);
G_GNUC_INTERNAL void _tl_priv_json_free (TlJson *j);
/* Member of an object, NULL when missing or not an object. */
G_GNUC_INTERNAL const TlJson *_tl_priv_json_member (const TlJson *obj, const char *key);

G_END_DECLS

#endif /* TL_JSON_MINI_H */
