/* attrs.c — small typed key/value sets (op attributes, annotations).
 *
 * Sets are small (a handful of keys), so entries live in an array in
 * insertion order and lookups are linear.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "tl-private.h"

typedef struct {
  char *key;
  TlAttrType type;
  union {
    gint64 i;
    double f;
    char *s;
    gint64 *ints;
    double *floats;
  } v;
  guint n; /* array length */
} AttrEntry;

struct _TlAttrs {
  GArray *entries; /* AttrEntry */
};

static void
entry_clear_value (AttrEntry *e)
{
  switch (e->type) {
  case TL_ATTR_STRING: g_free (e->v.s); break;
  case TL_ATTR_INTS: g_free (e->v.ints); break;
  case TL_ATTR_FLOATS: g_free (e->v.floats); break;
  default: break;
  }
  e->type = TL_ATTR_NONE;
  e->n = 0;
}

static void
entry_clear (gpointer p)
{
  AttrEntry *e = p;
  entry_clear_value (e);
  g_free (e->key);
}

/**
 * tl_attrs_new:
 *
 * Returns: (transfer full): an empty set; free with tl_attrs_free().
 */
TlAttrs *
tl_attrs_new (void)
{
  TlAttrs *a = g_new0 (TlAttrs, 1);
  a->entries = g_array_new (FALSE, TRUE, sizeof (AttrEntry));
  g_array_set_clear_func (a->entries, entry_clear);
  return a;
}

static void
entry_copy_value (AttrEntry *dst, const AttrEntry *src)
{
  dst->type = src->type;
  dst->n = src->n;
  switch (src->type) {
  case TL_ATTR_STRING: dst->v.s = g_strdup (src->v.s); break;
  case TL_ATTR_INTS: dst->v.ints = g_memdup2 (src->v.ints, sizeof (gint64) * src->n); break;
  case TL_ATTR_FLOATS: dst->v.floats = g_memdup2 (src->v.floats, sizeof (double) * src->n); break;
  default: dst->v = src->v; break;
  }
}

/**
 * tl_attrs_copy:
 * @attrs: (nullable): a set
 *
 * Returns: (transfer full): a deep copy (an empty set for NULL).
 */
TlAttrs *
tl_attrs_copy (const TlAttrs *attrs)
{
  TlAttrs *a = tl_attrs_new ();
  if (!attrs)
    return a;
  g_array_set_size (a->entries, attrs->entries->len);
  for (guint i = 0; i < attrs->entries->len; i++) {
    const AttrEntry *s = &g_array_index (attrs->entries, AttrEntry, i);
    AttrEntry *d = &g_array_index (a->entries, AttrEntry, i);
    d->key = g_strdup (s->key);
    entry_copy_value (d, s);
  }
  return a;
}

/**
 * tl_attrs_free:
 * @attrs: (nullable) (transfer full): a set
 */
void
tl_attrs_free (TlAttrs *attrs)
{
  if (!attrs)
    return;
  g_array_unref (attrs->entries);
  g_free (attrs);
}

static AttrEntry *
find (const TlAttrs *a, const char *key)
{
  if (!a || !key)
    return NULL;
  for (guint i = 0; i < a->entries->len; i++) {
    AttrEntry *e = &g_array_index (a->entries, AttrEntry, i);
    if (strcmp (e->key, key) == 0)
      return e;
  }
  return NULL;
}

/* The entry for key when it holds a value of type, else NULL. */
static AttrEntry *
find_typed (const TlAttrs *a, const char *key, TlAttrType type)
{
  AttrEntry *e = find (a, key);
  return e && e->type == type ? e : NULL;
}

/* Entry for key, created if missing, its old value cleared, typed `type`
 * (the caller stores the value). */
static AttrEntry *
slot (TlAttrs *a, const char *key, TlAttrType type)
{
  AttrEntry *e = find (a, key);
  if (e) {
    entry_clear_value (e);
  } else {
    AttrEntry ne = { 0 };
    ne.key = g_strdup (key);
    g_array_append_val (a->entries, ne);
    e = &g_array_index (a->entries, AttrEntry, a->entries->len - 1);
  }
  e->type = type;
  return e;
}

/** tl_attrs_set_int: @a: a set; @key: (copied); @v: the value. Replaces any old value. */
void
tl_attrs_set_int (TlAttrs *a, const char *key, gint64 v)
{
  g_return_if_fail (a != NULL && key != NULL);
  slot (a, key, TL_ATTR_INT)->v.i = v;
}

/** tl_attrs_set_float: @a: a set; @key: (copied); @v: the value. */
void
tl_attrs_set_float (TlAttrs *a, const char *key, double v)
{
  g_return_if_fail (a != NULL && key != NULL);
  slot (a, key, TL_ATTR_FLOAT)->v.f = v;
}

/** tl_attrs_set_string: @a: a set; @key: (copied); @v: (copied) the value. */
void
tl_attrs_set_string (TlAttrs *a, const char *key, const char *v)
{
  g_return_if_fail (a != NULL && key != NULL);
  char *copy = g_strdup (v ? v : ""); /* before slot(): v may be the old value */
  slot (a, key, TL_ATTR_STRING)->v.s = copy;
}

/* Store a copy of the n elements of elem_size bytes at v as an INTS or
 * FLOATS value. */
static void
set_array (TlAttrs *a, const char *key, TlAttrType type, guint n, const void *v, gsize elem_size)
{
  void *copy = g_memdup2 (v, elem_size * n); /* before slot(): v may be the old value */
  AttrEntry *e = slot (a, key, type);
  if (type == TL_ATTR_INTS)
    e->v.ints = copy;
  else
    e->v.floats = copy;
  e->n = n;
}

/** tl_attrs_set_ints: @a: a set; @key: (copied); @n: length; @v: (array length=n) (copied). */
void
tl_attrs_set_ints (TlAttrs *a, const char *key, guint n, const gint64 *v)
{
  g_return_if_fail (a != NULL && key != NULL && (n == 0 || v != NULL));
  set_array (a, key, TL_ATTR_INTS, n, v, sizeof (gint64));
}

/** tl_attrs_set_floats: @a: a set; @key: (copied); @n: length; @v: (array length=n) (copied). */
void
tl_attrs_set_floats (TlAttrs *a, const char *key, guint n, const double *v)
{
  g_return_if_fail (a != NULL && key != NULL && (n == 0 || v != NULL));
  set_array (a, key, TL_ATTR_FLOATS, n, v, sizeof (double));
}

/**
 * tl_attrs_remove:
 * @a: a set
 * @key: a key
 *
 * Returns: TRUE if @key was present.
 */
gboolean
tl_attrs_remove (TlAttrs *a, const char *key)
{
  AttrEntry *e = find (a, key);
  if (!e)
    return FALSE;
  g_array_remove_index (a->entries, (guint) (e - (AttrEntry *) (void *) a->entries->data));
  return TRUE;
}

/** tl_attrs_type: Returns: the type of @key's value, %TL_ATTR_NONE when missing. */
TlAttrType
tl_attrs_type (const TlAttrs *a, const char *key)
{
  AttrEntry *e = find (a, key);
  return e ? e->type : TL_ATTR_NONE;
}

/** tl_attrs_has: Returns: TRUE if @key is set. */
gboolean
tl_attrs_has (const TlAttrs *a, const char *key)
{
  return find (a, key) != NULL;
}

/** tl_attrs_get_int: Returns: the int value of @key, or @dflt. */
gint64
tl_attrs_get_int (const TlAttrs *a, const char *key, gint64 dflt)
{
  AttrEntry *e = find_typed (a, key, TL_ATTR_INT);
  return e ? e->v.i : dflt;
}

/** tl_attrs_get_float: Returns: the float (or int, converted) value of @key, or @dflt. */
double
tl_attrs_get_float (const TlAttrs *a, const char *key, double dflt)
{
  AttrEntry *e = find (a, key);
  if (e && e->type == TL_ATTR_FLOAT)
    return e->v.f;
  if (e && e->type == TL_ATTR_INT)
    return (double) e->v.i;
  return dflt;
}

/** tl_attrs_get_string: Returns: (transfer none): the string value of @key, or @dflt. */
const char *
tl_attrs_get_string (const TlAttrs *a, const char *key, const char *dflt)
{
  AttrEntry *e = find_typed (a, key, TL_ATTR_STRING);
  return e ? e->v.s : dflt;
}

/* find_typed() for an array type; *n (when n is set) gets its length, 0 when missing. */
static AttrEntry *
find_array (const TlAttrs *a, const char *key, TlAttrType type, guint *n)
{
  AttrEntry *e = find_typed (a, key, type);
  if (n)
    *n = e ? e->n : 0;
  return e;
}

/** tl_attrs_get_ints: @n: (out) (optional): length. Returns: (transfer none): the array or NULL. */
const gint64 *
tl_attrs_get_ints (const TlAttrs *a, const char *key, guint *n)
{
  AttrEntry *e = find_array (a, key, TL_ATTR_INTS, n);
  return e ? e->v.ints : NULL;
}

/** tl_attrs_get_floats: @n: (out) (optional): length. Returns: (transfer none): the array or NULL. */
const double *
tl_attrs_get_floats (const TlAttrs *a, const char *key, guint *n)
{
  AttrEntry *e = find_array (a, key, TL_ATTR_FLOATS, n);
  return e ? e->v.floats : NULL;
}

/** tl_attrs_size: Returns: the number of keys (0 for NULL). */
guint
tl_attrs_size (const TlAttrs *a)
{
  return a ? a->entries->len : 0;
}

/** tl_attrs_key: Returns: (transfer none): key @i in insertion order, NULL when out of range. */
const char *
tl_attrs_key (const TlAttrs *a, guint i)
{
  if (!a || i >= a->entries->len)
    return NULL;
  return g_array_index (a->entries, AttrEntry, i).key;
}

/* Shortest text that reads back as the same double. */
static void
append_double (GString *s, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  if (isnan (v)) {
    g_string_append (s, "nan");
    return;
  }
  if (isinf (v)) {
    g_string_append (s, v > 0 ? "inf" : "-inf");
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    char fmt[8];
    g_snprintf (fmt, sizeof fmt, "%%.%dg", prec);
    g_ascii_formatd (buf, sizeof buf, fmt, v);
    if (g_ascii_strtod (buf, NULL) == v)
      break;
  }
  g_string_append (s, buf);
}

/**
 * tl_attrs_value_to_string:
 * @a: a set
 * @key: a key
 *
 * Returns: (transfer full) (nullable): canonical text of the value ("3",
 * "0.5", "abc", "[1,2]"), NULL when missing.
 */
char *
tl_attrs_value_to_string (const TlAttrs *a, const char *key)
{
  AttrEntry *e = find (a, key);
  if (!e)
    return NULL;
  GString *s = g_string_new (NULL);
  switch (e->type) {
  case TL_ATTR_INT: g_string_append_printf (s, "%" G_GINT64_FORMAT, e->v.i); break;
  case TL_ATTR_FLOAT: append_double (s, e->v.f); break;
  case TL_ATTR_STRING: g_string_append (s, e->v.s); break;
  case TL_ATTR_INTS:
  case TL_ATTR_FLOATS:
    g_string_append_c (s, '[');
    for (guint i = 0; i < e->n; i++) {
      if (i)
        g_string_append_c (s, ',');
      if (e->type == TL_ATTR_INTS)
        g_string_append_printf (s, "%" G_GINT64_FORMAT, e->v.ints[i]);
      else
        append_double (s, e->v.floats[i]);
    }
    g_string_append_c (s, ']');
    break;
  default: break;
  }
  return g_string_free (s, FALSE);
}

static gboolean
entry_value_equal (const AttrEntry *x, const AttrEntry *y)
{
  if (x->type != y->type || x->n != y->n)
    return FALSE;
  switch (x->type) {
  case TL_ATTR_INT: return x->v.i == y->v.i;
  case TL_ATTR_FLOAT: return memcmp (&x->v.f, &y->v.f, sizeof (double)) == 0;
  case TL_ATTR_STRING: return strcmp (x->v.s, y->v.s) == 0;
  case TL_ATTR_INTS: return x->n == 0 || memcmp (x->v.ints, y->v.ints, sizeof (gint64) * x->n) == 0;
  case TL_ATTR_FLOATS:
    return x->n == 0 || memcmp (x->v.floats, y->v.floats, sizeof (double) * x->n) == 0;
  default: return TRUE;
  }
}

/**
 * tl_attrs_equal:
 * @a: (nullable): a set
 * @b: (nullable): a set
 *
 * Returns: TRUE when both hold the same keys with the same typed values
 * (order does not matter; floats compare bitwise; NULL equals empty).
 */
gboolean
tl_attrs_equal (const TlAttrs *a, const TlAttrs *b)
{
  if (tl_attrs_size (a) != tl_attrs_size (b))
    return FALSE;
  for (guint i = 0; i < tl_attrs_size (a); i++) {
    const AttrEntry *x = &g_array_index (a->entries, AttrEntry, i);
    const AttrEntry *y = find (b, x->key);
    if (!y || !entry_value_equal (x, y))
      return FALSE;
  }
  return TRUE;
}

static guint64
fnv1a (guint64 h, const void *data, gsize n)
{
  const guint8 *p = data;
  for (gsize i = 0; i < n; i++) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

/**
 * tl_attrs_hash:
 * @a: (nullable): a set
 *
 * Returns: a stable 64-bit hash of keys and values, independent of key
 * order; equal sets hash equally.
 */
guint64
tl_attrs_hash (const TlAttrs *a)
{
  guint64 total = 0x9e3779b97f4a7c15ULL;
  for (guint i = 0; i < tl_attrs_size (a); i++) {
    const AttrEntry *e = &g_array_index (a->entries, AttrEntry, i);
    guint64 h = 0xcbf29ce484222325ULL;
    h = fnv1a (h, e->key, strlen (e->key) + 1);
    guint32 t = e->type;
    h = fnv1a (h, &t, sizeof t);
    switch (e->type) {
    case TL_ATTR_INT: h = fnv1a (h, &e->v.i, sizeof e->v.i); break;
    case TL_ATTR_FLOAT: h = fnv1a (h, &e->v.f, sizeof e->v.f); break;
    case TL_ATTR_STRING: h = fnv1a (h, e->v.s, strlen (e->v.s)); break;
    case TL_ATTR_INTS: h = fnv1a (h, e->v.ints, sizeof (gint64) * e->n); break;
    case TL_ATTR_FLOATS: h = fnv1a (h, e->v.floats, sizeof (double) * e->n); break;
    default: break;
    }
    /* mix so that the sum is order-independent but not trivially colliding */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    total += h;
  }
  return total;
}
