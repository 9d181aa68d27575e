/* test-comm-nccl.c — the "nccl" communicator in one process.
 *
 * Without a GPU (or without the CUDA backend, or NCCL): tl_comm_new("nccl")
 * fails with one clear line, and the tests that need a device are skipped
 * with a visible message. With a GPU: every collective on one rank over
 * NCCL, CUDA tensors on the "single" communicator, and the argument checks
 * that only CUDA tensors reach. tests/gpu/test-comm-nccl-mpi.sh runs the
 * 2-rank checks under mpirun. */
#include "config.h"

#include <string.h>

#include <tl/tl.h>

static gboolean
have_gpu (void)
{
  g_autoptr (GError) e = NULL;
  if (tl_device_available ("cuda", &e))
    return TRUE;
  g_test_skip_printf ("no CUDA device: %s", e ? e->message : "?");
  return FALSE;
}

static TlTensor *
ramp_on (const char *device, TlDType dt, gint64 n, double scale, double shift)
{
  GError *error = NULL;
  gint64 shape[1] = { n };
  g_autoptr (TlTensor) h = tl_tensor_new (dt, 1, shape, &error);
  g_assert_no_error (error);
  for (gint64 i = 0; i < n; i++)
    tl_tensor_set_flat (h, i, scale * (double) i + shift);
  TlTensor *t = tl_tensor_to_device (h, device, &error);
  g_assert_no_error (error);
  g_assert_nonnull (t);
  return t;
}

static void
assert_ramp (const TlTensor *t, gint64 n, double scale, double shift)
{
  g_assert_cmpint (tl_tensor_numel (t), ==, n);
  for (gint64 i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (tl_tensor_get_flat (t, i), scale * (double) i + shift, 1e-3);
}

/* Without a device: one line saying why, the right code, nothing left
 * behind. With one: a communicator of one rank. */
static void
test_new (void)
{
  GError *error = NULL;
  g_autoptr (GError) why = NULL;
  gboolean gpu = tl_device_available ("cuda", &why);
  TlComm *c = tl_comm_new ("nccl", &error);
  if (!gpu) {
    g_assert_null (c);
    g_assert_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED);
    g_test_message ("expected error: %s", error->message);
    g_assert_true (g_str_has_prefix (error->message, "comm nccl: set-up: rank 0 of 1: "));
    g_assert_null (strchr (error->message, '\n'));
    g_assert_nonnull (strstr (error->message, "CUDA"));
    g_clear_error (&error);
    /* the same through the environment knob */
    g_setenv ("TL_COMM", "nccl", TRUE);
    g_assert_null (tl_comm_new_from_env (&error));
    g_assert_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED);
    g_clear_error (&error);
    g_unsetenv ("TL_COMM");
    return;
  }
  if (!c) {
    /* a GPU but a module built without NCCL: say so, loudly */
    g_assert_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED);
    g_assert_nonnull (strstr (error->message, "without NCCL"));
    g_test_skip_printf ("%s", error->message);
    g_clear_error (&error);
    return;
  }
  g_assert_no_error (error);
  g_assert_cmpstr (tl_comm_backend (c), ==, "nccl");
  g_assert_cmpint (tl_comm_rank (c), ==, 0);
  g_assert_cmpint (tl_comm_size (c), ==, 1);
  tl_comm_free (c);
}

/* A bad TL_COMM_TIMEOUT is reported before any device is touched. */
static void
test_bad_timeout (void)
{
  GError *error = NULL;
  g_setenv ("TL_COMM_TIMEOUT", "soon", TRUE);
  g_assert_null (tl_comm_new ("nccl", &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "TL_COMM_TIMEOUT=\"soon\""));
  g_clear_error (&error);
  g_unsetenv ("TL_COMM_TIMEOUT");
}

/* A CUDA tensor on a host without a GPU cannot even be made; on one with
 * a GPU, TL_COMM_DEVICE must name one of its devices. */
static void
test_bad_device (void)
{
  if (!have_gpu ())
    return;
  GError *error = NULL;
  g_setenv ("TL_COMM_DEVICE", "999", TRUE);
  TlComm *c = tl_comm_new ("nccl", &error);
  g_unsetenv ("TL_COMM_DEVICE");
  g_assert_null (c);
  g_assert_nonnull (error);
  g_test_message ("expected error: %s", error->message);
  g_assert_true (strstr (error->message, "TL_COMM_DEVICE=\"999\"") ||
                 strstr (error->message, "without NCCL"));
  g_clear_error (&error);
}

static TlComm *
nccl_or_skip (void)
{
  if (!have_gpu ())
    return NULL;
  GError *error = NULL;
  TlComm *c = tl_comm_new ("nccl", &error);
  if (!c) {
    g_test_skip_printf ("%s", error->message);
    g_clear_error (&error);
  }
  return c;
}

/* Every collective over NCCL with one rank. */
static void
test_one_rank (void)
{
  TlComm *c = nccl_or_skip ();
  if (!c)
    return;
  GError *error = NULL;
  TlDType dts[4] = { TL_DTYPE_F32, TL_DTYPE_F64, TL_DTYPE_I32, TL_DTYPE_I64 };
  TlCommOp ops[4] = { TL_COMM_SUM, TL_COMM_MEAN, TL_COMM_MAX, TL_COMM_MIN };
  for (int d = 0; d < 4; d++)
    for (int o = 0; o < 4; o++) {
      g_autoptr (TlTensor) t = ramp_on ("cuda", dts[d], 1000, 3, -7);
      g_assert_true (tl_comm_allreduce (c, t, ops[o], &error));
      g_assert_no_error (error);
      g_assert_cmpint (tl_tensor_device (t), ==, TL_DEVICE_CUDA);
      assert_ramp (t, 1000, 3, -7);
    }
  /* bf16 and f16 reach NCCL too */
  g_autoptr (TlTensor) h = ramp_on ("cuda", TL_DTYPE_BF16, 64, 1, 0);
  g_assert_true (tl_comm_allreduce (c, h, TL_COMM_SUM, &error));
  g_assert_no_error (error);
  assert_ramp (h, 64, 1, 0);

  g_autoptr (TlTensor) b = ramp_on ("cuda", TL_DTYPE_U8, 33, 1, 1);
  g_assert_true (tl_comm_broadcast (c, b, 0, &error));
  g_assert_no_error (error);
  assert_ramp (b, 33, 1, 1);

  g_autoptr (TlTensor) in = ramp_on ("cuda", TL_DTYPE_F32, 10, 2, 0);
  g_autoptr (TlTensor) out = ramp_on ("cuda", TL_DTYPE_F32, 10, 0, -1);
  g_assert_true (tl_comm_allgather (c, in, out, &error));
  g_assert_no_error (error);
  assert_ramp (out, 10, 2, 0);

  g_assert_true (tl_comm_barrier (c, &error));
  g_assert_no_error (error);

  /* CPU tensors on an nccl communicator go over its host communicator */
  g_autoptr (TlTensor) cpu = ramp_on ("cpu", TL_DTYPE_F64, 5, 1, 2);
  g_assert_true (tl_comm_allreduce (c, cpu, TL_COMM_MEAN, &error));
  g_assert_no_error (error);
  assert_ramp (cpu, 5, 1, 2);

  /* errors that leave the communicator usable */
  g_assert_false (tl_comm_send (c, in, 0, 3, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED);
  g_test_message ("expected error: %s", error->message);
  g_clear_error (&error);
  g_autoptr (TlTensor) u8 = ramp_on ("cuda", TL_DTYPE_U8, 4, 1, 0);
  g_assert_false (tl_comm_allreduce (c, u8, TL_COMM_SUM, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  g_autoptr (TlTensor) cpu_out = ramp_on ("cpu", TL_DTYPE_F32, 10, 0, 0);
  g_assert_false (tl_comm_allgather (c, in, cpu_out, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  gint64 shape[2] = { 4, 3 };
  g_autoptr (TlTensor) m = tl_tensor_new_on_device (TL_DTYPE_F32, 2, shape, "cuda", &error);
  g_assert_no_error (error);
  g_autoptr (TlTensor) mt = tl_tensor_transpose (m, 0, 1, &error);
  g_assert_no_error (error);
  g_assert_false (tl_comm_allreduce (c, mt, TL_COMM_SUM, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "non-contiguous"));
  g_clear_error (&error);

  /* and it still works */
  g_assert_true (tl_comm_allreduce (c, in, TL_COMM_SUM, &error));
  g_assert_no_error (error);
  tl_comm_free (c);
}

/* CUDA tensors on the single communicator: identity collectives, device
 * copies for allgather and the self mailbox. */
static void
test_single_cuda (void)
{
  if (!have_gpu ())
    return;
  GError *error = NULL;
  TlComm *c = tl_comm_new ("single", &error);
  g_assert_no_error (error);
  g_autoptr (TlTensor) t = ramp_on ("cuda", TL_DTYPE_F32, 100, 0.5, 1);
  g_assert_true (tl_comm_allreduce (c, t, TL_COMM_MEAN, &error));
  g_assert_no_error (error);
  assert_ramp (t, 100, 0.5, 1);
  g_autoptr (TlTensor) out = ramp_on ("cuda", TL_DTYPE_F32, 100, 0, 0);
  g_assert_true (tl_comm_allgather (c, t, out, &error));
  g_assert_no_error (error);
  assert_ramp (out, 100, 0.5, 1);
  g_assert_true (tl_comm_send (c, t, 0, 7, &error));
  g_assert_no_error (error);
  g_autoptr (TlTensor) r = ramp_on ("cuda", TL_DTYPE_F32, 100, 0, 0);
  g_assert_true (tl_comm_recv (c, r, 0, 7, &error));
  g_assert_no_error (error);
  assert_ramp (r, 100, 0.5, 1);
  g_assert_false (tl_comm_recv (c, r, 0, 7, &error)); /* nothing left to receive */
  g_assert_error (error, TL_ERROR, TL_ERROR_COMM);
  g_clear_error (&error);
  tl_comm_free (c);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_unsetenv ("TL_COMM");
  g_unsetenv ("TL_COMM_DEVICE");
  g_unsetenv ("TL_COMM_TIMEOUT");
  g_unsetenv ("OMPI_COMM_WORLD_SIZE");
  GError *error = NULL;
  if (!tl_init (&error))
    g_error ("tl_init: %s", error->message);
  g_test_add_func ("/comm-nccl/new", test_new);
  g_test_add_func ("/comm-nccl/bad-timeout", test_bad_timeout);
  g_test_add_func ("/comm-nccl/bad-device", test_bad_device);
  g_test_add_func ("/comm-nccl/one-rank", test_one_rank);
  g_test_add_func ("/comm-nccl/single-cuda", test_single_cuda);
  return g_test_run ();
}
