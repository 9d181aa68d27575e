/* checks-planner.c — planner components on a small MLP train graph built by
 * the suite (outputs "loss" and "grad/<param>"): plan() leaves the graph it
 * inspects unchanged, a valid plan on tl_cluster_new_local() that applies
 * to the graph without changing any output (loss and every gradient), the
 * same plan for the same seed, and an exact plan XML round trip whose plan
 * applies the same way. */
#include "config.h"

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

/* Run the outputs `names` of `g` (e.g. "loss" and each "grad/<param>") on
 * fixed inputs; returns copies of their values, in `names`' order (an
 * output missing from `g` is an error). (transfer full) */
static GPtrArray *
mlp_run (TlGraph *g, GPtrArray *names, GError **error)
{
  g_autoptr (GPtrArray) outs = g_ptr_array_new ();
  GPtrArray *result = g_ptr_array_new_with_free_func ((GDestroyNotify) tl_tensor_unref);
  for (guint i = 0; i < names->len; i++) {
    const char *name = names->pdata[i];
    TlValue *v = tl_graph_get_output (g, name);
    if (!v) {
      g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "the planned graph lost its \"%s\" output", name);
      g_ptr_array_unref (result);
      return NULL;
    }
    g_ptr_array_add (outs, v);
  }
  TlExecOptions opts;
  tl_exec_options_init (&opts);
  opts.deterministic = 1;
  TlExec *ex = tl_exec_new (g, outs->len, (TlValue *const *) outs->pdata, &opts, error);
  if (!ex) {
    g_ptr_array_unref (result);
    return NULL;
  }
  TlTensorDesc dx, dy;
  tl_tensor_desc_init (&dx, TL_DTYPE_F32, 2, (gint64[]){ MLP_BATCH, MLP_IN });
  tl_tensor_desc_init (&dy, TL_DTYPE_F32, 2, (gint64[]){ MLP_BATCH, MLP_OUT });
  TlTensor *x = tlc_random_tensor (&dx, 11, -1, 1, error);
  TlTensor *y = x ? tlc_random_tensor (&dy, 12, -1, 1, error) : NULL;
  gboolean ok = y && tl_exec_set_input (ex, "x", x, error) && tl_exec_set_input (ex, "y", y, error) &&
                tl_exec_run (ex, 0, error);
  for (guint i = 0; ok && i < outs->len; i++) {
    TlTensor *t = tl_tensor_copy (tl_exec_get_output (ex, i), error);
    ok = t != NULL;
    if (ok)
      g_ptr_array_add (result, t);
  }
  if (x)
    tl_tensor_unref (x);
  if (y)
    tl_tensor_unref (y);
  tl_exec_free (ex);
  if (!ok)
    g_clear_pointer (&result, g_ptr_array_unref);
  return result;
}

/* The graph's output names, in order. (transfer full) */
static GPtrArray *
output_names (const TlGraph *g)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < tl_graph_n_outputs (g); i++)
    g_ptr_array_add (names, g_strdup (tl_graph_output_name (g, i)));
  return names;
}

/* Every output of `planned` (run by name) agrees with `ref` (the values of
 * the unplanned graph's outputs `names`) within PLAN_RTOL. */
#define PLAN_RTOL 1e-4
static gboolean
outputs_agree (TlGraph *planned, GPtrArray *names, GPtrArray *ref, const char *what, GError **error)
{
  g_autoptr (GPtrArray) got = mlp_run (planned, names, error);
  if (!got)
    return FALSE;
  for (guint i = 0; i < names->len; i++) {
    double d = tl_tensor_max_rel_diff (got->pdata[i], ref->pdata[i]);
    if (!(d >= 0 && d <= PLAN_RTOL)) {
      if (d < 0)
        g_set_error (error, TL_ERROR, TL_ERROR_SHAPE, "%s changed the shape of output \"%s\"", what,
                     (const char *) names->pdata[i]);
      else
        g_set_error (error, TL_ERROR, TL_ERROR_NUMERIC,
                     "%s changed output \"%s\": max relative difference %.3g (tolerance %g)", what,
                     (const char *) names->pdata[i], d, PLAN_RTOL);
      return FALSE;
    }
  }
  return TRUE;
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

/* Plan (seed 1) and apply to a copy: every output (the loss and each
 * gradient) of the applied copy agrees with the unplanned graph's. */
static gboolean
check_valid_plan (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  PlannerRig r;
  if (!rig_open (s, ci, &r, error)) {
    rig_free (&r);
    return *error == NULL;
  }
  gboolean ok = FALSE;
  TlGraph *copy = NULL;
  TlPlan *plan = NULL;
  g_autoptr (GPtrArray) names = output_names (r.g);
  /* reference values first: apply() may not rewrite the (shared) params either */
  g_autoptr (GPtrArray) ref = mlp_run (r.g, names, error);
  if (!ref)
    goto out;
  plan = tl_planner_instance_plan (r.p, r.g, r.cluster, 1, error);
  if (!plan)
    goto out;
  tlc_note ("plan with %u item%s", tl_plan_n_items (plan), tl_plan_n_items (plan) == 1 ? "" : "s");
  copy = tl_graph_copy (r.g, error);
  if (!copy || !tl_planner_instance_apply (r.p, plan, copy, error))
    goto out;
  ok = outputs_agree (copy, names, ref, "applying the plan", error);
out:
  tl_plan_free (plan);
  if (copy)
    tl_graph_unref (copy);
  rig_free (&r);
  return ok;
}

/* "plan(): inspect g (not modified)": the graph's JSON (nodes, attrs,
 * annotations, outputs) and the values it computes are the same after
 * plan() as before. */
static gboolean
check_plan_inspects (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  PlannerRig r;
  if (!rig_open (s, ci, &r, error)) {
    rig_free (&r);
    return *error == NULL;
  }
  gboolean ok = FALSE;
  TlPlan *plan = NULL;
  g_autoptr (GPtrArray) names = output_names (r.g);
  g_autofree char *json = tl_graph_to_json (r.g);
  g_autoptr (GPtrArray) ref = mlp_run (r.g, names, error);
  g_autoptr (GPtrArray) again = NULL;
  g_autofree char *json_after = NULL;
  if (!ref)
    goto out;
  plan = tl_planner_instance_plan (r.p, r.g, r.cluster, 1, error);
  if (!plan)
    goto out;
  json_after = tl_graph_to_json (r.g);
  if (g_strcmp0 (json, json_after) != 0 || names->len != tl_graph_n_outputs (r.g)) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN,
                 "plan() modified the graph it was given (its JSON differs afterwards); plan() may only "
                 "inspect it, apply() rewrites");
    goto out;
  }
  again = mlp_run (r.g, names, error);
  if (!again)
    goto out;
  for (guint i = 0; i < names->len; i++) {
    if (!tl_tensor_equal_bits (again->pdata[i], ref->pdata[i])) {
      g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN,
                   "plan() changed what the graph computes (output \"%s\", e.g. a parameter written in "
                   "place); plan() may only inspect the graph",
                   (const char *) names->pdata[i]);
      goto out;
    }
  }
  ok = TRUE;
out:
  tl_plan_free (plan);
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
    /* the reloaded plan must apply too, and keep every output */
    g_autoptr (GPtrArray) names = output_names (r.g);
    g_autoptr (GPtrArray) ref = mlp_run (r.g, names, error);
    TlGraph *copy = ref ? tl_graph_copy (r.g, error) : NULL;
    ok = copy && tl_planner_instance_apply (r.p, b, copy, error) &&
         outputs_agree (copy, names, ref, "applying the plan read back from XML", error);
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
  g_autofree char *n4 = g_strdup_printf ("%s: plan() leaves its graph unchanged", name);
  tlc_run (s, n4, check_plan_inspects, ci);
  tlc_run (s, n1, check_valid_plan, ci);
  tlc_run (s, n2, check_same_seed, ci);
  tlc_run (s, n3, check_xml_round_trip, ci);
}
