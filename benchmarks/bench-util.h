/* bench-util.h — helpers shared by the engine benchmarks (bench-mlp,
 * bench-convnet, bench-dispatch): option parsing, timing, random parameters.
 *
 * Each benchmark program prints one "half" line
 *   <name> tl threads=N <metric>=<value> ...
 * that benchmarks/run-bench.sh pairs with the PyTorch anchor's half line
 * into the final "BENCH <name> ... ratio=..." line (see README.md).
 */
#ifndef TL_BENCH_UTIL_H
#define TL_BENCH_UTIL_H

#include <tl/tl.h>

typedef struct {
  gint threads; /* --threads: tl_set_num_threads(); default: number of CPUs */
  gint steps;   /* --steps: timed iterations */
  gint warmup;  /* --warmup: untimed iterations before timing */
  gint64 seed;  /* --seed */
  gboolean profile; /* --profile: also print where a step's time goes */
} BenchOptions;

/* Parse --threads/--steps/--warmup/--seed/--profile (the defaults given in *opts are
 * kept for absent options), call tl_init() and tl_set_num_threads(). Exits
 * with status 2 on a bad command line or when tl cannot initialise. */
void bench_init (int *argc, char ***argv, const char *summary, BenchOptions *opts);

/* Monotonic clock, in seconds. */
double bench_now (void);

/* CPU time of the process (all threads), in seconds. */
double bench_cpu_now (void);

/* With opts->profile: run tl_exec_profile() over opts->steps runs and
 * print, as "#" lines, the time per step of each op type (summed over its
 * nodes, largest first) plus `extra_secs` (time per step spent outside the
 * executor, e.g. the optimizer, NULL label: none). */
void bench_profile (TlExec *ex, TlGraph *g, const BenchOptions *opts, const char *extra_label,
                    double extra_secs);

/* Exit with status 1 and the message "bench: WHAT: ERROR" when !ok. */
void bench_check (gboolean ok, GError *error, const char *what);

/* A new graph parameter `name` of f32[shape], filled from U(-bound, bound). */
TlValue *bench_param_uniform (TlGraph *g, TlRng *rng, const char *name, guint ndim,
                              const gint64 *shape, float bound);

/* New f32 tensor filled from N(0, 1). (transfer full) */
TlTensor *bench_tensor_normal (TlRng *rng, guint ndim, const gint64 *shape);

/* New i64 tensor of n labels drawn uniformly from [0, n_classes). (transfer full) */
TlTensor *bench_tensor_labels (TlRng *rng, gint64 n, gint64 n_classes);

/* Train the model whose graph `g` reads placeholders "x" and "y" and
 * computes `loss`: differentiate with respect to every parameter of `g`,
 * build an executor, feed x and y, then run opts->warmup untimed and
 * opts->steps timed steps (executor run + tl_optimizer_step of `optim`
 * with `cfg` and learning rate `lr`) and print the half line
 *   NAME tl threads=N steps=S steps_per_s=... ms_per_step=... cpu_ms_per_step=...
 *        loss_first=... loss_last=... kernels=K
 * Exits on any error. */
void bench_train (const char *name, TlGraph *g, TlValue *loss, TlTensor *x, TlTensor *y,
                  const char *optim, const TlOptimConfig *cfg, double lr,
                  const BenchOptions *opts);

#endif /* TL_BENCH_UTIL_H */
