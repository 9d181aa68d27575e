/* table.c — the kernel table of the built-in ops: op name -> device kernel.
 * Generated from TL_CUDA_KERNEL_OPS (kernels.h), the one list of the ops
 * the CUDA backend runs. */
#include "config.h"

#include "kernels.h"

#define TL_CUDA_KERNEL_ENTRY_(name, id) { name, _tl_cuda_k_##id },

const TlCudaKernelEntry _tl_cuda_kernel_table[] = {
  TL_CUDA_KERNEL_OPS (TL_CUDA_KERNEL_ENTRY_)
  { NULL, NULL },
};
