/* job.c — job manifests (urn:tl:job:1): parsing with the hardened XML
 * reader, overlays, --set assignments and accessors. Validation against
 * the registry is in job-validate.c, running in job-run.c. */
#include "config.h"

#include <string.h>

#include "tl-private.h"
#include "xml-private.h"
#include "registry-private.h"
#include "job-private.h"

/* --- small helpers --------------------------------------------------------- */

static JobSet *
job_set_new (const char *name, const char *value, const char *loc, const char *base_dir)
{
  JobSet *s = g_new0 (JobSet, 1);
  s->name = g_strdup (name);
  s->value = g_strdup (value);
  s->loc = g_strdup (loc);
  s->base_dir = g_strdup (base_dir);
  return s;
}

static void
job_set_free (gpointer p)
{
  JobSet *s = p;
  if (!s)
    return;
  g_free (s->name);
  g_free (s->value);
  g_free (s->loc);
  g_free (s->base_dir);
  g_free (s);
}

static void
job_component_free (gpointer p)
{
  JobComponent *c = p;
  g_free (c->id);
  g_free (c->component);
  g_free (c->loc);
  g_free (c->swap_loc);
  g_ptr_array_unref (c->sets);
  tl_params_free (c->params);
  g_free (c);
}

static void
job_task_free (gpointer p)
{
  JobTask *t = p;
  g_free (t->kind);
  g_free (t->loc);
  g_ptr_array_unref (t->attrs);
  if (t->values)
    g_hash_table_unref (t->values);
  g_free (t);
}

JobSet *
_tl_priv_job_set_find (GPtrArray *sets, const char *name)
{
  for (guint i = 0; i < sets->len; i++) {
    JobSet *s = sets->pdata[i];
    if (g_str_equal (s->name, name))
      return s;
  }
  return NULL;
}

/* Replace or append an assignment. */
static void
job_set_put (GPtrArray *sets, const char *name, const char *value, const char *loc,
             const char *base_dir)
{
  JobSet *s = _tl_priv_job_set_find (sets, name);
  if (!s) {
    g_ptr_array_add (sets, job_set_new (name, value, loc, base_dir));
    return;
  }
  g_free (s->value);
  g_free (s->loc);
  g_free (s->base_dir);
  s->value = g_strdup (value);
  s->loc = g_strdup (loc);
  s->base_dir = g_strdup (base_dir);
  s->before_swap = FALSE;
}

JobComponent *
_tl_priv_job_find_component (const TlJob *job, const char *id)
{
  for (guint i = 0; i < job->components->len; i++) {
    JobComponent *c = job->components->pdata[i];
    if (g_str_equal (c->id, id))
      return c;
  }
  return NULL;
}

char **
_tl_priv_job_ids (const TlJob *job, TlComponentKind kind)
{
  GPtrArray *ids = g_ptr_array_new ();
  for (guint i = 0; i < job->components->len; i++) {
    JobComponent *c = job->components->pdata[i];
    if (kind == TL_COMPONENT_NONE || c->kind == kind)
      g_ptr_array_add (ids, g_strdup (c->id));
  }
  g_ptr_array_add (ids, NULL);
  return (char **) g_ptr_array_free (ids, FALSE);
}

char *
_tl_priv_job_expand (const JobSet *s, gboolean is_path, GError **error)
{
  char *v = tl_expand_vars (s->value, error);
  if (!v)
    return NULL;
  if (is_path && *v && !g_path_is_absolute (v) && s->base_dir) {
    char *abs = g_build_filename (s->base_dir, v, NULL);
    g_free (v);
    v = abs;
  }
  return v;
}

static gboolean
valid_id (const char *id)
{
  if (!id || !(g_ascii_isalpha (id[0]) || id[0] == '_'))
    return FALSE;
  for (const char *p = id; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-')
      return FALSE;
  return TRUE;
}

/* "task3" -> 3; 0 when not of that form. */
static guint
task_number (const char *id)
{
  if (!g_str_has_prefix (id, "task") || !id[4])
    return 0;
  for (const char *p = id + 4; *p; p++)
    if (!g_ascii_isdigit (*p))
      return 0;
  guint64 n = g_ascii_strtoull (id + 4, NULL, 10);
  return n > G_MAXUINT ? 0 : (guint) n;
}

static gboolean
finish_errors (GString *errs, int code, GError **error)
{
  if (errs->len == 0)
    return TRUE;
  g_string_truncate (errs, errs->len - 1);
  g_set_error_literal (error, TL_ERROR, code, errs->str);
  return FALSE;
}

/* Unknown attributes of an element: errors. */
static void
check_attrs (GString *errs, const char *file, xmlNode *node, const char *const *allowed)
{
  _tl_priv_xml_unknown_attrs (errs, file, node, allowed, NULL);
}

/* --- parsing --------------------------------------------------------------- */

static TlComponentKind
element_kind (xmlNode *n)
{
  if (_tl_priv_xml_is (n, TL_JOB_NS, "dataset"))
    return TL_COMPONENT_DATASET;
  if (_tl_priv_xml_is (n, TL_JOB_NS, "model"))
    return TL_COMPONENT_MODEL;
  if (_tl_priv_xml_is (n, TL_JOB_NS, "planner"))
    return TL_COMPONENT_PLANNER;
  return TL_COMPONENT_NONE;
}

static void
parse_component (TlJob *job, TlComponentKind kind, xmlNode *node, GString *errs)
{
  static const char *const allowed[] = { "id", "component", NULL };
  const char *file = job->path;
  check_attrs (errs, file, node, allowed);
  g_autofree char *id = _tl_priv_xml_prop (node, "id");
  g_autofree char *component = _tl_priv_xml_prop (node, "component");
  if (!id) {
    _tl_priv_xml_add_error (errs, file, node, "<%s> needs an 'id' attribute", (const char *) node->name);
    return;
  }
  if (!valid_id (id) || task_number (id) > 0) {
    _tl_priv_xml_add_error (errs, file, node, "bad id '%s' (letters, digits, '_' and '-'; not taskN)", id);
    return;
  }
  if (_tl_priv_job_find_component (job, id)) {
    _tl_priv_xml_add_error (errs, file, node, "duplicate id '%s'", id);
    return;
  }
  if (!component || !*component) {
    _tl_priv_xml_add_error (errs, file, node, "<%s id=\"%s\"> needs a 'component' attribute",
                            (const char *) node->name, id);
    return;
  }
  JobComponent *c = g_new0 (JobComponent, 1);
  c->kind = kind;
  c->id = g_strdup (id);
  c->component = g_strdup (component);
  c->loc = _tl_priv_xml_location (file, node);
  c->sets = g_ptr_array_new_with_free_func (job_set_free);
  g_ptr_array_add (job->components, c);

  for (xmlNode *n = node->children; n; n = n->next) {
    if (n->type != XML_ELEMENT_NODE)
      continue;
    if (!_tl_priv_xml_is (n, TL_JOB_NS, "set")) {
      _tl_priv_xml_add_error (errs, file, n, "unexpected <%s> in <%s> (expected <set name=\"...\">)",
                              (const char *) n->name, (const char *) node->name);
      continue;
    }
    static const char *const set_allowed[] = { "name", NULL };
    check_attrs (errs, file, n, set_allowed);
    g_autofree char *name = _tl_priv_xml_prop (n, "name");
    if (!name || !*name) {
      _tl_priv_xml_add_error (errs, file, n, "<set> needs a 'name' attribute");
      continue;
    }
    if (_tl_priv_job_set_find (c->sets, name)) {
      _tl_priv_xml_add_error (errs, file, n, "parameter '%s' of '%s' set twice", name, id);
      continue;
    }
    g_autofree char *text = _tl_priv_xml_text (n);
    g_autofree char *loc = _tl_priv_xml_location (file, n);
    g_ptr_array_add (c->sets, job_set_new (name, text, loc, job->dir));
  }
}

static void
parse_task (TlJob *job, xmlNode *node, GString *errs)
{
  const char *file = job->path;
  g_autofree char *kind = _tl_priv_xml_prop (node, "kind");
  if (!kind) {
    _tl_priv_xml_add_error (errs, file, node, "<task> needs a 'kind' attribute");
    return;
  }
  JobTask *t = g_new0 (JobTask, 1);
  t->kind = g_strdup (kind);
  t->loc = _tl_priv_xml_location (file, node);
  t->attrs = g_ptr_array_new_with_free_func (job_set_free);
  for (xmlAttr *a = node->properties; a; a = a->next) {
    if (a->ns || g_str_equal ((const char *) a->name, "kind"))
      continue;
    g_autofree char *v = _tl_priv_xml_prop (node, (const char *) a->name);
    g_ptr_array_add (t->attrs, job_set_new ((const char *) a->name, v ? v : "", t->loc, job->dir));
  }
  for (xmlNode *n = node->children; n; n = n->next)
    if (n->type == XML_ELEMENT_NODE)
      _tl_priv_xml_add_error (errs, file, n, "unexpected <%s> in <task> (a task has only attributes)",
                              (const char *) n->name);
  g_ptr_array_add (job->tasks, t);
}

static TlJob *
job_alloc (const char *filename)
{
  TlJob *job = g_new0 (TlJob, 1);
  job->path = g_strdup (filename ? filename : "<job>");
  if (filename) {
    g_autofree char *dir = g_path_get_dirname (filename);
    job->dir = g_path_is_absolute (dir) ? g_strdup (dir) : g_canonicalize_filename (dir, NULL);
  } else {
    job->dir = g_get_current_dir ();
  }
  job->components = g_ptr_array_new_with_free_func (job_component_free);
  job->tasks = g_ptr_array_new_with_free_func (job_task_free);
  job->allow = g_ptr_array_new_with_free_func (job_set_free);
  tl_metrics_init (&job->final);
  return job;
}

static TlJob *
job_from_doc (xmlDoc *doc, const char *filename, GError **error)
{
  const char *file = filename ? filename : "<job>";
  xmlNode *root = xmlDocGetRootElement (doc);
  if (!_tl_priv_xml_is (root, TL_JOB_NS, "job")) {
    if (_tl_priv_xml_is (root, TL_JOB_NS, "overlay"))
      return _tl_priv_xml_fail (error, TL_ERROR_PARSE, file, root,
                                "this is an overlay, not a job (use --overlay)");
    return _tl_priv_xml_fail (error, TL_ERROR_PARSE, file, root,
                              "expected <job xmlns=\"" TL_JOB_NS "\">");
  }
  TlJob *job = job_alloc (filename);
  g_autoptr (GString) errs = g_string_new (NULL);
  static const char *const root_allowed[] = { "name", NULL };
  check_attrs (errs, file, root, root_allowed);
  job->name = _tl_priv_xml_prop (root, "name");
  if (!job->name || !*job->name) {
    _tl_priv_xml_add_error (errs, file, root, "<job> needs a 'name' attribute");
  } else if (strchr (job->name, '/') || g_str_equal (job->name, "..") || g_str_equal (job->name, ".")) {
    _tl_priv_xml_add_error (errs, file, root,
                            "job name '%s' must not contain '/' (it names the output directory)",
                            job->name);
  }

  for (xmlNode *n = root->children; n; n = n->next) {
    if (n->type != XML_ELEMENT_NODE)
      continue;
    TlComponentKind kind = element_kind (n);
    if (kind != TL_COMPONENT_NONE) {
      parse_component (job, kind, n, errs);
    } else if (_tl_priv_xml_is (n, TL_JOB_NS, "task")) {
      parse_task (job, n, errs);
    } else if (_tl_priv_xml_is (n, TL_JOB_NS, "allow")) {
      static const char *const allowed[] = { "plugin", NULL };
      check_attrs (errs, file, n, allowed);
      g_autofree char *plugin = _tl_priv_xml_prop (n, "plugin");
      g_autofree char *loc = _tl_priv_xml_location (file, n);
      if (!plugin || !*plugin)
        _tl_priv_xml_add_error (errs, file, n, "<allow> needs a 'plugin' attribute");
      else
        g_ptr_array_add (job->allow, job_set_new (plugin, plugin, loc, NULL));
    } else if (_tl_priv_xml_is (n, TL_JOB_NS, "cluster")) {
      static const char *const allowed[] = { "path", NULL };
      check_attrs (errs, file, n, allowed);
      g_autofree char *path = _tl_priv_xml_prop (n, "path");
      g_autofree char *loc = _tl_priv_xml_location (file, n);
      if (job->cluster)
        _tl_priv_xml_add_error (errs, file, n, "only one <cluster> per job");
      else if (!path || !*path)
        _tl_priv_xml_add_error (errs, file, n, "<cluster> needs a 'path' attribute");
      else
        job->cluster = job_set_new ("path", path, loc, job->dir);
    } else {
      static const char *const known[] = { "allow", "dataset", "model", "planner", "cluster", "task" };
      const char *hint = _tl_priv_did_you_mean ((const char *) n->name, known, G_N_ELEMENTS (known));
      if (n->ns && g_strcmp0 ((const char *) n->ns->href, TL_JOB_NS) != 0)
        _tl_priv_xml_add_error (errs, file, n, "element <%s> is not in namespace " TL_JOB_NS,
                                (const char *) n->name);
      else
        _tl_priv_xml_add_error (errs, file, n, "unknown element <%s>%s%s%s", (const char *) n->name,
                                hint ? " (did you mean <" : "", hint ? hint : "", hint ? ">?)" : "");
    }
  }
  if (!finish_errors (errs, TL_ERROR_PARSE, error)) {
    tl_job_free (job);
    return NULL;
  }
  return job;
}

/**
 * tl_job_parse:
 * @xml: the document
 * @len: its length, or -1 when NUL-terminated
 * @filename: (nullable): file name for messages and relative paths
 * @error: return location for a #GError
 *
 * Parses a job manifest with the hardened XML reader. All structural errors
 * are reported ("FILE:LINE: ...", one per line, TL_ERROR_PARSE).
 *
 * Returns: (transfer full) (nullable): the job; free with tl_job_free().
 */
TlJob *
tl_job_parse (const char *xml, gssize len, const char *filename, GError **error)
{
  g_return_val_if_fail (xml != NULL, NULL);
  gsize n = len < 0 ? strlen (xml) : (gsize) len;
  g_autoptr (xmlDoc) doc = _tl_priv_xml_read_memory (xml, n, filename ? filename : "<job>", error);
  if (!doc)
    return NULL;
  return job_from_doc (doc, filename, error);
}

/**
 * tl_job_load:
 * @path: a job file
 * @error: return location for a #GError
 *
 * Reads and parses @path; see tl_job_parse().
 *
 * Returns: (transfer full) (nullable): the job.
 */
TlJob *
tl_job_load (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_autoptr (xmlDoc) doc = _tl_priv_xml_read_file (path, error);
  if (!doc)
    return NULL;
  return job_from_doc (doc, path, error);
}

/**
 * tl_job_free:
 * @job: (nullable): a job
 *
 * Frees @job; NULL is a no-op.
 */
void
tl_job_free (TlJob *job)
{
  if (!job)
    return;
  g_free (job->path);
  g_free (job->dir);
  g_free (job->name);
  g_ptr_array_unref (job->components);
  g_ptr_array_unref (job->tasks);
  g_ptr_array_unref (job->allow);
  job_set_free (job->cluster);
  g_free (job->cluster_resolved);
  g_free (job->output_dir);
  g_free (job);
}

/* --- overlays and --set ---------------------------------------------------- */

/* Apply "ID.NAME" = value; loc/base_dir describe where it comes from. */
static gboolean
apply_path (TlJob *job, const char *path, const char *value, const char *loc, const char *base_dir,
            GError **error)
{
  const char *dot = strchr (path, '.');
  if (!dot || dot == path || !dot[1]) {
    g_autofree char *epath = _tl_priv_escape_short (path);
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "%s: '%s' is not ID.PARAM or taskN.ATTRIBUTE", loc, epath);
    return FALSE;
  }
  g_autofree char *id = g_strndup (path, dot - path);
  const char *name = dot + 1;
  JobComponent *c = _tl_priv_job_find_component (job, id);
  if (c) {
    job_set_put (c->sets, name, value, loc, base_dir);
    job->validated = FALSE;
    return TRUE;
  }
  guint tn = task_number (id);
  if (tn > 0) {
    if (tn > job->tasks->len) {
      g_set_error (error, TL_ERROR, TL_ERROR_NOT_FOUND, "%s: no task %u (the job has %u task%s)", loc, tn,
                   job->tasks->len, job->tasks->len == 1 ? "" : "s");
      return FALSE;
    }
    JobTask *t = job->tasks->pdata[tn - 1];
    if (g_str_equal (name, "kind")) {
      g_free (t->kind);
      t->kind = g_strdup (value);
    } else {
      job_set_put (t->attrs, name, value, loc, base_dir);
    }
    job->validated = FALSE;
    return TRUE;
  }
  g_auto (GStrv) ids = _tl_priv_job_ids (job, TL_COMPONENT_NONE);
  const char *hint = _tl_priv_did_you_mean (id, (const char *const *) ids, g_strv_length (ids));
  g_autofree char *eid = _tl_priv_escape_short (id);
  g_set_error (error, TL_ERROR, TL_ERROR_NOT_FOUND, "%s: no component with id '%s' in %s%s%s%s", loc, eid,
               job->path, hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
  return FALSE;
}

/**
 * tl_job_apply_set:
 * @job: a job
 * @assignment: "ID.PARAM=VALUE" or "taskN.ATTRIBUTE=VALUE" (1-based N)
 * @error: return location for a #GError
 *
 * Sets a component parameter or a task attribute, as `tlhost run --set`
 * does. Relative paths in VALUE resolve against the current directory.
 *
 * Returns: TRUE on success.
 */
gboolean
tl_job_apply_set (TlJob *job, const char *assignment, GError **error)
{
  g_return_val_if_fail (job != NULL && assignment != NULL, FALSE);
  const char *eq = strchr (assignment, '=');
  if (!eq) {
    g_autofree char *ea = _tl_priv_escape_short (assignment);
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "--set %s: expected ID.PARAM=VALUE or taskN.ATTRIBUTE=VALUE", ea);
    return FALSE;
  }
  g_autofree char *path = g_strstrip (g_strndup (assignment, eq - assignment));
  g_autofree char *epath = _tl_priv_escape_short (path);
  g_autofree char *loc = g_strdup_printf ("--set %s", epath);
  g_autofree char *cwd = g_get_current_dir ();
  return apply_path (job, path, eq + 1, loc, cwd, error);
}

static gboolean
apply_overlay_doc (TlJob *job, xmlDoc *doc, const char *file, GError **error)
{
  xmlNode *root = xmlDocGetRootElement (doc);
  if (!_tl_priv_xml_is (root, TL_JOB_NS, "overlay"))
    return _tl_priv_xml_fail (error, TL_ERROR_PARSE, file, root,
                              "expected <overlay xmlns=\"" TL_JOB_NS "\">") != NULL;
  g_autofree char *dir0 = g_path_get_dirname (file);
  g_autofree char *dir = g_path_is_absolute (dir0) ? g_strdup (dir0) : g_canonicalize_filename (dir0, NULL);
  g_autoptr (GString) errs = g_string_new (NULL);
  /* ids of <use>s naming no component of the job (reported once) */
  g_autoptr (GHashTable) missing = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  check_attrs (errs, file, root, (const char *const[]){ NULL });
  for (xmlNode *n = root->children; n; n = n->next) {
    if (n->type != XML_ELEMENT_NODE)
      continue;
    g_autofree char *loc = _tl_priv_xml_location (file, n);
    if (_tl_priv_xml_is (n, TL_JOB_NS, "use")) {
      static const char *const allowed[] = { "id", "component", "reset", NULL };
      check_attrs (errs, file, n, allowed);
      g_autofree char *id = _tl_priv_xml_prop (n, "id");
      g_autofree char *component = _tl_priv_xml_prop (n, "component");
      g_autofree char *reset = _tl_priv_xml_prop (n, "reset");
      if (!id || !component || !*component) {
        _tl_priv_xml_add_error (errs, file, n, "<use> needs 'id' and 'component' attributes");
        continue;
      }
      JobComponent *c = _tl_priv_job_find_component (job, id);
      if (!c) {
        g_auto (GStrv) ids = _tl_priv_job_ids (job, TL_COMPONENT_NONE);
        const char *hint = _tl_priv_did_you_mean (id, (const char *const *) ids, g_strv_length (ids));
        _tl_priv_xml_add_error (errs, file, n, "no component with id '%s' in %s%s%s%s", id, job->path,
                                hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
        /* its <set>s below would only repeat this */
        g_hash_table_add (missing, g_steal_pointer (&id));
        continue;
      }
      gboolean swapped = !g_str_equal (c->component, component);
      g_free (c->component);
      g_free (c->loc);
      c->component = g_strdup (component);
      c->loc = g_strdup (loc);
      if (reset && (g_str_equal (reset, "true") || g_str_equal (reset, "1") || g_str_equal (reset, "yes"))) {
        g_ptr_array_set_size (c->sets, 0);
        g_clear_pointer (&c->swap_loc, g_free);
      } else if (swapped) {
        /* the settings kept were written for the old component: validation
         * points here when the new one does not know one of them */
        g_free (c->swap_loc);
        c->swap_loc = g_strdup (loc);
        for (guint i = 0; i < c->sets->len; i++)
          ((JobSet *) c->sets->pdata[i])->before_swap = TRUE;
      }
      job->validated = FALSE;
    } else if (_tl_priv_xml_is (n, TL_JOB_NS, "set")) {
      static const char *const allowed[] = { "path", NULL };
      check_attrs (errs, file, n, allowed);
      g_autofree char *path = _tl_priv_xml_prop (n, "path");
      g_autofree char *text = _tl_priv_xml_text (n);
      if (!path) {
        _tl_priv_xml_add_error (errs, file, n,
                                "<set> in an overlay needs a 'path' attribute (ID.PARAM or taskN.ATTR)");
        continue;
      }
      const char *dot = strchr (path, '.');
      g_autofree char *pid = dot ? g_strndup (path, (gsize) (dot - path)) : NULL;
      if (pid && g_hash_table_contains (missing, pid))
        continue;
      GError *local = NULL;
      if (!apply_path (job, path, text, loc, dir, &local)) {
        g_string_append_printf (errs, "%s\n", local->message);
        g_error_free (local);
      }
    } else {
      _tl_priv_xml_add_error (errs, file, n, "unknown element <%s> in <overlay> (expected <use> or <set>)",
                              (const char *) n->name);
    }
  }
  return finish_errors (errs, TL_ERROR_PARSE, error);
}

/**
 * tl_job_apply_overlay:
 * @job: a job
 * @path: an overlay file (<overlay xmlns="urn:tl:job:1">)
 * @error: return location for a #GError
 *
 * Applies the overlay's <use id= component=/> (swap a component; reset="true"
 * also drops its parameter settings) and <set path="ID.PARAM">
 * (or "taskN.ATTR") elements in order. All errors are reported; a <use>
 * naming no id of the job is reported once (its <set>s are skipped) and the
 * rest still applies, so that the job can still be validated. A <use> that
 * swaps the component without reset="true" is remembered: validation adds
 * its location to a kept setting the new component does not know.
 *
 * Returns: TRUE on success.
 */
gboolean
tl_job_apply_overlay (TlJob *job, const char *path, GError **error)
{
  g_return_val_if_fail (job != NULL && path != NULL, FALSE);
  g_autoptr (xmlDoc) doc = _tl_priv_xml_read_file (path, error);
  if (!doc)
    return FALSE;
  return apply_overlay_doc (job, doc, path, error);
}

/**
 * tl_job_apply_overlay_data:
 *
 * Same as tl_job_apply_overlay() for a document in memory.
 */
gboolean
tl_job_apply_overlay_data (TlJob *job, const char *xml, gssize len, const char *filename,
                           GError **error)
{
  g_return_val_if_fail (job != NULL && xml != NULL, FALSE);
  const char *file = filename ? filename : "<overlay>";
  gsize n = len < 0 ? strlen (xml) : (gsize) len;
  g_autoptr (xmlDoc) doc = _tl_priv_xml_read_memory (xml, n, file, error);
  if (!doc)
    return FALSE;
  return apply_overlay_doc (job, doc, file, error);
}

/**
 * tl_job_add_allow:
 * @job: a job
 * @plugin_id: a plugin id
 *
 * Adds @plugin_id to the job's allow-list (as `tlhost run --allow`).
 */
void
tl_job_add_allow (TlJob *job, const char *plugin_id)
{
  g_return_if_fail (job != NULL && plugin_id != NULL);
  g_ptr_array_add (job->allow, job_set_new (plugin_id, plugin_id, "--allow", NULL));
  job->validated = FALSE;
}

/* --- accessors ------------------------------------------------------------- */

/** tl_job_name: Returns: (transfer none): the job's name. */
const char *
tl_job_name (const TlJob *job)
{
  g_return_val_if_fail (job != NULL, NULL);
  return job->name;
}

/** tl_job_path: Returns: (transfer none): the job's file name. */
const char *
tl_job_path (const TlJob *job)
{
  g_return_val_if_fail (job != NULL, NULL);
  return job->path;
}

/** tl_job_n_components: Returns: the number of datasets, models and planners. */
guint
tl_job_n_components (const TlJob *job)
{
  g_return_val_if_fail (job != NULL, 0);
  return job->components->len;
}

/** tl_job_component_id: Returns: (transfer none): the id of component @i. */
const char *
tl_job_component_id (const TlJob *job, guint i)
{
  g_return_val_if_fail (job != NULL && i < job->components->len, NULL);
  return ((JobComponent *) job->components->pdata[i])->id;
}

/** tl_job_component_kind: Returns: the kind of component @i. */
TlComponentKind
tl_job_component_kind (const TlJob *job, guint i)
{
  g_return_val_if_fail (job != NULL && i < job->components->len, TL_COMPONENT_NONE);
  return ((JobComponent *) job->components->pdata[i])->kind;
}

/** tl_job_component_ref: Returns: (transfer none) (nullable): the component named by id @id. */
const char *
tl_job_component_ref (const TlJob *job, const char *id)
{
  g_return_val_if_fail (job != NULL && id != NULL, NULL);
  JobComponent *c = _tl_priv_job_find_component (job, id);
  return c ? c->component : NULL;
}

/** tl_job_get_param: Returns: (transfer none) (nullable): the text set for @id.@name. */
const char *
tl_job_get_param (const TlJob *job, const char *id, const char *name)
{
  g_return_val_if_fail (job != NULL && id != NULL && name != NULL, NULL);
  JobComponent *c = _tl_priv_job_find_component (job, id);
  JobSet *s = c ? _tl_priv_job_set_find (c->sets, name) : NULL;
  return s ? s->value : NULL;
}

/** tl_job_n_tasks: Returns: the number of tasks. */
guint
tl_job_n_tasks (const TlJob *job)
{
  g_return_val_if_fail (job != NULL, 0);
  return job->tasks->len;
}

/** tl_job_task_kind: Returns: (transfer none): the kind of task @i (0-based). */
const char *
tl_job_task_kind (const TlJob *job, guint i)
{
  g_return_val_if_fail (job != NULL && i < job->tasks->len, NULL);
  return ((JobTask *) job->tasks->pdata[i])->kind;
}

/** tl_job_task_attr: Returns: (transfer none) (nullable): attribute @name of task @i as written. */
const char *
tl_job_task_attr (const TlJob *job, guint i, const char *name)
{
  g_return_val_if_fail (job != NULL && i < job->tasks->len && name != NULL, NULL);
  JobTask *t = job->tasks->pdata[i];
  if (g_str_equal (name, "kind"))
    return t->kind;
  JobSet *s = _tl_priv_job_set_find (t->attrs, name);
  return s ? s->value : NULL;
}

/** tl_job_cluster_path: Returns: (transfer none) (nullable): the cluster file, resolved. */
const char *
tl_job_cluster_path (const TlJob *job)
{
  g_return_val_if_fail (job != NULL, NULL);
  if (!job->cluster)
    return NULL;
  if (!job->cluster_resolved) {
    char *p = _tl_priv_job_expand (job->cluster, TRUE, NULL);
    ((TlJob *) job)->cluster_resolved = p ? p : g_strdup (job->cluster->value);
  }
  return job->cluster_resolved;
}

/** tl_job_final_metrics: Returns: (transfer none): metrics of the last task that made some. */
const TlMetrics *
tl_job_final_metrics (const TlJob *job)
{
  g_return_val_if_fail (job != NULL, NULL);
  return &job->final;
}

/** tl_job_output_dir: Returns: (transfer none) (nullable): output directory of the last run. */
const char *
tl_job_output_dir (const TlJob *job)
{
  g_return_val_if_fail (job != NULL, NULL);
  return job->output_dir;
}

/**
 * tl_job_cancel:
 * @job: a job
 *
 * Asks a running tl_job_run() to stop after the current step. Only sets
 * flags: safe in a signal handler.
 */
void
tl_job_cancel (TlJob *job)
{
  if (job)
    job->cancelled = 1;
  tl_trainer_request_stop ();
}
