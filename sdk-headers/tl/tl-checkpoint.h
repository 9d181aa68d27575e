/* tl-checkpoint.h — placeholder, filled in by the engine work (issue 3). */
#ifndef TL_CHECKPOINT_H
#define TL_CHECKPOINT_H
#include <tl/tl-macros.h>
#endif
