/* no-entry.c — broken plugin: exports no tl_plugin_query. */
#include <tl/tl.h>

TL_PLUGIN_EXPORT int tl_plugin_kwery (void);

int
tl_plugin_kwery (void)
{
  return 42;
}
