/* convnet.c — "tl.convnet": a small convolutional network for images.
 *
 * input [C, H, W] (or [H*W] with H = W, read as [1, H, W]) ->
 * conv(C -> c1, 3x3, pad 1) -> relu -> max pool 2 ->
 * conv(c1 -> c2, 3x3, pad 1) -> relu -> max pool 2 -> flatten ->
 * linear(hidden) -> relu -> dropout -> linear(n_classes).
 * Parameters "conv1", "conv2", "fc1", "out" (.weight, .bias).
 */
#include "config.h"

#include <math.h>

#include "layers.h"
#include "builtin/tl-builtin.h"
#include <tl/tl-conformance.h>

typedef struct {
  char *input;
  char *label;
  gint64 c1, c2;
  gint64 hidden;
  double dropout;
  gint64 n_classes;
} Convnet;

static void
convnet_destroy (TlModel *model)
{
  Convnet *m = (Convnet *) model;
  if (!m)
    return;
  g_free (m->input);
  g_free (m->label);
  g_free (m);
}

static TlModel *
convnet_create (const TlParams *params, GError **error)
{
  g_autoptr (GArray) ch = _tl_priv_parse_sizes (tl_params_get_string (params, "channels", "16,32"),
                                                "channels", error);
  if (!ch)
    return NULL;
  if (ch->len != 2) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "channels: expected two sizes (first and second convolution), e.g. \"16,32\"");
    return NULL;
  }
  Convnet *m = g_new0 (Convnet, 1);
  m->c1 = g_array_index (ch, gint64, 0);
  m->c2 = g_array_index (ch, gint64, 1);
  m->input = g_strdup (tl_params_get_string (params, "input", "image"));
  m->label = g_strdup (tl_params_get_string (params, "label", "label"));
  m->hidden = tl_params_get_int (params, "hidden", 128);
  m->dropout = CLAMP (tl_params_get_float (params, "dropout", 0.0), 0.0, 1.0);
  m->n_classes = tl_params_get_int (params, "n_classes", 0);
  return (TlModel *) m;
}

static TlValue *
conv_layer (TlBuild *b, TlValue *x, const char *name, gint64 in, gint64 out)
{
  g_autofree char *wname = g_strdup_printf ("%s.weight", name);
  g_autofree char *bname = g_strdup_printf ("%s.bias", name);
  gint64 wshape[4] = { out, in, 3, 3 };
  TlValue *w = tl_build_param (b, wname, TL_DTYPE_F32, 4, wshape, TL_INIT_KAIMING_UNIFORM, 0, TRUE);
  TlValue *bias = tl_build_param (b, bname, TL_DTYPE_F32, 1, &out, TL_INIT_UNIFORM,
                                  1.0 / sqrt ((double) (in * 9)), TRUE);
  return tl_conv2d (tl_build_graph (b), x, w, bias, 1, 1, 1, 1);
}

static gboolean
convnet_build (TlModel *model, TlBuild *b, GError **error)
{
  Convnet *m = (Convnet *) model;
  TlGraph *g = tl_build_graph (b);
  gint64 n_out = 0;
  if (!_tl_priv_head_width (b, TL_TASK_MULTICLASS, m->label, m->n_classes, "out.weight", &n_out,
                             error))
    return FALSE;
  const TlTensorDesc *d = tl_build_field_desc (b, m->input);
  gint64 c = 1, h = 0, w = 0;
  if (d && d->ndim == 3) {
    c = d->shape[0];
    h = d->shape[1];
    w = d->shape[2];
  } else if (d && d->ndim == 2) {
    h = d->shape[0];
    w = d->shape[1];
  } else if (d && d->ndim == 1) {
    h = w = (gint64) llround (sqrt ((double) d->shape[0]));
  }
  if (d && (h * w * c != tl_tensor_desc_numel (d) || h < 4 || w < 4)) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                 "field '%s': expected an image [C, H, W], [H, W] or [H*W] with H = W >= 4",
                 m->input);
    return FALSE;
  }
  TlValue *x = tl_build_input (b, m->input);
  if (x && tl_value_dtype (x) != TL_DTYPE_F32)
    x = tl_cast (g, x, TL_DTYPE_F32);
  gint64 shape4[4] = { tl_build_batch_size (b), c, h, w };
  x = tl_reshape (g, x, 4, shape4);
  x = tl_max_pool2d (g, tl_relu (g, conv_layer (b, x, "conv1", c, m->c1)), 2, 2, 0);
  x = tl_max_pool2d (g, tl_relu (g, conv_layer (b, x, "conv2", m->c1, m->c2)), 2, 2, 0);
  gint64 flat = m->c2 * (h / 2 / 2) * (w / 2 / 2);
  gint64 shape2[2] = { tl_build_batch_size (b), flat };
  x = tl_reshape (g, x, 2, shape2);
  x = tl_relu (g, _tl_priv_linear (b, x, "fc1", flat, m->hidden));
  if (m->dropout > 0 && tl_build_mode (b) == TL_MODE_TRAIN)
    x = tl_dropout (g, x, m->dropout);
  TlValue *out = _tl_priv_linear (b, x, "out", m->hidden, n_out);
  _tl_priv_head_finish (b, out, TL_TASK_MULTICLASS, m->label);
  return tl_graph_take_error (g, error);
}

/* For `tlhost conformance`: a file-free dataset this model trains on. */
static const char *const convnet_sample_params[] = { "n_rows=64", "n_features=64", "n_classes=3", "features_name=image", NULL };
static const TlModelSampleData convnet_sample = {
  TL_TABLE_INIT (TlModelSampleData),
  .dataset = "tl.synthetic",
  .params = convnet_sample_params,
};

static const void *
convnet_get_extension (const char *id)
{
  return g_strcmp0 (id, TL_MODEL_EXT_SAMPLE_DATA) == 0 ? &convnet_sample : NULL;
}

const TlModelDef _tl_priv_convnet_model = {
  TL_TABLE_INIT (TlModelDef),
  .create = convnet_create,
  .destroy = convnet_destroy,
  .build = convnet_build,
  .get_extension = convnet_get_extension,
};
