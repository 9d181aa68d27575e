/* cache-private.h — the registry's probe-result cache (registry/cache.c). */
#ifndef TL_CACHE_PRIVATE_H
#define TL_CACHE_PRIVATE_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct _TlRegistryCache TlRegistryCache;

G_GNUC_INTERNAL TlRegistryCache *_tl_priv_cache_open (void);
G_GNUC_INTERNAL gboolean _tl_priv_cache_lookup (TlRegistryCache *c, const char *manifest,
                                                const char *library, double timeout_s,
                                                char **reason);
G_GNUC_INTERNAL void _tl_priv_cache_store (TlRegistryCache *c, const char *manifest,
                                           const char *library, const char *reason,
                                           double timed_out_after);
G_GNUC_INTERNAL void _tl_priv_cache_forget (TlRegistryCache *c, const char *manifest);
G_GNUC_INTERNAL void _tl_priv_cache_save (TlRegistryCache *c);
G_GNUC_INTERNAL void _tl_priv_cache_free (TlRegistryCache *c);

G_END_DECLS

#endif
