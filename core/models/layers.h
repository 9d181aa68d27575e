/* layers.h — building blocks shared by the built-in models (tl.mlp,
 * tl.convnet, tl.logreg): input flattening, linear layers, activations,
 * and the task head (output width, loss and prediction).
 */
#ifndef TL_MODELS_LAYERS_H
#define TL_MODELS_LAYERS_H

#include "tl-private.h"

G_BEGIN_DECLS

/* Parse "512,512" (spaces allowed, "" = empty list) into positive sizes.
 * `what` names the parameter in messages. (transfer full) */
G_GNUC_INTERNAL GArray *_tl_priv_parse_sizes (const char *text, const char *what, GError **error);

/* Field `field` as f32 [batch, width] (cast and flattened); *width gets the
 * per-example element count. Sticky graph error when the field is missing. */
G_GNUC_INTERNAL TlValue *_tl_priv_input_flat (TlBuild *b, const char *field, gint64 *width);

/* y = x @ W^T + b with PyTorch's nn.Linear initialisation; parameters
 * "<name>.weight" [out, in] and "<name>.bias" [out]. */
G_GNUC_INTERNAL TlValue *_tl_priv_linear (TlBuild *b, TlValue *x, const char *name, gint64 in,
                                          gint64 out);

/* "relu", "gelu", "tanh" (else identity). */
G_GNUC_INTERNAL TlValue *_tl_priv_activation (TlGraph *g, const char *name, TlValue *x);

/* Task from its manifest name ("multiclass", "binary", "regression"). */
G_GNUC_INTERNAL TlTask _tl_priv_task_from_name (const char *name);

/* Width of the output layer for `task`: n_classes (or the label field's
 * cardinality when 0) for multiclass, 1 for binary, the label's element count
 * for regression; in predict mode without the label field, dim 0 of the
 * stored parameter `out_param` when the model was built before. Train and
 * eval need the label field (the dataset's "no field" error first); binary
 * refuses a label with more than two categories. */
G_GNUC_INTERNAL gboolean _tl_priv_head_width (TlBuild *b, TlTask task, const char *label,
                                              gint64 n_classes, const char *out_param,
                                              gint64 *width, GError **error);

/* Sets the prediction (and the loss when the label field exists) from
 * out [batch, width]: cross entropy, BCE with logits, or MSE. */
G_GNUC_INTERNAL void _tl_priv_head_finish (TlBuild *b, TlValue *out, TlTask task, const char *label);

G_END_DECLS

#endif /* TL_MODELS_LAYERS_H */
