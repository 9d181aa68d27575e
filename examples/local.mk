# (filled in by its owner)
include examples/quickstart/local.mk
# A third-party plugin built with pkg-config only (tests/examples.sh builds
# it), installed beside the guide that walks through it (docs/plugin-guide.md)
# as $(docdir)/examples/hello-plugin.
helloplugindir = $(docdir)/examples/hello-plugin
dist_helloplugin_DATA = \
	examples/hello-plugin/hello.c \
	examples/hello-plugin/hello.tlplugin.xml \
	examples/hello-plugin/Makefile \
	examples/hello-plugin/job.xml \
	examples/hello-plugin/README.md
