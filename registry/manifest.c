/* manifest.c — parse a plugin manifest (*.tlplugin.xml, urn:tl:plugin:1)
 * into TlPluginInfo / TlComponentInfo / TlParamSpec, checking it fully. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tl-private.h"
#include "xml-private.h"
#include "registry-private.h"

static const char *const type_names[] = { NULL, "int", "float", "bool", "string", "choice", "path" };

const char *
_tl_priv_param_type_name (TlParamType t)
{
  if (t >= TL_PARAM_INT && t <= TL_PARAM_PATH)
    return type_names[t];
  return "unknown";
}

static TlParamType
param_type_from_name (const char *name)
{
  for (int t = TL_PARAM_INT; name && t <= TL_PARAM_PATH; t++)
    if (strcmp (name, type_names[t]) == 0)
      return (TlParamType) t;
  return 0;
}

static void
param_spec_free (gpointer data)
{
  TlParamSpec *s = data;
  g_free (s->name);
  g_free (s->dflt);
  g_free (s->min);
  g_free (s->max);
  g_strfreev (s->choices);
  g_free (s->doc);
  g_free (s);
}

static void
component_free (gpointer data)
{
  TlComponentInfo *c = data;
  g_free (c->name);
  g_free (c->full_name);
  g_free (c->description);
  g_strfreev (c->devices);
  if (c->params)
    g_ptr_array_unref (c->params);
  g_free (c);
}

void
_tl_priv_plugin_info_free (TlPluginInfo *p)
{
  if (!p)
    return;
  g_free (p->id);
  g_free (p->version);
  g_free (p->license);
  g_free (p->description);
  g_free (p->abi);
  g_free (p->manifest_path);
  g_free (p->library);
  g_free (p->library_path);
  g_strfreev (p->requires);
  if (p->components)
    g_ptr_array_unref (p->components);
  g_free (p->skip_reason);
  if (p->warnings)
    g_ptr_array_unref (p->warnings);
  /* modules stay resident: tables registered from them must outlive us */
  g_free (p);
}

static TlPluginInfo *
plugin_info_new (void)
{
  TlPluginInfo *p = g_new0 (TlPluginInfo, 1);
  p->components = g_ptr_array_new_with_free_func (component_free);
  p->warnings = g_ptr_array_new_with_free_func (g_free);
  p->allowed = TRUE;
  return p;
}

/**
 * _tl_priv_plugin_info_new_broken:
 *
 * A placeholder for a manifest that could not be read: id from the file
 * name, status SKIPPED with @reason.
 */
TlPluginInfo *
_tl_priv_plugin_info_new_broken (const char *manifest_path, const char *reason)
{
  TlPluginInfo *p = plugin_info_new ();
  g_autofree char *base = g_path_get_basename (manifest_path);
  if (g_str_has_suffix (base, TL_MANIFEST_SUFFIX))
    base[strlen (base) - strlen (TL_MANIFEST_SUFFIX)] = '\0';
  p->id = g_strdup (base);
  /* unknown: the manifest could not be read (listed as "?", the reason beside) */
  p->version = g_strdup ("?");
  p->abi = g_strdup ("");
  p->manifest_path = g_strdup (manifest_path);
  p->requires = g_new0 (char *, 1);
  p->skip_reason = g_strdup (reason);
  return p;
}

static gboolean
valid_id (const char *s, gboolean underscore)
{
  if (!s || !*s || !(g_ascii_islower (*s) || g_ascii_isdigit (*s)))
    return FALSE;
  for (const char *c = s; *c; c++)
    if (!(g_ascii_islower (*c) || g_ascii_isdigit (*c) || *c == '-' || (underscore && *c == '_')))
      return FALSE;
  return TRUE;
}

/* TRUE when s holds a control character (0x00-0x1f, 0x7f). */
static gboolean
has_control_chars (const char *s)
{
  for (; *s; s++)
    if ((unsigned char) *s < 0x20 || *s == 0x7f)
      return TRUE;
  return FALSE;
}

/**
 * _tl_priv_xml_unknown_attrs:
 * @problems: where to append, one line each
 * @file: file name for the "FILE:LINE: " prefix
 * @node: an element
 * @allowed: NULL-terminated attribute names @node may carry
 * @suffix: (nullable): appended to each line (e.g. "; ignored")
 *
 * Reports every attribute of @node without a namespace that is not in
 * @allowed, with a did-you-mean when one allowed name is close.
 */
void
_tl_priv_xml_unknown_attrs (GString *problems, const char *file, const struct _xmlNode *node,
                            const char *const *allowed, const char *suffix)
{
  for (xmlAttr *a = node->properties; a; a = a->next) {
    if (a->ns || g_strv_contains (allowed, (const char *) a->name))
      continue;
    const char *hint = _tl_priv_did_you_mean ((const char *) a->name, allowed,
                                              g_strv_length ((char **) allowed));
    _tl_priv_xml_add_error (problems, file, node, "unknown attribute '%s' on <%s>%s%s%s%s",
                            (const char *) a->name, (const char *) node->name,
                            hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "",
                            suffix ? suffix : "");
  }
}

/* Unknown attributes in a manifest are warned about, not refused: a
 * manifest written for a newer 1.x host may carry attributes this one does
 * not know (ABI.md: such plugins keep loading). */
#define IGNORED "; ignored"

/* "MAJOR.MINOR.PATCH" with an optional "-pre" or "+build" suffix. */
static gboolean
valid_semver (const char *v)
{
  if (!v)
    return FALSE;
  const char *c = v;
  for (int part = 0; part < 3; part++) {
    if (!g_ascii_isdigit (*c))
      return FALSE;
    while (g_ascii_isdigit (*c))
      c++;
    if (part < 2 && *c++ != '.')
      return FALSE;
  }
  return *c == '\0' || *c == '-' || *c == '+';
}

int
_tl_priv_semver_compare (const char *a, const char *b)
{
  const char *x = a, *y = b;
  for (int part = 0; part < 3; part++) {
    guint64 u = g_ascii_strtoull (x, (char **) &x, 10);
    guint64 v = g_ascii_strtoull (y, (char **) &y, 10);
    if (u != v)
      return u < v ? -1 : 1;
    if (*x == '.')
      x++;
    if (*y == '.')
      y++;
  }
  gboolean xpre = *x == '-', ypre = *y == '-';
  if (xpre != ypre)
    return xpre ? -1 : 1;
  return strcmp (x, y) < 0 ? -1 : strcmp (x, y) > 0;
}

static gboolean
parse_number (TlParamType t, const char *s)
{
  char *end = NULL;
  if (!s || !*s)
    return FALSE;
  if (t == TL_PARAM_INT) {
    gint64 v;
    return g_ascii_string_to_signed (s, 10, G_MININT64, G_MAXINT64, &v, NULL);
  }
  double d = g_ascii_strtod (s, &end);
  return end && *end == '\0' && isfinite (d);
}

static TlParamSpec *
parse_param (const char *file, xmlNode *n, const char *owner, GString *warnings, GError **error)
{
  static const char *const known[] = { "name", "type", "default", "min", "max", "choices", NULL };
  _tl_priv_xml_unknown_attrs (warnings, file, n, known, IGNORED);
  g_autoptr (GString) problem = g_string_new (NULL);
  TlParamSpec *s = g_new0 (TlParamSpec, 1);
  s->line = _tl_priv_xml_line (n);
  s->name = _tl_priv_xml_prop (n, "name");
  g_autofree char *type = _tl_priv_xml_prop (n, "type");
  s->dflt = _tl_priv_xml_prop (n, "default");
  s->min = _tl_priv_xml_prop (n, "min");
  s->max = _tl_priv_xml_prop (n, "max");
  g_autofree char *choices = _tl_priv_xml_prop (n, "choices");
  s->doc = _tl_priv_xml_text (n);

  if (!s->name || !valid_id (s->name, TRUE) || strchr (s->name, '-')) {
    _tl_priv_xml_fail (error, TL_ERROR_PARSE, file, n,
                       "<param> needs a name of lower-case letters, digits and '_' (got '%s')",
                       s->name ? s->name : "");
    goto fail;
  }
  s->type = param_type_from_name (type);
  if (!s->type) {
    _tl_priv_xml_fail (error, TL_ERROR_PARSE, file, n,
                       "parameter '%s': unknown type '%s' (int, float, bool, string, choice, path)",
                       s->name, type ? type : "");
    goto fail;
  }
  if ((s->min || s->max) && s->type != TL_PARAM_INT && s->type != TL_PARAM_FLOAT) {
    _tl_priv_xml_fail (error, TL_ERROR_PARSE, file, n,
                       "parameter '%s': min/max apply to int and float only", s->name);
    goto fail;
  }
  if ((s->min && !parse_number (s->type, s->min)) || (s->max && !parse_number (s->type, s->max))) {
    _tl_priv_xml_fail (error, TL_ERROR_PARSE, file, n, "parameter '%s': min/max is not a valid %s",
                       s->name, type);
    goto fail;
  }
  if (s->type == TL_PARAM_CHOICE) {
    if (!choices || !*choices) {
      _tl_priv_xml_fail (error, TL_ERROR_PARSE, file, n,
                         "parameter '%s': type choice needs choices=\"a,b,...\"", s->name);
      goto fail;
    }
    s->choices = g_strsplit (choices, ",", -1);
    for (char **c = s->choices; *c; c++)
      g_strstrip (*c);
  } else if (choices) {
    _tl_priv_xml_fail (error, TL_ERROR_PARSE, file, n,
                       "parameter '%s': choices apply to type choice only", s->name);
    goto fail;
  }
  if (s->dflt && s->type != TL_PARAM_PATH && !_tl_priv_param_check (s, owner, s->dflt, NULL, problem)) {
    _tl_priv_xml_fail (error, TL_ERROR_PARSE, file, n, "bad default: %s", problem->str);
    goto fail;
  }
  return s;
fail:
  param_spec_free (s);
  return NULL;
}

static TlComponentInfo *
parse_component (const char *file, xmlNode *n, TlPluginInfo *p, GString *warnings, GError **error)
{
  static const char *const known[] = { "kind", "name", NULL };
  static const char *const none[] = { NULL };
  _tl_priv_xml_unknown_attrs (warnings, file, n, known, IGNORED);
  TlComponentInfo *c = g_new0 (TlComponentInfo, 1);
  c->params = g_ptr_array_new_with_free_func (param_spec_free);
  c->plugin = p;
  c->line = _tl_priv_xml_line (n);
  g_autofree char *kind = _tl_priv_xml_prop (n, "kind");
  c->name = _tl_priv_xml_prop (n, "name");
  c->kind = tl_component_kind_from_name (kind);
  g_autoptr (GPtrArray) devices = g_ptr_array_new ();
  if (!c->kind) {
    _tl_priv_xml_fail (error, TL_ERROR_PARSE, file, n,
                       "<component> kind '%s' is not one of op, model, planner, dataset",
                       kind ? kind : "");
    goto fail;
  }
  if (!c->name || !valid_id (c->name, TRUE)) {
    _tl_priv_xml_fail (error, TL_ERROR_PARSE, file, n,
                       "<component> needs a name of lower-case letters, digits, '-' and '_'");
    goto fail;
  }
  c->full_name = g_strdup_printf ("%s.%s", p->id, c->name);
  for (xmlNode *k = n->children; k; k = k->next) {
    if (k->type != XML_ELEMENT_NODE || !_tl_priv_xml_is (k, TL_PLUGIN_NS, NULL))
      continue;
    if (_tl_priv_xml_is (k, NULL, "description")) {
      _tl_priv_xml_unknown_attrs (warnings, file, k, none, IGNORED);
      g_free (c->description);
      c->description = _tl_priv_xml_text (k);
    } else if (_tl_priv_xml_is (k, NULL, "device")) {
      _tl_priv_xml_unknown_attrs (warnings, file, k, none, IGNORED);
      char *d = _tl_priv_xml_text (k);
      if (!*d) {
        g_free (d);
        _tl_priv_xml_fail (error, TL_ERROR_PARSE, file, k, "empty <device>");
        goto fail;
      }
      g_ptr_array_add (devices, d);
    } else if (_tl_priv_xml_is (k, NULL, "param")) {
      TlParamSpec *s = parse_param (file, k, c->full_name, warnings, error);
      if (!s)
        goto fail;
      for (guint i = 0; i < c->params->len; i++)
        if (strcmp (((TlParamSpec *) g_ptr_array_index (c->params, i))->name, s->name) == 0) {
          _tl_priv_xml_fail (error, TL_ERROR_PARSE, file, k, "parameter '%s' is declared twice",
                             s->name);
          param_spec_free (s);
          goto fail;
        }
      g_ptr_array_add (c->params, s);
    } else {
      _tl_priv_xml_fail (error, TL_ERROR_PARSE, file, k, "unknown element <%s> in <component>",
                         (const char *) k->name);
      goto fail;
    }
  }
  if (devices->len == 0)
    g_ptr_array_add (devices, g_strdup ("cpu"));
  g_ptr_array_add (devices, NULL);
  c->devices = (char **) g_ptr_array_steal (devices, NULL);
  if (!c->description)
    c->description = g_strdup ("");
  return c;
fail:
  g_ptr_array_set_free_func (devices, g_free);
  component_free (c);
  return NULL;
}

/* Append the non-empty lines of `text` to `out` (char*). */
static void
take_lines (GPtrArray *out, const char *text)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    if (*lines[i])
      g_ptr_array_add (out, g_strdup (lines[i]));
}

/**
 * _tl_priv_manifest_parse:
 * @name: manifest path (also used in messages)
 * @data: (nullable): manifest bytes; NULL reads @name
 * @len: length of @data
 * @builtin: TRUE for the built-in plugin (no library attribute)
 * @error: return location for a #GError ("FILE:LINE: ...")
 *
 * Unknown attributes are not errors: each gives a line in the result's
 * warnings ("FILE:LINE: unknown attribute ...; ignored").
 *
 * Returns: (transfer full) (nullable): the plugin description, status OK.
 */
TlPluginInfo *
_tl_priv_manifest_parse (const char *name, const char *data, gsize len, gboolean builtin,
                         GError **error)
{
  g_autoptr (xmlDoc) doc = data ? _tl_priv_xml_read_memory (data, len, name, error)
                                : _tl_priv_xml_read_file (name, error);
  if (!doc)
    return NULL;
  xmlNode *root = xmlDocGetRootElement (doc);
  if (!_tl_priv_xml_is (root, TL_PLUGIN_NS, "plugin"))
    return _tl_priv_xml_fail (error, TL_ERROR_PARSE, name, root,
                              "the root element must be <plugin xmlns=\"%s\">", TL_PLUGIN_NS);
  static const char *const known[] = { "id", "version", "abi", "library", "license", NULL };
  static const char *const none[] = { NULL };
  static const char *const requires_known[] = { "feature", NULL };
  g_autoptr (GString) warnings = g_string_new (NULL);
  _tl_priv_xml_unknown_attrs (warnings, name, root, known, IGNORED);
  TlPluginInfo *p = plugin_info_new ();
  p->builtin = builtin;
  p->manifest_path = g_strdup (name);
  p->id = _tl_priv_xml_prop (root, "id");
  p->version = _tl_priv_xml_prop (root, "version");
  p->abi = _tl_priv_xml_prop (root, "abi");
  p->license = _tl_priv_xml_prop (root, "license");
  p->library = _tl_priv_xml_prop (root, "library");
  g_autoptr (GPtrArray) requires = g_ptr_array_new_with_free_func (g_free);

  if (!valid_id (p->id, FALSE)) {
    _tl_priv_xml_fail (error, TL_ERROR_PARSE, name, root,
                       "plugin id '%s' must be lower-case letters, digits and '-'",
                       p->id ? p->id : "");
    goto fail;
  }
  if (!valid_semver (p->version)) {
    _tl_priv_xml_fail (error, TL_ERROR_PARSE, name, root,
                       "plugin version '%s' is not a semantic version (MAJOR.MINOR.PATCH)",
                       p->version ? p->version : "");
    goto fail;
  }
  guint amaj = 0, amin = 0;
  char tail = 0;
  if (!p->abi || sscanf (p->abi, "%u.%u%c", &amaj, &amin, &tail) != 2) {
    _tl_priv_xml_fail (error, TL_ERROR_PARSE, name, root, "abi '%s' must look like \"1.0\"",
                       p->abi ? p->abi : "");
    goto fail;
  }
  if (!builtin && (!p->library || !*p->library || strchr (p->library, '/')
                   || strcmp (p->library, "..") == 0 || strcmp (p->library, ".") == 0
                   || has_control_chars (p->library))) {
    _tl_priv_xml_fail (error, TL_ERROR_PARSE, name, root,
                       "library=\"...\" must name the plugin's shared object (a file name, no '/' "
                       "or control characters)");
    goto fail;
  }
  if (!p->license)
    p->license = g_strdup ("");

  for (xmlNode *k = root->children; k; k = k->next) {
    if (k->type != XML_ELEMENT_NODE || !_tl_priv_xml_is (k, TL_PLUGIN_NS, NULL))
      continue;
    if (_tl_priv_xml_is (k, NULL, "description")) {
      _tl_priv_xml_unknown_attrs (warnings, name, k, none, IGNORED);
      g_free (p->description);
      p->description = _tl_priv_xml_text (k);
    } else if (_tl_priv_xml_is (k, NULL, "requires")) {
      _tl_priv_xml_unknown_attrs (warnings, name, k, requires_known, IGNORED);
      char *f = _tl_priv_xml_prop (k, "feature");
      if (!f || !*f) {
        g_free (f);
        _tl_priv_xml_fail (error, TL_ERROR_PARSE, name, k, "<requires> needs feature=\"...\"");
        goto fail;
      }
      g_ptr_array_add (requires, f);
    } else if (_tl_priv_xml_is (k, NULL, "component")) {
      TlComponentInfo *c = parse_component (name, k, p, warnings, error);
      if (!c)
        goto fail;
      for (guint i = 0; i < p->components->len; i++)
        if (strcmp (((TlComponentInfo *) g_ptr_array_index (p->components, i))->name, c->name) == 0) {
          _tl_priv_xml_fail (error, TL_ERROR_PARSE, name, k, "component '%s' is declared twice",
                             c->name);
          component_free (c);
          goto fail;
        }
      g_ptr_array_add (p->components, c);
    } else {
      _tl_priv_xml_fail (error, TL_ERROR_PARSE, name, k, "unknown element <%s> in <plugin>",
                         (const char *) k->name);
      goto fail;
    }
  }
  if (!builtin && p->components->len == 0) {
    _tl_priv_xml_fail (error, TL_ERROR_PARSE, name, root, "plugin '%s' declares no <component>",
                       p->id);
    goto fail;
  }
  if (!p->description)
    p->description = g_strdup ("");
  g_ptr_array_add (requires, NULL);
  p->requires = (char **) g_ptr_array_steal (requires, NULL);
  take_lines (p->warnings, warnings->str);
  return p;
fail:
  _tl_priv_plugin_info_free (p);
  return NULL;
}
