/* xml.c — hardened libxml2 reading: no network, no DTDs or entities, a size
 * limit, line numbers, and errors as one-line GErrors. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>

#include "tl-private.h"
#include "xml-private.h"

typedef struct {
  const char *name;  /* file name for messages */
  char *message;     /* first error, "NAME:LINE: text" */
  int code;
} XmlState;

static void
state_error (XmlState *st, int code, long line, const char *text)
{
  if (st->message)
    return;
  g_autofree char *raw = g_strstrip (g_strdup (text ? text : "malformed document"));
  /* libxml2 messages quote the document (which may hold &#10; or &#13;):
   * keep them on one line */
  g_autofree char *t = _tl_priv_escape_controls (raw);
  if (line > 0)
    st->message = g_strdup_printf ("%s:%ld: %s", st->name, line, t);
  else
    st->message = g_strdup_printf ("%s: %s", st->name, t);
  st->code = code;
}

static void
on_structured_error (void *user_data, xmlErrorPtr err)
{
  xmlParserCtxtPtr ctxt = user_data;
  XmlState *st = ctxt ? ctxt->_private : NULL;
  if (!st || !err || err->level < XML_ERR_ERROR)
    return;
  state_error (st, TL_ERROR_PARSE, err->line, err->message);
}

static void
refuse_dtd (void *ctx)
{
  xmlParserCtxtPtr ctxt = ctx;
  XmlState *st = ctxt->_private;
  state_error (st, TL_ERROR_PARSE, xmlSAX2GetLineNumber (ctxt), "DTDs and entities are not allowed");
  xmlStopParser (ctxt);
}

static void
on_internal_subset (void *ctx, const xmlChar *name G_GNUC_UNUSED, const xmlChar *ext_id G_GNUC_UNUSED,
                    const xmlChar *sys_id G_GNUC_UNUSED)
{
  refuse_dtd (ctx);
}

static void
on_entity_decl (void *ctx, const xmlChar *name G_GNUC_UNUSED, int type G_GNUC_UNUSED,
                const xmlChar *public_id G_GNUC_UNUSED, const xmlChar *system_id G_GNUC_UNUSED,
                xmlChar *content G_GNUC_UNUSED)
{
  refuse_dtd (ctx);
}

/**
 * _tl_priv_xml_read_memory:
 * @data: document bytes (need not be NUL-terminated)
 * @len: length of @data
 * @name: name used in messages (usually the file name)
 * @error: return location for a #GError
 *
 * Parses @data with the hardened settings described in xml-private.h.
 *
 * Returns: (transfer full) (nullable): the document, or NULL with @error set.
 */
xmlDoc *
_tl_priv_xml_read_memory (const char *data, gsize len, const char *name, GError **error)
{
  if (len > TL_XML_MAX_SIZE) {
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE,
                 "%s: document is too large (%" G_GSIZE_FORMAT " bytes; the limit is %u)", name, len,
                 TL_XML_MAX_SIZE);
    return NULL;
  }
  xmlInitParser ();
  xmlParserCtxtPtr ctxt = xmlNewParserCtxt ();
  if (!ctxt) {
    g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY, "%s: cannot create an XML parser", name);
    return NULL;
  }
  XmlState st = { name, NULL, 0 };
  ctxt->_private = &st;
  ctxt->sax->serror = on_structured_error;
  ctxt->sax->error = NULL;
  ctxt->sax->warning = NULL;
  ctxt->sax->internalSubset = on_internal_subset;
  ctxt->sax->externalSubset = on_internal_subset;
  ctxt->sax->entityDecl = on_entity_decl;
  ctxt->vctxt.error = NULL;
  ctxt->vctxt.warning = NULL;

  /* No XML_PARSE_NOENT, XML_PARSE_DTDLOAD or XML_PARSE_DTDATTR: nothing is
   * ever fetched or substituted, and a DOCTYPE stops the parser at once. */
  int opts = XML_PARSE_NONET | XML_PARSE_BIG_LINES | XML_PARSE_NOWARNING;
  xmlDoc *doc = xmlCtxtReadMemory (ctxt, data, (int) len, name, NULL, opts);

  if (!st.message && doc && (doc->intSubset || doc->extSubset))
    state_error (&st, TL_ERROR_PARSE, 1, "DTDs and entities are not allowed");
  if (!st.message && (!doc || !ctxt->wellFormed))
    state_error (&st, TL_ERROR_PARSE, ctxt->input ? ctxt->input->line : 0, "malformed document");
  if (!st.message && !xmlDocGetRootElement (doc))
    state_error (&st, TL_ERROR_PARSE, 0, "document has no root element");
  ctxt->_private = NULL;
  xmlFreeParserCtxt (ctxt);
  if (st.message) {
    g_set_error_literal (error, TL_ERROR, st.code, st.message);
    g_free (st.message);
    if (doc)
      xmlFreeDoc (doc);
    return NULL;
  }
  return doc;
}

/**
 * _tl_priv_xml_read_file:
 * @path: file to read
 * @error: return location for a #GError
 *
 * Reads and parses @path (at most %TL_XML_MAX_SIZE bytes) with the hardened
 * settings described in xml-private.h.
 *
 * Returns: (transfer full) (nullable): the document, or NULL with @error set.
 */
xmlDoc *
_tl_priv_xml_read_file (const char *path, GError **error)
{
  /* O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused
   * below as not a regular file); regular files ignore it */
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int e = errno;
    g_autofree char *shown = _tl_priv_escape_short (path);
    g_set_error (error, TL_ERROR, e == ENOENT ? TL_ERROR_NOT_FOUND : TL_ERROR_IO, "%s: %s", shown,
                 g_strerror (e));
    return NULL;
  }
  struct stat sb;
  if (fstat (fd, &sb) != 0) {
    int e = errno;
    close (fd);
    g_autofree char *shown = _tl_priv_escape_short (path);
    g_set_error (error, TL_ERROR, TL_ERROR_IO, "%s: %s", shown, g_strerror (e));
    return NULL;
  }
  if (!S_ISREG (sb.st_mode)) {
    /* a directory, FIFO or device given where a document is wanted: the
     * caller's mistake (tlhost exits 2), not an I/O failure */
    close (fd);
    g_autofree char *shown = _tl_priv_escape_short (path);
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "%s: not a regular file", shown);
    return NULL;
  }
  if (sb.st_size > (off_t) TL_XML_MAX_SIZE) {
    close (fd);
    g_autofree char *shown = _tl_priv_escape_short (path);
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE,
                 "%s: document is too large (%lld bytes; the limit is %u)", shown,
                 (long long) sb.st_size, TL_XML_MAX_SIZE);
    return NULL;
  }
  gsize cap = (gsize) sb.st_size + 1, len = 0;
  char *buf = g_try_malloc (cap + 1);
  if (!buf) {
    close (fd);
    g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY, "%s: out of memory", path);
    return NULL;
  }
  for (;;) {
    ssize_t n = read (fd, buf + len, cap - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      close (fd);
      g_free (buf);
      g_set_error (error, TL_ERROR, TL_ERROR_IO, "%s: %s", path, g_strerror (e));
      return NULL;
    }
    if (n == 0)
      break;
    len += (gsize) n;
    if (len == cap) {
      /* the file grew while we read it: allow up to the limit */
      if (cap > TL_XML_MAX_SIZE) {
        close (fd);
        g_free (buf);
        g_set_error (error, TL_ERROR, TL_ERROR_PARSE,
                     "%s: document is too large (the limit is %u bytes)", path, TL_XML_MAX_SIZE);
        return NULL;
      }
      gsize ncap = MIN (cap * 2, (gsize) TL_XML_MAX_SIZE + 1);
      char *nb = g_try_realloc (buf, ncap + 1);
      if (!nb) {
        close (fd);
        g_free (buf);
        g_set_error (error, TL_ERROR, TL_ERROR_NO_MEMORY, "%s: out of memory", path);
        return NULL;
      }
      buf = nb;
      cap = ncap;
    }
  }
  close (fd);
  xmlDoc *doc = _tl_priv_xml_read_memory (buf, len, path, error);
  g_free (buf);
  return doc;
}

long
_tl_priv_xml_line (const xmlNode *node)
{
  if (!node)
    return 0;
  long l = xmlGetLineNo (node);
  return l > 0 ? l : 0;
}

char *
_tl_priv_xml_location (const char *file, const xmlNode *node)
{
  long line = _tl_priv_xml_line (node);
  /* a file name may hold a line break too: every message stays one line */
  g_autofree char *shown = _tl_priv_escape_controls (file);
  if (line > 0)
    return g_strdup_printf ("%s:%ld", shown, line);
  return g_steal_pointer (&shown);
}

char *
_tl_priv_xml_vmessage (const char *file, const xmlNode *node, const char *fmt, va_list ap)
{
  g_autofree char *raw = g_strdup_vprintf (fmt, ap);
  g_autofree char *msg = _tl_priv_escape_controls (raw);
  g_autofree char *loc = _tl_priv_xml_location (file, node);
  return g_strdup_printf ("%s: %s", loc, msg);
}

void
_tl_priv_xml_add_error (GString *errs, const char *file, const xmlNode *node, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = _tl_priv_xml_vmessage (file, node, fmt, ap);
  va_end (ap);
  g_string_append (errs, msg);
  g_string_append_c (errs, '\n');
}

gpointer
_tl_priv_xml_fail (GError **error, int code, const char *file, const xmlNode *node,
                   const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = _tl_priv_xml_vmessage (file, node, fmt, ap);
  va_end (ap);
  g_set_error_literal (error, TL_ERROR, code, msg);
  return NULL;
}

gboolean
_tl_priv_xml_is (const xmlNode *node, const char *ns, const char *name)
{
  if (!node || node->type != XML_ELEMENT_NODE)
    return FALSE;
  if (name && strcmp ((const char *) node->name, name) != 0)
    return FALSE;
  if (ns && (!node->ns || !node->ns->href || strcmp ((const char *) node->ns->href, ns) != 0))
    return FALSE;
  return TRUE;
}

char *
_tl_priv_xml_prop (const xmlNode *node, const char *name)
{
  xmlChar *v = xmlGetNoNsProp (node, (const xmlChar *) name);
  if (!v)
    return NULL;
  char *s = g_strdup ((const char *) v);
  xmlFree (v);
  return s;
}

char *
_tl_priv_xml_text (const xmlNode *node)
{
  xmlChar *v = xmlNodeGetContent (node);
  char *s = g_strdup (v ? (const char *) v : "");
  if (v)
    xmlFree (v);
  return g_strstrip (s);
}

