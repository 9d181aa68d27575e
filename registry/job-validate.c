/* job-validate.c — check a job against the registry (manifests only, no
 * plugin code) and the built-in task schema. Every problem is collected and
 * reported at once, one "FILE:LINE: ..." line each. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "tl-private.h"
#include "registry-private.h"
#include "job-private.h"

/* --- the task schema --------------------------------------------------------- */

enum {
  K_TRAIN = 1 << 0,
  K_EVALUATE = 1 << 1,
  K_PREDICT = 1 << 2,
  K_EXPORT = 1 << 3,
  K_PLAN = 1 << 4,
  K_SIMULATE = 1 << 5,
  K_BENCH = 1 << 6,
  K_ALL = 0x7f
};

/* Append one problem (or a part of one) to `errs`: values from the job may
 * hold control characters, which are escaped so that every problem stays
 * on its line (the lines are sorted afterwards). A final '\n' is kept. */
static void
errs_printf (GString *errs, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static void
errs_printf (GString *errs, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *raw = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  gsize len = strlen (raw);
  gboolean nl = len > 0 && raw[len - 1] == '\n';
  if (nl)
    raw[len - 1] = '\0';
  g_autofree char *esc = _tl_priv_escape_controls (raw);
  g_string_append (errs, esc);
  if (nl)
    g_string_append_c (errs, '\n');
}

static const char *const task_kinds[] = { "train", "evaluate", "predict", "export", "plan",
                                          "simulate", "bench", NULL };

typedef enum {
  A_INT,
  A_FLOAT,
  A_BOOL,
  A_STRING,
  A_CHOICE,
  A_MODEL,   /* id of a <model> */
  A_DATA,    /* id of a <dataset> */
  A_PLANNER, /* id of a <planner> */
  A_PLANNERS, /* comma-separated ids of <planner>s */
  A_PATH,    /* file (relative to the job file) */
  A_OUTPUT,  /* file name inside the output directory */
  A_DEVICE
} AttrType;

typedef struct {
  const char *name;
  AttrType type;
  guint kinds;       /* K_* where the attribute applies */
  guint required;    /* K_* where it must be present */
  double min, max;   /* inclusive bounds of numbers */
  const char *choices;
} TaskAttr;

#define TRAINISH (K_TRAIN)
#define WITH_DATA (K_TRAIN | K_EVALUATE | K_PREDICT | K_EXPORT | K_PLAN | K_SIMULATE | K_BENCH)
#define BIG 1e15

static const TaskAttr task_schema[] = {
  { "model", A_MODEL, K_ALL, K_TRAIN | K_EVALUATE | K_PREDICT | K_EXPORT | K_PLAN, 0, 0, NULL },
  { "data", A_DATA, WITH_DATA, K_TRAIN | K_EVALUATE | K_PREDICT | K_PLAN, 0, 0, NULL },
  { "eval", A_DATA, K_TRAIN, 0, 0, 0, NULL },
  { "planner", A_PLANNER, K_PLAN | K_SIMULATE | K_BENCH, 0, 0, 0, NULL },
  { "planners", A_PLANNERS, K_TRAIN | K_EVALUATE | K_PREDICT, 0, 0, 0, NULL },
  { "out", A_OUTPUT, K_PREDICT | K_EXPORT | K_PLAN | K_SIMULATE | K_BENCH, 0, 0, 0, NULL },
  { "epochs", A_INT, TRAINISH, 0, 1, 1e9, NULL },
  { "steps", A_INT, TRAINISH | K_SIMULATE | K_BENCH, 0, 0, BIG, NULL },
  { "batch", A_INT, WITH_DATA, 0, 1, 1 << 24, NULL },
  { "optimizer", A_CHOICE, TRAINISH, 0, 0, 0, "sgd,adam,adamw,lamb" },
  { "lr", A_FLOAT, TRAINISH, 0, 0, 1e3, NULL },
  { "momentum", A_FLOAT, TRAINISH, 0, 0, 1, NULL },
  { "nesterov", A_BOOL, TRAINISH, 0, 0, 0, NULL },
  { "weight_decay", A_FLOAT, TRAINISH, 0, 0, 1e3, NULL },
  { "beta1", A_FLOAT, TRAINISH, 0, 0, 1, NULL },
  { "beta2", A_FLOAT, TRAINISH, 0, 0, 1, NULL },
  { "eps", A_FLOAT, TRAINISH, 0, 0, 1, NULL },
  { "schedule", A_CHOICE, TRAINISH, 0, 0, 0, "constant,linear,cosine" },
  { "warmup", A_INT, TRAINISH, 0, 0, BIG, NULL },
  { "clip_norm", A_FLOAT, TRAINISH, 0, 0, BIG, NULL },
  { "accum", A_INT, TRAINISH, 0, 1, 1 << 20, NULL },
  { "drop_last", A_BOOL, TRAINISH, 0, 0, 0, NULL },
  { "eval_every", A_INT, TRAINISH, 0, 0, BIG, NULL },
  { "select", A_STRING, TRAINISH, 0, 0, 0, NULL },
  { "patience", A_INT, TRAINISH, 0, 0, BIG, NULL },
  { "seed", A_INT, K_ALL, 0, 0, 9007199254740992.0, NULL },
  { "shuffle", A_BOOL, TRAINISH, 0, 0, 0, NULL },
  { "deterministic", A_BOOL, K_ALL, 0, 0, 0, NULL },
  { "threads", A_INT, K_ALL, 0, 0, 4096, NULL },
  { "device", A_DEVICE, K_ALL, 0, 0, 0, NULL },
  { "checkpoint_every", A_INT, TRAINISH, 0, 0, BIG, NULL },
  { "resume", A_PATH, TRAINISH, 0, 0, 0, NULL },
  { "weights", A_PATH, K_TRAIN | K_EVALUATE | K_PREDICT | K_EXPORT, 0, 0, 0, NULL },
  { "repeats", A_INT, K_BENCH, 0, 1, 1e6, NULL },
};

static guint
kind_bit (const char *kind)
{
  for (guint i = 0; task_kinds[i]; i++)
    if (g_str_equal (kind, task_kinds[i]))
      return 1u << i;
  return 0;
}

static const TaskAttr *
find_task_attr (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (task_schema); i++)
    if (g_str_equal (task_schema[i].name, name))
      return &task_schema[i];
  return NULL;
}

static void
append_hint (GString *errs, const char *name, const char *const *cands, guint n)
{
  const char *hint = _tl_priv_did_you_mean (name, cands, n);
  if (hint)
    errs_printf (errs, " (did you mean '%s'?)", hint);
}

static gboolean
parse_bool (const char *v)
{
  static const char *const ok[] = { "true", "false", "1", "0", "yes", "no", NULL };
  return g_strv_contains (ok, v);
}

/* `id`, the value of attribute `a` (shown escaped as `ev`) or one item of
 * that list, must name a component of kind `want`. */
static void
check_component_ref (TlJob *job, const char *loc, const char *kind, const TaskAttr *a, const char *ev,
                     const char *id, TlComponentKind want, GString *errs)
{
  const char *what = want == TL_COMPONENT_MODEL ? "model" : want == TL_COMPONENT_DATASET ? "dataset" : "planner";
  g_autofree char *eid = _tl_priv_escape_short (id);
  JobComponent *c = _tl_priv_job_find_component (job, id);
  if (!c) {
    g_auto (GStrv) ids = _tl_priv_job_ids (job, want);
    errs_printf (errs, "%s: task %s: %s=\"%s\": no %s with id '%s'", loc, kind, a->name, ev, what, eid);
    append_hint (errs, id, (const char *const *) ids, g_strv_length (ids));
    g_string_append_c (errs, '\n');
  } else if (c->kind != want) {
    if (g_str_equal (eid, ev))
      errs_printf (errs, "%s: task %s: %s=\"%s\" is a %s, not a %s\n", loc, kind, a->name, ev,
                   tl_component_kind_name (c->kind), what);
    else
      errs_printf (errs, "%s: task %s: %s=\"%s\": '%s' is a %s, not a %s\n", loc, kind, a->name, ev, eid,
                   tl_component_kind_name (c->kind), what);
  }
}

/* Check one expanded value of a task attribute; append problems. */
static void
check_task_value (TlJob *job, const char *loc, const char *kind, const TaskAttr *a, const char *v,
                  GString *errs)
{
  char *end = NULL;
  /* the value as shown: a 10000-character --set stays a readable line */
  g_autofree char *ev = _tl_priv_escape_short (v);
  switch (a->type) {
  case A_INT: {
    errno = 0;
    gint64 x = g_ascii_strtoll (v, &end, 10);
    if (end == v || *end || errno)
      errs_printf (errs, "%s: task %s: %s=\"%s\" is not an integer\n", loc, kind, a->name, ev);
    else if ((double) x < a->min || (double) x > a->max)
      errs_printf (errs, "%s: task %s: %s=%s is out of range [%.15g, %.15g]\n", loc, kind,
                   a->name, ev, a->min, a->max);
    break;
  }
  case A_FLOAT: {
    errno = 0;
    double x = g_ascii_strtod (v, &end);
    if (end == v || *end || errno || !isfinite (x))
      errs_printf (errs, "%s: task %s: %s=\"%s\" is not a number\n", loc, kind, a->name, ev);
    else if (x < a->min || x > a->max)
      errs_printf (errs, "%s: task %s: %s=%s is out of range [%g, %g]\n", loc, kind, a->name,
                   ev, a->min, a->max);
    else if (g_str_equal (a->name, "lr") && x <= 0)
      errs_printf (errs, "%s: task %s: lr=%s must be positive\n", loc, kind, ev);
    break;
  }
  case A_BOOL:
    if (!parse_bool (v))
      errs_printf (errs, "%s: task %s: %s=\"%s\" is not a boolean (true/false)\n", loc, kind,
                   a->name, ev);
    break;
  case A_CHOICE: {
    g_auto (GStrv) choices = g_strsplit (a->choices, ",", -1);
    if (!g_strv_contains ((const char *const *) choices, v)) {
      errs_printf (errs, "%s: task %s: %s=\"%s\" is not one of %s", loc, kind, a->name, ev,
                   a->choices);
      append_hint (errs, v, (const char *const *) choices, g_strv_length (choices));
      g_string_append_c (errs, '\n');
    }
    break;
  }
  case A_MODEL:
  case A_DATA:
  case A_PLANNER: {
    TlComponentKind want = a->type == A_MODEL ? TL_COMPONENT_MODEL
                           : a->type == A_DATA ? TL_COMPONENT_DATASET
                                               : TL_COMPONENT_PLANNER;
    check_component_ref (job, loc, kind, a, ev, v, want, errs);
    break;
  }
  case A_PLANNERS: {
    /* "p" or "p,q": applied in that order (job-run.c planners_hook); ""
     * names none (an overlay or --set cannot remove the attribute) */
    g_auto (GStrv) ids = g_strsplit (v, ",", -1);
    for (guint i = 0; ids[i]; i++) {
      g_strstrip (ids[i]);
      if (!*ids[i])
        errs_printf (errs, "%s: task %s: %s=\"%s\": empty planner id (write ids separated by commas)\n", loc,
                     kind, a->name, ev);
      else
        check_component_ref (job, loc, kind, a, ev, ids[i], TL_COMPONENT_PLANNER, errs);
    }
    break;
  }
  case A_OUTPUT:
    if (!*v || g_path_is_absolute (v) || strstr (v, ".."))
      errs_printf (errs, "%s: task %s: %s=\"%s\" must be a relative file name inside the output directory\n",
                   loc, kind, a->name, ev);
    break;
  case A_DEVICE:
    if (!g_str_equal (v, "cpu") && !g_str_equal (v, "cuda") && !g_str_has_prefix (v, "cuda:"))
      errs_printf (errs, "%s: task %s: device=\"%s\" is not cpu, cuda or cuda:N\n", loc, kind, ev);
    break;
  case A_STRING:
  case A_PATH:
  default:
    break;
  }
}

static void
validate_task (TlJob *job, guint index, JobTask *t, GString *errs)
{
  guint bit = kind_bit (t->kind);
  if (!bit) {
    g_autofree char *ekind = _tl_priv_escape_short (t->kind);
    errs_printf (errs, "%s: unknown task kind '%s' (train, evaluate, predict, export, plan, simulate, bench)",
                 t->loc, ekind);
    append_hint (errs, t->kind, task_kinds, g_strv_length ((char **) task_kinds));
    g_string_append_c (errs, '\n');
    return;
  }
  if (t->values)
    g_hash_table_unref (t->values);
  t->values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  for (guint i = 0; i < t->attrs->len; i++) {
    JobSet *s = t->attrs->pdata[i];
    const TaskAttr *a = find_task_attr (s->name);
    if (!a || !(a->kinds & bit)) {
      if (a) {
        errs_printf (errs, "%s: task %s (task%u) does not use attribute '%s'\n", s->loc,
                     t->kind, index + 1, s->name);
        continue;
      }
      const char *cands[G_N_ELEMENTS (task_schema)];
      guint n = 0;
      for (guint k = 0; k < G_N_ELEMENTS (task_schema); k++)
        if (task_schema[k].kinds & bit)
          cands[n++] = task_schema[k].name;
      g_autofree char *ename = _tl_priv_escape_short (s->name);
      errs_printf (errs, "%s: task %s (task%u): unknown attribute '%s'", s->loc, t->kind,
                   index + 1, ename);
      append_hint (errs, s->name, cands, n);
      g_string_append_c (errs, '\n');
      continue;
    }
    GError *local = NULL;
    char *v = _tl_priv_job_expand (s, a->type == A_PATH, &local);
    if (!v) {
      errs_printf (errs, "%s: task %s: %s: %s\n", s->loc, t->kind, s->name, local->message);
      g_error_free (local);
      continue;
    }
    check_task_value (job, s->loc, t->kind, a, v, errs);
    g_hash_table_replace (t->values, g_strdup (s->name), v);
  }
  for (guint k = 0; k < G_N_ELEMENTS (task_schema); k++) {
    const TaskAttr *a = &task_schema[k];
    if ((a->required & bit) && !_tl_priv_job_set_find (t->attrs, a->name))
      errs_printf (errs, "%s: task %s (task%u) needs attribute '%s'\n", t->loc, t->kind,
                   index + 1, a->name);
  }
  /* train with weights= and resume=: resume= wins (job-run.c load_weights),
   * so that the "--set taskN.resume=" an interrupted run advises works on
   * a task that starts from weights= (--set cannot remove an attribute) */
  if ((bit & (K_SIMULATE | K_BENCH)) && !_tl_priv_job_set_find (t->attrs, "model") &&
      !_tl_priv_job_set_find (t->attrs, "planner"))
    errs_printf (errs, "%s: task %s (task%u) needs a 'planner' or a 'model' attribute\n",
                 t->loc, t->kind, index + 1);
}

/* --- components ------------------------------------------------------------ */

static gboolean
allowed_plugin (TlJob *job, const char *plugin_id)
{
  if (job->allow->len == 0 || g_str_equal (plugin_id, "tl"))
    return TRUE;
  for (guint i = 0; i < job->allow->len; i++)
    if (g_str_equal (((JobSet *) job->allow->pdata[i])->name, plugin_id))
      return TRUE;
  return FALSE;
}

/* Non-NULL when `line` (from tl_component_info_make_params) says that a
 * setting made before an overlay's <use> swapped the component (without
 * reset="true") is not known to the new component. */
static const char *
swap_hint (const JobComponent *c, const TlComponentInfo *ci, const char *line)
{
  if (!c->swap_loc)
    return NULL;
  for (guint i = 0; i < c->sets->len; i++) {
    const JobSet *s = c->sets->pdata[i];
    if (!s->before_swap || tl_component_info_find_param (ci, s->name))
      continue;
    g_autofree char *ename = _tl_priv_escape_short (s->name);
    g_autofree char *prefix = g_strdup_printf ("%s: parameter '%s' is not known to component", s->loc,
                                               ename);
    if (g_str_has_prefix (line, prefix))
      return c->swap_loc;
  }
  return NULL;
}

static void
validate_component (TlJob *job, TlRegistry *reg, JobComponent *c, GString *errs)
{
  GError *local = NULL;
  c->info = NULL;
  g_clear_pointer (&c->params, tl_params_free);
  const TlComponentInfo *ci = tl_registry_find_component (reg, c->component, &local);
  if (!ci) {
    errs_printf (errs, "%s: %s '%s': %s\n", c->loc, tl_component_kind_name (c->kind), c->id,
                 local->message);
    g_error_free (local);
    return;
  }
  if (tl_component_info_kind (ci) != c->kind) {
    errs_printf (errs, "%s: '%s' is a%s %s component, not a %s\n", c->loc, c->component,
                 tl_component_info_kind (ci) == TL_COMPONENT_OP ? "n" : "",
                 tl_component_kind_name (tl_component_info_kind (ci)),
                 tl_component_kind_name (c->kind));
    return;
  }
  const TlPluginInfo *pi = tl_component_info_plugin (ci);
  const char *plugin_id = tl_plugin_info_id (pi);
  if (!allowed_plugin (job, plugin_id)) {
    errs_printf (errs, "%s: plugin '%s' (of '%s') is not in the job's allow-list\n", c->loc,
                 plugin_id, c->component);
    return;
  }
  TlPluginStatus st = tl_plugin_info_status (pi);
  if (st == TL_PLUGIN_STATUS_SKIPPED || st == TL_PLUGIN_STATUS_NOT_ALLOWED) {
    const char *why = tl_plugin_info_skip_reason (pi);
    errs_printf (errs, "%s: plugin '%s' is %s%s%s\n", c->loc, plugin_id,
                 tl_plugin_status_name (st), why ? ": " : "", why ? why : "");
    return;
  }

  guint n = c->sets->len;
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  g_autoptr (GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) locs = g_ptr_array_new ();
  gboolean expand_failed = FALSE;
  for (guint i = 0; i < n; i++) {
    JobSet *s = c->sets->pdata[i];
    const TlParamSpec *spec = tl_component_info_find_param (ci, s->name);
    gboolean is_path = spec && tl_param_spec_type (spec) == TL_PARAM_PATH;
    char *v = _tl_priv_job_expand (s, is_path, &local);
    if (!v) {
      /* path parameters: tl_component_info_make_params expands and
       * reports them itself (same location) */
      if (!is_path) {
        errs_printf (errs, "%s: %s.%s: %s\n", s->loc, c->id, s->name, local->message);
        expand_failed = TRUE;
      }
      g_clear_error (&local);
      v = g_strdup (s->value); /* still checked: no spurious "required" */
    }
    g_ptr_array_add (names, s->name);
    g_ptr_array_add (values, v);
    g_ptr_array_add (locs, s->loc);
  }
  TlParams *params = tl_component_info_make_params (ci, names->len, (const char *const *) names->pdata,
                                                    (const char *const *) values->pdata,
                                                    (const char *const *) locs->pdata, &local);
  if (!params) {
    /* make_params prefixes its lines with our locations; requirement
     * messages without one get the component's location. */
    g_auto (GStrv) lines = g_strsplit (local->message, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
      if (!*lines[i])
        continue;
      const char *swap = swap_hint (c, ci, lines[i]);
      if (g_str_has_prefix (lines[i], job->path) || g_str_has_prefix (lines[i], "--set") ||
          strstr (lines[i], ".xml:"))
        errs_printf (errs, "%s", lines[i]);
      else
        errs_printf (errs, "%s: %s", c->loc, lines[i]);
      if (swap)
        errs_printf (errs, " (the overlay %s swapped '%s' to '%s'; add reset=\"true\" to its <use> to "
                     "drop the job's settings)", c->swap_loc, c->id, c->component);
      g_string_append_c (errs, '\n');
    }
    g_clear_error (&local);
    return;
  }
  if (expand_failed) {
    tl_params_free (params);
    return;
  }
  c->info = ci;
  c->params = params;
}

/* "FILE:LINE: ..." -> LINE; G_MAXINT64 for lines without one ("--set ..."). */
static gint64
line_number (const char *l, gsize *file_len)
{
  for (const char *p = strchr (l, ':'); p; p = strchr (p + 1, ':')) {
    if (!g_ascii_isdigit (p[1]))
      continue;
    char *end = NULL;
    gint64 n = g_ascii_strtoll (p + 1, &end, 10);
    if (*end == ':') {
      *file_len = (gsize) (p - l);
      return n;
    }
  }
  *file_len = strlen (l);
  return G_MAXINT64;
}

static gint
compare_lines (gconstpointer a, gconstpointer b)
{
  const char *x = *(const char *const *) a, *y = *(const char *const *) b;
  gsize lx, ly;
  gint64 nx = line_number (x, &lx), ny = line_number (y, &ly);
  int c = strncmp (x, y, MIN (lx, ly));
  if (nx == G_MAXINT64 || ny == G_MAXINT64 || c != 0 || lx != ly)
    return (nx == G_MAXINT64) - (ny == G_MAXINT64); /* located lines first, else keep order */
  return nx < ny ? -1 : nx > ny;
}

/* Messages in file order (stable: same line keeps the order found). */
static char *
sort_lines (const char *text)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr (GPtrArray) arr = g_ptr_array_new ();
  for (guint i = 0; lines[i]; i++)
    g_ptr_array_add (arr, lines[i]);
  g_ptr_array_sort (arr, compare_lines);
  g_ptr_array_add (arr, NULL);
  return g_strjoinv ("\n", (char **) arr->pdata);
}

/**
 * tl_job_validate:
 * @job: a job
 * @reg: the registry to resolve components in
 * @error: return location for a #GError
 *
 * Resolves every component (manifests only), checks kinds and the
 * allow-list, validates every <set> against the component's parameter
 * schema, every task against the task schema (types, ranges, known names
 * with did-you-mean, references to existing ids) and loads the cluster file.
 * All problems are reported, one "FILE:LINE: ..." line each, in one
 * TL_ERROR_INVALID_ARGUMENT error.
 *
 * Returns: TRUE when the job is valid.
 */
gboolean
tl_job_validate (TlJob *job, TlRegistry *reg, GError **error)
{
  g_return_val_if_fail (job != NULL && reg != NULL, FALSE);
  g_autoptr (GString) errs = g_string_new (NULL);
  job->validated = FALSE;

  for (guint i = 0; i < job->components->len; i++)
    validate_component (job, reg, job->components->pdata[i], errs);
  for (guint i = 0; i < job->tasks->len; i++)
    validate_task (job, i, job->tasks->pdata[i], errs);
  if (job->tasks->len == 0)
    errs_printf (errs, "%s: the job has no <task>\n", job->path);
  for (guint i = 0; i < job->allow->len; i++) {
    JobSet *s = job->allow->pdata[i];
    if (!tl_registry_find_plugin (reg, s->name)) {
      g_autofree char *ename = _tl_priv_escape_short (s->name);
      g_autofree char *why = _tl_priv_no_plugin_message (s->name);
      errs_printf (errs, "%s: <allow plugin=\"%s\">: %s\n", s->loc, ename, why);
    }
  }
  if (job->cluster) {
    GError *local = NULL;
    g_clear_pointer (&job->cluster_resolved, g_free);
    job->cluster_resolved = _tl_priv_job_expand (job->cluster, TRUE, &local);
    TlCluster *cl = job->cluster_resolved ? tl_cluster_load (job->cluster_resolved, &local) : NULL;
    if (!cl) {
      /* the cluster reader reports every problem, one per line */
      g_auto (GStrv) lines = g_strsplit (local->message, "\n", -1);
      for (guint i = 0; lines[i]; i++)
        if (*lines[i])
          errs_printf (errs, "%s: <cluster>: %s\n", job->cluster->loc, lines[i]);
      g_error_free (local);
    }
    tl_cluster_free (cl);
  }

  if (errs->len > 0) {
    g_string_truncate (errs, errs->len - 1);
    g_autofree char *sorted = sort_lines (errs->str);
    g_set_error_literal (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, sorted);
    return FALSE;
  }
  job->validated = TRUE;
  job->validated_with = reg;
  return TRUE;
}
