/* cases-basic.c — parity cases for the basic op set (see parity.h). */
#include "config.h"

#include "parity.h"

#define F TL_PARITY_F32
#define P TL_PARITY_POS
#define A TL_PARITY_AWAY0

static const TlParityCase cases[] = {
  /* unary */
  { "neg", "neg", 1, { F (2, 4, 5) } },
  { "exp", "exp", 1, { F (2, 4, 5) } },
  { "log", "log", 1, { P (2, 4, 5) } },
  { "sqrt", "sqrt", 1, { P (2, 4, 5) } },
  { "rsqrt", "rsqrt", 1, { P (2, 4, 5) } },
  { "abs", "abs", 1, { A (2, 4, 5) } },
  { "square", "square", 1, { F (2, 4, 5) } },
  { "relu", "relu", 1, { A (2, 4, 5) } },
  { "gelu", "gelu", 1, { F (3, 2, 3, 5) } },
  { "tanh", "tanh", 1, { F (2, 4, 5) } },
  { "sigmoid", "sigmoid", 1, { F (2, 4, 5) } },
  { "affine_scalar", "affine_scalar", 1, { F (2, 4, 5) }, "scale=2.5;bias=-1.0" },
  { "cast_i32_f32", "cast", 1, { TL_PARITY_INTS (TL_DTYPE_I32, -50, 50, 2, 3, 4) }, "dtype='f32'" },
  { "cast_i64_f32", "cast", 1, { TL_PARITY_INTS (TL_DTYPE_I64, -50, 50, 1, 7) }, "dtype='f32'" },
  { "zeros_like", "zeros_like", 1, { F (2, 3, 2) } },
  { "ones_like", "ones_like", 1, { F (2, 3, 2) } },
  /* binary, same shape and broadcasting */
  { "add", "add", 2, { F (2, 3, 4), F (2, 3, 4) } },
  { "add_bcast", "add", 2, { F (3, 2, 3, 4), F (1, 4) } },
  { "add_bcast2", "add", 2, { F (2, 3, 1), F (2, 1, 4) } },
  { "add_scalar", "add", 2, { F (2, 3, 4), F (0, 0) } },
  { "add_i32", "add", 2, { TL_PARITY_INTS (TL_DTYPE_I32, -9, 9, 2, 3, 4), TL_PARITY_INTS (TL_DTYPE_I32, -9, 9, 1, 4) } },
  { "mul_i64", "mul", 2, { TL_PARITY_INTS (TL_DTYPE_I64, -9, 9, 2, 3, 4), TL_PARITY_INTS (TL_DTYPE_I64, -9, 9, 2, 3, 4) } },
  { "sub", "sub", 2, { F (2, 3, 4), F (2, 3, 4) } },
  { "sub_bcast", "sub", 2, { F (1, 4), F (3, 2, 3, 4) } },
  { "mul", "mul", 2, { F (2, 3, 4), F (2, 3, 4) } },
  { "mul_bcast", "mul", 2, { F (3, 2, 1, 4), F (2, 3, 1) } },
  { "div", "div", 2, { F (2, 3, 4), P (2, 3, 4) } },
  { "div_bcast", "div", 2, { F (2, 3, 4), P (1, 4) } },
  { "maximum", "maximum", 2, { F (2, 3, 4), F (2, 3, 4) } },
  { "maximum_bcast", "maximum", 2, { F (2, 3, 4), F (1, 4) } },
  { "minimum", "minimum", 2, { F (2, 3, 4), F (2, 3, 4) } },
  { "minimum_bcast", "minimum", 2, { F (3, 2, 3, 4), F (2, 3, 1) } },
  { "pow", "pow", 2, { P (2, 3, 4), F (2, 3, 4) } },
  { "pow_bcast", "pow", 2, { P (2, 3, 4), F (0, 0) } },
  /* integer bases and exponents in [0, 3): 0^0, 0^b and a^0 (torch's zero gradients there) */
  { "pow_zero_base", "pow", 2, { TL_PARITY_INTS (TL_DTYPE_F32, 0, 3, 2, 4, 6), TL_PARITY_INTS (TL_DTYPE_F32, 0, 3, 2, 4, 6) } },
  /* reductions */
  { "sum_all", "sum", 1, { F (3, 2, 3, 4) } },
  { "sum_ax1", "sum", 1, { F (3, 2, 3, 4) }, "axes=[1];keepdims=0" },
  { "sum_ax02_keep", "sum", 1, { F (3, 2, 3, 4) }, "axes=[0,2];keepdims=1" },
  { "sum_big", "sum", 1, { F (2, 70, 1100) }, "axes=[-1]", 1e-4 },
  { "mean_all", "mean", 1, { F (3, 2, 3, 4) } },
  { "mean_ax1_keep", "mean", 1, { F (3, 2, 3, 4) }, "axes=[1];keepdims=1" },
  { "max_ax1", "max", 1, { F (3, 2, 5, 4) }, "axes=[1]" },
  { "max_all", "max", 1, { F (2, 6, 7) } },
  { "argmax", "argmax", 1, { F (3, 2, 5, 4) }, "axis=1" },
  { "broadcast_to", "broadcast_to", 1, { F (2, 3, 1) }, "shape=[2,3,4]" },
  { "sum_to", "sum_to", 1, { F (3, 2, 3, 4) }, "shape=[3,1]" },
  /* softmax */
  { "softmax", "softmax", 1, { F (2, 4, 7) }, "axis=-1" },
  { "softmax_ax0", "softmax", 1, { F (3, 3, 4, 2) }, "axis=0" },
  { "log_softmax", "log_softmax", 1, { F (2, 4, 7) }, "axis=-1" },
  { "log_softmax_ax1", "log_softmax", 1, { F (3, 3, 4, 2) }, "axis=1" },
  /* layer norm */
  { "layer_norm", "layer_norm", 3, { F (3, 2, 3, 8), F (1, 8), F (1, 8) }, "has_gamma=1;has_beta=1;eps=1e-5" },
  { "layer_norm_plain", "layer_norm", 1, { F (2, 5, 16) }, "eps=1e-5" },
  /* shape ops */
  { "reshape", "reshape", 1, { F (3, 2, 3, 4) }, "shape=[4,-1]" },
  { "transpose", "transpose", 1, { F (3, 2, 3, 4) }, "perm=[2,0,1]" },
  { "transpose_last2", "transpose", 1, { F (2, 3, 5) } },
  { "concat", "concat", 3, { F (3, 2, 1, 3), F (3, 2, 4, 3), F (3, 2, 2, 3) }, "axis=1" },
  { "split", "split", 1, { F (2, 3, 6) }, "axis=-1;sizes=[1,3,2]" },
  { "slice", "slice", 1, { F (3, 2, 7, 2) }, "axis=1;start=1;end=-1;step=2" },
  /* losses */
  { "cross_entropy", "cross_entropy", 2, { F (2, 6, 5), TL_PARITY_INTS (TL_DTYPE_I64, -1, 5, 1, 6) } },
  { "cross_entropy_i32", "cross_entropy", 2, { F (2, 4, 3), TL_PARITY_INTS (TL_DTYPE_I32, 0, 3, 1, 4) } },
  { "bce_with_logits", "bce_with_logits", 2, { F (2, 3, 4), TL_PARITY_BIN (2, 3, 4) } },
  { "mse", "mse", 2, { F (2, 3, 4), F (2, 3, 4) } },
};

/**
 * tl_parity_cases_basic:
 * @n: (out): number of cases
 *
 * Returns: (transfer none): the static case table of the basic op set.
 */
const TlParityCase *
tl_parity_cases_basic (guint *n)
{
  *n = G_N_ELEMENTS (cases);
  return cases;
}
