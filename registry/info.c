/* info.c — read-only accessors of TlPluginInfo, TlComponentInfo, TlParamSpec. */
#include "config.h"

#include <string.h>

#include "tl-private.h"
#include "registry-private.h"

/** tl_plugin_info_id: Returns: (transfer none): the plugin id. */
const char *
tl_plugin_info_id (const TlPluginInfo *p)
{
  g_return_val_if_fail (p != NULL, NULL);
  return p->id;
}

/** tl_plugin_info_version: Returns: (transfer none): the semantic version; "?" for a
 * manifest that could not be read (its skip reason says why). */
const char *
tl_plugin_info_version (const TlPluginInfo *p)
{
  g_return_val_if_fail (p != NULL, NULL);
  return p->version;
}

/** tl_plugin_info_license: Returns: (transfer none): the SPDX licence ("" if none). */
const char *
tl_plugin_info_license (const TlPluginInfo *p)
{
  g_return_val_if_fail (p != NULL, NULL);
  return p->license ? p->license : "";
}

/** tl_plugin_info_description: Returns: (transfer none): the description ("" if none). */
const char *
tl_plugin_info_description (const TlPluginInfo *p)
{
  g_return_val_if_fail (p != NULL, NULL);
  return p->description ? p->description : "";
}

/** tl_plugin_info_manifest_path: Returns: (transfer none): the manifest ("built-in" for tl). */
const char *
tl_plugin_info_manifest_path (const TlPluginInfo *p)
{
  g_return_val_if_fail (p != NULL, NULL);
  return p->manifest_path;
}

/** tl_plugin_info_library_path: Returns: (transfer none) (nullable): the resolved library. */
const char *
tl_plugin_info_library_path (const TlPluginInfo *p)
{
  g_return_val_if_fail (p != NULL, NULL);
  return p->library_path;
}

/** tl_plugin_info_abi: Returns: (transfer none): the ABI the manifest declares, e.g. "1.0". */
const char *
tl_plugin_info_abi (const TlPluginInfo *p)
{
  g_return_val_if_fail (p != NULL, NULL);
  return p->abi;
}

/** tl_plugin_info_status: Returns: the plugin's status in its registry. */
TlPluginStatus
tl_plugin_info_status (const TlPluginInfo *p)
{
  g_return_val_if_fail (p != NULL, TL_PLUGIN_STATUS_SKIPPED);
  if (!p->allowed)
    return TL_PLUGIN_STATUS_NOT_ALLOWED;
  if (p->skip_reason)
    return TL_PLUGIN_STATUS_SKIPPED;
  if (p->shadowed)
    return TL_PLUGIN_STATUS_SHADOWED;
  if (p->loaded)
    return TL_PLUGIN_STATUS_LOADED;
  return TL_PLUGIN_STATUS_OK;
}

/** tl_plugin_status_name: Returns: (transfer none): "ok", "loaded", "skipped", "shadowed", "not-allowed". */
const char *
tl_plugin_status_name (TlPluginStatus s)
{
  switch (s) {
  case TL_PLUGIN_STATUS_OK:
    return "ok";
  case TL_PLUGIN_STATUS_LOADED:
    return "loaded";
  case TL_PLUGIN_STATUS_SKIPPED:
    return "skipped";
  case TL_PLUGIN_STATUS_SHADOWED:
    return "shadowed";
  case TL_PLUGIN_STATUS_NOT_ALLOWED:
    return "not-allowed";
  default:
    return "unknown";
  }
}

/** tl_plugin_info_skip_reason: Returns: (transfer none) (nullable): why the plugin was skipped. */
const char *
tl_plugin_info_skip_reason (const TlPluginInfo *p)
{
  g_return_val_if_fail (p != NULL, NULL);
  return p->skip_reason;
}

/** tl_plugin_info_requires: Returns: (transfer none): NULL-terminated required host features. */
const char *const *
tl_plugin_info_requires (const TlPluginInfo *p)
{
  static const char *const none[] = { NULL };
  g_return_val_if_fail (p != NULL, NULL);
  return p->requires ? (const char *const *) p->requires : none;
}

/** tl_plugin_info_n_components: Returns: the number of components the manifest declares. */
guint
tl_plugin_info_n_components (const TlPluginInfo *p)
{
  g_return_val_if_fail (p != NULL, 0);
  return p->components->len;
}

/** tl_plugin_info_component: Returns: (transfer none) (nullable): the i-th component. */
const TlComponentInfo *
tl_plugin_info_component (const TlPluginInfo *p, guint i)
{
  g_return_val_if_fail (p != NULL, NULL);
  return i < p->components->len ? g_ptr_array_index (p->components, i) : NULL;
}

/** tl_component_info_kind: Returns: the component's kind. */
TlComponentKind
tl_component_info_kind (const TlComponentInfo *c)
{
  g_return_val_if_fail (c != NULL, TL_COMPONENT_NONE);
  return c->kind;
}

/** tl_component_info_name: Returns: (transfer none): the name within its plugin. */
const char *
tl_component_info_name (const TlComponentInfo *c)
{
  g_return_val_if_fail (c != NULL, NULL);
  return c->name;
}

/** tl_component_info_full_name: Returns: (transfer none): "plugin.component". */
const char *
tl_component_info_full_name (const TlComponentInfo *c)
{
  g_return_val_if_fail (c != NULL, NULL);
  return c->full_name;
}

/** tl_component_info_description: Returns: (transfer none): the description ("" if none). */
const char *
tl_component_info_description (const TlComponentInfo *c)
{
  g_return_val_if_fail (c != NULL, NULL);
  return c->description;
}

/** tl_component_info_plugin: Returns: (transfer none): the plugin declaring @c. */
const TlPluginInfo *
tl_component_info_plugin (const TlComponentInfo *c)
{
  g_return_val_if_fail (c != NULL, NULL);
  return c->plugin;
}

/** tl_component_info_devices: Returns: (transfer none): NULL-terminated devices ("cpu" when none declared). */
const char *const *
tl_component_info_devices (const TlComponentInfo *c)
{
  g_return_val_if_fail (c != NULL, NULL);
  return (const char *const *) c->devices;
}

/** tl_component_info_n_params: Returns: the number of declared parameters. */
guint
tl_component_info_n_params (const TlComponentInfo *c)
{
  g_return_val_if_fail (c != NULL, 0);
  return c->params->len;
}

/** tl_component_info_param: Returns: (transfer none) (nullable): the i-th declared parameter. */
const TlParamSpec *
tl_component_info_param (const TlComponentInfo *c, guint i)
{
  g_return_val_if_fail (c != NULL, NULL);
  return i < c->params->len ? g_ptr_array_index (c->params, i) : NULL;
}

/** tl_component_info_find_param: Returns: (transfer none) (nullable): the parameter called @name. */
const TlParamSpec *
tl_component_info_find_param (const TlComponentInfo *c, const char *name)
{
  g_return_val_if_fail (c != NULL, NULL);
  for (guint i = 0; name && i < c->params->len; i++) {
    const TlParamSpec *s = g_ptr_array_index (c->params, i);
    if (strcmp (s->name, name) == 0)
      return s;
  }
  return NULL;
}

/** tl_param_spec_name: Returns: (transfer none): the parameter name. */
const char *
tl_param_spec_name (const TlParamSpec *s)
{
  g_return_val_if_fail (s != NULL, NULL);
  return s->name;
}

/** tl_param_spec_type: Returns: the parameter type. */
TlParamType
tl_param_spec_type (const TlParamSpec *s)
{
  g_return_val_if_fail (s != NULL, 0);
  return s->type;
}

/** tl_param_spec_type_name: Returns: (transfer none): "int", "float", "bool", "string", "choice" or "path". */
const char *
tl_param_spec_type_name (const TlParamSpec *s)
{
  g_return_val_if_fail (s != NULL, NULL);
  return _tl_priv_param_type_name (s->type);
}

/** tl_param_spec_default: Returns: (transfer none) (nullable): the default as text; NULL: required. */
const char *
tl_param_spec_default (const TlParamSpec *s)
{
  g_return_val_if_fail (s != NULL, NULL);
  return s->dflt;
}

/** tl_param_spec_min: Returns: (transfer none) (nullable): the inclusive minimum as text. */
const char *
tl_param_spec_min (const TlParamSpec *s)
{
  g_return_val_if_fail (s != NULL, NULL);
  return s->min;
}

/** tl_param_spec_max: Returns: (transfer none) (nullable): the inclusive maximum as text. */
const char *
tl_param_spec_max (const TlParamSpec *s)
{
  g_return_val_if_fail (s != NULL, NULL);
  return s->max;
}

/** tl_param_spec_choices: Returns: (transfer none) (nullable): NULL-terminated choices (type choice). */
const char *const *
tl_param_spec_choices (const TlParamSpec *s)
{
  g_return_val_if_fail (s != NULL, NULL);
  return (const char *const *) s->choices;
}

/** tl_param_spec_doc: Returns: (transfer none): the documentation text ("" if none). */
const char *
tl_param_spec_doc (const TlParamSpec *s)
{
  g_return_val_if_fail (s != NULL, NULL);
  return s->doc ? s->doc : "";
}
