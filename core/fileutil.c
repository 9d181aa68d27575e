/* fileutil.c — atomic file writes and aligned allocation. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "tl-private.h"

struct _TlAtomicFile {
  char *path;
  char *tmp_path;
  FILE *fp;
};

static gboolean
fsync_dir_of (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  int fd = open (dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0)
    return FALSE;
  gboolean ok = fsync (fd) == 0 || errno == EINVAL; /* some filesystems refuse dir fsync */
  close (fd);
  return ok;
}

/* The process umask without changing it (umask(2) cannot read it without
 * writing it, which would race with other threads): Linux reports it in
 * /proc/self/status; fall back to 022. */
static mode_t
current_umask (void)
{
  static gsize once = 0;
  static mode_t mask = 022;
  if (g_once_init_enter (&once)) {
    g_autofree char *status = NULL;
    if (g_file_get_contents ("/proc/self/status", &status, NULL, NULL)) {
      const char *p = strstr (status, "\nUmask:");
      if (p)
        mask = (mode_t) strtoul (p + 8, NULL, 8) & 0777;
    }
    g_once_init_leave (&once, 1);
  }
  return mask;
}

TlAtomicFile *
_tl_priv_atomic_open (const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  char *tmpl = g_strdup_printf ("%s/.%s.XXXXXX", dir, base);
  int fd = g_mkstemp (tmpl);
  if (fd < 0) {
    int e = errno;
    g_set_error (error, TL_ERROR, TL_ERROR_IO, "%s: cannot create a temporary file: %s", path,
                 g_strerror (e));
    g_free (tmpl);
    return NULL;
  }
  /* mkstemp creates 0600; give the file the mode a plain fopen would (or
   * keep the mode of the file it replaces). */
  struct stat st;
  mode_t mode = g_stat (path, &st) == 0 ? (st.st_mode & 07777) : (0666 & ~current_umask ());
  (void) fchmod (fd, mode); /* on failure the file merely stays owner-only */
  FILE *fp = fdopen (fd, "wb");
  if (!fp) {
    int e = errno;
    close (fd);
    g_unlink (tmpl);
    g_set_error (error, TL_ERROR, TL_ERROR_IO, "%s: %s", path, g_strerror (e));
    g_free (tmpl);
    return NULL;
  }
  TlAtomicFile *f = g_new0 (TlAtomicFile, 1);
  f->path = g_strdup (path);
  f->tmp_path = tmpl;
  f->fp = fp;
  return f;
}

FILE *
_tl_priv_atomic_stream (TlAtomicFile *f)
{
  return f->fp;
}

static void
atomic_free (TlAtomicFile *f)
{
  g_free (f->path);
  g_free (f->tmp_path);
  g_free (f);
}

void
_tl_priv_atomic_abort (TlAtomicFile *f)
{
  if (!f)
    return;
  if (f->fp)
    fclose (f->fp);
  g_unlink (f->tmp_path);
  atomic_free (f);
}

gboolean
_tl_priv_atomic_commit (TlAtomicFile *f, GError **error)
{
  int e = 0;
  if (fflush (f->fp) != 0 || ferror (f->fp))
    e = errno ? errno : EIO;
  else if (fsync (fileno (f->fp)) != 0)
    e = errno;
  if (fclose (f->fp) != 0 && e == 0)
    e = errno;
  f->fp = NULL;
  if (e == 0 && g_rename (f->tmp_path, f->path) != 0)
    e = errno;
  if (e != 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_IO, "%s: write failed: %s", f->path, g_strerror (e));
    g_unlink (f->tmp_path);
    atomic_free (f);
    return FALSE;
  }
  fsync_dir_of (f->path);
  atomic_free (f);
  return TRUE;
}

gboolean
_tl_priv_write_atomic (const char *path, const void *data, gsize len, GError **error)
{
  TlAtomicFile *f = _tl_priv_atomic_open (path, error);
  if (!f)
    return FALSE;
  if (len > 0 && fwrite (data, 1, len, f->fp) != len) {
    int e = errno;
    _tl_priv_atomic_abort (f);
    g_set_error (error, TL_ERROR, TL_ERROR_IO, "%s: write failed: %s", path, g_strerror (e));
    return FALSE;
  }
  return _tl_priv_atomic_commit (f, error);
}

void *
_tl_priv_aligned_alloc (gsize size)
{
  void *p = NULL;
  if (size == 0)
    size = 64;
  /* round up so that vector loops may read a full last line */
  gsize rounded = (size + 63) & ~(gsize) 63;
  if (rounded < size || posix_memalign (&p, 64, rounded) != 0)
    return NULL;
  return p;
}

void
_tl_priv_aligned_free (void *p)
{
  free (p);
}
