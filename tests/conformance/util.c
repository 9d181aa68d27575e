/* util.c — helpers shared by the conformance checks. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "conformance.h"

TlParams *
tlc_make_params (const TlComponentInfo *ci, const char *const *assignments, GError **error)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; assignments && assignments[i]; i++) {
    const char *eq = strchr (assignments[i], '=');
    if (!eq) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "'%s' is not name=value", assignments[i]);
      return NULL;
    }
    g_ptr_array_add (names, g_strndup (assignments[i], eq - assignments[i]));
    g_ptr_array_add (values, g_strdup (eq + 1));
  }
  return tl_component_info_make_params (ci, names->len, (const char *const *) names->pdata,
                                        (const char *const *) values->pdata, NULL, error);
}

TlParams *
tlc_default_params (const TlComponentInfo *ci, GError **error)
{
  for (guint i = 0; i < tl_component_info_n_params (ci); i++) {
    const TlParamSpec *sp = tl_component_info_param (ci, i);
    if (!tl_param_spec_default (sp)) {
      tlc_skip ("%s requires parameter '%s' (no default)", tl_component_info_full_name (ci),
                tl_param_spec_name (sp));
      return NULL;
    }
  }
  return tlc_make_params (ci, NULL, error);
}

const void *
tlc_load (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  return tl_registry_load_component (s->reg, ci, error);
}

TlTensor *
tlc_random_tensor (const TlTensorDesc *desc, guint64 seed, double low, double high, GError **error)
{
  TlTensor *t = tl_tensor_new_from_desc (desc, error);
  if (!t)
    return NULL;
  TlRng rng;
  tl_rng_init (&rng, seed, 0);
  gboolean is_float = tl_dtype_is_float (desc->dtype);
  gint64 n = tl_tensor_numel (t);
  for (gint64 i = 0; i < n; i++) {
    double u = low + tl_rng_uniform (&rng) * (high - low);
    if (desc->dtype == TL_DTYPE_BOOL)
      u = tl_rng_uniform (&rng) < 0.5 ? 0 : 1;
    else if (!is_float)
      u = floor (u);
    tl_tensor_set_flat (t, i, u);
  }
  return t;
}

gboolean
tlc_tensor_finite (const TlTensor *t)
{
  if (!tl_dtype_is_float (tl_tensor_dtype (t)))
    return TRUE;
  gint64 n = tl_tensor_numel (t);
  for (gint64 i = 0; i < n; i++)
    if (!isfinite (tl_tensor_get_flat (t, i)))
      return FALSE;
  return TRUE;
}

gpointer
tlc_create (TlcSuite *s, const TlComponentInfo *ci, const TlParams *params, GError **error)
{
  const void *table = tlc_load (s, ci, error);
  if (!table)
    return NULL;
  const char *name = tl_component_info_full_name (ci);
  switch (tl_component_info_kind (ci)) {
  case TL_COMPONENT_DATASET:
    return tl_dataset_instance_new (table, name, params, error);
  case TL_COMPONENT_MODEL:
    return tl_model_instance_new (table, name, params, 42, error);
  case TL_COMPONENT_PLANNER:
    return tl_planner_instance_new (table, name, params, error);
  default:
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "%s: ops have no instances", name);
    return NULL;
  }
}

void
tlc_destroy (const TlComponentInfo *ci, gpointer instance)
{
  switch (tl_component_info_kind (ci)) {
  case TL_COMPONENT_DATASET:
    tl_dataset_instance_free (instance);
    break;
  case TL_COMPONENT_MODEL:
    tl_model_instance_free (instance);
    break;
  case TL_COMPONENT_PLANNER:
    tl_planner_instance_free (instance);
    break;
  default:
    break;
  }
}

const void *
tlc_extension (const TlComponentInfo *ci, const void *table, const char *id)
{
  if (!table)
    return NULL;
  switch (tl_component_info_kind (ci)) {
  case TL_COMPONENT_OP: {
    const TlOpDef *d = table;
    return TL_TABLE_HAS (d, TlOpDef, get_extension, 0) && d->get_extension ? d->get_extension (id) : NULL;
  }
  case TL_COMPONENT_MODEL: {
    const TlModelDef *d = table;
    return TL_TABLE_HAS (d, TlModelDef, get_extension, 0) && d->get_extension ? d->get_extension (id) : NULL;
  }
  case TL_COMPONENT_DATASET: {
    const TlDatasetDef *d = table;
    return TL_TABLE_HAS (d, TlDatasetDef, get_extension, 0) && d->get_extension ? d->get_extension (id)
                                                                                 : NULL;
  }
  case TL_COMPONENT_PLANNER: {
    const TlPlannerDef *d = table;
    return TL_TABLE_HAS (d, TlPlannerDef, get_extension, 0) && d->get_extension ? d->get_extension (id)
                                                                                 : NULL;
  }
  default:
    return NULL;
  }
}

void
tlc_failed_silently (GError **error, const char *what)
{
  if (error && !*error)
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "%s returned FALSE without setting error", what);
}

TlDatasetInstance *
tlc_open_dataset (TlcSuite *s, const char *name, const char *const *assignments, GError **error)
{
  const TlComponentInfo *ci = tl_registry_find_component (s->reg, name, error);
  if (!ci)
    return NULL;
  if (tl_component_info_kind (ci) != TL_COMPONENT_DATASET) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "%s is not a dataset", name);
    return NULL;
  }
  TlParams *p = tlc_make_params (ci, assignments, error);
  if (!p)
    return NULL;
  TlDatasetInstance *d = tlc_create (s, ci, p, error);
  tl_params_free (p);
  return d;
}
