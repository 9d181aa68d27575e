/* cmd-list.c — `tlhost list [--json] [--all]`: plugins, versions, status,
 * skip reasons, components by kind. */
#include "config.h"

#include <stdio.h>

#include "tlhost-cmds.h"
#include "tlhost-util.h"

static gboolean
shown (const TlPluginInfo *p, gboolean all)
{
  TlPluginStatus s = tl_plugin_info_status (p);
  return all || (s != TL_PLUGIN_STATUS_SHADOWED && s != TL_PLUGIN_STATUS_NOT_ALLOWED);
}

static void
list_text (const TlRegistry *r, gboolean all)
{
  for (guint i = 0; i < tl_registry_n_plugins (r); i++) {
    const TlPluginInfo *p = tl_registry_plugin (r, i);
    if (!shown (p, all))
      continue;
    printf ("%-20s %-10s ", tl_plugin_info_id (p), tl_plugin_info_version (p));
    tlhost_print_status (p);
    for (int k = TL_COMPONENT_OP; k <= TL_COMPONENT_DATASET; k++) {
      g_autoptr (GString) names = g_string_new (NULL);
      for (guint j = 0; j < tl_plugin_info_n_components (p); j++) {
        const TlComponentInfo *c = tl_plugin_info_component (p, j);
        if ((int) tl_component_info_kind (c) == k)
          g_string_append_printf (names, "%s%s", names->len ? ", " : "", tl_component_info_full_name (c));
      }
      if (names->len)
        printf ("    %-8s %s\n", tl_component_kind_name ((TlComponentKind) k), names->str);
    }
  }
}

static void
list_json (const TlRegistry *r, gboolean all)
{
  g_autoptr (GString) s = g_string_new ("[");
  gboolean first = TRUE;
  for (guint i = 0; i < tl_registry_n_plugins (r); i++) {
    const TlPluginInfo *p = tl_registry_plugin (r, i);
    if (!shown (p, all))
      continue;
    g_string_append (s, first ? "\n  {" : ",\n  {");
    first = FALSE;
    tlhost_json_member (s, "id", tl_plugin_info_id (p));
    tlhost_json_member (s, "version", tl_plugin_info_version (p));
    tlhost_json_member (s, "status", tl_plugin_status_name (tl_plugin_info_status (p)));
    tlhost_json_member (s, "skip_reason", tl_plugin_info_skip_reason (p));
    tlhost_json_member (s, "manifest", tl_plugin_info_manifest_path (p));
    tlhost_json_member (s, "library", tl_plugin_info_library_path (p));
    tlhost_json_key (s, "components");
    g_string_append_c (s, '[');
    for (guint j = 0; j < tl_plugin_info_n_components (p); j++) {
      const TlComponentInfo *c = tl_plugin_info_component (p, j);
      g_string_append (s, j ? ", {" : "{");
      tlhost_json_member (s, "name", tl_component_info_full_name (c));
      tlhost_json_member (s, "kind", tl_component_kind_name (tl_component_info_kind (c)));
      g_string_append_c (s, '}');
    }
    g_string_append (s, "]}");
  }
  g_string_append (s, first ? "]\n" : "\n]\n");
  fputs (s->str, stdout);
}

int
tlhost_cmd_list (int argc, char **argv)
{
  gboolean json = FALSE, all = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { "all", 'a', 0, G_OPTION_ARG_NONE, &all, "Also list shadowed and not-allowed plugins", NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL }
  };
  if (!tlhost_parse_options ("list", "", "List plugins (search path: $TL_PLUGIN_PATH, then the system "
                             "plugin directory), their status and components.",
                             entries, &argc, &argv))
    return 2;
  if (argc > 1) {
    g_autofree char *shown = _tl_escape_short (argv[1]);
    tlhost_error ("list: unexpected argument '%s'", shown);
    return 2;
  }
  TlRegistry *r = tlhost_open_registry (json);
  if (!r)
    return 1;
  if (json)
    list_json (r, all);
  else
    list_text (r, all);
  tl_registry_free (r);
  return 0;
}
