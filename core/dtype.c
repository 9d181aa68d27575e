/* dtype.c — element types and scalar f16/bf16 conversions. */
#include "config.h"

#include <string.h>

#include "tl-private.h"

static const struct {
  const char *name;
  gsize size;
} dtype_table[TL_DTYPE_COUNT_] = {
  [TL_DTYPE_INVALID] = { "invalid", 0 },
#define TL_DTYPE_ROW_(e, n, s) [TL_DTYPE_##e] = { n, s },
  TL_DTYPE_MAP (TL_DTYPE_ROW_)
#undef TL_DTYPE_ROW_
};

G_STATIC_ASSERT (G_N_ELEMENTS (dtype_table) == TL_DTYPE_COUNT_);

/**
 * tl_dtype_size:
 * @dtype: an element type
 *
 * Returns: bytes per element; 0 for %TL_DTYPE_INVALID or unknown values.
 */
gsize
tl_dtype_size (TlDType dtype)
{
  if ((guint) dtype >= TL_DTYPE_COUNT_)
    return 0;
  return dtype_table[dtype].size;
}

/**
 * tl_dtype_name:
 * @dtype: an element type
 *
 * Returns: (transfer none): the short name ("f32"), "invalid" for unknown values.
 */
const char *
tl_dtype_name (TlDType dtype)
{
  if ((guint) dtype >= TL_DTYPE_COUNT_)
    return "invalid";
  return dtype_table[dtype].name;
}

/**
 * tl_dtype_from_name:
 * @name: (nullable): a short name such as "f32"
 *
 * Returns: the dtype, %TL_DTYPE_INVALID if @name is unknown.
 */
TlDType
tl_dtype_from_name (const char *name)
{
  if (!name)
    return TL_DTYPE_INVALID;
  for (guint i = 1; i < TL_DTYPE_COUNT_; i++)
    if (strcmp (dtype_table[i].name, name) == 0)
      return (TlDType) i;
  return TL_DTYPE_INVALID;
}

/**
 * tl_dtype_is_float:
 * @dtype: an element type
 *
 * Returns: TRUE for f32, f16, bf16 and f64.
 */
gboolean
tl_dtype_is_float (TlDType dtype)
{
  return dtype == TL_DTYPE_F32 || dtype == TL_DTYPE_F16 || dtype == TL_DTYPE_BF16 ||
         dtype == TL_DTYPE_F64;
}

static inline guint32
f32_bits (float f)
{
  guint32 u;
  memcpy (&u, &f, 4);
  return u;
}

static inline float
bits_f32 (guint32 u)
{
  float f;
  memcpy (&f, &u, 4);
  return f;
}

/**
 * tl_f32_to_f16:
 * @f: a float
 *
 * Converts to IEEE half precision, rounding to nearest even; overflow gives
 * infinity, NaN stays NaN (quiet).
 *
 * Returns: the half-precision bits.
 */
uint16_t
tl_f32_to_f16 (float f)
{
  guint32 x = f32_bits (f);
  guint32 sign = (x >> 16) & 0x8000u;
  guint32 ax = x & 0x7fffffffu;

  if (ax >= 0x7f800000u) /* inf or NaN */
    return (uint16_t) (sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u | ((ax >> 13) & 0x3ffu) : 0));
  if (ax >= 0x477ff000u) /* rounds to >= 65520: overflow */
    return (uint16_t) (sign | 0x7c00u);
  if (ax < 0x38800000u) { /* result is subnormal or zero */
    if (ax < 0x33000000u) /* < 2^-25: rounds to zero */
      return (uint16_t) sign;
    guint32 e = ax >> 23;           /* 102..112 */
    guint32 m = (ax & 0x7fffffu) | 0x800000u;
    guint32 shift = 126 - e;        /* 14..24 */
    guint32 h = m >> shift;
    guint32 rem = m & ((1u << shift) - 1);
    guint32 half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1u)))
      h++;
    return (uint16_t) (sign | h);
  }
  /* normal: rebias exponent 127 -> 15 and round the 13 dropped bits */
  guint32 h = ((ax >> 13) - ((127 - 15) << 10));
  guint32 rem = ax & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
    h++; /* may carry into the exponent: correct behaviour */
  return (uint16_t) (sign | h);
}

/**
 * tl_f16_to_f32:
 * @h: half-precision bits
 *
 * Returns: the exact float value.
 */
float
tl_f16_to_f32 (uint16_t h)
{
  guint32 sign = ((guint32) h & 0x8000u) << 16;
  guint32 e = (h >> 10) & 0x1fu;
  guint32 m = h & 0x3ffu;

  if (e == 0x1f)
    return bits_f32 (sign | 0x7f800000u | (m << 13));
  if (e == 0) {
    if (m == 0)
      return bits_f32 (sign);
    /* subnormal: m * 2^-24 */
    float v = (float) m * (1.0f / 16777216.0f);
    return sign ? -v : v;
  }
  return bits_f32 (sign | ((e + 127 - 15) << 23) | (m << 13));
}

/**
 * tl_f32_to_bf16:
 * @f: a float
 *
 * Converts to bfloat16 rounding to nearest even; NaN stays NaN.
 *
 * Returns: the bfloat16 bits.
 */
uint16_t
tl_f32_to_bf16 (float f)
{
  guint32 x = f32_bits (f);
  if ((x & 0x7fffffffu) > 0x7f800000u)
    return (uint16_t) ((x >> 16) | 0x40u);
  x += 0x7fffu + ((x >> 16) & 1u);
  return (uint16_t) (x >> 16);
}

/**
 * tl_bf16_to_f32:
 * @h: bfloat16 bits
 *
 * Returns: the exact float value.
 */
float
tl_bf16_to_f32 (uint16_t h)
{
  return bits_f32 ((guint32) h << 16);
}
