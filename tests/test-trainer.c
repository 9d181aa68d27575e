/* test-trainer.c — training, evaluation, checkpoints, resume, early stopping. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <tl/tl.h>

#include "train-fixture.h"

typedef struct {
  gint64 steps, evals, begins, ends, messages;
  gint64 stop_at;
  TlMetrics first_eval;
  char last_message[512];
} Counter;

static void
on_begin (gpointer ud, const char *phase, gint64 total)
{
  (void) phase;
  (void) total;
  ((Counter *) ud)->begins++;
}

static void
on_step (gpointer ud, gint64 step, const TlMetrics *m)
{
  Counter *c = ud;
  c->steps++;
  g_assert_true (isfinite (tl_metrics_get (m, "loss")));
  if (c->stop_at > 0 && step == c->stop_at)
    tl_trainer_request_stop ();
}

static void
on_eval (gpointer ud, gint64 step, const TlMetrics *m)
{
  (void) step;
  Counter *c = ud;
  if (c->evals == 0)
    c->first_eval = *m;
  c->evals++;
}

static void
on_end (gpointer ud, const char *phase)
{
  (void) phase;
  ((Counter *) ud)->ends++;
}

static void
on_message (gpointer ud, const char *text)
{
  Counter *c = ud;
  c->messages++;
  g_strlcpy (c->last_message, text, sizeof c->last_message);
  g_test_message ("%s", text);
}

static TlProgress
progress_for (Counter *c)
{
  TlProgress p = { 0 };
  p.begin = on_begin;
  p.step = on_step;
  p.eval = on_eval;
  p.end = on_end;
  p.message = on_message;
  p.user_data = c;
  return p;
}

/* A test's model, its dataset, an evaluation dataset (nullable) and a
 * default training config. */
typedef struct {
  TlDatasetInstance *data, *eval;
  TlModelInstance *m;
  TlTrainConfig cfg;
} Setup;

/* data, eval, m: (transfer full), freed by setup_clear() */
static void
setup_init (Setup *s, TlDatasetInstance *data, TlDatasetInstance *eval, TlModelInstance *m)
{
  s->data = data;
  s->eval = eval;
  s->m = m;
  tl_train_config_init (&s->cfg);
}

static void
setup_clear (Setup *s)
{
  tl_model_instance_free (s->m);
  tl_dataset_instance_free (s->data);
  tl_dataset_instance_free (s->eval);
}

/* The lines of the predictions of `m` on `rows` rows of `d`, written by
 * tl_predict() to a temporary file: a header, one line per row, and an
 * empty last one. (transfer full) */
static GStrv
predict_lines (TlModelInstance *m, TlDatasetInstance *d, const TlTrainConfig *cfg, guint rows)
{
  GError *error = NULL;
  g_autofree char *dir = fixture_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "pred.tsv", NULL);
  g_assert_true (tl_predict (m, d, cfg, path, &error));
  g_assert_no_error (error);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  bt_rm_rf (dir);
  GStrv lines = g_strsplit (text, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 1 + rows + 1);
  return lines;
}

static void
test_loss_decreases (void)
{
  GError *error = NULL;
  Setup s;
  setup_init (&s, fixture_dataset (256, 4, 3, 1, FALSE), fixture_dataset (100, 4, 3, 2, FALSE),
              fixture_model (16, FALSE, 0, 7));
  s.cfg.epochs = 8;
  s.cfg.batch_size = 32;
  s.cfg.lr = 0.02;
  s.cfg.select_metric = "accuracy";
  Counter c = { 0 };
  TlProgress p = progress_for (&c);
  TlMetrics before, after;
  /* Evaluate once to build the parameters, then train. */
  g_assert_true (tl_evaluate (s.m, s.eval, &s.cfg, NULL, &before, &error) || error);
  g_assert_no_error (error);
  fixture_step_end_calls = 0;
  g_assert_true (tl_train (s.m, s.data, s.eval, &s.cfg, &p, &after, &error));
  g_assert_no_error (error);
  g_assert_cmpint (c.steps, ==, 8 * (256 / 32));
  g_assert_cmpuint (fixture_step_end_calls, ==, 8 * (256 / 32));
  g_assert_cmpint (c.evals, ==, 8); /* one per epoch */
  double l0 = tl_metrics_get (&before, "loss"), l1 = tl_metrics_get (&after, "loss");
  g_test_message ("eval loss %.4f -> %.4f, accuracy %.3f -> %.3f", l0, l1,
                  tl_metrics_get (&before, "accuracy"), tl_metrics_get (&after, "accuracy"));
  g_assert_cmpfloat (l1, <, 0.7 * l0);
  g_assert_cmpfloat (tl_metrics_get (&after, "accuracy"), >, 0.75);
  g_assert_false (isnan (tl_metrics_get (&after, "f1_macro")));
  g_assert_false (isnan (tl_metrics_get (&after, "f1_micro")));
  setup_clear (&s);
}

/* Remainder batches: metrics with batch 16 (50 = 3 x 16 + 2) equal those of
 * one batch of 50. */
static void
test_eval_remainder (void)
{
  GError *error = NULL;
  Setup s;
  setup_init (&s, fixture_dataset (50, 4, 3, 3, FALSE), NULL, fixture_model (8, FALSE, 0, 11));
  TlMetrics a, b;
  s.cfg.batch_size = 16;
  g_assert_true (tl_evaluate (s.m, s.data, &s.cfg, NULL, &a, &error));
  g_assert_no_error (error);
  s.cfg.batch_size = 50;
  g_assert_true (tl_evaluate (s.m, s.data, &s.cfg, NULL, &b, &error));
  g_assert_no_error (error);
  s.cfg.batch_size = 64; /* larger than the dataset: one remainder batch */
  TlMetrics c;
  g_assert_true (tl_evaluate (s.m, s.data, &s.cfg, NULL, &c, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (tl_metrics_get (&a, "accuracy"), ==, tl_metrics_get (&b, "accuracy"));
  g_assert_cmpfloat (tl_metrics_get (&a, "f1_macro"), ==, tl_metrics_get (&b, "f1_macro"));
  g_assert_cmpfloat (tl_metrics_get (&c, "accuracy"), ==, tl_metrics_get (&b, "accuracy"));
  g_assert_cmpfloat_with_epsilon (tl_metrics_get (&a, "loss"), tl_metrics_get (&b, "loss"), 1e-5);
  /* Multiclass predictions: one class per row, in order, remainder included. */
  s.cfg.batch_size = 16;
  g_auto (GStrv) lines = predict_lines (s.m, s.data, &s.cfg, 50);
  for (int i = 1; i <= 50; i++) {
    g_auto (GStrv) cols = g_strsplit (lines[i], "\t", -1);
    g_assert_cmpuint (g_strv_length (cols), ==, 2);
    g_assert_cmpint (g_ascii_strtoll (cols[0], NULL, 10), ==, i - 1);
    gint64 cls = g_ascii_strtoll (cols[1], NULL, 10);
    g_assert_true (cls >= 0 && cls < 3);
  }
  setup_clear (&s);
}

static void
test_binary_and_predict (void)
{
  GError *error = NULL;
  Setup s;
  setup_init (&s, fixture_dataset (128, 3, 2, 4, TRUE), NULL, fixture_model (0, FALSE, 0, 3));
  s.cfg.epochs = 10;
  s.cfg.batch_size = 16;
  s.cfg.lr = 0.05;
  s.cfg.optimizer = "sgd";
  s.cfg.select_metric = "auc";
  TlMetrics out;
  g_assert_true (tl_train (s.m, s.data, s.data, &s.cfg, NULL, &out, &error));
  g_assert_no_error (error);
  g_test_message ("binary: auc %.3f accuracy %.3f", tl_metrics_get (&out, "auc"),
                  tl_metrics_get (&out, "accuracy"));
  g_assert_cmpfloat (tl_metrics_get (&out, "auc"), >, 0.9);
  s.cfg.batch_size = 50;
  g_auto (GStrv) lines = predict_lines (s.m, s.data, &s.cfg, 128);
  g_assert_cmpstr (lines[0], ==, "row\tprediction");
  g_assert_true (g_str_has_prefix (lines[128], "127\t"));
  double prob = g_ascii_strtod (strchr (lines[5], '\t') + 1, NULL);
  g_assert_cmpfloat (prob, >=, 0.0);
  g_assert_cmpfloat (prob, <=, 1.0);
  setup_clear (&s);
}

static void
test_best_checkpoint (void)
{
  GError *error = NULL;
  g_autofree char *dir = fixture_tmpdir ();
  Setup s;
  setup_init (&s, fixture_dataset (96, 4, 3, 1, FALSE), fixture_dataset (40, 4, 3, 2, FALSE),
              fixture_model (8, FALSE, 0, 5));
  s.cfg.steps = 12;
  s.cfg.eval_every = 3;
  s.cfg.batch_size = 16;
  s.cfg.lr = 0.01;
  s.cfg.out_dir = dir;
  Counter c = { 0 };
  TlProgress p = progress_for (&c);
  g_assert_true (tl_train (s.m, s.data, s.eval, &s.cfg, &p, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (c.evals, ==, 4);
  g_autofree char *best = g_build_filename (dir, "best.safetensors", NULL);
  g_autofree char *last = g_build_filename (dir, "last.safetensors", NULL);
  g_assert_true (g_file_test (best, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (last, G_FILE_TEST_EXISTS));
  GHashTable *meta = NULL;
  GHashTable *t = tl_safetensors_read (last, &meta, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_hash_table_lookup (meta, "trainer.opt_step"), ==, "12");
  g_assert_cmpstr (g_hash_table_lookup (meta, "optim.kind"), ==, "adam");
  g_hash_table_destroy (t);
  g_hash_table_destroy (meta);
  /* The best checkpoint loads into a fresh instance and scores the best loss. */
  TlModelInstance *m2 = fixture_model (8, FALSE, 0, 99);
  TlMetrics before;
  g_assert_true (tl_evaluate (m2, s.eval, &s.cfg, NULL, &before, &error));
  g_assert_true (tl_checkpoint_load (tl_model_instance_params (m2), NULL, best, &error));
  g_assert_no_error (error);
  TlMetrics after;
  g_assert_true (tl_evaluate (m2, s.eval, &s.cfg, NULL, &after, &error));
  g_assert_cmpfloat (tl_metrics_get (&after, "loss"), <, tl_metrics_get (&before, "loss"));
  tl_model_instance_free (m2);
  setup_clear (&s);
  bt_rm_rf (dir);
}

static void
resume_config (TlTrainConfig *cfg, const char *dir)
{
  tl_train_config_init (cfg);
  cfg->steps = 14;
  cfg->batch_size = 8;
  cfg->accum_steps = 2;
  cfg->lr = 0.05;
  cfg->optimizer = "adamw";
  cfg->weight_decay = 0.01;
  cfg->schedule = "cosine";
  cfg->warmup_steps = 3;
  cfg->clip_norm = 0.5;
  cfg->eval_every = 4;
  cfg->deterministic = 1;
  cfg->out_dir = dir;
}

static void
test_resume_bitwise (void)
{
  GError *error = NULL;
  g_autofree char *dir_a = fixture_tmpdir ();
  g_autofree char *dir_b = fixture_tmpdir ();
  TlDatasetInstance *train = fixture_dataset (40, 4, 3, 1, FALSE); /* 5 batches: epochs wrap */
  TlDatasetInstance *eval = fixture_dataset (20, 4, 3, 2, FALSE);
  TlTrainConfig cfg;

  TlModelInstance *a = fixture_model (8, FALSE, 0.25, 21);
  resume_config (&cfg, dir_a);
  g_assert_true (tl_train (a, train, eval, &cfg, NULL, NULL, &error));
  g_assert_no_error (error);

  TlModelInstance *b = fixture_model (8, FALSE, 0.25, 21);
  resume_config (&cfg, dir_b);
  Counter c = { 0 };
  c.stop_at = 6;
  TlProgress p = progress_for (&c);
  g_assert_false (tl_train (b, train, eval, &cfg, &p, NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_CANCELLED);
  g_clear_error (&error);
  /* one process: the stop is this process's alone */
  g_assert_false (tl_train_stop_was_agreed ());
  g_assert_cmpint (c.steps, ==, 6);
  tl_model_instance_free (b);

  TlModelInstance *r = fixture_model (8, FALSE, 0.25, 21);
  resume_config (&cfg, dir_b);
  cfg.resume_from = dir_b;
  Counter c2 = { 0 };
  TlProgress p2 = progress_for (&c2);
  g_assert_true (tl_train (r, train, eval, &cfg, &p2, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (c2.steps, ==, 14 - 6);
  /* resuming the finished run: nothing to train, said so, not an error */
  TlModelInstance *again = fixture_model (8, FALSE, 0.25, 21);
  Counter c3 = { 0 };
  TlProgress p3 = progress_for (&c3);
  g_assert_true (tl_train (again, train, eval, &cfg, &p3, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (c3.steps, ==, 0);
  g_assert_cmpint (c3.begins, ==, 0);
  g_assert_cmpint (c3.ends, ==, 0);
  g_assert_cmpstr (c3.last_message, ==,
                   "train: nothing to do: the checkpoint is at step 14 of 14 (raise epochs or steps)");
  tl_model_instance_free (again);
  TlParamStore *sa = tl_model_instance_params (a), *sr = tl_model_instance_params (r);
  g_assert_cmpuint (tl_param_store_size (sa), ==, tl_param_store_size (sr));
  for (guint i = 0; i < tl_param_store_size (sa); i++) {
    TlTensor *x = tl_param_store_tensor (sa, i);
    TlTensor *y = tl_param_store_lookup (sr, tl_param_store_name (sa, i));
    if (!tl_tensor_equal_bits (x, y))
      g_error ("parameter %s differs after resume (max rel diff %g)", tl_param_store_name (sa, i),
               tl_tensor_max_rel_diff (y, x));
  }
  /* And the run did change the parameters. */
  TlModelInstance *fresh = fixture_model (8, FALSE, 0.25, 21);
  TlMetrics tmp;
  g_assert_true (tl_evaluate (fresh, eval, &cfg, NULL, &tmp, &error));
  g_assert_false (tl_tensor_equal_bits (tl_param_store_lookup (tl_model_instance_params (fresh), "fc1.weight"),
                                        tl_param_store_lookup (sa, "fc1.weight")));
  tl_model_instance_free (fresh);
  tl_model_instance_free (a);
  tl_model_instance_free (r);
  tl_dataset_instance_free (train);
  tl_dataset_instance_free (eval);
  bt_rm_rf (dir_a);
  bt_rm_rf (dir_b);
}

/* The evaluation points of a run: step and metrics ("loss" is the mean
 * training loss of the window without eval data), and every step's loss. */
typedef struct {
  gint64 n, eval_step[16];
  double eval_loss[16];
  gint64 n_steps, step[32];
  double step_loss[32];
  gint64 stop_at;
} EvalLog;

static void
log_step (gpointer ud, gint64 step, const TlMetrics *m)
{
  EvalLog *l = ud;
  g_assert_cmpint (l->n_steps, <, 32);
  l->step[l->n_steps] = step;
  l->step_loss[l->n_steps++] = tl_metrics_get (m, "loss");
  if (l->stop_at > 0 && step == l->stop_at)
    tl_trainer_request_stop ();
}

static void
log_eval (gpointer ud, gint64 step, const TlMetrics *m)
{
  EvalLog *l = ud;
  g_assert_cmpint (l->n, <, 16);
  l->eval_step[l->n] = step;
  l->eval_loss[l->n++] = tl_metrics_get (m, "loss");
}

static TlProgress
progress_log (EvalLog *l)
{
  TlProgress p = { 0 };
  p.step = log_step;
  p.eval = log_eval;
  p.user_data = l;
  return p;
}

static char *
meta_of (const char *dir, const char *file, const char *key)
{
  GError *error = NULL;
  g_autofree char *path = g_build_filename (dir, file, NULL);
  GHashTable *meta = NULL;
  GHashTable *t = tl_safetensors_read (path, &meta, &error);
  g_assert_no_error (error);
  char *v = g_strdup (g_hash_table_lookup (meta, key));
  g_hash_table_destroy (t);
  g_hash_table_destroy (meta);
  return v;
}

/* Without eval data the selection metric is the mean training loss over the
 * window since the last evaluation point. A checkpoint written mid-window
 * (here the stop at step 6 of the window 5..8) carries the partial window,
 * so the resumed run evaluates (and selects best.safetensors from) the same
 * losses as an uninterrupted one; a checkpoint without it (written before
 * it was saved) still resumes, with the window restarting empty. */
static void
test_resume_window (void)
{
  GError *error = NULL;
  g_autofree char *dir_a = fixture_tmpdir ();
  g_autofree char *dir_b = fixture_tmpdir ();
  g_autofree char *dir_c = fixture_tmpdir ();
  TlDatasetInstance *train = fixture_dataset (40, 4, 3, 1, FALSE);
  TlTrainConfig cfg;

  TlModelInstance *a = fixture_model (8, FALSE, 0.25, 21);
  resume_config (&cfg, dir_a);
  EvalLog la = { 0 };
  TlProgress pa = progress_log (&la);
  g_assert_true (tl_train (a, train, NULL, &cfg, &pa, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (la.n, ==, 4); /* steps 4, 8, 12, 14 */

  TlModelInstance *b = fixture_model (8, FALSE, 0.25, 21);
  resume_config (&cfg, dir_b);
  EvalLog lb = { 0 };
  lb.stop_at = 6;
  TlProgress pb = progress_log (&lb);
  g_assert_false (tl_train (b, train, NULL, &cfg, &pb, NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_CANCELLED);
  g_clear_error (&error);
  tl_model_instance_free (b);
  g_autofree char *wn = meta_of (dir_b, "last.safetensors", "trainer.window_n");
  g_assert_cmpstr (wn, ==, "2");

  /* the same checkpoint without the window, as an older tl wrote it */
  {
    g_autofree char *from = g_build_filename (dir_b, "last.safetensors", NULL);
    g_autofree char *to = g_build_filename (dir_c, "last.safetensors", NULL);
    GHashTable *meta = NULL;
    GHashTable *t = tl_safetensors_read (from, &meta, &error);
    g_assert_no_error (error);
    g_assert_true (g_hash_table_remove (meta, "trainer.window_loss"));
    g_assert_true (g_hash_table_remove (meta, "trainer.window_n"));
    g_autofree const char **names = (const char **) g_hash_table_get_keys_as_array (t, NULL);
    guint n = g_hash_table_size (t);
    g_autofree TlTensor **tensors = g_new (TlTensor *, n);
    for (guint i = 0; i < n; i++)
      tensors[i] = g_hash_table_lookup (t, names[i]);
    g_assert_true (tl_safetensors_write (to, n, names, tensors, meta, &error));
    g_assert_no_error (error);
    g_hash_table_destroy (t);
    g_hash_table_destroy (meta);
  }

  TlModelInstance *r = fixture_model (8, FALSE, 0.25, 21);
  resume_config (&cfg, dir_b);
  cfg.resume_from = dir_b;
  EvalLog lr = { 0 };
  TlProgress pr = progress_log (&lr);
  g_assert_true (tl_train (r, train, NULL, &cfg, &pr, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (lr.n, ==, 3);
  for (gint64 i = 0; i < lr.n; i++) {
    g_assert_cmpint (lr.eval_step[i], ==, la.eval_step[i + 1]);
    g_assert_cmpfloat (lr.eval_loss[i], ==, la.eval_loss[i + 1]);
  }
  g_autofree char *best_a = meta_of (dir_a, "best.safetensors", "metrics");
  g_autofree char *best_r = meta_of (dir_b, "best.safetensors", "metrics");
  g_assert_cmpstr (best_r, ==, best_a);

  TlModelInstance *o = fixture_model (8, FALSE, 0.25, 21);
  resume_config (&cfg, dir_c);
  cfg.resume_from = dir_c;
  EvalLog lo = { 0 };
  TlProgress po = progress_log (&lo);
  g_assert_true (tl_train (o, train, NULL, &cfg, &po, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (lo.n, ==, 3);
  g_assert_cmpint (lo.step[1], ==, 8);
  g_assert_cmpfloat (lo.eval_loss[0], ==, (lo.step_loss[0] + lo.step_loss[1]) / 2.0);
  g_assert_cmpfloat (lo.eval_loss[1], ==, lr.eval_loss[1]);

  tl_model_instance_free (a);
  tl_model_instance_free (r);
  tl_model_instance_free (o);
  tl_dataset_instance_free (train);
  bt_rm_rf (dir_a);
  bt_rm_rf (dir_b);
  bt_rm_rf (dir_c);
}

static void
test_early_stopping (void)
{
  GError *error = NULL;
  Setup s;
  setup_init (&s, fixture_dataset (64, 4, 3, 1, FALSE), NULL, fixture_model (0, FALSE, 0, 1));
  s.cfg.steps = 50;
  s.cfg.batch_size = 16;
  s.cfg.lr = 0; /* nothing improves after the first evaluation */
  s.cfg.optimizer = "sgd";
  s.cfg.eval_every = 2;
  s.cfg.patience = 3;
  Counter c = { 0 };
  TlProgress p = progress_for (&c);
  g_assert_true (tl_train (s.m, s.data, s.data, &s.cfg, &p, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (c.evals, ==, 4);
  g_assert_cmpint (c.steps, ==, 8);
  g_assert_cmpint (c.messages, >=, 1);
  setup_clear (&s);
}

/* accum_steps = 2 with batch 8 averages to the gradient of batch 16. */
static void
test_accumulation (void)
{
  GError *error = NULL;
  Setup s;
  setup_init (&s, fixture_dataset (64, 4, 3, 1, FALSE), NULL, fixture_model (8, FALSE, 0, 4));
  TlModelInstance *b = fixture_model (8, FALSE, 0, 4);
  s.cfg.steps = 3;
  s.cfg.optimizer = "sgd";
  s.cfg.momentum = 0;
  s.cfg.lr = 0.1;
  s.cfg.batch_size = 16;
  g_assert_true (tl_train (s.m, s.data, NULL, &s.cfg, NULL, NULL, &error));
  g_assert_no_error (error);
  s.cfg.batch_size = 8;
  s.cfg.accum_steps = 2;
  g_assert_true (tl_train (b, s.data, NULL, &s.cfg, NULL, NULL, &error));
  g_assert_no_error (error);
  TlParamStore *sa = tl_model_instance_params (s.m), *sb = tl_model_instance_params (b);
  for (guint i = 0; i < tl_param_store_size (sa); i++) {
    double d = tl_tensor_max_rel_diff (tl_param_store_lookup (sb, tl_param_store_name (sa, i)),
                                       tl_param_store_tensor (sa, i));
    g_assert_cmpfloat (d, >=, 0);
    g_assert_cmpfloat (d, <, 1e-5);
  }
  tl_model_instance_free (b);
  setup_clear (&s);
}

static void
test_errors (void)
{
  GError *error = NULL;
  Setup s;
  setup_init (&s, fixture_dataset (10, 4, 3, 1, FALSE), NULL, fixture_model (0, FALSE, 0, 1));
  s.cfg.batch_size = 16;
  g_assert_false (tl_train (s.m, s.data, NULL, &s.cfg, NULL, NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "fewer than one batch"));
  g_assert_nonnull (strstr (error->message, "(set drop_last=\"false\" on the task, or a smaller batch)"));
  g_clear_error (&error);
  s.cfg.batch_size = 4;
  s.cfg.optimizer = "rmsprop";
  g_assert_false (tl_train (s.m, s.data, NULL, &s.cfg, NULL, NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  s.cfg.optimizer = "adam";
  s.cfg.schedule = "exponential";
  g_assert_false (tl_train (s.m, s.data, NULL, &s.cfg, NULL, NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  s.cfg.schedule = NULL;
  s.cfg.select_metric = "auc"; /* not computed for multiclass */
  g_assert_false (tl_train (s.m, s.data, s.data, &s.cfg, NULL, NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "\"auc\""));
  g_clear_error (&error);
  s.cfg.select_metric = "bogus";
  g_assert_false (tl_train (s.m, s.data, s.data, &s.cfg, NULL, NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  s.cfg.select_metric = NULL;
  /* Divergence is reported, not trained through. */
  TlTrainConfig wild;
  tl_train_config_init (&wild);
  wild.batch_size = 4;
  wild.steps = 20;
  wild.optimizer = "sgd";
  wild.lr = 1e38;
  g_assert_false (tl_train (s.m, s.data, NULL, &wild, NULL, NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_NUMERIC);
  g_clear_error (&error);
  s.cfg.resume_from = "/nonexistent/last.safetensors";
  g_assert_false (tl_train (s.m, s.data, NULL, &s.cfg, NULL, NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_NOT_FOUND);
  g_clear_error (&error);
  /* Free functions accept NULL. */
  tl_model_instance_free (NULL);
  tl_dataset_instance_free (NULL);
  tl_planner_instance_free (NULL);
  setup_clear (&s);
}

/* --- instances: ABI checks, plugin misbehaviour, build errors ------------ */

struct _TlPlanner {
  int n;
};

static TlPlanner *
pl_create (const TlParams *p, GError **error)
{
  (void) error;
  if (tl_params_get_bool (p, "fail", FALSE))
    return NULL; /* misbehaves: no error set */
  return g_new0 (TlPlanner, 1);
}

static void
pl_destroy (TlPlanner *p)
{
  g_free (p);
}

static TlPlan *
pl_plan (TlPlanner *p, const TlGraph *g, const TlCluster *c, guint64 seed, GError **error)
{
  (void) g;
  (void) c;
  (void) seed;
  (void) error;
  p->n++;
  return tl_plan_new ("test.planner");
}

static gboolean
pl_apply (TlPlanner *p, const TlPlan *plan, TlGraph *g, GError **error)
{
  (void) p;
  (void) plan;
  (void) g;
  g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "apply refuses");
  return FALSE;
}

static const TlPlannerDef planner_def = {
  TL_TABLE_INIT (TlPlannerDef),
  .create = pl_create,
  .destroy = pl_destroy,
  .plan = pl_plan,
  .apply = pl_apply,
};

static TlModel *
bad_create (const TlParams *p, GError **error)
{
  (void) p;
  (void) error;
  return (TlModel *) g_new0 (int, 1);
}

static void
bad_destroy (TlModel *m)
{
  g_free (m);
}

static int bad_mode;

static gboolean
bad_build (TlModel *m, TlBuild *b, GError **error)
{
  (void) m;
  TlGraph *g = tl_build_graph (b);
  TlValue *x = tl_build_input (b, bad_mode == 1 ? "image" : "x");
  gint64 n = bad_mode == 2 && tl_build_batch_size (b) == 4 ? 5 : 4;
  tl_build_param (b, "w", TL_DTYPE_F32, 1, &n, TL_INIT_ZEROS, 0, TRUE);
  tl_build_set_prediction (b, x, TL_TASK_REGRESSION, "label");
  /* never sets a loss */
  return tl_graph_take_error (g, error);
}

static const TlModelDef bad_model_def = {
  TL_TABLE_INIT (TlModelDef),
  .create = bad_create,
  .destroy = bad_destroy,
  .build = bad_build,
};

static void
test_instances (void)
{
  GError *error = NULL;
  /* Planner wrapper */
  TlPlannerInstance *pi = tl_planner_instance_new (&planner_def, "test.planner", NULL, &error);
  g_assert_no_error (error);
  TlPlan *plan = tl_planner_instance_plan (pi, NULL, NULL, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tl_plan_planner (plan), ==, "test.planner");
  g_assert_false (tl_planner_instance_apply (pi, plan, NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  tl_plan_free (plan);
  tl_planner_instance_free (pi);
  TlParams *fail = tl_params_new ();
  tl_params_set_bool (fail, "fail", TRUE);
  g_assert_null (tl_planner_instance_new (&planner_def, "test.planner", fail, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_PLUGIN);
  g_assert_nonnull (strstr (error->message, "test.planner"));
  g_clear_error (&error);
  tl_params_free (fail);
  /* ABI mismatch */
  TlModelDef wrong = fixture_model_def;
  wrong.abi_major = 2;
  g_assert_null (tl_model_instance_new (&wrong, "test.wrong", NULL, 1, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_ABI);
  g_clear_error (&error);
  TlDatasetDef nodef = fixture_dataset_def;
  nodef.read = NULL;
  g_assert_null (tl_dataset_instance_new (&nodef, "test.noread", NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_PLUGIN);
  g_clear_error (&error);

  /* Dataset reads: rows checked */
  TlDatasetInstance *d = fixture_dataset (10, 2, 3, 1, FALSE);
  g_assert_cmpint (tl_dataset_instance_size (d), ==, 10);
  g_assert_cmpuint (tl_dataset_instance_n_fields (d), ==, 2);
  g_assert_cmpint (tl_dataset_instance_field_index (d, "label"), ==, 1);
  g_assert_cmpint (tl_dataset_instance_field_index (d, "nope"), ==, -1);
  gint64 rows[2] = { 3, 10 };
  g_assert_null (tl_dataset_instance_read (d, 2, rows, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  rows[1] = 9;
  TlTensor **f = tl_dataset_instance_read (d, 2, rows, &error);
  g_assert_no_error (error);
  g_assert_cmpint (tl_tensor_dim (f[0], 0), ==, 2);
  g_assert_cmpint (tl_tensor_dim (f[0], 1), ==, 2);
  tl_tensor_unref (f[0]);
  tl_tensor_unref (f[1]);
  g_free (f);

  /* A plugin that returns a category outside its cardinality. */
  TlParams *bp = tl_params_new ();
  tl_params_set_bool (bp, "bad_label", TRUE);
  TlDatasetInstance *bd = tl_dataset_instance_new (&fixture_dataset_def, "test.bad", bp, &error);
  g_assert_no_error (error);
  rows[0] = 0;
  g_assert_null (tl_dataset_instance_read (bd, 2, rows, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_PLUGIN);
  g_assert_nonnull (strstr (error->message, "'label' value 3 out of [0, 3)"));
  g_clear_error (&error);
  tl_dataset_instance_free (bd);
  tl_params_free (bp);

  /* Build errors */
  TlModelInstance *m = tl_model_instance_new (&bad_model_def, "test.bad", NULL, 1, &error);
  g_assert_no_error (error);
  bad_mode = 0;
  TlTask task;
  const char *label = NULL;
  TlGraph *g = tl_model_instance_build (m, d, TL_MODE_EVAL, 4, &task, &label, &error);
  g_assert_no_error (error);
  g_assert_cmpint (task, ==, TL_TASK_REGRESSION);
  g_assert_cmpstr (label, ==, "label");
  g_assert_nonnull (tl_graph_get_output (g, "prediction"));
  tl_graph_unref (g);
  g_assert_null (tl_model_instance_build (m, d, TL_MODE_TRAIN, 4, NULL, NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_PLUGIN);
  g_assert_nonnull (strstr (error->message, "no loss"));
  g_clear_error (&error);
  bad_mode = 1;
  g_assert_null (tl_model_instance_build (m, d, TL_MODE_EVAL, 4, NULL, NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "'image'"));
  g_assert_nonnull (strstr (error->message, "x, label"));
  g_clear_error (&error);
  bad_mode = 2;
  g_assert_null (tl_model_instance_build (m, d, TL_MODE_EVAL, 4, NULL, NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "'w'"));
  g_clear_error (&error);
  tl_model_instance_free (m);
  tl_dataset_instance_free (d);
}

/* Runs last: the stop flag stays set until the next tl_train. */
/* A dataset with one field whose ndim is the "ndim" parameter. The field's
 * cardinality (-1) follows shape[TL_MAX_DIMS - 1] in memory: an unchecked
 * ndim above TL_MAX_DIMS reads it as a negative dimension. */
static TlField bad_ndim_field;

static TlDataset *
bad_ndim_open (const TlParams *p, GError **error)
{
  (void) error;
  memset (&bad_ndim_field, 0, sizeof bad_ndim_field);
  bad_ndim_field.name = "x";
  bad_ndim_field.dtype = TL_DTYPE_F32;
  bad_ndim_field.ndim = (uint32_t) tl_params_get_int (p, "ndim", 0);
  for (guint k = 0; k < TL_MAX_DIMS; k++)
    bad_ndim_field.shape[k] = 1;
  bad_ndim_field.cardinality = -1;
  return (TlDataset *) &bad_ndim_field;
}

static void
bad_ndim_close (TlDataset *ds)
{
  (void) ds;
}

static uint32_t
bad_ndim_n_fields (TlDataset *ds)
{
  (void) ds;
  return 1;
}

static const TlField *
bad_ndim_get_field (TlDataset *ds, uint32_t i)
{
  (void) ds;
  return i == 0 ? &bad_ndim_field : NULL;
}

static int64_t
bad_ndim_size (TlDataset *ds)
{
  (void) ds;
  return 1;
}

static gboolean
bad_ndim_read (TlDataset *ds, int64_t n, const int64_t *rows, TlTensor *const *out, GError **error)
{
  (void) ds;
  (void) n;
  (void) rows;
  (void) out;
  (void) error;
  return TRUE;
}

static const TlDatasetDef bad_ndim_def = {
  TL_TABLE_INIT (TlDatasetDef),
  .open = bad_ndim_open,
  .close = bad_ndim_close,
  .n_fields = bad_ndim_n_fields,
  .field = bad_ndim_get_field,
  .size = bad_ndim_size,
  .read = bad_ndim_read,
};

/* Regression: the field check was `ndim + 1 > TL_MAX_DIMS` on a uint32_t,
 * which wraps for ndim == UINT32_MAX and let the shape loop read past
 * shape[]. A batch dimension is prepended, so ndim < TL_MAX_DIMS. */
static void
test_field_ndim (void)
{
  static const gint64 bad[] = { TL_MAX_DIMS, TL_MAX_DIMS + 1, G_MAXUINT32 - 1, G_MAXUINT32 };
  g_autoptr (GError) error = NULL;
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    TlParams *p = tl_params_new ();
    tl_params_set_int (p, "ndim", bad[i]);
    g_assert_null (tl_dataset_instance_new (&bad_ndim_def, "test.ndim", p, &error));
    g_assert_error (error, TL_ERROR, TL_ERROR_PLUGIN);
    if (!strstr (error->message, "field #0 is invalid"))
      g_error ("ndim %" G_GINT64_FORMAT ": %s", bad[i], error->message);
    g_clear_error (&error);
    tl_params_free (p);
  }
  TlParams *p = tl_params_new ();
  tl_params_set_int (p, "ndim", TL_MAX_DIMS - 1);
  TlDatasetInstance *d = tl_dataset_instance_new (&bad_ndim_def, "test.ndim", p, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tl_dataset_instance_field (d, 0)->ndim, ==, TL_MAX_DIMS - 1);
  tl_dataset_instance_free (d);
  tl_params_free (p);
}

static void
test_cancel_evaluate (void)
{
  GError *error = NULL;
  Setup s;
  setup_init (&s, fixture_dataset (20, 4, 3, 1, FALSE), NULL, fixture_model (0, FALSE, 0, 1));
  TlMetrics out;
  tl_trainer_request_stop ();
  g_assert_false (tl_evaluate (s.m, s.data, NULL, NULL, &out, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_false (tl_train_stop_was_agreed ());
  setup_clear (&s);
}

/* --- a plugin model whose prediction names a label field ---------------- */

/* 0: label "lable" (not in the dataset), with a loss; 1: no label field
 * and no loss. */
static int typo_mode;

static gboolean
typo_build (TlModel *m, TlBuild *b, GError **error)
{
  (void) m;
  TlGraph *g = tl_build_graph (b);
  TlValue *x = tl_build_input (b, "x");
  const TlTensorDesc *xd = tl_build_field_desc (b, "x");
  gint64 d = xd ? xd->shape[0] : 1;
  TlValue *w = tl_build_param (b, "w", TL_DTYPE_F32, 2, (gint64[]){ 1, d }, TL_INIT_ZEROS, 0, TRUE);
  TlValue *y = tl_linear (g, x, w, NULL);
  tl_build_set_prediction (b, y, TL_TASK_REGRESSION, typo_mode == 0 ? "lable" : NULL);
  if (typo_mode == 0)
    tl_build_set_loss (b, tl_mean (g, y, 0, NULL, FALSE));
  return tl_graph_take_error (g, error);
}

static const TlModelDef typo_model_def = {
  TL_TABLE_INIT (TlModelDef),
  .create = bad_create,
  .destroy = bad_destroy,
  .build = typo_build,
};

/* A misspelt label field fails train and eval with the dataset's "no field"
 * error (not a plugin error, not empty metrics); predict does not need it.
 * A model with neither a loss nor a labelled prediction has nothing to
 * evaluate. */
static void
test_missing_label_field (void)
{
  GError *error = NULL;
  TlDatasetInstance *d = fixture_dataset (16, 2, 3, 1, FALSE);
  TlModelInstance *m = tl_model_instance_new (&typo_model_def, "test.typo", NULL, 1, &error);
  g_assert_no_error (error);
  TlTrainConfig cfg;
  tl_train_config_init (&cfg);
  cfg.batch_size = 4;
  cfg.epochs = 1;
  TlMetrics mt;
  typo_mode = 0;
  for (TlMode mode = TL_MODE_TRAIN; mode <= TL_MODE_EVAL; mode++) {
    g_assert_null (tl_model_instance_build (m, d, mode, 4, NULL, NULL, &error));
    BT_ASSERT_ERROR (error, TL_ERROR_NOT_FOUND,
                     "model test.typo: the dataset has no field 'lable' (fields: x, label)");
  }
  g_assert_false (tl_train (m, d, NULL, &cfg, NULL, NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (tl_evaluate (m, d, &cfg, NULL, &mt, &error));
  BT_ASSERT_ERROR (error, TL_ERROR_NOT_FOUND,
                   "model test.typo: the dataset has no field 'lable' (fields: x, label)");
  g_auto (GStrv) lines = predict_lines (m, d, &cfg, 16);
  g_assert_cmpstr (lines[1], ==, "0\t0");
  typo_mode = 1;
  g_assert_false (tl_evaluate (m, d, &cfg, NULL, &mt, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "nothing to evaluate"));
  g_clear_error (&error);
  tl_model_instance_free (m);
  tl_dataset_instance_free (d);
}

/* --- the graph hook (tl_train_config_set_graph_hook) ---------------------- */

typedef struct {
  guint calls[3];     /* per TlMode */
  guint grads;        /* "grad/<param>" outputs seen in train mode */
  double loss_scale;  /* != 0: re-point the output "loss" at loss * loss_scale */
  gboolean fail, silent;
  gboolean fail_eval; /* fail on evaluation graphs only */
} HookData;

static gboolean
graph_hook (TlGraph *g, TlMode mode, gpointer user_data, GError **error)
{
  HookData *h = user_data;
  g_assert_true (mode <= TL_MODE_PREDICT);
  h->calls[mode]++;
  for (guint i = 0; i < tl_graph_n_outputs (g); i++)
    if (g_str_has_prefix (tl_graph_output_name (g, i), "grad/")) {
      g_assert_cmpint (mode, ==, TL_MODE_TRAIN);
      h->grads++;
    }
  if (h->fail || (h->fail_eval && mode == TL_MODE_EVAL)) {
    if (!h->silent)
      g_set_error (error, TL_ERROR, TL_ERROR_FAILED, "hook says no");
    return FALSE;
  }
  TlValue *loss = tl_graph_get_output (g, "loss");
  if (h->loss_scale != 0 && loss)
    tl_graph_set_output (g, "loss", tl_scale (g, loss, h->loss_scale, 0));
  return TRUE;
}

/* The trainer calls the hook on each graph it builds and reads "loss" back
 * by name: a hook re-pointing it at 2 * loss doubles every reported loss
 * (the gradients, computed before, are the same: the same parameters). */
static void
test_graph_hook (void)
{
  GError *error = NULL;
  TlMetrics plain, hooked;
  HookData h = { { 0 }, 0, 2.0, FALSE, FALSE, FALSE };
  g_autofree char *dir = fixture_tmpdir ();
  g_autofree char *pa = g_build_filename (dir, "a.tsv", NULL);
  g_autofree char *pb = g_build_filename (dir, "b.tsv", NULL);
  for (int run = 0; run < 2; run++) {
    Setup s;
    setup_init (&s, fixture_dataset (128, 4, 3, 1, FALSE), fixture_dataset (50, 4, 3, 2, FALSE),
                fixture_model (8, FALSE, 0, 7));
    s.cfg.epochs = 2;
    s.cfg.batch_size = 16;
    s.cfg.lr = 0.02;
    if (run == 1)
      tl_train_config_set_graph_hook (&s.cfg, graph_hook, &h);
    g_assert_true (tl_train (s.m, s.data, s.eval, &s.cfg, NULL, run ? &hooked : &plain, &error));
    g_assert_no_error (error);
    g_assert_true (tl_predict (s.m, s.eval, &s.cfg, run ? pb : pa, &error));
    g_assert_no_error (error);
    if (run == 1) {
      g_assert_cmpuint (h.grads, >, 0);
      g_assert_cmpuint (h.grads, <=, tl_param_store_size (tl_model_instance_params (s.m)));
    }
    setup_clear (&s);
  }
  g_assert_cmpuint (h.calls[TL_MODE_TRAIN], ==, 1);
  g_assert_cmpuint (h.calls[TL_MODE_EVAL], ==, 2);    /* 50 = 3 x 16 + 2: full and remainder */
  g_assert_cmpuint (h.calls[TL_MODE_PREDICT], ==, 2);
  g_assert_cmpfloat (tl_metrics_get (&hooked, "loss"), ==, 2 * tl_metrics_get (&plain, "loss"));
  g_assert_cmpfloat (tl_metrics_get (&hooked, "accuracy"), ==, tl_metrics_get (&plain, "accuracy"));
  g_autofree char *ta = NULL, *tb = NULL;
  g_assert_true (g_file_get_contents (pa, &ta, NULL, NULL));
  g_assert_true (g_file_get_contents (pb, &tb, NULL, NULL));
  g_assert_cmpstr (ta, ==, tb);
  bt_rm_rf (dir);

  /* a hook that fails fails the call, with its error or a generic one */
  Setup s;
  setup_init (&s, fixture_dataset (32, 4, 3, 1, FALSE), NULL, fixture_model (8, FALSE, 0, 7));
  TlMetrics m;
  h.fail = TRUE;
  tl_train_config_set_graph_hook (&s.cfg, graph_hook, &h);
  g_assert_false (tl_evaluate (s.m, s.data, &s.cfg, NULL, &m, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, "hook says no");
  g_clear_error (&error);
  h.silent = TRUE;
  g_assert_false (tl_train (s.m, s.data, NULL, &s.cfg, NULL, &m, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, "the graph hook failed");
  g_clear_error (&error);
  /* a hook that fails only on the evaluation graphs fails tl_train before
   * its first step, not at its first evaluation point */
  Setup se;
  setup_init (&se, fixture_dataset (32, 4, 3, 1, FALSE), fixture_dataset (20, 4, 3, 2, FALSE),
              fixture_model (8, FALSE, 0, 7));
  HookData he = { { 0 }, 0, 0.0, FALSE, FALSE, TRUE };
  tl_train_config_set_graph_hook (&se.cfg, graph_hook, &he);
  Counter c = { 0 };
  TlProgress p = progress_for (&c);
  g_assert_false (tl_train (se.m, se.data, se.eval, &se.cfg, &p, &m, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_cmpint (c.steps, ==, 0);
  setup_clear (&se);
  /* NULL: no hook */
  tl_train_config_set_graph_hook (&s.cfg, NULL, &h);
  g_assert_null (s.cfg.reserved[1]);
  g_assert_null (s.cfg.reserved[2]);
  g_assert_true (tl_evaluate (s.m, s.data, &s.cfg, NULL, &m, &error));
  g_assert_no_error (error);
  setup_clear (&s);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (tl_init (NULL));
  g_test_add_func ("/trainer/loss-decreases", test_loss_decreases);
  g_test_add_func ("/trainer/eval-remainder", test_eval_remainder);
  g_test_add_func ("/trainer/binary-and-predict", test_binary_and_predict);
  g_test_add_func ("/trainer/best-checkpoint", test_best_checkpoint);
  g_test_add_func ("/trainer/resume-bitwise", test_resume_bitwise);
  g_test_add_func ("/trainer/resume-window", test_resume_window);
  g_test_add_func ("/trainer/early-stopping", test_early_stopping);
  g_test_add_func ("/trainer/accumulation", test_accumulation);
  g_test_add_func ("/trainer/errors", test_errors);
  g_test_add_func ("/trainer/instances", test_instances);
  g_test_add_func ("/trainer/field-ndim", test_field_ndim);
  g_test_add_func ("/trainer/missing-label-field", test_missing_label_field);
  g_test_add_func ("/trainer/graph-hook", test_graph_hook);
  g_test_add_func ("/trainer/zz-cancel-evaluate", test_cancel_evaluate);
  return g_test_run ();
}
