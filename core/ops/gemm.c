/* gemm.c — the one sgemm entry of the op kernels (matmul, linear, conv).
 *
 * Row-major C = op(A) op(B) + beta C through cblas_sgemm. When OpenBLAS
 * runs single-threaded (one thread pool in the process: tl's), large
 * products are split over tl_parallel_for in blocks of rows (or columns)
 * of C, each block one sgemm call; inside a parallel region (e.g. conv's
 * loop over the batch) tl_parallel_for runs the call inline. */
#include "config.h"

#include <string.h>
#include <cblas.h>

#include "ops-nn.h"

typedef struct {
  gboolean ta, tb, by_rows;
  gint64 m, n, k, lda, ldb, ldc;
  const float *a, *b;
  float beta;
  float *c;
} GemmJob;

static void
sgemm_direct (gboolean ta, gboolean tb, gint64 m, gint64 n, gint64 k, const float *a, gint64 lda,
              const float *b, gint64 ldb, float beta, float *c, gint64 ldc)
{
  cblas_sgemm (CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
               (blasint) m, (blasint) n, (blasint) k, 1.0f, a, (blasint) MAX (lda, 1), b,
               (blasint) MAX (ldb, 1), beta, c, (blasint) MAX (ldc, 1));
}

static void
gemm_block (gint64 begin, gint64 end, gpointer data)
{
  const GemmJob *j = data;
  if (j->by_rows)
    sgemm_direct (j->ta, j->tb, end - begin, j->n, j->k, j->a + (j->ta ? begin : begin * j->lda), j->lda,
                  j->b, j->ldb, j->beta, j->c + begin * j->ldc, j->ldc);
  else
    sgemm_direct (j->ta, j->tb, j->m, end - begin, j->k, j->a, j->lda,
                  j->b + (j->tb ? begin * j->ldb : begin), j->ldb, j->beta, j->c + begin, j->ldc);
}

gboolean
_tl_priv_nn_gemm_split_ok (void)
{
  return tl_get_num_threads () > 1 && openblas_get_num_threads () == 1;
}

void
_tl_priv_nn_sgemm (gboolean ta, gboolean tb, gint64 m, gint64 n, gint64 k, const float *a, gint64 lda,
                   const float *b, gint64 ldb, float beta, float *c, gint64 ldc)
{
  if (m == 0 || n == 0)
    return;
  if (k == 0) {
    for (gint64 i = 0; i < m; i++)
      if (beta == 0.0f)
        memset (c + i * ldc, 0, n * sizeof (float));
      else
        for (gint64 j = 0; j < n; j++)
          c[i * ldc + j] *= beta;
    return;
  }
  guint nt = tl_get_num_threads ();
  if ((double) m * n * k >= TL_GEMM_SPLIT_MIN && _tl_priv_nn_gemm_split_ok ()) {
    GemmJob j = { ta, tb, m >= n, m, n, k, lda, ldb, ldc, a, b, beta, c };
    gint64 len = j.by_rows ? m : n;
    /* blocks of at least 16 rows/columns, a multiple of 16 */
    gint64 grain = MAX (16, ((len + nt - 1) / nt + 15) / 16 * 16);
    tl_parallel_for (len, grain, gemm_block, &j);
    return;
  }
  sgemm_direct (ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
}
