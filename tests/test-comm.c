/* test-comm.c — the communicator interface on the "single" backend:
 * identity collectives, the self mailbox, argument checks, backend choice,
 * TL_COMM_CHECK on one rank (nothing to compare: no exchange). */
#include "config.h"

#include <tl/tl.h>

static TlComm *
single (void)
{
  GError *error = NULL;
  TlComm *c = tl_comm_new ("single", &error);
  g_assert_no_error (error);
  g_assert_nonnull (c);
  return c;
}

static TlTensor *
ramp (TlDType dt, gint64 n)
{
  GError *error = NULL;
  gint64 shape[1] = {n};
  TlTensor *t = tl_tensor_new (dt, 1, shape, &error);
  g_assert_no_error (error);
  for (gint64 i = 0; i < n; i++)
    tl_tensor_set_flat (t, i, (double) (3 * i - 7));
  return t;
}

static void
test_rank_size (void)
{
  TlComm *c = single ();
  g_assert_cmpstr (tl_comm_backend (c), ==, "single");
  g_assert_cmpint (tl_comm_rank (c), ==, 0);
  g_assert_cmpint (tl_comm_size (c), ==, 1);
  tl_comm_free (c);
  tl_comm_free (NULL);
}

static void
test_allreduce_identity (void)
{
  TlComm *c = single ();
  GError *error = NULL;
  TlDType dts[4] = {TL_DTYPE_F32, TL_DTYPE_F64, TL_DTYPE_I32, TL_DTYPE_I64};
  TlCommOp ops[4] = {TL_COMM_SUM, TL_COMM_MEAN, TL_COMM_MAX, TL_COMM_MIN};
  for (int d = 0; d < 4; d++) {
    for (int o = 0; o < 4; o++) {
      TlTensor *t = ramp (dts[d], 17);
      g_assert_true (tl_comm_allreduce (c, t, ops[o], &error));
      g_assert_no_error (error);
      for (gint64 i = 0; i < 17; i++)
        g_assert_cmpfloat (tl_tensor_get_flat (t, i), ==, (double) (3 * i - 7));
      tl_tensor_unref (t);
    }
  }
  tl_comm_free (c);
}

/* An unknown reduction and a root outside the ranks are refused. */
static void
assert_bad_op_and_root (TlComm *c, TlTensor *t)
{
  GError *error = NULL;
  g_assert_false (tl_comm_allreduce (c, t, (TlCommOp) 42, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (tl_comm_broadcast (c, t, 1, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
}

static void
test_allreduce_errors (void)
{
  TlComm *c = single ();
  GError *error = NULL;
  TlTensor *t = ramp (TL_DTYPE_U8, 4);
  g_assert_false (tl_comm_allreduce (c, t, TL_COMM_SUM, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  tl_tensor_unref (t);
  t = ramp (TL_DTYPE_F32, 4);
  assert_bad_op_and_root (c, t);
  g_assert_false (tl_comm_send (c, t, 0, -1, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  tl_tensor_unref (t);
  tl_comm_free (c);
}

/* A transposed (non-contiguous) tensor goes through a copy and back. */
static void
test_noncontiguous (void)
{
  TlComm *c = single ();
  GError *error = NULL;
  gint64 shape[2] = {3, 4};
  TlTensor *t = tl_tensor_new (TL_DTYPE_F32, 2, shape, &error);
  g_assert_no_error (error);
  for (gint64 i = 0; i < 12; i++)
    tl_tensor_set_flat (t, i, (double) i);
  TlTensor *tt = tl_tensor_transpose (t, 0, 1, &error);
  g_assert_no_error (error);
  g_assert_false (tl_tensor_is_contiguous (tt));
  g_assert_true (tl_comm_allreduce (c, tt, TL_COMM_MEAN, &error));
  g_assert_no_error (error);
  g_assert_true (tl_comm_broadcast (c, tt, 0, &error));
  g_assert_no_error (error);
  for (gint64 i = 0; i < 12; i++)
    g_assert_cmpfloat (tl_tensor_get_flat (t, i), ==, (double) i);
  tl_tensor_unref (tt);
  tl_tensor_unref (t);
  tl_comm_free (c);
}

static void
test_allgather (void)
{
  TlComm *c = single ();
  GError *error = NULL;
  TlTensor *in = ramp (TL_DTYPE_I64, 5);
  gint64 shape[2] = {1, 5};
  TlTensor *out = tl_tensor_new (TL_DTYPE_I64, 2, shape, &error);
  g_assert_no_error (error);
  g_assert_true (tl_comm_allgather (c, in, out, &error));
  g_assert_no_error (error);
  for (gint64 i = 0; i < 5; i++)
    g_assert_cmpfloat (tl_tensor_get_flat (out, i), ==, tl_tensor_get_flat (in, i));
  tl_tensor_unref (out);
  /* wrong size */
  gint64 bad[1] = {4};
  out = tl_tensor_new (TL_DTYPE_I64, 1, bad, &error);
  g_assert_false (tl_comm_allgather (c, in, out, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_SHAPE);
  g_clear_error (&error);
  tl_tensor_unref (out);
  tl_tensor_unref (in);
  tl_comm_free (c);
}

/* send/recv to oneself go through a mailbox matched by tag. */
static void
test_send_recv_self (void)
{
  TlComm *c = single ();
  GError *error = NULL;
  TlTensor *a = ramp (TL_DTYPE_F64, 6);
  TlTensor *b = ramp (TL_DTYPE_F32, 3);
  g_assert_true (tl_comm_send (c, a, 0, 7, &error));
  g_assert_true (tl_comm_send (c, b, 0, 9, &error));
  g_assert_no_error (error);
  TlTensor *rb = ramp (TL_DTYPE_F32, 3);
  tl_tensor_fill (rb, 0);
  g_assert_true (tl_comm_recv (c, rb, 0, 9, &error));
  g_assert_no_error (error);
  g_assert_true (tl_tensor_equal_bits (rb, b));
  TlTensor *ra = ramp (TL_DTYPE_F64, 6);
  tl_tensor_fill (ra, 0);
  /* a receive of the wrong size fails and leaves the message queued */
  TlTensor *small = ramp (TL_DTYPE_F64, 2);
  g_assert_false (tl_comm_recv (c, small, 0, 7, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_COMM);
  g_clear_error (&error);
  g_assert_true (tl_comm_recv (c, ra, 0, 7, &error));
  g_assert_no_error (error);
  g_assert_true (tl_tensor_equal_bits (ra, a));
  /* nothing left: a receive would wait forever, so it fails */
  g_assert_false (tl_comm_recv (c, ra, 0, 7, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_COMM);
  g_clear_error (&error);
  g_assert_true (tl_comm_barrier (c, &error));
  g_assert_no_error (error);
  /* a message never received is freed with the communicator */
  g_assert_true (tl_comm_send (c, a, 0, 1, &error));
  tl_tensor_unref (small);
  tl_tensor_unref (ra);
  tl_tensor_unref (rb);
  tl_tensor_unref (b);
  tl_tensor_unref (a);
  tl_comm_free (c);
}

static void
test_backend_choice (void)
{
  GError *error = NULL;
  g_unsetenv ("OMPI_COMM_WORLD_SIZE");
  g_unsetenv ("TL_COMM");
  TlComm *c = tl_comm_new_from_env (&error);
  g_assert_no_error (error);
  g_assert_cmpstr (tl_comm_backend (c), ==, "single");
  tl_comm_free (c);
  c = tl_comm_new (NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tl_comm_backend (c), ==, "single");
  tl_comm_free (c);
  g_setenv ("TL_COMM", "single", TRUE);
  g_setenv ("OMPI_COMM_WORLD_SIZE", "1", TRUE);
  c = tl_comm_new_from_env (&error);
  g_assert_no_error (error);
  g_assert_cmpstr (tl_comm_backend (c), ==, "single");
  tl_comm_free (c);
  g_setenv ("TL_COMM", "carrier-pigeon", TRUE);
  g_assert_null (tl_comm_new_from_env (&error));
  g_assert_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_unsetenv ("TL_COMM");
  g_unsetenv ("OMPI_COMM_WORLD_SIZE");
  /* nccl: one rank on a machine with a GPU, else not supported here
   * (tests/gpu/test-comm-nccl checks the messages) */
  c = tl_comm_new ("nccl", &error);
  if (c) {
    g_assert_cmpstr (tl_comm_backend (c), ==, "nccl");
    tl_comm_free (c);
  } else {
    g_assert_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED);
    g_clear_error (&error);
  }
#ifndef TL_HAVE_MPI
  g_assert_null (tl_comm_new ("mpi", &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED);
  g_clear_error (&error);
#endif
}

/* The trainer's slot and the process default. */
static void
test_train_config_and_default (void)
{
  GError *error = NULL;
  TlTrainConfig cfg;
  tl_train_config_init (&cfg);
  g_assert_null (tl_train_config_get_comm (&cfg));
  TlComm *c = single ();
  tl_train_config_set_comm (&cfg, c);
  g_assert_true (tl_train_config_get_comm (&cfg) == c);
  g_assert_true (cfg.reserved[0] == (void *) c);
  tl_train_config_set_comm (&cfg, NULL);
  g_assert_null (tl_train_config_get_comm (&cfg));
  tl_comm_free (c);
  g_unsetenv ("OMPI_COMM_WORLD_SIZE");
  g_unsetenv ("TL_COMM");
  TlComm *d = tl_comm_get_default (&error);
  g_assert_no_error (error);
  g_assert_nonnull (d);
  g_assert_cmpstr (tl_comm_backend (d), ==, "single");
  g_assert_true (tl_comm_get_default (&error) == d);
}

/* TL_COMM_CHECK=1 on one rank: every collective behaves as without it (no
 * peer, no exchange), argument errors keep their codes. */
static void
test_check_single (void)
{
  GError *error = NULL;
  g_setenv ("TL_COMM_CHECK", "1", TRUE);
  TlComm *c = single ();
  TlTensor *t = ramp (TL_DTYPE_F64, 9);
  g_assert_true (tl_comm_allreduce (c, t, TL_COMM_MEAN, &error));
  g_assert_no_error (error);
  g_assert_true (tl_comm_broadcast (c, t, 0, &error));
  g_assert_no_error (error);
  gint64 shape[2] = {1, 9};
  TlTensor *out = tl_tensor_new (TL_DTYPE_F64, 2, shape, &error);
  g_assert_no_error (error);
  g_assert_true (tl_comm_allgather (c, t, out, &error));
  g_assert_no_error (error);
  g_assert_true (tl_comm_barrier (c, &error));
  g_assert_no_error (error);
  for (gint64 i = 0; i < 9; i++) {
    g_assert_cmpfloat (tl_tensor_get_flat (t, i), ==, (double) (3 * i - 7));
    g_assert_cmpfloat (tl_tensor_get_flat (out, i), ==, (double) (3 * i - 7));
  }
  assert_bad_op_and_root (c, t);
  tl_tensor_unref (out);
  out = ramp (TL_DTYPE_F64, 4);
  g_assert_false (tl_comm_allgather (c, t, out, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_SHAPE);
  g_clear_error (&error);
  tl_tensor_unref (out);
  tl_tensor_unref (t);
  tl_comm_free (c);
  g_unsetenv ("TL_COMM_CHECK");
}

/* A TL_COMM_CHECK that is neither on nor off is off, said once. */
static void
test_check_bad_value (void)
{
  GError *error = NULL;
  g_setenv ("TL_COMM_CHECK", "sometimes", TRUE);
  g_test_expect_message ("tl", G_LOG_LEVEL_WARNING,
                         "TL_COMM_CHECK=\"sometimes\" is neither on*taken as off");
  TlComm *c = tl_comm_new ("single", &error);
  g_test_assert_expected_messages ();
  g_assert_no_error (error);
  g_assert_nonnull (c);
  tl_comm_free (c);
  c = tl_comm_new_from_env (&error); /* said once: no second warning */
  g_assert_no_error (error);
  g_assert_nonnull (c);
  tl_comm_free (c);
  g_unsetenv ("TL_COMM_CHECK");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/comm/single/rank-size", test_rank_size);
  g_test_add_func ("/comm/single/allreduce", test_allreduce_identity);
  g_test_add_func ("/comm/single/errors", test_allreduce_errors);
  g_test_add_func ("/comm/single/noncontiguous", test_noncontiguous);
  g_test_add_func ("/comm/single/allgather", test_allgather);
  g_test_add_func ("/comm/single/send-recv", test_send_recv_self);
  g_test_add_func ("/comm/backend-choice", test_backend_choice);
  g_test_add_func ("/comm/train-config-and-default", test_train_config_and_default);
  g_test_add_func ("/comm/check/single", test_check_single);
  g_test_add_func ("/comm/check/bad-value", test_check_bad_value);
  return g_test_run ();
}
