/* no-table-init.c — broken plugin: its model table was written without
 * TL_TABLE_INIT, so its header is all zero. The registry must refuse it and
 * say how to start the table. */
#include <tl/tl.h>

static const TlModelDef model = { .create = NULL }; /* no TL_TABLE_INIT (TlModelDef) */

static const TlComponent components[] = {
  { TL_COMPONENT_MODEL, 0, "scale", &model },
  { 0, 0, NULL, NULL },
};

TL_PLUGIN_DEFINE (.id = "no-table-init", .version = "1.0.0", .license = "Apache-2.0",
                  .components = components)
