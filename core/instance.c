/* instance.c — host-side instances of model, dataset and planner components. */
#include "config.h"

#include <string.h>

#include "train-private.h"

static gboolean
check_table (const TlTableHeader *h, gsize min_size, const char *kind, const char *name,
             GError **error)
{
  if (!h || h->abi_major != TL_ABI_MAJOR || h->struct_size < min_size) {
    g_set_error (error, TL_ERROR, TL_ERROR_ABI,
                 "%s %s: table missing or built for another ABI (major %u, size %u)", kind,
                 name ? name : "(unnamed)", h ? h->abi_major : 0u, h ? h->struct_size : 0u);
    return FALSE;
  }
  return TRUE;
}

/* Components given no parameters see an empty set that lives as long as
 * the process (a plugin may keep the pointer it was given). */
static const TlParams *
empty_params (void)
{
  static TlParams *empty;
  if (g_once_init_enter (&empty))
    g_once_init_leave (&empty, tl_params_new ());
  return empty;
}

/* A plugin that fails without setting an error still yields one. */
static void
ensure_error (GError **error, GError *err, const char *fmt, const char *name)
{
  if (err) {
    g_propagate_error (error, err);
    return;
  }
  g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, fmt, name);
}

/* --- models ------------------------------------------------------------- */

/**
 * tl_model_instance_new:
 * @def: the component's table
 * @name: full component name, for messages
 * @params: (nullable): validated parameters (borrowed)
 * @seed: seed of parameter initialisation
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): a new instance owning an empty
 * parameter store.
 */
TlModelInstance *
tl_model_instance_new (const TlModelDef *def, const char *name, const TlParams *params,
                       guint64 seed, GError **error)
{
  if (!check_table ((const TlTableHeader *) def, offsetof (TlModelDef, step_end), "model", name,
                    error))
    return NULL;
  if (!def->create || !def->destroy || !def->build) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN,
                 "model %s: create, destroy and build are required", name);
    return NULL;
  }
  GError *err = NULL;
  TlModel *model = def->create (params ? params : empty_params (), &err);
  if (!model) {
    ensure_error (error, err, "model %s: create failed (returned no error)", name);
    return NULL;
  }
  g_clear_error (&err);
  TlModelInstance *m = g_new0 (TlModelInstance, 1);
  m->def = def;
  m->name = g_strdup (name ? name : "model");
  m->model = model;
  m->seed = seed;
  m->store = _tl_priv_param_store_new (seed);
  return m;
}

/**
 * tl_model_instance_free:
 * @m: (nullable): instance
 */
void
tl_model_instance_free (TlModelInstance *m)
{
  if (!m)
    return;
  m->def->destroy (m->model);
  _tl_priv_param_store_free (m->store);
  for (int i = 0; i < 3; i++)
    g_free (m->label_field[i]);
  g_free (m->name);
  g_free (m);
}

/**
 * tl_model_instance_name:
 * @m: instance
 *
 * Returns: (transfer none): the component name.
 */
const char *
tl_model_instance_name (const TlModelInstance *m)
{
  return m->name;
}

/**
 * tl_model_instance_params:
 * @m: instance
 *
 * Returns: (transfer none): the instance's parameter store.
 */
TlParamStore *
tl_model_instance_params (TlModelInstance *m)
{
  return m->store;
}

/**
 * tl_model_instance_build:
 * @m: instance
 * @data: dataset whose schema gives the inputs
 * @mode: train, eval or predict
 * @batch_size: fixed batch size (> 0)
 * @task: (out) (optional): the task kind the model declared
 * @label_field: (out) (optional) (transfer none): the label field (valid
 *   until the next build in the same mode)
 * @error: return location for a #GError
 *
 * Runs the model's build() and names the graph outputs "loss" (required in
 * train mode), "prediction" and the model's extra outputs. In train and
 * eval mode the label field the prediction names must exist in @data
 * (TL_ERROR_NOT_FOUND naming the dataset's fields).
 *
 * Returns: (transfer full) (nullable): the graph.
 */
TlGraph *
tl_model_instance_build (TlModelInstance *m, TlDatasetInstance *data, TlMode mode,
                         gint64 batch_size, TlTask *task, const char **label_field, GError **error)
{
  if (batch_size <= 0 || (guint) mode > TL_MODE_PREDICT || !data) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "model %s: build needs a dataset, a valid mode and a positive batch size",
                 m->name);
    return NULL;
  }
  TlGraph *g = tl_graph_new ();
  TlBuild *b = _tl_priv_build_new (g, mode, batch_size, m->seed, m->store, data);
  GError *err = NULL;
  gboolean ok = m->def->build (m->model, b, &err);
  if (!tl_graph_take_error (g, err ? NULL : &err))
    ok = FALSE;
  if (!ok) {
    if (!err)
      err = g_error_new (TL_ERROR, TL_ERROR_PLUGIN, "build failed without an error");
    g_propagate_prefixed_error (error, err, "model %s: ", m->name);
    goto fail;
  }
  g_clear_error (&err);
  TlValue *loss = _tl_priv_build_loss (b);
  TlTask t = TL_TASK_NONE;
  const char *lf = NULL;
  TlValue *pred = _tl_priv_build_prediction (b, &t, &lf);
  /* Train and eval read the label field the prediction names: a missing one
   * is the job's typo (the dataset's "no field" error), not a plugin bug. */
  if (mode != TL_MODE_PREDICT && lf && !tl_build_has_field (b, lf)) {
    tl_build_input (b, lf);
    (void) tl_graph_take_error (g, &err);
    g_propagate_prefixed_error (error, err, "model %s: ", m->name);
    goto fail;
  }
  if (mode == TL_MODE_TRAIN && !loss) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "model %s: build() set no loss in train mode",
                 m->name);
    goto fail;
  }
  if (loss)
    tl_graph_set_output (g, "loss", loss);
  if (pred)
    tl_graph_set_output (g, "prediction", pred);
  for (guint i = 0; i < _tl_priv_build_n_outputs (b); i++) {
    const char *name;
    TlValue *v = _tl_priv_build_output (b, i, &name);
    tl_graph_set_output (g, name, v);
  }
  if (!tl_graph_take_error (g, &err)) {
    g_propagate_prefixed_error (error, err, "model %s: ", m->name);
    goto fail;
  }
  g_free (m->label_field[mode]);
  m->label_field[mode] = g_strdup (lf);
  if (task)
    *task = t;
  if (label_field)
    *label_field = m->label_field[mode];
  _tl_priv_build_free (b);
  return g;
fail:
  _tl_priv_build_free (b);
  tl_graph_unref (g);
  return NULL;
}

/**
 * tl_model_instance_step_end:
 * @m: instance
 * @step: optimizer steps taken so far
 * @error: return location for a #GError
 *
 * Calls the model's step_end hook when it has one.
 *
 * Returns: TRUE on success or when there is no hook.
 */
gboolean
tl_model_instance_step_end (TlModelInstance *m, guint64 step, GError **error)
{
  if (!TL_TABLE_HAS (m->def, TlModelDef, step_end, 0) || !m->def->step_end)
    return TRUE;
  GError *err = NULL;
  if (m->def->step_end (m->model, m->store, step, &err))
    return TRUE;
  ensure_error (error, err, "model %s: step_end failed (returned no error)", m->name);
  return FALSE;
}

/* --- datasets ----------------------------------------------------------- */

/**
 * tl_dataset_instance_new:
 * @def: the component's table
 * @name: full component name
 * @params: (nullable): validated parameters (borrowed)
 * @error: return location for a #GError
 *
 * Opens the dataset and checks its schema (unique names, known dtypes,
 * non-negative shapes).
 *
 * Returns: (transfer full) (nullable): the instance.
 */
TlDatasetInstance *
tl_dataset_instance_new (const TlDatasetDef *def, const char *name, const TlParams *params,
                         GError **error)
{
  if (!check_table ((const TlTableHeader *) def, offsetof (TlDatasetDef, get_extension), "dataset",
                    name, error))
    return NULL;
  if (!def->open || !def->close || !def->n_fields || !def->field || !def->size || !def->read) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "dataset %s: a required slot is NULL", name);
    return NULL;
  }
  GError *err = NULL;
  TlDataset *ds = def->open (params ? params : empty_params (), &err);
  if (!ds) {
    ensure_error (error, err, "dataset %s: open failed (returned no error)", name);
    return NULL;
  }
  g_clear_error (&err);
  TlDatasetInstance *d = g_new0 (TlDatasetInstance, 1);
  d->def = def;
  d->name = g_strdup (name ? name : "dataset");
  d->ds = ds;
  d->n_fields = def->n_fields (ds);
  if (d->n_fields > 4096) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "dataset %s: %u fields", d->name, d->n_fields);
    goto fail;
  }
  d->fields = g_new0 (const TlField *, d->n_fields + 1);
  d->descs = g_new0 (TlTensorDesc, d->n_fields + 1);
  for (guint i = 0; i < d->n_fields; i++) {
    const TlField *f = def->field (ds, i);
    /* a batch dimension is prepended on read: ndim + 1 <= TL_MAX_DIMS,
     * written so that ndim near UINT32_MAX cannot wrap */
    if (!f || !f->name || !*f->name || tl_dtype_size (f->dtype) == 0 || f->ndim >= TL_MAX_DIMS) {
      g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "dataset %s: field #%u is invalid", d->name,
                   i);
      goto fail;
    }
    for (guint k = 0; k < f->ndim; k++) {
      if (f->shape[k] < 0) {
        g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN,
                     "dataset %s: field '%s' has a negative dimension", d->name, f->name);
        goto fail;
      }
    }
    for (guint k = 0; k < i; k++) {
      if (strcmp (d->fields[k]->name, f->name) == 0) {
        g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "dataset %s: field '%s' appears twice",
                     d->name, f->name);
        goto fail;
      }
    }
    d->fields[i] = f;
    tl_tensor_desc_init (&d->descs[i], f->dtype, f->ndim, f->shape);
  }
  if (def->size (ds) < 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "dataset %s: negative size", d->name);
    goto fail;
  }
  return d;
fail:
  tl_dataset_instance_free (d);
  return NULL;
}

/**
 * tl_dataset_instance_free:
 * @d: (nullable): instance
 */
void
tl_dataset_instance_free (TlDatasetInstance *d)
{
  if (!d)
    return;
  d->def->close (d->ds);
  g_free (d->fields);
  g_free (d->descs);
  g_free (d->name);
  g_free (d);
}

/**
 * tl_dataset_instance_name:
 * @d: instance
 *
 * Returns: (transfer none): the component name.
 */
const char *
tl_dataset_instance_name (const TlDatasetInstance *d)
{
  return d->name;
}

/**
 * tl_dataset_instance_size:
 * @d: instance
 *
 * Returns: number of rows.
 */
gint64
tl_dataset_instance_size (TlDatasetInstance *d)
{
  gint64 n = d->def->size (d->ds);
  return n < 0 ? 0 : n;
}

/**
 * tl_dataset_instance_n_fields:
 * @d: instance
 *
 * Returns: number of fields.
 */
guint
tl_dataset_instance_n_fields (TlDatasetInstance *d)
{
  return d->n_fields;
}

/**
 * tl_dataset_instance_field:
 * @d: instance
 * @i: field index
 *
 * Returns: (transfer none) (nullable): field @i.
 */
const TlField *
tl_dataset_instance_field (TlDatasetInstance *d, guint i)
{
  return i < d->n_fields ? d->fields[i] : NULL;
}

/**
 * tl_dataset_instance_field_index:
 * @d: instance
 * @name: field name
 *
 * Returns: the index of @name, -1 when absent.
 */
gint
tl_dataset_instance_field_index (TlDatasetInstance *d, const char *name)
{
  if (!name)
    return -1;
  for (guint i = 0; i < d->n_fields; i++)
    if (strcmp (d->fields[i]->name, name) == 0)
      return (gint) i;
  return -1;
}

/**
 * tl_dataset_instance_read:
 * @d: instance
 * @n_rows: number of rows
 * @rows: (array length=n_rows): row indices in [0, size)
 * @error: return location for a #GError
 *
 * Allocates one tensor [n_rows, ...] per field and lets the plugin fill
 * them; checks the indices and that categorical values are in range.
 *
 * Returns: (transfer full) (nullable): n_fields new tensors; unref each and
 * g_free() the array.
 */
TlTensor **
tl_dataset_instance_read (TlDatasetInstance *d, gint64 n_rows, const gint64 *rows, GError **error)
{
  gint64 size = tl_dataset_instance_size (d);
  if (n_rows < 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "dataset %s: negative row count",
                 d->name);
    return NULL;
  }
  for (gint64 i = 0; i < n_rows; i++) {
    if (rows[i] < 0 || rows[i] >= size) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "dataset %s: row %" G_GINT64_FORMAT " out of range (size %" G_GINT64_FORMAT ")",
                   d->name, rows[i], size);
      return NULL;
    }
  }
  TlTensor **out = g_new0 (TlTensor *, d->n_fields + 1);
  for (guint i = 0; i < d->n_fields; i++) {
    const TlField *f = d->fields[i];
    gint64 shape[TL_MAX_DIMS];
    shape[0] = n_rows;
    for (guint k = 0; k < f->ndim; k++)
      shape[k + 1] = f->shape[k];
    out[i] = tl_tensor_new (f->dtype, f->ndim + 1, shape, error);
    if (!out[i])
      goto fail;
  }
  GError *err = NULL;
  if (!d->def->read (d->ds, n_rows, rows, out, &err)) {
    ensure_error (error, err, "dataset %s: read failed (returned no error)", d->name);
    goto fail;
  }
  g_clear_error (&err);
  for (guint i = 0; i < d->n_fields; i++) {
    const TlField *f = d->fields[i];
    if (f->cardinality <= 0 || tl_dtype_is_float (f->dtype) || f->dtype == TL_DTYPE_BOOL)
      continue;
    gint64 n = tl_tensor_numel (out[i]);
    gint64 bad = -1;
    if (f->dtype == TL_DTYPE_I64) {
      const gint64 *p = tl_tensor_const_data (out[i]);
      for (gint64 k = 0; k < n && bad < 0; k++)
        if (p[k] >= f->cardinality)
          bad = k;
    } else if (f->dtype == TL_DTYPE_I32) {
      const gint32 *p = tl_tensor_const_data (out[i]);
      for (gint64 k = 0; k < n && bad < 0; k++)
        if (p[k] >= f->cardinality)
          bad = k;
    } else {
      bad = 0; /* other integer types: check element by element below */
    }
    for (gint64 k = bad < 0 ? n : bad; k < n; k++) {
      double v = tl_tensor_get_flat (out[i], k);
      if (v < 0 || v >= (double) f->cardinality) {
        /* Negative labels are "ignore" markers for tagging tasks. */
        if (v < 0)
          continue;
        g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN,
                     "dataset %s: field '%s' value %.0f out of [0, %" G_GINT64_FORMAT ")", d->name,
                     f->name, v, f->cardinality);
        goto fail;
      }
    }
  }
  return out;
fail:
  for (guint i = 0; i < d->n_fields; i++)
    tl_tensor_unref (out[i]);
  g_free (out);
  return NULL;
}

/* --- planners ----------------------------------------------------------- */

struct _TlPlannerInstance {
  const TlPlannerDef *def;
  char *name;
  TlPlanner *planner;
};

/**
 * tl_planner_instance_new:
 * @def: the component's table
 * @name: full component name
 * @params: (nullable): validated parameters (borrowed)
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the instance.
 */
TlPlannerInstance *
tl_planner_instance_new (const TlPlannerDef *def, const char *name, const TlParams *params,
                         GError **error)
{
  if (!check_table ((const TlTableHeader *) def, offsetof (TlPlannerDef, get_extension), "planner",
                    name, error))
    return NULL;
  if (!def->create || !def->destroy || !def->plan || !def->apply) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "planner %s: a required slot is NULL", name);
    return NULL;
  }
  GError *err = NULL;
  TlPlanner *pl = def->create (params ? params : empty_params (), &err);
  if (!pl) {
    ensure_error (error, err, "planner %s: create failed (returned no error)", name);
    return NULL;
  }
  g_clear_error (&err);
  TlPlannerInstance *p = g_new0 (TlPlannerInstance, 1);
  p->def = def;
  p->name = g_strdup (name ? name : "planner");
  p->planner = pl;
  return p;
}

/**
 * tl_planner_instance_free:
 * @p: (nullable): instance
 */
void
tl_planner_instance_free (TlPlannerInstance *p)
{
  if (!p)
    return;
  p->def->destroy (p->planner);
  g_free (p->name);
  g_free (p);
}

/**
 * tl_planner_instance_plan:
 * @p: instance
 * @g: graph to plan
 * @cluster: target cluster
 * @seed: seed for randomised search
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the plan.
 */
TlPlan *
tl_planner_instance_plan (TlPlannerInstance *p, const TlGraph *g, const TlCluster *cluster,
                          guint64 seed, GError **error)
{
  GError *err = NULL;
  TlPlan *plan = p->def->plan (p->planner, g, cluster, seed, &err);
  if (!plan) {
    ensure_error (error, err, "planner %s: plan failed (returned no error)", p->name);
    return NULL;
  }
  g_clear_error (&err);
  return plan;
}

/**
 * tl_planner_instance_apply:
 * @p: instance
 * @plan: a plan (from this planner)
 * @g: graph to rewrite or annotate
 * @error: return location for a #GError
 *
 * Returns: TRUE on success.
 */
gboolean
tl_planner_instance_apply (TlPlannerInstance *p, const TlPlan *plan, TlGraph *g, GError **error)
{
  GError *err = NULL;
  if (p->def->apply (p->planner, plan, g, &err))
    return TRUE;
  ensure_error (error, err, "planner %s: apply failed (returned no error)", p->name);
  return FALSE;
}
