/* codegen-cuda.c — CUDA C for a fused pattern, one kernel per group, with
 * the stitching scheme of the paper picked from the group's shape:
 *
 *   thread composition  no reduction: one thread per element (grid-stride),
 *                       every intermediate in a register;
 *   warp composition    row reductions over <= 1024 columns: one warp per
 *                       row, each lane keeps its columns in registers, a
 *                       reduction is a shuffle butterfly whose result every
 *                       lane holds, so consumers read it from registers;
 *   block composition   longer rows: one block per row, warp shuffles then
 *                       one shared-memory slot per warp, the total broadcast
 *                       to the block through shared memory; above MAX_CPL
 *                       columns per lane the looped variant (append_looped)
 *                       keeps no per-row registers;
 *   kernel packing      unconnected parts of one group share the domain and
 *                       are emitted into the same kernel body.
 *
 * No scheme needs inter-block communication. Shapes are baked into the
 * source (the code is cached by fusion_program_hash(), which covers the
 * input descs). fusion_cuda_ptx() compiles it at run time with NVRTC
 * (loaded with dlopen) when the plugin is built with CUDA. The host SDK has
 * no CUDA launch interface for plugin ops yet, so the PTX is not launched:
 * tests compile every generated kernel with `nvcc -ptx` and NVRTC. */
#include <math.h>
#include <string.h>

#include "fusion-private.h"

#define WARP 32
#define BLOCK 256
/* Columns per lane a reduction group keeps in registers (block composition
 * up to 8192 columns); longer rows use the looped variant. */
#define MAX_CPL 32

/**
 * fusion_expr_template:
 * @op: an opcode
 *
 * Returns: the C/CUDA expression template of an elementwise op (A, B:
 * operands; S, T: affine scale and bias), NULL for reductions.
 */
const char *
fusion_expr_template (FusionOpcode op)
{
  switch (op) {
  case FOP_NEG: return "(-(A))";
  case FOP_EXP: return "expf(A)";
  case FOP_LOG: return "logf(A)";
  case FOP_SQRT: return "sqrtf(A)";
  case FOP_RSQRT: return "rsqrtf(A)";
  case FOP_ABS: return "fabsf(A)";
  case FOP_SQUARE: return "((A) * (A))";
  case FOP_RELU: return "fmaxf(A, 0.0f)";
  case FOP_GELU: return "(0.5f * (A) * (1.0f + erff((A) * 0.70710678118654752f)))";
  case FOP_TANH: return "tanhf(A)";
  case FOP_SIGMOID: return "(1.0f / (1.0f + expf(-(A))))";
  case FOP_SIGN: return "(float) (((A) > 0.0f) - ((A) < 0.0f))";
  case FOP_AFFINE: return "((A) * S + T)";
  case FOP_COPY: return "(A)";
  case FOP_ADD: return "((A) + (B))";
  case FOP_SUB: return "((A) - (B))";
  case FOP_MUL: return "((A) * (B))";
  case FOP_DIV: return "((A) / (B))";
  case FOP_MAXIMUM: return "((A) > (B) ? (A) : (B))";
  case FOP_MINIMUM: return "((A) < (B) ? (A) : (B))";
  case FOP_POW: return "powf(A, B)";
  case FOP_RELU_GRAD: return "((B) > 0.0f ? (A) : 0.0f)";
  case FOP_GELU_GRAD:
    return "((A) * (0.5f * (1.0f + erff((B) * 0.70710678118654752f)) + (B) * 0.39894228040143268f * expf(-0.5f * (B) * (B))))";
  case FOP_TANH_GRAD: return "((A) * (1.0f - (B) * (B)))";
  case FOP_SIGMOID_GRAD: return "((A) * (B) * (1.0f - (B)))";
  default: return NULL;
  }
}

/* A float constant of generated C or CUDA: finite values as before
 * ("%.17g" of the float, exact), non-finite ones through TL_INF / TL_NAN, which both
 * preludes define (printf's "inf" and "nan" are not C or CUDA). */
static void
append_float (GString *s, float v)
{
  if (isnan (v))
    g_string_append (s, "TL_NAN");
  else if (isinf (v))
    g_string_append (s, v > 0 ? "TL_INF" : "(-TL_INF)");
  else
    g_string_append_printf (s, "(float) %.17g", v);
}

/* Substitute A, B, S, T in an expression template. */
void
fusion_append_expr (GString *s, const char *tmpl, const char *a, const char *b, float scale, float bias)
{
  for (const char *p = tmpl; *p; p++) {
    if (*p == 'A')
      g_string_append (s, a);
    else if (*p == 'B')
      g_string_append (s, b ? b : a);
    else if (*p == 'S')
      append_float (s, scale);
    else if (*p == 'T')
      append_float (s, bias);
    else
      g_string_append_c (s, *p);
  }
}

/**
 * fusion_flatten_log:
 * @log: (inout): a compiler or JIT log
 *
 * Turns a multi-line log into one line (error messages are one line):
 * newlines become spaces, trailing blanks are dropped.
 *
 * Returns: @log
 */
char *
fusion_flatten_log (char *log)
{
  g_strdelimit (log, "\r\n", ' ');
  return g_strchomp (log);
}

/**
 * fusion_row_offset_expr:
 * @p: an analysed program
 * @acc: how an external operand is addressed
 *
 * Returns: (transfer full): a C expression of the operand's offset for the
 * row held in the variable `r` (long long), shared by the generators.
 */
char *
fusion_row_offset_expr (const FusionProgram *p, const FusionAccess *acc)
{
  GString *s = g_string_new ("(0LL");
  gint64 div = 1;
  for (gint a = (gint) p->domain.ndim - 2; a >= 0; a--) {
    if (acc->row_stride[a])
      g_string_append_printf (s, " + ((r / %" G_GINT64_FORMAT "LL) %% %" G_GINT64_FORMAT "LL) * %" G_GINT64_FORMAT "LL",
                              div, p->domain.shape[a], acc->row_stride[a]);
    div *= p->domain.shape[a];
  }
  g_string_append_c (s, ')');
  return g_string_free (s, FALSE);
}

/* Operand j of instruction k as an expression; `col` names the column
 * expression and `slot` the per-thread slot of full values ("" for
 * thread composition). */
static char *
operand (const FusionProgram *p, guint k, guint j, const char *col, const char *slot)
{
  const FusionInstr *in = &p->ins[k];
  gint r = in->in[j];
  if (r < 0) {
    const FusionInstr *src = &p->ins[-r - 1];
    gboolean full = src->cls == FCLASS_FULL && !src->info->reduction;
    return full ? g_strdup_printf ("v%d%s", -r - 1, slot) : g_strdup_printf ("v%d", -r - 1);
  }
  g_autofree char *off = fusion_row_offset_expr (p, &in->acc[j]);
  if (in->acc[j].col_stride && (in->cls == FCLASS_FULL || in->info->reduction))
    return g_strdup_printf ("in%d[%s + (%s)]", r, off, col);
  return g_strdup_printf ("in%d[%s]", r, off);
}

static gboolean
is_full (const FusionInstr *in)
{
  return in->cls == FCLASS_FULL && !in->info->reduction;
}

/* The end of reduction k (its lanes' partial results in v<k>): warp
 * butterfly, then in block composition one shared slot per warp and the
 * total broadcast through shared memory; mean; the row output. */
static void
append_reduce_end (GString *s, const FusionProgram *p, guint k, gboolean block)
{
  const FusionInstr *in = &p->ins[k];
  gboolean mx = in->info->op == FOP_MAX;
  g_string_append_printf (s, "  v%u = tl_warp_%s(v%u);\n", k, mx ? "max" : "sum", k);
  if (block) {
    g_string_append_printf (s, "  if (lane %% 32 == 0) tl_red[lane / 32] = v%u;\n  __syncthreads();\n"
                               "  if (lane == 0) { float t = tl_red[0]; for (int w = 1; w < %d; w++) t = %s; tl_red[%d] = t; }\n"
                               "  __syncthreads();\n  v%u = tl_red[%d];\n  __syncthreads();\n",
                            k, BLOCK / WARP, mx ? "fmaxf(t, tl_red[w])" : "t + tl_red[w]", BLOCK / WARP, k,
                            BLOCK / WARP);
  }
  if (in->info->op == FOP_MEAN)
    g_string_append_printf (s, "  v%u = v%u / %" G_GINT64_FORMAT ".0f;\n", k, k, p->cols);
  if (in->out_index >= 0)
    g_string_append_printf (s, "  if (lane == 0) out%d[r] = v%u;\n", in->out_index, k);
}

/* "INDENTconst float vK = EXPR;" for instruction k, its operands at column c. */
static void
append_value (GString *s, const FusionProgram *p, guint k, const char *indent)
{
  const FusionInstr *in = &p->ins[k];
  g_autofree char *a = operand (p, k, 0, "c", "");
  g_autofree char *b = in->n_in > 1 ? operand (p, k, 1, "c", "") : NULL;
  g_string_append_printf (s, "%sconst float v%u = ", indent, k);
  fusion_append_expr (s, fusion_expr_template (in->info->op), a, b, in->scale, in->bias);
  g_string_append (s, ";\n");
}

/* A row value (class ROWK/ROWN, not a reduction): every lane computes it. */
static void
append_row_value (GString *s, const FusionProgram *p, guint k)
{
  const FusionInstr *in = &p->ins[k];
  append_value (s, p, k, "  ");
  if (in->out_index >= 0)
    g_string_append_printf (s, "  if (lane == 0) out%d[r] = v%u;\n", in->out_index, k);
}

/* Reduction groups with at most MAX_CPL columns per lane: each lane keeps
 * its columns of every full value in a register array (fully unrolled),
 * so each value is computed once. */
static void
append_resident (GString *s, const FusionProgram *p, gboolean block, gint64 lanes, gint64 cpl)
{
  gint64 cols = p->cols;
  for (guint k = 0; k < p->n_instr; k++) {
    const FusionInstr *in = &p->ins[k];
    if (in->info->reduction) {
      gboolean mx = in->info->op == FOP_MAX;
      g_autofree char *a = operand (p, k, 0, "c", "[j]");
      g_autofree char *upd = mx ? g_strdup_printf ("fmaxf(v%u, %s)", k, a) : g_strdup_printf ("v%u + %s", k, a);
      g_string_append_printf (s, "  float v%u = %s;\n  #pragma unroll\n"
                                 "  for (int j = 0; j < %" G_GINT64_FORMAT "; j++) {\n"
                                 "    const long long c = lane + j * %" G_GINT64_FORMAT "LL;\n"
                                 "    if (c < %" G_GINT64_FORMAT "LL) v%u = %s;\n  }\n",
                              k, mx ? "__int_as_float(0xff800000)" : "0.0f", cpl, lanes, cols, k, upd);
      append_reduce_end (s, p, k, block);
      continue;
    }
    if (!is_full (in)) {
      append_row_value (s, p, k);
      continue;
    }
    g_autofree char *a = operand (p, k, 0, "c", "[j]");
    g_autofree char *b = in->n_in > 1 ? operand (p, k, 1, "c", "[j]") : NULL;
    g_string_append_printf (s, "  float v%u[%" G_GINT64_FORMAT "];\n  #pragma unroll\n"
                               "  for (int j = 0; j < %" G_GINT64_FORMAT "; j++) {\n"
                               "    const long long c = lane + j * %" G_GINT64_FORMAT "LL;\n"
                               "    if (c >= %" G_GINT64_FORMAT "LL) continue;\n    v%u[j] = ",
                            k, cpl, cpl, lanes, cols, k);
    fusion_append_expr (s, fusion_expr_template (in->info->op), a, b, in->scale, in->bias);
    g_string_append (s, ";\n");
    if (in->out_index >= 0)
      g_string_append_printf (s, "    out%d[r * %" G_GINT64_FORMAT "LL + c] = v%u[j];\n", in->out_index, cols, k);
    g_string_append (s, "  }\n");
  }
}

/* Longer rows (block composition above MAX_CPL columns per lane): no
 * per-row arrays. As in codegen-c.c, level L of a value is the number of
 * reductions on its longest path from the inputs; per level one strided
 * column loop (not unrolled) computes the full values of levels <= L
 * (recomputing the lower levels from the inputs instead of keeping a row
 * buffer; the compiler drops those this loop does not use), writes the
 * outputs of level L and accumulates the reductions of level L + 1, which
 * are then finished for the block. */
static void
append_looped (GString *s, const FusionProgram *p)
{
  guint n = p->n_instr, max_level = 0;
  g_autofree guint *level = g_new0 (guint, n);
  for (guint k = 0; k < n; k++) {
    const FusionInstr *in = &p->ins[k];
    for (guint j = 0; j < in->n_in; j++)
      if (in->in[j] < 0)
        level[k] = MAX (level[k], level[-in->in[j] - 1]);
    if (in->info->reduction)
      level[k]++;
    max_level = MAX (max_level, level[k]);
  }
  for (guint L = 0; L <= max_level; L++) {
    gboolean any = FALSE;
    for (guint k = 0; k < n; k++) {
      const FusionInstr *in = &p->ins[k];
      if (level[k] == L && !in->info->reduction && !is_full (in))
        append_row_value (s, p, k);
      if (level[k] == L + 1 && in->info->reduction)
        g_string_append_printf (s, "  float v%u = %s;\n", k,
                                in->info->op == FOP_MAX ? "__int_as_float(0xff800000)" : "0.0f");
      any |= (level[k] == L && is_full (in)) || (level[k] == L + 1 && in->info->reduction);
    }
    if (!any)
      continue;
    g_string_append_printf (s, "  for (long long c = lane; c < %" G_GINT64_FORMAT "LL; c += %d) {\n", p->cols, BLOCK);
    for (guint k = 0; k < n; k++) {
      const FusionInstr *in = &p->ins[k];
      if (is_full (in) && level[k] <= L) {
        append_value (s, p, k, "    ");
        if (in->out_index >= 0 && level[k] == L)
          g_string_append_printf (s, "    out%d[r * %" G_GINT64_FORMAT "LL + c] = v%u;\n", in->out_index, p->cols, k);
      } else if (in->info->reduction && level[k] == L + 1) {
        g_autofree char *a = operand (p, k, 0, "c", "");
        if (in->info->op == FOP_MAX)
          g_string_append_printf (s, "    v%u = fmaxf(v%u, %s);\n", k, k, a);
        else
          g_string_append_printf (s, "    v%u += %s;\n", k, a);
      }
    }
    g_string_append (s, "  }\n");
    for (guint k = 0; k < n; k++)
      if (level[k] == L + 1 && p->ins[k].info->reduction)
        append_reduce_end (s, p, k, TRUE);
  }
}

/**
 * fusion_codegen_cuda:
 * @p: an analysed program
 * @kernel_name: the extern "C" __global__ function's name
 *
 * The kernel takes the inputs (const float *in0...), then the outputs
 * (float *out0...), in the program's order; launch configuration: see the
 * comment at the top of the generated source.
 *
 * Returns: (transfer full) (nullable): CUDA C source, or NULL when the
 * pattern cannot be generated (the caller then runs it unfused).
 */
char *
fusion_codegen_cuda (const FusionProgram *p, const char *kernel_name)
{
  for (guint k = 0; k < p->n_instr; k++)
    if (!p->ins[k].info->reduction && !fusion_expr_template (p->ins[k].info->op))
      return NULL;
  gint64 rows = p->rows, cols = p->cols;
  gboolean red = p->n_reductions > 0;
  gboolean block = red && cols > 1024;
  gint64 lanes = block ? BLOCK : WARP;
  gint64 cpl = red ? MAX ((cols + lanes - 1) / lanes, 1) : 1; /* columns per lane */
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "/* generated by the tl fusion plugin: %u ops, domain %" G_GINT64_FORMAT " x %" G_GINT64_FORMAT
                          ", scheme %s */\n", p->n_instr, rows, cols,
                          !red ? "thread composition" : cpl > MAX_CPL ? "block composition, looped"
                          : block ? "block composition" : "warp composition");
  if (!red)
    g_string_append (s, "/* launch: any grid x 256 threads (grid-stride) */\n");
  else if (block)
    g_string_append_printf (s, "/* launch: %" G_GINT64_FORMAT " blocks (one per row) x %d threads */\n", rows, BLOCK);
  else
    g_string_append_printf (s, "/* launch: ceil(%" G_GINT64_FORMAT " / 8) blocks x 256 threads (one warp per row) */\n", rows);
  g_string_append (s, "#ifndef TL_FUSED_HELPERS\n#define TL_FUSED_HELPERS\n"
                      "__device__ __forceinline__ float tl_warp_sum(float v) {\n"
                      "  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);\n  return v;\n}\n"
                      "__device__ __forceinline__ float tl_warp_max(float v) {\n"
                      "  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));\n  return v;\n}\n"
                      "#define TL_INF __int_as_float(0x7f800000)\n#define TL_NAN __int_as_float(0x7fffffff)\n"
                      "#endif\n");
  g_string_append_printf (s, "extern \"C\" __global__ void %s(", kernel_name);
  for (guint i = 0; i < p->n_in; i++)
    g_string_append_printf (s, "%sconst float *__restrict__ in%u", i ? ", " : "", i);
  for (guint o = 0; o < p->n_out; o++)
    g_string_append_printf (s, "%sfloat *__restrict__ out%u", p->n_in + o ? ", " : "", o);
  g_string_append (s, ") {\n");
  if (!red) {
    g_string_append_printf (s, "  const long long n = %" G_GINT64_FORMAT "LL;\n"
                               "  for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n;"
                               " i += (long long) gridDim.x * blockDim.x) {\n"
                               "    const long long r = i / %" G_GINT64_FORMAT "LL, c = i %% %" G_GINT64_FORMAT "LL;\n",
                            rows * cols, cols, cols);
    for (guint k = 0; k < p->n_instr; k++) {
      const FusionInstr *in = &p->ins[k];
      append_value (s, p, k, "    ");
      if (in->out_index >= 0) {
        if (is_full (in))
          g_string_append_printf (s, "    out%d[i] = v%u;\n", in->out_index, k);
        else
          g_string_append_printf (s, "    if (c == 0) out%d[r] = v%u;\n", in->out_index, k);
      }
    }
    g_string_append (s, "  }\n}\n");
    return g_string_free (s, FALSE);
  }
  if (block)
    g_string_append_printf (s, "  __shared__ float tl_red[%d];\n  const long long r = blockIdx.x;\n"
                               "  const int lane = threadIdx.x;\n", BLOCK / WARP + 1);
  else
    g_string_append (s, "  const long long r = (blockIdx.x * (long long) blockDim.x + threadIdx.x) / 32;\n"
                        "  const int lane = threadIdx.x % 32;\n");
  g_string_append_printf (s, "  if (r >= %" G_GINT64_FORMAT "LL) return;\n", rows);
  if (cpl > MAX_CPL)
    append_looped (s, p);
  else
    append_resident (s, p, block, lanes, cpl);
  g_string_append (s, "}\n");
  return g_string_free (s, FALSE);
}

/**
 * fusion_cuda_launch_dims:
 * @p: an analysed program
 * @max_blocks: cap on the grid of grid-stride (elementwise) kernels, > 0
 * @grid: (out): blocks
 * @block: (out): threads per block
 *
 * The launch configuration the kernel of fusion_codegen_cuda() expects
 * (the same rule as the comment at the top of its source); the grid is at
 * least 1 block (an empty group is not launched: fusion_cuda_has_work()).
 */
void
fusion_cuda_launch_dims (const FusionProgram *p, guint max_blocks, guint *grid, guint *block)
{
  gint64 rows = MAX (p->rows, 0), cols = MAX (p->cols, 0);
  gboolean red = p->n_reductions > 0;
  *block = red && cols > 1024 ? BLOCK : 256;
  if (!red)
    *grid = (guint) CLAMP ((rows * cols + 255) / 256, 1, (gint64) MAX (max_blocks, 1));
  else if (cols > 1024)
    *grid = (guint) CLAMP (rows, 1, G_MAXINT32);
  else
    *grid = (guint) CLAMP ((rows + 7) / 8, 1, G_MAXINT32);
}

/**
 * fusion_cuda_has_work:
 * @p: an analysed program
 *
 * Whether the group's kernel has anything to do: FALSE for an empty domain
 * (0 rows, or an elementwise group of 0 elements), where the CPU paths
 * return at once and the CUDA path launches nothing (a grid of 0 blocks is
 * CUDA_ERROR_INVALID_VALUE).
 *
 * Returns: TRUE when a launch is needed
 */
gboolean
fusion_cuda_has_work (const FusionProgram *p)
{
  if (p->rows <= 0)
    return FALSE;
  return p->n_reductions > 0 || p->cols > 0;
}

/* --- run-time compilation with NVRTC ------------------------------------------ */

#ifdef FUSION_CUDA
#include <dlfcn.h>

/* The few NVRTC entry points used, resolved with dlopen so the plugin loads
 * (and falls back to the CPU path) on hosts without the CUDA toolkit. */
typedef int (*NvrtcCreate) (void **prog, const char *src, const char *name, int n_headers,
                            const char *const *headers, const char *const *include_names);
typedef int (*NvrtcCompile) (void *prog, int n_opts, const char *const *opts);
typedef int (*NvrtcSize) (void *prog, size_t *size);
typedef int (*NvrtcGet) (void *prog, char *out);
typedef int (*NvrtcDestroy) (void **prog);
typedef int (*NvrtcVersion) (int *major, int *minor);

static struct {
  gsize init;
  NvrtcCreate create;
  NvrtcCompile compile;
  NvrtcSize ptx_size, log_size;
  NvrtcGet ptx, log;
  NvrtcDestroy destroy;
} nvrtc;

static GMutex ptx_lock;
static GHashTable *ptx_cache; /* guint64 hash -> PTX */

/* The CUDA driver's version (e.g. 12040), 0 when no driver is installed
 * (compile-only hosts). cuDriverGetVersion needs no cuInit. */
static int
driver_version (void)
{
  void *h = dlopen ("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!h)
    return 0;
  int (*get) (int *) = (int (*) (int *)) dlsym (h, "cuDriverGetVersion");
  int v = 0;
  if (!get || get (&v) != 0)
    v = 0;
  dlclose (h);
  return v;
}

/* Whether NVRTC's PTX can be loaded by a driver of version `drv`: the driver
 * JIT-compiles PTX only up to the ISA version of its own CUDA release
 * (NVRTC 13 emits PTX 9.0, which needs a CUDA 13 driver), so NVRTC must
 * not be newer than the driver. 0: unknown driver, anything goes. */
static gboolean
nvrtc_fits (int drv, int major, int minor)
{
  return drv <= 0 || major * 1000 + minor * 10 <= drv;
}

static gboolean
nvrtc_load (void)
{
  if (g_once_init_enter (&nvrtc.init)) {
    /* newest first; the unversioned name (the toolkit's dev symlink) last */
    static const char *const names[] = { "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2",
                                         "libnvrtc.so", NULL };
    int drv = driver_version ();
    void *h = NULL, *fallback = NULL;
    for (guint i = 0; names[i] && !h; i++) {
      void *c = dlopen (names[i], RTLD_NOW | RTLD_LOCAL);
      if (!c)
        continue;
      NvrtcVersion version = (NvrtcVersion) dlsym (c, "nvrtcVersion");
      int major = 0, minor = 0;
      if (version && version (&major, &minor) == 0 && nvrtc_fits (drv, major, minor)) {
        h = c;
      } else {
        g_debug ("fusion: %s (NVRTC %d.%d) is newer than the CUDA driver (%d)", names[i], major, minor, drv);
        if (!fallback)
          fallback = c;
        else
          dlclose (c);
      }
    }
    /* none fits: the newest one found (cuModuleLoadData then reports why) */
    if (!h)
      h = fallback;
    else if (fallback)
      dlclose (fallback);
    if (h) {
      nvrtc.create = (NvrtcCreate) dlsym (h, "nvrtcCreateProgram");
      nvrtc.compile = (NvrtcCompile) dlsym (h, "nvrtcCompileProgram");
      nvrtc.ptx_size = (NvrtcSize) dlsym (h, "nvrtcGetPTXSize");
      nvrtc.ptx = (NvrtcGet) dlsym (h, "nvrtcGetPTX");
      nvrtc.log_size = (NvrtcSize) dlsym (h, "nvrtcGetProgramLogSize");
      nvrtc.log = (NvrtcGet) dlsym (h, "nvrtcGetProgramLog");
      nvrtc.destroy = (NvrtcDestroy) dlsym (h, "nvrtcDestroyProgram");
    }
    g_once_init_leave (&nvrtc.init, 1);
  }
  return nvrtc.create && nvrtc.compile && nvrtc.ptx_size && nvrtc.ptx && nvrtc.log_size && nvrtc.log &&
         nvrtc.destroy;
}
#endif

/**
 * fusion_cuda_ptx:
 * @p: an analysed program
 * @error: return location for a #GError
 *
 * Generates the group's kernel ("tl_fused") and compiles it to PTX with
 * NVRTC (no GPU needed to compile). Cached by fusion_program_hash().
 *
 * Returns: (transfer none) (nullable): the PTX, valid for the process;
 * NULL with TL_ERROR_UNSUPPORTED when NVRTC or the generator is not
 * available (callers fall back to the CPU interpreter or unfused ops).
 */
const char *
fusion_cuda_ptx (const FusionProgram *p, GError **error)
{
#ifdef FUSION_CUDA
  guint64 h = fusion_program_hash (p);
  g_mutex_lock (&ptx_lock);
  if (!ptx_cache)
    ptx_cache = g_hash_table_new (g_int64_hash, g_int64_equal);
  const char *hit = g_hash_table_lookup (ptx_cache, &h);
  g_mutex_unlock (&ptx_lock);
  if (hit)
    return hit;
  if (!nvrtc_load ()) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "fusion: NVRTC is not available");
    return NULL;
  }
  g_autofree char *src = fusion_codegen_cuda (p, "tl_fused");
  if (!src) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "fusion: no CUDA code for this pattern");
    return NULL;
  }
  void *prog = NULL;
  if (nvrtc.create (&prog, src, "tl_fused.cu", 0, NULL, NULL) != 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_DEVICE, "fusion: nvrtcCreateProgram failed");
    return NULL;
  }
  static const char *const opts[] = { "--std=c++17", "-default-device" };
  int rc = nvrtc.compile (prog, G_N_ELEMENTS (opts), opts);
  size_t n = 0;
  char *ptx = NULL;
  if (rc != 0) {
    nvrtc.log_size (prog, &n);
    g_autofree char *log = g_malloc0 (n + 1);
    nvrtc.log (prog, log);
    fusion_flatten_log (log);
    g_set_error (error, TL_ERROR, TL_ERROR_DEVICE, "fusion: NVRTC: %s", log);
  } else {
    nvrtc.ptx_size (prog, &n);
    ptx = g_malloc0 (n + 1);
    nvrtc.ptx (prog, ptx);
  }
  nvrtc.destroy (&prog);
  if (!ptx)
    return NULL;
  g_mutex_lock (&ptx_lock);
  const char *old = g_hash_table_lookup (ptx_cache, &h);
  if (old) {
    g_free (ptx);
    ptx = (char *) old;
  } else {
    guint64 *k = g_new (guint64, 1);
    *k = h;
    g_hash_table_insert (ptx_cache, k, ptx);
  }
  g_mutex_unlock (&ptx_lock);
  return ptx;
#else
  (void) p;
  g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "fusion: built without CUDA");
  return NULL;
#endif
}
