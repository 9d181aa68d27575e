/* tlhost-util.c — option parsing, errors, registry and JSON helpers for tlhost. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tlhost-util.h"

void
tlhost_error (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  fprintf (stderr, "tlhost: %s\n", msg);
}

gboolean
tlhost_parse_options (const char *cmd, const char *usage, const char *summary, GOptionEntry *entries,
                      int *argc, char ***argv)
{
  g_autofree char *prg = g_strdup_printf ("tlhost %s", cmd);
  g_set_prgname (prg);
  GOptionContext *ctx = g_option_context_new (usage && *usage ? usage : NULL);
  g_option_context_set_summary (ctx, summary);
  if (entries)
    g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) err = NULL;
  gboolean ok = g_option_context_parse (ctx, argc, argv, &err);
  if (!ok) {
    /* GOption quotes the user's argument: keep the line short and clean */
    g_autofree char *msg = _tl_escape_short (err->message);
    tlhost_error ("%s: %s (try `tlhost %s --help`)", cmd, msg, cmd);
  }
  g_option_context_free (ctx);
  return ok;
}

TlRegistry *
tlhost_open_registry (gboolean quiet)
{
  g_autoptr (GError) err = NULL;
  TlRegistry *r = tl_registry_new (NULL, &err);
  if (!r) {
    tlhost_error ("%s", err->message);
    return NULL;
  }
  if (!quiet)
    for (const char *const *w = tl_registry_warnings (r); w && *w; w++)
      fprintf (stderr, "tlhost: warning: %s\n", *w);
  return r;
}

void
tlhost_json_string (GString *out, const char *s)
{
  if (!s) {
    g_string_append (out, "null");
    return;
  }
  g_string_append_c (out, '"');
  for (const unsigned char *c = (const unsigned char *) s; *c; c++) {
    switch (*c) {
    case '"':
      g_string_append (out, "\\\"");
      break;
    case '\\':
      g_string_append (out, "\\\\");
      break;
    case '\n':
      g_string_append (out, "\\n");
      break;
    case '\t':
      g_string_append (out, "\\t");
      break;
    case '\r':
      g_string_append (out, "\\r");
      break;
    default:
      if (*c < 0x20)
        g_string_append_printf (out, "\\u%04x", *c);
      else
        g_string_append_c (out, (char) *c);
    }
  }
  g_string_append_c (out, '"');
}

void
tlhost_json_key (GString *out, const char *key)
{
  if (out->len && out->str[out->len - 1] != '{')
    g_string_append (out, ", ");
  tlhost_json_string (out, key);
  g_string_append (out, ": ");
}

void
tlhost_json_member (GString *out, const char *key, const char *value)
{
  tlhost_json_key (out, key);
  tlhost_json_string (out, value);
}

void
tlhost_json_strv (GString *out, const char *const *v)
{
  if (!v) {
    g_string_append (out, "null");
    return;
  }
  g_string_append_c (out, '[');
  for (guint i = 0; v[i]; i++) {
    if (i)
      g_string_append (out, ", ");
    tlhost_json_string (out, v[i]);
  }
  g_string_append_c (out, ']');
}

void
tlhost_print_status (const TlPluginInfo *p)
{
  printf ("%s", tl_plugin_status_name (tl_plugin_info_status (p)));
  if (tl_plugin_info_skip_reason (p))
    printf (": %s", tl_plugin_info_skip_reason (p));
  printf ("\n");
}
