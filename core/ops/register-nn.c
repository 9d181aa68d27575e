/* register-nn.c — registers the neural-network op set (matmul, conv, pool,
 * gather/embedding, spmm, dropout) and holds the small helpers they share. */
#include "config.h"

#include "ops-common.h"
#include "ops-nn.h"

gboolean
_tl_priv_nn_check_indices (const char *op, const TlTensor *idx, gint64 bound, GError **error)
{
  const void *p = tl_tensor_const_data (idx);
  TlDType dt = tl_tensor_dtype (idx);
  gint64 n = tl_tensor_numel (idx);

  if (!_tl_nn_is_index_dtype (dt)) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "%s: indices must be i32 or i64, got %s", op,
                 tl_dtype_name (dt));
    return FALSE;
  }
  for (gint64 i = 0; i < n; i++) {
    gint64 v = _tl_nn_index_at (p, dt, i);
    if (G_UNLIKELY (v < 0 || v >= bound)) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "%s: index %" G_GINT64_FORMAT " at position %" G_GINT64_FORMAT
                   " is out of range [0, %" G_GINT64_FORMAT ")",
                   op, v, i, bound);
      return FALSE;
    }
  }
  return TRUE;
}

gboolean
_tl_priv_nn_n_out (const char *op, guint n, uint32_t max_out, uint32_t *n_out, GError **error)
{
  if (max_out < n) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "%s: room for %u outputs, the op has %u", op, max_out, n);
    return FALSE;
  }
  if (n_out)
    *n_out = n;
  return TRUE;
}

gboolean
_tl_priv_nn_check_dy (const char *op, const TlTensorDesc *dy, const TlTensorDesc *expect, GError **error)
{
  if (tl_tensor_desc_equal (expect, dy))
    return TRUE;
  g_autofree char *a = tl_tensor_desc_to_string (dy);
  g_autofree char *b = tl_tensor_desc_to_string (expect);
  g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "%s: dy is %s, expected %s", op, a, b);
  return FALSE;
}

void
_tl_priv_nn_cost_io (const TlOpCall *call, const TlTensorDesc *out, guint n_out, double flops,
                     TlOpCost *cost)
{
  _tl_priv_ops_cost_default (call, out, n_out, 0.0, cost);
  cost->flops = flops;
}

/**
 * _tl_priv_ops_nn_register:
 * @error: return location for a #GError
 *
 * Registers the built-in neural-network ops with the op registry. Called
 * once by tl_init().
 *
 * Returns: %TRUE on success.
 */
gboolean
_tl_priv_ops_nn_register (GError **error)
{
  const TlOpDef *const *(*sets[]) (guint *) = {
    _tl_priv_nn_matmul_defs, _tl_priv_nn_conv_defs, _tl_priv_nn_pool_defs,
    _tl_priv_nn_gather_defs, _tl_priv_nn_spmm_defs, _tl_priv_nn_dropout_defs,
  };

  for (guint s = 0; s < G_N_ELEMENTS (sets); s++) {
    guint n = 0;
    const TlOpDef *const *defs = sets[s](&n);
    if (!_tl_priv_ops_register_all (defs, n, error))
      return FALSE;
  }
  return TRUE;
}
