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

/* Plugin-style ops for the TL_OP_SAME_BYTES tests, each counting its kernel
 * calls: exectest.flat (the input as 1-D, flagged), exectest.reshape (the
 * same, not flagged: a name says nothing), exectest.twice (flagged, but the
 * output has twice the elements: the executor ignores the claim) and
 * exectest.bits (flagged, f32 -> i32 with the same bytes: the dtype differs,
 * the claim is ignored). */
static gint same_bytes_calls[4];

static gboolean
infer_flat (const TlOpCall *call, TlTensorDesc *out, gint64 factor, TlDType dtype, GError **error)
{
  if (call->n_inputs != 1 || call->inputs[0].dtype != TL_DTYPE_F32) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "exectest: expects one f32 input");
    return FALSE;
  }
  gint64 n = factor * tl_tensor_desc_numel (&call->inputs[0]);
  tl_tensor_desc_init (out, dtype, 1, &n);
  return TRUE;
}

static gboolean
infer_flat1 (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  (void) max_out;
  (void) n_out;
  return infer_flat (call, out, 1, TL_DTYPE_F32, error);
}

static gboolean
infer_flat2 (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  (void) max_out;
  (void) n_out;
  return infer_flat (call, out, 2, TL_DTYPE_F32, error);
}

static gboolean
infer_bits (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  (void) max_out;
  (void) n_out;
  return infer_flat (call, out, 1, TL_DTYPE_I32, error);
}

/* Output: the input's bytes, repeated until the output is full. */
static gboolean
k_repeat (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  (void) error;
  g_atomic_int_inc (&same_bytes_calls[(gsize) tl_attrs_get_int (ctx->attrs, "which", 0)]);
  gsize n = tl_tensor_nbytes (in[0]), total = tl_tensor_nbytes (out[0]);
  for (gsize off = 0; off < total; off += n)
    memcpy ((guint8 *) tl_tensor_data (out[0]) + off, tl_tensor_const_data (in[0]), n);
  return TRUE;
}

#define SAME_BYTES_OP(var, op_name, op_flags, op_infer)                                                   \
  static const TlOpDef var = { TL_TABLE_INIT (TlOpDef), .name = op_name, .flags = op_flags,           \
                               .n_inputs = 1, .n_outputs = 1, .infer = op_infer, .forward_cpu = k_repeat }
SAME_BYTES_OP (op_flat, "exectest.flat", TL_OP_SAME_BYTES | TL_OP_OVERWRITES, infer_flat1);
SAME_BYTES_OP (op_plain, "exectest.reshape", TL_OP_OVERWRITES, infer_flat1);
SAME_BYTES_OP (op_twice, "exectest.twice", TL_OP_SAME_BYTES | TL_OP_OVERWRITES, infer_flat2);
SAME_BYTES_OP (op_bits, "exectest.bits", TL_OP_SAME_BYTES | TL_OP_OVERWRITES, infer_bits);

/* which: index into same_bytes_calls (0 flat, 1 reshape, 2 twice, 3 bits) */
static TlValue *
same_bytes_op (TlGraph *g, guint which, TlValue *x)
{
  static const char *const names[] = { "exectest.flat", "exectest.reshape", "exectest.twice", "exectest.bits" };
  TlAttrs *attrs = tl_attrs_new ();
  tl_attrs_set_int (attrs, "which", which);
  TlValue *v = tl_graph_op (g, names[which], 1, &x, attrs);
  tl_attrs_free (attrs);
  return v;
}

/* Runs y = f(scale(x, 2)) requesting `n_out` of `outs`; checks the kernel
 * count and returns the executor (ran once) with the calls of each op. */
static TlExec *
run_same_bytes (TlGraph *g, guint n_out, TlValue **outs, TlTensor *xt, guint n_kernels, gint *calls)
{
  GError *error = NULL;
  TlExecOptions opts;
  tl_exec_options_init (&opts);
  TlExec *ex = tl_exec_new (g, n_out, outs, &opts, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tl_exec_n_kernels (ex), ==, n_kernels);
  memset (same_bytes_calls, 0, sizeof same_bytes_calls);
  g_assert_true (tl_exec_set_input (ex, "x", xt, &error));
  g_assert_true (tl_exec_run (ex, 0, &error));
  g_assert_no_error (error);
  memcpy (calls, same_bytes_calls, sizeof same_bytes_calls);
  return ex;
}

/* An op that declares TL_OP_SAME_BYTES (not named reshape) is aliased like
 * reshape; one that does not is not, whatever its name; and the flag is
 * ignored where the output's element count or dtype differ. */
static void
test_same_bytes_flag (void)
{
  static gsize once;
  if (g_once_init_enter (&once)) {
    const TlOpDef *defs[] = { &op_flat, &op_plain, &op_twice, &op_bits };
    for (guint i = 0; i < G_N_ELEMENTS (defs); i++)
      g_assert_true (tl_op_register (defs[i], NULL));
    g_once_init_leave (&once, 1);
  }
  /* the built-in reshape declares it (test_reshape_alias: and is aliased) */
  g_assert_true (tl_op_lookup ("reshape")->flags & TL_OP_SAME_BYTES);
  g_assert_false (tl_op_lookup ("transpose")->flags & TL_OP_SAME_BYTES);
  g_assert_false (tl_op_lookup ("slice")->flags & TL_OP_SAME_BYTES);

  GError *error = NULL;
  const gint64 shape[2] = { 3, 4 }, n = 12;
  g_autoptr (TlTensor) xt = tl_tensor_new (TL_DTYPE_F32, 2, shape, &error);
  for (gint64 i = 0; i < n; i++)
    tl_tensor_set_flat (xt, i, (double) i);
  TlGraph *g = tl_graph_new ();
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 2, shape);
  TlValue *a = engine_test_scale (g, x, 2.0);
  TlValue *f = same_bytes_op (g, 0, a), *p = same_bytes_op (g, 1, a);
  TlValue *t = same_bytes_op (g, 2, a), *b = same_bytes_op (g, 3, a);
  TlValue *yf = engine_test_add (g, f, f), *yp = engine_test_add (g, p, p), *yt = engine_test_add (g, t, t);
  g_assert_true (tl_graph_take_error (g, &error));
  gint calls[4];

  /* flagged: scale, add; the op's kernel never runs */
  TlExec *ex = run_same_bytes (g, 1, &yf, xt, 2, calls);
  g_assert_cmpint (calls[0], ==, 0);
  TlTensor *out = tl_exec_get_output (ex, 0);
  g_assert_cmpuint (tl_tensor_ndim (out), ==, 1);
  for (gint64 i = 0; i < n; i++)
    g_assert_cmpfloat (tl_tensor_get_flat (out, i), ==, 4.0 * (double) i);
  tl_exec_free (ex);

  /* not flagged (the name ends in "reshape"): scale, op, add */
  ex = run_same_bytes (g, 1, &yp, xt, 3, calls);
  g_assert_cmpint (calls[1], ==, 1);
  out = tl_exec_get_output (ex, 0);
  for (gint64 i = 0; i < n; i++)
    g_assert_cmpfloat (tl_tensor_get_flat (out, i), ==, 4.0 * (double) i);
  tl_exec_free (ex);

  /* flagged, but twice the elements: the flag is ignored, the kernel runs */
  ex = run_same_bytes (g, 1, &yt, xt, 3, calls);
  g_assert_cmpint (calls[2], ==, 1);
  out = tl_exec_get_output (ex, 0);
  g_assert_cmpint (tl_tensor_numel (out), ==, 2 * n);
  for (gint64 i = 0; i < 2 * n; i++)
    g_assert_cmpfloat (tl_tensor_get_flat (out, i), ==, 4.0 * (double) (i % n));
  tl_exec_free (ex);

  /* flagged, but another dtype: ignored, the kernel runs (the bits of a) */
  ex = run_same_bytes (g, 1, &b, xt, 2, calls);
  g_assert_cmpint (calls[3], ==, 1);
  out = tl_exec_get_output (ex, 0);
  g_assert_cmpint (tl_tensor_dtype (out), ==, TL_DTYPE_I32);
  for (gint64 i = 0; i < n; i++) {
    float v = 2.0f * (float) i;
    gint32 bits;
    memcpy (&bits, &v, sizeof bits);
    g_assert_cmpint (((const gint32 *) tl_tensor_const_data (out))[i], ==, bits);
  }
  tl_exec_free (ex);

  /* flagged, but the intermediate and its result both requested: a copy */
  ex = run_same_bytes (g, 2, (TlValue *[]) { a, f }, xt, 2, calls);
  g_assert_cmpint (calls[0], ==, 1);
  TlTensor *at = tl_exec_get_output (ex, 0), *ft = tl_exec_get_output (ex, 1);
  g_assert_true (tl_tensor_const_data (at) != tl_tensor_const_data (ft));
  for (gint64 i = 0; i < n; i++)
    g_assert_cmpfloat (tl_tensor_get_flat (ft, i), ==, 2.0 * (double) i);
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
  g_test_add_func ("/exec/same-bytes-flag", test_same_bytes_flag);
  return g_test_run ();
}
