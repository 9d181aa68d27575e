/* gradcheck.c — random tensors, finite-difference gradient checks and a
 * one-op runner shared by the op tests and the parity dump. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "gradcheck.h"

#define MAX_OUT 16
#define GRAD_STREAM 7

/**
 * tl_test_device:
 *
 * The device every executor of these helpers runs on: $TL_TEST_DEVICE
 * when set and not empty ("cuda", "cuda:1", ...), else "cpu".
 *
 * Returns: (transfer none): the device name.
 */
const char *
tl_test_device (void)
{
  const char *d = g_getenv ("TL_TEST_DEVICE");
  return d && *d ? d : "cpu";
}

/**
 * tl_test_exec_options_init:
 * @opts: options to initialise
 *
 * tl_exec_options_init() with the device set to tl_test_device().
 */
void
tl_test_exec_options_init (TlExecOptions *opts)
{
  tl_exec_options_init (opts);
  opts->device = tl_test_device ();
}

/**
 * tl_test_randn:
 * @rng: seeded generator
 * @ndim: number of axes
 * @shape: (array length=ndim): sizes
 * @scale: standard deviation
 *
 * Returns: (transfer full): a new f32 tensor with N(0, scale^2) entries.
 */
TlTensor *
tl_test_randn (TlRng *rng, guint ndim, const gint64 *shape, double scale)
{
  TlTensor *t = tl_tensor_new (TL_DTYPE_F32, ndim, shape, NULL);
  if (!t)
    return NULL;
  float *p = tl_tensor_data (t);
  gint64 n = tl_tensor_numel (t);
  for (gint64 i = 0; i < n; i++)
    p[i] = (float) (tl_rng_normal (rng) * scale);
  return t;
}

/**
 * tl_test_randint:
 * @rng: seeded generator
 * @lo: smallest value
 * @hi: one past the largest value (> lo)
 * @dtype: element type
 * @ndim: number of axes
 * @shape: (array length=ndim): sizes
 *
 * Returns: (transfer full): a new tensor with integers uniform in [lo, hi).
 */
TlTensor *
tl_test_randint (TlRng *rng, gint64 lo, gint64 hi, TlDType dtype, guint ndim, const gint64 *shape)
{
  TlTensor *t = tl_tensor_new (dtype, ndim, shape, NULL);
  if (!t)
    return NULL;
  gint64 n = tl_tensor_numel (t);
  guint64 range = hi > lo ? (guint64) (hi - lo) : 1;
  for (gint64 i = 0; i < n; i++)
    tl_tensor_set_flat (t, i, (double) (lo + (gint64) tl_rng_below (rng, range)));
  return t;
}

/**
 * tl_test_tensors_free:
 * @ts: (nullable) (transfer full): array of tensors
 * @n: its length
 *
 * Unrefs every entry (NULL entries allowed) and frees the array.
 */
void
tl_test_tensors_free (TlTensor **ts, guint n)
{
  if (!ts)
    return;
  for (guint i = 0; i < n; i++)
    tl_tensor_unref (ts[i]);
  g_free (ts);
}

/* One op applied to placeholders "in0".."inN", plus optionally
 * loss = sum_k sum(out_k * w_k) and its gradients. */
typedef struct {
  TlGraph *g;
  guint n_in;
  guint n_out;
  TlValue **in_vals;
  TlValue *out_vals[MAX_OUT];
  TlTensor *w[MAX_OUT];
  TlValue *loss;
  TlValue **grads; /* n_in entries, NULL: no path or non-float input */
} OpGraph;

static void
op_graph_clear (OpGraph *og)
{
  for (guint k = 0; k < MAX_OUT; k++)
    tl_tensor_unref (og->w[k]);
  g_free (og->in_vals);
  g_free (og->grads);
  if (og->g)
    tl_graph_unref (og->g);
  memset (og, 0, sizeof *og);
}

static char *
input_name (guint i)
{
  return g_strdup_printf ("in%u", i);
}

static gboolean
op_graph_build (OpGraph *og, const char *op, guint n_inputs, TlTensor *const *inputs,
                const TlAttrs *attrs, gboolean with_grads, guint64 grad_seed, GError **error)
{
  memset (og, 0, sizeof *og);
  if (!tl_init (error))
    return FALSE;
  og->g = tl_graph_new ();
  og->n_in = n_inputs;
  og->in_vals = g_new0 (TlValue *, n_inputs ? n_inputs : 1);
  og->grads = g_new0 (TlValue *, n_inputs ? n_inputs : 1);
  for (guint i = 0; i < n_inputs; i++) {
    g_autofree char *name = input_name (i);
    og->in_vals[i] = tl_graph_input (og->g, name, tl_tensor_dtype (inputs[i]), tl_tensor_ndim (inputs[i]),
                                     tl_tensor_shape (inputs[i]));
  }
  if (!tl_graph_take_error (og->g, error))
    return FALSE;
  og->n_out = tl_graph_op_multi (og->g, op, n_inputs, og->in_vals, attrs, MAX_OUT, og->out_vals);
  if (!tl_graph_take_error (og->g, error))
    return FALSE;
  if (og->n_out == 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_FAILED, "op %s produced no output", op);
    return FALSE;
  }
  if (!with_grads)
    return TRUE;

  TlRng rng;
  tl_rng_init (&rng, grad_seed, GRAD_STREAM);
  for (guint k = 0; k < og->n_out; k++) {
    const TlTensorDesc *d = tl_value_desc (og->out_vals[k]);
    if (d->dtype != TL_DTYPE_F32)
      continue;
    og->w[k] = tl_test_randn (&rng, d->ndim, d->shape, 1.0);
    TlValue *t = tl_sum (og->g, tl_mul (og->g, og->out_vals[k], tl_graph_const (og->g, og->w[k])), 0, NULL,
                         FALSE);
    og->loss = og->loss ? tl_add (og->g, og->loss, t) : t;
  }
  if (!tl_graph_take_error (og->g, error))
    return FALSE;
  if (!og->loss) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "op %s has no f32 output to differentiate", op);
    return FALSE;
  }
  g_autofree TlValue **wrt = g_new0 (TlValue *, n_inputs ? n_inputs : 1);
  g_autofree TlValue **gr = g_new0 (TlValue *, n_inputs ? n_inputs : 1);
  g_autofree guint *idx = g_new0 (guint, n_inputs ? n_inputs : 1);
  guint n_wrt = 0;
  for (guint i = 0; i < n_inputs; i++)
    if (tl_dtype_is_float (tl_tensor_dtype (inputs[i]))) {
      idx[n_wrt] = i;
      wrt[n_wrt++] = og->in_vals[i];
    }
  if (n_wrt > 0 && !tl_autodiff (og->g, og->loss, n_wrt, wrt, gr, error))
    return FALSE;
  for (guint j = 0; j < n_wrt; j++)
    og->grads[idx[j]] = gr[j];
  return tl_graph_take_error (og->g, error);
}

static TlExec *
op_graph_exec (OpGraph *og, guint n, TlValue *const *vals, TlTensor *const *inputs, gboolean training,
               GError **error)
{
  TlExecOptions opts;
  tl_test_exec_options_init (&opts);
  opts.deterministic = 1;
  opts.training = training ? 1 : 0;
  TlExec *ex = tl_exec_new (og->g, n, vals, &opts, error);
  if (!ex)
    return NULL;
  for (guint i = 0; i < og->n_in; i++) {
    g_autofree char *name = input_name (i);
    if (!tl_exec_set_input (ex, name, inputs[i], error)) {
      tl_exec_free (ex);
      return NULL;
    }
  }
  return ex;
}

/* Runs ex and returns host copies of its n outputs (copies on the CPU
 * too: the next run may reuse the executor's buffers). */
static TlTensor **
exec_collect (TlExec *ex, guint n, GError **error)
{
  if (!tl_exec_run (ex, 0, error))
    return NULL;
  TlTensor **res = g_new0 (TlTensor *, n ? n : 1);
  for (guint i = 0; i < n; i++) {
    g_autoptr (TlTensor) o = tl_exec_get_output_host (ex, i, error);
    res[i] = o ? tl_tensor_copy (o, error) : NULL;
    if (!res[i]) {
      tl_test_tensors_free (res, n);
      return NULL;
    }
  }
  return res;
}

/**
 * tl_test_run_op:
 *
 * See gradcheck.h. Returns: TRUE on success.
 */
gboolean
tl_test_run_op (const char *op, guint n_inputs, TlTensor *const *inputs, const TlAttrs *attrs,
                gboolean with_grads, guint64 grad_seed, guint *n_outputs, TlTensor ***outputs,
                TlTensor ***grad_outputs, TlTensor ***grad_inputs, GError **error)
{
  return tl_test_run_op_mode (op, n_inputs, inputs, attrs, FALSE, with_grads, grad_seed, n_outputs, outputs,
                              grad_outputs, grad_inputs, error);
}

/**
 * tl_test_run_op_mode:
 *
 * See gradcheck.h: tl_test_run_op() with the executor in training mode
 * when @training. Returns: TRUE on success.
 */
gboolean
tl_test_run_op_mode (const char *op, guint n_inputs, TlTensor *const *inputs, const TlAttrs *attrs,
                     gboolean training, gboolean with_grads, guint64 grad_seed, guint *n_outputs,
                     TlTensor ***outputs, TlTensor ***grad_outputs, TlTensor ***grad_inputs, GError **error)
{
  OpGraph og;
  gboolean ok = FALSE;
  TlExec *ex = NULL;
  TlTensor **res = NULL;
  g_autofree TlValue **vals = g_new0 (TlValue *, MAX_OUT + n_inputs);
  g_autofree gint *grad_pos = g_new0 (gint, n_inputs ? n_inputs : 1);
  guint n = 0;
  if (!op_graph_build (&og, op, n_inputs, inputs, attrs, with_grads, grad_seed, error))
    goto out;

  /* outputs first, then the non-NULL gradients */
  for (guint k = 0; k < og.n_out; k++)
    vals[n++] = og.out_vals[k];
  for (guint i = 0; i < n_inputs; i++) {
    grad_pos[i] = -1;
    if (with_grads && og.grads[i]) {
      grad_pos[i] = (gint) n;
      vals[n++] = og.grads[i];
    }
  }
  ex = op_graph_exec (&og, n, vals, inputs, training, error);
  if (!ex || !(res = exec_collect (ex, n, error)))
    goto out;

  *n_outputs = og.n_out;
  *outputs = g_new0 (TlTensor *, og.n_out);
  for (guint k = 0; k < og.n_out; k++)
    (*outputs)[k] = tl_tensor_ref (res[k]);
  if (grad_outputs)
    *grad_outputs = NULL;
  if (grad_inputs)
    *grad_inputs = NULL;
  if (with_grads && grad_outputs) {
    *grad_outputs = g_new0 (TlTensor *, og.n_out);
    for (guint k = 0; k < og.n_out; k++)
      (*grad_outputs)[k] = og.w[k] ? tl_tensor_copy (og.w[k], NULL) : NULL;
  }
  if (with_grads && grad_inputs) {
    *grad_inputs = g_new0 (TlTensor *, n_inputs ? n_inputs : 1);
    for (guint i = 0; i < n_inputs; i++) {
      if (!tl_dtype_is_float (tl_tensor_dtype (inputs[i])))
        continue;
      if (grad_pos[i] >= 0)
        (*grad_inputs)[i] = tl_tensor_ref (res[grad_pos[i]]);
      else
        (*grad_inputs)[i] = tl_tensor_new (tl_tensor_dtype (inputs[i]), tl_tensor_ndim (inputs[i]),
                                           tl_tensor_shape (inputs[i]), NULL);
    }
  }
  ok = TRUE;
out:
  tl_test_tensors_free (res, n);
  tl_exec_free (ex);
  op_graph_clear (&og);
  return ok;
}

/* sum_k sum_j out_k[j] * w_k[j] in double. */
static double
host_loss (TlTensor *const *outs, TlTensor *const *w, guint n_out)
{
  double acc = 0.0;
  for (guint k = 0; k < n_out; k++) {
    if (!w[k])
      continue;
    gint64 n = tl_tensor_numel (w[k]);
    const float *pw = tl_tensor_const_data (w[k]);
    for (gint64 j = 0; j < n; j++)
      acc += tl_tensor_get_flat (outs[k], j) * (double) pw[j];
  }
  return acc;
}

static gboolean
fd_loss (TlExec *ex, const char *name, TlTensor *work, OpGraph *og, double *loss, GError **error)
{
  if (!tl_exec_set_input (ex, name, work, error) || !tl_exec_run (ex, 0, error))
    return FALSE;
  TlTensor *outs[MAX_OUT] = { NULL };
  gboolean ok = TRUE;
  for (guint k = 0; k < og->n_out && ok; k++)
    ok = og->w[k] == NULL || (outs[k] = tl_exec_get_output_host (ex, k, error)) != NULL;
  if (ok)
    *loss = host_loss (outs, og->w, og->n_out);
  for (guint k = 0; k < og->n_out; k++)
    tl_tensor_unref (outs[k]);
  return ok;
}

/**
 * tl_gradcheck:
 *
 * See gradcheck.h. Returns: TRUE when every gradient element is within tol.
 */
gboolean
tl_gradcheck (const char *op, guint n_inputs, TlTensor *const *inputs, const TlAttrs *attrs, double eps,
              double tol, double *max_err, GError **error)
{
  guint n_out = 0;
  TlTensor **outs = NULL, **grads = NULL;
  OpGraph og;
  TlExec *ex = NULL;
  gboolean ok = FALSE;
  double worst = 0.0, worst_g = 0.0, worst_fd = 0.0;
  guint worst_in = 0;
  gint64 worst_el = -1;
  g_autofree TlTensor **work = g_new0 (TlTensor *, n_inputs ? n_inputs : 1);

  memset (&og, 0, sizeof og);
  if (max_err)
    *max_err = G_MAXDOUBLE;
  if (!tl_test_run_op (op, n_inputs, inputs, attrs, TRUE, 1234, &n_out, &outs, NULL, &grads, error))
    goto out;
  /* Second graph of the op alone for the finite differences (same weights). */
  if (!op_graph_build (&og, op, n_inputs, inputs, attrs, TRUE, 1234, error))
    goto out;
  for (guint i = 0; i < n_inputs; i++)
    if (!(work[i] = tl_tensor_copy (inputs[i], error)))
      goto out;
  ex = op_graph_exec (&og, og.n_out, og.out_vals, work, FALSE, error);
  if (!ex)
    goto out;

  for (guint i = 0; i < n_inputs; i++) {
    if (tl_tensor_dtype (inputs[i]) != TL_DTYPE_F32)
      continue;
    g_autofree char *name = input_name (i);
    float *p = tl_tensor_data (work[i]);
    gint64 n = tl_tensor_numel (work[i]);
    for (gint64 j = 0; j < n; j++) {
      float orig = p[j];
      float xp = (float) (orig + eps), xm = (float) (orig - eps);
      double lp, lm;
      p[j] = xp;
      if (!fd_loss (ex, name, work[i], &og, &lp, error))
        goto out;
      p[j] = xm;
      if (!fd_loss (ex, name, work[i], &og, &lm, error))
        goto out;
      p[j] = orig;
      double fd = (lp - lm) / ((double) xp - (double) xm);
      double gv = tl_tensor_get_flat (grads[i], j);
      double err = fabs (gv - fd) / MAX (1.0, fabs (fd));
      if (isnan (err))
        err = INFINITY;
      if (err > worst || worst_el < 0) {
        worst = err;
        worst_g = gv;
        worst_fd = fd;
        worst_in = i;
        worst_el = j;
      }
    }
    /* restore the feed */
    if (!tl_exec_set_input (ex, name, work[i], error))
      goto out;
  }
  if (max_err)
    *max_err = worst;
  if (worst > tol) {
    g_set_error (error, TL_ERROR, TL_ERROR_NUMERIC,
                 "gradcheck %s: input %u element %" G_GINT64_FORMAT ": autodiff %.6g vs finite difference "
                 "%.6g (err %.3g > tol %.3g)",
                 op, worst_in, worst_el, worst_g, worst_fd, worst, tol);
    goto out;
  }
  ok = TRUE;
out:
  tl_exec_free (ex);
  op_graph_clear (&og);
  for (guint i = 0; i < n_inputs; i++)
    tl_tensor_unref (work[i]);
  tl_test_tensors_free (outs, n_out);
  tl_test_tensors_free (grads, n_inputs);
  return ok;
}

/**
 * tl_test_forward_deterministic:
 *
 * See gradcheck.h. Returns: TRUE when two forward runs agree bit for bit.
 */
gboolean
tl_test_forward_deterministic (const char *op, guint n_inputs, TlTensor *const *inputs,
                               const TlAttrs *attrs, GError **error)
{
  OpGraph og;
  TlExec *ex = NULL;
  TlTensor **a = NULL, **b = NULL;
  gboolean ok = FALSE;
  if (!op_graph_build (&og, op, n_inputs, inputs, attrs, FALSE, 0, error))
    goto out;
  ex = op_graph_exec (&og, og.n_out, og.out_vals, inputs, FALSE, error);
  if (!ex || !(a = exec_collect (ex, og.n_out, error)) || !(b = exec_collect (ex, og.n_out, error)))
    goto out;
  for (guint k = 0; k < og.n_out; k++)
    if (!tl_tensor_equal_bits (a[k], b[k])) {
      g_set_error (error, TL_ERROR, TL_ERROR_NUMERIC, "%s: output %u differs between two runs", op, k);
      goto out;
    }
  ok = TRUE;
out:
  if (a)
    tl_test_tensors_free (a, og.n_out);
  if (b)
    tl_test_tensors_free (b, og.n_out);
  tl_exec_free (ex);
  op_graph_clear (&og);
  return ok;
}
