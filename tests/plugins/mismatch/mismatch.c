/* mismatch.c — broken plugin: the descriptor's component is not the one its
 * manifest declares ("other" vs "scale"). */
#include <tl/tl.h>

static const TlModelDef model = { TL_TABLE_INIT (TlModelDef) };

static const TlComponent components[] = {
  { TL_COMPONENT_MODEL, 0, "other", &model },
  { 0, 0, NULL, NULL },
};

TL_PLUGIN_DEFINE (.id = "mismatch", .version = "1.0.0", .license = "Apache-2.0",
                  .components = components)
