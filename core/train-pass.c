/* train-pass.c — one graph + executor over fixed-size batches, and passes over
 * a whole dataset (full batches plus one graph for the remainder). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "train-private.h"
#include "train-device.h"

/* --- one graph + executor ----------------------------------------------- */

void
_tl_priv_pass_clear (Pass *p)
{
  tl_exec_free (p->ex);
  if (p->g)
    tl_graph_unref (p->g);
  g_free (p->grad_param);
  memset (p, 0, sizeof *p);
}

static void
exec_options (const TlTrainConfig *cfg, gboolean training, TlExecOptions *o)
{
  tl_exec_options_init (o);
  o->n_threads = cfg->n_threads;
  o->deterministic = cfg->deterministic;
  o->seed = cfg->seed;
  o->training = training ? 1 : 0;
  if (cfg->device)
    o->device = cfg->device;
}

/* The output a graph hook must keep: NULL with an error when it is gone. */
static TlValue *
kept_output (TlGraph *g, const char *name, GError **error)
{
  TlValue *v = tl_graph_get_output (g, name);
  if (!v)
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "the graph hook removed the graph output '%s'", name);
  return v;
}

/* With a graph hook (tl_train_config_set_graph_hook): name the gradients
 * "grad/<param>", call the hook, then read loss, prediction and gradients
 * back by name (a rewrite may have replaced their values). Without one,
 * nothing changes. */
static gboolean
run_graph_hook (Pass *p, TlMode mode, const TlTrainConfig *cfg, GPtrArray *train_names, TlValue **loss,
                TlValue **pred, GPtrArray *grad_vals, GError **error)
{
  TlTrainGraphHook hook = (TlTrainGraphHook) cfg->reserved[1];
  if (!hook)
    return TRUE;
  g_autoptr (GPtrArray) grad_names = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < grad_vals->len; i++) {
    char *name = g_strdup_printf ("grad/%s", (const char *) train_names->pdata[p->grad_param[i]]);
    g_ptr_array_add (grad_names, name);
    tl_graph_set_output (p->g, name, grad_vals->pdata[i]);
  }
  GError *local = NULL;
  if (!hook (p->g, mode, cfg->reserved[2], &local)) {
    if (!local)
      g_set_error_literal (&local, TL_ERROR, TL_ERROR_FAILED, "the graph hook failed");
    g_propagate_error (error, local);
    return FALSE;
  }
  if (*loss && !(*loss = kept_output (p->g, "loss", error)))
    return FALSE;
  if (*pred && !(*pred = kept_output (p->g, "prediction", error)))
    return FALSE;
  for (guint i = 0; i < grad_vals->len; i++)
    if (!(grad_vals->pdata[i] = kept_output (p->g, grad_names->pdata[i], error)))
      return FALSE;
  return TRUE;
}

/* Build a graph for `mode`; for training also its gradients w.r.t. the
 * trainable parameters listed in `train_names` (filled by this call). */
gboolean
_tl_priv_pass_init (Pass *p, TlModelInstance *m, TlDatasetInstance *d, TlMode mode, gint64 batch,
                    const TlTrainConfig *cfg, GPtrArray *train_names, GError **error)
{
  memset (p, 0, sizeof *p);
  p->batch = batch;
  p->loss_out = p->pred_out = p->label_idx = -1;
  const char *label_field = NULL;
  p->g = tl_model_instance_build (m, d, mode, batch, &p->task, &label_field, error);
  if (!p->g)
    return FALSE;
  if (label_field)
    p->label_idx = tl_dataset_instance_field_index (d, label_field);
  TlValue *loss = tl_graph_get_output (p->g, "loss");
  TlValue *pred = tl_graph_get_output (p->g, "prediction");
  g_autoptr (GPtrArray) grad_vals = g_ptr_array_new ();
  if (mode == TL_MODE_TRAIN) {
    TlParamStore *s = tl_model_instance_params (m);
    g_autoptr (GPtrArray) wrt = g_ptr_array_new ();
    g_autoptr (GArray) wrt_idx = g_array_new (FALSE, FALSE, sizeof (gint));
    for (guint i = 0; i < tl_param_store_size (s); i++) {
      if (!tl_param_store_trainable (s, i))
        continue;
      gint ti = (gint) train_names->len;
      g_ptr_array_add (train_names, g_strdup (tl_param_store_name (s, i)));
      TlValue *v = tl_graph_find_param (p->g, tl_param_store_name (s, i));
      if (!v || !tl_dtype_is_float (tl_tensor_dtype (tl_param_store_tensor (s, i))))
        continue;
      g_ptr_array_add (wrt, v);
      g_array_append_val (wrt_idx, ti);
    }
    TlValue **grads = g_new0 (TlValue *, wrt->len + 1);
    if (!tl_autodiff (p->g, loss, wrt->len, (TlValue *const *) wrt->pdata, grads, error)) {
      g_free (grads);
      return FALSE;
    }
    p->grad_param = g_new0 (gint, wrt->len + 1);
    for (guint i = 0; i < wrt->len; i++) {
      if (!grads[i])
        continue;
      p->grad_param[p->n_grads++] = g_array_index (wrt_idx, gint, i);
      g_ptr_array_add (grad_vals, grads[i]);
    }
    g_free (grads);
  }
  if (!run_graph_hook (p, mode, cfg, train_names, &loss, &pred, grad_vals, error))
    return FALSE;
  g_autoptr (GPtrArray) outs = g_ptr_array_new ();
  if (loss) {
    p->loss_out = (gint) outs->len;
    g_ptr_array_add (outs, loss);
  }
  if (pred) {
    p->pred_out = (gint) outs->len;
    g_ptr_array_add (outs, pred);
  }
  p->grad_out0 = outs->len;
  for (guint i = 0; i < grad_vals->len; i++)
    g_ptr_array_add (outs, grad_vals->pdata[i]);
  /* on a GPU run the graph reads the run's device parameters */
  if (!_tl_priv_devparams_bind_graph (tl_model_instance_params (m), p->g, error))
    return FALSE;
  TlExecOptions o;
  exec_options (cfg, mode == TL_MODE_TRAIN, &o);
  p->ex = tl_exec_new (p->g, outs->len, (TlValue *const *) outs->pdata, &o, error);
  if (!p->ex)
    return FALSE;
  /* the loss and the predictions are read on the host after every batch */
  if (p->loss_out >= 0)
    _tl_priv_exec_set_host_output (p->ex, (guint) p->loss_out);
  if (p->pred_out >= 0)
    _tl_priv_exec_set_host_output (p->ex, (guint) p->pred_out);
  return TRUE;
}

/* Read rows, feed the graph's inputs, run. Returns the field tensors (for
 * the labels); the caller frees them with _tl_priv_free_fields(). */
TlTensor **
_tl_priv_pass_run (Pass *p, TlDatasetInstance *d, const gint64 *rows, guint64 step, GError **error)
{
  TlTensor **fields = tl_dataset_instance_read (d, p->batch, rows, error);
  if (!fields)
    return NULL;
  guint nf = tl_dataset_instance_n_fields (d);
  for (guint i = 0; i < nf; i++) {
    const char *name = tl_dataset_instance_field (d, i)->name;
    if (!tl_graph_find_input (p->g, name))
      continue;
    if (!tl_exec_set_input (p->ex, name, fields[i], error))
      goto fail;
  }
  if (!tl_exec_run (p->ex, step, error))
    goto fail;
  return fields;
fail:
  for (guint i = 0; i < nf; i++)
    tl_tensor_unref (fields[i]);
  g_free (fields);
  return NULL;
}

void
_tl_priv_free_fields (TlDatasetInstance *d, TlTensor **fields)
{
  if (!fields)
    return;
  for (guint i = 0; i < tl_dataset_instance_n_fields (d); i++)
    tl_tensor_unref (fields[i]);
  g_free (fields);
}

double
_tl_priv_scalar_of (TlTensor *t)
{
  gint64 n = tl_tensor_numel (t);
  if (n == 1)
    return tl_tensor_get_flat (t, 0);
  double s = 0;
  for (gint64 i = 0; i < n; i++)
    s += tl_tensor_get_flat (t, i);
  return n ? s / (double) n : NAN;
}

/* --- evaluation over a whole dataset ------------------------------------- */

void
_tl_priv_evaluator_clear (Evaluator *e)
{
  _tl_priv_pass_clear (&e->full);
  _tl_priv_pass_clear (&e->rest);
  e->full_ok = e->rest_ok = FALSE;
}

/**
 * _tl_priv_evaluator_prepare:
 *
 * Builds the evaluator's graphs for d (the full batch and the remainder)
 * unless built already; _tl_priv_evaluator_run does it on its first call.
 * tl_train calls it before its first step when a graph hook is set, so a
 * hook that fails on an evaluation graph fails the run before any training.
 */
gboolean
_tl_priv_evaluator_prepare (Evaluator *e, TlModelInstance *m, TlDatasetInstance *d,
                            const TlTrainConfig *cfg, const char *phase, GError **error)
{
  gint64 n = tl_dataset_instance_size (d);
  gint64 bs = cfg->batch_size > 0 ? cfg->batch_size : 32;
  gint64 n_full = n / bs, rem = n % bs;
  if (n == 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "%s: dataset %s is empty", phase,
                 tl_dataset_instance_name (d));
    return FALSE;
  }
  if (n_full > 0 && !e->full_ok) {
    if (!_tl_priv_pass_init (&e->full, m, d, e->mode, bs, cfg, NULL, error))
      return FALSE;
    e->full_ok = TRUE;
  }
  if (rem > 0 && !e->rest_ok) {
    if (!_tl_priv_pass_init (&e->rest, m, d, e->mode, rem, cfg, NULL, error))
      return FALSE;
    e->rest_ok = TRUE;
  }
  return TRUE;
}

/* Runs every row of d in order through the evaluator, calling fn per batch. */
gboolean
_tl_priv_evaluator_run (Evaluator *e, TlModelInstance *m, TlDatasetInstance *d,
                        const TlTrainConfig *cfg, const TlProgress *progress, const char *phase,
                        BatchFn fn, gpointer data, GError **error)
{
  gint64 n = tl_dataset_instance_size (d);
  gint64 bs = cfg->batch_size > 0 ? cfg->batch_size : 32;
  gint64 n_full = n / bs, rem = n % bs;
  if (!_tl_priv_evaluator_prepare (e, m, d, cfg, phase, error))
    return FALSE;
  if (progress && progress->begin)
    progress->begin (progress->user_data, phase, n_full + (rem > 0));
  g_autofree gint64 *rows = g_try_new (gint64, bs);
  if (!rows) {
    g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY, "%s: out of memory", phase);
    return FALSE;
  }
  gint64 b = 0;
  for (gint64 start = 0; start < n; start += bs, b++) {
    if (!e->uncancellable && _tl_priv_train_cancelled (error, phase, b))
      return FALSE;
    gint64 cnt = MIN (bs, n - start);
    Pass *p = cnt == bs ? &e->full : &e->rest;
    for (gint64 i = 0; i < cnt; i++)
      rows[i] = start + i;
    TlTensor **fields = _tl_priv_pass_run (p, d, rows, (guint64) b, error);
    if (!fields)
      return FALSE;
    gboolean ok = fn (p, rows, cnt, fields, data, error);
    _tl_priv_free_fields (d, fields);
    if (!ok)
      return FALSE;
    if (progress && progress->step) {
      /* Advance the host's bar; metrics come once, at the end. */
      TlMetrics none;
      tl_metrics_init (&none);
      progress->step (progress->user_data, b + 1, &none);
    }
  }
  if (progress && progress->end)
    progress->end (progress->user_data, phase);
  return TRUE;
}
