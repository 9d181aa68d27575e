/* test-graph.c — graph building, sticky errors, rewrites, export. */
#include "config.h"

#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <tl/tl.h>

#include "engine-test-ops.h"

static void
test_build (void)
{
  g_autoptr (GError) error = NULL;
  TlGraph *g = tl_graph_new ();
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 2, (gint64[]) { 2, 3 });
  TlTensor *wt = tl_tensor_new (TL_DTYPE_F32, 2, (gint64[]) { 2, 3 }, &error);
  TlValue *w = tl_graph_param (g, "w", wt);
  g_assert_true (tl_graph_param (g, "w", wt) == w);
  g_assert_true (tl_graph_param (g, "w", NULL) == w);
  g_assert_true (tl_value_tensor (w) == wt);
  TlValue *y = engine_test_add (g, x, w);
  TlValue *z = engine_test_scale (g, y, 2.0);
  g_assert_nonnull (z);
  g_assert_cmpint (tl_value_kind (x), ==, TL_VALUE_INPUT);
  g_assert_cmpint (tl_value_kind (w), ==, TL_VALUE_PARAM);
  g_assert_cmpint (tl_value_kind (z), ==, TL_VALUE_OP);
  g_assert_cmpint (tl_value_dim (z, -1), ==, 3);
  g_assert_cmpint (tl_value_dtype (z), ==, TL_DTYPE_F32);
  g_assert_cmpuint (tl_graph_n_nodes (g), ==, 2);
  TlNode *n0 = tl_graph_node (g, 0), *n1 = tl_graph_node (g, 1);
  g_assert_cmpstr (tl_node_op (n0), ==, "test.add");
  g_assert_true (tl_node_op_def (n0) == tl_op_lookup ("test.add"));
  g_assert_true (tl_value_producer (z) == n1);
  g_assert_cmpuint (tl_value_index (z), ==, 0);
  g_assert_true (tl_node_input (n1, 0) == y);
  g_assert_null (tl_node_input (n1, 1));
  g_assert_cmpfloat (tl_attrs_get_float (tl_node_attrs (n1), "factor", 0), ==, 2.0);
  g_assert_cmpuint (tl_value_n_users (y), ==, 1);
  g_assert_true (tl_value_user (y, 0) == n1);
  g_assert_cmpuint (tl_node_id (n0), !=, tl_node_id (n1));
  g_assert_cmpuint (tl_value_id (x), !=, tl_value_id (w));
  g_assert_cmpstr (tl_value_name (x), ==, "x");
  g_assert_null (tl_value_name (z));
  tl_graph_set_output (g, "out", z);
  g_assert_cmpstr (tl_value_name (z), ==, "out");
  g_assert_true (tl_graph_get_output (g, "out") == z);
  g_assert_cmpuint (tl_graph_n_outputs (g), ==, 1);
  g_assert_cmpstr (tl_graph_output_name (g, 0), ==, "out");
  g_assert_null (tl_graph_output_name (g, 1));
  g_assert_true (tl_graph_find_input (g, "x") == x);
  g_assert_true (tl_graph_input_value (g, 0) == x);
  g_assert_cmpuint (tl_graph_n_inputs (g), ==, 1);
  g_assert_true (tl_graph_find_param (g, "w") == w);
  g_assert_true (tl_graph_param_value (g, 0) == w);
  g_assert_cmpuint (tl_graph_n_params (g), ==, 1);
  TlValue *k = tl_graph_scalar (g, 3.0f);
  g_assert_cmpint (tl_value_kind (k), ==, TL_VALUE_CONST);
  g_assert_cmpuint (tl_value_ndim (k), ==, 0);

  tl_attrs_set_int (tl_node_annotations (n0), TL_ANNOT_STAGE, 1);
  g_assert_cmpint (tl_attrs_get_int (tl_node_get_annotations (n0), TL_ANNOT_STAGE, 0), ==, 1);

  /* multi-output op */
  TlValue *outs[2] = { NULL, NULL };
  g_assert_cmpuint (tl_graph_op_multi (g, "test.split2", 1, &x, NULL, 2, outs), ==, 2);
  g_assert_cmpuint (tl_value_index (outs[1]), ==, 1);
  g_assert_true (tl_value_producer (outs[0]) == tl_value_producer (outs[1]));

  TlOpCost cost;
  tl_node_cost (n0, &cost); /* test.add has a cost slot */
  g_assert_cmpfloat (cost.flops, ==, 6);
  g_assert_cmpfloat (cost.bytes_written, ==, 2);
  tl_node_cost (n1, &cost); /* default rule */
  g_assert_cmpfloat (cost.flops, ==, 0);
  g_assert_cmpfloat (cost.bytes_read, ==, 24);
  g_assert_cmpfloat (cost.bytes_written, ==, 24);

  g_assert_true (tl_graph_take_error (g, &error));
  g_assert_no_error (error);
  tl_tensor_unref (wt);
  TlGraph *g2 = tl_graph_ref (g);
  tl_graph_unref (g);
  g_assert_true (tl_graph_ok (g2));
  tl_graph_unref (g2);
}

static void
test_sticky_error (void)
{
  GError *error = NULL;
  TlGraph *g = tl_graph_new ();
  TlValue *a = tl_graph_input (g, "a", TL_DTYPE_F32, 1, (gint64[]) { 3 });
  TlValue *b = tl_graph_input (g, "b", TL_DTYPE_F32, 1, (gint64[]) { 4 });
  TlValue *bad = engine_test_add (g, a, b); /* shape mismatch */
  g_assert_null (bad);
  g_assert_false (tl_graph_ok (g));
  /* later calls: NULL, the first error stays */
  g_assert_null (engine_test_scale (g, bad, 2.0));
  g_assert_null (tl_graph_op (g, "no.such.op", 1, &a, NULL));
  g_assert_null (tl_graph_input (g, "c", TL_DTYPE_F32, 0, NULL));
  tl_graph_set_error (g, g_error_new (TL_ERROR, TL_ERROR_FAILED, "second"));
  g_assert_false (tl_graph_take_error (g, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "test.add"));
  g_clear_error (&error);
  g_assert_true (tl_graph_ok (g));
  /* unknown op */
  g_assert_null (tl_graph_op (g, "no.such.op", 1, &a, NULL));
  g_assert_false (tl_graph_take_error (g, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "no.such.op"));
  g_clear_error (&error);
  /* arity */
  g_assert_null (tl_graph_op (g, "test.add", 1, &a, NULL));
  g_assert_false (tl_graph_take_error (g, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* NULL input: silent NULL */
  g_assert_null (engine_test_scale (g, NULL, 1.0));
  g_assert_true (tl_graph_ok (g));
  /* duplicate input name */
  g_assert_null (tl_graph_input (g, "a", TL_DTYPE_F32, 1, (gint64[]) { 3 }));
  g_assert_false (tl_graph_take_error (g, &error));
  g_clear_error (&error);
  /* param asked again with another shape */
  TlTensor *t1 = tl_tensor_new (TL_DTYPE_F32, 1, (gint64[]) { 2 }, NULL);
  TlTensor *t2 = tl_tensor_new (TL_DTYPE_F32, 1, (gint64[]) { 5 }, NULL);
  g_assert_nonnull (tl_graph_param (g, "p", t1));
  g_assert_null (tl_graph_param (g, "p", t2));
  g_assert_false (tl_graph_take_error (g, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_SHAPE);
  g_clear_error (&error);
  /* values of another graph */
  TlGraph *other = tl_graph_new ();
  TlValue *o = tl_graph_input (other, "o", TL_DTYPE_F32, 1, (gint64[]) { 3 });
  g_assert_null (engine_test_add (g, a, o));
  g_assert_false (tl_graph_take_error (g, &error));
  g_clear_error (&error);
  tl_graph_unref (other);
  tl_tensor_unref (t1);
  tl_tensor_unref (t2);
  tl_graph_unref (g);
}

static void
test_registry (void)
{
  GError *error = NULL;
  static const TlOpDef dup = { TL_TABLE_INIT (TlOpDef), .name = "test.add", .n_inputs = 1,
                               .n_outputs = 1, .infer = (void *) 1, .forward_cpu = (void *) 1 };
  g_assert_false (tl_op_register (&dup, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "already registered"));
  g_clear_error (&error);
  static const TlOpDef newer = { .struct_size = sizeof (TlOpDef), .abi_major = 1, .abi_minor = 9,
                                 .name = "test.newer", .n_inputs = 1, .n_outputs = 1,
                                 .infer = (void *) 1, .forward_cpu = (void *) 1 };
  g_assert_false (tl_op_register (&newer, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_ABI);
  g_clear_error (&error);
  static const TlOpDef small = { .struct_size = 16, .abi_major = 1, .abi_minor = 0 };
  g_assert_false (tl_op_register (&small, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_ABI);
  g_clear_error (&error);
  static const TlOpDef noinfer = { TL_TABLE_INIT (TlOpDef), .name = "test.noinfer",
                                   .n_inputs = 1, .n_outputs = 1, .forward_cpu = (void *) 1 };
  g_assert_false (tl_op_register (&noinfer, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (tl_op_lookup ("test.noinfer"));
  char **names = tl_op_list ();
  g_assert_true (g_strv_contains ((const char *const *) names, "test.scale"));
  for (guint i = 1; names[i]; i++)
    g_assert_cmpint (strcmp (names[i - 1], names[i]), <, 0);
  g_strfreev (names);
  g_assert_true (tl_init (NULL)); /* idempotent */
}

#define N_THREAD_OPS 64
static TlOpDef thread_ops[N_THREAD_OPS];
static char thread_op_names[N_THREAD_OPS][32];

static gpointer
register_worker (gpointer data)
{
  guint first = GPOINTER_TO_UINT (data);
  for (guint i = first; i < N_THREAD_OPS; i += 4) {
    g_assert_true (tl_op_register (&thread_ops[i], NULL));
    g_assert_true (tl_op_lookup (thread_op_names[i]) == &thread_ops[i]);
    g_assert_nonnull (tl_op_lookup ("test.add"));
  }
  return NULL;
}

/* Registration and lookup from several threads at once. */
static void
test_registry_threads (void)
{
  const TlOpDef *copy = tl_op_lookup ("test.nodiff"); /* callbacks of a 1-in 1-out copy op */
  g_assert_nonnull (copy);
  for (guint i = 0; i < N_THREAD_OPS; i++) {
    g_snprintf (thread_op_names[i], sizeof thread_op_names[i], "test.thread%u", i);
    thread_ops[i] = (TlOpDef) { TL_TABLE_INIT (TlOpDef), .name = thread_op_names[i],
                                .n_inputs = 1, .n_outputs = 1, .infer = copy->infer,
                                .forward_cpu = copy->forward_cpu };
  }
  GThread *th[4];
  for (guint t = 0; t < 4; t++)
    th[t] = g_thread_new ("reg", register_worker, GUINT_TO_POINTER (t));
  for (guint t = 0; t < 4; t++)
    g_thread_join (th[t]);
  char **names = tl_op_list ();
  guint found = 0;
  for (guint i = 0; names[i]; i++)
    found += g_str_has_prefix (names[i], "test.thread");
  g_assert_cmpuint (found, ==, N_THREAD_OPS);
  g_strfreev (names);
}

/* x -> A=scale -> B=scale -> C=add(A,B); {A, C} leaves through B and re-enters */
static void
test_replace_nodes (void)
{
  GError *error = NULL;
  TlGraph *g = tl_graph_new ();
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 1, (gint64[]) { 4 });
  TlValue *y = tl_graph_input (g, "y", TL_DTYPE_F32, 1, (gint64[]) { 4 });
  TlValue *a = engine_test_scale (g, x, 2.0);
  TlValue *b = engine_test_scale (g, a, 3.0);
  TlValue *c = engine_test_add (g, a, b);
  TlValue *d = engine_test_add (g, c, y);
  tl_graph_set_output (g, "d", d);
  TlNode *na = tl_value_producer (a), *nb = tl_value_producer (b), *nc = tl_value_producer (c),
         *nd = tl_value_producer (d);
  g_assert_false (tl_graph_nodes_fusible (g, 2, (TlNode *[]) { na, nc }));
  g_assert_null (tl_graph_replace_nodes (g, 2, (TlNode *[]) { na, nc }, "test.add", NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "cycle"));
  g_clear_error (&error);
  g_assert_cmpuint (tl_graph_n_nodes (g), ==, 4);
  g_assert_true (tl_graph_nodes_fusible (g, 2, (TlNode *[]) { nb, nc }));
  g_assert_true (tl_graph_nodes_fusible (g, 3, (TlNode *[]) { na, nb, nc }));
  g_assert_false (tl_graph_nodes_fusible (g, 2, (TlNode *[]) { na, na }));

  /* {C, D}: external inputs a, b, y (first-use order) -> 3 inputs: test.add refuses */
  g_assert_null (tl_graph_replace_nodes (g, 2, (TlNode *[]) { nd, nc }, "test.add", NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* {B, C}: external input a (once), output c -> test.scale(a) has c's desc */
  guint before_id = tl_node_id (nd);
  TlNode *nn = tl_graph_replace_nodes (g, 2, (TlNode *[]) { nc, nb }, "test.scale", NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (nn);
  g_assert_cmpuint (tl_node_n_inputs (nn), ==, 1);
  g_assert_true (tl_node_input (nn, 0) == a);
  g_assert_cmpuint (tl_graph_n_nodes (g), ==, 3);
  g_assert_true (tl_graph_node (g, 0) == na);
  g_assert_true (tl_graph_node (g, 1) == nn);
  g_assert_true (tl_graph_node (g, 2) == nd);
  g_assert_cmpuint (tl_node_id (nd), ==, before_id);
  g_assert_true (tl_node_input (nd, 0) == tl_node_output (nn, 0));
  g_assert_cmpuint (tl_value_n_users (a), ==, 1);
  g_assert_true (tl_value_user (a, 0) == nn);
  /* graph output moves with its value */
  nn = tl_graph_replace_nodes (g, 1, (TlNode *[]) { nd }, "test.add", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (tl_graph_get_output (g, "d") == tl_node_output (nn, 0));
  g_assert_cmpstr (tl_value_name (tl_node_output (nn, 0)), ==, "d");
  /* descs must match */
  TlAttrs *sh = tl_attrs_new ();
  tl_attrs_set_ints (sh, "shape", 1, (gint64[]) { 5 });
  TlValue *s0 = tl_graph_op (g, "test.sum", 1, &x, NULL);
  TlValue *e5 = tl_graph_op (g, "test.expand", 1, &s0, sh);
  tl_attrs_free (sh);
  tl_graph_set_output (g, "e", e5);
  g_assert_null (tl_graph_replace_nodes (g, 1, (TlNode *[]) { tl_value_producer (s0) },
                                         "test.scale", NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_SHAPE);
  g_clear_error (&error);
  g_assert_true (tl_graph_ok (g));
  tl_graph_unref (g);
}

/* A node placed where the first set node was must come after external
 * producers that sat between the set's nodes. */
static void
test_replace_nodes_order (void)
{
  GError *error = NULL;
  TlGraph *g = tl_graph_new ();
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 1, (gint64[]) { 2 });
  TlValue *a = engine_test_scale (g, x, 2.0);     /* set */
  TlValue *p = engine_test_scale (g, x, 5.0);     /* outside, produced between */
  TlValue *c = engine_test_add (g, a, p);         /* set */
  tl_graph_set_output (g, "c", c);
  TlNode *nn = tl_graph_replace_nodes (g, 2, (TlNode *[]) { tl_value_producer (a),
                                                            tl_value_producer (c) },
                                       "test.add", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tl_graph_n_nodes (g), ==, 2);
  g_assert_true (tl_graph_node (g, 0) == tl_value_producer (p));
  g_assert_true (tl_graph_node (g, 1) == nn);
  g_assert_true (tl_node_input (nn, 0) == x);
  g_assert_true (tl_node_input (nn, 1) == p);
  tl_graph_unref (g);
}

static void
test_replace_uses_prune (void)
{
  GError *error = NULL;
  TlGraph *g = tl_graph_new ();
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 1, (gint64[]) { 3 });
  TlValue *a = engine_test_scale (g, x, 2.0);
  TlValue *b = engine_test_scale (g, a, 3.0);
  TlValue *c = engine_test_add (g, b, b);
  TlValue *dead = engine_test_scale (g, x, 9.0);
  TlValue *dead2 = engine_test_scale (g, dead, 9.0);
  (void) dead2;
  tl_graph_set_output (g, "c", c);
  /* cycle: c depends on a */
  g_assert_false (tl_graph_replace_uses (g, a, c, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  TlValue *s = tl_graph_op (g, "test.sum", 1, &x, NULL);
  g_assert_false (tl_graph_replace_uses (g, a, s, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_SHAPE);
  g_clear_error (&error);
  /* replacement added after the users: order is repaired */
  TlValue *a2 = engine_test_scale (g, x, 4.0);
  g_assert_true (tl_graph_replace_uses (g, a, a2, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tl_value_n_users (a), ==, 0);
  g_assert_true (tl_node_input (tl_value_producer (b), 0) == a2);
  for (guint i = 0; i < tl_graph_n_nodes (g); i++) {
    TlNode *n = tl_graph_node (g, i);
    for (guint j = 0; j < tl_node_n_inputs (n); j++) {
      TlNode *p = tl_value_producer (tl_node_input (n, j));
      if (p) {
        guint pi = 0;
        while (tl_graph_node (g, pi) != p)
          pi++;
        g_assert_cmpuint (pi, <, i);
      }
    }
  }
  /* graph outputs follow */
  TlValue *c2 = engine_test_add (g, c, c);
  TlValue *c3 = tl_graph_op (g, "test.nodiff", 1, &c, NULL);
  g_assert_true (tl_graph_replace_uses (g, c, c3, &error) == FALSE); /* c3 uses c */
  g_clear_error (&error);
  (void) c2;
  /* prune: keeps b, a2, c; drops a, dead, dead2, s, c2, c3 */
  guint removed = tl_graph_prune (g);
  g_assert_cmpuint (removed, ==, 6);
  g_assert_cmpuint (tl_graph_n_nodes (g), ==, 3);
  g_assert_cmpuint (tl_value_n_users (x), ==, 1);
  g_assert_cmpuint (tl_graph_prune (g), ==, 0);
  tl_graph_unref (g);
}

/* Re-pointing an output (by name or by replace_uses) drops the old value's
 * output name: prune removes its producer and tl_value_name forgets it. */
static void
test_output_repoint (void)
{
  GError *error = NULL;
  TlGraph *g = tl_graph_new ();
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 1, (gint64[]) { 3 });
  TlValue *u = tl_graph_input (g, "unused_leaf", TL_DTYPE_F32, 1, (gint64[]) { 3 });
  TlValue *a = engine_test_scale (g, x, 2.0);
  TlValue *b = engine_test_scale (g, x, 3.0);
  tl_graph_set_output (g, "out", a);
  tl_graph_set_output (g, "also", a);
  tl_graph_set_output (g, "leaf", u);
  g_assert_cmpstr (tl_value_name (a), ==, "out");
  /* a stays an output under its other name */
  tl_graph_set_output (g, "out", b);
  g_assert_cmpstr (tl_value_name (b), ==, "out");
  g_assert_cmpstr (tl_value_name (a), ==, "also");
  g_assert_cmpuint (tl_graph_prune (g), ==, 0);
  tl_graph_set_output (g, "also", b);
  g_assert_null (tl_value_name (a));
  g_assert_cmpstr (tl_value_name (b), ==, "out");
  tl_graph_set_output (g, "leaf", b);
  g_assert_cmpstr (tl_value_name (u), ==, "unused_leaf");
  g_autofree char *dot = tl_graph_to_dot (g, NULL);
  g_assert_null (strstr (dot, "unused_leaf"));
  g_assert_cmpuint (tl_graph_prune (g), ==, 1);
  g_assert_cmpuint (tl_graph_n_nodes (g), ==, 1);
  g_assert_true (tl_graph_get_output (g, "out") == b);

  /* replace_uses on an output value */
  TlValue *c = engine_test_scale (g, b, 5.0);
  tl_graph_set_output (g, "c", c);
  TlValue *r = engine_test_scale (g, x, 7.0);
  g_assert_true (tl_graph_replace_uses (g, c, r, &error));
  g_assert_no_error (error);
  g_assert_null (tl_value_name (c));
  g_assert_cmpstr (tl_value_name (r), ==, "c");
  g_assert_true (tl_graph_get_output (g, "c") == r);
  g_assert_cmpuint (tl_graph_prune (g), ==, 1); /* c's producer */
  g_assert_cmpuint (tl_graph_n_nodes (g), ==, 2);
  tl_graph_unref (g);
}

static void
test_copy (void)
{
  GError *error = NULL;
  TlGraph *g = tl_graph_new ();
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 1, (gint64[]) { 3 });
  TlTensor *wt = tl_tensor_new (TL_DTYPE_F32, 1, (gint64[]) { 3 }, NULL);
  TlValue *w = tl_graph_param (g, "w", wt);
  TlValue *y = engine_test_add (g, x, w);
  tl_attrs_set_string (tl_node_annotations (tl_value_producer (y)), TL_ANNOT_DEVICE, "cpu");
  tl_graph_set_output (g, "y", y);
  TlGraph *c = tl_graph_copy (g, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tl_graph_n_nodes (c), ==, 1);
  TlValue *cy = tl_graph_get_output (c, "y");
  g_assert_true (cy != y);
  g_assert_cmpuint (tl_value_id (cy), ==, tl_value_id (y));
  TlNode *cn = tl_value_producer (cy);
  g_assert_cmpuint (tl_node_id (cn), ==, tl_node_id (tl_value_producer (y)));
  g_assert_cmpstr (tl_attrs_get_string (tl_node_get_annotations (cn), TL_ANNOT_DEVICE, NULL), ==,
                   "cpu");
  g_assert_true (tl_value_tensor (tl_graph_find_param (c, "w")) == wt);
  g_assert_true (tl_node_input (cn, 0) == tl_graph_find_input (c, "x"));
  /* new values get fresh ids in both */
  TlValue *z = engine_test_scale (c, cy, 1.0);
  g_assert_cmpuint (tl_value_id (z), >, tl_value_id (cy));
  tl_graph_unref (g);
  g_assert_nonnull (tl_value_tensor (tl_graph_find_param (c, "w")));
  tl_graph_unref (c);
  tl_tensor_unref (wt);
}

static gboolean
python_ok (void)
{
  const char *py = g_getenv ("PYTHON3");
  return py && *py && g_file_test (py, G_FILE_TEST_IS_EXECUTABLE);
}

static void
test_export (void)
{
  TlGraph *g = tl_graph_new ();
  TlValue *x = tl_graph_input (g, "x \"quoted\"", TL_DTYPE_F32, 2, (gint64[]) { 2, 3 });
  TlValue *a = engine_test_scale (g, x, 0.5);
  TlValue *b = engine_test_scale (g, a, 2);
  TlValue *c = engine_test_add (g, a, b);
  tl_attrs_set_int (tl_node_annotations (tl_value_producer (a)), TL_ANNOT_FUSION_GROUP, 1);
  tl_attrs_set_int (tl_node_annotations (tl_value_producer (b)), TL_ANNOT_FUSION_GROUP, 1);
  tl_attrs_set_int (tl_node_annotations (tl_value_producer (c)), TL_ANNOT_FUSION_GROUP, 2);
  tl_attrs_set_string (tl_node_annotations (tl_value_producer (c)), "note", "a\\b\n\"c\"\t");
  tl_graph_set_output (g, "out", c);
  g_autofree char *dot = tl_graph_to_dot (g, TL_ANNOT_FUSION_GROUP);
  g_assert_true (g_str_has_prefix (dot, "digraph"));
  g_assert_nonnull (strstr (dot, "test.scale\\nf32[2,3]"));
  g_assert_nonnull (strstr (dot, "fillcolor=\"#8dd3c7\"")); /* group 1 */
  g_assert_nonnull (strstr (dot, "fillcolor=\"#ffffb3\"")); /* group 2 */
  g_assert_nonnull (strstr (dot, "x \\\"quoted\\\""));
  g_assert_nonnull (strstr (dot, "->"));
  g_autofree char *dot2 = tl_graph_to_dot (g, NULL);
  g_assert_null (strstr (dot2, "fillcolor"));
  g_autofree char *json = tl_graph_to_json (g);
  g_assert_nonnull (strstr (json, "\"op\":\"test.add\""));
  g_assert_nonnull (strstr (json, "\"factor\":0.5"));
  g_assert_nonnull (strstr (json, "\"fusion_group\":2"));
  g_assert_nonnull (strstr (json, "\"shape\":[2,3]"));
  g_assert_nonnull (strstr (json, "a\\\\b\\n\\\"c\\\"\\t"));
  if (python_ok ()) {
    /* check that it parses, and that inputs name value ids */
    g_autofree char *path = g_build_filename (g_get_tmp_dir (), "tl-test-graph-XXXXXX.json", NULL);
    int fd = g_mkstemp (path);
    g_assert_cmpint (fd, >=, 0);
    g_assert_cmpint (write (fd, json, strlen (json)), ==, (gssize) strlen (json));
    close (fd);
    const char *argv[] = { g_getenv ("PYTHON3"), "-c",
                           "import json,sys; d=json.load(open(sys.argv[1]));"
                           "ids={v['id'] for v in d['values']}|{o['id'] for n in d['nodes'] for o in n['outputs']};"
                           "assert all(i in ids for n in d['nodes'] for i in n['inputs']);"
                           "assert d['outputs']['out'] in ids; assert len(d['nodes'])==3",
                           path, NULL };
    gint status = 0;
    g_autoptr (GError) error = NULL;
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL,
                                 NULL, &status, &error));
    g_assert_no_error (error);
    g_unlink (path);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
  } else {
    g_test_message ("PYTHON3 not set: JSON checked by substrings only");
  }
  tl_graph_unref (g);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  engine_test_ops_register ();
  g_test_add_func ("/graph/build", test_build);
  g_test_add_func ("/graph/sticky-error", test_sticky_error);
  g_test_add_func ("/graph/registry", test_registry);
  g_test_add_func ("/graph/registry-threads", test_registry_threads);
  g_test_add_func ("/graph/replace-nodes", test_replace_nodes);
  g_test_add_func ("/graph/replace-nodes-order", test_replace_nodes_order);
  g_test_add_func ("/graph/replace-uses-prune", test_replace_uses_prune);
  g_test_add_func ("/graph/output-repoint", test_output_repoint);
  g_test_add_func ("/graph/copy", test_copy);
  g_test_add_func ("/graph/export", test_export);
  return g_test_run ();
}
