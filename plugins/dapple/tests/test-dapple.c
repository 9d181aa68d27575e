/* test-dapple.c — the dapple planner's pieces, compiled in: the
 * simulator on hand-checked schedules, the DP against exhaustive search,
 * the planner-quality cases of the issue, profiles, layering and plan XML. */
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "dapple-private.h"

int main (int argc, char **argv);

static TlCluster *
make_cluster (guint machines, guint per_machine, const char *memory, const char *intra_bw, const char *intra_lat,
              const char *inter_bw, const char *inter_lat)
{
  g_autofree char *xml = g_strdup_printf (
    "<cluster xmlns=\"urn:tl:cluster:1\">\n"
    "  <machine count=\"%u\">\n"
    "    <device kind=\"gpu\" count=\"%u\" memory=\"%s\" flops=\"15e12\" bandwidth=\"900e9\"/>\n"
    "    <link scope=\"intra\" bandwidth=\"%s\" latency=\"%s\"/>\n"
    "  </machine>\n"
    "  <link scope=\"inter\" bandwidth=\"%s\" latency=\"%s\"/>\n"
    "</cluster>\n",
    machines, per_machine, memory, intra_bw, intra_lat, inter_bw, inter_lat);
  GError *error = NULL;
  TlCluster *c = tl_cluster_parse (xml, -1, "test-cluster.xml", &error);
  g_assert_no_error (error);
  return c;
}

static void
model_init (DappleModel *m, const DappleProfile *p, const TlCluster *c)
{
  GError *error = NULL;
  memset (m, 0, sizeof *m);
  m->profile = p;
  m->param_factor = 4;
  g_assert_true (dapple_shape_init (&m->shape, c, &error));
  g_assert_no_error (error);
}

/* S stages of one layer each, forward 1, backward 2 per sample, no bytes. */
static DappleProfile *
unit_profile (guint n_layers, double fwd, double bwd)
{
  DappleProfile *p = dapple_profile_new (n_layers, 1);
  for (guint i = 0; i < n_layers; i++) {
    p->layers[i].name = g_strdup_printf ("l%u", i);
    p->layers[i].fwd = fwd;
    p->layers[i].bwd = bwd;
    p->layers[i].act = 1;
  }
  return p;
}

/* unit_profile() with every layer's activation, output and parameter
 * bytes set. */
static DappleProfile *
sized_profile (guint n_layers, double fwd, double bwd, double act, double out, double params)
{
  DappleProfile *p = unit_profile (n_layers, fwd, bwd);
  for (guint i = 0; i < n_layers; i++) {
    p->layers[i].act = act;
    p->layers[i].out = out;
    p->layers[i].params = params;
  }
  return p;
}

/* dapple_plan_pipeline() with micro-batches chosen; fails the test on error. */
static DapplePipeline *
plan_ok (const DappleModel *m, DappleMethod method, gint policy, double global_batch)
{
  DapplePlanOptions o = { method, policy, 0, global_batch };
  GError *error = NULL;
  DapplePipeline *p = dapple_plan_pipeline (m, &o, &error);
  g_assert_no_error (error);
  return p;
}

static DapplePipeline *
one_per_stage (guint S, guint M, DappleSchedule schedule)
{
  DapplePipeline *p = dapple_pipeline_new (S);
  for (guint s = 0; s < S; s++)
    dapple_pipeline_set_stage (p, s, s, s + 1, 1, &s);
  p->micro_batches = M;
  p->global_batch = M;
  p->schedule = schedule;
  return p;
}

static void
test_hand_checked (void)
{
  TlCluster *c = make_cluster (1, 4, "16GiB", "10e9", "0", "1e9", "0");
  DappleProfile *prof = unit_profile (4, 1, 2);
  DappleModel m;
  model_init (&m, prof, c);
  static const guint gpipe_live[4] = { 8, 8, 8, 8 }, eb_live[4] = { 4, 3, 2, 1 };
  for (guint k = 0; k < 2; k++) {
    DappleSchedule sched = k == 0 ? DAPPLE_SCHEDULE_GPIPE : DAPPLE_SCHEDULE_EARLY_BACKWARD;
    DapplePipeline *p = one_per_stage (4, 8, sched);
    DappleSimResult *r = dapple_simulate (&m, p);
    g_assert_cmpfloat_with_epsilon (r->step_time, 33.0, 1e-9);
    g_assert_cmpfloat_with_epsilon (r->bubble, 9.0 / 33.0, 1e-9);
    for (guint s = 0; s < 4; s++) {
      g_assert_cmpuint (r->peak_live[s], ==, k == 0 ? gpipe_live[s] : eb_live[s]);
      g_assert_cmpfloat_with_epsilon (r->peak_act[s], (double) r->peak_live[s], 1e-12);
    }
    /* the analytic estimate agrees here */
    g_assert_cmpfloat_with_epsilon (dapple_estimate (&m, p), 33.0, 1e-9);
    /* 4 stages x 8 (forward + backward) + allreduce: none */
    g_assert_cmpuint (r->events->len, ==, 64);
    g_autofree char *svg = dapple_timeline_svg (p, r);
    g_assert_nonnull (strstr (svg, "<svg"));
    dapple_sim_result_free (r);
    dapple_pipeline_free (p);
  }
  dapple_profile_free (prof);
  tl_cluster_free (c);
}

/* With a link delay and an allreduce the simulation follows the
 * dependencies: checked by hand for 2 stages, 2 micro-batches. */
static void
test_hand_checked_comm (void)
{
  /* link: 1 byte/s, latency 0; each layer outputs 0.5 bytes per sample */
  TlCluster *c = make_cluster (1, 3, "16GiB", "1", "0", "1", "0");
  DappleProfile *prof = unit_profile (2, 1, 2);
  prof->layers[0].out = 0.5;
  prof->layers[1].params = 1; /* allreduce over 2 replicas: 2 * 1 * 1/2 / 1 = 1 s */
  DappleModel m;
  model_init (&m, prof, c);
  DapplePipeline *p = dapple_pipeline_new (2);
  guint d0 = 0, d12[2] = { 1, 2 };
  dapple_pipeline_set_stage (p, 0, 0, 1, 1, &d0);
  dapple_pipeline_set_stage (p, 1, 1, 2, 2, d12);
  p->micro_batches = 2;
  p->global_batch = 4; /* mb 2: stage 0 F 2, B 4, link 1; stage 1 F 1, B 2 */
  p->schedule = DAPPLE_SCHEDULE_EARLY_BACKWARD;
  DappleSimResult *r = dapple_simulate (&m, p);
  /* s0: F0 0-2, F1 2-4; link F0 2-3, F1 4-5; s1: F0 3-4, B0 4-6, F1 6-7, B1 7-9, AR 9-10;
   * grads: B0 6-7, B1 9-10; s0: B0 7-11, B1 11-15 */
  g_assert_cmpfloat_with_epsilon (r->step_time, 15.0, 1e-9);
  g_assert_cmpuint (r->peak_live[0], ==, 2);
  g_assert_cmpuint (r->peak_live[1], ==, 1);
  dapple_sim_result_free (r);
  dapple_pipeline_free (p);
  dapple_profile_free (prof);
  tl_cluster_free (c);
}

static void
random_profile_fill (DappleProfile *p, TlRng *rng)
{
  for (guint i = 0; i < p->n_layers; i++) {
    DappleLayer *l = &p->layers[i];
    l->name = g_strdup_printf ("l%u", i);
    l->fwd = 0.001 + 0.01 * tl_rng_uniform (rng);
    l->bwd = l->fwd * (1.5 + tl_rng_uniform (rng));
    l->act = 1e6 * (1 + 20 * tl_rng_uniform (rng));
    l->out = 1e5 * (1 + 20 * tl_rng_uniform (rng));
    l->params = tl_rng_uniform (rng) < 0.3 ? 0 : 4e6 * (1 + 50 * tl_rng_uniform (rng));
  }
}

static void
test_dp_equals_brute_force (void)
{
  TlRng rng;
  tl_rng_init (&rng, 20070101, 0);
  guint cases = 0;
  for (guint trial = 0; trial < 12; trial++) {
    guint L = 3 + (guint) tl_rng_below (&rng, 4);           /* 3..6 layers (8 below) */
    guint per = 1 + (guint) tl_rng_below (&rng, 3);          /* 1..3 per machine */
    const char *mem = tl_rng_uniform (&rng) < 0.5 ? "16GiB" : "400MiB";
    /* fast links, or slow ones where transfers dominate */
    gboolean slow = trial % 2 == 1;
    TlCluster *c = make_cluster (2, per, mem, slow ? "1e9" : "50e9", "5e-6", slow ? "1e8" : "1.25e9", "20e-6");
    DappleProfile *prof = dapple_profile_new (L, 8);
    random_profile_fill (prof, &rng);
    DappleModel m;
    model_init (&m, prof, c);
    for (guint meth = 0; meth < 2; meth++) {
      DappleMethod method = meth == 0 ? DAPPLE_METHOD_DAPPLE : DAPPLE_METHOD_PIPEDREAM;
      for (guint pol = 0; pol < DAPPLE_N_POLICIES; pol++) {
        guint M = 1 + (guint) tl_rng_below (&rng, 4);
        GError *e1 = NULL, *e2 = NULL;
        DapplePipeline *a = dapple_dp (&m, method, pol, M, 16 * M, 2 * per, G_MAXDOUBLE, &e1);
        DapplePipeline *b = dapple_brute_force (&m, method, pol, M, 16 * M, &e2);
        g_assert_true ((a == NULL) == (b == NULL));
        if (a) {
          double va = dapple_objective (&m, method, a), vb = dapple_objective (&m, method, b);
          g_assert_cmpfloat (fabs (va - vb), <=, 1e-9 * vb);
          g_assert_cmpfloat (fabs (va - a->estimate), <=, 1e-9 * va);
          g_assert_true (dapple_fits (&m, a));
          cases++;
        } else {
          g_clear_error (&e1);
          g_clear_error (&e2);
        }
        dapple_pipeline_free (a);
        dapple_pipeline_free (b);
      }
    }
    dapple_profile_free (prof);
    tl_cluster_free (c);
  }
  /* the largest case of the issue: 8 layers, 8 devices in 2 machines */
  TlCluster *c = make_cluster (2, 4, "16GiB", "50e9", "5e-6", "1.25e9", "20e-6");
  DappleProfile *prof = dapple_profile_new (8, 8);
  random_profile_fill (prof, &rng);
  DappleModel m;
  model_init (&m, prof, c);
  for (guint pol = 0; pol < DAPPLE_N_POLICIES; pol++) {
    DapplePipeline *a = dapple_dp (&m, DAPPLE_METHOD_DAPPLE, pol, 4, 32, 8, G_MAXDOUBLE, NULL);
    DapplePipeline *b = dapple_brute_force (&m, DAPPLE_METHOD_DAPPLE, pol, 4, 32, NULL);
    g_assert_nonnull (a);
    g_assert_nonnull (b);
    g_assert_cmpfloat (fabs (a->estimate - b->estimate), <=, 1e-9 * b->estimate);
    cases++;
    dapple_pipeline_free (a);
    dapple_pipeline_free (b);
  }
  dapple_profile_free (prof);
  tl_cluster_free (c);
  g_test_message ("%u DP / brute-force comparisons", cases);
  g_assert_cmpuint (cases, >=, 30);
}

static void
test_no_params_is_data_parallel (void)
{
  TlCluster *c = make_cluster (2, 4, "16GiB", "50e9", "5e-6", "1.25e9", "20e-6");
  DappleProfile *prof = sized_profile (6, 0.01, 0.02, 1e6, 1e6, 0);
  DappleModel m;
  model_init (&m, prof, c);
  DapplePipeline *p = plan_ok (&m, DAPPLE_METHOD_DAPPLE, -1, 64);
  g_assert_cmpuint (p->n_stages, ==, 1);
  g_assert_cmpuint (p->stages[0].n_devices, ==, 8);
  dapple_pipeline_free (p);
  dapple_profile_free (prof);
  tl_cluster_free (c);
}

static void
test_big_layer_stays_in_a_machine (void)
{
  /* 2 machines x 4 devices, 1 Gb/s between machines */
  TlCluster *c = make_cluster (2, 4, "16GiB", "50e9", "5e-6", "125e6", "20e-6");
  DappleProfile *prof = sized_profile (4, 0.02, 0.04, 1e6, 1e5, 1e6);
  prof->layers[2].params = 400e6;
  DappleModel m;
  model_init (&m, prof, c);
  for (gint pol = -1; pol < (gint) DAPPLE_N_POLICIES; pol++) {
    DapplePipeline *p = plan_ok (&m, DAPPLE_METHOD_DAPPLE, pol, 64);
    for (guint s = 0; s < p->n_stages; s++) {
      const DappleStage *st = &p->stages[s];
      if (st->first <= 2 && 2 < st->last) {
        guint64 mask = dapple_machine_mask (&m.shape, st->n_devices, st->devices);
        g_assert_true (mask == 1 || mask == 2);
      }
    }
    dapple_pipeline_free (p);
  }
  /* while pure data parallelism would allreduce it across machines */
  DapplePlanOptions dp = { DAPPLE_METHOD_DP, -1, 0, 64 };
  DapplePipeline *q = dapple_plan_pipeline (&m, &dp, NULL);
  g_assert_cmpuint (dapple_machine_mask (&m.shape, q->stages[0].n_devices, q->stages[0].devices), ==, 3);
  dapple_pipeline_free (q);
  dapple_profile_free (prof);
  tl_cluster_free (c);
}

static void
test_placement (void)
{
  TlCluster *c = make_cluster (2, 4, "16GiB", "50e9", "5e-6", "1.25e9", "20e-6");
  DappleShape shape;
  g_assert_true (dapple_shape_init (&shape, c, NULL));
  guint d[8];
  guint f[2] = { 4, 4 };
  /* fresh: 2 on machine 0, then 3 more start on fresh machine 1 */
  g_assert_true (dapple_place (&shape, DAPPLE_FRESH_FIRST, f, 2, d));
  g_assert_true (dapple_place (&shape, DAPPLE_FRESH_FIRST, f, 3, d));
  g_assert_cmpuint (d[0], ==, 4);
  g_assert_cmpuint (f[0], ==, 2);
  g_assert_cmpuint (f[1], ==, 1);
  /* append: fills the used machine 0 first */
  guint a[2] = { 4, 4 };
  g_assert_true (dapple_place (&shape, DAPPLE_APPEND_FIRST, a, 2, d));
  g_assert_true (dapple_place (&shape, DAPPLE_APPEND_FIRST, a, 3, d));
  g_assert_cmpuint (d[0], ==, 2);
  g_assert_cmpuint (d[1], ==, 3);
  g_assert_cmpuint (d[2], ==, 4);
  /* scatter: alternate */
  guint s[2] = { 4, 4 };
  g_assert_true (dapple_place (&shape, DAPPLE_SCATTER_FIRST, s, 4, d));
  g_assert_cmpuint (s[0], ==, 2);
  g_assert_cmpuint (s[1], ==, 2);
  g_assert_false (dapple_place (&shape, DAPPLE_SCATTER_FIRST, s, 5, d));
  tl_cluster_free (c);
}

static void
test_profile_file (void)
{
  GError *error = NULL;
  DappleProfile *p = dapple_profile_parse ("# test\nbatch 8\nconv1 1e-3 2e-3 100 50 10\nfc 1 2 3 4 5 # x\n",
                                           "p.txt", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (p->n_layers, ==, 2);
  g_assert_cmpfloat (p->batch, ==, 8);
  g_assert_cmpstr (p->layers[1].name, ==, "fc");
  g_assert_cmpfloat (p->layers[0].out, ==, 50);
  g_autofree char *text = dapple_profile_to_text (p);
  DappleProfile *q = dapple_profile_parse (text, "q.txt", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (q->n_layers, ==, 2);
  dapple_profile_free (q);
  dapple_profile_free (p);
  p = dapple_profile_parse ("batch 8\nconv1 1e-3 x 100 50 10\n", "bad.txt", &error);
  g_assert_null (p);
  g_assert_error (error, TL_ERROR, TL_ERROR_PARSE);
  g_assert_true (g_str_has_prefix (error->message, "bad.txt:2: "));
  g_clear_error (&error);
  p = dapple_profile_parse ("conv1 1 1 1 1 1\n", "nobatch.txt", &error);
  g_assert_null (p);
  g_assert_error (error, TL_ERROR, TL_ERROR_PARSE);
  g_clear_error (&error);
}

/* The generator's (tools/archs.c + the cost model) per-layer flops for a
 * VGG-19 conv layer equal the analytic 2 K K Cin Cout H W N, up to the
 * layer's bias and ReLU (at most one flop per output element each). */
static void
test_arch_vgg_conv_flops (void)
{
  GError *error = NULL;
  const gint64 N = 2, K = 3, cin = 64, cout = 128, H = 112, W = 112; /* conv2_1 */
  TlGraph *g = dapple_arch_build ("vgg19", N, &error);
  g_assert_no_error (error);
  DappleLayering *l = dapple_layering_new (g, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (l->n_layers, ==, 19);
  DappleProfile *p = dapple_profile_from_device (g, l, 15.7e12 * 0.6, 900e9);
  g_assert_cmpfloat (p->batch, ==, N);
  const DappleLayer *L = NULL;
  for (guint i = 0; i < p->n_layers; i++)
    if (g_str_equal (p->layers[i].name, "conv2_1"))
      L = &p->layers[i];
  g_assert_nonnull (L);
  g_assert_cmpstr (p->layers[0].name, ==, "conv1_1");
  g_assert_cmpstr (p->layers[18].name, ==, "fc8");
  double analytic = 2.0 * K * K * cin * cout * H * W * N;
  double elems = (double) cout * H * W * N;
  g_assert_cmpfloat (L->fwd_flops, >=, analytic);
  g_assert_cmpfloat (L->fwd_flops, <=, analytic + 2 * elems);
  /* backward: input and weight gradients, each as many flops as the forward */
  g_assert_cmpfloat (L->bwd_flops, >=, 2 * analytic);
  g_assert_cmpfloat (L->bwd_flops, <=, 2 * analytic + 4 * elems);
  g_assert_cmpfloat (L->params, ==, (double) (K * K * cin * cout + cout) * 4);
  g_assert_cmpfloat (L->out, ==, elems * 4);
  /* compute bound: time = flops / sustained flop/s, within the elementwise ops' share */
  g_assert_cmpfloat (L->fwd, >=, analytic / (15.7e12 * 0.6));
  g_assert_cmpfloat (L->fwd, <, 1.1 * analytic / (15.7e12 * 0.6));
  double total = 0;
  for (guint i = 0; i < p->n_layers; i++)
    total += p->layers[i].params;
  g_assert_cmpfloat (fabs (total / 4 - 143667240), <, 1); /* VGG-19's published parameter count */
  dapple_profile_free (p);
  dapple_layering_free (l);
  tl_graph_unref (g);
}

static TlValue *
param (TlGraph *g, const char *name, gint64 r, gint64 c)
{
  TlTensor *t = c ? tl_tensor_new (TL_DTYPE_F32, 2, (gint64[]){ r, c }, NULL)
                  : tl_tensor_new (TL_DTYPE_F32, 1, (gint64[]){ r }, NULL);
  tl_tensor_fill (t, 0.01);
  TlValue *v = tl_graph_param (g, name, t);
  tl_tensor_unref (t);
  return v;
}

/* x -> fc1 -> relu -> fc2 -> relu -> fc3 -> mse, with gradients */
static TlGraph *
mlp (void)
{
  TlGraph *g = tl_graph_new ();
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 2, (gint64[]){ 8, 16 });
  TlValue *y = tl_graph_input (g, "y", TL_DTYPE_F32, 2, (gint64[]){ 8, 4 });
  TlValue *w[6] = { param (g, "fc1.weight", 32, 16), param (g, "fc1.bias", 32, 0), param (g, "fc2.weight", 32, 32),
                    param (g, "fc2.bias", 32, 0),    param (g, "fc3.weight", 4, 32), param (g, "fc3.bias", 4, 0) };
  TlValue *h = tl_relu (g, tl_linear (g, x, w[0], w[1]));
  h = tl_relu (g, tl_linear (g, h, w[2], w[3]));
  TlValue *loss = tl_mse (g, tl_linear (g, h, w[4], w[5]), y);
  tl_graph_set_output (g, "loss", loss);
  TlValue *grads[6] = { NULL };
  GError *error = NULL;
  g_assert_true (tl_autodiff (g, loss, 6, w, grads, &error));
  for (guint i = 0; i < 6; i++) {
    g_autofree char *n = g_strdup_printf ("grad/%s", tl_value_name (w[i]));
    tl_graph_set_output (g, n, grads[i]);
  }
  g_assert_true (tl_graph_take_error (g, &error));
  return g;
}

static void
test_graph_plan_apply (void)
{
  TlGraph *g = mlp ();
  GError *error = NULL;
  DappleLayering *l = dapple_layering_new (g, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (l->n_layers, ==, 3);
  g_assert_cmpstr (l->names[0], ==, "fc1");
  g_assert_cmpstr (l->names[2], ==, "fc3");
  TlCluster *c = make_cluster (1, 3, "16GiB", "50e9", "5e-6", "1.25e9", "20e-6");
  DappleProfile *prof = dapple_profile_from_graph (g, l, c, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (prof->batch, ==, 8);
  g_assert_cmpfloat (prof->layers[1].params, ==, (32 * 32 + 32) * 4);
  g_assert_cmpfloat (prof->layers[0].out, >, 0);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpfloat (prof->layers[i].fwd + prof->layers[i].bwd, >, 0);
  DappleModel m;
  model_init (&m, prof, c);
  /* force a 3-stage pipeline and round-trip it through a TlPlan and XML */
  DapplePipeline *p = one_per_stage (3, 4, DAPPLE_SCHEDULE_EARLY_BACKWARD);
  p->global_batch = 8;
  p->method = g_strdup ("dapple");
  DappleSimResult *r = dapple_simulate (&m, p);
  TlPlan *plan = dapple_pipeline_to_plan (&m, p, r);
  g_autofree char *xml = tl_plan_to_xml (plan);
  TlPlan *back = tl_plan_from_xml (xml, -1, "plan.xml", &error);
  g_assert_no_error (error);
  g_assert_true (tl_plan_equal (plan, back));
  DapplePipeline *q = dapple_pipeline_from_plan (back, "plan.xml", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (q->n_stages, ==, 3);
  g_assert_cmpuint (q->micro_batches, ==, 4);
  g_assert_cmpuint (q->stages[2].first, ==, 2);
  g_autofree char *table = dapple_pipeline_table (&m, q, r);
  g_assert_nonnull (strstr (table, "fc3"));
  /* apply through the component */
  TlParams *params = tl_params_new ();
  TlPlanner *pl = dapple_planner_def.create (params, &error);
  g_assert_no_error (error);
  g_assert_true (dapple_planner_def.apply (pl, back, g, &error));
  g_assert_no_error (error);
  guint stages_seen[3] = { 0 };
  for (guint i = 0; i < tl_graph_n_nodes (g); i++) {
    const TlAttrs *a = tl_node_get_annotations (tl_graph_node (g, i));
    gint64 s = tl_attrs_get_int (a, TL_ANNOT_STAGE, -1);
    g_assert_cmpint (s, >=, 0);
    g_assert_cmpint (s, <, 3);
    stages_seen[s]++;
  }
  for (guint s = 0; s < 3; s++)
    g_assert_cmpuint (stages_seen[s], >, 0);
  /* the component's own plan on this cluster */
  TlPlan *own = dapple_planner_def.plan (pl, g, c, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tl_plan_n_items (own), >=, 1);
  tl_plan_free (own);
  dapple_planner_def.destroy (pl);
  tl_params_free (params);
  dapple_pipeline_free (q);
  tl_plan_free (back);
  tl_plan_free (plan);
  dapple_sim_result_free (r);
  dapple_pipeline_free (p);
  dapple_profile_free (prof);
  dapple_layering_free (l);
  tl_cluster_free (c);
  tl_graph_unref (g);
}

static void
test_memory_bound (void)
{
  /* 1 GiB of activations per sample and stage on 3.5 GiB devices: the
   * planner returns only plans that fit */
  TlCluster *c = make_cluster (1, 4, "3.5GiB", "50e9", "5e-6", "1.25e9", "20e-6");
  DappleProfile *prof = sized_profile (4, 0.01, 0.02, 1073741824.0, 0, 0);
  DappleModel m;
  model_init (&m, prof, c);
  DapplePipeline *g = one_per_stage (4, 4, DAPPLE_SCHEDULE_GPIPE);
  g->global_batch = 4;
  g_assert_false (dapple_fits (&m, g));
  g->schedule = DAPPLE_SCHEDULE_EARLY_BACKWARD;
  g_assert_false (dapple_fits (&m, g)); /* stage 0 keeps 4 */
  g->micro_batches = 2;
  g->global_batch = 2;
  g_assert_true (dapple_fits (&m, g)); /* 2, 2, 2, 1 live */
  dapple_pipeline_free (g);
  DapplePipeline *p = plan_ok (&m, DAPPLE_METHOD_DAPPLE, -1, 4);
  g_assert_true (dapple_fits (&m, p));
  dapple_pipeline_free (p);
  dapple_profile_free (prof);
  tl_cluster_free (c);
}


/* Layers from TL_ANNOT_LAYER, and a measured profile (tl_exec_profile). */
static void
test_annotated_measured (void)
{
  TlGraph *g = tl_graph_new ();
  TlValue *x = tl_graph_input (g, "x", TL_DTYPE_F32, 2, (gint64[]){ 4, 8 });
  TlValue *w1 = param (g, "a.weight", 8, 8), *w2 = param (g, "b.weight", 8, 8);
  TlValue *h = tl_relu (g, tl_matmul (g, x, w1, FALSE, TRUE));
  tl_attrs_set_string (tl_node_annotations (tl_value_producer (h)), TL_ANNOT_LAYER, "first");
  tl_attrs_set_string (tl_node_annotations (tl_value_producer (tl_node_input (tl_value_producer (h), 0))),
                       TL_ANNOT_LAYER, "first");
  TlValue *o = tl_matmul (g, h, w2, FALSE, TRUE);
  tl_attrs_set_string (tl_node_annotations (tl_value_producer (o)), TL_ANNOT_LAYER, "second");
  TlValue *loss = tl_mean (g, tl_mul (g, o, o), 0, NULL, FALSE);
  tl_attrs_set_string (tl_node_annotations (tl_value_producer (loss)), TL_ANNOT_LAYER, "second");
  tl_graph_set_output (g, "loss", loss);
  TlValue *grads[2] = { NULL };
  GError *error = NULL;
  g_assert_true (tl_autodiff (g, loss, 2, (TlValue *[]){ w1, w2 }, grads, &error));
  tl_graph_set_output (g, "grad/a.weight", grads[0]);
  tl_graph_set_output (g, "grad/b.weight", grads[1]);
  g_assert_true (tl_graph_take_error (g, &error));
  DappleLayering *l = dapple_layering_new (g, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (l->n_layers, ==, 2);
  g_assert_cmpstr (l->names[0], ==, "first");
  g_assert_cmpstr (l->names[1], ==, "second");
  TlCluster *c = tl_cluster_new_local ();
  DappleProfile *p = dapple_profile_from_graph (g, l, c, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (p->source, ==, "measured");
  g_assert_cmpfloat (p->layers[0].params, ==, 8 * 8 * 4);
  g_assert_cmpfloat (p->layers[0].fwd + p->layers[1].fwd, >, 0);
  dapple_profile_free (p);
  tl_cluster_free (c);
  dapple_layering_free (l);
  tl_graph_unref (g);
}

/* Global batches beyond G_MAXUINT samples per micro-batch: data parallelism
 * uses every device (no cast of B / M to guint), the DP still plans. */
static void
test_huge_global_batch (void)
{
  TlCluster *c = make_cluster (1, 4, "16GiB", "50e9", "5e-6", "1.25e9", "20e-6");
  DappleProfile *prof = sized_profile (4, 0.01, 0.02, 1e3, 1e3, 1e3);
  DappleModel m;
  model_init (&m, prof, c);
  DapplePlanOptions o = { DAPPLE_METHOD_DP, -1, 1, 4294967296.0 };
  GError *error = NULL;
  DapplePipeline *p = dapple_plan_pipeline (&m, &o, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (p->n_stages, ==, 1);
  g_assert_cmpuint (p->stages[0].n_devices, ==, 4);
  for (guint d = 0; d < 4; d++)
    g_assert_cmpuint (p->stages[0].devices[d], ==, d);
  dapple_pipeline_free (p);
  /* fewer samples per micro-batch than devices: one replica per sample */
  DapplePlanOptions few = { DAPPLE_METHOD_DP, -1, 2, 6 };
  p = dapple_plan_pipeline (&m, &few, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (p->stages[0].n_devices, ==, 3);
  dapple_pipeline_free (p);
  /* no activation bytes: a micro-batch of 2^33 samples fits */
  for (guint l = 0; l < prof->n_layers; l++)
    prof->layers[l].act = prof->layers[l].out = 0;
  p = dapple_dp (&m, DAPPLE_METHOD_DAPPLE, DAPPLE_FRESH_FIRST, 1, 4294967296.0 * 2, 4, G_MAXDOUBLE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (p);
  guint used = 0;
  for (guint s = 0; s < p->n_stages; s++)
    used += p->stages[s].n_devices;
  g_assert_cmpuint (used, >=, 1);
  g_assert_cmpuint (used, <=, 4);
  dapple_pipeline_free (p);
  /* the component caps the parameter (the manifest's max) */
  TlParams *params = tl_params_new ();
  tl_params_set_int (params, "global_batch", G_GINT64_CONSTANT (4294967296));
  g_assert_null (dapple_planner_def.create (params, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  tl_params_free (params);
  dapple_profile_free (prof);
  tl_cluster_free (c);
}

/* Machine sets are 64-bit masks: more than 64 machines are refused up
 * front (every method goes through dapple_shape_init), 64 work. */
static void
test_too_many_machines (void)
{
  TlCluster *c = make_cluster (80, 1, "16GiB", "130e9", "5e-6", "3.125e9", "20e-6");
  DappleShape shape;
  GError *error = NULL;
  g_assert_false (dapple_shape_init (&shape, c, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "80 machines"));
  g_clear_error (&error);
  tl_cluster_free (c);
  c = make_cluster (64, 1, "16GiB", "130e9", "5e-6", "3.125e9", "20e-6");
  DappleProfile *prof = sized_profile (80, 0.01, 0.02, 1e3, 1e3, 1e3);
  DappleModel m;
  model_init (&m, prof, c);
  DapplePlanOptions o = { DAPPLE_METHOD_GPIPE, -1, 8, 64 };
  DapplePipeline *p = dapple_plan_pipeline (&m, &o, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (p->n_stages, ==, 64);
  guint64 all = 0;
  for (guint s = 0; s < p->n_stages; s++)
    all |= dapple_machine_mask (&m.shape, p->stages[s].n_devices, p->stages[s].devices);
  g_assert_cmpuint (all, ==, G_MAXUINT64);
  dapple_pipeline_free (p);
  dapple_profile_free (prof);
  tl_cluster_free (c);
}

/* More micro-batches than samples: a clear error up front. */
static void
test_micro_batches_exceed_batch (void)
{
  TlCluster *c = make_cluster (1, 4, "16GiB", "50e9", "5e-6", "1.25e9", "20e-6");
  DappleProfile *prof = sized_profile (4, 0.01, 0.02, 1e3, 1e3, 1e3);
  DappleModel m;
  model_init (&m, prof, c);
  for (guint k = 0; k < 4; k++) {
    DapplePlanOptions o = { (DappleMethod) k, -1, 128, 64 };
    GError *error = NULL;
    g_assert_null (dapple_plan_pipeline (&m, &o, &error));
    g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull (strstr (error->message, "micro_batches 128 exceeds the global batch 64"));
    g_clear_error (&error);
  }
  dapple_profile_free (prof);
  tl_cluster_free (c);
}

/* A two-stage dapple plan; stage 1 gets the given layers and devices. */
static TlPlan *
two_stage_plan (gint64 first, gint64 last, guint n_dev, const gint64 *devs, gboolean sizes)
{
  TlPlan *plan = tl_plan_new ("dapple.planner");
  TlAttrs *a = tl_plan_attrs (plan);
  tl_attrs_set_int (a, "micro_batches", 2);
  tl_attrs_set_float (a, "global_batch", 8);
  if (sizes) {
    tl_attrs_set_int (a, "n_layers", 4);
    tl_attrs_set_int (a, "n_devices", 4);
  }
  TlAttrs *it = tl_plan_add_item (plan, "stage");
  tl_attrs_set_int (it, "first_layer", 0);
  tl_attrs_set_int (it, "last_layer", 2);
  tl_attrs_set_ints (it, "devices", 2, (gint64[]){ 0, 1 });
  it = tl_plan_add_item (plan, "stage");
  tl_attrs_set_int (it, "first_layer", first);
  tl_attrs_set_int (it, "last_layer", last);
  tl_attrs_set_ints (it, "devices", n_dev, devs);
  return plan;
}

/* dapple_pipeline_from_plan() rejects what it cannot represent. */
static void
test_plan_stage_checks (void)
{
  static const struct {
    gint64 first, last;
    guint n;
    gint64 devs[3];
    gboolean sizes;
    const char *what;
  } bad[] = {
    { 2, G_GINT64_CONSTANT (4294967298), 1, { 2 }, FALSE, "layers" },
    { 2, G_GINT64_CONSTANT (4294967296), 1, { 2 }, FALSE, "layers" },
    { 2, 5, 1, { 2 }, TRUE, "layers" },
    { 2, 2, 1, { 2 }, TRUE, "layers" },
    { 3, 4, 1, { 2 }, TRUE, "layers" },
    { 2, 4, 1, { 300 }, FALSE, "device 300" },
    { 2, 4, 1, { -1 }, FALSE, "device -1" },
    { 2, 4, 1, { 4 }, TRUE, "device 4" },
    { 2, 4, 2, { 2, 2 }, TRUE, "device 2 is used twice" },
    { 2, 4, 1, { 1 }, TRUE, "device 1 is used twice" },
  };
  GError *error = NULL;
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    TlPlan *plan = two_stage_plan (bad[i].first, bad[i].last, bad[i].n, bad[i].devs, bad[i].sizes);
    g_assert_null (dapple_pipeline_from_plan (plan, "bad-plan.xml", &error));
    g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
    g_test_message ("%u: %s", i, error->message);
    g_assert_true (g_str_has_prefix (error->message, "bad-plan.xml: "));
    g_assert_nonnull (strstr (error->message, "stage 1"));
    g_assert_nonnull (strstr (error->message, bad[i].what));
    g_clear_error (&error);
    tl_plan_free (plan);
  }
  TlPlan *plan = two_stage_plan (2, 4, 2, (gint64[]){ 3, 2 }, TRUE);
  DapplePipeline *p = dapple_pipeline_from_plan (plan, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (p->stages[1].last, ==, 4);
  g_assert_cmpuint (p->stages[1].devices[0], ==, 3);
  dapple_pipeline_free (p);
  tl_plan_free (plan);
}

/* The simulate task: plans, compares, writes the plan and the timelines. */
static void
test_simulate_task (void)
{
  g_autofree char *dir = g_dir_make_tmp ("dapple-XXXXXX", NULL);
  g_assert_nonnull (dir);
  DappleProfile *prof = sized_profile (6, 0.01, 0.02, 4e6, 1e6, 1e6);
  prof->layers[5].params = 200e6;
  g_autofree char *text = dapple_profile_to_text (prof);
  g_autofree char *path = g_build_filename (dir, "model.profile", NULL);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  TlCluster *c = make_cluster (2, 2, "16GiB", "50e9", "5e-6", "125e6", "20e-6");
  TlParams *params = tl_params_new ();
  tl_params_set_string (params, "profile", path);
  tl_params_set_int (params, "global_batch", 32);
  TlAttrs *attrs = tl_attrs_new ();
  TlMetrics metrics;
  tl_metrics_init (&metrics);
  TlTaskContext ctx = { .task = "simulate", .out_dir = dir, .cluster = c, .params = params, .attrs = attrs,
                        .metrics = &metrics };
  const TlTaskExt *ext = dapple_planner_def.get_extension (TL_TASK_EXT_SIMULATE);
  g_assert_nonnull (ext);
  GError *error = NULL;
  g_assert_true (ext->run (&ctx, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (tl_metrics_get (&metrics, "step_seconds"), >, 0);
  /* DAPPLE is never worse than the baselines in its own estimate's terms,
   * and here it beats data parallelism (the big last layer) */
  g_assert_cmpfloat (tl_metrics_get (&metrics, "speedup_vs_dp"), >, 1.0);
  static const char *const files[] = { "dapple-plan.xml", "dapple-timeline.svg", "dapple-timeline-gpipe.svg" };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
    g_autofree char *f = g_build_filename (dir, files[i], NULL);
    g_autofree char *content = NULL;
    g_assert_true (g_file_get_contents (f, &content, NULL, NULL));
    g_assert_true (strstr (content, i == 0 ? "<plan" : "<svg") != NULL);
    g_remove (f);
  }
  g_remove (path);
  g_rmdir (dir);
  tl_attrs_free (attrs);
  tl_params_free (params);
  tl_cluster_free (c);
  dapple_profile_free (prof);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  GError *error = NULL;
  if (!tl_init (&error))
    g_error ("tl_init: %s", error->message);
  g_test_add_func ("/dapple/simulator/hand-checked", test_hand_checked);
  g_test_add_func ("/dapple/simulator/hand-checked-comm", test_hand_checked_comm);
  g_test_add_func ("/dapple/placement", test_placement);
  g_test_add_func ("/dapple/dp/brute-force", test_dp_equals_brute_force);
  g_test_add_func ("/dapple/quality/no-params-data-parallel", test_no_params_is_data_parallel);
  g_test_add_func ("/dapple/quality/big-layer-one-machine", test_big_layer_stays_in_a_machine);
  g_test_add_func ("/dapple/memory-bound", test_memory_bound);
  g_test_add_func ("/dapple/profile-file", test_profile_file);
  g_test_add_func ("/dapple/arch/vgg-conv-flops", test_arch_vgg_conv_flops);
  g_test_add_func ("/dapple/graph-plan-apply", test_graph_plan_apply);
  g_test_add_func ("/dapple/annotated-measured", test_annotated_measured);
  g_test_add_func ("/dapple/simulate-task", test_simulate_task);
  g_test_add_func ("/dapple/huge-global-batch", test_huge_global_batch);
  g_test_add_func ("/dapple/too-many-machines", test_too_many_machines);
  g_test_add_func ("/dapple/micro-batches-exceed-batch", test_micro_batches_exceed_batch);
  g_test_add_func ("/dapple/plan-stage-checks", test_plan_stage_checks);
  return g_test_run ();
}
