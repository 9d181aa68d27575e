/* registry-impl.h — struct _TlRegistry, shared by registry.c and load.c. */
#ifndef TL_REGISTRY_IMPL_H
#define TL_REGISTRY_IMPL_H

#include "registry-private.h"
#include "cache-private.h"

struct _TlRegistry {
  TlRegistryOptions opts;   /* extra_paths not kept */
  char **search_path;
  char **allow;             /* NULL: everything allowed */
  GPtrArray *plugins;       /* TlPluginInfo*, sorted by id, newest first */
  GPtrArray *warnings;      /* char*, NULL-terminated */
  TlRegistryCache *cache;   /* NULL with no_cache */
  double probe_timeout;
  guint n_added;            /* plugins given to tl_registry_add_path so far */
  GMutex lock;
};


#endif
