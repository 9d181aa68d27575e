/* checks-model.c — model components, trained on the sample dataset their
 * TL_MODEL_EXT_SAMPLE_DATA extension names: finite loss, a few SGD steps on
 * a fixed batch lower the loss, a checkpoint save/load round trip gives
 * identical outputs, the graph builds in train, eval and predict mode on
 * one unchanged parameter store, and initial values depend only on the
 * seed. Without the extension: skipped with a warning. */
#include "config.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#include "conformance.h"

#define RIG_BATCH 8
#define SGD_STEPS 20

typedef struct {
  TlModelInstance *m;
  TlDatasetInstance *d;
  TlGraph *g;
  TlExec *ex;
  GPtrArray *params;   /* TlTensor* (borrowed from the graph) with a gradient */
  guint n_outputs;     /* loss, grads..., [prediction] */
  gint prediction;     /* output index or -1 */
} ModelRig;

static void
rig_free (ModelRig *r)
{
  tl_exec_free (r->ex);
  if (r->g)
    tl_graph_unref (r->g);
  tl_model_instance_free (r->m);
  tl_dataset_instance_free (r->d);
  if (r->params)
    g_ptr_array_unref (r->params);
  memset (r, 0, sizeof *r);
}

/* Load the model and open its sample dataset into *d (unless already
 * open), create an instance with default parameters and `seed` into *m,
 * and choose the batch size. FALSE without error: skipped (warned). */
static gboolean
model_open (TlcSuite *s, const TlComponentInfo *ci, guint64 seed, TlDatasetInstance **d, TlModelInstance **m,
            gint64 *batch, GError **error)
{
  const TlModelDef *def = tlc_load (s, ci, error);
  if (!def)
    return FALSE;
  const TlModelSampleData *sd = tlc_extension (ci, def, TL_MODEL_EXT_SAMPLE_DATA);
  if (!sd || !TL_TABLE_HAS (sd, TlModelSampleData, dataset, 0) || !sd->dataset) {
    tlc_warn ("no sample data: %s has no extension " TL_MODEL_EXT_SAMPLE_DATA, tl_component_info_full_name (ci));
    tlc_skip ("no sample dataset");
    return FALSE;
  }
  if (!*d) {
    const char *const *dparams = TL_TABLE_HAS (sd, TlModelSampleData, params, 0) ? sd->params : NULL;
    *d = tlc_open_dataset (s, sd->dataset, dparams, error);
    if (!*d) {
      g_prefix_error (error, "sample dataset %s: ", sd->dataset);
      return FALSE;
    }
  }
  GError *local = NULL;
  TlParams *p = tlc_default_params (ci, &local);
  if (!p) {
    if (local)
      g_propagate_error (error, local);
    return FALSE;
  }
  *m = tl_model_instance_new (def, tl_component_info_full_name (ci), p, seed, error);
  tl_params_free (p);
  if (!*m)
    return FALSE;
  gint64 n = tl_dataset_instance_size (*d);
  *batch = MIN (RIG_BATCH, n);
  if (*batch <= 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "sample dataset %s is empty", sd->dataset);
    return FALSE;
  }
  return TRUE;
}

/* FALSE without error: skipped (warned). */
static gboolean
rig_open (TlcSuite *s, const TlComponentInfo *ci, ModelRig *r, GError **error)
{
  memset (r, 0, sizeof *r);
  r->prediction = -1;
  gint64 batch = 0;
  if (!model_open (s, ci, 42, &r->d, &r->m, &batch, error))
    return FALSE;
  TlTask task = TL_TASK_NONE;
  const char *label = NULL;
  r->g = tl_model_instance_build (r->m, r->d, TL_MODE_TRAIN, batch, &task, &label, error);
  if (!r->g)
    return FALSE;
  TlValue *loss = tl_graph_get_output (r->g, "loss");
  if (!loss) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "the train graph has no \"loss\" output");
    return FALSE;
  }
  TlParamStore *store = tl_model_instance_params (r->m);
  g_autoptr (GPtrArray) wrt = g_ptr_array_new ();
  for (guint i = 0; i < tl_graph_n_params (r->g); i++) {
    TlValue *v = tl_graph_param_value (r->g, i);
    for (guint k = 0; k < tl_param_store_size (store); k++)
      if (g_strcmp0 (tl_param_store_name (store, k), tl_value_name (v)) == 0 &&
          tl_param_store_trainable (store, k) && tl_value_dtype (v) == TL_DTYPE_F32)
        g_ptr_array_add (wrt, v);
  }
  if (wrt->len == 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "the train graph uses no trainable f32 parameter");
    return FALSE;
  }
  g_autofree TlValue **grads = g_new0 (TlValue *, wrt->len);
  if (!tl_autodiff (r->g, loss, wrt->len, (TlValue *const *) wrt->pdata, grads, error))
    return FALSE;
  g_autoptr (GPtrArray) outs = g_ptr_array_new ();
  g_ptr_array_add (outs, loss);
  r->params = g_ptr_array_new ();
  for (guint i = 0; i < wrt->len; i++) {
    if (!grads[i])
      continue;
    g_ptr_array_add (outs, grads[i]);
    g_ptr_array_add (r->params, tl_value_tensor (wrt->pdata[i]));
  }
  TlValue *pred = tl_graph_get_output (r->g, "prediction");
  if (pred) {
    r->prediction = (gint) outs->len;
    g_ptr_array_add (outs, pred);
  }
  r->n_outputs = outs->len;
  TlExecOptions opts;
  tl_exec_options_init (&opts);
  opts.deterministic = 1;
  opts.training = 0; /* no dropout: comparable losses */
  r->ex = tl_exec_new (r->g, outs->len, (TlValue *const *) outs->pdata, &opts, error);
  if (!r->ex)
    return FALSE;

  /* the fixed batch: rows 0..batch-1 */
  g_autofree gint64 *rows = g_new (gint64, batch);
  for (gint64 i = 0; i < batch; i++)
    rows[i] = i;
  TlTensor **fields = tl_dataset_instance_read (r->d, batch, rows, error);
  if (!fields)
    return FALSE;
  guint nf = tl_dataset_instance_n_fields (r->d);
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < tl_graph_n_inputs (r->g); i++) {
    const char *name = tl_value_name (tl_graph_input_value (r->g, i));
    gint f = tl_dataset_instance_field_index (r->d, name);
    if (f < 0) {
      g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "graph input '%s' is not a dataset field", name);
      ok = FALSE;
    } else {
      ok = tl_exec_set_input (r->ex, name, fields[f], error);
    }
  }
  for (guint i = 0; i < nf; i++)
    tl_tensor_unref (fields[i]);
  g_free (fields);
  return ok;
}

static gboolean
rig_loss (ModelRig *r, double *loss, GError **error)
{
  if (!tl_exec_run (r->ex, 0, error))
    return FALSE;
  *loss = tl_tensor_get_flat (tl_exec_get_output (r->ex, 0), 0);
  return TRUE;
}

static GPtrArray *
snapshot (ModelRig *r)
{
  GPtrArray *copy = g_ptr_array_new_with_free_func ((GDestroyNotify) tl_tensor_unref);
  for (guint i = 0; i < r->params->len; i++)
    g_ptr_array_add (copy, tl_tensor_copy (r->params->pdata[i], NULL));
  return copy;
}

static void
restore (ModelRig *r, GPtrArray *copy)
{
  for (guint i = 0; i < r->params->len; i++)
    tl_tensor_copy_into (r->params->pdata[i], copy->pdata[i], NULL);
}

static gboolean
check_loss (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  ModelRig r;
  gboolean ok = rig_open (s, ci, &r, error);
  if (!ok) {
    rig_free (&r);
    return *error == NULL;
  }
  double loss = 0;
  ok = rig_loss (&r, &loss, error);
  if (ok && !isfinite (loss)) {
    g_set_error (error, TL_ERROR, TL_ERROR_NUMERIC, "loss is %g on the sample batch", loss);
    ok = FALSE;
  }
  if (ok)
    tlc_note ("loss %.6g", loss);
  rig_free (&r);
  return ok;
}

static gboolean
check_sgd (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  ModelRig r;
  if (!rig_open (s, ci, &r, error)) {
    rig_free (&r);
    return *error == NULL;
  }
  static const double lrs[] = { 0.1, 0.01, 0.001 };
  g_autoptr (GPtrArray) init = snapshot (&r);
  g_autoptr (GString) tried = g_string_new (NULL);
  gboolean ok = FALSE, failed = FALSE;
  for (guint li = 0; !ok && !failed && li < G_N_ELEMENTS (lrs); li++) {
    restore (&r, init);
    double first = 0, last = 0;
    for (guint step = 0; step <= SGD_STEPS; step++) {
      if (!rig_loss (&r, &last, error)) {
        failed = TRUE;
        break;
      }
      if (step == 0)
        first = last;
      if (step == SGD_STEPS || !isfinite (last))
        break;
      for (guint k = 0; k < r.params->len; k++) {
        TlTensor *p = r.params->pdata[k];
        TlTensor *gr = tl_exec_get_output (r.ex, k + 1);
        float *pd = tl_tensor_data (p);
        gint64 n = tl_tensor_numel (p);
        for (gint64 e = 0; e < n; e++)
          pd[e] -= (float) (lrs[li] * tl_tensor_get_flat (gr, e));
      }
    }
    if (failed)
      break;
    g_string_append_printf (tried, "%slr %g: %.6g -> %.6g", tried->len ? ", " : "", lrs[li], first, last);
    if (isfinite (last) && last < first)
      ok = TRUE;
  }
  rig_free (&r);
  if (failed)
    return FALSE;
  if (!ok) {
    g_set_error (error, TL_ERROR, TL_ERROR_NUMERIC, "%d SGD steps on a fixed batch did not lower the loss (%s)",
                 SGD_STEPS, tried->str);
    return FALSE;
  }
  tlc_note ("%s", tried->str);
  return TRUE;
}

static gboolean
outputs_equal (ModelRig *r, GPtrArray *ref)
{
  for (guint i = 0; i < ref->len; i++)
    if (!tl_tensor_equal_bits (tl_exec_get_output (r->ex, i), ref->pdata[i]))
      return FALSE;
  return TRUE;
}

static gboolean
check_checkpoint (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  ModelRig r;
  if (!rig_open (s, ci, &r, error)) {
    rig_free (&r);
    return *error == NULL;
  }
  g_autofree char *name = g_strdup_printf ("ckpt-%d.safetensors", (int) getpid ());
  g_autofree char *path = g_build_filename (s->tmpdir, name, NULL);
  double loss = 0;
  gboolean ok = rig_loss (&r, &loss, error);
  g_autoptr (GPtrArray) ref = g_ptr_array_new_with_free_func ((GDestroyNotify) tl_tensor_unref);
  for (guint i = 0; ok && i < r.n_outputs; i++)
    g_ptr_array_add (ref, tl_tensor_copy (tl_exec_get_output (r.ex, i), NULL));
  ok = ok && tl_checkpoint_save (tl_model_instance_params (r.m), NULL, NULL, path, error);
  /* perturb every parameter, then load the checkpoint back */
  for (guint k = 0; ok && k < r.params->len; k++) {
    TlTensor *p = r.params->pdata[k];
    for (gint64 e = 0; e < tl_tensor_numel (p); e++)
      tl_tensor_set_flat (p, e, tl_tensor_get_flat (p, e) + 0.25);
  }
  ok = ok && tl_checkpoint_load (tl_model_instance_params (r.m), NULL, path, error);
  ok = ok && rig_loss (&r, &loss, error);
  if (ok && !outputs_equal (&r, ref)) {
    g_set_error (error, TL_ERROR, TL_ERROR_NUMERIC, "outputs after save/perturb/load differ from before");
    ok = FALSE;
  }
  rig_free (&r);
  return ok;
}

/* --- builds in every mode, deterministic initial values ------------------- */

static const char *const mode_names[] = { "train", "eval", "predict" };

/* What the store held: per parameter its name, tensor and a copy of its
 * values. */
typedef struct {
  GPtrArray *names;   /* char* */
  GPtrArray *tensors; /* TlTensor* (borrowed from the store) */
  GPtrArray *values;  /* TlTensor* copies */
} StoreSnap;

static void
store_snap_clear (StoreSnap *sn)
{
  g_clear_pointer (&sn->names, g_ptr_array_unref);
  g_clear_pointer (&sn->tensors, g_ptr_array_unref);
  g_clear_pointer (&sn->values, g_ptr_array_unref);
}

static gboolean
store_snap (TlParamStore *store, StoreSnap *sn, GError **error)
{
  sn->names = g_ptr_array_new_with_free_func (g_free);
  sn->tensors = g_ptr_array_new ();
  sn->values = g_ptr_array_new_with_free_func ((GDestroyNotify) tl_tensor_unref);
  for (guint i = 0; i < tl_param_store_size (store); i++) {
    TlTensor *t = tl_param_store_tensor (store, i);
    TlTensor *copy = tl_tensor_copy (t, error);
    if (!copy)
      return FALSE;
    g_ptr_array_add (sn->names, g_strdup (tl_param_store_name (store, i)));
    g_ptr_array_add (sn->tensors, t);
    g_ptr_array_add (sn->values, copy);
  }
  return TRUE;
}

/* A store's parameter list as "name desc, ..." for messages. (transfer full) */
static char *
store_snap_describe (const StoreSnap *sn)
{
  GString *out = g_string_new (NULL);
  for (guint i = 0; i < sn->names->len; i++) {
    TlTensorDesc d;
    tl_tensor_get_desc (sn->values->pdata[i], &d);
    g_autofree char *ds = tl_tensor_desc_to_string (&d);
    g_string_append_printf (out, "%s%s %s", i ? ", " : "", (const char *) sn->names->pdata[i], ds);
    if (out->len > 300) {
      g_string_append (out, ", ...");
      break;
    }
  }
  return g_string_free (out, FALSE);
}

/* Compare two snapshots: same names in the same order, same descs, and
 * (with `values`) bit-identical values; with `same_tensors`, the very same
 * tensors. Sets an error beginning with `what`. */
static gboolean
store_snap_compare (const StoreSnap *a, const StoreSnap *b, gboolean same_tensors, const char *what,
                    GError **error)
{
  gboolean same_list = a->names->len == b->names->len;
  for (guint i = 0; same_list && i < a->names->len; i++) {
    TlTensorDesc da, db;
    tl_tensor_get_desc (a->values->pdata[i], &da);
    tl_tensor_get_desc (b->values->pdata[i], &db);
    same_list = g_str_equal (a->names->pdata[i], b->names->pdata[i]) && tl_tensor_desc_equal (&da, &db);
  }
  if (!same_list) {
    g_autofree char *sa = store_snap_describe (a);
    g_autofree char *sb = store_snap_describe (b);
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN,
                 "%s: the parameters (names, shapes) differ: [%s] vs [%s]", what, sa, sb);
    return FALSE;
  }
  for (guint i = 0; i < a->names->len; i++) {
    const char *name = a->names->pdata[i];
    if (same_tensors && a->tensors->pdata[i] != b->tensors->pdata[i]) {
      g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "%s: parameter '%s' is no longer the same tensor", what,
                   name);
      return FALSE;
    }
    if (!tl_tensor_equal_bits (a->values->pdata[i], b->values->pdata[i])) {
      g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "%s: the values of parameter '%s' differ", what, name);
      return FALSE;
    }
  }
  return TRUE;
}

/* Every parameter of `g` named like a store parameter is the store's tensor
 * (the train and eval graphs see the same tensors). */
static gboolean
graph_uses_store (TlGraph *g, TlParamStore *store, const char *mode, GError **error)
{
  for (guint i = 0; i < tl_graph_n_params (g); i++) {
    TlValue *v = tl_graph_param_value (g, i);
    TlTensor *t = tl_param_store_lookup (store, tl_value_name (v));
    if (t && tl_value_tensor (v) != t) {
      g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN,
                   "the %s graph's parameter '%s' is not the tensor of the parameter store", mode,
                   tl_value_name (v));
      return FALSE;
    }
  }
  return TRUE;
}

/* tl-model.h: the host builds the graph once per mode (train, eval,
 * predict) on one instance; all builds share the parameter store ("create
 * (first build) or fetch (later builds); shapes must match"). Train needs a
 * loss (the host checks); eval is scored by its loss and prediction, so it
 * needs one of them; when the train graph declares a prediction, eval and
 * predict (tl_predict writes it) declare one too, of the same task and
 * desc. The eval and predict builds leave the store as the train build made
 * it: same parameters, same tensors, same values. */
static gboolean
check_modes (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  TlDatasetInstance *d = NULL;
  TlModelInstance *m = NULL;
  TlGraph *g[3] = { NULL, NULL, NULL };
  TlTask task[3] = { TL_TASK_NONE, TL_TASK_NONE, TL_TASK_NONE };
  StoreSnap train = { NULL }, after = { NULL };
  gint64 batch = 0;
  gboolean ok = FALSE;
  if (!model_open (s, ci, 42, &d, &m, &batch, error)) {
    ok = *error == NULL;
    goto out;
  }
  TlParamStore *store = tl_model_instance_params (m);
  for (TlMode mode = TL_MODE_TRAIN; mode <= TL_MODE_PREDICT; mode++) {
    const char *label = NULL;
    g[mode] = tl_model_instance_build (m, d, mode, batch, &task[mode], &label, error);
    if (!g[mode]) {
      g_prefix_error (error, "%s build: ", mode_names[mode]);
      goto out;
    }
    if (!graph_uses_store (g[mode], store, mode_names[mode], error))
      goto out;
    if (mode == TL_MODE_TRAIN) {
      if (!store_snap (store, &train, error))
        goto out;
      continue;
    }
    g_autofree char *what = g_strdup_printf ("after the %s build", mode_names[mode]);
    store_snap_clear (&after);
    if (!store_snap (store, &after, error) || !store_snap_compare (&train, &after, TRUE, what, error))
      goto out;
  }
  if (!tl_graph_get_output (g[TL_MODE_EVAL], "loss") && !tl_graph_get_output (g[TL_MODE_EVAL], "prediction")) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "the eval graph has neither a loss nor a prediction");
    goto out;
  }
  TlValue *pred = tl_graph_get_output (g[TL_MODE_TRAIN], "prediction");
  for (TlMode mode = TL_MODE_EVAL; pred && mode <= TL_MODE_PREDICT; mode++) {
    TlValue *p = tl_graph_get_output (g[mode], "prediction");
    if (!p) {
      g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN,
                   "the train graph sets a prediction, the %s graph none", mode_names[mode]);
      goto out;
    }
    if (task[mode] != task[TL_MODE_TRAIN]) {
      g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "the prediction's task is %d in train mode, %d in %s mode",
                   (int) task[TL_MODE_TRAIN], (int) task[mode], mode_names[mode]);
      goto out;
    }
    if (!tl_tensor_desc_equal (tl_value_desc (p), tl_value_desc (pred))) {
      g_autofree char *a = tl_tensor_desc_to_string (tl_value_desc (pred));
      g_autofree char *b = tl_tensor_desc_to_string (tl_value_desc (p));
      g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "the prediction is %s in train mode, %s in %s mode", a, b,
                   mode_names[mode]);
      goto out;
    }
  }
  tlc_note ("%u parameters; outputs: eval%s%s, predict%s", train.names->len,
            tl_graph_get_output (g[TL_MODE_EVAL], "loss") ? " loss" : "",
            tl_graph_get_output (g[TL_MODE_EVAL], "prediction") ? " prediction" : "",
            tl_graph_get_output (g[TL_MODE_PREDICT], "prediction") ? " prediction" : " (no prediction)");
  ok = TRUE;
out:
  for (guint i = 0; i < 3; i++)
    if (g[i])
      tl_graph_unref (g[i]);
  store_snap_clear (&train);
  store_snap_clear (&after);
  tl_model_instance_free (m);
  tl_dataset_instance_free (d);
  return ok;
}

/* tl-model.h: "Initial values are deterministic in (seed, name)": two
 * instances with the same seed hold bit-identical parameters after their
 * train build. */
static gboolean
check_init_deterministic (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  TlDatasetInstance *d = NULL;
  TlModelInstance *m[2] = { NULL, NULL };
  StoreSnap sn[2] = { { NULL }, { NULL } };
  gint64 batch = 0;
  gboolean ok = FALSE;
  for (guint k = 0; k < 2; k++) {
    if (!model_open (s, ci, 42, &d, &m[k], &batch, error)) {
      ok = *error == NULL;
      goto out;
    }
    TlGraph *g = tl_model_instance_build (m[k], d, TL_MODE_TRAIN, batch, NULL, NULL, error);
    if (!g)
      goto out;
    tl_graph_unref (g);
    if (!store_snap (tl_model_instance_params (m[k]), &sn[k], error))
      goto out;
  }
  ok = store_snap_compare (&sn[0], &sn[1], FALSE, "two instances with seed 42", error);
  if (ok)
    tlc_note ("%u parameters", sn[0].names->len);
out:
  for (guint k = 0; k < 2; k++) {
    store_snap_clear (&sn[k]);
    tl_model_instance_free (m[k]);
  }
  tl_dataset_instance_free (d);
  return ok;
}

void
tlc_checks_model (TlcSuite *s, const TlComponentInfo *ci)
{
  const char *name = tl_component_info_full_name (ci);
  g_autofree char *n1 = g_strdup_printf ("%s: finite loss on the sample data", name);
  g_autofree char *n2 = g_strdup_printf ("%s: SGD steps on a fixed batch lower the loss", name);
  g_autofree char *n3 = g_strdup_printf ("%s: checkpoint save/load round trip", name);
  tlc_run (s, n1, check_loss, ci);
  tlc_run (s, n2, check_sgd, ci);
  tlc_run (s, n3, check_checkpoint, ci);
  g_autofree char *n4 = g_strdup_printf ("%s: builds in train, eval and predict mode on one parameter store",
                                         name);
  g_autofree char *n5 = g_strdup_printf ("%s: initial parameters deterministic in the seed", name);
  tlc_run (s, n4, check_modes, ci);
  tlc_run (s, n5, check_init_deterministic, ci);
}
