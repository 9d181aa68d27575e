/* cuda_runtime.h — CPU stand-in for the CUDA header (tests/gpu/emu). */
#include "emu.h"
