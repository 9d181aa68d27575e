/* cases-nn.c — parity cases for the neural-network op set (see parity.h).
 * The torch side of each case is in torch_cases_nn.py, keyed by case name.
 *
 * spmm and its gradient ops take a random CSR structure (CSR_PTR/CSR_IDX,
 * with empty rows and repeated columns). dropout is identity at p = 0 and in
 * inference; for p > 0 the torch side recomputes y and dx with the dumped
 * mask and checks the kept fraction. */
#include "config.h"

#include "parity.h"

#define F TL_PARITY_F32
#define I64(lo, hi, nd, ...) TL_PARITY_INTS (TL_DTYPE_I64, lo, hi, nd, __VA_ARGS__)
#define I32(lo, hi, nd, ...) TL_PARITY_INTS (TL_DTYPE_I32, lo, hi, nd, __VA_ARGS__)
#define PTR64(rows, nnz) TL_PARITY_CSR_PTR (TL_DTYPE_I64, rows, nnz)
#define IDX64(cols, nnz) TL_PARITY_CSR_IDX (TL_DTYPE_I64, cols, nnz)
#define PTR32(rows, nnz) TL_PARITY_CSR_PTR (TL_DTYPE_I32, rows, nnz)
#define IDX32(cols, nnz) TL_PARITY_CSR_IDX (TL_DTYPE_I32, cols, nnz)
#define DROPOUT(nm, p, train, ...) \
  { .name = nm, .op = "dropout", .n_inputs = 1, .inputs = { F (__VA_ARGS__) }, .attrs = "p=" p, \
    .tol = 1e-5, .training = train }

static const TlParityCase cases[] = {
  /* matmul */
  { "matmul", "matmul", 2, { F (2, 5, 7), F (2, 7, 3) }, NULL, 1e-4 },
  { "matmul_ta", "matmul", 2, { F (2, 7, 5), F (2, 7, 3) }, "trans_a=1", 1e-4 },
  { "matmul_tb", "matmul", 2, { F (2, 5, 7), F (2, 3, 7) }, "trans_b=1", 1e-4 },
  { "matmul_tab", "matmul", 2, { F (2, 7, 5), F (2, 3, 7) }, "trans_a=1;trans_b=1", 1e-4 },
  { "matmul_batch", "matmul", 2, { F (3, 4, 5, 6), F (3, 4, 6, 3) }, NULL, 1e-4 },
  { "matmul_bcast", "matmul", 2, { F (4, 2, 1, 5, 6), F (3, 3, 6, 4) }, "trans_a=0;trans_b=0", 1e-4 },
  { "matmul_shared_b", "matmul", 2, { F (3, 4, 5, 6), F (2, 6, 3) }, NULL, 1e-4 },
  { "matmul_big", "matmul", 2, { F (2, 64, 96), F (2, 96, 80) }, NULL, 1e-4 },
  /* linear */
  { "linear", "linear", 3, { F (2, 6, 5), F (2, 4, 5), F (1, 4) }, NULL, 1e-4 },
  { "linear_nobias", "linear", 2, { F (2, 6, 5), F (2, 4, 5) }, NULL, 1e-4 },
  { "linear_3d", "linear", 3, { F (3, 2, 3, 5), F (2, 4, 5), F (1, 4) }, NULL, 1e-4 },
  /* conv */
  { "conv2d", "conv2d", 3, { F (4, 2, 3, 7, 6), F (4, 4, 3, 3, 3), F (1, 4) }, NULL, 1e-4 },
  { "conv2d_s2p1", "conv2d", 3, { F (4, 2, 3, 7, 8), F (4, 5, 3, 3, 3), F (1, 5) }, "stride=2;padding=1",
    1e-4 },
  { "conv2d_dil_groups", "conv2d", 2, { F (4, 2, 4, 9, 9), F (4, 6, 2, 3, 3) },
    "stride=1;padding=2;dilation=2;groups=2", 1e-4 },
  { "conv2d_depthwise", "conv2d", 3, { F (4, 1, 4, 6, 6), F (4, 4, 1, 3, 3), F (1, 4) }, "padding=1;groups=4",
    1e-4 },
  { "conv2d_1x1", "conv2d", 3, { F (4, 2, 5, 4, 4), F (4, 3, 5, 1, 1), F (1, 3) }, NULL, 1e-4 },
  { "conv1d", "conv1d", 3, { F (3, 2, 3, 11), F (3, 4, 3, 3), F (1, 4) }, NULL, 1e-4 },
  { "conv1d_s2p2d2g", "conv1d", 2, { F (3, 2, 4, 13), F (3, 6, 2, 3) }, "stride=2;padding=2;dilation=2;groups=2",
    1e-4 },
  /* pooling */
  { "max_pool2d", "max_pool2d", 1, { F (4, 2, 3, 6, 6) }, "kernel=2;stride=2;padding=0", 1e-4 },
  { "max_pool2d_k3s2p1", "max_pool2d", 1, { F (4, 2, 2, 7, 6) }, "kernel=3;stride=2;padding=1", 1e-4 },
  { "avg_pool2d", "avg_pool2d", 1, { F (4, 2, 3, 6, 6) }, "kernel=2;stride=2;padding=0", 1e-4 },
  { "avg_pool2d_k3s1p1", "avg_pool2d", 1, { F (4, 2, 2, 5, 7) }, "kernel=3;stride=1;padding=1", 1e-4 },
  { "max_pool1d", "max_pool1d", 1, { F (3, 2, 3, 9) }, "kernel=3;stride=2;padding=1", 1e-4 },
  { "avg_pool1d", "avg_pool1d", 1, { F (3, 2, 3, 9) }, "kernel=2;stride=2;padding=1", 1e-4 },
  /* indexing */
  { "embedding", "embedding", 2, { F (2, 10, 4), I64 (0, 10, 2, 3, 5) }, NULL, 1e-4 },
  { "embedding_i32", "embedding", 2, { F (2, 7, 3), I32 (0, 7, 1, 9) }, NULL, 1e-4 },
  { "gather_ax0", "gather", 2, { F (3, 5, 3, 2), I64 (0, 5, 1, 7) }, "axis=0", 1e-4 },
  { "gather_ax1", "gather", 2, { F (3, 2, 6, 3), I64 (0, 6, 1, 4) }, "axis=1", 1e-4 },
  { "gather_axm1", "gather", 2, { F (3, 2, 3, 5), I32 (0, 5, 1, 8) }, "axis=-1", 1e-4 },
  { "scatter_add", "scatter_add", 2, { F (2, 9, 4), I64 (0, 5, 1, 9) }, "n_rows=5", 1e-4 },
  { "scatter_add_ax1", "scatter_add", 2, { F (3, 2, 6, 3), I32 (0, 4, 1, 6) }, "n_rows=4;axis=1", 1e-4 },
  /* sparse: A [rows, cols] in CSR times dense; A^T y; sampled a b^T */
  { "spmm", "spmm", 4, { PTR64 (7, 15), IDX64 (6, 15), F (1, 15), F (2, 6, 4) }, "n_rows=7", 1e-4 },
  { "spmm_i32", "spmm", 4, { PTR32 (5, 9), IDX32 (8, 9), F (1, 9), F (2, 8, 3) }, "n_rows=5", 1e-4 },
  { "spmm_big", "spmm", 4, { PTR64 (60, 700), IDX64 (50, 700), F (1, 700), F (2, 50, 33) }, "n_rows=60", 1e-4 },
  { "spmm_t", "spmm_t", 4, { PTR64 (7, 15), IDX64 (6, 15), F (1, 15), F (2, 7, 4) }, "n_cols=6", 1e-4 },
  { "spmm_t_big", "spmm_t", 4, { PTR32 (60, 700), IDX32 (50, 700), F (1, 700), F (2, 60, 33) }, "n_cols=50",
    1e-4 },
  { "sddmm", "sddmm", 4, { PTR64 (7, 15), IDX64 (6, 15), F (2, 7, 4), F (2, 6, 4) }, NULL, 1e-4 },
  { "sddmm_big", "sddmm", 4, { PTR32 (60, 700), IDX32 (50, 700), F (2, 60, 33), F (2, 50, 33) }, NULL, 1e-4 },
  /* dropout (outputs y and the u8 mask) */
  DROPOUT ("dropout_p0_train", "0.0", TRUE, 2, 16, 32),
  DROPOUT ("dropout_eval", "0.5", FALSE, 3, 4, 8, 16),
  DROPOUT ("dropout_p03_train", "0.3", TRUE, 2, 64, 160),
  DROPOUT ("dropout_p07_train", "0.7", TRUE, 3, 5, 37, 53),
  DROPOUT ("dropout_p1_train", "1.0", TRUE, 2, 8, 8),
};

/**
 * tl_parity_cases_nn:
 * @n: (out): number of cases
 *
 * Returns: (transfer none): the parity cases of the neural-network ops.
 */
const TlParityCase *
tl_parity_cases_nn (guint *n)
{
  *n = G_N_ELEMENTS (cases);
  return cases;
}
