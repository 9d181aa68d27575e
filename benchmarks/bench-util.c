/* bench-util.c — helpers shared by the engine benchmarks (see bench-util.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench-util.h"

#define BENCH_MAX_PARAMS 64

void
bench_init (int *argc, char ***argv, const char *summary, BenchOptions *opts)
{
  GOptionEntry entries[] = {
    { "threads", 't', 0, G_OPTION_ARG_INT, &opts->threads, "Threads (default: number of CPUs)", "N" },
    { "steps", 'n', 0, G_OPTION_ARG_INT, &opts->steps, "Timed iterations", "N" },
    { "warmup", 'w', 0, G_OPTION_ARG_INT, &opts->warmup, "Untimed iterations first", "N" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &opts->seed, "Random seed", "S" },
    { "profile", 'p', 0, G_OPTION_ARG_NONE, &opts->profile, "Print time per op type", NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_autoptr (GError) error = NULL;

  g_option_context_set_summary (ctx, summary);
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, argc, argv, &error)) {
    fprintf (stderr, "bench: %s\n", error->message);
    exit (2);
  }
  if (opts->threads <= 0)
    opts->threads = (gint) g_get_num_processors ();
  if (opts->steps <= 0 || opts->warmup < 0) {
    fprintf (stderr, "bench: --steps must be > 0 and --warmup >= 0\n");
    exit (2);
  }
  if (!tl_init (&error)) {
    fprintf (stderr, "bench: tl_init: %s\n", error->message);
    exit (2);
  }
  tl_set_num_threads ((guint) opts->threads);
}

double
bench_now (void)
{
  return (double) g_get_monotonic_time () / 1e6;
}

double
bench_cpu_now (void)
{
  struct timespec ts;
  if (clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
    return 0;
  return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct {
  const char *op;
  double secs;
  guint nodes;
} OpTime;

static gint
cmp_op_time (gconstpointer a, gconstpointer b)
{
  const OpTime *x = a, *y = b;
  return x->secs < y->secs ? 1 : x->secs > y->secs ? -1 : 0;
}

void
bench_profile (TlExec *ex, TlGraph *g, const BenchOptions *opts, const char *extra_label,
               double extra_secs)
{
  if (!opts->profile)
    return;

  g_autoptr (GError) error = NULL;
  guint n = tl_graph_n_nodes (g);
  g_autofree double *secs = g_new0 (double, n);
  g_autoptr (GArray) ops = g_array_new (FALSE, TRUE, sizeof (OpTime));
  bench_check (tl_exec_profile (ex, (guint) opts->steps, secs, &error), error, "tl_exec_profile");
  double total = extra_secs;
  for (guint i = 0; i < n; i++) {
    const char *op = tl_node_op (tl_graph_node (g, i));
    guint j;
    if (secs[i] <= 0)
      continue; /* not run: not needed for the outputs */
    for (j = 0; j < ops->len; j++)
      if (g_str_equal (g_array_index (ops, OpTime, j).op, op))
        break;
    if (j == ops->len)
      g_array_append_val (ops, ((OpTime) { op, 0, 0 }));
    g_array_index (ops, OpTime, j).secs += secs[i];
    g_array_index (ops, OpTime, j).nodes++;
    total += secs[i];
  }
  if (extra_label)
    g_array_append_val (ops, ((OpTime) { extra_label, extra_secs, 0 }));
  g_array_sort (ops, cmp_op_time);
  printf ("# profile: %.3f ms per step (executor nodes run + %s)\n", 1e3 * total,
          extra_label ? extra_label : "nothing");
  for (guint j = 0; j < ops->len; j++) {
    const OpTime *o = &g_array_index (ops, OpTime, j);
    printf ("#   %-24s %8.3f ms %5.1f %%  (%u nodes)\n", o->op, 1e3 * o->secs,
            100 * o->secs / total, o->nodes);
  }
}

void
bench_check (gboolean ok, GError *error, const char *what)
{
  if (ok)
    return;
  fprintf (stderr, "bench: %s: %s\n", what, error ? error->message : "failed");
  exit (1);
}

TlValue *
bench_param_uniform (TlGraph *g, TlRng *rng, const char *name, guint ndim, const gint64 *shape,
                     float bound)
{
  g_autoptr (GError) error = NULL;
  TlTensor *t = tl_tensor_new (TL_DTYPE_F32, ndim, shape, &error);
  bench_check (t != NULL, error, name);
  float *p = tl_tensor_data (t);
  gint64 n = tl_tensor_numel (t);
  for (gint64 i = 0; i < n; i++)
    p[i] = (float) ((2.0 * tl_rng_uniform (rng) - 1.0) * bound);
  TlValue *v = tl_graph_param (g, name, t);
  tl_tensor_unref (t);
  return v;
}

TlTensor *
bench_tensor_normal (TlRng *rng, guint ndim, const gint64 *shape)
{
  g_autoptr (GError) error = NULL;
  TlTensor *t = tl_tensor_new (TL_DTYPE_F32, ndim, shape, &error);
  bench_check (t != NULL, error, "input tensor");
  float *p = tl_tensor_data (t);
  gint64 n = tl_tensor_numel (t);
  for (gint64 i = 0; i < n; i++)
    p[i] = tl_rng_normal (rng);
  return t;
}

TlTensor *
bench_tensor_labels (TlRng *rng, gint64 n, gint64 n_classes)
{
  g_autoptr (GError) error = NULL;
  TlTensor *t = tl_tensor_new (TL_DTYPE_I64, 1, &n, &error);
  bench_check (t != NULL, error, "label tensor");
  gint64 *p = tl_tensor_data (t);
  for (gint64 i = 0; i < n; i++)
    p[i] = (gint64) tl_rng_below (rng, (guint64) n_classes);
  return t;
}

/* One training step: forward + backward through the executor, then the
 * optimizer update (its duration added to *optim_secs). Returns the loss. */
static double
train_step (TlExec *ex, TlOptimizer *opt, guint n, TlTensor *const *params, double lr,
            guint64 step, double *optim_secs)
{
  g_autoptr (GError) error = NULL;
  TlTensor *grads[BENCH_MAX_PARAMS];

  bench_check (tl_exec_run (ex, step, &error), error, "tl_exec_run");
  for (guint i = 0; i < n; i++)
    grads[i] = tl_exec_get_output (ex, i + 1);
  double loss = tl_tensor_get_flat (tl_exec_get_output (ex, 0), 0);
  double t0 = bench_now ();
  bench_check (tl_optimizer_step (opt, n, params, grads, lr, &error), error, "tl_optimizer_step");
  *optim_secs += bench_now () - t0;
  return loss;
}

void
bench_train (const char *name, TlGraph *g, TlValue *loss, TlTensor *x, TlTensor *y,
             const char *optim, const TlOptimConfig *cfg, double lr, const BenchOptions *opts)
{
  g_autoptr (GError) error = NULL;
  TlValue *wrt[BENCH_MAX_PARAMS];
  TlTensor *params[BENCH_MAX_PARAMS];
  TlValue *outs[BENCH_MAX_PARAMS + 1];
  guint n = tl_graph_n_params (g);

  bench_check (tl_graph_take_error (g, &error), error, "building the graph");
  bench_check (n > 0 && n <= BENCH_MAX_PARAMS, NULL, "parameter count");
  for (guint i = 0; i < n; i++) {
    wrt[i] = tl_graph_param_value (g, i);
    params[i] = tl_value_tensor (wrt[i]);
  }
  outs[0] = loss;
  bench_check (tl_autodiff (g, loss, n, wrt, outs + 1, &error), error, "tl_autodiff");
  for (guint i = 0; i < n; i++)
    bench_check (outs[i + 1] != NULL, NULL, "a parameter has no gradient");

  TlExecOptions eo;
  tl_exec_options_init (&eo);
  eo.n_threads = (uint32_t) opts->threads;
  eo.training = 1;
  TlExec *ex = tl_exec_new (g, n + 1, outs, &eo, &error);
  bench_check (ex != NULL, error, "tl_exec_new");
  bench_check (tl_exec_set_input (ex, "x", x, &error), error, "tl_exec_set_input x");
  bench_check (tl_exec_set_input (ex, "y", y, &error), error, "tl_exec_set_input y");

  TlOptimizer *opt = tl_optimizer_new (optim, cfg, &error);
  bench_check (opt != NULL, error, "tl_optimizer_new");

  guint64 step = 0;
  double loss_first = 0, optim_secs = 0;
  for (gint i = 0; i < opts->warmup; i++, step++) {
    double l = train_step (ex, opt, n, params, lr, step, &optim_secs);
    if (i == 0)
      loss_first = l;
  }
  double loss_last = 0;
  optim_secs = 0;
  double t0 = bench_now (), c0 = bench_cpu_now ();
  for (gint i = 0; i < opts->steps; i++, step++) {
    loss_last = train_step (ex, opt, n, params, lr, step, &optim_secs);
    if (opts->warmup == 0 && i == 0)
      loss_first = loss_last;
  }
  double secs = bench_now () - t0, cpu = bench_cpu_now () - c0;

  printf ("%s tl threads=%d steps=%d steps_per_s=%.3f ms_per_step=%.3f cpu_ms_per_step=%.3f "
          "loss_first=%.4f loss_last=%.4f kernels=%u\n",
          name, opts->threads, opts->steps, opts->steps / secs, 1e3 * secs / opts->steps,
          1e3 * cpu / opts->steps, loss_first, loss_last, tl_exec_n_kernels (ex));
  fflush (stdout);
  g_autofree char *label = g_strdup_printf ("tl_optimizer_step (%s)", optim);
  bench_profile (ex, g, opts, label, optim_secs / opts->steps);
  tl_optimizer_free (opt);
  tl_exec_free (ex);
}
