/* tl-builtin.h — the component tables of the built-in plugin "tl"
 * (core/builtin.c lists them; core/datasets/ and core/models/ define them).
 */
#ifndef TL_BUILTIN_H
#define TL_BUILTIN_H

#include "tl-private.h"

G_BEGIN_DECLS

G_GNUC_INTERNAL extern const TlDatasetDef _tl_priv_csv_dataset;
G_GNUC_INTERNAL extern const TlDatasetDef _tl_priv_idx_dataset;
G_GNUC_INTERNAL extern const TlDatasetDef _tl_priv_safetensors_dataset;
G_GNUC_INTERNAL extern const TlDatasetDef _tl_priv_synthetic_dataset;

G_GNUC_INTERNAL extern const TlModelDef _tl_priv_mlp_model;
G_GNUC_INTERNAL extern const TlModelDef _tl_priv_convnet_model;
G_GNUC_INTERNAL extern const TlModelDef _tl_priv_logreg_model;

G_END_DECLS

#endif /* TL_BUILTIN_H */
