/* pattern.c — fusion patterns as small programs: which primitive ops can be
 * stitched, how a node set becomes a program, how a program is stored in
 * the attributes of a "fusion.fused" node and read back, and the domain
 * analysis every fused group must pass (the row/column model used by the
 * CPU interpreter and the CUDA generator). */
#include <math.h>
#include <string.h>

#include "fusion-private.h"

static const FusionOpInfo op_table[] = {
  { "neg", FOP_NEG, 1, FALSE, 1 },
  { "exp", FOP_EXP, 1, FALSE, 8 },
  { "log", FOP_LOG, 1, FALSE, 8 },
  { "sqrt", FOP_SQRT, 1, FALSE, 4 },
  { "rsqrt", FOP_RSQRT, 1, FALSE, 5 },
  { "abs", FOP_ABS, 1, FALSE, 1 },
  { "square", FOP_SQUARE, 1, FALSE, 1 },
  { "relu", FOP_RELU, 1, FALSE, 1 },
  { "gelu", FOP_GELU, 1, FALSE, 20 },
  { "tanh", FOP_TANH, 1, FALSE, 10 },
  { "sigmoid", FOP_SIGMOID, 1, FALSE, 10 },
  { "sign", FOP_SIGN, 1, FALSE, 1 },
  { "affine_scalar", FOP_AFFINE, 1, FALSE, 2 },
  { "broadcast_to", FOP_COPY, 1, FALSE, 0 },
  { "add", FOP_ADD, 2, FALSE, 1 },
  { "sub", FOP_SUB, 2, FALSE, 1 },
  { "mul", FOP_MUL, 2, FALSE, 1 },
  { "div", FOP_DIV, 2, FALSE, 1 },
  { "maximum", FOP_MAXIMUM, 2, FALSE, 1 },
  { "minimum", FOP_MINIMUM, 2, FALSE, 1 },
  { "pow", FOP_POW, 2, FALSE, 10 },
  { "relu_grad", FOP_RELU_GRAD, 2, FALSE, 1 },
  { "gelu_grad", FOP_GELU_GRAD, 2, FALSE, 25 },
  { "tanh_grad", FOP_TANH_GRAD, 2, FALSE, 3 },
  { "sigmoid_grad", FOP_SIGMOID_GRAD, 2, FALSE, 3 },
  { "sum", FOP_SUM, 1, TRUE, 1 },
  { "mean", FOP_MEAN, 1, TRUE, 1 },
  { "max", FOP_MAX, 1, TRUE, 1 },
};

/* The interpreter's entry for a primitive op name, or NULL. */
const FusionOpInfo *
fusion_op_info (const char *name)
{
  for (guint i = 0; name && i < G_N_ELEMENTS (op_table); i++)
    if (strcmp (op_table[i].name, name) == 0)
      return &op_table[i];
  return NULL;
}

/* Reduction attrs the interpreter supports: exactly the last axis. */
static gboolean
reduces_last_axis (const TlAttrs *attrs, guint in_ndim)
{
  guint n = 0;
  const gint64 *axes = tl_attrs_get_ints (attrs, "axes", &n);
  if (in_ndim == 0)
    return FALSE;
  if (n == 0)
    return in_ndim == 1;
  return n == 1 && (axes[0] == -1 || axes[0] == (gint64) in_ndim - 1);
}

/**
 * fusion_node_fusible:
 * @n: a node
 * @elementwise_only: refuse reductions (the rule-based baseline)
 *
 * Returns: TRUE when the fused interpreter can execute @n (an f32
 * memory-bound primitive with one output).
 */
gboolean
fusion_node_fusible (const TlNode *n, gboolean elementwise_only)
{
  const FusionOpInfo *info = fusion_op_info (tl_node_op (n));
  if (!info || tl_node_n_outputs (n) != 1 || tl_node_n_inputs (n) != info->arity)
    return FALSE;
  if (info->reduction && elementwise_only)
    return FALSE;
  if (tl_value_dtype (tl_node_output (n, 0)) != TL_DTYPE_F32)
    return FALSE;
  for (guint i = 0; i < tl_node_n_inputs (n); i++)
    if (tl_value_dtype (tl_node_input (n, i)) != TL_DTYPE_F32)
      return FALSE;
  if (info->reduction && !reduces_last_axis (tl_node_attrs (n), tl_value_ndim (tl_node_input (n, 0))))
    return FALSE;
  return TRUE;
}

/**
 * fusion_graph_outputs:
 * @g: a graph
 *
 * Returns: (transfer full): the set of values that are named graph outputs.
 */
GHashTable *
fusion_graph_outputs (const TlGraph *g)
{
  GHashTable *set = g_hash_table_new (NULL, NULL);
  for (guint i = 0; i < tl_graph_n_outputs (g); i++)
    g_hash_table_add (set, tl_graph_get_output (g, tl_graph_output_name (g, i)));
  return set;
}

static void
set_affine (FusionInstr *in)
{
  in->scale = (float) tl_attrs_get_float (in->attrs, "scale", 1.0);
  in->bias = (float) tl_attrs_get_float (in->attrs, "bias", 0.0);
}

/**
 * fusion_program_from_nodes:
 * @n_nodes: number of nodes
 * @sorted: (array length=n_nodes): distinct fusible nodes in graph order
 * @graph_outputs: set of named graph output values (fusion_graph_outputs())
 * @error: return location for a #GError
 *
 * Builds the program a "fusion.fused" node replacing @sorted would run, with
 * inputs and outputs in the order tl_graph_replace_nodes() uses, and
 * analyses it.
 *
 * Returns: (transfer full) (nullable): the program, NULL when the set
 * cannot be fused.
 */
FusionProgram *
fusion_program_from_nodes (guint n_nodes, TlNode *const *sorted, GHashTable *graph_outputs,
                           GError **error)
{
  g_autoptr (GHashTable) index = g_hash_table_new (NULL, NULL);
  g_autoptr (GPtrArray) ext = g_ptr_array_new ();
  g_autoptr (FusionProgram) p = g_new0 (FusionProgram, 1);
  for (guint i = 0; i < n_nodes; i++) {
    if (!fusion_node_fusible (sorted[i], FALSE)) {
      g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "node %u (%s) cannot be fused",
                   tl_node_id (sorted[i]), tl_node_op (sorted[i]));
      return NULL;
    }
    g_hash_table_insert (index, sorted[i], GUINT_TO_POINTER (i + 1));
  }
  p->n_instr = n_nodes;
  p->ins = g_new0 (FusionInstr, n_nodes);
  p->outs = g_new0 (guint, n_nodes);
  for (guint i = 0; i < n_nodes; i++) {
    TlNode *n = sorted[i];
    FusionInstr *in = &p->ins[i];
    in->info = fusion_op_info (tl_node_op (n));
    in->attrs = tl_attrs_copy (tl_node_attrs (n));
    in->n_in = tl_node_n_inputs (n);
    in->desc = *tl_value_desc (tl_node_output (n, 0));
    in->out_index = -1;
    set_affine (in);
    for (guint j = 0; j < in->n_in; j++) {
      TlValue *v = tl_node_input (n, j);
      TlNode *prod = tl_value_producer (v);
      guint k = prod ? GPOINTER_TO_UINT (g_hash_table_lookup (index, prod)) : 0;
      if (k) {
        in->in[j] = -(gint) k;
      } else {
        guint e;
        if (!g_ptr_array_find (ext, v, &e)) {
          e = ext->len;
          g_ptr_array_add (ext, v);
        }
        in->in[j] = (gint) e;
      }
    }
  }
  for (guint i = 0; i < n_nodes; i++) {
    TlValue *v = tl_node_output (sorted[i], 0);
    gboolean outside = graph_outputs && g_hash_table_contains (graph_outputs, v);
    for (guint u = 0; u < tl_value_n_users (v) && !outside; u++)
      if (!g_hash_table_contains (index, tl_value_user (v, u)))
        outside = TRUE;
    if (outside) {
      p->ins[i].out_index = (gint) p->n_out;
      p->outs[p->n_out++] = i;
    }
  }
  p->n_in = ext->len;
  p->in_desc = g_new0 (TlTensorDesc, MAX (1, ext->len));
  for (guint e = 0; e < ext->len; e++)
    p->in_desc[e] = *tl_value_desc (ext->pdata[e]);
  if (!fusion_program_analyse (p, error))
    return NULL;
  return g_steal_pointer (&p);
}

/**
 * fusion_group_program:
 * @g: the graph of the nodes
 * @n_nodes: number of nodes
 * @sorted: (array length=n_nodes): distinct nodes of @g in graph order
 * @graph_outputs: set of named graph output values (fusion_graph_outputs())
 * @error: return location for a #GError
 *
 * The one check a group passes both when the explorer plans it and when
 * fusion_apply_plan() fuses it: merging the nodes keeps @g acyclic and they
 * form a fused program (fusion_program_from_nodes(); its analysis does not
 * depend on the order of the nodes, which earlier rewrites may change).
 *
 * Returns: (transfer full) (nullable): the program, NULL with @error when
 * the group cannot be fused.
 */
FusionProgram *
fusion_group_program (const TlGraph *g, guint n_nodes, TlNode *const *sorted, GHashTable *graph_outputs,
                      GError **error)
{
  if (!tl_graph_nodes_fusible (g, n_nodes, sorted)) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "fusion: the %u nodes cannot be merged (a path leaves the group and re-enters it)", n_nodes);
    return NULL;
  }
  return fusion_program_from_nodes (n_nodes, sorted, graph_outputs, error);
}

/**
 * fusion_program_to_attrs:
 * @p: a program
 * @attrs: where to store it
 *
 * Serialises @p as attributes of a "fusion.fused" node: "fusion.n",
 * "fusion.n_in", "fusion.outs" and per instruction i "i<i>.op", "i<i>.in"
 * and its primitive attributes as "i<i>.a.<key>" (types kept).
 */
void
fusion_program_to_attrs (const FusionProgram *p, TlAttrs *attrs)
{
  tl_attrs_set_int (attrs, "fusion.n", p->n_instr);
  tl_attrs_set_int (attrs, "fusion.n_in", p->n_in);
  gint64 outs[p->n_out + 1];
  for (guint i = 0; i < p->n_out; i++)
    outs[i] = p->outs[i];
  tl_attrs_set_ints (attrs, "fusion.outs", p->n_out, outs);
  for (guint i = 0; i < p->n_instr; i++) {
    const FusionInstr *in = &p->ins[i];
    char key[256];
    g_snprintf (key, sizeof key, "i%u.op", i);
    tl_attrs_set_string (attrs, key, in->info->name);
    gint64 refs[2] = { in->in[0], in->in[1] };
    g_snprintf (key, sizeof key, "i%u.in", i);
    tl_attrs_set_ints (attrs, key, in->n_in, refs);
    for (guint k = 0; k < tl_attrs_size (in->attrs); k++) {
      const char *name = tl_attrs_key (in->attrs, k);
      guint n = 0;
      g_snprintf (key, sizeof key, "i%u.a.%s", i, name);
      switch (tl_attrs_type (in->attrs, name)) {
      case TL_ATTR_INT:
        tl_attrs_set_int (attrs, key, tl_attrs_get_int (in->attrs, name, 0));
        break;
      case TL_ATTR_FLOAT:
        tl_attrs_set_float (attrs, key, tl_attrs_get_float (in->attrs, name, 0));
        break;
      case TL_ATTR_STRING:
        tl_attrs_set_string (attrs, key, tl_attrs_get_string (in->attrs, name, ""));
        break;
      case TL_ATTR_INTS: {
        const gint64 *v = tl_attrs_get_ints (in->attrs, name, &n);
        tl_attrs_set_ints (attrs, key, n, v);
        break;
      }
      case TL_ATTR_FLOATS: {
        const double *v = tl_attrs_get_floats (in->attrs, name, &n);
        tl_attrs_set_floats (attrs, key, n, v);
        break;
      }
      default:
        break;
      }
    }
  }
}

/* Copy the "i<i>.a.*" keys of `all` into a new set without the prefix. */
static TlAttrs *
instr_attrs (const TlAttrs *all, guint i)
{
  TlAttrs *a = tl_attrs_new ();
  g_autofree char *prefix = g_strdup_printf ("i%u.a.", i);
  gsize plen = strlen (prefix);
  for (guint k = 0; k < tl_attrs_size (all); k++) {
    const char *key = tl_attrs_key (all, k);
    if (strncmp (key, prefix, plen) != 0)
      continue;
    const char *name = key + plen;
    guint n = 0;
    switch (tl_attrs_type (all, key)) {
    case TL_ATTR_INT:
      tl_attrs_set_int (a, name, tl_attrs_get_int (all, key, 0));
      break;
    case TL_ATTR_FLOAT:
      tl_attrs_set_float (a, name, tl_attrs_get_float (all, key, 0));
      break;
    case TL_ATTR_STRING:
      tl_attrs_set_string (a, name, tl_attrs_get_string (all, key, ""));
      break;
    case TL_ATTR_INTS: {
      const gint64 *v = tl_attrs_get_ints (all, key, &n);
      tl_attrs_set_ints (a, name, n, v);
      break;
    }
    case TL_ATTR_FLOATS: {
      const double *v = tl_attrs_get_floats (all, key, &n);
      tl_attrs_set_floats (a, name, n, v);
      break;
    }
    default:
      break;
    }
  }
  return a;
}

/**
 * fusion_program_from_attrs:
 * @attrs: attributes of a "fusion.fused" node
 * @n_in: number of inputs the node has
 * @in_desc: (array length=n_in): their descs
 * @error: return location for a #GError
 *
 * Reads a program back, infers each instruction's desc with the primitive
 * op's own shape inference, and analyses it.
 *
 * Returns: (transfer full) (nullable): the program.
 */
FusionProgram *
fusion_program_from_attrs (const TlAttrs *attrs, guint n_in, const TlTensorDesc *in_desc,
                           GError **error)
{
  gint64 n = tl_attrs_get_int (attrs, "fusion.n", 0);
  gint64 want_in = tl_attrs_get_int (attrs, "fusion.n_in", -1);
  guint n_outs = 0;
  const gint64 *outs = tl_attrs_get_ints (attrs, "fusion.outs", &n_outs);
  if (n <= 0 || n > 4096 || want_in != (gint64) n_in || n_outs == 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "fusion.fused: bad pattern attributes (fusion.n=%" G_GINT64_FORMAT
                 ", fusion.n_in=%" G_GINT64_FORMAT " for %u inputs, %u outputs)",
                 n, want_in, n_in, n_outs);
    return NULL;
  }
  g_autoptr (FusionProgram) p = g_new0 (FusionProgram, 1);
  p->n_in = n_in;
  p->in_desc = g_new0 (TlTensorDesc, MAX (1, n_in));
  if (n_in)
    memcpy (p->in_desc, in_desc, n_in * sizeof *in_desc);
  p->n_instr = (guint) n;
  p->ins = g_new0 (FusionInstr, n);
  p->outs = g_new0 (guint, n_outs);
  for (guint i = 0; i < p->n_instr; i++) {
    FusionInstr *in = &p->ins[i];
    char key[64];
    g_snprintf (key, sizeof key, "i%u.op", i);
    const char *op = tl_attrs_get_string (attrs, key, NULL);
    in->info = fusion_op_info (op);
    in->attrs = instr_attrs (attrs, i);
    in->out_index = -1;
    g_snprintf (key, sizeof key, "i%u.in", i);
    guint nr = 0;
    const gint64 *refs = tl_attrs_get_ints (attrs, key, &nr);
    if (!in->info || nr != in->info->arity) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "fusion.fused: instruction %u: unsupported op '%s' or wrong input count", i,
                   op ? op : "(none)");
      return NULL;
    }
    in->n_in = nr;
    TlTensorDesc ds[2];
    for (guint j = 0; j < nr; j++) {
      gint64 r = refs[j];
      if (r >= (gint64) n_in || (r < 0 && -r > (gint64) i)) {
        g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                     "fusion.fused: instruction %u: bad operand reference %" G_GINT64_FORMAT, i, r);
        return NULL;
      }
      in->in[j] = (gint) r;
      ds[j] = r >= 0 ? in_desc[r] : p->ins[-r - 1].desc;
      if (ds[j].dtype != TL_DTYPE_F32) {
        g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "fusion.fused: instruction %u: operand %u is not f32",
                     i, j);
        return NULL;
      }
    }
    set_affine (in);
    const TlOpDef *def = tl_op_lookup (in->info->name);
    guint n_out = 0;
    if (!def || !tl_op_infer (def, nr, ds, in->attrs, 1, &in->desc, &n_out, error)) {
      if (!def)
        g_set_error (error, TL_ERROR, TL_ERROR_NOT_FOUND, "fusion.fused: op '%s' is not registered",
                     in->info->name);
      else
        g_prefix_error (error, "fusion.fused: instruction %u (%s): ", i, in->info->name);
      return NULL;
    }
    if (in->info->reduction && !reduces_last_axis (in->attrs, ds[0].ndim)) {
      g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                   "fusion.fused: instruction %u: only last-axis reductions are fused", i);
      return NULL;
    }
  }
  for (guint o = 0; o < n_outs; o++) {
    if (outs[o] < 0 || outs[o] >= n || p->ins[outs[o]].out_index >= 0) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "fusion.fused: bad output list");
      return NULL;
    }
    p->ins[outs[o]].out_index = (gint) o;
    p->outs[o] = (guint) outs[o];
  }
  p->n_out = n_outs;
  if (!fusion_program_analyse (p, error))
    return NULL;
  return g_steal_pointer (&p);
}

static gint64
desc_numel (const TlTensorDesc *d)
{
  return tl_tensor_desc_numel (d);
}

/* Address an operand of desc `s` broadcast into the output space of ndim
 * `od` (d: D or its keepdims row shape; d - 1: the row shape). */
static gboolean
make_access (const FusionProgram *p, const TlTensorDesc *s, guint od, FusionAccess *acc)
{
  guint d = p->domain.ndim;
  gint64 st[TL_MAX_DIMS];
  gint64 run = 1;
  for (gint a = (gint) s->ndim - 1; a >= 0; a--) {
    st[a] = run;
    run *= s->shape[a];
  }
  if (s->ndim > od)
    return FALSE;
  memset (acc, 0, sizeof *acc);
  for (guint i = 0; i + 1 < d; i++) {
    gint j = (gint) i - (gint) (od - s->ndim);
    if (j < 0 || s->shape[j] == 1)
      continue;
    if (s->shape[j] != p->domain.shape[i])
      return FALSE;
    acc->row_stride[i] = st[j];
  }
  if (od == d && s->ndim >= 1 && s->shape[s->ndim - 1] != 1) {
    if (s->shape[s->ndim - 1] != p->cols)
      return FALSE;
    acc->col_stride = 1;
  }
  return TRUE;
}

/* Can a block of whole rows of this instruction run as one flat loop? */
static gboolean
instr_flat (const FusionProgram *p, const FusionInstr *in)
{
  if (in->cls != FCLASS_FULL || in->info->reduction)
    return FALSE;
  for (guint j = 0; j < in->n_in; j++) {
    gint r = in->in[j];
    if (r < 0) {
      const FusionInstr *src = &p->ins[-r - 1];
      if (src->cls != FCLASS_FULL || src->info->reduction)
        return FALSE;
      continue;
    }
    const FusionAccess *acc = &in->acc[j];
    gboolean scalar = acc->col_stride == 0, dense = acc->col_stride == 1;
    gint64 run = p->cols;
    for (gint a = (gint) p->domain.ndim - 2; a >= 0; a--) {
      scalar = scalar && acc->row_stride[a] == 0;
      dense = dense && (acc->row_stride[a] == run || p->domain.shape[a] == 1);
      run *= p->domain.shape[a];
    }
    if (!scalar && !dense)
      return FALSE;
  }
  return TRUE;
}

/* Does desc c make a better domain than d? The largest value; among equal
 * sizes the highest rank ([R, 1] over [R]: [R] is then its rows), then the
 * larger shape in lexicographic order: a choice that does not depend on the
 * order of the instructions. */
static gboolean
domain_better (const TlTensorDesc *c, const TlTensorDesc *d)
{
  if (!d)
    return TRUE;
  gint64 nc = desc_numel (c), nd = desc_numel (d);
  if (nc != nd)
    return nc > nd;
  if (c->ndim != d->ndim)
    return c->ndim > d->ndim;
  for (guint i = 0; i < c->ndim; i++)
    if (c->shape[i] != d->shape[i])
      return c->shape[i] > d->shape[i];
  return FALSE;
}

/**
 * fusion_program_analyse:
 * @p: a program with descs
 * @error: return location for a #GError
 *
 * Chooses the domain D (the largest value, of the highest rank among equal
 * sizes (domain_better()), [..., C]: rows are the leading axes, columns the
 * last), classifies each value as full (D), keepdims row
 * (D with last axis 1) or row (D without its last axis), checks that every
 * operand can be addressed from a (row, column) position, and that every
 * reduction reduces a full value over the columns.
 *
 * Returns: TRUE when the program can run fused.
 */
gboolean
fusion_program_analyse (FusionProgram *p, GError **error)
{
  const TlTensorDesc *dom = NULL;
  for (guint i = 0; i < p->n_instr; i++) {
    const FusionInstr *in = &p->ins[i];
    const TlTensorDesc *c = &in->desc;
    if (domain_better (c, dom))
      dom = c;
    if (in->info->reduction) {
      c = in->in[0] >= 0 ? &p->in_desc[in->in[0]] : &p->ins[-in->in[0] - 1].desc;
      if (domain_better (c, dom))
        dom = c;
    }
  }
  if (!dom || dom->ndim == 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "fusion: a group needs a domain of rank >= 1");
    return FALSE;
  }
  p->domain = *dom;
  guint d = dom->ndim;
  p->cols = dom->shape[d - 1];
  p->rows = 1;
  for (guint i = 0; i + 1 < d; i++)
    p->rows *= dom->shape[i];
  TlTensorDesc rowk = *dom, rown = *dom;
  rowk.shape[d - 1] = 1;
  rown.ndim = d - 1;
  rown.shape[d - 1] = 0;
  p->n_reductions = p->n_full = 0;
  for (guint i = 0; i < p->n_instr; i++) {
    FusionInstr *in = &p->ins[i];
    if (in->info->reduction)
      in->cls = tl_tensor_desc_equal (&in->desc, &rown) ? FCLASS_ROWN : FCLASS_ROWK;
    else if (tl_tensor_desc_equal (&in->desc, dom))
      in->cls = FCLASS_FULL;
    else if (tl_tensor_desc_equal (&in->desc, &rowk))
      in->cls = FCLASS_ROWK;
    else if (tl_tensor_desc_equal (&in->desc, &rown))
      in->cls = FCLASS_ROWN;
    else {
      g_autofree char *a = tl_tensor_desc_to_string (&in->desc);
      g_autofree char *b = tl_tensor_desc_to_string (dom);
      g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                   "fusion: value %s of instruction %u (%s) is neither the domain %s nor its rows", a,
                   i, in->info->name, b);
      return FALSE;
    }
    if (in->info->reduction) {
      p->n_reductions++;
      if (in->cls == FCLASS_ROWK && !tl_tensor_desc_equal (&in->desc, &rowk)) {
        g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "fusion: reduction %u has an odd shape", i);
        return FALSE;
      }
    } else if (in->cls == FCLASS_FULL) {
      p->n_full++;
    }
    guint od = in->cls == FCLASS_ROWN ? d - 1 : d;
    for (guint j = 0; j < in->n_in; j++) {
      gint r = in->in[j];
      if (in->info->reduction) {
        const TlTensorDesc *s = r >= 0 ? &p->in_desc[r] : &p->ins[-r - 1].desc;
        if (!tl_tensor_desc_equal (s, dom) || (r < 0 && p->ins[-r - 1].cls != FCLASS_FULL)) {
          g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                       "fusion: reduction %u does not reduce a value of the domain", i);
          return FALSE;
        }
        if (r >= 0 && !make_access (p, s, d, &in->acc[j]))
          goto bad_operand;
        continue;
      }
      if (r >= 0) {
        if (!make_access (p, &p->in_desc[r], od, &in->acc[j]))
          goto bad_operand;
        continue;
      }
      FusionClass sc = p->ins[-r - 1].cls;
      gboolean ok = sc == in->cls || (sc == FCLASS_ROWK && in->cls == FCLASS_FULL) || p->rows == 1;
      if (sc == FCLASS_FULL && in->cls != FCLASS_FULL)
        ok = FALSE;
      if (!ok)
        goto bad_operand;
      continue;
    bad_operand:
      g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                   "fusion: operand %u of instruction %u (%s) cannot be addressed by rows", j, i,
                   in->info->name);
      return FALSE;
    }
  }
  for (guint i = 0; i < p->n_instr; i++)
    p->ins[i].flat = instr_flat (p, &p->ins[i]);
  if (p->n_out == 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "fusion: the group has no outputs");
    return FALSE;
  }
  return TRUE;
}

/**
 * fusion_program_hash:
 * @p: a program
 *
 * Returns: a stable hash of the pattern and its input descs (code caches).
 */
guint64
fusion_program_hash (const FusionProgram *p)
{
  g_autoptr (TlAttrs) a = tl_attrs_new ();
  fusion_program_to_attrs (p, a);
  for (guint i = 0; i < p->n_in; i++) {
    char key[32];
    g_snprintf (key, sizeof key, "in%u", i);
    gint64 sh[TL_MAX_DIMS + 1];
    sh[0] = p->in_desc[i].dtype;
    for (guint k = 0; k < p->in_desc[i].ndim; k++)
      sh[k + 1] = p->in_desc[i].shape[k];
    tl_attrs_set_ints (a, key, p->in_desc[i].ndim + 1, sh);
  }
  return tl_attrs_hash (a);
}

/** fusion_program_free: frees @p (NULL-safe). */
void
fusion_program_free (FusionProgram *p)
{
  if (!p)
    return;
  for (guint i = 0; i < p->n_instr; i++)
    tl_attrs_free (p->ins[i].attrs);
  g_free (p->ins);
  g_free (p->in_desc);
  g_free (p->outs);
  g_free (p);
}
