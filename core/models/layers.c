/* layers.c — building blocks shared by the built-in models. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "layers.h"
#include "tl-private.h"

/**
 * _tl_priv_parse_sizes:
 * @text: a comma-separated list of positive integers, or ""
 * @what: the parameter's name, for messages
 * @error: return location for a #GError
 *
 * Returns: (transfer full): a #GArray of gint64, or NULL with
 *   TL_ERROR_INVALID_ARGUMENT.
 */
GArray *
_tl_priv_parse_sizes (const char *text, const char *what, GError **error)
{
  g_autoptr (GArray) out = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_auto (GStrv) parts = g_strsplit (text ? text : "", ",", -1);
  for (guint i = 0; parts[i]; i++) {
    g_autofree char *s = g_strstrip (g_strdup (parts[i]));
    if (!*s && !parts[1] && i == 0)
      break; /* "" */
    gint64 v = 0;
    if (!g_ascii_string_to_signed (s, 10, 1, 1 << 24, &v, NULL)) {
      g_autofree char *shown = _tl_priv_escape_short (text);
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "%s: '%s' is not a size (comma-separated integers from 1 to 16777216)", what,
                   shown);
      return NULL;
    }
    g_array_append_val (out, v);
  }
  return g_steal_pointer (&out);
}

TlValue *
_tl_priv_input_flat (TlBuild *b, const char *field, gint64 *width)
{
  TlGraph *g = tl_build_graph (b);
  TlValue *x = tl_build_input (b, field);
  *width = 1;
  if (!x)
    return NULL;
  const TlTensorDesc *d = tl_build_field_desc (b, field);
  if (d)
    *width = MAX (tl_tensor_desc_numel (d), 1);
  if (tl_value_dtype (x) != TL_DTYPE_F32)
    x = tl_cast (g, x, TL_DTYPE_F32);
  if (x && tl_value_ndim (x) != 2) {
    gint64 shape[2] = { tl_build_batch_size (b), *width };
    x = tl_reshape (g, x, 2, shape);
  }
  return x;
}

TlValue *
_tl_priv_linear (TlBuild *b, TlValue *x, const char *name, gint64 in, gint64 out)
{
  g_autofree char *wname = g_strdup_printf ("%s.weight", name);
  g_autofree char *bname = g_strdup_printf ("%s.bias", name);
  gint64 wshape[2] = { out, in };
  TlValue *w = tl_build_param (b, wname, TL_DTYPE_F32, 2, wshape, TL_INIT_KAIMING_UNIFORM, 0, TRUE);
  TlValue *bias = tl_build_param (b, bname, TL_DTYPE_F32, 1, &out, TL_INIT_UNIFORM,
                                  1.0 / sqrt ((double) MAX (in, 1)), TRUE);
  return tl_linear (tl_build_graph (b), x, w, bias);
}

TlValue *
_tl_priv_activation (TlGraph *g, const char *name, TlValue *x)
{
  if (!name || g_str_equal (name, "relu"))
    return tl_relu (g, x);
  if (g_str_equal (name, "gelu"))
    return tl_gelu (g, x);
  if (g_str_equal (name, "tanh"))
    return tl_tanh (g, x);
  return x;
}

TlTask
_tl_priv_task_from_name (const char *name)
{
  if (name && g_str_equal (name, "binary"))
    return TL_TASK_BINARY;
  if (name && g_str_equal (name, "regression"))
    return TL_TASK_REGRESSION;
  return TL_TASK_MULTICLASS;
}

/* Dim 0 of the stored parameter `name` (the output layer's width once it
 * was built), or -1. */
static gint64
stored_width (TlBuild *b, const char *name)
{
  TlTensor *t = name ? tl_param_store_lookup (tl_build_param_store (b), name) : NULL;
  return t && tl_tensor_ndim (t) > 0 ? tl_tensor_dim (t, 0) : -1;
}

/**
 * _tl_priv_head_width:
 * @b: build context
 * @task: the model's task
 * @label: the label field
 * @n_classes: the n_classes parameter (0: from the data)
 * @out_param: (nullable): the output layer's parameter whose dim 0 is the
 *   width ("out.weight"), used in predict mode on data without @label
 * @width: (out): the output layer's width
 * @error: return location for a #GError
 *
 * Train and eval need @label: a missing field is the dataset's standard
 * "no field" error (TL_ERROR_NOT_FOUND), before anything else. Binary
 * needs 0/1 labels: a categorical label with more than two categories, or
 * more than one label value per example, is TL_ERROR_INVALID_ARGUMENT
 * (an integer label without a known cardinality cannot be checked here).
 *
 * Returns: TRUE with *@width set.
 */
gboolean
_tl_priv_head_width (TlBuild *b, TlTask task, const char *label, gint64 n_classes,
                     const char *out_param, gint64 *width, GError **error)
{
  gboolean has_label = tl_build_has_field (b, label);
  if (!has_label && tl_build_mode (b) != TL_MODE_PREDICT) {
    TlGraph *g = tl_build_graph (b);
    tl_build_input (b, label); /* the sticky "the dataset has no field '...'" error */
    (void) tl_graph_take_error (g, error);
    return FALSE;
  }
  const TlTensorDesc *d = tl_build_field_desc (b, label);
  gint64 card = tl_build_field_cardinality (b, label);
  switch (task) {
  case TL_TASK_BINARY:
    if (card > 2) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "task binary needs 0/1 labels; field '%s' has %" G_GINT64_FORMAT " categories",
                   label, card);
      return FALSE;
    }
    if (d && tl_tensor_desc_numel (d) != 1) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "task binary needs one 0/1 label per example; field '%s' has %" G_GINT64_FORMAT
                   " values", label, tl_tensor_desc_numel (d));
      return FALSE;
    }
    *width = 1;
    return TRUE;
  case TL_TASK_REGRESSION: {
    gint64 stored = has_label ? -1 : stored_width (b, out_param);
    *width = d ? MAX (tl_tensor_desc_numel (d), 1) : stored > 0 ? stored : 1;
    return TRUE;
  }
  default:
    break;
  }
  if (n_classes <= 0)
    n_classes = card;
  if (n_classes <= 0 && !has_label)
    n_classes = stored_width (b, out_param);
  if (n_classes <= 1) {
    if (has_label)
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "n_classes is 0 and field '%s' is not categorical: set n_classes", label);
    else
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "n_classes is 0 and the dataset has no field '%s' to count the classes of: "
                   "set n_classes (or predict with a trained model)", label);
    return FALSE;
  }
  *width = n_classes;
  return TRUE;
}

void
_tl_priv_head_finish (TlBuild *b, TlValue *out, TlTask task, const char *label)
{
  TlGraph *g = tl_build_graph (b);
  gint64 batch = tl_build_batch_size (b);
  gboolean has_label = tl_build_has_field (b, label);

  if (task == TL_TASK_MULTICLASS) {
    tl_build_set_prediction (b, out, task, label);
    if (has_label)
      tl_build_set_loss (b, tl_cross_entropy (g, out, tl_build_input (b, label)));
    return;
  }

  /* binary and regression: prediction shaped like the label */
  const TlTensorDesc *d = has_label ? tl_build_field_desc (b, label) : NULL;
  TlValue *pred = out;
  if (!d || d->ndim == 0 || task == TL_TASK_BINARY) {
    pred = tl_reshape (g, out, 1, &batch);
  }
  tl_build_set_prediction (b, pred, task, label);
  if (!has_label)
    return;
  TlValue *y = tl_build_input (b, label);
  if (y && tl_value_dtype (y) != TL_DTYPE_F32)
    y = tl_cast (g, y, TL_DTYPE_F32);
  if (y && pred && tl_value_ndim (y) != tl_value_ndim (pred)) {
    guint nd = tl_value_ndim (pred);
    gint64 shape[2] = { batch, nd > 1 ? tl_value_dim (pred, 1) : 0 };
    y = tl_reshape (g, y, nd, shape);
  }
  if (task == TL_TASK_BINARY)
    tl_build_set_loss (b, tl_bce_with_logits (g, pred, y));
  else
    tl_build_set_loss (b, tl_mse (g, pred, y));
}
