/* test-fuzz-inputs.c — seeded mutation fuzzing of every parser of
 * user-supplied input: job manifests and overlays, plugin manifests,
 * safetensors files and checkpoints, the CSV (and vocab_file), IDX and
 * safetensors datasets, the JSON reader of safetensors headers, and cluster
 * descriptions.
 *
 * Each test mutates valid seed inputs (bit flips, byte insertion and
 * deletion, truncation, duplicated chunks, hostile numbers and strings,
 * embedded NULs, XML attributes and elements deleted or duplicated) and
 * asserts that every parse either succeeds or fails with a TL_ERROR whose
 * message is one line of valid UTF-8 and names the file. Fixed regression inputs for the
 * bugs found this way are checked explicitly.
 *
 * TL_FUZZ_ITERS=N runs N mutations per format (default: a small bounded
 * number); TL_FUZZ_SEED=S changes the seed. With TL_FUZZ_OUT=DIR each input
 * is written to DIR/current-FORMAT before it is parsed (for reproducing a
 * crash); TL_FUZZ_PRINT=1 prints every error message (to review them).
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <zlib.h>
#include <glib/gstdio.h>

#include "tl-private.h"
#include "json-mini.h"
#include "builtin-util.h"

static char *tmpdir;

/* --- configuration ---------------------------------------------------------- */

static guint
n_iters (guint dflt)
{
  const char *s = g_getenv ("TL_FUZZ_ITERS");
  guint64 v;
  if (s && g_ascii_string_to_unsigned (s, 10, 0, G_MAXUINT, &v, NULL))
    return (guint) v;
  return dflt;
}

static GRand *
new_rng (guint32 format_salt)
{
  const char *s = g_getenv ("TL_FUZZ_SEED");
  guint64 v = 20261127;
  if (s)
    g_ascii_string_to_unsigned (s, 10, 0, G_MAXUINT32, &v, NULL);
  return g_rand_new_with_seed ((guint32) v ^ (format_salt * 2654435761u));
}

/* Plain write (g_file_set_contents() fsyncs a replaced file: far too slow
 * for thousands of inputs). */
static gboolean
write_file (const char *path, const char *data, gsize len)
{
  FILE *fp = fopen (path, "wb");
  if (!fp)
    return FALSE;
  gboolean ok = len == 0 || fwrite (data, 1, len, fp) == len;
  return fclose (fp) == 0 && ok;
}

static void
save_current (const char *format, const GByteArray *b)
{
  const char *dir = g_getenv ("TL_FUZZ_OUT");
  if (!dir)
    return;
  g_autofree char *name = g_strdup_printf ("current-%s", format);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  write_file (path, (const char *) b->data, b->len);
}

/* --- checks ---------------------------------------------------------------- */

/* `ok` with no error, or a TL_ERROR on one line containing `name` (when not
 * NULL). With `per_line`, several lines are allowed but each must start
 * with `name` (the job reader reports all errors, one per line). */
static void
check_outcome (const char *what, gboolean ok, const GError *error, const char *name,
               const char *alt_name, gboolean per_line, const GByteArray *input)
{
  gboolean good;
  /* datasets name their files by base name */
  g_autofree char *base = name ? g_path_get_basename (name) : NULL;
  g_autofree char *alt_base = alt_name ? g_path_get_basename (alt_name) : NULL;
  if (ok) {
    good = error == NULL;
  } else if (!error || error->domain != TL_ERROR || !error->message || !*error->message ||
             !g_utf8_validate (error->message, -1, NULL)) {
    good = FALSE; /* messages are valid UTF-8 whatever bytes the input held */
  } else if (per_line) {
    g_auto (GStrv) lines = g_strsplit (error->message, "\n", -1);
    good = TRUE;
    for (guint i = 0; lines[i]; i++)
      if (!g_str_has_prefix (lines[i], name) &&
          !(alt_name && g_str_has_prefix (lines[i], alt_name)))
        good = FALSE;
  } else {
    good = strchr (error->message, '\n') == NULL && strchr (error->message, '\r') == NULL &&
           (!name || strstr (error->message, base) ||
            (alt_name && strstr (error->message, alt_base)));
  }
  if (error && g_getenv ("TL_FUZZ_PRINT"))
    g_printerr ("MSG %s: %s\n", what, error->message);
  if (!good) {
    if (input) {
      g_autofree char *dump = g_build_filename (g_get_tmp_dir (), "tl-fuzz-failure.bin", NULL);
      g_file_set_contents (dump, (const char *) input->data, input->len, NULL);
      g_printerr ("# input written to %s\n", dump);
    }
    g_error ("%s: ok=%d, error=%s (wanted a one-line UTF-8 TL_ERROR naming '%s')", what, ok,
             error ? error->message : "(none)", name ? name : "");
  }
}

/* --- mutations ------------------------------------------------------------- */

static const char *const tokens[] = {
  "0", "-1", "-0", "1e999", "-1e999", "1e-999", "NaN", "nan", "inf", "-inf", "0x10", "1.5",
  "18446744073709551615", "18446744073709551616", "9223372036854775807", "9223372036854775808",
  "-9223372036854775809", "4294967295", "4294967296", "2147483648", "65536", "65537",
  "99999999999999999999999999999999", "\"", "'", "<", ">", "&", "&#10;", "&#13;", "&#0;",
  "&#x1F;", "&amp;", "&lt;", "]]>", "<!--", "-->", "<![CDATA[", "<!DOCTYPE x>", "<?pi?>",
  "\\u0000", "\\u000a", "\\n", "\\ud800", "\\udc00", "\\", "{", "}", "[", "]", ",", ":", "\n",
  "\r", "\r\n", "\t", " ", "\xff", "\xc3", "\xc3\xa9", "\xed\xa0\x80", "#", "?", "\"\"", "=",
  "__metadata__", "\"__metadata__\":{}", "{}", "[]", "null", "true", "false", "F32", "BF16",
  "I64", "U8", "BOOL", "F64", "shape", "data_offsets", "dtype", "xmlns=\"urn:tl:job:1\"",
  "id=\"x\"", "name=\"x\"", "component=\"tl.csv\"", "task1", "task0", "..", "/", "%s%n",
};

static void
insert_bytes (GByteArray *b, gsize pos, const guint8 *data, gsize len)
{
  pos = MIN (pos, b->len);
  g_byte_array_set_size (b, b->len + len);
  memmove (b->data + pos + len, b->data + pos, b->len - len - pos);
  memcpy (b->data + pos, data, len);
}

static gsize
rpos (GRand *r, const GByteArray *b)
{
  return b->len ? (gsize) g_rand_int_range (r, 0, (gint32) b->len + 1) : 0;
}

/* delete bytes [s, e) or repeat them once */
static void
drop_or_repeat (GRand *r, GByteArray *b, gsize s, gsize e)
{
  if (g_rand_boolean (r)) {
    g_byte_array_remove_range (b, (guint) s, (guint) (e - s));
  } else {
    g_autofree guint8 *chunk = g_memdup2 (b->data + s, e - s);
    insert_bytes (b, e, chunk, e - s);
  }
}

/* Span [*s, *e) of a random XML attribute ` name="value"`; FALSE if none. */
static gboolean
find_attr (GRand *r, const GByteArray *b, gsize *s, gsize *e)
{
  const char *d = (const char *) b->data;
  for (int tries = 0; tries < 8 && b->len > 2; tries++) {
    gsize p = rpos (r, b);
    for (; p + 1 < b->len; p++)
      if (d[p] == '=' && (d[p + 1] == '"' || d[p + 1] == '\''))
        break;
    if (p + 1 >= b->len)
      continue;
    gsize a = p;
    while (a > 0 && d[a - 1] != ' ' && d[a - 1] != '\n' && d[a - 1] != '<')
      a--;
    if (a > 0 && d[a - 1] == ' ')
      a--;
    gsize z = p + 2;
    while (z < b->len && d[z] != d[p + 1])
      z++;
    if (z >= b->len)
      continue;
    *s = a;
    *e = z + 1;
    return TRUE;
  }
  return FALSE;
}

/* Span of a random complete XML element (start tag to matching end tag, or a
 * self-closing tag). */
static gboolean
find_element (GRand *r, const GByteArray *b, gsize *s, gsize *e)
{
  const char *d = (const char *) b->data;
  for (int tries = 0; tries < 8 && b->len > 2; tries++) {
    gsize p = rpos (r, b);
    for (; p + 1 < b->len; p++)
      if (d[p] == '<' && g_ascii_isalpha (d[p + 1]))
        break;
    if (p + 1 >= b->len)
      continue;
    gsize q = p + 1;
    while (q < b->len && (g_ascii_isalnum (d[q]) || d[q] == '-' || d[q] == '_' || d[q] == ':'))
      q++;
    g_autofree char *name = g_strndup (d + p + 1, q - p - 1);
    gsize gt = q;
    while (gt < b->len && d[gt] != '>')
      gt++;
    if (gt >= b->len)
      continue;
    if (d[gt - 1] == '/') {
      *s = p;
      *e = gt + 1;
      return TRUE;
    }
    g_autofree char *close = g_strdup_printf ("</%s>", name);
    gsize cl = strlen (close);
    for (gsize k = gt; k + cl <= b->len; k++) {
      if (memcmp (d + k, close, cl) == 0) {
        *s = p;
        *e = k + cl;
        return TRUE;
      }
    }
  }
  return FALSE;
}

static void
mutate_once (GRand *r, GByteArray *b, gboolean xml)
{
  int op = g_rand_int_range (r, 0, xml ? 15 : 10);
  gsize p = rpos (r, b);
  switch (op) {
  case 0: /* bit flip */
    if (b->len)
      b->data[MIN (p, b->len - 1)] ^= (guint8) (1u << g_rand_int_range (r, 0, 8));
    break;
  case 1: { /* interesting byte */
    static const guint8 vals[] = { 0, 0xff, 0x7f, 0x80, '\n', '"', ',', '<', '>', '9', '-', ' ' };
    if (b->len)
      b->data[MIN (p, b->len - 1)] = vals[g_rand_int_range (r, 0, G_N_ELEMENTS (vals))];
    break;
  }
  case 2:
  case 3: { /* token */
    const char *t = tokens[g_rand_int_range (r, 0, G_N_ELEMENTS (tokens))];
    insert_bytes (b, p, (const guint8 *) t, strlen (t));
    break;
  }
  case 4: { /* delete a range */
    gsize n = (gsize) g_rand_int_range (r, 1, 17);
    if (p < b->len)
      g_byte_array_remove_range (b, (guint) p, (guint) MIN (n, b->len - p));
    break;
  }
  case 5: /* truncate */
    g_byte_array_set_size (b, (guint) p);
    break;
  case 6: { /* duplicate a chunk */
    if (!b->len)
      break;
    gsize s = (gsize) g_rand_int_range (r, 0, (gint32) b->len);
    gsize n = (gsize) g_rand_int_range (r, 1, 65);
    n = MIN (n, b->len - s);
    g_autofree guint8 *chunk = g_memdup2 (b->data + s, n);
    insert_bytes (b, rpos (r, b), chunk, n);
    break;
  }
  case 7: { /* replace a number by a hostile one */
    const char *d = (const char *) b->data;
    gsize s = p;
    while (s < b->len && !g_ascii_isdigit (d[s]))
      s++;
    if (s >= b->len)
      break;
    gsize e = s;
    while (e < b->len && (g_ascii_isdigit (d[e]) || d[e] == '.'))
      e++;
    g_byte_array_remove_range (b, (guint) s, (guint) (e - s));
    const char *t = tokens[g_rand_int_range (r, 0, 22)];
    insert_bytes (b, s, (const guint8 *) t, strlen (t));
    break;
  }
  case 8: { /* overlong run */
    gsize n = (gsize) g_rand_int_range (r, 200, 5000);
    g_autofree guint8 *run = g_malloc (n);
    memset (run, "A9 ,\"<"[g_rand_int_range (r, 0, 6)], n);
    insert_bytes (b, p, run, n);
    break;
  }
  case 9: { /* embedded NUL */
    guint8 z = 0;
    insert_bytes (b, p, &z, 1);
    break;
  }
  case 10:
  case 11: { /* delete or duplicate an attribute */
    gsize s, e;
    if (find_attr (r, b, &s, &e))
      drop_or_repeat (r, b, s, e);
    break;
  }
  case 13:
  case 14: { /* a token inside an attribute value */
    gsize s, e;
    if (!find_attr (r, b, &s, &e))
      break;
    const char *t = tokens[g_rand_int_range (r, 0, G_N_ELEMENTS (tokens))];
    insert_bytes (b, e - 1, (const guint8 *) t, strlen (t));
    break;
  }
  default: { /* delete or duplicate an element */
    gsize s, e;
    if (find_element (r, b, &s, &e))
      drop_or_repeat (r, b, s, e);
    break;
  }
  }
}

static GByteArray *
mutate (GRand *r, const guint8 *seed, gsize len, gboolean xml)
{
  GByteArray *b = g_byte_array_sized_new ((guint) len + 64);
  g_byte_array_append (b, seed, (guint) len);
  int n = g_rand_int_range (r, 1, 5);
  for (int i = 0; i < n; i++)
    mutate_once (r, b, xml);
  return b;
}

static GBytes *
read_seed (const char *rel)
{
  g_autofree char *path = g_build_filename (TL_SRCDIR, rel, NULL);
  char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) error = NULL;
  g_file_get_contents (path, &data, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (data, len);
}

/* The cases of one format: a seed and how many mutations of it, plus every
 * truncation of small seeds. `run` parses one input and checks it. */
typedef void (*RunFunc) (const GByteArray *input, gpointer data);

static void
fuzz_seed (GRand *r, const char *format, const guint8 *seed, gsize len, gboolean xml, guint iters,
           RunFunc run, gpointer data)
{
  /* every truncation (strided for larger seeds) */
  gsize stride = len <= 1024 ? 1 : len / 512;
  for (gsize n = 0; n < len; n += stride) {
    GByteArray *b = g_byte_array_new ();
    g_byte_array_append (b, seed, (guint) n);
    save_current (format, b);
    run (b, data);
    g_byte_array_unref (b);
  }
  for (guint i = 0; i < iters; i++) {
    GByteArray *b = mutate (r, seed, len, xml);
    save_current (format, b);
    run (b, data);
    g_byte_array_unref (b);
  }
}

/* --- JSON ------------------------------------------------------------------ */

static void
json_walk (const TlJson *j, int depth)
{
  g_assert_cmpint (depth, <=, 70);
  if (j->type == TL_JSON_STRING)
    g_assert_true (g_utf8_validate (j->str, -1, NULL));
  for (guint i = 0; i < j->n; i++) {
    if (j->type == TL_JSON_OBJECT)
      g_assert_nonnull (_tl_priv_json_member (j, j->keys[i]));
    json_walk (j->items[i], depth + 1);
  }
}

static void
run_json (const GByteArray *in, gpointer data G_GNUC_UNUSED)
{
  GError *error = NULL;
  TlJson *j = _tl_priv_json_parse ((const char *) in->data, in->len, &error);
  check_outcome ("json", j != NULL, error, "offset ", NULL, FALSE, in);
  if (j)
    json_walk (j, 0);
  _tl_priv_json_free (j);
  g_clear_error (&error);
}

static void
test_json (void)
{
  static const char *const seeds[] = {
    "{\"a\":[1,2.5e-3,-0,true,false,null,\"s\\u00e9\\ud83d\\ude00\\n\\\"\\\\\\/\\b\\f\\r\\t\"],"
    "\"b\":{\"c\":{},\"d\":[]},\"n\":18446744073709551615}",
    "{\"__metadata__\":{\"format\":\"pt\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],"
    "\"data_offsets\":[0,24]}}",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    "  \"just a string\"  ",
  };
  g_autoptr (GRand) r = new_rng (1);
  guint iters = n_iters (1500);
  for (gsize i = 0; i < G_N_ELEMENTS (seeds); i++)
    fuzz_seed (r, "json", (const guint8 *) seeds[i], strlen (seeds[i]), FALSE, iters, run_json,
               NULL);

  /* regressions: messages that embed file text stay on one line */
  static const char *const bad[] = {
    "{\"a\\nb\":1,\"a\\nb\":2}",
    "{\"x\\r\\ny\":1,\"x\\r\\ny\":2}",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GByteArray) b = g_byte_array_new ();
    g_byte_array_append (b, (const guint8 *) bad[i], (guint) strlen (bad[i]));
    GError *error = NULL;
    g_assert_null (_tl_priv_json_parse (bad[i], strlen (bad[i]), &error));
    check_outcome ("json regression", FALSE, error, "offset ", NULL, FALSE, b);
    g_clear_error (&error);
  }
}

/* --- job manifests and overlays --------------------------------------------- */

typedef struct {
  const char *path; /* where the mutated job is written */
  TlRegistry *reg;  /* built-in components only, for tl_job_validate() */
  TlJob *base;      /* a valid job for overlays */
  gboolean overlay;
  guint count;
} JobCtx;

static void
run_job (const GByteArray *in, gpointer data)
{
  JobCtx *c = data;
  GError *error = NULL;
  c->count++;
  if (c->overlay) {
    /* a fresh copy of the valid job each time: parse it again */
    gboolean ok = tl_job_apply_overlay_data (c->base, in->len ? (const char *) in->data : "",
                                             (gssize) in->len,
                                             c->path, &error);
    check_outcome ("job overlay", ok, error, c->path, NULL, TRUE, in);
    g_clear_error (&error);
    if (ok) {
      /* lines of overlay values start with the overlay's name, the others
       * with the job's: check the one-error-per-line shape only */
      ok = tl_job_validate (c->base, c->reg, &error);
      check_outcome ("job overlay validate", ok, error, c->path, "good.xml", TRUE, in);
      g_clear_error (&error);
    }
    return;
  }
  TlJob *job;
  if (c->count % 4 == 0) {
    g_assert_true (write_file (c->path, (const char *) in->data, in->len));
    job = tl_job_load (c->path, &error);
  } else {
    job = tl_job_parse ((const char *) (in->len ? (const char *) in->data : ""), (gssize) in->len,
                        c->path, &error);
  }
  check_outcome ("job", job != NULL, error, c->path, NULL, TRUE, in);
  g_clear_error (&error);
  if (job) {
    /* accessors on whatever was accepted */
    for (guint i = 0; i < tl_job_n_components (job); i++)
      g_assert_nonnull (tl_job_component_id (job, i));
    for (guint i = 0; i < tl_job_n_tasks (job); i++)
      g_assert_nonnull (tl_job_task_kind (job, i));
    gboolean ok = tl_job_validate (job, c->reg, &error);
    check_outcome ("job validate", ok, error, c->path, NULL, TRUE, in);
    g_clear_error (&error);
    ok = tl_job_apply_set (job, "m.hidden=8", &error);
    if (!ok)
      g_assert_nonnull (error);
    g_clear_error (&error);
  }
  tl_job_free (job);
}

static void
test_job (void)
{
  static const char *const seeds[] = {
    "tests/data/jobs/good.xml",       "tests/data/jobs/bad.xml",
    "tests/data/jobs/hostile.xml",    "tests/data/jobs/plan.xml",
    "tests/data/jobs/structure.xml",
  };
  g_autoptr (GRand) r = new_rng (2);
  guint iters = n_iters (400);
  g_autofree char *path = g_build_filename (tmpdir, "fuzz-job.xml", NULL);
  TlRegistryOptions opts = { 0 };
  opts.no_cache = 1;
  opts.no_probe = 1;
  g_autoptr (GError) rerror = NULL;
  JobCtx c = { path, tl_registry_new (&opts, &rerror), NULL, FALSE, 0 };
  g_assert_no_error (rerror);
  for (gsize i = 0; i < G_N_ELEMENTS (seeds); i++) {
    g_autoptr (GBytes) seed = read_seed (seeds[i]);
    gsize len;
    const guint8 *d = g_bytes_get_data (seed, &len);
    fuzz_seed (r, "job", d, len, TRUE, iters, run_job, &c);
  }
  g_unlink (path);

  /* overlays on a valid job */
  g_autoptr (GBytes) good = read_seed ("tests/data/jobs/good.xml");
  gsize glen;
  const char *gd = g_bytes_get_data (good, &glen);
  g_autoptr (GError) error = NULL;
  c.base = tl_job_parse (gd, (gssize) glen, "good.xml", &error);
  g_assert_no_error (error);
  c.overlay = TRUE;
  g_autofree char *opath = g_build_filename (tmpdir, "fuzz-overlay.xml", NULL);
  c.path = opath;
  static const char *const oseeds[] = { "tests/data/jobs/overlay-swap.xml",
                                        "tests/data/jobs/overlay-bad.xml" };
  for (gsize i = 0; i < G_N_ELEMENTS (oseeds); i++) {
    g_autoptr (GBytes) seed = read_seed (oseeds[i]);
    gsize len;
    const guint8 *d = g_bytes_get_data (seed, &len);
    fuzz_seed (r, "overlay", d, len, TRUE, iters, run_job, &c);
  }
  tl_job_free (c.base);

  /* regressions: attribute values holding &#10; stay on their error's line */
  static const char *const bad_jobs[] = {
    "<job xmlns=\"urn:tl:job:1\" name=\"a&#10;b/c\"/>",
    "<job xmlns=\"urn:tl:job:1\" name=\"j\"><dataset id=\"x&#10;y\" component=\"tl.csv\"/>"
    "<model id=\"m\" component=\"tl.mlp\" bad&#10;=\"1\"/></job>",
    "<job xmlns=\"urn:tl:job:1\" name=\"j\"><dataset id=\"d\" component=\"c\">"
    "<set name=\"a&#13;\">1</set><set name=\"a&#13;\">2</set></dataset></job>",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad_jobs); i++) {
    g_autoptr (GByteArray) b = g_byte_array_new ();
    g_byte_array_append (b, (const guint8 *) bad_jobs[i], (guint) strlen (bad_jobs[i]));
    g_assert_null (tl_job_parse (bad_jobs[i], -1, path, &error));
    check_outcome ("job regression", FALSE, error, path, NULL, TRUE, b);
    g_clear_error (&error);
  }
  {
    static const char overlay[] = "<overlay xmlns=\"urn:tl:job:1\"><set path=\"a&#10;b\">1</set>"
                                  "<set path=\"q&#10;.x\">1</set>"
                                  "<use id=\"n&#10;\" component=\"c\"/>"
                                  "</overlay>";
    g_autoptr (GByteArray) b = g_byte_array_new ();
    g_byte_array_append (b, (const guint8 *) overlay, sizeof overlay - 1);
    TlJob *job = tl_job_parse (gd, (gssize) glen, "good.xml", &error);
    g_assert_no_error (error);
    g_assert_false (tl_job_apply_overlay_data (job, overlay, -1, opath, &error));
    check_outcome ("overlay regression", FALSE, error, opath, NULL, TRUE, b);
    g_assert_nonnull (strstr (error->message, "a\\nb"));
    g_clear_error (&error);
    static const char *const bad_sets[] = { "x\ny.z=1", "a\rb", "nodot\n=1", "task9\n.epochs=1" };
    for (gsize i = 0; i < G_N_ELEMENTS (bad_sets); i++) {
      g_assert_false (tl_job_apply_set (job, bad_sets[i], &error));
      check_outcome ("--set regression", FALSE, error, NULL, NULL, FALSE, NULL);
      g_clear_error (&error);
    }
    tl_job_free (job);
  }

  /* regression: values holding newlines kept validation problems on one line
   * each (the lines are sorted: a value split over two used to scatter) */
  {
    static const char vjob[] =
        "<job xmlns=\"urn:tl:job:1\" name=\"j\">\n"
        "  <dataset id=\"train\" component=\"tl.synthetic\">\n"
        "    <set name=\"n_rows\">25\n6</set><set name=\"n_feat&#10;ures\">4</set>\n"
        "  </dataset>\n"
        "  <model id=\"m\" component=\"tl.mlp\"><set name=\"hidden\">16</set></model>\n"
        "  <task kind=\"train\" model=\"m&#10;x\" data=\"train\" epochs=\"2&#10;3\" "
        "optimizer=\"ad&#10;am\"/>\n"
        "  <task kind=\"tr&#10;ain\"/><allow plugin=\"x&#10;y\"/>\n"
        "</job>\n";
    g_autoptr (GByteArray) b = g_byte_array_new ();
    g_byte_array_append (b, (const guint8 *) vjob, sizeof vjob - 1);
    TlJob *job = tl_job_parse (vjob, -1, path, &error);
    g_assert_no_error (error);
    g_assert_false (tl_job_validate (job, c.reg, &error));
    check_outcome ("validate regression", FALSE, error, path, NULL, TRUE, b);
    g_assert_nonnull (strstr (error->message, "got '25\\n6'"));
    g_assert_nonnull (strstr (error->message, "epochs=\"2\\n3\" is not an integer"));
    g_assert_nonnull (strstr (error->message, "unknown task kind 'tr\\nain'"));
    g_auto (GStrv) lines = g_strsplit (error->message, "\n", -1);
    g_assert_cmpuint (g_strv_length (lines), ==, 7);
    g_clear_error (&error);
    tl_job_free (job);
  }

  /* --set assignments */
  static const char *const sets[] = { "m.hidden=16", "task1.epochs=3", "train.path=/tmp/x" };
  for (gsize i = 0; i < G_N_ELEMENTS (sets); i++) {
    for (guint k = 0; k < iters / 4; k++) {
      g_autoptr (GByteArray) b = mutate (r, (const guint8 *) sets[i], strlen (sets[i]), FALSE);
      g_byte_array_append (b, (const guint8 *) "", 1);
      TlJob *job = tl_job_parse (gd, (gssize) glen, "good.xml", &error);
      g_assert_no_error (error);
      gboolean ok = tl_job_apply_set (job, (const char *) b->data, &error);
      check_outcome ("job --set", ok, error, NULL, NULL, FALSE, b);
      g_clear_error (&error);
      tl_job_free (job);
    }
  }
  tl_registry_free (c.reg);
}

/* --- cluster descriptions ---------------------------------------------------- */

static void
run_cluster (const GByteArray *in, gpointer data)
{
  const char *path = data;
  g_assert_true (write_file (path, (const char *) in->data, in->len));
  GError *error = NULL;
  TlCluster *cl = tl_cluster_load (path, &error);
  /* one problem per line, each starting with the file name */
  check_outcome ("cluster", cl != NULL, error, path, NULL, TRUE, in);
  g_clear_error (&error);
  tl_cluster_free (cl);
}

static void
test_cluster (void)
{
  g_autoptr (GRand) r = new_rng (8);
  g_autofree char *path = g_build_filename (tmpdir, "fuzz-cluster.xml", NULL);
  g_autoptr (GBytes) seed = read_seed ("tests/data/clusters/two-nodes.xml");
  gsize len;
  const guint8 *d = g_bytes_get_data (seed, &len);
  fuzz_seed (r, "cluster", d, len, TRUE, n_iters (300), run_cluster, path);

  /* regression: attribute values holding a newline were quoted as they are,
   * splitting one problem over two lines */
  static const char *const bad =
    "<?xml version=\"1.0\"?>\n<cluster xmlns=\"urn:tl:cluster:1\">\n"
    "  <machine count=\"2\"><device kind=\"g&#10;pu\" count=\"8\" memory=\"16GiB\"/>\n"
    "    <link scope=\"in&#13;tra\" bandwidth=\"150e9\"/></machine>\n"
    "  <link scope=\"inter\" bandwidth=\"1&#10;.25e9\"/>\n</cluster>\n";
  g_assert_true (write_file (path, bad, strlen (bad)));
  GError *error = NULL;
  TlCluster *cl = tl_cluster_load (path, &error);
  g_assert_null (cl);
  g_assert_nonnull (error);
  g_auto (GStrv) lines = g_strsplit (error->message, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 5);
  for (guint i = 0; lines[i]; i++) {
    g_assert_true (g_str_has_prefix (lines[i], path));
    g_assert_null (strchr (lines[i], '\r'));
  }
  g_assert_nonnull (strstr (error->message, "kind=\"g\\npu\""));
  g_assert_nonnull (strstr (error->message, "scope=\"in\\rtra\""));
  g_assert_nonnull (strstr (error->message, "bandwidth=\"1\\n.25e9\""));
  g_clear_error (&error);
  g_unlink (path);
}

/* --- plugin manifests -------------------------------------------------------- */

typedef struct {
  char *dir;
  char *path;
} ManifestCtx;

static void
run_manifest (const GByteArray *in, gpointer data)
{
  ManifestCtx *c = data;
  g_assert_true (write_file (c->path, (const char *) in->data, in->len));
  TlRegistryOptions opts = { 0 };
  opts.no_cache = 1;
  opts.no_probe = 1;
  GError *error = NULL;
  TlRegistry *reg = tl_registry_new (&opts, &error);
  g_assert_no_error (error);
  const TlPluginInfo *p = tl_registry_add_path (reg, c->path, &error);
  check_outcome ("plugin manifest", p != NULL, error, c->path, NULL, FALSE, in);
  g_clear_error (&error);
  const char *const *w = tl_registry_warnings (reg);
  for (guint i = 0; w && w[i]; i++)
    if (strchr (w[i], '\n'))
      g_error ("registry warning on several lines: %s", w[i]);
  for (guint i = 0; i < tl_registry_n_plugins (reg); i++)
    g_assert_nonnull (tl_plugin_info_id (tl_registry_plugin (reg, i)));
  tl_registry_free (reg);
}

static void
test_manifest (void)
{
  static const char *const seeds[] = {
    "tests/plugins/good/good.tlplugin.xml",
    "tests/plugins/missing-dep/missing-dep.tlplugin.xml",
    "tests/plugins/future-host/future-host.tlplugin.xml",
    "core/builtin/tl.tlplugin.xml",
  };
  g_autoptr (GRand) r = new_rng (3);
  guint iters = n_iters (150);
  ManifestCtx c;
  c.dir = g_build_filename (tmpdir, "plugins", NULL);
  g_assert_cmpint (g_mkdir_with_parents (c.dir, 0700), ==, 0);
  c.path = g_build_filename (c.dir, "fz.tlplugin.xml", NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (seeds); i++) {
    g_autoptr (GBytes) seed = read_seed (seeds[i]);
    gsize len;
    const guint8 *d = g_bytes_get_data (seed, &len);
    /* truncations of the big built-in manifest are strided by fuzz_seed */
    fuzz_seed (r, "manifest", d, len, TRUE, i == 3 ? iters / 3 : iters, run_manifest, &c);
  }

  /* regressions: text from the manifest never breaks a message's line */
  static const char *const bad[] = {
    "<plugin xmlns=\"urn:tl:plugin:1\" id=\"good\" version=\"1.0.0\" abi=\"1.0\" "
    "library=\"libtl&#10;-good.so\"><component kind=\"op\" name=\"scale\"/></plugin>",
    "<plugin xmlns=\"urn:tl:plugin:1\" id=\"good\" version=\"1.0.0\" abi=\"1.&#10;0\" "
    "library=\"libtl-good.so\"><component kind=\"op\" name=\"scale\"/></plugin>",
    "<plugin xmlns=\"urn:tl:plugin:1\" id=\"good\" version=\"1.0.0\" abi=\"1.0\" "
    "library=\"libtl-good.so\"><component kind=\"op\" name=\"s&#13;\"/></plugin>",
    /* libxml2's own message quotes the namespace */
    "<plugin xmlns=\"urn:tl:plugin:&#13;1\" id=\"good\" version=\"1.0.0\" abi=\"1.0\" "
    "library=\"libtl-good.so\"><component kind=\"op\" name=\"s\"/></plugin>",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GByteArray) b = g_byte_array_new ();
    g_byte_array_append (b, (const guint8 *) bad[i], (guint) strlen (bad[i]));
    run_manifest (b, &c);
  }
  g_unlink (c.path);
  g_rmdir (c.dir);
  g_free (c.path);
  g_free (c.dir);
}

/* --- safetensors and checkpoints ------------------------------------------- */

static TlTensor *
seq_tensor (TlDType dt, guint ndim, const gint64 *shape)
{
  g_autoptr (GError) error = NULL;
  TlTensor *t = tl_tensor_new (dt, ndim, shape, &error);
  g_assert_no_error (error);
  gint64 n = tl_tensor_numel (t);
  for (gint64 i = 0; i < n; i++)
    tl_tensor_set_flat (t, i, (double) (i % 7));
  return t;
}

/* A valid file: several dtypes, a scalar, an empty tensor, metadata. */
static GBytes *
safetensors_seed (void)
{
  const char *names[] = { "w", "b", "s", "e", "ids", "half", "mask" };
  TlTensor *ts[7];
  ts[0] = seq_tensor (TL_DTYPE_F32, 2, (gint64[]){ 3, 2 });
  ts[1] = seq_tensor (TL_DTYPE_F64, 1, (gint64[]){ 2 });
  ts[2] = seq_tensor (TL_DTYPE_F32, 0, NULL);
  ts[3] = seq_tensor (TL_DTYPE_F32, 2, (gint64[]){ 0, 4 });
  ts[4] = seq_tensor (TL_DTYPE_I64, 1, (gint64[]){ 3 });
  ts[5] = seq_tensor (TL_DTYPE_BF16, 3, (gint64[]){ 1, 2, 2 });
  ts[6] = seq_tensor (TL_DTYPE_U8, 1, (gint64[]){ 5 });
  g_autoptr (GHashTable) meta = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (meta, "format", "pt");
  g_hash_table_insert (meta, "step", "7");
  g_autofree char *path = g_build_filename (tmpdir, "seed.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (tl_safetensors_write (path, 7, names, ts, meta, &error));
  g_assert_no_error (error);
  for (int i = 0; i < 7; i++)
    tl_tensor_unref (ts[i]);
  char *data;
  gsize len;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  g_unlink (path);
  return g_bytes_new_take (data, len);
}

/* Mutate the header text only, then (mostly) fix the length prefix so the
 * JSON and entry checks are reached. */
static GByteArray *
mutate_safetensors (GRand *r, const guint8 *seed, gsize len)
{
  guint64 hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = (hlen << 8) | seed[i];
  int mode = g_rand_int_range (r, 0, 4);
  if (mode == 0 || hlen > len - 8)
    return mutate (r, seed, len, FALSE);
  g_autoptr (GByteArray) h = mutate (r, seed + 8, (gsize) hlen, FALSE);
  GByteArray *b = g_byte_array_new ();
  guint64 nl = mode == 3 ? hlen : h->len;
  guint8 lenbuf[8];
  for (int i = 0; i < 8; i++)
    lenbuf[i] = (guint8) (nl >> (8 * i));
  g_byte_array_append (b, lenbuf, 8);
  g_byte_array_append (b, h->data, h->len);
  g_byte_array_append (b, seed + 8 + hlen, (guint) (len - 8 - hlen));
  return b;
}

typedef struct {
  char *path;
  TlModelInstance *model; /* for checkpoint loads */
  TlOptimizer *opt;       /* "adam" without parameters: kind and steps only */
  guint count;
} StCtx;

static void
run_safetensors (const GByteArray *in, gpointer data)
{
  StCtx *c = data;
  c->count++;
  g_assert_true (write_file (c->path, (const char *) in->data, in->len));
  GError *error = NULL;
  GHashTable *meta = NULL;
  GHashTable *t = tl_safetensors_read (c->path, &meta, &error);
  check_outcome ("safetensors", t != NULL, error, c->path, NULL, FALSE, in);
  g_clear_error (&error);
  if (t) {
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init (&it, t);
    while (g_hash_table_iter_next (&it, &k, &v)) {
      g_assert_true (g_utf8_validate (k, -1, NULL));
      g_assert_cmpint (tl_tensor_nbytes (v), ==,
                       tl_tensor_numel (v) * (gint64) tl_dtype_size (tl_tensor_dtype (v)));
    }
    g_hash_table_destroy (t);
    g_hash_table_destroy (meta);
  }
  if (c->model && c->count % 3 == 0) {
    TlParamStore *store = tl_model_instance_params (c->model);
    gboolean ok = tl_checkpoint_load_full (store, c->count % 2 ? c->opt : NULL, c->path, NULL,
                                           &error);
    check_outcome ("checkpoint", ok, error, c->path, NULL, FALSE, in);
    g_clear_error (&error);
    ok = tl_checkpoint_load_mapped (store, c->path, c->count % 2 ? "bert" : NULL, &error);
    check_outcome ("checkpoint mapped", ok, error, c->path, NULL, FALSE, in);
    g_clear_error (&error);
  }
}

static void
fuzz_safetensors (GRand *r, StCtx *c, const guint8 *seed, gsize len, guint iters)
{
  for (gsize n = 0; n < len; n += len <= 1024 ? 1 : len / 512) {
    GByteArray *b = g_byte_array_new ();
    g_byte_array_append (b, seed, (guint) n);
    save_current ("safetensors", b);
    run_safetensors (b, c);
    g_byte_array_unref (b);
  }
  for (guint i = 0; i < iters; i++) {
    GByteArray *b = mutate_safetensors (r, seed, len);
    save_current ("safetensors", b);
    run_safetensors (b, c);
    g_byte_array_unref (b);
  }
}

static GByteArray *
st_bytes (const char *header, gsize data_len)
{
  GByteArray *b = g_byte_array_new ();
  guint64 hl = strlen (header);
  guint8 lenbuf[8];
  for (int i = 0; i < 8; i++)
    lenbuf[i] = (guint8) (hl >> (8 * i));
  g_byte_array_append (b, lenbuf, 8);
  g_byte_array_append (b, (const guint8 *) header, (guint) hl);
  for (gsize i = 0; i < data_len; i++) {
    guint8 z = 0;
    g_byte_array_append (b, &z, 1);
  }
  return b;
}

static void
test_safetensors (void)
{
  g_autoptr (GRand) r = new_rng (4);
  guint iters = n_iters (1500);
  StCtx c = { g_build_filename (tmpdir, "fuzz.safetensors", NULL), NULL, NULL, 0 };
  g_autoptr (GBytes) seed = safetensors_seed ();
  gsize len;
  const guint8 *d = g_bytes_get_data (seed, &len);
  fuzz_safetensors (r, &c, d, len, iters);

  /* checkpoints of a small model */
  g_autoptr (GError) error = NULL;
  TlDatasetInstance *ds =
      bt_dataset_new ("tl.synthetic", KV ("n_rows", "8", "n_features", "3"), &error);
  g_assert_no_error (error);
  c.model = bt_model_new ("tl.mlp", KV ("input", "features", "hidden", "2"), 1, &error);
  g_assert_no_error (error);
  TlGraph *g = tl_model_instance_build (c.model, ds, TL_MODE_EVAL, 4, NULL, NULL, &error);
  g_assert_no_error (error);
  tl_graph_unref (g);
  TlOptimConfig oc;
  tl_optim_config_init (&oc);
  c.opt = tl_optimizer_new ("adam", &oc, &error);
  g_assert_no_error (error);
  g_assert_true (tl_checkpoint_save (tl_model_instance_params (c.model), c.opt, NULL, c.path,
                                     &error));
  g_assert_no_error (error);
  char *ck;
  gsize cklen;
  g_assert_true (g_file_get_contents (c.path, &ck, &cklen, NULL));
  fuzz_safetensors (r, &c, (const guint8 *) ck, cklen, iters / 3);
  g_free (ck);

  /* regression: optimizer metadata from the file stays on one line */
  {
    static const char *const metas[] = {
      "{\"__metadata__\":{\"optim.kind\":\"ad\\nam\",\"optim.steps\":\"1\"}}",
      "{\"__metadata__\":{\"optim.kind\":\"adam\",\"optim.steps\":\"1\\n\"}}",
    };
    TlParamStore *store = tl_model_instance_params (c.model);
    for (gsize i = 0; i < G_N_ELEMENTS (metas); i++) {
      /* the model's parameters, then the damaged metadata */
      g_autoptr (GHashTable) meta = NULL;
      g_autoptr (GHashTable) file = NULL;
      g_autofree char *good = g_build_filename (tmpdir, "good.safetensors", NULL);
      g_assert_true (tl_checkpoint_save (store, NULL, NULL, good, &error));
      file = tl_safetensors_read (good, NULL, &error);
      g_assert_no_error (error);
      g_autoptr (GByteArray) hdr = st_bytes (metas[i], 0);
      g_autoptr (GHashTable) bad_meta = NULL;
      g_assert_true (write_file (c.path, (const char *) hdr->data, hdr->len));
      g_assert_nonnull ((bad_meta = tl_safetensors_read (c.path, &meta, &error)));
      guint n = g_hash_table_size (file);
      g_autofree const char **names = (const char **) g_hash_table_get_keys_as_array (file, &n);
      g_autofree TlTensor **ts = g_new (TlTensor *, n);
      for (guint k = 0; k < n; k++)
        ts[k] = g_hash_table_lookup (file, names[k]);
      g_assert_true (tl_safetensors_write (c.path, n, names, ts, meta, &error));
      g_assert_false (tl_checkpoint_load_full (store, c.opt, c.path, NULL, &error));
      check_outcome ("checkpoint regression", FALSE, error, c.path, NULL, FALSE, hdr);
      g_clear_error (&error);
      g_unlink (good);
    }
  }
  tl_optimizer_free (c.opt);
  c.opt = NULL;
  tl_model_instance_free (c.model);
  tl_dataset_instance_free (ds);
  c.model = NULL;

  /* regressions: names with control characters stay on one line */
  static const char *const bad[] = {
    "{\"a\\nb\":{\"dtype\":\"X\",\"shape\":[],\"data_offsets\":[0,0]}}",
    "{\"a\\nb\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}",
    "{\"a\\nb\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
    "\"c\\rd\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
    "{\"__metadata__\":{\"k\\n\":1}}",
    "{\"x\\n\":[]}",
    "{\"q\":{\"dtype\":\"\\n\",\"shape\":[],\"data_offsets\":[0,4]}}",
    /* empty tensors whose other dimensions overflow (their strides would) */
    "{\"a\":{\"dtype\":\"F32\",\"shape\":[0,9223372036854775807,9223372036854775807],"
    "\"data_offsets\":[0,0]}}",
    "{\"a\":{\"dtype\":\"F32\",\"shape\":[0,4611686018427387904,4],\"data_offsets\":[0,0]}}",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GByteArray) b = st_bytes (bad[i], 8);
    g_clear_error (&error);
    g_assert_true (write_file (c.path, (const char *) b->data, b->len));
    g_assert_null (tl_safetensors_read (c.path, NULL, &error));
    check_outcome ("safetensors regression", FALSE, error, c.path, NULL, FALSE, b);
  }

  /* regression: a 100 kB tensor name is not copied into the message whole */
  {
    GString *h = g_string_new ("{\"");
    for (int i = 0; i < 100000; i++)
      g_string_append (h, i % 7 ? "a" : "\xc3\xa9");
    g_string_append (h, "\":{\"dtype\":\"X\",\"shape\":[],\"data_offsets\":[0,0]}}");
    g_autoptr (GByteArray) b = st_bytes (h->str, 0);
    g_string_free (h, TRUE);
    g_clear_error (&error);
    g_assert_true (write_file (c.path, (const char *) b->data, b->len));
    g_assert_null (tl_safetensors_read (c.path, NULL, &error));
    check_outcome ("safetensors regression", FALSE, error, c.path, NULL, FALSE, b);
    g_assert_cmpuint (strlen (error->message), <, 400 + strlen (c.path));
    g_assert_true (g_utf8_validate (error->message, -1, NULL));
    g_assert_nonnull (strstr (error->message, "aa...': unsupported dtype \"X\""));
  }
  g_unlink (c.path);
  g_free (c.path);
}

/* --- datasets ---------------------------------------------------------------- */

/* Open a dataset and read all its rows; check the outcome. */
static void
open_and_read (const char *what, const char *component, const char *const *kv, const char *name,
               const char *alt_name, const GByteArray *in)
{
  GError *error = NULL;
  TlDatasetInstance *d = bt_dataset_new (component, kv, &error);
  check_outcome (what, d != NULL, error, name, alt_name, FALSE, in);
  g_clear_error (&error);
  if (!d)
    return;
  gint64 n = tl_dataset_instance_size (d);
  g_assert_cmpint (n, >=, 0);
  if (n > 0) {
    gint64 m = MIN (n, 64);
    g_autofree gint64 *rows = g_new (gint64, m);
    for (gint64 i = 0; i < m; i++)
      rows[i] = n - 1 - i;
    TlTensor **t = tl_dataset_instance_read (d, m, rows, &error);
    check_outcome (what, t != NULL, error, NULL, NULL, FALSE, in);
    g_clear_error (&error);
    for (guint i = 0; t && i < tl_dataset_instance_n_fields (d); i++)
      tl_tensor_unref (t[i]);
    g_free (t);
  }
  tl_dataset_instance_free (d);
}

static void
write_gz (const char *path, const GByteArray *b)
{
  gzFile f = gzopen (path, "wb");
  g_assert_nonnull (f);
  if (b->len)
    g_assert_cmpint (gzwrite (f, b->data, b->len), ==, (int) b->len);
  gzclose (f);
}

typedef struct {
  char *path;
  const char *const *kv; /* options besides path */
  char *vocab;           /* when set, `in` is this vocab_file and path stays */
  guint count;
} CsvCtx;

static void
run_csv (const GByteArray *in, gpointer data)
{
  CsvCtx *c = data;
  if (!c->vocab && ++c->count % 5 == 0)
    write_gz (c->path, in); /* the same bytes gzip-compressed */
  else
    g_assert_true (write_file (c->vocab ? c->vocab : c->path, (const char *) in->data, in->len));
  if (c->vocab) {
    open_and_read ("csv vocab_file", "tl.csv",
                   KV ("path", c->path, "schema", "k:str,v:float,t:str", "vocab_file", c->vocab),
                   c->vocab, NULL, in);
    return;
  }
  const char *kv[32] = { "path", c->path };
  guint n = 2;
  for (guint i = 0; c->kv[i] && n < 30; i++)
    kv[n++] = c->kv[i];
  kv[n] = NULL;
  open_and_read ("csv", "tl.csv", kv, c->path, NULL, in);
}

static void
test_csv (void)
{
  const struct {
    const char *fixture, *text;
    const char *const *kv;
  } seeds[] = {
    { "quoted.csv", NULL, KV ("schema", "id:int,name:str,score:float", "header", "true") },
    { "adult-mini.csv", NULL,
      KV ("schema", "age:float,workclass:str,fnlwgt:float,education:str,income:label") },
    { "adult-mini.csv", NULL,
      KV ("schema", "age:float,workclass:str,fnlwgt:float,education:str,income:label",
          "on_error", "skip", "quantile_buckets", "2", "label_values", "<=50K,>50K") },
    { "mixed.tsv", NULL,
      KV ("schema", "x:float,color:str,y:label", "delimiter", "tab", "comment", "#", "skip_rows",
          "1", "header", "true") },
    { "lists.csv", NULL, KV ("schema", "v:float:3,t:str:2,y:label", "list_separator", "|") },
    { "bad.csv", NULL, KV ("schema", "a:int,b:str,c:str", "on_error", "skip") },
    { NULL, "1,0.25,a\n2,-3,b\n3,1e3,\"c,\"\"d\"\n4,,?\n",
      KV ("schema", "x:int,y:float,z:str", "buckets", "y=0,1", "min_count", "1") },
    { NULL, "1 2,0\n3 4,1\n", KV ("schema", "v:float:2,y:label", "label_dtype", "f32") },
  };
  g_autoptr (GRand) r = new_rng (5);
  guint iters = n_iters (250);
  CsvCtx c = { g_build_filename (tmpdir, "fuzz.csv", NULL), NULL, NULL, 0 };
  for (gsize i = 0; i < G_N_ELEMENTS (seeds); i++) {
    g_autoptr (GBytes) seed = NULL;
    if (seeds[i].fixture) {
      g_autofree char *rel = g_build_filename ("tests/data/csv", seeds[i].fixture, NULL);
      seed = read_seed (rel);
    } else {
      seed = g_bytes_new_static (seeds[i].text, strlen (seeds[i].text));
    }
    c.kv = seeds[i].kv;
    gsize len;
    const guint8 *d = g_bytes_get_data (seed, &len);
    fuzz_seed (r, "csv", d, len, FALSE, iters, run_csv, &c);
  }
  /* vocab_file */
  static const char data[] = "a,1,x\nb,2,y\nc,3,x\n";
  static const char vocab[] = "k\ta\nk\tb\nt\ty\nk\t\xc3\xa9\n";
  g_assert_true (write_file (c.path, data, sizeof data - 1));
  c.vocab = g_build_filename (tmpdir, "fuzz.vocab", NULL);
  fuzz_seed (r, "csv-vocab", (const guint8 *) vocab, sizeof vocab - 1, FALSE, iters, run_csv, &c);
  g_unlink (c.vocab);
  g_free (c.vocab);
  g_unlink (c.path);
  g_free (c.path);
}

static guint8
idx_value (gsize i)
{
  return (guint8) ((i * 17) % 256);
}

static GByteArray *
idx_seed (guint ndim, const guint32 *dims, gsize n_data)
{
  return bt_idx_bytes (ndim, dims, n_data, idx_value);
}

typedef struct {
  char *img, *lab, *img_gz;
  GByteArray *other; /* the file not being mutated */
  gboolean mutate_labels;
  guint count;
} IdxCtx;

static void
run_idx (const GByteArray *in, gpointer data)
{
  IdxCtx *c = data;
  c->count++;
  const char *mutated = c->mutate_labels ? c->lab : c->img;
  const char *other = c->mutate_labels ? c->img : c->lab;
  g_assert_true (write_file (mutated, (const char *) in->data, in->len));
  g_assert_true (write_file (other, (const char *) c->other->data, c->other->len));
  if (c->count % 5 == 0 && !c->mutate_labels) {
    /* the same bytes gzip-compressed */
    write_gz (c->img_gz, in);
    open_and_read ("idx.gz", "tl.idx", KV ("images", c->img_gz, "labels", c->lab), c->img_gz,
                   c->lab, in);
  }
  open_and_read ("idx", "tl.idx",
                 KV ("images", c->img, "labels", c->lab, "flatten",
                     c->count % 2 ? "true" : "false"),
                 mutated, other, in);
}

static void
test_idx (void)
{
  g_autoptr (GRand) r = new_rng (6);
  guint iters = n_iters (1200);
  IdxCtx c = { g_build_filename (tmpdir, "img", NULL), g_build_filename (tmpdir, "lab", NULL),
               g_build_filename (tmpdir, "img.gz", NULL), NULL, FALSE, 0 };
  g_autoptr (GByteArray) img = idx_seed (3, (guint32[]){ 5, 4, 4 }, 80);
  g_autoptr (GByteArray) lab = idx_seed (1, (guint32[]){ 5 }, 5);
  for (guint i = 0; i < lab->len - 8; i++)
    lab->data[8 + i] = (guint8) (i % 3);
  c.other = lab;
  fuzz_seed (r, "idx", img->data, img->len, FALSE, iters, run_idx, &c);
  c.other = img;
  c.mutate_labels = TRUE;
  fuzz_seed (r, "idx", lab->data, lab->len, FALSE, iters / 2, run_idx, &c);
  /* a gzip stream damaged after compression */
  g_unlink (c.img_gz);
  write_gz (c.img_gz, img);
  char *gz;
  gsize gzlen;
  g_assert_true (g_file_get_contents (c.img_gz, &gz, &gzlen, NULL));
  for (guint i = 0; i < iters / 4; i++) {
    g_autoptr (GByteArray) b = mutate (r, (const guint8 *) gz, gzlen, FALSE);
    g_assert_true (write_file (c.img_gz, (const char *) b->data, b->len));
    open_and_read ("idx.gz damaged", "tl.idx", KV ("images", c.img_gz), c.img_gz, NULL, b);
  }
  g_free (gz);

  /* regression: a 16-byte header declaring 4 GiB of data is refused from
   * the file size, before anything is allocated */
  g_autoptr (GByteArray) huge = idx_seed (3, (guint32[]){ 1, 65535, 65535 }, 0);
  g_assert_true (write_file (c.img, (const char *) huge->data, huge->len));
  g_autoptr (GError) error = NULL;
  g_assert_null (bt_dataset_new ("tl.idx", KV ("images", c.img), &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_PARSE);
  g_assert_nonnull (
      strstr (error->message, "img: truncated: expected 4294836225 bytes of data, got 0"));
  g_clear_error (&error);
  write_gz (c.img_gz, huge);
  g_assert_null (bt_dataset_new ("tl.idx", KV ("images", c.img_gz), &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_PARSE);
  g_assert_nonnull (strstr (error->message, "compressed bytes can hold"));
  g_unlink (c.img);
  g_unlink (c.lab);
  g_unlink (c.img_gz);
  g_free (c.img);
  g_free (c.lab);
  g_free (c.img_gz);
}

static void
run_st_dataset (const GByteArray *in, gpointer data)
{
  StCtx *c = data;
  c->count++;
  g_assert_true (write_file (c->path, (const char *) in->data, in->len));
  if (c->count % 2)
    open_and_read ("safetensors dataset", "tl.safetensors", KV ("path", c->path), c->path, NULL,
                   in);
  else
    open_and_read ("safetensors dataset", "tl.safetensors",
                   KV ("path", c->path, "fields", "label,image"), c->path, NULL, in);
}

static void
test_st_dataset (void)
{
  g_autoptr (GRand) r = new_rng (7);
  guint iters = n_iters (800);
  StCtx c = { g_build_filename (tmpdir, "ds.safetensors", NULL), NULL, NULL, 0 };
  const char *names[] = { "image", "label", "mask" };
  TlTensor *ts[3];
  ts[0] = seq_tensor (TL_DTYPE_F32, 3, (gint64[]){ 4, 2, 2 });
  ts[1] = seq_tensor (TL_DTYPE_I64, 1, (gint64[]){ 4 });
  ts[2] = seq_tensor (TL_DTYPE_U8, 2, (gint64[]){ 4, 1 });
  g_autoptr (GError) error = NULL;
  g_assert_true (tl_safetensors_write (c.path, 3, names, ts, NULL, &error));
  g_assert_no_error (error);
  for (int i = 0; i < 3; i++)
    tl_tensor_unref (ts[i]);
  char *seed;
  gsize len;
  g_assert_true (g_file_get_contents (c.path, &seed, &len, NULL));
  for (gsize n = 0; n < len; n++) {
    GByteArray *b = g_byte_array_new ();
    g_byte_array_append (b, (const guint8 *) seed, (guint) n);
    run_st_dataset (b, &c);
    g_byte_array_unref (b);
  }
  for (guint i = 0; i < iters; i++) {
    GByteArray *b = mutate_safetensors (r, (const guint8 *) seed, len);
    save_current ("st-dataset", b);
    run_st_dataset (b, &c);
    g_byte_array_unref (b);
  }
  g_free (seed);

  /* regression: a tensor name holding a newline, in a rows mismatch */
  g_autoptr (GByteArray) b =
      st_bytes ("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
                "\"b\\nc\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[2,5]}}", 5);
  g_assert_true (write_file (c.path, (const char *) b->data, b->len));
  g_assert_null (bt_dataset_new ("tl.safetensors", KV ("path", c.path), &error));
  check_outcome ("safetensors dataset regression", FALSE, error, c.path, NULL, FALSE, b);
  g_assert_nonnull (strstr (error->message, "b\\nc"));
  g_clear_error (&error);

  /* regressions: an empty tensor name, a zero dimension after the rows */
  static const char *const bad_ds[] = {
    "{\"\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}",
    "{\"a\":{\"dtype\":\"U8\",\"shape\":[2,0],\"data_offsets\":[0,0]}}",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad_ds); i++) {
    g_autoptr (GByteArray) bd = st_bytes (bad_ds[i], 2);
    g_assert_true (write_file (c.path, (const char *) bd->data, bd->len));
    g_assert_null (bt_dataset_new ("tl.safetensors", KV ("path", c.path), &error));
    check_outcome ("safetensors dataset regression", FALSE, error, c.path, NULL, FALSE, bd);
    g_clear_error (&error);
  }
  g_unlink (c.path);
  g_free (c.path);
}

static void
drop_log (const char *domain G_GNUC_UNUSED, GLogLevelFlags level G_GNUC_UNUSED,
          const char *message G_GNUC_UNUSED, gpointer data G_GNUC_UNUSED)
{
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* "skipped N malformed rows" and the like: expected, not worth printing */
  g_log_set_handler ("tl", G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO, drop_log, NULL);
  g_setenv ("TL_PLUGIN_PATH", "", TRUE);
  g_setenv ("TL_PLUGIN_SYSTEM_PATH", "", TRUE);
  g_test_add_func ("/fuzz/json", test_json);
  g_test_add_func ("/fuzz/job", test_job);
  g_test_add_func ("/fuzz/cluster", test_cluster);
  g_test_add_func ("/fuzz/plugin-manifest", test_manifest);
  g_test_add_func ("/fuzz/safetensors", test_safetensors);
  g_test_add_func ("/fuzz/csv", test_csv);
  g_test_add_func ("/fuzz/idx", test_idx);
  g_test_add_func ("/fuzz/safetensors-dataset", test_st_dataset);
  return bt_test_run_in_tmpdir ("tl-fuzz-XXXXXX", &tmpdir);
}
