# libtl-1: the host runtime (engine + registry). Sources come from the
# fragments below, one per area, so areas can grow independently.
lib_LTLIBRARIES += core/libtl-1.la

TL_ENGINE_SOURCES =
TL_OPS_SOURCES =
TL_TRAIN_SOURCES =
TL_RUNTIME_SOURCES =
TL_REGISTRY_SOURCES =

include core/engine.mk
include core/ops/ops.mk
include core/train.mk
include core/runtime.mk
include registry/registry.mk

core_libtl_1_la_SOURCES = $(TL_ENGINE_SOURCES) $(TL_OPS_SOURCES) $(TL_TRAIN_SOURCES) \
	$(TL_RUNTIME_SOURCES) $(TL_REGISTRY_SOURCES)
core_libtl_1_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/core -I$(top_srcdir)/registry \
	-DTL_COMPILATION -DG_LOG_DOMAIN=\"tl\" \
	-DTL_PLUGINDIR=\"$(tlplugindir)\" -DTL_LIBEXECDIR=\"$(libexecdir)\" -DTL_DATADIR=\"$(tldatadir)\"
core_libtl_1_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden -fno-math-errno $(OPENMP_CFLAGS) $(BLAS_CFLAGS) $(ZLIB_CFLAGS)
core_libtl_1_la_LIBADD = $(GLIB_LIBS) $(XML_LIBS) $(BLAS_LIBS) $(ZLIB_LIBS) $(LIBM)
core_libtl_1_la_LDFLAGS = $(AM_LDFLAGS) $(OPENMP_CFLAGS) -version-info $(TL_LT_VERSION) -no-undefined -Wl,--no-undefined
include core/comm.mk
