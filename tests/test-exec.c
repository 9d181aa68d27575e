/* test-exec.c — executor: results, buffer planning, inputs, determinism. */
#include "config.h"

#include <string.h>
#include <tl/tl.h>

#include "engine-test-ops.h"

static void
test_chain (void)
{
  GError *error = NULL;
  const gint64 n = 1024;
  TlGraph *g = tl_graph_new ();
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 1, &n);
  TlValue *v = x;
  for (int i = 0; i < 10; i++)
    v = engine_test_scale (g, v, 2.0);
  TlValue *s = tl_graph_op (g, "test.sum", 1, &v, NULL);
  TlValue *unused = engine_test_scale (g, x, 3.0);
  (void) unused;
  g_assert_true (tl_graph_take_error (g, &error));
  TlExecOptions opts;
  tl_exec_options_init (&opts);
  TlExec *ex = tl_exec_new (g, 2, (TlValue *[]) { s, v }, &opts, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tl_exec_n_kernels (ex), ==, 11); /* the unused node is not scheduled */
  g_assert_cmpuint (tl_exec_unplanned_bytes (ex), ==, 10 * 4096 + 64);
  g_assert_cmpuint (tl_exec_peak_bytes (ex), <, tl_exec_unplanned_bytes (ex));
  g_assert_cmpuint (tl_exec_peak_bytes (ex), <=, 3 * 4096 + 64);
  g_test_message ("peak %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT, tl_exec_peak_bytes (ex),
                  tl_exec_unplanned_bytes (ex));
  g_assert_false (tl_exec_run (ex, 0, &error)); /* x not set */
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "'x'"));
  g_clear_error (&error);

  TlTensor *xt = tl_tensor_new (TL_DTYPE_F32, 1, &n, &error);
  for (gint64 i = 0; i < n; i++)
    tl_tensor_set_flat (xt, i, (double) (i % 7) - 3);
  g_assert_true (tl_exec_set_input (ex, "x", xt, &error));
  double expect = 0;
  for (gint64 i = 0; i < n; i++)
    expect += ((double) (i % 7) - 3) * 1024;
  for (int r = 0; r < 3; r++) { /* sum accumulates: outputs must be re-zeroed each run */
    g_assert_true (tl_exec_run (ex, (guint64) r, &error));
    g_assert_no_error (error);
    g_assert_cmpfloat (tl_tensor_get_flat (tl_exec_get_output (ex, 0), 0), ==, expect);
    g_assert_cmpfloat (tl_tensor_get_flat (tl_exec_get_output (ex, 1), 5), ==, 2 * 1024);
  }
  g_assert_null (tl_exec_get_output (ex, 2));

  /* without reuse: peak == unplanned, same results */
  opts.reuse_buffers = 0;
  TlExec *ex2 = tl_exec_new (g, 2, (TlValue *[]) { s, v }, &opts, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tl_exec_peak_bytes (ex2), ==, tl_exec_unplanned_bytes (ex2));
  g_assert_true (tl_exec_set_input (ex2, "x", xt, &error));
  g_assert_true (tl_exec_run (ex2, 0, &error));
  g_assert_true (tl_tensor_equal_bits (tl_exec_get_output (ex, 1), tl_exec_get_output (ex2, 1)));

  double *secs = g_new0 (double, tl_graph_n_nodes (g));
  g_assert_true (tl_exec_profile (ex, 2, secs, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < tl_graph_n_nodes (g); i++)
    g_assert_cmpfloat (secs[i], >=, 0.0);
  g_assert_cmpfloat (secs[11], ==, 0.0); /* not scheduled */
  g_free (secs);

  tl_exec_free (ex);
  tl_exec_free (ex2);
  tl_tensor_unref (xt);
  tl_graph_unref (g);
}

static void
test_inputs (void)
{
  GError *error = NULL;
  TlGraph *g = tl_graph_new ();
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 2, (gint64[]) { 2, 3 });
  TlValue *y = engine_test_scale (g, x, 1.0);
  TlExec *ex = tl_exec_new (g, 1, &y, NULL, &error);
  g_assert_no_error (error);
  TlTensor *bad = tl_tensor_new (TL_DTYPE_F32, 2, (gint64[]) { 3, 3 }, NULL);
  g_assert_false (tl_exec_set_input (ex, "nope", bad, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "nope"));
  g_clear_error (&error);
  g_assert_false (tl_exec_set_input (ex, "x", bad, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "'x'"));
  g_assert_nonnull (strstr (error->message, "f32[2,3]"));
  g_assert_nonnull (strstr (error->message, "f32[3,3]"));
  g_clear_error (&error);
  /* other dtype, same shape: converted */
  TlTensor *d = tl_tensor_new (TL_DTYPE_F64, 2, (gint64[]) { 2, 3 }, NULL);
  tl_tensor_fill (d, 1.5);
  g_assert_true (tl_exec_set_input (ex, "x", d, &error));
  g_assert_true (tl_exec_run (ex, 0, &error));
  g_assert_cmpint (tl_tensor_dtype (tl_exec_get_output (ex, 0)), ==, TL_DTYPE_F32);
  g_assert_cmpfloat (tl_tensor_get_flat (tl_exec_get_output (ex, 0), 5), ==, 1.5);
  /* a non-contiguous input is made contiguous for the kernel */
  TlTensor *base = tl_tensor_new (TL_DTYPE_F32, 2, (gint64[]) { 3, 2 }, NULL);
  for (int i = 0; i < 6; i++)
    tl_tensor_set_flat (base, i, i);
  TlTensor *tt = tl_tensor_transpose (base, 0, 1, NULL);
  g_assert_true (tl_exec_set_input (ex, "x", tt, &error));
  g_assert_true (tl_exec_run (ex, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (tl_tensor_max_rel_diff (tl_exec_get_output (ex, 0), tt), ==, 0.0);
  /* the executor holds its own reference */
  tl_tensor_unref (tt);
  g_assert_true (tl_exec_run (ex, 0, &error));
  g_assert_cmpfloat (tl_tensor_get_flat (tl_exec_get_output (ex, 0), 1), ==, 2);
  tl_exec_free (ex);
  tl_tensor_unref (base);
  tl_tensor_unref (bad);
  tl_tensor_unref (d);
  tl_graph_unref (g);
}

static void
test_params_consts (void)
{
  GError *error = NULL;
  TlGraph *g = tl_graph_new ();
  TlTensor *wt = tl_tensor_new (TL_DTYPE_F32, 1, (gint64[]) { 4 }, NULL);
  tl_tensor_fill (wt, 2.0);
  TlTensor *ct = tl_tensor_new (TL_DTYPE_F32, 1, (gint64[]) { 4 }, NULL);
  tl_tensor_fill (ct, 0.25);
  TlValue *w = tl_graph_param (g, "w", wt);
  TlValue *c = tl_graph_const (g, ct);
  TlValue *y = engine_test_add (g, w, c);
  /* requesting a param directly returns its tensor */
  TlExec *ex = tl_exec_new (g, 2, (TlValue *[]) { y, w }, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (tl_exec_run (ex, 0, &error));
  g_assert_cmpfloat (tl_tensor_get_flat (tl_exec_get_output (ex, 0), 3), ==, 2.25);
  g_assert_true (tl_exec_get_output (ex, 1) == wt);
  /* params are read in place: an update is seen by the next run */
  tl_tensor_fill (wt, 3.0);
  g_assert_true (tl_exec_run (ex, 1, &error));
  g_assert_cmpfloat (tl_tensor_get_flat (tl_exec_get_output (ex, 0), 0), ==, 3.25);
  tl_exec_free (ex);
  tl_tensor_unref (wt);
  tl_tensor_unref (ct);
  tl_graph_unref (g);
}

static void
test_multi_output (void)
{
  GError *error = NULL;
  TlGraph *g = tl_graph_new ();
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 1, (gint64[]) { 8 });
  TlValue *o[2];
  g_assert_cmpuint (tl_graph_op_multi (g, "test.split2", 1, &x, NULL, 2, o), ==, 2);
  TlValue *y = engine_test_add (g, o[1], o[1]); /* o[0] unused */
  TlValue *z = engine_test_scale (g, y, 0.5);
  TlExec *ex = tl_exec_new (g, 1, &z, NULL, &error);
  g_assert_no_error (error);
  TlTensor *xt = tl_tensor_new (TL_DTYPE_F32, 1, (gint64[]) { 8 }, NULL);
  tl_tensor_fill (xt, 1.0);
  g_assert_true (tl_exec_set_input (ex, "x", xt, &error));
  g_assert_true (tl_exec_run (ex, 0, &error));
  g_assert_cmpfloat (tl_tensor_get_flat (tl_exec_get_output (ex, 0), 7), ==, 2.0);
  g_assert_cmpuint (tl_exec_peak_bytes (ex), <, tl_exec_unplanned_bytes (ex));
  tl_exec_free (ex);
  tl_tensor_unref (xt);
  tl_graph_unref (g);
}

static void
test_seed_determinism (void)
{
  GError *error = NULL;
  TlGraph *g = tl_graph_new ();
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 1, (gint64[]) { 1 });
  TlValue *s1 = tl_graph_op (g, "test.seed", 1, &x, NULL);
  TlValue *s2 = tl_graph_op (g, "test.seed", 1, &x, NULL);
  TlValue *v = x;
  for (int i = 0; i < 5; i++)
    v = engine_test_scale (g, v, 1.1);
  TlExecOptions opts;
  tl_exec_options_init (&opts);
  opts.deterministic = 1;
  opts.seed = 1234;
  TlTensor *xt = tl_tensor_new (TL_DTYPE_F32, 1, (gint64[]) { 1 }, NULL);
  tl_tensor_fill (xt, 0.3);
  TlTensor *res[2][3];
  for (int k = 0; k < 2; k++) {
    TlExec *ex = tl_exec_new (g, 3, (TlValue *[]) { s1, s2, v }, &opts, &error);
    g_assert_no_error (error);
    g_assert_true (tl_exec_set_input (ex, "x", xt, &error));
    g_assert_true (tl_exec_run (ex, 7, &error));
    for (int i = 0; i < 3; i++)
      res[k][i] = tl_tensor_copy (tl_exec_get_output (ex, (guint) i), NULL);
    /* another step gives another seed */
    float first = (float) tl_tensor_get_flat (res[k][0], 0);
    g_assert_true (tl_exec_run (ex, 8, &error));
    g_assert_cmpfloat (tl_tensor_get_flat (tl_exec_get_output (ex, 0), 0), !=, first);
    tl_exec_free (ex);
  }
  for (int i = 0; i < 3; i++)
    g_assert_true (tl_tensor_equal_bits (res[0][i], res[1][i]));
  /* two nodes, two seeds */
  g_assert_cmpfloat (tl_tensor_get_flat (res[0][0], 0), !=, tl_tensor_get_flat (res[0][1], 0));
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < 3; i++)
      tl_tensor_unref (res[k][i]);
  tl_tensor_unref (xt);
  tl_graph_unref (g);
}

static void
test_errors (void)
{
  GError *error = NULL;
  TlGraph *g = tl_graph_new ();
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 1, (gint64[]) { 2 });
  TlValue *y = engine_test_scale (g, x, 1.0);
  TlExecOptions opts;
  tl_exec_options_init (&opts);
  opts.device = "tpu";
  g_assert_null (tl_exec_new (g, 1, &y, &opts, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  g_assert_null (tl_graph_op (g, "nope", 1, &x, NULL)); /* records an error */
  g_assert_null (tl_exec_new (g, 1, &y, NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (tl_exec_new (g, 1, (TlValue *[]) { NULL }, NULL, &error));
  g_clear_error (&error);
  tl_graph_unref (g);
  g_assert_false (tl_exec_run (NULL, 0, &error));
  g_clear_error (&error);
  g_assert_cmpuint (tl_exec_peak_bytes (NULL), ==, 0);
}

/* Random DAGs: buffer reuse must never change results. */
static void
test_random_dags (void)
{
  GError *error = NULL;
  for (guint64 seed = 1; seed <= 20; seed++) {
    TlRng rng;
    tl_rng_init (&rng, seed, 0);
    TlGraph *g = tl_graph_new ();
    gint64 n = 1 + (gint64) tl_rng_below (&rng, 40);
    GPtrArray *vals = g_ptr_array_new ();
    g_ptr_array_add (vals, tl_graph_input (g, "x", TL_DTYPE_F32, 1, &n));
    TlTensor *wt = tl_tensor_new (TL_DTYPE_F32, 1, &n, NULL);
    tl_tensor_fill (wt, 0.5);
    g_ptr_array_add (vals, tl_graph_param (g, "w", wt));
    for (int i = 0; i < 60; i++) {
      TlValue *a = vals->pdata[tl_rng_below (&rng, vals->len)];
      TlValue *b = vals->pdata[vals->len - 1 - tl_rng_below (&rng, MIN (vals->len, 4))];
      TlValue *v;
      switch (tl_rng_below (&rng, 4)) {
      case 0: v = engine_test_add (g, a, b); break;
      case 1: v = tl_graph_op (g, "test.mul", 2, (TlValue *[]) { a, b }, NULL); break;
      case 2: v = engine_test_scale (g, a, 0.75); break;
      default: {
        TlValue *o[2];
        tl_graph_op_multi (g, "test.split2", 1, &a, NULL, 2, o);
        v = o[tl_rng_below (&rng, 2)];
        break;
      }
      }
      g_ptr_array_add (vals, v);
    }
    g_assert_true (tl_graph_take_error (g, &error));
    TlValue *outs[3] = { vals->pdata[vals->len - 1], vals->pdata[vals->len / 2],
                         vals->pdata[2 + tl_rng_below (&rng, vals->len - 2)] };
    TlTensor *xt = tl_tensor_new (TL_DTYPE_F32, 1, &n, NULL);
    for (gint64 i = 0; i < n; i++)
      tl_tensor_set_flat (xt, i, 0.1 * (double) (i % 5) - 0.2);
    TlTensor *res[2][3];
    gsize peak[2];
    for (int reuse = 0; reuse < 2; reuse++) {
      TlExecOptions opts;
      tl_exec_options_init (&opts);
      opts.reuse_buffers = (guint32) reuse;
      TlExec *ex = tl_exec_new (g, 3, outs, &opts, &error);
      g_assert_no_error (error);
      g_assert_true (tl_exec_set_input (ex, "x", xt, &error));
      g_assert_true (tl_exec_run (ex, 0, &error));
      g_assert_true (tl_exec_run (ex, 1, &error)); /* a second run over reused buffers */
      for (int k = 0; k < 3; k++)
        res[reuse][k] = tl_tensor_copy (tl_exec_get_output (ex, (guint) k), NULL);
      peak[reuse] = tl_exec_peak_bytes (ex);
      tl_exec_free (ex);
    }
    g_assert_cmpuint (peak[1], <=, peak[0]);
    for (int k = 0; k < 3; k++) {
      g_assert_true (tl_tensor_equal_bits (res[0][k], res[1][k]));
      tl_tensor_unref (res[0][k]);
      tl_tensor_unref (res[1][k]);
    }
    tl_tensor_unref (xt);
    tl_tensor_unref (wt);
    g_ptr_array_unref (vals);
    tl_graph_unref (g);
  }
}

typedef struct {
  gint64 total;
  gint calls;
} SumData;

static void
sum_range (gint64 begin, gint64 end, gpointer data)
{
  SumData *d = data;
  gint64 s = 0;
  for (gint64 i = begin; i < end; i++)
    s += i;
  __atomic_fetch_add (&d->total, s, __ATOMIC_RELAXED);
  g_atomic_int_inc (&d->calls);
}

static void
test_parallel_for (void)
{
  guint old = tl_get_num_threads ();
  tl_set_num_threads (4);
  g_assert_cmpuint (tl_get_num_threads (), ==, 4);
  SumData d = { 0, 0 };
  tl_parallel_for (100000, 1000, sum_range, &d);
  g_assert_cmpint (d.total, ==, (gint64) 99999 * 100000 / 2);
  g_assert_cmpint (d.calls, <=, 4);
  SumData small = { 0, 0 };
  tl_parallel_for (10, 1000, sum_range, &small); /* below the grain: inline */
  g_assert_cmpint (small.total, ==, 45);
  g_assert_cmpint (small.calls, ==, 1);
  SumData none = { 0, 0 };
  tl_parallel_for (0, 1, sum_range, &none);
  g_assert_cmpint (none.calls, ==, 0);
  tl_set_num_threads (old);
}

/* A reshape of an intermediate runs nothing and shares its input's buffer;
 * when both are requested outputs, each keeps its own tensor. */
static void
test_reshape_alias (void)
{
  GError *error = NULL;
  const gint64 n = 12;
  TlGraph *g = tl_graph_new ();
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 1, &n);
  TlValue *a = engine_test_scale (g, x, 2.0);
  TlValue *r = tl_reshape (g, a, 2, (gint64[]) { 3, 4 });
  TlValue *y = engine_test_add (g, r, r);
  g_assert_true (tl_graph_take_error (g, &error));
  g_autoptr (TlTensor) xt = tl_tensor_new (TL_DTYPE_F32, 1, &n, &error);
  for (gint64 i = 0; i < n; i++)
    tl_tensor_set_flat (xt, i, (double) i);
  TlExecOptions opts;
  tl_exec_options_init (&opts);

  TlExec *ex = tl_exec_new (g, 1, &y, &opts, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tl_exec_n_kernels (ex), ==, 2); /* scale, add: the reshape runs nothing */
  g_assert_true (tl_exec_set_input (ex, "x", xt, &error));
  g_assert_true (tl_exec_run (ex, 0, &error));
  TlTensor *yt = tl_exec_get_output (ex, 0);
  g_assert_cmpuint (tl_tensor_ndim (yt), ==, 2);
  for (gint64 i = 0; i < n; i++)
    g_assert_cmpfloat (tl_tensor_get_flat (yt, i), ==, 4.0 * (double) i);
  tl_exec_free (ex);

  /* the intermediate and its reshape both requested */
  ex = tl_exec_new (g, 2, (TlValue *[]) { a, r }, &opts, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tl_exec_n_kernels (ex), ==, 2); /* scale, reshape (a copy) */
  g_assert_true (tl_exec_set_input (ex, "x", xt, &error));
  g_assert_true (tl_exec_run (ex, 0, &error));
  TlTensor *at = tl_exec_get_output (ex, 0), *rt = tl_exec_get_output (ex, 1);
  g_assert_true (tl_tensor_const_data (at) != tl_tensor_const_data (rt));
  for (gint64 i = 0; i < n; i++)
    g_assert_cmpfloat (tl_tensor_get_flat (rt, i), ==, 2.0 * (double) i);
  tl_exec_free (ex);
  tl_graph_unref (g);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  engine_test_ops_register ();
  g_test_add_func ("/exec/chain", test_chain);
  g_test_add_func ("/exec/inputs", test_inputs);
  g_test_add_func ("/exec/params-consts", test_params_consts);
  g_test_add_func ("/exec/multi-output", test_multi_output);
  g_test_add_func ("/exec/seed-determinism", test_seed_determinism);
  g_test_add_func ("/exec/errors", test_errors);
  g_test_add_func ("/exec/random-dags", test_random_dags);
  g_test_add_func ("/exec/parallel-for", test_parallel_for);
  g_test_add_func ("/exec/reshape-alias", test_reshape_alias);
  return g_test_run ();
}
