/* test-cuda.c — the CUDA backend seen through libtl: device tensors and the
 * caching allocator, host/device copies, GEMM against the CPU, a training
 * step on the GPU against the CPU, and a graph-captured step against an
 * uncaptured one (also on a worker thread); bad indices and labels on the
 * device are errors; allocator blocks that cross threads (streams) are
 * reused safely; the optimizer refuses parameters spread over two devices
 * (skipped with one; the mock reports two for that test).
 *
 * Without a usable GPU every GPU test is skipped with the reason
 * ("no CUDA device: ..."); the error paths (asking for "cuda" where there
 * is none, a missing backend module) run everywhere.
 *
 * Tolerances (max |a-b| / max(1, max |b|), tl_tensor_max_rel_diff):
 *   GEMM against a float64 host reference from the same inputs: f32 1e-5
 *   (TF32 off: fp32 accumulation), bf16 1e-2 and f16 5e-3 (fp32
 *   accumulation, the output rounded to 8 / 11 significant bits); the f32
 *   matmul op on the GPU against the CPU executor 1e-5; 6 training steps of
 *   an MLP, GPU vs CPU: loss 1e-4, parameters 1e-4 (SGD) / 1e-3 (AdamW,
 *   LAMB); captured vs uncaptured and resumed vs uninterrupted GPU runs 1e-5.
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include <gmodule.h>
#include <tl/tl.h>

#include "builtin-util.h"
#include "core/backend-private.h"

/* TRUE when a GPU is usable; else skips the current test with the reason. */
static gboolean
need_gpu (void)
{
  g_autoptr (GError) error = NULL;
  if (tl_device_available ("cuda", &error))
    return TRUE;
  g_assert_nonnull (error);
  g_test_skip (error->message);
  return FALSE;
}

static TlTensor *
random_tensor (TlDType dt, guint ndim, const gint64 *shape, guint64 seed)
{
  g_autoptr (GError) error = NULL;
  TlTensor *t = tl_tensor_new (dt, ndim, shape, &error);
  g_assert_no_error (error);
  TlRng rng;
  tl_rng_init (&rng, seed, 0);
  for (gint64 i = 0; i < tl_tensor_numel (t); i++)
    tl_tensor_set_flat (t, i, dt == TL_DTYPE_I64 ? (double) (tl_rng_u32 (&rng) % 1000) - 500
                                                 : (double) tl_rng_normal (&rng));
  return t;
}

/* --- without a GPU (runs everywhere) ------------------------------------- */

static void
test_device_names (void)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (tl_device_available ("cpu", &error));
  g_assert_no_error (error);
  g_assert_true (tl_device_available (NULL, &error));
  g_assert_false (tl_device_available ("tpu", &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "tpu"));
  g_clear_error (&error);
  g_assert_false (tl_device_available ("cuda:x", &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  /* a CPU tensor says so */
  gint64 shape[1] = { 3 };
  g_autoptr (TlTensor) t = tl_tensor_new_on_device (TL_DTYPE_F32, 1, shape, "cpu", &error);
  g_assert_no_error (error);
  g_assert_cmpint (tl_tensor_device (t), ==, TL_DEVICE_CPU);
  g_assert_cmpint (tl_tensor_device_index (t), ==, 0);
  g_autoptr (TlTensor) same = tl_tensor_to_device (t, "cpu", &error);
  g_assert_true (same == t);
}

/* A tiny graph y = relu(x . w) for the error paths. */
static TlGraph *
tiny_graph (TlValue **y)
{
  g_autoptr (GError) error = NULL;
  TlGraph *g = tl_graph_new ();
  gint64 xs[2] = { 4, 3 }, ws[2] = { 3, 2 };
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 2, xs);
  g_autoptr (TlTensor) w = random_tensor (TL_DTYPE_F32, 2, ws, 1);
  TlValue *wv = tl_graph_param (g, "w", w);
  *y = tl_relu (g, tl_matmul (g, x, wv, FALSE, FALSE));
  g_assert_true (tl_graph_ok (g));
  return g;
}

/* tl_exec_new() of the tiny graph on "cuda" fails with
 * TL_ERROR_UNSUPPORTED, left in *error; returns the graph (transfer full),
 * its output in *y and the options (device "cuda") in *o. */
static TlGraph *
tiny_graph_cuda_refused (TlValue **y, TlExecOptions *o, GError **error)
{
  TlGraph *g = tiny_graph (y);
  tl_exec_options_init (o);
  o->device = "cuda";
  g_assert_null (tl_exec_new (g, 1, y, o, error));
  g_assert_error (*error, TL_ERROR, TL_ERROR_UNSUPPORTED);
  return g;
}

/* Asking for "cuda" where it cannot work: a one-line GError from the
 * tensor, executor and trainer entry points, and CPU work unaffected. */
static void
check_cuda_unavailable (const char *expect)
{
  g_autoptr (GError) error = NULL;
  g_assert_false (tl_device_available ("cuda", &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED);
  g_test_message ("cuda unavailable: %s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "device \"cuda\": "));
  g_assert_null (strchr (error->message, '\n'));
  if (expect)
    g_assert_nonnull (strstr (error->message, expect));
  g_clear_error (&error);

  gint64 shape[1] = { 8 };
  g_assert_null (tl_tensor_new_on_device (TL_DTYPE_F32, 1, shape, "cuda:0", &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED);
  g_clear_error (&error);

  TlValue *y;
  TlExecOptions o;
  TlGraph *g = tiny_graph_cuda_refused (&y, &o, &error);
  g_assert_true (g_str_has_prefix (error->message, "device \"cuda\": "));
  g_clear_error (&error);

  /* the same graph on the CPU */
  o.device = "cpu";
  g_autoptr (TlExec) ex = tl_exec_new (g, 1, &y, &o, &error);
  g_assert_no_error (error);
  gint64 xs[2] = { 4, 3 };
  g_autoptr (TlTensor) x = random_tensor (TL_DTYPE_F32, 2, xs, 2);
  g_assert_true (tl_exec_set_input (ex, "x", x, &error));
  g_assert_true (tl_exec_run (ex, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpint (tl_tensor_device (tl_exec_get_output (ex, 0)), ==, TL_DEVICE_CPU);

  /* a training job on "cuda" fails before training; on "cpu" it trains */
  TlDatasetInstance *d = bt_dataset_new ("tl.synthetic", KV ("n_rows", "64", "n_features", "4",
                                                             "n_classes", "2"), &error);
  g_assert_no_error (error);
  TlModelInstance *m = bt_model_new ("tl.mlp", KV ("input", "features", "hidden", "4"), 1, &error);
  g_assert_no_error (error);
  TlTrainConfig cfg;
  tl_train_config_init (&cfg);
  cfg.steps = 2;
  cfg.batch_size = 16;
  cfg.device = "cuda";
  g_assert_false (tl_train (m, d, NULL, &cfg, NULL, NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "device \"cuda\""));
  g_clear_error (&error);
  cfg.device = "cpu";
  g_assert_true (tl_train (m, d, NULL, &cfg, NULL, NULL, &error));
  g_assert_no_error (error);
  tl_model_instance_free (m);
  tl_dataset_instance_free (d);
  g_clear_pointer (&ex, tl_exec_free);
  tl_graph_unref (g);
}

static void
test_no_gpu_error (void)
{
  g_autoptr (GError) error = NULL;
  if (tl_device_available ("cuda", &error)) {
    g_test_skip ("a CUDA device is present: the no-GPU path is covered by test_no_backend");
    return;
  }
  /* the runtime's reason in words a user can act on, its own string kept
   * in parentheses */
  const char *msg = error->message;
  if (strstr (msg, "CUDA driver version is insufficient for CUDA runtime version")) {
    g_assert_nonnull (strstr (msg, "no CUDA device: the NVIDIA driver is missing or older than "
                                   "this build's CUDA runtime "));
    g_assert_nonnull (strstr (msg, " (CUDA: CUDA driver version is insufficient for CUDA runtime "
                                   "version)"));
  } else if (strstr (msg, "no CUDA-capable device is detected")) {
    g_assert_nonnull (strstr (msg, "no CUDA device: no NVIDIA GPU found (CUDA: no CUDA-capable "
                                   "device is detected)"));
  }
  check_cuda_unavailable (NULL);
}

/* TL_BACKEND_PATH pointing at an empty directory: no backend module. The
 * module is looked up once per process, so this runs in a subprocess. */
static void
test_no_backend (void)
{
  if (g_test_subprocess ()) {
    check_cuda_unavailable ("the CUDA backend module is not available");
    return;
  }
  g_autofree char *dir = g_dir_make_tmp ("tl-test-cuda-XXXXXX", NULL);
  g_assert_nonnull (dir);
  g_autofree char *old = g_strdup (g_getenv ("TL_BACKEND_PATH"));
  g_setenv ("TL_BACKEND_PATH", dir, TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  if (old)
    g_setenv ("TL_BACKEND_PATH", old, TRUE);
  else
    g_unsetenv ("TL_BACKEND_PATH");
  g_rmdir (dir);
  g_test_trap_assert_passed ();
}

/* --- with a GPU ---------------------------------------------------------- */

static void
test_allocator (void)
{
  if (!need_gpu ())
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *desc = tl_device_describe ("cuda", &error);
  g_assert_no_error (error);
  g_test_message ("device: %s", desc);
  TlDeviceMemStats s0, s1, s2, s3;
  g_assert_true (tl_device_memory_stats ("cuda", &s0, &error));
  gint64 shape[1] = { 1000 };
  TlTensor *a = tl_tensor_new_on_device (TL_DTYPE_F32, 1, shape, "cuda", &error);
  g_assert_no_error (error);
  g_assert_cmpint (tl_tensor_device (a), ==, TL_DEVICE_CUDA);
  g_assert_cmpfloat (tl_tensor_get_flat (a, 999), ==, 0.0); /* zero-filled */
  g_assert_true (tl_device_memory_stats ("cuda", &s1, &error));
  g_assert_cmpuint (s1.bytes_in_use, >=, s0.bytes_in_use + 4000);
  tl_tensor_unref (a);
  g_assert_true (tl_device_memory_stats ("cuda", &s2, &error));
  g_assert_cmpuint (s2.bytes_in_use, ==, s0.bytes_in_use);
  g_assert_cmpuint (s2.bytes_cached, >=, 4000);
  /* same size class again: served from the cache */
  shape[0] = 990;
  a = tl_tensor_new_on_device (TL_DTYPE_F32, 1, shape, "cuda", &error);
  g_assert_no_error (error);
  g_assert_true (tl_device_memory_stats ("cuda", &s3, &error));
  g_assert_cmpuint (s3.n_device_allocs, ==, s2.n_device_allocs);
  g_assert_cmpuint (s3.n_cache_hits, ==, s2.n_cache_hits + 1);
  g_assert_cmpuint (s3.peak_bytes_in_use, >=, s3.bytes_in_use);
  tl_tensor_unref (a);
  g_assert_true (tl_device_empty_cache ("cuda", &error));
  g_assert_true (tl_device_memory_stats ("cuda", &s3, &error));
  g_assert_cmpuint (s3.bytes_cached, ==, 0);
  g_assert_cmpuint (s3.bytes_in_use, ==, s0.bytes_in_use);
}

static void
test_round_trip (void)
{
  if (!need_gpu ())
    return;
  g_autoptr (GError) error = NULL;
  const TlDType dts[] = { TL_DTYPE_F32, TL_DTYPE_BF16, TL_DTYPE_F16, TL_DTYPE_I64 };
  gint64 shape[2] = { 37, 19 };
  for (guint k = 0; k < G_N_ELEMENTS (dts); k++) {
    g_autoptr (TlTensor) h = random_tensor (dts[k], 2, shape, 10 + k);
    g_autoptr (TlTensor) d = tl_tensor_to_device (h, "cuda", &error);
    g_assert_no_error (error);
    g_assert_cmpint (tl_tensor_device (d), ==, TL_DEVICE_CUDA);
    g_autoptr (TlTensor) back = tl_tensor_to_device (d, "cpu", &error);
    g_assert_no_error (error);
    g_assert_true (tl_tensor_equal_bits (back, h));
    g_assert_true (tl_tensor_equal_bits (d, h)); /* through a host copy */
    /* a transposed view of device data, made contiguous on the device */
    g_autoptr (TlTensor) dt = tl_tensor_transpose (d, 0, 1, &error);
    g_autoptr (TlTensor) dtc = tl_tensor_contiguous (dt, &error);
    g_assert_no_error (error);
    g_assert_cmpint (tl_tensor_device (dtc), ==, TL_DEVICE_CUDA);
    g_autoptr (TlTensor) ht = tl_tensor_transpose (h, 0, 1, &error);
    g_assert_cmpfloat (tl_tensor_max_rel_diff (dtc, ht), ==, 0.0);
  }
  /* element access, fill, conversion on copy */
  g_autoptr (TlTensor) d = tl_tensor_new_on_device (TL_DTYPE_F32, 2, shape, "cuda", &error);
  g_assert_no_error (error);
  tl_tensor_fill (d, 2.5);
  tl_tensor_set_flat (d, 5, -1.0);
  g_assert_cmpfloat (tl_tensor_get_flat (d, 4), ==, 2.5);
  g_assert_cmpfloat (tl_tensor_get_flat (d, 5), ==, -1.0);
  g_autoptr (TlTensor) hb = tl_tensor_new (TL_DTYPE_BF16, 2, shape, &error);
  g_assert_true (tl_tensor_copy_into (hb, d, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (tl_tensor_get_flat (hb, 5), ==, -1.0);
  g_assert_true (tl_device_synchronize ("cuda", &error));
  g_assert_no_error (error);
}

/* The backend's table, from the module libtl loads (the same handle: the
 * module is opened once per process). NULL when it cannot be opened. */
static const TlBackend *
backend_module (char **why)
{
  const char *env = g_getenv ("TL_BACKEND_PATH");
  g_auto (GStrv) dirs = env ? g_strsplit (env, ":", -1) : NULL;
  g_autofree char *def = g_build_filename (TL_BUILDDIR, "backends", "cuda", ".libs", NULL);
  for (guint i = 0; dirs ? dirs[i] != NULL : i < 1; i++) {
    g_autofree char *path = g_build_filename (dirs ? dirs[i] : def,
                                              "tl-backend-cuda." G_MODULE_SUFFIX, NULL);
    GModule *mod = g_module_open (path, G_MODULE_BIND_LOCAL);
    gpointer sym = NULL;
    if (mod && g_module_symbol (mod, "tl_backend_query", &sym))
      return ((TlBackendQueryFn) sym) ();
    g_free (*why);
    *why = g_strdup_printf ("cannot open the CUDA backend module: %s", g_module_error ());
  }
  return NULL;
}

/* C = op(A) op(B) on the GPU through the backend's GEMM, against a double
 * precision reference computed on the host from the same (rounded) inputs;
 * batch 3 with A broadcast (stride 0). */
static void
check_gemm (const TlBackendBlas *blas, TlDType dt, gboolean ta, gboolean tb, double tol)
{
  g_autoptr (GError) error = NULL;
  const gint64 m = 67, k = 129, n = 45, batch = 3;
  gint64 as[2] = { ta ? k : m, ta ? m : k };
  gint64 bs[3] = { batch, tb ? n : k, tb ? k : n };
  gint64 cs[3] = { batch, m, n };
  g_autoptr (TlTensor) a = random_tensor (dt, 2, as, 21);
  g_autoptr (TlTensor) b = random_tensor (dt, 3, bs, 22);
  g_autoptr (TlTensor) da = tl_tensor_to_device (a, "cuda", &error);
  g_assert_no_error (error);
  g_autoptr (TlTensor) db = tl_tensor_to_device (b, "cuda", &error);
  g_assert_no_error (error);
  g_autoptr (TlTensor) dc = tl_tensor_new_on_device (dt, 3, cs, "cuda", &error);
  g_assert_no_error (error);
  g_assert_true (blas->gemm (dt, ta, tb, m, n, k, 1.0f, tl_tensor_data (da), as[1], 0,
                             tl_tensor_data (db), bs[2], bs[1] * bs[2], 0.0f, tl_tensor_data (dc),
                             n, m * n, batch, &error));
  g_assert_no_error (error);
  g_autoptr (TlTensor) c = tl_tensor_to_device (dc, "cpu", &error);
  g_assert_no_error (error);
  g_autoptr (TlTensor) ref = tl_tensor_new (TL_DTYPE_F64, 3, cs, &error);
  for (gint64 q = 0; q < batch; q++)
    for (gint64 i = 0; i < m; i++)
      for (gint64 j = 0; j < n; j++) {
        double acc = 0;
        for (gint64 p = 0; p < k; p++) {
          double x = tl_tensor_get_flat (a, ta ? p * m + i : i * k + p);
          double y = tl_tensor_get_flat (b, q * k * n + (tb ? j * k + p : p * n + j));
          acc += x * y;
        }
        tl_tensor_set_flat (ref, (q * m + i) * n + j, acc);
      }
  double diff = tl_tensor_max_rel_diff (c, ref);
  g_test_message ("%s gemm trans_a=%d trans_b=%d: max rel diff %.3g (tolerance %.1g)",
                  tl_dtype_name (dt), ta, tb, diff, tol);
  g_assert_cmpfloat (diff, >=, 0.0);
  g_assert_cmpfloat (diff, <=, tol);
}

/* matmul through a GPU executor (the kernel table's matmul on cuBLAS)
 * against the CPU executor. */
static void
check_matmul_exec (void)
{
  g_autoptr (GError) error = NULL;
  gint64 as[2] = { 67, 129 }, bs[2] = { 45, 129 };
  g_autoptr (TlTensor) a = random_tensor (TL_DTYPE_F32, 2, as, 31);
  g_autoptr (TlTensor) b = random_tensor (TL_DTYPE_F32, 2, bs, 32);
  TlGraph *g = tl_graph_new ();
  TlValue *y = tl_matmul (g, tl_graph_input (g, "a", TL_DTYPE_F32, 2, as),
                          tl_graph_input (g, "b", TL_DTYPE_F32, 2, bs), FALSE, TRUE);
  g_assert_true (tl_graph_ok (g));
  TlTensor *res[2];
  const char *devs[2] = { "cpu", "cuda" };
  for (int d = 0; d < 2; d++) {
    TlExecOptions o;
    tl_exec_options_init (&o);
    o.device = devs[d];
    g_autoptr (TlExec) ex = tl_exec_new (g, 1, &y, &o, &error);
    g_assert_no_error (error);
    g_assert_true (tl_exec_set_input (ex, "a", a, &error));
    g_assert_true (tl_exec_set_input (ex, "b", b, &error));
    g_assert_true (tl_exec_run (ex, 0, &error));
    g_assert_no_error (error);
    if (d == 1)
      g_assert_cmpint (tl_tensor_device (tl_exec_get_output (ex, 0)), ==, TL_DEVICE_CUDA);
    res[d] = tl_exec_get_output_host (ex, 0, &error);
    g_assert_no_error (error);
    g_assert_cmpint (tl_tensor_device (res[d]), ==, TL_DEVICE_CPU);
  }
  double diff = tl_tensor_max_rel_diff (res[1], res[0]);
  g_test_message ("f32 matmul executor cuda vs cpu: max rel diff %.3g", diff);
  g_assert_cmpfloat (diff, >=, 0.0);
  g_assert_cmpfloat (diff, <=, 1e-5);
  tl_tensor_unref (res[0]);
  tl_tensor_unref (res[1]);
  tl_graph_unref (g);
}

static void
test_gemm (void)
{
  if (!need_gpu ())
    return;
  g_autofree char *why = NULL;
  const TlBackend *be = backend_module (&why);
  g_assert_nonnull (be); /* libtl loaded it: the test must find it too */
  const TlBackendBlas *blas = be->get_extension (TL_BACKEND_EXT_BLAS);
  g_assert_nonnull (blas);
  for (int t = 0; t < 4; t++) {
    check_gemm (blas, TL_DTYPE_F32, t & 1, t >> 1, 1e-5);
    check_gemm (blas, TL_DTYPE_BF16, t & 1, t >> 1, 1e-2);
    check_gemm (blas, TL_DTYPE_F16, t & 1, t >> 1, 5e-3);
  }
  check_matmul_exec ();
}

/* --- training on the GPU ------------------------------------------------- */

typedef struct {
  double loss;
  guint n;
  TlTensor **params; /* host copies, in store order */
} RunResult;

static void
run_result_clear (RunResult *r)
{
  for (guint i = 0; i < r->n; i++)
    tl_tensor_unref (r->params[i]);
  g_free (r->params);
}

static void
on_message (gpointer user_data, const char *text)
{
  g_test_message ("progress: %s", text);
  if (strstr (text, "CUDA graph"))
    g_string_append (user_data, text);
}

/* Train the MLP for a few steps on `device`; the final training loss and
 * the parameters afterwards (and the trainer's CUDA-graph message in
 * graph_msg, nullable). */
/* Optional settings of the next train_mlp() run. */
static const char *next_out_dir, *next_resume;
static gint64 next_steps;

static void
train_mlp (const char *device, const char *optimizer, guint32 graph, int accum, RunResult *r,
           GString *graph_msg)
{
  g_autoptr (GError) error = NULL;
  TlDatasetInstance *d = bt_dataset_new ("tl.synthetic", KV ("n_rows", "256", "n_features", "12",
                                                             "n_classes", "3", "seed", "5"),
                                         &error);
  g_assert_no_error (error);
  TlModelInstance *m = bt_model_new ("tl.mlp", KV ("input", "features", "hidden", "32,16"), 3,
                                     &error);
  g_assert_no_error (error);
  TlTrainConfig cfg;
  tl_train_config_init (&cfg);
  cfg.steps = next_steps ? next_steps : 6;
  cfg.out_dir = next_out_dir;
  cfg.resume_from = next_resume;
  cfg.checkpoint_every = 2;
  cfg.batch_size = 32;
  cfg.accum_steps = accum;
  cfg.optimizer = optimizer;
  cfg.lr = 1e-2;
  cfg.clip_norm = 1.0;
  cfg.weight_decay = 1e-3;
  cfg.seed = 11;
  cfg.deterministic = 1;
  cfg.device = device;
  cfg.cuda_graph = graph;
  TlMetrics fin;
  tl_metrics_init (&fin);
  TlProgress progress = { .message = on_message, .user_data = graph_msg };
  g_assert_true (tl_train (m, d, NULL, &cfg, graph_msg ? &progress : NULL, &fin, &error));
  g_assert_no_error (error);
  r->loss = tl_metrics_get (&fin, "loss");
  TlParamStore *s = tl_model_instance_params (m);
  r->n = tl_param_store_size (s);
  r->params = g_new0 (TlTensor *, r->n);
  for (guint i = 0; i < r->n; i++) {
    TlTensor *p = tl_param_store_tensor (s, i);
    g_assert_cmpint (tl_tensor_device (p), ==, TL_DEVICE_CPU); /* back on the host */
    r->params[i] = tl_tensor_copy (p, &error);
    g_assert_no_error (error);
  }
  tl_model_instance_free (m);
  tl_dataset_instance_free (d);
}

/* Loss within `tol` (relative), parameters within `ptol`; then clears
 * both results. */
static void
compare_runs_clear (RunResult *a, RunResult *b, double tol, double ptol, const char *what)
{
  double worst = 0;
  g_assert_cmpuint (a->n, ==, b->n);
  for (guint i = 0; i < a->n; i++) {
    double diff = tl_tensor_max_rel_diff (a->params[i], b->params[i]);
    g_assert_cmpfloat (diff, >=, 0.0);
    worst = MAX (worst, diff);
  }
  g_test_message ("%s: loss %.7f vs %.7f, parameters max rel diff %.3g", what, a->loss, b->loss,
                  worst);
  g_assert_true (isfinite (a->loss) && isfinite (b->loss));
  g_assert_cmpfloat (fabs (a->loss - b->loss), <=, tol * MAX (1.0, fabs (b->loss)));
  g_assert_cmpfloat (worst, <=, ptol);
  run_result_clear (a);
  run_result_clear (b);
}

static void
test_train_step (void)
{
  if (!need_gpu ())
    return;
  /* Adam-like updates divide by sqrt(v): a gradient element near zero
   * turns summation-order noise into a visible parameter difference, hence
   * the looser parameter tolerance than SGD's */
  const char *opts[] = { "adamw", "sgd", "lamb" };
  const double ptol[] = { 1e-3, 1e-4, 1e-3 };
  for (guint k = 0; k < G_N_ELEMENTS (opts); k++) {
    RunResult cpu, gpu;
    train_mlp ("cpu", opts[k], 0, 2, &cpu, NULL);
    train_mlp ("cuda", opts[k], 0, 2, &gpu, NULL);
    compare_runs_clear (&gpu, &cpu, 1e-4, ptol[k], opts[k]);
  }
}

/* Checkpoints of a GPU run: 4 steps with a checkpoint, then a resumed run
 * to step 6 (parameters and Adam state go to the host and back) equals an
 * uninterrupted 6-step run; the checkpoint also loads on the CPU. */
static void
test_checkpoint_resume (void)
{
  if (!need_gpu ())
    return;
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("tl-test-cuda-ckpt-XXXXXX", &error);
  g_assert_no_error (error);
  RunResult full, part, resumed;
  train_mlp ("cuda", "adamw", 0, 1, &full, NULL);
  next_out_dir = dir;
  next_steps = 4;
  train_mlp ("cuda", "adamw", 0, 1, &part, NULL);
  g_autofree char *last = g_build_filename (dir, "last.safetensors", NULL);
  g_assert_true (g_file_test (last, G_FILE_TEST_EXISTS));
  /* the checkpoint holds the host values of the 4-step run */
  TlModelInstance *m = bt_model_new ("tl.mlp", KV ("input", "features", "hidden", "32,16"), 3,
                                     &error);
  g_assert_no_error (error);
  TlDatasetInstance *d = bt_dataset_new ("tl.synthetic", KV ("n_rows", "256", "n_features", "12",
                                                             "n_classes", "3", "seed", "5"),
                                         &error);
  g_assert_no_error (error);
  TlTask task;
  const char *label;
  TlGraph *g = tl_model_instance_build (m, d, TL_MODE_TRAIN, 32, &task, &label, &error);
  g_assert_no_error (error);
  tl_graph_unref (g);
  TlParamStore *store = tl_model_instance_params (m);
  g_assert_true (tl_checkpoint_load (store, NULL, last, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tl_param_store_size (store), ==, part.n);
  for (guint i = 0; i < part.n; i++)
    g_assert_cmpfloat (tl_tensor_max_rel_diff (tl_param_store_tensor (store, i), part.params[i]),
                       ==, 0.0);
  tl_model_instance_free (m);
  tl_dataset_instance_free (d);
  next_out_dir = NULL;
  next_steps = 6;
  next_resume = dir;
  train_mlp ("cuda", "adamw", 0, 1, &resumed, NULL);
  next_resume = NULL;
  next_steps = 0;
  compare_runs_clear (&resumed, &full, 1e-5, 1e-5, "resumed vs uninterrupted");
  run_result_clear (&part);
  bt_remove_tmpdir (dir);
}

#ifdef TL_CUDA_MOCK_DIR
/* An op without a device kernel: tl_exec_new names it (mock backend only:
 * the real one has a kernel for every built-in op). */
static void
test_missing_kernel (void)
{
  g_autoptr (GError) error = NULL;
  g_setenv ("TL_MOCK_CUDA_NO_KERNEL", "relu", TRUE);
  TlValue *y;
  TlExecOptions o;
  TlGraph *g = tiny_graph_cuda_refused (&y, &o, &error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "1 op without a CUDA kernel: relu"));
  g_unsetenv ("TL_MOCK_CUDA_NO_KERNEL");
  tl_graph_unref (g);
}

/* A plugin-style op with a TL_OP_EXT_CUDA kernel (y = 2 x): the executor
 * calls forward_cuda with the stream when the backend's table has none. */
static gboolean
double_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out,
              GError **error)
{
  out[0] = call->inputs[0];
  return TRUE;
}

static gboolean
double_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  const float *x = tl_tensor_const_data (in[0]);
  float *y = tl_tensor_data (out[0]);
  for (gint64 i = 0; i < tl_tensor_numel (in[0]); i++)
    y[i] = 2.0f * x[i];
  return TRUE;
}

static guint n_forward_cuda;

static gboolean
double_cuda (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, void *stream,
             GError **error)
{
  g_assert_nonnull (stream);
  g_assert_cmpint (tl_tensor_device (in[0]), ==, TL_DEVICE_CUDA);
  n_forward_cuda++;
  return double_cpu (ctx, in, out, error); /* the mock's device memory is host memory */
}

static const TlOpCudaExt double_ext = {
  TL_TABLE_INIT (TlOpCudaExt),
  .forward_cuda = double_cuda,
};

static const void *
double_get_extension (const char *id)
{
  return g_strcmp0 (id, TL_OP_EXT_CUDA) == 0 ? &double_ext : NULL;
}

static const TlOpDef double_op = {
  TL_TABLE_INIT (TlOpDef),
  .name = "testcuda.double",
  .flags = TL_OP_ELEMENTWISE,
  .n_inputs = 1,
  .n_outputs = 1,
  .infer = double_infer,
  .forward_cpu = double_cpu,
  .get_extension = double_get_extension,
};

static void
test_op_extension (void)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (tl_init (&error));
  g_assert_true (tl_op_register (&double_op, &error));
  g_assert_no_error (error);
  g_setenv ("TL_MOCK_CUDA_NO_KERNEL", "testcuda.double", TRUE);
  TlGraph *g = tl_graph_new ();
  gint64 shape[1] = { 5 };
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 1, shape);
  TlValue *y = tl_graph_op (g, "testcuda.double", 1, &x, NULL);
  g_assert_true (tl_graph_ok (g));
  TlExecOptions o;
  tl_exec_options_init (&o);
  o.device = "cuda";
  TlExec *ex = tl_exec_new (g, 1, &y, &o, &error);
  g_assert_no_error (error);
  g_autoptr (TlTensor) xt = random_tensor (TL_DTYPE_F32, 1, shape, 3);
  g_assert_true (tl_exec_set_input (ex, "x", xt, &error));
  g_assert_true (tl_exec_run (ex, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_forward_cuda, ==, 1);
  g_autoptr (TlTensor) yt = tl_exec_get_output_host (ex, 0, &error);
  g_assert_no_error (error);
  for (gint64 i = 0; i < 5; i++)
    g_assert_cmpfloat (tl_tensor_get_flat (yt, i), ==, 2.0 * tl_tensor_get_flat (xt, i));
  g_unsetenv ("TL_MOCK_CUDA_NO_KERNEL");
  tl_exec_free (ex);
  tl_graph_unref (g);
}
#endif

/* --- a model with a step_end hook ----------------------------------------
 *
 * logits = linear (x) * scale, where "scale" is a frozen parameter that the
 * hook sets after every step (1 + step / 8); the hook also halves "fc.bias"
 * (a trainable parameter the optimizer just updated on the device) and
 * records a weighted sum of "fc.weight". On a GPU run the hook must see and change
 * the current values, so the run matches the CPU. */
#define HOOK_STEPS 6
static double hook_seen[HOOK_STEPS + 1];

static TlModel *
hook_create (const TlParams *params, GError **error)
{
  (void) params;
  (void) error;
  return (TlModel *) g_new0 (char, 1);
}

static void
hook_destroy (TlModel *m)
{
  g_free (m);
}

static gboolean
hook_build (TlModel *m, TlBuild *b, GError **error)
{
  (void) m;
  TlGraph *g = tl_build_graph (b);
  TlValue *x = tl_build_input (b, "features");
  gint64 d = tl_build_field_desc (b, "features")->shape[0];
  gint64 c = tl_build_field_cardinality (b, "label");
  TlValue *w = tl_build_param (b, "fc.weight", TL_DTYPE_F32, 2, (gint64[]){ c, d },
                               TL_INIT_KAIMING_UNIFORM, 0, TRUE);
  TlValue *bias = tl_build_param (b, "fc.bias", TL_DTYPE_F32, 1, (gint64[]){ c },
                                  TL_INIT_CONSTANT, 0.5, TRUE);
  TlValue *scale = tl_build_param (b, "scale", TL_DTYPE_F32, 1, (gint64[]){ 1 }, TL_INIT_ONES, 0,
                                   FALSE);
  TlValue *logits = tl_mul (g, tl_linear (g, x, w, bias), scale);
  tl_build_set_prediction (b, logits, TL_TASK_MULTICLASS, "label");
  if (tl_build_mode (b) != TL_MODE_PREDICT)
    tl_build_set_loss (b, tl_cross_entropy (g, logits, tl_build_input (b, "label")));
  return tl_graph_take_error (g, error);
}

static gboolean
hook_step_end (TlModel *m, TlParamStore *store, guint64 step, GError **error)
{
  (void) m;
  (void) error;
  TlTensor *w = tl_param_store_lookup (store, "fc.weight");
  double sum = 0;
  for (gint64 i = 0; i < tl_tensor_numel (w); i++)
    sum += (double) (i % 7 + 1) * tl_tensor_get_flat (w, i);
  if (step <= HOOK_STEPS)
    hook_seen[step] = sum;
  tl_tensor_set_flat (tl_param_store_lookup (store, "scale"), 0, 1.0 + (double) step / 8.0);
  TlTensor *b = tl_param_store_lookup (store, "fc.bias");
  for (gint64 i = 0; i < tl_tensor_numel (b); i++)
    tl_tensor_set_flat (b, i, 0.5 * tl_tensor_get_flat (b, i));
  return TRUE;
}

static const TlModelDef hook_model_def = {
  TL_TABLE_INIT (TlModelDef),
  .create = hook_create,
  .destroy = hook_destroy,
  .build = hook_build,
  .step_end = hook_step_end,
};

static void
train_hooked (const char *device, RunResult *r, double seen[HOOK_STEPS + 1])
{
  g_autoptr (GError) error = NULL;
  TlDatasetInstance *d = bt_dataset_new ("tl.synthetic", KV ("n_rows", "256", "n_features", "12",
                                                             "n_classes", "3", "seed", "5"),
                                         &error);
  g_assert_no_error (error);
  TlModelInstance *m = tl_model_instance_new (&hook_model_def, "test.hooked", NULL, 3, &error);
  g_assert_no_error (error);
  TlTrainConfig cfg;
  tl_train_config_init (&cfg);
  cfg.steps = HOOK_STEPS;
  cfg.batch_size = 32;
  cfg.optimizer = "sgd";
  cfg.lr = 0.1;
  cfg.seed = 11;
  cfg.deterministic = 1;
  cfg.device = device;
  TlMetrics fin;
  tl_metrics_init (&fin);
  memset (hook_seen, 0, sizeof hook_seen);
  g_assert_true (tl_train (m, d, NULL, &cfg, NULL, &fin, &error));
  g_assert_no_error (error);
  memcpy (seen, hook_seen, sizeof hook_seen);
  r->loss = tl_metrics_get (&fin, "loss");
  TlParamStore *s = tl_model_instance_params (m);
  r->n = tl_param_store_size (s);
  r->params = g_new0 (TlTensor *, r->n);
  for (guint i = 0; i < r->n; i++) {
    r->params[i] = tl_tensor_copy (tl_param_store_tensor (s, i), &error);
    g_assert_no_error (error);
  }
  /* the hook's last values came back to the host */
  g_assert_cmpfloat (tl_tensor_get_flat (tl_param_store_lookup (s, "scale"), 0), ==,
                     1.0 + HOOK_STEPS / 8.0);
  tl_model_instance_free (m);
  tl_dataset_instance_free (d);
}

static void
test_step_end_hook (void)
{
  if (!need_gpu ())
    return;
  RunResult cpu, gpu;
  double seen_cpu[HOOK_STEPS + 1], seen_gpu[HOOK_STEPS + 1];
  train_hooked ("cpu", &cpu, seen_cpu);
  train_hooked ("cuda", &gpu, seen_gpu);
  for (guint s = 1; s <= HOOK_STEPS; s++) {
    g_test_message ("step %u: weighted sum of fc.weight seen by step_end %.7f (cpu) %.7f (cuda)", s,
                    seen_cpu[s], seen_gpu[s]);
    g_assert_cmpfloat (seen_cpu[s], !=, 0.0);
    g_assert_cmpfloat (fabs (seen_gpu[s] - seen_cpu[s]), <=, 1e-4 * MAX (1.0, fabs (seen_cpu[s])));
  }
  /* the weights moved, so a hook reading stale values would differ */
  g_assert_cmpfloat (seen_cpu[1], !=, seen_cpu[HOOK_STEPS]);
  compare_runs_clear (&gpu, &cpu, 1e-4, 1e-4, "step_end hook");
}

typedef struct {
  RunResult r;
  GString *msg;
} CaptureRun;

static gpointer
capture_worker (gpointer data)
{
  CaptureRun *c = data;
  train_mlp ("cuda", "adam", 1, 1, &c->r, c->msg);
  return NULL;
}

/* The captured step against the uncaptured one, on the main thread and on
 * a worker thread (which captures and replays there, then exits: its
 * stream resources go while the process goes on). */
static void
test_graph_capture (void)
{
  if (!need_gpu ())
    return;
  RunResult plain, captured;
  g_autoptr (GString) msg = g_string_new (NULL);
  train_mlp ("cuda", "adam", 0, 1, &plain, NULL);
  train_mlp ("cuda", "adam", 1, 1, &captured, msg);
  g_assert_cmpstr (msg->str, ==, "training step replayed as a CUDA graph");
  compare_runs_clear (&captured, &plain, 1e-5, 1e-5, "captured vs uncaptured");

  CaptureRun c = { .msg = g_string_new (NULL) };
  g_thread_join (g_thread_new ("capture", capture_worker, &c));
  g_assert_cmpstr (c.msg->str, ==, "training step replayed as a CUDA graph");
  g_string_free (c.msg, TRUE);
  train_mlp ("cuda", "adam", 0, 1, &plain, NULL);
  compare_runs_clear (&c.r, &plain, 1e-5, 1e-5, "captured on a worker thread vs uncaptured");
}

/* Runs ex with idx and labels; then waits for the device (tl_device_synchronize
 * when `sync`, else by reading the loss): the loss on success. */
static gboolean
run_bad_input (TlExec *ex, const gint64 *idx, const gint64 *labels, gboolean sync, double *loss, GError **error)
{
  gint64 n = 3;
  g_autoptr (TlTensor) ti = tl_tensor_new_from_data (TL_DTYPE_I64, 1, &n, idx, error);
  g_autoptr (TlTensor) tlab = tl_tensor_new_from_data (TL_DTYPE_I64, 1, &n, labels, error);
  if (!ti || !tlab || !tl_exec_set_input (ex, "idx", ti, error) || !tl_exec_set_input (ex, "labels", tlab, error)
      || !tl_exec_run (ex, 0, error) || (sync && !tl_device_synchronize ("cuda", error)))
    return FALSE;
  g_autoptr (TlTensor) y = tl_exec_get_output_host (ex, 0, error);
  if (!y)
    return FALSE;
  *loss = tl_tensor_get_flat (y, 0);
  return TRUE;
}

/* A run on bad data fails with TL_ERROR_INVALID_ARGUMENT, a one-line
 * message naming `needle` and the valid `range`. */
static void
expect_bad_run (TlExec *ex, const gint64 *idx, const gint64 *labels, gboolean sync, const char *needle,
                const char *range)
{
  g_autoptr (GError) error = NULL;
  double got = 0;
  g_assert_false (run_bad_input (ex, idx, labels, sync, &got, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_test_message ("bad input: %s", error->message);
  g_assert_null (strchr (error->message, '\n'));
  if (!strstr (error->message, needle))
    g_error ("message \"%s\" lacks \"%s\"", error->message, needle);
  g_assert_nonnull (strstr (error->message, range));
}

/* A run on good data succeeds with loss `want`. */
static void
expect_good_run (TlExec *ex, const gint64 *idx, const gint64 *labels, gboolean sync, double want)
{
  g_autoptr (GError) error = NULL;
  double got = 0;
  gboolean ok = run_bad_input (ex, idx, labels, sync, &got, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_cmpfloat (fabs (got - want), <=, 1e-5 * MAX (1.0, fabs (want)));
}

/* An out-of-range index (embedding) and label (cross_entropy) on the device:
 * TL_ERROR_INVALID_ARGUMENT naming the value, as on the CPU. The CUDA
 * kernels record it on the device and the next wait for the stream reports
 * it (the mock module runs the CPU kernels, which fail in tl_exec_run); the
 * next run with valid data succeeds (the record is cleared). */
static void
test_bad_input (void)
{
  if (!need_gpu ())
    return;
  g_autoptr (GError) error = NULL;
  TlGraph *g = tl_graph_new ();
  gint64 ts[2] = { 5, 3 }, n = 3;
  g_autoptr (TlTensor) table = random_tensor (TL_DTYPE_F32, 2, ts, 3);
  TlValue *tv = tl_graph_param (g, "table", table);
  TlValue *iv = tl_graph_input (g, "idx", TL_DTYPE_I64, 1, &n);
  TlValue *lv = tl_graph_input (g, "labels", TL_DTYPE_I64, 1, &n);
  TlValue *h = tl_graph_op (g, "embedding", 2, (TlValue *[]) { tv, iv }, NULL);
  TlValue *y = tl_graph_op (g, "cross_entropy", 2, (TlValue *[]) { h, lv }, NULL);
  g_assert_true (tl_graph_ok (g));
  TlExecOptions o;
  tl_exec_options_init (&o);
  o.device = "cpu";
  g_autoptr (TlExec) cpu = tl_exec_new (g, 1, &y, &o, &error);
  g_assert_no_error (error);
  o.device = "cuda";
  g_autoptr (TlExec) ex = tl_exec_new (g, 1, &y, &o, &error);
  g_assert_no_error (error);

  const gint64 good_idx[3] = { 1, 4, 0 }, bad_idx[3] = { 1, 1234, 0 };
  const gint64 good_labels[3] = { 0, 2, -1 }, bad_labels[3] = { 0, 7, 1 };
  double want = 0;
  gboolean ok = run_bad_input (cpu, good_idx, good_labels, FALSE, &want, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  for (int sync = 0; sync <= 1; sync++) {
    expect_bad_run (ex, bad_idx, good_labels, sync, "index 1234", "[0, 5)");
    expect_good_run (ex, good_idx, good_labels, sync, want);
    expect_bad_run (ex, good_idx, bad_labels, sync, "label 7", "[0, 3)");
    expect_good_run (ex, good_idx, good_labels, sync, want);
  }
  tl_graph_unref (g);
}

/* The on/off switches (TL_CUDA_SYNC, TL_CUDA_GRAPH, TL_CUDA_TF32) share one
 * reading: a value that is neither on nor off is off, said once. */
static void
test_env_flag (void)
{
  static const struct {
    const char *value;
    gboolean on;
  } cases[] = { { "1", TRUE },     { "true", TRUE }, { "YES", TRUE }, { "On", TRUE },
                { "0", FALSE },    { "false", FALSE }, { "no", FALSE }, { "OFF", FALSE },
                { "", FALSE } };
  const char *name = "TL_TEST_ENV_FLAG";
  g_unsetenv (name);
  g_assert_false (_tl_env_flag (name));
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_setenv (name, cases[i].value, TRUE);
    g_assert_cmpint (_tl_env_flag (name), ==, cases[i].on);
  }
  g_setenv (name, "enabled", TRUE);
  g_test_expect_message ("tl", G_LOG_LEVEL_WARNING,
                         "TL_TEST_ENV_FLAG=\"enabled\" is neither on*taken as off");
  g_assert_false (_tl_env_flag (name));
  g_test_assert_expected_messages ();
  g_assert_false (_tl_env_flag (name)); /* said once: no second warning */
  g_unsetenv (name);
}

/* A worker of test_allocator_threads: allocates n floats on "cuda" and
 * hands the tensor over (queue out); with `second`, waits for a word on
 * `in`, allocates n floats again and notes their address and last value. */
typedef struct {
  gint64 n;
  gboolean second;
  GAsyncQueue *out, *in;
  gpointer second_ptr;
  double second_value;
} AllocWorker;

static gpointer
alloc_worker (gpointer data)
{
  AllocWorker *w = data;
  g_autoptr (GError) error = NULL;
  TlTensor *t = tl_tensor_new_on_device (TL_DTYPE_F32, 1, &w->n, "cuda", &error);
  g_assert_no_error (error);
  g_async_queue_push (w->out, t);
  if (w->second) {
    g_async_queue_pop (w->in);
    g_autoptr (TlTensor) u = tl_tensor_new_on_device (TL_DTYPE_F32, 1, &w->n, "cuda", &error);
    g_assert_no_error (error);
    w->second_ptr = tl_tensor_data (u);
    w->second_value = tl_tensor_get_flat (u, w->n - 1);
  }
  return NULL;
}

/* Blocks that cross threads (each thread has its own stream): a block of
 * a thread that exited is reused by another thread (not stranded on the
 * dead stream); a block freed by another thread after work it queued is
 * reused by its owner after that work (the zero fill of the new tensor
 * is not overwritten by the old fill). Sizes of their own class (3.5 and
 * 5 MiB) on an emptied cache, so that the reuse is of that very block. */
static void
test_allocator_threads (void)
{
  if (!need_gpu ())
    return;
  g_autoptr (GError) error = NULL;
  g_assert_true (tl_device_empty_cache ("cuda", &error));
  g_assert_no_error (error);
  gint64 one = 1;
  g_autoptr (TlTensor) keep = tl_tensor_new_on_device (TL_DTYPE_F32, 1, &one, "cuda", &error);
  g_assert_no_error (error);

  AllocWorker w1 = { .n = 3300000 / 4, .out = g_async_queue_new () };
  GThread *th = g_thread_new ("alloc-exits", alloc_worker, &w1);
  TlTensor *b = g_async_queue_pop (w1.out);
  g_thread_join (th);
  gpointer bp = tl_tensor_data (b);
  tl_tensor_unref (b);
  TlDeviceMemStats s0, s1;
  g_assert_true (tl_device_memory_stats ("cuda", &s0, &error));
  g_autoptr (TlTensor) again = tl_tensor_new_on_device (TL_DTYPE_F32, 1, &w1.n, "cuda", &error);
  g_assert_no_error (error);
  g_assert_true (tl_device_memory_stats ("cuda", &s1, &error));
  g_assert_true (tl_tensor_data (again) == bp);
  g_assert_cmpuint (s1.n_device_allocs, ==, s0.n_device_allocs);
  g_assert_cmpuint (s1.n_cache_hits, ==, s0.n_cache_hits + 1);
  g_async_queue_unref (w1.out);

  AllocWorker w2 = { .n = 5000000 / 4, .second = TRUE, .out = g_async_queue_new (),
                     .in = g_async_queue_new () };
  th = g_thread_new ("alloc-lives", alloc_worker, &w2);
  TlTensor *c = g_async_queue_pop (w2.out);
  gpointer cp = tl_tensor_data (c);
  tl_tensor_fill (c, 7.0); /* queued on this thread's stream */
  tl_tensor_unref (c);
  g_async_queue_push (w2.in, GINT_TO_POINTER (1));
  g_thread_join (th);
  g_assert_true (w2.second_ptr == cp);
  g_assert_cmpfloat (w2.second_value, ==, 0.0);
  g_async_queue_unref (w2.out);
  g_async_queue_unref (w2.in);
}

/* The body of test_multi_device, with two devices or a visible skip. */
static void
check_multi_device (void)
{
  if (!need_gpu ())
    return;
  g_autoptr (GError) error = NULL;
  if (!tl_device_available ("cuda:1", &error)) {
    g_autofree char *why = g_strdup_printf ("needs two CUDA devices: %s", error->message);
    g_test_skip (why);
    return;
  }
  gint64 n = 5;
  TlTensor *p[2], *g[2];
  for (int i = 0; i < 2; i++) {
    const char *dev = i ? "cuda:1" : "cuda:0";
    p[i] = tl_tensor_new_on_device (TL_DTYPE_F32, 1, &n, dev, &error);
    g_assert_no_error (error);
    g[i] = tl_tensor_new_on_device (TL_DTYPE_F32, 1, &n, dev, &error);
    g_assert_no_error (error);
    g_assert_cmpint (tl_tensor_device_index (p[i]), ==, i);
    tl_tensor_fill (p[i], 1.0);
    tl_tensor_fill (g[i], 0.5);
  }
  const char *kinds[] = { "sgd", "adam" };
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++) {
    TlOptimizer *opt = tl_optimizer_new (kinds[k], NULL, &error);
    g_assert_no_error (error);
    /* parameters on two devices; then a parameter and its gradient apart */
    g_assert_false (tl_optimizer_step (opt, 2, p, g, 0.1, &error));
    g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
    g_test_message ("%s on two devices: %s", kinds[k], error->message);
    g_assert_nonnull (strstr (error->message, "must be on one device"));
    g_clear_error (&error);
    g_assert_false (tl_optimizer_step (opt, 1, &p[0], &g[1], 0.1, &error));
    g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
    tl_optimizer_free (opt);
  }
  for (int i = 0; i < 2; i++)
    for (gint64 j = 0; j < n; j++)
      g_assert_cmpfloat (tl_tensor_get_flat (p[i], j), ==, 1.0);
  g_test_expect_message ("tl", G_LOG_LEVEL_WARNING,
                         "*gradient #1 is on another GPU than gradient #0*");
  g_assert_true (isnan (tl_clip_grad_norm (2, g, 0.1)));
  g_test_assert_expected_messages ();
  g_assert_cmpfloat (tl_tensor_get_flat (g[0], 0), ==, 0.5);
  /* everything on cuda:1 (not the default device) works */
  double norm = tl_clip_grad_norm (1, &g[1], 1e9);
  g_assert_cmpfloat (fabs (norm - sqrt (5 * 0.25)), <=, 1e-6);
  TlOptimizer *sgd = tl_optimizer_new ("sgd", NULL, &error);
  g_assert_true (tl_optimizer_step (sgd, 1, &p[1], &g[1], 0.1, &error));
  g_assert_no_error (error);
  tl_optimizer_free (sgd);
  g_assert_cmpfloat (fabs (tl_tensor_get_flat (p[1], n - 1) - 0.95), <=, 1e-6);
  for (int i = 0; i < 2; i++) {
    tl_tensor_unref (p[i]);
    tl_tensor_unref (g[i]);
  }
}

/* Parameters or gradients on two GPUs: the optimizer step and gradient
 * clipping refuse them (each queues its work on one device's stream) and
 * change nothing; all on cuda:1 they work. Needs two devices: skipped
 * with one (the mock reports two here, TL_MOCK_CUDA_DEVICES). */
static void
test_multi_device (void)
{
#ifdef TL_CUDA_MOCK_DIR
  g_setenv ("TL_MOCK_CUDA_DEVICES", "2", TRUE);
#endif
  check_multi_device ();
#ifdef TL_CUDA_MOCK_DIR
  g_unsetenv ("TL_MOCK_CUDA_DEVICES");
#endif
}

int
main (int argc, char **argv)
{
#ifdef TL_CUDA_MOCK_DIR
  /* the mock backend stands in for the CUDA module (unless a test set its
   * own path for a subprocess) */
  g_setenv ("TL_BACKEND_PATH", TL_CUDA_MOCK_DIR, FALSE);
#endif
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cuda/env-flag", test_env_flag);
  g_test_add_func ("/cuda/device-names", test_device_names);
  g_test_add_func ("/cuda/no-gpu-error", test_no_gpu_error);
  g_test_add_func ("/cuda/no-backend", test_no_backend);
  g_test_add_func ("/cuda/allocator", test_allocator);
  g_test_add_func ("/cuda/multi-device", test_multi_device);
  g_test_add_func ("/cuda/allocator-threads", test_allocator_threads);
  g_test_add_func ("/cuda/round-trip", test_round_trip);
  g_test_add_func ("/cuda/gemm", test_gemm);
  g_test_add_func ("/cuda/train-step", test_train_step);
  g_test_add_func ("/cuda/graph-capture", test_graph_capture);
  g_test_add_func ("/cuda/checkpoint-resume", test_checkpoint_resume);
  g_test_add_func ("/cuda/step-end-hook", test_step_end_hook);
  g_test_add_func ("/cuda/bad-input", test_bad_input);
#ifdef TL_CUDA_MOCK_DIR
  g_test_add_func ("/cuda/missing-kernel", test_missing_kernel);
  g_test_add_func ("/cuda/op-extension", test_op_extension);
#endif
  return g_test_run ();
}
