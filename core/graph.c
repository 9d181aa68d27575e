/* graph.c — the graph IR: building, sticky errors and inspection. */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "tl-private.h"
#include "graph-private.h"

static void
value_free (TlValue *v)
{
  if (!v)
    return;
  g_free (v->name);
  tl_tensor_unref (v->tensor);
  g_ptr_array_unref (v->users);
  g_free (v);
}

TlValue *
_tl_priv_value_new (TlGraph *g, TlValueKind kind, const TlTensorDesc *desc)
{
  TlValue *v = g_new0 (TlValue, 1);
  v->graph = g;
  v->id = g->next_value_id++;
  v->kind = kind;
  v->desc = *desc;
  memset (v->desc.reserved, 0, sizeof v->desc.reserved);
  v->users = g_ptr_array_new ();
  return v;
}

void
_tl_priv_node_free (TlNode *n)
{
  if (!n)
    return;
  for (guint i = 0; i < n->n_outputs; i++)
    value_free (n->outputs[i]);
  g_free (n->outputs);
  g_free (n->inputs);
  tl_attrs_free (n->attrs);
  tl_attrs_free (n->annotations);
  g_free (n);
}

static void
output_clear (gpointer p)
{
  g_free (((TlGraphOutput *) p)->name);
}

/**
 * tl_graph_new:
 *
 * Creates an empty graph (initialising libtl first).
 *
 * Returns: (transfer full): the graph; release with tl_graph_unref().
 */
TlGraph *
tl_graph_new (void)
{
  GError *e = NULL;
  TlGraph *g = g_new0 (TlGraph, 1);
  g->ref_count = 1;
  g->nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) _tl_priv_node_free);
  g->leaves = g_ptr_array_new_with_free_func ((GDestroyNotify) value_free);
  g->inputs = g_ptr_array_new ();
  g->params = g_ptr_array_new ();
  g->input_by_name = g_hash_table_new (g_str_hash, g_str_equal);
  g->param_by_name = g_hash_table_new (g_str_hash, g_str_equal);
  g->outputs = g_array_new (FALSE, TRUE, sizeof (TlGraphOutput));
  g_array_set_clear_func (g->outputs, output_clear);
  if (!tl_init (&e))
    g->error = e;
  return g;
}

/** tl_graph_ref: Returns: (transfer full): @g with one more reference. */
TlGraph *
tl_graph_ref (TlGraph *g)
{
  if (g)
    g_atomic_int_inc (&g->ref_count);
  return g;
}

/** tl_graph_unref: @g: (nullable) (transfer full): drops a reference; the last frees the graph. */
void
tl_graph_unref (TlGraph *g)
{
  if (!g || !g_atomic_int_dec_and_test (&g->ref_count))
    return;
  /* nodes reference leaves: free nodes first */
  g_ptr_array_unref (g->nodes);
  g_ptr_array_unref (g->inputs);
  g_ptr_array_unref (g->params);
  g_ptr_array_unref (g->leaves);
  g_hash_table_unref (g->input_by_name);
  g_hash_table_unref (g->param_by_name);
  g_array_unref (g->outputs);
  g_clear_error (&g->error);
  g_free (g);
}

/* --- errors --------------------------------------------------------------- */

void
_tl_priv_graph_error (TlGraph *g, gint code, const char *fmt, ...)
{
  if (g->error)
    return;
  va_list ap;
  va_start (ap, fmt);
  char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g->error = g_error_new_literal (TL_ERROR, code, msg);
  g_free (msg);
}

GError *
_tl_priv_graph_peek_error (const TlGraph *g)
{
  return g->error ? g_error_copy (g->error) : NULL;
}

/** tl_graph_ok: Returns: TRUE if no error has been recorded. */
gboolean
tl_graph_ok (const TlGraph *g)
{
  return g && !g->error;
}

/**
 * tl_graph_set_error:
 * @g: a graph
 * @err: (transfer full): the error
 *
 * Records @err unless an error is already recorded (then @err is freed).
 */
void
tl_graph_set_error (TlGraph *g, GError *err)
{
  if (!err)
    return;
  if (!g || g->error) {
    g_error_free (err);
    return;
  }
  g->error = err;
}

/**
 * tl_graph_take_error:
 * @g: a graph
 * @error: return location for the recorded #GError
 *
 * Returns: TRUE if no error was recorded; else moves it to @error, clears
 * it and returns FALSE.
 */
gboolean
tl_graph_take_error (TlGraph *g, GError **error)
{
  if (!g) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "graph is NULL");
    return FALSE;
  }
  if (!g->error)
    return TRUE;
  g_propagate_error (error, g->error);
  g->error = NULL;
  return FALSE;
}

/* --- building ------------------------------------------------------------ */

static gboolean
check_name (TlGraph *g, const char *what, const char *name)
{
  if (!name || !*name) {
    _tl_priv_graph_error (g, TL_ERROR_INVALID_ARGUMENT, "%s: empty name", what);
    return FALSE;
  }
  return TRUE;
}

/**
 * tl_graph_input:
 * @g: a graph
 * @name: unique placeholder name (copied)
 * @dtype: element type
 * @ndim: rank
 * @shape: (array length=ndim): dimensions (no -1)
 *
 * Returns: (transfer none) (nullable): the placeholder; NULL on error (recorded).
 */
TlValue *
tl_graph_input (TlGraph *g, const char *name, TlDType dtype, guint ndim, const gint64 *shape)
{
  if (!g || g->error || !check_name (g, "tl_graph_input", name))
    return NULL;
  if (g_hash_table_contains (g->input_by_name, name)) {
    _tl_priv_graph_error (g, TL_ERROR_INVALID_ARGUMENT, "input '%s' is defined twice", name);
    return NULL;
  }
  TlTensorDesc d;
  GError *e = NULL;
  if (!tl_tensor_desc_init (&d, dtype, ndim, shape) || !_tl_priv_desc_check (&d, NULL, &e)) {
    _tl_priv_graph_error (g, TL_ERROR_SHAPE, "input '%s': %s", name,
                          e ? e->message : "too many dimensions");
    g_clear_error (&e);
    return NULL;
  }
  TlValue *v = _tl_priv_value_new (g, TL_VALUE_INPUT, &d);
  v->name = g_strdup (name);
  g_ptr_array_add (g->leaves, v);
  g_ptr_array_add (g->inputs, v);
  g_hash_table_insert (g->input_by_name, v->name, v);
  return v;
}

/**
 * tl_graph_param:
 * @g: a graph
 * @name: parameter name (copied)
 * @tensor: (transfer none): its tensor; the graph takes a reference
 *
 * Asking again for a known name returns the existing value (its tensor must
 * have the same desc; @tensor may then be NULL).
 *
 * Returns: (transfer none) (nullable): the parameter value.
 */
TlValue *
tl_graph_param (TlGraph *g, const char *name, TlTensor *tensor)
{
  if (!g || g->error || !check_name (g, "tl_graph_param", name))
    return NULL;
  TlValue *old = g_hash_table_lookup (g->param_by_name, name);
  if (old) {
    if (tensor) {
      TlTensorDesc d;
      tl_tensor_get_desc (tensor, &d);
      if (!tl_tensor_desc_equal (&d, &old->desc)) {
        g_autofree char *a = tl_tensor_desc_to_string (&old->desc);
        g_autofree char *b = tl_tensor_desc_to_string (&d);
        _tl_priv_graph_error (g, TL_ERROR_SHAPE, "param '%s' is %s, asked again with %s", name, a,
                              b);
        return NULL;
      }
    }
    return old;
  }
  if (!tensor) {
    _tl_priv_graph_error (g, TL_ERROR_INVALID_ARGUMENT, "param '%s': no tensor", name);
    return NULL;
  }
  TlTensorDesc d;
  tl_tensor_get_desc (tensor, &d);
  TlValue *v = _tl_priv_value_new (g, TL_VALUE_PARAM, &d);
  v->name = g_strdup (name);
  v->tensor = tl_tensor_ref (tensor);
  g_ptr_array_add (g->leaves, v);
  g_ptr_array_add (g->params, v);
  g_hash_table_insert (g->param_by_name, v->name, v);
  return v;
}

/**
 * tl_graph_const:
 * @g: a graph
 * @tensor: (transfer none): the value; the graph takes a reference
 *
 * Returns: (transfer none) (nullable): the constant.
 */
TlValue *
tl_graph_const (TlGraph *g, TlTensor *tensor)
{
  if (!g || g->error)
    return NULL;
  if (!tensor) {
    _tl_priv_graph_error (g, TL_ERROR_INVALID_ARGUMENT, "tl_graph_const: NULL tensor");
    return NULL;
  }
  TlTensorDesc d;
  tl_tensor_get_desc (tensor, &d);
  TlValue *v = _tl_priv_value_new (g, TL_VALUE_CONST, &d);
  v->tensor = tl_tensor_ref (tensor);
  g_ptr_array_add (g->leaves, v);
  return v;
}

/** tl_graph_scalar: Returns: (transfer none) (nullable): an f32 0-d constant. */
TlValue *
tl_graph_scalar (TlGraph *g, float value)
{
  if (!g || g->error)
    return NULL;
  GError *e = NULL;
  TlTensor *t = tl_tensor_new_scalar_f32 (value, &e);
  if (!t) {
    tl_graph_set_error (g, e);
    return NULL;
  }
  TlValue *v = tl_graph_const (g, t);
  tl_tensor_unref (t);
  return v;
}

void
_tl_priv_value_add_user (TlValue *v, TlNode *n)
{
  for (guint i = 0; i < v->users->len; i++)
    if (v->users->pdata[i] == n)
      return;
  g_ptr_array_add (v->users, n);
}

void
_tl_priv_value_remove_user (TlValue *v, TlNode *n)
{
  g_ptr_array_remove (v->users, n); /* keeps order */
}

TlNode *
_tl_priv_graph_add_node (TlGraph *g, const TlOpDef *def, guint n_inputs, TlValue *const *inputs,
                         const TlAttrs *attrs, guint n_outputs, const TlTensorDesc *out_descs)
{
  TlNode *n = g_new0 (TlNode, 1);
  n->graph = g;
  n->id = g->next_node_id++;
  n->def = def;
  n->attrs = tl_attrs_copy (attrs);
  n->annotations = tl_attrs_new ();
  n->n_inputs = n_inputs;
  n->inputs = g_new0 (TlValue *, MAX (1, n_inputs));
  for (guint i = 0; i < n_inputs; i++) {
    n->inputs[i] = inputs[i];
    _tl_priv_value_add_user (inputs[i], n);
  }
  n->n_outputs = n_outputs;
  n->outputs = g_new0 (TlValue *, n_outputs);
  for (guint i = 0; i < n_outputs; i++) {
    TlValue *v = _tl_priv_value_new (g, TL_VALUE_OP, &out_descs[i]);
    v->producer = n;
    v->index = i;
    n->outputs[i] = v;
  }
  n->pos = g->nodes->len;
  g_ptr_array_add (g->nodes, n);
  return n;
}

static TlNode *
add_op (TlGraph *g, const char *op, guint n_inputs, TlValue *const *inputs, const TlAttrs *attrs)
{
  if (!g || g->error)
    return NULL;
  for (guint i = 0; i < n_inputs; i++) {
    if (!inputs || !inputs[i])
      return NULL; /* an earlier failure: stay silent */
    if (inputs[i]->graph != g) {
      _tl_priv_graph_error (g, TL_ERROR_INVALID_ARGUMENT, "op '%s': input %u is from another graph",
                            op ? op : "?", i);
      return NULL;
    }
  }
  const TlOpDef *def = tl_op_lookup (op);
  if (!def) {
    _tl_priv_graph_error (g, TL_ERROR_NOT_FOUND, "unknown op '%s'", op ? op : "(null)");
    return NULL;
  }
  TlTensorDesc in_stack[8];
  TlTensorDesc *ins = n_inputs <= 8 ? in_stack : g_new (TlTensorDesc, n_inputs);
  for (guint i = 0; i < n_inputs; i++)
    ins[i] = inputs[i]->desc;
  TlTensorDesc out[TL_GRAPH_MAX_OUTPUTS];
  guint n_out = 0;
  GError *e = NULL;
  gboolean ok = tl_op_infer (def, n_inputs, ins, attrs, TL_GRAPH_MAX_OUTPUTS, out, &n_out, &e);
  if (ins != in_stack)
    g_free (ins);
  if (!ok) {
    /* name the op once */
    if (!g_str_has_prefix (e->message, "op '"))
      g_prefix_error (&e, "op '%s': ", def->name);
    tl_graph_set_error (g, e);
    return NULL;
  }
  return _tl_priv_graph_add_node (g, def, n_inputs, inputs, attrs, n_out, out);
}

/**
 * tl_graph_op:
 * @g: a graph
 * @op: registered op name
 * @n_inputs: number of inputs
 * @inputs: (array length=n_inputs): input values of @g
 * @attrs: (nullable) (transfer none): attributes, copied
 *
 * Adds a node; its outputs' descs come from the op's shape inference.
 *
 * Returns: (transfer none) (nullable): the node's first output; NULL on
 * error (recorded on @g) or when an input is NULL.
 */
TlValue *
tl_graph_op (TlGraph *g, const char *op, guint n_inputs, TlValue *const *inputs,
             const TlAttrs *attrs)
{
  TlNode *n = add_op (g, op, n_inputs, inputs, attrs);
  return n ? n->outputs[0] : NULL;
}

/**
 * tl_graph_op_multi:
 * @g: a graph
 * @op: registered op name
 * @n_inputs: number of inputs
 * @inputs: (array length=n_inputs): input values
 * @attrs: (nullable): attributes, copied
 * @max_outputs: capacity of @outputs
 * @outputs: (array length=max_outputs) (out caller-allocates): the node's outputs
 *
 * Returns: the number of outputs the node has (0 on error).
 */
guint
tl_graph_op_multi (TlGraph *g, const char *op, guint n_inputs, TlValue *const *inputs,
                   const TlAttrs *attrs, guint max_outputs, TlValue **outputs)
{
  TlNode *n = add_op (g, op, n_inputs, inputs, attrs);
  if (!n)
    return 0;
  for (guint i = 0; i < n->n_outputs && i < max_outputs; i++)
    outputs[i] = n->outputs[i];
  return n->n_outputs;
}

/* Only values that are outputs now are visited: a caller that re-points an
 * output clears the dropped value's out_name first. */
void
_tl_priv_graph_refresh_out_names (TlGraph *g)
{
  for (guint i = 0; i < g->outputs->len; i++)
    g_array_index (g->outputs, TlGraphOutput, i).value->out_name = NULL;
  for (guint i = g->outputs->len; i-- > 0;) {
    TlGraphOutput *o = &g_array_index (g->outputs, TlGraphOutput, i);
    o->value->out_name = o->name;
  }
}

/**
 * tl_graph_set_output:
 * @g: a graph
 * @name: output name (copied); setting a known name replaces its value
 * @v: (nullable): a value of @g (NULL: ignored, an earlier error)
 */
void
tl_graph_set_output (TlGraph *g, const char *name, TlValue *v)
{
  if (!g || g->error || !v || !check_name (g, "tl_graph_set_output", name))
    return;
  if (v->graph != g) {
    _tl_priv_graph_error (g, TL_ERROR_INVALID_ARGUMENT, "output '%s' is from another graph", name);
    return;
  }
  for (guint i = 0; i < g->outputs->len; i++) {
    TlGraphOutput *o = &g_array_index (g->outputs, TlGraphOutput, i);
    if (strcmp (o->name, name) == 0) {
      o->value->out_name = NULL; /* may no longer be an output; refresh restores it if it is */
      o->value = v;
      _tl_priv_graph_refresh_out_names (g);
      return;
    }
  }
  TlGraphOutput o = { g_strdup (name), v };
  g_array_append_val (g->outputs, o);
  _tl_priv_graph_refresh_out_names (g);
}

/** tl_graph_get_output: Returns: (transfer none) (nullable): the value named @name. */
TlValue *
tl_graph_get_output (const TlGraph *g, const char *name)
{
  if (!g || !name)
    return NULL;
  for (guint i = 0; i < g->outputs->len; i++) {
    TlGraphOutput *o = &g_array_index (g->outputs, TlGraphOutput, i);
    if (strcmp (o->name, name) == 0)
      return o->value;
  }
  return NULL;
}

/** tl_graph_n_outputs: Returns: the number of named outputs. */
guint
tl_graph_n_outputs (const TlGraph *g)
{
  return g ? g->outputs->len : 0;
}

/** tl_graph_output_name: Returns: (transfer none) (nullable): name of output @i. */
const char *
tl_graph_output_name (const TlGraph *g, guint i)
{
  if (!g || i >= g->outputs->len)
    return NULL;
  return g_array_index (g->outputs, TlGraphOutput, i).name;
}

/* --- inspecting --------------------------------------------------------- */

/** tl_graph_n_nodes: Returns: the number of nodes. */
guint
tl_graph_n_nodes (const TlGraph *g)
{
  return g ? g->nodes->len : 0;
}

/** tl_graph_node: Returns: (transfer none) (nullable): node @i in topological order. */
TlNode *
tl_graph_node (const TlGraph *g, guint i)
{
  if (!g || i >= g->nodes->len)
    return NULL;
  return g->nodes->pdata[i];
}

/** tl_graph_n_inputs: Returns: the number of placeholders. */
guint
tl_graph_n_inputs (const TlGraph *g)
{
  return g ? g->inputs->len : 0;
}

/** tl_graph_input_value: Returns: (transfer none) (nullable): placeholder @i. */
TlValue *
tl_graph_input_value (const TlGraph *g, guint i)
{
  if (!g || i >= g->inputs->len)
    return NULL;
  return g->inputs->pdata[i];
}

/** tl_graph_find_input: Returns: (transfer none) (nullable): the placeholder named @name. */
TlValue *
tl_graph_find_input (const TlGraph *g, const char *name)
{
  if (!g || !name)
    return NULL;
  return g_hash_table_lookup (g->input_by_name, name);
}

/** tl_graph_n_params: Returns: the number of parameters. */
guint
tl_graph_n_params (const TlGraph *g)
{
  return g ? g->params->len : 0;
}

/** tl_graph_param_value: Returns: (transfer none) (nullable): parameter @i. */
TlValue *
tl_graph_param_value (const TlGraph *g, guint i)
{
  if (!g || i >= g->params->len)
    return NULL;
  return g->params->pdata[i];
}

/** tl_graph_find_param: Returns: (transfer none) (nullable): the parameter named @name. */
TlValue *
tl_graph_find_param (const TlGraph *g, const char *name)
{
  if (!g || !name)
    return NULL;
  return g_hash_table_lookup (g->param_by_name, name);
}

/** tl_node_id: Returns: the node's stable id. */
guint
tl_node_id (const TlNode *n)
{
  return n->id;
}

/** tl_node_op: Returns: (transfer none): the op name. */
const char *
tl_node_op (const TlNode *n)
{
  return n->def->name;
}

/** tl_node_op_def: Returns: (transfer none): the op table. */
const TlOpDef *
tl_node_op_def (const TlNode *n)
{
  return n->def;
}

/** tl_node_n_inputs: Returns: the number of inputs. */
guint
tl_node_n_inputs (const TlNode *n)
{
  return n->n_inputs;
}

/** tl_node_input: Returns: (transfer none) (nullable): input @i. */
TlValue *
tl_node_input (const TlNode *n, guint i)
{
  return i < n->n_inputs ? n->inputs[i] : NULL;
}

/** tl_node_n_outputs: Returns: the number of outputs. */
guint
tl_node_n_outputs (const TlNode *n)
{
  return n->n_outputs;
}

/** tl_node_output: Returns: (transfer none) (nullable): output @i. */
TlValue *
tl_node_output (const TlNode *n, guint i)
{
  return i < n->n_outputs ? n->outputs[i] : NULL;
}

/** tl_node_attrs: Returns: (transfer none): the op attributes (never NULL). */
const TlAttrs *
tl_node_attrs (const TlNode *n)
{
  return n->attrs;
}

/** tl_node_annotations: Returns: (transfer none): the mutable annotation set. */
TlAttrs *
tl_node_annotations (TlNode *n)
{
  return n->annotations;
}

/** tl_node_get_annotations: Returns: (transfer none): the annotation set. */
const TlAttrs *
tl_node_get_annotations (const TlNode *n)
{
  return n->annotations;
}

/** tl_value_kind: Returns: what produces the value. */
TlValueKind
tl_value_kind (const TlValue *v)
{
  return v->kind;
}

/** tl_value_desc: Returns: (transfer none): dtype and shape. */
const TlTensorDesc *
tl_value_desc (const TlValue *v)
{
  return &v->desc;
}

/** tl_value_dtype: Returns: the element type. */
TlDType
tl_value_dtype (const TlValue *v)
{
  return v->desc.dtype;
}

/** tl_value_ndim: Returns: the rank. */
guint
tl_value_ndim (const TlValue *v)
{
  return v->desc.ndim;
}

/** tl_value_dim: Returns: the size of @axis (negative from the end), -1 when out of range. */
gint64
tl_value_dim (const TlValue *v, gint axis)
{
  if (axis < 0)
    axis += (gint) v->desc.ndim;
  if (axis < 0 || axis >= (gint) v->desc.ndim)
    return -1;
  return v->desc.shape[axis];
}

/** tl_value_name: Returns: (transfer none) (nullable): input/param name, or graph output name. */
const char *
tl_value_name (const TlValue *v)
{
  return v->name ? v->name : v->out_name;
}

/** tl_value_producer: Returns: (transfer none) (nullable): the producing node. */
TlNode *
tl_value_producer (const TlValue *v)
{
  return v->producer;
}

/** tl_value_index: Returns: the output index within the producer. */
guint
tl_value_index (const TlValue *v)
{
  return v->index;
}

/** tl_value_tensor: Returns: (transfer none) (nullable): a param's or const's tensor. */
TlTensor *
tl_value_tensor (const TlValue *v)
{
  return v->tensor;
}

/** tl_value_n_users: Returns: the number of distinct nodes reading the value. */
guint
tl_value_n_users (const TlValue *v)
{
  return v->users->len;
}

/** tl_value_user: Returns: (transfer none) (nullable): user @i. */
TlNode *
tl_value_user (const TlValue *v, guint i)
{
  return i < v->users->len ? v->users->pdata[i] : NULL;
}

/** tl_value_id: Returns: the value's id, unique within the graph. */
guint
tl_value_id (const TlValue *v)
{
  return v->id;
}
