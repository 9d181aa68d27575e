/* codegen-c.c — the compiled CPU path (planner parameter cpu=cc): C source
 * per fused pattern, compiled at run time by the system compiler into a
 * shared object, cached on disk and in memory by fusion_program_hash().
 *
 * The kernel walks rows; per row it runs one loop per reduction level:
 * loop L computes the full values of level L in registers, accumulates the
 * reductions of those values (omp simd reductions) and stores into a row
 * buffer only the values a later loop reads again. Shapes are constants, so
 * the compiler vectorises and unrolls freely (-O2 -march=native). When no
 * compiler is found or compilation fails the caller falls back to the
 * interpreter. */
#include <dlfcn.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "fusion-private.h"

/* Bump when the generated C changes (the on-disk kernel cache is keyed on
 * it). 2: non-finite constants, order-independent domains (2026-11-27).
 * 3: the math is tl-math.h's own text (fusion-math-prelude.h) instead of a
 * copy, and kernels are compiled with -ffp-contract=off. */
#define FUSION_C_CODEGEN_VERSION 3

/* The generated C needs no tl headers at run time: the prelude carries
 * tl-math.h as text (fusion_math_prelude, generated at build time from the
 * SDK header by gen-math-prelude.sh, without its tl-macros.h include; the
 * TL_BEGIN_DECLS/TL_END_DECLS it uses are defined empty here), then maps the
 * libm names of the expression templates onto it. The kernels thus compute
 * exactly what the interpreter computes (interp.c includes tl-math.h). */
#include "fusion-math-prelude.h"

static const char prelude_head[] =
  "#include <math.h>\n#include <stdint.h>\n#include <stdlib.h>\n#include <string.h>\n"
  "#define TL_BEGIN_DECLS\n#define TL_END_DECLS\n";

static const char prelude_tail[] =
  "#define expf(x) tl_expf_approx(x)\n#define erff(x) tl_erff_approx(x)\n#define tanhf(x) tl_tanhf_approx(x)\n"
  "#define rsqrtf(x) (1.0f / sqrtf(x))\n#define TL_INF INFINITY\n#define TL_NAN NAN\n";

static gboolean
is_full (const FusionInstr *in)
{
  return in->cls == FCLASS_FULL && !in->info->reduction;
}

/* Operand j of instruction k inside (col != NULL) or outside a column loop. */
static char *
operand (const FusionProgram *p, guint k, guint j, const guint *level, const gboolean *stored)
{
  const FusionInstr *in = &p->ins[k];
  gint r = in->in[j];
  if (r < 0) {
    guint src = (guint) (-r - 1);
    if (is_full (&p->ins[src]) && stored[src] && level[src] != level[k])
      return g_strdup_printf ("b%u[c]", src);
    return g_strdup_printf ("v%u", src);
  }
  if (in->acc[j].col_stride && (is_full (in) || in->info->reduction))
    return g_strdup_printf ("i%d[o%u_%u + c]", r, k, j);
  return g_strdup_printf ("i%d[o%u_%u]", r, k, j);
}

/**
 * fusion_codegen_c:
 * @p: an analysed program
 *
 * Returns: (transfer full): C source defining
 * `void tl_fused(const float *const *in, float *const *out, long long r0, long long r1)`
 * which computes rows [r0, r1) of the group.
 */
char *
fusion_codegen_c (const FusionProgram *p)
{
  guint n = p->n_instr;
  g_autofree guint *level = g_new0 (guint, n);
  g_autofree gboolean *stored = g_new0 (gboolean, n);
  guint max_level = 0;
  for (guint k = 0; k < n; k++) {
    const FusionInstr *in = &p->ins[k];
    guint l = 0;
    for (guint j = 0; j < in->n_in; j++)
      if (in->in[j] < 0)
        l = MAX (l, level[-in->in[j] - 1]);
    level[k] = in->info->reduction ? l + 1 : l;
    max_level = MAX (max_level, level[k]);
    if (!fusion_expr_template (in->info->op) && !in->info->reduction)
      return NULL;
  }
  /* full values read by a later loop are stored in a row buffer */
  for (guint k = 0; k < n; k++)
    for (guint j = 0; j < p->ins[k].n_in; j++) {
      gint r = p->ins[k].in[j];
      if (r < 0 && is_full (&p->ins[-r - 1])) {
        guint lk = p->ins[k].info->reduction ? level[k] - 1 : level[k];
        if (lk != level[-r - 1])
          stored[-r - 1] = TRUE;
      }
    }
  gint64 cols = p->cols;
  GString *s = g_string_new (prelude_head);
  g_string_append (s, fusion_math_prelude);
  g_string_append (s, prelude_tail);
  g_string_append_printf (s, "/* %u ops, domain %" G_GINT64_FORMAT " x %" G_GINT64_FORMAT ", %u loops per row */\n",
                          n, p->rows, cols, max_level + 1);
  g_string_append (s, "void tl_fused(const float *const *in, float *const *out, long long r0, long long r1) {\n");
  for (guint i = 0; i < p->n_in; i++)
    g_string_append_printf (s, "  const float *restrict i%u = in[%u];\n", i, i);
  for (guint o = 0; o < p->n_out; o++)
    g_string_append_printf (s, "  float *restrict out%u = out[%u];\n", o, o);
  guint n_stored = 0;
  for (guint k = 0; k < n; k++)
    n_stored += stored[k];
  if (n_stored)
    g_string_append_printf (s, "  float *buf = malloc(sizeof (float) * %" G_GINT64_FORMAT ");\n  if (!buf) abort();\n",
                            (gint64) n_stored * MAX (cols, 1));
  guint slot = 0;
  for (guint k = 0; k < n; k++)
    if (stored[k])
      g_string_append_printf (s, "  float *restrict b%u = buf + %" G_GINT64_FORMAT ";\n", k, (gint64) slot++ * cols);
  g_string_append (s, "  for (long long r = r0; r < r1; r++) {\n");
  for (guint k = 0; k < n; k++)
    for (guint j = 0; j < p->ins[k].n_in; j++)
      if (p->ins[k].in[j] >= 0) {
        g_autofree char *off = fusion_row_offset_expr (p, &p->ins[k].acc[j]);
        g_string_append_printf (s, "    const long long o%u_%u = %s;\n", k, j, off);
      }
  for (guint L = 0; L <= max_level; L++) {
    /* row values of this level (reductions of level L were finished before) */
    for (guint k = 0; k < n; k++) {
      const FusionInstr *in = &p->ins[k];
      if (level[k] != L || in->info->reduction || is_full (in))
        continue;
      g_autofree char *a = operand (p, k, 0, level, stored);
      g_autofree char *b = in->n_in > 1 ? operand (p, k, 1, level, stored) : NULL;
      g_string_append_printf (s, "    const float v%u = ", k);
      fusion_append_expr (s, fusion_expr_template (in->info->op), a, b, in->scale, in->bias);
      g_string_append (s, ";\n");
      if (in->out_index >= 0)
        g_string_append_printf (s, "    out%d[r] = v%u;\n", in->out_index, k);
    }
    /* reductions fed by this loop */
    GString *clauses = g_string_new (NULL);
    gboolean any = FALSE;
    for (guint k = 0; k < n; k++) {
      const FusionInstr *in = &p->ins[k];
      if (level[k] == L && is_full (in))
        any = TRUE;
      if (!in->info->reduction || level[k] != L + 1)
        continue;
      any = TRUE;
      gboolean mx = in->info->op == FOP_MAX;
      g_string_append_printf (s, "    float a%u = %s;\n", k, mx ? "-INFINITY" : "0.0f");
      g_string_append_printf (clauses, " reduction(%s:a%u)", mx ? "max" : "+", k);
    }
    if (any) {
      g_string_append_printf (s, "    #pragma omp simd%s\n    for (long long c = 0; c < %" G_GINT64_FORMAT "LL; c++) {\n",
                              clauses->str, cols);
      for (guint k = 0; k < n; k++) {
        const FusionInstr *in = &p->ins[k];
        if (level[k] == L && is_full (in)) {
          g_autofree char *a = operand (p, k, 0, level, stored);
          g_autofree char *b = in->n_in > 1 ? operand (p, k, 1, level, stored) : NULL;
          g_string_append_printf (s, "      const float v%u = ", k);
          fusion_append_expr (s, fusion_expr_template (in->info->op), a, b, in->scale, in->bias);
          g_string_append (s, ";\n");
          if (stored[k])
            g_string_append_printf (s, "      b%u[c] = v%u;\n", k, k);
          if (in->out_index >= 0)
            g_string_append_printf (s, "      out%d[r * %" G_GINT64_FORMAT "LL + c] = v%u;\n", in->out_index, cols, k);
        } else if (in->info->reduction && level[k] == L + 1) {
          g_autofree char *a = operand (p, k, 0, level, stored);
          if (in->info->op == FOP_MAX)
            g_string_append_printf (s, "      a%u = %s > a%u ? %s : a%u;\n", k, a, k, a, k);
          else
            g_string_append_printf (s, "      a%u += %s;\n", k, a);
        }
      }
      g_string_append (s, "    }\n");
    }
    g_string_free (clauses, TRUE);
    for (guint k = 0; k < n; k++) {
      const FusionInstr *in = &p->ins[k];
      if (!in->info->reduction || level[k] != L + 1)
        continue;
      if (in->info->op == FOP_MEAN)
        g_string_append_printf (s, "    const float v%u = a%u / %" G_GINT64_FORMAT ".0f;\n", k, k, cols);
      else
        g_string_append_printf (s, "    const float v%u = a%u;\n", k, k);
      if (in->out_index >= 0)
        g_string_append_printf (s, "    out%d[r] = v%u;\n", in->out_index, k);
    }
  }
  g_string_append (s, "  }\n");
  if (n_stored)
    g_string_append (s, "  free(buf);\n");
  g_string_append (s, "}\n");
  return g_string_free (s, FALSE);
}

static GMutex c_lock;
static GHashTable *c_cache; /* hash -> FusionCFunc (NULL: failed, do not retry) */

/* The cache holds -march=native code: its file names carry the CPU model,
 * so a cache directory shared between machines never serves foreign code. */
static guint
cpu_tag (void)
{
  g_autofree char *info = NULL;
  guint tag = 0;
  if (g_file_get_contents ("/proc/cpuinfo", &info, NULL, NULL)) {
    char *m = strstr (info, "model name");
    char *e = m ? strchr (m, '\n') : NULL;
    if (e)
      *e = 0;
    tag = g_str_hash (m ? m : "");
  }
  return tag;
}

static char *
find_compiler (void)
{
  const char *env = g_getenv ("TL_FUSION_CC");
  if (env)
    return *env ? g_find_program_in_path (env) : NULL;
  char *cc = g_find_program_in_path ("cc");
  return cc ? cc : g_find_program_in_path ("gcc");
}

/**
 * fusion_c_compile:
 * @p: an analysed program
 * @error: return location for a #GError
 *
 * Generates, compiles (once per pattern and shape: cached under
 * $XDG_CACHE_HOME/tl-1/fusion/ and in memory) and loads the group's C
 * kernel. The compiler is $TL_FUSION_CC, else cc; an empty TL_FUSION_CC
 * disables the path.
 *
 * Returns: (nullable): the kernel, or NULL (TL_ERROR_UNSUPPORTED) when it
 * cannot be built; callers fall back to the interpreter.
 */
FusionCFunc
fusion_c_compile (const FusionProgram *p, GError **error)
{
  guint64 h = fusion_program_hash (p);
  g_mutex_lock (&c_lock);
  if (!c_cache)
    c_cache = g_hash_table_new (g_int64_hash, g_int64_equal);
  gpointer found = NULL;
  gboolean known = g_hash_table_lookup_extended (c_cache, &h, NULL, &found);
  FusionCFunc fn = NULL;
  if (!known) {
    g_autofree char *dir = g_build_filename (g_get_user_cache_dir (), "tl-1", "fusion", NULL);
    g_autofree char *src = fusion_codegen_c (p);
    /* the name carries the generator's version and a digest of the
     * generated source: a kernel compiled from other source (an older
     * generator, another tl-math.h) is never reused */
    g_autofree char *digest = src ? g_compute_checksum_for_string (G_CHECKSUM_SHA256, src, -1) : NULL;
    g_autofree char *base = g_strdup_printf ("%016" G_GINT64_MODIFIER "x-%08x-c%d-%.16s", h, cpu_tag (),
                                             FUSION_C_CODEGEN_VERSION, digest ? digest : "none");
    g_autofree char *so = g_strdup_printf ("%s/%s.so", dir, base);
    if (src && !g_file_test (so, G_FILE_TEST_EXISTS)) {
      g_autofree char *cc = find_compiler ();
      g_autofree char *c_path = g_strdup_printf ("%s/%s.%d.c", dir, base, (int) getpid ());
      g_autofree char *tmp_so = g_strdup_printf ("%s/%s.%d.so", dir, base, (int) getpid ());
      gint status = -1;
      g_autofree char *err = NULL;
      if (cc && src && g_mkdir_with_parents (dir, 0755) == 0 && g_file_set_contents (c_path, src, -1, NULL)) {
        /* -ffp-contract=off: as the interpreter (plugins/fusion/local.mk),
         * so -march=native's FMA does not change the polynomials' bits */
        const char *argv[] = { cc, "-O2", "-march=native", "-fopenmp-simd", "-fno-trapping-math", "-ffp-contract=off",
                               "-shared", "-fPIC", "-o", tmp_so, c_path, "-lm", NULL };
        if (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err,
                          &status, NULL) && status == 0)
          g_rename (tmp_so, so); /* atomic publish */
        else
          g_debug ("fusion: %s failed: %s", cc, err ? err : "?");
        g_unlink (c_path);
        g_unlink (tmp_so);
      }
    }
    void *handle = src && g_file_test (so, G_FILE_TEST_EXISTS) ? dlopen (so, RTLD_NOW | RTLD_LOCAL) : NULL;
    fn = handle ? (FusionCFunc) dlsym (handle, "tl_fused") : NULL;
    guint64 *k = g_new (guint64, 1);
    *k = h;
    g_hash_table_insert (c_cache, k, (gpointer) fn);
  } else {
    fn = (FusionCFunc) found;
  }
  g_mutex_unlock (&c_lock);
  if (!fn)
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "fusion: no compiled CPU kernel for this pattern");
  return fn;
}
