/* test-xml.c — the hardened XML reader refuses hostile documents at once,
 * with a "FILE:LINE: message" error, and never prints on its own. */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "tl-private.h"
#include "xml-private.h"
#include "builtin-util.h"

static char *tmpdir;

static char *
write_tmp (const char *name, const char *content, gssize len)
{
  char *path = g_build_filename (tmpdir, name, NULL);
  g_assert_true (g_file_set_contents (path, content, len, NULL));
  return path;
}

/* Parse `content` from a file and expect a TL_ERROR_PARSE whose message
 * starts with "PATH:LINE: " (line > 0) and contains `needle`. */
static void
expect_refused (const char *name, const char *content, long line, const char *needle)
{
  g_autofree char *path = write_tmp (name, content, -1);
  g_autoptr (GError) error = NULL;
  xmlDoc *doc = _tl_priv_xml_read_file (path, &error);
  g_assert_null (doc);
  g_assert_error (error, TL_ERROR, TL_ERROR_PARSE);
  g_autofree char *prefix = g_strdup_printf ("%s:%ld: ", path, line);
  if (!g_str_has_prefix (error->message, prefix) || !strstr (error->message, needle))
    g_error ("unexpected message: %s (wanted prefix '%s' and '%s')", error->message, prefix, needle);
  g_assert_null (strchr (error->message, '\n'));
}

static void
test_billion_laughs (void)
{
  expect_refused ("laughs.xml",
                  "<?xml version=\"1.0\"?>\n"
                  "<!DOCTYPE lolz [\n"
                  " <!ENTITY lol \"lol\">\n"
                  " <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
                  " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
                  " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
                  " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
                  " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
                  " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
                  " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
                  " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
                  "]>\n"
                  "<lolz>&lol9;</lolz>\n",
                  2, "DTDs and entities are not allowed");
}

static void
test_xxe (void)
{
  expect_refused ("xxe.xml",
                  "<?xml version=\"1.0\"?>\n"
                  "<!DOCTYPE foo [ <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> ]>\n"
                  "<foo>&xxe;</foo>\n",
                  2, "DTDs and entities are not allowed");
}

static void
test_external_dtd (void)
{
  expect_refused ("ext.xml",
                  "<?xml version=\"1.0\"?>\n\n"
                  "<!DOCTYPE plugin SYSTEM \"http://example.invalid/evil.dtd\">\n"
                  "<plugin/>\n",
                  3, "DTDs and entities are not allowed");
}

static void
test_undefined_entity (void)
{
  expect_refused ("undef.xml", "<a>\n<b>&nope;</b>\n</a>\n", 2, "nope");
}

static void
test_malformed (void)
{
  expect_refused ("bad.xml", "<a>\n  <b>\n</a>\n", 3, "");
}

static void
test_oversize (void)
{
  gsize n = TL_XML_MAX_SIZE + 16;
  char *big = g_malloc (n);
  memset (big, ' ', n);
  memcpy (big, "<a>", 3);
  memcpy (big + n - 4, "</a>", 4);
  g_autofree char *path = write_tmp ("big.xml", big, (gssize) n);
  g_autoptr (GError) error = NULL;
  g_assert_null (_tl_priv_xml_read_file (path, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_PARSE);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_assert_nonnull (strstr (error->message, "too large"));
  g_clear_error (&error);
  g_assert_null (_tl_priv_xml_read_memory (big, n, "mem.xml", &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_PARSE);
  g_assert_true (g_str_has_prefix (error->message, "mem.xml: "));
  g_free (big);
}

static void
test_missing_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (tmpdir, "nope.xml", NULL);
  g_assert_null (_tl_priv_xml_read_file (path, &error));
  g_assert_error (error, TL_ERROR, TL_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_prefix (error->message, path));
}

static void
test_good_lines (void)
{
  g_autofree char *path = write_tmp ("good.xml",
                                     "<?xml version=\"1.0\"?>\n"
                                     "<r xmlns=\"urn:x\">\n"
                                     "  <!-- c -->\n"
                                     "  <item a=\"1\">  text &amp; more  </item>\n"
                                     "</r>\n",
                                     -1);
  g_autoptr (GError) error = NULL;
  g_autoptr (xmlDoc) doc = _tl_priv_xml_read_file (path, &error);
  g_assert_no_error (error);
  xmlNode *root = xmlDocGetRootElement (doc);
  g_assert_true (_tl_priv_xml_is (root, "urn:x", "r"));
  g_assert_false (_tl_priv_xml_is (root, "urn:y", "r"));
  xmlNode *item = root->children;
  while (item && item->type != XML_ELEMENT_NODE)
    item = item->next;
  g_assert_nonnull (item);
  g_assert_cmpint (_tl_priv_xml_line (item), ==, 4);
  g_autofree char *a = _tl_priv_xml_prop (item, "a");
  g_assert_cmpstr (a, ==, "1");
  g_autofree char *t = _tl_priv_xml_text (item);
  g_assert_cmpstr (t, ==, "text & more");
  g_autofree char *loc = _tl_priv_xml_location (path, item);
  g_autofree char *want = g_strdup_printf ("%s:4", path);
  g_assert_cmpstr (loc, ==, want);
  g_assert_null (_tl_priv_xml_fail (&error, TL_ERROR_PARSE, path, item, "bad %s", "thing"));
  g_autofree char *msg = g_strdup_printf ("%s:4: bad thing", path);
  g_assert_cmpstr (error->message, ==, msg);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/xml/billion-laughs", test_billion_laughs);
  g_test_add_func ("/xml/xxe", test_xxe);
  g_test_add_func ("/xml/external-dtd", test_external_dtd);
  g_test_add_func ("/xml/undefined-entity", test_undefined_entity);
  g_test_add_func ("/xml/malformed", test_malformed);
  g_test_add_func ("/xml/oversize", test_oversize);
  g_test_add_func ("/xml/missing-file", test_missing_file);
  g_test_add_func ("/xml/good-lines", test_good_lines);
  return bt_test_run_in_tmpdir ("tl-test-xml-XXXXXX", &tmpdir);
}
