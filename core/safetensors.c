/* safetensors.c — reading and writing the safetensors format. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tl-private.h"
#include "json-mini.h"

/* Safetensors data is little-endian and is read and written as the tensors
 * hold it in memory: configure refuses big-endian hosts (AC_C_BIGENDIAN),
 * this repeats it for any other build. */
G_STATIC_ASSERT (G_BYTE_ORDER == G_LITTLE_ENDIAN);

/* Largest header accepted (the reference implementation uses 100 MB). */
#define ST_MAX_HEADER (100u * 1024 * 1024)

static const struct {
  const char *st;
  TlDType dtype;
} st_dtypes[] = {
    {"F32", TL_DTYPE_F32}, {"F16", TL_DTYPE_F16}, {"BF16", TL_DTYPE_BF16},
    {"F64", TL_DTYPE_F64}, {"I64", TL_DTYPE_I64}, {"I32", TL_DTYPE_I32},
    {"I8", TL_DTYPE_I8},   {"U8", TL_DTYPE_U8},   {"BOOL", TL_DTYPE_BOOL},
};

static TlDType
st_dtype_parse (const char *s)
{
  for (gsize i = 0; i < G_N_ELEMENTS (st_dtypes); i++)
    if (strcmp (st_dtypes[i].st, s) == 0)
      return st_dtypes[i].dtype;
  return TL_DTYPE_INVALID;
}

static const char *
st_dtype_name (TlDType d)
{
  for (gsize i = 0; i < G_N_ELEMENTS (st_dtypes); i++)
    if (st_dtypes[i].dtype == d)
      return st_dtypes[i].st;
  return NULL;
}

typedef struct {
  const char *name;
  TlDType dtype;
  guint ndim;
  gint64 shape[TL_MAX_DIMS];
  guint64 begin, end;
} StEntry;

static int
entry_cmp (gconstpointer a, gconstpointer b)
{
  const StEntry *x = a, *y = b;
  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : (x->end > y->end);
}

static char *
shape_string (const StEntry *e)
{
  GString *s = g_string_new ("[");
  for (guint i = 0; i < e->ndim; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? "," : "", e->shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static gboolean
parse_entry (const char *path, const char *name, const TlJson *v, guint64 data_size, StEntry *e,
             GError **error)
{
  /* names come from the file: keep messages on one line */
  g_autofree char *ename = _tl_priv_escape_short (name);
  if (v->type != TL_JSON_OBJECT) {
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "%s: tensor '%s': entry is not an object", path,
                 ename);
    return FALSE;
  }
  const TlJson *dt = _tl_priv_json_member (v, "dtype");
  const TlJson *sh = _tl_priv_json_member (v, "shape");
  const TlJson *off = _tl_priv_json_member (v, "data_offsets");
  if (!dt || dt->type != TL_JSON_STRING || !sh || sh->type != TL_JSON_ARRAY || !off ||
      off->type != TL_JSON_ARRAY) {
    g_set_error (
        error, TL_ERROR, TL_ERROR_PARSE,
        "%s: tensor '%s': needs \"dtype\" (string), \"shape\" and \"data_offsets\" (arrays)", path,
        ename);
    return FALSE;
  }
  e->name = name;
  e->dtype = st_dtype_parse (dt->str);
  if (e->dtype == TL_DTYPE_INVALID) {
    g_autofree char *edt = _tl_priv_escape_short (dt->str);
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "%s: tensor '%s': unsupported dtype \"%s\"",
                 path, ename, edt);
    return FALSE;
  }
  if (sh->n > TL_MAX_DIMS) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "%s: tensor '%s': %u dimensions (at most %d)", path, ename, sh->n, TL_MAX_DIMS);
    return FALSE;
  }
  e->ndim = sh->n;
  /* The product of the non-zero dimensions bounds the strides of the
   * tensor: it must fit even when a zero dimension makes the tensor empty
   * ([0, 2^63-1, 2^63-1] holds no element but its strides would overflow). */
  gsize esz = tl_dtype_size (e->dtype);
  guint64 extent = 1;
  gboolean zero = FALSE, too_large = FALSE;
  for (guint i = 0; i < sh->n; i++) {
    const TlJson *d = sh->items[i];
    if (d->type != TL_JSON_NUMBER || !d->is_uint || d->uint > (guint64) G_MAXINT64) {
      g_set_error (error, TL_ERROR, TL_ERROR_PARSE,
                   "%s: tensor '%s': shape entries must be non-negative integers", path, ename);
      return FALSE;
    }
    e->shape[i] = (gint64) d->uint;
    if (d->uint == 0)
      zero = TRUE;
    else if (extent > (guint64) G_MAXINT64 / esz / d->uint)
      too_large = TRUE;
    else
      extent *= d->uint;
  }
  if (too_large) {
    g_autofree char *shape_s = shape_string (e);
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE,
                 "%s: tensor '%s': %s %s is too large (its non-zero dimensions span more than "
                 "2^63-1 bytes)",
                 path, ename, dt->str, shape_s);
    return FALSE;
  }
  /* numel * esz <= G_MAXINT64 from here */
  guint64 numel = zero ? 0 : extent;
  if (off->n != 2 || off->items[0]->type != TL_JSON_NUMBER || !off->items[0]->is_uint ||
      off->items[1]->type != TL_JSON_NUMBER || !off->items[1]->is_uint) {
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE,
                 "%s: tensor '%s': data_offsets must be two non-negative integers", path, ename);
    return FALSE;
  }
  e->begin = off->items[0]->uint;
  e->end = off->items[1]->uint;
  if (e->end < e->begin || e->end > data_size) {
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE,
                 "%s: tensor '%s': data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                 "] out of range (data section has %" G_GUINT64_FORMAT " bytes)",
                 path, ename, e->begin, e->end, data_size);
    return FALSE;
  }
  if (numel * esz != e->end - e->begin) {
    g_autofree char *shape_s = shape_string (e);
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE,
                 "%s: tensor '%s': %s %s needs a different byte count than data_offsets give "
                 "(%" G_GUINT64_FORMAT ")",
                 path, ename, dt->str, shape_s, e->end - e->begin);
    return FALSE;
  }
  return TRUE;
}

static gboolean
read_exact (FILE *fp, void *buf, gsize n)
{
  return n == 0 || fread (buf, 1, n, fp) == n;
}

/* An open safetensors file with its header read and checked as far as the
 * JSON (an object) and "__metadata__" (an object of strings). */
typedef struct {
  FILE *fp;
  guint64 file_size, hlen;
  char *header;
  TlJson *root;
  GHashTable *meta; /* "__metadata__": char* -> char* */
} StHeader;

static void
st_header_clear (StHeader *h)
{
  g_clear_pointer (&h->meta, g_hash_table_destroy);
  g_clear_pointer (&h->root, _tl_priv_json_free);
  g_clear_pointer (&h->header, g_free);
  if (h->fp)
    fclose (h->fp);
  h->fp = NULL;
}

/* Reads the 8-byte length, the JSON header and its "__metadata__"; leaves
 * the tensor data unread. On failure *h is cleared. */
static gboolean
st_header_read (const char *path, StHeader *h, GError **error)
{
  memset (h, 0, sizeof *h);
  h->fp = fopen (path, "rb");
  if (!h->fp) {
    int e = errno;
    g_set_error (error, TL_ERROR, e == ENOENT ? TL_ERROR_NOT_FOUND : TL_ERROR_IO, "%s: %s", path,
                 g_strerror (e));
    return FALSE;
  }
  FILE *fp = h->fp;
  struct stat st;
  if (fstat (fileno (fp), &st) != 0 || !S_ISREG (st.st_mode)) {
    g_set_error (error, TL_ERROR, TL_ERROR_IO, "%s: not a regular file", path);
    goto fail;
  }
  guint64 file_size = (guint64) st.st_size;
  h->file_size = file_size;
  guint8 lenbuf[8];
  if (file_size < 8 || !read_exact (fp, lenbuf, 8)) {
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE,
                 "%s: truncated safetensors file (no 8-byte header length)", path);
    goto fail;
  }
  guint64 hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = (hlen << 8) | lenbuf[i];
  h->hlen = hlen;
  if (hlen > file_size - 8) {
    /* A header that does not fit: a truncated safetensors file when what
     * follows the length starts its JSON, else some other file whose first
     * 8 bytes read as an implausible length. */
    int first = file_size > 8 ? fgetc (fp) : EOF;
    if (first == '{' && hlen <= ST_MAX_HEADER)
      g_set_error (error, TL_ERROR, TL_ERROR_PARSE,
                   "%s: truncated safetensors file (header of %" G_GUINT64_FORMAT
                   " bytes, file has %" G_GUINT64_FORMAT ")",
                   path, hlen, file_size);
    else
      g_set_error (error, TL_ERROR, TL_ERROR_PARSE,
                   "%s: not a safetensors file (header length %" G_GUINT64_FORMAT
                   " in its first 8 bytes, but the file has %" G_GUINT64_FORMAT " bytes)",
                   path, hlen, file_size);
    goto fail;
  }
  if (hlen > ST_MAX_HEADER) {
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE,
                 "%s: header length %" G_GUINT64_FORMAT " is too large (the limit is %u bytes)",
                 path, hlen, (unsigned) ST_MAX_HEADER);
    goto fail;
  }
  h->header = g_try_malloc (hlen + 1);
  if (!h->header) {
    g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY, "%s: out of memory for the header", path);
    goto fail;
  }
  char *header = h->header;
  if (!read_exact (fp, header, hlen)) {
    g_set_error (error, TL_ERROR, TL_ERROR_IO, "%s: read error", path);
    goto fail;
  }
  header[hlen] = '\0';
  GError *jerr = NULL;
  h->root = _tl_priv_json_parse (header, hlen, &jerr);
  if (!h->root) {
    /* a header that does not even start a JSON object: some other file */
    const char *c = header;
    while (*c == ' ' || *c == '\t' || *c == '\n' || *c == '\r')
      c++;
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "%s: %sbad JSON header: %s%s", path,
                 *c && *c != '{' ? "not a safetensors file (" : "", jerr->message,
                 *c && *c != '{' ? ")" : "");
    g_error_free (jerr);
    goto fail;
  }
  const TlJson *root = h->root;
  if (root->type != TL_JSON_OBJECT) {
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "%s: the JSON header is not an object", path);
    goto fail;
  }
  h->meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  const TlJson *v = _tl_priv_json_member (root, "__metadata__");
  if (v && v->type != TL_JSON_OBJECT) {
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "%s: __metadata__ is not an object", path);
    goto fail;
  }
  for (guint k = 0; v && k < v->n; k++) {
    if (v->items[k]->type != TL_JSON_STRING) {
      g_autofree char *ekey = _tl_priv_escape_short (v->keys[k]);
      g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "%s: __metadata__ value of \"%s\" is not a string",
                   path, ekey);
      goto fail;
    }
    g_hash_table_replace (h->meta, g_strdup (v->keys[k]), g_strdup (v->items[k]->str));
  }
  return TRUE;
fail:
  st_header_clear (h);
  return FALSE;
}

/* The "__metadata__" strings of a safetensors file (char* -> char*, or
 * NULL with error), from its header alone: the tensor data is not read. */
GHashTable *
_tl_priv_safetensors_read_metadata (const char *path, GError **error)
{
  StHeader h;
  if (!st_header_read (path, &h, error))
    return NULL;
  GHashTable *meta = g_steal_pointer (&h.meta);
  st_header_clear (&h);
  return meta;
}

/**
 * tl_safetensors_read:
 * @path: file to read
 * @metadata: (out) (optional) (transfer full): the "__metadata__" strings
 * @error: return location for a #GError
 *
 * Reads every tensor of a safetensors file, validating the header (size,
 * JSON, dtypes, shapes, offsets in range and not overlapping) so that a
 * damaged or hostile file yields an error naming the file, never a crash.
 *
 * Returns: (transfer full) (nullable): name -> TlTensor* (keys freed and
 * values unref'd when the table is destroyed).
 */
GHashTable *
tl_safetensors_read (const char *path, GHashTable **metadata, GError **error)
{
  GHashTable *result = NULL;
  StEntry *entries = NULL;
  StHeader h;
  if (!st_header_read (path, &h, error))
    return NULL;
  FILE *fp = h.fp;
  const TlJson *root = h.root;
  guint64 hlen = h.hlen;
  guint64 data_size = h.file_size - 8 - hlen;
  entries = g_new0 (StEntry, root->n ? root->n : 1);
  guint n_entries = 0;
  for (guint i = 0; i < root->n; i++) {
    const char *key = root->keys[i];
    if (strcmp (key, "__metadata__") == 0)
      continue;
    if (!parse_entry (path, key, root->items[i], data_size, &entries[n_entries], error))
      goto out;
    n_entries++;
  }
  /* Overlap check on the sorted offsets. */
  StEntry *sorted = g_memdup2 (entries, sizeof (StEntry) * (n_entries ? n_entries : 1));
  qsort (sorted, n_entries, sizeof (StEntry), entry_cmp);
  for (guint i = 1; i < n_entries; i++) {
    if (sorted[i].begin < sorted[i - 1].end) {
      g_autofree char *a = _tl_priv_escape_short (sorted[i - 1].name);
      g_autofree char *b = _tl_priv_escape_short (sorted[i].name);
      g_set_error (error, TL_ERROR, TL_ERROR_PARSE,
                   "%s: tensors '%s' and '%s' have overlapping data_offsets", path, a, b);
      g_free (sorted);
      goto out;
    }
  }
  g_free (sorted);
  result =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) tl_tensor_unref);
  for (guint i = 0; i < n_entries; i++) {
    StEntry *e = &entries[i];
    GError *terr = NULL;
    TlTensor *t = tl_tensor_new (e->dtype, e->ndim, e->shape, &terr);
    g_autofree char *ename = _tl_priv_escape_short (e->name);
    if (!t) {
      g_set_error (error, TL_ERROR,
                   terr->code == TL_ERROR_NO_MEMORY ? TL_ERROR_NO_MEMORY : TL_ERROR_PARSE,
                   "%s: tensor '%s': %s", path, ename, terr->message);
      g_error_free (terr);
      g_clear_pointer (&result, g_hash_table_destroy);
      goto out;
    }
    gsize nbytes = e->end - e->begin;
    if (fseeko (fp, (off_t) (8 + hlen + e->begin), SEEK_SET) != 0 ||
        !read_exact (fp, tl_tensor_data (t), nbytes)) {
      g_set_error (error, TL_ERROR, TL_ERROR_IO, "%s: tensor '%s': read error (truncated file?)",
                   path, ename);
      tl_tensor_unref (t);
      g_clear_pointer (&result, g_hash_table_destroy);
      goto out;
    }
    g_hash_table_replace (result, g_strdup (e->name), t);
  }
  if (metadata)
    *metadata = g_steal_pointer (&h.meta);
out:
  g_free (entries);
  st_header_clear (&h);
  return result;
}


static int
str_ptr_cmp (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/**
 * tl_safetensors_write:
 * @path: destination (replaced atomically)
 * @n: number of tensors
 * @names: (array length=n): unique names
 * @tensors: (array length=n): CPU tensors of a supported dtype
 * @metadata: (nullable): string -> string map written as "__metadata__"
 * @error: return location for a #GError
 *
 * Writes a safetensors file through a temporary file, fsync and rename: on
 * failure whatever was at @path stays as it was. Names, metadata keys and
 * metadata values must be valid UTF-8 (and the header at most 100 MB, what
 * readers accept): otherwise it fails with %TL_ERROR_INVALID_ARGUMENT before
 * anything is written, rather than leave a file tl_safetensors_read()
 * refuses.
 *
 * Returns: TRUE on success.
 */
gboolean
tl_safetensors_write (const char *path, guint n, const char *const *names, TlTensor *const *tensors,
                      GHashTable *metadata, GError **error)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GString) h = g_string_new ("{");
  gboolean first = TRUE;
  if (metadata && g_hash_table_size (metadata) > 0) {
    /* Sorted keys so the file is reproducible. */
    guint nk = 0;
    g_autofree gpointer *keys = g_hash_table_get_keys_as_array (metadata, &nk);
    qsort (keys, nk, sizeof (gpointer), str_ptr_cmp);
    g_string_append (h, "\"__metadata__\":{");
    for (guint i = 0; i < nk; i++) {
      const char *v = g_hash_table_lookup (metadata, keys[i]);
      /* the reader (ours and the reference one) wants UTF-8 JSON: refuse
       * here rather than replace a good file with an unreadable one */
      if (!g_utf8_validate (keys[i], -1, NULL) || (v && !g_utf8_validate (v, -1, NULL))) {
        g_autofree char *ekey = _tl_priv_escape_short (keys[i]);
        g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                     "%s: metadata %s \"%s\" is not valid UTF-8", path,
                     g_utf8_validate (keys[i], -1, NULL) ? "value of" : "key", ekey);
        return FALSE;
      }
      if (i)
        g_string_append_c (h, ',');
      _tl_priv_json_append_string (h, keys[i]);
      g_string_append_c (h, ':');
      _tl_priv_json_append_string (h, v ? v : "");
    }
    g_string_append_c (h, '}');
    first = FALSE;
  }
  guint64 offset = 0;
  for (guint i = 0; i < n; i++) {
    const char *name = names[i];
    TlTensor *t = tensors[i];
    if (!name || !*name || strcmp (name, "__metadata__") == 0 || !t) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "%s: invalid tensor name or tensor #%u", path, i);
      return FALSE;
    }
    if (!g_utf8_validate (name, -1, NULL)) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "%s: tensor name is not UTF-8",
                   path);
      return FALSE;
    }
    if (!g_hash_table_add (seen, (gpointer) name)) {
      g_autofree char *ename = _tl_priv_escape_short (name);
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "%s: duplicate tensor name '%s'",
                   path, ename);
      return FALSE;
    }
    const char *dt = st_dtype_name (tl_tensor_dtype (t));
    if (!dt) {
      g_autofree char *ename = _tl_priv_escape_short (name);
      g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "%s: tensor '%s': dtype %s not supported",
                   path, ename, tl_dtype_name (tl_tensor_dtype (t)));
      return FALSE;
    }
    if (tl_tensor_device (t) != TL_DEVICE_CPU) {
      g_autofree char *ename = _tl_priv_escape_short (name);
      g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "%s: tensor '%s' is not on the CPU", path,
                   ename);
      return FALSE;
    }
    guint64 nbytes = tl_tensor_nbytes (t);
    if (!first)
      g_string_append_c (h, ',');
    first = FALSE;
    _tl_priv_json_append_string (h, name);
    g_string_append_printf (h, ":{\"dtype\":\"%s\",\"shape\":[", dt);
    const gint64 *shape = tl_tensor_shape (t);
    for (guint d = 0; d < tl_tensor_ndim (t); d++)
      g_string_append_printf (h, "%s%" G_GINT64_FORMAT, d ? "," : "", shape[d]);
    g_string_append_printf (h, "],\"data_offsets\":[%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT "]}",
                            offset, offset + nbytes);
    offset += nbytes;
  }
  g_string_append_c (h, '}');
  while (h->len % 8 != 0)
    g_string_append_c (h, ' ');
  if (h->len > ST_MAX_HEADER) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "%s: the header (names and metadata) would take %" G_GSIZE_FORMAT
                 " bytes, readers accept at most %u",
                 path, h->len, ST_MAX_HEADER);
    return FALSE;
  }

  TlAtomicFile *af = _tl_priv_atomic_open (path, error);
  if (!af)
    return FALSE;
  FILE *fp = _tl_priv_atomic_stream (af);
  guint8 lenbuf[8];
  guint64 hl = h->len;
  for (int i = 0; i < 8; i++)
    lenbuf[i] = (guint8) (hl >> (8 * i));
  gboolean ok = fwrite (lenbuf, 1, 8, fp) == 8 && fwrite (h->str, 1, h->len, fp) == h->len;
  for (guint i = 0; ok && i < n; i++) {
    GError *cerr = NULL;
    TlTensor *c = tl_tensor_contiguous (tensors[i], &cerr);
    if (!c) {
      _tl_priv_atomic_abort (af);
      g_autofree char *ename = _tl_priv_escape_short (names[i]);
      g_propagate_prefixed_error (error, cerr, "%s: tensor '%s': ", path, ename);
      return FALSE;
    }
    gsize nb = tl_tensor_nbytes (c);
    ok = nb == 0 || fwrite (tl_tensor_const_data (c), 1, nb, fp) == nb;
    tl_tensor_unref (c);
  }
  if (!ok) {
    int e = errno;
    _tl_priv_atomic_abort (af);
    g_set_error (error, TL_ERROR, TL_ERROR_IO, "%s: write failed: %s", path, g_strerror (e));
    return FALSE;
  }
  return _tl_priv_atomic_commit (af, error);
}
