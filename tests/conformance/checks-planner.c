/* checks-planner.c — planner components on a small MLP train graph built by
 * the suite: a valid plan on tl_cluster_new_local() that applies to the
 * graph without changing what it computes, the same plan for the same seed,
 * and an exact plan XML round trip. */
#include "config.h"

#include <math.h>

#include "conformance.h"

#define MLP_BATCH 8
#define MLP_IN 16
#define MLP_HIDDEN 32
#define MLP_OUT 4

static TlValue *
mlp_param (TlGraph *g, const char *name, guint ndim, const gint64 *shape, guint64 seed)
{
  TlTensorDesc d;
  tl_tensor_desc_init (&d, TL_DTYPE_F32, ndim, shape);
  TlTensor *t = tlc_random_tensor (&d, seed, -0.3, 0.3, NULL);
  if (!t)
    return NULL;
  TlValue *v = tl_graph_param (g, name, t);
  tl_tensor_unref (t);
  return v;
}

/* x[8,16] -> linear(32) -> relu -> linear(4) -> mse(y), plus the backward
 * graph; outputs "loss" and "grad/<param>". */
static TlGraph *
mlp_graph (GError **error)
{
  TlGraph *g = tl_graph_new ();
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 2, (gint64[]){ MLP_BATCH, MLP_IN });
  TlValue *y = tl_graph_input (g, "y", TL_DTYPE_F32, 2, (gint64[]){ MLP_BATCH, MLP_OUT });
  TlValue *w[4] = {
    mlp_param (g, "fc1.weight", 2, (gint64[]){ MLP_HIDDEN, MLP_IN }, 1),
    mlp_param (g, "fc1.bias", 1, (gint64[]){ MLP_HIDDEN }, 2),
    mlp_param (g, "fc2.weight", 2, (gint64[]){ MLP_OUT, MLP_HIDDEN }, 3),
    mlp_param (g, "fc2.bias", 1, (gint64[]){ MLP_OUT }, 4),
  };
  TlValue *h = tl_relu (g, tl_linear (g, x, w[0], w[1]));
  TlValue *out = tl_linear (g, h, w[2], w[3]);
  TlValue *loss = tl_mse (g, out, y);
  tl_graph_set_output (g, "loss", loss);
  if (!tl_graph_take_error (g, error)) {
    tl_graph_unref (g);
    return NULL;
  }
  TlValue *grads[4] = { NULL };
  if (!tl_autodiff (g, loss, 4, w, grads, error)) {
    tl_graph_unref (g);
    return NULL;
  }
  for (guint i = 0; i < 4; i++) {
    if (!grads[i])
      continue;
    g_autofree char *name = g_strdup_printf ("grad/%s", tl_value_name (w[i]));
    tl_graph_set_output (g, name, grads[i]);
  }
  if (!tl_graph_take_error (g, error)) {
    tl_graph_unref (g);
    return NULL;
  }
  return g;
}

/* Run the graph's "loss" output on fixed inputs. */
static gboolean
mlp_loss (TlGraph *g, double *loss, GError **error)
{
  TlValue *out = tl_graph_get_output (g, "loss");
  if (!out) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "the planned graph lost its \"loss\" output");
    return FALSE;
  }
  TlExecOptions opts;
  tl_exec_options_init (&opts);
  opts.deterministic = 1;
  TlExec *ex = tl_exec_new (g, 1, &out, &opts, error);
  if (!ex)
    return FALSE;
  TlTensorDesc dx, dy;
  tl_tensor_desc_init (&dx, TL_DTYPE_F32, 2, (gint64[]){ MLP_BATCH, MLP_IN });
  tl_tensor_desc_init (&dy, TL_DTYPE_F32, 2, (gint64[]){ MLP_BATCH, MLP_OUT });
  TlTensor *x = tlc_random_tensor (&dx, 11, -1, 1, error);
  TlTensor *y = x ? tlc_random_tensor (&dy, 12, -1, 1, error) : NULL;
  gboolean ok = y && tl_exec_set_input (ex, "x", x, error) && tl_exec_set_input (ex, "y", y, error) &&
                tl_exec_run (ex, 0, error);
  if (ok)
    *loss = tl_tensor_get_flat (tl_exec_get_output (ex, 0), 0);
  tl_tensor_unref (x);
  tl_tensor_unref (y);
  tl_exec_free (ex);
  return ok;
}

typedef struct {
  TlPlannerInstance *p;
  TlGraph *g;
  TlCluster *cluster;
} PlannerRig;

static void
rig_free (PlannerRig *r)
{
  tl_planner_instance_free (r->p);
  if (r->g)
    tl_graph_unref (r->g);
  tl_cluster_free (r->cluster);
}

/* FALSE without error: skipped. */
static gboolean
rig_open (TlcSuite *s, const TlComponentInfo *ci, PlannerRig *r, GError **error)
{
  r->p = NULL;
  r->g = NULL;
  r->cluster = tl_cluster_new_local ();
  GError *local = NULL;
  TlParams *params = tlc_default_params (ci, &local);
  if (!params) {
    if (local)
      g_propagate_error (error, local);
    return FALSE;
  }
  r->p = tlc_create (s, ci, params, error);
  tl_params_free (params);
  if (!r->p)
    return FALSE;
  r->g = mlp_graph (error);
  return r->g != NULL;
}

static gboolean
check_valid_plan (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  PlannerRig r;
  if (!rig_open (s, ci, &r, error)) {
    rig_free (&r);
    return *error == NULL;
  }
  gboolean ok = FALSE;
  double before = 0, after = 0;
  TlGraph *copy = NULL;
  TlPlan *plan = tl_planner_instance_plan (r.p, r.g, r.cluster, 1, error);
  if (!plan)
    goto out;
  tlc_note ("plan with %u item%s", tl_plan_n_items (plan), tl_plan_n_items (plan) == 1 ? "" : "s");
  copy = tl_graph_copy (r.g, error);
  if (!copy || !tl_planner_instance_apply (r.p, plan, copy, error))
    goto out;
  if (!mlp_loss (r.g, &before, error) || !mlp_loss (copy, &after, error))
    goto out;
  if (!(fabs (before - after) <= 1e-4 * MAX (1.0, fabs (before)))) {
    g_set_error (error, TL_ERROR, TL_ERROR_NUMERIC, "applying the plan changed the loss: %.8g -> %.8g", before,
                 after);
    goto out;
  }
  ok = TRUE;
out:
  tl_plan_free (plan);
  if (copy)
    tl_graph_unref (copy);
  rig_free (&r);
  return ok;
}

static gboolean
check_same_seed (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  PlannerRig r;
  if (!rig_open (s, ci, &r, error)) {
    rig_free (&r);
    return *error == NULL;
  }
  TlPlan *a = tl_planner_instance_plan (r.p, r.g, r.cluster, 5, error);
  TlPlan *b = a ? tl_planner_instance_plan (r.p, r.g, r.cluster, 5, error) : NULL;
  gboolean ok = b != NULL;
  if (ok && !tl_plan_equal (a, b)) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "two plans with seed 5 differ");
    ok = FALSE;
  }
  tl_plan_free (a);
  tl_plan_free (b);
  rig_free (&r);
  return ok;
}

static gboolean
check_xml_round_trip (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  PlannerRig r;
  if (!rig_open (s, ci, &r, error)) {
    rig_free (&r);
    return *error == NULL;
  }
  TlPlan *a = tl_planner_instance_plan (r.p, r.g, r.cluster, 1, error);
  g_autofree char *xml = a ? tl_plan_to_xml (a) : NULL;
  TlPlan *b = xml ? tl_plan_from_xml (xml, -1, "plan.xml", error) : NULL;
  gboolean ok = b != NULL;
  if (ok && !tl_plan_equal (a, b)) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "the plan read back from XML differs");
    ok = FALSE;
  }
  if (ok) {
    /* the reloaded plan must apply too */
    TlGraph *copy = tl_graph_copy (r.g, error);
    ok = copy && tl_planner_instance_apply (r.p, b, copy, error);
    if (copy)
      tl_graph_unref (copy);
  }
  tl_plan_free (a);
  tl_plan_free (b);
  rig_free (&r);
  return ok;
}

void
tlc_checks_planner (TlcSuite *s, const TlComponentInfo *ci)
{
  const char *name = tl_component_info_full_name (ci);
  g_autofree char *n1 = g_strdup_printf ("%s: valid plan for an MLP on the local cluster", name);
  g_autofree char *n2 = g_strdup_printf ("%s: same plan for the same seed", name);
  g_autofree char *n3 = g_strdup_printf ("%s: plan XML round trip", name);
  tlc_run (s, n1, check_valid_plan, ci);
  tlc_run (s, n2, check_same_seed, ci);
  tlc_run (s, n3, check_xml_round_trip, ci);
}
