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

G_END_DECLS

#endif /* TL_PRIVATE_H */
