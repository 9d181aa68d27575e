/* train-fixture.h — a tiny in-memory dataset and model for the training tests. */
#ifndef TL_TRAIN_FIXTURE_H
#define TL_TRAIN_FIXTURE_H

#include <tl/tl.h>

#include "builtin-util.h" /* bt_rm_rf */

/* Dataset params: rows (int, 64), dim (int, 3), classes (int, 3), seed (int, 1),
 * binary (bool): label f32 0/1 instead of i64 classes.
 * Fields: "x" f32 [dim], "label" i64 (cardinality classes) or f32. Labels
 * are a deterministic function of x (learnable). */
extern const TlDatasetDef fixture_dataset_def;
/* Model params: hidden (int, 0: linear), extra (bool: one more parameter
 * "extra.weight"), dropout (float, 0). Multiclass cross-entropy, or BCE
 * when the label field is f32. */
extern const TlModelDef fixture_model_def;
extern guint fixture_step_end_calls;

TlDatasetInstance *fixture_dataset (gint64 rows, gint64 dim, gint64 classes, guint64 seed,
                                    gboolean binary);
TlModelInstance *fixture_model (gint64 hidden, gboolean extra, double dropout, guint64 seed);
char *fixture_tmpdir (void);

#endif
