/* parallel.c — the host thread pool (OpenMP) used by kernels. */
#include "config.h"

#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <cblas.h>

#include "tl-private.h"
#include "graph-private.h"

static guint global_threads; /* 0 until tl_init */
static __thread guint thread_override;

/* Processes of this job on this machine, as the MPI launcher says (Open
 * MPI, MPICH/Hydra, Slurm); 1 when not launched by one. */
static guint
local_ranks (void)
{
  static const char *const vars[] = { "OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE" };
  for (guint i = 0; i < G_N_ELEMENTS (vars); i++) {
    const char *v = g_getenv (vars[i]);
    guint64 n = v && *v ? g_ascii_strtoull (v, NULL, 10) : 0;
    if (n > 0 && n <= 65536)
      return (guint) n;
  }
  return 1;
}

/* $TL_NUM_THREADS, else the machine's cores shared by the job's local
 * processes: `mpirun -np 4` on 16 cores gives each rank 4 threads, not 16
 * (oversubscribed ranks spin against each other: the dapple 4-process run
 * on 2 cores went 5x slower with every rank taking both cores). */
static guint
default_threads (void)
{
  const char *env = g_getenv ("TL_NUM_THREADS");
  guint fallback = MAX (1, (guint) g_get_num_processors () / local_ranks ());
  if (env && *env) {
    guint64 v;
    if (g_ascii_string_to_unsigned (env, 10, 1, 4096, &v, NULL))
      return (guint) v;
    /* "abc", "-1", "0", "1e9": said once per process, not silently ignored
     * (this runs again for every tl_set_num_threads (0)) */
    static gsize warned = 0;
    if (g_once_init_enter (&warned)) {
      g_autofree char *shown = _tl_priv_escape_short (env);
      g_warning ("TL_NUM_THREADS=\"%s\" is not a number of threads from 1 to 4096; using %u", shown,
                 fallback);
      g_once_init_leave (&warned, 1);
    }
  }
  return fallback;
}

/* Called once by tl_init. */
void
_tl_priv_threads_init (void)
{
  tl_set_num_threads (0);
}

/* Called by the executor around a run: kernels in this thread (through
 * tl_parallel_for or their own OpenMP regions) use n threads; 0 restores. */
void
_tl_priv_set_thread_override (guint n)
{
#ifdef _OPENMP
  static __thread int saved_omp;
  if (n && !thread_override) {
    saved_omp = omp_get_max_threads ();
    if (saved_omp != (int) n)
      omp_set_num_threads ((int) n);
  } else if (!n && thread_override && saved_omp != (int) thread_override) {
    omp_set_num_threads (saved_omp);
  }
#endif
  thread_override = n;
}

/**
 * tl_get_num_threads:
 *
 * Returns: the number of threads kernels may use (the executor's count
 * while it runs a graph, else the global setting).
 */
guint
tl_get_num_threads (void)
{
  if (thread_override)
    return thread_override;
  guint n = g_atomic_int_get (&global_threads);
  return n ? n : default_threads ();
}

/**
 * tl_set_num_threads:
 * @n: thread count; 0 restores the default ($TL_NUM_THREADS, else the number
 *   of cores divided by the processes an MPI launcher started on this machine)
 *
 * Sets the global thread count for tl_parallel_for and OpenMP. OpenBLAS is
 * kept single-threaded: large GEMMs are split over tl's own threads
 * (core/ops/gemm.c), so only one thread pool exists. Two pools (libgomp's
 * spinning workers and OpenBLAS's pthreads) fighting for the same cores made
 * two-thread training several times slower than one thread (measured on the
 * convnet benchmark: 14 vs 64 steps/s on 2 cores).
 */
void
tl_set_num_threads (guint n)
{
  if (n == 0)
    n = default_threads ();
  g_atomic_int_set (&global_threads, n);
#ifdef _OPENMP
  omp_set_num_threads ((int) n);
#endif
  openblas_set_num_threads (1);
}

/**
 * tl_parallel_for:
 * @n: number of items
 * @grain: smallest chunk worth a thread
 * @fn: called as fn(begin, end, data) on disjoint ranges covering [0, n)
 * @data: passed to @fn
 *
 * Splits [0, n) into at most one chunk per thread with a static schedule
 * (chunk boundaries depend only on n, grain and the thread count, so results
 * are reproducible). Runs inline when n is small, with one thread, or when
 * called from inside a parallel region.
 */
void
tl_parallel_for (gint64 n, gint64 grain, TlParallelFn fn, gpointer data)
{
  if (n <= 0)
    return;
  if (grain < 1)
    grain = 1;
  guint nt = tl_get_num_threads ();
  gint64 n_chunks = (n + grain - 1) / grain;
  if (n_chunks > (gint64) nt)
    n_chunks = nt;
#ifdef _OPENMP
  if (n_chunks <= 1 || omp_in_parallel ()) {
    fn (0, n, data);
    return;
  }
  gint64 chunk = (n + n_chunks - 1) / n_chunks;
#pragma omp parallel for schedule(static) num_threads((int) n_chunks)
  for (gint64 c = 0; c < n_chunks; c++) {
    gint64 begin = c * chunk;
    gint64 end = MIN (n, begin + chunk);
    if (begin < end)
      fn (begin, end, data);
  }
#else
  (void) n_chunks;
  fn (0, n, data);
#endif
}
