/* tl-ops.h — typed builders for the standard op set.
 *
 * Each call records a node (see tl-graph.h) and returns its output value,
 * or NULL with the graph's sticky error set. They are thin wrappers over
 * tl_graph_op() with the op names listed in docs/ops.md.
 *
 * Broadcasting follows NumPy rules. Axes may be negative (counted from the end).
 */
#ifndef TL_OPS_H
#define TL_OPS_H

#include <glib.h>
#include <tl/tl-graph.h>

TL_BEGIN_DECLS

/* Elementwise binary with broadcasting: "add" "sub" "mul" "div" "maximum" "minimum" "pow". */
TL_API TlValue *tl_add(TlGraph *g, TlValue *a, TlValue *b);
TL_API TlValue *tl_sub(TlGraph *g, TlValue *a, TlValue *b);
TL_API TlValue *tl_mul(TlGraph *g, TlValue *a, TlValue *b);
TL_API TlValue *tl_div(TlGraph *g, TlValue *a, TlValue *b);
TL_API TlValue *tl_maximum(TlGraph *g, TlValue *a, TlValue *b);
TL_API TlValue *tl_minimum(TlGraph *g, TlValue *a, TlValue *b);
TL_API TlValue *tl_pow(TlGraph *g, TlValue *a, TlValue *b);
/* x * scale + bias as one op ("affine_scalar"). */
TL_API TlValue *tl_scale(TlGraph *g, TlValue *x, double scale, double bias);

/* Elementwise unary: "neg" "exp" "log" "sqrt" "rsqrt" "abs" "square"
 * "relu" "gelu" (tanh approximation off: erf form) "tanh" "sigmoid". */
TL_API TlValue *tl_neg(TlGraph *g, TlValue *x);
TL_API TlValue *tl_exp(TlGraph *g, TlValue *x);
TL_API TlValue *tl_log(TlGraph *g, TlValue *x);
TL_API TlValue *tl_sqrt(TlGraph *g, TlValue *x);
TL_API TlValue *tl_rsqrt(TlGraph *g, TlValue *x);
TL_API TlValue *tl_abs(TlGraph *g, TlValue *x);
TL_API TlValue *tl_square(TlGraph *g, TlValue *x);
TL_API TlValue *tl_relu(TlGraph *g, TlValue *x);
TL_API TlValue *tl_gelu(TlGraph *g, TlValue *x);
TL_API TlValue *tl_tanh(TlGraph *g, TlValue *x);
TL_API TlValue *tl_sigmoid(TlGraph *g, TlValue *x);
/* "cast" to dtype. */
TL_API TlValue *tl_cast(TlGraph *g, TlValue *x, TlDType dtype);

/* "matmul": a[..., m, k] @ b[..., k, n] with batch broadcasting; trans_a /
 * trans_b transpose the last two axes. 1-D operands are not promoted. */
TL_API TlValue *tl_matmul(TlGraph *g, TlValue *a, TlValue *b, gboolean trans_a, gboolean trans_b);
/* "linear": x[..., in] @ w[out, in]^T + b[out] (b may be NULL). */
TL_API TlValue *tl_linear(TlGraph *g, TlValue *x, TlValue *w, TlValue *b);

/* Reductions "sum" "mean" "max" over `axes` (n_axes == 0: all axes). */
TL_API TlValue *tl_sum(TlGraph *g, TlValue *x, guint n_axes, const gint *axes, gboolean keepdims);
TL_API TlValue *tl_mean(TlGraph *g, TlValue *x, guint n_axes, const gint *axes, gboolean keepdims);
TL_API TlValue *tl_max(TlGraph *g, TlValue *x, guint n_axes, const gint *axes, gboolean keepdims);
/* "argmax" along one axis -> i64, axis removed. */
TL_API TlValue *tl_argmax(TlGraph *g, TlValue *x, gint axis);

TL_API TlValue *tl_softmax(TlGraph *g, TlValue *x, gint axis);
TL_API TlValue *tl_log_softmax(TlGraph *g, TlValue *x, gint axis);
/* "layer_norm" over the last axis; gamma/beta [last] may be NULL. */
TL_API TlValue *tl_layer_norm(TlGraph *g, TlValue *x, TlValue *gamma, TlValue *beta, double eps);

/* "embedding": table[V, D], indices (i32/i64, any shape) -> [..., D]. */
TL_API TlValue *tl_embedding(TlGraph *g, TlValue *table, TlValue *indices);
/* "gather": take indices (i64/i32, 1-D) along axis. */
TL_API TlValue *tl_gather(TlGraph *g, TlValue *x, TlValue *indices, gint axis);
/* "scatter_add": out = zeros(n_rows, ...src.shape[1:]); out[idx[i]] += src[i]. */
TL_API TlValue *tl_scatter_add(TlGraph *g, TlValue *src, TlValue *indices, gint64 n_rows);
TL_API TlValue *tl_concat(TlGraph *g, guint n, TlValue *const *xs, gint axis);
/* "split" into n parts of the given sizes along axis; writes outs[n]. Returns FALSE on error. */
TL_API gboolean tl_split(TlGraph *g, TlValue *x, gint axis, guint n, const gint64 *sizes, TlValue **outs);
/* "slice" along one axis: [start, end) with step > 0; negative start/end count from the end. */
TL_API TlValue *tl_slice(TlGraph *g, TlValue *x, gint axis, gint64 start, gint64 end, gint64 step);
/* "transpose" with a full permutation (NULL perm: reverse the last two axes). */
TL_API TlValue *tl_transpose(TlGraph *g, TlValue *x, guint n, const gint *perm);
/* "reshape"; one entry may be -1. */
TL_API TlValue *tl_reshape(TlGraph *g, TlValue *x, guint ndim, const gint64 *shape);
/* "broadcast_to" and its adjoint "sum_to" (reduce a broadcast back to shape). */
TL_API TlValue *tl_broadcast_to(TlGraph *g, TlValue *x, guint ndim, const gint64 *shape);
TL_API TlValue *tl_sum_to(TlGraph *g, TlValue *x, guint ndim, const gint64 *shape);

/* "conv1d": x[N, C, L], w[O, C/groups, K], b[O] or NULL. */
TL_API TlValue *tl_conv1d(TlGraph *g, TlValue *x, TlValue *w, TlValue *b, gint stride, gint padding,
                          gint dilation, gint groups);
/* "conv2d": x[N, C, H, W], w[O, C/groups, KH, KW], b[O] or NULL; symmetric stride/padding. */
TL_API TlValue *tl_conv2d(TlGraph *g, TlValue *x, TlValue *w, TlValue *b, gint stride, gint padding,
                          gint dilation, gint groups);
/* "max_pool2d" / "avg_pool2d" on [N, C, H, W]; "max_pool1d"/"avg_pool1d" on [N, C, L]. */
TL_API TlValue *tl_max_pool2d(TlGraph *g, TlValue *x, gint kernel, gint stride, gint padding);
TL_API TlValue *tl_avg_pool2d(TlGraph *g, TlValue *x, gint kernel, gint stride, gint padding);
TL_API TlValue *tl_max_pool1d(TlGraph *g, TlValue *x, gint kernel, gint stride, gint padding);
TL_API TlValue *tl_avg_pool1d(TlGraph *g, TlValue *x, gint kernel, gint stride, gint padding);

/* "dropout" with probability p (identity when not training). */
TL_API TlValue *tl_dropout(TlGraph *g, TlValue *x, double p);

/* Losses, mean over the batch, 0-d f32 results.
 * "cross_entropy": logits[N, C], labels i32/i64 [N] (label < 0: ignored).
 * "bce_with_logits": logits and targets of the same shape.
 * "mse": pred and target of the same shape. */
TL_API TlValue *tl_cross_entropy(TlGraph *g, TlValue *logits, TlValue *labels);
TL_API TlValue *tl_bce_with_logits(TlGraph *g, TlValue *logits, TlValue *targets);
TL_API TlValue *tl_mse(TlGraph *g, TlValue *pred, TlValue *target);

/* "spmm": CSR sparse [rows, cols] (indptr i64[rows+1], indices i64[nnz],
 * values f32[nnz]) times dense [cols, n] -> [rows, n]. Gradient flows to
 * values and dense. */
TL_API TlValue *tl_spmm(TlGraph *g, TlValue *indptr, TlValue *indices, TlValue *values, TlValue *dense,
                        gint64 n_rows);

/* "zeros_like" / "ones_like" (non-differentiable constants shaped like x). */
TL_API TlValue *tl_zeros_like(TlGraph *g, TlValue *x);
TL_API TlValue *tl_ones_like(TlGraph *g, TlValue *x);

TL_END_DECLS

#endif /* TL_OPS_H */
