# tlhost and the plugin scanner.
bin_PROGRAMS += hosts/tlhost
libexec_PROGRAMS += hosts/tl-plugin-scanner

hosts_tlhost_SOURCES = \
	hosts/tlhost.c \
	hosts/tlhost-cmds.h \
	hosts/tlhost-util.c \
	hosts/tlhost-util.h \
	hosts/cmd-list.c \
	hosts/cmd-inspect.c \
	hosts/cmd-version.c \
	hosts/cmd-run.c \
	hosts/cmd-validate.c \
	hosts/cmd-conformance.c
hosts_tlhost_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/hosts
hosts_tlhost_CFLAGS = $(AM_CFLAGS) $(OPENMP_CFLAGS)
hosts_tlhost_LDADD = core/libtl-1.la $(GLIB_LIBS) $(XML_LIBS) $(LIBM)

hosts_tl_plugin_scanner_SOURCES = hosts/tl-plugin-scanner.c
hosts_tl_plugin_scanner_CPPFLAGS = $(AM_CPPFLAGS)
hosts_tl_plugin_scanner_CFLAGS = $(AM_CFLAGS)
hosts_tl_plugin_scanner_LDADD = core/libtl-1.la $(GLIB_LIBS)
