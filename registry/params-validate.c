/* params-validate.c — check textual parameter values against a component's
 * declared parameters; report every problem with a did-you-mean. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "tl-private.h"
#include "registry-private.h"

static guint
edit_distance (const char *a, const char *b)
{
  gsize la = strlen (a), lb = strlen (b);
  if (la > 64 || lb > 64)
    return G_MAXUINT;
  guint row[65];
  for (gsize j = 0; j <= lb; j++)
    row[j] = (guint) j;
  for (gsize i = 1; i <= la; i++) {
    guint diag = row[0];
    row[0] = (guint) i;
    for (gsize j = 1; j <= lb; j++) {
      guint up = row[j];
      guint cost = g_ascii_tolower (a[i - 1]) == g_ascii_tolower (b[j - 1]) ? 0 : 1;
      row[j] = MIN (MIN (row[j] + 1, row[j - 1] + 1), diag + cost);
      diag = up;
    }
  }
  return row[lb];
}

/**
 * _tl_priv_did_you_mean:
 * @name: what the user wrote
 * @candidates: known names
 * @n: number of @candidates
 *
 * Returns: (transfer none) (nullable): the closest candidate by Levenshtein
 * distance when it is close enough (at most a third of the length), else
 * one that contains @name, else one (of 3 characters or more) that @name
 * starts with ("minimum" -> "min"), else NULL.
 */
const char *
_tl_priv_did_you_mean (const char *name, const char *const *candidates, guint n)
{
  const char *best = NULL;
  guint best_d = G_MAXUINT;
  for (guint i = 0; i < n; i++) {
    if (!candidates[i])
      continue;
    guint d = edit_distance (name, candidates[i]);
    if (d < best_d) {
      best_d = d;
      best = candidates[i];
    }
  }
  if (!best)
    return NULL;
  guint limit = MAX (2u, (guint) MAX (strlen (name), strlen (best)) / 3);
  if (best_d <= limit)
    return best;
  /* "embdim" vs "embed_dim" style abbreviations */
  for (guint i = 0; i < n; i++)
    if (candidates[i] && strlen (name) >= 3 && strstr (candidates[i], name))
      return candidates[i];
  /* a name spelt out: "minimum" for "min", "defaults" for "default" */
  for (guint i = 0; i < n; i++)
    if (candidates[i] && strlen (candidates[i]) >= 3 && g_str_has_prefix (name, candidates[i]))
      return candidates[i];
  return NULL;
}

static const char *
article (TlParamType t)
{
  return t == TL_PARAM_INT ? "an" : "a";
}

static gboolean
parse_bool (const char *s, gboolean *out)
{
  static const char *const yes[] = { "true", "1", "yes", "on" };
  static const char *const no[] = { "false", "0", "no", "off" };
  for (guint i = 0; i < G_N_ELEMENTS (yes); i++) {
    if (g_ascii_strcasecmp (s, yes[i]) == 0) {
      *out = TRUE;
      return TRUE;
    }
    if (g_ascii_strcasecmp (s, no[i]) == 0) {
      *out = FALSE;
      return TRUE;
    }
  }
  return FALSE;
}

static void
range_problem (GString *problem, const TlParamSpec *s, const char *owner, const char *shown)
{
  if (s->min && s->max)
    g_string_append_printf (problem, "parameter '%s' of component '%s' must be between %s and %s, got '%s'",
                            s->name, owner, s->min, s->max, shown);
  else if (s->min)
    g_string_append_printf (problem, "parameter '%s' of component '%s' must be >= %s, got '%s'",
                            s->name, owner, s->min, shown);
  else
    g_string_append_printf (problem, "parameter '%s' of component '%s' must be <= %s, got '%s'",
                            s->name, owner, s->max, shown);
}

/**
 * _tl_priv_param_check:
 * @s: the declared parameter
 * @owner: component full name, for messages
 * @text: the value as text
 * @out: (nullable): where to store the typed value
 * @problem: receives one message (no location, no newline) on failure
 *
 * Returns: TRUE when @text is a valid value for @s.
 */
gboolean
_tl_priv_param_check (const TlParamSpec *s, const char *owner, const char *text, TlParams *out,
                      GString *problem)
{
  g_autofree char *trimmed = g_strstrip (g_strdup (text ? text : ""));
  /* the value as quoted in messages: cut, control characters escaped */
  g_autofree char *shown = _tl_priv_escape_short (text);
  switch (s->type) {
  case TL_PARAM_INT: {
    gint64 v;
    if (!g_ascii_string_to_signed (trimmed, 10, G_MININT64, G_MAXINT64, &v, NULL)) {
      g_string_append_printf (problem, "parameter '%s' of component '%s' expects %s %s, got '%s'",
                              s->name, owner, article (s->type), "int", shown);
      return FALSE;
    }
    gint64 lo = s->min ? g_ascii_strtoll (s->min, NULL, 10) : G_MININT64;
    gint64 hi = s->max ? g_ascii_strtoll (s->max, NULL, 10) : G_MAXINT64;
    if (v < lo || v > hi) {
      range_problem (problem, s, owner, shown);
      return FALSE;
    }
    if (out)
      tl_params_set_int (out, s->name, v);
    return TRUE;
  }
  case TL_PARAM_FLOAT: {
    char *end = NULL;
    double v = *trimmed ? g_ascii_strtod (trimmed, &end) : 0;
    if (!*trimmed || !end || *end || !isfinite (v)) {
      g_string_append_printf (problem, "parameter '%s' of component '%s' expects %s %s, got '%s'",
                              s->name, owner, article (s->type), "float", shown);
      return FALSE;
    }
    double lo = s->min ? g_ascii_strtod (s->min, NULL) : -INFINITY;
    double hi = s->max ? g_ascii_strtod (s->max, NULL) : INFINITY;
    if (v < lo || v > hi) {
      range_problem (problem, s, owner, shown);
      return FALSE;
    }
    if (out)
      tl_params_set_float (out, s->name, v);
    return TRUE;
  }
  case TL_PARAM_BOOL: {
    gboolean b;
    if (!parse_bool (trimmed, &b)) {
      g_string_append_printf (problem,
                              "parameter '%s' of component '%s' expects a bool (true/false), got '%s'",
                              s->name, owner, shown);
      return FALSE;
    }
    if (out)
      tl_params_set_bool (out, s->name, b);
    return TRUE;
  }
  case TL_PARAM_CHOICE: {
    for (char **c = s->choices; c && *c; c++)
      if (strcmp (*c, trimmed) == 0) {
        if (out)
          tl_params_set_string (out, s->name, trimmed);
        return TRUE;
      }
    g_autofree char *list = g_strjoinv (", ", s->choices);
    g_string_append_printf (problem, "parameter '%s' of component '%s' must be one of %s, got '%s'",
                            s->name, owner, list, shown);
    const char *dym = _tl_priv_did_you_mean (trimmed, (const char *const *) s->choices,
                                             g_strv_length (s->choices));
    if (dym)
      g_string_append_printf (problem, "; did you mean '%s'?", dym);
    return FALSE;
  }
  case TL_PARAM_PATH: {
    if (out) {
      g_autoptr (GError) err = NULL;
      g_autofree char *expanded = strstr (text, "${") ? tl_expand_vars (text, &err) : g_strdup (text);
      if (!expanded) {
        g_string_append_printf (problem, "parameter '%s' of component '%s': %s", s->name, owner,
                                err ? err->message : "cannot expand variables");
        return FALSE;
      }
      tl_params_set_string (out, s->name, expanded);
    }
    return TRUE;
  }
  case TL_PARAM_STRING:
  default:
    if (out)
      tl_params_set_string (out, s->name, text);
    return TRUE;
  }
}

static void
add_line (GString *all, const char *location, const char *msg)
{
  if (all->len)
    g_string_append_c (all, '\n');
  if (location && *location)
    g_string_append_printf (all, "%s: ", location);
  /* values may hold control characters: one problem per line */
  g_autofree char *esc = _tl_priv_escape_controls (msg);
  g_string_append (all, esc);
}

/**
 * tl_component_info_make_params:
 * @c: the component
 * @n: number of (name, value) pairs
 * @names: (array length=n): parameter names
 * @values: (array length=n): values as text
 * @locations: (nullable) (array length=n): per-pair message prefix
 *   ("job.xml:12"), each nullable
 * @error: return location for a #GError
 *
 * Validates the pairs against the parameters @c declares and fills in the
 * defaults. Every problem is reported, one per line, in one
 * %TL_ERROR_INVALID_ARGUMENT error.
 *
 * Returns: (transfer full) (nullable): the complete parameters.
 */
TlParams *
tl_component_info_make_params (const TlComponentInfo *c, guint n, const char *const *names,
                               const char *const *values, const char *const *locations,
                               GError **error)
{
  g_return_val_if_fail (c != NULL, NULL);
  g_return_val_if_fail (n == 0 || (names && values), NULL);
  g_autoptr (GString) all = g_string_new (NULL);
  g_autoptr (GString) one = g_string_new (NULL);
  TlParams *out = tl_params_new ();
  guint np = c->params->len;
  g_autofree const char **known = g_new0 (const char *, np + 1);
  for (guint i = 0; i < np; i++)
    known[i] = ((TlParamSpec *) g_ptr_array_index (c->params, i))->name;

  for (guint i = 0; i < n; i++) {
    const char *loc = locations ? locations[i] : NULL;
    const char *name = names[i] ? names[i] : "";
    const TlParamSpec *s = tl_component_info_find_param (c, name);
    g_string_truncate (one, 0);
    if (!s) {
      g_autofree char *ename = _tl_priv_escape_short (name);
      g_string_append_printf (one, "parameter '%s' is not known to component '%s'", ename,
                              c->full_name);
      const char *dym = _tl_priv_did_you_mean (name, known, np);
      if (dym)
        g_string_append_printf (one, "; did you mean '%s'?", dym);
      else if (np == 0)
        g_string_append (one, " (it has no parameters)");
      add_line (all, loc, one->str);
      continue;
    }
    gboolean dup = FALSE;
    for (guint j = 0; j < i && !dup; j++)
      dup = names[j] && strcmp (names[j], name) == 0;
    if (dup) {
      g_string_append_printf (one, "parameter '%s' of component '%s' is set twice", name,
                              c->full_name);
      add_line (all, loc, one->str);
      continue;
    }
    if (!_tl_priv_param_check (s, c->full_name, values[i] ? values[i] : "", out, one))
      add_line (all, loc, one->str);
  }
  for (guint i = 0; i < np; i++) {
    const TlParamSpec *s = g_ptr_array_index (c->params, i);
    if (tl_params_has (out, s->name))
      continue;
    gboolean given = FALSE;
    for (guint j = 0; j < n && !given; j++)
      given = names[j] && strcmp (names[j], s->name) == 0;
    if (given)
      continue; /* already reported as invalid */
    g_string_truncate (one, 0);
    if (!s->dflt) {
      g_string_append_printf (one, "component '%s' requires parameter '%s' (%s%s%s)", c->full_name,
                              s->name, _tl_priv_param_type_name (s->type), s->doc && *s->doc ? ": " : "",
                              s->doc ? s->doc : "");
      add_line (all, NULL, one->str);
    } else if (!_tl_priv_param_check (s, c->full_name, s->dflt, out, one)) {
      add_line (all, NULL, one->str);
    }
  }
  if (all->len) {
    g_set_error_literal (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, all->str);
    tl_params_free (out);
    return NULL;
  }
  return out;
}
