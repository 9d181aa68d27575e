/* tl-plugin-scanner — probe one plugin in a throw-away process.
 *
 *   tl-plugin-scanner MANIFEST
 *
 * Prints one line on its original stdout: "ok" or "skip: REASON". Whatever
 * the plugin itself prints goes to stderr. A crash or hang is noticed by the
 * registry (probe.c), which runs this program with a timeout. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <tl/tl.h>

/* exported by libtl-1 for this program only (registry/registry-private.h) */
TL_API gboolean _tl_registry_probe_manifest (const char *path, GError **error);

int
main (int argc, char **argv)
{
  if (argc != 2 || argv[1][0] == '-') {
    fprintf (stderr, "usage: tl-plugin-scanner MANIFEST\n");
    return 2;
  }
  fflush (stdout);
  int verdict_fd = dup (STDOUT_FILENO);
  if (verdict_fd < 0 || dup2 (STDERR_FILENO, STDOUT_FILENO) < 0) {
    perror ("tl-plugin-scanner");
    return 1;
  }
  GError *error = NULL;
  gboolean ok = _tl_registry_probe_manifest (argv[1], &error);
  fflush (stdout);
  g_autofree char *line = NULL;
  if (ok) {
    line = g_strdup ("ok\n");
  } else {
    char *msg = g_strdup (error ? error->message : "unknown error");
    g_strdelimit (msg, "\r\n", ' ');
    line = g_strdup_printf ("skip: %s\n", msg);
    g_free (msg);
  }
  g_clear_error (&error);
  gsize len = strlen (line), off = 0;
  while (off < len) {
    ssize_t n = write (verdict_fd, line + off, len - off);
    if (n <= 0)
      return 1;
    off += (gsize) n;
  }
  close (verdict_fd);
  return 0;
}
