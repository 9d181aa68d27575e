/* graph-export.c — Graphviz DOT and JSON views of a graph. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "tl-private.h"
#include "graph-private.h"
#include "json-mini.h"

/* Fixed palette (ColorBrewer Set3) for the color_by annotation. */
static const char *const palette[] = {
  "#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462",
  "#b3de69", "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f",
};

static void
append_escaped (GString *s, const char *str, gboolean json)
{
  for (const unsigned char *p = (const unsigned char *) str; *p; p++) {
    switch (*p) {
    case '"': g_string_append (s, "\\\""); break;
    case '\\': g_string_append (s, "\\\\"); break;
    case '\n': g_string_append (s, "\\n"); break;
    case '\r': g_string_append (s, json ? "\\r" : " "); break;
    case '\t': g_string_append (s, json ? "\\t" : " "); break;
    default:
      if (*p < 0x20)
        g_string_append_printf (s, json ? "\\u%04x" : " ", *p);
      else
        g_string_append_c (s, (char) *p);
      break;
    }
  }
}

static void
append_desc (GString *s, const TlTensorDesc *d)
{
  g_autofree char *str = tl_tensor_desc_to_string (d);
  g_string_append (s, str);
}

static const char *
leaf_kind_name (TlValueKind k)
{
  switch (k) {
  case TL_VALUE_INPUT: return "input";
  case TL_VALUE_PARAM: return "param";
  case TL_VALUE_CONST: return "const";
  default: return "op";
  }
}

/**
 * tl_graph_to_dot:
 * @g: a graph
 * @color_by: (nullable): annotation key whose value picks a fill colour
 *
 * Nodes are labelled with the op and output shapes; inputs, params and
 * consts appear as ellipses; edges carry values.
 *
 * Returns: (transfer full): the DOT text; free with g_free().
 */
char *
tl_graph_to_dot (const TlGraph *g, const char *color_by)
{
  GString *s = g_string_new ("digraph tl {\n  rankdir=TB;\n  node [fontname=\"Helvetica\"];\n");
  if (!g)
    return g_string_free (g_string_append (s, "}\n"), FALSE);
  g_autoptr (GHashTable) colors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < g->leaves->len; i++) {
    TlValue *v = g->leaves->pdata[i];
    if (v->users->len == 0 && !v->out_name)
      continue;
    g_string_append_printf (s, "  v%u [shape=ellipse,label=\"", v->id);
    append_escaped (s, v->name ? v->name : leaf_kind_name (v->kind), FALSE);
    g_string_append (s, "\\n");
    append_desc (s, &v->desc);
    g_string_append_printf (s, "\"%s];\n", v->kind == TL_VALUE_PARAM ? ",style=dashed" : "");
  }
  for (guint i = 0; i < g->nodes->len; i++) {
    TlNode *n = g->nodes->pdata[i];
    g_string_append_printf (s, "  n%u [shape=box,label=\"", n->id);
    append_escaped (s, n->def->name, FALSE);
    for (guint o = 0; o < n->n_outputs; o++) {
      g_string_append (s, o ? " " : "\\n");
      append_desc (s, &n->outputs[o]->desc);
    }
    char *key = color_by && tl_attrs_has (n->annotations, color_by)
                  ? tl_attrs_value_to_string (n->annotations, color_by) : NULL;
    if (key) {
      g_string_append (s, "\\n");
      append_escaped (s, color_by, FALSE);
      g_string_append_c (s, '=');
      append_escaped (s, key, FALSE);
      gpointer idx;
      if (!g_hash_table_lookup_extended (colors, key, NULL, &idx)) {
        idx = GUINT_TO_POINTER (g_hash_table_size (colors));
        g_hash_table_insert (colors, g_strdup (key), idx);
      }
      g_string_append_printf (s, "\",style=filled,fillcolor=\"%s\"];\n",
                              palette[GPOINTER_TO_UINT (idx) % G_N_ELEMENTS (palette)]);
      g_free (key);
    } else {
      g_string_append (s, "\"];\n");
    }
  }
  for (guint i = 0; i < g->nodes->len; i++) {
    TlNode *n = g->nodes->pdata[i];
    for (guint j = 0; j < n->n_inputs; j++) {
      TlValue *v = n->inputs[j];
      if (v->producer)
        g_string_append_printf (s, "  n%u -> n%u;\n", v->producer->id, n->id);
      else
        g_string_append_printf (s, "  v%u -> n%u;\n", v->id, n->id);
    }
  }
  for (guint i = 0; i < g->outputs->len; i++) {
    TlGraphOutput *o = &g_array_index (g->outputs, TlGraphOutput, i);
    g_string_append_printf (s, "  out%u [shape=plaintext,label=\"", i);
    append_escaped (s, o->name, FALSE);
    g_string_append (s, "\"];\n");
    if (o->value->producer)
      g_string_append_printf (s, "  n%u -> out%u;\n", o->value->producer->id, i);
    else
      g_string_append_printf (s, "  v%u -> out%u;\n", o->value->id, i);
  }
  g_string_append (s, "}\n");
  return g_string_free (s, FALSE);
}


static void
json_desc (GString *s, const TlTensorDesc *d)
{
  g_string_append (s, "{\"dtype\":");
  _tl_priv_json_append_string (s, tl_dtype_name (d->dtype));
  g_string_append (s, ",\"shape\":[");
  for (guint i = 0; i < d->ndim; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? "," : "", d->shape[i]);
  g_string_append (s, "]}");
}

static void
json_attrs (GString *s, const TlAttrs *a)
{
  g_string_append_c (s, '{');
  for (guint i = 0; i < tl_attrs_size (a); i++) {
    const char *k = tl_attrs_key (a, i);
    if (i)
      g_string_append_c (s, ',');
    _tl_priv_json_append_string (s, k);
    g_string_append_c (s, ':');
    guint n = 0;
    switch (tl_attrs_type (a, k)) {
    case TL_ATTR_INT:
      g_string_append_printf (s, "%" G_GINT64_FORMAT, tl_attrs_get_int (a, k, 0));
      break;
    case TL_ATTR_FLOAT: _tl_priv_json_append_double (s, tl_attrs_get_float (a, k, 0)); break;
    case TL_ATTR_STRING: _tl_priv_json_append_string (s, tl_attrs_get_string (a, k, "")); break;
    case TL_ATTR_INTS: {
      const gint64 *v = tl_attrs_get_ints (a, k, &n);
      g_string_append_c (s, '[');
      for (guint j = 0; j < n; j++)
        g_string_append_printf (s, "%s%" G_GINT64_FORMAT, j ? "," : "", v[j]);
      g_string_append_c (s, ']');
      break;
    }
    case TL_ATTR_FLOATS: {
      const double *v = tl_attrs_get_floats (a, k, &n);
      g_string_append_c (s, '[');
      for (guint j = 0; j < n; j++) {
        if (j)
          g_string_append_c (s, ',');
        _tl_priv_json_append_double (s, v[j]);
      }
      g_string_append_c (s, ']');
      break;
    }
    default: g_string_append (s, "null"); break;
    }
  }
  g_string_append_c (s, '}');
}

/**
 * tl_graph_to_json:
 * @g: a graph
 *
 * A readable JSON document: {"values": [leaves], "nodes": [{"id", "op",
 * "inputs" (value ids), "outputs" ([{"id", "dtype", "shape"}]), "attrs",
 * "annotations"}], "outputs": {name: value id}}.
 *
 * Returns: (transfer full): the JSON text; free with g_free().
 */
char *
tl_graph_to_json (const TlGraph *g)
{
  GString *s = g_string_new ("{\n  \"values\": [");
  for (guint i = 0; g && i < g->leaves->len; i++) {
    TlValue *v = g->leaves->pdata[i];
    g_string_append_printf (s, "%s\n    {\"id\":%u,\"kind\":", i ? "," : "", v->id);
    _tl_priv_json_append_string (s, leaf_kind_name (v->kind));
    if (v->name) {
      g_string_append (s, ",\"name\":");
      _tl_priv_json_append_string (s, v->name);
    }
    g_string_append (s, ",\"desc\":");
    json_desc (s, &v->desc);
    g_string_append_c (s, '}');
  }
  g_string_append (s, "\n  ],\n  \"nodes\": [");
  for (guint i = 0; g && i < g->nodes->len; i++) {
    TlNode *n = g->nodes->pdata[i];
    g_string_append_printf (s, "%s\n    {\"id\":%u,\"op\":", i ? "," : "", n->id);
    _tl_priv_json_append_string (s, n->def->name);
    g_string_append (s, ",\"inputs\":[");
    for (guint j = 0; j < n->n_inputs; j++)
      g_string_append_printf (s, "%s%u", j ? "," : "", n->inputs[j]->id);
    g_string_append (s, "],\"outputs\":[");
    for (guint o = 0; o < n->n_outputs; o++) {
      g_string_append_printf (s, "%s{\"id\":%u,\"desc\":", o ? "," : "", n->outputs[o]->id);
      json_desc (s, &n->outputs[o]->desc);
      g_string_append_c (s, '}');
    }
    g_string_append (s, "],\"attrs\":");
    json_attrs (s, n->attrs);
    g_string_append (s, ",\"annotations\":");
    json_attrs (s, n->annotations);
    g_string_append_c (s, '}');
  }
  g_string_append (s, "\n  ],\n  \"outputs\": {");
  for (guint i = 0; g && i < g->outputs->len; i++) {
    TlGraphOutput *o = &g_array_index (g->outputs, TlGraphOutput, i);
    if (i)
      g_string_append_c (s, ',');
    _tl_priv_json_append_string (s, o->name);
    g_string_append_printf (s, ":%u", o->value->id);
  }
  g_string_append (s, "}\n}\n");
  return g_string_free (s, FALSE);
}
