/* cmd-validate.c — `tlhost validate JOB.xml [--overlay F]... [--set P=V]...`:
 * check a job against the installed plugins without running anything.
 * Exit 0 and "JOB.xml: ok" ("JOB.xml (+ OVERLAY.xml, --set P=V): ok" with
 * overlays and assignments), or 2 and every problem, one per line. */
#include "config.h"

#include <stdio.h>
#include <locale.h>
#include <tl/tl.h>

#include "tlhost-cmds.h"
#include "cmd-job.h"
#include "tlhost-util.h"

static void
print_error (const GError *error)
{
  /* One problem per line; each already starts with FILE:LINE. */
  fprintf (stderr, "%s\n", error->message);
}

int
tlhost_job_prepare (const char *path, char **overlays, char **sets, char **allow, gboolean quiet,
                    TlJob **job_out, TlRegistry **reg_out)
{
  g_autoptr (GError) error = NULL;
  *job_out = NULL;
  *reg_out = NULL;
  TlJob *job = tl_job_load (path, &error);
  if (!job) {
    print_error (error);
    return error->code == TL_ERROR_IO ? 1 : 2;
  }
  /* an overlay or --set that fails is reported and the job is still
   * validated: every problem at once */
  int status = 0;
  for (guint i = 0; overlays && overlays[i]; i++) {
    g_autoptr (GError) e = NULL;
    if (!tl_job_apply_overlay (job, overlays[i], &e)) {
      print_error (e);
      status = 2;
    }
  }
  for (guint i = 0; sets && sets[i]; i++) {
    g_autoptr (GError) e = NULL;
    if (!tl_job_apply_set (job, sets[i], &e)) {
      print_error (e);
      status = 2;
    }
  }
  for (guint i = 0; allow && allow[i]; i++) {
    g_auto (GStrv) ids = g_strsplit_set (allow[i], ",:", -1);
    for (guint k = 0; ids[k]; k++)
      if (*g_strstrip (ids[k]))
        tl_job_add_allow (job, ids[k]);
  }
  TlRegistry *reg = tlhost_open_registry (quiet);
  if (!reg) {
    tl_job_free (job);
    return 1;
  }
  if (!tl_job_validate (job, reg, &error)) {
    print_error (error);
    status = 2;
  }
  if (status != 0) {
    tl_job_free (job);
    tl_registry_free (reg);
    return status;
  }
  *job_out = job;
  *reg_out = reg;
  return 0;
}

int
tlhost_cmd_validate (int argc, char **argv)
{
  g_auto (GStrv) overlays = NULL;
  g_auto (GStrv) sets = NULL;
  g_auto (GStrv) allow = NULL;
  GOptionEntry entries[] = {
    { "overlay", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &overlays, "Apply an overlay (repeatable)", "FILE" },
    { "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &sets, "Set ID.PARAM=VALUE or taskN.ATTR=VALUE (repeatable)",
      "P=V" },
    { "allow", 0, 0, G_OPTION_ARG_STRING_ARRAY, &allow, "Allow only these plugins (comma-separated)", "IDS" },
    { NULL }
  };
  setlocale (LC_ALL, "");
  if (!tlhost_parse_options ("validate", "JOB.xml",
                             "Check a job (and its overlays and --set assignments) against the plugin "
                             "manifests without running anything. Exit 0 when valid, 2 with every problem.",
                             entries, &argc, &argv))
    return 2;
  if (argc != 2) {
    tlhost_error ("validate: expected one JOB.xml, got %d arguments (usage: tlhost validate "
                  "[--overlay F]... [--set P=V]... [--allow ID,...] JOB.xml)", argc - 1);
    return 2;
  }
  TlJob *job = NULL;
  TlRegistry *reg = NULL;
  int status = tlhost_job_prepare (argv[1], overlays, sets, allow, FALSE, &job, &reg);
  if (status == 0) {
    /* name what was checked: the job and what was applied to it */
    g_autoptr (GString) with = g_string_new (NULL);
    for (guint i = 0; overlays && overlays[i]; i++) {
      g_autofree char *shown = _tl_escape_short (overlays[i]);
      g_string_append_printf (with, "%s%s", with->len ? ", " : "", shown);
    }
    for (guint i = 0; sets && sets[i]; i++) {
      g_autofree char *shown = _tl_escape_short (sets[i]);
      g_string_append_printf (with, "%s--set %s", with->len ? ", " : "", shown);
    }
    if (with->len)
      printf ("%s (+ %s): ok\n", argv[1], with->str);
    else
      printf ("%s: ok\n", argv[1]);
  }
  tl_job_free (job);
  tl_registry_free (reg);
  return status;
}
