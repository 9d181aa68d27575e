/* test-csv.c — the built-in dataset "tl.csv": schema, RFC 4180 quoting,
 * vocabularies, bucketing, missing values, labels, malformed rows (exact
 * "file:line:" errors and skip mode) and hostile input.
 */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>
#include <zlib.h>

#include "builtin-util.h"

static char *tmpdir;

static TlDatasetInstance *
open_csv (const char *path, const char *const *extra, GError **error)
{
  GPtrArray *kv = g_ptr_array_new ();
  g_ptr_array_add (kv, (gpointer) "path");
  g_ptr_array_add (kv, (gpointer) path);
  for (guint i = 0; extra && extra[i]; i++)
    g_ptr_array_add (kv, (gpointer) extra[i]);
  g_ptr_array_add (kv, NULL);
  TlDatasetInstance *d = bt_dataset_new ("tl.csv", (const char *const *) kv->pdata, error);
  g_ptr_array_free (kv, TRUE);
  return d;
}

static TlDatasetInstance *
open_text (const char *name, const char *text, const char *const *extra, GError **error)
{
  g_autofree char *path = bt_write_file (tmpdir, name, text, strlen (text));
  return open_csv (path, extra, error);
}

/* Opens `path` with `schema` and on_error=skip, which must log the message
 * `skipped` (a g_test_expect_message() pattern) and succeed. */
static TlDatasetInstance *
open_skipping (const char *path, const char *schema, const char *skipped)
{
  g_autoptr (GError) error = NULL;
  g_test_expect_message ("tl", G_LOG_LEVEL_MESSAGE, skipped);
  TlDatasetInstance *d = open_csv (path, KV ("schema", schema, "on_error", "skip"), &error);
  g_test_assert_expected_messages ();
  g_assert_no_error (error);
  return d;
}

static void
assert_field (TlDatasetInstance *d, const char *name, const double *expect, gint64 n)
{
  gint64 m = 0;
  g_autofree double *v = bt_read_field (d, name, &m);
  g_assert_cmpint (m, ==, n);
  for (gint64 i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (v[i], expect[i], 1e-6);
}

static void
test_quoting (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = bt_fixture ("quoted.csv");
  TlDatasetInstance *d = open_csv (path, KV ("schema", "id:int,name:str,score:float", "header",
                                             "true"), &error);
  g_assert_no_error (error);
  g_assert_cmpint (tl_dataset_instance_size (d), ==, 5);
  /* the delimiter inside quotes does not split: score stays in place */
  assert_field (d, "score", (double[]){ 2.5, 3.5, 4.5, 5.5, 6.5 }, 5);
  assert_field (d, "id", (double[]){ 1, 2, 3, 4, 5 }, 5);
  /* "Smith, John" twice (id 2), then by first appearance */
  assert_field (d, "name", (double[]){ 2, 3, 4, 5, 2 }, 5);
  g_assert_cmpint (bt_field (d, "name")->cardinality, ==, 6);
  g_assert_cmpint (bt_field (d, "id")->dtype, ==, TL_DTYPE_I64);
  g_assert_cmpint (bt_field (d, "score")->dtype, ==, TL_DTYPE_F32);
  tl_dataset_instance_free (d);

  /* line numbers count the line break inside a quoted field */
  d = open_text ("q2.csv", "a,\"x\ny\"\nb,\"z\"\nc\n", KV ("schema", "k:str,v:str"), &error);
  g_assert_error (error, TL_ERROR, TL_ERROR_PARSE);
  g_assert_cmpstr (error->message, ==, "q2.csv:4: expected 2 fields, found 1");
  g_assert_null (d);
  g_clear_error (&error);

  d = open_text ("q3.csv", "a,\"never closed\nb,c\n", KV ("schema", "k:str,v:str"), &error);
  BT_ASSERT_ERROR (error, TL_ERROR_PARSE, "q3.csv:1: unterminated quoted field");

  d = open_text ("q4.csv", "a,\"x\"y\nb,c\n", KV ("schema", "k:str,v:str"), &error);
  BT_ASSERT_ERROR (error, TL_ERROR_PARSE, "q4.csv:1: unexpected text after a closing quote");

  /* CRLF line ends, quoted empty field is not a blank line */
  d = open_text ("q5.csv", "a,1\r\n\"\",2\r\n", KV ("schema", "k:str,v:float"), &error);
  g_assert_no_error (error);
  g_assert_cmpint (tl_dataset_instance_size (d), ==, 2);
  assert_field (d, "k", (double[]){ 2, 1 }, 2);
  assert_field (d, "v", (double[]){ 1, 2 }, 2);
  tl_dataset_instance_free (d);
}

static void
test_schema_errors (void)
{
  struct {
    const char *schema;
    const char *message;
  } cases[] = {
    { "a:int,b:wat", "schema: entry 2 'b:wat': unknown type (int, float, str, label, skip)" },
    { "a:int:0", "schema: entry 1 'a:int:0': len must be an integer from 1 to 65536" },
    { "a:int,a:str", "schema: entry 2: duplicate name 'a'" },
    { "a", "schema: entry 1 'a': expected name:type[:len]" },
    { "a b:int", "schema: entry 1 'a b:int': invalid name (letters, digits, '_', '.', '-')" },
    { "y:label:2", "schema: entry 1 'y:label:2': a label has len 1" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) error = NULL;
    TlDatasetInstance *d = open_text ("s.csv", "1,2\n", KV ("schema", cases[i].schema), &error);
    g_assert_null (d);
    g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull (strstr (error->message, cases[i].message));
  }
  g_autoptr (GError) error = NULL;
  TlDatasetInstance *d = open_text ("s.csv", "1,2\n", KV ("schema", "a:float,b:float",
                                                          "buckets", "c=1,2"), &error);
  g_assert_null (d);
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "'c' is not a float column"));
  g_clear_error (&error);
  d = open_text ("s.csv", "1,2\n", KV ("schema", "a:float,b:float", "buckets", "a=2,1"), &error);
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "increasing"));
}

static void
test_vocab (void)
{
  g_autoptr (GError) error = NULL;
  const char *text = "x\ny\nz\nx\ny\nx\n?\n\n";
  /* the blank line is ignored; "?" is missing */
  TlDatasetInstance *d = open_text ("v.csv", text, KV ("schema", "c:str"), &error);
  g_assert_no_error (error);
  assert_field (d, "c", (double[]){ 2, 3, 4, 2, 3, 2, 1 }, 7);
  g_assert_cmpint (bt_field (d, "c")->cardinality, ==, 5);
  tl_dataset_instance_free (d);

  d = open_text ("v.csv", text, KV ("schema", "c:str", "min_count", "2"), &error);
  g_assert_no_error (error);
  assert_field (d, "c", (double[]){ 2, 3, 0, 2, 3, 2, 1 }, 7);
  g_assert_cmpint (bt_field (d, "c")->cardinality, ==, 4);
  tl_dataset_instance_free (d);

  d = open_text ("v.csv", text, KV ("schema", "c:str", "max_size", "1"), &error);
  g_assert_no_error (error);
  assert_field (d, "c", (double[]){ 2, 0, 0, 2, 0, 2, 1 }, 7);
  g_assert_cmpint (bt_field (d, "c")->cardinality, ==, 3);
  tl_dataset_instance_free (d);

  /* vocab_from: the vocabulary of another file; unseen tokens are 0 */
  g_autofree char *train = bt_write_file (tmpdir, "train.csv", text, strlen (text));
  d = open_text ("test.csv", "z\nnew\nx\n", KV ("schema", "c:str", "vocab_from", train), &error);
  g_assert_no_error (error);
  assert_field (d, "c", (double[]){ 4, 0, 2 }, 3);
  g_assert_cmpint (bt_field (d, "c")->cardinality, ==, 5);
  tl_dataset_instance_free (d);

  /* vocab_file: fixed ids in file order */
  const char *vocab = "c\tz\nc\tx\n";
  g_autofree char *vpath = bt_write_file (tmpdir, "vocab.tsv", vocab, strlen (vocab));
  d = open_text ("v.csv", text, KV ("schema", "c:str", "vocab_file", vpath), &error);
  g_assert_no_error (error);
  assert_field (d, "c", (double[]){ 3, 0, 2, 3, 0, 3, 1 }, 7);
  g_assert_cmpint (bt_field (d, "c")->cardinality, ==, 4);
  tl_dataset_instance_free (d);
}

static void
test_buckets_and_missing (void)
{
  g_autoptr (GError) error = NULL;
  const char *text = "5,1.5\n10,\n15,?\n25,nan\n?,4\n";
  TlDatasetInstance *d = open_text ("b.csv", text, KV ("schema", "v:float,w:float",
                                                       "buckets", "v=10,20"), &error);
  g_assert_no_error (error);
  assert_field (d, "v", (double[]){ 1, 2, 2, 3, 0 }, 5);
  g_assert_cmpint (bt_field (d, "v")->cardinality, ==, 4);
  g_assert_cmpint (bt_field (d, "v")->dtype, ==, TL_DTYPE_I64);
  /* missing floats become 0 with an indicator */
  assert_field (d, "w", (double[]){ 1.5, 0, 0, 0, 4 }, 5);
  assert_field (d, "w_missing", (double[]){ 0, 1, 1, 1, 0 }, 5);
  g_assert_null (bt_field (d, "v_missing"));
  tl_dataset_instance_free (d);

  d = open_text ("q.csv", "1\n2\n3\n4\n", KV ("schema", "v:float", "quantile_buckets", "2"), &error);
  g_assert_no_error (error);
  assert_field (d, "v", (double[]){ 1, 1, 2, 2 }, 4);
  g_assert_cmpint (bt_field (d, "v")->cardinality, ==, 3);
  g_assert_null (bt_field (d, "v_missing"));
  tl_dataset_instance_free (d);
}

static void
test_labels (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = bt_fixture ("adult-mini.csv");
  const char *schema = "age:float,workclass:str,fnlwgt:float,education:str,income:label";
  TlDatasetInstance *d = open_csv (path, KV ("schema", schema), &error);
  g_assert_no_error (error);
  /* "<=50K." equals "<=50K"; sorted: "<=50K" = 0, ">50K" = 1 */
  assert_field (d, "income", (double[]){ 0, 0, 1, 1, 0 }, 5);
  g_assert_cmpint (bt_field (d, "income")->cardinality, ==, 2);
  /* " ?" (trimmed) is missing */
  assert_field (d, "workclass", (double[]){ 3, 4, 2, 1, 2 }, 5);
  assert_field (d, "fnlwgt_missing", (double[]){ 0, 0, 0, 0, 1 }, 5);
  tl_dataset_instance_free (d);

  d = open_csv (path, KV ("schema", schema, "label_values", ">50K,<=50K"), &error);
  g_assert_no_error (error);
  assert_field (d, "income", (double[]){ 1, 1, 0, 0, 1 }, 5);
  tl_dataset_instance_free (d);

  d = open_text ("n.csv", "1,0\n2,3\n", KV ("schema", "x:float,y:label"), &error);
  g_assert_no_error (error);
  assert_field (d, "y", (double[]){ 0, 3 }, 2);
  g_assert_cmpint (bt_field (d, "y")->cardinality, ==, 4);
  tl_dataset_instance_free (d);

  d = open_text ("f.csv", "1,0.25\n2,-3\n", KV ("schema", "x:float,y:label", "label_dtype", "f32"),
                 &error);
  g_assert_no_error (error);
  assert_field (d, "y", (double[]){ 0.25, -3 }, 2);
  g_assert_cmpint (bt_field (d, "y")->dtype, ==, TL_DTYPE_F32);
  tl_dataset_instance_free (d);

  /* a NaN numeric label is malformed (a NaN float feature is missing) */
  const char *nan_text = "a,y\n1,0.5\nnan,nan\n3,1.5\n";
  d = open_text ("nanlabel.csv", nan_text, KV ("schema", "a:float,y:label", "header", "true",
                                               "label_dtype", "f32"), &error);
  g_assert_null (d);
  BT_ASSERT_ERROR (error, TL_ERROR_PARSE,
                   "nanlabel.csv:3: field 'y': label 'nan' is not a finite number");
  g_autofree char *nan_path = bt_write_file (tmpdir, "nanlabel2.csv", nan_text, strlen (nan_text));
  g_test_expect_message ("tl", G_LOG_LEVEL_MESSAGE, "nanlabel2.csv: skipped 1 malformed rows "
                         "(first: nanlabel2.csv:3: field 'y': label 'nan' is not a finite number)");
  d = open_csv (nan_path, KV ("schema", "a:float,y:label", "header", "true", "label_dtype", "f32",
                              "on_error", "skip"), &error);
  g_test_assert_expected_messages ();
  g_assert_no_error (error);
  assert_field (d, "y", (double[]){ 0.5, 1.5 }, 2);
  assert_field (d, "a", (double[]){ 1, 3 }, 2);
  tl_dataset_instance_free (d);
  d = open_text ("nanfeat.csv", "a,y\nnan,0.5\n3,1.5\n",
                 KV ("schema", "a:float,y:label", "header", "true", "label_dtype", "f32"), &error);
  g_assert_no_error (error);
  assert_field (d, "a", (double[]){ 0, 3 }, 2);
  assert_field (d, "a_missing", (double[]){ 1, 0 }, 2);
  tl_dataset_instance_free (d);

  d = open_text ("u.csv", "1,a\n2,b\n", KV ("schema", "x:float,y:label", "label_values", "a,c"),
                 &error);
  BT_ASSERT_ERROR (error, TL_ERROR_PARSE, "u.csv:2: field 'y': label 'b' is not in label_values");

  d = open_text ("m.csv", "1,a\n2,?\n", KV ("schema", "x:float,y:label"), &error);
  g_assert_error (error, TL_ERROR, TL_ERROR_PARSE);
  g_assert_cmpstr (error->message, ==, "m.csv:2: field 'y': missing label");
}

static void
test_malformed (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = bt_fixture ("bad.csv");
  TlDatasetInstance *d = open_csv (path, KV ("schema", "a:int,b:str,c:str"), &error);
  g_assert_null (d);
  BT_ASSERT_ERROR (error, TL_ERROR_PARSE, "bad.csv:3: expected 3 fields, found 2");

  d = open_skipping (path, "a:int,b:str,c:str",
                     "bad.csv: skipped 2 malformed rows (first: bad.csv:3: expected 3 fields, found 2)");
  g_assert_cmpint (tl_dataset_instance_size (d), ==, 4);
  assert_field (d, "a", (double[]){ 1, 2, 4, 6 }, 4);
  tl_dataset_instance_free (d);

  d = open_text ("n.csv", "1,2\nx,3\n", KV ("schema", "a:int,b:float"), &error);
  BT_ASSERT_ERROR (error, TL_ERROR_PARSE, "n.csv:2: field 'a': 'x' is not a 64-bit integer");

  d = open_text ("e.csv", "\n\n", KV ("schema", "a:int"), &error);
  BT_ASSERT_ERROR (error, TL_ERROR_PARSE, "e.csv: no data rows");

  d = open_csv ("/nonexistent/x.csv", KV ("schema", "a:int"), &error);
  g_assert_error (error, TL_ERROR, TL_ERROR_NOT_FOUND);
}

static void
test_gzip (void)
{
  g_autoptr (GError) error = NULL;
  const char text[] = "1,a\n2,b\n3\n";
  g_autofree char *path = g_build_filename (tmpdir, "z.csv.gz", NULL);
  gzFile f = gzopen (path, "wb");
  g_assert_nonnull (f);
  gzwrite (f, text, sizeof text - 1);
  gzclose (f);
  TlDatasetInstance *d = open_csv (path, KV ("schema", "n:int,s:str"), &error);
  BT_ASSERT_ERROR (error, TL_ERROR_PARSE, "z.csv.gz:3: expected 2 fields, found 1");
  d = open_skipping (path, "n:int,s:str", "z.csv.gz: skipped 1 malformed rows*");
  assert_field (d, "n", (double[]){ 1, 2 }, 2);
  tl_dataset_instance_free (d);
}

static void
test_options (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = bt_fixture ("mixed.tsv");
  TlDatasetInstance *d = open_csv (path, KV ("schema", "x:float,color:str,y:label", "delimiter",
                                             "tab", "comment", "#", "skip_rows", "1", "header",
                                             "true"), &error);
  g_assert_no_error (error);
  g_assert_cmpint (tl_dataset_instance_size (d), ==, 3);
  assert_field (d, "x", (double[]){ 0.5, 1.5, 2.5 }, 3);
  assert_field (d, "color", (double[]){ 2, 3, 2 }, 3);
  assert_field (d, "y", (double[]){ 1, 0, 3 }, 3);
  tl_dataset_instance_free (d);

  /* lists */
  g_autofree char *lists = bt_fixture ("lists.csv");
  d = open_csv (lists, KV ("schema", "v:float:3,t:str:2,y:label", "list_separator", "|"), &error);
  g_assert_no_error (error);
  const TlField *f = bt_field (d, "v");
  g_assert_cmpint (f->ndim, ==, 1);
  g_assert_cmpint (f->shape[0], ==, 3);
  assert_field (d, "v", (double[]){ 1, 2, 3, 4, 5, 6, 7, 8, 9 }, 9);
  /* b x3, a x2, c x1 */
  assert_field (d, "t", (double[]){ 3, 2, 2, 2, 4, 3 }, 6);
  tl_dataset_instance_free (d);

  d = open_text ("l.csv", "1 2,0\n3 4 5,1\n", KV ("schema", "v:float:2,y:label"), &error);
  BT_ASSERT_ERROR (error, TL_ERROR_PARSE, "l.csv:2: field 'v': expected 2 values, found 3");

  /* skip columns, and read() with an out-of-range row */
  d = open_text ("k.csv", "1,zzz,2\n3,yyy,4\n", KV ("schema", "a:float,junk:skip,b:float"), &error);
  g_assert_no_error (error);
  g_assert_cmpint (tl_dataset_instance_n_fields (d), ==, 2);
  g_assert_null (bt_field (d, "junk"));
  gint64 rows[2] = { 1, 0 };
  TlTensor **t = tl_dataset_instance_read (d, 2, rows, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (tl_tensor_get_flat (t[1], 0), ==, 4);
  g_assert_cmpfloat (tl_tensor_get_flat (t[1], 1), ==, 2);
  tl_tensor_unref (t[0]);
  tl_tensor_unref (t[1]);
  g_free (t);
  gint64 bad_rows[1] = { 2 };
  t = tl_dataset_instance_read (d, 1, bad_rows, &error);
  g_assert_null (t);
  g_assert_nonnull (error);
  g_clear_error (&error);
  tl_dataset_instance_free (d);
}

static void
test_hostile (void)
{
  g_autoptr (GError) error = NULL;
  /* embedded NUL, invalid UTF-8, a 1 MiB token, huge numbers */
  GString *s = g_string_new (NULL);
  g_string_append (s, "a,1\n");
  g_string_append_len (s, "b\0c,2\n", 6);
  g_string_append (s, "\xff\xfe\x80,3\n");
  g_string_append_c (s, '"');
  for (int i = 0; i < (1 << 20); i++)
    g_string_append_c (s, 'x');
  g_string_append (s, "\",4\n");
  g_string_append (s, "d,1e999\n");
  g_string_append (s, "e,99999999999999999999999\n");
  g_string_append (s, "f,0x\n");
  g_string_append (s, "g,\"5\n");
  g_autofree char *path = bt_write_file (tmpdir, "hostile.csv", s->str, s->len);
  g_string_free (s, TRUE);

  TlDatasetInstance *d = open_csv (path, KV ("schema", "k:str,v:float"), &error);
  BT_ASSERT_ERROR (error, TL_ERROR_PARSE, "hostile.csv:2: embedded NUL byte");

  d = open_skipping (path, "k:str,v:float", "hostile.csv: skipped 4 malformed rows*");
  /* a, invalid UTF-8, the long token and 99999... (a finite double) survive */
  g_assert_cmpint (tl_dataset_instance_size (d), ==, 4);
  assert_field (d, "k", (double[]){ 2, 3, 4, 5 }, 4);
  tl_dataset_instance_free (d);

  d = open_text ("big.csv", "1\n99999999999999999999999\n", KV ("schema", "v:int"), &error);
  g_assert_error (error, TL_ERROR, TL_ERROR_PARSE);
  g_assert_nonnull (strstr (error->message, "big.csv:2: field 'v': '99999999999999999999999' is not"));
  g_clear_error (&error);

  d = open_text ("inf.csv", "1\n1e999\n", KV ("schema", "v:float"), &error);
  BT_ASSERT_ERROR (error, TL_ERROR_PARSE, "inf.csv:2: field 'v': '1e999' is not a finite number");

  /* a long invalid token is shown escaped and cut */
  GString *t = g_string_new ("\xff");
  for (int i = 0; i < 100; i++)
    g_string_append_c (t, 'y');
  g_string_append (t, "\n");
  d = open_text ("long.csv", t->str, KV ("schema", "v:float"), &error);
  g_string_free (t, TRUE);
  g_assert_error (error, TL_ERROR, TL_ERROR_PARSE);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  g_assert_nonnull (strstr (error->message, "long.csv:1: field 'v': '\\xffyyy"));
  g_assert_nonnull (strstr (error->message, "...' is not a finite number"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/csv/quoting", test_quoting);
  g_test_add_func ("/csv/schema-errors", test_schema_errors);
  g_test_add_func ("/csv/vocab", test_vocab);
  g_test_add_func ("/csv/buckets-missing", test_buckets_and_missing);
  g_test_add_func ("/csv/labels", test_labels);
  g_test_add_func ("/csv/malformed", test_malformed);
  g_test_add_func ("/csv/options", test_options);
  g_test_add_func ("/csv/hostile", test_hostile);
  g_test_add_func ("/csv/gzip", test_gzip);
  return bt_test_run_in_tmpdir ("tl-test-csv-XXXXXX", &tmpdir);
}
