/* rng.c — counter-based Philox-4x32-10 random numbers. */
#include "config.h"

#include <math.h>

#include "tl-private.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

/* One Philox-4x32-10 block: out = philox(ctr, key). */
static void
philox4x32_10 (const guint32 ctr_in[4], const guint32 key_in[2], guint32 out[4])
{
  guint32 c0 = ctr_in[0], c1 = ctr_in[1], c2 = ctr_in[2], c3 = ctr_in[3];
  guint32 k0 = key_in[0], k1 = key_in[1];
  for (int r = 0; r < 10; r++) {
    guint64 p0 = (guint64) PHILOX_M0 * c0;
    guint64 p1 = (guint64) PHILOX_M1 * c2;
    guint32 n0 = (guint32) (p1 >> 32) ^ c1 ^ k0;
    guint32 n2 = (guint32) (p0 >> 32) ^ c3 ^ k1;
    c1 = (guint32) p1;
    c3 = (guint32) p0;
    c0 = n0;
    c2 = n2;
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

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
    guint32 ctr[4] = { (guint32) rng->counter, (guint32) (rng->counter >> 32),
                       (guint32) rng->stream, (guint32) (rng->stream >> 32) };
    guint32 key[2] = { (guint32) rng->seed, (guint32) (rng->seed >> 32) };
    philox4x32_10 (ctr, key, rng->buf);
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
  return (double) (tl_rng_u64 (rng) >> 11) * (1.0 / 9007199254740992.0);
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
