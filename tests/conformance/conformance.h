/* conformance.h — the plugin conformance suite run by `tlhost conformance`.
 *
 * Every check runs in a forked child with a timeout, so a crash or a hang
 * fails that check only. Results are TAP: "ok N - name", "not ok N - name",
 * "# WARN ..." lines (fatal with --fatal-warnings) and "# SKIP" directives.
 *
 * A check function runs in the child: it returns TRUE (pass) or FALSE with
 * `error` set (fail), and may call tlc_warn() / tlc_skip() / tlc_note().
 */
#ifndef TL_CONFORMANCE_SUITE_H
#define TL_CONFORMANCE_SUITE_H

#include <glib.h>
#include <tl/tl.h>

G_BEGIN_DECLS

typedef struct {
  TlRegistry *reg;
  const TlPluginInfo *plugin;
  gboolean fatal_warnings;
  double timeout;        /* seconds per check */
  char *tmpdir;          /* scratch directory, removed at the end */
  guint n_run, n_failed;
} TlcSuite;

typedef gboolean (*TlcCheckFunc) (TlcSuite *s, const TlComponentInfo *ci, GError **error);

/* Entry point of `tlhost conformance`; returns the exit status. */
int tlc_main (int argc, char **argv);

/* Run one check (in a child) and print its TAP line. */
void tlc_run (TlcSuite *s, const char *name, TlcCheckFunc fn, const TlComponentInfo *ci);

/* In a check: report a warning (the check still passes unless
 * --fatal-warnings), skip the check (return TRUE after calling it), or add
 * a diagnostic line. */
void tlc_warn (const char *fmt, ...) G_GNUC_PRINTF (1, 2);
void tlc_skip (const char *fmt, ...) G_GNUC_PRINTF (1, 2);
void tlc_note (const char *fmt, ...) G_GNUC_PRINTF (1, 2);

/* --- checks, by area (checks-*.c) ---------------------------------------- */
void tlc_checks_plugin (TlcSuite *s);
void tlc_checks_component (TlcSuite *s, const TlComponentInfo *ci);
void tlc_checks_op (TlcSuite *s, const TlComponentInfo *ci);
void tlc_checks_model (TlcSuite *s, const TlComponentInfo *ci);
void tlc_checks_dataset (TlcSuite *s, const TlComponentInfo *ci);
void tlc_checks_planner (TlcSuite *s, const TlComponentInfo *ci);

/* --- helpers (util.c) ----------------------------------------------------- */
/* Params from NULL-terminated "name=value" strings (nullable). */
TlParams *tlc_make_params (const TlComponentInfo *ci, const char *const *assignments, GError **error);
/* Default params; NULL with a skip when a parameter is required. */
TlParams *tlc_default_params (const TlComponentInfo *ci, GError **error);
/* Load the component's table (dlopen). */
const void *tlc_load (TlcSuite *s, const TlComponentInfo *ci, GError **error);
/* A tensor of `desc` filled with seeded uniform values in [low, high)
 * (integers: floor). */
TlTensor *tlc_random_tensor (const TlTensorDesc *desc, guint64 seed, double low, double high,
                             GError **error);
gboolean tlc_tensor_finite (const TlTensor *t);
/* Open a dataset component by name with "name=value" assignments. */
TlDatasetInstance *tlc_open_dataset (TlcSuite *s, const char *name, const char *const *assignments,
                                     GError **error);
/* Create an instance of a dataset/model/planner component (destroy with
 * tlc_destroy). */
gpointer tlc_create (TlcSuite *s, const TlComponentInfo *ci, const TlParams *params, GError **error);
void tlc_destroy (const TlComponentInfo *ci, gpointer instance);
/* The table's get_extension (any kind), or NULL. */
const void *tlc_extension (const TlComponentInfo *ci, const void *table, const char *id);
/* After the plugin's callback `what` failed: a failing call of the plugin
 * ABI sets its GError; when it did not, set `*error` to say so ("WHAT
 * returned FALSE without setting error"). */
void tlc_failed_silently (GError **error, const char *what);

/* Exported by libtl-1 for tlhost's conformance suite alone
 * (registry/probe.c): TRUE when that libtl-1 runs from its build tree. Not
 * part of the SDK. */
TL_API gboolean _tl_registry_uninstalled (void);

G_END_DECLS

#endif /* TL_CONFORMANCE_SUITE_H */
