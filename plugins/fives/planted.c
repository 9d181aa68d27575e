/* planted.c — "fives.planted": synthetic tabular data with planted feature
 * interactions, the ground truth for the FIVES acceptance tests.
 *
 * Fields "f0".."f<n-1>" (i64, categorical with `cardinality` values, uniform)
 * and "label" (i64 0/1, cardinality 2). The label is Bernoulli(sigmoid(z)):
 *
 *   z = bias + main * sum_f m_f[x_f]
 *       + pair_strength * sum_{(a,b) in pairs} P_ab[x_a, x_b]
 *       + triple_strength * sum_{(a,b,c) in triples} u_a[x_a] u_b[x_b] u_c[x_c]
 *       + noise * N(0, 1)
 *
 * P_ab is a random table with zero row and column means and unit variance
 * (a pure pairwise interaction); u are unit-variance random vectors of mean
 * `triple_heredity` (h): the triple then also has pairwise effects of scale
 * h (and main effects h^2), the "heredity" FIVES assumes (an order-k
 * interaction is built on order-(k-1) ones). h = 0 plants a pure three-way
 * interaction without any pairwise marginal. The
 * problem (tables) depends on `seed` only; the rows on (seed, split).
 */
#include <math.h>
#include <string.h>

#include "fives-private.h"

#define MAX_FIELDS 1024

struct _TlDataset {
  guint n_fields;
  gint64 card;
  gint64 n_rows;
  TlField *fields; /* n_fields + 1 (label last) */
  char **names;
  gint64 *x;       /* [n_rows, n_fields] */
  gint64 *y;       /* [n_rows] */
};

static void
planted_close (TlDataset *ds)
{
  if (!ds)
    return;
  g_strfreev (ds->names);
  g_free (ds->fields);
  g_free (ds->x);
  g_free (ds->y);
  g_free (ds);
}

/* Parse "1+2,3+4" into groups of `order` field indices < n. */
static GArray *
parse_groups (const char *text, guint order, guint n, const char *what, GError **error)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (guint));
  g_auto (GStrv) items = g_strsplit (text ? text : "", ",", -1);
  for (guint i = 0; items[i]; i++) {
    g_strstrip (items[i]);
    if (!*items[i])
      continue;
    g_auto (GStrv) ids = g_strsplit (items[i], "+", -1);
    if (g_strv_length (ids) != order) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "%s: '%s' must have %u field indices joined by '+'",
                   what, items[i], order);
      g_array_unref (out);
      return NULL;
    }
    for (guint k = 0; k < order; k++) {
      char *end = NULL;
      guint64 v = g_ascii_strtoull (g_strstrip (ids[k]), &end, 10);
      if (!*ids[k] || *end || v >= n) {
        g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "%s: '%s' is not a field index below %u",
                     what, ids[k], n);
        g_array_unref (out);
        return NULL;
      }
      guint u = (guint) v;
      g_array_append_val (out, u);
    }
  }
  return out;
}

/* Zero-mean unit-variance vector of length n. */
static void
centred (TlRng *rng, double *v, gint64 n)
{
  double mean = 0, var = 0;
  for (gint64 i = 0; i < n; i++) {
    v[i] = tl_rng_normal (rng);
    mean += v[i];
  }
  mean /= (double) n;
  for (gint64 i = 0; i < n; i++) {
    v[i] -= mean;
    var += v[i] * v[i];
  }
  double sd = sqrt (var / (double) n);
  for (gint64 i = 0; i < n; i++)
    v[i] = sd > 0 ? v[i] / sd : 0;
}

/* Random n x n table with zero row and column means, unit variance. */
static void
pure_pair (TlRng *rng, double *t, gint64 n)
{
  double var = 0;
  for (gint64 i = 0; i < n * n; i++)
    t[i] = tl_rng_normal (rng);
  for (gint64 i = 0; i < n; i++) {
    double m = 0;
    for (gint64 j = 0; j < n; j++)
      m += t[i * n + j];
    for (gint64 j = 0; j < n; j++)
      t[i * n + j] -= m / (double) n;
  }
  for (gint64 j = 0; j < n; j++) {
    double m = 0;
    for (gint64 i = 0; i < n; i++)
      m += t[i * n + j];
    for (gint64 i = 0; i < n; i++)
      t[i * n + j] -= m / (double) n;
  }
  for (gint64 i = 0; i < n * n; i++)
    var += t[i] * t[i];
  double sd = sqrt (var / (double) (n * n));
  for (gint64 i = 0; i < n * n; i++)
    t[i] = sd > 0 ? t[i] / sd : 0;
}

static TlDataset *
planted_open (const TlParams *params, GError **error)
{
  gint64 nf = tl_params_get_int (params, "n_fields", 10);
  gint64 card = tl_params_get_int (params, "cardinality", 8);
  gint64 n_rows = tl_params_get_int (params, "n_rows", 10000);
  guint64 seed = (guint64) tl_params_get_int (params, "seed", 1);
  guint64 split = (guint64) tl_params_get_int (params, "split", 0);
  double main_s = tl_params_get_float (params, "main_strength", 0.3);
  double pair_s = tl_params_get_float (params, "pair_strength", 2.0);
  double triple_s = tl_params_get_float (params, "triple_strength", 1.5);
  double noise = tl_params_get_float (params, "noise", 0.0);
  double bias = tl_params_get_float (params, "bias", 0.0);
  double heredity = tl_params_get_float (params, "triple_heredity", 0.5);
  if (nf < 2 || nf > MAX_FIELDS || card < 2 || card > 1000000 || n_rows < 1 || n_rows > 100000000) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "fives.planted: n_fields must be 2..%d, cardinality 2..1000000, n_rows 1..1e8", MAX_FIELDS);
    return NULL;
  }
  g_autoptr (GArray) pairs = parse_groups (tl_params_get_string (params, "pairs", "1+2,3+4"), 2, (guint) nf,
                                           "pairs", error);
  if (!pairs)
    return NULL;
  g_autoptr (GArray) triples = parse_groups (tl_params_get_string (params, "triples", "5+6+7"), 3,
                                             (guint) nf, "triples", error);
  if (!triples)
    return NULL;

  TlDataset *ds = g_new0 (TlDataset, 1);
  ds->n_fields = (guint) nf;
  ds->card = card;
  ds->n_rows = n_rows;
  ds->x = g_try_new (gint64, (gsize) (n_rows * nf));
  ds->y = g_try_new (gint64, (gsize) n_rows);
  if (!ds->x || !ds->y) {
    g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY, "fives.planted: cannot allocate %" G_GINT64_FORMAT " rows",
                 n_rows);
    planted_close (ds);
    return NULL;
  }
  ds->names = g_new0 (char *, nf + 2);
  ds->fields = g_new0 (TlField, nf + 1);
  for (guint f = 0; f <= (guint) nf; f++) {
    ds->names[f] = f < (guint) nf ? g_strdup_printf ("f%u", f) : g_strdup ("label");
    ds->fields[f].name = ds->names[f];
    ds->fields[f].dtype = TL_DTYPE_I64;
    ds->fields[f].ndim = 0;
    ds->fields[f].cardinality = f < (guint) nf ? card : 2;
  }

  /* The problem: depends on seed only. */
  guint n_pairs = pairs->len / 2, n_triples = triples->len / 3;
  double n_pair_cells = (double) n_pairs * (double) card * (double) card;
  g_autofree double *mains = g_try_new (double, (gsize) (nf * card));
  /* Tables only for the interactions planted: none for pairs="" (or
   * triples=""), whatever the cardinality. */
  g_autofree double *ptab = NULL;
  g_autofree double *tvec = NULL;
  if (n_pairs > 0 && n_pair_cells <= 1e8)
    ptab = g_try_new (double, (gsize) n_pair_cells);
  if (n_triples > 0)
    tvec = g_try_new (double, (gsize) n_triples * 3 * (gsize) card);
  if (n_pairs > 0 && !ptab) {
    g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY,
                 "fives.planted: cannot allocate the interaction tables (%u pairs of %" G_GINT64_FORMAT
                 " x %" G_GINT64_FORMAT " values)", n_pairs, card, card);
    planted_close (ds);
    return NULL;
  }
  if (!mains || (n_triples > 0 && !tvec)) {
    g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY,
                 "fives.planted: cannot allocate the effect tables (%" G_GINT64_FORMAT " fields, %u triples, %"
                 G_GINT64_FORMAT " values each)", nf, n_triples, card);
    planted_close (ds);
    return NULL;
  }
  TlRng rng;
  tl_rng_init (&rng, seed, 0);
  for (gint64 i = 0; i < nf; i++)
    centred (&rng, mains + i * card, card);
  for (guint p = 0; p < n_pairs; p++)
    pure_pair (&rng, ptab + (gint64) p * card * card, card);
  for (guint t = 0; t < n_triples * 3; t++) {
    centred (&rng, tvec + (gint64) t * card, card);
    for (gint64 c = 0; c < card; c++)
      tvec[(gint64) t * card + c] += heredity;
  }

  /* The rows: depend on (seed, split). */
  tl_rng_init (&rng, seed, 1 + split);
  for (gint64 r = 0; r < n_rows; r++) {
    gint64 *x = ds->x + r * nf;
    double z = bias;
    for (gint64 f = 0; f < nf; f++) {
      x[f] = (gint64) tl_rng_below (&rng, (guint64) card);
      z += main_s * mains[f * card + x[f]];
    }
    for (guint p = 0; p < n_pairs; p++) {
      guint a = g_array_index (pairs, guint, 2 * p), b = g_array_index (pairs, guint, 2 * p + 1);
      z += pair_s * ptab[(gint64) p * card * card + x[a] * card + x[b]];
    }
    for (guint t = 0; t < n_triples; t++) {
      double prod = 1;
      for (guint k = 0; k < 3; k++)
        prod *= tvec[(gint64) (3 * t + k) * card + x[g_array_index (triples, guint, 3 * t + k)]];
      z += triple_s * prod;
    }
    if (noise > 0)
      z += noise * tl_rng_normal (&rng);
    double p1 = 1.0 / (1.0 + exp (-z));
    ds->y[r] = tl_rng_uniform (&rng) < p1 ? 1 : 0;
  }
  return ds;
}

static uint32_t
planted_n_fields (TlDataset *ds)
{
  return ds->n_fields + 1;
}

static const TlField *
planted_field (TlDataset *ds, uint32_t i)
{
  return i <= ds->n_fields ? &ds->fields[i] : NULL;
}

static int64_t
planted_size (TlDataset *ds)
{
  return ds->n_rows;
}

static gboolean
planted_read (TlDataset *ds, int64_t n_rows, const int64_t *rows, TlTensor *const *fields, GError **error)
{
  for (guint f = 0; f <= ds->n_fields; f++) {
    gint64 *out = tl_tensor_data (fields[f]);
    for (gint64 i = 0; i < n_rows; i++) {
      gint64 r = rows[i];
      if (r < 0 || r >= ds->n_rows) {
        g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "fives.planted: row %" G_GINT64_FORMAT
                     " out of range (%" G_GINT64_FORMAT " rows)", r, ds->n_rows);
        return FALSE;
      }
      out[i] = f < ds->n_fields ? ds->x[r * ds->n_fields + f] : ds->y[r];
    }
  }
  return TRUE;
}

const TlDatasetDef fives_planted_def = {
  TL_TABLE_INIT (TlDatasetDef),
  .open = planted_open,
  .close = planted_close,
  .n_fields = planted_n_fields,
  .field = planted_field,
  .size = planted_size,
  .read = planted_read,
};
