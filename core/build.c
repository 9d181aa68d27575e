/* build.c — the build context (TlBuild) and the parameter store. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "train-private.h"
#include "train-device.h"

struct _TlBuild {
  TlGraph *g;
  TlMode mode;
  gint64 batch;
  guint64 seed;
  TlParamStore *store;
  TlDatasetInstance *data;
  GHashTable *inputs; /* field -> TlValue* */
  TlValue *loss;
  TlValue *prediction;
  TlTask task;
  char *label_field;
  GPtrArray *out_names;  /* char* */
  GPtrArray *out_values; /* TlValue* */
};

/* --- parameter store ---------------------------------------------------- */

TlParamStore *
_tl_priv_param_store_new (guint64 seed)
{
  TlParamStore *s = g_new0 (TlParamStore, 1);
  s->names = g_ptr_array_new_with_free_func (g_free);
  s->tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) tl_tensor_unref);
  s->trainable = g_array_new (FALSE, TRUE, sizeof (gboolean));
  s->index = g_hash_table_new (g_str_hash, g_str_equal);
  s->seed = seed;
  return s;
}

void
_tl_priv_param_store_free (TlParamStore *s)
{
  if (!s)
    return;
  g_hash_table_destroy (s->index);
  g_ptr_array_unref (s->names);
  g_ptr_array_unref (s->tensors);
  g_array_unref (s->trainable);
  g_free (s);
}

/**
 * tl_param_store_size:
 * @s: store
 *
 * Returns: number of parameters, in creation order.
 */
guint
tl_param_store_size (const TlParamStore *s)
{
  return s ? s->names->len : 0;
}

/**
 * tl_param_store_name:
 * @s: store
 * @i: index
 *
 * Returns: (transfer none) (nullable): the name of parameter @i.
 */
const char *
tl_param_store_name (const TlParamStore *s, guint i)
{
  return s && i < s->names->len ? s->names->pdata[i] : NULL;
}

/**
 * tl_param_store_tensor:
 * @s: store
 * @i: index
 *
 * Returns: (transfer none) (nullable): the tensor of parameter @i.
 */
TlTensor *
tl_param_store_tensor (const TlParamStore *s, guint i)
{
  if (!s || i >= s->tensors->len)
    return NULL;
  if (G_UNLIKELY (s->device_sync))
    _tl_priv_devparams_fetch ((TlParamStore *) s, i);
  return s->tensors->pdata[i];
}

/**
 * tl_param_store_trainable:
 * @s: store
 * @i: index
 *
 * Returns: whether the optimizer updates parameter @i.
 */
gboolean
tl_param_store_trainable (const TlParamStore *s, guint i)
{
  return s && i < s->trainable->len ? g_array_index (s->trainable, gboolean, i) : FALSE;
}

/**
 * tl_param_store_lookup:
 * @s: store
 * @name: parameter name
 *
 * Returns: (transfer none) (nullable): the tensor, NULL when unknown.
 */
TlTensor *
tl_param_store_lookup (const TlParamStore *s, const char *name)
{
  if (!s || !name)
    return NULL;
  guint idx = GPOINTER_TO_UINT (g_hash_table_lookup (s->index, name));
  if (!idx)
    return NULL;
  if (G_UNLIKELY (s->device_sync))
    _tl_priv_devparams_fetch ((TlParamStore *) s, idx - 1);
  return s->tensors->pdata[idx - 1];
}

static void
compute_fans (guint ndim, const gint64 *shape, double *fan_in, double *fan_out)
{
  if (ndim == 0) {
    *fan_in = *fan_out = 1;
  } else if (ndim == 1) {
    *fan_in = *fan_out = (double) shape[0];
  } else {
    double receptive = 1;
    for (guint i = 2; i < ndim; i++)
      receptive *= (double) shape[i];
    *fan_in = (double) shape[1] * receptive;
    *fan_out = (double) shape[0] * receptive;
  }
}

static gboolean
init_tensor (TlTensor *t, const char *name, guint64 seed, TlInit init, double scale, GError **error)
{
  guint ndim = tl_tensor_ndim (t);
  const gint64 *shape = tl_tensor_shape (t);
  gint64 n = tl_tensor_numel (t);
  double fan_in, fan_out;
  compute_fans (ndim, shape, &fan_in, &fan_out);
  TlRng rng;
  tl_rng_init (&rng, seed, tl_hash_string (name));
  double bound = 0;
  switch (init) {
    case TL_INIT_ZEROS: tl_tensor_fill (t, 0); return TRUE;
    case TL_INIT_ONES: tl_tensor_fill (t, 1); return TRUE;
    case TL_INIT_CONSTANT: tl_tensor_fill (t, scale); return TRUE;
    case TL_INIT_NORMAL:
      for (gint64 i = 0; i < n; i++)
        tl_tensor_set_flat (t, i, scale * (double) tl_rng_normal (&rng));
      return TRUE;
    case TL_INIT_UNIFORM: bound = scale; break;
    case TL_INIT_XAVIER_UNIFORM: bound = sqrt (6.0 / MAX (1.0, fan_in + fan_out)); break;
    case TL_INIT_KAIMING_UNIFORM:
      /* kaiming_uniform_(a=sqrt(5)): gain sqrt(1/3), bound gain*sqrt(3/fan_in)
       * = 1/sqrt(fan_in). A 1-d parameter (a bias) takes fan_in from
       * `scale` when > 0, as nn.Linear does from its weight. */
      if (ndim <= 1 && scale > 0)
        fan_in = scale;
      bound = 1.0 / sqrt (MAX (1.0, fan_in));
      break;
    default:
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "parameter '%s': unknown init %d",
                   name, (int) init);
      return FALSE;
  }
  if (tl_tensor_dtype (t) == TL_DTYPE_F32 && tl_tensor_is_contiguous (t)) {
    float *p = tl_tensor_data (t);
    for (gint64 i = 0; i < n; i++)
      p[i] = (float) (-bound + 2.0 * bound * tl_rng_uniform (&rng));
  } else {
    for (gint64 i = 0; i < n; i++)
      tl_tensor_set_flat (t, i, -bound + 2.0 * bound * tl_rng_uniform (&rng));
  }
  return TRUE;
}

static char *
shape_str (guint ndim, const gint64 *shape)
{
  GString *s = g_string_new ("[");
  for (guint i = 0; i < ndim; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? "," : "", shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/* --- build context ------------------------------------------------------ */

TlBuild *
_tl_priv_build_new (TlGraph *g, TlMode mode, gint64 batch_size, guint64 seed, TlParamStore *store,
                    TlDatasetInstance *data)
{
  TlBuild *b = g_new0 (TlBuild, 1);
  b->g = g;
  b->mode = mode;
  b->batch = batch_size;
  b->seed = seed;
  b->store = store;
  b->data = data;
  b->inputs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  b->out_names = g_ptr_array_new_with_free_func (g_free);
  b->out_values = g_ptr_array_new ();
  return b;
}

void
_tl_priv_build_free (TlBuild *b)
{
  if (!b)
    return;
  g_hash_table_destroy (b->inputs);
  g_ptr_array_unref (b->out_names);
  g_ptr_array_unref (b->out_values);
  g_free (b->label_field);
  g_free (b);
}

TlValue *
_tl_priv_build_loss (TlBuild *b)
{
  return b->loss;
}

TlValue *
_tl_priv_build_prediction (TlBuild *b, TlTask *task, const char **label_field)
{
  if (task)
    *task = b->task;
  if (label_field)
    *label_field = b->label_field;
  return b->prediction;
}

guint
_tl_priv_build_n_outputs (TlBuild *b)
{
  return b->out_names->len;
}

TlValue *
_tl_priv_build_output (TlBuild *b, guint i, const char **name)
{
  if (name)
    *name = b->out_names->pdata[i];
  return b->out_values->pdata[i];
}

/**
 * tl_build_graph:
 * @b: build context
 *
 * Returns: (transfer none): the graph being built.
 */
TlGraph *
tl_build_graph (TlBuild *b)
{
  return b->g;
}

/**
 * tl_build_mode:
 * @b: build context
 *
 * Returns: train, eval or predict.
 */
TlMode
tl_build_mode (const TlBuild *b)
{
  return b->mode;
}

/**
 * tl_build_batch_size:
 * @b: build context
 *
 * Returns: the fixed batch size of the graph's inputs.
 */
gint64
tl_build_batch_size (const TlBuild *b)
{
  return b->batch;
}

/**
 * tl_build_seed:
 * @b: build context
 *
 * Returns: the model instance's seed.
 */
guint64
tl_build_seed (const TlBuild *b)
{
  return b->seed;
}

static gint
field_index (const TlBuild *b, const char *field)
{
  if (!b->data || !field)
    return -1;
  return tl_dataset_instance_field_index (b->data, field);
}

/**
 * tl_build_has_field:
 * @b: build context
 * @field: field name
 *
 * Returns: whether the dataset has @field.
 */
gboolean
tl_build_has_field (const TlBuild *b, const char *field)
{
  return field_index (b, field) >= 0;
}

/**
 * tl_build_field_desc:
 * @b: build context
 * @field: field name
 *
 * Returns: (transfer none) (nullable): the per-example desc of @field.
 */
const TlTensorDesc *
tl_build_field_desc (const TlBuild *b, const char *field)
{
  gint i = field_index (b, field);
  return i < 0 ? NULL : &b->data->descs[i];
}

/**
 * tl_build_field_cardinality:
 * @b: build context
 * @field: field name
 *
 * Returns: number of categories, -1 when not categorical or unknown.
 */
gint64
tl_build_field_cardinality (const TlBuild *b, const char *field)
{
  gint i = field_index (b, field);
  if (i < 0)
    return -1;
  gint64 c = b->data->fields[i]->cardinality;
  return c > 0 ? c : -1;
}

/**
 * tl_build_n_fields:
 * @b: build context
 *
 * Returns: number of dataset fields.
 */
guint
tl_build_n_fields (const TlBuild *b)
{
  return b->data ? b->data->n_fields : 0;
}

/**
 * tl_build_field_name:
 * @b: build context
 * @i: field index
 *
 * Returns: (transfer none) (nullable): the name of field @i.
 */
const char *
tl_build_field_name (const TlBuild *b, guint i)
{
  return b->data && i < b->data->n_fields ? b->data->fields[i]->name : NULL;
}

/**
 * tl_build_input:
 * @b: build context
 * @field: dataset field name
 *
 * Returns: (transfer none) (nullable): the graph input [batch, ...] for
 * @field (the same value on each call); NULL with a sticky graph error
 * naming the available fields when the dataset has no such field.
 */
TlValue *
tl_build_input (TlBuild *b, const char *field)
{
  if (!tl_graph_ok (b->g))
    return NULL;
  TlValue *v = field ? g_hash_table_lookup (b->inputs, field) : NULL;
  if (v)
    return v;
  gint i = field_index (b, field);
  if (i < 0) {
    GString *s = g_string_new (NULL);
    for (guint k = 0; k < tl_build_n_fields (b); k++)
      g_string_append_printf (s, "%s%s", k ? ", " : "", tl_build_field_name (b, k));
    tl_graph_set_error (b->g, g_error_new (TL_ERROR, TL_ERROR_NOT_FOUND,
                                           "the dataset has no field '%s' (fields: %s)",
                                           field ? field : "(null)", s->str));
    g_string_free (s, TRUE);
    return NULL;
  }
  const TlTensorDesc *d = &b->data->descs[i];
  if (d->ndim >= TL_MAX_DIMS) {
    tl_graph_set_error (
        b->g, g_error_new (TL_ERROR, TL_ERROR_SHAPE, "field '%s' has too many dimensions", field));
    return NULL;
  }
  gint64 shape[TL_MAX_DIMS];
  shape[0] = b->batch;
  for (guint k = 0; k < d->ndim; k++)
    shape[k + 1] = d->shape[k];
  v = tl_graph_input (b->g, field, d->dtype, d->ndim + 1, shape);
  if (v)
    g_hash_table_insert (b->inputs, g_strdup (field), v);
  return v;
}

/**
 * tl_build_param:
 * @b: build context
 * @name: unique parameter name ("fc1.weight")
 * @dtype: element type
 * @ndim: rank
 * @shape: (array length=ndim): dimensions
 * @init: initialisation (deterministic in the instance seed and @name)
 * @scale: init argument (see TlInit; for KAIMING_UNIFORM on a 1-d
 *   parameter, the fan-in when > 0)
 * @trainable: whether the optimizer updates it
 *
 * Creates the parameter in the store on the first build and fetches it on
 * later builds, checking dtype and shape.
 *
 * Returns: (transfer none) (nullable): the graph value; NULL with a sticky
 * graph error on mismatch.
 */
TlValue *
tl_build_param (TlBuild *b, const char *name, TlDType dtype, guint ndim, const gint64 *shape,
                TlInit init, double scale, gboolean trainable)
{
  if (!tl_graph_ok (b->g))
    return NULL;
  if (!name || !*name || ndim > TL_MAX_DIMS || tl_dtype_size (dtype) == 0) {
    tl_graph_set_error (b->g, g_error_new (TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                                           "tl_build_param: invalid name, dtype or rank"));
    return NULL;
  }
  for (guint i = 0; i < ndim; i++) {
    if (shape[i] < 0) {
      tl_graph_set_error (
          b->g, g_error_new (TL_ERROR, TL_ERROR_SHAPE, "parameter '%s': negative dimension", name));
      return NULL;
    }
  }
  TlParamStore *s = b->store;
  TlTensor *t = tl_param_store_lookup (s, name);
  if (t) {
    gboolean same = tl_tensor_dtype (t) == dtype && tl_tensor_ndim (t) == ndim &&
                    (ndim == 0 || memcmp (tl_tensor_shape (t), shape, sizeof (gint64) * ndim) == 0);
    if (!same) {
      g_autofree char *have = shape_str (tl_tensor_ndim (t), tl_tensor_shape (t));
      g_autofree char *want = shape_str (ndim, shape);
      tl_graph_set_error (b->g,
                          g_error_new (TL_ERROR, TL_ERROR_SHAPE,
                                       "parameter '%s' was created as %s%s, now asked as %s%s",
                                       name, tl_dtype_name (tl_tensor_dtype (t)), have,
                                       tl_dtype_name (dtype), want));
      return NULL;
    }
  } else {
    GError *err = NULL;
    t = tl_tensor_new (dtype, ndim, shape, &err);
    if (t && !init_tensor (t, name, s->seed, init, scale, &err))
      g_clear_pointer (&t, tl_tensor_unref);
    if (!t) {
      g_prefix_error (&err, "parameter '%s': ", name);
      tl_graph_set_error (b->g, err);
      return NULL;
    }
    g_ptr_array_add (s->names, g_strdup (name));
    g_ptr_array_add (s->tensors, t);
    g_array_append_val (s->trainable, trainable);
    g_hash_table_insert (s->index, s->names->pdata[s->names->len - 1],
                         GUINT_TO_POINTER (s->names->len));
  }
  return tl_graph_param (b->g, name, t);
}

/**
 * tl_build_set_loss:
 * @b: build context
 * @loss: (nullable): the scalar loss (NULL after an earlier error: ignored)
 */
void
tl_build_set_loss (TlBuild *b, TlValue *loss)
{
  if (loss)
    b->loss = loss;
}

/**
 * tl_build_set_prediction:
 * @b: build context
 * @prediction: (nullable): what the trainer scores
 * @task: task kind
 * @label_field: (nullable): dataset field holding the labels (copied)
 */
void
tl_build_set_prediction (TlBuild *b, TlValue *prediction, TlTask task, const char *label_field)
{
  if (!prediction)
    return;
  b->prediction = prediction;
  b->task = task;
  g_free (b->label_field);
  b->label_field = g_strdup (label_field);
}

/**
 * tl_build_add_output:
 * @b: build context
 * @name: output name (copied; not "loss" or "prediction")
 * @v: (nullable): value
 */
void
tl_build_add_output (TlBuild *b, const char *name, TlValue *v)
{
  if (!v || !name)
    return;
  for (guint i = 0; i < b->out_names->len; i++) {
    if (strcmp (b->out_names->pdata[i], name) == 0) {
      b->out_values->pdata[i] = v;
      return;
    }
  }
  g_ptr_array_add (b->out_names, g_strdup (name));
  g_ptr_array_add (b->out_values, v);
}

/**
 * tl_build_param_store:
 * @b: build context
 *
 * Returns: (transfer none): the instance's parameter store.
 */
TlParamStore *
tl_build_param_store (TlBuild *b)
{
  return b->store;
}
