/* model-transformer.c — "fusion.transformer": a small transformer encoder
 * classifier whose LayerNorms and softmaxes are written as primitive ops
 * (mean, sub, square, rsqrt, ...; max, sub, exp, sum, div), i.e. the graph a
 * framework without hand-fused kernels produces. With fusion=stitch (or
 * baseline) build() runs the fusion planner on the graph it built, before
 * the host differentiates it: fused groups take their gradient by
 * re-expansion (fused-op.c). The example job trains it; its overlay sets
 * fusion=none.
 *
 * Input: an f32 feature vector of seq * d_in values (e.g. tl.synthetic's
 * "features"), read as seq tokens of d_in features. */
#include <math.h>
#include <string.h>

#include "fusion-private.h"

struct _TlModel {
  char *input, *label, *fusion;
  gint64 seq, hidden, heads, ffn, layers, n_classes;
};

static TlModel *
tf_create (const TlParams *params, GError **error)
{
  TlModel *m = g_new0 (TlModel, 1);
  m->input = g_strdup (tl_params_get_string (params, "input", "features"));
  m->label = g_strdup (tl_params_get_string (params, "label", "label"));
  m->fusion = g_strdup (tl_params_get_string (params, "fusion", "stitch"));
  m->seq = tl_params_get_int (params, "seq", 8);
  m->hidden = tl_params_get_int (params, "hidden", 32);
  m->heads = tl_params_get_int (params, "heads", 2);
  m->ffn = tl_params_get_int (params, "ffn", 64);
  m->layers = tl_params_get_int (params, "layers", 1);
  m->n_classes = tl_params_get_int (params, "n_classes", 0);
  if (m->seq < 1 || m->heads < 1 || m->hidden % m->heads != 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "fusion.transformer: hidden (%" G_GINT64_FORMAT ") must be a multiple of heads (%" G_GINT64_FORMAT ")",
                 m->hidden, m->heads);
    g_free (m->input);
    g_free (m->label);
    g_free (m->fusion);
    g_free (m);
    return NULL;
  }
  return m;
}

static void
tf_destroy (TlModel *m)
{
  if (!m)
    return;
  g_free (m->input);
  g_free (m->label);
  g_free (m->fusion);
  g_free (m);
}

static TlValue *
dense (TlBuild *b, TlValue *x, const char *name, gint64 in, gint64 out)
{
  g_autofree char *wn = g_strdup_printf ("%s.weight", name);
  g_autofree char *bn = g_strdup_printf ("%s.bias", name);
  gint64 ws[2] = { out, in };
  TlValue *w = tl_build_param (b, wn, TL_DTYPE_F32, 2, ws, TL_INIT_KAIMING_UNIFORM, 0, TRUE);
  TlValue *bias = tl_build_param (b, bn, TL_DTYPE_F32, 1, &out, TL_INIT_UNIFORM, 1.0 / sqrt ((double) in), TRUE);
  return tl_linear (tl_build_graph (b), x, w, bias);
}

static TlValue *
layer_norm (TlBuild *b, TlValue *x, const char *name, gint64 dim)
{
  TlGraph *g = tl_build_graph (b);
  g_autofree char *gn = g_strdup_printf ("%s.gamma", name);
  g_autofree char *bn = g_strdup_printf ("%s.beta", name);
  TlValue *gamma = tl_build_param (b, gn, TL_DTYPE_F32, 1, &dim, TL_INIT_ONES, 0, TRUE);
  TlValue *beta = tl_build_param (b, bn, TL_DTYPE_F32, 1, &dim, TL_INIT_ZEROS, 0, TRUE);
  return fusion_layer_norm_prims (g, x, gamma, beta);
}

static gboolean
tf_build (TlModel *m, TlBuild *b, GError **error)
{
  TlGraph *g = tl_build_graph (b);
  gint64 B = tl_build_batch_size (b), S = m->seq, H = m->hidden, NH = m->heads, DH = H / NH;
  const TlTensorDesc *fd = tl_build_field_desc (b, m->input);
  gint64 F = fd ? tl_tensor_desc_numel (fd) : 0;
  if (F < S || F % S != 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_SHAPE,
                 "fusion.transformer: field '%s' has %" G_GINT64_FORMAT " values, not a multiple of seq=%" G_GINT64_FORMAT,
                 m->input, F, S);
    return FALSE;
  }
  gint64 C = m->n_classes > 0 ? m->n_classes : tl_build_field_cardinality (b, m->label);
  if (C < 2) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT,
                 "fusion.transformer: set n_classes (field '%s' is not categorical)", m->label);
    return FALSE;
  }
  TlValue *x = tl_build_input (b, m->input);
  if (x && tl_value_dtype (x) != TL_DTYPE_F32)
    x = tl_cast (g, x, TL_DTYPE_F32);
  gint64 tok[2] = { B * S, F / S }, bsh[3] = { B, S, H }, flat[2] = { B * S, H };
  gint64 hs[4] = { B, S, NH, DH }, ps[2] = { S, H };
  gint perm[4] = { 0, 2, 1, 3 };
  TlValue *h = dense (b, tl_reshape (g, x, 2, tok), "embed", F / S, H);
  TlValue *pos = tl_build_param (b, "pos", TL_DTYPE_F32, 2, ps, TL_INIT_NORMAL, 0.02, TRUE);
  h = tl_reshape (g, tl_add (g, tl_reshape (g, h, 3, bsh), pos), 2, flat);
  for (gint64 l = 0; l < m->layers; l++) {
    char name[64];
    TlValue *qkv[3];
    for (guint k = 0; k < 3; k++) {
      g_snprintf (name, sizeof name, "l%" G_GINT64_FORMAT ".%c", l, "qkv"[k]);
      qkv[k] = tl_transpose (g, tl_reshape (g, dense (b, h, name, H, H), 4, hs), 4, perm);
    }
    TlValue *att = fusion_softmax_prims (g, tl_scale (g, tl_matmul (g, qkv[0], qkv[1], FALSE, TRUE), 1.0 / sqrt ((double) DH), 0));
    TlValue *ctx = tl_reshape (g, tl_transpose (g, tl_matmul (g, att, qkv[2], FALSE, FALSE), 4, perm), 2, flat);
    g_snprintf (name, sizeof name, "l%" G_GINT64_FORMAT ".o", l);
    TlValue *o = dense (b, ctx, name, H, H);
    g_snprintf (name, sizeof name, "l%" G_GINT64_FORMAT ".ln1", l);
    h = layer_norm (b, tl_add (g, o, h), name, H);
    g_snprintf (name, sizeof name, "l%" G_GINT64_FORMAT ".ff1", l);
    TlValue *f = tl_gelu (g, dense (b, h, name, H, m->ffn));
    g_snprintf (name, sizeof name, "l%" G_GINT64_FORMAT ".ff2", l);
    f = dense (b, f, name, m->ffn, H);
    g_snprintf (name, sizeof name, "l%" G_GINT64_FORMAT ".ln2", l);
    h = layer_norm (b, tl_add (g, f, h), name, H);
  }
  gint ax1 = 1;
  TlValue *pooled = tl_mean (g, tl_reshape (g, h, 3, bsh), 1, &ax1, FALSE);
  TlValue *logits = dense (b, pooled, "head", H, C);
  tl_build_set_prediction (b, logits, TL_TASK_MULTICLASS, m->label);
  if (tl_build_has_field (b, m->label))
    tl_build_set_loss (b, tl_cross_entropy (g, logits, tl_build_input (b, m->label)));
  if (!tl_graph_take_error (g, error))
    return FALSE;
  if (g_str_equal (m->fusion, "none"))
    return TRUE;
  /* fuse the graph just built (prediction and loss come from linear and
   * cross_entropy nodes, which are never fused, so they stay valid) */
  FusionExploreOptions o = { .beam = 4, .top_k = 4, .baseline = g_str_equal (m->fusion, "baseline"),
                             .non_adjacent = !g_str_equal (m->fusion, "baseline") };
  fusion_cost_model_init (&o.cm, NULL);
  if (!tl_op_lookup (fusion_fused_op.name) && !tl_op_register (&fusion_fused_op, error))
    return FALSE;
  FusionCtx *fc = fusion_ctx_new (g, &o);
  double obj = 0;
  GPtrArray *groups = fusion_explore (fc, &obj);
  TlPlan *plan = fusion_make_plan ("fusion.transformer", fc, groups, obj, m->fusion);
  fusion_ctx_free (fc);
  g_ptr_array_unref (groups);
  guint n_fused = 0;
  gboolean ok = fusion_apply_plan (plan, g, TRUE, &n_fused, error);
  g_debug ("fusion.transformer: %u groups fused", n_fused);
  tl_plan_free (plan);
  return ok;
}

/* For `tlhost conformance`: 64 rows of 64 features (8 tokens of 8). */
static const char *const tf_sample_params[] = { "n_rows=64", "n_features=64", "n_classes=3", NULL };
static const TlModelSampleData tf_sample = {
  TL_TABLE_INIT (TlModelSampleData),
  .dataset = "tl.synthetic",
  .params = tf_sample_params,
};

static const void *
tf_get_extension (const char *id)
{
  return g_strcmp0 (id, TL_MODEL_EXT_SAMPLE_DATA) == 0 ? &tf_sample : NULL;
}

const TlModelDef fusion_transformer_model = {
  TL_TABLE_INIT (TlModelDef),
  .create = tf_create,
  .destroy = tf_destroy,
  .build = tf_build,
  .get_extension = tf_get_extension,
};
