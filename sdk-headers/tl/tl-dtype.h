/* tl-dtype.h — element types.
 *
 * One list, TL_DTYPE_MAP, generates the enum and the name table (append only:
 * the enum values are ABI).
 */
#ifndef TL_DTYPE_H
#define TL_DTYPE_H

#include <glib.h>
#include <tl/tl-macros.h>

TL_BEGIN_DECLS

/* XX(ENUM, name, size-in-bytes) */
#define TL_DTYPE_MAP(XX) \
  XX(F32, "f32", 4)      \
  XX(F16, "f16", 2)      \
  XX(BF16, "bf16", 2)    \
  XX(I8, "i8", 1)        \
  XX(I32, "i32", 4)      \
  XX(I64, "i64", 8)      \
  XX(BOOL, "bool", 1)    \
  XX(U8, "u8", 1)        \
  XX(F64, "f64", 8)

typedef enum {
  TL_DTYPE_INVALID = 0,
#define TL_DTYPE_ENUM_(e, n, s) TL_DTYPE_##e,
  TL_DTYPE_MAP(TL_DTYPE_ENUM_)
#undef TL_DTYPE_ENUM_
  TL_DTYPE_COUNT_
} TlDType;

/* Bytes per element; 0 for TL_DTYPE_INVALID or unknown values. */
TL_API gsize tl_dtype_size(TlDType dtype);
/* Short name ("f32"); "invalid" for unknown values. Static string. */
TL_API const char *tl_dtype_name(TlDType dtype);
/* Parse a short name; TL_DTYPE_INVALID if unknown. */
TL_API TlDType tl_dtype_from_name(const char *name);
TL_API gboolean tl_dtype_is_float(TlDType dtype);

/* Scalar conversions (round to nearest even). */
TL_API uint16_t tl_f32_to_f16(float f);
TL_API float tl_f16_to_f32(uint16_t h);
TL_API uint16_t tl_f32_to_bf16(float f);
TL_API float tl_bf16_to_f32(uint16_t h);

TL_END_DECLS

#endif /* TL_DTYPE_H */
