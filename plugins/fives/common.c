/* common.c — tabular inputs and the binary head shared by the fives models. */
#include "fives-private.h"

static gboolean
is_integer (TlDType dt)
{
  return dt == TL_DTYPE_I64 || dt == TL_DTYPE_I32 || dt == TL_DTYPE_U8 || dt == TL_DTYPE_I8;
}

/**
 * fives_categorical_fields:
 * @b: the build context
 * @label: the label field (excluded)
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the names (borrowed strings) of the categorical
 * scalar fields in schema order, or NULL with @error set when there is none
 * (or no label field, except when predicting).
 */
GPtrArray *
fives_categorical_fields (TlBuild *b, const char *label, GError **error)
{
  GPtrArray *out = g_ptr_array_new ();
  for (guint i = 0; i < tl_build_n_fields (b); i++) {
    const char *name = tl_build_field_name (b, i);
    if (!name || g_strcmp0 (name, label) == 0)
      continue;
    const TlTensorDesc *d = tl_build_field_desc (b, name);
    if (d && d->ndim == 0 && is_integer (d->dtype) && tl_build_field_cardinality (b, name) > 0)
      g_ptr_array_add (out, (gpointer) name);
  }
  if (out->len == 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "no categorical input fields besides the label '%s' (bucket numeric columns)", label);
    g_ptr_array_unref (out);
    return NULL;
  }
  if (!tl_build_has_field (b, label) && tl_build_mode (b) != TL_MODE_PREDICT) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "the dataset has no label field '%s'", label);
    g_ptr_array_unref (out);
    return NULL;
  }
  return out;
}

/**
 * fives_param:
 * @b: the build context
 * @name: parameter name
 * @ndim: rank
 * @shape: shape
 * @init: initialiser
 * @scale: initialiser scale
 * @detached: return a constant aliasing the parameter's tensor
 *
 * A trainable f32 parameter. Detached, the value is a graph constant that
 * shares the parameter's storage: it reads the current values at every run
 * but no gradient flows into it (a stop-gradient).
 *
 * Returns: (transfer none): the value.
 */
TlValue *
fives_param (TlBuild *b, const char *name, guint ndim, const gint64 *shape, TlInit init, double scale,
             gboolean detached)
{
  TlValue *v = tl_build_param (b, name, TL_DTYPE_F32, ndim, shape, init, scale, TRUE);
  if (!detached || !v)
    return v;
  TlTensor *t = tl_param_store_lookup (tl_build_param_store (b), name);
  return t ? tl_graph_const (tl_build_graph (b), t) : v;
}

/**
 * fives_stack_embeddings:
 * @b: the build context
 * @fields: field names
 * @prefix: parameter name prefix
 * @dim: embedding size
 * @init: initialiser
 * @scale: initialiser scale
 * @detached: no gradient into the tables (see fives_param())
 *
 * Returns: (transfer none): [batch, n_fields, dim] embeddings.
 */
TlValue *
fives_stack_embeddings (TlBuild *b, GPtrArray *fields, const char *prefix, gint64 dim, TlInit init,
                        double scale, gboolean detached)
{
  TlGraph *g = tl_build_graph (b);
  gint64 batch = tl_build_batch_size (b);
  g_autofree TlValue **parts = g_new0 (TlValue *, fields->len);
  for (guint i = 0; i < fields->len; i++) {
    const char *name = fields->pdata[i];
    g_autofree char *pname = g_strdup_printf ("%s.%s", prefix, name);
    gint64 shape[2] = { tl_build_field_cardinality (b, name), dim };
    TlValue *table = fives_param (b, pname, 2, shape, init, scale, detached);
    TlValue *e = tl_embedding (g, table, tl_build_input (b, name));
    gint64 s3[3] = { batch, 1, dim };
    parts[i] = tl_reshape (g, e, 3, s3);
  }
  if (fields->len == 1)
    return parts[0];
  return tl_concat (g, fields->len, parts, 1);
}

/**
 * fives_first_order:
 * @b: the build context
 * @fields: field names
 * @prefix: parameter name prefix
 * @detached: no gradient into the tables
 *
 * Returns: (transfer none): [batch] sum of one weight per field value.
 */
TlValue *
fives_first_order (TlBuild *b, GPtrArray *fields, const char *prefix, gboolean detached)
{
  TlGraph *g = tl_build_graph (b);
  gint64 batch = tl_build_batch_size (b);
  TlValue *acc = NULL;
  for (guint i = 0; i < fields->len; i++) {
    const char *name = fields->pdata[i];
    g_autofree char *pname = g_strdup_printf ("%s.%s", prefix, name);
    gint64 shape[2] = { tl_build_field_cardinality (b, name), 1 };
    TlValue *table = fives_param (b, pname, 2, shape, TL_INIT_ZEROS, 0, detached);
    TlValue *e = tl_reshape (g, tl_embedding (g, table, tl_build_input (b, name)), 1, &batch);
    acc = acc ? tl_add (g, acc, e) : e;
  }
  return acc;
}

/**
 * fives_label_f32:
 * @b: the build context
 * @label: label field (0/1, any numeric dtype)
 *
 * Returns: (transfer none): the label as f32 [batch].
 */
TlValue *
fives_label_f32 (TlBuild *b, const char *label)
{
  TlGraph *g = tl_build_graph (b);
  gint64 batch = tl_build_batch_size (b);
  TlValue *y = tl_build_input (b, label);
  if (y && tl_value_dtype (y) != TL_DTYPE_F32)
    y = tl_cast (g, y, TL_DTYPE_F32);
  return tl_reshape (g, y, 1, &batch);
}

/**
 * fives_bce_rows:
 * @g: a graph
 * @logits: [batch] logits
 * @targets: [batch] 0/1 targets
 *
 * Numerically stable per-row BCE: relu(z) - z*y + log(1 + exp(-|z|)).
 *
 * Returns: (transfer none): [batch] losses.
 */
TlValue *
fives_bce_rows (TlGraph *g, TlValue *logits, TlValue *targets)
{
  TlValue *soft = tl_log (g, tl_scale (g, tl_exp (g, tl_neg (g, tl_abs (g, logits))), 1.0, 1.0));
  return tl_add (g, tl_sub (g, tl_relu (g, logits), tl_mul (g, logits, targets)), soft);
}

/**
 * fives_binary_head:
 * @b: the build context
 * @logits: [batch] logits
 * @label: label field
 *
 * Sets the prediction (binary logits) and the loss (mean BCE with logits);
 * no loss when predicting on a dataset without the label field.
 */
void
fives_binary_head (TlBuild *b, TlValue *logits, const char *label)
{
  TlGraph *g = tl_build_graph (b);
  tl_build_set_prediction (b, logits, TL_TASK_BINARY, label);
  /* predicting on an unlabelled file: no loss */
  if (tl_build_mode (b) != TL_MODE_PREDICT || tl_build_has_field (b, label))
    tl_build_set_loss (b, tl_bce_with_logits (g, logits, fives_label_f32 (b, label)));
}

static const char *const sample_params[] = { "n_rows=64", "n_fields=4", "cardinality=4", "pairs=0+1",
                                             "triples=", NULL };

const TlModelSampleData fives_sample_data = {
  TL_TABLE_INIT (TlModelSampleData),
  .dataset = "fives.planted",
  .params = sample_params,
};
