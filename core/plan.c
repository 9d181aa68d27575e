/* plan.c — TlPlan: what a planner decided, as a list of typed items, and its
 * XML form (urn:tl:plan:1):
 *
 *   <plan xmlns="urn:tl:plan:1" planner="fusion.stitch">
 *     <attr name="objective" type="float">0.0125</attr>
 *     <item kind="group">
 *       <attr name="nodes" type="ints">3,4,7</attr>
 *     </item>
 *   </plan>
 *
 * Attribute types: int, float, string, ints, floats. Floats are written with
 * 17 significant digits so the round trip is exact.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "tl-private.h"
#include "xml-private.h"

#define PLAN_NS "urn:tl:plan:1"
/* Bound on array attributes read from a file. */
#define PLAN_MAX_ARRAY (1u << 20)

typedef struct {
  char *kind;
  TlAttrs *attrs;
} PlanItem;

struct _TlPlan {
  char *planner;
  TlAttrs *attrs;
  GPtrArray *items; /* PlanItem */
};

static void
plan_item_free (gpointer p)
{
  PlanItem *it = p;
  g_free (it->kind);
  tl_attrs_free (it->attrs);
  g_free (it);
}

/**
 * tl_plan_new:
 * @planner: (nullable): name of the planner component that made the plan
 *
 * Returns: (transfer full): an empty plan; free with tl_plan_free().
 */
TlPlan *
tl_plan_new (const char *planner)
{
  TlPlan *plan = g_new0 (TlPlan, 1);
  plan->planner = g_strdup (planner ? planner : "");
  plan->attrs = tl_attrs_new ();
  plan->items = g_ptr_array_new_with_free_func (plan_item_free);
  return plan;
}

/**
 * tl_plan_free:
 * @plan: (nullable): a plan
 *
 * Frees @plan; NULL is a no-op.
 */
void
tl_plan_free (TlPlan *plan)
{
  if (!plan)
    return;
  g_free (plan->planner);
  tl_attrs_free (plan->attrs);
  g_ptr_array_unref (plan->items);
  g_free (plan);
}

/** tl_plan_planner: Returns: (transfer none): the planner name ("" if none). */
const char *
tl_plan_planner (const TlPlan *plan)
{
  g_return_val_if_fail (plan != NULL, NULL);
  return plan->planner;
}

/** tl_plan_attrs: Returns: (transfer none): the plan-level attributes, mutable. */
TlAttrs *
tl_plan_attrs (TlPlan *plan)
{
  g_return_val_if_fail (plan != NULL, NULL);
  return plan->attrs;
}

/** tl_plan_get_attrs: Returns: (transfer none): the plan-level attributes. */
const TlAttrs *
tl_plan_get_attrs (const TlPlan *plan)
{
  g_return_val_if_fail (plan != NULL, NULL);
  return plan->attrs;
}

/**
 * tl_plan_add_item:
 * @plan: a plan
 * @kind: item kind ("group", "stage", ...)
 *
 * Appends an item.
 *
 * Returns: (transfer none): its (empty, mutable) attributes.
 */
TlAttrs *
tl_plan_add_item (TlPlan *plan, const char *kind)
{
  g_return_val_if_fail (plan != NULL && kind != NULL, NULL);
  PlanItem *it = g_new0 (PlanItem, 1);
  it->kind = g_strdup (kind);
  it->attrs = tl_attrs_new ();
  g_ptr_array_add (plan->items, it);
  return it->attrs;
}

/** tl_plan_n_items: Returns: the number of items. */
guint
tl_plan_n_items (const TlPlan *plan)
{
  g_return_val_if_fail (plan != NULL, 0);
  return plan->items->len;
}

/** tl_plan_item_kind: Returns: (transfer none): the kind of item @i. */
const char *
tl_plan_item_kind (const TlPlan *plan, guint i)
{
  g_return_val_if_fail (plan != NULL && i < plan->items->len, NULL);
  return ((PlanItem *) plan->items->pdata[i])->kind;
}

/** tl_plan_item: Returns: (transfer none): the attributes of item @i. */
const TlAttrs *
tl_plan_item (const TlPlan *plan, guint i)
{
  g_return_val_if_fail (plan != NULL && i < plan->items->len, NULL);
  return ((PlanItem *) plan->items->pdata[i])->attrs;
}

/**
 * tl_plan_equal:
 *
 * Returns: TRUE when both plans have the same planner, attributes and items
 * (in order).
 */
gboolean
tl_plan_equal (const TlPlan *a, const TlPlan *b)
{
  if (a == b)
    return TRUE;
  if (!a || !b)
    return FALSE;
  if (g_strcmp0 (a->planner, b->planner) != 0 || !tl_attrs_equal (a->attrs, b->attrs) ||
      a->items->len != b->items->len)
    return FALSE;
  for (guint i = 0; i < a->items->len; i++) {
    PlanItem *x = a->items->pdata[i], *y = b->items->pdata[i];
    if (g_strcmp0 (x->kind, y->kind) != 0 || !tl_attrs_equal (x->attrs, y->attrs))
      return FALSE;
  }
  return TRUE;
}

/* --- XML writing ----------------------------------------------------------- */

static void
append_double (GString *s, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append (s, g_ascii_formatd (buf, sizeof buf, "%.17g", v));
}

static void
write_attrs (GString *s, const TlAttrs *attrs, const char *indent)
{
  for (guint i = 0; i < tl_attrs_size (attrs); i++) {
    const char *key = tl_attrs_key (attrs, i);
    g_autofree char *ekey = g_markup_escape_text (key, -1);
    TlAttrType type = tl_attrs_type (attrs, key);
    guint n = 0;
    g_string_append_printf (s, "%s<attr name=\"%s\" type=\"", indent, ekey);
    switch (type) {
    case TL_ATTR_INT:
      g_string_append_printf (s, "int\">%" G_GINT64_FORMAT, tl_attrs_get_int (attrs, key, 0));
      break;
    case TL_ATTR_FLOAT:
      g_string_append (s, "float\">");
      append_double (s, tl_attrs_get_float (attrs, key, 0));
      break;
    case TL_ATTR_STRING: {
      g_autofree char *v = g_markup_escape_text (tl_attrs_get_string (attrs, key, ""), -1);
      g_string_append_printf (s, "string\">%s", v);
      break;
    }
    case TL_ATTR_INTS: {
      const gint64 *v = tl_attrs_get_ints (attrs, key, &n);
      g_string_append (s, "ints\">");
      for (guint k = 0; k < n; k++)
        g_string_append_printf (s, "%s%" G_GINT64_FORMAT, k ? "," : "", v[k]);
      break;
    }
    case TL_ATTR_FLOATS: {
      const double *v = tl_attrs_get_floats (attrs, key, &n);
      g_string_append (s, "floats\">");
      for (guint k = 0; k < n; k++) {
        if (k)
          g_string_append_c (s, ',');
        append_double (s, v[k]);
      }
      break;
    }
    case TL_ATTR_NONE:
    default:
      g_string_append (s, "string\">");
      break;
    }
    g_string_append (s, "</attr>\n");
  }
}

/**
 * tl_plan_to_xml:
 * @plan: a plan
 *
 * Serialises @plan (urn:tl:plan:1); tl_plan_from_xml() reads it back equal.
 *
 * Returns: (transfer full): the document text.
 */
char *
tl_plan_to_xml (const TlPlan *plan)
{
  g_return_val_if_fail (plan != NULL, NULL);
  GString *s = g_string_new ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  g_autofree char *planner = g_markup_escape_text (plan->planner, -1);
  g_string_append_printf (s, "<plan xmlns=\"" PLAN_NS "\" planner=\"%s\">\n", planner);
  write_attrs (s, plan->attrs, "  ");
  for (guint i = 0; i < plan->items->len; i++) {
    PlanItem *it = plan->items->pdata[i];
    g_autofree char *kind = g_markup_escape_text (it->kind, -1);
    if (tl_attrs_size (it->attrs) == 0) {
      g_string_append_printf (s, "  <item kind=\"%s\"/>\n", kind);
      continue;
    }
    g_string_append_printf (s, "  <item kind=\"%s\">\n", kind);
    write_attrs (s, it->attrs, "    ");
    g_string_append (s, "  </item>\n");
  }
  g_string_append (s, "</plan>\n");
  return g_string_free (s, FALSE);
}

/* --- XML reading ----------------------------------------------------------- */

static gboolean
parse_int (const char *text, gint64 *out)
{
  char *end = NULL;
  errno = 0;
  gint64 v = g_ascii_strtoll (text, &end, 10);
  if (end == text || *end != '\0' || errno != 0)
    return FALSE;
  *out = v;
  return TRUE;
}

static gboolean
parse_double (const char *text, double *out)
{
  char *end = NULL;
  errno = 0;
  double v = g_ascii_strtod (text, &end);
  if (end == text || *end != '\0' || errno == ERANGE)
    return FALSE;
  *out = v;
  return TRUE;
}

static gboolean
read_attr (TlAttrs *attrs, const char *file, xmlNode *node, GError **error)
{
  g_autofree char *name = _tl_priv_xml_prop (node, "name");
  g_autofree char *type = _tl_priv_xml_prop (node, "type");
  g_autofree char *text = _tl_priv_xml_text (node);
  if (!name || !*name)
    return _tl_priv_xml_fail (error, TL_ERROR_PARSE, file, node, "<attr> needs a 'name'") != NULL;
  if (tl_attrs_has (attrs, name))
    return _tl_priv_xml_fail (error, TL_ERROR_PARSE, file, node, "duplicate <attr name=\"%s\">",
                              name) != NULL;
  if (!type)
    type = g_strdup ("string");
  if (!text)
    text = g_strdup ("");

  if (g_str_equal (type, "string")) {
    tl_attrs_set_string (attrs, name, text ? text : "");
    return TRUE;
  }
  if (g_str_equal (type, "int") || g_str_equal (type, "float")) {
    gint64 iv = 0;
    double dv = 0;
    if (g_str_equal (type, "int") ? !parse_int (text, &iv) : !parse_double (text, &dv))
      return _tl_priv_xml_fail (error, TL_ERROR_PARSE, file, node, "<attr name=\"%s\">: bad %s '%s'",
                                name, type, text) != NULL;
    if (g_str_equal (type, "int"))
      tl_attrs_set_int (attrs, name, iv);
    else
      tl_attrs_set_float (attrs, name, dv);
    return TRUE;
  }
  if (g_str_equal (type, "ints") || g_str_equal (type, "floats")) {
    gboolean ints = g_str_equal (type, "ints");
    g_auto (GStrv) parts = *text ? g_strsplit (text, ",", -1) : g_new0 (char *, 1);
    guint n = g_strv_length (parts);
    if (n > PLAN_MAX_ARRAY)
      return _tl_priv_xml_fail (error, TL_ERROR_PARSE, file, node, "<attr name=\"%s\">: too many values",
                                name) != NULL;
    g_autofree gint64 *iv = g_new0 (gint64, n + 1);
    g_autofree double *dv = g_new0 (double, n + 1);
    for (guint k = 0; k < n; k++) {
      g_strstrip (parts[k]);
      if (ints ? !parse_int (parts[k], &iv[k]) : !parse_double (parts[k], &dv[k]))
        return _tl_priv_xml_fail (error, TL_ERROR_PARSE, file, node,
                                  "<attr name=\"%s\">: bad value '%s' in %s list", name, parts[k],
                                  type) != NULL;
    }
    if (ints)
      tl_attrs_set_ints (attrs, name, n, iv);
    else
      tl_attrs_set_floats (attrs, name, n, dv);
    return TRUE;
  }
  return _tl_priv_xml_fail (error, TL_ERROR_PARSE, file, node,
                            "<attr name=\"%s\">: unknown type '%s' (int, float, string, ints, floats)",
                            name, type) != NULL;
}

static gboolean
read_attrs_children (TlAttrs *attrs, const char *file, xmlNode *parent, gboolean items_allowed,
                     TlPlan *plan, GError **error)
{
  for (xmlNode *n = parent->children; n; n = n->next) {
    if (n->type != XML_ELEMENT_NODE)
      continue;
    if (_tl_priv_xml_is (n, PLAN_NS, "attr")) {
      if (!read_attr (attrs, file, n, error))
        return FALSE;
    } else if (items_allowed && _tl_priv_xml_is (n, PLAN_NS, "item")) {
      g_autofree char *kind = _tl_priv_xml_prop (n, "kind");
      if (!kind || !*kind)
        return _tl_priv_xml_fail (error, TL_ERROR_PARSE, file, n, "<item> needs a 'kind'") != NULL;
      TlAttrs *ia = tl_plan_add_item (plan, kind);
      if (!read_attrs_children (ia, file, n, FALSE, NULL, error))
        return FALSE;
    } else {
      return _tl_priv_xml_fail (error, TL_ERROR_PARSE, file, n, "unexpected <%s> in <%s>",
                                (const char *) n->name, (const char *) parent->name) != NULL;
    }
  }
  return TRUE;
}

/**
 * tl_plan_from_xml:
 * @xml: document text
 * @len: its length, or -1 when NUL-terminated
 * @filename: (nullable): name used in messages
 * @error: return location for a #GError
 *
 * Parses a plan written by tl_plan_to_xml() (hardened parser; errors are
 * "FILE:LINE: ...", TL_ERROR_PARSE).
 *
 * Returns: (transfer full) (nullable): the plan, or NULL on error.
 */
TlPlan *
tl_plan_from_xml (const char *xml, gssize len, const char *filename, GError **error)
{
  g_return_val_if_fail (xml != NULL, NULL);
  const char *file = filename ? filename : "<plan>";
  gsize n = len < 0 ? strlen (xml) : (gsize) len;
  g_autoptr (xmlDoc) doc = _tl_priv_xml_read_memory (xml, n, file, error);
  if (!doc)
    return NULL;
  xmlNode *root = xmlDocGetRootElement (doc);
  if (!_tl_priv_xml_is (root, PLAN_NS, "plan"))
    return _tl_priv_xml_fail (error, TL_ERROR_PARSE, file, root,
                              "expected <plan xmlns=\"" PLAN_NS "\">");
  g_autofree char *planner = _tl_priv_xml_prop (root, "planner");
  TlPlan *plan = tl_plan_new (planner);
  if (!read_attrs_children (plan->attrs, file, root, TRUE, plan, error)) {
    tl_plan_free (plan);
    return NULL;
  }
  return plan;
}
