/* dapple.c — the dapple plugin descriptor: DAPPLE, a pipelined data
 * parallel planner (arXiv:2007.01045), with GPipe, PipeDream and data
 * parallel baselines and a discrete-event pipeline simulator. Only
 * tl_plugin_query is exported. */
#include "dapple-private.h"

static const TlComponent components[] = {
  { TL_COMPONENT_PLANNER, 0, "planner", &dapple_planner_def },
  { 0, 0, NULL, NULL },
};

TL_PLUGIN_DEFINE (.id = "dapple", .version = "1.0.0", .license = "Apache-2.0",
                  .description = "DAPPLE: pipelined data parallel planning with GPipe, PipeDream and data parallel baselines",
                  .components = components)
