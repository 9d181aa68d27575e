/* test-safetensors.c — round trips, hostile files, atomic writes. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>
#include <glib/gstdio.h>
#include <tl/tl.h>

#include "train-fixture.h"

static char *tmpdir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

static void
test_round_trip (void)
{
  GError *error = NULL;
  const TlDType dtypes[] = { TL_DTYPE_F32, TL_DTYPE_F16, TL_DTYPE_BF16, TL_DTYPE_F64, TL_DTYPE_I64,
                             TL_DTYPE_I32, TL_DTYPE_I8, TL_DTYPE_U8, TL_DTYPE_BOOL };
  const guint n = G_N_ELEMENTS (dtypes);
  TlTensor *ts[G_N_ELEMENTS (dtypes) + 3];
  char *names[G_N_ELEMENTS (dtypes) + 3];
  for (guint i = 0; i < n; i++) {
    gint64 shape[2] = { 2, 3 };
    ts[i] = tl_tensor_new (dtypes[i], 2, shape, &error);
    g_assert_no_error (error);
    for (gint64 k = 0; k < 6; k++)
      tl_tensor_set_flat (ts[i], k, dtypes[i] == TL_DTYPE_BOOL ? (k & 1) : (double) (k * 3 - 4 + (int) i));
    names[i] = g_strdup_printf ("t.%s", tl_dtype_name (dtypes[i]));
  }
  /* 0-d, empty and a non-contiguous (transposed) view */
  ts[n] = tl_tensor_new_scalar_f32 (2.5f, &error);
  names[n] = g_strdup ("scalar");
  ts[n + 1] = tl_tensor_new (TL_DTYPE_F32, 2, (gint64[]){ 0, 3 }, &error);
  names[n + 1] = g_strdup ("empty \"quoted\\\" name");
  ts[n + 2] = tl_tensor_transpose (ts[0], 0, 1, &error);
  names[n + 2] = g_strdup ("transposed");
  g_assert_no_error (error);
  g_autoptr (GHashTable) meta = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (meta, "step", "12");
  g_hash_table_insert (meta, "note", "tab\there \"q\" é");
  g_autofree char *path = tmp_path ("rt.safetensors");
  g_assert_true (tl_safetensors_write (path, n + 3, (const char *const *) names, ts, meta, &error));
  g_assert_no_error (error);

  /* Layout: LE length, JSON padded to 8 bytes. */
  g_autofree char *raw = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &raw, &len, NULL));
  guint64 hl = 0;
  for (int i = 7; i >= 0; i--)
    hl = (hl << 8) | (guint8) raw[i];
  g_assert_cmpuint (hl % 8, ==, 0);
  g_assert_cmpuint (8 + hl, <=, len);
  g_assert_cmpint (raw[8], ==, '{');

  GHashTable *got_meta = NULL;
  GHashTable *got = tl_safetensors_read (path, &got_meta, &error);
  g_assert_no_error (error);
  g_assert_nonnull (got);
  g_assert_cmpuint (g_hash_table_size (got), ==, n + 3);
  g_assert_cmpstr (g_hash_table_lookup (got_meta, "step"), ==, "12");
  g_assert_cmpstr (g_hash_table_lookup (got_meta, "note"), ==, "tab\there \"q\" é");
  for (guint i = 0; i < n + 3; i++) {
    TlTensor *t = g_hash_table_lookup (got, names[i]);
    g_assert_nonnull (t);
    g_assert_cmpint (tl_tensor_dtype (t), ==, tl_tensor_dtype (ts[i]));
    g_assert_cmpuint (tl_tensor_ndim (t), ==, tl_tensor_ndim (ts[i]));
    g_assert_cmpint (tl_tensor_numel (t), ==, tl_tensor_numel (ts[i]));
    for (gint64 k = 0; k < tl_tensor_numel (t); k++)
      g_assert_cmpfloat (tl_tensor_get_flat (t, k), ==, tl_tensor_get_flat (ts[i], k));
  }
  g_hash_table_destroy (got);
  g_hash_table_destroy (got_meta);
  for (guint i = 0; i < n + 3; i++) {
    tl_tensor_unref (ts[i]);
    g_free (names[i]);
  }
}

static void
test_write_errors (void)
{
  GError *error = NULL;
  TlTensor *t = tl_tensor_new_scalar_f32 (1, &error);
  TlTensor *ts[2] = { t, t };
  const char *dup[2] = { "a", "a" };
  g_autofree char *path = tmp_path ("err.safetensors");
  g_assert_false (tl_safetensors_write (path, 2, dup, ts, NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "duplicate"));
  g_clear_error (&error);
  const char *meta[1] = { "__metadata__" };
  g_assert_false (tl_safetensors_write (path, 1, meta, ts, NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  /* Metadata that is not UTF-8 is refused before anything is written: the
   * good file stays (the reader would refuse the new one). */
  const char *one_name[1] = { "a" };
  g_assert_true (tl_safetensors_write (path, 1, one_name, ts, NULL, &error));
  g_autofree char *good = NULL;
  gsize good_len = 0;
  g_assert_true (g_file_get_contents (path, &good, &good_len, NULL));
  for (int bad_key = 0; bad_key < 2; bad_key++) {
    g_autoptr (GHashTable) md = g_hash_table_new (g_str_hash, g_str_equal);
    g_hash_table_insert (md, "fine", "ok");
    if (bad_key)
      g_hash_table_insert (md, "bad\n\xff\xfe", "v");
    else
      g_hash_table_insert (md, "note", "bad\xff\xfe");
    g_assert_false (tl_safetensors_write (path, 1, one_name, ts, md, &error));
    g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
    g_assert_true (g_str_has_prefix (error->message, path));
    g_assert_nonnull (strstr (error->message, "UTF-8"));
    g_assert_true (g_utf8_validate (error->message, -1, NULL));
    g_assert_null (strchr (error->message, '\n'));
    g_assert_nonnull (strstr (error->message, bad_key ? "key \"bad\\n\\xff\\xfe\"" : "\"note\""));
    g_clear_error (&error);
    g_autofree char *now = NULL;
    gsize now_len = 0;
    g_assert_true (g_file_get_contents (path, &now, &now_len, NULL));
    g_assert_cmpmem (good, good_len, now, now_len);
  }
  GDir *dir = g_dir_open (tmpdir, 0, NULL);
  const char *ent;
  while ((ent = g_dir_read_name (dir)))
    g_assert_false (g_str_has_prefix (ent, ".err.safetensors."));
  g_dir_close (dir);
  g_unlink (path);

  g_autofree char *nodir = tmp_path ("no/such/dir/x.safetensors");
  const char *one[1] = { "a" };
  g_assert_false (tl_safetensors_write (nodir, 1, one, ts, NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_IO);
  g_clear_error (&error);
  tl_tensor_unref (t);
}

/* Write `header` (JSON) followed by `data_len` zero bytes. */
static char *
write_raw (const char *name, const char *header, gsize data_len, gint64 force_len)
{
  char *path = tmp_path (name);
  gsize hl = strlen (header);
  GByteArray *b = g_byte_array_new ();
  guint64 l = force_len >= 0 ? (guint64) force_len : hl;
  for (int i = 0; i < 8; i++) {
    guint8 c = (guint8) (l >> (8 * i));
    g_byte_array_append (b, &c, 1);
  }
  g_byte_array_append (b, (const guint8 *) header, (guint) hl);
  guint8 z = 0;
  for (gsize i = 0; i < data_len; i++)
    g_byte_array_append (b, &z, 1);
  g_assert_true (g_file_set_contents (path, (const char *) b->data, b->len, NULL));
  g_byte_array_unref (b);
  return path;
}

typedef struct {
  const char *header;
  gsize data_len;
  gint64 force_len;
  TlErrorCode code;
  const char *needle;
} Hostile;

static const Hostile hostile[] = {
  { "", 0, -1, TL_ERROR_PARSE, "bad JSON" },
  { "{", 0, -1, TL_ERROR_PARSE, "bad JSON" },
  { "hello", 0, -1, TL_ERROR_PARSE, "not a safetensors file (bad JSON header: " },
  { "[1,2]", 0, -1, TL_ERROR_PARSE, "not an object" },
  { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, -1, TL_ERROR_PARSE, "out of range" },
  { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 0, 1000, TL_ERROR_PARSE, "truncated" },
  { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 0, 0x7fffffffffffffffLL, TL_ERROR_PARSE,
    "not a safetensors file (header length 9223372036854775807 in its first 8 bytes, but the file has 62 bytes)" },
  /* some other file: its first 8 bytes read as a length, what follows is not JSON */
  { "PK\003\004 not JSON at all", 0, 1000, TL_ERROR_PARSE, "not a safetensors file (header length 1000 " },
  { "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, -1, TL_ERROR_PARSE, "byte count" },
  { "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, -1, TL_ERROR_PARSE, "shape" },
  { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8, -1, TL_ERROR_PARSE, "shape" },
  { "{\"a\":{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, -1, TL_ERROR_UNSUPPORTED, "Q7" },
  { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, -1, TL_ERROR_PARSE, "out of range" },
  { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, -1, TL_ERROR_PARSE, "data_offsets" },
  { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, -1, TL_ERROR_PARSE, "data_offsets" },
  { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
    "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, -1, TL_ERROR_PARSE, "overlapping" },
  { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
    "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, -1, TL_ERROR_PARSE, "duplicate" },
  { "{\"__metadata__\":{\"k\":1}}", 0, -1, TL_ERROR_PARSE, "__metadata__" },
  { "{\"__metadata__\":[]}", 0, -1, TL_ERROR_PARSE, "__metadata__" },
  { "{\"a\":5}", 0, -1, TL_ERROR_PARSE, "not an object" },
  { "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,8]}}", 8, -1, TL_ERROR_PARSE, "too large" },
  /* empty, but the other dimensions overflow (strides would) */
  { "{\"a\":{\"dtype\":\"F32\",\"shape\":[0,9223372036854775807,9223372036854775807],\"data_offsets\":[0,0]}}", 0, -1, TL_ERROR_PARSE, "F32 [0,9223372036854775807,9223372036854775807] is too large" },
  { "{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,0,4],\"data_offsets\":[0,0]}}", 0, -1, TL_ERROR_PARSE, "too large" },
  { "{\"a\":{\"dtype\":\"F64\",\"shape\":[1152921504606846976,0],\"data_offsets\":[0,0]}}", 0, -1, TL_ERROR_PARSE, "too large" },
  { "{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,0]}}", 0, -1, TL_ERROR_PARSE, "too large" },
  { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, -1, TL_ERROR_UNSUPPORTED, "dimensions" },
  { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,18446744073709551616]}}", 8, -1, TL_ERROR_PARSE, "data_offsets" },
  { "{\"a\\ud800\":1}", 0, -1, TL_ERROR_PARSE, "surrogate" },
  { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} x", 8, -1, TL_ERROR_PARSE, "trailing" },
};

static void
test_hostile (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (hostile); i++) {
    GError *error = NULL;
    g_autofree char *name = g_strdup_printf ("hostile-%" G_GSIZE_FORMAT ".safetensors", i);
    g_autofree char *path = write_raw (name, hostile[i].header, hostile[i].data_len, hostile[i].force_len);
    GHashTable *t = tl_safetensors_read (path, NULL, &error);
    if (t || !error || error->code != (gint) hostile[i].code || !strstr (error->message, path) ||
        !strstr (error->message, hostile[i].needle))
      g_error ("case %" G_GSIZE_FORMAT ": expected code %d with '%s', got %s", i, hostile[i].code,
               hostile[i].needle, error ? error->message : "success");
    g_clear_error (&error);
  }
  /* Deep nesting */
  GString *deep = g_string_new ("{\"a\":");
  for (int i = 0; i < 10000; i++)
    g_string_append_c (deep, '[');
  g_autofree char *path = write_raw ("deep.safetensors", deep->str, 0, -1);
  g_string_free (deep, TRUE);
  GError *error = NULL;
  g_assert_null (tl_safetensors_read (path, NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_PARSE);
  g_clear_error (&error);
  /* An empty tensor whose other dimensions fit is fine. */
  g_autofree char *empty = write_raw ("empty-wide.safetensors",
                                      "{\"a\":{\"dtype\":\"F32\",\"shape\":[0,2305843009213693951],"
                                      "\"data_offsets\":[0,0]}}", 0, -1);
  GHashTable *et = tl_safetensors_read (empty, NULL, &error);
  g_assert_no_error (error);
  TlTensor *ea = g_hash_table_lookup (et, "a");
  g_assert_cmpint (tl_tensor_numel (ea), ==, 0);
  g_assert_cmpint (tl_tensor_shape (ea)[1], ==, 2305843009213693951);
  g_hash_table_destroy (et);
  /* Files shorter than 8 bytes, missing file */
  g_autofree char *tiny = tmp_path ("tiny.safetensors");
  g_assert_true (g_file_set_contents (tiny, "abc", 3, NULL));
  g_assert_null (tl_safetensors_read (tiny, NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_PARSE);
  g_assert_nonnull (strstr (error->message, "truncated"));
  g_clear_error (&error);
  g_autofree char *missing = tmp_path ("missing.safetensors");
  g_assert_null (tl_safetensors_read (missing, NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_NOT_FOUND);
  g_clear_error (&error);
}

/* The reader's limit on the JSON header (ST_MAX_HEADER in core/safetensors.c). */
#define MAX_HEADER (100u * 1024 * 1024)

/* A header one byte over the limit in a file long enough to hold it (sparse:
 * extended with truncate, skipped where the file system refuses). */
static void
test_huge_header (void)
{
  GError *error = NULL;
  g_autofree char *huge = write_raw ("huge-header.safetensors", "{}", 0, MAX_HEADER + 1);
  if (truncate (huge, MAX_HEADER + 16) != 0) {
    int errsv = errno;
    g_unlink (huge);
    g_test_skip_printf ("cannot extend a file to %u bytes: %s", MAX_HEADER + 16,
                        g_strerror (errsv));
    return;
  }
  g_assert_null (tl_safetensors_read (huge, NULL, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_PARSE);
  g_autofree char *want =
      g_strdup_printf ("header length %u is too large (the limit is %u bytes)", MAX_HEADER + 1,
                       MAX_HEADER);
  g_assert_nonnull (strstr (error->message, want));
  g_clear_error (&error);
  g_unlink (huge);
}

/* Random corruption of a valid file never crashes. */
static void
test_fuzz (void)
{
  GError *error = NULL;
  TlTensor *a = tl_tensor_new (TL_DTYPE_F32, 2, (gint64[]){ 3, 4 }, &error);
  TlTensor *b = tl_tensor_new (TL_DTYPE_I64, 1, (gint64[]){ 5 }, &error);
  TlTensor *ts[2] = { a, b };
  const char *names[2] = { "layer.weight", "idx" };
  g_autofree char *path = tmp_path ("fuzz-src.safetensors");
  g_assert_true (tl_safetensors_write (path, 2, names, ts, NULL, &error));
  g_autofree char *raw = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &raw, &len, NULL));
  g_autofree char *dst = tmp_path ("fuzz.safetensors");
  TlRng rng;
  tl_rng_init (&rng, 7, 0);
  guint n_ok = 0;
  for (int it = 0; it < 400; it++) {
    g_autofree char *copy = g_memdup2 (raw, len);
    gsize l = len;
    int edits = 1 + (int) tl_rng_below (&rng, 4);
    for (int e = 0; e < edits; e++) {
      gsize pos = tl_rng_below (&rng, MIN (l, 160));
      copy[pos] = (char) tl_rng_u32 (&rng);
    }
    if (tl_rng_below (&rng, 4) == 0)
      l = tl_rng_below (&rng, len);
    g_assert_true (g_file_set_contents (dst, copy, (gssize) l, NULL));
    GHashTable *t = tl_safetensors_read (dst, NULL, &error);
    if (t) {
      n_ok++;
      g_hash_table_destroy (t);
    } else {
      g_assert_nonnull (error);
      g_assert_true (g_str_has_prefix (error->message, dst));
      g_clear_error (&error);
    }
  }
  g_test_message ("%u of 400 corrupted files still parsed", n_ok);
  tl_tensor_unref (a);
  tl_tensor_unref (b);
}

static void
test_atomic (void)
{
  GError *error = NULL;
  g_autofree char *path = tmp_path ("atomic.safetensors");
  TlTensor *small = tl_tensor_new_scalar_f32 (3.0f, &error);
  const char *names[1] = { "x" };
  g_assert_true (tl_safetensors_write (path, 1, names, &small, NULL, &error));
  g_autofree char *before = NULL;
  gsize before_len;
  g_assert_true (g_file_get_contents (path, &before, &before_len, NULL));

  /* Simulated failure: a file size limit makes the write fail midway. */
  TlTensor *big = tl_tensor_new (TL_DTYPE_F32, 1, (gint64[]){ 1 << 16 }, &error);
  struct rlimit old, lim;
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &old), ==, 0);
  void (*prev) (int) = signal (SIGXFSZ, SIG_IGN);
  lim = old;
  lim.rlim_cur = 4096;
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &lim), ==, 0);
  gboolean ok = tl_safetensors_write (path, 1, names, &big, NULL, &error);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &old), ==, 0);
  signal (SIGXFSZ, prev);
  g_assert_false (ok);
  g_assert_error (error, TL_ERROR, TL_ERROR_IO);
  g_clear_error (&error);
  g_autofree char *after = NULL;
  gsize after_len;
  g_assert_true (g_file_get_contents (path, &after, &after_len, NULL));
  g_assert_cmpmem (before, before_len, after, after_len);
  /* No temporary file left behind. */
  GDir *d = g_dir_open (tmpdir, 0, NULL);
  const char *e;
  while ((e = g_dir_read_name (d)))
    g_assert_false (g_str_has_prefix (e, ".atomic.safetensors"));
  g_dir_close (d);

  /* A read-only directory (meaningless as root). */
  if (geteuid () != 0) {
    g_autofree char *ro = tmp_path ("ro");
    g_mkdir (ro, 0755);
    g_autofree char *rop = g_build_filename (ro, "x.safetensors", NULL);
    g_assert_true (tl_safetensors_write (rop, 1, names, &small, NULL, &error));
    g_chmod (ro, 0555);
    g_assert_false (tl_safetensors_write (rop, 1, names, &big, NULL, &error));
    g_assert_error (error, TL_ERROR, TL_ERROR_IO);
    g_clear_error (&error);
    g_chmod (ro, 0755);
    GHashTable *t = tl_safetensors_read (rop, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpfloat (tl_tensor_get_flat (g_hash_table_lookup (t, "x"), 0), ==, 3.0);
    g_hash_table_destroy (t);
  }
  tl_tensor_unref (small);
  tl_tensor_unref (big);
}

/* Set the modification time of `path` `age` seconds back. */
static void
age_file (const char *path, gint64 age)
{
  struct utimbuf t;
  t.actime = t.modtime = time (NULL) - (time_t) age;
  g_assert_cmpint (g_utime (path, &t), ==, 0);
}

static char *
make_file (const char *name, gint64 age)
{
  char *p = tmp_path (name);
  g_assert_true (g_file_set_contents (p, "partial", 7, NULL));
  if (age)
    age_file (p, age);
  return p;
}

/* Temporary files left by killed writes are removed by the next write of
 * the same file when they are stale: old and not locked by a writer. */
static void
test_stale_temps (void)
{
  GError *error = NULL;
  g_autofree char *path = tmp_path ("stale.safetensors");
  TlTensor *t = tl_tensor_new_scalar_f32 (1.0f, &error);
  const char *names[1] = { "x" };
  g_autofree char *dead = make_file (".stale.safetensors.tl-tmp.Ab12Cd", 7200);
  g_autofree char *dead2 = make_file (".stale.safetensors.tl-tmp.zz9ZZ0", 61);
  g_autofree char *fresh = make_file (".stale.safetensors.tl-tmp.Xy34Zw", 0);
  g_autofree char *locked = make_file (".stale.safetensors.tl-tmp.Lk56Mn", 7200);
  g_autofree char *short_x = make_file (".stale.safetensors.tl-tmp.Ab12C", 7200);
  g_autofree char *suffix = make_file (".stale.safetensors.tl-tmp.Ab12Cd.x", 7200);
  g_autofree char *other = make_file (".other.safetensors.tl-tmp.Ab12Cd", 7200);
  /* a user's own file of the same shape, without tl's mark */
  g_autofree char *mine = make_file (".stale.safetensors.backup", 7200);
  g_autofree char *target = make_file ("target", 7200);
  g_autofree char *link = tmp_path (".stale.safetensors.tl-tmp.Lnk123");
  g_assert_cmpint (symlink (target, link), ==, 0);
  g_autofree char *dir = tmp_path (".stale.safetensors.tl-tmp.Dir123");
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  age_file (dir, 7200);
  /* a live writer holds a flock() on its temporary file */
  int lock_fd = open (locked, O_RDONLY);
  g_assert_cmpint (lock_fd, >=, 0);
  g_assert_cmpint (flock (lock_fd, LOCK_EX | LOCK_NB), ==, 0);

  g_assert_true (tl_safetensors_write (path, 1, names, &t, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (dead, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (dead2, G_FILE_TEST_EXISTS));
  const char *kept[] = { fresh, locked, short_x, suffix, other, mine, target, dir };
  for (gsize i = 0; i < G_N_ELEMENTS (kept); i++)
    if (!g_file_test (kept[i], G_FILE_TEST_EXISTS))
      g_error ("%s was removed", kept[i]);
  g_assert_true (g_file_test (link, G_FILE_TEST_IS_SYMLINK));
  /* no temporary file of its own left */
  guint n_temps = 0;
  GDir *d = g_dir_open (tmpdir, 0, NULL);
  const char *e;
  while ((e = g_dir_read_name (d)))
    n_temps += g_str_has_prefix (e, ".stale.safetensors.tl-tmp.");
  g_dir_close (d);
  g_assert_cmpuint (n_temps, ==, 6); /* fresh, locked, short, suffix, link, dir */

  /* the writer died: its lock is gone and the next write removes the file */
  close (lock_fd);
  g_assert_true (tl_safetensors_write (path, 1, names, &t, NULL, &error));
  g_assert_false (g_file_test (locked, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (fresh, G_FILE_TEST_EXISTS));
  g_unlink (fresh);
  g_unlink (short_x);
  g_unlink (suffix);
  g_unlink (other);
  g_unlink (mine);
  g_unlink (link);
  g_unlink (target);
  g_rmdir (dir);
  tl_tensor_unref (t);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (tl_init (NULL));
  tmpdir = g_dir_make_tmp ("tl-st-XXXXXX", NULL);
  g_test_add_func ("/safetensors/round-trip", test_round_trip);
  g_test_add_func ("/safetensors/write-errors", test_write_errors);
  g_test_add_func ("/safetensors/hostile", test_hostile);
  g_test_add_func ("/safetensors/huge-header", test_huge_header);
  g_test_add_func ("/safetensors/fuzz", test_fuzz);
  g_test_add_func ("/safetensors/atomic", test_atomic);
  g_test_add_func ("/safetensors/stale-temps", test_stale_temps);
  int r = g_test_run ();
  bt_rm_rf (tmpdir);
  g_free (tmpdir);
  return r;
}
