/* codegen-cuda.c — CUDA C source for a fused pattern (see README.md).
 * Placeholder until the generator lands: returns NULL (the caller falls back
 * to the CPU interpreter / unfused execution). */
#include "fusion-private.h"

/**
 * fusion_codegen_cuda:
 * @p: an analysed program
 * @kernel_name: the __global__ function's name
 *
 * Returns: (transfer full) (nullable): CUDA C source, or NULL when the
 * pattern cannot be generated.
 */
char *
fusion_codegen_cuda (const FusionProgram *p, const char *kernel_name)
{
  (void) p;
  (void) kernel_name;
  return NULL;
}
