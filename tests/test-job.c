/* test-job.c — job manifests: parsing, overlays, --set, hostile XML,
 * validation reporting every error with FILE:LINE and did-you-mean. */
#define _GNU_SOURCE /* RTLD_NEXT */
#include "config.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <libxml/relaxng.h>
#include <tl/tl.h>

static char *
fixture (const char *name)
{
  return g_build_filename (TL_SRCDIR, "tests", "data", "jobs", name, NULL);
}

static TlRegistry *
registry (void)
{
  g_autoptr (GError) error = NULL;
  /* manifests only: probing the broken test plugins (one hangs) is the
   * registry tests' business */
  TlRegistryOptions opts = { .no_probe = 1 };
  TlRegistry *reg = tl_registry_new (&opts, &error);
  g_assert_no_error (error);
  g_assert_nonnull (reg);
  return reg;
}

/* Calls of tl_safetensors_read() from libtl (this definition interposes
 * the library's, which it calls): an interrupted run reads only the header
 * of its last.safetensors for the step, not every tensor again. */
static guint safetensors_reads;

GHashTable *
tl_safetensors_read (const char *path, GHashTable **metadata, GError **error)
{
  static GHashTable *(*real) (const char *, GHashTable **, GError **);
  if (!real)
    real = (GHashTable * (*) (const char *, GHashTable **, GError **)) dlsym (RTLD_NEXT, "tl_safetensors_read");
  g_assert_nonnull (real);
  safetensors_reads++;
  return real (path, metadata, error);
}

/* Every line of msg starts with "<path>:<digits>: " (or "--set"). */
static guint
assert_located_lines (const char *msg, const char *path)
{
  g_auto (GStrv) lines = g_strsplit (msg, "\n", -1);
  guint n = 0;
  for (guint i = 0; lines[i]; i++) {
    const char *l = lines[i];
    if (g_str_has_prefix (l, "--set"))
      continue;
    g_assert_true (g_str_has_prefix (l, path));
    const char *p = l + strlen (path);
    g_assert_cmpint (p[0], ==, ':');
    g_assert_true (g_ascii_isdigit (p[1]));
    n++;
  }
  return n;
}

static void
test_parse_good (void)
{
  g_autofree char *path = fixture ("good.xml");
  g_autoptr (GError) error = NULL;
  TlJob *job = tl_job_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tl_job_name (job), ==, "synthetic-mlp");
  g_assert_cmpuint (tl_job_n_components (job), ==, 3);
  g_assert_cmpstr (tl_job_component_id (job, 0), ==, "train");
  g_assert_cmpint (tl_job_component_kind (job, 0), ==, TL_COMPONENT_DATASET);
  g_assert_cmpint (tl_job_component_kind (job, 2), ==, TL_COMPONENT_MODEL);
  g_assert_cmpstr (tl_job_component_ref (job, "m"), ==, "tl.mlp");
  g_assert_null (tl_job_component_ref (job, "nope"));
  g_assert_cmpstr (tl_job_get_param (job, "m", "hidden"), ==, "16");
  g_assert_null (tl_job_get_param (job, "m", "dropout"));
  g_assert_cmpuint (tl_job_n_tasks (job), ==, 3);
  g_assert_cmpstr (tl_job_task_kind (job, 0), ==, "train");
  g_assert_cmpstr (tl_job_task_attr (job, 0, "epochs"), ==, "2");
  g_assert_cmpstr (tl_job_task_attr (job, 2, "out"), ==, "predictions.tsv");
  g_assert_null (tl_job_cluster_path (job));

  TlRegistry *reg = registry ();
  g_assert_true (tl_job_validate (job, reg, &error));
  g_assert_no_error (error);
  tl_registry_free (reg);
  tl_job_free (job);
  tl_job_free (NULL);
}

static void
test_structure_errors (void)
{
  g_autofree char *path = fixture ("structure.xml");
  g_autoptr (GError) error = NULL;
  TlJob *job = tl_job_load (path, &error);
  g_assert_null (job);
  g_assert_error (error, TL_ERROR, TL_ERROR_PARSE);
  /* all five problems, each with its line */
  g_assert_cmpuint (assert_located_lines (error->message, path), ==, 5);
  g_assert_nonnull (strstr (error->message, ":5: duplicate id 'm'"));
  g_assert_nonnull (strstr (error->message, "did you mean <model>?"));
  g_assert_nonnull (strstr (error->message, ":7: <task> needs a 'kind'"));
}

static void
test_hostile (void)
{
  g_autofree char *path = fixture ("hostile.xml");
  g_autoptr (GError) error = NULL;
  g_assert_null (tl_job_load (path, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_PARSE);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_clear_error (&error);

  /* not a job at all, an overlay given as a job, garbage, nesting bomb */
  static const char *const docs[] = {
    "<plugin xmlns='urn:tl:plugin:1'/>",
    "<overlay xmlns='urn:tl:job:1'/>",
    "<job xmlns='urn:tl:job:1' name='x'><task kind='train'",
    "\x01\x02garbage",
    "<job xmlns='urn:tl:job:1' name='../escape'><task kind='plan'/></job>",
  };
  for (guint i = 0; i < G_N_ELEMENTS (docs); i++) {
    g_assert_null (tl_job_parse (docs[i], -1, "mem.xml", &error));
    g_assert_error (error, TL_ERROR, TL_ERROR_PARSE);
    g_assert_true (g_str_has_prefix (error->message, "mem.xml"));
    g_clear_error (&error);
  }
  GString *deep = g_string_new ("<job xmlns='urn:tl:job:1' name='x'>");
  for (guint i = 0; i < 100000; i++)
    g_string_append (deep, "<a>");
  g_assert_null (tl_job_parse (deep->str, (gssize) deep->len, "deep.xml", &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_string_free (deep, TRUE);
}

static void
test_overlay_swap (void)
{
  g_autofree char *path = fixture ("good.xml");
  g_autofree char *overlay = fixture ("overlay-swap.xml");
  g_autoptr (GError) error = NULL;
  TlJob *job = tl_job_load (path, &error);
  g_assert_no_error (error);
  g_assert_true (tl_job_apply_overlay (job, overlay, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (tl_job_component_ref (job, "m"), ==, "tl.logreg");
  g_assert_null (tl_job_get_param (job, "m", "hidden")); /* reset="true" */
  g_assert_cmpstr (tl_job_get_param (job, "m", "fields"), ==, "features");
  g_assert_cmpstr (tl_job_task_attr (job, 0, "epochs"), ==, "1");
  TlRegistry *reg = registry ();
  g_assert_true (tl_job_validate (job, reg, &error));
  g_assert_no_error (error);

  /* from memory; a job is not an overlay */
  g_assert_true (tl_job_apply_overlay_data (job, "<overlay xmlns='urn:tl:job:1'><set path='m.n_classes'>3</set></overlay>",
                                            -1, "mem.xml", &error));
  g_assert_cmpstr (tl_job_get_param (job, "m", "n_classes"), ==, "3");
  g_assert_false (tl_job_apply_overlay_data (job, "<job xmlns='urn:tl:job:1' name='x'/>", -1, "mem.xml", &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_PARSE);
  g_assert_true (g_str_has_prefix (error->message, "mem.xml:1: expected <overlay"));
  g_clear_error (&error);

  g_autofree char *bad = fixture ("overlay-bad.xml");
  g_assert_false (tl_job_apply_overlay (job, bad, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_PARSE);
  g_assert_cmpuint (assert_located_lines (error->message, bad), ==, 2);
  tl_registry_free (reg);
  tl_job_free (job);
}

/* Swapping a component without reset="true" keeps the job's settings:
 * one the new component does not know points at the overlay's <use>. */
static void
test_overlay_swap_hint (void)
{
  g_autofree char *path = fixture ("good.xml");
  g_autoptr (GError) error = NULL;
  TlRegistry *reg = registry ();
  TlJob *job = tl_job_load (path, &error);
  g_assert_no_error (error);
  g_assert_true (tl_job_apply_overlay_data (job,
                                            "<overlay xmlns='urn:tl:job:1'>\n"
                                            "  <use id='m' component='tl.logreg'/>\n"
                                            "  <set path='m.nclasses'>3</set>\n"
                                            "</overlay>\n",
                                            -1, "swap.xml", &error));
  g_assert_no_error (error);
  g_assert_false (tl_job_validate (job, reg, &error));
  g_auto (GStrv) lines = g_strsplit (error->message, "\n", -1);
  g_autofree char *hidden = g_strdup_printf (
      "%s:15: parameter 'hidden' is not known to component 'tl.logreg' (the overlay swap.xml:2 swapped 'm' "
      "to 'tl.logreg'; add reset=\"true\" to its <use> to drop the job's settings)", path);
  g_assert_true (g_strv_contains ((const char *const *) lines, hidden));
  g_assert_cmpuint (g_strv_length (lines), ==, 3); /* input, hidden, nclasses */
  /* a setting the overlay made after the swap: its own mistake, no hint */
  g_assert_true (g_strv_contains ((const char *const *) lines,
                                  "swap.xml:3: parameter 'nclasses' is not known to component 'tl.logreg'; "
                                  "did you mean 'n_classes'?"));
  g_clear_error (&error);
  /* a job setting overwritten after the swap is no longer the job's */
  g_assert_true (tl_job_apply_set (job, "m.input=x", &error));
  g_assert_false (tl_job_validate (job, reg, &error));
  g_assert_nonnull (strstr (error->message, "--set m.input: parameter 'input' is not known to component 'tl.logreg'"));
  g_assert_null (strstr (error->message, "--set m.input: parameter 'input' is not known to component 'tl.logreg' (the overlay"));
  g_clear_error (&error);
  tl_job_free (job);

  /* swapping to the same component, or with reset="true": no hint */
  job = tl_job_load (path, &error);
  g_assert_true (tl_job_apply_overlay_data (job,
                                            "<overlay xmlns='urn:tl:job:1'><use id='m' component='tl.mlp'/>"
                                            "<set path='m.hiddn'>3</set></overlay>",
                                            -1, "same.xml", &error));
  g_assert_false (tl_job_validate (job, reg, &error));
  g_assert_null (strstr (error->message, "swapped"));
  g_clear_error (&error);
  g_assert_true (tl_job_apply_overlay_data (job,
                                            "<overlay xmlns='urn:tl:job:1'><use id='m' component='tl.logreg' reset='true'/>"
                                            "<set path='m.hidden'>3</set></overlay>",
                                            -1, "reset.xml", &error));
  g_assert_false (tl_job_validate (job, reg, &error));
  g_assert_cmpstr (error->message, ==, "reset.xml:1: parameter 'hidden' is not known to component 'tl.logreg'");
  g_clear_error (&error);
  tl_job_free (job);
  tl_registry_free (reg);
}

/* A <use> naming no id of the job is reported once (its <set>s do not
 * repeat it), and the rest of the overlay still applies. */
static void
test_overlay_unknown_use (void)
{
  g_autofree char *path = fixture ("good.xml");
  g_autoptr (GError) error = NULL;
  TlJob *job = tl_job_load (path, &error);
  g_assert_no_error (error);
  g_assert_false (tl_job_apply_overlay_data (job,
                                             "<overlay xmlns='urn:tl:job:1'>\n"
                                             "  <use id='model' component='tl.logreg'/>\n"
                                             "  <set path='model.fields'>features</set>\n"
                                             "  <set path='m.hidden'>8</set>\n"
                                             "  <set path='nope.x'>1</set>\n"
                                             "</overlay>\n",
                                             -1, "use.xml", &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_PARSE);
  g_auto (GStrv) lines = g_strsplit (error->message, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 2);
  g_assert_true (g_str_has_prefix (lines[0], "use.xml:2: no component with id 'model' in "));
  g_assert_true (g_str_has_prefix (lines[1], "use.xml:5: no component with id 'nope' in "));
  g_clear_error (&error);
  /* the job is left as it was for the unknown id, and still validates */
  g_assert_cmpstr (tl_job_component_ref (job, "m"), ==, "tl.mlp");
  g_assert_cmpstr (tl_job_get_param (job, "m", "hidden"), ==, "8");
  TlRegistry *reg = registry ();
  g_assert_true (tl_job_validate (job, reg, &error));
  g_assert_no_error (error);
  tl_registry_free (reg);
  tl_job_free (job);
}

static void
test_set (void)
{
  g_autofree char *path = fixture ("good.xml");
  g_autoptr (GError) error = NULL;
  TlJob *job = tl_job_load (path, &error);
  g_assert_no_error (error);
  g_assert_true (tl_job_apply_set (job, "m.hidden=32,32", &error));
  g_assert_cmpstr (tl_job_get_param (job, "m", "hidden"), ==, "32,32");
  g_assert_true (tl_job_apply_set (job, "m.dropout=0.1", &error));
  g_assert_cmpstr (tl_job_get_param (job, "m", "dropout"), ==, "0.1");
  g_assert_true (tl_job_apply_set (job, "task1.epochs=5", &error));
  g_assert_cmpstr (tl_job_task_attr (job, 0, "epochs"), ==, "5");
  g_assert_no_error (error);

  static const char *const bad[] = { "m.hidden", "nodot=1", "x.y=1", "task9.epochs=1", ".a=1", "m.=1" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_assert_false (tl_job_apply_set (job, bad[i], &error));
    g_assert_nonnull (error);
    g_assert_true (g_str_has_prefix (error->message, "--set"));
    g_clear_error (&error);
  }
  g_assert_false (tl_job_apply_set (job, "mm.hidden=1", &error));
  g_assert_nonnull (strstr (error->message, "did you mean 'm'?"));
  g_clear_error (&error);

  /* a --set value is validated like a <set> */
  TlRegistry *reg = registry ();
  g_assert_true (tl_job_apply_set (job, "m.activation=sigmoid", &error));
  g_assert_false (tl_job_validate (job, reg, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "sigmoid"));
  g_assert_true (g_str_has_prefix (error->message, "--set m.activation"));
  tl_registry_free (reg);
  tl_job_free (job);
}

static void
test_validate_all_errors (void)
{
  g_autofree char *path = fixture ("bad.xml");
  g_autoptr (GError) error = NULL;
  TlJob *job = tl_job_load (path, &error);
  g_assert_no_error (error);
  TlRegistry *reg = registry ();
  g_assert_false (tl_job_validate (job, reg, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  /* every mistake of the fixture, one line each, in order */
  g_assert_cmpuint (assert_located_lines (error->message, path), ==, 10);
  static const char *const expected[] = {
    ":4: ", "did you mean 'tl.synthetic'?",
    ":6: ", "did you mean 'n_rows'?",
    ":7: ", "n_classes",
    ":10: ", "sigmoid",
    ":12: ", "did you mean 'train'?",
    ":13: ", "did you mean 'm'?",
    ":13: ", "epochs",
    ":13: ", "did you mean 'optimizer'?",
    ":13: ", "lr",
    ":14: ", "did you mean 'test'?",
  };
  g_auto (GStrv) lines = g_strsplit (error->message, "\n", -1);
  for (guint i = 0; i < G_N_ELEMENTS (expected) / 2; i++) {
    g_assert_nonnull (strstr (lines[i], expected[2 * i]));
    g_assert_nonnull (strstr (lines[i], expected[2 * i + 1]));
  }
  tl_registry_free (reg);
  tl_job_free (job);
}

static void
test_validate_misc (void)
{
  TlRegistry *reg = registry ();
  g_autoptr (GError) error = NULL;
  /* kind mismatch, unknown ${VAR}, unknown allow-listed plugin, missing
   * required task attribute, empty job */
  const char *xml =
    "<job xmlns='urn:tl:job:1' name='misc'>\n"
    "  <allow plugin='no-such-plugin'/>\n"
    "  <dataset id='d' component='tl.mlp'/>\n"
    "  <model id='m' component='tl.mlp'><set name='hidden'>${TL_NO_SUCH_VARIABLE_XYZ}</set></model>\n"
    "  <task kind='predict' model='m'/>\n"
    "  <task kind='train' model='d' data='m' seed='-3'/>\n"
    "</job>\n";
  TlJob *job = tl_job_parse (xml, -1, "misc.xml", &error);
  g_assert_no_error (error);
  g_assert_false (tl_job_validate (job, reg, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_assert_cmpuint (assert_located_lines (error->message, "misc.xml"), ==, 7);
  g_assert_nonnull (strstr (error->message, "misc.xml:3: 'tl.mlp' is a model component, not a dataset"));
  g_assert_nonnull (strstr (error->message, "misc.xml:4: m.hidden:"));
  g_assert_nonnull (strstr (error->message, "misc.xml:5: task predict (task1) needs attribute 'data'"));
  g_assert_nonnull (strstr (error->message, "model=\"d\" is a dataset, not a model"));
  g_assert_nonnull (strstr (error->message, "seed=-3 is out of range"));
  g_assert_nonnull (strstr (error->message, "misc.xml:2: <allow plugin=\"no-such-plugin\">: no plugin "
                                            "'no-such-plugin' on the search path (TL_PLUGIN_PATH"));
  g_assert_nonnull (strstr (error->message, "; set TL_PLUGIN_PATH to the directory holding "
                                            "no-such-plugin.tlplugin.xml\n"));
  g_clear_error (&error);
  tl_job_free (job);

  job = tl_job_parse ("<job xmlns='urn:tl:job:1' name='empty'/>", -1, "empty.xml", &error);
  g_assert_no_error (error);
  g_assert_false (tl_job_validate (job, reg, &error));
  g_assert_nonnull (strstr (error->message, "no <task>"));
  g_clear_error (&error);
  tl_job_free (job);

  /* allow-list: a job allowing only another plugin may still use "tl" */
  job = tl_job_parse ("<job xmlns='urn:tl:job:1' name='a'><allow plugin='tl'/>"
                      "<dataset id='d' component='tl.synthetic'/><model id='m' component='tl.mlp'/>"
                      "<task kind='plan' model='m' data='d'/></job>",
                      -1, "allow.xml", &error);
  g_assert_no_error (error);
  g_assert_true (tl_job_validate (job, reg, &error));
  g_assert_no_error (error);
  tl_job_free (job);
  tl_registry_free (reg);
}

static void
test_cluster_reference (void)
{
  g_autofree char *path = fixture ("plan.xml");
  g_autoptr (GError) error = NULL;
  TlJob *job = tl_job_load (path, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (tl_job_cluster_path (job), "clusters/two-nodes.xml"));
  g_assert_true (g_path_is_absolute (tl_job_cluster_path (job)));
  TlRegistry *reg = registry ();
  g_assert_true (tl_job_validate (job, reg, &error));
  g_assert_no_error (error);
  tl_job_free (job);

  job = tl_job_parse ("<job xmlns='urn:tl:job:1' name='c'><cluster path='missing-cluster.xml'/>"
                      "<task kind='simulate' planner='p'/></job>",
                      -1, "c.xml", &error);
  g_assert_no_error (error);
  g_assert_false (tl_job_validate (job, reg, &error));
  g_assert_nonnull (strstr (error->message, "c.xml:1: <cluster>: "));
  g_assert_nonnull (strstr (error->message, "no planner with id 'p'"));
  tl_job_free (job);
  tl_registry_free (reg);
}

typedef struct {
  guint begins, steps, messages;
  TlJob *cancel_job; /* cancel after the first step */
} Counts;

static void
on_begin (gpointer data, const char *phase, gint64 total)
{
  ((Counts *) data)->begins++;
}

static void
on_step (gpointer data, gint64 step, const TlMetrics *m)
{
  Counts *c = data;
  c->steps++;
  if (c->cancel_job)
    tl_job_cancel (c->cancel_job);
}

static void
on_message (gpointer data, const char *text)
{
  ((Counts *) data)->messages++;
}

static void
test_run (void)
{
  g_autofree char *path = fixture ("good.xml");
  g_autoptr (GError) error = NULL;
  g_autofree char *out = g_dir_make_tmp ("tl-test-job-XXXXXX", &error);
  g_assert_no_error (error);
  TlJob *job = tl_job_load (path, &error);
  g_assert_no_error (error);
  TlRegistry *reg = registry ();
  Counts counts = { 0 };
  TlProgress progress = { .begin = on_begin, .step = on_step, .message = on_message, .user_data = &counts };
  TlJobRunOptions opts;
  tl_job_run_options_init (&opts);
  opts.output_dir = out;
  g_assert_true (tl_job_run (job, reg, &opts, &progress, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (counts.begins, >=, 2);
  g_assert_cmpuint (counts.steps, >=, 16); /* 2 epochs of 256 rows, batch 32 */
  g_assert_cmpuint (counts.messages, >=, 3);
  g_assert_cmpstr (tl_job_output_dir (job), ==, out);
  const TlMetrics *m = tl_job_final_metrics (job);
  g_assert_cmpuint (m->n, >, 0);
  g_assert_cmpfloat (tl_metrics_get (m, "accuracy"), >, 0.8);
  static const char *const files[] = { "m/best.safetensors", "m/last.safetensors", "predictions.tsv",
                                       "metrics.jsonl" };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
    g_autofree char *f = g_build_filename (out, files[i], NULL);
    g_assert_true (g_file_test (f, G_FILE_TEST_IS_REGULAR));
  }
  g_autofree char *metrics_path = g_build_filename (out, "metrics.jsonl", NULL);
  g_autofree char *metrics = NULL;
  g_assert_true (g_file_get_contents (metrics_path, &metrics, NULL, NULL));
  g_assert_nonnull (strstr (metrics, "\"phase\":\"evaluate\""));

  /* Ctrl-C: cancelled after the first step, last.safetensors written; the
   * message says how to continue (into the same directory: overwrite) */
  tl_job_free (job);
  job = tl_job_load (path, &error);
  g_assert_true (tl_job_apply_set (job, "task1.epochs=50", &error));
  memset (&counts, 0, sizeof counts);
  counts.cancel_job = job;
  /* keep_checkpoints 0 (the default): replaced, as in ABI 1.0 */
  g_assert_false (tl_job_run (job, reg, &opts, &progress, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_CANCELLED);
  g_assert_cmpuint (counts.steps, <, 50 * 8);
  g_autofree char *want = g_strdup_printf ("interrupted after step 1; continue with --set task1.resume=%s/m/last.safetensors",
                                           out);
  g_assert_cmpstr (error->message, ==, want);
  g_clear_error (&error);
  tl_job_free (job);

  /* a task the component does not support */
  job = tl_job_parse ("<job xmlns='urn:tl:job:1' name='sim'>\n"
                      "<dataset id='d' component='tl.synthetic'><set name='n_rows'>32</set></dataset>\n"
                      "<model id='m' component='tl.mlp'><set name='input'>features</set></model>\n"
                      "<task kind='simulate' model='m' data='d'/>\n</job>",
                      -1, "sim.xml", &error);
  g_assert_no_error (error);
  g_assert_false (tl_job_run (job, reg, &opts, NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "sim.xml:4: "));
  g_assert_nonnull (strstr (error->message, "does not support task simulate"));
  tl_job_free (job);
  tl_registry_free (reg);

  /* clean up the temporary output directory */
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", out);
  g_assert_cmpint (system (cmd), ==, 0);
}

/* The file's bytes, or NULL. */
static GBytes *
file_bytes (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  char *data = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &data, &len, NULL))
    return NULL;
  return g_bytes_new_take (data, len);
}

static void
rm_rf (const char *dir)
{
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
  g_assert_cmpint (system (cmd), ==, 0);
}

static gboolean
run_job (const char *path, const char *const *sets, const char *out, gboolean overwrite, TlProgress *progress,
         const TlMetrics **final, GError **error)
{
  TlJob *job = tl_job_load (path, error);
  g_assert_nonnull (job);
  for (guint i = 0; sets && sets[i]; i++)
    g_assert_true (tl_job_apply_set (job, sets[i], NULL));
  TlRegistry *reg = registry ();
  TlJobRunOptions opts;
  tl_job_run_options_init (&opts);
  opts.output_dir = out;
  opts.quiet = 1;
  opts.keep_checkpoints = !overwrite;
  static TlMetrics last;
  gboolean ok = tl_job_run (job, reg, &opts, progress, error);
  last = *tl_job_final_metrics (job);
  if (final)
    *final = &last;
  tl_job_free (job);
  tl_registry_free (reg);
  return ok;
}

/* With keep_checkpoints (tlhost run without --overwrite), a second run into
 * the same directory keeps the first run's checkpoints (before any task)
 * unless it resumes from them; without it they are replaced, as in ABI
 * 1.0. */
static void
test_run_keeps_checkpoints (void)
{
  g_autofree char *path = fixture ("good.xml");
  g_autoptr (GError) error = NULL;
  g_autofree char *out = g_dir_make_tmp ("tl-test-job-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *ckpt = g_build_filename (out, "m", NULL);
  const char *const one_epoch[] = { "task1.epochs=1", NULL };
  g_assert_true (run_job (path, one_epoch, out, FALSE, NULL, NULL, &error));
  g_assert_no_error (error);
  g_autoptr (GBytes) best = file_bytes (ckpt, "best.safetensors");
  g_autoptr (GBytes) last = file_bytes (ckpt, "last.safetensors");
  g_assert_nonnull (best);
  g_assert_nonnull (last);

  /* refused before the first task: no step taken, nothing replaced */
  Counts counts = { 0 };
  TlProgress progress = { .begin = on_begin, .step = on_step, .message = on_message, .user_data = &counts };
  g_assert_false (run_job (path, NULL, out, FALSE, &progress, NULL, &error));
  g_autofree char *want = g_strdup_printf (
      "%s already holds the checkpoints of an earlier run (best.safetensors, last.safetensors): continue it "
      "with --set task1.resume=%s/last.safetensors, write elsewhere with -o NEWDIR, or replace them with "
      "--overwrite", ckpt, ckpt);
  g_assert_cmpstr (error->message, ==, want);
  g_clear_error (&error);
  g_assert_cmpuint (counts.begins + counts.steps, ==, 0);
  g_autoptr (GBytes) best2 = file_bytes (ckpt, "best.safetensors");
  g_autoptr (GBytes) last2 = file_bytes (ckpt, "last.safetensors");
  g_assert_true (g_bytes_equal (best, best2));
  g_assert_true (g_bytes_equal (last, last2));

  /* only best.safetensors: nothing to continue */
  g_autofree char *only = g_build_filename (out, "only", NULL);
  g_autofree char *only_m = g_build_filename (only, "m", NULL);
  g_assert_cmpint (g_mkdir_with_parents (only_m, 0755), ==, 0);
  g_autofree char *only_best = g_build_filename (only_m, "best.safetensors", NULL);
  g_assert_true (g_file_set_contents (only_best, "x", 1, NULL));
  g_assert_false (run_job (path, NULL, only, FALSE, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "an earlier run (best.safetensors): write elsewhere with -o NEWDIR"));
  g_clear_error (&error);

  /* resume= in the checkpoint directory continues the run there */
  g_autofree char *resume = g_strdup_printf ("task1.resume=%s/last.safetensors", ckpt);
  const char *const resume_sets[] = { resume, "task1.epochs=2", NULL };
  g_assert_true (run_job (path, resume_sets, out, FALSE, NULL, NULL, &error));
  g_assert_no_error (error);
  /* resume= from elsewhere does not make this directory's checkpoints free */
  g_autofree char *other = g_build_filename (out, "other", NULL);
  g_autofree char *other_m = g_build_filename (other, "m", NULL);
  g_assert_cmpint (g_mkdir_with_parents (other_m, 0755), ==, 0);
  g_autofree char *other_last = g_build_filename (other_m, "last.safetensors", NULL);
  g_assert_true (g_file_set_contents (other_last, "x", 1, NULL));
  g_assert_false (run_job (path, resume_sets, other, FALSE, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "already holds the checkpoints of an earlier run (last.safetensors)"));
  g_clear_error (&error);

  /* overwrite replaces them */
  g_autoptr (GBytes) last3 = file_bytes (ckpt, "last.safetensors");
  g_assert_true (run_job (path, one_epoch, out, TRUE, NULL, NULL, &error));
  g_assert_no_error (error);
  g_autoptr (GBytes) last4 = file_bytes (ckpt, "last.safetensors");
  g_assert_false (g_bytes_equal (last3, last4));
  rm_rf (out);
}

/* A checkpoint directory the run cannot write to, or cannot make, and a
 * device that is not there fail before the first task. */
static void
test_run_early_checks (void)
{
  g_autofree char *path = fixture ("good.xml");
  g_autoptr (GError) error = NULL;
  g_autofree char *out = g_dir_make_tmp ("tl-test-job-XXXXXX", &error);
  g_assert_no_error (error);
  Counts counts = { 0 };
  TlProgress progress = { .begin = on_begin, .step = on_step, .message = on_message, .user_data = &counts };

  /* a directory no one can create files in, not even root */
  g_autofree char *ckpt = g_build_filename (out, "m", NULL);
  g_assert_cmpint (symlink ("/proc/self/fd", ckpt), ==, 0);
  g_assert_false (run_job (path, NULL, out, FALSE, &progress, NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_IO);
  g_autofree char *want = g_strdup_printf ("%s: cannot write checkpoints here: ", ckpt);
  g_assert_true (g_str_has_prefix (error->message, want));
  g_clear_error (&error);
  g_assert_cmpuint (counts.begins + counts.steps, ==, 0);

  /* a file where the directory should be */
  g_assert_cmpint (g_unlink (ckpt), ==, 0);
  g_assert_true (g_file_set_contents (ckpt, "", 0, NULL));
  g_assert_false (run_job (path, NULL, out, FALSE, &progress, NULL, &error));
  g_autofree char *want2 = g_strdup_printf ("cannot create the checkpoint directory %s: ", ckpt);
  g_assert_true (g_str_has_prefix (error->message, want2));
  g_clear_error (&error);
  g_assert_cmpuint (counts.begins + counts.steps, ==, 0);
  g_assert_cmpint (g_unlink (ckpt), ==, 0);

  /* a GPU that is not there (no machine has 100): found before task 1 trains */
  const char *const cuda[] = { "task2.device=cuda:100", NULL };
  g_autofree char *fresh = g_build_filename (out, "fresh", NULL);
  g_assert_false (run_job (path, cuda, fresh, FALSE, &progress, NULL, &error));
  g_autofree char *want3 = g_strdup_printf ("%s:18: task evaluate (task2): device \"cuda:100\": ", path);
  g_assert_true (g_str_has_prefix (error->message, want3));
  g_assert_null (strchr (error->message, '\n'));
  g_clear_error (&error);
  g_assert_cmpuint (counts.begins + counts.steps, ==, 0);
  g_assert_false (g_file_test (fresh, G_FILE_TEST_EXISTS));

  /* the trainer's own "train: " is not repeated after "task train: " */
  const char *const big[] = { "task1.batch=1000", NULL };
  g_assert_false (run_job (path, big, fresh, FALSE, NULL, NULL, &error));
  g_autofree char *want4 = g_strdup_printf ("%s:17: task train: dataset ", path);
  g_assert_true (g_str_has_prefix (error->message, want4));
  g_clear_error (&error);
  /* it failed before writing: the checkpoint directory it made is gone */
  g_assert_false (g_file_test (fresh, G_FILE_TEST_EXISTS));
  rm_rf (out);
}

static void
keep_message (gpointer data, const char *text)
{
  g_ptr_array_add (data, g_strdup (text));
}

/* weights="PATH" loads a checkpoint's parameters before evaluate, predict,
 * export and train. */
static void
test_run_weights (void)
{
  g_autofree char *path = fixture ("good.xml");
  g_autoptr (GError) error = NULL;
  g_autofree char *out = g_dir_make_tmp ("tl-test-job-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *trained = g_build_filename (out, "trained", NULL);
  const TlMetrics *final = NULL;
  const char *const one_epoch[] = { "task1.epochs=1", "task1.deterministic=true", NULL };
  g_assert_true (run_job (path, one_epoch, trained, FALSE, NULL, &final, &error));
  g_assert_no_error (error);
  /* the evaluate task after train sees the final weights: last.safetensors */
  double trained_loss = tl_metrics_get (final, "loss");

  static const char eval_job[] =
      "<job xmlns='urn:tl:job:1' name='ev'>\n"
      "<dataset id='test' component='tl.synthetic'><set name='n_rows'>64</set><set name='n_features'>4</set>"
      "<set name='split'>1</set></dataset>\n"
      "<model id='m' component='tl.mlp'><set name='input'>features</set><set name='hidden'>16</set></model>\n"
      "<task kind='evaluate' model='m' data='test'/>\n"
      "<task kind='predict' model='m' data='test' out='p.tsv'/>\n"
      "<task kind='export' model='m'/>\n"
      "</job>\n";
  g_autofree char *eval_path = g_build_filename (out, "ev.xml", NULL);
  g_assert_true (g_file_set_contents (eval_path, eval_job, -1, NULL));

  g_autofree char *w_last = g_strdup_printf ("task1.weights=%s/m/last.safetensors", trained);
  const char *const sets[] = { w_last, "task1.deterministic=true", NULL };
  g_autofree char *ev1 = g_build_filename (out, "ev1", NULL);
  g_assert_true (run_job (eval_path, sets, ev1, FALSE, NULL, &final, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (tl_metrics_get (final, "loss"), ==, trained_loss);
  /* the export holds the loaded parameters: it loads as weights= too */
  g_autofree char *w_export = g_strdup_printf ("task1.weights=%s/m.safetensors", ev1);
  const char *const sets2[] = { w_export, "task1.deterministic=true", NULL };
  g_autofree char *ev2 = g_build_filename (out, "ev2", NULL);
  g_assert_true (run_job (eval_path, sets2, ev2, FALSE, NULL, &final, &error));
  g_assert_cmpfloat (tl_metrics_get (final, "loss"), ==, trained_loss);
  g_autoptr (GBytes) p1 = file_bytes (ev1, "p.tsv");
  g_autoptr (GBytes) p2 = file_bytes (ev2, "p.tsv");
  g_assert_true (p1 && p2 && g_bytes_equal (p1, p2));
  /* without weights: the untrained model */
  const char *const sets3[] = { "task1.deterministic=true", NULL };
  g_autofree char *ev3 = g_build_filename (out, "ev3", NULL);
  g_assert_true (run_job (eval_path, sets3, ev3, FALSE, NULL, &final, &error));
  g_assert_cmpfloat (tl_metrics_get (final, "loss"), !=, trained_loss);

  /* a model of another shape: the checkpoint's file and the parameter */
  const char *const sets4[] = { w_last, "m.hidden=8", NULL };
  g_autofree char *ev4 = g_build_filename (out, "ev4", NULL);
  g_assert_false (run_job (eval_path, sets4, ev4, FALSE, NULL, NULL, &error));
  g_autofree char *want = g_strdup_printf ("%s:4: task evaluate: %s/m/last.safetensors: parameter 'fc1.weight' has shape",
                                           eval_path, trained);
  g_assert_true (g_str_has_prefix (error->message, want));
  g_clear_error (&error);

  /* train: a new run from best.safetensors (resume= of it has no optimizer
   * state and says to use weights=) */
  g_autofree char *w_best = g_strdup_printf ("task1.weights=%s/m/best.safetensors", trained);
  const char *const sets5[] = { w_best, "task1.epochs=1", NULL };
  g_autofree char *tuned = g_build_filename (out, "tuned", NULL);
  g_assert_true (run_job (path, sets5, tuned, FALSE, NULL, &final, &error));
  g_assert_no_error (error);
  g_autofree char *r_best = g_strdup_printf ("task1.resume=%s/m/best.safetensors", trained);
  const char *const sets6[] = { r_best, NULL };
  g_autofree char *resumed = g_build_filename (out, "resumed", NULL);
  g_assert_false (run_job (path, sets6, resumed, FALSE, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "the checkpoint has no optimizer state (resume= continues a run"));
  g_assert_nonnull (strstr (error->message, "use weights= instead)"));
  g_clear_error (&error);
  /* both together: resume= wins (so that the --set task1.resume= an
   * interrupted run advises works on a task with weights=), said once */
  g_autofree char *r_last = g_strdup_printf ("task1.resume=%s/m/last.safetensors", trained);
  TlJob *job = tl_job_load (path, &error);
  g_assert_true (tl_job_apply_set (job, w_best, &error));
  g_assert_true (tl_job_apply_set (job, r_last, &error));
  g_assert_true (tl_job_apply_set (job, "task1.epochs=1", &error));
  TlRegistry *reg = registry ();
  g_autoptr (GPtrArray) said = g_ptr_array_new_with_free_func (g_free);
  TlProgress keep = { .message = keep_message, .user_data = said };
  TlJobRunOptions opts;
  tl_job_run_options_init (&opts);
  g_autofree char *both = g_build_filename (out, "both", NULL);
  opts.output_dir = both;
  g_assert_true (tl_job_run (job, reg, &opts, &keep, &error));
  g_assert_no_error (error);
  g_autofree char *ignored = g_strdup_printf ("task1 train: weights= ignored: resuming from %s/m/last.safetensors",
                                              trained);
  g_autofree char *resumed_at = g_strdup_printf ("resumed from %s/m/last.safetensors at step ", trained);
  guint n_ignored = 0, n_resumed = 0, n_loaded = 0;
  for (guint i = 0; i < said->len; i++) {
    const char *m = said->pdata[i];
    n_ignored += g_str_equal (m, ignored);
    n_resumed += g_str_has_prefix (m, resumed_at);
    n_loaded += strstr (m, "parameters loaded from") != NULL;
  }
  g_assert_cmpuint (n_ignored, ==, 1);
  g_assert_cmpuint (n_resumed, ==, 1);
  g_assert_cmpuint (n_loaded, ==, 0);
  tl_job_free (job);
  tl_registry_free (reg);
  rm_rf (out);
}

/* Interrupted before any output was written. */
static void
test_run_interrupted_early (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *out = g_dir_make_tmp ("tl-test-job-XXXXXX", &error);
  g_assert_no_error (error);
  TlJob *job = tl_job_parse ("<job xmlns='urn:tl:job:1' name='ev'>\n"
                             "<dataset id='d' component='tl.synthetic'><set name='n_rows'>256</set></dataset>\n"
                             "<model id='m' component='tl.mlp'><set name='input'>features</set></model>\n"
                             "<task kind='evaluate' model='m' data='d' batch='8'/>\n</job>",
                             -1, "ev.xml", &error);
  g_assert_no_error (error);
  TlRegistry *reg = registry ();
  Counts counts = { .cancel_job = job };
  TlProgress progress = { .begin = on_begin, .step = on_step, .user_data = &counts };
  TlJobRunOptions opts;
  tl_job_run_options_init (&opts);
  opts.output_dir = out;
  g_assert_false (tl_job_run (job, reg, &opts, &progress, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_CANCELLED);
  g_assert_cmpstr (error->message, ==, "interrupted before anything was written");
  tl_job_free (job);
  tl_registry_free (reg);
  rm_rf (out);
}

/* Cancels the job at the first step of the nth begin of `phase`, or at
 * its end (at_end: between this task and the next). */
typedef struct {
  TlJob *job;
  const char *phase;
  guint nth, seen;
  gboolean at_end;
} Stopper;

static void
stopper_begin (gpointer data, const char *phase, gint64 total)
{
  Stopper *s = data;
  s->seen += g_str_equal (phase, s->phase);
}

static void
stopper_step (gpointer data, gint64 step, const TlMetrics *m)
{
  Stopper *s = data;
  if (!s->at_end && s->seen == s->nth)
    tl_job_cancel (s->job);
}

static void
stopper_end (gpointer data, const char *phase)
{
  Stopper *s = data;
  if (s->at_end && s->seen == s->nth && g_str_equal (phase, s->phase))
    tl_job_cancel (s->job);
}

/* Runs the job at path into out (quiet), cancelled by s; error may be NULL. */
static gboolean
run_stopped (const char *path, const char *out, Stopper *s, GError **error)
{
  TlJob *job = tl_job_load (path, NULL);
  g_assert_nonnull (job);
  TlRegistry *reg = registry ();
  TlJobRunOptions opts;
  tl_job_run_options_init (&opts);
  opts.output_dir = out;
  opts.quiet = 1;
  s->job = job;
  s->seen = 0;
  TlProgress progress = { .begin = stopper_begin, .step = stopper_step, .end = stopper_end, .user_data = s };
  gboolean ok = tl_job_run (job, reg, &opts, &progress, error);
  tl_job_free (job);
  tl_registry_free (reg);
  return ok;
}

/* The "taskK.resume=FILE" of each " --set " in an interrupted message. */
static char **
advised_sets (const char *msg)
{
  const char *p = strstr (msg, " --set ");
  g_assert_nonnull (p);
  return g_strsplit (p + strlen (" --set "), " --set ", -1);
}

static const char two_trains_job[] =
    "<job xmlns='urn:tl:job:1' name='two'>\n"
    "<dataset id='d' component='tl.synthetic'><set name='n_rows'>256</set><set name='n_features'>4</set></dataset>\n"
    "<model id='m' component='tl.mlp'><set name='input'>features</set><set name='hidden'>8</set></model>\n"
    "<model id='m2' component='tl.mlp'><set name='input'>features</set><set name='hidden'>8</set></model>\n"
    "<task kind='train' model='m' data='d' epochs='1' batch='32'/>\n"
    "<task kind='evaluate' model='m' data='d'/>\n"
    "<task kind='train' model='m2' data='d' epochs='2' batch='32'/>\n"
    "</job>\n";

/* A temporary directory holding two.xml (two_trains_job); *path: the job. */
static char *
two_trains_dir (char **path)
{
  g_autoptr (GError) error = NULL;
  char *out = g_dir_make_tmp ("tl-test-job-XXXXXX", &error);
  g_assert_no_error (error);
  *path = g_build_filename (out, "two.xml", NULL);
  g_assert_true (g_file_set_contents (*path, two_trains_job, -1, NULL));
  return out;
}

/* tl_job_run with error == NULL, cancelled between tasks: FALSE, no crash. */
static void
test_run_cancelled_null_error (void)
{
  g_autofree char *path = NULL;
  g_autofree char *out = two_trains_dir (&path);
  g_autofree char *o = g_build_filename (out, "o", NULL);
  Stopper after_task1 = { .phase = "train", .nth = 1, .at_end = TRUE };
  g_assert_false (run_stopped (path, o, &after_task1, NULL));
  g_autofree char *m_last = g_build_filename (o, "m", "last.safetensors", NULL);
  g_assert_true (g_file_test (m_last, G_FILE_TEST_IS_REGULAR));
  g_autofree char *m2_last = g_build_filename (o, "m2", "last.safetensors", NULL);
  g_assert_false (g_file_test (m2_last, G_FILE_TEST_EXISTS));
  rm_rf (out);
}

/* Interrupted in a later task: the advice resumes every train task whose
 * checkpoint directory holds last.safetensors (the rerun passes the check
 * of earlier checkpoints and goes on); the step comes from the header
 * alone. */
static void
test_run_interrupted_later (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *out = two_trains_dir (&path);

  /* in task3 (train m2), after its first step */
  g_autofree char *o1 = g_build_filename (out, "o1", NULL);
  Stopper in_task3 = { .phase = "train", .nth = 2 };
  safetensors_reads = 0;
  g_assert_false (run_stopped (path, o1, &in_task3, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_CANCELLED);
  g_assert_cmpuint (safetensors_reads, ==, 0);
  g_autofree char *want = g_strdup_printf ("interrupted in task3 after step 1; continue with --set "
                                           "task1.resume=%s/m/last.safetensors --set task3.resume=%s/m2/last.safetensors",
                                           o1, o1);
  g_assert_cmpstr (error->message, ==, want);
  g_auto (GStrv) sets = advised_sets (error->message);
  g_clear_error (&error);
  const TlMetrics *final = NULL;
  g_assert_true (run_job (path, (const char *const *) sets, o1, FALSE, NULL, &final, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (final->n, >, 0);

  /* between task1 and task2: how to go on, and going on works */
  g_autofree char *o3 = g_build_filename (out, "o3", NULL);
  Stopper after_task1 = { .phase = "train", .nth = 1, .at_end = TRUE };
  g_assert_false (run_stopped (path, o3, &after_task1, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_CANCELLED);
  g_autofree char *want3 = g_strdup_printf ("interrupted before task2 (evaluate); the outputs of the tasks before "
                                            "it are in %s; to go on, run the job again with --set "
                                            "task1.resume=%s/m/last.safetensors", o3, o3);
  g_assert_cmpstr (error->message, ==, want3);
  g_auto (GStrv) sets3 = advised_sets (error->message);
  g_clear_error (&error);
  g_assert_true (run_job (path, (const char *const *) sets3, o3, FALSE, NULL, NULL, &error));
  g_assert_no_error (error);

  /* in task2 (evaluate): task1's checkpoint is advised too */
  g_autofree char *o4 = g_build_filename (out, "o4", NULL);
  Stopper in_task2 = { .phase = "evaluate", .nth = 1 };
  g_assert_false (run_stopped (path, o4, &in_task2, &error));
  g_autofree char *want4 = g_strdup_printf ("interrupted in task2 (evaluate); the outputs of the tasks before "
                                            "it are in %s; to go on, run the job again with --set "
                                            "task1.resume=%s/m/last.safetensors", o4, o4);
  g_assert_cmpstr (error->message, ==, want4);
  g_clear_error (&error);
  rm_rf (out);
}

/* A registry that does not scan does not read TL_PLUGIN_PATH, so it has
 * nothing to say about a file there. */
static void
test_registry_no_scan_path_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tl-test-job-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *file = g_build_filename (dir, "x.tlplugin.xml", NULL);
  g_assert_true (g_file_set_contents (file, "", 0, NULL));
  g_autofree char *saved = g_strdup (g_getenv ("TL_PLUGIN_PATH"));
  g_setenv ("TL_PLUGIN_PATH", file, TRUE);
  for (guint scan = 0; scan < 2; scan++) {
    TlRegistryOptions opts = { .no_probe = 1, .no_cache = 1, .no_scan = !scan };
    TlRegistry *reg = tl_registry_new (&opts, &error);
    g_assert_no_error (error);
    guint n = 0;
    for (const char *const *w = tl_registry_warnings (reg); w && *w; w++)
      n += strstr (*w, "TL_PLUGIN_PATH entry") != NULL;
    g_assert_cmpuint (n, ==, scan);
    tl_registry_free (reg);
  }
  if (saved)
    g_setenv ("TL_PLUGIN_PATH", saved, TRUE);
  else
    g_unsetenv ("TL_PLUGIN_PATH");
  rm_rf (dir);
}

static void
ignore_rng_message (void *ctx, const char *fmt, ...)
{
}

/* sdk-headers/schema/tl-job.rng compiles and agrees with the parser on the
 * fixtures. */
static void
test_schema (void)
{
  g_autofree char *rng = g_build_filename (TL_SRCDIR, "sdk-headers", "schema", "tl-job.rng", NULL);
  xmlRelaxNGParserCtxtPtr pctx = xmlRelaxNGNewParserCtxt (rng);
  xmlRelaxNGPtr schema = xmlRelaxNGParse (pctx);
  xmlRelaxNGFreeParserCtxt (pctx);
  g_assert_nonnull (schema);
  static const struct {
    const char *file;
    gboolean valid;
  } cases[] = {
    { "tests/data/jobs/good.xml", TRUE },          { "tests/data/jobs/plan.xml", TRUE },
    { "tests/data/jobs/overlay-swap.xml", TRUE },  { "examples/hello-plugin/job.xml", TRUE },
    { "tests/data/jobs/structure.xml", FALSE },    { "tests/data/jobs/bad.xml", FALSE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *path = g_build_filename (TL_SRCDIR, cases[i].file, NULL);
    xmlDocPtr doc = xmlReadFile (path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    g_assert_nonnull (doc);
    xmlRelaxNGValidCtxtPtr vctx = xmlRelaxNGNewValidCtxt (schema);
    xmlRelaxNGSetValidErrors (vctx, ignore_rng_message, ignore_rng_message, NULL);
    int rc = xmlRelaxNGValidateDoc (vctx, doc);
    xmlRelaxNGFreeValidCtxt (vctx);
    xmlFreeDoc (doc);
    if ((rc == 0) != cases[i].valid)
      g_error ("%s: schema says %s", cases[i].file, rc == 0 ? "valid" : "invalid");
  }
  xmlRelaxNGFree (schema);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/job/parse", test_parse_good);
  g_test_add_func ("/job/structure-errors", test_structure_errors);
  g_test_add_func ("/job/hostile", test_hostile);
  g_test_add_func ("/job/overlay", test_overlay_swap);
  g_test_add_func ("/job/overlay-swap-hint", test_overlay_swap_hint);
  g_test_add_func ("/job/overlay-unknown-use", test_overlay_unknown_use);
  g_test_add_func ("/job/set", test_set);
  g_test_add_func ("/job/validate-all-errors", test_validate_all_errors);
  g_test_add_func ("/job/validate-misc", test_validate_misc);
  g_test_add_func ("/job/cluster", test_cluster_reference);
  g_test_add_func ("/job/run", test_run);
  g_test_add_func ("/job/run-keeps-checkpoints", test_run_keeps_checkpoints);
  g_test_add_func ("/job/run-early-checks", test_run_early_checks);
  g_test_add_func ("/job/run-weights", test_run_weights);
  g_test_add_func ("/job/run-interrupted-early", test_run_interrupted_early);
  g_test_add_func ("/job/run-cancelled-null-error", test_run_cancelled_null_error);
  g_test_add_func ("/job/run-interrupted-later", test_run_interrupted_later);
  g_test_add_func ("/job/registry-no-scan-path-file", test_registry_no_scan_path_file);
  g_test_add_func ("/job/schema", test_schema);
  return g_test_run ();
}
