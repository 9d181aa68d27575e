/* tl-params.h — validated component parameters.
 *
 * The host validates a component's parameters against its manifest before
 * creating it; the plugin receives a TlParams where every declared parameter
 * is present (value from the job, or the manifest default) with the declared
 * type, inside the declared range/choices. Getters of undeclared names return
 * the given fallback.
 */
#ifndef TL_PARAMS_H
#define TL_PARAMS_H

#include <glib.h>
#include <tl/tl-macros.h>

TL_BEGIN_DECLS

typedef struct _TlParams TlParams;

typedef enum {
  TL_PARAM_INT = 1,
  TL_PARAM_FLOAT,
  TL_PARAM_BOOL,
  TL_PARAM_STRING,
  TL_PARAM_CHOICE, /* string restricted to a list */
  TL_PARAM_PATH    /* string naming a file; ${VAR} expanded by the host */
} TlParamType;

/* (transfer full); tl_params_free(NULL) is a no-op. For hosts and tests;
 * plugins only read the TlParams they are given. */
TL_API TlParams *tl_params_new(void);
TL_API TlParams *tl_params_copy(const TlParams *p);
TL_API void tl_params_free(TlParams *p);
TL_API void tl_params_set_int(TlParams *p, const char *name, gint64 v);
TL_API void tl_params_set_float(TlParams *p, const char *name, double v);
TL_API void tl_params_set_bool(TlParams *p, const char *name, gboolean v);
TL_API void tl_params_set_string(TlParams *p, const char *name, const char *v);

TL_API gboolean tl_params_has(const TlParams *p, const char *name);
TL_API gint64 tl_params_get_int(const TlParams *p, const char *name, gint64 fallback);
TL_API double tl_params_get_float(const TlParams *p, const char *name, double fallback);
TL_API gboolean tl_params_get_bool(const TlParams *p, const char *name, gboolean fallback);
/* Borrowed, valid while p lives. */
TL_API const char *tl_params_get_string(const TlParams *p, const char *name, const char *fallback);
TL_API guint tl_params_size(const TlParams *p);
TL_API const char *tl_params_name(const TlParams *p, guint i);
/* Value as text. (transfer full) */
TL_API char *tl_params_to_string(const TlParams *p, const char *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TlParams, tl_params_free)

TL_END_DECLS

#endif /* TL_PARAMS_H */
