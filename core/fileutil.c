/* fileutil.c — atomic file writes and aligned allocation. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "tl-private.h"

/* A temporary file untouched for this long may be stale (see
 * remove_stale_temps()). */
#define STALE_TEMP_AGE_S 60

struct _TlAtomicFile {
  char *path;
  char *tmp_path;
  FILE *fp;     /* on a dup() of lock_fd */
  int lock_fd;  /* holds the flock() that marks the temp file as in use */
};

/* Returns 0, or the errno of a failure to sync the directory of `path`
 * (filesystems that cannot sync a directory are no failure). */
static int
fsync_dir_of (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno;
  int e = fsync (fd) == 0 ? 0 : errno;
  close (fd);
  if (e == EINVAL || e == ENOTSUP || e == EOPNOTSUPP || e == EROFS)
    e = 0;
  return e;
}

/* Temporary files are "." BASE TEMP_MARK "XXXXXX": the mark keeps a user's
 * own ".BASE.backup" out of reach of remove_stale_temps(). */
#define TEMP_MARK ".tl-tmp."

/* "." BASE TEMP_MARK and the six letters or digits of mkstemp's XXXXXX. */
static gboolean
is_temp_name (const char *name, const char *base)
{
  gsize bl = strlen (base), ml = strlen (TEMP_MARK);
  if (name[0] != '.' || strncmp (name + 1, base, bl) != 0 || strncmp (name + 1 + bl, TEMP_MARK, ml) != 0)
    return FALSE;
  const char *x = name + 1 + bl + ml;
  for (int i = 0; i < 6; i++)
    if (!g_ascii_isalnum (x[i]))
      return FALSE;
  return x[6] == '\0';
}

static gboolean
is_stale (const struct stat *st, time_t now)
{
  return S_ISREG (st->st_mode) && st->st_uid == geteuid () &&
         st->st_mtime <= now - STALE_TEMP_AGE_S;
}

/* Stale temporary files of earlier writes of BASE in DIR.
 *
 * A process killed while writing DIR/BASE (SIGKILL, OOM killer, power loss)
 * leaves DIR/.BASE.tl-tmp.XXXXXX, as large as the file, that nothing else
 * would remove. Each atomic write of BASE first removes such a file when all
 * of these hold:
 *   - its name is exactly "." BASE ".tl-tmp." and six letters or digits;
 *   - it is a regular file owned by our effective user;
 *   - it was last modified at least STALE_TEMP_AGE_S seconds ago (and not in
 *     the future), checked again on the open file;
 *   - no one holds a flock() on it: every writer takes an exclusive flock()
 *     on its temporary file right after creating it and keeps it until the
 *     file is renamed or removed; the kernel drops the lock when the writer
 *     dies, however it dies.
 * The lock is what keeps a live writer's file, in this or another process
 * (two threads or processes writing the same file). The age covers the
 * moment between a writer's mkstemp() and its flock(), and filesystems
 * whose locks are not shared between hosts (NFS mounted with local_lock):
 * there a writer on another host that stalled for a minute mid-write would
 * lose its temporary file, and then its rename fails and reports an error,
 * the old file kept. A temporary file of a write killed less than a minute
 * ago therefore stays until a later write of the same file. Best effort:
 * errors are ignored. */
static void
remove_stale_temps (const char *dir, const char *base)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  if (!d)
    return;
  time_t now = time (NULL);
  const char *name;
  while ((name = g_dir_read_name (d))) {
    if (!is_temp_name (name, base))
      continue;
    g_autofree char *p = g_build_filename (dir, name, NULL);
    struct stat st, fst;
    if (lstat (p, &st) != 0 || !is_stale (&st, now))
      continue;
    /* for writing where it can: NFS emulates flock() with byte-range
     * locks, and an exclusive one needs a file open for writing */
    int fd = open (p, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
      fd = open (p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
      continue;
    /* the same file still, stale and unlocked: then remove it while we
     * hold the lock */
    if (flock (fd, LOCK_EX | LOCK_NB) == 0 && fstat (fd, &fst) == 0 && is_stale (&fst, now) &&
        lstat (p, &st) == 0 && st.st_dev == fst.st_dev && st.st_ino == fst.st_ino)
      g_unlink (p);
    close (fd);
  }
  g_dir_close (d);
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

/**
 * _tl_priv_atomic_open:
 * @path: the file to replace
 * @error: return location for a #GError
 *
 * Starts an atomic write of @path: a temporary file DIR/.NAME.tl-tmp.XXXXXX, locked
 * with flock() while it is written. Stale temporary files of @path left by
 * killed writers are removed first (the rule is at remove_stale_temps()).
 *
 * Returns: (transfer full) (nullable): the write to commit or abort.
 */
TlAtomicFile *
_tl_priv_atomic_open (const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  remove_stale_temps (dir, base);
  char *tmpl = g_strdup_printf ("%s/.%s" TEMP_MARK "XXXXXX", dir, base);
  /* close-on-exec from the start: a child spawned by another thread must
   * not inherit it (and its lock) */
  int fd = g_mkstemp_full (tmpl, O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    int e = errno;
    g_set_error (error, TL_ERROR, TL_ERROR_IO, "%s: cannot create a temporary file: %s", path,
                 g_strerror (e));
    g_free (tmpl);
    return NULL;
  }
  /* in use: remove_stale_temps() leaves it alone (where locks are not
   * shared between hosts, the file's age protects it; where flock() fails,
   * no one removes it) */
  (void) flock (fd, LOCK_EX | LOCK_NB);
  /* mkstemp creates 0600; give the file the mode a plain fopen would (or
   * keep the mode of the file it replaces). */
  struct stat st;
  mode_t mode = g_stat (path, &st) == 0 ? (st.st_mode & 07777) : (0666 & ~current_umask ());
  (void) fchmod (fd, mode); /* on failure the file merely stays owner-only */
  /* the stream writes through a duplicate so that fclose() (which reports
   * write errors) leaves the lock held until after the rename */
  int wfd = fcntl (fd, F_DUPFD_CLOEXEC, 0);
  FILE *fp = wfd >= 0 ? fdopen (wfd, "wb") : NULL;
  if (!fp) {
    int e = errno;
    if (wfd >= 0)
      close (wfd);
    g_unlink (tmpl);
    close (fd);
    g_set_error (error, TL_ERROR, TL_ERROR_IO, "%s: %s", path, g_strerror (e));
    g_free (tmpl);
    return NULL;
  }
  TlAtomicFile *f = g_new0 (TlAtomicFile, 1);
  f->path = g_strdup (path);
  f->tmp_path = tmpl;
  f->fp = fp;
  f->lock_fd = fd;
  return f;
}

FILE *
_tl_priv_atomic_stream (TlAtomicFile *f)
{
  return f->fp;
}

/* Also drops the lock: call it after the rename or unlink. */
static void
atomic_free (TlAtomicFile *f)
{
  close (f->lock_fd);
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
  /* After the rename every reader sees the new file and the old one is
   * gone: failing now would say the reverse. What a failed directory sync
   * loses is only durability across a system crash, so it is a warning. */
  int de = fsync_dir_of (f->path);
  if (de != 0)
    tl_warning ("%s: written, but syncing its directory failed (%s): a system crash could still "
                "lose the new file",
                f->path, g_strerror (de));
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
