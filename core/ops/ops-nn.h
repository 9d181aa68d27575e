/* ops-nn.h — internal declarations shared by the neural-network op files
 * (matmul.c conv.c pool.c gather.c spmm.c dropout.c register-nn.c).
 *
 * Each op file exposes its op tables through one _tl_priv_nn_*_defs()
 * function; register-nn.c registers them all with tl_op_register().
 */
#ifndef TL_OPS_NN_H
#define TL_OPS_NN_H

#include "ops-common.h"
#include "ops-rules.h"

G_BEGIN_DECLS

/* Each returns a static array of op tables and its length in *n. */
G_GNUC_INTERNAL const TlOpDef *const *_tl_priv_nn_matmul_defs (guint *n);
G_GNUC_INTERNAL const TlOpDef *const *_tl_priv_nn_conv_defs (guint *n);
G_GNUC_INTERNAL const TlOpDef *const *_tl_priv_nn_pool_defs (guint *n);
G_GNUC_INTERNAL const TlOpDef *const *_tl_priv_nn_gather_defs (guint *n);
G_GNUC_INTERNAL const TlOpDef *const *_tl_priv_nn_spmm_defs (guint *n);
G_GNUC_INTERNAL const TlOpDef *const *_tl_priv_nn_dropout_defs (guint *n);

/* Row-major c[m, n] = op(a) op(b) + beta c with alpha 1 (core/ops/gemm.c);
 * m, n or k may be 0. */
G_GNUC_INTERNAL void _tl_priv_nn_sgemm (gboolean ta, gboolean tb, gint64 m, gint64 n, gint64 k, const float *a,
                                        gint64 lda, const float *b, gint64 ldb, float beta, float *c, gint64 ldc);

/* Below this many multiply-adds a split over threads costs more than it
 * saves: a fork/join of the thread pool costs microseconds, milliseconds when
 * the cores are oversubscribed, while a 128^3 product takes ~40 us on one
 * core. Used for one GEMM's blocks and for a batched matmul's batches. */
#define TL_GEMM_SPLIT_MIN (1 << 21)

/* TRUE when sgemm calls may run on tl's threads in parallel (OpenBLAS is
 * single-threaded and tl has several threads). */
G_GNUC_INTERNAL gboolean _tl_priv_nn_gemm_split_ok (void);

/* Index tensors (i32 or i64) read as gint64 (the rule the kernels use). */
static inline gint64
_tl_nn_index_at (const void *data, TlDType dtype, gint64 i)
{
  return _tl_rule_index_at (data, dtype == TL_DTYPE_I64, i);
}

static inline gboolean
_tl_nn_is_index_dtype (TlDType dtype)
{
  return dtype == TL_DTYPE_I32 || dtype == TL_DTYPE_I64;
}

/* Fails with TL_ERROR_INVALID_ARGUMENT naming the first index of `idx`
 * outside [0, bound). */
G_GNUC_INTERNAL gboolean _tl_priv_nn_check_indices (const char *op, const TlTensor *idx, gint64 bound,
                                                    GError **error);

/* Sets *n_out (when not NULL) and checks the output capacity. */
G_GNUC_INTERNAL gboolean _tl_priv_nn_n_out (const char *op, guint n, uint32_t max_out, uint32_t *n_out,
                                            GError **error);

/* Fails with TL_ERROR_SHAPE ("OP: dy is ..., expected ...") unless the
 * incoming gradient `dy` has the forward output's desc `expect`. */
G_GNUC_INTERNAL gboolean _tl_priv_nn_check_dy (const char *op, const TlTensorDesc *dy,
                                               const TlTensorDesc *expect, GError **error);

/* _tl_priv_ops_cost_default with `flops` the total, not per element. */
G_GNUC_INTERNAL void _tl_priv_nn_cost_io (const TlOpCall *call, const TlTensorDesc *out, guint n_out,
                                          double flops, TlOpCost *cost);

G_END_DECLS

#endif /* TL_OPS_NN_H */
