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
/* Print "tlhost: MSG" on stderr. */
void tlhost_error (const char *fmt, ...) G_GNUC_PRINTF (1, 2);
/* A registry over the default search path; prints its warnings to stderr
 * unless quiet. NULL after printing the error. */
TlRegistry *tlhost_open_registry (gboolean quiet);
/* Append s as a JSON string literal (with quotes; NULL -> null). */
void tlhost_json_string (GString *out, const char *s);

#endif
