/* cases-zero.c — zero-size cases (empty batches, k = 0, empty reduced
 * axes, nnz = 0) that the PyTorch parity tables leave out; tests/gpu/parity.c
 * has a few more (sum_empty_axis, matmul_k0, conv1d_c0_bias,
 * concat_empty_part, slice_empty). Used by tests/test-ops-overwrites (the
 * TL_OP_OVERWRITES check) and the CUDA emulator (tests/gpu/emu): an op that
 * writes every element must do so here too, where outputs can be non-empty
 * while inputs are empty. */
#include "config.h"

#include "parity.h"

#define F TL_PARITY_F32
#define I64(lo, hi, nd, ...) TL_PARITY_INTS (TL_DTYPE_I64, lo, hi, nd, __VA_ARGS__)

static const TlParityCase cases[] = {
  { "linear_k0", "linear", 3, { F (2, 6, 0), F (2, 3, 0), F (1, 3) } },
  { "linear_rows0", "linear", 3, { F (2, 0, 5), F (2, 3, 5), F (1, 3) } },
  { "matmul_m0", "matmul", 2, { F (3, 2, 0, 4), F (3, 2, 4, 3) } },
  { "softmax_rows0", "softmax", 1, { F (2, 0, 5) }, "axis=-1" },
  { "log_softmax_axis0", "log_softmax", 1, { F (2, 3, 0) }, "axis=-1" },
  { "layer_norm_rows0", "layer_norm", 3, { F (2, 0, 8), F (1, 8), F (1, 8) }, "has_gamma=1;has_beta=1;eps=1e-5" },
  { "sum_all_empty", "sum", 1, { F (2, 0, 3) } },
  { "mean_empty_axis", "mean", 1, { F (3, 2, 0, 3) }, "axes=[1]" },
  { "argmax_out_empty", "argmax", 1, { F (2, 0, 4) }, "axis=1" },
  { "sum_to_empty", "sum_to", 1, { F (3, 2, 0, 4) }, "shape=[1,4]" },
  { "conv2d_n0", "conv2d", 3, { F (4, 0, 3, 5, 5), F (4, 2, 3, 3, 3), F (1, 2) } },
  { "max_pool2d_n0", "max_pool2d", 1, { F (4, 0, 2, 4, 4) }, "kernel=2;stride=2;padding=0" },
  { "avg_pool1d_n0", "avg_pool1d", 1, { F (3, 0, 2, 6) }, "kernel=2;stride=2;padding=0" },
  { "embedding_ids0", "embedding", 2, { F (2, 5, 3), I64 (0, 5, 1, 0) } },
  { "gather_ids0", "gather", 2, { F (2, 5, 3), I64 (0, 3, 1, 0) }, "axis=1" },
  { "cross_entropy_n0", "cross_entropy", 2, { F (2, 0, 5), I64 (0, 5, 1, 0) } },
  { "mse_empty", "mse", 2, { F (2, 0, 4), F (2, 0, 4) } },
  { "split_empty_part", "split", 1, { F (2, 3, 4) }, "axis=-1;sizes=[0,4]" },
  { "spmm_nnz0", "spmm", 4, { TL_PARITY_CSR_PTR (TL_DTYPE_I64, 4, 0), TL_PARITY_CSR_IDX (TL_DTYPE_I64, 3, 0),
                  F (1, 0), F (2, 3, 2) }, "n_rows=4" },
  { "dropout_empty", "dropout", 1, { F (2, 0, 5) }, "p=0.5", 0, NULL, 0, TRUE },
};

/**
 * tl_parity_cases_zero:
 * @n: (out): number of cases
 *
 * Returns: (transfer none): the static table of zero-size cases.
 */
const TlParityCase *
tl_parity_cases_zero (guint *n)
{
  *n = G_N_ELEMENTS (cases);
  return cases;
}
