/* probe.c — run tl-plugin-scanner on a plugin in a child process with a
 * timeout, so a crashing or hanging plugin cannot take the host down. */
#define _GNU_SOURCE 1
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tl-private.h"
#include "registry-private.h"

/**
 * _tl_priv_uninstalled:
 *
 * Returns: TRUE when this libtl-1 was loaded from its build tree (so the
 * build tree's plugins/ and tl-plugin-scanner are the ones to use).
 */
gboolean
_tl_priv_uninstalled (void)
{
  static gsize once = 0;
  static gboolean result = FALSE;
  if (g_once_init_enter (&once)) {
    Dl_info info;
    if (dladdr ((void *) _tl_priv_uninstalled, &info) && info.dli_fname) {
      g_autofree char *real = g_canonicalize_filename (info.dli_fname, NULL);
      g_autofree char *root = g_canonicalize_filename (TL_BUILDDIR, NULL);
      gsize n = strlen (root);
      result = strncmp (real, root, n) == 0 && real[n] == '/';
    }
    g_once_init_leave (&once, 1);
  }
  return result;
}

/* Exported for tlhost's conformance suite alone (declared again in
 * tests/conformance/conformance.h), like _tl_registry_probe_manifest for the
 * scanner: not part of the SDK. */
TL_API gboolean _tl_registry_uninstalled (void);

/**
 * _tl_registry_uninstalled:
 *
 * _tl_priv_uninstalled() for `tlhost conformance`, which takes the source
 * tree's plugin schema only when running uninstalled.
 *
 * Returns: TRUE when this libtl-1 runs from its build tree.
 */
gboolean
_tl_registry_uninstalled (void)
{
  return _tl_priv_uninstalled ();
}

/**
 * _tl_priv_scanner_path:
 *
 * Returns: (transfer full) (nullable): $TL_PLUGIN_SCANNER, else the build
 * tree's hosts/tl-plugin-scanner when running uninstalled, else the
 * installed one; NULL when none exists.
 */
char *
_tl_priv_scanner_path (void)
{
  const char *env = g_getenv ("TL_PLUGIN_SCANNER");
  if (env && *env)
    return g_strdup (env);
  if (_tl_priv_uninstalled ()) {
    char *p = g_build_filename (TL_BUILDDIR, "hosts", "tl-plugin-scanner", NULL);
    if (g_file_test (p, G_FILE_TEST_IS_EXECUTABLE))
      return p;
    g_free (p);
  }
  char *p = g_build_filename (TL_LIBEXECDIR, "tl-plugin-scanner", NULL);
  if (g_file_test (p, G_FILE_TEST_IS_EXECUTABLE))
    return p;
  g_free (p);
  return NULL;
}

static gint64
now_ms (void)
{
  return g_get_monotonic_time () / 1000;
}

/* Read what the child writes until both pipes close or the deadline. */
static gboolean
drain (int out_fd, int err_fd, GString *out, GString *err, gint64 deadline)
{
  struct pollfd fds[2] = { { out_fd, POLLIN, 0 }, { err_fd, POLLIN, 0 } };
  GString *bufs[2] = { out, err };
  int open_fds = 2;
  while (open_fds > 0) {
    gint64 left = deadline - now_ms ();
    if (left <= 0)
      return FALSE;
    int n = poll (fds, 2, (int) MIN (left, 1000));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return FALSE;
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      char buf[4096];
      ssize_t r = read (fds[i].fd, buf, sizeof buf);
      if (r > 0) {
        if (bufs[i]->len < 65536)
          g_string_append_len (bufs[i], buf, r);
      } else if (r == 0 || errno != EINTR) {
        fds[i].fd = -1;
        open_fds--;
      }
    }
  }
  return TRUE;
}

/* A signal that the child raises itself when its code is at fault (a bad
 * access, an abort, an illegal instruction, a division by zero), as opposed
 * to one sent from outside (SIGKILL from the OOM killer, SIGTERM, SIGINT). */
static gboolean
is_crash_signal (int sig)
{
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGABRT || sig == SIGILL || sig == SIGFPE;
}

static char *
last_line (const char *s)
{
  g_autofree char *t = g_strstrip (g_strdup (s));
  const char *nl = strrchr (t, '\n');
  return g_strdup (nl ? nl + 1 : t);
}

/**
 * _tl_priv_probe:
 * @manifest_path: the plugin's manifest
 * @timeout_s: seconds before the child is killed
 * @reason: (out) (transfer full): NULL when the plugin is fine, else why not
 * @outcome: (out) (optional): how the verdict was reached
 * @error: return location for a #GError (the probe could not run)
 *
 * Runs `tl-plugin-scanner MANIFEST` and reads its one-line verdict:
 * "ok" or "skip: REASON" (%TL_PRIV_PROBE_VERDICT). A killed child reads
 * "crashed (signal N: NAME)": %TL_PRIV_PROBE_CRASHED for SIGSEGV, SIGBUS,
 * SIGABRT, SIGILL and SIGFPE, %TL_PRIV_PROBE_DIED for other signals; one that
 * exits without a verdict reads "probe failed (exit status N)"
 * (%TL_PRIV_PROBE_DIED); one that outlives @timeout_s is killed and reads
 * "timed out after N s" (%TL_PRIV_PROBE_TIMED_OUT).
 *
 * Returns: FALSE when no scanner could be run.
 */
gboolean
_tl_priv_probe (const char *manifest_path, double timeout_s, char **reason,
                TlPrivProbeOutcome *outcome, GError **error)
{
  TlPrivProbeOutcome dummy;
  if (!outcome)
    outcome = &dummy;
  *reason = NULL;
  *outcome = TL_PRIV_PROBE_DIED;
  g_autofree char *scanner = _tl_priv_scanner_path ();
  if (!scanner) {
    g_set_error (error, TL_ERROR, TL_ERROR_NOT_FOUND,
                 "tl-plugin-scanner not found (set TL_PLUGIN_SCANNER)");
    return FALSE;
  }
  const char *argv[] = { scanner, manifest_path, NULL };
  GPid pid;
  int out_fd = -1, err_fd = -1;
  GError *serr = NULL;
  if (!g_spawn_async_with_pipes (NULL, (char **) argv, NULL,
                                 G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_CLOEXEC_PIPES, NULL, NULL, &pid,
                                 NULL, &out_fd, &err_fd, &serr)) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "cannot run %s: %s", scanner, serr->message);
    g_error_free (serr);
    return FALSE;
  }
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (GString) err = g_string_new (NULL);
  gint64 deadline = now_ms () + (gint64) (timeout_s * 1000);
  gboolean done = drain (out_fd, err_fd, out, err, deadline);
  int status = 0;
  pid_t w = 0;
  while (done && (w = waitpid (pid, &status, WNOHANG)) == 0 && now_ms () < deadline)
    g_usleep (2000);
  if (!done || w == 0) {
    kill (pid, SIGKILL);
    waitpid (pid, &status, 0);
    close (out_fd);
    close (err_fd);
    g_spawn_close_pid (pid);
    *reason = g_strdup_printf ("probe timed out after %g s", timeout_s);
    *outcome = TL_PRIV_PROBE_TIMED_OUT;
    return TRUE;
  }
  close (out_fd);
  close (err_fd);
  g_spawn_close_pid (pid);
  if (WIFSIGNALED (status)) {
    int sig = WTERMSIG (status);
    *reason = g_strdup_printf ("crashed (signal %d: %s)", sig, g_strsignal (sig));
    if (is_crash_signal (sig))
      *outcome = TL_PRIV_PROBE_CRASHED;
    return TRUE;
  }
  g_autofree char *line = g_strstrip (g_strdup (out->str));
  char *nl = strchr (line, '\n');
  if (nl)
    *nl = '\0';
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0 && strcmp (line, "ok") == 0) {
    *outcome = TL_PRIV_PROBE_VERDICT;
    return TRUE;
  }
  if (g_str_has_prefix (line, "skip: ")) {
    /* the plugin's own words: one line, no terminal escapes */
    *reason = _tl_priv_escape_controls (line + 6);
    *outcome = TL_PRIV_PROBE_VERDICT;
    return TRUE;
  }
  g_autofree char *tail0 = last_line (err->str);
  g_autofree char *tail = _tl_priv_escape_short (tail0);
  *reason = g_strdup_printf ("probe failed (exit status %d)%s%s",
                             WIFEXITED (status) ? WEXITSTATUS (status) : -1, *tail ? ": " : "", tail);
  return TRUE;
}
