/* tlhost-util.h — helpers shared by tlhost's subcommands. */
#ifndef TLHOST_UTIL_H
#define TLHOST_UTIL_H

#include <glib.h>
#include <tl/tl.h>
#include <tl/tl-registry.h>

/* Parse a subcommand's options; prints "tlhost: ..." and returns FALSE on
 * bad usage. `usage` is e.g. "NAME". --help prints and exits 0. */
gboolean tlhost_parse_options (const char *cmd, const char *usage, const char *summary,
                               GOptionEntry *entries, int *argc, char ***argv);
/* A user's argument as quoted in a message: control characters escaped,
 * cut after 200 bytes. Exported by libtl-1 for tlhost only (core/xml.c).
 * (transfer full) */
TL_API char *_tl_escape_short (const char *str);
/* Print "tlhost: MSG" on stderr. */
void tlhost_error (const char *fmt, ...) G_GNUC_PRINTF (1, 2);
/* A registry over the default search path; prints its warnings to stderr
 * unless quiet. NULL after printing the error. */
TlRegistry *tlhost_open_registry (gboolean quiet);
/* Append s as a JSON string literal (with quotes; NULL -> null). */
void tlhost_json_string (GString *out, const char *s);
/* Append `"KEY": ` to the object being written in out, after ", " unless
 * it is the object's first member (out ends with '{'). */
void tlhost_json_key (GString *out, const char *key);
/* tlhost_json_key(), then value as by tlhost_json_string(). */
void tlhost_json_member (GString *out, const char *key, const char *value);
/* Append v as a JSON array of strings (NULL -> null). */
void tlhost_json_strv (GString *out, const char *const *v);
/* Print the plugin's status, ": SKIP_REASON" when it has one, and a newline. */
void tlhost_print_status (const TlPluginInfo *p);

#endif
