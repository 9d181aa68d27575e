/* cost.c — the explorer's cost model: memory traffic from the shared cost
 * model (tl_node_cost), a fixed cost per kernel launch, and a pressure
 * penalty for groups holding many live values per tile (registers/shared
 * memory on a GPU, L1/L2 on a CPU). */
#include "fusion-private.h"

/**
 * fusion_cost_model_init:
 * @cm: the model to fill
 * @cluster: (nullable): where the graph runs (device 0 is used)
 *
 * Defaults: 10 GB/s and 2 us per launch (CPU executor), or the device's
 * bandwidth and 5 us per launch on a GPU.
 */
void
fusion_cost_model_init (FusionCostModel *cm, const TlCluster *cluster)
{
  cm->bandwidth = 1e4;
  cm->launch_us = 2.0;
  if (cluster && tl_cluster_n_devices (cluster) > 0) {
    double bw = tl_cluster_device_bandwidth (cluster, 0);
    if (bw > 0)
      cm->bandwidth = bw / 1e6;
    if (g_strcmp0 (tl_cluster_device_kind (cluster, 0), "gpu") == 0)
      cm->launch_us = 5.0;
  }
  cm->pressure_us = 0.5;
  cm->max_live = 24;
  cm->max_group = 64;
}

/** fusion_value_bytes: Returns: bytes of @v's tensor. */
double
fusion_value_bytes (const TlValue *v)
{
  return (double) tl_tensor_desc_numel (tl_value_desc (v)) * tl_dtype_size (tl_value_dtype (v));
}

/** fusion_node_bytes: Returns: bytes @n reads and writes (shared cost model). */
double
fusion_node_bytes (const TlNode *n)
{
  TlOpCost c = { 0 };
  tl_node_cost (n, &c);
  return c.bytes_read + c.bytes_written;
}
