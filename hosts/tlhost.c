/* tlhost — the tl host program: run jobs, list and inspect plugins.
 *
 *   tlhost COMMAND [OPTIONS] [ARGS]
 *
 * Errors are one line "tlhost: ..."; exit status 0 success, 1 failure,
 * 2 invalid input or usage. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <tl/tl.h>

#include "tlhost-cmds.h"
#include "tlhost-util.h"

typedef struct {
  const char *name;
  int (*fn) (int argc, char **argv);
  const char *summary;
} Command;

static const Command commands[] = {
  { "run", tlhost_cmd_run, "run a job manifest (train, evaluate, predict, ...)" },
  { "validate", tlhost_cmd_validate, "check a job manifest without running it" },
  { "list", tlhost_cmd_list, "list plugins and their components" },
  { "inspect", tlhost_cmd_inspect, "describe a plugin or a component and its parameters" },
  { "conformance", tlhost_cmd_conformance, "run the conformance suite on a plugin" },
  { "version", tlhost_cmd_version, "print versions, ABI and features" },
};

static void
usage (FILE *to)
{
  fprintf (to, "Usage:\n  tlhost COMMAND [OPTION...] [ARG...]\n\nCommands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (to, "  %-12s %s\n", commands[i].name, commands[i].summary);
  fprintf (to, "\nHelp Options:\n  -h, --help   Show help options\n\n"
               "Run `tlhost COMMAND --help` for the options of a command.\n");
}

/* One clean line per message: "tlhost: warning: ..."; debug/info only when
 * G_MESSAGES_DEBUG asks for them. */
static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data G_GNUC_UNUSED)
{
  if (g_log_writer_default_would_drop (level, NULL)) {
    const char *domain = NULL;
    for (gsize i = 0; i < n_fields; i++)
      if (strcmp (fields[i].key, "GLIB_DOMAIN") == 0)
        domain = fields[i].value;
    if (g_log_writer_default_would_drop (level, domain))
      return G_LOG_WRITER_HANDLED;
  }
  const char *msg = "";
  for (gsize i = 0; i < n_fields; i++)
    if (strcmp (fields[i].key, "MESSAGE") == 0 && fields[i].length < 0)
      msg = fields[i].value;
  const char *what = (level & G_LOG_LEVEL_ERROR) ? "error: "
                     : (level & G_LOG_LEVEL_CRITICAL) ? "critical: "
                     : (level & G_LOG_LEVEL_WARNING) ? "warning: "
                     : (level & G_LOG_LEVEL_DEBUG) ? "debug: " : "";
  g_autofree char *one = g_strdup (msg);
  g_strdelimit (one, "\n", ' ');
  fprintf (stderr, "tlhost: %s%s\n", what, one);
  return G_LOG_WRITER_HANDLED;
}

int
main (int argc, char **argv)
{
  g_log_set_writer_func (log_writer, NULL, NULL);
  g_set_prgname ("tlhost");
  /* Past a file-size limit (ulimit -f) a write fails with EFBIG, which the
   * atomic writes report with the file's name (keeping the old file),
   * instead of SIGXFSZ killing tlhost without a word. */
#ifdef SIGXFSZ
  signal (SIGXFSZ, SIG_IGN);
#endif
  if (argc < 2) {
    usage (stderr);
    return 2;
  }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "help") == 0) {
    usage (stdout);
    return 0;
  }
  if (strcmp (argv[1], "--version") == 0)
    return tlhost_cmd_version (1, argv + 1);
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].fn (argc - 1, argv + 1);
  g_autofree char *shown = _tl_escape_short (argv[1]);
  fprintf (stderr, "tlhost: unknown command '%s' (try `tlhost --help`)\n", shown);
  return 2;
}
