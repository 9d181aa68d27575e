/* ops-common.c — helpers shared by the built-in op files. */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "ops-common.h"
#include "ops-rules.h"

static void
ops_error_va (GError **error, gint code, const char *op, const char *fmt, va_list ap)
{
  if (!error)
    return;
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  g_set_error (error, TL_ERROR, code, "%s: %s", op, msg);
}

void
_tl_priv_ops_shape_error (GError **error, const char *op, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  ops_error_va (error, TL_ERROR_SHAPE, op, fmt, ap);
  va_end (ap);
}

void
_tl_priv_ops_arg_error (GError **error, const char *op, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  ops_error_va (error, TL_ERROR_INVALID_ARGUMENT, op, fmt, ap);
  va_end (ap);
}

const char *
_tl_priv_ops_desc_str (const TlTensorDesc *d)
{
  static _Thread_local char bufs[4][160];
  static _Thread_local guint next;
  char *buf = bufs[next++ % 4];
  int len = g_snprintf (buf, 160, "%s[", tl_dtype_name (d->dtype));
  for (guint i = 0; i < d->ndim && i < TL_MAX_DIMS && len < 140; i++)
    len += g_snprintf (buf + len, 160 - len, "%s%" G_GINT64_FORMAT, i ? "," : "", d->shape[i]);
  g_strlcat (buf, "]", 160);
  return buf;
}

gint64
_tl_priv_ops_numel (const TlTensorDesc *d)
{
  return _tl_priv_shape_numel (d->ndim, d->shape);
}

gboolean
_tl_priv_ops_same_shape (const TlTensorDesc *a, const TlTensorDesc *b)
{
  return _tl_priv_shape_equal (a->ndim, a->shape, b->ndim, b->shape);
}

gboolean
_tl_priv_ops_check_dtype (const TlOpCall *call, guint i, const char *op, GError **error, ...)
{
  va_list ap;
  TlDType dt = call->inputs[i].dtype;
  GString *names = g_string_new (NULL);
  gboolean ok = FALSE;
  va_start (ap, error);
  for (;;) {
    TlDType want = va_arg (ap, int);
    if (want == TL_DTYPE_INVALID)
      break;
    if (want == dt)
      ok = TRUE;
    g_string_append_printf (names, "%s%s", names->len ? "/" : "", tl_dtype_name (want));
  }
  va_end (ap);
  if (!ok)
    _tl_priv_ops_shape_error (error, op, "input %u has dtype %s, expected %s", i, tl_dtype_name (dt),
                              names->str);
  g_string_free (names, TRUE);
  return ok;
}

gboolean
_tl_priv_ops_check_float (const TlOpCall *call, guint i, const char *op, GError **error)
{
  return _tl_priv_ops_check_dtype (call, i, op, error, TL_DTYPE_F32, TL_DTYPE_INVALID);
}

gboolean
_tl_priv_ops_broadcast_shape (guint n, const TlTensorDesc *const *ins, TlTensorDesc *out, const char *op,
                              GError **error)
{
  guint nd = 0;
  for (guint k = 0; k < n; k++)
    nd = MAX (nd, ins[k]->ndim);
  for (guint i = 0; i < nd; i++) {
    gint64 d = 1;
    for (guint k = 0; k < n; k++) {
      gint j = (gint) i - (gint) (nd - ins[k]->ndim);
      if (j < 0)
        continue;
      gint64 s = ins[k]->shape[j];
      if (s == d || s == 1)
        continue;
      if (d != 1) {
        if (n == 2)
          _tl_priv_ops_shape_error (error, op, "shapes %s and %s do not broadcast",
                                    _tl_priv_ops_desc_str (ins[0]), _tl_priv_ops_desc_str (ins[1]));
        else
          _tl_priv_ops_shape_error (error, op, "input %u of shape %s does not broadcast to the others", k,
                                    _tl_priv_ops_desc_str (ins[k]));
        return FALSE;
      }
      d = s;
    }
    out->shape[i] = d;
  }
  out->ndim = nd;
  for (guint i = nd; i < TL_MAX_DIMS; i++)
    out->shape[i] = 0;
  return TRUE;
}

void
_tl_priv_bcast_init (TlBcast *b, guint out_ndim, const gint64 *out_shape, guint n_ops,
                     const TlTensorDesc *const *ins)
{
  memset (b, 0, sizeof *b);
  b->n_ops = n_ops;
  guint nd = _tl_rule_bcast_merge (out_ndim, out_shape, n_ops, ins, b->shape, b->strides);
  b->ndim = nd;
  b->inner = b->shape[nd - 1];
  b->n_rows = 1;
  for (guint i = 0; i + 1 < nd; i++)
    b->n_rows *= b->shape[i];
}

void
_tl_priv_bcast_row (const TlBcast *b, gint64 row, gint64 *offs)
{
  for (guint k = 0; k < b->n_ops; k++)
    offs[k] = 0;
  for (gint i = (gint) b->ndim - 2; i >= 0 && row > 0; i--) {
    gint64 idx = row % b->shape[i];
    row /= b->shape[i];
    for (guint k = 0; k < b->n_ops; k++)
      offs[k] += idx * b->strides[k][i];
  }
}

gboolean
_tl_priv_ops_axis (gint64 axis, guint ndim, guint *out, const char *op, GError **error)
{
  gint64 a = axis < 0 ? axis + (gint64) ndim : axis;
  if (a < 0 || a >= (gint64) ndim) {
    _tl_priv_ops_arg_error (error, op, "axis %" G_GINT64_FORMAT " out of range for a %u-d input", axis, ndim);
    return FALSE;
  }
  *out = (guint) a;
  return TRUE;
}

gboolean
_tl_priv_ops_axes_mask (const TlAttrs *attrs, const char *key, guint ndim, gboolean *mask, const char *op,
                        GError **error)
{
  guint n = 0, bad = 0;
  const gint64 *axes = tl_attrs_get_ints (attrs, key, &n);
  switch (_tl_rule_axes_mask (ndim, axes, n, mask, &bad)) {
  case TL_RULE_OK: return TRUE;
  case TL_RULE_BAD_AXIS:
    _tl_priv_ops_arg_error (error, op, "axis %" G_GINT64_FORMAT " out of range for a %u-d input", axes[bad], ndim);
    return FALSE;
  default:
    _tl_priv_ops_arg_error (error, op, "axis %" G_GINT64_FORMAT " given twice", axes[bad]);
    return FALSE;
  }
}

gboolean
_tl_priv_ops_attr_ints (const TlAttrs *attrs, const char *key, guint max, gint64 *out, guint *n,
                        const char *op, GError **error)
{
  guint len = 0;
  const gint64 *v = tl_attrs_get_ints (attrs, key, &len);
  if (len > max) {
    _tl_priv_ops_arg_error (error, op, "attr '%s' has %u entries, at most %u allowed", key, len, max);
    return FALSE;
  }
  for (guint i = 0; i < len; i++)
    out[i] = v[i];
  *n = len;
  return TRUE;
}

gint64
_tl_priv_ops_n_chunks (gint64 n, gint64 grain)
{
  if (n <= 0)
    return 0;
  return (n + grain - 1) / grain;
}

typedef struct {
  TlUnaryKernel fn;
  const char *x;
  char *y;
  gsize xs, ys;
  const void *params;
} UnaryJob;

static void
unary_chunk (gint64 begin, gint64 end, gpointer data)
{
  UnaryJob *j = data;
  j->fn (j->x + begin * j->xs, j->y + begin * j->ys, end - begin, j->params);
}

void
_tl_priv_ops_run_unary (TlUnaryKernel fn, TlTensor *x, TlTensor *y, const void *params)
{
  UnaryJob j = { fn, tl_tensor_const_data (x), tl_tensor_data (y), tl_dtype_size (tl_tensor_dtype (x)),
                 tl_dtype_size (tl_tensor_dtype (y)), params };
  gint64 n = tl_tensor_numel (y);
  if (n <= TL_OPS_GRAIN)
    fn (j.x, j.y, n, params);
  else
    tl_parallel_for (n, TL_OPS_GRAIN, unary_chunk, &j);
}

typedef struct {
  TlBinaryKernel fn;
  const char *a, *b;
  char *y;
  gsize as, bs, ys;
  gint64 sa, sb; /* flat mode strides */
  const TlBcast *bc;
} BinaryJob;

static void
binary_flat_chunk (gint64 begin, gint64 end, gpointer data)
{
  BinaryJob *j = data;
  j->fn (j->a + begin * j->sa * j->as, j->sa, j->b + begin * j->sb * j->bs, j->sb, j->y + begin * j->ys,
         end - begin);
}

static void
binary_rows_chunk (gint64 begin, gint64 end, gpointer data)
{
  BinaryJob *j = data;
  const TlBcast *bc = j->bc;
  gint64 sa = bc->strides[0][bc->ndim - 1] ? 1 : 0;
  gint64 sb = bc->strides[1][bc->ndim - 1] ? 1 : 0;
  for (gint64 r = begin; r < end; r++) {
    gint64 offs[2];
    _tl_priv_bcast_row (bc, r, offs);
    j->fn (j->a + offs[0] * j->as, sa, j->b + offs[1] * j->bs, sb, j->y + r * bc->inner * j->ys, bc->inner);
  }
}

void
_tl_priv_ops_run_binary (TlBinaryKernel fn, TlTensor *a, TlTensor *b, TlTensor *out)
{
  BinaryJob j = { fn, tl_tensor_const_data (a), tl_tensor_const_data (b), tl_tensor_data (out),
                  tl_dtype_size (tl_tensor_dtype (a)), tl_dtype_size (tl_tensor_dtype (b)),
                  tl_dtype_size (tl_tensor_dtype (out)), 1, 1, NULL };
  gint64 n = tl_tensor_numel (out);
  gint64 na = tl_tensor_numel (a), nb = tl_tensor_numel (b);
  if (n == 0)
    return;
  if ((na == n || na == 1) && (nb == n || nb == 1)) {
    j.sa = na == n ? 1 : 0;
    j.sb = nb == n ? 1 : 0;
    if (n <= TL_OPS_GRAIN)
      binary_flat_chunk (0, n, &j);
    else
      tl_parallel_for (n, TL_OPS_GRAIN, binary_flat_chunk, &j);
    return;
  }
  TlBcast bc;
  TlTensorDesc da, db;
  tl_tensor_get_desc (a, &da);
  tl_tensor_get_desc (b, &db);
  const TlTensorDesc *ins[2] = { &da, &db };
  _tl_priv_bcast_init (&bc, tl_tensor_ndim (out), tl_tensor_shape (out), 2, ins);
  j.bc = &bc;
  gint64 grain = MAX (1, TL_OPS_GRAIN / MAX (1, bc.inner));
  if (bc.n_rows <= grain)
    binary_rows_chunk (0, bc.n_rows, &j);
  else
    tl_parallel_for (bc.n_rows, grain, binary_rows_chunk, &j);
}

void
_tl_priv_ops_cost_default (const TlOpCall *call, const TlTensorDesc *out, guint n_out, double flops_per_elem,
                           TlOpCost *cost)
{
  double rd = 0, wr = 0;
  for (guint i = 0; i < call->n_inputs; i++)
    rd += (double) _tl_priv_ops_numel (&call->inputs[i]) * tl_dtype_size (call->inputs[i].dtype);
  for (guint i = 0; i < n_out; i++)
    wr += (double) _tl_priv_ops_numel (&out[i]) * tl_dtype_size (out[i].dtype);
  cost->flops = n_out ? flops_per_elem * (double) _tl_priv_ops_numel (&out[0]) : 0;
  cost->bytes_read = rd;
  cost->bytes_written = wr;
}

TlValue *
_tl_priv_ops_op1 (TlGraph *g, const char *op, TlValue *x, const TlAttrs *attrs)
{
  return tl_graph_op (g, op, 1, &x, attrs);
}

TlValue *
_tl_priv_ops_op2 (TlGraph *g, const char *op, TlValue *a, TlValue *b, const TlAttrs *attrs)
{
  TlValue *in[2] = { a, b };
  return tl_graph_op (g, op, 2, in, attrs);
}

TlValue *
_tl_priv_ops_sum_to_like (TlGraph *g, TlValue *v, const TlValue *like)
{
  if (!v)
    return NULL;
  const TlTensorDesc *dv = tl_value_desc (v), *dl = tl_value_desc (like);
  if (_tl_priv_ops_same_shape (dv, dl))
    return v;
  return tl_sum_to (g, v, dl->ndim, dl->shape);
}

gboolean
_tl_priv_ops_register_all (const TlOpDef *const *defs, guint n, GError **error)
{
  for (guint i = 0; i < n; i++)
    if (!tl_op_register (defs[i], error))
      return FALSE;
  return TRUE;
}
