/* cuda-graph.c — capture of a repeated step as a CUDA graph and its replay.
 *
 * Capture runs on the calling thread's stream in relaxed mode, so that a
 * cache miss in the caching allocator (cudaMalloc) during capture is legal;
 * the allocator never returns memory to the driver while the graph lives
 * (only empty_cache does), so the addresses baked into the graph stay valid.
 *
 * The captured kernels hold the capturing thread's fault record and scratch
 * (cuda-runtime.c), which live as long as that thread: a graph is launched
 * only on the thread that captured it (the executor refuses other threads
 * first, core/exec.c; this is the module's own guard). A thread that exited
 * can launch nothing, so its freed resources are never replayed.
 */
#include "config.h"

#include <cuda_runtime.h>

#include "cuda-private.h"

typedef struct {
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  int device;
  guint64 thread; /* _tl_cuda_thread_id () of the capturing thread */
} TlCudaGraph;

gboolean
_tl_cuda_graph_begin (GError **error)
{
  cudaStream_t s = _tl_cuda_stream ();
  if (!s) {
    g_set_error (error, TL_ERROR, TL_ERROR_FAILED, "CUDA graph: no stream");
    return FALSE;
  }
  /* from here on scratch that outgrows its block is retired, not freed:
   * a block freed during the capture would be handed to other tensors while
   * the graph's replays still write it */
  _tl_cuda_note_graph ();
  cudaError_t st = cudaStreamBeginCapture (s, cudaStreamCaptureModeRelaxed);
  if (st != cudaSuccess) {
    _tl_cuda_set_error (error, st, "cudaStreamBeginCapture");
    return FALSE;
  }
  return TRUE;
}

gpointer
_tl_cuda_graph_end (GError **error)
{
  cudaStream_t s = _tl_cuda_stream ();
  cudaGraph_t g = NULL;
  cudaError_t st = cudaStreamEndCapture (s, &g);
  if (st != cudaSuccess) {
    _tl_cuda_set_error (error, st,
                        "cudaStreamEndCapture (an operation in the step cannot be captured)");
    if (g)
      cudaGraphDestroy (g);
    cudaGetLastError ();
    return NULL;
  }
  cudaGraphExec_t ex = NULL;
  st = cudaGraphInstantiate (&ex, g, 0);
  if (st != cudaSuccess) {
    _tl_cuda_set_error (error, st, "cudaGraphInstantiate");
    cudaGraphDestroy (g);
    return NULL;
  }
  TlCudaGraph *cg = g_new0 (TlCudaGraph, 1);
  cg->graph = g;
  cg->exec = ex;
  cg->device = _tl_cuda_current_device ();
  cg->thread = _tl_cuda_thread_id ();
  return cg;
}

gboolean
_tl_cuda_graph_launch (gpointer graph, GError **error)
{
  TlCudaGraph *cg = graph;
  if (!cg) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "CUDA graph: NULL graph");
    return FALSE;
  }
  if (cg->thread != _tl_cuda_thread_id ()) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "CUDA graph: a captured graph replays only on the thread that captured it");
    return FALSE;
  }
  if (cg->device != _tl_cuda_current_device ()) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "CUDA graph: captured on cuda:%d, launched with cuda:%d current", cg->device,
                 _tl_cuda_current_device ());
    return FALSE;
  }
  cudaError_t st = cudaGraphLaunch (cg->exec, _tl_cuda_stream ());
  if (st != cudaSuccess) {
    _tl_cuda_set_error (error, st, "cudaGraphLaunch");
    return FALSE;
  }
  return TRUE;
}

void
_tl_cuda_graph_free (gpointer graph)
{
  TlCudaGraph *cg = graph;
  if (!cg)
    return;
  cudaGraphExecDestroy (cg->exec);
  cudaGraphDestroy (cg->graph);
  g_free (cg);
}
