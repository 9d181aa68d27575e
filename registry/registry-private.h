/* registry-private.h — the registry's internal types, shared by the files of
 * registry/ (manifest parsing, probing, validation, loading). */
#ifndef TL_REGISTRY_PRIVATE_H
#define TL_REGISTRY_PRIVATE_H

#ifndef TL_COMPILATION
#error "registry-private.h is internal to libtl-1"
#endif

#include <gmodule.h>
#include <tl/tl.h>
#include <tl/tl-registry.h>

G_BEGIN_DECLS

#define TL_PLUGIN_NS "urn:tl:plugin:1"
#define TL_MANIFEST_SUFFIX ".tlplugin.xml"
/* Between the library path and the loader's message when dlopen fails
 * ("LIB: dlopen failed: libdep.so: cannot open shared object file: ...").
 * Such verdicts depend on the installed libraries, which the cache key does
 * not cover: the registry does not cache them (registry.c, probe_plugin). */
#define TL_PRIV_DLOPEN_FAILED ": dlopen failed: "
/* In the message of a plugin whose init failed ("plugin 'x': init failed:
 * no licence server reachable"): init may depend on the machine (devices,
 * servers, environment), so such verdicts are not cached either. */
#define TL_PRIV_INIT_FAILED ": init failed: "

struct _TlParamSpec {
  char *name;
  TlParamType type;
  char *dflt;     /* NULL: required */
  char *min, *max;
  char **choices; /* TL_PARAM_CHOICE only */
  char *doc;
  long line;
};

struct _TlComponentInfo {
  TlComponentKind kind;
  char *name;
  char *full_name;
  char *description;
  char **devices;
  GPtrArray *params; /* TlParamSpec* */
  TlPluginInfo *plugin;
  const void *table; /* set once loaded */
  long line;
};

struct _TlPluginInfo {
  char *id, *version, *license, *description, *abi;
  char *manifest_path;  /* "built-in" for the built-in plugin */
  char *library;        /* attribute as written (NULL: built-in) */
  char *library_path;   /* resolved; NULL when built-in or not found */
  char **requires;
  GPtrArray *components; /* TlComponentInfo* */
  gboolean builtin;
  /* state */
  char *skip_reason;    /* non-NULL: SKIPPED */
  GPtrArray *warnings;  /* char*: "FILE:LINE: ..." from reading the manifest
                           (unknown attributes); the registry moves them to its
                           own warnings */
  gboolean probed, loaded, shadowed, allowed;
  guint order;          /* discovery order: earlier in the search path wins ties */
  guint added;          /* 0: found on the search path; n: the n-th plugin given to
                           tl_registry_add_path (the latest given wins its id) */
  GModule *module;
  const TlPluginDesc *desc;
};

/* registry.c: strcmp for qsort/g_ptr_array_sort of char* arrays */
G_GNUC_INTERNAL int _tl_priv_strcmp_p (const void *a, const void *b);

/* manifest.c */
/* Parse a manifest; `name` is the path used in messages, `data` the bytes
 * (NULL: read `name` from disk). On a parse error returns NULL. */
G_GNUC_INTERNAL TlPluginInfo *_tl_priv_manifest_parse (const char *name, const char *data,
                                                       gsize len, gboolean builtin,
                                                       GError **error);
G_GNUC_INTERNAL void _tl_priv_plugin_info_free (TlPluginInfo *p);
G_GNUC_INTERNAL TlPluginInfo *_tl_priv_plugin_info_new_broken (const char *manifest_path,
                                                               const char *reason);
G_GNUC_INTERNAL const char *_tl_priv_param_type_name (TlParamType t);
struct _xmlNode;
/* Append "FILE:LINE: unknown attribute 'A' on <E> (did you mean 'B'?)SUFFIX\n"
 * to `problems` for each attribute of `node` not in `allowed`
 * (NULL-terminated); namespaced attributes are left alone. Used by the job
 * reader (errors) and the manifest reader (warnings). */
G_GNUC_INTERNAL void _tl_priv_xml_unknown_attrs (GString *problems, const char *file,
                                                 const struct _xmlNode *node,
                                                 const char *const *allowed, const char *suffix);
/* Compare "1.2.10" and "1.10.0" numerically (pre-release suffix sorts first). */
G_GNUC_INTERNAL int _tl_priv_semver_compare (const char *a, const char *b);

/* params-validate.c */
/* Check one textual value against a spec; on success store it in `out`
 * (nullable) and return TRUE; else append a message (no location) to
 * `problems` naming `owner` (the component full name). */
G_GNUC_INTERNAL gboolean _tl_priv_param_check (const TlParamSpec *s, const char *owner,
                                               const char *text, TlParams *out,
                                               GString *problem);
/* Closest candidate by edit distance, or NULL when nothing is close. */
G_GNUC_INTERNAL const char *_tl_priv_did_you_mean (const char *name,
                                                   const char *const *candidates, guint n);

/* registry.c: "no plugin 'ID' on the search path (...); set TL_PLUGIN_PATH
 * to the directory holding ID.tlplugin.xml" (transfer full). */
G_GNUC_INTERNAL char *_tl_priv_no_plugin_message (const char *id);

/* probe.c */
typedef enum {
  TL_PRIV_PROBE_VERDICT,   /* the scanner said "ok" or "skip: REASON" */
  TL_PRIV_PROBE_TIMED_OUT, /* killed at the timeout */
  TL_PRIV_PROBE_CRASHED,   /* killed by a signal a crash raises (SIGSEGV, SIGBUS,
                            * SIGABRT, SIGILL, SIGFPE): the plugin's own doing */
  TL_PRIV_PROBE_DIED       /* killed by another signal (SIGKILL from the OOM
                            * killer, SIGTERM...), or exited without a verdict */
} TlPrivProbeOutcome;

/* Probe a manifest in a child process. Returns TRUE and sets *reason to NULL
 * when the plugin is fine, TRUE with *reason (transfer full) when it was
 * rejected, FALSE (error set) when the probe could not run at all. *outcome
 * (nullable) tells how the verdict was reached. */
G_GNUC_INTERNAL gboolean _tl_priv_probe (const char *manifest_path, double timeout_s,
                                         char **reason, TlPrivProbeOutcome *outcome,
                                         GError **error);
G_GNUC_INTERNAL char *_tl_priv_scanner_path (void);
/* TRUE when this libtl-1 runs from its build tree. */
G_GNUC_INTERNAL gboolean _tl_priv_uninstalled (void);

/* builtin.c */
G_GNUC_INTERNAL TlPluginInfo *_tl_priv_builtin_info (GError **error);

/* registry.c: load and check a plugin (dlopen, descriptor, init) without
 * registering anything; used by the scanner through _tl_registry_probe_manifest. */
G_GNUC_INTERNAL gboolean _tl_priv_plugin_open (TlPluginInfo *p, GError **error);

/* For tl-plugin-scanner only (exported, not part of the SDK): parse the
 * manifest at `path`, resolve, dlopen and check the plugin, call its init. */
TL_API gboolean _tl_registry_probe_manifest (const char *path, GError **error);

G_END_DECLS

#endif /* TL_REGISTRY_PRIVATE_H */
