/* logreg.c — "tl.logreg": logistic / softmax / linear regression over every
 * input field: a generic tabular baseline for tl.csv.
 *
 * Categorical fields (integer dtype with a cardinality) contribute a row of
 * the table "embed.<field>" [cardinality, width] per id — the one-hot
 * encoding times a weight matrix; list fields sum their rows. Other fields
 * are flattened, cast to f32 and go through "linear.<field>.weight"
 * [width, n]. A shared "bias" [width] is added. Weights start at zero.
 * Numeric inputs should be on a small scale (bucket or normalise them).
 */
#include "config.h"

#include <string.h>

#include "layers.h"
#include "builtin/tl-builtin.h"
#include <tl/tl-conformance.h>

typedef struct {
  char *label;
  char **fields; /* NULL: all but the label */
  gint64 n_classes;
  TlTask task;
} Logreg;

static void
logreg_destroy (TlModel *model)
{
  Logreg *m = (Logreg *) model;
  if (!m)
    return;
  g_free (m->label);
  g_strfreev (m->fields);
  g_free (m);
}

static TlModel *
logreg_create (const TlParams *params, GError **error)
{
  (void) error;
  Logreg *m = g_new0 (Logreg, 1);
  m->label = g_strdup (tl_params_get_string (params, "label", "label"));
  const char *fields = tl_params_get_string (params, "fields", "");
  if (fields && *fields) {
    m->fields = g_strsplit (fields, ",", -1);
    for (guint i = 0; m->fields[i]; i++)
      g_strstrip (m->fields[i]);
  }
  m->n_classes = tl_params_get_int (params, "n_classes", 0);
  m->task = _tl_priv_task_from_name (tl_params_get_string (params, "task", "multiclass"));
  return (TlModel *) m;
}

static gboolean
is_integer (TlDType dt)
{
  return dt == TL_DTYPE_I64 || dt == TL_DTYPE_I32 || dt == TL_DTYPE_U8 || dt == TL_DTYPE_I8;
}

static TlValue *
field_term (TlBuild *b, const char *name, gint64 n_out)
{
  TlGraph *g = tl_build_graph (b);
  const TlTensorDesc *d = tl_build_field_desc (b, name);
  gint64 card = tl_build_field_cardinality (b, name);
  gint64 batch = tl_build_batch_size (b);
  if (d && card > 0 && is_integer (d->dtype)) {
    g_autofree char *pname = g_strdup_printf ("embed.%s", name);
    gint64 shape[2] = { card, n_out };
    TlValue *table = tl_build_param (b, pname, TL_DTYPE_F32, 2, shape, TL_INIT_ZEROS, 0, TRUE);
    TlValue *e = tl_embedding (g, table, tl_build_input (b, name));
    if (d->ndim > 0) {
      gint64 s3[3] = { batch, -1, n_out };
      gint axis = 1;
      e = tl_sum (g, tl_reshape (g, e, 3, s3), 1, &axis, FALSE);
    }
    return e;
  }
  gint64 width = 0;
  TlValue *x = _tl_priv_input_flat (b, name, &width);
  g_autofree char *pname = g_strdup_printf ("linear.%s.weight", name);
  gint64 shape[2] = { n_out, width };
  TlValue *w = tl_build_param (b, pname, TL_DTYPE_F32, 2, shape, TL_INIT_ZEROS, 0, TRUE);
  return tl_linear (g, x, w, NULL);
}

static gboolean
logreg_build (TlModel *model, TlBuild *b, GError **error)
{
  Logreg *m = (Logreg *) model;
  TlGraph *g = tl_build_graph (b);
  gint64 n_out = 0;
  if (!_tl_priv_head_width (b, m->task, m->label, m->n_classes, "bias", &n_out,
                             error))
    return FALSE;

  TlValue *acc = NULL;
  guint used = 0;
  if (m->fields) {
    for (guint i = 0; m->fields[i]; i++) {
      if (!*m->fields[i])
        continue;
      TlValue *t = field_term (b, m->fields[i], n_out);
      acc = acc ? tl_add (g, acc, t) : t;
      used++;
    }
  } else {
    for (guint i = 0; i < tl_build_n_fields (b); i++) {
      const char *name = tl_build_field_name (b, i);
      if (!name || g_str_equal (name, m->label))
        continue;
      TlValue *t = field_term (b, name, n_out);
      acc = acc ? tl_add (g, acc, t) : t;
      used++;
    }
  }
  if (used == 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "tl.logreg: no input fields (the dataset has only the label '%s')", m->label);
    return FALSE;
  }
  TlValue *bias = tl_build_param (b, "bias", TL_DTYPE_F32, 1, &n_out, TL_INIT_ZEROS, 0, TRUE);
  TlValue *out = tl_add (g, acc, bias);
  _tl_priv_head_finish (b, out, m->task, m->label);
  return tl_graph_take_error (g, error);
}

/* For `tlhost conformance`: a file-free dataset this model trains on. */
static const char *const logreg_sample_params[] = { "n_rows=64", "n_features=8", "n_classes=3", NULL };
static const TlModelSampleData logreg_sample = {
  TL_TABLE_INIT (TlModelSampleData),
  .dataset = "tl.synthetic",
  .params = logreg_sample_params,
};

static const void *
logreg_get_extension (const char *id)
{
  return g_strcmp0 (id, TL_MODEL_EXT_SAMPLE_DATA) == 0 ? &logreg_sample : NULL;
}

const TlModelDef _tl_priv_logreg_model = {
  TL_TABLE_INIT (TlModelDef),
  .create = logreg_create,
  .destroy = logreg_destroy,
  .build = logreg_build,
  .get_extension = logreg_get_extension,
};
