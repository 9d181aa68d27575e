/* cmd-version.c — `tlhost version`: versions, ABI, features built. */
#include "config.h"

#include <stdio.h>

#include "tlhost-cmds.h"
#include "tlhost-util.h"

int
tlhost_cmd_version (int argc, char **argv)
{
  if (!tlhost_parse_options ("version", "", "Print the tl version, plugin ABI and features built.",
                             NULL, &argc, &argv))
    return 2;
  if (argc > 1) {
    g_autofree char *shown = _tl_escape_short (argv[1]);
    tlhost_error ("version: unexpected argument '%s'", shown);
    return 2;
  }
  printf ("tlhost %s\n", PACKAGE_VERSION);
  printf ("plugin ABI %d.%d\n", TL_ABI_MAJOR, TL_ABI_MINOR);
  printf ("features:");
#ifdef _OPENMP
  printf (" openmp");
#endif
#ifdef TL_HAVE_CUDA
  printf (" cuda");
#endif
#ifdef TL_HAVE_MPI
  printf (" mpi");
#endif
#ifdef TL_HAVE_NCCL
  printf (" nccl");
#endif
  printf ("\n");
  return 0;
}
