/* schedule.c — learning-rate schedules. */
#include "config.h"

#include <math.h>

#include "tl-private.h"

/**
 * tl_schedule_valid:
 * @kind: (nullable): schedule name
 *
 * Returns: TRUE for NULL, "constant", "linear" and "cosine".
 */
gboolean
tl_schedule_valid (const char *kind)
{
  return kind == NULL || g_str_equal (kind, "constant") || g_str_equal (kind, "linear") ||
         g_str_equal (kind, "cosine");
}

/**
 * tl_schedule_lr:
 * @kind: (nullable): "constant", "linear" or "cosine"
 * @base_lr: peak learning rate
 * @step: 0-based optimizer step
 * @warmup: warm-up steps (linear from base_lr / warmup to base_lr)
 * @total: total steps (decay reaches 0 there)
 *
 * Returns: the learning rate for @step (see tl-optim.h).
 */
double
tl_schedule_lr (const char *kind, double base_lr, gint64 step, gint64 warmup, gint64 total)
{
  if (step < 0)
    step = 0;
  if (warmup > 0 && step < warmup)
    return base_lr * (double) (step + 1) / (double) warmup;
  if (kind == NULL || !tl_schedule_valid (kind) || g_str_equal (kind, "constant"))
    return base_lr;
  double span = (double) MAX (1, total - MAX (warmup, 0));
  double progress = (double) (step - MAX (warmup, 0)) / span;
  if (progress > 1.0)
    progress = 1.0;
  if (g_str_equal (kind, "linear"))
    return base_lr * (1.0 - progress);
  return base_lr * 0.5 * (1.0 + cos (G_PI * progress));
}
