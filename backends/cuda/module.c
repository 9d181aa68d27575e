/* module.c — the entry point of the CUDA backend module: the TlBackend
 * table libtl gets from tl_backend_query() (see core/backend-private.h).
 *
 * The kernel table, the optimizer update kernels and the NCCL extension
 * come from other parts of the module (kernels/, comm-nccl.c). They are
 * referenced weakly so that the module links and loads while a part is not
 * built yet: a missing kernel table means "no op has a CUDA kernel" (the
 * executor then names every op), a missing update kernel makes the trainer
 * report that the optimizer has no CUDA update.
 */
#include "config.h"

#include <string.h>

#include <gmodule.h>

#include "cuda-private.h"

#pragma weak _tl_cuda_kernel_table
#pragma weak _tl_cuda_sgd_update
#pragma weak _tl_cuda_adam_update
#pragma weak _tl_cuda_sgd_update_full
#pragma weak _tl_cuda_lamb_update
#pragma weak _tl_cuda_nccl_extension

static TlBackendKernelFn
lookup_kernel (const char *op_name)
{
  if (!op_name || !_tl_cuda_kernel_table)
    return NULL;
  for (const TlCudaKernelEntry *e = _tl_cuda_kernel_table; e->op_name; e++)
    if (strcmp (e->op_name, op_name) == 0)
      return e->fn;
  return NULL;
}

static gboolean
set_device (int index, GError **error)
{
  return _tl_cuda_set_device (index, error);
}

static void *
current_stream (void)
{
  return _tl_cuda_stream ();
}

static TlBackendOptim optim_ext = {
  .abi = TL_BACKEND_ABI,
  .axpy = _tl_cuda_axpy,
  .scale = _tl_cuda_scale,
  .sumsq_multi = _tl_cuda_sumsq_multi,
};

static const TlBackendBlas blas_ext = {
  .abi = TL_BACKEND_ABI,
  .gemm = _tl_cuda_gemm,
};

static const void *
get_extension (const char *id)
{
  if (!id)
    return NULL;
  if (strcmp (id, TL_BACKEND_EXT_BLAS) == 0)
    return &blas_ext;
  if (strcmp (id, TL_BACKEND_EXT_OPTIM) == 0) {
    optim_ext.sgd_update = _tl_cuda_sgd_update ? _tl_cuda_sgd_update : NULL;
    optim_ext.adam_update = _tl_cuda_adam_update ? _tl_cuda_adam_update : NULL;
    optim_ext.sgd_update_full = _tl_cuda_sgd_update_full ? _tl_cuda_sgd_update_full : NULL;
    optim_ext.lamb_update = _tl_cuda_lamb_update ? _tl_cuda_lamb_update : NULL;
    return &optim_ext;
  }
  if (strcmp (id, TL_BACKEND_EXT_NCCL) == 0)
    return _tl_cuda_nccl_extension ? _tl_cuda_nccl_extension () : NULL;
  return NULL;
}

static const TlBackend cuda_backend = {
  .abi = TL_BACKEND_ABI,
  .name = "cuda",
  .device_count = _tl_cuda_device_count,
  .set_device = set_device,
  .describe = _tl_cuda_describe,
  .alloc = _tl_cuda_alloc,
  .free = _tl_cuda_free,
  .mem_stats = _tl_cuda_mem_stats,
  .empty_cache = _tl_cuda_empty_cache,
  .memcpy = _tl_cuda_memcpy,
  .memset_zero = _tl_cuda_memset_zero,
  .synchronize = _tl_cuda_synchronize,
  .lookup_kernel = lookup_kernel,
  .current_stream = current_stream,
  .graph_begin = _tl_cuda_graph_begin,
  .graph_end = _tl_cuda_graph_end,
  .graph_launch = _tl_cuda_graph_launch,
  .graph_free = _tl_cuda_graph_free,
  .get_extension = get_extension,
};

/* The only exported symbol of the module. */
G_MODULE_EXPORT const TlBackend *tl_backend_query (void);

const TlBackend *
tl_backend_query (void)
{
  return &cuda_backend;
}
