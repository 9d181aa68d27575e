/* tl-error.h — the tl GError domain.
 *
 * Every public tl call that can fail takes `GError **error` as its last
 * argument (may be NULL) and returns FALSE/NULL on failure. Messages are one
 * line; where the failure comes from a file they start with "FILE:LINE: ".
 */
#ifndef TL_ERROR_H
#define TL_ERROR_H

#include <glib.h>
#include <tl/tl-macros.h>

TL_BEGIN_DECLS

#define TL_ERROR (tl_error_quark())

typedef enum {
  TL_ERROR_FAILED = 1,      /* generic failure */
  TL_ERROR_INVALID_ARGUMENT, /* caller passed something invalid */
  TL_ERROR_SHAPE,           /* shape or dtype mismatch */
  TL_ERROR_NOT_FOUND,       /* unknown op/component/parameter/file */
  TL_ERROR_PARSE,           /* malformed manifest, data file or checkpoint */
  TL_ERROR_IO,              /* read/write/fsync/rename failed */
  TL_ERROR_UNSUPPORTED,     /* op/dtype/device not supported here */
  TL_ERROR_ABI,             /* plugin ABI mismatch */
  TL_ERROR_PLUGIN,          /* plugin could not be loaded or misbehaved */
  TL_ERROR_NUMERIC,         /* NaN/Inf or failed numeric check */
  TL_ERROR_NO_MEMORY,       /* allocation failed */
  TL_ERROR_CANCELLED,       /* interrupted by the user */
  TL_ERROR_DEVICE,          /* device (e.g. CUDA) error */
  TL_ERROR_COMM             /* communicator / peer error */
} TlErrorCode;

TL_API GQuark tl_error_quark(void);

TL_END_DECLS

#endif /* TL_ERROR_H */
