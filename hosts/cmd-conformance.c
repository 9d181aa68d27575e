/* cmd-conformance.c — `tlhost conformance [--fatal-warnings] [--timeout S]
 * PLUGIN-ID-or-PATH...`: the plugin conformance suite (tests/conformance/,
 * linked into tlhost as a convenience library). */
#include "config.h"

#include "tlhost-cmds.h"
#include "conformance.h"

int
tlhost_cmd_conformance (int argc, char **argv)
{
  return tlc_main (argc, argv);
}
