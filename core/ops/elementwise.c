/* elementwise.c — unary and broadcasting binary elementwise ops, casts,
 * constant-likes and the helper ops their gradients use. */
/* vectorisable clamps and selects (see ops-common.h) */
#pragma GCC optimize ("no-trapping-math")

#include "config.h"

#include <math.h>

#include "ops-common.h"

#define EW_FLAGS (TL_OP_ELEMENTWISE | TL_OP_MEMORY_BOUND)
#define SQRT1_2 0.70710678118654752440f
#define INV_SQRT_2PI 0.39894228040143267794f

/* --- inference -------------------------------------------------------- */

static gboolean
unary_float_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out,
                   GError **error)
{
  (void) max_out;
  (void) n_out;
  if (!_tl_priv_ops_check_float (call, 0, "elementwise op", error))
    return FALSE;
  out[0] = call->inputs[0];
  return TRUE;
}

static gboolean
binary_infer_common (const TlOpCall *call, TlTensorDesc *out, const char *op, gboolean ints_ok,
                     GError **error)
{
  const TlTensorDesc *a = &call->inputs[0], *b = &call->inputs[1];
  if (a->dtype != b->dtype) {
    _tl_priv_ops_shape_error (error, op, "dtypes differ: %s vs %s", _tl_priv_ops_desc_str (a),
                              _tl_priv_ops_desc_str (b));
    return FALSE;
  }
  if (!(a->dtype == TL_DTYPE_F32 || (ints_ok && (a->dtype == TL_DTYPE_I32 || a->dtype == TL_DTYPE_I64)))) {
    _tl_priv_ops_shape_error (error, op, "unsupported dtype %s", tl_dtype_name (a->dtype));
    return FALSE;
  }
  const TlTensorDesc *ins[2] = { a, b };
  tl_tensor_desc_init (out, a->dtype, 0, NULL);
  return _tl_priv_ops_broadcast_shape (2, ins, out, op, error);
}

#define BINARY_INFER(id, opname, INTS)                                                          \
  static gboolean id##_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out,        \
                              uint32_t *n_out, GError **error)                                  \
  {                                                                                             \
    (void) max_out;                                                                             \
    (void) n_out;                                                                               \
    return binary_infer_common (call, out, opname, INTS, error);                                \
  }

/* --- unary kernels ------------------------------------------------------ */

TL_UNARY_KERNEL (neg_k, float, void, -v)
TL_UNARY_KERNEL (exp_k, float, void, tl_expf_approx (v))
TL_UNARY_KERNEL (log_k, float, void, logf (v))
TL_UNARY_KERNEL (sqrt_k, float, void, sqrtf (v))
TL_UNARY_KERNEL (rsqrt_k, float, void, 1.0f / sqrtf (v))
TL_UNARY_KERNEL (abs_k, float, void, fabsf (v))
TL_UNARY_KERNEL (square_k, float, void, v * v)
TL_UNARY_KERNEL (relu_k, float, void, v > 0.0f ? v : 0.0f)
TL_UNARY_KERNEL (gelu_k, float, void, 0.5f * v * (1.0f + tl_erff_approx (v * SQRT1_2)))
TL_UNARY_KERNEL (tanh_k, float, void, tl_tanhf_approx (v))
TL_UNARY_KERNEL (sigmoid_k, float, void, tl_sigmoidf_approx (v))
TL_UNARY_KERNEL (sign_k, float, void, (float) ((v > 0.0f) - (v < 0.0f)))

/* --- unary backward rules ----------------------------------------------- */

#define IN(i) tl_node_input (node, (i))
#define OUT(i) tl_node_output (node, (i))

/* A backward rule `id` of a unary op: gx[0] = EXPR (of g, node, gy) when
 * gy[0] is set. */
#define UNARY_BW(id, EXPR)                                                                      \
  static gboolean id (TlGraph *g, const TlNode *node, TlValue *const *gy, TlValue **gx,         \
                      GError **error)                                                           \
  {                                                                                             \
    (void) node;                                                                                \
    (void) error;                                                                               \
    if (gy[0])                                                                                  \
      gx[0] = (EXPR);                                                                           \
    return TRUE;                                                                                \
  }

UNARY_BW (neg_bw, tl_neg (g, gy[0]))
UNARY_BW (exp_bw, tl_mul (g, gy[0], OUT (0)))
UNARY_BW (log_bw, tl_div (g, gy[0], IN (0)))
UNARY_BW (sqrt_bw, tl_div (g, gy[0], tl_scale (g, OUT (0), 2.0, 0.0)))
/* d/dx x^-1/2 = -0.5 * y / x */
UNARY_BW (rsqrt_bw, tl_mul (g, gy[0], tl_scale (g, tl_div (g, OUT (0), IN (0)), -0.5, 0.0)))
UNARY_BW (abs_bw, tl_mul (g, gy[0], _tl_priv_ops_op1 (g, "sign", IN (0), NULL)))
UNARY_BW (square_bw, tl_mul (g, gy[0], tl_scale (g, IN (0), 2.0, 0.0)))
UNARY_BW (relu_bw, _tl_priv_ops_op2 (g, "relu_grad", gy[0], IN (0), NULL))
UNARY_BW (gelu_bw, _tl_priv_ops_op2 (g, "gelu_grad", gy[0], IN (0), NULL))
UNARY_BW (tanh_bw, _tl_priv_ops_op2 (g, "tanh_grad", gy[0], OUT (0), NULL))
UNARY_BW (sigmoid_bw, _tl_priv_ops_op2 (g, "sigmoid_grad", gy[0], OUT (0), NULL))

/* --- unary op tables ----------------------------------------------------- */

#define UNARY_OP(id, opname, FLOPS, FLAGS, BACKWARD)                                            \
  static gboolean id##_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out,  \
                            GError **error)                                                     \
  {                                                                                             \
    (void) ctx;                                                                                 \
    (void) error;                                                                               \
    _tl_priv_ops_run_unary (id##_k, in[0], out[0], NULL);                                       \
    return TRUE;                                                                                \
  }                                                                                             \
  TL_OPS_COST_FN (id##_cost, FLOPS)                                                             \
  static const TlOpDef id##_def = { TL_TABLE_INIT (TlOpDef), .name = opname, .flags = (FLAGS),  \
                                    .n_inputs = 1, .n_outputs = 1, .infer = unary_float_infer,  \
                                    .forward_cpu = id##_cpu, .backward = BACKWARD,              \
                                    .cost = id##_cost };

UNARY_OP (neg, "neg", 1, EW_FLAGS, neg_bw)
UNARY_OP (exp, "exp", 8, EW_FLAGS, exp_bw)
UNARY_OP (log, "log", 8, EW_FLAGS, log_bw)
UNARY_OP (sqrt, "sqrt", 4, EW_FLAGS, sqrt_bw)
UNARY_OP (rsqrt, "rsqrt", 5, EW_FLAGS, rsqrt_bw)
UNARY_OP (abs, "abs", 1, EW_FLAGS, abs_bw)
UNARY_OP (square, "square", 1, EW_FLAGS, square_bw)
UNARY_OP (relu, "relu", 1, EW_FLAGS, relu_bw)
UNARY_OP (gelu, "gelu", 20, EW_FLAGS, gelu_bw)
UNARY_OP (tanh, "tanh", 10, EW_FLAGS, tanh_bw)
UNARY_OP (sigmoid, "sigmoid", 10, EW_FLAGS, sigmoid_bw)
UNARY_OP (sign, "sign", 1, EW_FLAGS | TL_OP_NONDIFF, NULL)

/* --- binary kernels -------------------------------------------------------- */

TL_BINARY_KERNEL (add_f32, float, a + b)
TL_BINARY_KERNEL (add_i32, gint32, a + b)
TL_BINARY_KERNEL (add_i64, gint64, a + b)
TL_BINARY_KERNEL (sub_f32, float, a - b)
TL_BINARY_KERNEL (sub_i32, gint32, a - b)
TL_BINARY_KERNEL (sub_i64, gint64, a - b)
TL_BINARY_KERNEL (mul_f32, float, a * b)
TL_BINARY_KERNEL (mul_i32, gint32, a * b)
TL_BINARY_KERNEL (mul_i64, gint64, a * b)
TL_BINARY_KERNEL (div_f32, float, a / b)
TL_BINARY_KERNEL (maximum_f32, float, a > b ? a : b)
TL_BINARY_KERNEL (minimum_f32, float, a < b ? a : b)
TL_BINARY_KERNEL (pow_f32, float, powf (a, b))
/* 1 where a > b, 0.5 on ties, 0 else: the share of the gradient of max(a, b) going to a. */
TL_BINARY_KERNEL (greater_mask_f32, float, a > b ? 1.0f : (a == b ? 0.5f : 0.0f))
/* grad helpers: a = upstream gradient, b = saved input or output */
TL_BINARY_KERNEL (relu_grad_f32, float, b > 0.0f ? a : 0.0f)
TL_BINARY_KERNEL (gelu_grad_f32, float,
                  a * (0.5f * (1.0f + tl_erff_approx (b * SQRT1_2)) + b * INV_SQRT_2PI * tl_expf_approx (-0.5f * b * b)))
TL_BINARY_KERNEL (tanh_grad_f32, float, a * (1.0f - b * b))
TL_BINARY_KERNEL (sigmoid_grad_f32, float, a * b * (1.0f - b))

static gboolean
run_typed_binary (TlTensor *const *in, TlTensor *const *out, TlBinaryKernel f32, TlBinaryKernel i32,
                  TlBinaryKernel i64, const char *op, GError **error)
{
  TlBinaryKernel fn = NULL;
  switch (tl_tensor_dtype (in[0])) {
  case TL_DTYPE_F32: fn = f32; break;
  case TL_DTYPE_I32: fn = i32; break;
  case TL_DTYPE_I64: fn = i64; break;
  default: break;
  }
  if (!fn) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "%s: no CPU kernel for dtype %s", op,
                 tl_dtype_name (tl_tensor_dtype (in[0])));
    return FALSE;
  }
  _tl_priv_ops_run_binary (fn, in[0], in[1], out[0]);
  return TRUE;
}

/* --- binary backward rules ------------------------------------------------ */

/* A backward rule `id` of a broadcasting binary op: gx[0] = DA and
 * gx[1] = DB (of g, node, gy), each summed back to its input's shape. */
#define BINARY_BW(id, DA, DB)                                                                   \
  static gboolean id (TlGraph *g, const TlNode *node, TlValue *const *gy, TlValue **gx,         \
                      GError **error)                                                           \
  {                                                                                             \
    (void) error;                                                                               \
    if (!gy[0])                                                                                 \
      return TRUE;                                                                              \
    gx[0] = _tl_priv_ops_sum_to_like (g, (DA), IN (0));                                         \
    gx[1] = _tl_priv_ops_sum_to_like (g, (DB), IN (1));                                         \
    return TRUE;                                                                                \
  }

BINARY_BW (add_bw, gy[0], gy[0])
BINARY_BW (sub_bw, gy[0], tl_neg (g, gy[0]))
BINARY_BW (mul_bw, tl_mul (g, gy[0], IN (1)), tl_mul (g, gy[0], IN (0)))
/* y = a / b: da = dy / b, db = -dy * y / b */
BINARY_BW (div_bw, tl_div (g, gy[0], IN (1)), tl_neg (g, tl_mul (g, gy[0], tl_div (g, OUT (0), IN (1)))))

static gboolean
maxmin_bw (TlGraph *g, const TlNode *node, TlValue *const *gy, TlValue **gx, gboolean is_max)
{
  if (!gy[0])
    return TRUE;
  TlValue *a = IN (0), *b = IN (1);
  TlValue *ma = _tl_priv_ops_op2 (g, "greater_mask", is_max ? a : b, is_max ? b : a, NULL);
  TlValue *mb = _tl_priv_ops_op2 (g, "greater_mask", is_max ? b : a, is_max ? a : b, NULL);
  gx[0] = _tl_priv_ops_sum_to_like (g, tl_mul (g, gy[0], ma), a);
  gx[1] = _tl_priv_ops_sum_to_like (g, tl_mul (g, gy[0], mb), b);
  return TRUE;
}

static gboolean
maximum_bw (TlGraph *g, const TlNode *node, TlValue *const *gy, TlValue **gx, GError **error)
{
  (void) error;
  return maxmin_bw (g, node, gy, gx, TRUE);
}

static gboolean
minimum_bw (TlGraph *g, const TlNode *node, TlValue *const *gy, TlValue **gx, GError **error)
{
  (void) error;
  return maxmin_bw (g, node, gy, gx, FALSE);
}

static gboolean
pow_bw (TlGraph *g, const TlNode *node, TlValue *const *gy, TlValue **gx, GError **error)
{
  (void) error;
  if (!gy[0])
    return TRUE;
  TlValue *a = IN (0), *b = IN (1);
  /* As PyTorch: da = (b == 0) ? 0 : dy * b * a^(b-1) and
   * db = (a == 0 && b >= 0) ? 0 : dy * y * log(a). Without a select op, the
   * masked cases get a harmless operand instead: exponent 0 (b * a^0 = 0)
   * and log(1) = 0, so no 0 * inf NaN appears there. */
  TlValue *b_zero = _tl_priv_ops_op2 (g, "equal_mask", b, tl_zeros_like (g, b), NULL);
  TlValue *b_nonneg = _tl_priv_ops_op1 (g, "sign", _tl_priv_ops_op2 (g, "greater_mask", b,
                                                                    tl_zeros_like (g, b), NULL), NULL);
  TlValue *a_zero = _tl_priv_ops_op2 (g, "equal_mask", a, tl_zeros_like (g, a), NULL);
  TlValue *da = tl_mul (g, gy[0], tl_mul (g, b, tl_pow (g, a, tl_add (g, tl_scale (g, b, 1.0, -1.0),
                                                                      b_zero))));
  TlValue *db = tl_mul (g, gy[0], tl_mul (g, OUT (0), tl_log (g, tl_add (g, a, tl_mul (g, a_zero,
                                                                                      b_nonneg)))));
  gx[0] = _tl_priv_ops_sum_to_like (g, da, a);
  gx[1] = _tl_priv_ops_sum_to_like (g, db, b);
  return TRUE;
}

/* --- binary op tables ------------------------------------------------------ */

#define BINARY_OP(id, opname, INTS, K32, KI32, KI64, FLOPS, FLAGS, BACKWARD)                   \
  BINARY_INFER (id, opname, INTS)                                                               \
  static gboolean id##_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out,  \
                            GError **error)                                                     \
  {                                                                                             \
    (void) ctx;                                                                                 \
    return run_typed_binary (in, out, K32, KI32, KI64, opname, error);                          \
  }                                                                                             \
  TL_OPS_COST_FN (id##_cost, FLOPS)                                                             \
  static const TlOpDef id##_def = { TL_TABLE_INIT (TlOpDef), .name = opname, .flags = (FLAGS),  \
                                    .n_inputs = 2, .n_outputs = 1, .infer = id##_infer,         \
                                    .forward_cpu = id##_cpu, .backward = BACKWARD,              \
                                    .cost = id##_cost };

#define BC_FLAGS (EW_FLAGS | TL_OP_BROADCAST)
BINARY_OP (add, "add", TRUE, add_f32, add_i32, add_i64, 1, BC_FLAGS, add_bw)
BINARY_OP (sub, "sub", TRUE, sub_f32, sub_i32, sub_i64, 1, BC_FLAGS, sub_bw)
BINARY_OP (mul, "mul", TRUE, mul_f32, mul_i32, mul_i64, 1, BC_FLAGS, mul_bw)
BINARY_OP (div, "div", FALSE, div_f32, NULL, NULL, 1, BC_FLAGS, div_bw)
BINARY_OP (maximum, "maximum", FALSE, maximum_f32, NULL, NULL, 1, BC_FLAGS, maximum_bw)
BINARY_OP (minimum, "minimum", FALSE, minimum_f32, NULL, NULL, 1, BC_FLAGS, minimum_bw)
BINARY_OP (pow, "pow", FALSE, pow_f32, NULL, NULL, 10, BC_FLAGS, pow_bw)
BINARY_OP (greater_mask, "greater_mask", FALSE, greater_mask_f32, NULL, NULL, 1, BC_FLAGS | TL_OP_NONDIFF,
           NULL)
BINARY_OP (relu_grad, "relu_grad", FALSE, relu_grad_f32, NULL, NULL, 1, BC_FLAGS, NULL)
BINARY_OP (gelu_grad, "gelu_grad", FALSE, gelu_grad_f32, NULL, NULL, 25, BC_FLAGS, NULL)
BINARY_OP (tanh_grad, "tanh_grad", FALSE, tanh_grad_f32, NULL, NULL, 3, BC_FLAGS, NULL)
BINARY_OP (sigmoid_grad, "sigmoid_grad", FALSE, sigmoid_grad_f32, NULL, NULL, 3, BC_FLAGS, NULL)

/* --- affine_scalar --------------------------------------------------------- */

typedef struct {
  float scale, bias;
} Affine;

TL_UNARY_KERNEL (affine_k, float, Affine, v * p->scale + p->bias)

static gboolean
affine_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  (void) error;
  Affine p = { (float) tl_attrs_get_float (ctx->attrs, "scale", 1.0),
               (float) tl_attrs_get_float (ctx->attrs, "bias", 0.0) };
  _tl_priv_ops_run_unary (affine_k, in[0], out[0], &p);
  return TRUE;
}

static gboolean
affine_bw (TlGraph *g, const TlNode *node, TlValue *const *gy, TlValue **gx, GError **error)
{
  (void) error;
  if (gy[0])
    gx[0] = tl_scale (g, gy[0], tl_attrs_get_float (tl_node_attrs (node), "scale", 1.0), 0.0);
  return TRUE;
}

TL_OPS_COST_FN (affine_cost, 2)

static const TlOpDef affine_def = { TL_TABLE_INIT (TlOpDef), .name = "affine_scalar", .flags = EW_FLAGS,
                                    .n_inputs = 1, .n_outputs = 1, .infer = unary_float_infer,
                                    .forward_cpu = affine_cpu, .backward = affine_bw, .cost = affine_cost };

/* --- cast -------------------------------------------------------------------- */

static TlDType
cast_target (const TlAttrs *attrs)
{
  if (tl_attrs_type (attrs, "dtype") == TL_ATTR_STRING)
    return tl_dtype_from_name (tl_attrs_get_string (attrs, "dtype", ""));
  gint64 v = tl_attrs_get_int (attrs, "dtype", TL_DTYPE_INVALID);
  return (v > TL_DTYPE_INVALID && v < TL_DTYPE_COUNT_) ? (TlDType) v : TL_DTYPE_INVALID;
}

static gboolean
cast_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  (void) max_out;
  (void) n_out;
  TlDType dt = cast_target (call->attrs);
  if (dt == TL_DTYPE_INVALID) {
    _tl_priv_ops_arg_error (error, "cast", "attr 'dtype' missing or not a dtype name");
    return FALSE;
  }
  out[0] = call->inputs[0];
  out[0].dtype = dt;
  return TRUE;
}

static gboolean
cast_cpu (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out, GError **error)
{
  (void) ctx;
  return tl_tensor_copy_into (out[0], in[0], error);
}

static gboolean
cast_bw (TlGraph *g, const TlNode *node, TlValue *const *gy, TlValue **gx, GError **error)
{
  (void) error;
  TlDType from = tl_value_dtype (IN (0));
  if (gy[0] && tl_dtype_is_float (from) && tl_dtype_is_float (tl_value_dtype (gy[0])))
    gx[0] = from == tl_value_dtype (gy[0]) ? gy[0] : tl_cast (g, gy[0], from);
  return TRUE;
}

TL_OPS_COST_FN (cast_cost, 0)

static const TlOpDef cast_def = { TL_TABLE_INIT (TlOpDef), .name = "cast", .flags = EW_FLAGS, .n_inputs = 1,
                                  .n_outputs = 1, .infer = cast_infer, .forward_cpu = cast_cpu,
                                  .backward = cast_bw, .cost = cast_cost };

/* --- zeros_like / ones_like --------------------------------------------------- */

static gboolean
like_infer (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  (void) max_out;
  (void) n_out;
  (void) error;
  out[0] = call->inputs[0];
  return TRUE;
}

#define FILL_CPU(id, VALUE)                                                                     \
  static gboolean id (const TlKernelCtx *ctx, TlTensor *const *in, TlTensor *const *out,        \
                      GError **error)                                                           \
  {                                                                                             \
    (void) ctx;                                                                                 \
    (void) in;                                                                                  \
    (void) error;                                                                               \
    tl_tensor_fill (out[0], (VALUE));                                                           \
    return TRUE;                                                                                \
  }

FILL_CPU (zeros_like_cpu, 0.0)
FILL_CPU (ones_like_cpu, 1.0)

static void
like_cost (const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost)
{
  (void) call;
  _tl_priv_ops_cost_default (call, out, 1, 0, cost);
  cost->bytes_read = 0; /* only the shape is read */
}

static const TlOpDef zeros_like_def = { TL_TABLE_INIT (TlOpDef), .name = "zeros_like",
                                        .flags = EW_FLAGS | TL_OP_NONDIFF, .n_inputs = 1, .n_outputs = 1,
                                        .infer = like_infer, .forward_cpu = zeros_like_cpu,
                                        .cost = like_cost };
static const TlOpDef ones_like_def = { TL_TABLE_INIT (TlOpDef), .name = "ones_like",
                                       .flags = EW_FLAGS | TL_OP_NONDIFF, .n_inputs = 1, .n_outputs = 1,
                                       .infer = like_infer, .forward_cpu = ones_like_cpu, .cost = like_cost };

/* --- table and builders ------------------------------------------------------- */

static const TlOpDef *const elementwise_defs[] = {
  &neg_def, &exp_def, &log_def, &sqrt_def, &rsqrt_def, &abs_def, &square_def, &relu_def, &gelu_def,
  &tanh_def, &sigmoid_def, &sign_def, &add_def, &sub_def, &mul_def, &div_def, &maximum_def, &minimum_def,
  &pow_def, &greater_mask_def, &relu_grad_def, &gelu_grad_def, &tanh_grad_def, &sigmoid_grad_def,
  &affine_def, &cast_def, &zeros_like_def, &ones_like_def,
};

TL_OPS_DEFINE_DEFS_GETTER (_tl_priv_ops_elementwise_defs, elementwise_defs)

/**
 * tl_add: (and tl_sub, tl_mul, tl_div, tl_maximum, tl_minimum, tl_pow)
 * @g: the graph
 * @a: (nullable): first operand
 * @b: (nullable): second operand
 *
 * Records the broadcasting binary op. Returns: (transfer none) (nullable):
 * the output value, NULL with the graph's sticky error set on failure.
 */
TL_OPS_DEFINE_BINARY_BUILDER (tl_add, "add")
TL_OPS_DEFINE_BINARY_BUILDER (tl_sub, "sub")
TL_OPS_DEFINE_BINARY_BUILDER (tl_mul, "mul")
TL_OPS_DEFINE_BINARY_BUILDER (tl_div, "div")
TL_OPS_DEFINE_BINARY_BUILDER (tl_maximum, "maximum")
TL_OPS_DEFINE_BINARY_BUILDER (tl_minimum, "minimum")
TL_OPS_DEFINE_BINARY_BUILDER (tl_pow, "pow")

/**
 * tl_neg: (and the other unary builders)
 * @g: the graph
 * @x: (nullable): the operand
 *
 * Records the unary op. Returns: (transfer none) (nullable): the output value.
 */
TL_OPS_DEFINE_UNARY_BUILDER (tl_neg, "neg")
TL_OPS_DEFINE_UNARY_BUILDER (tl_exp, "exp")
TL_OPS_DEFINE_UNARY_BUILDER (tl_log, "log")
TL_OPS_DEFINE_UNARY_BUILDER (tl_sqrt, "sqrt")
TL_OPS_DEFINE_UNARY_BUILDER (tl_rsqrt, "rsqrt")
TL_OPS_DEFINE_UNARY_BUILDER (tl_abs, "abs")
TL_OPS_DEFINE_UNARY_BUILDER (tl_square, "square")
TL_OPS_DEFINE_UNARY_BUILDER (tl_relu, "relu")
TL_OPS_DEFINE_UNARY_BUILDER (tl_gelu, "gelu")
TL_OPS_DEFINE_UNARY_BUILDER (tl_tanh, "tanh")
TL_OPS_DEFINE_UNARY_BUILDER (tl_sigmoid, "sigmoid")
TL_OPS_DEFINE_UNARY_BUILDER (tl_zeros_like, "zeros_like")
TL_OPS_DEFINE_UNARY_BUILDER (tl_ones_like, "ones_like")

/**
 * tl_scale:
 * @g: the graph
 * @x: (nullable): the operand
 * @scale: multiplier
 * @bias: addend
 *
 * Records "affine_scalar": x * scale + bias. Returns: (transfer none) (nullable).
 */
TlValue *
tl_scale (TlGraph *g, TlValue *x, double scale, double bias)
{
  g_autoptr (TlAttrs) a = tl_attrs_new ();
  tl_attrs_set_float (a, "scale", scale);
  tl_attrs_set_float (a, "bias", bias);
  return _tl_priv_ops_op1 (g, "affine_scalar", x, a);
}

/**
 * tl_cast:
 * @g: the graph
 * @x: (nullable): the operand
 * @dtype: target element type
 *
 * Records "cast" (attr dtype = its short name). Returns: (transfer none) (nullable).
 */
TlValue *
tl_cast (TlGraph *g, TlValue *x, TlDType dtype)
{
  g_autoptr (TlAttrs) a = tl_attrs_new ();
  tl_attrs_set_string (a, "dtype", tl_dtype_name (dtype));
  return _tl_priv_ops_op1 (g, "cast", x, a);
}
