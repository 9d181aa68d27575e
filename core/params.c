/* params.c — TlParams: an ordered set of typed, validated parameters. */
#include "config.h"

#include <string.h>

#include "tl-private.h"

typedef enum { P_INT, P_FLOAT, P_BOOL, P_STRING } PType;

typedef struct {
  char *name;
  PType type;
  union {
    gint64 i;
    double f;
    gboolean b;
    char *s;
  } v;
} Param;

struct _TlParams {
  GPtrArray *items; /* Param*, in insertion order */
};

static void
param_free (gpointer data)
{
  Param *p = data;
  if (p->type == P_STRING)
    g_free (p->v.s);
  g_free (p->name);
  g_free (p);
}

/**
 * tl_params_new:
 *
 * Creates an empty parameter set.
 *
 * Returns: (transfer full): a new #TlParams; free with tl_params_free().
 */
TlParams *
tl_params_new (void)
{
  TlParams *p = g_new0 (TlParams, 1);
  p->items = g_ptr_array_new_with_free_func (param_free);
  return p;
}

/**
 * tl_params_copy:
 * @p: (nullable): parameters
 *
 * Returns: (transfer full) (nullable): a deep copy of @p, NULL for NULL.
 */
TlParams *
tl_params_copy (const TlParams *p)
{
  if (!p)
    return NULL;
  TlParams *c = tl_params_new ();
  for (guint i = 0; i < p->items->len; i++) {
    const Param *src = g_ptr_array_index (p->items, i);
    Param *d = g_new0 (Param, 1);
    d->name = g_strdup (src->name);
    d->type = src->type;
    d->v = src->v;
    if (d->type == P_STRING)
      d->v.s = g_strdup (src->v.s);
    g_ptr_array_add (c->items, d);
  }
  return c;
}

/**
 * tl_params_free:
 * @p: (transfer full) (nullable): parameters
 *
 * Frees @p; NULL is a no-op.
 */
void
tl_params_free (TlParams *p)
{
  if (!p)
    return;
  g_ptr_array_unref (p->items);
  g_free (p);
}

static Param *
find (const TlParams *p, const char *name)
{
  if (!p || !name)
    return NULL;
  for (guint i = 0; i < p->items->len; i++) {
    Param *x = g_ptr_array_index (p->items, i);
    if (strcmp (x->name, name) == 0)
      return x;
  }
  return NULL;
}

/* The entry for `name`, reset to an empty value of type `type`. */
static Param *
slot (TlParams *p, const char *name, PType type)
{
  Param *x = find (p, name);
  if (!x) {
    x = g_new0 (Param, 1);
    x->name = g_strdup (name);
    g_ptr_array_add (p->items, x);
  } else if (x->type == P_STRING) {
    g_free (x->v.s);
    x->v.s = NULL;
  }
  x->type = type;
  return x;
}

/**
 * tl_params_set_int:
 * @p: parameters
 * @name: parameter name (copied)
 * @v: value
 *
 * Sets (or replaces) an integer parameter.
 */
void
tl_params_set_int (TlParams *p, const char *name, gint64 v)
{
  g_return_if_fail (p != NULL && name != NULL);
  slot (p, name, P_INT)->v.i = v;
}

/**
 * tl_params_set_float:
 * @p: parameters
 * @name: parameter name (copied)
 * @v: value
 *
 * Sets (or replaces) a floating-point parameter.
 */
void
tl_params_set_float (TlParams *p, const char *name, double v)
{
  g_return_if_fail (p != NULL && name != NULL);
  slot (p, name, P_FLOAT)->v.f = v;
}

/**
 * tl_params_set_bool:
 * @p: parameters
 * @name: parameter name (copied)
 * @v: value
 *
 * Sets (or replaces) a boolean parameter.
 */
void
tl_params_set_bool (TlParams *p, const char *name, gboolean v)
{
  g_return_if_fail (p != NULL && name != NULL);
  slot (p, name, P_BOOL)->v.b = v ? TRUE : FALSE;
}

/**
 * tl_params_set_string:
 * @p: parameters
 * @name: parameter name (copied)
 * @v: value (copied; NULL is stored as "")
 *
 * Sets (or replaces) a string parameter (also used for choice and path).
 */
void
tl_params_set_string (TlParams *p, const char *name, const char *v)
{
  g_return_if_fail (p != NULL && name != NULL);
  char *copy = g_strdup (v ? v : "");
  slot (p, name, P_STRING)->v.s = copy;
}

/**
 * tl_params_has:
 * @p: (nullable): parameters
 * @name: parameter name
 *
 * Returns: whether @name is set.
 */
gboolean
tl_params_has (const TlParams *p, const char *name)
{
  return find (p, name) != NULL;
}

/**
 * tl_params_get_int:
 * @p: (nullable): parameters
 * @name: parameter name
 * @fallback: returned when @name is unset or not an integer
 *
 * Returns: the integer value of @name (booleans read as 0/1).
 */
gint64
tl_params_get_int (const TlParams *p, const char *name, gint64 fallback)
{
  const Param *x = find (p, name);
  if (x && x->type == P_INT)
    return x->v.i;
  if (x && x->type == P_BOOL)
    return x->v.b;
  return fallback;
}

/**
 * tl_params_get_float:
 * @p: (nullable): parameters
 * @name: parameter name
 * @fallback: returned when @name is unset or not numeric
 *
 * Returns: the value of @name as a double (integers convert).
 */
double
tl_params_get_float (const TlParams *p, const char *name, double fallback)
{
  const Param *x = find (p, name);
  if (x && x->type == P_FLOAT)
    return x->v.f;
  if (x && x->type == P_INT)
    return (double) x->v.i;
  return fallback;
}

/**
 * tl_params_get_bool:
 * @p: (nullable): parameters
 * @name: parameter name
 * @fallback: returned when @name is unset or not a boolean
 *
 * Returns: the boolean value of @name (integers: non-zero is TRUE).
 */
gboolean
tl_params_get_bool (const TlParams *p, const char *name, gboolean fallback)
{
  const Param *x = find (p, name);
  if (x && x->type == P_BOOL)
    return x->v.b;
  if (x && x->type == P_INT)
    return x->v.i != 0;
  return fallback;
}

/**
 * tl_params_get_string:
 * @p: (nullable): parameters
 * @name: parameter name
 * @fallback: (nullable): returned when @name is unset or not a string
 *
 * Returns: (transfer none) (nullable): the string value of @name, valid
 * while @p lives and @name is not set again.
 */
const char *
tl_params_get_string (const TlParams *p, const char *name, const char *fallback)
{
  const Param *x = find (p, name);
  if (x && x->type == P_STRING)
    return x->v.s;
  return fallback;
}

/**
 * tl_params_size:
 * @p: (nullable): parameters
 *
 * Returns: the number of parameters set.
 */
guint
tl_params_size (const TlParams *p)
{
  return p ? p->items->len : 0;
}

/**
 * tl_params_name:
 * @p: parameters
 * @i: index below tl_params_size()
 *
 * Returns: (transfer none) (nullable): the name of the i-th parameter, in the
 * order they were first set; NULL when @i is out of range.
 */
const char *
tl_params_name (const TlParams *p, guint i)
{
  if (!p || i >= p->items->len)
    return NULL;
  return ((const Param *) g_ptr_array_index (p->items, i))->name;
}

/**
 * tl_params_to_string:
 * @p: (nullable): parameters
 * @name: parameter name
 *
 * Formats a value as text: integers in decimal, floats in the shortest form
 * that reads back exactly, booleans as "true"/"false".
 *
 * Returns: (transfer full) (nullable): the text, or NULL when unset.
 */
char *
tl_params_to_string (const TlParams *p, const char *name)
{
  const Param *x = find (p, name);
  if (!x)
    return NULL;
  switch (x->type) {
  case P_INT:
    return g_strdup_printf ("%" G_GINT64_FORMAT, x->v.i);
  case P_FLOAT: {
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    return g_strdup (g_ascii_dtostr (buf, sizeof buf, x->v.f));
  }
  case P_BOOL:
    return g_strdup (x->v.b ? "true" : "false");
  case P_STRING:
  default:
    return g_strdup (x->v.s);
  }
}
