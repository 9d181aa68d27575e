# The plugin conformance suite: a convenience library linked into tlhost
# (`tlhost conformance`), and `make check` running it on every in-tree plugin.
noinst_LTLIBRARIES += tests/conformance/libtlconformance.la
tests_conformance_libtlconformance_la_SOURCES = \
	tests/conformance/conformance.h \
	tests/conformance/conformance.c \
	tests/conformance/util.c \
	tests/conformance/checks-plugin.c \
	tests/conformance/checks-op.c \
	tests/conformance/checks-model.c \
	tests/conformance/checks-dataset.c \
	tests/conformance/checks-planner.c
tests_conformance_libtlconformance_la_CPPFLAGS = $(AM_CPPFLAGS) -DTL_SCHEMADIR=\"$(tldatadir)/schema\"
tests_conformance_libtlconformance_la_CFLAGS = $(AM_CFLAGS)

hosts_tlhost_CPPFLAGS += -I$(top_srcdir)/tests/conformance
hosts_tlhost_LDADD += tests/conformance/libtlconformance.la $(GLIB_LIBS) $(XML_LIBS)
EXTRA_DIST += hosts/cmd-job.h

TESTS += tests/conformance/run-all.sh
dist_noinst_SCRIPTS += tests/conformance/run-all.sh
TESTS += tests/conformance/expect-failures.sh
dist_noinst_SCRIPTS += tests/conformance/expect-failures.sh
