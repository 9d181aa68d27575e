/* crash.c — broken plugin: its entry point crashes (SIGSEGV). */
#include <signal.h>
#include <tl/tl.h>

TL_PLUGIN_EXPORT const TlPluginDesc *tl_plugin_query (void);

const TlPluginDesc *
tl_plugin_query (void)
{
  raise (SIGSEGV);
  return NULL;
}
