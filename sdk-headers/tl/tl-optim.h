/* tl-optim.h — placeholder, filled in by the engine work (issue 3). */
#ifndef TL_OPTIM_H
#define TL_OPTIM_H
#include <tl/tl-macros.h>
#endif
