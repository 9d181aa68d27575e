/* parity-input.c — inputs and attrs of a parity case (tests/parity/parity.h),
 * shared by tl-parity-dump (PyTorch parity) and tests/gpu/parity.c (CPU vs
 * CUDA), so both draw the same values from the same case tables. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "parity.h"

/**
 * tl_parity_parse_attrs:
 * @spec: (nullable): "k=v;k=[..];k='s'" (v: an int, or a float when it has
 *   '.', 'e' or "inf")
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the attrs (tl_attrs_free), or NULL
 * with TL_ERROR_PARSE.
 */
TlAttrs *
tl_parity_parse_attrs (const char *spec, GError **error)
{
  TlAttrs *a = tl_attrs_new ();
  if (!spec || !*spec)
    return a;
  g_auto (GStrv) items = g_strsplit (spec, ";", -1);
  for (guint i = 0; items[i]; i++) {
    char *eq = strchr (items[i], '=');
    if (!*g_strstrip (items[i]))
      continue;
    if (!eq) {
      g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "attrs '%s': missing '=' in '%s'", spec, items[i]);
      tl_attrs_free (a);
      return NULL;
    }
    *eq = '\0';
    const char *key = g_strstrip (items[i]);
    char *val = g_strstrip (eq + 1);
    gboolean is_float = strpbrk (val, ".eE") != NULL || strstr (val, "inf") != NULL;
    if (val[0] == '\'') {
      gsize len = strlen (val);
      if (len >= 2 && val[len - 1] == '\'')
        val[len - 1] = '\0';
      tl_attrs_set_string (a, key, val + 1);
    } else if (val[0] == '[') {
      g_auto (GStrv) parts = g_strsplit_set (val, "[], ", -1);
      GArray *iv = g_array_new (FALSE, FALSE, sizeof (gint64));
      GArray *fv = g_array_new (FALSE, FALSE, sizeof (double));
      for (guint k = 0; parts[k]; k++) {
        if (!*parts[k])
          continue;
        gint64 x = g_ascii_strtoll (parts[k], NULL, 10);
        double d = g_ascii_strtod (parts[k], NULL);
        g_array_append_val (iv, x);
        g_array_append_val (fv, d);
      }
      if (is_float)
        tl_attrs_set_floats (a, key, fv->len, (const double *) fv->data);
      else
        tl_attrs_set_ints (a, key, iv->len, (const gint64 *) iv->data);
      g_array_free (iv, TRUE);
      g_array_free (fv, TRUE);
    } else if (is_float) {
      tl_attrs_set_float (a, key, g_ascii_strtod (val, NULL));
    } else {
      tl_attrs_set_int (a, key, g_ascii_strtoll (val, NULL, 10));
    }
  }
  return a;
}

static int
cmp_i64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
}

/* CSR row pointers of in->a entries over shape[0] - 1 rows: 0, then sorted
 * uniform cut points in [0, nnz], then nnz. */
static TlTensor *
make_indptr (TlRng *rng, const TlParityInput *in)
{
  gint64 nnz = (gint64) in->a, n = in->shape[0];
  if (in->ndim != 1 || n < 1 || nnz < 0)
    return NULL;
  g_autofree gint64 *p = g_new0 (gint64, n);
  for (gint64 i = 1; i + 1 < n; i++)
    p[i] = (gint64) tl_rng_below (rng, (guint64) nnz + 1);
  p[n - 1] = nnz;
  qsort (p, n, sizeof *p, cmp_i64);
  TlTensor *t = tl_tensor_new (in->dtype, 1, in->shape, NULL);
  for (gint64 i = 0; t && i < n; i++)
    tl_tensor_set_flat (t, i, (double) p[i]);
  return t;
}

/**
 * tl_parity_make_input:
 * @rng: the case's generator
 * @in: what to draw
 *
 * Returns: (transfer full) (nullable): a new host tensor drawn as @in says
 * (NULL on a malformed CSR input or out of memory).
 */
TlTensor *
tl_parity_make_input (TlRng *rng, const TlParityInput *in)
{
  double a = in->a != 0 ? in->a : 1.0;
  TlTensor *t;
  if (in->init == TL_PARITY_INT)
    return tl_test_randint (rng, (gint64) in->a, (gint64) in->b, in->dtype, in->ndim, in->shape);
  if (in->init == TL_PARITY_CSR_INDPTR)
    return make_indptr (rng, in);
  t = tl_test_randn (rng, in->ndim, in->shape, a);
  if (!t)
    return NULL;
  float *p = tl_tensor_data (t);
  for (gint64 i = 0; i < tl_tensor_numel (t); i++) {
    if (in->init == TL_PARITY_POSITIVE)
      p[i] = 0.5f + (p[i] < 0 ? -p[i] : p[i]);
    else if (in->init == TL_PARITY_AWAY)
      p[i] += p[i] >= 0 ? 0.1f : -0.1f;
    else if (in->init == TL_PARITY_BERNOULLI)
      p[i] = p[i] > 0 ? 1.0f : 0.0f;
  }
  if (in->dtype != TL_DTYPE_F32) {
    TlTensor *c = tl_tensor_cast (t, in->dtype, NULL);
    tl_tensor_unref (t);
    t = c;
  }
  return t;
}
