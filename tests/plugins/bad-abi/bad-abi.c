/* bad-abi.c — broken plugin: its descriptor claims ABI major 99. */
#include <tl/tl.h>

TL_PLUGIN_EXPORT const TlPluginDesc *tl_plugin_query (void);

static const TlPluginDesc desc = {
  .struct_size = sizeof (TlPluginDesc),
  .abi_major = 99,
  .abi_minor = 0,
  .id = "bad-abi",
  .version = "1.0.0",
  .components = NULL,
};

const TlPluginDesc *
tl_plugin_query (void)
{
  return &desc;
}
