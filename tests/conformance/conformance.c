/* conformance.c — `tlhost conformance [--fatal-warnings] [--timeout S]
 * PLUGIN-ID-or-PATH...`: run the suite on plugins, one forked child per
 * check, TAP on stdout. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "conformance.h"

#define DEFAULT_TIMEOUT 120.0

/* In a child: the write end of the result pipe. */
static int result_fd = -1;

static void
emit (char tag, const char *msg)
{
  if (result_fd < 0)
    return;
  g_auto (GStrv) lines = g_strsplit (msg, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    g_autofree char *line = g_strdup_printf ("%c %s\n", tag, lines[i]);
    gsize len = strlen (line), off = 0;
    while (off < len) {
      ssize_t w = write (result_fd, line + off, len - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return;
      off += (gsize) w;
    }
  }
}

#define EMIT_VA(tag)                          \
  va_list ap;                                 \
  va_start (ap, fmt);                         \
  g_autofree char *msg = g_strdup_vprintf (fmt, ap); \
  va_end (ap);                                \
  emit (tag, msg)

void
tlc_warn (const char *fmt, ...)
{
  EMIT_VA ('W');
}

void
tlc_skip (const char *fmt, ...)
{
  EMIT_VA ('S');
}

void
tlc_note (const char *fmt, ...)
{
  EMIT_VA ('N');
}

static void
remove_tree (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  if (dir) {
    const char *name;
    while ((name = g_dir_read_name (dir))) {
      g_autofree char *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
    g_dir_close (dir);
  }
  g_rmdir (path);
}

static void
print_prefixed (const char *prefix, GPtrArray *lines)
{
  for (guint i = 0; i < lines->len; i++)
    printf ("%s%s\n", prefix, (const char *) lines->pdata[i]);
}

/* The verdict records a check's child writes last (tlc_run). */
static const char *const verdicts[] = { "\nD ok\n", "\nD failed\n" };
#define TAIL_MAX 16

static void
keep_tail (char *tail, gsize *tail_len, const char *chunk, gsize n)
{
  if (n >= TAIL_MAX) {
    memcpy (tail, chunk + n - TAIL_MAX, TAIL_MAX);
    *tail_len = TAIL_MAX;
    return;
  }
  gsize keep = MIN (*tail_len, TAIL_MAX - n);
  memmove (tail, tail + *tail_len - keep, keep);
  memcpy (tail + keep, chunk, n);
  *tail_len = keep + n;
}

void
tlc_run (TlcSuite *s, const char *name, TlcCheckFunc fn, const TlComponentInfo *ci)
{
  guint number = ++s->n_run;
  fflush (stdout);
  fflush (stderr);
  int fds[2];
  if (pipe (fds) != 0) {
    printf ("not ok %u - %s\n# cannot create a pipe: %s\n", number, name, g_strerror (errno));
    s->n_failed++;
    return;
  }
  pid_t pid = fork ();
  if (pid < 0) {
    printf ("not ok %u - %s\n# cannot fork: %s\n", number, name, g_strerror (errno));
    close (fds[0]);
    close (fds[1]);
    s->n_failed++;
    return;
  }
  if (pid == 0) {
    close (fds[0]);
    result_fd = fds[1];
    dup2 (STDERR_FILENO, STDOUT_FILENO); /* keep TAP clean */
    g_autoptr (GError) error = NULL;
    gboolean ok = fn (s, ci, &error);
    if (!ok)
      emit ('F', error ? error->message : "failed (no message)");
    fflush (NULL);
    /* the verdict record, last: without it the check did not finish (the
     * plugin called exit(), even exit(0), or a sanitizer ended it) */
    emit ('D', ok ? "ok" : "failed");
    _exit (ok ? 0 : 1);
  }
  close (fds[1]);

  GString *buf = g_string_new (NULL);
  /* the stream's last bytes, after a virtual newline at its start: where
   * the verdict record is, even when the rest is cut at 1 MiB */
  char tail[TAIL_MAX] = "\n";
  gsize tail_len = 1;
  gint64 deadline = g_get_monotonic_time () + (gint64) (s->timeout * G_USEC_PER_SEC);
  gboolean timed_out = FALSE;
  for (;;) {
    gint64 left = (deadline - g_get_monotonic_time ()) / 1000;
    if (left <= 0) {
      timed_out = TRUE;
      break;
    }
    struct pollfd pfd = { fds[0], POLLIN, 0 };
    int r = poll (&pfd, 1, (int) MIN (left, 1000));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      continue;
    char chunk[4096];
    ssize_t n = read (fds[0], chunk, sizeof chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    if (buf->len < 1 << 20)
      g_string_append_len (buf, chunk, n);
    keep_tail (tail, &tail_len, chunk, (gsize) n);
  }
  close (fds[0]);
  int status = 0;
  if (timed_out)
    kill (pid, SIGKILL);
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;

  g_autoptr (GPtrArray) warns = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) fails = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *skip = NULL;
  gboolean done = FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (verdicts); i++) {
    gsize len = strlen (verdicts[i]);
    if (tail_len >= len && memcmp (tail + tail_len - len, verdicts[i], len) == 0)
      done = TRUE;
  }
  g_auto (GStrv) lines = g_strsplit (buf->str, "\n", -1);
  g_string_free (buf, TRUE);
  for (guint i = 0; lines[i]; i++) {
    const char *l = lines[i];
    if (strlen (l) < 2)
      continue;
    switch (l[0]) {
    case 'W':
      g_ptr_array_add (warns, g_strdup (l + 2));
      break;
    case 'N':
      g_ptr_array_add (notes, g_strdup (l + 2));
      break;
    case 'F':
      g_ptr_array_add (fails, g_strdup (l + 2));
      break;
    case 'S':
      if (!skip)
        skip = g_strdup (l + 2);
      break;
    default:
      break;
    }
  }

  gboolean ok = TRUE;
  if (timed_out) {
    ok = FALSE;
    g_ptr_array_add (fails, g_strdup_printf ("timed out after %g s (killed)", s->timeout));
  } else if (WIFSIGNALED (status)) {
    ok = FALSE;
    g_ptr_array_add (fails, g_strdup_printf ("crashed: signal %d (%s)", WTERMSIG (status),
                                             g_strsignal (WTERMSIG (status))));
  } else if (!done) {
    ok = FALSE;
    /* no verdict: the plugin exited, or a sanitizer ended the check */
    g_ptr_array_add (fails, g_strdup_printf ("crashed: exited with status %d without a verdict",
                                             WIFEXITED (status) ? WEXITSTATUS (status) : -1));
  } else if (!WIFEXITED (status) || WEXITSTATUS (status) != 0) {
    ok = FALSE;
  }
  if (ok && warns->len > 0 && s->fatal_warnings)
    ok = FALSE;

  /* A check that skipped is never a plain "ok", warnings or not: the
   * directive keeps it from counting as a pass. A skip that fails (a
   * warning under --fatal-warnings, or an error) stays "not ok". */
  if (ok && skip)
    printf ("ok %u - %s # SKIP %s\n", number, name, skip);
  else
    printf ("%s %u - %s\n", ok ? "ok" : "not ok", number, name);
  if (skip && !ok)
    printf ("# skipped: %s\n", skip);
  print_prefixed ("# ", notes);
  print_prefixed ("# WARN ", warns);
  print_prefixed ("# ", fails);
  if (!ok)
    s->n_failed++;
  fflush (stdout);
}

#define MANIFEST_SUFFIX ".tlplugin.xml" /* as the registry scans for */

/* "DIR is a directory: ..." naming up to three manifests it holds. */
static void
set_directory_error (const char *dir, GError **error)
{
  g_autoptr (GString) held = g_string_new (NULL);
  guint n = 0;
  GDir *d = g_dir_open (dir, 0, NULL);
  for (const char *name; d && (name = g_dir_read_name (d));) {
    if (!g_str_has_suffix (name, MANIFEST_SUFFIX))
      continue;
    if (n++ < 3)
      g_string_append_printf (held, "%s%s", n > 1 ? ", " : "", name);
  }
  if (d)
    g_dir_close (d);
  if (n > 3)
    g_string_append (held, ", ...");
  g_autofree char *base = g_strdup (dir);
  gsize len = strlen (base);
  while (len > 1 && base[len - 1] == '/')
    base[--len] = '\0';
  g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
               "%s is a directory: give %s/NAME" MANIFEST_SUFFIX ", the plugin's library or its id%s%s%s", base,
               base, n ? " (it holds " : "", held->str, n ? ")" : "");
}

/* A PATH argument: a manifest (*.tlplugin.xml) or a plugin's library. The
 * registry would read anything else as a library and look for a manifest
 * naming it: say what is wrong instead. */
static const TlPluginInfo *
resolve_path (TlcSuite *s, const char *arg, GError **error)
{
  if (g_file_test (arg, G_FILE_TEST_IS_DIR)) {
    set_directory_error (arg, error);
    return NULL;
  }
  if (!g_file_test (arg, G_FILE_TEST_EXISTS)) {
    g_set_error (error, TL_ERROR, TL_ERROR_NOT_FOUND, "%s: no such file", arg);
    return NULL;
  }
  if (g_str_has_suffix (arg, ".xml") && !g_str_has_suffix (arg, MANIFEST_SUFFIX)) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "%s: manifests must be named *" MANIFEST_SUFFIX " (ID" MANIFEST_SUFFIX ", ID the plugin's id)",
                 arg);
    return NULL;
  }
  return tl_registry_add_path (s->reg, arg, error);
}

static const TlPluginInfo *
resolve_plugin (TlcSuite *s, const char *arg, GError **error)
{
  gboolean is_path = strchr (arg, '/') || g_str_has_suffix (arg, ".xml") || g_str_has_suffix (arg, ".so");
  if (is_path)
    return resolve_path (s, arg, error);
  const TlPluginInfo *p = tl_registry_find_plugin (s->reg, arg);
  if (!p && g_file_test (arg, G_FILE_TEST_IS_DIR)) {
    set_directory_error (arg, error);
  } else if (!p) {
    g_autoptr (GPtrArray) ids = g_ptr_array_new ();
    for (guint i = 0; i < tl_registry_n_plugins (s->reg); i++)
      g_ptr_array_add (ids, (gpointer) tl_plugin_info_id (tl_registry_plugin (s->reg, i)));
    g_autoptr (GString) list = g_string_new (NULL);
    for (guint i = 0; i < ids->len; i++)
      g_string_append_printf (list, "%s%s", i ? ", " : "", (const char *) ids->pdata[i]);
    g_set_error (error, TL_ERROR, TL_ERROR_NOT_FOUND, "no plugin '%s' on the search path (known: %s)", arg,
                 list->len ? list->str : "none");
  }
  return p;
}

static void
run_plugin (TlcSuite *s)
{
  const TlPluginInfo *p = s->plugin;
  printf ("# plugin %s %s (%s)\n", tl_plugin_info_id (p), tl_plugin_info_version (p),
          tl_plugin_info_manifest_path (p));
  tlc_checks_plugin (s);
  for (guint i = 0; i < tl_plugin_info_n_components (p); i++) {
    const TlComponentInfo *ci = tl_plugin_info_component (p, i);
    tlc_checks_component (s, ci);
    switch (tl_component_info_kind (ci)) {
    case TL_COMPONENT_OP:
      tlc_checks_op (s, ci);
      break;
    case TL_COMPONENT_MODEL:
      tlc_checks_model (s, ci);
      break;
    case TL_COMPONENT_DATASET:
      tlc_checks_dataset (s, ci);
      break;
    case TL_COMPONENT_PLANNER:
      tlc_checks_planner (s, ci);
      break;
    default:
      break;
    }
  }
}

/**
 * tlc_main:
 *
 * `tlhost conformance`: exit 0 when every check passed, 1 when one failed,
 * 2 on bad usage or an unknown plugin.
 */
int
tlc_main (int argc, char **argv)
{
  gboolean fatal_warnings = FALSE;
  double timeout = DEFAULT_TIMEOUT;
  GOptionEntry entries[] = {
    { "fatal-warnings", 0, 0, G_OPTION_ARG_NONE, &fatal_warnings, "Treat warnings as failures", NULL },
    { "timeout", 0, 0, G_OPTION_ARG_DOUBLE, &timeout, "Seconds per check (default 120)", "S" },
    { NULL, 0, 0, 0, NULL, NULL, NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("conformance PLUGIN-ID-or-PATH...");
  g_option_context_set_summary (ctx, "Run the plugin conformance suite (TAP output). A PATH names a "
                                     "manifest (.tlplugin.xml) or .so outside the search path.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    fprintf (stderr, "tlhost: conformance: %s\n", error->message);
    return 2;
  }
  if (argc < 2) {
    fprintf (stderr, "usage: tlhost conformance [--fatal-warnings] [--timeout S] PLUGIN-ID-or-PATH...\n");
    return 2;
  }
  if (!(timeout > 0 && timeout <= 86400)) {
    fprintf (stderr, "tlhost: conformance: --timeout %g: want seconds in (0, 86400]\n", timeout);
    return 2;
  }

  TlcSuite s = { .fatal_warnings = fatal_warnings, .timeout = timeout };
  s.reg = tl_registry_new (NULL, &error);
  if (!s.reg) {
    fprintf (stderr, "tlhost: %s\n", error->message);
    return 1;
  }
  s.tmpdir = g_dir_make_tmp ("tl-conformance-XXXXXX", &error);
  if (!s.tmpdir) {
    fprintf (stderr, "tlhost: %s\n", error->message);
    tl_registry_free (s.reg);
    return 1;
  }
  int status = 0;
  for (int i = 1; i < argc; i++) {
    g_clear_error (&error);
    s.plugin = resolve_plugin (&s, argv[i], &error);
    if (!s.plugin) {
      printf ("not ok %u - load %s\n# %s\n", ++s.n_run, argv[i], error->message);
      s.n_failed++;
      status = 2;
      continue;
    }
    run_plugin (&s);
  }
  printf ("1..%u\n", s.n_run);
  if (s.n_failed > 0 && status == 0)
    status = 1;
  fflush (stdout);
  remove_tree (s.tmpdir);
  g_free (s.tmpdir);
  tl_registry_free (s.reg);
  return status;
}
