/* tl-registry.h — finding, describing, caching and loading plugins.
 *
 * For hosts (tlhost, test programs, third-party front ends); plugins do not
 * need it. The registry reads plugin manifests (*.tlplugin.xml) from the
 * search path without loading any code, caches what it learned in
 * $XDG_CACHE_HOME/tl-1/registry-<arch>.xml (keyed by path, mtime, size),
 * probes new or changed plugins in a child process (tl-plugin-scanner), and
 * dlopens a plugin only when one of its components is instantiated.
 *
 * Search path: opts->extra_paths, $TL_PLUGIN_PATH (':'-separated), then the
 * installed plugin directory and, when libtl-1 runs from its build tree, the
 * build tree's plugins/ (both replaced by $TL_PLUGIN_SYSTEM_PATH when that
 * is set, even to "").
 * Allow-list: $TL_PLUGIN_ALLOW (',' or ':'-separated plugin ids) and
 * tl_registry_set_allow_list(); the built-in plugin "tl" is always allowed.
 *
 * @example-begin registry (guint n, const char *const *names, const char *const *values,
 *                          const char *const *locations)
 *   TlRegistry *reg = tl_registry_new(NULL, &error);
 *   const TlComponentInfo *ci = tl_registry_find_component(reg, "fives.fives", &error);
 *   TlParams *p = tl_component_info_make_params(ci, n, names, values, locations, &error);
 *   const TlModelDef *def = tl_registry_load_component(reg, ci, &error);
 * @example-end
 */
#ifndef TL_REGISTRY_H
#define TL_REGISTRY_H

#include <glib.h>
#include <tl/tl-macros.h>
#include <tl/tl-params.h>
#include <tl/tl-plugin.h>

TL_BEGIN_DECLS

typedef struct _TlRegistry TlRegistry;
typedef struct _TlPluginInfo TlPluginInfo;
typedef struct _TlComponentInfo TlComponentInfo;
typedef struct _TlParamSpec TlParamSpec;

typedef enum {
  TL_PLUGIN_STATUS_OK = 0,      /* manifest valid, probe passed (or not yet loaded) */
  TL_PLUGIN_STATUS_LOADED,      /* dlopened and checked in this process */
  TL_PLUGIN_STATUS_SKIPPED,     /* refused: see tl_plugin_info_skip_reason() */
  TL_PLUGIN_STATUS_SHADOWED,    /* an equal id won: a newer version, or a plugin added by path */
  TL_PLUGIN_STATUS_NOT_ALLOWED  /* filtered by the allow-list */
} TlPluginStatus;

/* Host-allocated options; zero-initialise. */
typedef struct {
  const char *const *extra_paths; /* NULL-terminated, searched first (nullable) */
  uint32_t no_cache;              /* 1: neither read nor write the cache */
  uint32_t no_probe;              /* 1: do not probe in a child (trust manifests) */
  double probe_timeout;           /* seconds per plugin probe; 0: $TL_PROBE_TIMEOUT or 10 s */
  uint32_t no_scan;               /* 1: do not scan the search path (only the built-in
                                     plugin and tl_registry_add_path()) */
  uint32_t reserved0;
  void *reserved[5];
} TlRegistryOptions;

TL_STATIC_ASSERT(offsetof(TlRegistryOptions, probe_timeout) == sizeof(void *) + 8,
               "TlRegistryOptions ABI 1.0");
TL_STATIC_ASSERT(offsetof(TlRegistryOptions, no_scan) == sizeof(void *) + 16,
               "TlRegistryOptions ABI 1.0");
TL_STATIC_ASSERT(offsetof(TlRegistryOptions, reserved) == sizeof(void *) + 24,
               "TlRegistryOptions ABI 1.0");

/* Scan the search path. Broken plugins never make this fail: they are
 * listed with status SKIPPED. (transfer full) */
TL_API TlRegistry *tl_registry_new(const TlRegistryOptions *opts, GError **error);
TL_API void tl_registry_free(TlRegistry *r); /* NULL-safe */
/* NULL-terminated list of plugin ids; NULL clears the list (all allowed). */
TL_API void tl_registry_set_allow_list(TlRegistry *r, const char *const *plugin_ids);
/* Directories searched, in order. Borrowed NULL-terminated array. */
TL_API const char *const *tl_registry_search_path(const TlRegistry *r);
/* Warnings collected while scanning (duplicate versions, ...). Borrowed. */
TL_API const char *const *tl_registry_warnings(const TlRegistry *r);

TL_API guint tl_registry_n_plugins(const TlRegistry *r);
TL_API const TlPluginInfo *tl_registry_plugin(const TlRegistry *r, guint i); /* sorted by id */
TL_API const TlPluginInfo *tl_registry_find_plugin(const TlRegistry *r, const char *id);
/* Resolve "plugin.component" (or a unique bare component name). Unknown
 * names fail with TL_ERROR_NOT_FOUND and a did-you-mean suggestion. */
TL_API const TlComponentInfo *tl_registry_find_component(const TlRegistry *r, const char *name,
                                                         GError **error);
/* dlopen the component's plugin if needed (checks ABI and that the
 * descriptor agrees with the manifest) and return its table: a
 * const TlOpDef/TlModelDef/TlPlannerDef/TlDatasetDef. Op components are
 * also registered in the op registry. (transfer none: lives as long as the
 * process) */
TL_API const void *tl_registry_load_component(TlRegistry *r, const TlComponentInfo *ci,
                                              GError **error);
/* Load a plugin from a path (manifest or .so) outside the search path, as
 * `tlhost conformance PATH` does. The plugin is added to the registry and
 * shadows every other plugin with its id, whatever their versions (of
 * several given by path, the latest wins). Returns (transfer none) its info,
 * or NULL with the reason when it cannot be used. */
TL_API const TlPluginInfo *tl_registry_add_path(TlRegistry *r, const char *path, GError **error);

TL_API const char *tl_plugin_info_id(const TlPluginInfo *p);
TL_API const char *tl_plugin_info_version(const TlPluginInfo *p);
TL_API const char *tl_plugin_info_license(const TlPluginInfo *p);
TL_API const char *tl_plugin_info_description(const TlPluginInfo *p);
TL_API const char *tl_plugin_info_manifest_path(const TlPluginInfo *p);
TL_API const char *tl_plugin_info_library_path(const TlPluginInfo *p); /* NULL for built-in */
TL_API const char *tl_plugin_info_abi(const TlPluginInfo *p);          /* "1.0" */
TL_API TlPluginStatus tl_plugin_info_status(const TlPluginInfo *p);
TL_API const char *tl_plugin_status_name(TlPluginStatus s);
/* Why a plugin was skipped (dlerror text, signal, ABI, mismatch...), or NULL. */
TL_API const char *tl_plugin_info_skip_reason(const TlPluginInfo *p);
/* Host features the manifest requires (e.g. "cuda", "mpi"). Borrowed, NULL-terminated. */
TL_API const char *const *tl_plugin_info_requires(const TlPluginInfo *p);
TL_API guint tl_plugin_info_n_components(const TlPluginInfo *p);
TL_API const TlComponentInfo *tl_plugin_info_component(const TlPluginInfo *p, guint i);

TL_API TlComponentKind tl_component_info_kind(const TlComponentInfo *c);
TL_API const char *tl_component_info_name(const TlComponentInfo *c);      /* "fives" */
TL_API const char *tl_component_info_full_name(const TlComponentInfo *c); /* "fives.fives" */
TL_API const char *tl_component_info_description(const TlComponentInfo *c);
TL_API const TlPluginInfo *tl_component_info_plugin(const TlComponentInfo *c);
TL_API const char *const *tl_component_info_devices(const TlComponentInfo *c); /* NULL-terminated */
TL_API guint tl_component_info_n_params(const TlComponentInfo *c);
TL_API const TlParamSpec *tl_component_info_param(const TlComponentInfo *c, guint i);
TL_API const TlParamSpec *tl_component_info_find_param(const TlComponentInfo *c, const char *name);

/* Validate (name, value) pairs given as text against the component's
 * declared parameters and return a complete TlParams (defaults filled in).
 * `locations` (nullable; n entries, each nullable) prefixes each message,
 * e.g. "job.xml:12". All problems are reported, one per line, in one error
 * (TL_ERROR_INVALID_ARGUMENT): unknown names with a did-you-mean, wrong
 * types, out-of-range values, bad choices. (transfer full) */
TL_API TlParams *tl_component_info_make_params(const TlComponentInfo *c, guint n,
                                               const char *const *names,
                                               const char *const *values,
                                               const char *const *locations, GError **error);

TL_API const char *tl_param_spec_name(const TlParamSpec *s);
TL_API TlParamType tl_param_spec_type(const TlParamSpec *s);
TL_API const char *tl_param_spec_type_name(const TlParamSpec *s); /* "int", ... */
TL_API const char *tl_param_spec_default(const TlParamSpec *s);  /* text, or NULL (required) */
TL_API const char *tl_param_spec_min(const TlParamSpec *s);      /* text or NULL */
TL_API const char *tl_param_spec_max(const TlParamSpec *s);
TL_API const char *const *tl_param_spec_choices(const TlParamSpec *s); /* NULL-terminated or NULL */
TL_API const char *tl_param_spec_doc(const TlParamSpec *s);

TL_END_DECLS

#endif /* TL_REGISTRY_H */
