/* test-job.c — job manifests: parsing, overlays, --set, hostile XML,
 * validation reporting every error with FILE:LINE and did-you-mean. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
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

  /* Ctrl-C: cancelled after the first step, checkpoints written so far stay */
  tl_job_free (job);
  job = tl_job_load (path, &error);
  g_assert_true (tl_job_apply_set (job, "task1.epochs=50", &error));
  memset (&counts, 0, sizeof counts);
  counts.cancel_job = job;
  g_assert_false (tl_job_run (job, reg, &opts, &progress, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_CANCELLED);
  g_assert_cmpuint (counts.steps, <, 50 * 8);
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
  g_test_add_func ("/job/schema", test_schema);
  return g_test_run ();
}
