/* bench-dispatch.c — per-op dispatch overhead of the executor: a chain of
 * 100 "add" ops on f32[4] tensors (v = v + y), run repeatedly; reports
 * microseconds per op. tl's half of "BENCH dispatch" (the anchor is
 * torch_dispatch.py: eager `x = x + y` 100 times). */
#include "config.h"

#include <math.h>
#include <stdio.h>

#include "bench-util.h"

#define CHAIN 100

int
main (int argc, char **argv)
{
  BenchOptions opts = { .threads = 0, .steps = 50000, .warmup = 2000, .seed = 42 };
  g_autoptr (GError) error = NULL;
  const gint64 shape[] = { 4 };

  bench_init (&argc, &argv, "Per-op dispatch overhead (tl half of BENCH dispatch)", &opts);

  TlGraph *g = tl_graph_new ();
  TlValue *v = tl_graph_input (g, "x", TL_DTYPE_F32, 1, shape);
  TlValue *y = tl_graph_input (g, "y", TL_DTYPE_F32, 1, shape);
  for (guint i = 0; i < CHAIN; i++)
    v = tl_add (g, v, y);
  tl_graph_set_output (g, "out", v);
  bench_check (tl_graph_take_error (g, &error), error, "building the graph");

  TlExecOptions eo;
  tl_exec_options_init (&eo);
  eo.n_threads = (uint32_t) opts.threads;
  TlExec *ex = tl_exec_new (g, 1, &v, &eo, &error);
  bench_check (ex != NULL, error, "tl_exec_new");
  TlTensor *x_data = tl_tensor_new_from_data (TL_DTYPE_F32, 1, shape,
                                              (float[]){ 1.f, 2.f, 3.f, 4.f }, &error);
  bench_check (x_data != NULL, error, "x");
  TlTensor *y_data = tl_tensor_new_from_data (TL_DTYPE_F32, 1, shape,
                                              (float[]){ 0.5f, 0.25f, -1.f, 2.f }, &error);
  bench_check (y_data != NULL, error, "y");
  bench_check (tl_exec_set_input (ex, "x", x_data, &error), error, "tl_exec_set_input x");
  bench_check (tl_exec_set_input (ex, "y", y_data, &error), error, "tl_exec_set_input y");

  guint64 step = 0;
  for (gint i = 0; i < opts.warmup; i++, step++)
    bench_check (tl_exec_run (ex, step, &error), error, "tl_exec_run");
  double t0 = bench_now (), c0 = bench_cpu_now ();
  for (gint i = 0; i < opts.steps; i++, step++)
    bench_check (tl_exec_run (ex, step, &error), error, "tl_exec_run");
  double secs = bench_now () - t0, cpu = bench_cpu_now () - c0;

  /* The chain must really have been computed: out = x + 100 y. */
  TlTensor *out = tl_exec_get_output (ex, 0);
  for (gint64 i = 0; i < 4; i++) {
    double want = tl_tensor_get_flat (x_data, i) + CHAIN * tl_tensor_get_flat (y_data, i);
    bench_check (fabs (tl_tensor_get_flat (out, i) - want) < 1e-3, NULL, "wrong result");
  }

  printf ("dispatch tl threads=%d runs=%d ops=%d us_per_op=%.4f us_per_run=%.3f cpu_us_per_op=%.4f "
          "kernels=%u\n",
          opts.threads, opts.steps, CHAIN, 1e6 * secs / ((double) opts.steps * CHAIN),
          1e6 * secs / opts.steps, 1e6 * cpu / ((double) opts.steps * CHAIN),
          tl_exec_n_kernels (ex));
  bench_profile (ex, g, &opts, NULL, 0);
  tl_tensor_unref (x_data);
  tl_tensor_unref (y_data);
  tl_exec_free (ex);
  tl_graph_unref (g);
  return 0;
}
