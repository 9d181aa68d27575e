/* interp.c — the CPU path of a fused group: a vectorised interpreter that
 * runs the whole pattern tile by tile, so intermediates live in a per-thread
 * scratch of a few tens of kilobytes (L1/L2) instead of full tensors.
 *
 * A tile is a block of rows with all columns when the group reduces (row
 * statistics are computed per block and consumed right away: the CPU analogue
 * of the paper's block composition) and, for purely elementwise groups with
 * long rows, a chunk of one row. Each instruction runs as one tight loop over
 * the tile (dispatch per row, not per element), specialised for contiguous
 * and broadcast operands so gcc vectorises it.
 *
 * Why an interpreter and not generated C compiled by the system compiler:
 * no compiler is needed at run time (deployment hosts often have none), no
 * first-run latency, and with tiles of ~4096 elements the per-instruction
 * dispatch is amortised over a few thousand vectorised elements; the loops
 * are as fast as the unfused kernels' own, so all of the gain comes from the
 * memory traffic the fusion removes (see README.md for the numbers).
 *
 * The math helpers are the ones of the built-in kernels (<tl/tl-math.h>,
 * same polynomials) and the library is built with -ffp-contract=off (libtl's
 * kernels are built for baseline x86-64, which has no FMA), so fused and
 * unfused results agree to the last bits in most ops on every x86-64 CPU
 * (an FMA in the AVX-512 clone changed them). */
#pragma GCC optimize ("no-trapping-math")
#include <math.h>
#include <string.h>

#include "fusion-private.h"

#ifdef _OPENMP
#define FSIMD _Pragma ("omp simd")
#else
#define FSIMD
#endif

/* The loops are cloned for AVX2 and AVX-512 where the compiler and libc
 * support ifuncs (picked at load time), plain SSE2 otherwise; no FMA
 * contraction in any clone (local.mk). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 9
#define FUSION_CLONES __attribute__ ((target_clones ("avx512f", "avx2", "default")))
#else
#define FUSION_CLONES
#endif

#define SQRT1_2 0.70710678118654752440f
#define INV_SQRT_2PI 0.39894228040143267794f
#ifndef TILE_ELEMS
#define TILE_ELEMS 4096
#endif

/* o[i] = EXPR(x = a[i * sa], y = b[i * sb]) for strides 0/1, vectorised. */
#define EW_LOOP(EXPR)                                                    \
  do {                                                                   \
    if (sa && sb) {                                                      \
      FSIMD for (gint64 i = 0; i < n; i++) {                             \
        float x = a[i], y = b[i];                                        \
        (void) y;                                                        \
        o[i] = (EXPR);                                                   \
      }                                                                  \
    } else if (sa) {                                                     \
      const float y = b[0];                                              \
      (void) y;                                                          \
      FSIMD for (gint64 i = 0; i < n; i++) {                             \
        float x = a[i];                                                  \
        o[i] = (EXPR);                                                   \
      }                                                                  \
    } else if (sb) {                                                     \
      const float x = a[0];                                              \
      FSIMD for (gint64 i = 0; i < n; i++) {                             \
        float y = b[i];                                                  \
        (void) y;                                                        \
        o[i] = (EXPR);                                                   \
      }                                                                  \
    } else {                                                             \
      const float x = a[0], y = b[0];                                    \
      (void) y;                                                          \
      const float r = (EXPR);                                            \
      for (gint64 i = 0; i < n; i++)                                     \
        o[i] = r;                                                        \
    }                                                                    \
  } while (0)

FUSION_CLONES static void
ew_run (const FusionInstr *in, float *restrict o, const float *restrict a, gint64 sa,
        const float *restrict b, gint64 sb, gint64 n)
{
  const float scale = in->scale, bias = in->bias;
  if (in->n_in == 1) {
    b = a;
    sb = sa;
  }
  switch (in->info->op) {
  case FOP_NEG: EW_LOOP (-x); break;
  case FOP_EXP: EW_LOOP (tl_expf_approx (x)); break;
  case FOP_LOG: EW_LOOP (logf (x)); break;
  case FOP_SQRT: EW_LOOP (sqrtf (x)); break;
  case FOP_RSQRT: EW_LOOP (1.0f / sqrtf (x)); break;
  case FOP_ABS: EW_LOOP (fabsf (x)); break;
  case FOP_SQUARE: EW_LOOP (x * x); break;
  case FOP_RELU: EW_LOOP (x > 0.0f ? x : 0.0f); break;
  case FOP_GELU: EW_LOOP (0.5f * x * (1.0f + tl_erff_approx (x * SQRT1_2))); break;
  case FOP_TANH: EW_LOOP (tl_tanhf_approx (x)); break;
  case FOP_SIGMOID: EW_LOOP (1.0f / (1.0f + tl_expf_approx (-x))); break;
  case FOP_SIGN: EW_LOOP ((float) ((x > 0.0f) - (x < 0.0f))); break;
  case FOP_AFFINE: EW_LOOP (x * scale + bias); break;
  case FOP_COPY: EW_LOOP (x); break;
  case FOP_ADD: EW_LOOP (x + y); break;
  case FOP_SUB: EW_LOOP (x - y); break;
  case FOP_MUL: EW_LOOP (x * y); break;
  case FOP_DIV: EW_LOOP (x / y); break;
  case FOP_MAXIMUM: EW_LOOP (x > y ? x : y); break;
  case FOP_MINIMUM: EW_LOOP (x < y ? x : y); break;
  case FOP_POW: EW_LOOP (powf (x, y)); break;
  case FOP_RELU_GRAD: EW_LOOP (y > 0.0f ? x : 0.0f); break;
  case FOP_GELU_GRAD:
    EW_LOOP (x * (0.5f * (1.0f + tl_erff_approx (y * SQRT1_2)) + y * INV_SQRT_2PI * tl_expf_approx (-0.5f * y * y)));
    break;
  case FOP_TANH_GRAD: EW_LOOP (x * (1.0f - y * y)); break;
  case FOP_SIGMOID_GRAD: EW_LOOP (x * y * (1.0f - y)); break;
  default:
    break;
  }
}

/* Row reductions in 8 independent lanes (vectorised, no dependency chain),
 * lanes combined in double: the same scheme as the built-in reductions. */
static float
reduce_row (FusionOpcode op, const float *restrict a, gint64 sa, gint64 n)
{
  gint64 n8 = n & ~(gint64) 7;
  if (op == FOP_MAX) {
    if (!sa)
      return n > 0 ? a[0] : -INFINITY;
    float l[8] = { -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY };
    for (gint64 i = 0; i < n8; i += 8)
      for (gint j = 0; j < 8; j++)
        l[j] = a[i + j] > l[j] ? a[i + j] : l[j];
    float m = -INFINITY;
    for (gint j = 0; j < 8; j++)
      m = l[j] > m ? l[j] : m;
    for (gint64 i = n8; i < n; i++)
      m = a[i] > m ? a[i] : m;
    return m;
  }
  double s = 0;
  if (sa) {
    float l[8] = { 0, 0, 0, 0, 0, 0, 0, 0 };
    for (gint64 i = 0; i < n8; i += 8)
      for (gint j = 0; j < 8; j++)
        l[j] += a[i + j];
    for (gint j = 0; j < 8; j++)
      s += l[j];
    for (gint64 i = n8; i < n; i++)
      s += a[i];
  } else {
    s = (double) a[0] * (double) n;
  }
  return (float) (op == FOP_MEAN ? s / (double) n : s);
}

typedef struct {
  const FusionProgram *p;
  const float *const *in;
  float *const *out;
  gint64 nb, cc, tiles_per_row;
} RunData;

static gint64
row_offset (const FusionProgram *p, const FusionAccess *acc, gint64 r)
{
  gint64 off = 0;
  for (gint a = (gint) p->domain.ndim - 2; a >= 0; a--) {
    gint64 dim = p->domain.shape[a];
    off += (r % dim) * acc->row_stride[a];
    r /= dim;
  }
  return off;
}

FUSION_CLONES static void
run_tiles (gint64 begin, gint64 end, gpointer data)
{
  const RunData *rd = data;
  const FusionProgram *p = rd->p;
  const gint64 tile = rd->nb * rd->cc;
  float *scratch = g_new (float, (gsize) (tile + rd->nb) * p->n_instr);
  float **vp = g_newa (float *, p->n_instr); /* tile base of each value */
  gint64 *vrs = g_newa (gint64, p->n_instr); /* its row stride (0: row value) */
  for (gint64 t = begin; t < end; t++) {
    gint64 r0 = (t / rd->tiles_per_row) * rd->nb;
    gint64 c0 = (t % rd->tiles_per_row) * rd->cc;
    gint64 nr = MIN (rd->nb, p->rows - r0);
    gint64 nc = MIN (rd->cc, p->cols - c0);
    for (guint k = 0; k < p->n_instr; k++) {
      const FusionInstr *in = &p->ins[k];
      gboolean full = in->cls == FCLASS_FULL && !in->info->reduction;
      float *base;
      /* row values of a row split in column chunks are written out by the
       * first chunk only (the others compute them into scratch) */
      gboolean direct = in->out_index >= 0 && (full || c0 == 0);
      if (direct)
        base = full ? rd->out[in->out_index] + r0 * p->cols + c0 : rd->out[in->out_index] + r0;
      else
        base = scratch + (gsize) k * (tile + rd->nb);
      vp[k] = base;
      vrs[k] = full ? (direct ? p->cols : rd->cc) : 0;
      if (full && in->flat && nc == p->cols) {
        /* whole rows, every operand dense or a scalar: one loop over the tile */
        const float *a[2];
        gint64 s[2];
        for (guint j = 0; j < in->n_in; j++) {
          gint ref = in->in[j];
          if (ref >= 0) {
            a[j] = rd->in[ref] + row_offset (p, &in->acc[j], r0);
            s[j] = in->acc[j].col_stride;
          } else {
            a[j] = vp[-ref - 1];
            s[j] = 1;
          }
        }
        ew_run (in, base, a[0], s[0], a[1], s[1], nr * nc);
        continue;
      }
      for (gint64 i = 0; i < nr; i++) {
        const float *a[2];
        gint64 s[2];
        gint64 r = r0 + i;
        for (guint j = 0; j < in->n_in; j++) {
          gint ref = in->in[j];
          if (ref >= 0) {
            a[j] = rd->in[ref] + row_offset (p, &in->acc[j], r) + c0 * in->acc[j].col_stride;
            s[j] = in->acc[j].col_stride;
          } else if (vrs[-ref - 1]) {
            a[j] = vp[-ref - 1] + i * vrs[-ref - 1];
            s[j] = 1;
          } else {
            a[j] = vp[-ref - 1] + i;
            s[j] = 0;
          }
        }
        if (in->info->reduction)
          base[i] = reduce_row (in->info->op, a[0], s[0], nc);
        else if (full)
          ew_run (in, base + i * vrs[k], a[0], s[0], a[1], s[1], nc);
        else
          ew_run (in, base + i, a[0], 0, a[1], 0, 1);
      }
    }
  }
  g_free (scratch);
}

/**
 * fusion_program_run:
 * @p: an analysed program
 * @inputs: (array): contiguous f32 inputs with the program's input descs
 * @outputs: (array): contiguous f32 outputs, preallocated
 * @error: return location for a #GError
 *
 * Runs the fused group on the CPU (threads from the host pool).
 *
 * Returns: TRUE on success.
 */
gboolean
fusion_program_run (const FusionProgram *p, TlTensor *const *inputs, TlTensor *const *outputs,
                    GError **error)
{
  const float **in = g_newa (const float *, p->n_in + 1);
  float **out = g_newa (float *, p->n_out + 1);
  for (guint i = 0; i < p->n_in; i++) {
    if (!tl_tensor_is_contiguous (inputs[i]) || tl_tensor_dtype (inputs[i]) != TL_DTYPE_F32) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                   "fusion.fused: input %u is not a contiguous f32 tensor", i);
      return FALSE;
    }
    in[i] = tl_tensor_const_data (inputs[i]);
  }
  for (guint i = 0; i < p->n_out; i++)
    out[i] = tl_tensor_data (outputs[i]);
  if (p->rows == 0)
    return TRUE;
  RunData rd = { .p = p, .in = in, .out = out };
  if (p->n_reductions > 0 || p->cols <= TILE_ELEMS) {
    rd.cc = MAX (p->cols, 1);
    rd.nb = MAX (1, TILE_ELEMS / rd.cc);
    rd.tiles_per_row = 1;
  } else {
    rd.cc = TILE_ELEMS;
    rd.nb = 1;
    rd.tiles_per_row = (p->cols + TILE_ELEMS - 1) / TILE_ELEMS;
  }
  gint64 n_tiles = (p->rows + rd.nb - 1) / rd.nb * rd.tiles_per_row;
  gint64 grain = MAX (1, 32768 / (rd.nb * rd.cc));
  tl_parallel_for (n_tiles, grain, run_tiles, &rd);
  return TRUE;
}
