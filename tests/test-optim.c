/* test-optim.c — optimizers against double-precision references, schedules, clipping. */
#include <math.h>
#include <string.h>
#include <tl/tl.h>

#define N 7
#define STEPS 6

static double
grad_at (int i, int t)
{
  return sin (i + 0.7 * t) * 0.5 + 0.1 * i - 0.2;
}

static double
param0 (int i)
{
  return 0.3 * i - 1.0;
}

typedef struct {
  const char *kind;
  double lr, momentum, dampening, wd, b1, b2, eps;
  gboolean nesterov;
  gboolean skip_second; /* param 1 gets no grad at step 2 */
} Case;

/* Independent references, written from the PyTorch / LAMB paper formulas. */
static void
reference (const Case *c, double p[2][N])
{
  double m[2][N] = { { 0 } }, v[2][N] = { { 0 } };
  gboolean has_buf[2] = { FALSE, FALSE };
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < N; i++)
      p[k][i] = param0 (i) * (k + 1);
  for (int t = 1; t <= STEPS; t++) {
    for (int k = 0; k < 2; k++) {
      if (c->skip_second && k == 1 && t == 2)
        continue;
      double g[N];
      for (int i = 0; i < N; i++)
        g[i] = grad_at (i + 10 * k, t);
      if (g_str_equal (c->kind, "sgd")) {
        for (int i = 0; i < N; i++) {
          double d = g[i] + c->wd * p[k][i];
          if (c->momentum != 0) {
            if (!has_buf[k])
              m[k][i] = d;
            else
              m[k][i] = c->momentum * m[k][i] + (1 - c->dampening) * d;
            d = c->nesterov ? d + c->momentum * m[k][i] : m[k][i];
          }
          p[k][i] -= c->lr * d;
        }
        has_buf[k] = TRUE;
      } else if (g_str_equal (c->kind, "adam") || g_str_equal (c->kind, "adamw")) {
        gboolean w = g_str_equal (c->kind, "adamw");
        for (int i = 0; i < N; i++) {
          double gi = g[i];
          if (w)
            p[k][i] *= 1 - c->lr * c->wd;
          else
            gi += c->wd * p[k][i];
          m[k][i] = c->b1 * m[k][i] + (1 - c->b1) * gi;
          v[k][i] = c->b2 * v[k][i] + (1 - c->b2) * gi * gi;
          double mh = m[k][i] / (1 - pow (c->b1, t));
          double vh = v[k][i] / (1 - pow (c->b2, t));
          p[k][i] -= c->lr * mh / (sqrt (vh) + c->eps);
        }
      } else { /* lamb */
        double u[N], wn = 0, un = 0;
        for (int i = 0; i < N; i++) {
          m[k][i] = c->b1 * m[k][i] + (1 - c->b1) * g[i];
          v[k][i] = c->b2 * v[k][i] + (1 - c->b2) * g[i] * g[i];
          double mh = m[k][i] / (1 - pow (c->b1, t));
          double vh = v[k][i] / (1 - pow (c->b2, t));
          u[i] = mh / (sqrt (vh) + c->eps) + c->wd * p[k][i];
          wn += p[k][i] * p[k][i];
          un += u[i] * u[i];
        }
        double r = (wn > 0 && un > 0) ? sqrt (wn) / sqrt (un) : 1.0;
        for (int i = 0; i < N; i++)
          p[k][i] -= c->lr * r * u[i];
      }
    }
  }
}

static void
run_case (gconstpointer data)
{
  const Case *c = data;
  GError *error = NULL;
  TlOptimConfig oc;
  tl_optim_config_init (&oc);
  oc.momentum = c->momentum;
  oc.dampening = c->dampening;
  oc.nesterov = c->nesterov;
  oc.weight_decay = c->wd;
  oc.beta1 = c->b1;
  oc.beta2 = c->b2;
  oc.eps = c->eps;
  TlOptimizer *opt = tl_optimizer_new (c->kind, &oc, &error);
  g_assert_no_error (error);
  gint64 shape[1] = { N };
  TlTensor *p[2], *g[2];
  for (int k = 0; k < 2; k++) {
    p[k] = tl_tensor_new (TL_DTYPE_F32, 1, shape, &error);
    g[k] = tl_tensor_new (TL_DTYPE_F32, 1, shape, &error);
    g_assert_no_error (error);
    for (int i = 0; i < N; i++)
      tl_tensor_set_flat (p[k], i, param0 (i) * (k + 1));
  }
  for (int t = 1; t <= STEPS; t++) {
    for (int k = 0; k < 2; k++)
      for (int i = 0; i < N; i++)
        tl_tensor_set_flat (g[k], i, grad_at (i + 10 * k, t));
    TlTensor *gs[2] = { g[0], (c->skip_second && t == 2) ? NULL : g[1] };
    g_assert_true (tl_optimizer_step (opt, 2, p, gs, c->lr, &error));
    g_assert_no_error (error);
  }
  double ref[2][N];
  reference (c, ref);
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < N; i++) {
      double got = tl_tensor_get_flat (p[k], i);
      if (fabs (got - ref[k][i]) > 2e-6 * MAX (1.0, fabs (ref[k][i])))
        g_error ("%s: param %d[%d] = %.9g, reference %.9g", c->kind, k, i, got, ref[k][i]);
    }
  g_assert_cmpuint (tl_optimizer_get_steps (opt), ==, STEPS);
  if (c->momentum != 0 || !g_str_equal (c->kind, "sgd"))
    g_assert_nonnull (tl_optimizer_get_state (opt, 0, 0));
  for (int k = 0; k < 2; k++) {
    tl_tensor_unref (p[k]);
    tl_tensor_unref (g[k]);
  }
  tl_optimizer_free (opt);
}

static const Case cases[] = {
  { "sgd", 0.1, 0, 0, 0, 0.9, 0.999, 1e-8, FALSE, FALSE },
  { "sgd", 0.05, 0.9, 0, 0.01, 0.9, 0.999, 1e-8, FALSE, FALSE },
  { "sgd", 0.05, 0.9, 0.1, 0.0, 0.9, 0.999, 1e-8, FALSE, FALSE },
  { "sgd", 0.05, 0.9, 0, 0.01, 0.9, 0.999, 1e-8, TRUE, FALSE },
  { "adam", 0.01, 0, 0, 0, 0.9, 0.999, 1e-8, FALSE, FALSE },
  { "adam", 0.01, 0, 0, 0.1, 0.8, 0.99, 1e-6, FALSE, FALSE },
  { "adamw", 0.01, 0, 0, 0.1, 0.9, 0.999, 1e-8, FALSE, FALSE },
  { "lamb", 0.01, 0, 0, 0.01, 0.9, 0.999, 1e-6, FALSE, FALSE },
  { "lamb", 0.02, 0, 0, 0.0, 0.9, 0.99, 1e-6, FALSE, FALSE },
};

/* Values printed by PyTorch 1.13 (torch.optim.AdamW(lr=0.01, weight_decay=0.1),
 * 3 steps, p0 = [1, -2, 0.5], grads g_t = [0.1 t, -0.3, 0.2 - 0.1 t]). */
static void
test_adamw_torch (void)
{
  GError *error = NULL;
  TlOptimConfig oc;
  tl_optim_config_init (&oc);
  oc.weight_decay = 0.1;
  TlOptimizer *opt = tl_optimizer_new ("adamw", &oc, &error);
  g_assert_no_error (error);
  gint64 shape[1] = { 3 };
  TlTensor *p = tl_tensor_new_from_data (TL_DTYPE_F32, 1, shape, (float[]){ 1, -2, 0.5f }, &error);
  TlTensor *g = tl_tensor_new (TL_DTYPE_F32, 1, shape, &error);
  for (int t = 1; t <= 3; t++) {
    tl_tensor_set_flat (g, 0, (float) (0.1 * t));
    tl_tensor_set_flat (g, 1, -0.3f);
    tl_tensor_set_flat (g, 2, (float) (0.2 - 0.1 * t));
    g_assert_true (tl_optimizer_step (opt, 1, &p, &g, 0.01, &error));
  }
  static const double want[3] = { 0.967800856, -1.96403611, 0.482686311 };
  for (int i = 0; i < 3; i++)
    g_assert_cmpfloat_with_epsilon (tl_tensor_get_flat (p, i), want[i], 1e-6);
  tl_tensor_unref (p);
  tl_tensor_unref (g);
  tl_optimizer_free (opt);
}

/* Large parameters go through tl_parallel_for: same result as the formula. */
static void
test_large_parallel (void)
{
  GError *error = NULL;
  const gint64 n = 200003;
  for (int kind = 0; kind < 3; kind++) {
    const char *k = kind == 0 ? "adam" : kind == 1 ? "sgd" : "lamb";
    TlOptimConfig oc;
    tl_optim_config_init (&oc);
    oc.momentum = 0.9;
    TlOptimizer *opt = tl_optimizer_new (k, &oc, &error);
    g_assert_no_error (error);
    TlTensor *p = tl_tensor_new (TL_DTYPE_F32, 1, &n, &error);
    TlTensor *g = tl_tensor_new (TL_DTYPE_F32, 1, &n, &error);
    float *pd = tl_tensor_data (p), *gd = tl_tensor_data (g);
    for (gint64 i = 0; i < n; i++) {
      pd[i] = (float) ((i % 101) * 0.01 - 0.5);
      gd[i] = (float) (((i * 7) % 13) * 0.1 - 0.6);
    }
    g_assert_true (tl_optimizer_step (opt, 1, &p, &g, 0.01, &error));
    g_assert_true (tl_optimizer_step (opt, 1, &p, &g, 0.01, &error));
    double ratio = 1.0;
    if (kind == 2) {
      /* LAMB: the update direction equals Adam's (constant grads: m_hat = g,
       * v_hat = g^2, so u = sign(g)), scaled by ||w|| / ||u|| per step; check the
       * direction only: p moved opposite to sign(g) where g != 0. */
      for (gint64 i = 0; i < n; i++) {
        double p0 = (i % 101) * 0.01 - 0.5, gi = (double) gd[i];
        if (fabs (gi) > 1e-3)
          g_assert_true ((pd[i] - p0) * gi < 0);
        else
          g_assert_cmpfloat (fabs (pd[i] - p0), <, 1e-3);
      }
    } else {
      for (gint64 i = 0; i < n; i++) {
        double p0 = (i % 101) * 0.01 - 0.5, gi = (double) gd[i], want;
        if (kind == 0) {
          /* constant gradient: m_hat = g, v_hat = g^2 at every step */
          double upd = gi / (fabs (gi) + 1e-8);
          want = p0 - 2 * 0.01 * upd * ratio;
        } else {
          want = p0 - 0.01 * gi - 0.01 * (0.9 * gi + gi);
        }
        if (fabs (pd[i] - want) > 1e-5)
          g_error ("%s: element %" G_GINT64_FORMAT ": %.8g, want %.8g", k, i, pd[i], want);
      }
    }
    tl_tensor_unref (p);
    tl_tensor_unref (g);
    tl_optimizer_free (opt);
  }
}

static void
test_bad_kind (void)
{
  GError *error = NULL;
  g_assert_null (tl_optimizer_new ("adagrad", NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "adagrad"));
  g_clear_error (&error);
  TlOptimConfig oc;
  tl_optim_config_init (&oc);
  oc.nesterov = TRUE;
  g_assert_null (tl_optimizer_new ("sgd", &oc, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  tl_optimizer_free (NULL);
}

static void
test_state_names (void)
{
  GError *error = NULL;
  TlOptimizer *opt = tl_optimizer_new ("adam", NULL, &error);
  const char *names[2] = { "a.weight", "b.bias" };
  g_assert_true (tl_optimizer_set_param_names (opt, 2, names, &error));
  g_assert_cmpuint (tl_optimizer_n_slots (opt), ==, 2);
  g_assert_cmpstr (tl_optimizer_slot_name (opt, 0), ==, "exp_avg");
  g_assert_cmpstr (tl_optimizer_slot_name (opt, 1), ==, "exp_avg_sq");
  g_assert_cmpstr (tl_optimizer_param_name (opt, 1), ==, "b.bias");
  g_assert_null (tl_optimizer_get_state (opt, 0, 0));
  const char *dup[2] = { "x", "x" };
  g_assert_false (tl_optimizer_set_param_names (opt, 2, dup, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* shape mismatch between param and grad */
  TlTensor *p = tl_tensor_new (TL_DTYPE_F32, 1, (gint64[]){ 3 }, &error);
  TlTensor *g = tl_tensor_new (TL_DTYPE_F32, 1, (gint64[]){ 4 }, &error);
  g_assert_false (tl_optimizer_step (opt, 1, &p, &g, 0.1, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_SHAPE);
  g_clear_error (&error);
  tl_tensor_unref (p);
  tl_tensor_unref (g);
  tl_optimizer_free (opt);
}

static void
test_schedules (void)
{
  g_assert_cmpfloat (tl_schedule_lr ("constant", 0.1, 50, 0, 100), ==, 0.1);
  g_assert_cmpfloat (tl_schedule_lr (NULL, 0.1, 5, 0, 100), ==, 0.1);
  /* warm-up */
  g_assert_cmpfloat_with_epsilon (tl_schedule_lr ("constant", 0.1, 0, 10, 100), 0.01, 1e-12);
  g_assert_cmpfloat_with_epsilon (tl_schedule_lr ("linear", 0.1, 4, 10, 100), 0.05, 1e-12);
  g_assert_cmpfloat_with_epsilon (tl_schedule_lr ("cosine", 0.1, 9, 10, 100), 0.1, 1e-12);
  /* linear decay: 10 -> 100 */
  g_assert_cmpfloat_with_epsilon (tl_schedule_lr ("linear", 0.1, 10, 10, 100), 0.1, 1e-12);
  g_assert_cmpfloat_with_epsilon (tl_schedule_lr ("linear", 0.1, 55, 10, 100), 0.05, 1e-12);
  g_assert_cmpfloat_with_epsilon (tl_schedule_lr ("linear", 0.1, 100, 10, 100), 0.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (tl_schedule_lr ("linear", 0.1, 200, 10, 100), 0.0, 1e-12);
  /* cosine */
  g_assert_cmpfloat_with_epsilon (tl_schedule_lr ("cosine", 0.1, 10, 10, 100), 0.1, 1e-12);
  g_assert_cmpfloat_with_epsilon (tl_schedule_lr ("cosine", 0.1, 55, 10, 100), 0.05, 1e-12);
  g_assert_cmpfloat_with_epsilon (tl_schedule_lr ("cosine", 0.1, 32, 10, 100),
                                  0.05 * (1 + cos (G_PI * 22.0 / 90.0)), 1e-12);
  g_assert_cmpfloat_with_epsilon (tl_schedule_lr ("cosine", 0.1, 100, 10, 100), 0.0, 1e-12);
  g_assert_true (tl_schedule_valid ("cosine"));
  g_assert_false (tl_schedule_valid ("step"));
}

static void
test_clip (void)
{
  GError *error = NULL;
  TlTensor *a = tl_tensor_new_from_data (TL_DTYPE_F32, 1, (gint64[]){ 2 }, (float[]){ 3, 4 }, &error);
  TlTensor *b = tl_tensor_new_from_data (TL_DTYPE_F32, 1, (gint64[]){ 1 }, (float[]){ 12 }, &error);
  TlTensor *gs[3] = { a, NULL, b };
  /* no clipping when below */
  g_assert_cmpfloat_with_epsilon (tl_clip_grad_norm (3, gs, 100), 13.0, 1e-9);
  g_assert_cmpfloat (tl_tensor_get_flat (a, 0), ==, 3);
  g_assert_cmpfloat_with_epsilon (tl_clip_grad_norm (3, gs, 0), 13.0, 1e-9);
  g_assert_cmpfloat (tl_tensor_get_flat (b, 0), ==, 12);
  g_assert_cmpfloat_with_epsilon (tl_clip_grad_norm (3, gs, 1.3), 13.0, 1e-9);
  double f = 1.3 / (13.0 + 1e-6);
  g_assert_cmpfloat_with_epsilon (tl_tensor_get_flat (a, 0), 3 * f, 1e-6);
  g_assert_cmpfloat_with_epsilon (tl_tensor_get_flat (a, 1), 4 * f, 1e-6);
  g_assert_cmpfloat_with_epsilon (tl_tensor_get_flat (b, 0), 12 * f, 1e-6);
  g_assert_cmpfloat_with_epsilon (tl_clip_grad_norm (3, gs, 0), 1.3, 1e-5);
  tl_tensor_unref (a);
  tl_tensor_unref (b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (tl_init (NULL));
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *path = g_strdup_printf ("/optim/reference/%s-%" G_GSIZE_FORMAT, cases[i].kind, i);
    g_test_add_data_func (path, &cases[i], run_case);
  }
  g_test_add_func ("/optim/adamw-torch", test_adamw_torch);
  g_test_add_func ("/optim/bad-kind", test_bad_kind);
  g_test_add_func ("/optim/large-parallel", test_large_parallel);
  g_test_add_func ("/optim/state-names", test_state_names);
  g_test_add_func ("/optim/schedules", test_schedules);
  g_test_add_func ("/optim/clip", test_clip);
  return g_test_run ();
}
