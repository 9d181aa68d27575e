/* rng.c — counter-based Philox-4x32-10 random numbers. */
#include "config.h"

#include <math.h>

#include "tl-private.h"
#include "ops/ops-rules.h"

/**
 * tl_rng_init:
 * @rng: (out caller-allocates): the generator
 * @seed: the key
 * @stream: an independent stream under the same key
 *
 * The sequence depends only on (@seed, @stream): the same on every platform
 * and thread count.
 */
void
tl_rng_init (TlRng *rng, guint64 seed, guint64 stream)
{
  rng->seed = seed;
  rng->stream = stream;
  rng->counter = 0;
  rng->buf[0] = rng->buf[1] = rng->buf[2] = rng->buf[3] = 0;
  rng->buf_pos = 4;
  rng->reserved = 0;
}

/** tl_rng_u32: Returns: the next 32 random bits. */
guint32
tl_rng_u32 (TlRng *rng)
{
  if (rng->buf_pos >= 4) {
    _tl_rule_philox_block (rng->seed, rng->stream, rng->counter, rng->buf);
    rng->counter++;
    rng->buf_pos = 0;
  }
  return rng->buf[rng->buf_pos++];
}

/** tl_rng_u64: Returns: the next 64 random bits. */
guint64
tl_rng_u64 (TlRng *rng)
{
  guint64 lo = tl_rng_u32 (rng);
  guint64 hi = tl_rng_u32 (rng);
  return (hi << 32) | lo;
}

/** tl_rng_uniform: Returns: a double uniform in [0, 1) with 53 random bits. */
double
tl_rng_uniform (TlRng *rng)
{
  return _tl_rule_uniform53 (tl_rng_u64 (rng));
}

/** tl_rng_normal: Returns: a standard normal sample (Box-Muller). */
float
tl_rng_normal (TlRng *rng)
{
  double u1 = 1.0 - tl_rng_uniform (rng); /* (0, 1]: log is finite */
  double u2 = tl_rng_uniform (rng);
  return (float) (sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2));
}

/**
 * tl_rng_below:
 * @rng: the generator
 * @n: the bound
 *
 * Returns: a uniform integer in [0, @n) without modulo bias (0 when @n is 0).
 */
guint64
tl_rng_below (TlRng *rng, guint64 n)
{
  if (n <= 1)
    return 0;
  guint64 threshold = (0 - n) % n; /* 2^64 mod n */
  for (;;) {
    guint64 x = tl_rng_u64 (rng);
    if (x >= threshold)
      return x % n;
  }
}

/**
 * tl_rng_shuffle:
 * @rng: the generator
 * @idx: (array length=n) (inout): the items
 * @n: number of items
 *
 * Fisher-Yates shuffle in place.
 */
void
tl_rng_shuffle (TlRng *rng, gint64 *idx, gint64 n)
{
  for (gint64 i = n - 1; i > 0; i--) {
    gint64 j = (gint64) tl_rng_below (rng, (guint64) i + 1);
    gint64 t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
}

/**
 * tl_hash_string:
 * @s: (nullable): a string
 *
 * Returns: the 64-bit FNV-1a hash of @s (that of "" for NULL).
 */
guint64
tl_hash_string (const char *s)
{
  guint64 h = 0xcbf29ce484222325ULL;
  for (const unsigned char *p = (const unsigned char *) (s ? s : ""); *p; p++) {
    h ^= *p;
    h *= 0x100000001b3ULL;
  }
  return h;
}
