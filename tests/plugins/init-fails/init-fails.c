/* init-fails.c — broken plugin: loads fine, but its init reports an error. */
#include <tl/tl.h>

static const TlModelDef model = { TL_TABLE_INIT (TlModelDef) };

static const TlComponent components[] = {
  { TL_COMPONENT_MODEL, 0, "m", &model },
  { 0, 0, NULL, NULL },
};

static gboolean
init_fails (GError **error)
{
  g_set_error (error, TL_ERROR, TL_ERROR_FAILED, "no licence server reachable");
  return FALSE;
}

TL_PLUGIN_DEFINE (.id = "init-fails", .version = "1.0.0", .license = "Apache-2.0",
                  .components = components, .init = init_fails)
