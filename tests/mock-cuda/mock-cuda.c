/* mock-cuda.c — a stand-in for the CUDA backend module, for testing libtl's
 * device plumbing on machines without a GPU (tests/test-cuda-mock).
 *
 * "Device memory" is host memory handed out by a small caching allocator;
 * the "kernels" of an op are its CPU kernels; copies are memmove; a graph
 * capture records the kernel calls and memsets instead of running them, and
 * a launch replays them (like CUDA, nothing runs while capturing, and copies
 * are refused then). The optimizer and BLAS extensions are plain loops with
 * the arithmetic of core/optim.c. It exercises every device path of
 * tensor.c, exec.c, optim.c and the trainer; it cannot catch a host
 * dereference of a device pointer (the GPU run does).
 *
 * The NCCL extension runs libtl's own host communicators on the "device"
 * buffers: "mpi" for several ranks (when MPI is built in), "single" for
 * one, so comm-nccl.c and the trainer's device allreduce run under mpirun
 * without a GPU (every rank on mock device 0, which real NCCL 2.28 would
 * refuse). TL_MOCK_NCCL=off hides the extension (a module built without
 * NCCL); TL_MOCK_NCCL=refuse makes ncclCommInitRank fail on every rank.
 * TL_MOCK_CUDA_DEVICES=N reports N devices (default 1).
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <gmodule.h>

#include "core/backend-private.h"
#include "core/backend-nccl-private.h"

/* --- allocator ----------------------------------------------------------- */

static GMutex lock;
static GHashTable *sizes;  /* ptr -> class size */
static GHashTable *cache;  /* class size -> GSList of ptr */
static TlBackendMemStats stats;

static gsize
size_class (gsize n)
{
  return ((n ? n : 1) + 511) & ~(gsize) 511;
}

static void *
mock_alloc (gsize nbytes, GError **error)
{
  gsize cls = size_class (nbytes);
  g_mutex_lock (&lock);
  if (!sizes) {
    sizes = g_hash_table_new (g_direct_hash, g_direct_equal);
    cache = g_hash_table_new (g_direct_hash, g_direct_equal);
  }
  GSList *l = g_hash_table_lookup (cache, GSIZE_TO_POINTER (cls));
  void *p = NULL;
  if (l) {
    p = l->data;
    g_hash_table_insert (cache, GSIZE_TO_POINTER (cls), g_slist_delete_link (l, l));
    stats.bytes_cached -= cls;
    stats.n_cache_hits++;
  } else {
    p = g_try_malloc (cls);
    if (!p) {
      g_mutex_unlock (&lock);
      g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY, "mock cudaMalloc(%" G_GSIZE_FORMAT ")", cls);
      return NULL;
    }
    g_hash_table_insert (sizes, p, GSIZE_TO_POINTER (cls));
    stats.n_device_allocs++;
  }
  /* uninitialised like cudaMalloc: garbage, so that a missing memset shows */
  memset (p, 0xa5, cls);
  stats.bytes_in_use += cls;
  stats.peak_bytes_in_use = MAX (stats.peak_bytes_in_use, stats.bytes_in_use);
  g_mutex_unlock (&lock);
  return p;
}

static void
mock_free (void *p)
{
  if (!p)
    return;
  g_mutex_lock (&lock);
  gsize cls = GPOINTER_TO_SIZE (g_hash_table_lookup (sizes, p));
  if (cls == 0) {
    g_mutex_unlock (&lock);
    g_critical ("mock CUDA: free of unknown pointer %p", p);
    return;
  }
  GSList *l = g_hash_table_lookup (cache, GSIZE_TO_POINTER (cls));
  g_hash_table_insert (cache, GSIZE_TO_POINTER (cls), g_slist_prepend (l, p));
  stats.bytes_in_use -= cls;
  stats.bytes_cached += cls;
  g_mutex_unlock (&lock);
}

static void
mock_mem_stats (TlBackendMemStats *s)
{
  g_mutex_lock (&lock);
  *s = stats;
  g_mutex_unlock (&lock);
}

static gboolean
free_list (gpointer key, gpointer value, gpointer data)
{
  for (GSList *l = value; l; l = l->next) {
    g_hash_table_remove (sizes, l->data);
    stats.bytes_cached -= GPOINTER_TO_SIZE (key);
    g_free (l->data);
  }
  g_slist_free (value);
  return TRUE;
}

static void
mock_empty_cache (void)
{
  g_mutex_lock (&lock);
  if (cache)
    g_hash_table_foreach_remove (cache, free_list, NULL);
  g_mutex_unlock (&lock);
}

/* --- capture ------------------------------------------------------------- */

typedef struct {
  int slot;                 /* -1: memset */
  const TlKernelCtx *ctx;
  TlTensor *const *in;
  TlTensor *const *out;
  void *ptr;
  gsize n;
} Rec;

static GArray *capturing; /* Rec, while a capture is open */

static gboolean
mock_memset_zero (void *dst, gsize n, GError **error)
{
  if (capturing) {
    Rec r = { .slot = -1, .ptr = dst, .n = n };
    g_array_append_val (capturing, r);
    return TRUE;
  }
  memset (dst, 0, n);
  return TRUE;
}

static gboolean
mock_memcpy (void *dst, gboolean dd, const void *src, gboolean sd, gsize n, GError **error)
{
  if (capturing) {
    g_set_error (error, TL_ERROR, TL_ERROR_FAILED,
                 "mock cudaMemcpyAsync: operation not permitted when stream is capturing");
    return FALSE;
  }
  memmove (dst, src, n);
  return TRUE;
}

/* --- kernels: an op's CPU kernel behind a per-op trampoline --------------- */

#define N_SLOTS 96
static const TlOpDef *slot_def[N_SLOTS];
static guint n_slots;

static gboolean
run_slot (int i, const TlKernelCtx *c, TlTensor *const *in, TlTensor *const *out, GError **e)
{
  if (capturing) {
    Rec r = { .slot = i, .ctx = c, .in = in, .out = out };
    g_array_append_val (capturing, r);
    return TRUE;
  }
  return slot_def[i]->forward_cpu (c, in, out, e);
}

#define K(i) \
  static gboolean k##i (const TlKernelCtx *c, TlTensor *const *in, TlTensor *const *out, GError **e) \
  { return run_slot (i, c, in, out, e); }
K (0)
K (1)
K (2)
K (3)
K (4)
K (5)
K (6)
K (7)
K (8)
K (9)
K (10)
K (11)
K (12)
K (13)
K (14)
K (15)
K (16)
K (17)
K (18)
K (19)
K (20)
K (21)
K (22)
K (23)
K (24)
K (25)
K (26)
K (27)
K (28)
K (29)
K (30)
K (31)
K (32)
K (33)
K (34)
K (35)
K (36)
K (37)
K (38)
K (39)
K (40)
K (41)
K (42)
K (43)
K (44)
K (45)
K (46)
K (47)
K (48)
K (49)
K (50)
K (51)
K (52)
K (53)
K (54)
K (55)
K (56)
K (57)
K (58)
K (59)
K (60)
K (61)
K (62)
K (63)
K (64)
K (65)
K (66)
K (67)
K (68)
K (69)
K (70)
K (71)
K (72)
K (73)
K (74)
K (75)
K (76)
K (77)
K (78)
K (79)
K (80)
K (81)
K (82)
K (83)
K (84)
K (85)
K (86)
K (87)
K (88)
K (89)
K (90)
K (91)
K (92)
K (93)
K (94)
K (95)

static const TlBackendKernelFn slot_fn[N_SLOTS] = {
  k0,
  k1,
  k2,
  k3,
  k4,
  k5,
  k6,
  k7,
  k8,
  k9,
  k10,
  k11,
  k12,
  k13,
  k14,
  k15,
  k16,
  k17,
  k18,
  k19,
  k20,
  k21,
  k22,
  k23,
  k24,
  k25,
  k26,
  k27,
  k28,
  k29,
  k30,
  k31,
  k32,
  k33,
  k34,
  k35,
  k36,
  k37,
  k38,
  k39,
  k40,
  k41,
  k42,
  k43,
  k44,
  k45,
  k46,
  k47,
  k48,
  k49,
  k50,
  k51,
  k52,
  k53,
  k54,
  k55,
  k56,
  k57,
  k58,
  k59,
  k60,
  k61,
  k62,
  k63,
  k64,
  k65,
  k66,
  k67,
  k68,
  k69,
  k70,
  k71,
  k72,
  k73,
  k74,
  k75,
  k76,
  k77,
  k78,
  k79,
  k80,
  k81,
  k82,
  k83,
  k84,
  k85,
  k86,
  k87,
  k88,
  k89,
  k90,
  k91,
  k92,
  k93,
  k94,
  k95
};

static TlBackendKernelFn
mock_lookup_kernel (const char *name)
{
  /* like a real table: some ops have no kernel (tests the error path) */
  const char *no = g_getenv ("TL_MOCK_CUDA_NO_KERNEL");
  if (no && g_strcmp0 (no, name) == 0)
    return NULL;
  const TlOpDef *def = tl_op_lookup (name);
  if (!def)
    return NULL;
  g_mutex_lock (&lock);
  TlBackendKernelFn fn = NULL;
  for (guint i = 0; i < n_slots && !fn; i++)
    if (slot_def[i] == def)
      fn = slot_fn[i];
  if (!fn && n_slots < N_SLOTS) {
    slot_def[n_slots] = def;
    fn = slot_fn[n_slots++];
  }
  g_mutex_unlock (&lock);
  return fn;
}

static gboolean
mock_graph_begin (GError **error)
{
  if (capturing) {
    g_set_error (error, TL_ERROR, TL_ERROR_FAILED, "mock: capture already open");
    return FALSE;
  }
  capturing = g_array_new (FALSE, FALSE, sizeof (Rec));
  return TRUE;
}

static gpointer
mock_graph_end (GError **error)
{
  GArray *g = capturing;
  capturing = NULL;
  return g;
}

static gboolean
mock_graph_launch (gpointer graph, GError **error)
{
  GArray *g = graph;
  for (guint i = 0; i < g->len; i++) {
    Rec *r = &g_array_index (g, Rec, i);
    if (r->slot < 0)
      memset (r->ptr, 0, r->n);
    else if (!slot_def[r->slot]->forward_cpu (r->ctx, r->in, r->out, error))
      return FALSE;
  }
  return TRUE;
}

static void
mock_graph_free (gpointer graph)
{
  if (graph)
    g_array_unref (graph);
}

/* --- optimizer and BLAS extensions --------------------------------------- */

static gboolean
sgd_full (float *p, const float *g, float *buf, gint64 n, float lr, float mom, float damp,
          float wd, gboolean nesterov, gboolean first, GError **error)
{
  for (gint64 i = 0; i < n; i++) {
    float gi = g[i] + wd * p[i], d = gi;
    if (mom != 0.0f) {
      buf[i] = first ? gi : mom * buf[i] + (1.0f - damp) * gi;
      d = nesterov ? gi + mom * buf[i] : buf[i];
    }
    p[i] -= lr * d;
  }
  return TRUE;
}

static gboolean
sgd (float *p, const float *g, float *buf, gint64 n, float lr, float mom, float wd,
     gboolean nesterov, GError **error)
{
  return sgd_full (p, g, buf, n, lr, mom, 0.0f, wd, nesterov, FALSE, error);
}

static gboolean
adam (float *p, const float *g, float *m, float *v, gint64 n, float lr, float b1, float b2,
      float eps, float wd, gboolean decoupled, float bc1, float bc2, GError **error)
{
  const float bc2s = (float) sqrt ((double) bc2), step = lr / bc1;
  const float decay = decoupled ? 1.0f - lr * wd : 1.0f, l2 = decoupled ? 0.0f : wd;
  for (gint64 i = 0; i < n; i++) {
    float gi = g[i] + l2 * p[i];
    m[i] = m[i] + (gi - m[i]) * (1.0f - b1);
    v[i] = v[i] * b2 + (1.0f - b2) * gi * gi;
    p[i] = p[i] * decay - step * (m[i] / (sqrtf (v[i]) / bc2s + eps));
  }
  return TRUE;
}

static gboolean
lamb (float *p, const float *g, float *m, float *v, gint64 n, double lr, float b1, float b2,
      float eps, float wd, float bc1, float bc2, GError **error)
{
  const float bc2s = (float) sqrt ((double) bc2);
  float *u = g_new (float, MAX (1, n));
  double wn = 0, un = 0;
  for (gint64 i = 0; i < n; i++) {
    m[i] = b1 * m[i] + (1.0f - b1) * g[i];
    v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
    u[i] = (m[i] / bc1) / (sqrtf (v[i]) / bc2s + eps) + wd * p[i];
    wn += (double) p[i] * p[i];
    un += (double) u[i] * u[i];
  }
  double ratio = (wn > 0 && un > 0) ? sqrt (wn) / sqrt (un) : 1.0;
  float s = (float) (lr * ratio);
  for (gint64 i = 0; i < n; i++)
    p[i] -= s * u[i];
  g_free (u);
  return TRUE;
}

static gboolean
axpy (gint64 n, float a, const float *x, float *y, GError **error)
{
  for (gint64 i = 0; i < n; i++)
    y[i] += a * x[i];
  return TRUE;
}

static gboolean
scale (gint64 n, float a, float *x, GError **error)
{
  for (gint64 i = 0; i < n; i++)
    x[i] *= a;
  return TRUE;
}

static gboolean
sumsq_multi (guint n, const float *const *xs, const gint64 *ns, double *out, GError **error)
{
  for (guint j = 0; j < n; j++) {
    double s = 0;
    for (gint64 i = 0; i < ns[j]; i++)
      s += (double) xs[j][i] * xs[j][i];
    out[j] = s;
  }
  return TRUE;
}

static double
ld (TlDType dt, const void *p, gint64 i)
{
  switch (dt) {
  case TL_DTYPE_BF16: return tl_bf16_to_f32 (((const guint16 *) p)[i]);
  case TL_DTYPE_F16: return tl_f16_to_f32 (((const guint16 *) p)[i]);
  default: return ((const float *) p)[i];
  }
}

static void
st (TlDType dt, void *p, gint64 i, float v)
{
  switch (dt) {
  case TL_DTYPE_BF16: ((guint16 *) p)[i] = tl_f32_to_bf16 (v); break;
  case TL_DTYPE_F16: ((guint16 *) p)[i] = tl_f32_to_f16 (v); break;
  default: ((float *) p)[i] = v; break;
  }
}

static gboolean
gemm (TlDType dt, gboolean ta, gboolean tb, gint64 m, gint64 n, gint64 k, float alpha,
      const void *a, gint64 lda, gint64 sa, const void *b, gint64 ldb, gint64 sb, float beta,
      void *c, gint64 ldc, gint64 sc, gint64 batch, GError **error)
{
  for (gint64 q = 0; q < batch; q++)
    for (gint64 i = 0; i < m; i++)
      for (gint64 j = 0; j < n; j++) {
        float acc = 0;
        for (gint64 p = 0; p < k; p++)
          acc += (float) ld (dt, a, q * sa + (ta ? p * lda + i : i * lda + p)) *
                 (float) ld (dt, b, q * sb + (tb ? j * ldb + p : p * ldb + j));
        gint64 o = q * sc + i * ldc + j;
        st (dt, c, o, alpha * acc + (beta != 0.0f ? beta * (float) ld (dt, c, o) : 0.0f));
      }
  return TRUE;
}

static const TlBackendOptim optim_ext = {
  .abi = TL_BACKEND_ABI,
  .sgd_update = sgd,
  .adam_update = adam,
  .axpy = axpy,
  .scale = scale,
  .sumsq_multi = sumsq_multi,
  .sgd_update_full = sgd_full,
  .lamb_update = lamb,
};

static const TlBackendBlas blas_ext = {
  .abi = TL_BACKEND_ABI,
  .gemm = gemm,
};

/* --- NCCL extension over libtl's host communicators -------------------- */

struct _TlNcclComm {
  TlComm *host;
};

static const guint8 mock_id[] = "tl mock NCCL unique id";

static int
nccl_version (void)
{
  return 0;
}

static gboolean
nccl_get_unique_id (guint8 id[TL_NCCL_UNIQUE_ID_BYTES], GError **error)
{
  memset (id, 0, TL_NCCL_UNIQUE_ID_BYTES);
  memcpy (id, mock_id, sizeof mock_id);
  return TRUE;
}

static TlNcclComm *
nccl_comm_init (int nranks, int rank, const guint8 id[TL_NCCL_UNIQUE_ID_BYTES], double timeout_s,
                GError **error)
{
  if (memcmp (id, mock_id, sizeof mock_id) != 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "mock ncclCommInitRank: rank %d: not a unique id of the mock", rank);
    return NULL;
  }
  if (g_strcmp0 (g_getenv ("TL_MOCK_NCCL"), "refuse") == 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_COMM,
                 "mock ncclCommInitRank: rank %d: invalid usage (TL_MOCK_NCCL=refuse)", rank);
    return NULL;
  }
#ifndef TL_HAVE_MPI
  if (nranks > 1) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "mock ncclCommInitRank: %d ranks need libtl built with MPI", nranks);
    return NULL;
  }
#endif
  TlComm *host = tl_comm_new (nranks > 1 ? "mpi" : "single", error);
  if (!host)
    return NULL;
  if (tl_comm_size (host) != nranks || tl_comm_rank (host) != rank) {
    g_set_error (error, TL_ERROR, TL_ERROR_COMM,
                 "mock ncclCommInitRank: rank %d of %d is rank %d of %d of the host communicator",
                 rank, nranks, tl_comm_rank (host), tl_comm_size (host));
    tl_comm_free (host);
    return NULL;
  }
  TlNcclComm *c = g_new0 (TlNcclComm, 1);
  c->host = host;
  return c;
}

/* A host tensor holding a copy of buf's bytes (NULL: nothing to copy). */
static TlTensor *
bytes_in (const void *buf, gint64 count, TlDType dtype, GError **error)
{
  gint64 shape[1] = {count};
  return tl_tensor_new_from_data (dtype, 1, shape, buf, error);
}

static gboolean
bytes_out (void *buf, TlTensor *t)
{
  memcpy (buf, tl_tensor_const_data (t), tl_tensor_nbytes (t));
  return TRUE;
}

static gboolean
nccl_allreduce (TlNcclComm *c, void *buf, gint64 count, TlDType dtype, TlCommOp op,
                GError **error)
{
  g_autoptr (TlTensor) t = bytes_in (buf, count, dtype, error);
  return t && tl_comm_allreduce (c->host, t, op, error) && bytes_out (buf, t);
}

static gboolean
nccl_broadcast (TlNcclComm *c, void *buf, gsize nbytes, int root, GError **error)
{
  g_autoptr (TlTensor) t = bytes_in (buf, (gint64) nbytes, TL_DTYPE_U8, error);
  return t && tl_comm_broadcast (c->host, t, root, error) && bytes_out (buf, t);
}

static gboolean
nccl_allgather (TlNcclComm *c, const void *in, void *out, gsize nbytes, GError **error)
{
  gint64 shape[1] = {(gint64) nbytes * tl_comm_size (c->host)};
  g_autoptr (TlTensor) ti = bytes_in (in, (gint64) nbytes, TL_DTYPE_U8, error);
  g_autoptr (TlTensor) to = ti ? tl_tensor_new (TL_DTYPE_U8, 1, shape, error) : NULL;
  return to && tl_comm_allgather (c->host, ti, to, error) && bytes_out (out, to);
}

/* comm-nccl.c has matched the tags already: one tag does for the data. */
static gboolean
nccl_send (TlNcclComm *c, const void *buf, gsize nbytes, int peer, GError **error)
{
  g_autoptr (TlTensor) t = bytes_in (buf, (gint64) nbytes, TL_DTYPE_U8, error);
  return t && tl_comm_send (c->host, t, peer, 0, error);
}

static gboolean
nccl_recv (TlNcclComm *c, void *buf, gsize nbytes, int peer, GError **error)
{
  gint64 shape[1] = {(gint64) nbytes};
  g_autoptr (TlTensor) t = tl_tensor_new (TL_DTYPE_U8, 1, shape, error);
  return t && tl_comm_recv (c->host, t, peer, 0, error) && bytes_out (buf, t);
}

static gboolean
nccl_barrier (TlNcclComm *c, GError **error)
{
  return tl_comm_barrier (c->host, error);
}

static void
nccl_destroy (TlNcclComm *c)
{
  if (!c)
    return;
  tl_comm_free (c->host);
  g_free (c);
}

static int
nccl_device (TlNcclComm *c)
{
  return 0;
}

static const TlBackendNccl nccl_ext = {
  .size = sizeof (TlBackendNccl),
  .version = nccl_version,
  .get_unique_id = nccl_get_unique_id,
  .comm_init = nccl_comm_init,
  .allreduce = nccl_allreduce,
  .broadcast = nccl_broadcast,
  .allgather = nccl_allgather,
  .send = nccl_send,
  .recv = nccl_recv,
  .barrier = nccl_barrier,
  .abort = nccl_destroy,
  .destroy = nccl_destroy,
  .device = nccl_device,
};

static const void *
mock_get_extension (const char *id)
{
  if (g_strcmp0 (id, TL_BACKEND_EXT_OPTIM) == 0)
    return &optim_ext;
  if (g_strcmp0 (id, TL_BACKEND_EXT_BLAS) == 0)
    return &blas_ext;
  if (g_strcmp0 (id, TL_BACKEND_EXT_NCCL) == 0)
    return g_strcmp0 (g_getenv ("TL_MOCK_NCCL"), "off") == 0 ? NULL : &nccl_ext;
  return NULL;
}

/* --- the table ------------------------------------------------------------ */

/* One device, or TL_MOCK_CUDA_DEVICES (2 to 8) for the checks of work
 * spread over several devices; they all share the host memory and the one
 * allocator above (a mock device has no memory or stream of its own). */
static int
mock_device_count (GError **error)
{
  const char *s = g_getenv ("TL_MOCK_CUDA_DEVICES");
  gint64 n = s ? g_ascii_strtoll (s, NULL, 10) : 1;
  return (int) CLAMP (n, 1, 8);
}

static gboolean
mock_set_device (int index, GError **error)
{
  if (index < 0 || index >= mock_device_count (NULL)) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "mock: no device %d", index);
    return FALSE;
  }
  return TRUE;
}

static char *
mock_describe (int index)
{
  return g_strdup ("mock CUDA device (host memory, CPU kernels)");
}

/* Like cudaStreamSynchronize: illegal on a stream that is being captured
 * (it invalidates the capture), so the mock refuses it too. */
static gboolean
mock_synchronize (GError **error)
{
  if (capturing) {
    g_set_error (error, TL_ERROR, TL_ERROR_DEVICE,
                 "mock cudaStreamSynchronize: operation not permitted when stream is capturing");
    return FALSE;
  }
  return TRUE;
}

static void *
mock_current_stream (void)
{
  return (void *) &capturing;
}

static const TlBackend mock_backend = {
  .abi = TL_BACKEND_ABI,
  .name = "cuda",
  .device_count = mock_device_count,
  .set_device = mock_set_device,
  .describe = mock_describe,
  .alloc = mock_alloc,
  .free = mock_free,
  .mem_stats = mock_mem_stats,
  .empty_cache = mock_empty_cache,
  .memcpy = mock_memcpy,
  .memset_zero = mock_memset_zero,
  .synchronize = mock_synchronize,
  .lookup_kernel = mock_lookup_kernel,
  .current_stream = mock_current_stream,
  .graph_begin = mock_graph_begin,
  .graph_end = mock_graph_end,
  .graph_launch = mock_graph_launch,
  .graph_free = mock_graph_free,
  .get_extension = mock_get_extension,
};

G_MODULE_EXPORT const TlBackend *tl_backend_query (void);

const TlBackend *
tl_backend_query (void)
{
  return &mock_backend;
}
