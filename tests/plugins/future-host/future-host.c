/* future-host.c — broken plugin: needs a host of ABI minor 7 (min_host_minor). */
#include <tl/tl.h>

static const TlModelDef model = { TL_TABLE_INIT (TlModelDef) };

static const TlComponent components[] = {
  { TL_COMPONENT_MODEL, 0, "m", &model },
  { 0, 0, NULL, NULL },
};

TL_PLUGIN_DEFINE (.id = "future-host", .version = "1.0.0", .license = "Apache-2.0",
                  .min_host_minor = 7, .components = components)
