/* job-private.h — the job model shared by registry/job.c (parsing,
 * overlays, --set), job-validate.c and job-run.c. */
#ifndef TL_JOB_PRIVATE_H
#define TL_JOB_PRIVATE_H

#ifndef TL_COMPILATION
#error "job-private.h is internal to libtl-1"
#endif

#include <signal.h>
#include <tl/tl.h>

G_BEGIN_DECLS

#define TL_JOB_NS "urn:tl:job:1"

/* One assignment: a component <set> or a task attribute. */
typedef struct {
  char *name;
  char *value;    /* as written (before ${VAR} expansion) */
  char *loc;      /* "FILE:LINE" or "--set" */
  char *base_dir; /* relative paths resolve against this */
  gboolean before_swap; /* components: set before the <use> of swap_loc */
} JobSet;

typedef struct {
  TlComponentKind kind;
  char *id;
  char *component;  /* full name as written */
  char *loc;        /* where the component was named (job or overlay <use>) */
  GPtrArray *sets;  /* JobSet* */
  char *swap_loc;   /* the overlay <use> that last swapped the component
                       without reset="true" (NULL: none) */
  /* filled by validation */
  const TlComponentInfo *info;
  TlParams *params;
} JobComponent;

typedef struct {
  char *kind;
  char *loc;
  GPtrArray *attrs; /* JobSet* (not "kind") */
  /* filled by validation: expanded attribute values */
  GHashTable *values; /* name -> value (char*) */
} JobTask;

struct _TlJob {
  char *path;       /* as given ("<job>" for memory) */
  char *dir;        /* directory of the job file */
  char *name;
  GPtrArray *components; /* JobComponent* */
  GPtrArray *tasks;      /* JobTask* */
  GPtrArray *allow;      /* JobSet* (name = plugin id) */
  JobSet *cluster;       /* NULL: local */
  char *cluster_resolved;
  gboolean validated;
  const TlRegistry *validated_with; /* component infos point into it */
  TlMetrics final;
  char *output_dir;
  volatile sig_atomic_t cancelled;
};

G_GNUC_INTERNAL JobComponent *_tl_priv_job_find_component (const TlJob *job, const char *id);
G_GNUC_INTERNAL JobSet *_tl_priv_job_set_find (GPtrArray *sets, const char *name);
/* "a, b, c" list of the ids of components of `kind` (TL_COMPONENT_NONE: all). */
G_GNUC_INTERNAL char **_tl_priv_job_ids (const TlJob *job, TlComponentKind kind);
/* Expand ${VAR}; resolve relative paths against base_dir when is_path. */
G_GNUC_INTERNAL char *_tl_priv_job_expand (const JobSet *s, gboolean is_path, GError **error);

G_END_DECLS

#endif /* TL_JOB_PRIVATE_H */
