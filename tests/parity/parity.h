/* parity.h — case tables for the PyTorch parity check (tests/parity.sh).
 *
 * tl-parity-dump runs every case (op on random inputs, seeded) and writes
 * inputs, outputs, a random upstream gradient and the input gradients as
 * .npy files plus cases.json; torch_parity.py recomputes them with torch
 * (function torch_name, or op when NULL, from torch_cases_*.py).
 *
 *   static const TlParityCase cases[] = {
 *     { "add_bcast", "add", 2, { TL_PARITY_F32 (2, 3, 4), TL_PARITY_F32 (1, 4) } },
 *     { "softmax_ax0", "softmax", 1, { TL_PARITY_F32 (2, 3, 4) }, "axis=0" },
 *   };
 *
 * Integer CSR structures (spmm): TL_PARITY_CSR_PTR + TL_PARITY_CSR_IDX.
 * Random ops (dropout) set .training; their extra outputs (the mask) are
 * dumped like any output, so the torch side can reuse them.
 */
#ifndef TL_PARITY_H
#define TL_PARITY_H

#include <tl/tl.h>

G_BEGIN_DECLS

typedef enum {
  TL_PARITY_RANDN = 0,   /* N(0, a^2) (a = 0: 1) */
  TL_PARITY_POSITIVE,    /* 0.5 + |N(0, a^2)| */
  TL_PARITY_AWAY,        /* N(0, a^2) pushed 0.1 away from 0 */
  TL_PARITY_INT,         /* integers in [a, b) */
  TL_PARITY_BERNOULLI,   /* 0.0 or 1.0 */
  TL_PARITY_CSR_INDPTR   /* CSR row pointers [rows + 1] of a nnz entries: 0, sorted, a (empty rows likely) */
} TlParityInit;

typedef struct {
  TlDType dtype;
  TlParityInit init;
  guint ndim;
  gint64 shape[TL_MAX_DIMS];
  double a, b;
} TlParityInput;

#define TL_PARITY_MAX_INPUTS 6

typedef struct {
  const char *name;        /* unique case name (a directory name) */
  const char *op;          /* tl op */
  guint n_inputs;
  TlParityInput inputs[TL_PARITY_MAX_INPUTS];
  /* "key=value;..." with value 3 (int), 0.5 (float), [1,2] (ints),
   * [0.5,1.5] (floats) or 'text' (string); NULL or "" for none */
  const char *attrs;
  double tol;              /* relative tolerance; 0: 1e-4 */
  const char *torch_name;  /* torch reference function; NULL: op */
  guint64 seed;            /* 0: derived from the name */
  gboolean training;       /* run the executor in training mode (dropout) */
} TlParityCase;

#define TL_PARITY_F32(nd, ...) { TL_DTYPE_F32, TL_PARITY_RANDN, nd, { __VA_ARGS__ }, 1.0, 0 }
#define TL_PARITY_POS(nd, ...) { TL_DTYPE_F32, TL_PARITY_POSITIVE, nd, { __VA_ARGS__ }, 1.0, 0 }
#define TL_PARITY_AWAY0(nd, ...) { TL_DTYPE_F32, TL_PARITY_AWAY, nd, { __VA_ARGS__ }, 1.0, 0 }
#define TL_PARITY_BIN(nd, ...) { TL_DTYPE_F32, TL_PARITY_BERNOULLI, nd, { __VA_ARGS__ }, 0, 0 }
#define TL_PARITY_INTS(dt, lo, hi, nd, ...) { dt, TL_PARITY_INT, nd, { __VA_ARGS__ }, lo, hi }
/* A CSR structure [rows, cols] with nnz entries: indptr, then indices in [0, cols) */
#define TL_PARITY_CSR_PTR(dt, rows, nnz) { dt, TL_PARITY_CSR_INDPTR, 1, { (rows) + 1 }, nnz, 0 }
#define TL_PARITY_CSR_IDX(dt, cols, nnz) TL_PARITY_INTS (dt, 0, cols, 1, nnz)

/* Case tables; *n set to the count. cases-nn.c is optional (weak fallback). */
const TlParityCase *tl_parity_cases_basic (guint *n);
const TlParityCase *tl_parity_cases_nn (guint *n);
/* cases-zero.c: zero-size shapes (not in the PyTorch parity run) */
const TlParityCase *tl_parity_cases_zero (guint *n);

/* parity-input.c */
TlAttrs *tl_parity_parse_attrs (const char *spec, GError **error);
TlTensor *tl_parity_make_input (TlRng *rng, const TlParityInput *in);

G_END_DECLS

#endif /* TL_PARITY_H */
