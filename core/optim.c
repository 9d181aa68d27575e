/* optim.c — SGD, Adam, AdamW and LAMB updating f32 parameters in place.
 *
 * Parameters on a GPU are updated there by the device backend's update
 * kernels (TL_BACKEND_EXT_OPTIM); their state is created on the same
 * device (state restored from a checkpoint moves there on the first step). */
#include "config.h"

#include <math.h>
#include <string.h>
#ifdef __SSE__
#include <xmmintrin.h>
#endif

#include "tl-private.h"
#include "backend-private.h"

typedef enum { OPT_SGD, OPT_ADAM, OPT_ADAMW, OPT_LAMB } OptKind;

static const char *const sgd_slots[] = {"momentum_buffer"};
static const char *const adam_slots[] = {"exp_avg", "exp_avg_sq"};

/* Parameters with at least this many elements are updated on the thread pool. */
#define OPT_PARALLEL_MIN 65536

struct _TlOptimizer {
  OptKind kind;
  char *kind_name;
  TlOptimConfig cfg;
  guint64 steps;
  guint n_params;
  GPtrArray *names;         /* char*, n_params entries, NULL where unnamed */
  GPtrArray *state;         /* TlTensor*, n_params * n_slots entries, NULL until created */
  GPtrArray *default_names; /* "p<i>" strings kept alive for param_name() */
};

/**
 * tl_optim_config_init:
 * @cfg: config to fill
 *
 * Sets the defaults: momentum 0, dampening 0, no Nesterov, no weight decay,
 * betas (0.9, 0.999), eps 1e-8; reserved fields zeroed.
 */
void
tl_optim_config_init (TlOptimConfig *cfg)
{
  memset (cfg, 0, sizeof *cfg);
  cfg->beta1 = 0.9;
  cfg->beta2 = 0.999;
  cfg->eps = 1e-8;
}

static guint
kind_n_slots (OptKind k)
{
  return k == OPT_SGD ? 1 : 2;
}

/**
 * tl_optimizer_new:
 * @kind: "sgd", "adam", "adamw" or "lamb"
 * @cfg: (nullable): hyper-parameters (copied); NULL for defaults
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): a new optimizer without state.
 */
TlOptimizer *
tl_optimizer_new (const char *kind, const TlOptimConfig *cfg, GError **error)
{
  OptKind k;
  if (g_strcmp0 (kind, "sgd") == 0)
    k = OPT_SGD;
  else if (g_strcmp0 (kind, "adam") == 0)
    k = OPT_ADAM;
  else if (g_strcmp0 (kind, "adamw") == 0)
    k = OPT_ADAMW;
  else if (g_strcmp0 (kind, "lamb") == 0)
    k = OPT_LAMB;
  else {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "unknown optimizer \"%s\" (sgd, adam, adamw, lamb)", kind ? kind : "(null)");
    return NULL;
  }
  TlOptimConfig c;
  if (cfg)
    c = *cfg;
  else
    tl_optim_config_init (&c);
  if (!(c.momentum >= 0) || !(c.dampening >= 0) || !(c.weight_decay >= 0) || !(c.eps >= 0) ||
      !(c.beta1 >= 0 && c.beta1 < 1) || !(c.beta2 >= 0 && c.beta2 < 1)) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "optimizer %s: invalid hyper-parameters (momentum, dampening, weight_decay, eps "
                 "must be >= 0; betas in [0, 1))",
                 kind);
    return NULL;
  }
  if (k == OPT_SGD && c.nesterov && (c.momentum <= 0 || c.dampening != 0)) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "optimizer sgd: Nesterov momentum requires a momentum and zero dampening");
    return NULL;
  }
  TlOptimizer *opt = g_new0 (TlOptimizer, 1);
  opt->kind = k;
  opt->kind_name = g_strdup (kind);
  opt->cfg = c;
  opt->names = g_ptr_array_new_with_free_func (g_free);
  opt->state = g_ptr_array_new_with_free_func ((GDestroyNotify) tl_tensor_unref);
  opt->default_names = g_ptr_array_new_with_free_func (g_free);
  return opt;
}

/**
 * tl_optimizer_free:
 * @opt: (nullable): optimizer
 *
 * Frees the optimizer and its state. NULL is a no-op.
 */
void
tl_optimizer_free (TlOptimizer *opt)
{
  if (!opt)
    return;
  g_ptr_array_unref (opt->names);
  g_ptr_array_unref (opt->state);
  g_ptr_array_unref (opt->default_names);
  g_free (opt->kind_name);
  g_free (opt);
}

/**
 * tl_optimizer_kind:
 * @opt: optimizer
 *
 * Returns: (transfer none): "sgd", "adam", "adamw" or "lamb".
 */
const char *
tl_optimizer_kind (const TlOptimizer *opt)
{
  return opt->kind_name;
}

/**
 * tl_optimizer_get_steps:
 * @opt: optimizer
 *
 * Returns: the number of steps taken.
 */
guint64
tl_optimizer_get_steps (const TlOptimizer *opt)
{
  return opt->steps;
}

/**
 * tl_optimizer_set_steps:
 * @opt: optimizer
 * @steps: the step count (e.g. from a checkpoint)
 */
void
tl_optimizer_set_steps (TlOptimizer *opt, guint64 steps)
{
  opt->steps = steps;
}

static void
ensure_params (TlOptimizer *opt, guint n)
{
  if (n <= opt->n_params)
    return;
  guint ns = kind_n_slots (opt->kind);
  g_ptr_array_set_size (opt->names, n);
  g_ptr_array_set_size (opt->state, n * ns);
  opt->n_params = n;
}

/**
 * tl_optimizer_set_param_names:
 * @opt: optimizer
 * @n: number of parameters
 * @names: (array length=n): names of the parameters by position (copied)
 * @error: return location for a #GError
 *
 * Returns: FALSE if a name is NULL or repeated.
 */
gboolean
tl_optimizer_set_param_names (TlOptimizer *opt, guint n, const char *const *names, GError **error)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < n; i++) {
    if (!names[i] || !g_hash_table_add (seen, (gpointer) names[i])) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "optimizer: parameter name #%u is missing or repeated", i);
      return FALSE;
    }
  }
  ensure_params (opt, n);
  for (guint i = 0; i < n; i++) {
    g_free (opt->names->pdata[i]);
    opt->names->pdata[i] = g_strdup (names[i]);
  }
  return TRUE;
}

/**
 * tl_optimizer_n_params:
 * @opt: optimizer
 *
 * Returns: the number of parameter positions known (named or stepped).
 */
guint
tl_optimizer_n_params (const TlOptimizer *opt)
{
  return opt->n_params;
}

/**
 * tl_optimizer_param_name:
 * @opt: optimizer
 * @i: parameter position
 *
 * Returns: (transfer none): the name given by tl_optimizer_set_param_names()
 * or "p<i>".
 */
const char *
tl_optimizer_param_name (const TlOptimizer *opt, guint i)
{
  if (i < opt->n_params && opt->names->pdata[i])
    return opt->names->pdata[i];
  /* One "p<i>" string per index, made on first use. */
  if (i >= opt->default_names->len)
    g_ptr_array_set_size (opt->default_names, i + 1);
  if (!opt->default_names->pdata[i])
    opt->default_names->pdata[i] = g_strdup_printf ("p%u", i);
  return opt->default_names->pdata[i];
}

/**
 * tl_optimizer_n_slots:
 * @opt: optimizer
 *
 * Returns: number of state tensors per parameter (1 for sgd, 2 otherwise).
 */
guint
tl_optimizer_n_slots (const TlOptimizer *opt)
{
  return kind_n_slots (opt->kind);
}

/**
 * tl_optimizer_slot_name:
 * @opt: optimizer
 * @slot: slot index
 *
 * Returns: (transfer none) (nullable): "momentum_buffer", "exp_avg" or "exp_avg_sq".
 */
const char *
tl_optimizer_slot_name (const TlOptimizer *opt, guint slot)
{
  if (slot >= kind_n_slots (opt->kind))
    return NULL;
  return opt->kind == OPT_SGD ? sgd_slots[slot] : adam_slots[slot];
}

/**
 * tl_optimizer_get_state:
 * @opt: optimizer
 * @param: parameter position
 * @slot: slot index
 *
 * Returns: (transfer none) (nullable): the state tensor, NULL when not created.
 */
TlTensor *
tl_optimizer_get_state (const TlOptimizer *opt, guint param, guint slot)
{
  guint ns = kind_n_slots (opt->kind);
  if (param >= opt->n_params || slot >= ns)
    return NULL;
  return opt->state->pdata[param * ns + slot];
}

/**
 * tl_optimizer_set_state:
 * @opt: optimizer
 * @param: parameter position
 * @slot: slot index
 * @value: new state (copied, converted to a contiguous f32 tensor)
 * @error: return location for a #GError
 *
 * Returns: TRUE on success.
 */
gboolean
tl_optimizer_set_state (TlOptimizer *opt, guint param, guint slot, const TlTensor *value,
                        GError **error)
{
  guint ns = kind_n_slots (opt->kind);
  if (slot >= ns) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "optimizer %s has no slot %u",
                 opt->kind_name, slot);
    return FALSE;
  }
  TlTensor *copy = tl_tensor_cast (value, TL_DTYPE_F32, error);
  if (!copy)
    return FALSE;
  ensure_params (opt, param + 1);
  tl_tensor_unref (opt->state->pdata[param * ns + slot]);
  opt->state->pdata[param * ns + slot] = copy;
  return TRUE;
}

/* --- kernels ------------------------------------------------------------ */

typedef struct {
  const TlOptimizer *opt;
  float *p;
  const float *g;
  float *s0;      /* momentum buffer / exp_avg */
  float *s1;      /* exp_avg_sq */
  float *u;       /* LAMB: update scratch */
  gboolean first; /* SGD: buffer just created */
  float lr;
  float bc1, bc2_sqrt; /* bias corrections */
} Kern;

static void
sgd_range (gint64 b, gint64 e, gpointer data)
{
  Kern *k = data;
  const TlOptimConfig *c = &k->opt->cfg;
  const float wd = (float) c->weight_decay, mom = (float) c->momentum;
  const float damp1 = (float) (1.0 - c->dampening), lr = k->lr;
  float *restrict p = k->p, *restrict buf = k->s0;
  const float *restrict g = k->g;
  if (mom == 0.0f) {
#pragma omp simd
    for (gint64 i = b; i < e; i++)
      p[i] -= lr * (g[i] + wd * p[i]);
    return;
  }
  if (k->first) {
#pragma omp simd
    for (gint64 i = b; i < e; i++)
      buf[i] = g[i] + wd * p[i];
  } else {
#pragma omp simd
    for (gint64 i = b; i < e; i++)
      buf[i] = mom * buf[i] + damp1 * (g[i] + wd * p[i]);
  }
  if (c->nesterov) {
#pragma omp simd
    for (gint64 i = b; i < e; i++)
      p[i] -= lr * ((g[i] + wd * p[i]) + mom * buf[i]);
  } else {
#pragma omp simd
    for (gint64 i = b; i < e; i++)
      p[i] -= lr * buf[i];
  }
}

/* Nesterov needs the gradient with weight decay from before the update of
 * p; the loop above reads p before writing it, element by element, so the
 * value is the old one. */

/* Elements per block: the moment loops vectorise, and sqrt (which GCC will
 * not vectorise while sqrtf may set errno) runs on a cache-resident block. */
#define OPT_BLOCK 256

/* dst[i] = sqrt(src[i]) (correctly rounded, as sqrtf). */
static void
sqrt_block (float *restrict dst, const float *restrict src, gint64 n)
{
  gint64 i = 0;
#ifdef __SSE__
  for (; i + 4 <= n; i += 4)
    _mm_storeu_ps (dst + i, _mm_sqrt_ps (_mm_loadu_ps (src + i)));
#endif
  for (; i < n; i++)
    dst[i] = sqrtf (src[i]);
}

static void
adam_range (gint64 b, gint64 e, gpointer data)
{
  Kern *k = data;
  const TlOptimConfig *c = &k->opt->cfg;
  const float b1 = (float) c->beta1, b2 = (float) c->beta2, eps = (float) c->eps;
  const float wd = (float) c->weight_decay;
  const float step_size = k->lr / k->bc1, bc2s = k->bc2_sqrt;
  const gboolean decoupled = k->opt->kind == OPT_ADAMW;
  const float decay = decoupled ? 1.0f - k->lr * wd : 1.0f;
  const float l2 = decoupled ? 0.0f : wd;
  float root[OPT_BLOCK];
  for (gint64 s0 = b; s0 < e; s0 += OPT_BLOCK) {
    const gint64 n = MIN (OPT_BLOCK, e - s0);
    float *restrict p = k->p + s0, *restrict m = k->s0 + s0, *restrict v = k->s1 + s0;
    const float *restrict g = k->g + s0;
#pragma omp simd
    for (gint64 i = 0; i < n; i++) {
      float gi = g[i] + l2 * p[i];
      m[i] = m[i] + (gi - m[i]) * (1.0f - b1);
      v[i] = v[i] * b2 + (1.0f - b2) * gi * gi;
    }
    sqrt_block (root, v, n);
#pragma omp simd
    for (gint64 i = 0; i < n; i++) {
      float denom = root[i] / bc2s + eps;
      p[i] = p[i] * decay - step_size * (m[i] / denom);
    }
  }
}

static void
lamb_moments_range (gint64 b, gint64 e, gpointer data)
{
  Kern *k = data;
  const TlOptimConfig *c = &k->opt->cfg;
  const float b1 = (float) c->beta1, b2 = (float) c->beta2, eps = (float) c->eps;
  const float wd = (float) c->weight_decay, bc1 = k->bc1, bc2s = k->bc2_sqrt;
  float root[OPT_BLOCK];
  for (gint64 s0 = b; s0 < e; s0 += OPT_BLOCK) {
    const gint64 n = MIN (OPT_BLOCK, e - s0);
    float *restrict p = k->p + s0, *restrict m = k->s0 + s0, *restrict v = k->s1 + s0;
    float *restrict u = k->u + s0;
    const float *restrict g = k->g + s0;
#pragma omp simd
    for (gint64 i = 0; i < n; i++) {
      m[i] = b1 * m[i] + (1.0f - b1) * g[i];
      v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
    }
    sqrt_block (root, v, n);
#pragma omp simd
    for (gint64 i = 0; i < n; i++)
      u[i] = (m[i] / bc1) / (root[i] / bc2s + eps) + wd * p[i];
  }
}

static void
lamb_apply_range (gint64 b, gint64 e, gpointer data)
{
  Kern *k = data;
  const float s = k->lr;
  float *restrict p = k->p;
  const float *restrict u = k->u;
#pragma omp simd
  for (gint64 i = b; i < e; i++)
    p[i] -= s * u[i];
}

static void
run_range (gint64 n, TlParallelFn fn, Kern *k)
{
  if (n >= OPT_PARALLEL_MIN)
    tl_parallel_for (n, OPT_PARALLEL_MIN / 4, fn, k);
  else
    fn (0, n, k);
}

static double
sumsq (const float *x, gint64 n)
{
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (gint64 i = 0; i < n; i++)
    s += (double) x[i] * x[i];
  return s;
}

static TlTensor *
state_slot (TlOptimizer *opt, guint i, guint slot, TlTensor *like, gboolean *created,
            GError **error)
{
  guint ns = kind_n_slots (opt->kind);
  TlTensor *s = opt->state->pdata[i * ns + slot];
  if (s) {
    if (tl_tensor_numel (s) != tl_tensor_numel (like)) {
      g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                   "optimizer: state '%s/%s' has %" G_GINT64_FORMAT
                   " elements, parameter has %" G_GINT64_FORMAT,
                   tl_optimizer_param_name (opt, i), tl_optimizer_slot_name (opt, slot),
                   tl_tensor_numel (s), tl_tensor_numel (like));
      return NULL;
    }
    if (created)
      *created = FALSE;
    TlDevice dev;
    if (!_tl_priv_tensor_open_device (like, &dev, error))
      return NULL;
    if (!_tl_priv_tensor_same_device (s, &dev)) {
      /* restored on the host, trained on a GPU: move it once */
      TlTensor *moved = _tl_priv_tensor_to (s, &dev, error);
      if (!moved)
        return NULL;
      tl_tensor_unref (s);
      opt->state->pdata[i * ns + slot] = s = moved;
    }
    return s;
  }
  TlDevice dev;
  if (!_tl_priv_tensor_open_device (like, &dev, error))
    return NULL;
  TlTensorDesc d;
  tl_tensor_desc_init (&d, TL_DTYPE_F32, tl_tensor_ndim (like), tl_tensor_shape (like));
  s = _tl_priv_tensor_new_on (&dev, &d, TRUE, error);
  if (!s)
    return NULL;
  opt->state->pdata[i * ns + slot] = s;
  if (created)
    *created = TRUE;
  return s;
}

static const TlBackendOptim *
device_ops (const TlTensor *t, GError **error)
{
  TlDevice dev;
  if (!_tl_priv_tensor_open_device (t, &dev, error))
    return NULL;
  const TlBackendOptim *ops = dev.be && dev.be->get_extension
                                  ? dev.be->get_extension (TL_BACKEND_EXT_OPTIM)
                                  : NULL;
  if (!ops || ops->abi != TL_BACKEND_ABI)
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "optimizer: the device backend has no optimizer support");
  return ops && ops->abi == TL_BACKEND_ABI ? ops : NULL;
}

/* tl_optimizer_step() for parameters on a GPU: same arithmetic, on the
 * device, queued on the current stream. */
static gboolean
step_device (TlOptimizer *opt, guint n, TlTensor *const *params, TlTensor *const *grads, double lr,
             GError **error)
{
  /* every update is queued on the current stream of the first parameter's
   * device: all parameters and gradients must live there */
  TlDevice dev;
  if (!_tl_priv_tensor_open_device (params[0], &dev, error))
    return FALSE;
  if (!dev.be) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "optimizer: parameter '%s' is on the host, other parameters or gradients on a "
                 "GPU (all parameters and gradients must be on one device)",
                 tl_optimizer_param_name (opt, 0));
    return FALSE;
  }
  for (guint i = 0; i < n; i++) {
    if (!_tl_priv_tensor_same_device (params[i], &dev) ||
        (grads[i] && !_tl_priv_tensor_same_device (grads[i], &dev))) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "optimizer: parameter '%s' or its gradient is not on the GPU of parameter '%s' "
                   "(all parameters and gradients must be on one device)",
                   tl_optimizer_param_name (opt, i), tl_optimizer_param_name (opt, 0));
      return FALSE;
    }
  }
  const TlBackendOptim *ops = device_ops (params[0], error);
  if (!ops)
    return FALSE;
  const char *missing = NULL;
  if (opt->kind == OPT_LAMB && !ops->lamb_update)
    missing = "the CUDA backend was built without the lamb update kernel";
  else if (opt->kind == OPT_SGD && !ops->sgd_update_full)
    missing = "the CUDA backend was built without the sgd update kernel";
  else if ((opt->kind == OPT_ADAM || opt->kind == OPT_ADAMW) && !ops->adam_update)
    missing = "the CUDA backend was built without the adam update kernel";
  if (missing) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "optimizer %s: %s", opt->kind_name, missing);
    return FALSE;
  }
  ensure_params (opt, n);
  opt->steps++;
  const double t = (double) opt->steps;
  const float bc1 = (float) (1.0 - pow (opt->cfg.beta1, t));
  const float bc2 = (float) (1.0 - pow (opt->cfg.beta2, t));
  const TlOptimConfig *c = &opt->cfg;
  for (guint i = 0; i < n; i++) {
    if (!grads[i])
      continue;
    gint64 ne = tl_tensor_numel (params[i]);
    float *p = tl_tensor_data (params[i]);
    const float *g = tl_tensor_const_data (grads[i]);
    gboolean ok;
    if (opt->kind == OPT_SGD) {
      float *buf = NULL;
      gboolean first = FALSE;
      if (c->momentum != 0) {
        TlTensor *b = state_slot (opt, i, 0, params[i], &first, error);
        if (!b)
          return FALSE;
        buf = tl_tensor_data (b);
      }
      ok = ops->sgd_update_full (p, g, buf, ne, (float) lr, (float) c->momentum,
                                 (float) c->dampening, (float) c->weight_decay, c->nesterov, first,
                                 error);
    } else if (opt->kind == OPT_LAMB) {
      TlTensor *m = state_slot (opt, i, 0, params[i], NULL, error);
      TlTensor *v = m ? state_slot (opt, i, 1, params[i], NULL, error) : NULL;
      if (!v)
        return FALSE;
      ok = ops->lamb_update (p, g, tl_tensor_data (m), tl_tensor_data (v), ne, lr,
                             (float) c->beta1, (float) c->beta2, (float) c->eps,
                             (float) c->weight_decay, bc1, bc2, error);
    } else {
      TlTensor *m = state_slot (opt, i, 0, params[i], NULL, error);
      TlTensor *v = m ? state_slot (opt, i, 1, params[i], NULL, error) : NULL;
      if (!v)
        return FALSE;
      ok = ops->adam_update (p, g, tl_tensor_data (m), tl_tensor_data (v), ne, (float) lr,
                             (float) c->beta1, (float) c->beta2, (float) c->eps,
                             (float) c->weight_decay, opt->kind == OPT_ADAMW, bc1, bc2, error);
    }
    if (!ok) {
      g_prefix_error (error, "optimizer %s, parameter '%s': ", opt->kind_name,
                      tl_optimizer_param_name (opt, i));
      return FALSE;
    }
  }
  return TRUE;
}

/* A copy of opt whose state lives on the host (for checkpoints of a run
 * whose state is on a GPU). */
TlOptimizer *
_tl_priv_optimizer_host_copy (const TlOptimizer *opt, GError **error)
{
  TlOptimizer *c = tl_optimizer_new (opt->kind_name, &opt->cfg, error);
  if (!c)
    return NULL;
  ensure_params (c, opt->n_params);
  c->steps = opt->steps;
  for (guint i = 0; i < opt->n_params; i++)
    c->names->pdata[i] = g_strdup (opt->names->pdata[i]);
  for (guint i = 0; i < opt->state->len; i++) {
    TlTensor *st = opt->state->pdata[i];
    if (st && !(c->state->pdata[i] = tl_tensor_to_device (st, "cpu", error))) {
      tl_optimizer_free (c);
      return NULL;
    }
  }
  return c;
}

/**
 * tl_optimizer_step:
 * @opt: optimizer
 * @n: number of parameters
 * @params: (array length=n): contiguous f32 parameters, updated in place
 * @grads: (array length=n): f32 gradients of the same shapes; NULL entries skip
 * @lr: learning rate for this step
 * @error: return location for a #GError
 *
 * One optimizer update with PyTorch semantics (see tl-optim.h). State is
 * created on the first step that has a gradient for a parameter.
 *
 * Returns: TRUE on success; FALSE (nothing updated) on a dtype/shape mismatch.
 */
gboolean
tl_optimizer_step (TlOptimizer *opt, guint n, TlTensor *const *params, TlTensor *const *grads,
                   double lr, GError **error)
{
  for (guint i = 0; i < n; i++) {
    TlTensor *p = params[i], *g = grads[i];
    if (!p) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "optimizer: parameter #%u is NULL",
                   i);
      return FALSE;
    }
    if (tl_tensor_dtype (p) != TL_DTYPE_F32 || !tl_tensor_is_contiguous (p) ||
        (g && (tl_tensor_dtype (g) != TL_DTYPE_F32 || !tl_tensor_is_contiguous (g)))) {
      g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                   "optimizer: parameter '%s' and its gradient must be contiguous f32",
                   tl_optimizer_param_name (opt, i));
      return FALSE;
    }
    if (g && tl_tensor_numel (g) != tl_tensor_numel (p)) {
      g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                   "optimizer: gradient of '%s' has %" G_GINT64_FORMAT
                   " elements, parameter %" G_GINT64_FORMAT,
                   tl_optimizer_param_name (opt, i), tl_tensor_numel (g), tl_tensor_numel (p));
      return FALSE;
    }
  }
  gboolean any_gpu = FALSE;
  for (guint i = 0; i < n; i++)
    any_gpu = any_gpu || tl_tensor_device (params[i]) != TL_DEVICE_CPU ||
              (grads[i] && tl_tensor_device (grads[i]) != TL_DEVICE_CPU);
  if (any_gpu)
    return step_device (opt, n, params, grads, lr, error);
  ensure_params (opt, n);
  opt->steps++;
  const double t = (double) opt->steps;
  const double bc1 = 1.0 - pow (opt->cfg.beta1, t);
  const double bc2 = 1.0 - pow (opt->cfg.beta2, t);
  for (guint i = 0; i < n; i++) {
    if (!grads[i])
      continue;
    gint64 ne = tl_tensor_numel (params[i]);
    Kern k = {0};
    k.opt = opt;
    k.p = tl_tensor_data (params[i]);
    k.g = tl_tensor_const_data (grads[i]);
    k.lr = (float) lr;
    k.bc1 = (float) bc1;
    k.bc2_sqrt = (float) sqrt (bc2);
    if (opt->kind == OPT_SGD) {
      if (opt->cfg.momentum != 0) {
        TlTensor *b = state_slot (opt, i, 0, params[i], &k.first, error);
        if (!b)
          return FALSE;
        k.s0 = tl_tensor_data (b);
      }
      run_range (ne, sgd_range, &k);
      continue;
    }
    TlTensor *m = state_slot (opt, i, 0, params[i], NULL, error);
    TlTensor *v = m ? state_slot (opt, i, 1, params[i], NULL, error) : NULL;
    if (!v)
      return FALSE;
    k.s0 = tl_tensor_data (m);
    k.s1 = tl_tensor_data (v);
    if (opt->kind != OPT_LAMB) {
      run_range (ne, adam_range, &k);
      continue;
    }
    float *u = _tl_priv_aligned_alloc (sizeof (float) * (gsize) ne);
    if (!u) {
      g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY, "optimizer: out of memory");
      return FALSE;
    }
    k.u = u;
    run_range (ne, lamb_moments_range, &k);
    double wn = sqrt (sumsq (k.p, ne)), un = sqrt (sumsq (u, ne));
    double ratio = (wn > 0 && un > 0) ? wn / un : 1.0;
    k.lr = (float) (lr * ratio);
    run_range (ne, lamb_apply_range, &k);
    _tl_priv_aligned_free (u);
  }
  return TRUE;
}

/* tl_clip_grad_norm() with gradients on a GPU (contiguous f32 on one
 * device; anything else is reported and gives NaN, which the trainer turns
 * into an error). */
static double
clip_device (guint n, TlTensor *const *grads, double max_norm)
{
  GError *e = NULL;
  const TlBackendOptim *ops = NULL;
  g_autofree const float **xs = g_new0 (const float *, n + 1);
  g_autofree gint64 *ns = g_new0 (gint64, n + 1);
  g_autofree double *sq = g_new0 (double, n + 1);
  g_autofree guint *which = g_new0 (guint, n + 1);
  guint m = 0;
  TlDevice dev = { 0 };
  for (guint i = 0; i < n; i++) {
    if (!grads[i] || tl_tensor_dtype (grads[i]) != TL_DTYPE_F32)
      continue;
    if (tl_tensor_device (grads[i]) == TL_DEVICE_CPU || !tl_tensor_is_contiguous (grads[i])) {
      g_warning ("tl_clip_grad_norm: gradient #%u is %s; all must be contiguous on one GPU", i,
                 tl_tensor_device (grads[i]) == TL_DEVICE_CPU ? "on the host" : "not contiguous");
      return NAN;
    }
    /* the sums and scalings run on the first gradient's device */
    if (m > 0 && !_tl_priv_tensor_same_device (grads[i], &dev)) {
      g_warning ("tl_clip_grad_norm: gradient #%u is on another GPU than gradient #%u; all must be "
                 "contiguous on one GPU", i, which[0]);
      return NAN;
    }
    if (!ops && (!_tl_priv_tensor_open_device (grads[i], &dev, &e) ||
                 !(ops = device_ops (grads[i], &e))))
      break;
    xs[m] = tl_tensor_const_data (grads[i]);
    ns[m] = tl_tensor_numel (grads[i]);
    which[m++] = i;
  }
  if (ops && !e)
    ops->sumsq_multi (m, xs, ns, sq, &e);
  double total = 0;
  for (guint j = 0; j < m && !e; j++)
    total += sq[j];
  double norm = sqrt (total);
  if (!e && max_norm > 0 && isfinite (norm) && max_norm / (norm + 1e-6) < 1.0) {
    float coef = (float) (max_norm / (norm + 1e-6));
    for (guint j = 0; j < m && !e; j++)
      ops->scale (ns[j], coef, tl_tensor_data (grads[which[j]]), &e);
  }
  if (e) {
    g_warning ("tl_clip_grad_norm: %s", e->message);
    g_error_free (e);
    return NAN;
  }
  return norm;
}

/**
 * tl_clip_grad_norm:
 * @n: number of gradients
 * @grads: (array length=n): f32 gradients (NULL entries skipped), scaled in place
 * @max_norm: the largest global L2 norm allowed; <= 0 disables clipping
 *
 * Returns: the global L2 norm before clipping (accumulated in double).
 */
double
tl_clip_grad_norm (guint n, TlTensor *const *grads, double max_norm)
{
  for (guint i = 0; i < n; i++)
    if (grads[i] && tl_tensor_device (grads[i]) != TL_DEVICE_CPU)
      return clip_device (n, grads, max_norm);
  double total = 0;
  for (guint i = 0; i < n; i++) {
    if (!grads[i] || tl_tensor_dtype (grads[i]) != TL_DTYPE_F32)
      continue;
    if (tl_tensor_is_contiguous (grads[i])) {
      total += sumsq (tl_tensor_const_data (grads[i]), tl_tensor_numel (grads[i]));
    } else {
      for (gint64 j = 0; j < tl_tensor_numel (grads[i]); j++) {
        double x = tl_tensor_get_flat (grads[i], j);
        total += x * x;
      }
    }
  }
  double norm = sqrt (total);
  if (max_norm <= 0 || !isfinite (norm))
    return norm;
  double coef = max_norm / (norm + 1e-6);
  if (coef >= 1.0)
    return norm;
  float c = (float) coef;
  for (guint i = 0; i < n; i++) {
    if (!grads[i] || tl_tensor_dtype (grads[i]) != TL_DTYPE_F32)
      continue;
    gint64 ne = tl_tensor_numel (grads[i]);
    if (tl_tensor_is_contiguous (grads[i])) {
      float *g = tl_tensor_data (grads[i]);
#pragma omp simd
      for (gint64 j = 0; j < ne; j++)
        g[j] *= c;
    } else {
      for (gint64 j = 0; j < ne; j++)
        tl_tensor_set_flat (grads[i], j, tl_tensor_get_flat (grads[i], j) * c);
    }
  }
  return norm;
}
