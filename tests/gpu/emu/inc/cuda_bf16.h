/* cuda_bf16.h — CPU stand-in for the CUDA header (tests/gpu/emu). */
#ifndef EMU_CUDA_BF16_H
#define EMU_CUDA_BF16_H
#include "emu.h"
#include <tl/tl-dtype.h>
struct __nv_bfloat16 { uint16_t b; };
static inline __nv_bfloat16 __float2bfloat16_rn (float f) { __nv_bfloat16 h; h.b = tl_f32_to_bf16 (f); return h; }
static inline float __bfloat162float (__nv_bfloat16 h) { return tl_bf16_to_f32 (h.b); }
#endif
