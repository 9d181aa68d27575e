/* xml-private.h — hardened XML reading for every part of libtl-1.
 *
 * All tl XML (plugin manifests, job manifests, overlays, cluster files, plans,
 * the registry cache) goes through _tl_priv_xml_read_*: no network access, no
 * DTDs (internal or external subset) and therefore no entities, a size limit,
 * line numbers kept, and libxml2's own error printing replaced by one
 * "FILE:LINE: message" GError.
 *
 *   g_autoptr(xmlDoc) doc = _tl_priv_xml_read_file (path, &error);
 *   xmlNode *root = xmlDocGetRootElement (doc);
 *   if (!_tl_priv_xml_is (root, "urn:tl:job:1", "job"))
 *     return _tl_priv_xml_fail (error, TL_ERROR_PARSE, path, root, "expected <job>");
 */
#ifndef TL_XML_PRIVATE_H
#define TL_XML_PRIVATE_H

#ifndef TL_COMPILATION
#error "xml-private.h is internal to libtl-1"
#endif

#include <stdarg.h>

#include <glib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

G_BEGIN_DECLS

/* Largest document accepted (bytes). */
#define TL_XML_MAX_SIZE (4u * 1024u * 1024u)

/* Parse a file. Errors (TL_ERROR_IO, TL_ERROR_PARSE) name the file and, where
 * known, the line. (transfer full: xmlFreeDoc) */
G_GNUC_INTERNAL xmlDoc *_tl_priv_xml_read_file (const char *path, GError **error);
/* Parse a buffer; `name` is used in messages in place of a file name. */
G_GNUC_INTERNAL xmlDoc *_tl_priv_xml_read_memory (const char *data, gsize len, const char *name,
                                                  GError **error);
/* Line number of a node (0 when unknown). */
G_GNUC_INTERNAL long _tl_priv_xml_line (const xmlNode *node);
/* "FILE:LINE: " prefix for a node (FILE: when the line is unknown). (transfer full) */
G_GNUC_INTERNAL char *_tl_priv_xml_location (const char *file, const xmlNode *node);
/* "FILE:LINE: <message>", control characters of the message escaped (values
 * from the file may hold &#10;): one line. (transfer full) */
G_GNUC_INTERNAL char *_tl_priv_xml_vmessage (const char *file, const xmlNode *node, const char *fmt,
                                             va_list ap) G_GNUC_PRINTF (3, 0);
/* Append "FILE:LINE: <message>\n" (as _tl_priv_xml_vmessage) to `errs`: the
 * readers that report every problem, one per line. */
G_GNUC_INTERNAL void _tl_priv_xml_add_error (GString *errs, const char *file, const xmlNode *node,
                                             const char *fmt, ...) G_GNUC_PRINTF (4, 5);
/* Set `error` to "FILE:LINE: <message>" and return NULL (for `return` chaining). */
G_GNUC_INTERNAL gpointer _tl_priv_xml_fail (GError **error, int code, const char *file,
                                            const xmlNode *node, const char *fmt, ...)
  G_GNUC_PRINTF (5, 6);
/* TRUE when node is an element `name` in namespace `ns` (ns NULL: any). */
G_GNUC_INTERNAL gboolean _tl_priv_xml_is (const xmlNode *node, const char *ns, const char *name);
/* Attribute value (no namespace) or NULL. (transfer full: g_free) */
G_GNUC_INTERNAL char *_tl_priv_xml_prop (const xmlNode *node, const char *name);
/* Text content of an element, whitespace-trimmed. (transfer full: g_free) */
G_GNUC_INTERNAL char *_tl_priv_xml_text (const xmlNode *node);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlDoc, xmlFreeDoc)

G_END_DECLS

#endif /* TL_XML_PRIVATE_H */
