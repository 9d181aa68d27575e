/* test-ops-overwrites.c — TL_OP_OVERWRITES claims of the built-in ops.
 *
 * The executor does not zero-fill the outputs of TL_OP_OVERWRITES ops, so
 * their CPU kernels must write every output element. Every case of the
 * parity suites (tests/parity/cases-*.c and the CUDA parity extras of
 * tests/gpu/parity.c, with their forward and backward graphs, built by
 * parity.c's build_case) plus the zero-size cases of tests/parity/
 * cases-zero.c is evaluated node
 * by node with the CPU kernels; each node whose op carries the flag runs
 * again into outputs pre-filled with 0x00 and with 0xff bytes (1 and 4
 * threads) and the two results must be bit-identical. The same walk checks
 * TL_OP_SAME_BYTES claims: such a node has one input and one output of the
 * input's dtype and element count, and its output bytes are the input's (the
 * executor may alias the two and skip the kernel). /ops-overwrites/coverage
 * checks that every built-in op with either flag occurs in some case.
 * The CUDA kernels get the OVERWRITES check in the emulator (tests/gpu/emu). */
#include "config.h"

/* parity.c's case tables and graph builder; its test functions go unused */
int parity_main (int argc, char **argv);
#define main parity_main
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"
#include "gpu/parity.c"
#pragma GCC diagnostic pop
#undef main

/* One node: the CPU kernel at n_threads into new outputs whose bytes were
 * all set to `fill` first; out[] receives them (transfer full). */
static void
run_node (const TlParityCase *pc, TlNode *node, TlTensor **in, guint n_threads, guint8 fill, TlTensor **out)
{
  const TlOpDef *def = tl_node_op_def (node);
  g_autoptr (GError) error = NULL;
  guint no = tl_node_n_outputs (node);
  for (guint o = 0; o < no; o++) {
    out[o] = tl_tensor_new_from_desc (tl_value_desc (tl_node_output (node, o)), &error);
    g_assert_no_error (error);
    memset (tl_tensor_data (out[o]), fill, tl_tensor_nbytes (out[o]));
  }
  TlKernelCtx ctx = {
    .n_inputs = tl_node_n_inputs (node), .n_outputs = no, .attrs = tl_node_attrs (node),
    .seed = 0x1234567 + tl_node_id (node), .training = pc->training, .n_threads = n_threads, .deterministic = 1,
  };
  if (!def->forward_cpu (&ctx, in, out, &error))
    g_test_fail_printf ("%s: node %s: %s", pc->name, def->name, error ? error->message : "failed");
}

/* TL_OP_SAME_BYTES: out[0] (the kernel's result) is in[0]'s bytes. */
static void
check_same_bytes (const TlParityCase *pc, TlNode *node, TlTensor **in, TlTensor **out)
{
  const char *op = tl_node_op_def (node)->name;
  if (tl_node_n_inputs (node) != 1 || tl_node_n_outputs (node) != 1) {
    g_test_fail_printf ("%s: node %s: TL_OP_SAME_BYTES with %u inputs and %u outputs", pc->name, op,
                        tl_node_n_inputs (node), tl_node_n_outputs (node));
    return;
  }
  if (tl_tensor_dtype (in[0]) != tl_tensor_dtype (out[0]) || tl_tensor_numel (in[0]) != tl_tensor_numel (out[0])) {
    g_test_fail_printf ("%s: node %s: TL_OP_SAME_BYTES, but the output's dtype or element count differ", pc->name,
                        op);
    return;
  }
  g_autoptr (GError) error = NULL;
  g_autoptr (TlTensor) c = tl_tensor_contiguous (in[0], &error);
  g_assert_no_error (error);
  if (memcmp (tl_tensor_const_data (c), tl_tensor_const_data (out[0]), tl_tensor_nbytes (out[0])) != 0)
    g_test_fail_printf ("%s: node %s: TL_OP_SAME_BYTES, but the output is not the input's bytes", pc->name, op);
}

static void
check_case (const TlParityCase *pc)
{
  g_autoptr (GError) error = NULL;
  Built b;
  gboolean ok = build_case (pc, &b, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_autoptr (GHashTable) vals = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) tl_tensor_unref);
  for (guint i = 0; i < pc->n_inputs; i++) {
    g_autofree char *name = g_strdup_printf ("in%u", i);
    g_hash_table_insert (vals, tl_graph_find_input (b.g, name), tl_tensor_ref (b.in[i]));
  }
  for (guint k = 0; k < tl_graph_n_nodes (b.g); k++) {
    TlNode *node = tl_graph_node (b.g, k);
    const TlOpDef *def = tl_node_op_def (node);
    guint ni = tl_node_n_inputs (node), no = tl_node_n_outputs (node);
    TlTensor *in[16], *zero[16], *ones[16];
    g_assert_cmpuint (ni, <=, 16);
    g_assert_cmpuint (no, <=, 16);
    for (guint i = 0; i < ni; i++) {
      TlValue *v = tl_node_input (node, i);
      in[i] = g_hash_table_lookup (vals, v);
      if (!in[i])
        in[i] = tl_value_tensor (v);
      g_assert_nonnull (in[i]);
    }
    /* the value the later nodes read: the executor's zero-filled outputs */
    run_node (pc, node, in, 1, 0x00, zero);
    for (guint t = 1; (def->flags & TL_OP_OVERWRITES) && t <= 4; t += 3) {
      TlTensor *z4[16];
      TlTensor **ref = zero;
      if (t > 1) {
        run_node (pc, node, in, t, 0x00, z4);
        ref = z4;
      }
      run_node (pc, node, in, t, 0xff, ones);
      for (guint o = 0; o < no; o++) {
        if (!tl_tensor_equal_bits (ref[o], ones[o]))
          g_test_fail_printf ("%s: node %s output %u (%u threads): 0x00- and 0xff-filled results differ",
                              pc->name, def->name, o, t);
        tl_tensor_unref (ones[o]);
        if (t > 1)
          tl_tensor_unref (z4[o]);
      }
    }
    if (def->flags & TL_OP_SAME_BYTES)
      check_same_bytes (pc, node, in, zero);
    for (guint o = 0; o < no; o++)
      g_hash_table_insert (vals, tl_node_output (node, o), zero[o]);
  }
  built_clear (&b);
}

static void
test_case_overwrites (gconstpointer data)
{
  check_case (data);
}

/* Every flagged built-in op occurs in some case's graph, so each claim is
 * checked (a case-independent pass over the graphs: no kernel runs). */
static void
test_coverage_flag (guint32 flag, const char *flag_name)
{
  g_autoptr (GHashTable) seen = ops_reached ();
  g_auto (GStrv) ops = tl_op_list ();
  g_autoptr (GString) flagged = g_string_new (NULL);
  g_autoptr (GString) missing = g_string_new (NULL);
  for (guint i = 0; ops[i]; i++) {
    const TlOpDef *def = tl_op_lookup (ops[i]);
    if (!is_builtin (ops[i]) || !def || !(def->flags & flag))
      continue;
    g_string_append_printf (flagged, " %s", ops[i]);
    if (!g_hash_table_contains (seen, ops[i]))
      g_string_append_printf (missing, " %s", ops[i]);
  }
  g_test_message ("%s built-in ops:%s", flag_name, flagged->str);
  g_assert_cmpuint (flagged->len, >, 0);
  if (missing->len)
    g_test_fail_printf ("%s ops that no case reaches:%s", flag_name, missing->str);
}

static void
test_coverage_overwrites (void)
{
  test_coverage_flag (TL_OP_OVERWRITES, "TL_OP_OVERWRITES");
  test_coverage_flag (TL_OP_SAME_BYTES, "TL_OP_SAME_BYTES");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (tl_init (NULL));
  all_cases = g_ptr_array_new ();
  add_case_tests ("/ops-overwrites/case", test_case_overwrites);
  g_test_add_func ("/ops-overwrites/coverage", test_coverage_overwrites);
  int rc = g_test_run ();
  g_ptr_array_unref (all_cases);
  return rc;
}
