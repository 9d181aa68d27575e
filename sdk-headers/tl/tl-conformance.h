/* tl-conformance.h — optional extensions a plugin provides so that
 * `tlhost conformance` can test it more deeply.
 *
 * Each is returned by the component table's get_extension(id). Without them
 * the corresponding checks are skipped with a "# WARN" line (fatal with
 * --fatal-warnings). The op extension TL_OP_EXT_SAMPLES lives in tl-op.h.
 *
 * For example, the model hello.linreg (examples/hello-plugin) trains on 64
 * rows of its plugin's dataset hello.synthetic (parameter n_rows), through
 * the get_extension slot of its TlModelDef (.get_extension = linreg_ext):
 *
 * @example-begin model-sample-data
 *   static const char *const sample_params[] = { "n_rows=64", NULL };
 *   static const TlModelSampleData sample = {
 *     TL_TABLE_INIT(TlModelSampleData), .dataset = "hello.synthetic",
 *     .params = sample_params };
 *   static const void *linreg_ext(const char *id) {
 *     return g_strcmp0(id, TL_MODEL_EXT_SAMPLE_DATA) == 0 ? &sample : NULL;
 *   }
 * @example-end
 */
#ifndef TL_CONFORMANCE_H
#define TL_CONFORMANCE_H

#include <glib.h>
#include <tl/tl-macros.h>

TL_BEGIN_DECLS

/* Model extension: a dataset the suite can train the model on. */
#define TL_MODEL_EXT_SAMPLE_DATA "tl.model.sample-data/1"

typedef struct {
  TL_TABLE_HEADER;
  /* Full name of a dataset component ("hello.synthetic") that needs no
   * external file with these params. */
  const char *dataset;
  /* NULL-terminated "name=value" parameter assignments (nullable). */
  const char *const *params;
  void *reserved[4];
} TlModelSampleData;

/* Dataset extension: produce a malformed input file; opening (or reading
 * all rows of) the dataset with the returned params must fail with an error
 * naming the file and line ("FILE:LINE: ..."). */
#define TL_DATASET_EXT_MALFORMED_SAMPLE "tl.dataset.malformed-sample/1"

typedef struct {
  TL_TABLE_HEADER;
  /* Write a malformed file into the existing directory dir. Return the
   * params (NULL-terminated "name=value", g_strfreev) and the file path
   * (g_free) the error must name. */
  gboolean (*make)(const char *dir, char ***params, char **file, GError **error);
  void *reserved[4];
} TlDatasetMalformedSample;

TL_END_DECLS

#endif /* TL_CONFORMANCE_H */
