/* op-registry.c — the process-wide op table, shape inference and the
 * default cost rule. */
#include "config.h"

#include <string.h>

#include "tl-private.h"
#include "graph-private.h"

static GMutex op_lock;
static GHashTable *op_table; /* name -> const TlOpDef* (tables are static) */

/* Size of TlOpDef as ABI 1.0 defined it (all slots through get_extension). */
#define TL_OP_DEF_SIZE_1_0 (offsetof (TlOpDef, get_extension) + sizeof (void *))

/**
 * tl_op_register:
 * @def: (transfer none): an op table that outlives the process
 * @error: return location for a #GError
 *
 * Validates @def (header, name, required slots) and adds it to the
 * registry. Names are unique: registering a second op with the same name
 * fails with %TL_ERROR_INVALID_ARGUMENT.
 *
 * Returns: TRUE on success.
 */
gboolean
tl_op_register (const TlOpDef *def, GError **error)
{
  if (!def) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "op table is NULL");
    return FALSE;
  }
  if (def->abi_major != TL_ABI_MAJOR || def->abi_minor > TL_ABI_MINOR) {
    g_set_error (error, TL_ERROR, TL_ERROR_ABI,
                 "op '%s': ABI %u.%u is not compatible with the host's %d.%d",
                 def->struct_size >= offsetof (TlOpDef, name) + sizeof (char *) && def->name
                   ? def->name : "?",
                 def->abi_major, def->abi_minor, TL_ABI_MAJOR, TL_ABI_MINOR);
    return FALSE;
  }
  if (def->struct_size < TL_OP_DEF_SIZE_1_0) {
    g_set_error (error, TL_ERROR, TL_ERROR_ABI,
                 "op table is %u bytes, smaller than the ABI 1.0 TlOpDef (%u bytes)",
                 def->struct_size, (guint) TL_OP_DEF_SIZE_1_0);
    return FALSE;
  }
  if (!def->name || !*def->name) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "op table has no name");
    return FALSE;
  }
  if (!def->infer || !def->forward_cpu) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "op '%s': missing required %s",
                 def->name, !def->infer ? "infer" : "forward_cpu");
    return FALSE;
  }
  if (def->n_inputs < -1 || def->n_outputs < -1 || def->n_outputs == 0 ||
      def->n_outputs > TL_GRAPH_MAX_OUTPUTS) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "op '%s': bad arity (%d inputs, %d outputs)", def->name, def->n_inputs,
                 def->n_outputs);
    return FALSE;
  }
  gboolean ok = TRUE;
  g_mutex_lock (&op_lock);
  if (!op_table)
    op_table = g_hash_table_new (g_str_hash, g_str_equal);
  if (g_hash_table_contains (op_table, def->name)) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "op '%s' is already registered",
                 def->name);
    ok = FALSE;
  } else {
    g_hash_table_insert (op_table, (gpointer) def->name, (gpointer) def);
  }
  g_mutex_unlock (&op_lock);
  return ok;
}

/**
 * tl_op_lookup:
 * @name: an op name
 *
 * Returns: (transfer none) (nullable): the registered table, NULL if unknown.
 */
const TlOpDef *
tl_op_lookup (const char *name)
{
  const TlOpDef *def = NULL;
  if (!name)
    return NULL;
  tl_init (NULL);
  g_mutex_lock (&op_lock);
  if (op_table)
    def = g_hash_table_lookup (op_table, name);
  g_mutex_unlock (&op_lock);
  return def;
}

static gint
cmp_str (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/**
 * tl_op_list:
 *
 * Returns: (transfer full): the sorted names of all registered ops; free with g_strfreev().
 */
char **
tl_op_list (void)
{
  GPtrArray *names = g_ptr_array_new ();
  tl_init (NULL);
  g_mutex_lock (&op_lock);
  if (op_table) {
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init (&it, op_table);
    while (g_hash_table_iter_next (&it, &k, NULL))
      g_ptr_array_add (names, g_strdup (k));
  }
  g_mutex_unlock (&op_lock);
  g_ptr_array_sort (names, cmp_str);
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (names, FALSE);
}

/**
 * tl_op_infer:
 * @def: an op
 * @n_inputs: number of inputs
 * @inputs: (array length=n_inputs): input descs
 * @attrs: (nullable): attributes (NULL: empty)
 * @max_out: capacity of @out
 * @out: (array length=max_out) (out caller-allocates): output descs
 * @n_out: (out) (optional): number of outputs
 * @error: return location for a #GError
 *
 * Checks the arity, runs the op's shape inference and validates what it
 * produced (dtype, rank, non-negative dimensions).
 *
 * Returns: TRUE on success.
 */
gboolean
tl_op_infer (const TlOpDef *def, guint n_inputs, const TlTensorDesc *inputs,
             const TlAttrs *attrs, guint max_out, TlTensorDesc *out, guint *n_out, GError **error)
{
  if (def->n_inputs >= 0 ? n_inputs != (guint) def->n_inputs : n_inputs == 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "op '%s': expects %s%d inputs, got %u",
                 def->name, def->n_inputs < 0 ? "at least " : "", def->n_inputs < 0 ? 1 : def->n_inputs,
                 n_inputs);
    return FALSE;
  }
  if (def->n_outputs > 0 && (guint) def->n_outputs > max_out) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "op '%s': %d outputs, room for only %u", def->name, def->n_outputs, max_out);
    return FALSE;
  }
  TlAttrs *empty = NULL;
  if (!attrs)
    attrs = empty = tl_attrs_new ();
  TlOpCall call = { 0 };
  call.n_inputs = n_inputs;
  call.n_outputs = def->n_outputs > 0 ? (guint32) def->n_outputs : 0;
  call.inputs = inputs;
  call.attrs = attrs;
  memset (out, 0, sizeof (TlTensorDesc) * (def->n_outputs > 0 ? (guint) def->n_outputs : max_out));
  uint32_t count = call.n_outputs;
  GError *local = NULL;
  gboolean ok = def->infer (&call, out, max_out, &count, &local);
  tl_attrs_free (empty);
  if (!ok) {
    if (!local)
      local = g_error_new (TL_ERROR, TL_ERROR_SHAPE, "op '%s': shape inference failed", def->name);
    g_propagate_error (error, local);
    return FALSE;
  }
  g_clear_error (&local);
  if (def->n_outputs > 0)
    count = (uint32_t) def->n_outputs;
  if (count == 0 || count > max_out) {
    g_set_error (error, TL_ERROR, TL_ERROR_FAILED, "op '%s': inference gave %u outputs (room %u)",
                 def->name, count, max_out);
    return FALSE;
  }
  for (guint i = 0; i < count; i++) {
    GError *e = NULL;
    memset (out[i].reserved, 0, sizeof out[i].reserved);
    if (!_tl_priv_desc_check (&out[i], NULL, &e)) {
      g_set_error (error, TL_ERROR, TL_ERROR_FAILED, "op '%s': inferred output %u is invalid: %s",
                   def->name, i, e->message);
      g_error_free (e);
      return FALSE;
    }
  }
  if (n_out)
    *n_out = count;
  return TRUE;
}

static double
desc_bytes (const TlTensorDesc *d)
{
  gint64 n = tl_tensor_desc_numel (d);
  return n < 0 ? 0.0 : (double) n * (double) tl_dtype_size (d->dtype);
}

/**
 * tl_node_cost:
 * @node: a node
 * @cost: (out caller-allocates): the estimate
 *
 * Asks the op's cost slot when it has one; otherwise flops 0, bytes read =
 * sum of input sizes, bytes written = sum of output sizes.
 */
void
tl_node_cost (const TlNode *node, TlOpCost *cost)
{
  memset (cost, 0, sizeof *cost);
  TlTensorDesc in_stack[8];
  TlTensorDesc *ins = node->n_inputs <= 8 ? in_stack : g_new (TlTensorDesc, node->n_inputs);
  for (guint i = 0; i < node->n_inputs; i++)
    ins[i] = node->inputs[i]->desc;
  TlTensorDesc out_stack[8];
  TlTensorDesc *outs = node->n_outputs <= 8 ? out_stack : g_new (TlTensorDesc, node->n_outputs);
  for (guint i = 0; i < node->n_outputs; i++)
    outs[i] = node->outputs[i]->desc;

  if (TL_TABLE_HAS (node->def, TlOpDef, cost, 0) && node->def->cost) {
    TlOpCall call = { 0 };
    call.n_inputs = node->n_inputs;
    call.n_outputs = node->n_outputs;
    call.inputs = ins;
    call.attrs = node->attrs;
    node->def->cost (&call, outs, cost);
  } else {
    for (guint i = 0; i < node->n_inputs; i++)
      cost->bytes_read += desc_bytes (&ins[i]);
    for (guint i = 0; i < node->n_outputs; i++)
      cost->bytes_written += desc_bytes (&outs[i]);
  }
  if (ins != in_stack)
    g_free (ins);
  if (outs != out_stack)
    g_free (outs);
}
