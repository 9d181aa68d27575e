/* archs.c — VGG-19, GNMT-16 and BERT-48 (the DAPPLE paper's models) built
 * as tl train graphs from their published layer shapes, every forward node
 * tagged with its layer (TL_ANNOT_LAYER), backward appended by tl_autodiff.
 * The graphs are for costing only: they are never run (parameters are
 * allocated but not initialised).
 *
 *   VGG-19  (Simonyan & Zisserman 2014): 224x224x3 input, 16 3x3 conv
 *           layers (64,64 | 128,128 | 256 x4 | 512 x4 | 512 x4) with ReLU,
 *           2x2 max-pool after each block (in the block's last conv layer),
 *           FC 4096, 4096, 1000; 143.7 M parameters.
 *   GNMT-16 (Wu et al. 2016, 8 encoder + 8 decoder LSTM layers): hidden and
 *           embedding 1024, vocabulary 32000, source and target length 50,
 *           first encoder layer bidirectional, attention over the encoder
 *           states in the first decoder layer, softmax over the vocabulary.
 *   BERT-48 (BERT-large shapes, Devlin et al. 2018, 48 layers as in the
 *           DAPPLE paper): hidden 1024, 16 heads, FFN 4096, sequence 128,
 *           vocabulary 30522; embeddings, 48 encoder layers, MLM head tied
 *           to the token embedding.
 */
#include <math.h>

#include "dapple-private.h"

#define F32 TL_DTYPE_F32
#define I64 TL_DTYPE_I64
#define SHAPE(...) (sizeof ((gint64[]){ __VA_ARGS__ }) / sizeof (gint64)), (const gint64[]){ __VA_ARGS__ }

typedef struct {
  TlGraph *g;
  guint mark; /* first node not yet tagged */
  const char *layer;
} Arch;

/* Parameter "<layer>.<what>" (allocated, not initialised: only costed). */
static TlValue *
param (Arch *a, const char *what, guint ndim, const gint64 *shape)
{
  g_autofree char *name = g_strdup_printf ("%s.%s", a->layer, what);
  GError *error = NULL;
  TlTensor *t = tl_tensor_new (F32, ndim, shape, &error);
  if (!t) {
    tl_graph_set_error (a->g, error);
    return NULL;
  }
  TlValue *v = tl_graph_param (a->g, name, t);
  tl_tensor_unref (t);
  return v;
}

/* Starts layer @name: the nodes built since the last call go to the previous layer. */
static void
tag (Arch *a, const char *name)
{
  guint n = tl_graph_n_nodes (a->g);
  if (a->layer)
    for (; a->mark < n; a->mark++)
      tl_attrs_set_string (tl_node_annotations (tl_graph_node (a->g, a->mark)), TL_ANNOT_LAYER, a->layer);
  a->mark = n;
  a->layer = name;
}

static TlValue *
build_vgg19 (Arch *a, gint64 n)
{
  static const int cfg[5][2] = { { 64, 2 }, { 128, 2 }, { 256, 4 }, { 512, 4 }, { 512, 4 } };
  TlGraph *g = a->g;
  TlValue *x = tl_graph_input (g, "image", F32, SHAPE (n, 3, 224, 224));
  TlValue *labels = tl_graph_input (g, "label", I64, SHAPE (n));
  gint64 cin = 3;
  char names[19][16];
  guint k = 0;
  for (guint b = 0; b < 5; b++)
    for (int i = 0; i < cfg[b][1]; i++, k++) {
      gint64 cout = cfg[b][0];
      g_snprintf (names[k], sizeof names[k], "conv%u_%d", b + 1, i + 1);
      tag (a, names[k]);
      TlValue *w = param (a, "weight", SHAPE (cout, cin, 3, 3));
      TlValue *bias = param (a, "bias", SHAPE (cout));
      x = tl_relu (g, tl_conv2d (g, x, w, bias, 1, 1, 1, 1));
      if (i == cfg[b][1] - 1)
        x = tl_max_pool2d (g, x, 2, 2, 0);
      cin = cout;
    }
  x = tl_reshape (g, x, SHAPE (n, -1));
  static const gint64 fc[3][2] = { { 7 * 7 * 512, 4096 }, { 4096, 4096 }, { 4096, 1000 } };
  for (guint i = 0; i < 3; i++, k++) {
    g_snprintf (names[k], sizeof names[k], "fc%u", i + 6);
    tag (a, names[k]);
    x = tl_linear (g, x, param (a, "weight", SHAPE (fc[i][1], fc[i][0])), param (a, "bias", SHAPE (fc[i][1])));
    if (i < 2)
      x = tl_relu (g, x);
  }
  TlValue *loss = tl_cross_entropy (g, x, labels);
  tag (a, NULL);
  return loss;
}

/* One LSTM layer over x[n, T, in] -> [n, T, H]: the input projection of all
 * steps at once, then per step gates = x_t W_ih^T + h W_hh^T + b, split into
 * i f g o; c = sigmoid(f) c + sigmoid(i) tanh(g); h = sigmoid(o) tanh(c). */
static TlValue *
lstm (Arch *a, TlValue *x, const char *suffix, gboolean reverse, gint64 H)
{
  TlGraph *g = a->g;
  gint64 n = tl_value_dim (x, 0), T = tl_value_dim (x, 1), in = tl_value_dim (x, 2);
  g_autofree char *wih = g_strdup_printf ("weight_ih%s", suffix);
  g_autofree char *whh = g_strdup_printf ("weight_hh%s", suffix);
  g_autofree char *bn = g_strdup_printf ("bias%s", suffix);
  TlValue *xp = tl_linear (g, x, param (a, wih, SHAPE (4 * H, in)), param (a, bn, SHAPE (4 * H)));
  TlValue *wh = param (a, whh, SHAPE (4 * H, H));
  TlValue *h = NULL, *c = NULL;
  g_autofree TlValue **hs = g_new0 (TlValue *, T);
  for (gint64 s = 0; s < T; s++) {
    gint64 t = reverse ? T - 1 - s : s;
    TlValue *gates = tl_reshape (g, tl_slice (g, xp, 1, t, t + 1, 1), SHAPE (n, 4 * H));
    if (h)
      gates = tl_add (g, gates, tl_linear (g, h, wh, NULL));
    TlValue *q[4] = { NULL };
    if (!gates || !tl_split (g, gates, 1, 4, (const gint64[]){ H, H, H, H }, q))
      return NULL;
    TlValue *ig = tl_mul (g, tl_sigmoid (g, q[0]), tl_tanh (g, q[2]));
    c = c ? tl_add (g, tl_mul (g, tl_sigmoid (g, q[1]), c), ig) : ig;
    h = tl_mul (g, tl_sigmoid (g, q[3]), tl_tanh (g, c));
    hs[t] = tl_reshape (g, h, SHAPE (n, 1, H));
  }
  return tl_concat (g, (guint) T, hs, 1);
}

static TlValue *
build_gnmt16 (Arch *a, gint64 n)
{
  const gint64 H = 1024, V = 32000, T = 50;
  TlGraph *g = a->g;
  TlValue *src = tl_graph_input (g, "source", I64, SHAPE (n, T));
  TlValue *tgt = tl_graph_input (g, "target", I64, SHAPE (n, T));
  TlValue *labels = tl_graph_input (g, "label", I64, SHAPE (n * T));
  static const char *enc[] = { "enc_lstm1", "enc_lstm2", "enc_lstm3", "enc_lstm4",
                               "enc_lstm5", "enc_lstm6", "enc_lstm7", "enc_lstm8" };
  static const char *dec[] = { "dec_lstm1", "dec_lstm2", "dec_lstm3", "dec_lstm4",
                               "dec_lstm5", "dec_lstm6", "dec_lstm7", "dec_lstm8" };
  tag (a, "enc_embed");
  TlValue *x = tl_embedding (g, param (a, "weight", SHAPE (V, H)), src);
  for (guint l = 0; l < 8; l++) {
    tag (a, enc[l]);
    if (l == 0) {
      TlValue *both[2] = { lstm (a, x, "", FALSE, H), lstm (a, x, "_reverse", TRUE, H) };
      x = both[0] && both[1] ? tl_concat (g, 2, both, 2) : NULL;
    } else {
      x = lstm (a, x, "", FALSE, H);
    }
    if (!x)
      return NULL;
  }
  TlValue *states = x;
  tag (a, "dec_embed");
  x = tl_embedding (g, param (a, "weight", SHAPE (V, H)), tgt);
  for (guint l = 0; l < 8; l++) {
    tag (a, dec[l]);
    if (l == 0) {
      /* attention: queries from the target embedding over the encoder states */
      TlValue *q = tl_linear (g, x, param (a, "attn.weight", SHAPE (H, H)), param (a, "attn.bias", SHAPE (H)));
      TlValue *p = tl_softmax (g, tl_matmul (g, q, states, FALSE, TRUE), -1);
      TlValue *both[2] = { x, tl_matmul (g, p, states, FALSE, FALSE) };
      x = tl_concat (g, 2, both, 2);
    }
    if (!x || !(x = lstm (a, x, "", FALSE, H)))
      return NULL;
  }
  tag (a, "softmax");
  TlValue *logits = tl_linear (g, tl_reshape (g, x, SHAPE (n * T, H)), param (a, "weight", SHAPE (V, H)),
                               param (a, "bias", SHAPE (V)));
  TlValue *loss = tl_cross_entropy (g, logits, labels);
  tag (a, NULL);
  return loss;
}

static TlValue *
attention (Arch *a, TlValue *x, gint64 n, gint64 S, gint64 H, gint64 A)
{
  TlGraph *g = a->g;
  gint64 dh = H / A;
  static const gint perm[] = { 0, 2, 1, 3 };
  static const char *wn[] = { "query.weight", "key.weight", "value.weight" };
  static const char *bn[] = { "query.bias", "key.bias", "value.bias" };
  TlValue *qkv[3];
  for (guint i = 0; i < 3; i++)
    qkv[i] = tl_transpose (g, tl_reshape (g, tl_linear (g, x, param (a, wn[i], SHAPE (H, H)),
                                                        param (a, bn[i], SHAPE (H))),
                                          SHAPE (n, S, A, dh)),
                           4, perm);
  TlValue *scores = tl_scale (g, tl_matmul (g, qkv[0], qkv[1], FALSE, TRUE), 1.0 / sqrt ((double) dh), 0);
  TlValue *ctx = tl_matmul (g, tl_softmax (g, scores, -1), qkv[2], FALSE, FALSE);
  ctx = tl_reshape (g, tl_transpose (g, ctx, 4, perm), SHAPE (n, S, H));
  return tl_linear (g, ctx, param (a, "output.weight", SHAPE (H, H)), param (a, "output.bias", SHAPE (H)));
}

static TlValue *
build_bert48 (Arch *a, gint64 n)
{
  const gint64 H = 1024, A = 16, FF = 4096, S = 128, V = 30522;
  TlGraph *g = a->g;
  TlValue *tok = tl_graph_input (g, "tokens", I64, SHAPE (n, S));
  TlValue *seg = tl_graph_input (g, "segments", I64, SHAPE (n, S));
  TlValue *labels = tl_graph_input (g, "label", I64, SHAPE (n * S));
  tag (a, "embed");
  TlValue *wte = param (a, "word.weight", SHAPE (V, H));
  TlValue *x = tl_add (g, tl_embedding (g, wte, tok), tl_embedding (g, param (a, "type.weight", SHAPE (2, H)), seg));
  x = tl_add (g, x, tl_slice (g, param (a, "position.weight", SHAPE (512, H)), 0, 0, S, 1));
  x = tl_layer_norm (g, x, param (a, "norm.weight", SHAPE (H)), param (a, "norm.bias", SHAPE (H)), 1e-12);
  char names[48][16];
  for (guint l = 0; l < 48; l++) {
    g_snprintf (names[l], sizeof names[l], "layer%u", l + 1);
    tag (a, names[l]);
    x = tl_add (g, x, attention (a, x, n, S, H, A));
    x = tl_layer_norm (g, x, param (a, "norm1.weight", SHAPE (H)), param (a, "norm1.bias", SHAPE (H)), 1e-12);
    TlValue *f = tl_gelu (g, tl_linear (g, x, param (a, "ffn1.weight", SHAPE (FF, H)), param (a, "ffn1.bias", SHAPE (FF))));
    f = tl_linear (g, f, param (a, "ffn2.weight", SHAPE (H, FF)), param (a, "ffn2.bias", SHAPE (H)));
    x = tl_add (g, x, f);
    x = tl_layer_norm (g, x, param (a, "norm2.weight", SHAPE (H)), param (a, "norm2.bias", SHAPE (H)), 1e-12);
  }
  tag (a, "mlm_head");
  TlValue *h = tl_gelu (g, tl_linear (g, x, param (a, "dense.weight", SHAPE (H, H)), param (a, "dense.bias", SHAPE (H))));
  h = tl_layer_norm (g, h, param (a, "norm.weight", SHAPE (H)), param (a, "norm.bias", SHAPE (H)), 1e-12);
  TlValue *logits = tl_add (g, tl_matmul (g, tl_reshape (g, h, SHAPE (n * S, H)), wte, FALSE, TRUE),
                            param (a, "bias", SHAPE (V)));
  TlValue *loss = tl_cross_entropy (g, logits, labels);
  tag (a, NULL);
  return loss;
}

/**
 * dapple_arch_names:
 *
 * Returns: (transfer none): the NULL-terminated names dapple_arch_build() knows.
 */
const char *const *
dapple_arch_names (void)
{
  static const char *const names[] = { "vgg19", "gnmt16", "bert48", NULL };
  return names;
}

/**
 * dapple_arch_build:
 * @name: "vgg19", "gnmt16" or "bert48"
 * @batch: samples (the batch dimension of every input)
 * @error: return location for a #GError
 *
 * Builds the train graph of @name: forward nodes tagged with
 * TL_ANNOT_LAYER, output "loss", and the gradient of every parameter
 * (outputs "grad.<param>") appended by tl_autodiff().
 *
 * Returns: (transfer full) (nullable): the graph.
 */
TlGraph *
dapple_arch_build (const char *name, gint64 batch, GError **error)
{
  if (batch < 1) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "dapple: batch must be >= 1");
    return NULL;
  }
  Arch a = { tl_graph_new (), 0, NULL };
  TlValue *loss = NULL;
  if (g_str_equal (name, "vgg19"))
    loss = build_vgg19 (&a, batch);
  else if (g_str_equal (name, "gnmt16"))
    loss = build_gnmt16 (&a, batch);
  else if (g_str_equal (name, "bert48"))
    loss = build_bert48 (&a, batch);
  else {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "dapple: unknown architecture \"%s\" (vgg19, gnmt16, bert48)",
                 name);
    tl_graph_unref (a.g);
    return NULL;
  }
  if (!tl_graph_take_error (a.g, error)) {
    tl_graph_unref (a.g);
    return NULL;
  }
  if (!loss) {
    g_set_error (error, TL_ERROR, TL_ERROR_FAILED, "dapple: building %s failed", name);
    tl_graph_unref (a.g);
    return NULL;
  }
  tl_graph_set_output (a.g, "loss", loss);
  guint np = tl_graph_n_params (a.g);
  g_autofree TlValue **wrt = g_new0 (TlValue *, MAX (np, 1));
  g_autofree TlValue **grads = g_new0 (TlValue *, MAX (np, 1));
  for (guint i = 0; i < np; i++)
    wrt[i] = tl_graph_param_value (a.g, i);
  if (!tl_autodiff (a.g, loss, np, wrt, grads, error)) {
    tl_graph_unref (a.g);
    return NULL;
  }
  for (guint i = 0; i < np; i++)
    if (grads[i]) {
      g_autofree char *gn = g_strdup_printf ("grad.%s", tl_value_name (wrt[i]));
      tl_graph_set_output (a.g, gn, grads[i]);
    }
  return a.g;
}
