/* checkpoint.c — saving and loading a TlParamStore (and optimizer state). */
#include "config.h"

#include <string.h>

#include "tl-private.h"

#define CKPT_OPTIM_PREFIX "optim/"

static char *
shape_string (guint ndim, const gint64 *shape)
{
  GString *s = g_string_new ("[");
  for (guint i = 0; i < ndim; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? "," : "", shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static gboolean
same_shape (const TlTensor *a, const TlTensor *b)
{
  if (tl_tensor_ndim (a) != tl_tensor_ndim (b))
    return FALSE;
  return memcmp (tl_tensor_shape (a), tl_tensor_shape (b), sizeof (gint64) * tl_tensor_ndim (a)) ==
         0;
}

static char *
optim_key (const char *param, const char *slot)
{
  return g_strdup_printf (CKPT_OPTIM_PREFIX "%s/%s", param, slot);
}

/**
 * tl_checkpoint_save:
 * @store: parameters to save
 * @opt: (nullable): optimizer whose state is saved too
 * @metadata: (nullable): extra string -> string metadata (e.g. "step")
 * @path: destination, replaced atomically
 * @error: return location for a #GError
 *
 * Returns: TRUE on success.
 */
gboolean
tl_checkpoint_save (TlParamStore *store, const TlOptimizer *opt, GHashTable *metadata,
                    const char *path, GError **error)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) tensors = g_ptr_array_new ();
  g_autoptr (GHashTable) meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (metadata) {
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init (&it, metadata);
    while (g_hash_table_iter_next (&it, &k, &v))
      g_hash_table_replace (meta, g_strdup (k), g_strdup (v ? v : ""));
  }
  g_hash_table_replace (meta, g_strdup ("format"), g_strdup ("tl-checkpoint-1"));
  guint n = tl_param_store_size (store);
  for (guint i = 0; i < n; i++) {
    g_ptr_array_add (names, g_strdup (tl_param_store_name (store, i)));
    g_ptr_array_add (tensors, tl_param_store_tensor (store, i));
  }
  if (opt) {
    g_hash_table_replace (meta, g_strdup ("optim.kind"), g_strdup (tl_optimizer_kind (opt)));
    g_hash_table_replace (meta, g_strdup ("optim.steps"),
                          g_strdup_printf ("%" G_GUINT64_FORMAT, tl_optimizer_get_steps (opt)));
    for (guint i = 0; i < tl_optimizer_n_params (opt); i++) {
      for (guint s = 0; s < tl_optimizer_n_slots (opt); s++) {
        TlTensor *st = tl_optimizer_get_state (opt, i, s);
        if (!st)
          continue;
        g_ptr_array_add (
            names, optim_key (tl_optimizer_param_name (opt, i), tl_optimizer_slot_name (opt, s)));
        g_ptr_array_add (tensors, st);
      }
    }
  }
  return tl_safetensors_write (path, names->len, (const char *const *) names->pdata,
                               (TlTensor *const *) tensors->pdata, meta, error);
}

static void
append_list (GString *s, GPtrArray *list, guint max)
{
  for (guint i = 0; i < list->len && i < max; i++) {
    /* names may come from the file: keep the message on one line */
    g_autofree char *name = _tl_priv_escape_short (list->pdata[i]);
    g_string_append_printf (s, "%s'%s'", i ? ", " : "", name);
  }
  if (list->len > max)
    g_string_append_printf (s, ", ... (%u in all)", list->len);
}

static int
str_cmp (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/**
 * tl_checkpoint_load_full:
 * @store: parameters to fill
 * @opt: (nullable): optimizer to restore (state and step count)
 * @path: checkpoint written by tl_checkpoint_save()
 * @metadata: (out) (optional) (transfer full): the file's metadata
 * @error: return location for a #GError
 *
 * Every parameter of @store must be in the file with the same dtype and
 * shape, and the file must hold no other parameter; the error names the
 * mismatches. Nothing is modified when it fails.
 *
 * Returns: TRUE on success.
 */
gboolean
tl_checkpoint_load_full (TlParamStore *store, TlOptimizer *opt, const char *path,
                         GHashTable **metadata, GError **error)
{
  g_autoptr (GHashTable) meta = NULL;
  g_autoptr (GHashTable) file = tl_safetensors_read (path, &meta, error);
  if (!file)
    return FALSE;
  g_autoptr (GPtrArray) missing = g_ptr_array_new ();
  g_autoptr (GPtrArray) unexpected = g_ptr_array_new ();
  guint n = tl_param_store_size (store);
  for (guint i = 0; i < n; i++) {
    const char *name = tl_param_store_name (store, i);
    TlTensor *want = tl_param_store_tensor (store, i);
    TlTensor *have = g_hash_table_lookup (file, name);
    if (!have) {
      g_ptr_array_add (missing, (gpointer) name);
      continue;
    }
    if (tl_tensor_dtype (have) != tl_tensor_dtype (want)) {
      g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                   "%s: parameter '%s' is %s in the model but %s in the file", path, name,
                   tl_dtype_name (tl_tensor_dtype (want)), tl_dtype_name (tl_tensor_dtype (have)));
      return FALSE;
    }
    if (!same_shape (have, want)) {
      g_autofree char *ws = shape_string (tl_tensor_ndim (want), tl_tensor_shape (want));
      g_autofree char *hs = shape_string (tl_tensor_ndim (have), tl_tensor_shape (have));
      g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                   "%s: parameter '%s' has shape %s in the model but %s in the file", path, name,
                   ws, hs);
      return FALSE;
    }
  }
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, file);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (!g_str_has_prefix (k, CKPT_OPTIM_PREFIX) && !tl_param_store_lookup (store, k))
      g_ptr_array_add (unexpected, k);
  if (missing->len || unexpected->len) {
    g_ptr_array_sort (unexpected, str_cmp);
    GString *s = g_string_new (NULL);
    g_string_append_printf (s, "%s: checkpoint does not match the model:", path);
    if (missing->len) {
      g_string_append (s, " missing ");
      append_list (s, missing, 8);
      if (unexpected->len)
        g_string_append_c (s, ';');
    }
    if (unexpected->len) {
      g_string_append (s, " unexpected ");
      append_list (s, unexpected, 8);
    }
    g_set_error_literal (error, TL_ERROR, TL_ERROR_SHAPE, s->str);
    g_string_free (s, TRUE);
    return FALSE;
  }
  /* Optimizer state: validate first, apply after. */
  guint64 steps = 0;
  if (opt) {
    const char *kind = g_hash_table_lookup (meta, "optim.kind");
    const char *steps_s = g_hash_table_lookup (meta, "optim.steps");
    if (!kind || !steps_s) {
      g_set_error (error, TL_ERROR, TL_ERROR_NOT_FOUND, "%s: the checkpoint has no optimizer state",
                   path);
      return FALSE;
    }
    if (strcmp (kind, tl_optimizer_kind (opt)) != 0) {
      g_autofree char *ekind = _tl_priv_escape_short (kind);
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "%s: optimizer state is for \"%s\", the run uses \"%s\"", path, ekind,
                   tl_optimizer_kind (opt));
      return FALSE;
    }
    if (!g_ascii_string_to_unsigned (steps_s, 10, 0, G_MAXUINT64, &steps, NULL)) {
      g_autofree char *esteps = _tl_priv_escape_short (steps_s);
      g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "%s: bad optim.steps \"%s\"", path, esteps);
      return FALSE;
    }
    for (guint i = 0; i < tl_optimizer_n_params (opt); i++) {
      const char *pname = tl_optimizer_param_name (opt, i);
      TlTensor *p = tl_param_store_lookup (store, pname);
      for (guint s = 0; s < tl_optimizer_n_slots (opt); s++) {
        g_autofree char *key = optim_key (pname, tl_optimizer_slot_name (opt, s));
        TlTensor *st = g_hash_table_lookup (file, key);
        if (st && (tl_tensor_dtype (st) != TL_DTYPE_F32 || (p && !same_shape (st, p)))) {
          g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                       "%s: optimizer state '%s' does not match its parameter", path, key);
          return FALSE;
        }
      }
    }
  }
  /* Apply. */
  for (guint i = 0; i < n; i++) {
    TlTensor *have = g_hash_table_lookup (file, tl_param_store_name (store, i));
    if (!tl_tensor_copy_into (tl_param_store_tensor (store, i), have, error))
      return FALSE;
  }
  if (opt) {
    for (guint i = 0; i < tl_optimizer_n_params (opt); i++) {
      const char *pname = tl_optimizer_param_name (opt, i);
      for (guint s = 0; s < tl_optimizer_n_slots (opt); s++) {
        g_autofree char *key = optim_key (pname, tl_optimizer_slot_name (opt, s));
        TlTensor *st = g_hash_table_lookup (file, key);
        if (st && !tl_optimizer_set_state (opt, i, s, st, error))
          return FALSE;
      }
    }
    tl_optimizer_set_steps (opt, steps);
  }
  if (metadata)
    *metadata = g_steal_pointer (&meta);
  return TRUE;
}

/**
 * tl_checkpoint_load:
 * @store: parameters to fill
 * @opt: (nullable): optimizer to restore
 * @path: checkpoint file
 * @error: return location for a #GError
 *
 * See tl_checkpoint_load_full().
 *
 * Returns: TRUE on success.
 */
gboolean
tl_checkpoint_load (TlParamStore *store, TlOptimizer *opt, const char *path, GError **error)
{
  return tl_checkpoint_load_full (store, opt, path, NULL, error);
}

/* --- name mappings ------------------------------------------------------ */

static const char *
map_leaf (const char *leaf)
{
  if (strcmp (leaf, "weight") == 0 || strcmp (leaf, "gamma") == 0)
    return "weight";
  if (strcmp (leaf, "bias") == 0 || strcmp (leaf, "beta") == 0)
    return "bias";
  return NULL;
}

static const struct {
  const char *hf;
  const char *tl;
} bert_layer_map[] = {
    {"attention.self.query.", "attn.q."},
    {"attention.self.key.", "attn.k."},
    {"attention.self.value.", "attn.v."},
    {"attention.output.dense.", "attn.out."},
    {"attention.output.LayerNorm.", "attn_norm."},
    {"intermediate.dense.", "ffn.fc1."},
    {"output.dense.", "ffn.fc2."},
    {"output.LayerNorm.", "ffn_norm."},
};

static const struct {
  const char *hf;
  const char *tl;
} bert_top_map[] = {
    {"embeddings.word_embeddings.", "embed.word."},
    {"embeddings.position_embeddings.", "embed.pos."},
    {"embeddings.token_type_embeddings.", "embed.type."},
    {"embeddings.LayerNorm.", "embed.norm."},
    {"pooler.dense.", "pooler.dense."},
};

static char *
map_bert (const char *name)
{
  if (g_str_has_prefix (name, "bert."))
    name += 5;
  for (gsize i = 0; i < G_N_ELEMENTS (bert_top_map); i++) {
    if (g_str_has_prefix (name, bert_top_map[i].hf)) {
      const char *leaf = map_leaf (name + strlen (bert_top_map[i].hf));
      return leaf ? g_strconcat (bert_top_map[i].tl, leaf, NULL) : NULL;
    }
  }
  if (!g_str_has_prefix (name, "encoder.layer."))
    return NULL;
  const char *p = name + strlen ("encoder.layer.");
  const char *q = p;
  while (g_ascii_isdigit (*q))
    q++;
  if (q == p || q - p > 6 || *q != '.')
    return NULL;
  g_autofree char *num = g_strndup (p, (gsize) (q - p));
  q++;
  for (gsize i = 0; i < G_N_ELEMENTS (bert_layer_map); i++) {
    if (g_str_has_prefix (q, bert_layer_map[i].hf)) {
      const char *leaf = map_leaf (q + strlen (bert_layer_map[i].hf));
      return leaf ? g_strconcat ("encoder.", num, ".", bert_layer_map[i].tl, leaf, NULL) : NULL;
    }
  }
  return NULL;
}

static gboolean
mapping_known (const char *mapping)
{
  return mapping == NULL || strcmp (mapping, "none") == 0 || strcmp (mapping, "bert") == 0;
}

/**
 * tl_checkpoint_map_name:
 * @mapping: (nullable): "bert", or NULL/"none" for the identity
 * @file_name: a tensor name from a pretrained file
 *
 * Returns: (transfer full) (nullable): the tl parameter name, NULL when the
 * file tensor maps to nothing (see the table in tl-checkpoint.h).
 */
char *
tl_checkpoint_map_name (const char *mapping, const char *file_name)
{
  if (!file_name)
    return NULL;
  if (mapping == NULL || strcmp (mapping, "none") == 0)
    return g_strdup (file_name);
  if (strcmp (mapping, "bert") == 0)
    return map_bert (file_name);
  return NULL;
}

/**
 * tl_checkpoint_load_mapped:
 * @store: parameters to fill
 * @path: a safetensors file (e.g. a Hugging Face model.safetensors)
 * @mapping: (nullable): "bert", or NULL/"none"
 * @error: return location for a #GError
 *
 * Copies every file tensor whose mapped name is a parameter of @store
 * (shapes must match, float dtypes are converted); parameters absent from
 * the file keep their values. Nothing is modified when it fails.
 *
 * Returns: TRUE when at least one parameter was loaded and all matched.
 */
gboolean
tl_checkpoint_load_mapped (TlParamStore *store, const char *path, const char *mapping,
                           GError **error)
{
  if (!mapping_known (mapping)) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "unknown checkpoint name mapping \"%s\" (none, bert)", mapping);
    return FALSE;
  }
  g_autoptr (GHashTable) file = tl_safetensors_read (path, NULL, error);
  if (!file)
    return FALSE;
  g_autoptr (GPtrArray) dst = g_ptr_array_new ();
  g_autoptr (GPtrArray) src = g_ptr_array_new ();
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, file);
  while (g_hash_table_iter_next (&it, &k, &v)) {
    char *mapped = tl_checkpoint_map_name (mapping, k);
    if (!mapped)
      continue;
    TlTensor *want = tl_param_store_lookup (store, mapped);
    if (!want) {
      g_free (mapped);
      continue;
    }
    if (g_hash_table_contains (seen, mapped)) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "%s: two tensors map to parameter '%s'", path, mapped);
      g_free (mapped);
      return FALSE;
    }
    g_hash_table_add (seen, mapped);
    TlTensor *have = v;
    if (!same_shape (have, want)) {
      g_autofree char *ws = shape_string (tl_tensor_ndim (want), tl_tensor_shape (want));
      g_autofree char *hs = shape_string (tl_tensor_ndim (have), tl_tensor_shape (have));
      g_autofree char *ek = _tl_priv_escape_short (k);
      g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                   "%s: parameter '%s' (file '%s') has shape %s in the model but %s in the file",
                   path, mapped, ek, ws, hs);
      return FALSE;
    }
    if (tl_tensor_dtype (have) != tl_tensor_dtype (want) &&
        !(tl_dtype_is_float (tl_tensor_dtype (have)) &&
          tl_dtype_is_float (tl_tensor_dtype (want)))) {
      g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                   "%s: parameter '%s' is %s in the model but %s in the file", path, mapped,
                   tl_dtype_name (tl_tensor_dtype (want)), tl_dtype_name (tl_tensor_dtype (have)));
      return FALSE;
    }
    g_ptr_array_add (dst, want);
    g_ptr_array_add (src, have);
  }
  if (dst->len == 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_NOT_FOUND,
                 "%s: no tensor of the file matches a model parameter (mapping \"%s\")", path,
                 mapping ? mapping : "none");
    return FALSE;
  }
  for (guint i = 0; i < dst->len; i++)
    if (!tl_tensor_copy_into (dst->pdata[i], src->pdata[i], error))
      return FALSE;
  guint n = tl_param_store_size (store);
  for (guint i = 0; i < n; i++)
    if (!g_hash_table_contains (seen, tl_param_store_name (store, i)))
      tl_info ("%s: parameter '%s' not in the file, keeps its initial value", path,
               tl_param_store_name (store, i));
  return TRUE;
}
