/* tl-checkpoint.h — safetensors files and model checkpoints.
 *
 * Files use the safetensors format (https://github.com/huggingface/safetensors):
 * an 8-byte little-endian header length N, N bytes of JSON
 *   {"__metadata__": {"k": "v", ...},
 *    "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
 * padded with spaces to a multiple of 8, then the tensor bytes (row-major,
 * little-endian). Dtypes: F64 F32 F16 BF16 I64 I32 I8 U8 BOOL (those tl has).
 * Reading validates everything and never trusts the file; writing is atomic.
 *
 * A checkpoint is a safetensors file holding every parameter of a
 * TlParamStore under its name, optionally the optimizer state as
 * "optim/<param>/<slot>" tensors, and metadata (strings) such as "step".
 *
 * @example-begin checkpoint (TlParamStore *store, TlOptimizer *opt, GHashTable *meta)
 *   tl_checkpoint_save(store, opt, meta, "out/last.safetensors", &error);
 *   tl_checkpoint_load(store, opt, "out/last.safetensors", &error);
 * @example-end
 *
 * Pretrained weights: tl_checkpoint_load_mapped(store, path, "bert", &error)
 * renames Hugging Face BERT-family names to tl's names (prefix "bert." is
 * optional in the file; "LayerNorm.gamma/beta" are read as weight/bias):
 *
 *   embeddings.word_embeddings.weight          embed.word.weight
 *   embeddings.position_embeddings.weight      embed.pos.weight
 *   embeddings.token_type_embeddings.weight    embed.type.weight
 *   embeddings.LayerNorm.{weight,bias}         embed.norm.{weight,bias}
 *   encoder.layer.N.attention.self.query.*     encoder.N.attn.q.*
 *   encoder.layer.N.attention.self.key.*       encoder.N.attn.k.*
 *   encoder.layer.N.attention.self.value.*     encoder.N.attn.v.*
 *   encoder.layer.N.attention.output.dense.*   encoder.N.attn.out.*
 *   encoder.layer.N.attention.output.LayerNorm.*  encoder.N.attn_norm.*
 *   encoder.layer.N.intermediate.dense.*       encoder.N.ffn.fc1.*
 *   encoder.layer.N.output.dense.*             encoder.N.ffn.fc2.*
 *   encoder.layer.N.output.LayerNorm.*         encoder.N.ffn_norm.*
 *   pooler.dense.*                             pooler.dense.*
 *
 * Linear weights keep PyTorch's [out, in] layout. Other file tensors (heads,
 * "position_ids") are ignored; model parameters absent from the file keep
 * their initial values (e.g. a new classifier head).
 */
#ifndef TL_CHECKPOINT_H
#define TL_CHECKPOINT_H

#include <glib.h>
#include <tl/tl-macros.h>
#include <tl/tl-tensor.h>
#include <tl/tl-model.h>
#include <tl/tl-optim.h>

TL_BEGIN_DECLS

/* Read a whole safetensors file: a new GHashTable name (char*) -> TlTensor*
 * (keys freed, values unref'd on destroy). metadata (nullable): receives a
 * new GHashTable of strings from "__metadata__" (empty when absent).
 * (transfer full) */
TL_API GHashTable *tl_safetensors_read(const char *path, GHashTable **metadata, GError **error);
/* Write tensors[n] named names[n] (contiguous or not, CPU) and metadata
 * (nullable, string -> string) atomically. Names must be unique and not
 * "__metadata__". Tensors are written in the given order. */
TL_API gboolean tl_safetensors_write(const char *path, guint n, const char *const *names,
                                     TlTensor *const *tensors, GHashTable *metadata,
                                     GError **error);

/* Save every parameter of `store` (and, when opt is not NULL, its state and
 * step count as metadata "optim.kind"/"optim.steps") with extra metadata
 * (nullable, string -> string) to `path` atomically. */
TL_API gboolean tl_checkpoint_save(TlParamStore *store, const TlOptimizer *opt,
                                   GHashTable *metadata, const char *path, GError **error);
/* Load a checkpoint into `store` (every parameter must be present with the
 * same dtype and shape; missing and unexpected names are listed in the
 * error; nothing is modified on error) and, when opt is not NULL, the
 * optimizer state saved with it. */
TL_API gboolean tl_checkpoint_load(TlParamStore *store, TlOptimizer *opt, const char *path,
                                   GError **error);
/* Same, and return the file's metadata (nullable out, transfer full). */
TL_API gboolean tl_checkpoint_load_full(TlParamStore *store, TlOptimizer *opt, const char *path,
                                        GHashTable **metadata, GError **error);
/* Load pretrained weights through a name mapping ("bert"; NULL or "none":
 * names as they are). Shapes must match; float dtypes are converted. Fails
 * when no parameter at all was found in the file. */
TL_API gboolean tl_checkpoint_load_mapped(TlParamStore *store, const char *path,
                                          const char *mapping, GError **error);
/* The tl name for a file name under `mapping`; NULL when it maps to nothing.
 * (transfer full) */
TL_API char *tl_checkpoint_map_name(const char *mapping, const char *file_name);

TL_END_DECLS

#endif /* TL_CHECKPOINT_H */
