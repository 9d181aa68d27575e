/* test-dtype.c — dtype table and f16/bf16 conversions. */
#include "config.h"

#include <math.h>
#include <string.h>
#include <tl/tl.h>

static void
test_names (void)
{
  g_assert_cmpuint (tl_dtype_size (TL_DTYPE_F32), ==, 4);
  g_assert_cmpuint (tl_dtype_size (TL_DTYPE_BF16), ==, 2);
  g_assert_cmpuint (tl_dtype_size (TL_DTYPE_F64), ==, 8);
  g_assert_cmpuint (tl_dtype_size (TL_DTYPE_INVALID), ==, 0);
  g_assert_cmpuint (tl_dtype_size ((TlDType) 999), ==, 0);
  g_assert_cmpstr (tl_dtype_name (TL_DTYPE_I64), ==, "i64");
  g_assert_cmpstr (tl_dtype_name ((TlDType) 999), ==, "invalid");
  for (int d = TL_DTYPE_F32; d < TL_DTYPE_COUNT_; d++)
    g_assert_cmpint (tl_dtype_from_name (tl_dtype_name ((TlDType) d)), ==, d);
  g_assert_cmpint (tl_dtype_from_name ("f128"), ==, TL_DTYPE_INVALID);
  g_assert_cmpint (tl_dtype_from_name (NULL), ==, TL_DTYPE_INVALID);
  g_assert_true (tl_dtype_is_float (TL_DTYPE_BF16));
  g_assert_false (tl_dtype_is_float (TL_DTYPE_I32));
}

static float
bits_f (guint32 u)
{
  float f;
  memcpy (&f, &u, 4);
  return f;
}

static void
test_f16 (void)
{
  g_assert_cmphex (tl_f32_to_f16 (1.0f), ==, 0x3c00);
  g_assert_cmphex (tl_f32_to_f16 (-2.0f), ==, 0xc000);
  g_assert_cmphex (tl_f32_to_f16 (65504.0f), ==, 0x7bff);
  g_assert_cmphex (tl_f32_to_f16 (65520.0f), ==, 0x7c00);   /* ties to even -> inf */
  g_assert_cmphex (tl_f32_to_f16 (65519.0f), ==, 0x7bff);
  g_assert_cmphex (tl_f32_to_f16 (1e10f), ==, 0x7c00);
  g_assert_cmphex (tl_f32_to_f16 (INFINITY), ==, 0x7c00);
  g_assert_true ((tl_f32_to_f16 (NAN) & 0x7fff) > 0x7c00);
  g_assert_cmphex (tl_f32_to_f16 (5.9604645e-08f), ==, 0x0001);   /* smallest subnormal */
  g_assert_cmphex (tl_f32_to_f16 (2.9802322e-08f), ==, 0x0000);   /* half of it: ties to even */
  g_assert_cmphex (tl_f32_to_f16 (6.1035156e-05f), ==, 0x0400);   /* smallest normal */
  g_assert_cmphex (tl_f32_to_f16 (-0.0f), ==, 0x8000);
  /* 1 + 2^-11 is halfway between 1 and 1+2^-10: rounds to even (1.0) */
  g_assert_cmphex (tl_f32_to_f16 (1.0f + 1.0f / 2048), ==, 0x3c00);
  /* 1 + 3*2^-11 is halfway between 1+2^-10 and 1+2^-9: rounds to even (0x3c02) */
  g_assert_cmphex (tl_f32_to_f16 (1.0f + 3.0f / 2048), ==, 0x3c02);
  g_assert_cmphex (tl_f32_to_f16 (bits_f (0x3f801001)), ==, 0x3c01); /* just above half */
  /* every half value round-trips exactly */
  for (guint32 h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff))
      continue; /* NaN */
    g_assert_cmphex (tl_f32_to_f16 (tl_f16_to_f32 ((guint16) h)), ==, h);
  }
  g_assert_cmpfloat (tl_f16_to_f32 (0x0001), ==, 5.9604644775390625e-08f);
  g_assert_true (isnan (tl_f16_to_f32 (0x7e00)));
}

static void
test_bf16 (void)
{
  g_assert_cmphex (tl_f32_to_bf16 (1.0f), ==, 0x3f80);
  g_assert_cmphex (tl_f32_to_bf16 (bits_f (0x3f808000)), ==, 0x3f80); /* tie -> even */
  g_assert_cmphex (tl_f32_to_bf16 (bits_f (0x3f818000)), ==, 0x3f82); /* tie -> even (up) */
  g_assert_cmphex (tl_f32_to_bf16 (bits_f (0x3f808001)), ==, 0x3f81);
  g_assert_cmphex (tl_f32_to_bf16 (bits_f (0x7f7fffff)), ==, 0x7f80); /* overflow to inf */
  g_assert_true (isnan (tl_bf16_to_f32 (tl_f32_to_bf16 (NAN))));
  for (guint32 h = 0; h < 0x10000; h++) {
    if ((h & 0x7f80) == 0x7f80 && (h & 0x7f))
      continue;
    g_assert_cmphex (tl_f32_to_bf16 (tl_bf16_to_f32 ((guint16) h)), ==, h);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dtype/names", test_names);
  g_test_add_func ("/dtype/f16", test_f16);
  g_test_add_func ("/dtype/bf16", test_bf16);
  return g_test_run ();
}
