/* mlp.c — "tl.mlp": a multi-layer perceptron over one numeric field.
 *
 * input [batch, ...] (flattened, cast to f32) -> (linear -> activation ->
 * dropout) per hidden size -> linear to the task's width. Parameters
 * "fc1.weight", "fc1.bias", ..., "out.weight", "out.bias".
 */
#include "config.h"

#include "layers.h"
#include "builtin/tl-builtin.h"
#include <tl/tl-conformance.h>

typedef struct {
  char *input;
  char *label;
  char *activation;
  GArray *hidden; /* gint64 */
  double dropout;
  gint64 n_classes;
  TlTask task;
} Mlp;

static void
mlp_destroy (TlModel *model)
{
  Mlp *m = (Mlp *) model;
  if (!m)
    return;
  g_free (m->input);
  g_free (m->label);
  g_free (m->activation);
  if (m->hidden)
    g_array_unref (m->hidden);
  g_free (m);
}

static TlModel *
mlp_create (const TlParams *params, GError **error)
{
  GArray *hidden = _tl_priv_parse_sizes (tl_params_get_string (params, "hidden", "512,512"),
                                         "hidden", error);
  if (!hidden)
    return NULL;
  Mlp *m = g_new0 (Mlp, 1);
  m->hidden = hidden;
  m->input = g_strdup (tl_params_get_string (params, "input", "image"));
  m->label = g_strdup (tl_params_get_string (params, "label", "label"));
  m->activation = g_strdup (tl_params_get_string (params, "activation", "relu"));
  m->dropout = CLAMP (tl_params_get_float (params, "dropout", 0.0), 0.0, 1.0);
  m->n_classes = tl_params_get_int (params, "n_classes", 0);
  m->task = _tl_priv_task_from_name (tl_params_get_string (params, "task", "multiclass"));
  return (TlModel *) m;
}

static gboolean
mlp_build (TlModel *model, TlBuild *b, GError **error)
{
  Mlp *m = (Mlp *) model;
  TlGraph *g = tl_build_graph (b);
  gint64 width = 0, n_out = 0;
  if (!_tl_priv_head_width (b, m->task, m->label, m->n_classes, "out.weight", &n_out,
                             error))
    return FALSE;
  TlValue *x = _tl_priv_input_flat (b, m->input, &width);
  for (guint i = 0; i < m->hidden->len; i++) {
    gint64 h = g_array_index (m->hidden, gint64, i);
    g_autofree char *name = g_strdup_printf ("fc%u", i + 1);
    x = _tl_priv_linear (b, x, name, width, h);
    x = _tl_priv_activation (g, m->activation, x);
    if (m->dropout > 0 && tl_build_mode (b) == TL_MODE_TRAIN)
      x = tl_dropout (g, x, m->dropout);
    width = h;
  }
  TlValue *out = _tl_priv_linear (b, x, "out", width, n_out);
  _tl_priv_head_finish (b, out, m->task, m->label);
  return tl_graph_take_error (g, error);
}

/* For `tlhost conformance`: a file-free dataset this model trains on. */
static const char *const mlp_sample_params[] = { "n_rows=64", "n_features=16", "n_classes=3", "features_name=image", NULL };
static const TlModelSampleData mlp_sample = {
  TL_TABLE_INIT (TlModelSampleData),
  .dataset = "tl.synthetic",
  .params = mlp_sample_params,
};

static const void *
mlp_get_extension (const char *id)
{
  return g_strcmp0 (id, TL_MODEL_EXT_SAMPLE_DATA) == 0 ? &mlp_sample : NULL;
}

const TlModelDef _tl_priv_mlp_model = {
  TL_TABLE_INIT (TlModelDef),
  .create = mlp_create,
  .destroy = mlp_destroy,
  .build = mlp_build,
  .get_extension = mlp_get_extension,
};
