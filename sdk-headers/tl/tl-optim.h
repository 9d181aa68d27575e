/* tl-optim.h — optimizers, learning-rate schedules, gradient clipping.
 *
 * An optimizer updates f32 parameters in place from their gradients. Its
 * state (moments) is kept per parameter position (the i-th tensor given to
 * every tl_optimizer_step call) and per slot ("momentum_buffer" for SGD,
 * "exp_avg" and "exp_avg_sq" for Adam/AdamW/LAMB); parameters get names with
 * tl_optimizer_set_param_names() so checkpoints can store the state as
 * "optim/<param>/<slot>" (see tl-checkpoint.h).
 *
 * @example-begin optim (guint n, TlTensor *const *params, TlTensor *const *grads,
 *                       gint64 warmup, gint64 total)
 *   TlOptimConfig oc; tl_optim_config_init(&oc);
 *   oc.weight_decay = 0.01;
 *   TlOptimizer *opt = tl_optimizer_new("adamw", &oc, &error);
 *   for (gint64 step = 0; step < total; step++) {
 *     // ... compute grads ...
 *     double norm = tl_clip_grad_norm(n, grads, 1.0);
 *     double lr = tl_schedule_lr("cosine", 1e-3, step, warmup, total);
 *     tl_optimizer_step(opt, n, params, grads, lr, &error);
 *   }
 *   tl_optimizer_free(opt);
 * @example-end
 *
 * Semantics follow PyTorch (torch.optim.SGD/Adam/AdamW, 1.13) and, for LAMB,
 * the paper / NVIDIA apex FusedLAMB (bias-corrected Adam direction plus
 * decoupled weight decay, scaled by the trust ratio ||w|| / ||update||, 1
 * when either norm is 0).
 */
#ifndef TL_OPTIM_H
#define TL_OPTIM_H

#include <glib.h>
#include <tl/tl-macros.h>
#include <tl/tl-tensor.h>

TL_BEGIN_DECLS

/* Host-allocated; tl_optim_config_init() sets the defaults noted. */
typedef struct {
  double momentum;      /* 0 (sgd) */
  double dampening;     /* 0 (sgd) */
  gboolean nesterov;    /* FALSE (sgd; needs momentum > 0 and dampening 0) */
  double weight_decay;  /* 0: L2 added to the gradient for sgd/adam, decoupled for adamw/lamb */
  double beta1;         /* 0.9 */
  double beta2;         /* 0.999 */
  double eps;           /* 1e-8 (lamb: 1e-6 is common; set it) */
  void *reserved[6];
} TlOptimConfig;

TL_API void tl_optim_config_init(TlOptimConfig *cfg);

typedef struct _TlOptimizer TlOptimizer;

/* kind: "sgd", "adam", "adamw" or "lamb"; cfg NULL means defaults.
 * (transfer full) */
TL_API TlOptimizer *tl_optimizer_new(const char *kind, const TlOptimConfig *cfg, GError **error);
TL_API void tl_optimizer_free(TlOptimizer *opt); /* NULL-safe */
TL_API const char *tl_optimizer_kind(const TlOptimizer *opt);

/* One update of params[n] (f32, updated in place) from grads[n] (f32, same
 * shapes; a NULL grad skips that parameter, as PyTorch does for grad None).
 * The number of parameters must be the same on every call. */
TL_API gboolean tl_optimizer_step(TlOptimizer *opt, guint n, TlTensor *const *params,
                                  TlTensor *const *grads, double lr, GError **error);

/* Number of steps taken (drives Adam's bias correction); settable for resume. */
TL_API guint64 tl_optimizer_get_steps(const TlOptimizer *opt);
TL_API void tl_optimizer_set_steps(TlOptimizer *opt, guint64 steps);

/* Name the parameters (copied): required before checkpointing state. */
TL_API gboolean tl_optimizer_set_param_names(TlOptimizer *opt, guint n, const char *const *names,
                                             GError **error);
TL_API guint tl_optimizer_n_params(const TlOptimizer *opt);
/* Borrowed; "p<i>" when unnamed. */
TL_API const char *tl_optimizer_param_name(const TlOptimizer *opt, guint i);
/* State slots of this kind of optimizer (static names). */
TL_API guint tl_optimizer_n_slots(const TlOptimizer *opt);
TL_API const char *tl_optimizer_slot_name(const TlOptimizer *opt, guint slot);
/* State of parameter i, slot; NULL while not created yet (before the first
 * step that had a gradient). Borrowed. */
TL_API TlTensor *tl_optimizer_get_state(const TlOptimizer *opt, guint param, guint slot);
/* Replace the state of parameter i, slot, by a copy of `value` (f32). Grows
 * the parameter count if needed. */
TL_API gboolean tl_optimizer_set_state(TlOptimizer *opt, guint param, guint slot,
                                       const TlTensor *value, GError **error);

/* Learning rate at `step` (0-based) for schedule kind:
 *   "constant" (or NULL): base_lr (after warm-up);
 *   "linear":   linear warm-up from 0 over `warmup` steps, then linear decay to 0 at `total`;
 *   "cosine":   linear warm-up, then half-cosine decay to 0 at `total`.
 * Warm-up: lr = base_lr * (step + 1) / warmup for step < warmup. Unknown kind: base_lr. */
TL_API double tl_schedule_lr(const char *kind, double base_lr, gint64 step, gint64 warmup,
                             gint64 total);
TL_API gboolean tl_schedule_valid(const char *kind);

/* Scale grads[n] (f32; NULL entries skipped) in place so that their global
 * L2 norm is at most max_norm (PyTorch clip_grad_norm_: factor
 * max_norm / (norm + 1e-6) when below 1). max_norm <= 0: no clipping.
 * Returns the norm before clipping. */
TL_API double tl_clip_grad_norm(guint n, TlTensor *const *grads, double max_norm);

TL_END_DECLS

#endif /* TL_OPTIM_H */
