/* tl.h — the whole tl SDK (tl-1). Plugins include <tl/tl.h> and link libtl-1
 * (pkg-config --cflags --libs tl-1). Nothing else of tl is API.
 */
#ifndef TL_H
#define TL_H

#include <tl/tl-macros.h>
#include <tl/tl-error.h>
#include <tl/tl-dtype.h>
#include <tl/tl-tensor.h>
#include <tl/tl-attrs.h>
#include <tl/tl-graph.h>
#include <tl/tl-op.h>
#include <tl/tl-ops.h>
#include <tl/tl-math.h>
#include <tl/tl-exec.h>
#include <tl/tl-params.h>
#include <tl/tl-model.h>
#include <tl/tl-dataset.h>
#include <tl/tl-planner.h>
#include <tl/tl-plugin.h>
#include <tl/tl-host.h>
#include <tl/tl-optim.h>
#include <tl/tl-checkpoint.h>
#include <tl/tl-metrics.h>
#include <tl/tl-trainer.h>
#include <tl/tl-registry.h>
#include <tl/tl-job.h>
#include <tl/tl-conformance.h>
#include <tl/tl-comm.h>

#endif /* TL_H */
