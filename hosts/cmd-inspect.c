/* cmd-inspect.c — `tlhost inspect NAME [--json]`: a plugin (by id) or a
 * component (by full name) with every parameter, in the spirit of gst-inspect. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tlhost-cmds.h"
#include "tlhost-util.h"

static void
param_text (const TlParamSpec *s)
{
  printf ("    %-18s %-7s", tl_param_spec_name (s), tl_param_spec_type_name (s));
  if (tl_param_spec_default (s))
    printf (" default: %s", tl_param_spec_default (s));
  else
    printf (" (required)");
  if (tl_param_spec_min (s) || tl_param_spec_max (s))
    printf ("  range: [%s, %s]", tl_param_spec_min (s) ? tl_param_spec_min (s) : "-inf",
            tl_param_spec_max (s) ? tl_param_spec_max (s) : "inf");
  if (tl_param_spec_choices (s)) {
    g_autofree char *c = g_strjoinv ("|", (char **) tl_param_spec_choices (s));
    printf ("  choices: %s", c);
  }
  printf ("\n");
  if (*tl_param_spec_doc (s))
    printf ("        %s\n", tl_param_spec_doc (s));
}

static void
component_text (const TlComponentInfo *c)
{
  printf ("  %s %s\n", tl_component_kind_name (tl_component_info_kind (c)), tl_component_info_full_name (c));
  if (*tl_component_info_description (c))
    printf ("    %s\n", tl_component_info_description (c));
  g_autofree char *dev = g_strjoinv (", ", (char **) tl_component_info_devices (c));
  printf ("    devices: %s\n", dev);
  if (tl_component_info_n_params (c) == 0)
    printf ("    parameters: none\n");
  else
    printf ("    parameters:\n");
  for (guint i = 0; i < tl_component_info_n_params (c); i++)
    param_text (tl_component_info_param (c, i));
}

static void
plugin_text (const TlPluginInfo *p, const TlComponentInfo *only)
{
  printf ("Plugin %s %s\n", tl_plugin_info_id (p), tl_plugin_info_version (p));
  if (*tl_plugin_info_description (p))
    printf ("  description: %s\n", tl_plugin_info_description (p));
  printf ("  manifest:    %s\n", tl_plugin_info_manifest_path (p));
  printf ("  library:     %s\n", tl_plugin_info_library_path (p) ? tl_plugin_info_library_path (p)
                                                                 : "(built into libtl-1)");
  printf ("  ABI:         %s\n", tl_plugin_info_abi (p));
  printf ("  license:     %s\n", *tl_plugin_info_license (p) ? tl_plugin_info_license (p) : "(none)");
  printf ("  status:      ");
  tlhost_print_status (p);
  const char *const *req = tl_plugin_info_requires (p);
  if (req && *req) {
    g_autofree char *r = g_strjoinv (", ", (char **) req);
    printf ("  requires:    %s\n", r);
  }
  printf ("\n");
  for (guint i = 0; i < tl_plugin_info_n_components (p); i++) {
    const TlComponentInfo *c = tl_plugin_info_component (p, i);
    if (!only || only == c) {
      component_text (c);
      printf ("\n");
    }
  }
}

static void
param_json (GString *s, const TlParamSpec *p)
{
  g_string_append_c (s, '{');
  tlhost_json_member (s, "name", tl_param_spec_name (p));
  tlhost_json_member (s, "type", tl_param_spec_type_name (p));
  tlhost_json_member (s, "default", tl_param_spec_default (p));
  tlhost_json_member (s, "min", tl_param_spec_min (p));
  tlhost_json_member (s, "max", tl_param_spec_max (p));
  tlhost_json_key (s, "choices");
  tlhost_json_strv (s, tl_param_spec_choices (p));
  tlhost_json_member (s, "doc", tl_param_spec_doc (p));
  g_string_append_c (s, '}');
}

static void
component_json (GString *s, const TlComponentInfo *c)
{
  static const char *const no_devices[] = { NULL };
  const char *const *d = tl_component_info_devices (c);
  g_string_append_c (s, '{');
  tlhost_json_member (s, "name", tl_component_info_full_name (c));
  tlhost_json_member (s, "kind", tl_component_kind_name (tl_component_info_kind (c)));
  tlhost_json_member (s, "description", tl_component_info_description (c));
  tlhost_json_key (s, "devices");
  tlhost_json_strv (s, d ? d : no_devices);
  tlhost_json_key (s, "params");
  g_string_append_c (s, '[');
  for (guint i = 0; i < tl_component_info_n_params (c); i++) {
    if (i)
      g_string_append (s, ", ");
    param_json (s, tl_component_info_param (c, i));
  }
  g_string_append (s, "]}");
}

static void
plugin_json (const TlPluginInfo *p, const TlComponentInfo *only)
{
  g_autoptr (GString) s = g_string_new ("{");
  tlhost_json_member (s, "id", tl_plugin_info_id (p));
  tlhost_json_member (s, "version", tl_plugin_info_version (p));
  tlhost_json_member (s, "description", tl_plugin_info_description (p));
  tlhost_json_member (s, "manifest", tl_plugin_info_manifest_path (p));
  tlhost_json_member (s, "library", tl_plugin_info_library_path (p));
  tlhost_json_member (s, "abi", tl_plugin_info_abi (p));
  tlhost_json_member (s, "license", tl_plugin_info_license (p));
  tlhost_json_member (s, "status", tl_plugin_status_name (tl_plugin_info_status (p)));
  tlhost_json_member (s, "skip_reason", tl_plugin_info_skip_reason (p));
  tlhost_json_key (s, "components");
  g_string_append_c (s, '[');
  gboolean first = TRUE;
  for (guint i = 0; i < tl_plugin_info_n_components (p); i++) {
    const TlComponentInfo *c = tl_plugin_info_component (p, i);
    if (only && only != c)
      continue;
    if (!first)
      g_string_append (s, ", ");
    first = FALSE;
    component_json (s, c);
  }
  g_string_append (s, "]}\n");
  fputs (s->str, stdout);
}

/* NAME is neither a plugin id nor a component: a name without a '.' may
 * have meant either ("unknown plugin or component 'x' (see ...)"). */
static void
report_unknown (const char *name, const GError *err)
{
  static const char prefix[] = "unknown component '";
  if (!strchr (name, '.') && err->code == TL_ERROR_NOT_FOUND && g_str_has_prefix (err->message, prefix))
    tlhost_error ("inspect: unknown plugin or component '%s", err->message + strlen (prefix));
  else
    tlhost_error ("inspect: %s", err->message);
}

int
tlhost_cmd_inspect (int argc, char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL }
  };
  if (!tlhost_parse_options ("inspect", "NAME",
                             "Describe a plugin (by id) or a component (by full name, e.g. tl.mlp): "
                             "paths, ABI, licence, status, components and every parameter.",
                             entries, &argc, &argv))
    return 2;
  if (argc != 2) {
    tlhost_error ("inspect: expected one NAME (a plugin id or a component name)");
    return 2;
  }
  TlRegistry *r = tlhost_open_registry (json);
  if (!r)
    return 1;
  const char *name = argv[1];
  const TlPluginInfo *p = tl_registry_find_plugin (r, name);
  const TlComponentInfo *c = NULL;
  int status = 0;
  if (!p) {
    g_autoptr (GError) err = NULL;
    c = tl_registry_find_component (r, name, &err);
    if (!c && strchr (name, '.')) {
      /* a component of a skipped plugin: still describe it */
      g_autofree char *pid = g_strndup (name, (gsize) (strchr (name, '.') - name));
      const TlPluginInfo *q = tl_registry_find_plugin (r, pid);
      for (guint i = 0; q && i < tl_plugin_info_n_components (q) && !c; i++)
        if (strcmp (tl_component_info_full_name (tl_plugin_info_component (q, i)), name) == 0)
          c = tl_plugin_info_component (q, i);
    }
    if (!c) {
      report_unknown (name, err);
      status = 2;
    } else {
      p = tl_component_info_plugin (c);
    }
  }
  if (p && json)
    plugin_json (p, c);
  else if (p)
    plugin_text (p, c);
  tl_registry_free (r);
  return status;
}
