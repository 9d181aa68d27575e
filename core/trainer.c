/* trainer.c — the train task (evaluate and predict: evaluate.c).
 *
 * Batches: every graph has a fixed batch size. Training uses full batches;
 * with drop_last = 0 the last partial batch of an epoch is completed with
 * rows from the start of that epoch's order. Evaluation and prediction see
 * every row exactly once: full batches go through a graph of batch_size,
 * the remainder through a second graph built for exactly that many rows
 * (so the loss and the metrics are exact, no padding).
 *
 * Data order: epoch e uses the identity order shuffled by TlRng(seed, e);
 * micro-batch k of the run reads rows from epoch k / steps_per_epoch. The
 * trainer state is the number of optimizer steps taken, so a resumed run
 * reads the same batches, feeds random ops the same step numbers and
 * produces the same parameters as an uninterrupted one; the checkpoint also
 * holds the model-selection state (best value, evaluations without
 * improvement, and the training-loss window in progress, which is the
 * selection metric without eval data), so it selects the same best
 * checkpoint and stops early at the same step.
 *
 * On a GPU (cfg->device "cuda[:N]") the parameters, the accumulated
 * gradients and the optimizer state live on the device (train-device.c);
 * per step only the fed batch goes to the device and the loss (and, when
 * evaluating, the predictions) come back. Parameters and optimizer state
 * are copied to the host for checkpoints and when the run ends.
 * cfg->cuda_graph or TL_CUDA_GRAPH=1 replays the forward and backward
 * pass as a captured CUDA graph (not with ops that draw random numbers).
 */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <string.h>

#include "train-private.h"
#include "train-dp.h"
#include "train-device.h"
#include "backend-private.h"

static volatile sig_atomic_t stop_requested;
/* Set once a data-parallel run stopped at a step every rank agreed on;
 * cleared by each tl_train and by a stop of this process alone (an
 * evaluation or prediction cancelled); read through
 * tl_train_stop_was_agreed(). */
static gint stop_agreed;

/**
 * tl_trainer_request_stop:
 *
 * Asks a running train/evaluate/predict to stop at the next step boundary.
 * Async-signal-safe.
 */
void
tl_trainer_request_stop (void)
{
  stop_requested = 1;
}

/**
 * tl_train_config_init:
 * @cfg: config to fill with the defaults documented in tl-trainer.h
 */
void
tl_train_config_init (TlTrainConfig *cfg)
{
  memset (cfg, 0, sizeof *cfg);
  cfg->epochs = 1;
  cfg->batch_size = 32;
  cfg->optimizer = "adam";
  cfg->lr = 1e-3;
  cfg->momentum = 0.9;
  cfg->beta1 = 0.9;
  cfg->beta2 = 0.999;
  cfg->adam_eps = 1e-8;
  cfg->schedule = "constant";
  cfg->accum_steps = 1;
  cfg->drop_last = 1;
  cfg->seed = 42;
  cfg->shuffle = 1;
  cfg->device = "cpu";
}

/**
 * tl_train_config_set_graph_hook:
 * @cfg: a train config
 * @hook: (nullable): called on every graph tl_train, tl_evaluate and
 *   tl_predict build, after autodiff and before the executor is made; NULL
 *   (the default) calls nothing
 * @user_data: (transfer none): passed to @hook; must outlive the call that
 *   uses @cfg
 *
 * Stores @hook and @user_data in cfg->reserved[1] and cfg->reserved[2].
 */
void
tl_train_config_set_graph_hook (TlTrainConfig *cfg, TlTrainGraphHook hook, gpointer user_data)
{
  g_return_if_fail (cfg != NULL);
  cfg->reserved[1] = (void *) hook;
  cfg->reserved[2] = hook ? user_data : NULL;
}

void
_tl_priv_progress_message (const TlProgress *p, const char *fmt, ...)
{
  if (!p || !p->message)
    return;
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *s = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  p->message (p->user_data, s);
}

gboolean
_tl_priv_train_cancelled (GError **error, const char *what, gint64 step)
{
  if (!stop_requested)
    return FALSE;
  g_atomic_int_set (&stop_agreed, 0); /* this process's stop alone */
  g_set_error (error, TL_ERROR, TL_ERROR_CANCELLED, "%s interrupted at step %" G_GINT64_FORMAT,
               what, step);
  return TRUE;
}

/* --- training ------------------------------------------------------------- */

typedef struct {
  TlModelInstance *m;
  TlDatasetInstance *train;
  TlDatasetInstance *eval;
  const TlTrainConfig *cfg;
  const TlProgress *progress;
  Pass pass;
  Evaluator ev;
  TlOptimizer *opt;
  GPtrArray *names;  /* trainable parameter names */
  TlTensor **params; /* [n] borrowed from the store */
  TlTensor **acc;    /* [n] accumulated gradients (owned), NULL when no gradient */
  guint n;
  gint64 n_rows, spe; /* rows, micro-batches per epoch */
  gint64 total;       /* optimizer steps */
  gint64 opt_step;    /* optimizer steps taken */
  gint64 cur_epoch;
  gint64 *order;
  double best;
  gboolean have_best;
  gint64 bad_evals;
  /* Mean training loss since the last evaluation point: the selection
   * metric without eval data. Checkpointed, so that a run resumed mid-window
   * evaluates the same window as an uninterrupted one. */
  double window_loss;
  gint64 window_n;
  const char *select;
  TlMetrics last_eval;
  gboolean have_eval;
  gboolean checked_select;
  TlMetrics last_train;
  TlDataParallel dp; /* data-parallel shard and communicator (train-dp.c) */
  TlDeviceParams devp; /* parameters on a GPU (train-device.c); inactive on the CPU */
  const TlBackendOptim *dops; /* device arithmetic for the gradients */
} Trainer;

static void
trainer_clear (Trainer *t)
{
  _tl_priv_pass_clear (&t->pass);
  _tl_priv_evaluator_clear (&t->ev);
  tl_optimizer_free (t->opt);
  if (t->names)
    g_ptr_array_unref (t->names);
  for (guint i = 0; t->acc && i < t->n; i++)
    tl_tensor_unref (t->acc[i]);
  g_free (t->acc);
  g_free (t->params);
  g_free (t->order);
  _tl_priv_dp_clear (&t->dp);
  _tl_priv_devparams_clear (&t->devp);
}

/* Checkpoint inputs on the host: the store's host tensors refreshed from
 * the device, and (nullable) a host copy of the optimizer (transfer full)
 * when its state lives on the device. */
static gboolean
host_state (Trainer *t, TlOptimizer **opt_copy, GError **error)
{
  if (opt_copy)
    *opt_copy = NULL;
  if (!t->devp.active)
    return TRUE;
  if (!_tl_priv_devparams_download (&t->devp, error))
    return FALSE;
  if (opt_copy && t->opt && !(*opt_copy = _tl_priv_optimizer_host_copy (t->opt, error)))
    return FALSE;
  return TRUE;
}

static void
epoch_order (Trainer *t, gint64 epoch)
{
  if (t->cur_epoch == epoch)
    return;
  for (gint64 i = 0; i < t->n_rows; i++)
    t->order[i] = i;
  if (t->cfg->shuffle) {
    TlRng rng;
    tl_rng_init (&rng, t->cfg->seed, (guint64) epoch);
    tl_rng_shuffle (&rng, t->order, t->n_rows);
  }
  t->cur_epoch = epoch;
}

static char *
join_path (const char *dir, const char *file)
{
  return g_build_filename (dir, file, NULL);
}

static gboolean
save_last (Trainer *t, GError **error)
{
  if (!t->cfg->out_dir || !_tl_priv_dp_is_root (&t->dp))
    return TRUE; /* data-parallel: rank 0 writes */
  g_autoptr (GHashTable) meta = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_hash_table_insert (meta, "step", g_strdup_printf ("%" G_GINT64_FORMAT, t->opt_step));
  g_hash_table_insert (meta, "trainer.opt_step",
                       g_strdup_printf ("%" G_GINT64_FORMAT, t->opt_step));
  g_hash_table_insert (
      meta, "trainer.epoch",
      g_strdup_printf ("%" G_GINT64_FORMAT, t->opt_step * t->cfg->accum_steps / MAX (1, t->spe)));
  g_hash_table_insert (meta, "trainer.seed", g_strdup_printf ("%" G_GUINT64_FORMAT, t->cfg->seed));
  g_hash_table_insert (meta, "trainer.batch_size",
                       g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) t->cfg->batch_size));
  g_hash_table_insert (meta, "trainer.accum_steps", g_strdup_printf ("%d", t->cfg->accum_steps));
  g_hash_table_insert (meta, "trainer.shuffle", g_strdup_printf ("%u", t->cfg->shuffle));
  g_hash_table_insert (meta, "trainer.bad_evals",
                       g_strdup_printf ("%" G_GINT64_FORMAT, t->bad_evals));
  g_hash_table_insert (
      meta, "trainer.best",
      g_strdup (t->have_best ? g_ascii_formatd (buf, sizeof buf, "%.17g", t->best) : "none"));
  g_hash_table_insert (meta, "trainer.window_loss",
                       g_strdup (g_ascii_formatd (buf, sizeof buf, "%.17g", t->window_loss)));
  g_hash_table_insert (meta, "trainer.window_n",
                       g_strdup_printf ("%" G_GINT64_FORMAT, t->window_n));
  g_hash_table_insert (meta, "model", g_strdup (tl_model_instance_name (t->m)));
  g_autofree char *path = join_path (t->cfg->out_dir, "last.safetensors");
  TlOptimizer *host_opt = NULL;
  if (!host_state (t, &host_opt, error))
    return FALSE;
  gboolean ok = tl_checkpoint_save (tl_model_instance_params (t->m),
                                    host_opt ? host_opt : t->opt, meta, path, error);
  tl_optimizer_free (host_opt);
  return ok;
}

static gboolean
save_best (Trainer *t, const TlMetrics *mt, GError **error)
{
  if (!_tl_priv_dp_is_root (&t->dp))
    return TRUE;
  g_autoptr (GHashTable) meta = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_hash_table_insert (meta, "step", g_strdup_printf ("%" G_GINT64_FORMAT, t->opt_step));
  g_hash_table_insert (meta, "model", g_strdup (tl_model_instance_name (t->m)));
  g_hash_table_insert (meta, "metrics", tl_metrics_to_json (mt, t->opt_step, "eval"));
  g_autofree char *path = join_path (t->cfg->out_dir, "best.safetensors");
  if (!host_state (t, NULL, error) ||
      !tl_checkpoint_save (tl_model_instance_params (t->m), NULL, meta, path, error))
    return FALSE;
  _tl_priv_progress_message (t->progress, "best checkpoint (%s=%.6g) written to %s", t->select,
                             tl_metrics_get (mt, t->select), path);
  return TRUE;
}

static gboolean
load_resume (Trainer *t, GError **error)
{
  const char *from = t->cfg->resume_from;
  g_autofree char *path = g_file_test (from, G_FILE_TEST_IS_DIR)
                              ? join_path (from, "last.safetensors")
                              : g_strdup (from);
  g_autoptr (GHashTable) meta = NULL;
  if (!tl_checkpoint_load_full (tl_model_instance_params (t->m), t->opt, path, &meta, error))
    return FALSE;
  const char *s = g_hash_table_lookup (meta, "trainer.opt_step");
  guint64 v;
  if (!s || !g_ascii_string_to_unsigned (s, 10, 0, G_MAXINT64, &v, NULL)) {
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE,
                 "%s: not a trainer checkpoint (no trainer.opt_step)", path);
    return FALSE;
  }
  t->opt_step = (gint64) v;
  s = g_hash_table_lookup (meta, "trainer.bad_evals");
  if (s && g_ascii_string_to_unsigned (s, 10, 0, G_MAXINT64, &v, NULL))
    t->bad_evals = (gint64) v;
  s = g_hash_table_lookup (meta, "trainer.best");
  if (s && strcmp (s, "none") != 0) {
    t->best = g_ascii_strtod (s, NULL);
    t->have_best = TRUE;
  }
  /* Absent from checkpoints written before they were saved: the window then
   * restarts empty. */
  s = g_hash_table_lookup (meta, "trainer.window_n");
  const char *wl = g_hash_table_lookup (meta, "trainer.window_loss");
  if (s && wl && g_ascii_string_to_unsigned (s, 10, 0, G_MAXINT64, &v, NULL)) {
    char *end = NULL;
    double l = g_ascii_strtod (wl, &end);
    if (end != wl && !*end && isfinite (l)) {
      t->window_n = (gint64) v;
      t->window_loss = l;
    }
  }
  /* The data order is a function of (seed, batch size, accumulation,
   * shuffle): say so when a resumed run changes them. */
  g_autofree char *seed_s = g_strdup_printf ("%" G_GUINT64_FORMAT, t->cfg->seed);
  g_autofree char *bs_s = g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) t->cfg->batch_size);
  g_autofree char *acc_s = g_strdup_printf ("%d", t->cfg->accum_steps);
  g_autofree char *sh_s = g_strdup_printf ("%u", t->cfg->shuffle);
  const char *keys[4] = {"trainer.seed", "trainer.batch_size", "trainer.accum_steps",
                         "trainer.shuffle"};
  const char *now[4] = {seed_s, bs_s, acc_s, sh_s};
  for (int i = 0; i < 4; i++) {
    const char *was = g_hash_table_lookup (meta, keys[i]);
    if (was && strcmp (was, now[i]) != 0)
      _tl_priv_progress_message (t->progress,
                                 "resuming with %s = %s (the checkpoint used %s): the data "
                                 "order differs from the original run",
                                 keys[i] + 8, now[i], was);
  }
  _tl_priv_progress_message (t->progress, "resumed from %s at step %" G_GINT64_FORMAT, path,
                             t->opt_step);
  return TRUE;
}

/* An evaluation point: metrics, best checkpoint, early stopping. Sets *stop.
 * Data-parallel, the evaluation runs to the end despite a stop request
 * (t->ev.uncancellable): every rank evaluates every row, and a rank that
 * cut its evaluation short would wait for the others in the agreement that
 * follows (train_loop) for as long as theirs takes. */
static gboolean
eval_point (Trainer *t, TlMetrics *train_window, gboolean *stop, GError **error)
{
  TlMetrics mt;
  if (t->eval) {
    if (!_tl_priv_evaluate_with (&t->ev, t->m, t->eval, t->cfg, NULL, &mt, error))
      return FALSE;
  } else {
    mt = *train_window;
  }
  t->last_eval = mt;
  t->have_eval = t->eval != NULL;
  if (t->progress && t->progress->eval)
    t->progress->eval (t->progress->user_data, t->opt_step, &mt);
  double v = tl_metrics_get (&mt, t->select);
  if (isnan (v) && !t->checked_select) {
    /* A metric the task never reports would silently disable best
     * checkpoints and early stopping. */
    gboolean present = FALSE;
    for (guint32 i = 0; i < mt.n; i++)
      present = present || g_str_equal (mt.names[i], t->select);
    if (!present) {
      g_autofree char *have = tl_metrics_to_string (&mt);
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "train: select_metric \"%s\" is not computed for this model's task (%s)",
                   t->select, have);
      return FALSE;
    }
  }
  t->checked_select = TRUE;
  gboolean hib = tl_metric_higher_is_better (t->select);
  gboolean better = !isnan (v) && (!t->have_best || (hib ? v > t->best : v < t->best));
  if (better) {
    t->best = v;
    t->have_best = TRUE;
    t->bad_evals = 0;
    if (t->cfg->out_dir && !save_best (t, &mt, error))
      return FALSE;
  } else {
    t->bad_evals++;
    if (t->cfg->patience > 0 && t->bad_evals >= t->cfg->patience) {
      _tl_priv_progress_message (t->progress,
                                 "early stopping at step %" G_GINT64_FORMAT
                                 " (%s did not improve in %" G_GINT64_FORMAT " evaluations)",
                                 t->opt_step, t->select, t->bad_evals);
      *stop = TRUE;
    }
  }
  return TRUE;
}

/* acc = g on the first micro-batch of a step, then acc += g; the
 * accumulators live where the run's parameters do (on a GPU the sum is a
 * cuBLAS axpy). */
static gboolean
accumulate (Trainer *t, gboolean first, GError **error)
{
  for (guint k = 0; k < t->pass.n_grads; k++) {
    guint pi = (guint) t->pass.grad_param[k];
    TlTensor *g = tl_exec_get_output (t->pass.ex, t->pass.grad_out0 + k);
    if (!t->acc[pi]) {
      TlTensorDesc d;
      tl_tensor_desc_init (&d, TL_DTYPE_F32, tl_tensor_ndim (t->params[pi]), tl_tensor_shape (t->params[pi]));
      t->acc[pi] = t->devp.active ? _tl_priv_tensor_new_on (&t->devp.dev, &d, TRUE, error)
                                  : tl_tensor_new_from_desc (&d, error);
      if (!t->acc[pi])
        return FALSE;
    }
    if (tl_tensor_numel (g) != tl_tensor_numel (t->acc[pi])) {
      g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "gradient of '%s' has the wrong size",
                   (const char *) t->names->pdata[pi]);
      return FALSE;
    }
    if (first) {
      if (!tl_tensor_copy_into (t->acc[pi], g, error))
        return FALSE;
      continue;
    }
    g_autoptr (TlTensor) gf = NULL;
    if (tl_tensor_dtype (g) != TL_DTYPE_F32 || !tl_tensor_is_contiguous (g)) {
      if (!(gf = tl_tensor_cast (g, TL_DTYPE_F32, error)))
        return FALSE;
      g = gf;
    }
    const float *x = tl_tensor_const_data (g);
    float *acc = tl_tensor_data (t->acc[pi]);
    gint64 ne = tl_tensor_numel (g);
    if (t->devp.active) {
      if (!t->dops->axpy (ne, 1.0f, x, acc, error))
        return FALSE;
    } else {
      for (gint64 i = 0; i < ne; i++)
        acc[i] += x[i];
    }
  }
  return TRUE;
}

static gboolean
check_config (const TlTrainConfig *cfg, GError **error)
{
  if (cfg->batch_size <= 0 || cfg->accum_steps <= 0 || cfg->epochs < 0 || cfg->steps < 0 ||
      !(cfg->lr >= 0) || cfg->eval_every < 0 || cfg->patience < 0 || cfg->checkpoint_every < 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "train: batch_size and accum_steps must be positive; epochs, steps, lr, "
                 "eval_every, patience, checkpoint_every non-negative");
    return FALSE;
  }
  if (!tl_schedule_valid (cfg->schedule)) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "train: unknown schedule \"%s\" (constant, linear, cosine)", cfg->schedule);
    return FALSE;
  }
  if (cfg->select_metric && !g_str_equal (cfg->select_metric, "loss") &&
      !g_str_equal (cfg->select_metric, "accuracy") && !g_str_equal (cfg->select_metric, "auc") &&
      !g_str_equal (cfg->select_metric, "f1_micro") &&
      !g_str_equal (cfg->select_metric, "f1_macro") && !g_str_equal (cfg->select_metric, "mse")) {
    g_set_error (
        error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
        "train: unknown select_metric \"%s\" (loss, accuracy, auc, f1_micro, f1_macro, mse)",
        cfg->select_metric);
    return FALSE;
  }
  return TRUE;
}

/**
 * tl_train_stop_was_agreed:
 *
 * Tells, after tl_train() failed with TL_ERROR_CANCELLED, whether the stop
 * was agreed by every rank: a data-parallel run carries a stop request in
 * its per-step loss allreduce, so every rank returns the same error after
 * the same step (rank 0 having written last.safetensors) and the job can
 * end normally. FALSE means this process stopped alone (a stop outside the
 * step loop, or a single-process run): under several ranks its peers go on
 * and could wait for it in a collective, so it should end the job with
 * tl_comm_abort(). Process-wide, like tl_trainer_request_stop(); each
 * tl_train() call clears it when it starts, and a tl_evaluate() or
 * tl_predict() that is cancelled clears it too.
 *
 * Returns: whether the last cancelled tl_train(), tl_evaluate() or
 *   tl_predict() of this process stopped at a step every rank agreed on
 */
gboolean
tl_train_stop_was_agreed (void)
{
  return g_atomic_int_get (&stop_agreed) != 0;
}

/* Ends the run with TL_ERROR_CANCELLED after writing last.safetensors
 * (save); agreed: every rank stops here (data-parallel). */
static gboolean
stop_here (Trainer *t, gboolean save, gboolean agreed, GError **error)
{
  if (agreed)
    g_atomic_int_set (&stop_agreed, 1);
  if (save && !save_last (t, error))
    return FALSE;
  g_set_error (error, TL_ERROR, TL_ERROR_CANCELLED, "training interrupted at step %" G_GINT64_FORMAT,
               t->opt_step);
  return FALSE;
}

static gboolean
train_loop (Trainer *t, GError **error)
{
  const TlTrainConfig *cfg = t->cfg;
  const gint64 accum = cfg->accum_steps;
  const gint64 bs = cfg->batch_size;
  g_autofree gint64 *rows = g_try_new (gint64, bs);
  if (!rows) {
    g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY, "train: out of memory");
    return FALSE;
  }
  gint64 last_ckpt = t->opt_step;
  const gboolean dp = _tl_priv_dp_active (&t->dp);
  if (t->opt_step >= t->total) {
    /* a resumed run that had already finished: not an error (the job's
     * later tasks still run on the trained model), but no "done (0 steps)"
     * either. Every rank resumed from the same step (dp keys), so every
     * rank returns here. */
    _tl_priv_progress_message (t->progress,
                               "train: nothing to do: the checkpoint is at step %" G_GINT64_FORMAT
                               " of %" G_GINT64_FORMAT " (raise epochs or steps)",
                               t->opt_step, t->total);
    return TRUE;
  }
  if (t->progress && t->progress->begin)
    t->progress->begin (t->progress->user_data, "train", t->total);
  while (t->opt_step < t->total) {
    double step_loss = 0;
    for (gint64 a = 0; a < accum; a++) {
      /* data-parallel, a rank's stop request travels with the step's loss
       * (below): every rank stops after the same step */
      if (stop_requested && !dp)
        return stop_here (t, TRUE, FALSE, error);
      gint64 k = t->opt_step * accum + a; /* micro-batch index */
      epoch_order (t, k / t->spe);
      gint64 j = k % t->spe;
      /* this rank's shard of the global batch (all of it on one rank) */
      for (gint64 i = 0; i < t->dp.n; i++)
        rows[i] = t->order[(j * bs + t->dp.lo + i) % t->n_rows];
      TlTensor **fields = _tl_priv_pass_run (&t->pass, t->train, rows, (guint64) k, error);
      if (!fields)
        return FALSE;
      _tl_priv_free_fields (t->train, fields);
      double l = _tl_priv_scalar_of (tl_exec_get_output (t->pass.ex, (guint) t->pass.loss_out));
      if (!isfinite (l) && !_tl_priv_dp_active (&t->dp)) {
        g_set_error (error, TL_ERROR, TL_ERROR_NUMERIC,
                     "train: the loss is %g at step %" G_GINT64_FORMAT, l, t->opt_step + 1);
        return FALSE;
      }
      step_loss += l;
      if (!accumulate (t, a == 0, error))
        return FALSE;
    }
    step_loss /= (double) accum;
    if (accum > 1) {
      float inv = 1.0f / (float) accum;
      for (guint i = 0; i < t->n; i++) {
        if (!t->acc[i])
          continue;
        if (t->devp.active) {
          if (!t->dops->scale (tl_tensor_numel (t->acc[i]), inv, tl_tensor_data (t->acc[i]), error))
            return FALSE;
          continue;
        }
        float *g = tl_tensor_data (t->acc[i]);
        for (gint64 e = 0; e < tl_tensor_numel (t->acc[i]); e++)
          g[e] *= inv;
      }
    }
    /* Gradients that did not come this step are absent, not stale. */
    g_autofree TlTensor **grads = g_new0 (TlTensor *, t->n + 1);
    for (guint k = 0; k < t->pass.n_grads; k++)
      grads[t->pass.grad_param[k]] = t->acc[t->pass.grad_param[k]];
    if (dp) {
      /* sum of the ranks' share-weighted gradients and losses; the loss is
       * checked after the sum so that every rank stops together. A stop
       * asked on any rank drops the step on every rank, like a stop before
       * the step in one process. */
      gboolean halt = stop_requested != 0;
      if (!_tl_priv_dp_reduce (&t->dp, t->n, grads, &step_loss, &halt, error))
        return FALSE;
      if (halt)
        return stop_here (t, TRUE, TRUE, error);
      if (!isfinite (step_loss)) {
        g_set_error (error, TL_ERROR, TL_ERROR_NUMERIC,
                     "train: the loss is %g at step %" G_GINT64_FORMAT, step_loss, t->opt_step + 1);
        return FALSE;
      }
    }
    double gnorm = tl_clip_grad_norm (t->n, grads, cfg->clip_norm);
    if (!isfinite (gnorm)) {
      /* Stop before the optimizer spreads NaN/Inf into every parameter. */
      g_set_error (error, TL_ERROR, TL_ERROR_NUMERIC,
                   "train: the gradient norm is %g at step %" G_GINT64_FORMAT, gnorm,
                   t->opt_step + 1);
      return FALSE;
    }
    double lr = tl_schedule_lr (cfg->schedule, cfg->lr, t->opt_step, cfg->warmup_steps, t->total);
    if (!tl_optimizer_step (t->opt, t->n, t->params, grads, lr, error))
      return FALSE;
    t->opt_step++;
    if (!_tl_priv_devparams_step_end (&t->devp, t->m, (guint64) t->opt_step, error))
      return FALSE;
    t->window_loss += step_loss;
    t->window_n++;
    tl_metrics_init (&t->last_train);
    tl_metrics_set (&t->last_train, "loss", step_loss);
    tl_metrics_set (&t->last_train, "lr", lr);
    tl_metrics_set (&t->last_train, "grad_norm", gnorm);
    if (t->progress && t->progress->step)
      t->progress->step (t->progress->user_data, t->opt_step, &t->last_train);

    gboolean at_eval;
    if (cfg->eval_every > 0)
      at_eval = t->opt_step % cfg->eval_every == 0;
    else
      at_eval = (t->opt_step * accum) / t->spe > ((t->opt_step - 1) * accum) / t->spe;
    if (t->opt_step == t->total)
      at_eval = TRUE;
    gboolean stop = FALSE, halt = FALSE;
    if (at_eval) {
      TlMetrics window;
      tl_metrics_init (&window);
      tl_metrics_set (&window, "loss", t->window_loss / (double) MAX (1, t->window_n));
      t->window_loss = 0;
      t->window_n = 0;
      if (!eval_point (t, &window, &stop, error))
        return FALSE;
      /* data-parallel: rank 0's early stopping decision, and a stop asked
       * on any rank (during the evaluation too), hold for every rank */
      halt = stop_requested;
      if (dp && !_tl_priv_dp_agree_eval (&t->dp, &stop, &halt, error))
        return FALSE;
    }
    /* data-parallel, a stop asked by any rank: the evaluation of this step
     * is complete on every rank, so the last checkpoint is this step's */
    if (dp && halt)
      return stop_here (t, TRUE, TRUE, error);
    gboolean at_ckpt =
        cfg->checkpoint_every > 0 ? t->opt_step - last_ckpt >= cfg->checkpoint_every : at_eval;
    if (at_ckpt || stop || t->opt_step == t->total) {
      if (!save_last (t, error))
        return FALSE;
      last_ckpt = t->opt_step;
    }
    if (stop)
      break;
  }
  if (t->progress && t->progress->end)
    t->progress->end (t->progress->user_data, "train");
  return TRUE;
}

/**
 * tl_train:
 * @m: model instance (its parameters are trained in place)
 * @train: training data
 * @eval: (nullable): evaluation data
 * @cfg: configuration (see tl-trainer.h)
 * @progress: (nullable): progress sink
 * @final: (out caller-allocates) (optional): metrics of the last evaluation
 *   (or of the last training step when there is no evaluation data)
 * @error: return location for a #GError
 *
 * Trains with the configured optimizer, schedule, clipping and gradient
 * accumulation (the gradient is the mean over accum_steps micro-batches).
 * With out_dir, writes best.safetensors (parameters at the best evaluation
 * by select_metric) and last.safetensors (parameters, optimizer state and
 * trainer state) there; resume_from (a file or such a directory) continues
 * a run. tl_trainer_request_stop() ends it with TL_ERROR_CANCELLED after
 * writing last.safetensors.
 *
 * Returns: TRUE on success (also after early stopping).
 */
gboolean
tl_train (TlModelInstance *m, TlDatasetInstance *train, TlDatasetInstance *eval,
          const TlTrainConfig *cfg, const TlProgress *progress, TlMetrics *final, GError **error)
{
  stop_requested = 0;
  g_atomic_int_set (&stop_agreed, 0);
  if (!check_config (cfg, error))
    return FALSE;
  Trainer t = {0};
  gboolean ok = FALSE;
  t.m = m;
  t.train = train;
  t.eval = eval;
  t.cfg = cfg;
  t.progress = progress;
  if (!_tl_priv_dp_init (&t.dp, cfg, progress, error))
    return FALSE;
  if (!_tl_priv_dp_is_root (&t.dp))
    t.progress = progress = NULL; /* data-parallel: rank 0 reports */
  t.cur_epoch = -1;
  t.ev.mode = TL_MODE_EVAL;
  t.ev.uncancellable = _tl_priv_dp_active (&t.dp);
  t.select = cfg->select_metric ? cfg->select_metric : "loss";
  if (!eval && !g_str_equal (t.select, "loss")) {
    _tl_priv_progress_message (
        progress, "no evaluation data: selecting on the training loss, not %s", t.select);
    t.select = "loss";
  }
  t.n_rows = tl_dataset_instance_size (train);
  gint64 bs = cfg->batch_size;
  t.spe = cfg->drop_last ? t.n_rows / bs : (t.n_rows + bs - 1) / bs;
  if (t.spe <= 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "train: dataset %s has %" G_GINT64_FORMAT
                 " rows, fewer than one batch of %" G_GINT64_FORMAT
                 " (set drop_last=\"false\" on the task, or a smaller batch)",
                 tl_dataset_instance_name (train), t.n_rows, bs);
    return FALSE;
  }
  t.total = cfg->steps > 0 ? cfg->steps : cfg->epochs * t.spe / cfg->accum_steps;
  if (t.total <= 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "train: no optimizer step to take (epochs x batches per epoch < accum_steps)");
    return FALSE;
  }
  t.names = g_ptr_array_new_with_free_func (g_free);
  TlParamStore *store = tl_model_instance_params (m);
  if (!_tl_priv_devparams_begin (&t.devp, store, cfg, error))
    goto out;
  if (t.devp.active) {
    t.dops = t.devp.dev.be->get_extension ? t.devp.dev.be->get_extension (TL_BACKEND_EXT_OPTIM)
                                          : NULL;
    if (!t.dops || t.dops->abi != TL_BACKEND_ABI) {
      g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                   "train: the %s backend has no trainer support", cfg->device);
      goto out;
    }
  }
  if (!_tl_priv_pass_init (&t.pass, m, train, TL_MODE_TRAIN, t.dp.n, cfg, t.names, error))
    goto out;
  /* with a graph hook (a planner), the evaluation graphs too go through it
   * now rather than at the first evaluation point, after steps that would
   * be lost */
  if (cfg->reserved[1] && eval && !_tl_priv_evaluator_prepare (&t.ev, m, eval, cfg, "evaluate", error))
    goto out;
  t.n = t.names->len;
  t.params = g_new0 (TlTensor *, t.n + 1);
  t.acc = g_new0 (TlTensor *, t.n + 1);
  for (guint i = 0; i < t.n; i++) {
    t.params[i] = tl_param_store_lookup (store, t.names->pdata[i]);
    if (t.devp.active && t.params[i] &&
        !(t.params[i] = _tl_priv_devparams_get (&t.devp, t.names->pdata[i], error)))
      goto out;
  }
  if (t.devp.active) {
    if (cfg->cuda_graph || _tl_env_flag ("TL_CUDA_GRAPH")) {
      GError *ce = NULL;
      if (_tl_priv_exec_set_capture (t.pass.ex, TRUE, &ce)) {
        _tl_priv_progress_message (progress, "training step replayed as a CUDA graph");
      } else {
        _tl_priv_progress_message (progress, "CUDA graph capture off: %s", ce->message);
        g_error_free (ce);
      }
    }
  }
  TlOptimConfig oc;
  tl_optim_config_init (&oc);
  gboolean is_sgd = g_strcmp0 (cfg->optimizer, "sgd") == 0;
  oc.momentum = is_sgd ? cfg->momentum : 0;
  oc.nesterov = cfg->nesterov;
  oc.weight_decay = cfg->weight_decay;
  oc.beta1 = cfg->beta1;
  oc.beta2 = cfg->beta2;
  oc.eps = cfg->adam_eps;
  t.opt = tl_optimizer_new (cfg->optimizer ? cfg->optimizer : "adam", &oc, error);
  if (!t.opt)
    goto out;
  if (!tl_optimizer_set_param_names (t.opt, t.n, (const char *const *) t.names->pdata, error))
    goto out;
  t.order = g_try_new (gint64, t.n_rows);
  if (!t.order) {
    g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY,
                 "train: out of memory for the order of %" G_GINT64_FORMAT " rows", t.n_rows);
    goto out;
  }
  if (cfg->out_dir && g_mkdir_with_parents (cfg->out_dir, 0777) != 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_IO, "%s: cannot create the directory", cfg->out_dir);
    goto out;
  }
  if (cfg->resume_from && !load_resume (&t, error))
    goto out;
  TlDpJobKeys keys = { .total = t.total, .start = t.opt_step, .spe = t.spe,
                       .eval_every = cfg->eval_every, .patience = cfg->patience,
                       .on_device = t.devp.active };
  if (!_tl_priv_dp_sync_params (&t.dp, store, &keys, error))
    goto out;
  if (t.devp.active && !_tl_priv_dp_use_device (&t.dp, &t.devp.dev, t.dops, progress, error))
    goto out;
  if (!_tl_priv_devparams_upload (&t.devp, error))
    goto out;
  if (!train_loop (&t, error)) {
    /* like on the CPU, the store holds the parameters as they were when
     * the run failed (best effort: a device failure may prevent it) */
    _tl_priv_devparams_download (&t.devp, NULL);
    goto out;
  }
  if (!_tl_priv_devparams_download (&t.devp, error))
    goto out;
  if (final)
    *final = t.have_eval ? t.last_eval : t.last_train;
  ok = TRUE;
out:
  trainer_clear (&t);
  return ok;
}
