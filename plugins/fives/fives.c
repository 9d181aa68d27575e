/* fives.c — the fives plugin descriptor: FIVES (Feature Interaction Via
 * Edge Search) with its baselines and a planted-interaction data generator.
 * Only tl_plugin_query is exported. */
#include <tl/tl.h>

#include "fives-private.h"

static const TlComponent components[] = {
  { TL_COMPONENT_MODEL, 0, "fives", &fives_model_def },
  { TL_COMPONENT_MODEL, 0, "lr", &fives_lr_def },
  { TL_COMPONENT_MODEL, 0, "fm", &fives_fm_def },
  { TL_COMPONENT_MODEL, 0, "mlp", &fives_mlp_def },
  { TL_COMPONENT_DATASET, 0, "planted", &fives_planted_def },
  { 0, 0, NULL, NULL },
};

TL_PLUGIN_DEFINE (.id = "fives", .version = "1.0.0", .license = "Apache-2.0",
                  .description = "Feature Interaction Via Edge Search (FIVES) for tabular data",
                  .components = components)
