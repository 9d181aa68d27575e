/* test-plan.c — TlPlan: building, equality, exact XML round trip, errors. */
#include "config.h"

#include <math.h>
#include <string.h>
#include <tl/tl.h>

static TlPlan *
sample_plan (void)
{
  TlPlan *p = tl_plan_new ("fusion.stitch");
  TlAttrs *a = tl_plan_attrs (p);
  tl_attrs_set_float (a, "objective", 0.1);
  tl_attrs_set_float (a, "tiny", 1e-300);
  tl_attrs_set_float (a, "third", 1.0 / 3.0);
  tl_attrs_set_int (a, "big", G_MAXINT64);
  tl_attrs_set_int (a, "neg", -7);
  tl_attrs_set_string (a, "note", "a<b & \"c\" 'd' >");
  tl_attrs_set_string (a, "empty", "");
  TlAttrs *g = tl_plan_add_item (p, "group");
  tl_attrs_set_ints (g, "nodes", 3, (gint64[]){ 3, 4, -7 });
  tl_attrs_set_floats (g, "costs", 2, (double[]){ 2.5e-9, -0.0625 });
  tl_attrs_set_ints (g, "none", 0, NULL);
  tl_plan_add_item (p, "marker");
  TlAttrs *s = tl_plan_add_item (p, "stage");
  tl_attrs_set_int (s, "stage", 1);
  tl_attrs_set_string (s, "device", "cuda:0");
  return p;
}

static void
test_build (void)
{
  TlPlan *p = sample_plan ();
  g_assert_cmpstr (tl_plan_planner (p), ==, "fusion.stitch");
  g_assert_cmpuint (tl_plan_n_items (p), ==, 3);
  g_assert_cmpstr (tl_plan_item_kind (p, 0), ==, "group");
  g_assert_cmpstr (tl_plan_item_kind (p, 2), ==, "stage");
  g_assert_cmpint (tl_attrs_get_int (tl_plan_item (p, 2), "stage", -1), ==, 1);
  g_assert_cmpfloat (tl_attrs_get_float (tl_plan_get_attrs (p), "objective", 0), ==, 0.1);
  g_assert_true (tl_plan_equal (p, p));
  g_assert_false (tl_plan_equal (p, NULL));
  tl_plan_free (p);
  tl_plan_free (NULL);
}

static void
test_round_trip (void)
{
  TlPlan *p = sample_plan ();
  g_autofree char *xml = tl_plan_to_xml (p);
  g_assert_nonnull (strstr (xml, "urn:tl:plan:1"));
  g_autoptr (GError) error = NULL;
  TlPlan *q = tl_plan_from_xml (xml, -1, "plan.xml", &error);
  g_assert_no_error (error);
  g_assert_true (tl_plan_equal (p, q));
  g_assert_cmpfloat (tl_attrs_get_float (tl_plan_get_attrs (q), "third", 0), ==, 1.0 / 3.0);
  g_assert_cmpstr (tl_attrs_get_string (tl_plan_get_attrs (q), "note", NULL), ==, "a<b & \"c\" 'd' >");
  guint n = 0;
  const gint64 *nodes = tl_attrs_get_ints (tl_plan_item (q, 0), "nodes", &n);
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpint (nodes[2], ==, -7);
  /* and the text is stable */
  g_autofree char *xml2 = tl_plan_to_xml (q);
  g_assert_cmpstr (xml, ==, xml2);

  /* a difference anywhere is seen */
  tl_attrs_set_int (tl_plan_add_item (q, "extra"), "x", 1);
  g_assert_false (tl_plan_equal (p, q));
  tl_plan_free (q);
  q = tl_plan_from_xml (xml, -1, "plan.xml", &error);
  tl_attrs_set_float (tl_plan_attrs (q), "objective", 0.2);
  g_assert_false (tl_plan_equal (p, q));
  tl_plan_free (q);
  TlPlan *r = tl_plan_new ("other");
  g_assert_false (tl_plan_equal (p, r));
  tl_plan_free (r);
  tl_plan_free (p);
}

static void
test_errors (void)
{
  static const struct {
    const char *xml;
    const char *expect;
  } cases[] = {
    { "<plan xmlns='urn:tl:job:1'/>", "bad.xml:1: expected <plan" },
    { "<plan xmlns='urn:tl:plan:1'>\n<attr name='a' type='int'>x</attr></plan>", "bad.xml:2: " },
    { "<plan xmlns='urn:tl:plan:1'>\n\n<attr name='a' type='complex'>1</attr></plan>", "bad.xml:3: " },
    { "<plan xmlns='urn:tl:plan:1'><item/></plan>", "needs a 'kind'" },
    { "<plan xmlns='urn:tl:plan:1'><item kind='g'><item kind='h'/></item></plan>", "unexpected <item>" },
    { "<plan xmlns='urn:tl:plan:1'><attr name='a'>1</attr><attr name='a'>2</attr></plan>", "duplicate" },
    { "<plan xmlns='urn:tl:plan:1'><attr name='a' type='ints'>1,,2</attr></plan>", "bad value" },
    { "<plan xmlns='urn:tl:plan:1'><attr name='a' type='float'>1e999</attr></plan>", "bad float" },
    { "<!DOCTYPE plan [<!ENTITY x 'y'>]><plan xmlns='urn:tl:plan:1'/>", "bad.xml:1: " },
    { "<plan", "bad.xml:1: " },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) error = NULL;
    TlPlan *p = tl_plan_from_xml (cases[i].xml, -1, "bad.xml", &error);
    g_assert_null (p);
    g_assert_error (error, TL_ERROR, TL_ERROR_PARSE);
    if (!strstr (error->message, cases[i].expect))
      g_error ("case %u: '%s' lacks '%s'", i, error->message, cases[i].expect);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/plan/build", test_build);
  g_test_add_func ("/plan/round-trip", test_round_trip);
  g_test_add_func ("/plan/errors", test_errors);
  return g_test_run ();
}
