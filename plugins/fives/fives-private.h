/* fives-private.h — declarations shared by the files of the fives plugin
 * (not installed; the plugin uses only the tl SDK). */
#ifndef FIVES_PRIVATE_H
#define FIVES_PRIVATE_H

#include <tl/tl.h>

G_BEGIN_DECLS

/* Component tables. */
G_GNUC_INTERNAL extern const TlModelDef fives_model_def;
G_GNUC_INTERNAL extern const TlModelDef fives_lr_def;
G_GNUC_INTERNAL extern const TlModelDef fives_fm_def;
G_GNUC_INTERNAL extern const TlModelDef fives_mlp_def;
G_GNUC_INTERNAL extern const TlDatasetDef fives_planted_def;

/* --- common.c: tabular inputs and the binary head ------------------------- */

/* The categorical input fields of the dataset (integer dtype, scalar, with a
 * cardinality), in schema order, except `label`. Names borrowed from b. */
G_GNUC_INTERNAL GPtrArray *fives_categorical_fields (TlBuild *b, const char *label, GError **error);
/* A trainable f32 parameter, or (detached) a constant sharing its storage. */
G_GNUC_INTERNAL TlValue *fives_param (TlBuild *b, const char *name, guint ndim, const gint64 *shape,
                                      TlInit init, double scale, gboolean detached);
/* Embeddings of every field, stacked: [batch, n_fields, dim]. Tables are
 * "<prefix>.<field>" [cardinality, dim]. */
G_GNUC_INTERNAL TlValue *fives_stack_embeddings (TlBuild *b, GPtrArray *fields, const char *prefix,
                                                 gint64 dim, TlInit init, double scale,
                                                 gboolean detached);
/* Sum over fields of a one-dimensional weight per category ("<prefix>.<field>"
 * [cardinality, 1], zeros): [batch]. */
G_GNUC_INTERNAL TlValue *fives_first_order (TlBuild *b, GPtrArray *fields, const char *prefix,
                                            gboolean detached);
/* The label as f32 [batch]. */
G_GNUC_INTERNAL TlValue *fives_label_f32 (TlBuild *b, const char *label);
/* Elementwise binary cross entropy with logits: [batch]. */
G_GNUC_INTERNAL TlValue *fives_bce_rows (TlGraph *g, TlValue *logits, TlValue *targets);
/* Set prediction (logits [batch]) and loss (mean BCE). */
G_GNUC_INTERNAL void fives_binary_head (TlBuild *b, TlValue *logits, const char *label);
/* Shared sample data for `tlhost conformance` (fives.planted, small). */
G_GNUC_INTERNAL extern const TlModelSampleData fives_sample_data;

/* --- crosses.c: explicit cross features ------------------------------------ */

/* A cross feature: 2 or more field indices (into a field list). */
typedef struct {
  guint order;
  guint fields[8];
  char *names[8];
  double score;
  guint layer;
} FivesCross;

G_GNUC_INTERNAL void fives_cross_free (FivesCross *c);
/* Parse "a+b,c+d+e" (field names); NULL on malformed text. Empty: empty array. */
G_GNUC_INTERNAL GPtrArray *fives_crosses_parse (const char *text, GError **error);
/* Read a crosses file: the read-out TSV written by fives.fives export (its
 * "fields" column), or one "a+b" spec per line. */
G_GNUC_INTERNAL GPtrArray *fives_crosses_load (const char *path, GError **error);
/* The cross id of each row: a mixed-radix index [batch] i64 and its cardinality. */
G_GNUC_INTERNAL TlValue *fives_cross_index (TlBuild *b, const FivesCross *c, gint64 *cardinality,
                                            GError **error);

/* --- readout.c: learned interactions ---------------------------------------- */

typedef struct {
  double threshold;   /* binarisation of the learned adjacency */
  guint max_pairs;    /* 0: all above threshold */
  guint max_triples;  /* 0: all; limits every order >= 3 */
  double h_scale;     /* arch_lr_scale of the model */
} FivesReadoutOptions;

/* Read the adjacency logits "search.H<k>" and field names out of a trained
 * fives.fives parameter store; returns FivesCross* sorted by order then
 * score (descending). */
G_GNUC_INTERNAL GPtrArray *fives_readout (TlParamStore *store, const FivesReadoutOptions *opts,
                                          GError **error);
/* Every edge {i, j} of layer `layer` (1-based) ranked by its mean
 * logit over both directions (see readout.c): TSV "rank field_a field_b score logit"; NULL without that layer. */
G_GNUC_INTERNAL char *fives_readout_edges_tsv (TlParamStore *store, guint layer,
                                               const FivesReadoutOptions *opts);
G_GNUC_INTERNAL char *fives_readout_to_tsv (GPtrArray *crosses);

G_END_DECLS

#endif /* FIVES_PRIVATE_H */
