/* json-mini.c — a small hardened JSON reader for safetensors headers. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tl-private.h"
#include "json-mini.h"

#define JSON_MAX_DEPTH 64

typedef struct {
  const char *s;
  gsize len;
  gsize pos;
  GError **error;
} Parser;

static gboolean
fail (Parser *p, const char *what)
{
  g_set_error (p->error, TL_ERROR, TL_ERROR_PARSE, "offset %" G_GSIZE_FORMAT ": %s", p->pos, what);
  return FALSE;
}

static void
skip_ws (Parser *p)
{
  while (p->pos < p->len) {
    char c = p->s[p->pos];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
      p->pos++;
    else
      break;
  }
}

void
_tl_priv_json_free (TlJson *j)
{
  if (!j)
    return;
  for (guint i = 0; i < j->n; i++) {
    _tl_priv_json_free (j->items[i]);
    if (j->keys)
      g_free (j->keys[i]);
  }
  g_free (j->items);
  g_free (j->keys);
  g_free (j->str);
  g_free (j);
}

const TlJson *
_tl_priv_json_member (const TlJson *obj, const char *key)
{
  if (!obj || obj->type != TL_JSON_OBJECT)
    return NULL;
  for (guint i = 0; i < obj->n; i++)
    if (strcmp (obj->keys[i], key) == 0)
      return obj->items[i];
  return NULL;
}

static int
hex_val (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static gboolean
parse_hex4 (Parser *p, guint32 *out)
{
  if (p->len - p->pos < 4)
    return fail (p, "truncated \\u escape");
  guint32 v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hex_val (p->s[p->pos + i]);
    if (h < 0)
      return fail (p, "bad \\u escape");
    v = v * 16 + (guint32) h;
  }
  p->pos += 4;
  *out = v;
  return TRUE;
}

/* Parses a string starting at the opening quote; returns a new string. */
static char *
parse_string (Parser *p)
{
  p->pos++; /* '"' */
  GString *out = g_string_new (NULL);
  while (TRUE) {
    if (p->pos >= p->len) {
      fail (p, "unterminated string");
      goto error;
    }
    unsigned char c = (unsigned char) p->s[p->pos];
    if (c == '"') {
      p->pos++;
      break;
    }
    if (c < 0x20) {
      fail (p, "control character in string");
      goto error;
    }
    if (c == '\\') {
      p->pos++;
      if (p->pos >= p->len) {
        fail (p, "unterminated string");
        goto error;
      }
      char e = p->s[p->pos++];
      switch (e) {
        case '"': g_string_append_c (out, '"'); break;
        case '\\': g_string_append_c (out, '\\'); break;
        case '/': g_string_append_c (out, '/'); break;
        case 'b': g_string_append_c (out, '\b'); break;
        case 'f': g_string_append_c (out, '\f'); break;
        case 'n': g_string_append_c (out, '\n'); break;
        case 'r': g_string_append_c (out, '\r'); break;
        case 't': g_string_append_c (out, '\t'); break;
        case 'u': {
          guint32 cp;
          if (!parse_hex4 (p, &cp))
            goto error;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            guint32 lo;
            if (p->len - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
              fail (p, "unpaired surrogate in \\u escape");
              goto error;
            }
            p->pos += 2;
            if (!parse_hex4 (p, &lo))
              goto error;
            if (lo < 0xDC00 || lo > 0xDFFF) {
              fail (p, "unpaired surrogate in \\u escape");
              goto error;
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail (p, "unpaired surrogate in \\u escape");
            goto error;
          }
          if (cp == 0) {
            fail (p, "NUL character in string");
            goto error;
          }
          g_string_append_unichar (out, cp);
          break;
        }
        default:
          p->pos--;
          fail (p, "bad escape in string");
          goto error;
      }
      continue;
    }
    /* Copy a run of plain bytes; UTF-8 is validated at the end. */
    gsize start = p->pos;
    while (p->pos < p->len) {
      unsigned char d = (unsigned char) p->s[p->pos];
      if (d == '"' || d == '\\' || d < 0x20)
        break;
      p->pos++;
    }
    g_string_append_len (out, p->s + start, (gssize) (p->pos - start));
  }
  if (!g_utf8_validate (out->str, (gssize) out->len, NULL)) {
    fail (p, "string is not valid UTF-8");
    goto error;
  }
  return g_string_free (out, FALSE);
error:
  g_string_free (out, TRUE);
  return NULL;
}

static TlJson *parse_value (Parser *p, int depth);

static gboolean
parse_number (Parser *p, TlJson *j)
{
  gsize start = p->pos;
  gboolean neg = FALSE, integral = TRUE;
  if (p->s[p->pos] == '-') {
    neg = TRUE;
    p->pos++;
  }
  if (p->pos >= p->len || !g_ascii_isdigit (p->s[p->pos]))
    return fail (p, "bad number");
  if (p->s[p->pos] == '0' && p->pos + 1 < p->len && g_ascii_isdigit (p->s[p->pos + 1]))
    return fail (p, "leading zero in number");
  while (p->pos < p->len && g_ascii_isdigit (p->s[p->pos]))
    p->pos++;
  if (p->pos < p->len && p->s[p->pos] == '.') {
    integral = FALSE;
    p->pos++;
    if (p->pos >= p->len || !g_ascii_isdigit (p->s[p->pos]))
      return fail (p, "bad number");
    while (p->pos < p->len && g_ascii_isdigit (p->s[p->pos]))
      p->pos++;
  }
  if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
    integral = FALSE;
    p->pos++;
    if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
      p->pos++;
    if (p->pos >= p->len || !g_ascii_isdigit (p->s[p->pos]))
      return fail (p, "bad number");
    while (p->pos < p->len && g_ascii_isdigit (p->s[p->pos]))
      p->pos++;
  }
  gsize n = p->pos - start;
  if (n > 64)
    return fail (p, "number too long");
  char buf[72];
  memcpy (buf, p->s + start, n);
  buf[n] = '\0';
  j->type = TL_JSON_NUMBER;
  j->number = g_ascii_strtod (buf, NULL);
  if (integral && !neg) {
    guint64 v = 0;
    gboolean overflow = FALSE;
    for (gsize i = 0; i < n; i++) {
      guint d = (guint) (buf[i] - '0');
      if (v > (G_MAXUINT64 - d) / 10) {
        overflow = TRUE;
        break;
      }
      v = v * 10 + d;
    }
    j->is_uint = !overflow;
    j->uint = overflow ? 0 : v;
  }
  return TRUE;
}

static gboolean
expect_word (Parser *p, const char *w)
{
  gsize n = strlen (w);
  if (p->len - p->pos < n || memcmp (p->s + p->pos, w, n) != 0)
    return fail (p, "unexpected token");
  p->pos += n;
  return TRUE;
}

static TlJson *
parse_container (Parser *p, int depth, gboolean object)
{
  TlJson *j = g_new0 (TlJson, 1);
  j->type = object ? TL_JSON_OBJECT : TL_JSON_ARRAY;
  GPtrArray *items = g_ptr_array_new ();
  GPtrArray *keys = object ? g_ptr_array_new () : NULL;
  GHashTable *seen = object ? g_hash_table_new (g_str_hash, g_str_equal) : NULL;
  char close = object ? '}' : ']';
  p->pos++;
  skip_ws (p);
  if (p->pos < p->len && p->s[p->pos] == close) {
    p->pos++;
    goto done;
  }
  while (TRUE) {
    char *key = NULL;
    skip_ws (p);
    if (object) {
      if (p->pos >= p->len || p->s[p->pos] != '"') {
        fail (p, "expected a string key");
        goto error;
      }
      key = parse_string (p);
      if (!key)
        goto error;
      if (g_hash_table_contains (seen, key)) {
        g_autofree char *ekey = _tl_priv_escape_short (key);
        g_autofree char *msg = g_strdup_printf ("duplicate key \"%s\"", ekey);
        g_free (key);
        fail (p, msg);
        goto error;
      }
      g_ptr_array_add (keys, key);
      g_hash_table_add (seen, key);
      skip_ws (p);
      if (p->pos >= p->len || p->s[p->pos] != ':') {
        fail (p, "expected ':'");
        goto error;
      }
      p->pos++;
    }
    TlJson *v = parse_value (p, depth + 1);
    if (!v)
      goto error;
    g_ptr_array_add (items, v);
    if (items->len > (1u << 24)) {
      fail (p, "too many elements");
      goto error;
    }
    skip_ws (p);
    if (p->pos >= p->len) {
      fail (p, object ? "unterminated object" : "unterminated array");
      goto error;
    }
    if (p->s[p->pos] == ',') {
      p->pos++;
      continue;
    }
    if (p->s[p->pos] == close) {
      p->pos++;
      break;
    }
    fail (p, object ? "expected ',' or '}'" : "expected ',' or ']'");
    goto error;
  }
done:
  j->n = items->len;
  j->items = (TlJson **) g_ptr_array_free (items, FALSE);
  if (object) {
    j->keys = (char **) g_ptr_array_free (keys, FALSE);
    g_hash_table_destroy (seen);
  }
  return j;
error:
  for (guint i = 0; i < items->len; i++)
    _tl_priv_json_free (items->pdata[i]);
  g_ptr_array_free (items, TRUE);
  if (object) {
    g_ptr_array_set_free_func (keys, g_free);
    g_ptr_array_free (keys, TRUE);
    g_hash_table_destroy (seen);
  }
  g_free (j);
  return NULL;
}

static TlJson *
parse_value (Parser *p, int depth)
{
  if (depth > JSON_MAX_DEPTH) {
    fail (p, "nesting too deep");
    return NULL;
  }
  skip_ws (p);
  if (p->pos >= p->len) {
    fail (p, "unexpected end of input");
    return NULL;
  }
  char c = p->s[p->pos];
  if (c == '{' || c == '[')
    return parse_container (p, depth, c == '{');
  TlJson *j = g_new0 (TlJson, 1);
  gboolean ok;
  if (c == '"') {
    j->type = TL_JSON_STRING;
    j->str = parse_string (p);
    ok = j->str != NULL;
  } else if (c == 't') {
    j->type = TL_JSON_BOOL;
    j->boolean = TRUE;
    ok = expect_word (p, "true");
  } else if (c == 'f') {
    j->type = TL_JSON_BOOL;
    ok = expect_word (p, "false");
  } else if (c == 'n') {
    j->type = TL_JSON_NULL;
    ok = expect_word (p, "null");
  } else if (c == '-' || g_ascii_isdigit (c)) {
    ok = parse_number (p, j);
  } else {
    ok = fail (p, "unexpected character");
  }
  if (!ok) {
    _tl_priv_json_free (j);
    return NULL;
  }
  return j;
}

/**
 * _tl_priv_json_parse:
 * @text: JSON text (need not be NUL-terminated)
 * @len: its length in bytes
 *
 * Returns: (transfer full): the tree, or NULL with a TL_ERROR_PARSE error
 * "offset N: ...". Trailing whitespace is allowed, anything else is not.
 */
TlJson *
_tl_priv_json_parse (const char *text, gsize len, GError **error)
{
  Parser p = {text, len, 0, error};
  TlJson *j = parse_value (&p, 0);
  if (!j)
    return NULL;
  skip_ws (&p);
  if (p.pos != p.len) {
    fail (&p, "trailing characters after the JSON value");
    _tl_priv_json_free (j);
    return NULL;
  }
  return j;
}

void
_tl_priv_json_append_string (GString *s, const char *str)
{
  g_string_append_c (s, '"');
  for (const unsigned char *p = (const unsigned char *) (str ? str : ""); *p; p++) {
    switch (*p) {
    case '"': g_string_append (s, "\\\""); break;
    case '\\': g_string_append (s, "\\\\"); break;
    case '\n': g_string_append (s, "\\n"); break;
    case '\r': g_string_append (s, "\\r"); break;
    case '\t': g_string_append (s, "\\t"); break;
    default:
      if (*p < 0x20)
        g_string_append_printf (s, "\\u%04x", *p);
      else
        g_string_append_c (s, (char) *p);
      break;
    }
  }
  g_string_append_c (s, '"');
}

void
_tl_priv_json_append_double (GString *s, double v)
{
  if (!isfinite (v)) {
    g_string_append (s, "null");
    return;
  }
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_dtostr (buf, sizeof buf, v);
  g_string_append (s, buf);
}
