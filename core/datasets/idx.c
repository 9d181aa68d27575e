/* idx.c — "tl.idx": IDX files (the MNIST / Fashion-MNIST format).
 *
 * An IDX file is a big-endian header (two zero bytes, a type byte, the rank)
 * followed by rank 32-bit dimensions and the data. Only unsigned bytes
 * (type 0x08) are accepted, which is what MNIST-style sets use. Files may be
 * gzip-compressed (zlib reads plain files transparently).
 *
 * Fields: "image" f32 — [rows*cols] when flatten, else [1, rows, cols] —
 * scaled to [0, 1] when normalize, then (x - mean) / std; and "label" i64
 * with cardinality max(label) + 1 (over the whole file) when labels is set.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>
#include <zlib.h>

#include "columns.h"
#include "builtin/tl-builtin.h"

#define IDX_MAX_BYTES ((guint64) 1 << 34) /* refuse absurd headers before allocating */

typedef struct {
  char *display; /* base name, for messages */
  guint ndim;
  gint64 dims[4];
  guint64 numel;
  guint8 *data;  /* numel bytes (aligned alloc) */
} IdxFile;

static void
idx_file_clear (IdxFile *f)
{
  g_free (f->display);
  _tl_priv_aligned_free (f->data);
  memset (f, 0, sizeof *f);
}

/* Read exactly len bytes; returns the count read (short on EOF), -1 on error. */
static gint64
gz_read_all (gzFile gz, guint8 *buf, guint64 len)
{
  guint64 done = 0;
  while (done < len) {
    unsigned chunk = (unsigned) MIN (len - done, (guint64) 1 << 30);
    int n = gzread (gz, buf + done, chunk);
    if (n < 0)
      return -1;
    if (n == 0)
      break;
    done += (guint64) n;
  }
  return (gint64) done;
}

static gboolean
idx_file_load (IdxFile *f, const char *path, guint min_ndim, guint max_ndim, GError **error)
{
  f->display = g_path_get_basename (path);
  gzFile gz = gzopen (path, "rb");
  if (!gz) {
    int e = errno;
    g_set_error (error, TL_ERROR, e == ENOENT ? TL_ERROR_NOT_FOUND : TL_ERROR_IO,
                 "%s: cannot open: %s", path, e ? g_strerror (e) : "out of memory");
    return FALSE;
  }
  gboolean ok = FALSE;
  guint8 hdr[4];
  if (gz_read_all (gz, hdr, 4) != 4) {
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "%s: truncated: no IDX header", f->display);
    goto out;
  }
  if (hdr[0] != 0 || hdr[1] != 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE,
                 "%s: bad magic 0x%02x%02x%02x%02x: not an IDX file", f->display, hdr[0], hdr[1],
                 hdr[2], hdr[3]);
    goto out;
  }
  if (hdr[2] != 0x08) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "%s: IDX data type 0x%02x is not supported (only 0x08, unsigned bytes)",
                 f->display, hdr[2]);
    goto out;
  }
  if (hdr[3] < min_ndim || hdr[3] > max_ndim) {
    if (min_ndim == max_ndim)
      g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "%s: rank %u, expected %u", f->display,
                   hdr[3], min_ndim);
    else
      g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "%s: rank %u, expected %u to %u", f->display,
                   hdr[3], min_ndim, max_ndim);
    goto out;
  }
  f->ndim = hdr[3];
  f->numel = 1;
  for (guint d = 0; d < f->ndim; d++) {
    guint8 b[4];
    if (gz_read_all (gz, b, 4) != 4) {
      g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "%s: truncated: incomplete IDX header",
                   f->display);
      goto out;
    }
    guint32 v = ((guint32) b[0] << 24) | ((guint32) b[1] << 16) | ((guint32) b[2] << 8) | b[3];
    if (v == 0 || v > G_MAXINT32) {
      g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "%s: invalid dimension %u of size %u",
                   f->display, d, v);
      goto out;
    }
    f->dims[d] = v;
    f->numel *= v;
    if (f->numel > IDX_MAX_BYTES) {
      g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "%s: header declares more than %" G_GUINT64_FORMAT
                   " bytes of data", f->display, IDX_MAX_BYTES);
      goto out;
    }
  }
  /* A few header bytes must not make us allocate gigabytes: the file must
   * be able to hold the data (deflate expands at most ~1032:1). */
  GStatBuf sb;
  if (g_stat (path, &sb) == 0 && sb.st_size >= 0) {
    guint64 hdr_len = 4 + 4 * (guint64) f->ndim;
    guint64 size = (guint64) sb.st_size;
    if (gzdirect (gz)) {
      guint64 avail = size > hdr_len ? size - hdr_len : 0;
      if (f->numel > avail) {
        g_set_error (error, TL_ERROR, TL_ERROR_PARSE,
                     "%s: truncated: expected %" G_GUINT64_FORMAT " bytes of data, got %"
                     G_GUINT64_FORMAT, f->display, f->numel, avail);
        goto out;
      }
    } else if (f->numel / 1032 > size) {
      g_set_error (error, TL_ERROR, TL_ERROR_PARSE,
                   "%s: truncated: expected %" G_GUINT64_FORMAT " bytes of data, more than %"
                   G_GUINT64_FORMAT " compressed bytes can hold", f->display, f->numel, size);
      goto out;
    }
  }
  f->data = _tl_priv_aligned_alloc (f->numel);
  if (!f->data) {
    g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY, "%s: cannot allocate %" G_GUINT64_FORMAT
                 " bytes", f->display, f->numel);
    goto out;
  }
  gint64 got = gz_read_all (gz, f->data, f->numel);
  if (got < 0) {
    int errnum = 0;
    const char *msg = gzerror (gz, &errnum);
    g_set_error (error, TL_ERROR, errnum == Z_ERRNO ? TL_ERROR_IO : TL_ERROR_PARSE, "%s: %s",
                 f->display, errnum == Z_ERRNO ? g_strerror (errno) : msg);
    goto out;
  }
  if ((guint64) got != f->numel) {
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE,
                 "%s: truncated: expected %" G_GUINT64_FORMAT " bytes of data, got %" G_GINT64_FORMAT,
                 f->display, f->numel, got);
    goto out;
  }
  guint8 extra;
  if (gz_read_all (gz, &extra, 1) > 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE,
                 "%s: trailing data after %" G_GUINT64_FORMAT " bytes of data", f->display, f->numel);
    goto out;
  }
  ok = TRUE;
out:
  gzclose (gz);
  return ok;
}

static TlDataset *
idx_open (const TlParams *params, GError **error)
{
  const char *images = tl_params_get_string (params, "images", "");
  const char *labels = tl_params_get_string (params, "labels", "");
  gboolean normalize = tl_params_get_bool (params, "normalize", TRUE);
  double mean = tl_params_get_float (params, "mean", 0.0);
  double std = tl_params_get_float (params, "std", 1.0);
  gboolean flatten = tl_params_get_bool (params, "flatten", TRUE);
  gint64 limit = tl_params_get_int (params, "limit", 0);

  if (!images || !*images) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "tl.idx: 'images' is required");
    return NULL;
  }
  if (!(std > 0)) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "tl.idx: 'std' must be > 0");
    return NULL;
  }

  IdxFile img = { 0 }, lab = { 0 };
  TlDataset *ds = NULL;
  if (!idx_file_load (&img, images, 1, 4, error))
    goto out;
  if (labels && *labels) {
    if (!idx_file_load (&lab, labels, 1, 1, error))
      goto out;
    if (lab.dims[0] != img.dims[0]) {
      g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                   "%s: %" G_GINT64_FORMAT " labels for %" G_GINT64_FORMAT " images in %s",
                   lab.display, lab.dims[0], img.dims[0], img.display);
      goto out;
    }
  }

  gint64 n = img.dims[0];
  gint64 per = (gint64) (img.numel / (guint64) n);
  gint64 n_keep = limit > 0 ? MIN (limit, n) : n;
  ds = _tl_priv_columns_new (n_keep);

  gint64 shape[4];
  guint ndim;
  if (flatten || img.ndim == 1) {
    ndim = img.ndim == 1 ? 0 : 1;
    shape[0] = per;
  } else {
    /* [1, rows, cols] for 3-d files (single channel); other ranks as stored */
    ndim = img.ndim == 3 ? 3 : img.ndim - 1;
    if (img.ndim == 3) {
      shape[0] = 1;
      shape[1] = img.dims[1];
      shape[2] = img.dims[2];
    } else {
      for (guint d = 1; d < img.ndim; d++)
        shape[d - 1] = img.dims[d];
    }
  }
  float *x = _tl_priv_columns_add (ds, "image", TL_DTYPE_F32, ndim, shape, -1, error);
  if (!x)
    goto fail;
  double scale = (normalize ? 1.0 / 255.0 : 1.0) / std;
  double shift = -mean / std;
  guint64 m = (guint64) n_keep * (guint64) per;
  for (guint64 i = 0; i < m; i++)
    x[i] = (float) (img.data[i] * scale + shift);

  if (lab.data) {
    guint8 max = 0;
    for (gint64 i = 0; i < n; i++)
      max = MAX (max, lab.data[i]);
    gint64 *y = _tl_priv_columns_add (ds, "label", TL_DTYPE_I64, 0, NULL, (gint64) max + 1, error);
    if (!y)
      goto fail;
    for (gint64 i = 0; i < n_keep; i++)
      y[i] = lab.data[i];
  }
  goto out;

fail:
  _tl_priv_columns_close (ds);
  ds = NULL;
out:
  idx_file_clear (&img);
  idx_file_clear (&lab);
  return ds;
}

const TlDatasetDef _tl_priv_idx_dataset = {
  TL_PRIV_COLUMNS_DATASET (idx_open),
};
