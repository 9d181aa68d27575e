/* bench-sgemm.c — overhead of the engine around sgemm: a graph with one
 * "matmul" node run by the executor vs cblas_sgemm called directly, on the
 * same data in the same process. Prints one BENCH line per shape:
 *   BENCH sgemm_overhead m=.. n=.. k=.. engine_us=.. direct_us=.. ratio=<engine/direct> better=lower
 * Times are medians of interleaved repetitions. Two sets of lines:
 *   sgemm_overhead  one thread on both sides: what the engine adds around
 *                   the library call (the issue's <= 5 % target);
 *   sgemm_parallel  TL_BENCH_THREADS (default tl_get_num_threads()) threads:
 *                   the engine splits GEMMs over its own pool with OpenBLAS
 *                   single-threaded (core/parallel.c), the direct call runs
 *                   OpenBLAS's own pool with as many threads. Informational. */
#include "config.h"

#include <stdlib.h>
#include <cblas.h>
#include <tl/tl.h>

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static int bench_threads = 1;

static void
direct_sgemm (gint64 m, gint64 n, gint64 k, const float *pa, const float *pb, float *pc)
{
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, pa, k, pb, n, 0.0f, pc, n);
}

static gboolean
bench_shape (const char *name, gint64 m, gint64 n, gint64 k, GError **error)
{
  TlRng rng;
  tl_rng_init (&rng, 7, 0);
  gint64 sa[2] = { m, k }, sb[2] = { k, n }, sc[2] = { m, n };
  g_autoptr (GPtrArray) keep = g_ptr_array_new_with_free_func ((GDestroyNotify) tl_tensor_unref);
  TlTensor *a = tl_tensor_new (TL_DTYPE_F32, 2, sa, error);
  TlTensor *b = a ? tl_tensor_new (TL_DTYPE_F32, 2, sb, error) : NULL;
  TlTensor *c = b ? tl_tensor_new (TL_DTYPE_F32, 2, sc, error) : NULL;
  if (!c)
    return FALSE;
  g_ptr_array_add (keep, a);
  g_ptr_array_add (keep, b);
  g_ptr_array_add (keep, c);
  float *pa = tl_tensor_data (a), *pb = tl_tensor_data (b), *pc = tl_tensor_data (c);
  for (gint64 i = 0; i < m * k; i++)
    pa[i] = (float) tl_rng_uniform (&rng) - 0.5f;
  for (gint64 i = 0; i < k * n; i++)
    pb[i] = (float) tl_rng_uniform (&rng) - 0.5f;

  TlGraph *g = tl_graph_new ();
  TlValue *av = tl_graph_input (g, "a", TL_DTYPE_F32, 2, sa);
  TlValue *bv = tl_graph_input (g, "b", TL_DTYPE_F32, 2, sb);
  TlValue *cv = tl_matmul (g, av, bv, FALSE, FALSE);
  TlExecOptions opts;
  TlExec *ex = NULL;
  gboolean ok = FALSE;
  tl_exec_options_init (&opts);
  if (!tl_graph_take_error (g, error) || !(ex = tl_exec_new (g, 1, &cv, &opts, error))
      || !tl_exec_set_input (ex, "a", a, error) || !tl_exec_set_input (ex, "b", b, error))
    goto out;

  double flops = 2.0 * m * n * k;
  guint reps = (guint) CLAMP (2e10 / flops, 5, 200);
  double *te = g_new (double, reps), *td = g_new (double, reps);
  for (guint w = 0; w < 2; w++) {  /* warm-up: thread pools, page faults */
    if (!tl_exec_run (ex, 0, error))
      goto out_free;
    openblas_set_num_threads (bench_threads);
    direct_sgemm (m, n, k, pa, pb, pc);
    openblas_set_num_threads (1);
  }
  for (guint r = 0; r < reps; r++) {
    gint64 t0 = g_get_monotonic_time ();
    if (!tl_exec_run (ex, r, error))
      goto out_free;
    gint64 t1 = g_get_monotonic_time ();
    openblas_set_num_threads (bench_threads);
    gint64 t2 = g_get_monotonic_time ();
    direct_sgemm (m, n, k, pa, pb, pc);
    gint64 t3 = g_get_monotonic_time ();
    openblas_set_num_threads (1);
    te[r] = (double) (t1 - t0);
    td[r] = (double) (t3 - t2);
  }
  /* same result */
  if (tl_tensor_max_rel_diff (tl_exec_get_output (ex, 0), c) > 1e-5) {
    g_set_error (error, TL_ERROR, TL_ERROR_NUMERIC, "engine and direct sgemm disagree at %ldx%ldx%ld",
                 (long) m, (long) n, (long) k);
    goto out_free;
  }
  qsort (te, reps, sizeof (double), cmp_double);
  qsort (td, reps, sizeof (double), cmp_double);
  double e = te[reps / 2], d = MAX (td[reps / 2], 1.0);
  g_print ("BENCH %s threads=%d m=%ld n=%ld k=%ld engine_us=%.1f direct_us=%.1f ratio=%.3f better=lower%s\n",
           name, bench_threads, (long) m, (long) n, (long) k, e, d, e / d,
           bench_threads == 1 ? " target=1.05" : "");
  ok = TRUE;
out_free:
  g_free (te);
  g_free (td);
out:
  tl_exec_free (ex);
  tl_graph_unref (g);
  return ok;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  static const gint64 shapes[][3] = {
    { 64, 64, 64 },      /* small: fixed overhead dominates */
    { 128, 512, 784 },   /* batch-128 MLP layer 784 -> 512 */
    { 512, 512, 512 },
    { 1024, 1024, 1024 },
  };
  (void) argc;
  (void) argv;
  if (!tl_init (&error)) {
    g_printerr ("bench-sgemm: %s\n", error->message);
    return 1;
  }
  const char *env = g_getenv ("TL_BENCH_THREADS");
  guint nt = env && atoi (env) > 0 ? (guint) atoi (env) : tl_get_num_threads ();
  guint counts[2] = { 1, nt };
  for (guint c = 0; c < (nt > 1 ? 2u : 1u); c++) {
    tl_set_num_threads (counts[c]);
    bench_threads = (int) counts[c];
    for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
      if (!bench_shape (c == 0 ? "sgemm_overhead" : "sgemm_parallel", shapes[i][0], shapes[i][1],
                        shapes[i][2], &error)) {
        g_printerr ("bench-sgemm: %s\n", error->message);
        return 1;
      }
  }
  return 0;
}
