/* elementwise.cu — the elementwise op family on the device: one unary
 * kernel template and one broadcasting binary kernel template, instantiated
 * with a functor per op (same expressions as core/ops/elementwise.c and
 * reduce.c's equal_mask), plus cast and the constant-likes.
 *
 * Broadcasting is _tl_rule_bcast_merge (ops-rules.h): size-1 dims dropped,
 * adjacent dims coalesced, strides 0 on broadcast dims. f32 unary and flat
 * binary loops use 16-byte (float4) accesses when the pointers allow. */
#include "config.h"

#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <type_traits>

#include "kernels.h"

#define SQRT1_2 0.70710678118654752440f
#define INV_SQRT_2PI 0.39894228040143267794f

/* --- functors ----------------------------------------------------------------- */

#define UNARY_FUNCTOR(Name, EXPR)                                                               \
  struct Name {                                                                                 \
    __device__ __forceinline__ float operator() (float v) const { return (EXPR); }              \
  };

UNARY_FUNCTOR (NegF, -v)
UNARY_FUNCTOR (ExpF, tl_expf_approx (v))
UNARY_FUNCTOR (LogF, logf (v))
UNARY_FUNCTOR (SqrtF, sqrtf (v))
UNARY_FUNCTOR (RsqrtF, 1.0f / sqrtf (v))
UNARY_FUNCTOR (AbsF, fabsf (v))
UNARY_FUNCTOR (SquareF, v * v)
UNARY_FUNCTOR (ReluF, v > 0.0f ? v : 0.0f)
UNARY_FUNCTOR (GeluF, 0.5f * v * (1.0f + tl_erff_approx (v * SQRT1_2)))
UNARY_FUNCTOR (TanhF, tl_tanhf_approx (v))
UNARY_FUNCTOR (SigmoidF, tl_sigmoidf_approx (v))
UNARY_FUNCTOR (SignF, (float) ((v > 0.0f) - (v < 0.0f)))

struct AffineF {
  float scale, bias;
  __device__ __forceinline__ float operator() (float v) const { return v * scale + bias; }
};

#define BINARY_FUNCTOR(Name, EXPR)                                                              \
  struct Name {                                                                                 \
    template <typename T>                                                                       \
    __device__ __forceinline__ T operator() (T a, T b) const { return (EXPR); }                 \
  };

BINARY_FUNCTOR (AddF, a + b)
BINARY_FUNCTOR (SubF, a - b)
BINARY_FUNCTOR (MulF, a * b)
BINARY_FUNCTOR (DivF, a / b)
BINARY_FUNCTOR (MaximumF, a > b ? a : b)
BINARY_FUNCTOR (MinimumF, a < b ? a : b)
BINARY_FUNCTOR (PowF, powf (a, b))
BINARY_FUNCTOR (GreaterMaskF, a > b ? 1.0f : (a == b ? 0.5f : 0.0f))
BINARY_FUNCTOR (EqualMaskF, a == b ? 1.0f : 0.0f)
BINARY_FUNCTOR (ReluGradF, b > 0.0f ? a : 0.0f)
BINARY_FUNCTOR (GeluGradF, a * (0.5f * (1.0f + tl_erff_approx (b * SQRT1_2))
                                + b * INV_SQRT_2PI * tl_expf_approx (-0.5f * b * b)))
BINARY_FUNCTOR (TanhGradF, a * (1.0f - b * b))
BINARY_FUNCTOR (SigmoidGradF, a * b * (1.0f - b))

/* --- unary --------------------------------------------------------------------- */

template <typename F>
static __global__ void
unary_kernel (const float *__restrict__ x, float *__restrict__ y, gint64 n, F f)
{
  TL_CUDA_GRID_STRIDE (i, n)
    y[i] = f (x[i]);
}

template <typename F>
static __global__ void
unary_kernel4 (const float4 *__restrict__ x, float4 *__restrict__ y, gint64 n4, F f)
{
  TL_CUDA_GRID_STRIDE (i, n4) {
    float4 v = x[i];
    v.x = f (v.x);
    v.y = f (v.y);
    v.z = f (v.z);
    v.w = f (v.w);
    y[i] = v;
  }
}

static gboolean
aligned16 (const void *p)
{
  return ((guintptr) p & 15u) == 0;
}

template <typename F>
static gboolean
run_unary (const char *what, TlTensor *x, TlTensor *y, F f, GError **error)
{
  gint64 n = tl_tensor_numel (y);
  if (n == 0)
    return TRUE;
  const float *px = (const float *) tl_tensor_const_data (x);
  float *py = (float *) tl_tensor_data (y);
  cudaStream_t s = tl_cuda_stream ();
  if (aligned16 (px) && aligned16 (py) && n >= 4) {
    gint64 n4 = n / 4;
    unary_kernel4<F><<<tl_cuda_grid (n4), TL_CUDA_BLOCK, 0, s>>> ((const float4 *) px, (float4 *) py, n4, f);
    if (n4 * 4 < n)
      unary_kernel<F><<<1, 32, 0, s>>> (px + n4 * 4, py + n4 * 4, n - n4 * 4, f);
  } else {
    unary_kernel<F><<<tl_cuda_grid (n), TL_CUDA_BLOCK, 0, s>>> (px, py, n, f);
  }
  return _tl_cuda_check_launch (what, error);
}

#define UNARY_OP(id, F)                                                                          \
  TL_CUDA_KERNEL_FN (id)                                                                        \
  {                                                                                             \
    (void) ctx;                                                                                 \
    return run_unary (#id, in[0], out[0], F (), error);                                         \
  }

UNARY_OP (neg, NegF)
UNARY_OP (exp, ExpF)
UNARY_OP (log, LogF)
UNARY_OP (sqrt, SqrtF)
UNARY_OP (rsqrt, RsqrtF)
UNARY_OP (abs, AbsF)
UNARY_OP (square, SquareF)
UNARY_OP (relu, ReluF)
UNARY_OP (gelu, GeluF)
UNARY_OP (tanh, TanhF)
UNARY_OP (sigmoid, SigmoidF)
UNARY_OP (sign, SignF)

TL_CUDA_KERNEL_FN (affine_scalar)
{
  AffineF f = { (float) tl_attrs_get_float (ctx->attrs, "scale", 1.0),
                (float) tl_attrs_get_float (ctx->attrs, "bias", 0.0) };
  return run_unary ("affine_scalar", in[0], out[0], f, error);
}

/* --- binary with broadcasting ------------------------------------------------------ */

typedef struct {
  int ndim;
  gint64 shape[TL_MAX_DIMS];
  gint64 st[2][TL_MAX_DIMS];
} Bc2;

/* The broadcast walk of two contiguous operands (ops-rules.h, as on the CPU). */
static void
bc2_init (Bc2 *b, TlTensor *y, TlTensor *const *ops)
{
  TlTensorDesc d[2];
  const TlTensorDesc *ins[2] = { &d[0], &d[1] };
  tl_tensor_get_desc (ops[0], &d[0]);
  tl_tensor_get_desc (ops[1], &d[1]);
  memset (b, 0, sizeof *b);
  b->ndim = (int) _tl_rule_bcast_merge (tl_tensor_ndim (y), tl_tensor_shape (y), 2, ins, b->shape, b->st);
}

template <typename T, typename F>
static __global__ void
binary_flat_kernel (const T *__restrict__ a, int sa, const T *__restrict__ b, int sb, T *__restrict__ y,
                    gint64 n, F f)
{
  TL_CUDA_GRID_STRIDE (i, n)
    y[i] = f (a[sa ? i : 0], b[sb ? i : 0]);
}

template <typename F>
static __global__ void
binary_flat_kernel4 (const float4 *__restrict__ a, const float4 *__restrict__ b, float4 *__restrict__ y,
                     gint64 n4, F f)
{
  TL_CUDA_GRID_STRIDE (i, n4) {
    float4 u = a[i], v = b[i], r;
    r.x = f (u.x, v.x);
    r.y = f (u.y, v.y);
    r.z = f (u.z, v.z);
    r.w = f (u.w, v.w);
    y[i] = r;
  }
}

template <typename T, typename I, typename F>
static __global__ void
binary_bcast_kernel (Bc2 bc, const T *__restrict__ a, const T *__restrict__ b, T *__restrict__ y, I n, F f)
{
  for (I i = (I) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (I) blockDim.x * gridDim.x) {
    I oa, ob;
    tl_cuda_offsets2 (i, bc.ndim, bc.shape, bc.st[0], bc.st[1], &oa, &ob);
    y[i] = f (a[oa], b[ob]);
  }
}

template <typename T, typename F>
static gboolean
run_binary_t (const char *what, TlTensor *a, TlTensor *b, TlTensor *y, F f, GError **error)
{
  gint64 n = tl_tensor_numel (y);
  if (n == 0)
    return TRUE;
  const T *pa = (const T *) tl_tensor_const_data (a);
  const T *pb = (const T *) tl_tensor_const_data (b);
  T *py = (T *) tl_tensor_data (y);
  gint64 na = tl_tensor_numel (a), nb = tl_tensor_numel (b);
  cudaStream_t s = tl_cuda_stream ();
  if ((na == n || na == 1) && (nb == n || nb == 1)) {
    if constexpr (std::is_same<T, float>::value) {
      if (na == n && nb == n && n >= 4 && aligned16 (pa) && aligned16 (pb) && aligned16 (py)) {
        gint64 n4 = n / 4;
        binary_flat_kernel4<F><<<tl_cuda_grid (n4), TL_CUDA_BLOCK, 0, s>>> (
          (const float4 *) pa, (const float4 *) pb, (float4 *) py, n4, f);
        if (n4 * 4 < n)
          binary_flat_kernel<T, F><<<1, 32, 0, s>>> (pa + n4 * 4, 1, pb + n4 * 4, 1, py + n4 * 4, n - n4 * 4, f);
        return _tl_cuda_check_launch (what, error);
      }
    }
    binary_flat_kernel<T, F><<<tl_cuda_grid (n), TL_CUDA_BLOCK, 0, s>>> (pa, na == n, pb, nb == n, py, n, f);
    return _tl_cuda_check_launch (what, error);
  }
  Bc2 bc;
  TlTensor *ops[2] = { a, b };
  bc2_init (&bc, y, ops);
  /* 32-bit indices only while i + the grid stride cannot wrap */
  if (n <= G_MAXINT32 / 2)
    binary_bcast_kernel<T, gint32, F><<<tl_cuda_grid (n), TL_CUDA_BLOCK, 0, s>>> (bc, pa, pb, py, (gint32) n, f);
  else
    binary_bcast_kernel<T, gint64, F><<<tl_cuda_grid (n), TL_CUDA_BLOCK, 0, s>>> (bc, pa, pb, py, n, f);
  return _tl_cuda_check_launch (what, error);
}

static gboolean
bad_dtype (const char *what, TlTensor *t, GError **error)
{
  g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "%s: no CUDA kernel for dtype %s", what,
               tl_dtype_name (tl_tensor_dtype (t)));
  return FALSE;
}

/* f32, and i32/i64 when ints is set (add, sub, mul), as on the CPU. */
template <typename F>
static gboolean
run_binary (const char *what, TlTensor *const *in, TlTensor *const *out, gboolean ints, F f, GError **error)
{
  switch (tl_tensor_dtype (in[0])) {
  case TL_DTYPE_F32: return run_binary_t<float, F> (what, in[0], in[1], out[0], f, error);
  case TL_DTYPE_I32:
    if (ints)
      return run_binary_t<gint32, F> (what, in[0], in[1], out[0], f, error);
    break;
  case TL_DTYPE_I64:
    if (ints)
      return run_binary_t<gint64, F> (what, in[0], in[1], out[0], f, error);
    break;
  default: break;
  }
  return bad_dtype (what, in[0], error);
}

/* Float-only functors are never instantiated with ints: they go through here. */
template <typename F>
static gboolean
run_binary_f32 (const char *what, TlTensor *const *in, TlTensor *const *out, F f, GError **error)
{
  if (tl_tensor_dtype (in[0]) != TL_DTYPE_F32)
    return bad_dtype (what, in[0], error);
  return run_binary_t<float, F> (what, in[0], in[1], out[0], f, error);
}

#define BINARY_OP_INTS(id, F)                                                                    \
  TL_CUDA_KERNEL_FN (id)                                                                        \
  {                                                                                             \
    (void) ctx;                                                                                 \
    return run_binary (#id, in, out, TRUE, F (), error);                                        \
  }

#define BINARY_OP(id, F)                                                                         \
  TL_CUDA_KERNEL_FN (id)                                                                        \
  {                                                                                             \
    (void) ctx;                                                                                 \
    return run_binary_f32 (#id, in, out, F (), error);                                          \
  }

BINARY_OP_INTS (add, AddF)
BINARY_OP_INTS (sub, SubF)
BINARY_OP_INTS (mul, MulF)
BINARY_OP (div, DivF)
BINARY_OP (maximum, MaximumF)
BINARY_OP (minimum, MinimumF)
BINARY_OP (pow, PowF)
BINARY_OP (greater_mask, GreaterMaskF)
BINARY_OP (equal_mask, EqualMaskF)
BINARY_OP (relu_grad, ReluGradF)
BINARY_OP (gelu_grad, GeluGradF)
BINARY_OP (tanh_grad, TanhGradF)
BINARY_OP (sigmoid_grad, SigmoidGradF)

/* --- cast (the conversions of tl_tensor_copy_into: core/ops/ops-rules.h) ---------- */

static __global__ void
cast_kernel (const void *__restrict__ src, TlDType st, void *__restrict__ dst, TlDType dt, gint64 n,
             TlCastMode mode)
{
  TL_CUDA_GRID_STRIDE (i, n) {
    if (mode == TL_CAST_INT_TO_I64)
      ((gint64 *) dst)[i] = _tl_rule_load_int (st, src, i);
    else if (mode == TL_CAST_I64_TO_INT)
      _tl_rule_store_from_i64 (dt, dst, i, ((const gint64 *) src)[i]);
    else
      _tl_rule_store_elem (dt, dst, i, _tl_rule_load_elem (st, src, i));
  }
}

/* The direct float conversions (round to nearest even). */
__device__ __forceinline__ void
convert (float v, __half *d)
{
  *d = __float2half_rn (v);
}

__device__ __forceinline__ void
convert (float v, __nv_bfloat16 *d)
{
  *d = __float2bfloat16_rn (v);
}

__device__ __forceinline__ void
convert (__half v, float *d)
{
  *d = __half2float (v);
}

__device__ __forceinline__ void
convert (__nv_bfloat16 v, float *d)
{
  *d = __bfloat162float (v);
}

template <typename S, typename D>
static __global__ void
convert_kernel (const S *__restrict__ src, D *__restrict__ dst, gint64 n)
{
  TL_CUDA_GRID_STRIDE (i, n)
    convert (src[i], &dst[i]);
}

template <typename S, typename D>
static void
launch_convert (const void *src, void *dst, gint64 n)
{
  convert_kernel<S, D><<<tl_cuda_grid (n), TL_CUDA_BLOCK, 0, tl_cuda_stream ()>>> ((const S *) src, (D *) dst, n);
}

TL_CUDA_KERNEL_FN (cast)
{
  (void) ctx;
  TlDType st = tl_tensor_dtype (in[0]), dt = tl_tensor_dtype (out[0]);
  gint64 n = tl_tensor_numel (out[0]);
  const void *src = tl_tensor_const_data (in[0]);
  void *dst = tl_tensor_data (out[0]);
  if (n == 0)
    return TRUE;
  TlCastMode mode = _tl_rule_cast_mode (st, dt);
  switch (mode) {
  case TL_CAST_SAME: return _tl_cuda_kern_copy (dst, src, tl_tensor_nbytes (out[0]), "cast", error);
  case TL_CAST_F32_TO_F16: launch_convert<float, __half> (src, dst, n); break;
  case TL_CAST_F32_TO_BF16: launch_convert<float, __nv_bfloat16> (src, dst, n); break;
  case TL_CAST_F16_TO_F32: launch_convert<__half, float> (src, dst, n); break;
  case TL_CAST_BF16_TO_F32: launch_convert<__nv_bfloat16, float> (src, dst, n); break;
  default:
    cast_kernel<<<tl_cuda_grid (n), TL_CUDA_BLOCK, 0, tl_cuda_stream ()>>> (src, st, dst, dt, n, mode);
    break;
  }
  return _tl_cuda_check_launch ("cast", error);
}

/* --- zeros_like / ones_like -------------------------------------------------------- */

TL_CUDA_KERNEL_FN (zeros_like)
{
  (void) ctx;
  (void) in;
  return _tl_cuda_kern_zero (tl_tensor_data (out[0]), tl_tensor_nbytes (out[0]), "zeros_like", error);
}

TL_CUDA_KERNEL_FN (ones_like)
{
  (void) ctx;
  (void) in;
  TlDType dt = tl_tensor_dtype (out[0]);
  guint64 bits;
  switch (dt) {
  case TL_DTYPE_F32: { float one = 1.0f; guint32 b; memcpy (&b, &one, 4); bits = b; break; }
  case TL_DTYPE_F64: { double one = 1.0; memcpy (&bits, &one, 8); break; }
  case TL_DTYPE_F16: bits = tl_f32_to_f16 (1.0f); break;
  case TL_DTYPE_BF16: bits = tl_f32_to_bf16 (1.0f); break;
  default: bits = 1; break; /* integers and bool */
  }
  return _tl_cuda_kern_fill (tl_tensor_data (out[0]), tl_tensor_numel (out[0]), tl_dtype_size (dt), bits,
                             "ones_like", error);
}
