# The SDK: installed headers, pkg-config file, schemas, ABI rules.
tlinclude_HEADERS = \
	sdk-headers/tl/tl.h \
	sdk-headers/tl/tl-macros.h \
	sdk-headers/tl/tl-error.h \
	sdk-headers/tl/tl-dtype.h \
	sdk-headers/tl/tl-tensor.h \
	sdk-headers/tl/tl-attrs.h \
	sdk-headers/tl/tl-graph.h \
	sdk-headers/tl/tl-op.h \
	sdk-headers/tl/tl-ops.h \
	sdk-headers/tl/tl-exec.h \
	sdk-headers/tl/tl-params.h \
	sdk-headers/tl/tl-model.h \
	sdk-headers/tl/tl-dataset.h \
	sdk-headers/tl/tl-planner.h \
	sdk-headers/tl/tl-plugin.h \
	sdk-headers/tl/tl-host.h \
	sdk-headers/tl/tl-optim.h \
	sdk-headers/tl/tl-checkpoint.h \
	sdk-headers/tl/tl-metrics.h \
	sdk-headers/tl/tl-trainer.h \
	$(TL_SDK_EXTRA)

TL_SDK_EXTRA =
include sdk-headers/extra.mk

pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = sdk-headers/tl-1.pc
DISTCLEANFILES += sdk-headers/tl-1.pc sdk-headers/tl-1-uninstalled.pc
EXTRA_DIST += sdk-headers/tl-1.pc.in sdk-headers/tl-1-uninstalled.pc.in
