/* hang.c — broken plugin: its entry point never returns. */
#include <unistd.h>
#include <tl/tl.h>

TL_PLUGIN_EXPORT const TlPluginDesc *tl_plugin_query (void);

const TlPluginDesc *
tl_plugin_query (void)
{
  for (;;)
    pause ();
  return NULL;
}
