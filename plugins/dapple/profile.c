/* profile.c — per-layer profiles for the dapple planner: read from a
 * profile file, or derived from a train graph (layers grouped by the
 * TL_ANNOT_LAYER annotation or by parameter names) with tl's cost model or
 * tl_exec_profile().
 *
 * Profile file (text, '#' starts a comment):
 *
 *   batch 32
 *   # name  fwd_s  bwd_s  act_bytes  out_bytes  param_bytes
 *   conv1   1.2e-3 2.4e-3 4.1e8      1.0e8      7.0e3
 *
 * Times, activation and output bytes are for `batch` samples.
 */
#include <math.h>
#include <string.h>

#include "dapple-private.h"

/**
 * dapple_profile_new:
 * @n_layers: layer count
 * @batch: samples the figures are for
 *
 * Returns: (transfer full): a zeroed profile.
 */
DappleProfile *
dapple_profile_new (guint n_layers, double batch)
{
  DappleProfile *p = g_new0 (DappleProfile, 1);
  p->n_layers = n_layers;
  p->layers = g_new0 (DappleLayer, MAX (n_layers, 1));
  p->batch = batch;
  return p;
}

/**
 * dapple_profile_free:
 * @p: (nullable): a profile
 */
void
dapple_profile_free (DappleProfile *p)
{
  if (!p)
    return;
  for (guint i = 0; i < p->n_layers; i++)
    g_free (p->layers[i].name);
  g_free (p->layers);
  g_free (p->source);
  g_free (p);
}

static gboolean
parse_number (const char *s, double *out)
{
  char *end = NULL;
  double v = g_ascii_strtod (s, &end);
  if (!end || end == s || *end || !isfinite (v) || v < 0)
    return FALSE;
  *out = v;
  return TRUE;
}

/**
 * dapple_profile_parse:
 * @text: profile text
 * @filename: name for error messages
 * @error: return location for a #GError
 *
 * Parses a profile; errors read "FILE:LINE: message".
 *
 * Returns: (transfer full) (nullable): the profile.
 */
DappleProfile *
dapple_profile_parse (const char *text, const char *filename, GError **error)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  GArray *layers = g_array_new (FALSE, TRUE, sizeof (DappleLayer));
  double batch = 0;
  for (guint ln = 0; lines[ln]; ln++) {
    char *hash = strchr (lines[ln], '#');
    if (hash)
      *hash = '\0';
    g_auto (GStrv) f = g_strsplit_set (g_strstrip (lines[ln]), " \t", -1);
    GPtrArray *w = g_ptr_array_new ();
    for (guint i = 0; f[i]; i++)
      if (*f[i])
        g_ptr_array_add (w, f[i]);
    if (w->len == 0) {
      g_ptr_array_free (w, TRUE);
      continue;
    }
    const char *why = NULL;
    if (g_str_equal (w->pdata[0], "batch")) {
      if (w->len != 2 || !parse_number (w->pdata[1], &batch) || batch <= 0)
        why = "expected \"batch N\" with N > 0";
    } else if (w->len != 6) {
      why = "expected \"name fwd_s bwd_s act_bytes out_bytes param_bytes\"";
    } else {
      DappleLayer l = { 0 };
      if (!parse_number (w->pdata[1], &l.fwd) || !parse_number (w->pdata[2], &l.bwd) ||
          !parse_number (w->pdata[3], &l.act) || !parse_number (w->pdata[4], &l.out) ||
          !parse_number (w->pdata[5], &l.params))
        why = "layer figures must be finite numbers >= 0";
      else {
        l.name = g_strdup (w->pdata[0]);
        g_array_append_val (layers, l);
      }
    }
    g_ptr_array_free (w, TRUE);
    if (why) {
      g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "%s:%u: %s", filename, ln + 1, why);
      for (guint i = 0; i < layers->len; i++)
        g_free (g_array_index (layers, DappleLayer, i).name);
      g_array_free (layers, TRUE);
      return NULL;
    }
  }
  if (layers->len == 0 || batch <= 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "%s:1: a profile needs a \"batch N\" line and at least one layer",
                 filename);
    for (guint i = 0; i < layers->len; i++)
      g_free (g_array_index (layers, DappleLayer, i).name);
    g_array_free (layers, TRUE);
    return NULL;
  }
  DappleProfile *p = g_new0 (DappleProfile, 1);
  p->n_layers = layers->len;
  p->batch = batch;
  p->layers = (DappleLayer *) g_array_free (layers, FALSE);
  p->source = g_strdup_printf ("file:%s", filename);
  return p;
}

/**
 * dapple_profile_load:
 * @path: profile file
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the profile in @path.
 */
DappleProfile *
dapple_profile_load (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  GError *local = NULL;
  if (!g_file_get_contents (path, &text, NULL, &local)) {
    g_set_error (error, TL_ERROR, TL_ERROR_IO, "%s: %s", path, local->message);
    g_error_free (local);
    return NULL;
  }
  return dapple_profile_parse (text, path, error);
}

/**
 * dapple_profile_to_text:
 * @p: a profile
 *
 * Returns: (transfer full): @p in the profile file format.
 */
char *
dapple_profile_to_text (const DappleProfile *p)
{
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "batch %.17g\n# name fwd_s bwd_s act_bytes out_bytes param_bytes\n", p->batch);
  for (guint i = 0; i < p->n_layers; i++) {
    const DappleLayer *l = &p->layers[i];
    g_string_append_printf (s, "%s %.6g %.6g %.6g %.6g %.6g\n", l->name, l->fwd, l->bwd, l->act, l->out,
                            l->params);
  }
  return g_string_free (s, FALSE);
}

/* --- layering of a graph ------------------------------------------------------ */

/**
 * dapple_layering_free:
 * @l: (nullable): a layering
 */
void
dapple_layering_free (DappleLayering *l)
{
  if (!l)
    return;
  g_free (l->layer);
  g_free (l->forward);
  g_strfreev (l->names);
  g_free (l);
}

static guint
node_index (GHashTable *index, const TlNode *n)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (index, n)) - 1;
}

/* Layer name of a parameter: its name up to the last '.' ("fc1.weight" -> "fc1"). */
static char *
param_layer_name (const char *name)
{
  const char *dot = name ? strrchr (name, '.') : NULL;
  return dot ? g_strndup (name, (gsize) (dot - name)) : g_strdup (name ? name : "layer");
}

static guint
layer_id (GPtrArray *names, const char *name)
{
  for (guint i = 0; i < names->len; i++)
    if (g_str_equal (names->pdata[i], name))
      return i;
  g_ptr_array_add (names, g_strdup (name));
  return names->len - 1;
}

/**
 * dapple_layering_new:
 * @g: a train graph (output "loss" and gradients), or a forward graph
 * @error: return location for a #GError
 *
 * Groups the forward nodes (those "loss" depends on; all nodes without a
 * "loss" output) into a sequence of layers: by TL_ANNOT_LAYER when nodes
 * carry it, else by the name prefix of the parameters they read; other
 * nodes join the latest layer of their inputs. A backward node joins the
 * latest layer among the consumers of the forward values it reads (or, when
 * it reads none, the earliest layer of its backward inputs).
 *
 * Returns: (transfer full) (nullable): the layering.
 */
DappleLayering *
dapple_layering_new (const TlGraph *g, GError **error)
{
  guint n = tl_graph_n_nodes (g);
  if (n == 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "dapple: the graph has no nodes");
    return NULL;
  }
  g_autoptr (GHashTable) index = g_hash_table_new (NULL, NULL);
  for (guint i = 0; i < n; i++)
    g_hash_table_insert (index, tl_graph_node (g, i), GUINT_TO_POINTER (i + 1));

  DappleLayering *l = g_new0 (DappleLayering, 1);
  l->n_nodes = n;
  l->layer = g_new0 (guint, n);
  l->forward = g_new0 (gboolean, n);

  /* forward = ancestors of loss */
  TlValue *loss = tl_graph_get_output (g, "loss");
  if (!loss || !tl_value_producer (loss)) {
    for (guint i = 0; i < n; i++)
      l->forward[i] = TRUE;
  } else {
    l->forward[node_index (index, tl_value_producer (loss))] = TRUE;
    for (guint i = n; i-- > 0;) {
      if (!l->forward[i])
        continue;
      TlNode *node = tl_graph_node (g, i);
      for (guint k = 0; k < tl_node_n_inputs (node); k++) {
        TlNode *p = tl_value_producer (tl_node_input (node, k));
        if (p)
          l->forward[node_index (index, p)] = TRUE;
      }
    }
  }

  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  gboolean annotated = FALSE;
  for (guint i = 0; i < n; i++)
    if (l->forward[i] && tl_attrs_has (tl_node_get_annotations (tl_graph_node (g, i)), TL_ANNOT_LAYER))
      annotated = TRUE;

  /* forward nodes, topological order */
  gboolean *assigned = g_new0 (gboolean, n);
  for (guint i = 0; i < n; i++) {
    if (!l->forward[i])
      continue;
    TlNode *node = tl_graph_node (g, i);
    gint from_inputs = -1, own = -1;
    for (guint k = 0; k < tl_node_n_inputs (node); k++) {
      TlValue *v = tl_node_input (node, k);
      TlNode *p = tl_value_producer (v);
      if (p && assigned[node_index (index, p)])
        from_inputs = MAX (from_inputs, (gint) l->layer[node_index (index, p)]);
      if (!annotated && tl_value_kind (v) == TL_VALUE_PARAM && own < 0) {
        g_autofree char *ln = param_layer_name (tl_value_name (v));
        own = (gint) layer_id (names, ln);
      }
    }
    if (annotated) {
      const char *ln = tl_attrs_get_string (tl_node_get_annotations (node), TL_ANNOT_LAYER, NULL);
      if (ln)
        own = (gint) layer_id (names, ln);
    }
    gint layer = MAX (own, from_inputs);
    if (layer < 0)
      layer = names->len ? 0 : (gint) layer_id (names, "input");
    l->layer[i] = (guint) layer;
    assigned[i] = TRUE;
  }
  if (names->len == 0)
    layer_id (names, "all");

  /* backward nodes */
  for (guint i = 0; i < n; i++) {
    if (l->forward[i])
      continue;
    TlNode *node = tl_graph_node (g, i);
    gint fwd_layer = -1, bwd_layer = G_MAXINT;
    for (guint k = 0; k < tl_node_n_inputs (node); k++) {
      TlValue *v = tl_node_input (node, k);
      TlNode *p = tl_value_producer (v);
      if (p && !l->forward[node_index (index, p)]) {
        bwd_layer = MIN (bwd_layer, (gint) l->layer[node_index (index, p)]);
        continue;
      }
      /* a forward value (or param/input): owned by its latest forward consumer */
      gint owner = p ? (gint) l->layer[node_index (index, p)] : -1;
      for (guint u = 0; u < tl_value_n_users (v); u++) {
        guint ui = node_index (index, tl_value_user (v, u));
        if (l->forward[ui])
          owner = MAX (owner, (gint) l->layer[ui]);
      }
      fwd_layer = MAX (fwd_layer, owner);
    }
    gint layer = fwd_layer >= 0 ? fwd_layer : bwd_layer != G_MAXINT ? bwd_layer : 0;
    l->layer[i] = (guint) layer;
  }
  g_free (assigned);

  l->n_layers = names->len;
  g_ptr_array_add (names, NULL);
  l->names = (char **) g_ptr_array_free (names, FALSE);
  return l;
}

static double
value_bytes (const TlValue *v)
{
  return (double) tl_tensor_desc_numel (tl_value_desc (v)) * (double) tl_dtype_size (tl_value_dtype (v));
}

/* Zero-filled inputs for profiling (zeros are valid labels and indices). */
static gboolean
feed_zeros (TlExec *ex, const TlGraph *g, GError **error)
{
  for (guint i = 0; i < tl_graph_n_inputs (g); i++) {
    TlValue *v = tl_graph_input_value (g, i);
    TlTensor *t = tl_tensor_new_from_desc (tl_value_desc (v), error);
    if (!t)
      return FALSE;
    tl_tensor_fill (t, 0);
    gboolean ok = tl_exec_set_input (ex, tl_value_name (v), t, error);
    tl_tensor_unref (t);
    if (!ok)
      return FALSE;
  }
  return TRUE;
}

static double *
measure_nodes (const TlGraph *g, GError **error)
{
  TlGraph *copy = tl_graph_copy (g, error);
  if (!copy)
    return NULL;
  guint n_out = tl_graph_n_outputs (copy);
  g_autofree TlValue **outs = g_new0 (TlValue *, MAX (n_out, 1));
  for (guint i = 0; i < n_out; i++)
    outs[i] = tl_graph_get_output (copy, tl_graph_output_name (copy, i));
  TlExecOptions opts;
  tl_exec_options_init (&opts);
  opts.deterministic = 1;
  double *secs = NULL;
  TlExec *ex = tl_exec_new (copy, n_out, outs, &opts, error);
  if (ex && feed_zeros (ex, copy, error)) {
    secs = g_new0 (double, tl_graph_n_nodes (copy));
    if (!tl_exec_profile (ex, 3, secs, error))
      g_clear_pointer (&secs, g_free);
  }
  tl_exec_free (ex);
  tl_graph_unref (copy);
  return secs;
}

/* Sums the node costs per layer: seconds from @secs (measured) or
 * max(flops / @flops, bytes / @bw) per node. */
static DappleProfile *
profile_sum (const TlGraph *g, const DappleLayering *l, const double *secs, double flops, double bw)
{
  guint n = tl_graph_n_nodes (g);
  double batch = 1;
  if (tl_graph_n_inputs (g) > 0 && tl_value_ndim (tl_graph_input_value (g, 0)) > 0)
    batch = (double) MAX (1, tl_value_dim (tl_graph_input_value (g, 0), 0));
  g_autoptr (GHashTable) index = g_hash_table_new (NULL, NULL);
  for (guint i = 0; i < n; i++)
    g_hash_table_insert (index, tl_graph_node (g, i), GUINT_TO_POINTER (i + 1));
  g_autoptr (GHashTable) seen_params = g_hash_table_new (NULL, NULL);

  DappleProfile *p = dapple_profile_new (l->n_layers, batch);
  p->source = g_strdup (secs ? "measured" : "cost-model");
  for (guint k = 0; k < l->n_layers; k++)
    p->layers[k].name = g_strdup (l->names[k]);
  for (guint i = 0; i < n; i++) {
    TlNode *node = tl_graph_node (g, i);
    DappleLayer *L = &p->layers[l->layer[i]];
    TlOpCost c;
    tl_node_cost (node, &c);
    double t = secs ? secs[i] : MAX (c.flops / flops, (c.bytes_read + c.bytes_written) / bw);
    if (l->forward[i]) {
      L->fwd += t;
      L->fwd_flops += c.flops;
    } else {
      L->bwd += t;
      L->bwd_flops += c.flops;
    }
    for (guint k = 0; k < tl_node_n_inputs (node); k++) {
      TlValue *v = tl_node_input (node, k);
      if (tl_value_kind (v) == TL_VALUE_PARAM && l->forward[i] &&
          !g_hash_table_contains (seen_params, v)) {
        g_hash_table_add (seen_params, v);
        L->params += value_bytes (v);
      }
    }
    if (!l->forward[i])
      continue;
    for (guint o = 0; o < tl_node_n_outputs (node); o++) {
      TlValue *v = tl_node_output (node, o);
      double b = value_bytes (v);
      L->act += b;
      gboolean crosses = FALSE;
      for (guint u = 0; u < tl_value_n_users (v); u++) {
        guint ui = GPOINTER_TO_UINT (g_hash_table_lookup (index, tl_value_user (v, u))) - 1;
        if (l->forward[ui] && l->layer[ui] > l->layer[i])
          crosses = TRUE;
      }
      if (crosses)
        L->out += b;
    }
  }
  return p;
}

/**
 * dapple_profile_from_device:
 * @g: a train graph
 * @l: its layering
 * @flops: sustained device flop/s (peak x efficiency)
 * @bandwidth: device memory bandwidth, bytes/s
 *
 * Like dapple_profile_from_graph() with the cost model, for a device given
 * by its figures: per node max(flops / @flops, bytes / @bandwidth), summed
 * per layer; also fills the layers' fwd_flops / bwd_flops.
 *
 * Returns: (transfer full): the profile.
 */
DappleProfile *
dapple_profile_from_device (const TlGraph *g, const DappleLayering *l, double flops, double bandwidth)
{
  g_return_val_if_fail (flops > 0 && bandwidth > 0, NULL);
  return profile_sum (g, l, NULL, flops, bandwidth);
}

/**
 * dapple_profile_from_graph:
 * @g: a train graph
 * @l: its layering
 * @cluster: cluster whose device 0 runs the cost model
 * @measure: %TRUE: time the nodes with tl_exec_profile() on this machine
 * @error: return location for a #GError
 *
 * Per-layer forward/backward seconds (cost model: max(flops / device
 * flops, bytes / memory bandwidth) per node), activation bytes (outputs of
 * the layer's forward nodes), output bytes (forward values the next layers
 * read) and parameter bytes, for the graph's batch (dimension 0 of its
 * first input).
 *
 * Returns: (transfer full) (nullable): the profile.
 */
DappleProfile *
dapple_profile_from_graph (const TlGraph *g, const DappleLayering *l, const TlCluster *cluster, gboolean measure,
                           GError **error)
{
  g_autofree double *secs = NULL;
  if (measure && !(secs = measure_nodes (g, error)))
    return NULL;
  double flops = tl_cluster_n_devices (cluster) ? tl_cluster_device_flops (cluster, 0) : 1e12;
  double bw = tl_cluster_n_devices (cluster) ? tl_cluster_device_bandwidth (cluster, 0) : 1e10;
  if (!(flops > 0))
    flops = 1e12;
  if (!(bw > 0))
    bw = 1e10;
  return profile_sum (g, l, secs, flops, bw);
}
