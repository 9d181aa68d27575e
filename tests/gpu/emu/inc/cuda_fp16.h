/* cuda_fp16.h — CPU stand-in for the CUDA header (tests/gpu/emu). */
#ifndef EMU_CUDA_FP16_H
#define EMU_CUDA_FP16_H
#include "emu.h"
#include <tl/tl-dtype.h>
struct __half { uint16_t b; };
static inline __half __float2half_rn (float f) { __half h; h.b = tl_f32_to_f16 (f); return h; }
static inline float __half2float (__half h) { return tl_f16_to_f32 (h.b); }
#endif
