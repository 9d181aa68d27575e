/* launch-cuda.c — running a fused group on the GPU: the PTX of
 * fusion_cuda_ptx() is loaded into the calling thread's current CUDA context
 * and launched on the stream the host hands to the op (TL_OP_EXT_CUDA).
 *
 * The driver API is resolved with dlopen ("libcuda.so.1"), like NVRTC, so the
 * plugin has no link-time CUDA dependency and loads on hosts without a
 * driver; there the CUDA path reports TL_ERROR_UNSUPPORTED. The host's CUDA
 * backend (cudart) makes the device's primary context current before it runs
 * an op; modules are loaded per (context, pattern) and kept for the process. */
#include "fusion-private.h"

#ifdef FUSION_CUDA
#include <dlfcn.h>

typedef int CuResult;
typedef void *CuContext;
typedef void *CuModule;
typedef void *CuFunction;
typedef int CuDevice;

#define CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT 16
#define CU_JIT_ERROR_LOG_BUFFER 5
#define CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES 6
#define JIT_LOG_BYTES 4096

static struct {
  gsize init;
  CuResult (*get_error_string) (CuResult, const char **);
  CuResult (*ctx_get_current) (CuContext *);
  CuResult (*ctx_get_device) (CuDevice *);
  CuResult (*device_get_attribute) (int *, int, CuDevice);
  CuResult (*module_load_data_ex) (CuModule *, const void *, unsigned, int *, void **);
  CuResult (*module_unload) (CuModule);
  CuResult (*module_get_function) (CuFunction *, CuModule, const char *);
  CuResult (*launch_kernel) (CuFunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                             void *, void **, void **);
} cu;

static gboolean
cu_load (void)
{
  if (g_once_init_enter (&cu.init)) {
    void *h = dlopen ("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (h) {
      cu.get_error_string = (CuResult (*) (CuResult, const char **)) dlsym (h, "cuGetErrorString");
      cu.ctx_get_current = (CuResult (*) (CuContext *)) dlsym (h, "cuCtxGetCurrent");
      cu.ctx_get_device = (CuResult (*) (CuDevice *)) dlsym (h, "cuCtxGetDevice");
      cu.device_get_attribute = (CuResult (*) (int *, int, CuDevice)) dlsym (h, "cuDeviceGetAttribute");
      cu.module_load_data_ex = (CuResult (*) (CuModule *, const void *, unsigned, int *, void **)) dlsym (
        h, "cuModuleLoadDataEx");
      cu.module_unload = (CuResult (*) (CuModule)) dlsym (h, "cuModuleUnload");
      cu.module_get_function = (CuResult (*) (CuFunction *, CuModule, const char *)) dlsym (h, "cuModuleGetFunction");
      cu.launch_kernel = (CuResult (*) (CuFunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                                        unsigned, void *, void **, void **)) dlsym (h, "cuLaunchKernel");
    }
    g_once_init_leave (&cu.init, 1);
  }
  return cu.get_error_string && cu.ctx_get_current && cu.ctx_get_device && cu.device_get_attribute &&
         cu.module_load_data_ex && cu.module_unload && cu.module_get_function && cu.launch_kernel;
}

static gboolean
cu_check (CuResult rc, const char *what, GError **error)
{
  if (rc == 0)
    return TRUE;
  const char *msg = NULL;
  if (cu.get_error_string (rc, &msg) != 0 || !msg)
    msg = "unknown error";
  g_set_error (error, TL_ERROR, TL_ERROR_DEVICE, "fusion: %s failed: %s (CUresult %d)", what, msg, rc);
  return FALSE;
}

typedef struct {
  CuFunction fn;
  guint max_blocks;
} Loaded;

static GMutex fn_lock;
static GHashTable *fn_cache; /* "<context>-<pattern hash>" -> Loaded* */

/* The group's kernel in the current context (loaded on first use). */
static const Loaded *
get_function (const FusionProgram *p, GError **error)
{
  CuContext ctx = NULL;
  if (!cu_check (cu.ctx_get_current (&ctx), "cuCtxGetCurrent", error))
    return NULL;
  if (!ctx) {
    g_set_error (error, TL_ERROR, TL_ERROR_DEVICE, "fusion: no current CUDA context on this thread");
    return NULL;
  }
  g_autofree char *key = g_strdup_printf ("%p-%016" G_GINT64_MODIFIER "x", ctx, fusion_program_hash (p));
  g_mutex_lock (&fn_lock);
  if (!fn_cache)
    fn_cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  const Loaded *hit = g_hash_table_lookup (fn_cache, key);
  g_mutex_unlock (&fn_lock);
  if (hit)
    return hit;
  const char *ptx = fusion_cuda_ptx (p, error);
  if (!ptx)
    return NULL;
  CuModule mod = NULL;
  CuFunction fn = NULL;
  CuDevice dev = 0;
  int sms = 0;
  /* the JIT's error log goes into the message (PTX too new for the driver,
   * resources exceeded, ...) */
  char jit_log[JIT_LOG_BYTES] = "";
  int jit_opts[] = { CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES };
  void *jit_vals[] = { jit_log, (void *) (gsize) sizeof jit_log };
  if (!cu_check (cu.module_load_data_ex (&mod, ptx, G_N_ELEMENTS (jit_opts), jit_opts, jit_vals), "cuModuleLoadDataEx",
                 error)) {
    jit_log[sizeof jit_log - 1] = 0;
    if (*fusion_flatten_log (jit_log) && error && *error) {
      char *m = g_strdup_printf ("%s; JIT log: %s", (*error)->message, jit_log);
      g_free ((*error)->message);
      (*error)->message = m;
    }
    return NULL;
  }
  if (!cu_check (cu.module_get_function (&fn, mod, "tl_fused"), "cuModuleGetFunction", error) ||
      !cu_check (cu.ctx_get_device (&dev), "cuCtxGetDevice", error) ||
      !cu_check (cu.device_get_attribute (&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev),
                 "cuDeviceGetAttribute", error)) {
    cu.module_unload (mod);
    return NULL;
  }
  Loaded *l = g_new (Loaded, 1);
  l->fn = fn;
  /* grid-stride kernels: a few waves of 256-thread blocks fill the device */
  l->max_blocks = (guint) MAX (sms, 1) * 8;
  g_mutex_lock (&fn_lock);
  const Loaded *old = g_hash_table_lookup (fn_cache, key);
  if (old) {
    g_free (l); /* another thread loaded it first */
    cu.module_unload (mod);
    l = (Loaded *) old;
  } else {
    g_hash_table_insert (fn_cache, g_steal_pointer (&key), l);
  }
  g_mutex_unlock (&fn_lock);
  return l;
}
#endif

/**
 * fusion_cuda_run:
 * @p: an analysed program
 * @in: (array): p->n_in contiguous f32 CUDA tensors
 * @out: (array): p->n_out preallocated contiguous f32 CUDA tensors
 * @stream: the stream to enqueue on (a cudaStream_t; NULL: the legacy default stream)
 * @error: return location for a #GError
 *
 * Enqueues the group's generated kernel (NVRTC, cached per pattern) with
 * the launch configuration of fusion_cuda_launch_dims(). Does not wait.
 *
 * An empty group (fusion_cuda_has_work() FALSE) launches nothing and
 * returns TRUE, before the driver is even loaded.
 *
 * Returns: TRUE when the kernel was launched (or had nothing to do); FALSE with
 * TL_ERROR_UNSUPPORTED (no driver, no NVRTC, pattern not generated) or
 * TL_ERROR_DEVICE (a driver call failed, with its message).
 */
gboolean
fusion_cuda_run (const FusionProgram *p, TlTensor *const *in, TlTensor *const *out, void *stream,
                 GError **error)
{
  if (!fusion_cuda_has_work (p))
    return TRUE; /* empty domain: nothing to launch (like the CPU paths) */
#ifdef FUSION_CUDA
  if (!cu_load ()) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "fusion: the CUDA driver (libcuda.so.1) is not available");
    return FALSE;
  }
  const Loaded *l = get_function (p, error);
  if (!l)
    return FALSE;
  guint n = p->n_in + p->n_out;
  void **ptrs = g_newa (void *, n);
  void **args = g_newa (void *, n);
  for (guint i = 0; i < p->n_in; i++)
    ptrs[i] = (void *) tl_tensor_const_data (in[i]);
  for (guint i = 0; i < p->n_out; i++)
    ptrs[p->n_in + i] = tl_tensor_data (out[i]);
  for (guint i = 0; i < n; i++)
    args[i] = &ptrs[i];
  guint grid = 1, block = 1;
  fusion_cuda_launch_dims (p, l->max_blocks, &grid, &block);
  return cu_check (cu.launch_kernel (l->fn, grid, 1, 1, block, 1, 1, 0, stream, args, NULL), "cuLaunchKernel",
                   error);
#else
  (void) in;
  (void) out;
  (void) stream;
  g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "fusion: built without CUDA");
  return FALSE;
#endif
}
