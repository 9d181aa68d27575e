/* missing-dep.c — broken plugin: needs libtl-test-gone-absent.so (the
 * SONAME of libtl-test-gone), which no directory holds at run time. */
#include <tl/tl.h>

int tl_test_gone_value (void);

static const TlModelDef model = { TL_TABLE_INIT (TlModelDef) };

static const TlComponent components[] = {
  { TL_COMPONENT_MODEL, 0, "model", &model },
  { 0, 0, NULL, NULL },
};

TL_PLUGIN_EXPORT const TlPluginDesc *tl_plugin_query (void);

static const TlPluginDesc desc = {
  TL_TABLE_INIT (TlPluginDesc), .id = "missing-dep", .version = "1.0.0", .components = components
};

const TlPluginDesc *
tl_plugin_query (void)
{
  return tl_test_gone_value () == 7 ? &desc : NULL;
}
