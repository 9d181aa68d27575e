/* test-safetensors-dataset.c — the built-in dataset "tl.safetensors":
 * tensors sharing their first dimension become fields; integer rank-1
 * tensors are categorical; mismatched row counts and unknown names fail.
 */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "builtin-util.h"

static char *
write_file (const char *dir, gboolean bad)
{
  g_autoptr (GError) error = NULL;
  float x[12];
  for (int i = 0; i < 12; i++)
    x[i] = (float) i * 0.5f;
  gint64 y[4] = { 0, 2, 1, 2 };
  gint64 sx[2] = { 4, 3 }, sy[1] = { 4 }, sz[1] = { 5 };
  TlTensor *t[3];
  t[0] = tl_tensor_new_from_data (TL_DTYPE_F32, 2, sx, x, &error);
  t[1] = tl_tensor_new_from_data (TL_DTYPE_I64, 1, sy, y, &error);
  t[2] = tl_tensor_new (TL_DTYPE_F32, 1, sz, &error);
  g_assert_no_error (error);
  const char *names[3] = { "x", "y", "z" };
  char *path = g_build_filename (dir, bad ? "bad.safetensors" : "ok.safetensors", NULL);
  g_assert_true (tl_safetensors_write (path, bad ? 3 : 2, names, t, NULL, &error));
  g_assert_no_error (error);
  for (int i = 0; i < 3; i++)
    tl_tensor_unref (t[i]);
  return path;
}

static void
test_safetensors_dataset (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tl-test-st-XXXXXX", NULL);
  g_autofree char *ok = write_file (dir, FALSE);
  g_autofree char *bad = write_file (dir, TRUE);

  TlDatasetInstance *d = bt_dataset_new ("tl.safetensors", KV ("path", ok), &error);
  g_assert_no_error (error);
  g_assert_cmpint (tl_dataset_instance_size (d), ==, 4);
  g_assert_cmpint (tl_dataset_instance_n_fields (d), ==, 2);
  const TlField *f = bt_field (d, "x");
  g_assert_cmpint (f->dtype, ==, TL_DTYPE_F32);
  g_assert_cmpint (f->ndim, ==, 1);
  g_assert_cmpint (f->shape[0], ==, 3);
  g_assert_cmpint (f->cardinality, ==, -1);
  g_assert_cmpint (bt_field (d, "y")->cardinality, ==, 3);
  gint64 n = 0;
  g_autofree double *x = bt_read_field (d, "x", &n);
  g_assert_cmpint (n, ==, 12);
  for (int i = 0; i < 12; i++)
    g_assert_cmpfloat (x[i], ==, i * 0.5);
  tl_dataset_instance_free (d);

  d = bt_dataset_new ("tl.safetensors", KV ("path", ok, "fields", "y"), &error);
  g_assert_no_error (error);
  g_assert_cmpint (tl_dataset_instance_n_fields (d), ==, 1);
  tl_dataset_instance_free (d);

  d = bt_dataset_new ("tl.safetensors", KV ("path", ok, "fields", "y,nope"), &error);
  g_assert_null (d);
  g_assert_error (error, TL_ERROR, TL_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "ok.safetensors: no tensor named 'nope'");
  g_clear_error (&error);

  d = bt_dataset_new ("tl.safetensors", KV ("path", bad), &error);
  g_assert_null (d);
  g_assert_error (error, TL_ERROR, TL_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "bad.safetensors: tensor 'z'"));
  g_clear_error (&error);

  g_unlink (ok);
  g_unlink (bad);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/safetensors-dataset/basic", test_safetensors_dataset);
  return g_test_run ();
}
