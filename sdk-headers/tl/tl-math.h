/* tl-math.h — vectorisable float math for kernel loops.
 *
 * libm calls keep a loop scalar; these inline functions let gcc vectorise
 * elementwise loops (with `#pragma omp simd` or -ftree-vectorize). The
 * built-in kernels and plugins (e.g. fusion's fused interpreter) share them,
 * so fused and unfused results agree to the bit.
 *
 * Accuracy: tl_expf_approx is a Cephes polynomial, <= 1.5 ulp on
 * [-86.6, 88.7], 0 below and +inf above; tl_erff_approx is a rational fit,
 * absolute error < 4e-7; tl_tanhf_approx and tl_sigmoidf_approx derive from
 * tl_expf_approx. Files that use them in loops should compile with
 * `#pragma GCC optimize ("no-trapping-math")` (or -fno-trapping-math) so gcc
 * if-converts the clamps.
 */
#ifndef TL_MATH_H
#define TL_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <tl/tl-macros.h>

TL_BEGIN_DECLS

static inline float
tl_expf_approx (float x)
{
  float xc = x < -86.6f ? -86.6f : x;
  xc = xc > 88.72f ? 88.72f : xc;
  float t = xc * 1.44269504088896341f + 12582912.0f; /* round(x / ln 2) in the low mantissa bits */
  float n = t - 12582912.0f;
  float r = xc - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t ti, bits;
  float s;
  memcpy (&ti, &t, 4);
  /* 2^(n-1); unsigned: for a NaN x the exponent field is garbage (the
   * result is NaN anyway) and a signed shift would overflow */
  bits = (int32_t) ((uint32_t) (ti - 0x4B400000 + 126) << 23);
  memcpy (&s, &bits, 4);
  float y = p * s * 2.0f;
  y = x < -86.6f ? 0.0f : y;
  return x > 88.72f ? (float) INFINITY : y;
}

static inline float
tl_erff_approx (float x)
{
  float c = x < -4.0f ? -4.0f : (x > 4.0f ? 4.0f : x);
  float x2 = c * c;
  float p = x2 * -2.72614225801306e-10f + 2.77068142495902e-08f;
  p = x2 * p + -2.10102402082508e-06f;
  p = x2 * p + -5.69250639462346e-05f;
  p = x2 * p + -7.34990630326855e-04f;
  p = x2 * p + -2.95459980854025e-03f;
  p = x2 * p + -1.60960333262415e-02f;
  float q = x2 * -1.45660718464996e-05f + -2.13374055278905e-04f;
  q = x2 * q + -1.68282697438203e-03f;
  q = x2 * q + -7.37332916720468e-03f;
  q = x2 * q + -1.42647390514189e-02f;
  return c * p / q;
}

static inline float
tl_sigmoidf_approx (float x)
{
  return 1.0f / (1.0f + tl_expf_approx (-x));
}

static inline float
tl_tanhf_approx (float x)
{
  float a = x < 0.0f ? -x : x;
  float big = 1.0f - 2.0f / (tl_expf_approx (2.0f * a) + 1.0f);
  float r = a < 0.03f ? a * (1.0f - a * a * (1.0f / 3.0f)) : big;
  return x < 0.0f ? -r : r;
}

TL_END_DECLS

#endif /* TL_MATH_H */
