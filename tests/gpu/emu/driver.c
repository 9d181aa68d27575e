/* driver.c — run every node of every CUDA parity case graph through the CPU
 * kernel and through the CUDA kernel emulated on the CPU (emu.cc), and the
 * optimizer update kernels against tl_optimizer_step (see run.sh). The
 * case tables and graph builder are parity.c's, included here. Also: the
 * device-side input checks (the stream's fault record, _tl_cuda_fault):
 * no parity node raises a fault, and bad indices, labels and CSR
 * structures raise the right one (check_faults).
 *
 * The emulated kernel's outputs start as 0xff bytes (NaN floats, -1
 * integers), not zeros, for every op: a device kernel that leaves an output
 * element unwritten shows up as a mismatch. That is the device half of the
 * TL_OP_OVERWRITES check (the executor does not zero-fill those ops'
 * outputs; tests/test-ops-overwrites checks the CPU kernels); the other
 * device kernels zero their outputs themselves where they accumulate. The
 * zero-size cases of tests/parity/cases-zero.c run here too. */
#include <stdio.h>
#include <math.h>

#define main parity_main
#include "parity.c"
#undef main
#include "kernels.h"

static int n_fail, n_nodes_checked, n_ow_checked, n_fault_checks;

static TlTensor *
noncontig_view (TlTensor *x)
{
  /* same logical values, non-contiguous strides: transpose(contig(transpose(x))) */
  guint nd = tl_tensor_ndim (x);
  if (nd < 2)
    return tl_tensor_ref (x);
  TlTensor *t = tl_tensor_transpose (x, 0, (gint) nd - 1, NULL);
  TlTensor *c = tl_tensor_copy (t, NULL);
  TlTensor *v = tl_tensor_transpose (c, 0, (gint) nd - 1, NULL);
  tl_tensor_unref (t);
  tl_tensor_unref (c);
  return v;
}

static TlBackendKernelFn
find_kernel (const char *op)
{
  for (const TlCudaKernelEntry *e = _tl_cuda_kernel_table; e->op_name; e++)
    if (strcmp (e->op_name, op) == 0)
      return e->fn;
  return NULL;
}

static void
check_node (const TlParityCase *pc, TlNode *node, GHashTable *vals, gboolean det, gboolean view)
{
  const TlOpDef *def = tl_node_op_def (node);
  guint ni = tl_node_n_inputs (node), no = tl_node_n_outputs (node);
  TlTensor *in[16], *oc[16], *oe[16];
  for (guint i = 0; i < ni; i++) {
    TlValue *v = tl_node_input (node, i);
    TlTensor *t = g_hash_table_lookup (vals, v);
    if (!t)
      t = tl_value_tensor (v);
    g_assert_nonnull (t);
    in[i] = view && (def->flags & TL_OP_VIEW) ? noncontig_view (t) : tl_tensor_ref (t);
  }
  for (guint o = 0; o < no; o++) {
    oc[o] = tl_tensor_new_from_desc (tl_value_desc (tl_node_output (node, o)), NULL);
    oe[o] = tl_tensor_new_from_desc (tl_value_desc (tl_node_output (node, o)), NULL);
    /* not zeros: unwritten elements must differ from the CPU result */
    memset (tl_tensor_data (oe[o]), 0xff, tl_tensor_nbytes (oe[o]));
  }
  TlKernelCtx ctx;
  memset (&ctx, 0, sizeof ctx);
  ctx.n_inputs = ni;
  ctx.n_outputs = no;
  ctx.attrs = tl_node_attrs (node);
  ctx.seed = 0x1234567 + tl_node_id (node);
  ctx.training = pc->training;
  ctx.n_threads = 1;
  ctx.deterministic = det;
  GError *e1 = NULL, *e2 = NULL;
  gboolean ok1 = def->forward_cpu (&ctx, in, oc, &e1);
  TlBackendKernelFn fn = find_kernel (def->name);
  TlCudaFault *fault = _tl_cuda_fault ();
  memset (fault, 0, sizeof *fault);
  gboolean ok2 = fn && fn (&ctx, in, oe, &e2);
  n_nodes_checked++;
  n_ow_checked += (def->flags & TL_OP_OVERWRITES) != 0;
  if (fault->code != TL_CUDA_FAULT_NONE) {
    printf ("FAIL %s node %s: valid input raised fault %d (value %" G_GINT64_FORMAT ", bound %" G_GINT64_FORMAT
            ", pos %" G_GINT64_FORMAT ")\n", pc->name, def->name, fault->code, fault->value, fault->bound,
            fault->pos);
    memset (fault, 0, sizeof *fault);
    n_fail++;
  }
  if (!ok1 || !ok2) {
    printf ("FAIL %s node %s: cpu %s / emu %s\n", pc->name, def->name, e1 ? e1->message : "ok",
            fn ? (e2 ? e2->message : "ok") : "no kernel");
    n_fail++;
  } else {
    for (guint o = 0; o < no; o++) {
      TlDType dt = tl_tensor_dtype (oc[o]);
      double tol = (def->flags & (TL_OP_ELEMENTWISE | TL_OP_VIEW)) ? 1e-5 : 1e-4;
      gboolean bad;
      double d = 0;
      if (!tl_dtype_is_float (dt))
        bad = !tl_tensor_equal_bits (oe[o], oc[o]);
      else {
        d = tl_tensor_max_rel_diff (oe[o], oc[o]);
        bad = !(d <= tol);
      }
      if (bad) {
        gint64 j = 0, n = tl_tensor_numel (oc[o]);
        for (j = 0; j < n; j++) {
          double a = tl_tensor_get_flat (oe[o], j), b = tl_tensor_get_flat (oc[o], j);
          if (!(fabs (a - b) <= tol * MAX (1.0, fabs (b))))
            break;
        }
        printf ("FAIL %s node %s out %u (%s, det=%d view=%d): diff %g; first bad element %" G_GINT64_FORMAT
                "/%" G_GINT64_FORMAT ": emu %.9g cpu %.9g\n", pc->name, def->name, o, tl_dtype_name (dt), det, view,
                d, j, n, j < n ? tl_tensor_get_flat (oe[o], j) : 0.0, j < n ? tl_tensor_get_flat (oc[o], j) : 0.0);
        n_fail++;
      }
    }
  }
  g_clear_error (&e1);
  g_clear_error (&e2);
  for (guint i = 0; i < ni; i++)
    tl_tensor_unref (in[i]);
  for (guint o = 0; o < no; o++) {
    g_hash_table_insert (vals, tl_node_output (node, o), oc[o]);
    tl_tensor_unref (oe[o]);
  }
}

static void
run_one (const TlParityCase *pc, gboolean det, gboolean view)
{
  Built b;
  GError *error = NULL;
  if (!build_case (pc, &b, &error)) {
    printf ("FAIL %s: build: %s\n", pc->name, error->message);
    n_fail++;
    return;
  }
  GHashTable *vals = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) tl_tensor_unref);
  for (guint i = 0; i < pc->n_inputs; i++) {
    char name[16];
    g_snprintf (name, sizeof name, "in%u", i);
    g_hash_table_insert (vals, tl_graph_find_input (b.g, name), tl_tensor_ref (b.in[i]));
  }
  for (guint i = 0; i < tl_graph_n_nodes (b.g); i++)
    check_node (pc, tl_graph_node (b.g, i), vals, det, view);
  g_hash_table_unref (vals);
  built_clear (&b);
}

/* --- device-side input checks ------------------------------------------- */

static TlTensor *
ints (TlDType dt, gint64 n, const gint64 *v)
{
  TlTensor *t = tl_tensor_new (dt, 1, &n, NULL);
  for (gint64 i = 0; i < n; i++)
    tl_tensor_set_flat (t, i, (double) v[i]);
  return t;
}

/* Runs the emulated kernel `op` (one output, shaped `oshape`) and checks the
 * fault record afterwards: `code` (TL_CUDA_FAULT_NONE: no fault) with its
 * value, bound and position. */
static void
expect_fault (const char *what, const char *op, guint ni, TlTensor *const *in, guint ond, const gint64 *oshape,
              const TlAttrs *attrs, gboolean det, int code, gint64 value, gint64 bound, gint64 pos)
{
  TlTensor *out = tl_tensor_new (TL_DTYPE_F32, ond, oshape, NULL);
  TlKernelCtx ctx;
  memset (&ctx, 0, sizeof ctx);
  ctx.n_inputs = ni;
  ctx.n_outputs = 1;
  ctx.attrs = attrs;
  ctx.n_threads = 1;
  ctx.deterministic = det;
  TlCudaFault *f = _tl_cuda_fault ();
  memset (f, 0, sizeof *f);
  GError *error = NULL;
  TlBackendKernelFn fn = find_kernel (op);
  gboolean ok = fn && fn (&ctx, in, &out, &error);
  n_fault_checks++;
  if (!ok || f->code != code || (code != TL_CUDA_FAULT_NONE && (f->value != value || f->bound != bound || f->pos != pos))) {
    printf ("FAIL fault %s (%s, det=%d): %s; got code %d value %" G_GINT64_FORMAT " bound %" G_GINT64_FORMAT
            " pos %" G_GINT64_FORMAT ", want code %d value %" G_GINT64_FORMAT " bound %" G_GINT64_FORMAT
            " pos %" G_GINT64_FORMAT "\n", what, op, det, ok ? "ran" : error ? error->message : "no kernel",
            f->code, f->value, f->bound, f->pos, code, value, bound, pos);
    n_fail++;
  }
  memset (f, 0, sizeof *f);
  g_clear_error (&error);
  tl_tensor_unref (out);
}

static void
check_faults (void)
{
  TlRng rng;
  tl_rng_init (&rng, 7, 0);
  TlTensor *x = tl_test_randn (&rng, 2, (gint64[]) { 5, 3 }, 1.0);
  TlTensor *in[4] = { x, NULL, NULL, NULL };
  gint64 o3[] = { 3, 3 }, o2[] = { 2, 3 };
  for (int det = 0; det <= 1; det++) {
    /* gather / embedding: x[5, 3], indices of rows */
    in[1] = ints (TL_DTYPE_I64, 3, (gint64[]) { 1, 4, 0 });
    expect_fault ("in range", "embedding", 2, in, 2, o3, NULL, det, TL_CUDA_FAULT_NONE, 0, 0, 0);
    expect_fault ("in range", "gather", 2, in, 2, o3, NULL, det, TL_CUDA_FAULT_NONE, 0, 0, 0);
    tl_tensor_unref (in[1]);
    in[1] = ints (TL_DTYPE_I64, 3, (gint64[]) { 1, 5, 0 });
    expect_fault ("index = bound", "embedding", 2, in, 2, o3, NULL, det, TL_CUDA_FAULT_INDEX, 5, 5, 1);
    expect_fault ("index = bound", "gather", 2, in, 2, o3, NULL, det, TL_CUDA_FAULT_INDEX, 5, 5, 1);
    tl_tensor_unref (in[1]);
    in[1] = ints (TL_DTYPE_I32, 2, (gint64[]) { 0, -1 });
    expect_fault ("negative i32 index", "embedding", 2, in, 2, o2, NULL, det, TL_CUDA_FAULT_INDEX, -1, 5, 1);
    tl_tensor_unref (in[1]);
    /* scatter_add: src[5, 3], 5 indices into n_rows 4 */
    TlAttrs *attrs = tl_attrs_new ();
    tl_attrs_set_int (attrs, "n_rows", 4);
    gint64 o4[] = { 4, 3 };
    in[1] = ints (TL_DTYPE_I64, 5, (gint64[]) { 0, 1, 2, 3, 3 });
    expect_fault ("in range", "scatter_add", 2, in, 2, o4, attrs, det, TL_CUDA_FAULT_NONE, 0, 0, 0);
    tl_tensor_unref (in[1]);
    in[1] = ints (TL_DTYPE_I64, 5, (gint64[]) { 0, 1, 2, 3, 9 });
    expect_fault ("index > bound", "scatter_add", 2, in, 2, o4, attrs, det, TL_CUDA_FAULT_INDEX, 9, 4, 4);
    tl_tensor_unref (in[1]);
    tl_attrs_free (attrs);
    /* cross_entropy(_grad): x[5, 3] logits; labels < 0 are ignored, >= 3 a fault */
    TlTensor *dy = tl_tensor_new (TL_DTYPE_F32, 0, NULL, NULL);
    tl_tensor_set_flat (dy, 0, 1.0);
    TlTensor *gin[3] = { dy, x, NULL };
    in[1] = ints (TL_DTYPE_I64, 5, (gint64[]) { 0, 2, -1, 1, -7 });
    gin[2] = in[1];
    expect_fault ("labels in range or ignored", "cross_entropy", 2, in, 0, NULL, NULL, det, TL_CUDA_FAULT_NONE, 0,
                  0, 0);
    expect_fault ("labels in range or ignored", "cross_entropy_grad", 3, gin, 2, (gint64[]) { 5, 3 }, NULL, det,
                  TL_CUDA_FAULT_NONE, 0, 0, 0);
    tl_tensor_unref (in[1]);
    in[1] = ints (TL_DTYPE_I32, 5, (gint64[]) { 0, 2, -1, 3, 1 });
    gin[2] = in[1];
    expect_fault ("label = C", "cross_entropy", 2, in, 0, NULL, NULL, det, TL_CUDA_FAULT_LABEL, 3, 3, 3);
    expect_fault ("label = C", "cross_entropy_grad", 3, gin, 2, (gint64[]) { 5, 3 }, NULL, det,
                  TL_CUDA_FAULT_LABEL, 3, 3, 3);
    tl_tensor_unref (in[1]);
    /* no classes at all (C = 0): every label >= 0 is out of range, as on the CPU */
    TlTensor *x0 = tl_tensor_new (TL_DTYPE_F32, 2, (gint64[]) { 2, 0 }, NULL);
    TlTensor *gin0[3] = { dy, x0, ints (TL_DTYPE_I64, 2, (gint64[]) { -1, 0 }) };
    expect_fault ("C = 0", "cross_entropy_grad", 3, gin0, 2, (gint64[]) { 2, 0 }, NULL, det, TL_CUDA_FAULT_LABEL,
                  0, 0, 1);
    tl_tensor_unref (gin0[2]);
    tl_tensor_unref (x0);
    tl_tensor_unref (dy);
    /* spmm / spmm_t / sddmm: 2 rows, dense[3, 2] (3 columns), one edge */
    TlTensor *dense = tl_test_randn (&rng, 2, (gint64[]) { 3, 2 }, 1.0);
    TlTensor *yrows = tl_test_randn (&rng, 2, (gint64[]) { 2, 2 }, 1.0);
    TlTensor *vals = tl_test_randn (&rng, 1, (gint64[]) { 1 }, 1.0);
    static const struct {
      const char *what;
      gint64 indptr[3], col;
      int code;
      gint64 value, bound, pos;
    } csr[] = {
      { "valid CSR", { 0, 0, 1 }, 2, TL_CUDA_FAULT_NONE, 0, 0, 0 },
      { "indptr decreases", { 0, 2, 1 }, 0, TL_CUDA_FAULT_CSR_DECREASE, 1, 2, 1 },
      { "indptr[0] != 0", { 1, 1, 1 }, 0, TL_CUDA_FAULT_CSR_START, 1, 0, 0 },
      { "indptr[rows] != nnz", { 0, 0, 2 }, 0, TL_CUDA_FAULT_CSR_END, 2, 1, 2 },
      { "column = cols", { 0, 0, 1 }, 3, TL_CUDA_FAULT_CSR_COLUMN, 3, 3, 0 },
      { "negative column", { 0, 1, 1 }, -2, TL_CUDA_FAULT_CSR_COLUMN, -2, 3, 0 },
    };
    TlAttrs *ncols = tl_attrs_new ();
    tl_attrs_set_int (ncols, "n_cols", 3);
    for (guint k = 0; k < G_N_ELEMENTS (csr); k++) {
      TlTensor *s[4] = { ints (TL_DTYPE_I64, 3, csr[k].indptr), ints (TL_DTYPE_I32, 1, &csr[k].col), vals, dense };
      expect_fault (csr[k].what, "spmm", 4, s, 2, (gint64[]) { 2, 2 }, NULL, det, csr[k].code, csr[k].value,
                    csr[k].bound, csr[k].pos);
      s[3] = yrows;
      expect_fault (csr[k].what, "spmm_t", 4, s, 2, (gint64[]) { 3, 2 }, ncols, det, csr[k].code, csr[k].value,
                    csr[k].bound, csr[k].pos);
      s[2] = yrows;
      s[3] = dense;
      expect_fault (csr[k].what, "sddmm", 4, s, 1, (gint64[]) { 1 }, NULL, det, csr[k].code, csr[k].value,
                    csr[k].bound, csr[k].pos);
      tl_tensor_unref (s[0]);
      tl_tensor_unref (s[1]);
    }
    tl_attrs_free (ncols);
    tl_tensor_unref (dense);
    tl_tensor_unref (yrows);
    tl_tensor_unref (vals);
  }
  tl_tensor_unref (x);
  printf ("%d fault checks\n", n_fault_checks);
}

/* optimizer kernels vs tl_optimizer_step on the host */
static void
check_optim (const char *kind, double mom, double damp, double wd, gboolean nesterov)
{
  TlOptimConfig cfg;
  tl_optim_config_init (&cfg);
  cfg.momentum = mom;
  cfg.dampening = damp;
  cfg.weight_decay = wd;
  cfg.nesterov = nesterov;
  cfg.eps = g_str_equal (kind, "lamb") ? 1e-6 : 1e-8;
  TlOptimizer *opt = tl_optimizer_new (kind, &cfg, NULL);
  g_assert_nonnull (opt);
  TlRng rng;
  tl_rng_init (&rng, 99, 0);
  gint64 n = 3001;
  TlTensor *p = tl_test_randn (&rng, 1, &n, 1.0);
  TlTensor *q = tl_tensor_copy (p, NULL);
  float *m = g_new0 (float, n), *v = g_new0 (float, n);
  double lr = 0.05;
  for (guint step = 1; step <= 4; step++) {
    TlTensor *g = tl_test_randn (&rng, 1, &n, 0.5);
    g_assert_true (tl_optimizer_step (opt, 1, &p, &g, lr, NULL));
    float *pq = tl_tensor_data (q);
    const float *pg = tl_tensor_const_data (g);
    float bc1 = (float) (1.0 - pow (cfg.beta1, step)), bc2 = (float) (1.0 - pow (cfg.beta2, step));
    gboolean ok;
    if (g_str_equal (kind, "sgd"))
      ok = damp != 0 ? _tl_cuda_sgd_update_full (pq, pg, m, n, (float) lr, (float) mom, (float) damp, (float) wd,
                                                  nesterov, step == 1, NULL)
                     : _tl_cuda_sgd_update (pq, pg, m, n, (float) lr, (float) mom, (float) wd, nesterov, NULL);
    else if (g_str_equal (kind, "lamb"))
      ok = _tl_cuda_lamb_update (pq, pg, m, v, n, lr, (float) cfg.beta1, (float) cfg.beta2, (float) cfg.eps,
                                 (float) wd, bc1, bc2, NULL);
    else
      ok = _tl_cuda_adam_update (pq, pg, m, v, n, (float) lr, (float) cfg.beta1, (float) cfg.beta2,
                                 (float) cfg.eps, (float) wd, g_str_equal (kind, "adamw"), bc1, bc2, NULL);
    g_assert_true (ok);
    tl_tensor_unref (g);
  }
  double d = tl_tensor_max_rel_diff (q, p);
  printf ("%s optim %s mom=%g damp=%g wd=%g nesterov=%d: max rel diff %.3g (bits equal: %d)\n",
          d <= 1e-6 ? "ok  " : "FAIL", kind, mom, damp, wd, nesterov, d, tl_tensor_equal_bits (q, p));
  if (!(d <= 1e-6))
    n_fail++;
  tl_tensor_unref (p);
  tl_tensor_unref (q);
  g_free (m);
  g_free (v);
  tl_optimizer_free (opt);
}

int
main (int argc, char **argv)
{
  g_assert_true (tl_init (NULL));
  const TlParityCase *tables[N_CASE_TABLES];
  guint counts[N_CASE_TABLES];
  case_tables (tables, counts);
  for (guint t = 0; t < N_CASE_TABLES; t++)
    for (guint i = 0; i < counts[t]; i++) {
      if (argc > 1 && !strstr (tables[t][i].name, argv[1]))
        continue;
      run_one (&tables[t][i], FALSE, FALSE);
      run_one (&tables[t][i], TRUE, TRUE);
    }
  (void) parity_main;
  check_faults ();
  check_optim ("sgd", 0, 0, 0.01, FALSE);
  check_optim ("sgd", 0.9, 0, 0.01, FALSE);
  check_optim ("sgd", 0.9, 0, 0.01, TRUE);
  check_optim ("sgd", 0.9, 0.1, 0.01, FALSE);
  check_optim ("adam", 0, 0, 0.01, FALSE);
  check_optim ("adamw", 0, 0, 0.1, FALSE);
  check_optim ("lamb", 0, 0, 0.01, FALSE);
  printf ("%d node checks (%d of TL_OP_OVERWRITES ops), %d failures\n", n_nodes_checked, n_ow_checked, n_fail);
  return n_fail != 0;
}
