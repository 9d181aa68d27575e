/* test-fusion.c — the fusion plugin: fused results equal unfused ones
 * (LayerNorm, softmax, bias+GELU+residual+LayerNorm as primitive ops, and
 * random DAGs of memory-bound ops), kernel counts, the explorer against a
 * brute-force optimum on small DAGs, plan XML/DOT, and fused gradients. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <tl/tl.h>

#include "fusion-private.h"

#define TOL 1e-5

#ifndef NVCC
#define NVCC ""
#endif

static const char *test_cpu = "interp"; /* planner parameter cpu */
static void collect_programs (TlGraph *f, GPtrArray *progs);

static TlPlanner *
make_planner (const char *mode, guint beam)
{
  g_autoptr (TlParams) params = tl_params_new ();
  tl_params_set_string (params, "mode", mode);
  tl_params_set_string (params, "cpu", test_cpu);
  tl_params_set_int (params, "beam", beam);
  tl_params_set_int (params, "top_k", 4);
  tl_params_set_int (params, "max_group", 64);
  tl_params_set_bool (params, "non_adjacent", TRUE);
  tl_params_set_bool (params, "rewrite", TRUE);
  tl_params_set_bool (params, "report", FALSE);
  GError *error = NULL;
  TlPlanner *p = fusion_stitch_planner.create (params, &error);
  g_assert_no_error (error);
  return p;
}

/* Plan and apply on a copy of g; returns the fused copy. */
static TlGraph *
fuse_copy (TlGraph *g, const char *mode, TlPlan **plan_out)
{
  GError *error = NULL;
  TlPlanner *p = make_planner (mode, 4);
  TlGraph *c = tl_graph_copy (g, &error);
  g_assert_no_error (error);
  TlPlan *plan = fusion_stitch_planner.plan (p, c, NULL, 1, &error);
  g_assert_no_error (error);
  g_assert_true (fusion_stitch_planner.apply (p, plan, c, &error));
  g_assert_no_error (error);
  fusion_stitch_planner.destroy (p);
  if (plan_out)
    *plan_out = plan;
  else
    tl_plan_free (plan);
  return c;
}

/* Run every named output of g with the given inputs on `device`; returns
 * new refs to host tensors. */
static GPtrArray *
run_graph_on (TlGraph *g, guint n_in, const char *const *names, TlTensor *const *in, guint *n_kernels,
              const char *device)
{
  GError *error = NULL;
  guint n = tl_graph_n_outputs (g);
  TlValue **outs = g_new (TlValue *, n);
  for (guint i = 0; i < n; i++)
    outs[i] = tl_graph_get_output (g, tl_graph_output_name (g, i));
  TlExecOptions o;
  tl_exec_options_init (&o);
  o.device = device;
  TlExec *ex = tl_exec_new (g, n, outs, &o, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < n_in; i++) {
    g_assert_true (tl_exec_set_input (ex, names[i], in[i], &error));
    g_assert_no_error (error);
  }
  g_assert_true (tl_exec_run (ex, 0, &error));
  g_assert_no_error (error);
  GPtrArray *res = g_ptr_array_new_with_free_func ((GDestroyNotify) tl_tensor_unref);
  for (guint i = 0; i < n; i++) {
    TlTensor *t = tl_exec_get_output_host (ex, i, &error);
    g_assert_no_error (error);
    g_ptr_array_add (res, tl_tensor_copy (t, NULL));
    tl_tensor_unref (t);
  }
  if (n_kernels)
    *n_kernels = tl_exec_n_kernels (ex);
  tl_exec_free (ex);
  g_free (outs);
  return res;
}

static GPtrArray *
run_graph (TlGraph *g, guint n_in, const char *const *names, TlTensor *const *in, guint *n_kernels)
{
  return run_graph_on (g, n_in, names, in, n_kernels, "cpu");
}

static TlTensor *
rand_tensor (TlRng *rng, guint ndim, const gint64 *shape, double lo, double hi)
{
  TlTensor *t = tl_tensor_new (TL_DTYPE_F32, ndim, shape, NULL);
  float *d = tl_tensor_data (t);
  for (gint64 i = 0; i < tl_tensor_numel (t); i++)
    d[i] = (float) (lo + (hi - lo) * tl_rng_uniform (rng));
  return t;
}

/* Compare fused and unfused outputs; returns the largest relative diff. */
static double
compare (TlGraph *g, TlGraph *f, guint n_in, const char *const *names, TlTensor *const *in,
         guint *k_before, guint *k_after)
{
  g_autoptr (GPtrArray) a = run_graph (g, n_in, names, in, k_before);
  g_autoptr (GPtrArray) b = run_graph (f, n_in, names, in, k_after);
  g_assert_cmpuint (a->len, ==, b->len);
  double worst = 0;
  for (guint i = 0; i < a->len; i++) {
    double d = tl_tensor_max_rel_diff (b->pdata[i], a->pdata[i]);
    g_assert_cmpfloat (d, >=, 0);
    worst = MAX (worst, d);
  }
  return worst;
}

/* --- the three patterns ---------------------------------------------------- */

typedef enum { PAT_LN, PAT_SOFTMAX, PAT_GELU_LN } Pattern;

static TlGraph *
build_pattern (Pattern pat, gint64 rows, gint64 cols, TlRng *rng)
{
  TlGraph *g = tl_graph_new ();
  gint64 shape[2] = { rows, cols };
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 2, shape);
  g_autoptr (TlTensor) gt = rand_tensor (rng, 1, &cols, 0.5, 1.5);
  g_autoptr (TlTensor) bt = rand_tensor (rng, 1, &cols, -0.5, 0.5);
  g_autoptr (TlTensor) biast = rand_tensor (rng, 1, &cols, -0.5, 0.5);
  TlValue *y;
  if (pat == PAT_SOFTMAX) {
    y = fusion_softmax_prims (g, x);
  } else if (pat == PAT_LN) {
    y = fusion_layer_norm_prims (g, x, tl_graph_param (g, "gamma", gt), tl_graph_param (g, "beta", bt));
  } else {
    TlValue *res = tl_graph_input (g, "res", TL_DTYPE_F32, 2, shape);
    TlValue *h = tl_gelu (g, tl_add (g, x, tl_graph_param (g, "bias", biast)));
    y = fusion_layer_norm_prims (g, tl_add (g, h, res), tl_graph_param (g, "gamma", gt),
                          tl_graph_param (g, "beta", bt));
  }
  tl_graph_set_output (g, "y", y);
  GError *error = NULL;
  g_assert_true (tl_graph_take_error (g, &error));
  g_assert_no_error (error);
  return g;
}

static void
check_pattern (Pattern pat, guint want_kernels)
{
  TlRng rng;
  tl_rng_init (&rng, 42, pat);
  gint64 shape[2] = { 37, 300 };
  TlGraph *g = build_pattern (pat, shape[0], shape[1], &rng);
  g_autoptr (TlTensor) x = rand_tensor (&rng, 2, shape, -3, 3);
  g_autoptr (TlTensor) res = rand_tensor (&rng, 2, shape, -1, 1);
  const char *names[] = { "x", "res" };
  TlTensor *in[] = { x, res };
  guint n_in = pat == PAT_GELU_LN ? 2 : 1;
  guint kb, ka, kbase;
  TlGraph *f = fuse_copy (g, "stitch", NULL);
  double d = compare (g, f, n_in, names, in, &kb, &ka);
  g_test_message ("pattern %d: kernels %u -> %u, rel diff %.3g", pat, kb, ka, d);
  g_assert_cmpfloat (d, <=, TOL);
  g_assert_cmpuint (ka, ==, want_kernels);
  TlGraph *b = fuse_copy (g, "baseline", NULL);
  d = compare (g, b, n_in, names, in, NULL, &kbase);
  g_test_message ("pattern %d baseline: kernels %u, rel diff %.3g", pat, kbase, d);
  g_assert_cmpfloat (d, <=, TOL);
  g_assert_cmpuint (kbase, >=, 3);
  g_assert_cmpuint (kbase, <, kb + 1);
  tl_graph_unref (b);
  tl_graph_unref (f);
  tl_graph_unref (g);
}

static void
test_layernorm (void)
{
  check_pattern (PAT_LN, 1);
}

static void
test_softmax (void)
{
  check_pattern (PAT_SOFTMAX, 1);
}

static void
test_gelu_ln (void)
{
  check_pattern (PAT_GELU_LN, 1);
}

/* --- random DAGs ------------------------------------------------------------ */

static const char *const unary_ops[] = { "neg", "relu", "gelu", "tanh", "sigmoid", "abs", "exp", "square" };
static const char *const binary_ops[] = { "add", "sub", "mul", "maximum", "minimum", "div" };

static const char *const wide_unary_ops[] = { "neg", "relu", "gelu", "tanh", "sigmoid", "abs", "exp", "square",
                                               "sign", "sqrt", "log", "rsqrt" };
static const char *const wide_binary_ops[] = { "add", "sub", "mul", "maximum", "minimum", "div", "pow" };

/* A random DAG of memory-bound ops on [R, C] with row, column and scalar
 * inputs. n_ops counts the ops drawn (helpers for safe domains add some).
 * wide: small [R, C] or [A, R, C] domains, inputs also [R] / [A, R], [1, C],
 * [1] and 0-d, reductions of any rank with or without keepdims,
 * broadcast_to, sign, sqrt, log, rsqrt and pow; ops whose operands do not
 * broadcast are skipped (the shapes that once made the explorer plan groups
 * that fusion_apply_plan() then refused). */
static TlGraph *
random_dag (TlRng *rng, guint n_ops, gboolean extras, gboolean big, gboolean wide, guint *n_inputs, char ***names,
            TlTensor ***ins)
{
  TlGraph *g = tl_graph_new ();
  gboolean three = wide && tl_rng_below (rng, 2);
  gint64 A = wide ? 1 + (gint64) tl_rng_below (rng, 3) : 1;
  gint64 R = 1 + (gint64) tl_rng_below (rng, wide ? 5 : big ? 40 : 9);
  gint64 C = 1 + (gint64) tl_rng_below (rng, wide ? 7 : big ? 9000 : 40);
  /* full, keepdims rows, rows, columns, [1, C], 0-d, [1] */
  gint64 shapes2[7][3] = { { R, C }, { R, 1 }, { R }, { C }, { 1, C }, { 0 }, { 1 } };
  gint64 shapes3[7][3] = { { A, R, C }, { A, R, 1 }, { A, R }, { C }, { 1, C }, { 0 }, { 1 } };
  static const guint nd2[7] = { 2, 2, 1, 1, 2, 0, 1 }, nd3[7] = { 3, 3, 2, 1, 2, 0, 1 };
  gint64 (*shapes)[3] = three ? shapes3 : shapes2;
  const guint *nd = three ? nd3 : nd2;
  /* narrow DAGs: full, keepdims rows and columns only */
  static const guint narrow[3] = { 0, 1, 3 };
  g_autoptr (GPtrArray) vals = g_ptr_array_new ();
  guint ni = 2 + (guint) tl_rng_below (rng, 3);
  *names = g_new0 (char *, ni + 1);
  *ins = g_new0 (TlTensor *, ni);
  for (guint i = 0; i < ni; i++) {
    guint k = i == 0 ? 0 : wide ? (guint) tl_rng_below (rng, 7) : narrow[tl_rng_below (rng, 3)];
    (*names)[i] = g_strdup_printf ("in%u", i);
    g_ptr_array_add (vals, tl_graph_input (g, (*names)[i], TL_DTYPE_F32, nd[k], shapes[k]));
    (*ins)[i] = rand_tensor (rng, nd[k], shapes[k], -1, 1);
  }
  *n_inputs = ni;
  guint first_op = vals->len;
  for (guint i = 0; i < n_ops; i++) {
    TlValue *a = vals->pdata[tl_rng_below (rng, vals->len)];
    TlValue *b = vals->pdata[tl_rng_below (rng, vals->len)];
    TlValue *r = NULL;
    guint kind = (guint) tl_rng_below (rng, wide ? 12 : 10);
    gint ax = -1;
    if (kind < 4) {
      const char *op = wide ? wide_unary_ops[tl_rng_below (rng, G_N_ELEMENTS (wide_unary_ops))]
                            : unary_ops[tl_rng_below (rng, G_N_ELEMENTS (unary_ops))];
      if (g_str_equal (op, "exp") || g_str_equal (op, "square"))
        a = tl_tanh (g, a); /* keep values bounded */
      if (g_str_equal (op, "sqrt") || g_str_equal (op, "log") || g_str_equal (op, "rsqrt"))
        a = tl_scale (g, tl_sigmoid (g, a), 1.0, 0.5); /* positive */
      r = tl_graph_op (g, op, 1, &a, NULL);
    } else if (kind < 8) {
      const char *op = wide ? wide_binary_ops[tl_rng_below (rng, G_N_ELEMENTS (wide_binary_ops))]
                            : binary_ops[tl_rng_below (rng, G_N_ELEMENTS (binary_ops))];
      if (g_str_equal (op, "div"))
        b = tl_scale (g, tl_sigmoid (g, b), 1.0, 0.5);
      if (g_str_equal (op, "pow"))
        a = tl_scale (g, tl_sigmoid (g, a), 1.0, 0.5);
      TlValue *ab[2] = { a, b };
      r = tl_graph_op (g, op, 2, ab, NULL);
    } else if (wide && kind < 10 && tl_value_ndim (a) >= 1 && tl_value_dim (a, -1) == C) {
      guint w = (guint) tl_rng_below (rng, 3);
      gboolean kd = tl_rng_below (rng, 2);
      r = w == 0 ? tl_sum (g, a, 1, &ax, kd) : w == 1 ? tl_mean (g, a, 1, &ax, kd) : tl_max (g, a, 1, &ax, kd);
    } else if (!wide && kind == 8 && tl_value_ndim (a) == 2 && tl_value_dim (a, -1) == C) {
      guint w = (guint) tl_rng_below (rng, 3);
      r = w == 0 ? tl_sum (g, a, 1, &ax, TRUE) : w == 1 ? tl_mean (g, a, 1, &ax, TRUE) : tl_max (g, a, 1, &ax, TRUE);
    } else if (wide && kind == 10) {
      r = tl_broadcast_to (g, a, nd[0], shapes[0]);
    } else if (extras && tl_value_ndim (a) == 2) {
      /* not fusible: a softmax, or a reduction over the rows */
      if (tl_rng_below (rng, 2))
        r = tl_softmax (g, a, -1);
      else {
        gint ax0 = 0;
        r = tl_sum (g, a, 1, &ax0, TRUE);
      }
    } else {
      r = tl_scale (g, a, 0.5 + tl_rng_uniform (rng), tl_rng_uniform (rng) - 0.5);
    }
    if (!r && wide) {
      /* operands that do not broadcast */
      g_autoptr (GError) error = NULL;
      g_assert_false (tl_graph_take_error (g, &error));
      continue;
    }
    g_assert_nonnull (r);
    g_ptr_array_add (vals, r);
  }
  guint k = 0;
  for (guint i = first_op; i < vals->len; i++) {
    TlValue *v = vals->pdata[i];
    if (tl_value_n_users (v) == 0 || tl_rng_below (rng, 8) == 0) {
      g_autofree char *name = g_strdup_printf ("out%u", k++);
      tl_graph_set_output (g, name, v);
    }
  }
  if (k == 0)
    tl_graph_set_output (g, "out0", vals->pdata[0]);
  GError *error = NULL;
  g_assert_true (tl_graph_take_error (g, &error));
  return g;
}

static void
free_inputs (guint n, char **names, TlTensor **ins)
{
  for (guint i = 0; i < n; i++)
    tl_tensor_unref (ins[i]);
  g_free (ins);
  g_strfreev (names);
}

/* A random DAG (random_dag() with extras) and its fused copy. */
typedef struct {
  guint ni;
  char **names;
  TlTensor **ins;
  TlGraph *g, *f;
} FusedDag;

static void
fused_dag_init (FusedDag *d, TlRng *rng, guint n_ops, gboolean big, gboolean wide, const char *mode,
                TlPlan **plan_out)
{
  d->g = random_dag (rng, n_ops, TRUE, big, wide, &d->ni, &d->names, &d->ins);
  d->f = fuse_copy (d->g, mode, plan_out);
}

static void
fused_dag_clear (FusedDag *d)
{
  tl_graph_unref (d->f);
  tl_graph_unref (d->g);
  free_inputs (d->ni, d->names, d->ins);
}

/* Random DAGs, fused results equal unfused ones; 220 narrow DAGs, then wide
 * ones (random_dag()). Every group the explorer plans is fused when the
 * plan is applied: the fused graph has the plan's kernels_after nodes. */
static void
test_random_dags (void)
{
  TlRng rng;
  tl_rng_init (&rng, 7, 0);
  const guint n_narrow = 220, n_wide = 600;
  guint fused_total = 0, kb_total = 0, ka_total = 0;
  for (guint t = 0; t < n_narrow + n_wide; t++) {
    const char *mode = t % 5 == 4 ? "baseline" : "stitch";
    gboolean wide = t >= n_narrow;
    TlPlan *plan = NULL;
    FusedDag dag;
    fused_dag_init (&dag, &rng, 4 + (guint) tl_rng_below (&rng, 20), !wide && t % 10 == 9, wide, mode, &plan);
    guint kb, ka;
    double d = compare (dag.g, dag.f, dag.ni, (const char *const *) dag.names, dag.ins, &kb, &ka);
    gint64 planned = tl_attrs_get_int (tl_plan_get_attrs (plan), "kernels_after", -1);
    if (d > TOL || (gint64) tl_graph_n_nodes (dag.f) != planned) {
      g_autofree char *xml = tl_plan_to_xml (plan);
      g_autofree char *json = tl_graph_to_json (dag.g);
      g_test_message ("DAG %u (%s): rel diff %g, %u nodes after, planned %" G_GINT64_FORMAT "\n%s\n%s", t, mode,
                      d, tl_graph_n_nodes (dag.f), planned, xml, json);
    }
    g_assert_cmpfloat (d, <=, TOL);
    g_assert_cmpuint (ka, <=, kb);
    g_assert_cmpint (tl_graph_n_nodes (dag.f), ==, planned);
    fused_total += tl_plan_n_items (plan);
    kb_total += kb;
    ka_total += ka;
    tl_plan_free (plan);
    fused_dag_clear (&dag);
  }
  g_test_message ("%u DAGs: %u groups, kernels %u -> %u", n_narrow + n_wide, fused_total, kb_total, ka_total);
  g_assert_cmpuint (ka_total, <, kb_total);
}

/* --- brute force ------------------------------------------------------------ */

typedef struct {
  FusionCtx *ctx;
  guint m;          /* fusible nodes */
  guint *fpos;      /* their positions */
  double *gain;     /* per subset mask */
  guint *comp;
  double best;
} Brute;

/* Enumerate partitions of the fusible nodes into valid groups; check
 * acyclicity of each complete partition. */
static void
brute_walk (Brute *b, guint used, double acc, guint *stack, guint depth)
{
  guint full = (1u << b->m) - 1;
  if (used == full) {
    guint n = fusion_ctx_n_nodes (b->ctx);
    for (guint i = 0; i < n; i++)
      b->comp[i] = i;
    for (guint s = 0; s < depth; s++) {
      guint rep = G_MAXUINT;
      for (guint k = 0; k < b->m; k++)
        if (stack[s] & (1u << k)) {
          if (rep == G_MAXUINT)
            rep = b->fpos[k];
          b->comp[b->fpos[k]] = rep;
        }
    }
    if (acc > b->best && fusion_ctx_acyclic (b->ctx, b->comp))
      b->best = acc;
    return;
  }
  guint low = 0;
  while (used & (1u << low))
    low++;
  guint rest = full & ~used & ~(1u << low);
  /* every subset of rest, plus low */
  for (guint sub = rest;; sub = (sub - 1) & rest) {
    guint s = sub | (1u << low);
    if (b->gain[s] > -INFINITY) {
      stack[depth] = s;
      brute_walk (b, used | s, acc + b->gain[s], stack, depth + 1);
    }
    if (sub == 0)
      break;
  }
}

static void
test_brute_force (void)
{
  TlRng rng;
  tl_rng_init (&rng, 11, 0);
  guint ok = 0, total = 0, ok_greedy = 0;
  double worst = 1;
  for (guint t = 0; t < 120; t++) {
    guint ni;
    char **names;
    TlTensor **ins;
    TlGraph *g = random_dag (&rng, 3 + (guint) tl_rng_below (&rng, 6), t % 3 == 0, FALSE, FALSE, &ni, &names, &ins);
    if (tl_graph_n_nodes (g) > 10) {
      tl_graph_unref (g);
      free_inputs (ni, names, ins);
      continue;
    }
    FusionExploreOptions o = { .beam = 4, .top_k = 4, .non_adjacent = TRUE };
    fusion_cost_model_init (&o.cm, NULL);
    FusionCtx *ctx = fusion_ctx_new (g, &o);
    double obj = 0;
    GPtrArray *groups = fusion_explore (ctx, &obj);
    Brute b = { .ctx = ctx, .best = 0 };
    guint n = fusion_ctx_n_nodes (ctx);
    b.fpos = g_new0 (guint, n + 1);
    for (guint i = 0; i < n; i++)
      if (fusion_ctx_fusible (ctx, i))
        b.fpos[b.m++] = i;
    b.gain = g_new (double, 1u << b.m);
    for (guint s = 1; s < (1u << b.m); s++) {
      guint pos[16], k = 0;
      for (guint i = 0; i < b.m; i++)
        if (s & (1u << i))
          pos[k++] = b.fpos[i];
      b.gain[s] = fusion_ctx_gain (ctx, k, pos);
    }
    b.comp = g_new (guint, n + 1);
    guint stack[16];
    brute_walk (&b, 0, 0, stack, 0);
    total++;
    gboolean good = obj >= 0.95 * b.best - 1e-9;
    ok += good;
    if (b.best > 0)
      worst = MIN (worst, obj / b.best);
    if (!good)
      g_test_message ("DAG %u: explorer %.4f, optimum %.4f (%u nodes)", t, obj, b.best, n);
    g_assert_cmpfloat (obj, <=, b.best + 1e-6);
    {
      /* for reference: beam 1, top-1 candidates, no packing */
      FusionExploreOptions o1 = { .beam = 1, .top_k = 1, .non_adjacent = FALSE };
      fusion_cost_model_init (&o1.cm, NULL);
      FusionCtx *c1 = fusion_ctx_new (g, &o1);
      double obj1 = 0;
      GPtrArray *g1 = fusion_explore (c1, &obj1);
      ok_greedy += obj1 >= 0.95 * b.best - 1e-9;
      g_ptr_array_unref (g1);
      fusion_ctx_free (c1);
    }
    g_free (b.fpos);
    g_free (b.gain);
    g_free (b.comp);
    g_ptr_array_unref (groups);
    fusion_ctx_free (ctx);
    tl_graph_unref (g);
    free_inputs (ni, names, ins);
  }
  g_test_message ("brute force: %u of %u within 0.95 of the optimum (worst ratio %.3f); "
                  "beam 1 / top-1 / no packing: %u of %u", ok, total, worst, ok_greedy, total);
  g_assert_cmpuint (total, >=, 80);
  g_assert_cmpuint (ok * 100, >=, 95 * total);
}

/* --- plan I/O, DOT, gradient --------------------------------------------------- */

static void
test_plan_io (void)
{
  TlRng rng;
  tl_rng_init (&rng, 3, 0);
  TlGraph *g = build_pattern (PAT_GELU_LN, 4, 16, &rng);
  GError *error = NULL;
  TlPlanner *p = make_planner ("stitch", 4);
  TlPlan *plan = fusion_stitch_planner.plan (p, g, NULL, 0, &error);
  g_assert_no_error (error);
  g_autofree char *xml = tl_plan_to_xml (plan);
  g_assert_nonnull (strstr (xml, "group"));
  TlPlan *back = tl_plan_from_xml (xml, -1, "plan.xml", &error);
  g_assert_no_error (error);
  g_assert_true (tl_plan_equal (plan, back));
  g_assert_cmpint (tl_attrs_get_int (tl_plan_get_attrs (plan), "kernels_after", 0), ==, 1);
  g_assert_cmpfloat (tl_attrs_get_float (tl_plan_get_attrs (plan), "bytes_after", 0), <,
                     tl_attrs_get_float (tl_plan_get_attrs (plan), "bytes_before", 0));
  g_autofree char *dot = fusion_plan_to_dot (g, plan);
  g_assert_nonnull (dot);
  g_assert_nonnull (strstr (dot, "digraph"));
  /* a plan loaded back applies the same way */
  TlGraph *c = tl_graph_copy (g, &error);
  g_assert_true (fusion_stitch_planner.apply (p, back, c, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tl_graph_n_nodes (c), ==, 1);
  /* a plan for another graph is refused */
  TlGraph *other = build_pattern (PAT_SOFTMAX, 4, 16, &rng);
  TlAttrs *it = tl_plan_add_item (back, "group");
  gint64 ids[] = { 9999, 10000 };
  tl_attrs_set_ints (it, "nodes", 2, ids);
  g_assert_false (fusion_stitch_planner.apply (p, back, other, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  tl_graph_unref (other);
  tl_graph_unref (c);
  tl_plan_free (back);
  tl_plan_free (plan);
  fusion_stitch_planner.destroy (p);
  /* dot=FILE writes the coloured picture when planning */
  g_autofree char *dir = g_dir_make_tmp ("tl-fusion-dot-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, "plan.dot", NULL);
  g_autoptr (TlParams) params = tl_params_new ();
  tl_params_set_string (params, "dot", path);
  tl_params_set_bool (params, "report", FALSE);
  p = fusion_stitch_planner.create (params, &error);
  g_assert_no_error (error);
  plan = fusion_stitch_planner.plan (p, g, NULL, 0, &error);
  g_assert_no_error (error);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "digraph"));
  g_unlink (path);
  g_rmdir (dir);
  tl_plan_free (plan);
  fusion_stitch_planner.destroy (p);
  tl_graph_unref (g);
}

/* Gradients through fused nodes (fused before autodiff: re-expansion). */
static void
test_gradient (void)
{
  TlRng rng;
  tl_rng_init (&rng, 5, 0);
  for (guint pat = 0; pat < 3; pat++) {
    TlGraph *g = build_pattern (pat, 6, 24, &rng);
    TlGraph *f = fuse_copy (g, "stitch", NULL);
    TlGraph *gs[2] = { g, f };
    g_autoptr (TlTensor) x = rand_tensor (&rng, 2, (gint64[]){ 6, 24 }, -2, 2);
    g_autoptr (TlTensor) res = rand_tensor (&rng, 2, (gint64[]){ 6, 24 }, -1, 1);
    g_autoptr (TlTensor) w = rand_tensor (&rng, 2, (gint64[]){ 6, 24 }, -1, 1);
    TlTensor *grads[2][2] = { { NULL, NULL }, { NULL, NULL } };
    for (guint k = 0; k < 2; k++) {
      TlGraph *h = gs[k];
      GError *error = NULL;
      TlValue *y = tl_graph_get_output (h, "y");
      TlValue *wv = tl_graph_input (h, "w", TL_DTYPE_F32, 2, (gint64[]){ 6, 24 });
      TlValue *loss = tl_sum (h, tl_mul (h, y, wv), 0, NULL, FALSE);
      TlValue *wrt[2] = { tl_graph_find_input (h, "x"), tl_graph_find_param (h, "gamma") };
      guint nw = wrt[1] ? 2 : 1;
      TlValue *gv[2] = { NULL, NULL };
      g_assert_true (tl_autodiff (h, loss, nw, wrt, gv, &error));
      g_assert_no_error (error);
      TlExecOptions o;
      tl_exec_options_init (&o);
      TlExec *ex = tl_exec_new (h, nw, gv, &o, &error);
      g_assert_no_error (error);
      tl_exec_set_input (ex, "x", x, &error);
      tl_exec_set_input (ex, "w", w, &error);
      if (pat == PAT_GELU_LN)
        tl_exec_set_input (ex, "res", res, &error);
      g_assert_true (tl_exec_run (ex, 0, &error));
      g_assert_no_error (error);
      for (guint i = 0; i < nw; i++)
        grads[k][i] = tl_tensor_copy (tl_exec_get_output (ex, i), NULL);
      tl_exec_free (ex);
    }
    for (guint i = 0; i < 2; i++) {
      if (!grads[0][i])
        continue;
      double d = tl_tensor_max_rel_diff (grads[1][i], grads[0][i]);
      g_test_message ("pattern %u grad %u: rel diff %.3g", pat, i, d);
      g_assert_cmpfloat (d, >=, 0); /* -1: the shapes differ */
      g_assert_cmpfloat (d, <=, 1e-4);
      tl_tensor_unref (grads[0][i]);
      tl_tensor_unref (grads[1][i]);
    }
    tl_graph_unref (f);
    tl_graph_unref (g);
  }
}

/* --- the compiled CPU path (cpu=cc) ------------------------------------------------ */

static void
test_compiled_c (void)
{
  g_autofree char *cc = g_find_program_in_path ("cc");
  if (!cc) {
    g_test_skip ("no C compiler: the compiled CPU path is not available");
    return;
  }
  test_cpu = "cc";
  check_pattern (PAT_LN, 1);
  check_pattern (PAT_SOFTMAX, 1);
  check_pattern (PAT_GELU_LN, 1);
  TlRng rng;
  tl_rng_init (&rng, 21, 0);
  guint compiled = 0;
  for (guint t = 0; t < 35; t++) {
    /* then wide DAGs: 3-D domains, [R, 1] domains with [R] rows, 0-d values */
    FusedDag dag;
    fused_dag_init (&dag, &rng, 4 + (guint) tl_rng_below (&rng, 14), t < 15 && t % 5 == 4, t >= 15, "stitch", NULL);
    double d = compare (dag.g, dag.f, dag.ni, (const char *const *) dag.names, dag.ins, NULL, NULL);
    g_assert_cmpfloat (d, <=, TOL);
    g_autoptr (GPtrArray) progs = g_ptr_array_new_with_free_func ((GDestroyNotify) fusion_program_free);
    collect_programs (dag.f, progs);
    for (guint i = 0; i < progs->len; i++)
      compiled += fusion_c_compile (progs->pdata[i], NULL) != NULL;
    fused_dag_clear (&dag);
  }
  test_cpu = "interp";
  g_test_message ("%u compiled kernels", compiled);
  g_assert_cmpuint (compiled, >, 8);
}

/* --- CUDA generation ---------------------------------------------------------- */

/* Programs of every fused node of a graph. */
static void
collect_programs (TlGraph *f, GPtrArray *progs)
{
  for (guint i = 0; i < tl_graph_n_nodes (f); i++) {
    TlNode *n = tl_graph_node (f, i);
    if (g_strcmp0 (tl_node_op (n), "fusion.fused") != 0)
      continue;
    TlTensorDesc d[64];
    guint ni = MIN (tl_node_n_inputs (n), 64);
    for (guint j = 0; j < ni; j++)
      d[j] = *tl_value_desc (tl_node_input (n, j));
    GError *error = NULL;
    FusionProgram *p = fusion_program_from_attrs (tl_node_attrs (n), ni, d, &error);
    g_assert_no_error (error);
    g_ptr_array_add (progs, p);
  }
}

/* The generated kernels of the three patterns (warp composition), long rows
 * (block composition), elementwise groups (thread composition) and random
 * DAGs compile with nvcc -ptx, and with NVRTC when the plugin has it. */
static void
test_cuda_codegen (void)
{
  g_autoptr (GPtrArray) progs = g_ptr_array_new_with_free_func ((GDestroyNotify) fusion_program_free);
  TlRng rng;
  tl_rng_init (&rng, 9, 0);
  for (guint pat = 0; pat < 3; pat++) {
    gint64 cols[] = { 768, 3000 };
    for (guint c = 0; c < 2; c++) {
      TlGraph *g = build_pattern (pat, 16, cols[c], &rng);
      TlGraph *f = fuse_copy (g, pat == PAT_LN && c == 1 ? "baseline" : "stitch", NULL);
      collect_programs (f, progs);
      tl_graph_unref (f);
      tl_graph_unref (g);
    }
  }
  for (guint t = 0; t < 30; t++) {
    FusedDag dag;
    fused_dag_init (&dag, &rng, 6 + (guint) tl_rng_below (&rng, 10), t % 3 == 0, FALSE, "stitch", NULL);
    collect_programs (dag.f, progs);
    fused_dag_clear (&dag);
  }
  GString *src = g_string_new ("#include <math.h>\n");
  guint schemes[3] = { 0, 0, 0 };
  for (guint i = 0; i < progs->len; i++) {
    const FusionProgram *p = progs->pdata[i];
    g_autofree char *name = g_strdup_printf ("k%u", i);
    g_autofree char *cu = fusion_codegen_cuda (p, name);
    g_assert_nonnull (cu);
    schemes[p->n_reductions == 0 ? 0 : p->cols > 1024 ? 2 : 1]++;
    g_string_append (src, cu);
  }
  g_test_message ("%u kernels: %u thread, %u warp, %u block composition", progs->len, schemes[0], schemes[1],
                  schemes[2]);
  g_assert_cmpuint (schemes[0], >, 0);
  g_assert_cmpuint (schemes[1], >, 0);
  g_assert_cmpuint (schemes[2], >, 0);
  /* NVRTC (in-process; needs no GPU): every program above, and those of a
   * sample of wide DAGs (3-D domains, [R, 1] domains with [R] rows, 0-d
   * values) */
  GError *error = NULL;
  const char *ptx = fusion_cuda_ptx (progs->pdata[0], &error);
  if (ptx) {
    g_assert_nonnull (strstr (ptx, "tl_fused"));
    g_assert_true (fusion_cuda_ptx (progs->pdata[0], NULL) == ptx); /* cached */
    g_autoptr (GPtrArray) wide = g_ptr_array_new_with_free_func ((GDestroyNotify) fusion_program_free);
    for (guint t = 0; t < 12; t++) {
      FusedDag dag;
      fused_dag_init (&dag, &rng, 4 + (guint) tl_rng_below (&rng, 14), FALSE, TRUE, "stitch", NULL);
      collect_programs (dag.f, wide);
      fused_dag_clear (&dag);
    }
    g_assert_cmpuint (wide->len, >, 4);
    for (guint w = 0; w < 2; w++) {
      GPtrArray *set = w ? wide : progs;
      for (guint i = 0; i < set->len; i++) {
        ptx = fusion_cuda_ptx (set->pdata[i], &error);
        if (!ptx) {
          g_autofree char *cu = fusion_codegen_cuda (set->pdata[i], "tl_fused");
          g_test_message ("%s program %u: %s\n%s", w ? "wide" : "narrow", i, error->message, cu);
        }
        g_assert_no_error (error);
        g_assert_nonnull (strstr (ptx, "tl_fused"));
      }
    }
    g_test_message ("NVRTC compiled %u + %u programs", progs->len, wide->len);
  } else {
    g_test_message ("NVRTC path skipped: %s", error->message);
    g_assert_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED);
    g_clear_error (&error);
  }
  const char *nvcc = NVCC;
  if (!*nvcc || !g_file_test (nvcc, G_FILE_TEST_IS_EXECUTABLE)) {
    g_string_free (src, TRUE);
    g_test_skip ("nvcc not found at configure time: generated CUDA not compiled");
    return;
  }
  g_autofree char *dir = g_dir_make_tmp ("tl-fusion-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *cu = g_build_filename (dir, "fused.cu", NULL);
  g_autofree char *out = g_build_filename (dir, "fused.ptx", NULL);
  g_assert_true (g_file_set_contents (cu, src->str, -1, &error));
  g_string_free (src, TRUE);
  const char *argv[] = { nvcc, "-ptx", "-o", out, cu, NULL };
  g_autofree char *err_out = NULL;
  gint status = 0;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                               &err_out, &status, &error));
  if (status != 0)
    g_test_message ("nvcc: %s", err_out);
  g_assert_cmpint (status, ==, 0);
  g_assert_true (g_file_test (out, G_FILE_TEST_EXISTS));
  g_unlink (out);
  g_unlink (cu);
  g_rmdir (dir);
}

/* Largest per-thread register array `float vK[N]` of a generated kernel
 * (0: none); *smallest: the smallest one (G_MAXINT64: none). */
static gint64
max_register_array (const char *cu, gint64 *smallest)
{
  gint64 worst = 0, least = G_MAXINT64;
  for (const char *q = cu; (q = strstr (q, "float v")); q++) {
    const char *e = q + 7;
    while (g_ascii_isdigit (*e))
      e++;
    if (*e == '[') {
      gint64 n = g_ascii_strtoll (e + 1, NULL, 10);
      worst = MAX (worst, n);
      least = MIN (least, n);
    }
  }
  if (smallest)
    *smallest = least;
  return worst;
}

/* Reductions over very long rows: the kernels keep no per-row register
 * arrays (above 32 columns per lane the looped block composition), so NVRTC
 * compiles them at once (it took minutes, with a 31.8 KB stack per thread,
 * when every column was kept in registers and the loops fully unrolled). */
static void
test_cuda_long_rows (void)
{
  static const struct { Pattern pat; gint64 cols; } cases[] = {
    { PAT_SOFTMAX, 1000000 }, { PAT_LN, 262144 }, { PAT_GELU_LN, 50257 }, { PAT_SOFTMAX, 8192 },
  };
  TlRng rng;
  tl_rng_init (&rng, 5, 0);
  gboolean nvrtc = TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    TlGraph *g = build_pattern (cases[i].pat, 4, cases[i].cols, &rng);
    TlGraph *f = fuse_copy (g, "stitch", NULL);
    g_autoptr (GPtrArray) progs = g_ptr_array_new_with_free_func ((GDestroyNotify) fusion_program_free);
    collect_programs (f, progs);
    g_assert_cmpuint (progs->len, ==, 1);
    const FusionProgram *p = progs->pdata[0];
    g_assert_cmpuint (p->n_reductions, >, 0);
    g_autofree char *cu = fusion_codegen_cuda (p, "tl_fused");
    g_assert_nonnull (cu);
    gint64 regs = max_register_array (cu, NULL);
    g_test_message ("%" G_GINT64_FORMAT " columns: largest register array %" G_GINT64_FORMAT, cases[i].cols, regs);
    g_assert_cmpint (regs, <=, 32);
    if (cases[i].cols > 8192)
      g_assert_nonnull (strstr (cu, "looped"));
    else
      g_assert_cmpint (regs, ==, 32); /* up to 8192 columns: kept in registers */
    GError *error = NULL;
    const char *ptx = nvrtc ? fusion_cuda_ptx (p, &error) : NULL;
    if (nvrtc && !ptx) {
      g_assert_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED);
      g_test_message ("NVRTC not available (%s): long-row kernels only generated", error->message);
      g_clear_error (&error);
      nvrtc = FALSE;
    }
    g_assert_no_error (error);
    tl_graph_unref (f);
    tl_graph_unref (g);
  }
  if (!nvrtc)
    g_test_skip ("NVRTC not available: long-row kernels generated, not compiled");
}

/* An infinite or NaN affine bias (e.g. a -inf mask) is valid C and CUDA in
 * the generated code: the compiled CPU kernel (cpu=cc) gives the
 * interpreter's results and NVRTC compiles the CUDA kernel. */
static void
test_nonfinite_constants (void)
{
  static const float biases[] = { -INFINITY, INFINITY, NAN };
  TlRng rng;
  tl_rng_init (&rng, 3, 0);
  g_autofree char *cc = g_find_program_in_path ("cc");
  gboolean nvrtc = TRUE;
  for (guint b = 0; b < G_N_ELEMENTS (biases); b++) {
    TlGraph *g = tl_graph_new ();
    gint64 shape[2] = { 4, 8 };
    TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 2, shape);
    TlValue *y = tl_exp (g, tl_scale (g, tl_relu (g, x), 1.0, biases[b]));
    /* and through a reduction (warp composition) */
    TlValue *m = tl_max (g, tl_scale (g, tl_neg (g, x), 2.0, biases[b]), 1, (gint[]) { -1 }, TRUE);
    tl_graph_set_output (g, "y", tl_add (g, y, m));
    GError *error = NULL;
    g_assert_true (tl_graph_take_error (g, &error));
    TlGraph *f = fuse_copy (g, "stitch", NULL);
    g_autoptr (GPtrArray) progs = g_ptr_array_new_with_free_func ((GDestroyNotify) fusion_program_free);
    collect_programs (f, progs);
    g_assert_cmpuint (progs->len, ==, 1);
    const FusionProgram *p = progs->pdata[0];
    g_autofree char *csrc = fusion_codegen_c (p);
    g_autofree char *cu = fusion_codegen_cuda (p, "tl_fused");
    /* the C kernel's own code: its prelude carries tl-math.h, comments too */
    const char *kernel = strstr (csrc, "void tl_fused(");
    g_assert_nonnull (kernel);
    g_assert_null (strstr (kernel, "inf"));
    g_assert_null (strstr (kernel, "nan"));
    g_assert_null (strstr (cu, "inf"));
    g_assert_null (strstr (cu, "nan"));
    g_autoptr (TlTensor) xt = rand_tensor (&rng, 2, shape, -2, 2);
    TlTensor *in[] = { xt };
    g_autoptr (TlTensor) ref = tl_tensor_new (TL_DTYPE_F32, 2, shape, NULL);
    g_assert_true (fusion_program_run (p, in, &ref, &error));
    g_assert_no_error (error);
    if (cc) {
      FusionCFunc fn = fusion_c_compile (p, &error);
      g_assert_no_error (error);
      g_assert_nonnull (fn);
      g_autoptr (TlTensor) got = tl_tensor_new (TL_DTYPE_F32, 2, shape, NULL);
      const float *ip[] = { tl_tensor_const_data (xt) };
      float *op[] = { tl_tensor_data (got) };
      fn (ip, op, 0, p->rows);
      const float *r = tl_tensor_const_data (ref), *o = tl_tensor_const_data (got);
      for (gint64 i = 0; i < tl_tensor_numel (ref); i++) {
        g_assert_cmpint (isnan (r[i]), ==, isnan (o[i]));
        if (isinf (r[i]))
          g_assert_cmpfloat (o[i], ==, r[i]);
        else if (!isnan (r[i]))
          g_assert_cmpfloat (fabsf (o[i] - r[i]), <=, 1e-5f * (1 + fabsf (r[i])));
      }
    }
    const char *ptx = nvrtc ? fusion_cuda_ptx (p, &error) : NULL;
    if (nvrtc && !ptx) {
      g_assert_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED);
      g_clear_error (&error);
      nvrtc = FALSE;
    }
    g_assert_no_error (error);
    tl_graph_unref (f);
    tl_graph_unref (g);
  }
  if (!cc || !nvrtc)
    g_test_skip (!cc ? "no C compiler: compiled CPU kernel not checked" : "NVRTC not available: CUDA kernel not compiled");
}

/* The generated C compiles with -Wall -Wextra -Wshadow -Werror. */
static void
assert_compiles_strictly (const char *cc, const char *csrc)
{
  GError *error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tl-fusion-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *c_path = g_build_filename (dir, "k.c", NULL);
  g_autofree char *o_path = g_build_filename (dir, "k.o", NULL);
  g_assert_true (g_file_set_contents (c_path, csrc, -1, &error));
  g_assert_no_error (error);
  const char *argv[] = { cc, "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wshadow", "-Werror", "-fopenmp-simd",
                         "-fno-trapping-math", "-ffp-contract=off", "-c", "-o", o_path, c_path, NULL };
  g_autofree char *err = NULL;
  gint status = -1;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err,
                               &status, &error));
  g_assert_no_error (error);
  if (status != 0)
    g_test_message ("cc -Wall -Wextra -Werror: %s", err);
  g_assert_cmpint (status, ==, 0);
  g_unlink (o_path);
  g_unlink (c_path);
  g_rmdir (dir);
}

/* The compiled kernels' math is tl-math.h's own text (gen-math-prelude.sh),
 * not a copy that could drift: the generated C contains the header verbatim
 * (less its tl-macros.h include), compiles cleanly with -Wall -Wextra
 * -Werror (tl-math.h's unused static inline functions included), and the
 * compiled kernel of exp, tanh, sigmoid, gelu (erf), their gradients and
 * rsqrt gives the interpreter's bits on edge inputs: NaN, +-inf, +-100,
 * +-1e-8, the polynomials' clamp and switch points, denormals. */
static void
test_math_prelude (void)
{
  static const char *const unary[] = { "exp", "tanh", "sigmoid", "gelu", "rsqrt" };
  static const char *const binary[] = { "gelu_grad", "sigmoid_grad", "tanh_grad" };
  static const float edges[] = {
    NAN, -NAN, INFINITY, -INFINITY, -100.0f, 100.0f, 1e-8f, -1e-8f, 0.0f, -0.0f, 88.72f, 88.73f, 88.7f,
    -86.6f, -86.61f, -87.5f, 0.03f, -0.03f, 0.0299f, 4.0f, -4.0f, 4.01f, 1e30f, -1e30f, 1e-40f, -1e-40f,
    1.0f, -1.0f, 0.5f, 44.0f, -44.0f, 9.0f, -9.0f,
  };
  const gint64 n = 67; /* a vector body and a scalar tail */
  TlRng rng;
  tl_rng_init (&rng, 11, 0);
  TlGraph *g = tl_graph_new ();
  gint64 shape[2] = { 1, n };
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 2, shape);
  guint n_ops = 0;
  for (guint i = 0; i < G_N_ELEMENTS (unary); i++) {
    g_autofree char *name = g_strdup_printf ("y%u", n_ops++);
    tl_graph_set_output (g, name, tl_graph_op (g, unary[i], 1, &x, NULL));
  }
  for (guint i = 0; i < G_N_ELEMENTS (binary); i++) {
    g_autofree char *name = g_strdup_printf ("y%u", n_ops++);
    TlValue *xx[] = { x, x };
    tl_graph_set_output (g, name, tl_graph_op (g, binary[i], 2, xx, NULL));
  }
  GError *error = NULL;
  g_assert_true (tl_graph_take_error (g, &error));
  g_assert_no_error (error);
  TlGraph *f = fuse_copy (g, "stitch", NULL);
  g_autoptr (GPtrArray) progs = g_ptr_array_new_with_free_func ((GDestroyNotify) fusion_program_free);
  collect_programs (f, progs);
  g_assert_cmpuint (progs->len, ==, 1);
  const FusionProgram *p = progs->pdata[0];
  g_assert_cmpuint (p->n_out, ==, n_ops);

  /* the header's text, verbatim */
  g_autofree char *csrc = fusion_codegen_c (p);
  g_assert_nonnull (csrc);
  g_autofree char *hpath = g_build_filename (TL_SRCDIR, "sdk-headers", "tl", "tl-math.h", NULL);
  g_autofree char *header = NULL;
  g_assert_true (g_file_get_contents (hpath, &header, NULL, &error));
  g_assert_no_error (error);
  const char *inc = "#include <tl/tl-macros.h>\n";
  char *at = strstr (header, inc);
  g_assert_nonnull (at);
  memmove (at, at + strlen (inc), strlen (at + strlen (inc)) + 1);
  g_assert_nonnull (strstr (csrc, header));
  g_assert_null (strstr (csrc, "#include <tl/"));

  g_autofree char *cc = g_find_program_in_path ("cc");
  if (!cc) {
    g_test_skip ("no C compiler: the compiled CPU path is not available");
  } else {
    /* warning-free, unused static inline functions and all; also with
     * reductions and a row buffer */
    assert_compiles_strictly (cc, csrc);
    TlGraph *lg = build_pattern (PAT_GELU_LN, 4, 40, &rng);
    TlGraph *lf = fuse_copy (lg, "stitch", NULL);
    g_autoptr (GPtrArray) lprogs = g_ptr_array_new_with_free_func ((GDestroyNotify) fusion_program_free);
    collect_programs (lf, lprogs);
    g_assert_cmpuint (lprogs->len, >, 0);
    for (guint i = 0; i < lprogs->len; i++) {
      g_autofree char *lsrc = fusion_codegen_c (lprogs->pdata[i]);
      g_assert_nonnull (lsrc);
      assert_compiles_strictly (cc, lsrc);
    }
    tl_graph_unref (lf);
    tl_graph_unref (lg);

    /* the interpreter's bits */
    g_autoptr (TlTensor) xt = rand_tensor (&rng, 2, shape, -10, 10);
    float *xd = tl_tensor_data (xt);
    memcpy (xd, edges, sizeof edges);
    TlTensor *in[] = { xt };
    TlTensor *ref[G_N_ELEMENTS (unary) + G_N_ELEMENTS (binary)], *got[G_N_ELEMENTS (ref)];
    float *op[G_N_ELEMENTS (ref)];
    for (guint o = 0; o < n_ops; o++) {
      ref[o] = tl_tensor_new (TL_DTYPE_F32, 2, shape, NULL);
      got[o] = tl_tensor_new (TL_DTYPE_F32, 2, shape, NULL);
      op[o] = tl_tensor_data (got[o]);
    }
    g_assert_true (fusion_program_run (p, in, ref, &error));
    g_assert_no_error (error);
    FusionCFunc fn = fusion_c_compile (p, &error);
    g_assert_no_error (error);
    g_assert_nonnull (fn);
    {
      /* the cached kernel is named after a digest of its source: another
       * tl-math.h (or generator) never reuses it */
      g_autofree char *src = fusion_codegen_c (p);
      g_autofree char *digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, src, -1);
      g_autofree char *dir = g_build_filename (g_get_user_cache_dir (), "tl-1", "fusion", NULL);
      g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
      g_assert_nonnull (d);
      g_autofree char *suffix = g_strdup_printf ("-%.16s.so", digest);
      gboolean named = FALSE;
      for (const char *name; (name = g_dir_read_name (d));)
        named |= g_str_has_suffix (name, suffix);
      g_assert_true (named);
    }
    const float *ip[] = { xd };
    fn (ip, op, 0, p->rows);
    for (guint o = 0; o < n_ops; o++) {
      const float *r = tl_tensor_const_data (ref[o]), *v = tl_tensor_const_data (got[o]);
      for (gint64 i = 0; i < n; i++) {
        guint32 rb, vb;
        memcpy (&rb, &r[i], 4);
        memcpy (&vb, &v[i], 4);
        if (rb != vb && !(isnan (r[i]) && isnan (v[i])))
          g_test_message ("output %u, x = %.9g: interpreter %.9g (0x%08x), compiled %.9g (0x%08x)", o,
                          (double) xd[i], (double) r[i], rb, (double) v[i], vb);
        g_assert_cmpint (isnan (r[i]), ==, isnan (v[i]));
        if (!isnan (r[i]))
          g_assert_cmphex (rb, ==, vb);
      }
      tl_tensor_unref (ref[o]);
      tl_tensor_unref (got[o]);
    }
  }
  tl_graph_unref (f);
  tl_graph_unref (g);
}

/* Empty domains: the launch shape is never a 0-block grid, and the CUDA run
 * path returns before it needs the driver (nothing to launch). */
static void
test_cuda_empty (void)
{
  static const struct { Pattern pat; gint64 rows, cols; } cases[] = {
    { PAT_SOFTMAX, 0, 100 }, { PAT_SOFTMAX, 0, 5000 }, { PAT_LN, 3, 0 }, { PAT_GELU_LN, 0, 30 }, { PAT_SOFTMAX, 2, 7 },
  };
  TlRng rng;
  tl_rng_init (&rng, 4, 0);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    TlGraph *g = build_pattern (cases[i].pat, cases[i].rows, cases[i].cols, &rng);
    TlGraph *f = fuse_copy (g, "stitch", NULL);
    g_autoptr (GPtrArray) progs = g_ptr_array_new_with_free_func ((GDestroyNotify) fusion_program_free);
    collect_programs (f, progs);
    g_assert_cmpuint (progs->len, >, 0);
    for (guint k = 0; k < progs->len; k++) {
      const FusionProgram *p = progs->pdata[k];
      guint grid = 0, block = 0;
      fusion_cuda_launch_dims (p, 1056, &grid, &block);
      g_assert_cmpuint (grid, >=, 1);
      g_assert_cmpuint (block, ==, 256);
      /* reduction groups: work for every row (a row of 0 columns still has
       * its sum, mean, max); elementwise groups: work for every element */
      gboolean work = p->rows > 0 && (p->n_reductions > 0 || p->cols > 0);
      g_assert_true (cases[i].rows > 0 || !work);
      g_assert_cmpint (fusion_cuda_has_work (p), ==, work);
      g_autofree char *cu = fusion_codegen_cuda (p, "tl_fused");
      gint64 least = 0;
      max_register_array (cu, &least);
      g_assert_cmpint (least, >=, 1); /* no zero-size arrays (invalid C++) */
      if (!fusion_cuda_has_work (p)) {
        /* no tensors are touched and no driver is needed */
        GError *error = NULL;
        g_assert_true (fusion_cuda_run (p, NULL, NULL, NULL, &error));
        g_assert_no_error (error);
      }
    }
    tl_graph_unref (f);
    tl_graph_unref (g);
  }
}

/* --- on the GPU ------------------------------------------------------------ */

/* The fused groups' generated CUDA kernels (NVRTC, launched on the
 * executor's stream) against the unfused graph on the CPU: the three
 * patterns at shapes that select each stitching scheme (thread, warp and
 * block composition) and random DAGs. Skipped without a GPU. */
static void
test_cuda_run (void)
{
  GError *error = NULL;
  if (!tl_device_available ("cuda", &error)) {
    g_autofree char *why = g_strdup_printf ("no GPU run: %s", error->message);
    g_test_skip (why);
    g_clear_error (&error);
    return;
  }
  TlRng rng;
  tl_rng_init (&rng, 7, 0);
  static const gint64 cols[] = { 300, 4096 };
  for (guint pat = PAT_LN; pat <= PAT_GELU_LN; pat++) {
    for (guint c = 0; c < G_N_ELEMENTS (cols); c++) {
      gint64 shape[2] = { 37, cols[c] };
      TlGraph *g = build_pattern (pat, shape[0], shape[1], &rng);
      g_autoptr (TlTensor) x = rand_tensor (&rng, 2, shape, -3, 3);
      g_autoptr (TlTensor) res = rand_tensor (&rng, 2, shape, -1, 1);
      const char *names[] = { "x", "res" };
      TlTensor *in[] = { x, res };
      guint n_in = pat == PAT_GELU_LN ? 2 : 1, ka = 0;
      TlGraph *f = fuse_copy (g, "stitch", NULL);
      g_autoptr (GPtrArray) a = run_graph (g, n_in, names, in, NULL);
      g_autoptr (GPtrArray) b = run_graph_on (f, n_in, names, in, &ka, "cuda");
      double d = tl_tensor_max_rel_diff (b->pdata[0], a->pdata[0]);
      g_test_message ("cuda pattern %u, %" G_GINT64_FORMAT " columns: %u kernels, rel diff %.3g", pat, cols[c], ka, d);
      g_assert_cmpfloat (d, >=, 0);
      g_assert_cmpfloat (d, <=, TOL);
      tl_graph_unref (f);
      tl_graph_unref (g);
    }
  }
  for (guint t = 0; t < 40; t++) {
    FusedDag dag;
    fused_dag_init (&dag, &rng, 4 + (guint) tl_rng_below (&rng, 8), t % 2 == 0, FALSE, "stitch", NULL);
    const char *const *names = (const char *const *) dag.names;
    g_autoptr (GPtrArray) a = run_graph (dag.g, dag.ni, names, dag.ins, NULL);
    g_autoptr (GPtrArray) b = run_graph_on (dag.f, dag.ni, names, dag.ins, NULL, "cuda");
    for (guint i = 0; i < a->len; i++) {
      double d = tl_tensor_max_rel_diff (b->pdata[i], a->pdata[i]);
      if (d > TOL)
        g_test_message ("random DAG %u output %u: rel diff %.3g", t, i, d);
      g_assert_cmpfloat (d, >=, 0);
      g_assert_cmpfloat (d, <=, TOL);
    }
    fused_dag_clear (&dag);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  GError *error = NULL;
  if (!tl_init (&error))
    g_error ("tl_init: %s", error->message);
  if (!tl_op_lookup (fusion_fused_op.name))
    tl_op_register (&fusion_fused_op, NULL);
  g_test_add_func ("/fusion/layernorm", test_layernorm);
  g_test_add_func ("/fusion/softmax", test_softmax);
  g_test_add_func ("/fusion/gelu-residual-layernorm", test_gelu_ln);
  g_test_add_func ("/fusion/random-dags", test_random_dags);
  g_test_add_func ("/fusion/brute-force", test_brute_force);
  g_test_add_func ("/fusion/plan-io", test_plan_io);
  g_test_add_func ("/fusion/gradient", test_gradient);
  g_test_add_func ("/fusion/compiled-c", test_compiled_c);
  g_test_add_func ("/fusion/cuda-codegen", test_cuda_codegen);
  g_test_add_func ("/fusion/cuda-long-rows", test_cuda_long_rows);
  g_test_add_func ("/fusion/nonfinite-constants", test_nonfinite_constants);
  g_test_add_func ("/fusion/math-prelude", test_math_prelude);
  g_test_add_func ("/fusion/cuda-empty", test_cuda_empty);
  g_test_add_func ("/fusion/cuda-run", test_cuda_run);
  return g_test_run ();
}
