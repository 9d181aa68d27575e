/* placement.c — the paper's three device placement policies (DAPPLE,
 * section 4.3): fresh first (a stage takes devices of untouched machines
 * first, so its replicas share a machine), append first (it fills machines
 * already in use first, leaving fresh machines whole), scatter first (its
 * replicas spread evenly over the machines). */
#include "dapple-private.h"

static const char *const policy_names[DAPPLE_N_POLICIES] = { "fresh", "append", "scatter" };

/**
 * dapple_policy_name:
 * @p: a policy
 *
 * Returns: (transfer none): "fresh", "append" or "scatter".
 */
const char *
dapple_policy_name (DapplePolicy p)
{
  return (guint) p < DAPPLE_N_POLICIES ? policy_names[p] : "?";
}

/**
 * dapple_policy_from_name:
 * @name: "fresh", "append" or "scatter"
 * @out: (out): the policy
 *
 * Returns: %FALSE for an unknown name.
 */
gboolean
dapple_policy_from_name (const char *name, DapplePolicy *out)
{
  for (guint i = 0; i < DAPPLE_N_POLICIES; i++)
    if (g_strcmp0 (name, policy_names[i]) == 0) {
      *out = (DapplePolicy) i;
      return TRUE;
    }
  return FALSE;
}

/**
 * dapple_shape_init:
 * @shape: (out): the shape
 * @c: a cluster
 * @error: return location for a #GError
 *
 * Reads the machine shape of @c: every machine must hold the same number
 * of devices, numbered machine by machine; at most %DAPPLE_MAX_DEVICES
 * devices on at most %DAPPLE_MAX_MACHINES machines (machine sets are
 * 64-bit masks).
 *
 * Returns: %FALSE with @error for an empty, uneven or too large cluster.
 */
gboolean
dapple_shape_init (DappleShape *shape, const TlCluster *c, GError **error)
{
  guint n = tl_cluster_n_devices (c), k = tl_cluster_n_machines (c);
  if (n == 0 || k == 0 || n % k != 0 || n > DAPPLE_MAX_DEVICES) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                 "dapple: the cluster must have 1 to %u devices, the same number on every machine (%u devices on %u machines)",
                 DAPPLE_MAX_DEVICES, n, k);
    return FALSE;
  }
  if (k > DAPPLE_MAX_MACHINES) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "dapple: the cluster has %u machines; at most %u are supported",
                 k, DAPPLE_MAX_MACHINES);
    return FALSE;
  }
  for (guint d = 0; d < n; d++)
    if (tl_cluster_device_machine (c, d) != d / (n / k)) {
      g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED,
                   "dapple: devices must be numbered machine by machine, the same number on each");
      return FALSE;
    }
  shape->n_machines = k;
  shape->per_machine = n / k;
  shape->cluster = c;
  return TRUE;
}

static void
take (const DappleShape *shape, guint *free_count, guint m, guint count, guint *devices, guint *n_out)
{
  for (guint i = 0; i < count; i++) {
    devices[(*n_out)++] = m * shape->per_machine + (shape->per_machine - free_count[m]);
    free_count[m]--;
  }
}

/**
 * dapple_place:
 * @shape: machine shape
 * @policy: placement policy
 * @free_count: (inout): free devices per machine (used from the lowest index)
 * @g: devices wanted
 * @devices: (out caller-allocates): @g device ids
 *
 * Returns: %FALSE (nothing changed) when fewer than @g devices are free.
 */
gboolean
dapple_place (const DappleShape *shape, DapplePolicy policy, guint *free_count, guint g, guint *devices)
{
  guint total = 0, got = 0;
  for (guint m = 0; m < shape->n_machines; m++)
    total += free_count[m];
  if (g == 0 || g > total)
    return FALSE;
  guint need = g;
  switch (policy) {
  case DAPPLE_FRESH_FIRST:
  case DAPPLE_APPEND_FIRST:
    /* two passes: fresh machines then partly used ones (or the reverse) */
    for (guint pass = 0; pass < 2 && need > 0; pass++) {
      gboolean want_fresh = (policy == DAPPLE_FRESH_FIRST) == (pass == 0);
      for (guint m = 0; m < shape->n_machines && need > 0; m++) {
        gboolean fresh = free_count[m] == shape->per_machine;
        if (fresh != want_fresh || free_count[m] == 0)
          continue;
        guint c = MIN (need, free_count[m]);
        take (shape, free_count, m, c, devices, &got);
        need -= c;
      }
    }
    break;
  case DAPPLE_SCATTER_FIRST:
  default:
    while (need > 0) {
      guint best = 0;
      for (guint m = 1; m < shape->n_machines; m++)
        if (free_count[m] > free_count[best])
          best = m;
      take (shape, free_count, best, 1, devices, &got);
      need--;
    }
    break;
  }
  return TRUE;
}
