/* train-fixture.c — a tiny in-memory dataset and model for the training tests. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "train-fixture.h"

guint fixture_step_end_calls;

struct _TlDataset {
  gint64 rows, dim, classes;
  gboolean binary;
  float *x;
  gint64 *label;
  TlField fields[2];
};

static TlDataset *
ds_open (const TlParams *p, GError **error)
{
  TlDataset *d = g_new0 (TlDataset, 1);
  d->rows = tl_params_get_int (p, "rows", 64);
  d->dim = tl_params_get_int (p, "dim", 3);
  d->classes = tl_params_get_int (p, "classes", 3);
  d->binary = tl_params_get_bool (p, "binary", FALSE);
  guint64 seed = (guint64) tl_params_get_int (p, "seed", 1);
  if (d->rows < 0 || d->dim <= 0 || d->classes < 2) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "fixture: bad params");
    g_free (d);
    return NULL;
  }
  d->x = g_new0 (float, d->rows * d->dim + 1);
  d->label = g_new0 (gint64, d->rows + 1);
  TlRng rng;
  tl_rng_init (&rng, seed, 99);
  for (gint64 r = 0; r < d->rows; r++) {
    for (gint64 k = 0; k < d->dim; k++)
      d->x[r * d->dim + k] = tl_rng_normal (&rng);
    /* class = argmax_c sum_k x_k * cos(c + k) */
    gint64 best = 0;
    double bv = -1e30;
    for (gint64 c = 0; c < d->classes; c++) {
      double s = 0;
      for (gint64 k = 0; k < d->dim; k++)
        s += d->x[r * d->dim + k] * cos ((double) (c * 2 + k));
      if (s > bv) {
        bv = s;
        best = c;
      }
    }
    d->label[r] = d->binary ? (d->x[r * d->dim] + 0.5 * d->x[r * d->dim + (d->dim > 1)] > 0) : best;
  }
  if (tl_params_get_bool (p, "bad_label", FALSE) && d->rows > 0)
    d->label[0] = d->classes; /* out of the declared cardinality */
  d->fields[0].name = "x";
  d->fields[0].dtype = TL_DTYPE_F32;
  d->fields[0].ndim = 1;
  d->fields[0].shape[0] = d->dim;
  d->fields[0].cardinality = -1;
  d->fields[1].name = "label";
  d->fields[1].dtype = d->binary ? TL_DTYPE_F32 : TL_DTYPE_I64;
  d->fields[1].ndim = 0;
  d->fields[1].cardinality = d->binary ? -1 : d->classes;
  return d;
}

static void
ds_close (TlDataset *d)
{
  if (!d)
    return;
  g_free (d->x);
  g_free (d->label);
  g_free (d);
}

static uint32_t
ds_n_fields (TlDataset *d)
{
  (void) d;
  return 2;
}

static const TlField *
ds_field (TlDataset *d, uint32_t i)
{
  return i < 2 ? &d->fields[i] : NULL;
}

static int64_t
ds_size (TlDataset *d)
{
  return d->rows;
}

static gboolean
ds_read (TlDataset *d, int64_t n, const int64_t *rows, TlTensor *const *out, GError **error)
{
  (void) error;
  float *x = tl_tensor_data (out[0]);
  for (int64_t i = 0; i < n; i++) {
    memcpy (x + i * d->dim, d->x + rows[i] * d->dim, sizeof (float) * (gsize) d->dim);
    if (d->binary)
      ((float *) tl_tensor_data (out[1]))[i] = (float) d->label[rows[i]];
    else
      ((gint64 *) tl_tensor_data (out[1]))[i] = d->label[rows[i]];
  }
  return TRUE;
}

const TlDatasetDef fixture_dataset_def = {
  TL_TABLE_INIT (TlDatasetDef),
  .open = ds_open,
  .close = ds_close,
  .n_fields = ds_n_fields,
  .field = ds_field,
  .size = ds_size,
  .read = ds_read,
};

struct _TlModel {
  gint64 hidden;
  gboolean extra;
  double dropout;
};

static TlModel *
m_create (const TlParams *p, GError **error)
{
  (void) error;
  TlModel *m = g_new0 (TlModel, 1);
  m->hidden = tl_params_get_int (p, "hidden", 0);
  m->extra = tl_params_get_bool (p, "extra", FALSE);
  m->dropout = tl_params_get_float (p, "dropout", 0);
  return m;
}

static void
m_destroy (TlModel *m)
{
  g_free (m);
}

static gboolean
m_build (TlModel *m, TlBuild *b, GError **error)
{
  TlGraph *g = tl_build_graph (b);
  TlValue *x = tl_build_input (b, "x");
  const TlTensorDesc *xd = tl_build_field_desc (b, "x");
  const TlTensorDesc *ld = tl_build_field_desc (b, "label");
  gboolean binary = ld && ld->dtype == TL_DTYPE_F32;
  gint64 d = xd ? xd->shape[0] : 1;
  gint64 c = binary ? 1 : tl_build_field_cardinality (b, "label");
  gint64 in = d;
  if (m->hidden > 0) {
    TlValue *w1 = tl_build_param (b, "fc1.weight", TL_DTYPE_F32, 2, (gint64[]){ m->hidden, d },
                                  TL_INIT_KAIMING_UNIFORM, 0, TRUE);
    TlValue *b1 = tl_build_param (b, "fc1.bias", TL_DTYPE_F32, 1, (gint64[]){ m->hidden },
                                  TL_INIT_KAIMING_UNIFORM, (double) d, TRUE);
    x = tl_relu (g, tl_linear (g, x, w1, b1));
    if (m->dropout > 0 && tl_build_mode (b) == TL_MODE_TRAIN)
      x = tl_dropout (g, x, m->dropout);
    in = m->hidden;
  }
  if (m->extra)
    tl_build_param (b, "extra.weight", TL_DTYPE_F32, 1, (gint64[]){ 2 }, TL_INIT_ZEROS, 0, FALSE);
  TlValue *w2 = tl_build_param (b, "fc2.weight", TL_DTYPE_F32, 2, (gint64[]){ c, in },
                                TL_INIT_KAIMING_UNIFORM, 0, TRUE);
  TlValue *b2 = tl_build_param (b, "fc2.bias", TL_DTYPE_F32, 1, (gint64[]){ c },
                                TL_INIT_KAIMING_UNIFORM, (double) in, TRUE);
  TlValue *logits = tl_linear (g, x, w2, b2);
  if (binary) {
    logits = tl_reshape (g, logits, 1, (gint64[]){ tl_build_batch_size (b) });
    tl_build_set_prediction (b, logits, TL_TASK_BINARY, "label");
  } else {
    tl_build_set_prediction (b, logits, TL_TASK_MULTICLASS, "label");
  }
  if (tl_build_mode (b) != TL_MODE_PREDICT) {
    TlValue *y = tl_build_input (b, "label");
    tl_build_set_loss (b, binary ? tl_bce_with_logits (g, logits, y) : tl_cross_entropy (g, logits, y));
  }
  return tl_graph_take_error (g, error);
}

static gboolean
m_step_end (TlModel *m, TlParamStore *store, guint64 step, GError **error)
{
  (void) m;
  (void) store;
  (void) step;
  (void) error;
  fixture_step_end_calls++;
  return TRUE;
}

const TlModelDef fixture_model_def = {
  TL_TABLE_INIT (TlModelDef),
  .create = m_create,
  .destroy = m_destroy,
  .build = m_build,
  .step_end = m_step_end,
};

TlDatasetInstance *
fixture_dataset (gint64 rows, gint64 dim, gint64 classes, guint64 seed, gboolean binary)
{
  GError *error = NULL;
  TlParams *p = tl_params_new ();
  tl_params_set_int (p, "rows", rows);
  tl_params_set_int (p, "dim", dim);
  tl_params_set_int (p, "classes", classes);
  tl_params_set_int (p, "seed", (gint64) seed);
  tl_params_set_bool (p, "binary", binary);
  TlDatasetInstance *d = tl_dataset_instance_new (&fixture_dataset_def, "test.mem", p, &error);
  g_assert_no_error (error);
  tl_params_free (p);
  return d;
}

TlModelInstance *
fixture_model (gint64 hidden, gboolean extra, double dropout, guint64 seed)
{
  GError *error = NULL;
  TlParams *p = tl_params_new ();
  tl_params_set_int (p, "hidden", hidden);
  tl_params_set_bool (p, "extra", extra);
  tl_params_set_float (p, "dropout", dropout);
  TlModelInstance *m = tl_model_instance_new (&fixture_model_def, "test.tiny", p, seed, &error);
  g_assert_no_error (error);
  tl_params_free (p);
  return m;
}

char *
fixture_tmpdir (void)
{
  return g_dir_make_tmp ("tl-train-XXXXXX", NULL);
}
