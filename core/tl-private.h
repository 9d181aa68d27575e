/* tl-private.h — declarations shared between the parts of libtl-1 (core/
 * and registry/). Never installed, never included by plugins. Internal
 * non-static functions are named _tl_priv_* and marked G_GNUC_INTERNAL.
 */
#ifndef TL_PRIVATE_H
#define TL_PRIVATE_H

#ifndef TL_COMPILATION
#error "tl-private.h is internal to libtl-1"
#endif

#include <stdio.h>
#include <glib.h>
#include <tl/tl.h>

G_BEGIN_DECLS

/* --- built-in op sets (core/ops/), called once by tl_init() ------------- */
G_GNUC_INTERNAL gboolean _tl_priv_ops_basic_register(GError **error);
G_GNUC_INTERNAL gboolean _tl_priv_ops_nn_register(GError **error);

/* --- the built-in plugin "tl" (core/builtin.c): models and datasets ------ */
G_GNUC_INTERNAL const TlPluginDesc *_tl_priv_builtin_plugin(void);
/* Its manifest, embedded at build time (registry/). */
G_GNUC_INTERNAL const char *_tl_priv_builtin_manifest(void);

/* --- messages (core/escape.c) ------------------------------------------- */

/* Copy of `str` (NULL as "") with control characters, DEL and bytes that
 * are not UTF-8 written as \n, \r, \t or \xHH, so that text taken from a
 * file keeps an error message on one line and valid UTF-8. (transfer full) */
G_GNUC_INTERNAL char *_tl_priv_escape_controls (const char *str);
/* The same, cut after TL_MESSAGE_QUOTE_MAX bytes ("..." follows): for names
 * and values from files whose size is not bounded (safetensors headers). */
#define TL_MESSAGE_QUOTE_MAX 200
G_GNUC_INTERNAL char *_tl_priv_escape_short (const char *str);
/* The same, cut after `max` bytes ("..." follows). (transfer full) */
G_GNUC_INTERNAL char *_tl_priv_escape_cut (const char *str, gsize max);

/* --- files (core/fileutil.c) -------------------------------------------- */
/* Write `len` bytes to `path` atomically: temp file in the same directory,
 * fsync, rename, fsync the directory. On failure nothing at `path` changes. */
G_GNUC_INTERNAL gboolean _tl_priv_write_atomic(const char *path, const void *data, gsize len,
                                               GError **error);
/* Streaming variant: open a temp file beside `path`; write with fwrite to
 * the returned FILE; commit (fflush, fsync, rename) or abort (unlink). */
typedef struct _TlAtomicFile TlAtomicFile;
G_GNUC_INTERNAL TlAtomicFile *_tl_priv_atomic_open(const char *path, GError **error);
G_GNUC_INTERNAL FILE *_tl_priv_atomic_stream(TlAtomicFile *f);
G_GNUC_INTERNAL gboolean _tl_priv_atomic_commit(TlAtomicFile *f, GError **error);
G_GNUC_INTERNAL void _tl_priv_atomic_abort(TlAtomicFile *f);
/* Aligned allocation (64 bytes) that reports failure instead of aborting. */
G_GNUC_INTERNAL void *_tl_priv_aligned_alloc(gsize size);
G_GNUC_INTERNAL void _tl_priv_aligned_free(void *p);

/* --- safetensors (core/safetensors.c) ------------------------------------ */
/* The "__metadata__" strings of a safetensors file (char* -> char*; NULL
 * and error on a bad file) from the 8-byte length and the JSON header
 * alone: the tensor data is not read. (transfer full) */
G_GNUC_INTERNAL GHashTable *_tl_priv_safetensors_read_metadata (const char *path, GError **error);

/* --- devices (backend.c, tensor.c; cuda-core) ----------------------------- */
struct _TlBackend;
/* A parsed and opened device: the backend is NULL for the CPU. */
typedef struct {
  TlDeviceType type;
  int index;
  const struct _TlBackend *be;
} TlDevice;
G_GNUC_INTERNAL gboolean _tl_priv_device_parse(const char *name, TlDeviceType *type, int *index,
                                               GError **error);
G_GNUC_INTERNAL gboolean _tl_priv_device_open(const char *name, TlDevice *dev, GError **error);
G_GNUC_INTERNAL const struct _TlBackend *_tl_priv_backend_cuda(GError **error);
G_GNUC_INTERNAL const struct _TlBackend *_tl_priv_device_backend(TlDeviceType type, int index,
                                                                 GError **error);
/* The device a tensor lives on (backend NULL for the CPU; makes a GPU
 * current on the calling thread). */
G_GNUC_INTERNAL gboolean _tl_priv_tensor_open_device(const TlTensor *t, TlDevice *dev,
                                                     GError **error);
/* New contiguous tensor on `dev`; zero-filled when `zero`. */
G_GNUC_INTERNAL TlTensor *_tl_priv_tensor_new_on(const TlDevice *dev, const TlTensorDesc *desc,
                                                 gboolean zero, GError **error);
/* tl_tensor_to_device() for an opened device. */
G_GNUC_INTERNAL TlTensor *_tl_priv_tensor_to(TlTensor *t, const TlDevice *dev, GError **error);
/* optim.c: a copy of an optimizer with its state on the host. */
G_GNUC_INTERNAL TlOptimizer *_tl_priv_optimizer_host_copy(const TlOptimizer *opt, GError **error);
/* TRUE when the tensor lives on `dev` (type and index). */
G_GNUC_INTERNAL gboolean _tl_priv_tensor_same_device(const TlTensor *a, const TlDevice *dev);
/* exec.c: device helpers of the executor. */
G_GNUC_INTERNAL void _tl_priv_exec_set_host_output(TlExec *ex, guint i);
G_GNUC_INTERNAL gboolean _tl_priv_exec_set_capture(TlExec *ex, gboolean on, GError **error);
G_GNUC_INTERNAL const TlDevice *_tl_priv_exec_device(const TlExec *ex);

G_END_DECLS

#endif /* TL_PRIVATE_H */
