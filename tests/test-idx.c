/* test-idx.c — the built-in dataset "tl.idx": small IDX files written here
 * (plain and gzip-compressed), normalisation, shapes, limit, and the exact
 * errors for truncated files, bad magic and mismatched labels.
 */
#include "config.h"

#include <string.h>
#include <zlib.h>
#include <glib/gstdio.h>

#include "builtin-util.h"

static char *tmpdir;

static guint8
pixel (gsize i)
{
  return (guint8) ((i * 17) % 256);
}

static guint8
label (gsize i)
{
  return (guint8) (i % 3);
}

static char *
write_idx (const char *name, GByteArray *b, gboolean gz)
{
  char *path = g_build_filename (tmpdir, name, NULL);
  if (!gz) {
    g_autoptr (GError) error = NULL;
    g_file_set_contents (path, (const char *) b->data, b->len, &error);
    g_assert_no_error (error);
  } else {
    gzFile f = gzopen (path, "wb");
    g_assert_nonnull (f);
    g_assert_cmpint (gzwrite (f, b->data, b->len), ==, (int) b->len);
    gzclose (f);
  }
  g_byte_array_unref (b);
  return path;
}

static void
check_basic (gboolean gz)
{
  g_autoptr (GError) error = NULL;
  guint32 idims[3] = { 5, 4, 4 }, ldims[1] = { 5 };
  g_autofree char *img = write_idx (gz ? "img.gz" : "img", bt_idx_bytes (3, idims, 80, pixel), gz);
  g_autofree char *lab = write_idx (gz ? "lab.gz" : "lab", bt_idx_bytes (1, ldims, 5, label), gz);

  TlDatasetInstance *d = bt_dataset_new ("tl.idx", KV ("images", img, "labels", lab), &error);
  g_assert_no_error (error);
  g_assert_cmpint (tl_dataset_instance_size (d), ==, 5);
  const TlField *f = bt_field (d, "image");
  g_assert_cmpint (f->dtype, ==, TL_DTYPE_F32);
  g_assert_cmpint (f->ndim, ==, 1);
  g_assert_cmpint (f->shape[0], ==, 16);
  f = bt_field (d, "label");
  g_assert_cmpint (f->dtype, ==, TL_DTYPE_I64);
  g_assert_cmpint (f->cardinality, ==, 3);
  gint64 n = 0;
  g_autofree double *x = bt_read_field (d, "image", &n);
  g_assert_cmpint (n, ==, 80);
  for (gint64 i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (x[i], pixel (i) / 255.0, 1e-6);
  g_autofree double *y = bt_read_field (d, "label", &n);
  g_assert_cmpint (n, ==, 5);
  for (gint64 i = 0; i < n; i++)
    g_assert_cmpfloat (y[i], ==, label (i));
  tl_dataset_instance_free (d);

  /* [1, H, W], limit, mean/std, no normalisation */
  d = bt_dataset_new ("tl.idx", KV ("images", img, "labels", lab, "flatten", "false", "limit", "3",
                                    "normalize", "false", "mean", "1", "std", "2"), &error);
  g_assert_no_error (error);
  g_assert_cmpint (tl_dataset_instance_size (d), ==, 3);
  f = bt_field (d, "image");
  g_assert_cmpint (f->ndim, ==, 3);
  g_assert_cmpint (f->shape[0], ==, 1);
  g_assert_cmpint (f->shape[1], ==, 4);
  g_assert_cmpint (f->shape[2], ==, 4);
  g_assert_cmpint (bt_field (d, "label")->cardinality, ==, 3);
  g_autofree double *x2 = bt_read_field (d, "image", &n);
  g_assert_cmpint (n, ==, 48);
  for (gint64 i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (x2[i], (pixel (i) - 1.0) / 2.0, 1e-5);
  tl_dataset_instance_free (d);

  /* images only */
  d = bt_dataset_new ("tl.idx", KV ("images", img), &error);
  g_assert_no_error (error);
  g_assert_cmpint (tl_dataset_instance_n_fields (d), ==, 1);
  tl_dataset_instance_free (d);
}

static void
test_plain (void)
{
  check_basic (FALSE);
}

static void
test_gzip (void)
{
  check_basic (TRUE);
}

static void
test_errors (void)
{
  g_autoptr (GError) error = NULL;
  guint32 idims[3] = { 5, 4, 4 }, ldims[1] = { 4 };

  g_autofree char *trunc = write_idx ("train-images-idx3-ubyte.gz", bt_idx_bytes (3, idims, 30, pixel),
                                      TRUE);
  TlDatasetInstance *d = bt_dataset_new ("tl.idx", KV ("images", trunc), &error);
  g_assert_null (d);
  BT_ASSERT_ERROR (error, TL_ERROR_PARSE,
                   "train-images-idx3-ubyte.gz: truncated: expected 80 bytes of data, got 30");

  GByteArray *b = bt_idx_bytes (3, idims, 80, pixel);
  b->data[1] = 0x01;
  g_autofree char *magic = write_idx ("magic", b, FALSE);
  d = bt_dataset_new ("tl.idx", KV ("images", magic), &error);
  BT_ASSERT_ERROR (error, TL_ERROR_PARSE, "magic: bad magic 0x00010803: not an IDX file");

  b = bt_idx_bytes (3, idims, 80, pixel);
  b->data[2] = 0x0D;
  g_autofree char *type = write_idx ("float-type", b, FALSE);
  d = bt_dataset_new ("tl.idx", KV ("images", type), &error);
  g_assert_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED);
  g_clear_error (&error);

  g_autofree char *extra = write_idx ("extra", bt_idx_bytes (3, idims, 81, pixel), FALSE);
  d = bt_dataset_new ("tl.idx", KV ("images", extra), &error);
  BT_ASSERT_ERROR (error, TL_ERROR_PARSE, "extra: trailing data after 80 bytes of data");

  g_autofree char *img = write_idx ("img", bt_idx_bytes (3, idims, 80, pixel), FALSE);
  g_autofree char *lab = write_idx ("lab4", bt_idx_bytes (1, ldims, 4, label), FALSE);
  d = bt_dataset_new ("tl.idx", KV ("images", img, "labels", lab), &error);
  BT_ASSERT_ERROR (error, TL_ERROR_SHAPE, "lab4: 4 labels for 5 images in img");

  /* labels of rank 3 */
  d = bt_dataset_new ("tl.idx", KV ("images", img, "labels", img), &error);
  BT_ASSERT_ERROR (error, TL_ERROR_PARSE, "img: rank 3, expected 1");

  /* a header declaring a huge size fails before allocating */
  guint32 huge[3] = { 0x7fffffff, 0x7fffffff, 0x7fffffff };
  g_autofree char *big = write_idx ("huge", bt_idx_bytes (3, huge, 10, pixel), FALSE);
  d = bt_dataset_new ("tl.idx", KV ("images", big), &error);
  g_assert_error (error, TL_ERROR, TL_ERROR_PARSE);
  g_clear_error (&error);

  g_autofree char *empty = g_build_filename (tmpdir, "empty", NULL);
  g_file_set_contents (empty, "", 0, NULL);
  d = bt_dataset_new ("tl.idx", KV ("images", empty), &error);
  BT_ASSERT_ERROR (error, TL_ERROR_PARSE, "empty: truncated: no IDX header");

  d = bt_dataset_new ("tl.idx", KV ("images", "/nonexistent/file.gz"), &error);
  g_assert_error (error, TL_ERROR, TL_ERROR_NOT_FOUND);
}

static void
test_fashion_mnist (void)
{
  const char *dir = "/usr/share/datasets/fashion-mnist";
  g_autofree char *img = g_build_filename (dir, "t10k-images-idx3-ubyte.gz", NULL);
  g_autofree char *lab = g_build_filename (dir, "t10k-labels-idx1-ubyte.gz", NULL);
  if (!g_file_test (img, G_FILE_TEST_EXISTS)) {
    g_test_skip ("Fashion-MNIST not installed (Debian package dataset-fashion-mnist)");
    return;
  }
  g_autoptr (GError) error = NULL;
  TlDatasetInstance *d = bt_dataset_new ("tl.idx", KV ("images", img, "labels", lab), &error);
  g_assert_no_error (error);
  g_assert_cmpint (tl_dataset_instance_size (d), ==, 10000);
  g_assert_cmpint (bt_field (d, "image")->shape[0], ==, 784);
  g_assert_cmpint (bt_field (d, "label")->cardinality, ==, 10);
  gint64 n = 0;
  g_autofree double *y = bt_read_field (d, "label", &n);
  guint counts[10] = { 0 };
  for (gint64 i = 0; i < n; i++)
    counts[(int) y[i]]++;
  for (int k = 0; k < 10; k++)
    g_assert_cmpuint (counts[k], ==, 1000);
  tl_dataset_instance_free (d);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/idx/plain", test_plain);
  g_test_add_func ("/idx/gzip", test_gzip);
  g_test_add_func ("/idx/errors", test_errors);
  g_test_add_func ("/idx/fashion-mnist", test_fashion_mnist);
  return bt_test_run_in_tmpdir ("tl-test-idx-XXXXXX", &tmpdir);
}
