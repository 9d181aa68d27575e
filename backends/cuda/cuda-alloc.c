/* cuda-alloc.c — caching device allocator (one per device, shared by the
 * threads of the process).
 *
 * Requests are rounded up to a size class: multiples of 512 bytes below
 * 1 MiB, then four classes per power of two (at most 25% waste). Freed
 * blocks go to the free list of their class and are handed out again to a
 * request of the same class made on the stream that allocated them (the
 * block's owner), which keeps reuse stream-ordered: work queued on the owner
 * finishes before work it queues later.
 *
 * Each host thread has its own stream, and a block may be freed by another
 * thread than the one that allocated it, with work still queued on its own
 * stream (tl_exec_run returns before the kernels ran). Then the free records
 * an event on the freeing thread's stream, kept with the block, and the
 * owner's next reuse of the block waits for that event on the host
 * (cudaEventSynchronize; the usual case, a block freed by its owner, costs
 * nothing). A host wait rather than cudaStreamWaitEvent: it is rare, it is
 * legal while the reusing stream is being captured into a graph (relaxed
 * mode), and it leaves nothing behind in the reusing stream. Work queued on
 * a third stream, neither the owner nor the freeing one, is not tracked.
 *
 * When a thread exits its streams are synchronised and the blocks they own
 * become ownerless: any stream may reuse them (after the event, if one was
 * recorded by a free on another stream).
 *
 * Memory returns to the driver only in empty_cache() or when cudaMalloc
 * fails (then the cache is emptied and the call retried). Never managed
 * memory.
 */
#include "config.h"

#include <cuda_runtime.h>

#include "cuda-private.h"

#define MAX_DEVICES 64

typedef struct {
  void *ptr;
  gsize size;             /* class size */
  cudaStream_t stream;    /* owner: the stream that may reuse it; NULL: any */
  cudaEvent_t event;      /* free block: recorded on ev_stream at the free, */
  cudaStream_t ev_stream; /* another stream than the owner; else NULL */
  gboolean in_use;
} Block;

typedef struct {
  GMutex lock;
  gboolean init;
  GHashTable *blocks; /* ptr -> Block* (all blocks of the device, owned) */
  GHashTable *free;   /* class size -> GSList* of Block* */
  GSList *events;     /* idle cudaEvent_t of the device, for reuse */
  TlBackendMemStats stats;
} DeviceCache;

static DeviceCache caches[MAX_DEVICES];
static GMutex caches_init_lock;

static DeviceCache *
cache_of (int dev)
{
  if (dev < 0 || dev >= MAX_DEVICES)
    dev = 0;
  DeviceCache *c = &caches[dev];
  g_mutex_lock (&caches_init_lock);
  if (!c->init) {
    g_mutex_init (&c->lock);
    c->blocks = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
    c->free = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
    c->init = TRUE;
  }
  g_mutex_unlock (&caches_init_lock);
  return c;
}

static gsize
size_class (gsize n)
{
  if (n == 0)
    n = 1;
  if (n < (1u << 20))
    return (n + 511) & ~(gsize) 511;
  /* four classes per octave: 2^k, 1.25*2^k, 1.5*2^k, 1.75*2^k */
  int k = 63 - __builtin_clzll ((unsigned long long) n);
  gsize base = (gsize) 1 << k, step = base >> 2;
  return base + ((n - base + step - 1) / step) * step;
}

/* Free lists are keyed by class size (an owned gint64). */
static gint64 *
key_of (gsize size)
{
  gint64 *k = g_new (gint64, 1);
  *k = (gint64) size;
  return k;
}

/* b (in use) goes to the free list of its class. Called with c->lock. */
static void
push_free (DeviceCache *c, Block *b)
{
  b->in_use = FALSE;
  c->stats.bytes_in_use -= b->size;
  c->stats.bytes_cached += b->size;
  gint64 k = (gint64) b->size;
  GSList *list = g_hash_table_lookup (c->free, &k);
  g_hash_table_insert (c->free, key_of (b->size), g_slist_prepend (list, b));
}

/* A block of dev's cache freed by a thread whose stream on dev is `f`,
 * another stream than the block's owner: an event recorded on f (an idle
 * one of the pool, else a new one), or NULL when no event could be made
 * (then *sync_f is set: the caller waits for f, unlocked) or f is being captured (an
 * event recorded now would be part of the graph; the captured work runs at
 * replays, which the allocator cannot order anyway — see cuda-graph.c).
 * Called with c->lock. */
static cudaEvent_t
record_free_event (DeviceCache *c, int dev, cudaStream_t f, gboolean *sync_f)
{
  enum cudaStreamCaptureStatus cs = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing (f, &cs) != cudaSuccess) {
    cudaGetLastError ();
    cs = cudaStreamCaptureStatusNone;
  }
  if (cs != cudaStreamCaptureStatusNone)
    return NULL;
  int cur = dev;
  cudaGetDevice (&cur);
  if (cur != dev)
    cudaSetDevice (dev); /* the event must belong to f's device */
  cudaEvent_t ev = NULL;
  cudaError_t st = cudaSuccess;
  if (c->events) {
    ev = c->events->data;
    c->events = g_slist_delete_link (c->events, c->events);
  } else {
    st = cudaEventCreateWithFlags (&ev, cudaEventDisableTiming);
  }
  if (st == cudaSuccess)
    st = cudaEventRecord (ev, f);
  if (st != cudaSuccess) {
    /* no event: wait for f here instead (correct, slower) */
    cudaGetLastError ();
    if (ev)
      cudaEventDestroy (ev);
    ev = NULL;
    *sync_f = TRUE; /* by the caller, once the cache is unlocked */
  }
  if (cur != dev)
    cudaSetDevice (cur);
  return ev;
}

static void
release_all_free (DeviceCache *c)
{
  GHashTableIter it;
  gpointer val;
  g_hash_table_iter_init (&it, c->free);
  while (g_hash_table_iter_next (&it, NULL, &val)) {
    for (GSList *l = val; l; l = l->next) {
      Block *b = l->data;
      /* cudaFree waits for the device, so the event has completed */
      if (b->event)
        c->events = g_slist_prepend (c->events, b->event);
      cudaFree (b->ptr);
      c->stats.bytes_cached -= b->size;
      g_hash_table_remove (c->blocks, b->ptr);
    }
    g_slist_free (val);
    g_hash_table_iter_remove (&it);
  }
}

void *
_tl_cuda_alloc (gsize nbytes, GError **error)
{
  int dev = _tl_cuda_current_device ();
  cudaStream_t stream = _tl_cuda_stream ();
  DeviceCache *c = cache_of (dev);
  gsize cls = size_class (nbytes);
  gint64 k = (gint64) cls;
  g_mutex_lock (&c->lock);
  GSList *list = g_hash_table_lookup (c->free, &k);
  for (GSList *l = list; l; l = l->next) {
    Block *b = l->data;
    if (!stream || (b->stream != stream && b->stream != NULL))
      continue;
    list = g_slist_delete_link (list, l);
    if (list)
      g_hash_table_insert (c->free, key_of (cls), list); /* frees the new key */
    else
      g_hash_table_remove (c->free, &k);
    b->in_use = TRUE;
    b->stream = stream;
    cudaEvent_t ev = b->event;
    cudaStream_t ev_stream = b->ev_stream;
    b->event = NULL;
    b->ev_stream = NULL;
    c->stats.bytes_cached -= b->size;
    c->stats.bytes_in_use += b->size;
    c->stats.peak_bytes_in_use = MAX (c->stats.peak_bytes_in_use, c->stats.bytes_in_use);
    c->stats.n_cache_hits++;
    g_mutex_unlock (&c->lock);
    if (!ev)
      return b->ptr;
    /* freed on another stream: its work on the block must be done (no
     * wait when that stream is ours: it is ordered before our next work).
     * Outside the lock: it may take as long as the other stream's work. */
    cudaError_t st = ev_stream == stream ? cudaSuccess : cudaEventSynchronize (ev);
    g_mutex_lock (&c->lock);
    if (st != cudaSuccess) {
      b->event = ev;
      b->ev_stream = ev_stream;
      push_free (c, b);
      g_mutex_unlock (&c->lock);
      _tl_cuda_set_error (error, st,
                          "cuda:%d: cudaEventSynchronize (reuse of a block freed on another stream)",
                          dev);
      return NULL;
    }
    c->events = g_slist_prepend (c->events, ev);
    g_mutex_unlock (&c->lock);
    return b->ptr;
  }
  void *p = NULL;
  cudaError_t st = cudaMalloc (&p, cls);
  if (st == cudaErrorMemoryAllocation) {
    cudaGetLastError ();
    release_all_free (c);
    st = cudaMalloc (&p, cls);
  }
  if (st != cudaSuccess) {
    cudaGetLastError ();
    guint64 used = c->stats.bytes_in_use, cached = c->stats.bytes_cached;
    g_mutex_unlock (&c->lock);
    _tl_cuda_set_error (error, st,
                        "cuda:%d: cudaMalloc(%" G_GSIZE_FORMAT " bytes for a request of %"
                        G_GSIZE_FORMAT "; %" G_GUINT64_FORMAT " bytes in use, %" G_GUINT64_FORMAT
                        " cached)",
                        dev, cls, nbytes, used, cached);
    if (st == cudaErrorMemoryAllocation && error && *error)
      (*error)->code = TL_ERROR_NO_MEMORY;
    return NULL;
  }
  Block *b = g_new0 (Block, 1);
  b->ptr = p;
  b->size = cls;
  b->stream = stream;
  b->in_use = TRUE;
  g_hash_table_insert (c->blocks, p, b);
  c->stats.bytes_in_use += cls;
  c->stats.peak_bytes_in_use = MAX (c->stats.peak_bytes_in_use, c->stats.bytes_in_use);
  c->stats.n_device_allocs++;
  g_mutex_unlock (&c->lock);
  return p;
}

void
_tl_cuda_free (void *ptr)
{
  if (!ptr)
    return;
  /* the block may belong to any device: look in each cache */
  for (int dev = 0; dev < MAX_DEVICES; dev++) {
    DeviceCache *c = &caches[dev];
    if (!c->init)
      continue;
    g_mutex_lock (&c->lock);
    Block *b = g_hash_table_lookup (c->blocks, ptr);
    if (!b) {
      g_mutex_unlock (&c->lock);
      continue;
    }
    if (!b->in_use) {
      g_mutex_unlock (&c->lock);
      g_critical ("CUDA allocator: double free of %p", ptr);
      return;
    }
    /* the freeing thread's stream on the block's device, if it has one
     * (a thread without one never queued work there) */
    cudaStream_t f = _tl_cuda_thread_stream (dev);
    gboolean sync_f = FALSE;
    if (f && f != b->stream) {
      b->event = record_free_event (c, dev, f, &sync_f);
      b->ev_stream = b->event ? f : NULL;
    }
    if (sync_f) {
      /* no event: wait for f before the block can be reused (correct,
       * slower), without holding every allocation of the device meanwhile */
      g_mutex_unlock (&c->lock);
      cudaStreamSynchronize (f);
      cudaGetLastError ();
      g_mutex_lock (&c->lock);
    }
    push_free (c, b);
    g_mutex_unlock (&c->lock);
    return;
  }
  g_critical ("CUDA allocator: free of unknown pointer %p", ptr);
}

void
_tl_cuda_mem_stats (TlBackendMemStats *stats)
{
  DeviceCache *c = cache_of (_tl_cuda_current_device ());
  g_mutex_lock (&c->lock);
  *stats = c->stats;
  g_mutex_unlock (&c->lock);
}

void
_tl_cuda_empty_cache (void)
{
  DeviceCache *c = cache_of (_tl_cuda_current_device ());
  /* blocks still referenced by queued work must not go back to the driver */
  cudaDeviceSynchronize ();
  g_mutex_lock (&c->lock);
  release_all_free (c);
  /* every event has completed: drop the idle ones */
  for (GSList *l = c->events; l; l = l->next)
    cudaEventDestroy ((cudaEvent_t) l->data);
  g_clear_pointer (&c->events, g_slist_free);
  g_mutex_unlock (&c->lock);
}

void
_tl_cuda_alloc_forget_stream (int dev, void *stream)
{
  if (dev < 0 || dev >= MAX_DEVICES || !caches[dev].init || !stream)
    return;
  DeviceCache *c = &caches[dev];
  g_mutex_lock (&c->lock);
  GHashTableIter it;
  gpointer val;
  g_hash_table_iter_init (&it, c->blocks);
  while (g_hash_table_iter_next (&it, NULL, &val)) {
    Block *b = val;
    if (b->stream == stream)
      b->stream = NULL;
    if (b->ev_stream == stream)
      b->ev_stream = NULL; /* its event has completed; the handle may be reused */
  }
  g_mutex_unlock (&c->lock);
}
