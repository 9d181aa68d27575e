/* checks-op.c — op components: shape inference agrees with the kernel and
 * the graph, the forward kernel is deterministic, the claims of the flags
 * TL_OP_OVERWRITES and TL_OP_SAME_BYTES hold, gradients agree with
 * central finite differences, and infer refuses malformed inputs with
 * TL_ERROR_SHAPE or TL_ERROR_INVALID_ARGUMENT (another dtype also with
 * TL_ERROR_UNSUPPORTED), never returning FALSE without setting its error
 * (nor does forward_cpu). Needs sample inputs from the op's
 * TL_OP_EXT_SAMPLES extension; without it the checks warn "no samples". */
#include "config.h"

#include <math.h>
#include <string.h>

#include "conformance.h"

#define MAX_IO 8
#define FD_EPS 1e-2
#define FD_ATOL 2e-2
#define FD_RTOL 5e-2
#define FD_MAX_ELEMENTS 16

typedef struct {
  const TlOpDef *def;
  const TlOpSamples *samples;
  guint n_in, n_out;
  TlTensorDesc in[MAX_IO];
  TlTensorDesc out[MAX_IO];
  TlAttrs *attrs;
  TlTensor *inputs[MAX_IO];
} OpSample;

static void
op_sample_clear (OpSample *o)
{
  for (guint i = 0; i < MAX_IO; i++)
    g_clear_pointer (&o->inputs[i], tl_tensor_unref);
  g_clear_pointer (&o->attrs, tl_attrs_free);
}

/* Load the op and its samples; FALSE without error: skipped (warned). */
static gboolean
op_open (TlcSuite *s, const TlComponentInfo *ci, OpSample *o, GError **error)
{
  memset (o, 0, sizeof *o);
  o->def = tlc_load (s, ci, error);
  if (!o->def)
    return FALSE;
  const TlOpSamples *smp = tlc_extension (ci, o->def, TL_OP_EXT_SAMPLES);
  if (!smp || !TL_TABLE_HAS (smp, TlOpSamples, get, 0) || !smp->get || smp->n_samples == 0) {
    tlc_warn ("no samples: %s has no extension " TL_OP_EXT_SAMPLES, tl_component_info_full_name (ci));
    tlc_skip ("no samples");
    return FALSE;
  }
  o->samples = smp;
  return TRUE;
}

/* --- infer, through tl_op_infer --------------------------------------------- */

/* tl_op_infer() checks the arity and the descs an op infers, and fills in a
 * generic TL_ERROR_SHAPE when the op's infer returns FALSE without setting
 * its error, which would pass for a refusal. So the suite calls it on a
 * copy of the op's table whose infer notes that (a check runs in a child
 * of its own, on one thread). */
static const TlOpDef *shim_op;
static gboolean shim_silent;

static gboolean
infer_shim (const TlOpCall *call, TlTensorDesc *out, uint32_t max_out, uint32_t *n_out, GError **error)
{
  gboolean ok = shim_op->infer (call, out, max_out, n_out, error);
  shim_silent = !ok && error && !*error;
  return ok;
}

/* tl_op_infer() on the op. An infer that fails without setting its error
 * fails with "infer returned FALSE without setting error" and *silent
 * TRUE; any other failure keeps its error, *silent FALSE. */
static gboolean
op_infer (const OpSample *o, guint n_in, const TlTensorDesc *in, TlTensorDesc *out, guint *n_out,
          gboolean *silent, GError **error)
{
  TlOpDef shim;
  gsize size = MIN ((gsize) o->def->struct_size, sizeof shim);
  memset (&shim, 0, sizeof shim);
  memcpy (&shim, o->def, size); /* the registry checked that it reaches forward_cpu */
  shim.struct_size = (uint32_t) size;
  shim.infer = infer_shim;
  shim_op = o->def;
  shim_silent = FALSE;
  GError *e = NULL;
  gboolean ok = tl_op_infer (&shim, n_in, in, o->attrs, MAX_IO, out, n_out, &e);
  *silent = !ok && shim_silent;
  if (*silent) {
    g_clear_error (&e);
    tlc_failed_silently (&e, "infer");
  }
  if (!ok)
    g_propagate_error (error, e);
  return ok;
}

/* Describe sample i, infer outputs and make seeded random inputs. */
static gboolean
op_prepare (OpSample *o, guint i, GError **error)
{
  op_sample_clear (o);
  o->attrs = tl_attrs_new ();
  uint32_t n_in = 0;
  memset (o->in, 0, sizeof o->in);
  if (!o->samples->get (i, o->in, MAX_IO, &n_in, o->attrs) || n_in > MAX_IO) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "sample %u: the samples extension failed", i);
    return FALSE;
  }
  o->n_in = n_in;
  guint n_out = 0;
  gboolean silent = FALSE;
  if (!op_infer (o, o->n_in, o->in, o->out, &n_out, &silent, error)) {
    g_prefix_error (error, silent ? "sample %u: " : "sample %u: infer: ", i);
    return FALSE;
  }
  o->n_out = n_out;
  double low = o->samples->low, high = o->samples->high;
  if (low == high) {
    low = -1;
    high = 1;
  }
  for (guint k = 0; k < o->n_in; k++) {
    o->inputs[k] = tlc_random_tensor (&o->in[k], 1000 + 17 * i + k, low, high, error);
    if (!o->inputs[k])
      return FALSE;
  }
  return TRUE;
}

/* Run the CPU kernel directly into new outputs whose bytes are all `fill`
 * (the executor zero-fills them unless the op declares TL_OP_OVERWRITES). */
static gboolean
op_forward_filled (OpSample *o, guint n_threads, guint8 fill, TlTensor **outs, GError **error)
{
  for (guint k = 0; k < o->n_out; k++) {
    outs[k] = tl_tensor_new_from_desc (&o->out[k], error);
    if (!outs[k])
      return FALSE;
    memset (tl_tensor_data (outs[k]), fill, tl_tensor_nbytes (outs[k]));
  }
  TlKernelCtx ctx;
  memset (&ctx, 0, sizeof ctx);
  ctx.n_inputs = o->n_in;
  ctx.n_outputs = o->n_out;
  ctx.attrs = o->attrs;
  ctx.seed = 1;
  ctx.n_threads = n_threads;
  ctx.deterministic = 1;
  if (o->def->forward_cpu (&ctx, o->inputs, outs, error))
    return TRUE;
  tlc_failed_silently (error, "forward_cpu");
  return FALSE;
}

static gboolean
op_forward (OpSample *o, guint n_threads, TlTensor **outs, GError **error)
{
  return op_forward_filled (o, n_threads, 0, outs, error);
}

static void
unref_all (TlTensor **ts, guint n)
{
  for (guint k = 0; k < n; k++)
    g_clear_pointer (&ts[k], tl_tensor_unref);
}

/* Build a graph applying the op to placeholders in0..inN. */
static TlGraph *
op_graph (OpSample *o, TlValue **in_vals, TlValue **out_vals, guint *n_out, GError **error)
{
  TlGraph *g = tl_graph_new ();
  for (guint k = 0; k < o->n_in; k++) {
    g_autofree char *name = g_strdup_printf ("in%u", k);
    in_vals[k] = tl_graph_input (g, name, o->in[k].dtype, o->in[k].ndim, o->in[k].shape);
  }
  *n_out = tl_graph_op_multi (g, o->def->name, o->n_in, in_vals, o->attrs, MAX_IO, out_vals);
  if (!tl_graph_take_error (g, error)) {
    tl_graph_unref (g);
    return NULL;
  }
  return g;
}

static gboolean
check_infer (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  OpSample o;
  if (!op_open (s, ci, &o, error))
    return error == NULL || *error == NULL;
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < o.samples->n_samples; i++) {
    TlTensor *outs[MAX_IO] = { NULL };
    ok = op_prepare (&o, i, error) && op_forward (&o, 1, outs, error);
    if (!ok) {
      unref_all (outs, MAX_IO);
      break;
    }
    for (guint k = 0; ok && k < o.n_out; k++) {
      if (!tlc_tensor_finite (outs[k])) {
        g_set_error (error, TL_ERROR, TL_ERROR_NUMERIC, "sample %u: output %u has NaN/Inf", i, k);
        ok = FALSE;
      }
    }
    /* the graph must infer the same descs, and the executor compute the same values */
    TlValue *in_vals[MAX_IO], *out_vals[MAX_IO];
    guint n_out = 0;
    TlGraph *g = ok ? op_graph (&o, in_vals, out_vals, &n_out, error) : NULL;
    ok = ok && g != NULL;
    if (ok && n_out != o.n_out) {
      g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "sample %u: graph node has %u outputs, infer said %u", i,
                   n_out, o.n_out);
      ok = FALSE;
    }
    for (guint k = 0; ok && k < n_out; k++) {
      if (!tl_tensor_desc_equal (tl_value_desc (out_vals[k]), &o.out[k])) {
        g_autofree char *a = tl_tensor_desc_to_string (tl_value_desc (out_vals[k]));
        g_autofree char *b = tl_tensor_desc_to_string (&o.out[k]);
        g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "sample %u: output %u is %s in the graph, %s by infer", i,
                     k, a, b);
        ok = FALSE;
      }
    }
    if (ok) {
      TlExecOptions opts;
      tl_exec_options_init (&opts);
      opts.deterministic = 1;
      TlExec *ex = tl_exec_new (g, n_out, out_vals, &opts, error);
      ok = ex != NULL;
      for (guint k = 0; ok && k < o.n_in; k++) {
        g_autofree char *name = g_strdup_printf ("in%u", k);
        ok = tl_exec_set_input (ex, name, o.inputs[k], error);
      }
      ok = ok && tl_exec_run (ex, 0, error);
      for (guint k = 0; ok && k < n_out; k++) {
        TlTensor *got = tl_exec_get_output (ex, k);
        TlTensorDesc d;
        tl_tensor_get_desc (got, &d);
        double diff = tl_tensor_max_rel_diff (got, outs[k]);
        if (!tl_tensor_desc_equal (&d, &o.out[k]) || diff < 0 || diff > 1e-5) {
          g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                       "sample %u: output %u through the executor differs from the kernel (rel diff %g)", i, k,
                       diff);
          ok = FALSE;
        }
      }
      tl_exec_free (ex);
    }
    if (g)
      tl_graph_unref (g);
    unref_all (outs, MAX_IO);
  }
  op_sample_clear (&o);
  return ok;
}

static gboolean
check_deterministic (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  OpSample o;
  if (!op_open (s, ci, &o, error))
    return error == NULL || *error == NULL;
  gboolean ok = TRUE;
  guint threads = MAX (2, tl_get_num_threads ());
  for (guint i = 0; ok && i < o.samples->n_samples; i++) {
    TlTensor *a[MAX_IO] = { NULL }, *b[MAX_IO] = { NULL }, *c[MAX_IO] = { NULL };
    ok = op_prepare (&o, i, error) && op_forward (&o, 1, a, error) && op_forward (&o, 1, b, error) &&
         op_forward (&o, threads, c, error);
    for (guint k = 0; ok && k < o.n_out; k++) {
      if (!tl_tensor_equal_bits (a[k], b[k])) {
        g_set_error (error, TL_ERROR, TL_ERROR_NUMERIC, "sample %u: output %u differs between two runs", i, k);
        ok = FALSE;
      } else if (!tl_tensor_equal_bits (a[k], c[k])) {
        g_set_error (error, TL_ERROR, TL_ERROR_NUMERIC,
                     "sample %u: output %u differs between 1 and %u threads with deterministic=1", i, k,
                     threads);
        ok = FALSE;
      }
    }
    unref_all (a, MAX_IO);
    unref_all (b, MAX_IO);
    unref_all (c, MAX_IO);
  }
  op_sample_clear (&o);
  return ok;
}

/* TL_OP_OVERWRITES: the kernel writes every output element, so outputs
 * that start as all-zero and all-0xff bytes (NaN for floats) end equal. */
static gboolean
check_overwrites (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  OpSample o;
  if (!op_open (s, ci, &o, error))
    return error == NULL || *error == NULL;
  gboolean ok = TRUE;
  if (!(o.def->flags & TL_OP_OVERWRITES)) {
    op_sample_clear (&o);
    return TRUE;
  }
  for (guint i = 0; ok && i < o.samples->n_samples; i++) {
    TlTensor *a[MAX_IO] = { NULL }, *b[MAX_IO] = { NULL };
    ok = op_prepare (&o, i, error) && op_forward_filled (&o, 1, 0x00, a, error) &&
         op_forward_filled (&o, 1, 0xff, b, error);
    for (guint k = 0; ok && k < o.n_out; k++) {
      if (!tl_tensor_equal_bits (a[k], b[k])) {
        g_set_error (error, TL_ERROR, TL_ERROR_NUMERIC,
                     "sample %u: output %u depends on its initial contents, but the op declares "
                     "TL_OP_OVERWRITES (the executor does not zero-fill its outputs)", i, k);
        ok = FALSE;
      }
    }
    unref_all (a, MAX_IO);
    unref_all (b, MAX_IO);
  }
  op_sample_clear (&o);
  return ok;
}

/* TL_OP_SAME_BYTES: on every (contiguous) sample the op has one input and
 * one output of input 0's dtype and element count, and the CPU kernel
 * writes exactly input 0's bytes into it (the executor may skip the kernel
 * and hand out input 0's buffer instead). */
static gboolean
check_same_bytes (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  OpSample o;
  if (!op_open (s, ci, &o, error))
    return error == NULL || *error == NULL;
  gboolean ok = TRUE;
  if (!(o.def->flags & TL_OP_SAME_BYTES)) {
    op_sample_clear (&o);
    return TRUE;
  }
  for (guint i = 0; ok && i < o.samples->n_samples; i++) {
    TlTensor *outs[MAX_IO] = { NULL };
    ok = op_prepare (&o, i, error);
    if (ok && (o.n_in != 1 || o.n_out != 1)) {
      g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                   "sample %u: %u inputs and %u outputs, but the op declares TL_OP_SAME_BYTES (one of each)", i,
                   o.n_in, o.n_out);
      ok = FALSE;
    } else if (ok && (o.out[0].dtype != o.in[0].dtype ||
                      tl_tensor_desc_numel (&o.out[0]) != tl_tensor_desc_numel (&o.in[0]))) {
      g_autofree char *a = tl_tensor_desc_to_string (&o.in[0]);
      g_autofree char *b = tl_tensor_desc_to_string (&o.out[0]);
      g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                   "sample %u: input %s, output %s, but the op declares TL_OP_SAME_BYTES (same dtype and number "
                   "of elements)", i, a, b);
      ok = FALSE;
    }
    ok = ok && op_forward_filled (&o, 1, 0xff, outs, error);
    /* sample inputs are new contiguous tensors */
    if (ok && memcmp (tl_tensor_const_data (outs[0]), tl_tensor_const_data (o.inputs[0]),
                      tl_tensor_nbytes (outs[0])) != 0) {
      g_set_error (error, TL_ERROR, TL_ERROR_NUMERIC,
                   "sample %u: output 0 is not input 0's bytes, but the op declares TL_OP_SAME_BYTES (the "
                   "executor may skip its kernel and hand out input 0's buffer)", i);
      ok = FALSE;
    }
    unref_all (outs, MAX_IO);
  }
  op_sample_clear (&o);
  return ok;
}

/* loss = sum_k sum(out_k * r_k) with fixed random r_k. */
static TlValue *
weighted_sum (TlGraph *g, OpSample *o, TlValue **out_vals, guint n_out, GError **error)
{
  TlValue *loss = NULL;
  for (guint k = 0; k < n_out; k++) {
    if (!tl_dtype_is_float (o->out[k].dtype))
      continue;
    TlTensor *r = tlc_random_tensor (&o->out[k], 500 + k, -1, 1, error);
    if (!r)
      return NULL;
    TlValue *term = tl_sum (g, tl_mul (g, out_vals[k], tl_graph_const (g, r)), 0, NULL, FALSE);
    tl_tensor_unref (r);
    loss = loss ? tl_add (g, loss, term) : term;
  }
  if (!loss)
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "no floating-point output");
  return loss;
}

static gboolean
grad_sample (OpSample *o, guint i, GError **error)
{
  TlValue *in_vals[MAX_IO], *out_vals[MAX_IO];
  guint n_out = 0;
  TlGraph *g = op_graph (o, in_vals, out_vals, &n_out, error);
  if (!g)
    return FALSE;
  gboolean ok = FALSE;
  TlExec *ex = NULL;
  TlValue *wrt[MAX_IO], *grads[MAX_IO] = { NULL };
  guint wrt_input[MAX_IO], n_wrt = 0;
  TlTensor *analytic[MAX_IO] = { NULL };
  TlValue *loss = weighted_sum (g, o, out_vals, n_out, error);
  if (!loss)
    goto out;
  for (guint k = 0; k < o->n_in; k++)
    if (tl_dtype_is_float (o->in[k].dtype)) {
      wrt_input[n_wrt] = k;
      wrt[n_wrt++] = in_vals[k];
    }
  if (n_wrt == 0) {
    ok = TRUE;
    goto out;
  }
  if (!tl_autodiff (g, loss, n_wrt, wrt, grads, error) || !tl_graph_take_error (g, error))
    goto out;
  TlValue *outs[MAX_IO + 1];
  guint n_outs = 0;
  outs[n_outs++] = loss;
  for (guint k = 0; k < n_wrt; k++)
    if (grads[k])
      outs[n_outs++] = grads[k];
  TlExecOptions opts;
  tl_exec_options_init (&opts);
  opts.deterministic = 1;
  ex = tl_exec_new (g, n_outs, outs, &opts, error);
  if (!ex)
    goto out;
  for (guint k = 0; k < o->n_in; k++) {
    g_autofree char *name = g_strdup_printf ("in%u", k);
    if (!tl_exec_set_input (ex, name, o->inputs[k], error))
      goto out;
  }
  if (!tl_exec_run (ex, 0, error))
    goto out;
  for (guint k = 0, j = 1; k < n_wrt; k++)
    if (grads[k])
      analytic[k] = tl_tensor_copy (tl_exec_get_output (ex, j++), NULL);

  for (guint k = 0; k < n_wrt; k++) {
    guint in = wrt_input[k];
    TlTensor *x = o->inputs[in];
    gint64 n = tl_tensor_numel (x);
    gint64 stride = MAX (1, n / FD_MAX_ELEMENTS);
    for (gint64 e = 0; e < n; e += stride) {
      double orig = tl_tensor_get_flat (x, e);
      double lp, lm;
      g_autofree char *name = g_strdup_printf ("in%u", in);
      tl_tensor_set_flat (x, e, orig + FD_EPS);
      if (!tl_exec_set_input (ex, name, x, error) || !tl_exec_run (ex, 0, error))
        goto out;
      lp = tl_tensor_get_flat (tl_exec_get_output (ex, 0), 0);
      tl_tensor_set_flat (x, e, orig - FD_EPS);
      if (!tl_exec_set_input (ex, name, x, error) || !tl_exec_run (ex, 0, error))
        goto out;
      lm = tl_tensor_get_flat (tl_exec_get_output (ex, 0), 0);
      tl_tensor_set_flat (x, e, orig);
      if (!tl_exec_set_input (ex, name, x, error))
        goto out;
      double num = (lp - lm) / (2 * FD_EPS);
      double ana = analytic[k] ? tl_tensor_get_flat (analytic[k], e) : 0.0;
      if (!(fabs (ana - num) <= FD_ATOL + FD_RTOL * fabs (num))) {
        g_set_error (error, TL_ERROR, TL_ERROR_NUMERIC,
                     "sample %u: d loss / d input%u[%" G_GINT64_FORMAT "]: backward gives %.6g, finite "
                     "differences %.6g",
                     i, in, e, ana, num);
        goto out;
      }
    }
  }
  ok = TRUE;
out:
  for (guint k = 0; k < MAX_IO; k++)
    if (analytic[k])
      tl_tensor_unref (analytic[k]);
  tl_exec_free (ex);
  tl_graph_unref (g);
  return ok;
}

static gboolean
check_gradients (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  OpSample o;
  if (!op_open (s, ci, &o, error))
    return error == NULL || *error == NULL;
  if (!o.def->backward || (o.def->flags & TL_OP_NONDIFF)) {
    tlc_skip ("not differentiable");
    return TRUE;
  }
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < o.samples->n_samples; i++)
    ok = op_prepare (&o, i, error) && grad_sample (&o, i, error);
  op_sample_clear (&o);
  return ok;
}

/* --- bad inputs --------------------------------------------------------------- */

/* infer() on one malformed variant of a sample's inputs: refusing it is
 * fine (tl-op.h: "report bad ones as TL_ERROR_SHAPE /
 * TL_ERROR_INVALID_ARGUMENT (an input dtype the op has no kernel for may be
 * reported as TL_ERROR_UNSUPPORTED instead)", as the built-in ops do), any
 * other error is not, nor a FALSE without an error; accepting it is fine
 * too when the outputs are valid (tl_op_infer checks them). @other_dtype:
 * the variant changed a dtype only. */
static gboolean
infer_variant (OpSample *o, guint i, guint n_in, const TlTensorDesc *in, const char *what, gboolean other_dtype,
               guint *n_refused, GError **error)
{
  TlTensorDesc out[MAX_IO];
  guint n_out = 0;
  gboolean silent = FALSE;
  g_autoptr (GError) e = NULL;
  if (op_infer (o, n_in, in, out, &n_out, &silent, &e))
    return TRUE;
  if (silent) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN,
                 "sample %u with %s: %s (tl-op.h: infer reports bad inputs in its error, as %s)", i, what,
                 e->message, other_dtype ? "TL_ERROR_SHAPE, TL_ERROR_INVALID_ARGUMENT or TL_ERROR_UNSUPPORTED"
                                         : "TL_ERROR_SHAPE or TL_ERROR_INVALID_ARGUMENT");
    return FALSE;
  }
  if (e->domain == TL_ERROR && (e->code == TL_ERROR_SHAPE || e->code == TL_ERROR_INVALID_ARGUMENT ||
                                (other_dtype && e->code == TL_ERROR_UNSUPPORTED))) {
    (*n_refused)++;
    return TRUE;
  }
  g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "sample %u with %s: infer failed with %s code %d, not %s: %s",
               i, what, e->domain == TL_ERROR ? "TL_ERROR" : g_quark_to_string (e->domain), e->code,
               other_dtype ? "TL_ERROR_SHAPE, TL_ERROR_INVALID_ARGUMENT or TL_ERROR_UNSUPPORTED"
                           : "TL_ERROR_SHAPE or TL_ERROR_INVALID_ARGUMENT",
               e->message);
  return FALSE;
}

/* Each sample with, per input: another dtype, an extra dimension, a last
 * dimension one longer, rank 0; and for a variadic op one input more (a
 * fixed-arity op never sees a wrong input count: tl_op_infer refuses it
 * before calling infer). A crash fails the check too. */
static gboolean
check_bad_inputs (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  OpSample o;
  if (!op_open (s, ci, &o, error))
    return error == NULL || *error == NULL;
  gboolean ok = TRUE;
  guint n_tried = 0, n_refused = 0;
  for (guint i = 0; ok && i < o.samples->n_samples; i++) {
    ok = op_prepare (&o, i, error);
    for (guint k = 0; ok && k < o.n_in; k++) {
      TlTensorDesc in[MAX_IO];
      const TlTensorDesc *d = &o.in[k];
      g_autofree char *orig = tl_tensor_desc_to_string (d);
      for (guint v = 0; ok && v < 4; v++) {
        memcpy (in, o.in, sizeof (TlTensorDesc) * o.n_in);
        TlTensorDesc *x = &in[k];
        if (v == 0) {
          x->dtype = d->dtype == TL_DTYPE_F32 ? TL_DTYPE_I64 : TL_DTYPE_F32;
        } else if (v == 1) {
          if (d->ndim >= TL_MAX_DIMS)
            continue;
          x->shape[x->ndim++] = 3;
        } else if (v == 2) {
          if (d->ndim == 0)
            continue;
          x->shape[x->ndim - 1]++;
        } else {
          if (d->ndim == 0)
            continue;
          memset (x->shape, 0, sizeof x->shape);
          x->ndim = 0;
        }
        g_autofree char *bad = tl_tensor_desc_to_string (x);
        g_autofree char *what = g_strdup_printf ("input %u %s instead of %s", k, bad, orig);
        n_tried++;
        ok = infer_variant (&o, i, o.n_in, in, what, v == 0, &n_refused, error);
      }
    }
    if (ok && o.def->n_inputs < 0 && o.n_in >= 1 && o.n_in < MAX_IO) {
      TlTensorDesc in[MAX_IO];
      memcpy (in, o.in, sizeof (TlTensorDesc) * o.n_in);
      in[o.n_in] = o.in[o.n_in - 1];
      n_tried++;
      ok = infer_variant (&o, i, o.n_in + 1, in, "one input more", FALSE, &n_refused, error);
    }
  }
  if (ok)
    tlc_note ("%u of %u malformed input sets refused", n_refused, n_tried);
  op_sample_clear (&o);
  return ok;
}

void
tlc_checks_op (TlcSuite *s, const TlComponentInfo *ci)
{
  const char *name = tl_component_info_full_name (ci);
  g_autofree char *n1 = g_strdup_printf ("%s: infer consistent with kernel outputs", name);
  g_autofree char *n2 = g_strdup_printf ("%s: deterministic forward", name);
  g_autofree char *n3 = g_strdup_printf ("%s: gradients match finite differences", name);
  g_autofree char *n4 = g_strdup_printf ("%s: writes every output element if it says so", name);
  g_autofree char *n5 = g_strdup_printf ("%s: output is input's bytes if it says so", name);
  tlc_run (s, n1, check_infer, ci);
  tlc_run (s, n2, check_deterministic, ci);
  tlc_run (s, n4, check_overwrites, ci);
  tlc_run (s, n5, check_same_bytes, ci);
  tlc_run (s, n3, check_gradients, ci);
  g_autofree char *n6 = g_strdup_printf ("%s: infer refuses bad inputs with the documented error codes", name);
  tlc_run (s, n6, check_bad_inputs, ci);
}
