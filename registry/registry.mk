# The plugin registry (part of libtl-1): manifests, scanning, cache, probe,
# parameter validation, loading, the built-in plugin "tl".
TL_REGISTRY_SOURCES += \
	registry/registry-private.h \
	registry/registry-impl.h \
	registry/cache-private.h \
	registry/manifest.c \
	registry/registry.c \
	registry/cache.c \
	registry/probe.c \
	registry/load.c \
	registry/info.c \
	registry/params-validate.c \
	registry/builtin.c

# The built-in plugin's manifest, embedded as a C byte array. Regenerated
# every build but only replaced when it changes; a minimal manifest stands in
# while core/builtin/tl.tlplugin.xml does not exist yet.
BUILT_SOURCES += registry/builtin-manifest.inc
DISTCLEANFILES += registry/builtin-manifest.inc
registry/builtin-manifest.inc: tl-builtin-manifest-force
	$(AM_V_GEN)set -e; $(MKDIR_P) registry; \
	src='$(top_srcdir)/core/builtin/tl.tlplugin.xml'; \
	{ echo '/* generated from core/builtin/tl.tlplugin.xml: do not edit */'; \
	  echo 'static const unsigned char tl_builtin_manifest_data[] = {'; \
	  if test -f "$$src"; then od -An -v -tx1 "$$src"; else \
	    printf '%s\n' '<plugin xmlns="urn:tl:plugin:1" id="tl" version="$(PACKAGE_VERSION)" abi="1.0" license="Apache-2.0"><description>built-in components of libtl-1</description></plugin>' \
	    | od -An -v -tx1; fi \
	  | sed -e 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '0x00 };'; } > $@.tmp; \
	if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi
.PHONY: tl-builtin-manifest-force
# explicit, so that building only core/libtl-1.la also generates it
# (through a variable: automake would otherwise replace its compile rule)
tl_builtin_manifest_user = registry/core_libtl_1_la-builtin.lo
$(tl_builtin_manifest_user): registry/builtin-manifest.inc
TL_REGISTRY_SOURCES += registry/job.c registry/job-private.h registry/job-validate.c registry/job-run.c
