/* builtin.c — the built-in plugin "tl": datasets and models implemented
 * inside libtl-1, registered through the same descriptor and component
 * tables as any plugin. Its manifest is core/builtin/tl.tlplugin.xml.
 */
#include "config.h"

#include "tl-private.h"
#include "builtin/tl-builtin.h"

static const TlComponent builtin_components[] = {
  { TL_COMPONENT_DATASET, 0, "csv", &_tl_priv_csv_dataset },
  { TL_COMPONENT_DATASET, 0, "idx", &_tl_priv_idx_dataset },
  { TL_COMPONENT_DATASET, 0, "safetensors", &_tl_priv_safetensors_dataset },
  { TL_COMPONENT_DATASET, 0, "synthetic", &_tl_priv_synthetic_dataset },
  { TL_COMPONENT_MODEL, 0, "mlp", &_tl_priv_mlp_model },
  { TL_COMPONENT_MODEL, 0, "convnet", &_tl_priv_convnet_model },
  { TL_COMPONENT_MODEL, 0, "logreg", &_tl_priv_logreg_model },
  { TL_COMPONENT_NONE, 0, NULL, NULL }
};

static const TlPluginDesc builtin_desc = {
  TL_TABLE_INIT (TlPluginDesc),
  .min_host_minor = 0,
  .id = "tl",
  .version = PACKAGE_VERSION,
  .license = "Apache-2.0",
  .description = "Built-in datasets (CSV/TSV, IDX, safetensors, synthetic) and models (MLP, "
                 "convnet, logistic regression)",
  .components = builtin_components,
};

/**
 * _tl_priv_builtin_plugin:
 *
 * Returns: (transfer none): the descriptor of the built-in plugin "tl".
 */
const TlPluginDesc *
_tl_priv_builtin_plugin (void)
{
  return &builtin_desc;
}
