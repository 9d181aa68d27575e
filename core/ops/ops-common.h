/* ops-common.h — helpers shared by the built-in op files (core/ops/).
 *
 * Shape helpers (broadcasting, axes, int-array attrs), a broadcasting
 * iterator that walks the output row by row with per-operand offsets,
 * parallel elementwise runners, cost helpers and builder macros.
 * Internal to libtl-1.
 */
#ifndef TL_OPS_COMMON_H
#define TL_OPS_COMMON_H

#include <math.h>
#include <string.h>

#include "tl-private.h"

G_BEGIN_DECLS

/* Force vectorisation of a loop: gcc's -O2 cost model ("very cheap")
 * leaves loops with unknown trip counts scalar; "omp simd" loops use the
 * unlimited SIMD cost model. No-op without OpenMP. */
#ifdef _OPENMP
#define TL_SIMD _Pragma ("omp simd")
#define TL_SIMD_REDUCTION_MAX(v) _Pragma (G_STRINGIFY (omp simd reduction (max : v)))
#else
#define TL_SIMD
#define TL_SIMD_REDUCTION_MAX(v)
#endif

/* Vectorisable float math (tl_expf_approx, ...) comes from <tl/tl-math.h>, shared with plugins. */

/* Elements per parallel chunk for memory-bound loops. */
#define TL_OPS_GRAIN 32768

/* --- shape arithmetic (also used by core/tensor.c) -------------------- */

/* Product of the ndim dims (1 for ndim 0); no overflow or sign checks. */
static inline gint64
_tl_priv_shape_numel (guint ndim, const gint64 *shape)
{
  gint64 n = 1;
  for (guint i = 0; i < ndim; i++)
    n *= shape[i];
  return n;
}

/* TRUE when both ranks and all dims agree. */
static inline gboolean
_tl_priv_shape_equal (guint na, const gint64 *a, guint nb, const gint64 *b)
{
  if (na != nb)
    return FALSE;
  for (guint i = 0; i < na; i++)
    if (a[i] != b[i])
      return FALSE;
  return TRUE;
}

/* --- errors and descs ------------------------------------------------ */

/* Set a TL_ERROR_SHAPE error "op: message". */
G_GNUC_INTERNAL void _tl_priv_ops_shape_error (GError **error, const char *op, const char *fmt, ...)
  G_GNUC_PRINTF (3, 4);
/* Set a TL_ERROR_INVALID_ARGUMENT error "op: message". */
G_GNUC_INTERNAL void _tl_priv_ops_arg_error (GError **error, const char *op, const char *fmt, ...)
  G_GNUC_PRINTF (3, 4);
/* "f32[2,3]" for messages; static per-thread ring of 4 buffers. */
G_GNUC_INTERNAL const char *_tl_priv_ops_desc_str (const TlTensorDesc *d);
G_GNUC_INTERNAL gint64 _tl_priv_ops_numel (const TlTensorDesc *d);
G_GNUC_INTERNAL gboolean _tl_priv_ops_same_shape (const TlTensorDesc *a, const TlTensorDesc *b);
/* Check the number of inputs (n_inputs == -1 ops) and that input i has one of the
 * dtypes given (TL_DTYPE_INVALID-terminated list). */
G_GNUC_INTERNAL gboolean _tl_priv_ops_check_dtype (const TlOpCall *call, guint i, const char *op,
                                                   GError **error, ...);
G_GNUC_INTERNAL gboolean _tl_priv_ops_check_float (const TlOpCall *call, guint i, const char *op,
                                                   GError **error);

/* --- broadcasting ------------------------------------------------------ */

/* NumPy broadcast of n descs' shapes into out->shape/ndim (dtype untouched). */
G_GNUC_INTERNAL gboolean _tl_priv_ops_broadcast_shape (guint n, const TlTensorDesc *const *ins,
                                                       TlTensorDesc *out, const char *op, GError **error);

/* Broadcast walk of up to 4 contiguous operands against an output shape.
 * Adjacent dims are coalesced; the last dim is the inner loop, where each
 * operand's stride is 0 (broadcast) or 1. */
#define TL_BCAST_MAX_OPS 4
typedef struct {
  guint ndim;                          /* >= 1 */
  guint n_ops;
  gint64 shape[TL_MAX_DIMS];
  gint64 strides[TL_BCAST_MAX_OPS][TL_MAX_DIMS]; /* elements; 0 on broadcast dims */
  gint64 inner;                        /* shape[ndim - 1] */
  gint64 n_rows;                       /* numel / inner */
} TlBcast;

/* out_ndim/out_shape: the output; ins: n_ops operand descs, each broadcastable. */
G_GNUC_INTERNAL void _tl_priv_bcast_init (TlBcast *b, guint out_ndim, const gint64 *out_shape, guint n_ops,
                                          const TlTensorDesc *const *ins);
/* Element offsets of every operand at the start of row `row`. */
G_GNUC_INTERNAL void _tl_priv_bcast_row (const TlBcast *b, gint64 row, gint64 *offs);

/* --- axes and attrs ---------------------------------------------------- */

/* Normalise a possibly negative axis; error when out of range. */
G_GNUC_INTERNAL gboolean _tl_priv_ops_axis (gint64 axis, guint ndim, guint *out, const char *op,
                                            GError **error);
/* Read the int-array attr `key` as a set of axes into mask[ndim]; a missing
 * or empty attr selects every axis. Rejects duplicates and bad axes. */
G_GNUC_INTERNAL gboolean _tl_priv_ops_axes_mask (const TlAttrs *attrs, const char *key, guint ndim,
                                                 gboolean *mask, const char *op, GError **error);
/* Read int-array attr `key` (at most max entries) into out; *n its length. */
G_GNUC_INTERNAL gboolean _tl_priv_ops_attr_ints (const TlAttrs *attrs, const char *key, guint max,
                                                 gint64 *out, guint *n, const char *op, GError **error);

/* --- kernels ------------------------------------------------------------ */

/* y[0..n) = f(x[0..n)); params are the op's own. */
typedef void (*TlUnaryKernel) (const void *x, void *y, gint64 n, const void *params);
/* y[i] = f(a[i * sa], b[i * sb]) for i in [0, n); sa, sb in {0, 1}. */
typedef void (*TlBinaryKernel) (const void *a, gint64 sa, const void *b, gint64 sb, void *y, gint64 n);

/* Run fn over x -> y (same numel, contiguous) in parallel chunks. */
G_GNUC_INTERNAL void _tl_priv_ops_run_unary (TlUnaryKernel fn, TlTensor *x, TlTensor *y, const void *params);
/* Run fn with NumPy broadcasting of a and b into out (contiguous). */
G_GNUC_INTERNAL void _tl_priv_ops_run_binary (TlBinaryKernel fn, TlTensor *a, TlTensor *b, TlTensor *out);

/* Define a TlUnaryKernel `name` on element type T computing EXPR of `v`
 * (and `p`, the params pointer cast to const PT *). */
#define TL_UNARY_KERNEL(name, T, PT, EXPR)                                             \
  static void name (const void *x_, void *y_, gint64 n, const void *params_)           \
  {                                                                                    \
    const T *restrict x = x_;                                                          \
    T *restrict y = y_;                                                                \
    const PT *p = params_;                                                             \
    (void) p;                                                                          \
    TL_SIMD                                                                            \
    for (gint64 i = 0; i < n; i++) {                                                   \
      T v = x[i];                                                                      \
      y[i] = (EXPR);                                                                   \
    }                                                                                  \
  }

/* Define a TlBinaryKernel `name` on T computing EXPR of `a` and `b`, with
 * separate loops for the stride patterns so each one vectorises. */
#define TL_BINARY_KERNEL(name, T, EXPR)                                                \
  static void name (const void *a_, gint64 sa, const void *b_, gint64 sb, void *y_, gint64 n) \
  {                                                                                    \
    const T *restrict pa = a_;                                                         \
    const T *restrict pb = b_;                                                         \
    T *restrict y = y_;                                                                \
    if (sa && sb) {                                                                    \
      TL_SIMD                                                                          \
      for (gint64 i = 0; i < n; i++) {                                                 \
        T a = pa[i], b = pb[i];                                                        \
        y[i] = (EXPR);                                                                 \
      }                                                                                \
    } else if (sa) {                                                                   \
      const T b = pb[0];                                                               \
      TL_SIMD                                                                          \
      for (gint64 i = 0; i < n; i++) {                                                 \
        T a = pa[i];                                                                   \
        y[i] = (EXPR);                                                                 \
      }                                                                                \
    } else if (sb) {                                                                   \
      const T a = pa[0];                                                               \
      TL_SIMD                                                                          \
      for (gint64 i = 0; i < n; i++) {                                                 \
        T b = pb[i];                                                                   \
        y[i] = (EXPR);                                                                 \
      }                                                                                \
    } else {                                                                           \
      const T a = pa[0], b = pb[0];                                                    \
      const T r = (EXPR);                                                              \
      for (gint64 i = 0; i < n; i++)                                                   \
        y[i] = r;                                                                      \
    }                                                                                  \
  }

/* Deterministic chunking: chunk c covers [c * grain, min(n, (c + 1) * grain)),
 * independent of the thread count. */
G_GNUC_INTERNAL gint64 _tl_priv_ops_n_chunks (gint64 n, gint64 grain);

/* --- cost ---------------------------------------------------------------- */

/* bytes_read = all inputs, bytes_written = n_out outputs, flops = per_elem * out[0] numel. */
G_GNUC_INTERNAL void _tl_priv_ops_cost_default (const TlOpCall *call, const TlTensorDesc *out, guint n_out,
                                                double flops_per_elem, TlOpCost *cost);
/* Define a static cost callback `name` for a single-output op with
 * `FLOPS` flops per output element. */
#define TL_OPS_COST_FN(name, FLOPS)                                                    \
  static void name (const TlOpCall *call, const TlTensorDesc *out, TlOpCost *cost)     \
  {                                                                                    \
    _tl_priv_ops_cost_default (call, out, 1, (FLOPS), cost);                           \
  }

/* --- builders ------------------------------------------------------------ */

/* tl_graph_op with 1 or 2 inputs (NULL inputs propagate as NULL). */
G_GNUC_INTERNAL TlValue *_tl_priv_ops_op1 (TlGraph *g, const char *op, TlValue *x, const TlAttrs *attrs);
G_GNUC_INTERNAL TlValue *_tl_priv_ops_op2 (TlGraph *g, const char *op, TlValue *a, TlValue *b,
                                           const TlAttrs *attrs);

#define TL_OPS_DEFINE_UNARY_BUILDER(fn, opname)                                        \
  TlValue *fn (TlGraph *g, TlValue *x)                                                 \
  {                                                                                    \
    return _tl_priv_ops_op1 (g, opname, x, NULL);                                      \
  }
#define TL_OPS_DEFINE_BINARY_BUILDER(fn, opname)                                       \
  TlValue *fn (TlGraph *g, TlValue *a, TlValue *b)                                     \
  {                                                                                    \
    return _tl_priv_ops_op2 (g, opname, a, b, NULL);                                   \
  }

/* sum_to(v, shape of like) when shapes differ, else v (backward of broadcasting). */
G_GNUC_INTERNAL TlValue *_tl_priv_ops_sum_to_like (TlGraph *g, TlValue *v, const TlValue *like);

/* --- registration ------------------------------------------------------- */

/* Register n defs; stops at the first failure. */
G_GNUC_INTERNAL gboolean _tl_priv_ops_register_all (const TlOpDef *const *defs, guint n, GError **error);

/* Define `fn`, returning the static op table `defs` (an array) and its length in *n. */
#define TL_OPS_DEFINE_DEFS_GETTER(fn, defs)                                            \
  const TlOpDef *const *fn (guint *n)                                                  \
  {                                                                                    \
    *n = G_N_ELEMENTS (defs);                                                          \
    return defs;                                                                       \
  }

/* Op tables of the basic set, one array per file. */
G_GNUC_INTERNAL const TlOpDef *const *_tl_priv_ops_elementwise_defs (guint *n);
G_GNUC_INTERNAL const TlOpDef *const *_tl_priv_ops_reduce_defs (guint *n);
G_GNUC_INTERNAL const TlOpDef *const *_tl_priv_ops_softmax_defs (guint *n);
G_GNUC_INTERNAL const TlOpDef *const *_tl_priv_ops_layernorm_defs (guint *n);
G_GNUC_INTERNAL const TlOpDef *const *_tl_priv_ops_shape_defs (guint *n);
G_GNUC_INTERNAL const TlOpDef *const *_tl_priv_ops_loss_defs (guint *n);

G_END_DECLS

#endif /* TL_OPS_COMMON_H */
