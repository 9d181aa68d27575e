/* register-basic.c — registers the basic built-in op set (elementwise,
 * reductions, softmax, layer norm, shape ops, losses). */
#include "config.h"

#include "ops-common.h"

typedef const TlOpDef *const *(*DefsFn) (guint *n);

/**
 * _tl_priv_ops_basic_register:
 * @error: return location for a #GError
 *
 * Registers every op of the basic set through tl_op_register(). Called once by tl_init().
 * Returns: FALSE with @error set when a registration fails.
 */
gboolean
_tl_priv_ops_basic_register (GError **error)
{
  static const DefsFn sets[] = {
    _tl_priv_ops_elementwise_defs,
    _tl_priv_ops_reduce_defs,
    _tl_priv_ops_shape_defs,
    _tl_priv_ops_softmax_defs,
    _tl_priv_ops_layernorm_defs,
    _tl_priv_ops_loss_defs,
  };
  for (guint i = 0; i < G_N_ELEMENTS (sets); i++) {
    guint n = 0;
    const TlOpDef *const *defs = sets[i](&n);
    if (!_tl_priv_ops_register_all (defs, n, error))
      return FALSE;
  }
  return TRUE;
}
