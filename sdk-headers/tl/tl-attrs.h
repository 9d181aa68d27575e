/* tl-attrs.h — small typed key/value sets: op attributes, annotations.
 *
 * Keys are copied. Values: int64, double, string (copied), int64 array,
 * double array. Getters take a default returned when the key is missing or
 * of another type.
 */
#ifndef TL_ATTRS_H
#define TL_ATTRS_H

#include <glib.h>
#include <tl/tl-macros.h>

TL_BEGIN_DECLS

typedef struct _TlAttrs TlAttrs;

typedef enum {
  TL_ATTR_NONE = 0,
  TL_ATTR_INT,
  TL_ATTR_FLOAT,
  TL_ATTR_STRING,
  TL_ATTR_INTS,
  TL_ATTR_FLOATS
} TlAttrType;

/* (transfer full); free with tl_attrs_free (NULL-safe). */
TL_API TlAttrs *tl_attrs_new(void);
TL_API TlAttrs *tl_attrs_copy(const TlAttrs *attrs); /* NULL -> empty set */
TL_API void tl_attrs_free(TlAttrs *attrs);

TL_API void tl_attrs_set_int(TlAttrs *a, const char *key, gint64 v);
TL_API void tl_attrs_set_float(TlAttrs *a, const char *key, double v);
TL_API void tl_attrs_set_string(TlAttrs *a, const char *key, const char *v);
TL_API void tl_attrs_set_ints(TlAttrs *a, const char *key, guint n, const gint64 *v);
TL_API void tl_attrs_set_floats(TlAttrs *a, const char *key, guint n, const double *v);
TL_API gboolean tl_attrs_remove(TlAttrs *a, const char *key);

/* Getters accept a NULL set (then they return the default). */
TL_API TlAttrType tl_attrs_type(const TlAttrs *a, const char *key);
TL_API gboolean tl_attrs_has(const TlAttrs *a, const char *key);
TL_API gint64 tl_attrs_get_int(const TlAttrs *a, const char *key, gint64 dflt);
TL_API double tl_attrs_get_float(const TlAttrs *a, const char *key, double dflt); /* ints convert */
/* Borrowed; valid until the key is changed or the set freed. */
TL_API const char *tl_attrs_get_string(const TlAttrs *a, const char *key, const char *dflt);
/* Borrowed array; *n set to its length (0 and NULL when missing). */
TL_API const gint64 *tl_attrs_get_ints(const TlAttrs *a, const char *key, guint *n);
TL_API const double *tl_attrs_get_floats(const TlAttrs *a, const char *key, guint *n);

/* Keys in insertion order. */
TL_API guint tl_attrs_size(const TlAttrs *a);
TL_API const char *tl_attrs_key(const TlAttrs *a, guint i);
/* Canonical text of one value ("3", "0.5", "abc", "[1,2]"). (transfer full) */
TL_API char *tl_attrs_value_to_string(const TlAttrs *a, const char *key);
TL_API gboolean tl_attrs_equal(const TlAttrs *a, const TlAttrs *b);
/* Stable 64-bit hash of keys and values (for caches). */
TL_API guint64 tl_attrs_hash(const TlAttrs *a);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TlAttrs, tl_attrs_free)

TL_END_DECLS

#endif /* TL_ATTRS_H */
