/* tl-planner.h — the planner component ABI, plans and cluster descriptions.
 *
 * A planner inspects a graph and a cluster and returns a TlPlan: a list of
 * items (kind + attributes), serialisable to XML so a deployment can store and
 * reuse it. apply() turns a plan into graph rewrites or annotations (fusion
 * groups, stage/replica/device). Same seed, same plan.
 */
#ifndef TL_PLANNER_H
#define TL_PLANNER_H

#include <glib.h>
#include <tl/tl-macros.h>
#include <tl/tl-attrs.h>
#include <tl/tl-graph.h>
#include <tl/tl-params.h>

TL_BEGIN_DECLS

typedef struct _TlPlanner TlPlanner; /* plugin-defined */
typedef struct _TlPlan TlPlan;       /* host-provided */
typedef struct _TlCluster TlCluster; /* host-provided */

/* --- plans -------------------------------------------------------------- */

/* (transfer full); tl_plan_free(NULL) is a no-op. */
TL_API TlPlan *tl_plan_new(const char *planner);
TL_API void tl_plan_free(TlPlan *plan);
TL_API const char *tl_plan_planner(const TlPlan *plan);
/* Plan-level attributes (objective, estimates ...). Borrowed, mutable. */
TL_API TlAttrs *tl_plan_attrs(TlPlan *plan);
TL_API const TlAttrs *tl_plan_get_attrs(const TlPlan *plan);
/* Append an item of `kind` ("group", "stage", ...); returns its attrs (borrowed). */
TL_API TlAttrs *tl_plan_add_item(TlPlan *plan, const char *kind);
TL_API guint tl_plan_n_items(const TlPlan *plan);
TL_API const char *tl_plan_item_kind(const TlPlan *plan, guint i);
TL_API const TlAttrs *tl_plan_item(const TlPlan *plan, guint i);
/* XML round trip (urn:tl:plan:1). (transfer full) */
TL_API char *tl_plan_to_xml(const TlPlan *plan);
TL_API TlPlan *tl_plan_from_xml(const char *xml, gssize len, const char *filename, GError **error);
TL_API gboolean tl_plan_equal(const TlPlan *a, const TlPlan *b);

/* --- cluster descriptions ----------------------------------------------- */

/* One process, one CPU device with this machine's memory. (transfer full) */
TL_API TlCluster *tl_cluster_new_local(void);
/* From XML (urn:tl:cluster:1); errors name file:line. (transfer full) */
TL_API TlCluster *tl_cluster_load(const char *path, GError **error);
TL_API TlCluster *tl_cluster_parse(const char *xml, gssize len, const char *filename, GError **error);
TL_API void tl_cluster_free(TlCluster *c);
TL_API guint tl_cluster_n_machines(const TlCluster *c);
TL_API guint tl_cluster_n_devices(const TlCluster *c); /* all machines */
TL_API guint tl_cluster_device_machine(const TlCluster *c, guint device);
TL_API const char *tl_cluster_device_kind(const TlCluster *c, guint device); /* "cpu", "gpu" */
TL_API double tl_cluster_device_memory(const TlCluster *c, guint device);    /* bytes */
TL_API double tl_cluster_device_flops(const TlCluster *c, guint device);     /* peak flop/s */
TL_API double tl_cluster_device_bandwidth(const TlCluster *c, guint device); /* memory B/s */
/* Link between two devices: bytes/s and seconds of latency
 * (intra-machine when on the same machine). */
TL_API double tl_cluster_link_bandwidth(const TlCluster *c, guint a, guint b);
TL_API double tl_cluster_link_latency(const TlCluster *c, guint a, guint b);

/* --- the component table ------------------------------------------------- */

typedef struct {
  TL_TABLE_HEADER;
  /* (required) */
  TlPlanner *(*create)(const TlParams *params, GError **error);
  /* (required) NULL-safe. */
  void (*destroy)(TlPlanner *p);
  /* (required) Inspect g (not modified) and return a plan. (transfer full) */
  TlPlan *(*plan)(TlPlanner *p, const TlGraph *g, const TlCluster *cluster, guint64 seed,
                  GError **error);
  /* (required) Apply a plan (from plan() or loaded from XML) to g. */
  gboolean (*apply)(TlPlanner *p, const TlPlan *plan, TlGraph *g, GError **error);
  /* (optional) */
  const void *(*get_extension)(const char *id);
} TlPlannerDef;

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TlPlan, tl_plan_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TlCluster, tl_cluster_free)

TL_END_DECLS

#endif /* TL_PLANNER_H */
