/* baselines.c — baselines trained by the same trainer: fives.lr (logistic
 * regression over raw fields plus explicit crosses; also the final model of
 * FIVES), fives.fm (factorization machine) and fives.mlp (embeddings + MLP). */
#include <string.h>

#include "fives-private.h"

/* ======================================================================
 * fives.lr
 * ====================================================================== */

typedef struct {
  char *label;
  char *crosses;
  char *crosses_file;
  GPtrArray *loaded; /* FivesCross*, read at the first build */
} Lr;

static void
lr_destroy (TlModel *model)
{
  Lr *m = (Lr *) model;
  if (!m)
    return;
  g_free (m->label);
  g_free (m->crosses);
  g_free (m->crosses_file);
  if (m->loaded)
    g_ptr_array_unref (m->loaded);
  g_free (m);
}

static TlModel *
lr_create (const TlParams *params, GError **error)
{
  g_autoptr (GPtrArray) check = fives_crosses_parse (tl_params_get_string (params, "crosses", ""), error);
  if (!check)
    return NULL;
  Lr *m = g_new0 (Lr, 1);
  m->label = g_strdup (tl_params_get_string (params, "label", "label"));
  m->crosses = g_strdup (tl_params_get_string (params, "crosses", ""));
  m->crosses_file = g_strdup (tl_params_get_string (params, "crosses_file", ""));
  return (TlModel *) m;
}

/* The crosses: the `crosses` list plus those of `crosses_file`, read once
 * (at the first build: the file may be written by an earlier task). */
static GPtrArray *
lr_crosses (Lr *m, GError **error)
{
  if (m->loaded)
    return m->loaded;
  GPtrArray *all = fives_crosses_parse (m->crosses, error);
  if (!all)
    return NULL;
  if (m->crosses_file && *m->crosses_file) {
    GPtrArray *more = fives_crosses_load (m->crosses_file, error);
    if (!more) {
      g_ptr_array_unref (all);
      return NULL;
    }
    for (guint i = 0; i < more->len; i++)
      g_ptr_array_add (all, more->pdata[i]);
    g_ptr_array_set_free_func (more, NULL);
    g_ptr_array_unref (more);
  }
  m->loaded = all;
  return all;
}

static gboolean
lr_build (TlModel *model, TlBuild *b, GError **error)
{
  Lr *m = (Lr *) model;
  TlGraph *g = tl_build_graph (b);
  gint64 batch = tl_build_batch_size (b);
  g_autoptr (GPtrArray) fields = fives_categorical_fields (b, m->label, error);
  if (!fields)
    return FALSE;
  GPtrArray *crosses = lr_crosses (m, error);
  if (!crosses)
    return FALSE;
  TlValue *z = fives_first_order (b, fields, "w", FALSE);
  for (guint i = 0; i < crosses->len; i++) {
    FivesCross *c = crosses->pdata[i];
    gint64 card = 0;
    TlValue *idx = fives_cross_index (b, c, &card, error);
    if (!idx)
      return FALSE;
    g_autofree char *spec = g_strjoinv ("+", c->names);
    g_autofree char *pname = g_strdup_printf ("cross.%s", spec);
    gint64 shape[2] = { card, 1 };
    TlValue *table = tl_build_param (b, pname, TL_DTYPE_F32, 2, shape, TL_INIT_ZEROS, 0, TRUE);
    z = tl_add (g, z, tl_reshape (g, tl_embedding (g, table, idx), 1, &batch));
  }
  gint64 one = 1;
  TlValue *bias = tl_build_param (b, "bias", TL_DTYPE_F32, 1, &one, TL_INIT_ZEROS, 0, TRUE);
  fives_binary_head (b, tl_add (g, z, bias), m->label);
  return tl_graph_take_error (g, error);
}

/* Export: the crosses the model uses, one per line (readable by crosses_file). */
static gboolean
lr_export (const TlParams *params, TlParamStore *store, const char *out_dir, GError **error)
{
  GString *s = g_string_new ("# crosses of the fives.lr model (one per line; use as crosses_file)\n");
  for (guint i = 0; i < tl_param_store_size (store); i++) {
    const char *name = tl_param_store_name (store, i);
    if (g_str_has_prefix (name, "cross."))
      g_string_append_printf (s, "%s\n", name + strlen ("cross."));
  }
  (void) params;
  g_autofree char *path = g_build_filename (out_dir, "lr-crosses.txt", NULL);
  gboolean ok = g_file_set_contents (path, s->str, (gssize) s->len, error);
  g_string_free (s, TRUE);
  return ok;
}

static const TlModelExportExt lr_export_ext = {
  TL_TABLE_INIT (TlModelExportExt),
  .export_model = lr_export,
};

static const void *
lr_extension (const char *id)
{
  if (g_strcmp0 (id, TL_MODEL_EXT_SAMPLE_DATA) == 0)
    return &fives_sample_data;
  if (g_strcmp0 (id, TL_MODEL_EXT_EXPORT) == 0)
    return &lr_export_ext;
  return NULL;
}

const TlModelDef fives_lr_def = {
  TL_TABLE_INIT (TlModelDef),
  .create = lr_create,
  .destroy = lr_destroy,
  .build = lr_build,
  .get_extension = lr_extension,
};

/* ======================================================================
 * fives.fm and fives.mlp
 * ====================================================================== */

typedef struct {
  char *label;
  gint64 dim;
  GArray *hidden; /* gint64; mlp only */
} Net;

static void
net_destroy (TlModel *model)
{
  Net *m = (Net *) model;
  if (!m)
    return;
  g_free (m->label);
  if (m->hidden)
    g_array_unref (m->hidden);
  g_free (m);
}

static TlModel *
net_create (const TlParams *params, GError **error)
{
  Net *m = g_new0 (Net, 1);
  m->label = g_strdup (tl_params_get_string (params, "label", "label"));
  m->dim = tl_params_get_int (params, "embed_dim", 8);
  m->hidden = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_auto (GStrv) parts = g_strsplit (tl_params_get_string (params, "hidden", ""), ",", -1);
  for (guint i = 0; parts[i]; i++) {
    g_strstrip (parts[i]);
    if (!*parts[i])
      continue;
    char *end = NULL;
    gint64 h = g_ascii_strtoll (parts[i], &end, 10);
    if (*end || h <= 0 || h > 65536) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "hidden: '%s' is not a size in 1..65536",
                   parts[i]);
      net_destroy ((TlModel *) m);
      return NULL;
    }
    g_array_append_val (m->hidden, h);
  }
  return (TlModel *) m;
}

static gboolean
fm_build (TlModel *model, TlBuild *b, GError **error)
{
  Net *m = (Net *) model;
  TlGraph *g = tl_build_graph (b);
  g_autoptr (GPtrArray) fields = fives_categorical_fields (b, m->label, error);
  if (!fields)
    return FALSE;
  TlValue *v = fives_stack_embeddings (b, fields, "v", m->dim, TL_INIT_NORMAL, 0.01, FALSE);
  gint axis1 = 1, axis_last = -1;
  /* 0.5 * sum_d ((sum_f v)^2 - sum_f v^2) */
  TlValue *sq_sum = tl_square (g, tl_sum (g, v, 1, &axis1, FALSE));
  TlValue *sum_sq = tl_sum (g, tl_square (g, v), 1, &axis1, FALSE);
  TlValue *pair = tl_scale (g, tl_sum (g, tl_sub (g, sq_sum, sum_sq), 1, &axis_last, FALSE), 0.5, 0.0);
  gint64 one = 1;
  TlValue *bias = tl_build_param (b, "bias", TL_DTYPE_F32, 1, &one, TL_INIT_ZEROS, 0, TRUE);
  TlValue *z = tl_add (g, tl_add (g, fives_first_order (b, fields, "w", FALSE), pair), bias);
  fives_binary_head (b, z, m->label);
  return tl_graph_take_error (g, error);
}

static gboolean
mlp_build (TlModel *model, TlBuild *b, GError **error)
{
  Net *m = (Net *) model;
  TlGraph *g = tl_build_graph (b);
  gint64 batch = tl_build_batch_size (b);
  g_autoptr (GPtrArray) fields = fives_categorical_fields (b, m->label, error);
  if (!fields)
    return FALSE;
  TlValue *e = fives_stack_embeddings (b, fields, "emb", m->dim, TL_INIT_NORMAL, 0.01, FALSE);
  gint64 width = (gint64) fields->len * m->dim;
  gint64 s2[2] = { batch, width };
  TlValue *h = tl_reshape (g, e, 2, s2);
  for (guint i = 0; i <= m->hidden->len; i++) {
    gint64 out = i < m->hidden->len ? g_array_index (m->hidden, gint64, i) : 1;
    g_autofree char *wn = g_strdup_printf ("fc%u.weight", i + 1);
    g_autofree char *bn = g_strdup_printf ("fc%u.bias", i + 1);
    gint64 ws[2] = { out, width };
    TlValue *w = tl_build_param (b, wn, TL_DTYPE_F32, 2, ws, TL_INIT_KAIMING_UNIFORM, 0, TRUE);
    TlValue *bias = tl_build_param (b, bn, TL_DTYPE_F32, 1, &out, TL_INIT_KAIMING_UNIFORM, (double) width,
                                    TRUE);
    h = tl_linear (g, h, w, bias);
    if (i < m->hidden->len)
      h = tl_relu (g, h);
    width = out;
  }
  TlValue *z = tl_add (g, tl_reshape (g, h, 1, &batch), fives_first_order (b, fields, "w", FALSE));
  fives_binary_head (b, z, m->label);
  return tl_graph_take_error (g, error);
}

static const void *
net_extension (const char *id)
{
  return g_strcmp0 (id, TL_MODEL_EXT_SAMPLE_DATA) == 0 ? &fives_sample_data : NULL;
}

const TlModelDef fives_fm_def = {
  TL_TABLE_INIT (TlModelDef),
  .create = net_create,
  .destroy = net_destroy,
  .build = fm_build,
  .get_extension = net_extension,
};

const TlModelDef fives_mlp_def = {
  TL_TABLE_INIT (TlModelDef),
  .create = net_create,
  .destroy = net_destroy,
  .build = mlp_build,
  .get_extension = net_extension,
};
