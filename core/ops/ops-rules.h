/* ops-rules.h — the one copy of the built-in ops' geometry and numeric
 * rules, shared by the CPU ops (core/ops/, core/tensor.c, core/rng.c) and
 * the CUDA kernels (the .cu files of backends/cuda/kernels/).
 *
 * The CUDA module cannot call libtl's internal helpers (libtl is built with
 * -fvisibility=hidden), so everything here is `static inline`, compiled
 * into each user: C (gnu11) and CUDA C++ (nvcc). Functions marked TL_HD
 * also run on the device; they use no GLib calls, only plain values. The
 * unmarked ones are host code; those marked "Host only" read TlTensor
 * metadata or attrs through the public API (the kernels' common setup). Rules
 * that can fail return a TlRuleStatus (TL_RULE_OK or a code naming the
 * broken rule) and leave the message to the CPU side, which turns it into a
 * GError; the kernels run on inputs that infer has validated. The one
 * exception, _tl_rule_dropout_p, checks an attr read on the host by both
 * sides at run time and sets the GError itself (same message on both).
 *
 * Internal: not part of sdk-headers, never installed.
 */
#ifndef TL_OPS_RULES_H
#define TL_OPS_RULES_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#define TL_HD __host__ __device__
#include <cuda_bf16.h>
#include <cuda_fp16.h>
/* Compile the inline float approximations of tl-math.h for host and device. */
#define inline __host__ __device__ inline
#include <tl/tl-math.h>
#undef inline
#else
#define TL_HD
#include <tl/tl-math.h>
#endif

#include <tl/tl-attrs.h>
#include <tl/tl-dtype.h>
#include <tl/tl-error.h>
#include <tl/tl-macros.h>
#include <tl/tl-tensor.h>

typedef enum {
  TL_RULE_OK = 0,
  TL_RULE_BAD_ARGS,  /* an attr out of its range */
  TL_RULE_BAD_SHAPE, /* shapes that do not fit together */
  TL_RULE_GROUPS,    /* groups does not divide the channels */
  TL_RULE_TOO_LARGE, /* (dilated) kernel larger than the padded input */
  TL_RULE_BAD_AXIS,  /* an axis out of range */
  TL_RULE_REPEATED,  /* an axis given twice */
} TlRuleStatus;

/* --- axes ------------------------------------------------------------------ */

/* x[shape] viewed as [outer, shape[first .. first + n), inner]: the
 * products of the axes before and after the n axes from `first`. */
static inline TL_HD void
_tl_rule_span_split (unsigned ndim, const int64_t *shape, unsigned first, unsigned n, int64_t *outer,
                     int64_t *inner)
{
  int64_t o = 1, in = 1;
  for (unsigned i = 0; i < first; i++)
    o *= shape[i];
  for (unsigned i = first + n; i < ndim; i++)
    in *= shape[i];
  *outer = o;
  *inner = in;
}

/* x[shape] viewed as [outer, R, inner] around `axis` (already normalised). */
static inline TL_HD void
_tl_rule_axis_split (unsigned ndim, const int64_t *shape, unsigned axis, int64_t *outer, int64_t *R,
                     int64_t *inner)
{
  _tl_rule_span_split (ndim, shape, axis, 1, outer, inner);
  *R = shape[axis];
}

/* gather / embedding of x along `axis` (negative counts from the end;
 * validated by infer): x viewed as [pre, bound, post]. Host only. */
static inline void
_tl_rule_gather_split (const TlTensor *x, int64_t axis, int64_t *pre, int64_t *bound, int64_t *post)
{
  unsigned ndim = tl_tensor_ndim (x);
  unsigned a = (unsigned) (axis < 0 ? axis + ndim : axis);
  _tl_rule_axis_split (ndim, tl_tensor_shape (x), a, pre, bound, post);
}

/* --- broadcasting ------------------------------------------------------------ */

/* Strides (elements) of a contiguous operand of shape in_shape[in_ndim]
 * broadcast to out_ndim dims: aligned to the right, 0 on broadcast dims. */
TL_HD static inline void
_tl_rule_bcast_strides (unsigned out_ndim, unsigned in_ndim, const int64_t *in_shape, int64_t *strides)
{
  int64_t st = 1;
  for (int i = (int) out_ndim - 1; i >= 0; i--) {
    int j = i - (int) (out_ndim - in_ndim);
    int64_t s = j >= 0 ? in_shape[j] : 1;
    strides[i] = s == 1 ? 0 : st;
    st *= s;
  }
}

/* Coalesce a walk over shape[ndim] of n_ops operands with strides[k][],
 * in place: size-1 dims are dropped and a dim is merged into the previous
 * one when every operand is contiguous across the two. Returns the number
 * of dims kept (0 when every dim has size 1); entries past it are left as
 * they were. */
TL_HD static inline unsigned
_tl_rule_dims_merge (unsigned ndim, int64_t *shape, unsigned n_ops, int64_t (*strides)[TL_MAX_DIMS])
{
  unsigned nd = 0; /* the kept dim nd <= the dim i read */
  for (unsigned i = 0; i < ndim; i++) {
    int64_t n = shape[i];
    if (n == 1)
      continue;
    int merge = nd > 0;
    for (unsigned k = 0; k < n_ops && merge; k++)
      merge = strides[k][nd - 1] == strides[k][i] * n;
    if (merge) {
      shape[nd - 1] *= n;
      for (unsigned k = 0; k < n_ops; k++)
        strides[k][nd - 1] = strides[k][i];
      continue;
    }
    shape[nd] = n;
    for (unsigned k = 0; k < n_ops; k++)
      strides[k][nd] = strides[k][i];
    nd++;
  }
  return nd;
}

/* The broadcast walk of n_ops contiguous operands ins[k], each broadcastable
 * to the output out_shape[out_ndim]: the output dims in shape[] and each
 * operand's strides in strides[k][] (elements, 0 on broadcast dims),
 * coalesced by _tl_rule_dims_merge. Entries from the returned ndim up to
 * out_ndim are zeroed; a scalar output gives one dim of size 1, so the
 * result is >= 1. Host only. */
static inline unsigned
_tl_rule_bcast_merge (unsigned out_ndim, const int64_t *out_shape, unsigned n_ops, const TlTensorDesc *const *ins,
                      int64_t *shape, int64_t (*strides)[TL_MAX_DIMS])
{
  for (unsigned k = 0; k < n_ops; k++)
    _tl_rule_bcast_strides (out_ndim, ins[k]->ndim, ins[k]->shape, strides[k]);
  for (unsigned i = 0; i < out_ndim; i++)
    shape[i] = out_shape[i];
  unsigned nd = _tl_rule_dims_merge (out_ndim, shape, n_ops, strides);
  for (unsigned i = nd; i < out_ndim; i++) {
    shape[i] = 0;
    for (unsigned k = 0; k < n_ops; k++)
      strides[k][i] = 0;
  }
  if (nd == 0) {
    shape[0] = 1;
    for (unsigned k = 0; k < n_ops; k++)
      strides[k][0] = 0;
    nd = 1;
  }
  return nd;
}

/* --- reductions -------------------------------------------------------------- */

/* The axes a reduction's attr "axes" selects (n entries, negative ones
 * counted from the end; none: every axis) as mask[ndim]. TL_RULE_BAD_AXIS
 * when entry *bad is out of range, TL_RULE_REPEATED when it names an axis
 * already given. */
static inline TlRuleStatus
_tl_rule_axes_mask (unsigned ndim, const int64_t *axes, unsigned n, int *mask, unsigned *bad)
{
  for (unsigned i = 0; i < ndim; i++)
    mask[i] = n == 0;
  for (unsigned i = 0; i < n; i++) {
    int64_t a = axes[i] < 0 ? axes[i] + (int64_t) ndim : axes[i];
    *bad = i;
    if (a < 0 || a >= (int64_t) ndim)
      return TL_RULE_BAD_AXIS;
    if (mask[a])
      return TL_RULE_REPEATED;
    mask[a] = 1;
  }
  return TL_RULE_OK;
}

/* Group the axes of a reduction of x[shape] over mask: size-1 axes dropped,
 * adjacent axes with the same mask merged. gsz/gred get the ng groups'
 * sizes and reduced flags; *total the numel of x, *ny that of the result.
 * Returns ng; *n_red the number of reduced groups. */
static inline unsigned
_tl_rule_reduce_groups (unsigned ndim, const int64_t *shape, const int *mask, int64_t *gsz, int *gred,
                        int64_t *total, int64_t *ny, int *n_red)
{
  unsigned ng = 0;
  int64_t t = 1, y = 1;
  for (unsigned i = 0; i < ndim; i++) {
    t *= shape[i];
    y *= mask[i] ? 1 : shape[i];
    if (shape[i] == 1)
      continue;
    if (ng > 0 && (gred[ng - 1] != 0) == (mask[i] != 0)) {
      gsz[ng - 1] *= shape[i];
      continue;
    }
    gsz[ng] = shape[i];
    gred[ng++] = mask[i] != 0;
  }
  *total = t;
  *ny = y;
  *n_red = 0;
  for (unsigned i = 0; i < ng; i++)
    *n_red += gred[i];
  return ng;
}

/* Group gi of ng viewed as [outer, R, inner] (groups already reduced have size 1). */
static inline void
_tl_rule_reduce_pass (unsigned ng, const int64_t *gsz, unsigned gi, int64_t *outer, int64_t *R, int64_t *inner)
{
  _tl_rule_axis_split (ng, gsz, gi, outer, R, inner);
}

/* The scale of "mean": ny / nx, 0 for empty tensors. */
static inline float
_tl_rule_mean_scale (int64_t nx, int64_t ny)
{
  return ny > 0 && nx > 0 ? (float) ((double) ny / (double) nx) : 0.0f;
}

/* The axes sum_to(x[xs], shape os) reduces: the leading extra axes and those
 * broadcast from 1. */
static inline void
_tl_rule_sum_to_mask (unsigned nd, const int64_t *xs, unsigned ndo, const int64_t *os, int *mask)
{
  for (unsigned i = 0; i < nd; i++)
    mask[i] = i < nd - ndo || (os[i - (nd - ndo)] == 1 && xs[i] != 1);
}

/* sum_to's mask (above) for x reduced to the shape of y. Host only. */
static inline void
_tl_rule_sum_to_mask_of (const TlTensor *x, const TlTensor *y, int *mask)
{
  _tl_rule_sum_to_mask (tl_tensor_ndim (x), tl_tensor_shape (x), tl_tensor_ndim (y), tl_tensor_shape (y), mask);
}

/* argmax of x[r * st] for r in [0, R) (R >= 1): the first strict maximum. */
static inline TL_HD int64_t
_tl_rule_argmax_col (const float *x, int64_t R, int64_t st)
{
  int64_t best = 0;
  float bv = x[0];
  for (int64_t r = 1; r < R; r++)
    if (x[r * st] > bv) {
      bv = x[r * st];
      best = r;
    }
  return best;
}

/* --- softmax (one strided column of R elements) ------------------------------ */

/* y = softmax(x) or log_softmax(x) along x[r * st], max-subtracted. */
static inline TL_HD void
_tl_rule_softmax_col (const float *x, float *y, int64_t R, int64_t st, int log)
{
  float m = -INFINITY;
  for (int64_t r = 0; r < R; r++)
    m = x[r * st] > m ? x[r * st] : m;
  float s = 0.0f;
  for (int64_t r = 0; r < R; r++) {
    float e = tl_expf_approx (x[r * st] - m);
    s += e;
    if (!log)
      y[r * st] = e;
  }
  if (log) {
    float lse = m + logf (s);
    for (int64_t r = 0; r < R; r++)
      y[r * st] = x[r * st] - lse;
  } else {
    float inv = 1.0f / s;
    for (int64_t r = 0; r < R; r++)
      y[r * st] *= inv;
  }
}

/* softmax: dx = y * (dy - sum(dy * y)); log_softmax: dx = dy - exp(y) * sum(dy). */
static inline TL_HD void
_tl_rule_softmax_grad_col (const float *dy, const float *y, float *dx, int64_t R, int64_t st, int log)
{
  float acc = 0.0f;
  for (int64_t r = 0; r < R; r++)
    acc += log ? dy[r * st] : dy[r * st] * y[r * st];
  for (int64_t r = 0; r < R; r++)
    dx[r * st] = log ? dy[r * st] - tl_expf_approx (y[r * st]) * acc : y[r * st] * (dy[r * st] - acc);
}

/* --- transpose --------------------------------------------------------------- */

/* transpose's permutation from its attr perm (n entries, negative ones
 * counted from the end; none: swap the last two axes). TL_RULE_BAD_SHAPE
 * when n != ndim, TL_RULE_BAD_AXIS (entry *bad out of range) or
 * TL_RULE_REPEATED. */
static inline TlRuleStatus
_tl_rule_transpose_perm (unsigned ndim, const int64_t *p, unsigned n, int *perm, unsigned *bad)
{
  if (n == 0 && ndim >= 2) {
    for (unsigned i = 0; i < ndim; i++)
      perm[i] = (int) i;
    perm[ndim - 2] = (int) ndim - 1;
    perm[ndim - 1] = (int) ndim - 2;
    return TL_RULE_OK;
  }
  if (n != ndim)
    return TL_RULE_BAD_SHAPE;
  unsigned seen = 0;
  for (unsigned i = 0; i < n; i++) {
    int64_t a = p[i] < 0 ? p[i] + (int64_t) ndim : p[i];
    if (a < 0 || a >= (int64_t) ndim) {
      *bad = i;
      return TL_RULE_BAD_AXIS;
    }
    if (seen & (1u << a))
      return TL_RULE_REPEATED;
    seen |= 1u << a;
    perm[i] = (int) a;
  }
  return TL_RULE_OK;
}

/* --- slice ------------------------------------------------------------------- */

typedef struct {
  unsigned axis;
  int64_t start, end, step, len;
} TlSliceSpec;

/* Python-style start/end against a dim of `size` (step > 0 validated by the
 * caller; len 0 otherwise). */
static inline void
_tl_rule_slice (TlSliceSpec *s, int64_t start, int64_t end, int64_t step, int64_t size)
{
  if (start < 0)
    start += size;
  if (end < 0)
    end += size;
  start = start < 0 ? 0 : start > size ? size : start;
  end = end < start ? start : end > size ? size : end;
  s->start = start;
  s->end = end;
  s->step = step;
  /* (end - start + step - 1) / step without overflow for a huge step */
  s->len = step > 0 && end > start ? (end - start - 1) / step + 1 : 0;
}

/* --- matmul ------------------------------------------------------------------ */

typedef struct {
  int64_t m, n, k;
  int64_t rows_a, cols_a, rows_b, cols_b;
  unsigned nbatch_dims;
  int64_t batch[TL_MAX_DIMS];
  int64_t a_bstride[TL_MAX_DIMS]; /* matrix strides of a's batch axes (0: broadcast) */
  int64_t b_bstride[TL_MAX_DIMS];
  int64_t nbatch;
  int64_t a_nbatch, b_nbatch;
  int64_t bad_a, bad_b; /* on TL_RULE_BAD_SHAPE: the sizes that differ */
  int bad_axis;         /* ... at this batch axis, or -1: the inner dims */
} TlMatmulGeom;

/* a[..., rows_a, cols_a] @ b[..., rows_b, cols_b] (trans_a, trans_b) with
 * NumPy broadcasting of the batch axes. TL_RULE_BAD_ARGS: fewer than 2 axes. */
static inline TlRuleStatus
_tl_rule_matmul_geom (TlMatmulGeom *gm, unsigned nda, const int64_t *as, unsigned ndb, const int64_t *bs, int ta,
                      int tb)
{
  memset (gm, 0, sizeof *gm);
  if (nda < 2 || ndb < 2)
    return TL_RULE_BAD_ARGS;
  gm->rows_a = as[nda - 2];
  gm->cols_a = as[nda - 1];
  gm->rows_b = bs[ndb - 2];
  gm->cols_b = bs[ndb - 1];
  gm->m = ta ? gm->cols_a : gm->rows_a;
  gm->k = ta ? gm->rows_a : gm->cols_a;
  gm->n = tb ? gm->rows_b : gm->cols_b;
  int64_t kb = tb ? gm->cols_b : gm->rows_b;
  if (gm->k != kb) {
    gm->bad_a = gm->k;
    gm->bad_b = kb;
    gm->bad_axis = -1;
    return TL_RULE_BAD_SHAPE;
  }
  unsigned na = nda - 2, nb = ndb - 2, nd = na > nb ? na : nb;
  gm->nbatch_dims = nd;
  int64_t sa = 1, sb = 1;
  gm->nbatch = 1;
  for (int i = (int) nd - 1; i >= 0; i--) {
    int ia = i - (int) (nd - na), ib = i - (int) (nd - nb);
    int64_t da = ia >= 0 ? as[ia] : 1, db = ib >= 0 ? bs[ib] : 1;
    if (da != db && da != 1 && db != 1) {
      gm->bad_a = da;
      gm->bad_b = db;
      gm->bad_axis = i;
      return TL_RULE_BAD_SHAPE;
    }
    gm->batch[i] = (da == 0 || db == 0) ? 0 : da > db ? da : db;
    gm->a_bstride[i] = da == 1 ? 0 : sa;
    gm->b_bstride[i] = db == 1 ? 0 : sb;
    sa *= da;
    sb *= db;
    gm->nbatch *= gm->batch[i];
  }
  gm->a_nbatch = sa;
  gm->b_nbatch = sb;
  return TL_RULE_OK;
}

/* Matrix offsets (in matrices) of a and b for batch entry bi. */
static inline TL_HD void
_tl_rule_matmul_batch (const TlMatmulGeom *gm, int64_t bi, int64_t *oa, int64_t *ob)
{
  int64_t rem = bi, a = 0, b = 0;
  for (int d = (int) gm->nbatch_dims - 1; d >= 0; d--) {
    int64_t idx = rem % gm->batch[d];
    rem /= gm->batch[d];
    a += idx * gm->a_bstride[d];
    b += idx * gm->b_bstride[d];
  }
  *oa = a;
  *ob = b;
}

/* --- sliding windows (conv, pooling) ------------------------------------------ */

/* The spatial axes of x[N, C, (H,) W] (sp of them) and the per-axis stride
 * and padding: a 1-D op is the 2-D one with H 1, stride 1 and padding 0
 * along H. */
static inline void
_tl_rule_spatial (unsigned sp, const int64_t *xs, int64_t stride, int64_t pad, int64_t *H, int64_t *W,
                  int64_t *sh, int64_t *sw, int64_t *ph, int64_t *pw)
{
  *H = sp == 2 ? xs[2] : 1;
  *W = xs[sp + 1];
  *sh = sp == 2 ? stride : 1;
  *sw = stride;
  *ph = sp == 2 ? pad : 0;
  *pw = pad;
}

/* Positions of a window of extent e (at most n + 2 * pad) sliding with
 * stride s over n elements padded by pad on both sides. */
static inline int64_t
_tl_rule_window_out (int64_t n, int64_t pad, int64_t e, int64_t s)
{
  return (n + 2 * pad - e) / s + 1;
}

/* --- conv -------------------------------------------------------------------- */

typedef struct {
  int64_t N, C, H, W, O, KH, KW, OH, OW;
  int64_t sh, sw, ph, pw, dh, dw, groups;
  int64_t cg, og, kk; /* channels per group, outputs per group, cg*KH*KW */
} TlConvGeom;

/* conv{1,2}d (sp spatial axes) of x[N, C, (H,) W] by w[O, C/groups, (KH,) KW].
 * Fills c as far as the first broken rule: TL_RULE_BAD_ARGS (stride < 1,
 * padding < 0, dilation < 1 or groups < 1), TL_RULE_GROUPS, TL_RULE_BAD_SHAPE
 * (w axis 1 is not cg), TL_RULE_TOO_LARGE. */
static inline TlRuleStatus
_tl_rule_conv_geom (TlConvGeom *c, unsigned sp, const int64_t *x, const int64_t *w, int64_t stride, int64_t pad,
                    int64_t dil, int64_t groups)
{
  memset (c, 0, sizeof *c);
  c->N = x[0];
  c->C = x[1];
  _tl_rule_spatial (sp, x, stride, pad, &c->H, &c->W, &c->sh, &c->sw, &c->ph, &c->pw);
  c->O = w[0];
  c->KH = sp == 2 ? w[2] : 1;
  c->KW = w[sp + 1];
  c->dw = dil;
  c->dh = sp == 2 ? dil : 1;
  c->groups = groups;
  if (stride < 1 || pad < 0 || dil < 1 || groups < 1)
    return TL_RULE_BAD_ARGS;
  if (c->C % groups != 0 || c->O % groups != 0)
    return TL_RULE_GROUPS;
  c->cg = c->C / groups;
  c->og = c->O / groups;
  if (w[1] != c->cg)
    return TL_RULE_BAD_SHAPE;
  int64_t eh = c->dh * (c->KH - 1) + 1, ew = c->dw * (c->KW - 1) + 1;
  if (c->KH < 1 || c->KW < 1 || c->H + 2 * c->ph < eh || c->W + 2 * c->pw < ew)
    return TL_RULE_TOO_LARGE;
  c->OH = _tl_rule_window_out (c->H, c->ph, eh, c->sh);
  c->OW = _tl_rule_window_out (c->W, c->pw, ew, c->sw);
  c->kk = c->cg * c->KH * c->KW;
  return TL_RULE_OK;
}

/* --- pooling ------------------------------------------------------------------ */

typedef struct {
  int64_t planes, H, W, OH, OW;
  int64_t kh, kw, sh, sw, ph, pw;
} TlPoolGeom;

/* {max,avg}_pool{1,2}d of x[N, C, (H,) W], square kernel k, stride s (0:
 * k), padding pad. TL_RULE_BAD_ARGS (kernel < 1, stride < 1, padding
 * outside [0, kernel/2]), TL_RULE_TOO_LARGE. */
static inline TlRuleStatus
_tl_rule_pool_geom (TlPoolGeom *p, unsigned sp, const int64_t *xs, int64_t k, int64_t s, int64_t pad)
{
  if (s == 0)
    s = k;
  memset (p, 0, sizeof *p);
  p->planes = xs[0] * xs[1];
  _tl_rule_spatial (sp, xs, s, pad, &p->H, &p->W, &p->sh, &p->sw, &p->ph, &p->pw);
  p->kw = k;
  p->kh = sp == 2 ? k : 1;
  if (k < 1 || s < 1 || pad < 0 || pad > k / 2)
    return TL_RULE_BAD_ARGS;
  if (p->H + 2 * p->ph < p->kh || p->W + 2 * p->pw < p->kw)
    return TL_RULE_TOO_LARGE;
  p->OH = _tl_rule_window_out (p->H, p->ph, p->kh, p->sh);
  p->OW = _tl_rule_window_out (p->W, p->pw, p->kw, p->sw);
  return TL_RULE_OK;
}

/* --- layer_norm ----------------------------------------------------------------- */

/* Attrs of layer_norm / layer_norm_grad: has_gamma, has_beta, eps. Host only. */
static inline void
_tl_rule_ln_attrs (const TlAttrs *a, int *has_gamma, int *has_beta, double *eps)
{
  *has_gamma = tl_attrs_get_int (a, "has_gamma", 0) != 0;
  *has_beta = tl_attrs_get_int (a, "has_beta", 0) != 0;
  *eps = tl_attrs_get_float (a, "eps", 1e-5);
}

/* The attrs (eps as a float) and x viewed as [rows, D], D its last axis
 * (rows 0 when D is). Host only. */
static inline void
_tl_rule_ln_setup (const TlAttrs *a, const TlTensor *x, int *has_gamma, int *has_beta, float *eps, int64_t *D,
                   int64_t *rows)
{
  double e;
  _tl_rule_ln_attrs (a, has_gamma, has_beta, &e);
  *eps = (float) e;
  *D = tl_tensor_dim (x, -1);
  *rows = *D ? tl_tensor_numel (x) / *D : 0;
}

/* --- CSR matrices (spmm, spmm_t, sddmm) ------------------------------------------ */

typedef struct {
  const void *indptr, *indices;
  bool p64, i64; /* indptr / indices are i64 (else i32) */
  int64_t rows, nnz, cols, n;
} TlRuleCsr;

/* Entry i of an i64 (i64) or i32 index array. */
static inline TL_HD int64_t
_tl_rule_index_at (const void *p, int i64, int64_t i)
{
  return i64 ? ((const int64_t *) p)[i] : (int64_t) ((const int32_t *) p)[i];
}

/* The CSR matrix of indptr[rows + 1] and indices[nnz] (i32 or i64) with
 * cols columns, times n dense columns. Host only; the structure is not
 * checked here. */
static inline void
_tl_rule_csr_init (TlRuleCsr *c, const TlTensor *indptr, const TlTensor *indices, int64_t cols, int64_t n)
{
  c->indptr = tl_tensor_const_data (indptr);
  c->indices = tl_tensor_const_data (indices);
  c->p64 = tl_tensor_dtype (indptr) == TL_DTYPE_I64;
  c->i64 = tl_tensor_dtype (indices) == TL_DTYPE_I64;
  c->rows = tl_tensor_numel (indptr) - 1;
  c->nnz = tl_tensor_numel (indices);
  c->cols = cols;
  c->n = n;
}

/* --- dtype conversions (tl_tensor_copy_into and "cast") ------------------------ */

#ifdef __CUDACC__
#define TL_RULE_F16_LOAD(p, i) __half2float (((const __half *) (p))[i])
#define TL_RULE_BF16_LOAD(p, i) __bfloat162float (((const __nv_bfloat16 *) (p))[i])
#define TL_RULE_F16_STORE(p, i, f) (((__half *) (p))[i] = __float2half_rn (f))
#define TL_RULE_BF16_STORE(p, i, f) (((__nv_bfloat16 *) (p))[i] = __float2bfloat16_rn (f))
#else
#define TL_RULE_F16_LOAD(p, i) tl_f16_to_f32 (((const uint16_t *) (p))[i])
#define TL_RULE_BF16_LOAD(p, i) tl_bf16_to_f32 (((const uint16_t *) (p))[i])
#define TL_RULE_F16_STORE(p, i, f) (((uint16_t *) (p))[i] = tl_f32_to_f16 (f))
#define TL_RULE_BF16_STORE(p, i, f) (((uint16_t *) (p))[i] = tl_f32_to_bf16 (f))
#endif

/* How a copy from st to dt converts: the f16/bf16 <-> f32 pairs directly,
 * integers to i64 exactly, i64 to smaller integers saturating without going
 * through double, everything else through double. */
typedef enum {
  TL_CAST_SAME,
  TL_CAST_F16_TO_F32,
  TL_CAST_BF16_TO_F32,
  TL_CAST_F32_TO_F16,
  TL_CAST_F32_TO_BF16,
  TL_CAST_INT_TO_I64,
  TL_CAST_I64_TO_INT,
  TL_CAST_GENERIC,
} TlCastMode;

static inline TL_HD int
_tl_rule_dtype_is_float (TlDType dt)
{
  return dt == TL_DTYPE_F32 || dt == TL_DTYPE_F16 || dt == TL_DTYPE_BF16 || dt == TL_DTYPE_F64;
}

static inline TlCastMode
_tl_rule_cast_mode (TlDType st, TlDType dt)
{
  if (st == dt)
    return TL_CAST_SAME;
  if (dt == TL_DTYPE_F32 && st == TL_DTYPE_F16)
    return TL_CAST_F16_TO_F32;
  if (dt == TL_DTYPE_F32 && st == TL_DTYPE_BF16)
    return TL_CAST_BF16_TO_F32;
  if (dt == TL_DTYPE_F16 && st == TL_DTYPE_F32)
    return TL_CAST_F32_TO_F16;
  if (dt == TL_DTYPE_BF16 && st == TL_DTYPE_F32)
    return TL_CAST_F32_TO_BF16;
  if (dt == TL_DTYPE_I64 && !_tl_rule_dtype_is_float (st))
    return TL_CAST_INT_TO_I64;
  if (st == TL_DTYPE_I64 && !_tl_rule_dtype_is_float (dt))
    return TL_CAST_I64_TO_INT;
  return TL_CAST_GENERIC;
}

/* Element i of p (dtype dt) as a double; 0 for unknown dtypes. */
static inline TL_HD double
_tl_rule_load_elem (TlDType dt, const void *p, int64_t i)
{
  switch (dt) {
  case TL_DTYPE_F32: return ((const float *) p)[i];
  case TL_DTYPE_F16: return TL_RULE_F16_LOAD (p, i);
  case TL_DTYPE_BF16: return TL_RULE_BF16_LOAD (p, i);
  case TL_DTYPE_I8: return ((const int8_t *) p)[i];
  case TL_DTYPE_I32: return ((const int32_t *) p)[i];
  case TL_DTYPE_I64: return (double) ((const int64_t *) p)[i];
  case TL_DTYPE_BOOL: return ((const uint8_t *) p)[i] ? 1.0 : 0.0;
  case TL_DTYPE_U8: return ((const uint8_t *) p)[i];
  case TL_DTYPE_F64: return ((const double *) p)[i];
  default: return 0.0;
  }
}

/* Element i of an integer or bool p as an i64 (exact: every other
 * integer dtype fits a double). */
static inline TL_HD int64_t
_tl_rule_load_int (TlDType dt, const void *p, int64_t i)
{
  return dt == TL_DTYPE_I64 ? ((const int64_t *) p)[i] : (int64_t) _tl_rule_load_elem (dt, p, i);
}

/* A double to an integer in [lo, hi]: NaN is 0, out of range saturates,
 * the rest truncates toward zero. */
static inline TL_HD int64_t
_tl_rule_to_int (double v, double lo, double hi)
{
  if (isnan (v))
    return 0;
  if (v <= lo)
    return (int64_t) lo;
  if (v >= hi)
    return (int64_t) hi;
  return (int64_t) v;
}

/* Store v as element i of p (dtype dt): floats round to nearest even,
 * integers by _tl_rule_to_int, bool is v != 0. */
static inline TL_HD void
_tl_rule_store_elem (TlDType dt, void *p, int64_t i, double v)
{
  switch (dt) {
  case TL_DTYPE_F32: ((float *) p)[i] = (float) v; break;
  case TL_DTYPE_F16: TL_RULE_F16_STORE (p, i, (float) v); break;
  case TL_DTYPE_BF16: TL_RULE_BF16_STORE (p, i, (float) v); break;
  case TL_DTYPE_I8: ((int8_t *) p)[i] = (int8_t) _tl_rule_to_int (v, -128, 127); break;
  case TL_DTYPE_I32: ((int32_t *) p)[i] = (int32_t) _tl_rule_to_int (v, INT32_MIN, INT32_MAX); break;
  case TL_DTYPE_I64:
    ((int64_t *) p)[i] = isnan (v) ? 0 : v >= 9223372036854775807.0 ? INT64_MAX
                       : v <= -9223372036854775808.0 ? INT64_MIN : (int64_t) v;
    break;
  case TL_DTYPE_BOOL: ((uint8_t *) p)[i] = v != 0.0; break;
  case TL_DTYPE_U8: ((uint8_t *) p)[i] = (uint8_t) _tl_rule_to_int (v, 0, 255); break;
  case TL_DTYPE_F64: ((double *) p)[i] = v; break;
  default: break;
  }
}

/* Store an i64 as element i of an integer or bool p, saturating. */
static inline TL_HD void
_tl_rule_store_from_i64 (TlDType dt, void *p, int64_t i, int64_t v)
{
  switch (dt) {
  case TL_DTYPE_I8: ((int8_t *) p)[i] = (int8_t) (v < -128 ? -128 : v > 127 ? 127 : v); break;
  case TL_DTYPE_I32: ((int32_t *) p)[i] = (int32_t) (v < INT32_MIN ? INT32_MIN : v > INT32_MAX ? INT32_MAX : v); break;
  case TL_DTYPE_U8: ((uint8_t *) p)[i] = (uint8_t) (v < 0 ? 0 : v > 255 ? 255 : v); break;
  case TL_DTYPE_I64: ((int64_t *) p)[i] = v; break;
  default: ((uint8_t *) p)[i] = v != 0; break;
  }
}

/* --- random numbers (core/rng.c, dropout) ----------------------------------------- */

#define TL_RULE_PHILOX_M0 0xD2511F53u
#define TL_RULE_PHILOX_M1 0xCD9E8D57u
#define TL_RULE_PHILOX_W0 0x9E3779B9u
#define TL_RULE_PHILOX_W1 0xBB67AE85u

static inline TL_HD uint32_t
_tl_rule_mulhi32 (uint32_t a, uint32_t b)
{
#ifdef __CUDA_ARCH__
  return __umulhi (a, b);
#else
  return (uint32_t) (((uint64_t) a * b) >> 32);
#endif
}

/* One Philox-4x32-10 block: out = philox(ctr, key). Bit-identical everywhere. */
static inline TL_HD void
_tl_rule_philox4x32_10 (uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1,
                        uint32_t out[4])
{
  for (int r = 0; r < 10; r++) {
    uint32_t hi0 = _tl_rule_mulhi32 (TL_RULE_PHILOX_M0, c0), lo0 = TL_RULE_PHILOX_M0 * c0;
    uint32_t hi1 = _tl_rule_mulhi32 (TL_RULE_PHILOX_M1, c2), lo1 = TL_RULE_PHILOX_M1 * c2;
    uint32_t n0 = hi1 ^ c1 ^ k0;
    uint32_t n2 = hi0 ^ c3 ^ k1;
    c1 = lo1;
    c3 = lo0;
    c0 = n0;
    c2 = n2;
    k0 += TL_RULE_PHILOX_W0;
    k1 += TL_RULE_PHILOX_W1;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/* The Philox block `counter` of stream `stream` under key `seed` (the TlRng layout). */
static inline TL_HD void
_tl_rule_philox_block (uint64_t seed, uint64_t stream, uint64_t counter, uint32_t out[4])
{
  _tl_rule_philox4x32_10 ((uint32_t) counter, (uint32_t) (counter >> 32), (uint32_t) stream,
                          (uint32_t) (stream >> 32), (uint32_t) seed, (uint32_t) (seed >> 32), out);
}

/* A double uniform in [0, 1) from the top 53 bits of u. */
static inline TL_HD double
_tl_rule_uniform53 (uint64_t u)
{
  return (double) (u >> 11) * (1.0 / 9007199254740992.0);
}

/* Dropout draws element i of x from the stream (seed, i / TL_RULE_DROPOUT_BLOCK),
 * uniform (i % TL_RULE_DROPOUT_BLOCK) of that stream: two per Philox block. */
#define TL_RULE_DROPOUT_BLOCK 4096

/* 1 / (1 - p), 0 for p == 1. */
static inline float
_tl_rule_dropout_scale (double p)
{
  return p < 1.0 ? (float) (1.0 / (1.0 - p)) : 0.0f;
}

/* Attr "p" (default 0.5) of dropout / dropout_grad; an error outside [0, 1]. Host only. */
static inline gboolean
_tl_rule_dropout_p (const char *op, const TlAttrs *attrs, double *p, GError **error)
{
  *p = tl_attrs_get_float (attrs, "p", 0.5);
  if (!(*p >= 0.0 && *p <= 1.0)) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "%s: p must be in [0, 1], got %g", op, *p);
    return FALSE;
  }
  return TRUE;
}

#endif /* TL_OPS_RULES_H */
