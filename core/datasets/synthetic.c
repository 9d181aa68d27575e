/* synthetic.c — "tl.synthetic": gaussian blobs for tests and demos.
 *
 * n_classes centres are drawn from N(0, separation^2) per feature; row i
 * gets a label drawn uniformly and features centre[label] + noise * N(0, 1).
 * Everything comes from the counter-based RNG, so (seed, params) fixes the
 * data on every platform. features_name renames "features" (e.g. to
 * "image", the default input of tl.mlp and tl.convnet). The centres depend on seed only, the rows on
 * (seed, split): split=0 for training and split=1 for a held-out test set
 * give two samples of the same problem. Fields: "features" f32[n_features], "label" i64
 * (cardinality n_classes).
 */
#include "config.h"

#include "columns.h"
#include "builtin/tl-builtin.h"

static TlDataset *
synthetic_open (const TlParams *params, GError **error)
{
  gint64 n_rows = tl_params_get_int (params, "n_rows", 1000);
  gint64 n_features = tl_params_get_int (params, "n_features", 8);
  gint64 n_classes = tl_params_get_int (params, "n_classes", 2);
  guint64 seed = (guint64) tl_params_get_int (params, "seed", 1);
  double noise = tl_params_get_float (params, "noise", 1.0);
  double separation = tl_params_get_float (params, "separation", 2.0);
  gint64 split = tl_params_get_int (params, "split", 0);
  const char *features_name = tl_params_get_string (params, "features_name", "features");

  if (!features_name || !*features_name || g_str_equal (features_name, "label")) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "tl.synthetic: features_name must be a non-empty name other than 'label'");
    return NULL;
  }
  if (n_rows < 1 || n_features < 1 || n_classes < 2 || n_features > (1 << 20) ||
      n_classes > (1 << 20)) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "tl.synthetic: need n_rows >= 1, 1 <= n_features <= 2^20, "
                 "2 <= n_classes <= 2^20");
    return NULL;
  }
  if ((guint64) n_features * (guint64) n_classes > (1u << 26)) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "tl.synthetic: n_features * n_classes is too large");
    return NULL;
  }

  g_autoptr (TlDataset) ds = _tl_priv_columns_new (n_rows);
  float *x = _tl_priv_columns_add (ds, features_name, TL_DTYPE_F32, 1, &n_features, -1, error);
  if (!x)
    return NULL;
  gint64 *y = _tl_priv_columns_add (ds, "label", TL_DTYPE_I64, 0, NULL, n_classes, error);
  if (!y)
    return NULL;

  g_autofree float *centres = g_new (float, n_classes * n_features);
  TlRng rng;
  tl_rng_init (&rng, seed, 0);
  for (gint64 i = 0; i < n_classes * n_features; i++)
    centres[i] = (float) (separation * tl_rng_normal (&rng));
  tl_rng_init (&rng, seed, 1 + (guint64) MAX (split, 0));
  for (gint64 r = 0; r < n_rows; r++) {
    gint64 k = (gint64) tl_rng_below (&rng, (guint64) n_classes);
    y[r] = k;
    for (gint64 j = 0; j < n_features; j++)
      x[r * n_features + j] = centres[k * n_features + j] + (float) (noise * tl_rng_normal (&rng));
  }
  return g_steal_pointer (&ds);
}

const TlDatasetDef _tl_priv_synthetic_dataset = {
  TL_PRIV_COLUMNS_DATASET (synthetic_open),
};
