/* cmd-run.c — `tlhost run [--set P=V]... [--overlay F]... [--output-dir D]
 * [--overwrite] [--quiet] [--metrics FILE] [--allow ID,...] JOB.xml`.
 *
 * Validates first (exit 2 with every problem), then runs the job. Progress:
 * on a terminal one line redrawn in place (phase, bar, step/total, steps/s,
 * ETA, latest metrics); otherwise plain lines every ~10% or 10 seconds.
 * --quiet prints only errors and the final metrics. --metrics writes one
 * JSON line per step and evaluation. Ctrl-C stops after the current step
 * (written checkpoints stay); a second Ctrl-C kills. Under mpirun a SIGINT
 * to one rank stops every rank after the same training step. */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <tl/tl.h>

#include "tlhost-cmds.h"
#include "cmd-job.h"
#include "tlhost-util.h"

#define PLAIN_EVERY_SECONDS 10.0
#define TTY_REDRAW_SECONDS 0.1
#define BAR_WIDTH 24

typedef struct {
  gboolean tty;
  gboolean quiet;
  FILE *metrics;       /* nullable */
  char *phase;
  gint64 total;
  gint64 step;
  gint64 first_step;   /* step count at begin (for the rate) */
  gint64 next_report;  /* plain mode: next step to print at */
  double t0;
  double last_draw;
  gboolean bar_shown;
  char *last_metrics;
} RunProgress;

static TlJob *volatile running_job;

static void
on_sigint (int sig)
{
  (void) sig;
  if (running_job)
    tl_job_cancel (running_job);
  /* a second Ctrl-C terminates */
  signal (SIGINT, SIG_DFL);
}

static double
now (void)
{
  return (double) g_get_monotonic_time () / 1e6;
}

static void
clear_bar (RunProgress *p)
{
  if (p->tty && p->bar_shown) {
    fputs ("\r\033[K", stderr);
    p->bar_shown = FALSE;
  }
}

static void
format_eta (char *buf, gsize n, double secs)
{
  if (secs < 0 || secs > 360000) {
    g_strlcpy (buf, "--:--", n);
    return;
  }
  guint s = (guint) (secs + 0.5);
  if (s >= 3600)
    g_snprintf (buf, n, "%u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
  else
    g_snprintf (buf, n, "%u:%02u", s / 60, s % 60);
}

static void
draw (RunProgress *p, gboolean force)
{
  double t = now ();
  if (!force && t - p->last_draw < TTY_REDRAW_SECONDS)
    return;
  p->last_draw = t;
  double elapsed = t - p->t0;
  double rate = elapsed > 0 ? (double) (p->step - p->first_step) / elapsed : 0;
  char eta[32];
  format_eta (eta, sizeof eta, (p->total > 0 && rate > 0) ? (double) (p->total - p->step) / rate : -1);
  g_autoptr (GString) line = g_string_new (NULL);
  g_string_append_printf (line, "%-9s ", p->phase ? p->phase : "");
  if (p->total > 0) {
    guint filled = (guint) (BAR_WIDTH * CLAMP ((double) p->step / (double) p->total, 0.0, 1.0));
    g_string_append_c (line, '[');
    for (guint i = 0; i < BAR_WIDTH; i++)
      g_string_append_c (line, i < filled ? '#' : '-');
    g_string_append_printf (line, "] %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT, p->step, p->total);
  } else {
    g_string_append_printf (line, "step %" G_GINT64_FORMAT, p->step);
  }
  g_string_append_printf (line, " %.1f steps/s ETA %s", rate, eta);
  if (p->last_metrics)
    g_string_append_printf (line, " %s", p->last_metrics);
  if (p->tty) {
    /* one terminal line, or the redraw in place breaks */
    struct winsize ws;
    gsize width = ioctl (STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10 ? ws.ws_col : 80;
    if (line->len >= width)
      g_string_truncate (line, width - 1);
    fprintf (stderr, "\r\033[K%s", line->str);
    p->bar_shown = TRUE;
  } else {
    fprintf (stderr, "%s\n", line->str);
  }
  fflush (stderr);
}

static void
pr_begin (gpointer data, const char *phase, gint64 total)
{
  RunProgress *p = data;
  g_free (p->phase);
  p->phase = g_strdup (phase);
  p->total = total;
  p->step = 0;
  p->first_step = 0;
  p->t0 = now ();
  p->last_draw = 0;
  p->next_report = total > 0 ? MAX (1, total / 10) : 0;
  g_clear_pointer (&p->last_metrics, g_free);
  if (!p->quiet && !p->tty)
    fprintf (stderr, "%s: started%s\n", phase, total > 0 ? "" : " (unknown length)");
}

static void
pr_step (gpointer data, gint64 step, const TlMetrics *metrics)
{
  RunProgress *p = data;
  if (p->step == 0 && step > 1)
    p->first_step = step - 1; /* resumed run */
  p->step = step;
  if (metrics && metrics->n > 0) {
    g_free (p->last_metrics);
    p->last_metrics = tl_metrics_to_string (metrics);
    if (p->metrics) {
      g_autofree char *json = tl_metrics_to_json (metrics, step, p->phase ? p->phase : "");
      fprintf (p->metrics, "%s\n", json);
    }
  }
  if (p->quiet)
    return;
  if (p->tty) {
    draw (p, FALSE);
    return;
  }
  gboolean due = now () - p->last_draw >= PLAIN_EVERY_SECONDS;
  if (p->total > 0 && step >= p->next_report) {
    due = TRUE;
    while (p->next_report <= step)
      p->next_report += MAX (1, p->total / 10);
  }
  if (due)
    draw (p, TRUE);
}

static void
pr_eval (gpointer data, gint64 step, const TlMetrics *metrics)
{
  RunProgress *p = data;
  g_autofree char *s = metrics ? tl_metrics_to_string (metrics) : g_strdup ("");
  if (p->metrics && metrics) {
    g_autofree char *json = tl_metrics_to_json (metrics, step, "eval");
    fprintf (p->metrics, "%s\n", json);
    fflush (p->metrics);
  }
  if (p->quiet)
    return;
  clear_bar (p);
  fprintf (stderr, "eval @ step %" G_GINT64_FORMAT ": %s\n", step, s);
  if (p->tty)
    draw (p, TRUE);
}

static void
pr_end (gpointer data, const char *phase)
{
  RunProgress *p = data;
  if (p->metrics)
    fflush (p->metrics);
  if (p->quiet)
    return;
  if (p->tty) {
    draw (p, TRUE);
    fputc ('\n', stderr);
    p->bar_shown = FALSE;
  } else {
    fprintf (stderr, "%s: done (%" G_GINT64_FORMAT " steps in %.1f s)%s%s\n", phase, p->step,
             now () - p->t0, p->last_metrics ? " " : "", p->last_metrics ? p->last_metrics : "");
  }
}

static void
pr_message (gpointer data, const char *text)
{
  RunProgress *p = data;
  if (p->quiet)
    return;
  clear_bar (p);
  fprintf (stderr, "%s\n", text);
  if (p->tty && p->phase && p->step > 0)
    draw (p, TRUE);
}

int
tlhost_cmd_run (int argc, char **argv)
{
  g_auto (GStrv) overlays = NULL;
  g_auto (GStrv) sets = NULL;
  g_auto (GStrv) allow = NULL;
  g_autofree char *output_dir = NULL;
  g_autofree char *metrics_path = NULL;
  gboolean quiet = FALSE;
  gboolean overwrite = FALSE;
  GOptionEntry entries[] = {
    { "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &sets, "Set ID.PARAM=VALUE or taskN.ATTR=VALUE (repeatable)",
      "P=V" },
    { "overlay", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &overlays, "Apply an overlay (repeatable)", "FILE" },
    { "output-dir", 'o', 0, G_OPTION_ARG_FILENAME, &output_dir, "Output directory (default ./out/<job name>)",
      "DIR" },
    { "overwrite", 0, 0, G_OPTION_ARG_NONE, &overwrite,
      "Replace the checkpoints an earlier run left in the output directory", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print only errors and the final metrics", NULL },
    { "metrics", 0, 0, G_OPTION_ARG_FILENAME, &metrics_path, "Write JSON lines of metrics per step", "FILE" },
    { "allow", 0, 0, G_OPTION_ARG_STRING_ARRAY, &allow, "Allow only these plugins (comma-separated)", "IDS" },
    { NULL }
  };
  setlocale (LC_ALL, "");
  if (!tlhost_parse_options ("run", "JOB.xml",
                             "Validate a job, then run its tasks. Outputs go to ./out/<job name> "
                             "(--output-dir); checkpoints of an earlier run there are kept unless "
                             "--overwrite. Ctrl-C stops after the current step.",
                             entries, &argc, &argv))
    return 2;
  g_autoptr (GError) error = NULL;
  if (argc != 2) {
    tlhost_error ("run: expected one JOB.xml, got %d arguments (usage: tlhost run [--set P=V]... "
                  "[--overlay F]... [--output-dir D] [--overwrite] [--quiet] [--metrics FILE] [--allow ID,...] "
                  "JOB.xml)",
                  argc - 1);
    return 2;
  }

  if ((output_dir && !*output_dir) || (metrics_path && !*metrics_path)) {
    gboolean dir = output_dir && !*output_dir;
    tlhost_error ("run: %s, got an empty one",
                  dir ? "--output-dir needs a directory name" : "--metrics needs a file name");
    return 2;
  }

  TlJob *job = NULL;
  TlRegistry *reg = NULL;
  int status = tlhost_job_prepare (argv[1], overlays, sets, allow, quiet, &job, &reg);
  if (status != 0)
    return status;

  /* Under mpirun the ranks train data-parallel (tl-comm.h): rank 0 alone
   * reports and writes --metrics. */
  TlComm *comm = tl_comm_get_default (&error);
  if (!comm) {
    tlhost_error ("run: %s", error->message);
    tl_job_free (job);
    tl_registry_free (reg);
    return 1;
  }
  const gboolean root = tl_comm_rank (comm) == 0;
  if (!root) {
    quiet = TRUE;
    g_clear_pointer (&metrics_path, g_free);
  }
  RunProgress rp = { .tty = isatty (STDERR_FILENO) && g_strcmp0 (g_getenv ("TERM"), "dumb") != 0,
                     .quiet = quiet };
  if (metrics_path) {
    rp.metrics = fopen (metrics_path, "w");
    if (!rp.metrics) {
      int e = errno;
      g_autofree char *shown = _tl_escape_short (metrics_path);
      if (tl_comm_size (comm) > 1) {
        g_autofree char *msg = g_strdup_printf ("run: --metrics %s: %s", shown, g_strerror (e));
        tl_comm_abort (comm, 1, msg);
      }
      tlhost_error ("run: --metrics %s: %s", shown, g_strerror (e));
      tl_job_free (job);
      tl_registry_free (reg);
      return 1;
    }
  }
  TlProgress progress = { .begin = pr_begin, .step = pr_step, .eval = pr_eval, .end = pr_end,
                          .message = pr_message, .user_data = &rp };
  TlJobRunOptions opts;
  tl_job_run_options_init (&opts);
  opts.output_dir = output_dir;
  opts.quiet = quiet;
  opts.keep_checkpoints = !overwrite;

  running_job = job;
  struct sigaction sa = { 0 }, old_sa;
  sa.sa_handler = on_sigint;
  sigemptyset (&sa.sa_mask);
  sigaction (SIGINT, &sa, &old_sa);

  gboolean ok = tl_job_run (job, reg, &opts, &progress, &error);

  sigaction (SIGINT, &old_sa, NULL);
  running_job = NULL;
  clear_bar (&rp);
  if (rp.metrics && fclose (rp.metrics) != 0) {
    tlhost_error ("run: %s: %s", metrics_path, g_strerror (errno));
    ok = FALSE;
  }

  /* the final metrics of a job that failed would read as its result */
  const TlMetrics *final = tl_job_final_metrics (job);
  if (ok && root && final && final->n > 0) {
    g_autofree char *s = tl_metrics_to_string (final);
    printf ("final: %s\n", s);
  }
  if (!ok) {
    if (g_error_matches (error, TL_ERROR, TL_ERROR_CANCELLED)) {
      status = 130;
      /* how far it got and how to go on (tl_job_run) */
      if (root)
        fprintf (stderr, "%s\n", error->message);
      /* Under mpirun a stop inside training is agreed (tl_train carries it
       * in its per-step allreduce): every rank returns TL_ERROR_CANCELLED
       * after the same step, rank 0 once it has written last.safetensors,
       * and exits normally; aborting would only risk killing rank 0 while
       * it writes. A stop elsewhere (between tasks, in an evaluate task)
       * is this rank's alone: its peers go on and could wait for it in a
       * collective until TL_COMM_TIMEOUT, so it ends the job. */
      if (tl_comm_size (comm) > 1 && !tl_train_stop_was_agreed ()) {
        g_autofree char *msg = g_strdup_printf ("run: interrupted (%s); ending every rank",
                                                error->message);
        tl_comm_abort (comm, status, msg);
      }
    } else {
      status = 1;
      /* one rank failing must not leave the others waiting for it */
      if (tl_comm_size (comm) > 1)
        tl_comm_abort (comm, status, error ? error->message : "tlhost run: failed");
      fprintf (stderr, "%s\n", error ? error->message : "tlhost run: failed");
    }
  } else if (!quiet) {
    fprintf (stderr, "outputs in %s\n", tl_job_output_dir (job));
  }
  g_free (rp.phase);
  g_free (rp.last_metrics);
  tl_job_free (job);
  tl_registry_free (reg);
  return status;
}
