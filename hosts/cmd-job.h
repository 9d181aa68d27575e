/* cmd-job.h — what `tlhost run` and `tlhost validate` share: load a job,
 * apply overlays and --set assignments, validate it (cmd-validate.c). */
#ifndef TLHOST_CMD_JOB_H
#define TLHOST_CMD_JOB_H

#include <tl/tl.h>

/* Load `path`, apply overlays then sets (both NULL-terminated, nullable),
 * add the comma-separated allow lists, create a registry and validate.
 * On failure prints every error to stderr and returns the exit status
 * (2: invalid job, 1: other failure); on success returns 0 and sets *job
 * and *reg (caller frees). quiet: no registry warnings. */
int tlhost_job_prepare (const char *path, char **overlays, char **sets, char **allow, gboolean quiet,
                        TlJob **job, TlRegistry **reg);

#endif
