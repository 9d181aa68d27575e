/* tl-host.h — library initialisation and host services shared by plugins:
 * version, logging, the data directory, deterministic random numbers.
 */
#ifndef TL_HOST_H
#define TL_HOST_H

#include <glib.h>
#include <tl/tl-macros.h>

TL_BEGIN_DECLS

/* Initialise libtl (op registry with built-in ops, thread pool). Idempotent
 * and thread-safe; every public entry point that needs it calls it. */
TL_API gboolean tl_init(GError **error);
/* Package version string, e.g. "0.1.0". Static. */
TL_API const char *tl_version_string(void);
TL_API void tl_abi_version(guint *major, guint *minor);

/* Logging through GLib's structured log with domain "tl" (or the plugin
 * id as domain). Never aborts. */
#define tl_debug(...) g_log("tl", G_LOG_LEVEL_DEBUG, __VA_ARGS__)
#define tl_info(...) g_log("tl", G_LOG_LEVEL_INFO, __VA_ARGS__)
#define tl_message(...) g_log("tl", G_LOG_LEVEL_MESSAGE, __VA_ARGS__)
#define tl_warning(...) g_log("tl", G_LOG_LEVEL_WARNING, __VA_ARGS__)

/* The data directory: $TL_DATA_DIR if set and not empty, else
 * ../shared/data or ../../shared/data relative to the current directory,
 * else $TL_SRCDIR/../shared/data, the first present, else NULL. Static
 * string (computed once). */
TL_API const char *tl_data_dir(void);
/* "${TL_DATA_DIR}/x" style expansion of ${VAR} from the environment
 * (TL_DATA_DIR from tl_data_dir()); unknown variables are an error.
 * (transfer full) */
TL_API char *tl_expand_vars(const char *s, GError **error);

/* Counter-based RNG (Philox-4x32-10): same (seed, stream) -> same sequence
 * on every platform and thread count. */
typedef struct {
  uint64_t seed;
  uint64_t stream;
  uint64_t counter;
  uint32_t buf[4];
  uint32_t buf_pos;
  uint32_t reserved;
} TlRng;

TL_API void tl_rng_init(TlRng *rng, guint64 seed, guint64 stream);
TL_API guint32 tl_rng_u32(TlRng *rng);
TL_API guint64 tl_rng_u64(TlRng *rng);
TL_API double tl_rng_uniform(TlRng *rng);            /* [0, 1) */
TL_API float tl_rng_normal(TlRng *rng);              /* N(0, 1) */
TL_API guint64 tl_rng_below(TlRng *rng, guint64 n);  /* [0, n), unbiased */
/* Fisher-Yates shuffle of idx[n]. */
TL_API void tl_rng_shuffle(TlRng *rng, gint64 *idx, gint64 n);
/* Stable 64-bit hash of a string (FNV-1a), for seeding streams by name. */
TL_API guint64 tl_hash_string(const char *s);

TL_END_DECLS

#endif /* TL_HOST_H */
