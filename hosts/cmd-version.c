/* cmd-version.c — `tlhost version`: versions, ABI, features built. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tlhost-cmds.h"
#include "tlhost-util.h"

#ifdef TL_HAVE_CUDA
/* "1 device", "2 devices", "no device: REASON" or "not usable: REASON" for
 * the features line: a build with the CUDA backend says whether this
 * machine can use it. The last index tl accepts, cuda:1023, is refused
 * with the number of devices ("cuda:1023 does not exist (N CUDA
 * devices)") without making any of them current (no CUDA context). */
static char *
cuda_availability (void)
{
  g_autoptr (GError) error = NULL;
  if (tl_device_available ("cuda:1023", &error))
    return g_strdup ("1024 devices");
  const char *why = error->message;
  if (g_str_has_prefix (why, "device \"cuda:1023\": "))
    why += strlen ("device \"cuda:1023\": ");
  int n = 0;
  if (sscanf (why, "cuda:1023 does not exist (%d", &n) == 1 && n > 0)
    return g_strdup_printf ("%d device%s", n, n == 1 ? "" : "s");
  if (g_str_has_prefix (why, "no CUDA device: "))
    return g_strdup_printf ("no device: %s", why + strlen ("no CUDA device: "));
  return g_strdup_printf ("not usable: %s", why);
}
#endif

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
  g_autofree char *cuda = cuda_availability ();
  printf (" cuda (%s)", cuda);
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
