/* tl-plugin.h — the plugin descriptor and its single entry symbol.
 *
 * A plugin .so exports exactly one symbol, `tl_plugin_query`, returning a
 * const descriptor. The plugin id is inside the descriptor (never derived
 * from the file name). The plugin's XML manifest beside the .so must agree
 * with the descriptor: the host checks this after dlopen.
 *
 * @example-begin plugin
 *   extern const TlModelDef fives_model_def;   // the model's table (model.c)
 *   static const TlComponent components[] = {
 *     { TL_COMPONENT_MODEL, 0, "fives", &fives_model_def },   // kind, reserved, name, table
 *     { TL_COMPONENT_NONE, 0, NULL, NULL }
 *   };
 *   TL_PLUGIN_DEFINE(.id = "fives", .version = "1.0.0", .license = "Apache-2.0",
 *                    .description = "Feature Interaction Via Edge Search",
 *                    .components = components)
 * @example-end
 *
 * Rules (see ABI.md): the host accepts abi_major == TL_ABI_MAJOR and
 * abi_minor <= its own; it refuses a plugin whose min_host_minor is above its
 * own minor; it never reads past struct_size.
 */
#ifndef TL_PLUGIN_H
#define TL_PLUGIN_H

#include <glib.h>
#include <tl/tl-macros.h>

TL_BEGIN_DECLS

typedef enum {
  TL_COMPONENT_NONE = 0, /* list terminator */
  TL_COMPONENT_OP = 1,
  TL_COMPONENT_MODEL = 2,
  TL_COMPONENT_PLANNER = 3,
  TL_COMPONENT_DATASET = 4
} TlComponentKind;

TL_API const char *tl_component_kind_name(TlComponentKind kind); /* "op", ... */
TL_API TlComponentKind tl_component_kind_from_name(const char *name);

typedef struct {
  uint32_t kind;       /* TlComponentKind */
  uint32_t reserved;
  const char *name;    /* unique within the plugin; full name is "<plugin>.<name>" */
  const void *table;   /* const TlOpDef / TlModelDef / TlPlannerDef / TlDatasetDef */
} TlComponent;

TL_STATIC_ASSERT(offsetof(TlComponent, name) == 8, "TlComponent ABI 1.0");
TL_STATIC_ASSERT(offsetof(TlComponent, table) == 8 + sizeof(void *), "TlComponent ABI 1.0");

typedef struct {
  TL_TABLE_HEADER;
  uint16_t min_host_minor;  /* lowest host ABI minor this plugin runs on */
  uint16_t reserved0;
  uint32_t reserved1;
  const char *id;           /* [a-z0-9-]+, matches the manifest */
  const char *version;      /* semantic version, matches the manifest */
  const char *license;      /* SPDX id */
  const char *description;
  const TlComponent *components; /* terminated by kind TL_COMPONENT_NONE */
  /* (optional) Called once after load, before any component is used. */
  gboolean (*init)(GError **error);
  /* (optional) Optional interfaces by id; NULL for unknown ids. */
  const void *(*get_extension)(const char *id);
} TlPluginDesc;

TL_STATIC_ASSERT(offsetof(TlPluginDesc, struct_size) == 0, "TlPluginDesc ABI 1.0");
TL_STATIC_ASSERT(offsetof(TlPluginDesc, abi_major) == 4, "TlPluginDesc ABI 1.0");
TL_STATIC_ASSERT(offsetof(TlPluginDesc, abi_minor) == 6, "TlPluginDesc ABI 1.0");
TL_STATIC_ASSERT(offsetof(TlPluginDesc, min_host_minor) == 8, "TlPluginDesc ABI 1.0");
TL_STATIC_ASSERT(offsetof(TlPluginDesc, id) == 16, "TlPluginDesc ABI 1.0");

typedef const TlPluginDesc *(*TlPluginQueryFunc)(void);

#define TL_PLUGIN_ENTRY_SYMBOL "tl_plugin_query"

/* Defines the descriptor and the entry symbol (with C linkage, also from
 * C++). Arguments are designated initialisers of TlPluginDesc besides the
 * header, which is set here (see TL_TABLE_INIT). For strict C++11 to C++17,
 * TL_PLUGIN_DEFINE_POSITIONAL takes them positionally, starting at
 * min_host_minor:
 *   TL_PLUGIN_DEFINE_POSITIONAL(0, 0, 0, "fives", "1.0.0", "Apache-2.0",
 *                               "Feature Interaction Via Edge Search", components, NULL, NULL) */
#ifdef __cplusplus
#define TL_PLUGIN_LINKAGE_ extern "C"
#else
#define TL_PLUGIN_LINKAGE_
#endif
#define TL_PLUGIN_DEFINE_WITH_(HEADER, ...)                                           \
  TL_PLUGIN_LINKAGE_ TL_PLUGIN_EXPORT const TlPluginDesc *tl_plugin_query(void);       \
  static const TlPluginDesc tl_plugin_desc_ = { HEADER, __VA_ARGS__ };                 \
  TL_PLUGIN_EXPORT const TlPluginDesc *tl_plugin_query(void) { return &tl_plugin_desc_; }
#define TL_PLUGIN_DEFINE(...) TL_PLUGIN_DEFINE_WITH_(TL_TABLE_INIT(TlPluginDesc), __VA_ARGS__)
#define TL_PLUGIN_DEFINE_POSITIONAL(...) \
  TL_PLUGIN_DEFINE_WITH_(TL_TABLE_INIT_POSITIONAL(TlPluginDesc), __VA_ARGS__)

TL_END_DECLS

#endif /* TL_PLUGIN_H */
