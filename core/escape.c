/* escape.c — text from files and users, made safe to quote in a one-line
 * error message: control characters escaped, long values cut. Every reader
 * of files (XML, JSON, safetensors, CSV, ...) and tlhost use it. */
#include "config.h"

#include "tl-private.h"

/* Escape control characters and bytes that are not UTF-8 of `str`; stop
 * once `max` bytes of it are taken (a character is never split) and append
 * "..." when there is more. */
static char *
escape_controls (const char *str, gsize max)
{
  GString *s = g_string_new (NULL);
  const char *p = str ? str : "", *start = p;
  while (*p && (gsize) (p - start) < max) {
    unsigned char c = (unsigned char) *p;
    if (c >= 0x80) {
      gunichar u = g_utf8_get_char_validated (p, -1);
      if (u == (gunichar) -1 || u == (gunichar) -2) {
        g_string_append_printf (s, "\\x%02x", c);
        p++;
      } else {
        const char *next = g_utf8_next_char (p);
        g_string_append_len (s, p, next - p);
        p = next;
      }
      continue;
    }
    if (c == '\n')
      g_string_append (s, "\\n");
    else if (c == '\r')
      g_string_append (s, "\\r");
    else if (c == '\t')
      g_string_append (s, "\\t");
    else if (c < 0x20 || c == 0x7f)
      g_string_append_printf (s, "\\x%02x", c);
    else
      g_string_append_c (s, (char) c);
    p++;
  }
  if (*p)
    g_string_append (s, "...");
  return g_string_free (s, FALSE);
}

/**
 * _tl_priv_escape_controls:
 * @str: (nullable): text from a file
 *
 * Returns: (transfer full): @str with control characters, DEL and bytes
 * that are not UTF-8 escaped (\n, \r, \t, \xHH), for one-line, valid
 * UTF-8 error messages.
 */
char *
_tl_priv_escape_controls (const char *str)
{
  return escape_controls (str, G_MAXSIZE);
}

/**
 * _tl_priv_escape_short:
 * @str: (nullable): a name or value from a file
 *
 * Like _tl_priv_escape_controls(), and at most %TL_MESSAGE_QUOTE_MAX bytes
 * of @str are kept (then "..."): a hostile file cannot make a huge message.
 *
 * Returns: (transfer full): the text to quote in a message.
 */
char *
_tl_priv_escape_short (const char *str)
{
  return escape_controls (str, TL_MESSAGE_QUOTE_MAX);
}

/**
 * _tl_priv_escape_cut:
 * @str: (nullable): text from a file
 * @max: how many bytes of @str to keep at most
 *
 * Like _tl_priv_escape_short() with another length (CSV tokens: 40).
 *
 * Returns: (transfer full): the text to quote in a message.
 */
char *
_tl_priv_escape_cut (const char *str, gsize max)
{
  return escape_controls (str, max);
}

/* Exported for tlhost alone (declared again in hosts/tlhost-util.h), like
 * _tl_registry_probe_manifest for the scanner: not part of the SDK. */
TL_API char *_tl_escape_short (const char *str);

/**
 * _tl_escape_short:
 * @str: (nullable): text given by a user (a command-line argument)
 *
 * _tl_priv_escape_short() for tlhost's own messages.
 *
 * Returns: (transfer full): the text to quote in a message.
 */
char *
_tl_escape_short (const char *str)
{
  return _tl_priv_escape_short (str);
}
