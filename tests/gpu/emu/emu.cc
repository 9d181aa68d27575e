/* emu.cc — fiber scheduler for emu.h and fake runtime services of the CUDA module. */
#include "emu.h"
#include <ucontext.h>
#include <stdio.h>
#include <stdlib.h>
#include <map>
#include <vector>
#include <glib.h>
#include "backends/cuda/cuda-private.h"

uint3_ threadIdx, blockIdx;
dim3 blockDim, gridDim;
unsigned long long emu_slots[32][32];

struct Fiber { ucontext_t ctx; char *stack; bool done; unsigned tid; };
static std::vector<Fiber> fibers;
static ucontext_t sched_ctx;
static int cur = -1;
static std::function<void ()> *cur_fn;
struct Bar { int count = 0; long gen = 0; };
static std::map<long, Bar> bars;
#define STACK (256 * 1024)

static void
yield_fiber (void)
{
  swapcontext (&fibers[cur].ctx, &sched_ctx);
}

void
emu_barrier (long key, int expected)
{
  Bar &b = bars[key];
  long gen = b.gen;
  if (++b.count == expected) {
    b.count = 0;
    b.gen++;
    return;
  }
  while (bars[key].gen == gen)
    yield_fiber ();
}

void
emu_syncthreads (void)
{
  emu_barrier (-1, (int) blockDim.x * blockDim.y);
}

static void
trampoline (void)
{
  (*cur_fn) ();
  fibers[cur].done = true;
  swapcontext (&fibers[cur].ctx, &sched_ctx);
}

void
emu_launch (dim3 grid, dim3 block, std::function<void ()> fn)
{
  unsigned nt = block.x * block.y;
  if (grid.x == 0 || nt == 0 || nt > 1024) {
    fprintf (stderr, "emu: bad launch grid %u block %u\n", grid.x, nt);
    abort ();
  }
  gridDim = grid;
  blockDim = block;
  cur_fn = &fn;
  if (fibers.size () < 1024) {
    fibers.resize (1024);
    for (auto &f : fibers)
      f.stack = (char *) malloc (STACK);
  }
  for (unsigned by = 0; by < grid.y; by++)
    for (unsigned bx = 0; bx < grid.x; bx++) {
      bars.clear ();
      for (unsigned t = 0; t < nt; t++) {
        Fiber &f = fibers[t];
        getcontext (&f.ctx);
        f.ctx.uc_stack.ss_sp = f.stack;
        f.ctx.uc_stack.ss_size = STACK;
        f.ctx.uc_link = &sched_ctx;
        makecontext (&f.ctx, trampoline, 0);
        f.done = false;
        f.tid = t;
      }
      unsigned left = nt;
      while (left > 0) {
        for (unsigned t = 0; t < nt; t++) {
          if (fibers[t].done)
            continue;
          cur = (int) t;
          threadIdx.x = t % block.x;
          threadIdx.y = t / block.x;
          threadIdx.z = 0;
          blockIdx.x = bx;
          blockIdx.y = by;
          blockIdx.z = 0;
          swapcontext (&sched_ctx, &fibers[t].ctx);
          if (fibers[t].done)
            left--;
        }
      }
    }
}

/* --- fake runtime services ------------------------------------------------- */
extern "C" {
void *_tl_cuda_stream (void) { return NULL; }
void *_tl_cuda_cublas (void) { return NULL; }
static void *scratch;
static gsize scratch_bytes;
void *
_tl_cuda_scratch (gsize nbytes, GError **error)
{
  (void) error;
  if (nbytes > scratch_bytes) {
    free (scratch);
    scratch = malloc (nbytes + 64);
    scratch_bytes = nbytes;
  }
  memset (scratch, 0xA5, scratch_bytes); /* poison: reads of unwritten scratch show */
  return scratch;
}
gboolean _tl_cuda_check_launch (const char *what, GError **error) { (void) what; (void) error; return TRUE; }
/* the stream's fault record: plain host memory here (driver.c reads and clears it) */
static TlCudaFault fault_record;
TlCudaFault *_tl_cuda_fault (void) { return &fault_record; }
int _tl_cuda_sm_count (void) { const char *s = getenv ("EMU_SMS"); return s ? atoi (s) : 2; }
gboolean
_tl_cuda_gemm (TlDType dtype, gboolean ta, gboolean tb, gint64 m, gint64 n, gint64 k, float alpha, const void *a,
               gint64 lda, gint64 sa, const void *b, gint64 ldb, gint64 sb, float beta, void *c, gint64 ldc,
               gint64 sc, gint64 batch, GError **error)
{
  (void) error;
  if (dtype != TL_DTYPE_F32)
    abort ();
  for (gint64 bi = 0; bi < batch; bi++) {
    const float *A = (const float *) a + bi * sa, *B = (const float *) b + bi * sb;
    float *C = (float *) c + bi * sc;
    for (gint64 i = 0; i < m; i++)
      for (gint64 j = 0; j < n; j++) {
        double s = 0;
        for (gint64 p = 0; p < k; p++)
          s += (double) (ta ? A[p * lda + i] : A[i * lda + p]) * (tb ? B[j * ldb + p] : B[p * ldb + j]);
        C[i * ldc + j] = (float) (alpha * s + (beta != 0.0f ? beta * C[i * ldc + j] : 0.0f));
      }
  }
  return TRUE;
}
}
