# plugins/fusion: FusionStitching (arXiv:2009.10924): explorer, stitching,
# the fused op and its CPU interpreter. The sources are built once as a
# convenience library linked by the module and by the tests (which need the
# explorer's internals, e.g. for the brute-force comparison).
noinst_LTLIBRARIES += plugins/fusion/libfusion-core.la
plugins_fusion_libfusion_core_la_SOURCES = \
	plugins/fusion/fusion-private.h \
	plugins/fusion/pattern.c \
	plugins/fusion/cost.c \
	plugins/fusion/explorer.c \
	plugins/fusion/interp.c \
	plugins/fusion/fused-op.c \
	plugins/fusion/plan-io.c \
	plugins/fusion/model-transformer.c \
	plugins/fusion/prims.c \
	plugins/fusion/codegen-cuda.c \
	plugins/fusion/launch-cuda.c \
	plugins/fusion/codegen-c.c \
	plugins/fusion/fusion.c
nodist_plugins_fusion_libfusion_core_la_SOURCES = plugins/fusion/fusion-math-prelude.h
# -ffp-contract=off: no a * b + c fused into an FMA, here (the interpreter's
# AVX-512 clone) nor in the compiled kernels (codegen-c.c passes it too), so
# both paths compute tl-math.h's polynomials to the same bits on every CPU.
plugins_fusion_libfusion_core_la_CFLAGS = $(AM_CFLAGS) $(TL_PLUGIN_C_FLAGS) $(OPENMP_CFLAGS) -ffp-contract=off
# NVRTC is loaded with dlopen at run time: no CUDA headers or libraries here.
FUSION_CUDA_DEFS =
if HAVE_CUDA
FUSION_CUDA_DEFS += -DFUSION_CUDA=1
endif
plugins_fusion_libfusion_core_la_CPPFLAGS = $(AM_CPPFLAGS) $(FUSION_CUDA_DEFS) -I$(top_builddir)/plugins/fusion

# The compiled CPU path's kernels get the SDK's tl-math.h as text (the run-time
# compiler may have no SDK headers): generated into the build tree, never
# distributed, so tl-math.h is the only source of the fast float math.
BUILT_SOURCES += plugins/fusion/fusion-math-prelude.h
CLEANFILES += plugins/fusion/fusion-math-prelude.h
dist_noinst_SCRIPTS += plugins/fusion/gen-math-prelude.sh
plugins/fusion/fusion-math-prelude.h: $(top_srcdir)/sdk-headers/tl/tl-math.h $(top_srcdir)/plugins/fusion/gen-math-prelude.sh
	$(AM_V_GEN)$(MKDIR_P) plugins/fusion && \
	$(SHELL) $(top_srcdir)/plugins/fusion/gen-math-prelude.sh $(top_srcdir)/sdk-headers/tl/tl-math.h $@
# explicit, so that building only the library also generates it (through a
# variable: automake would otherwise replace its compile rule)
fusion_math_prelude_user = plugins/fusion/libfusion_core_la-codegen-c.lo
$(fusion_math_prelude_user): plugins/fusion/fusion-math-prelude.h

tlplugin_LTLIBRARIES += plugins/fusion/libtl-fusion.la
tlplugin_DATA += plugins/fusion/fusion.tlplugin.xml
plugins_fusion_libtl_fusion_la_SOURCES =
plugins_fusion_libtl_fusion_la_LDFLAGS = $(TL_PLUGIN_LD_FLAGS) $(OPENMP_CFLAGS)
plugins_fusion_libtl_fusion_la_LIBADD = plugins/fusion/libfusion-core.la $(TL_PLUGIN_LIBS) -lm
nodist_EXTRA_plugins_fusion_libtl_fusion_la_SOURCES = dummy.c

EXTRA_DIST += \
	plugins/fusion/README.md \
	plugins/fusion/fusion.tlplugin.xml \
	plugins/fusion/examples/train-transformer.xml \
	plugins/fusion/examples/no-fusion.xml

check_PROGRAMS += plugins/fusion/tests/test-fusion
TESTS += plugins/fusion/tests/test-fusion
plugins_fusion_tests_test_fusion_SOURCES = plugins/fusion/tests/test-fusion.c
plugins_fusion_tests_test_fusion_CPPFLAGS = $(TL_TEST_CPP_FLAGS) -I$(top_srcdir)/plugins/fusion -DNVCC='"$(NVCC)"'
plugins_fusion_tests_test_fusion_CFLAGS = $(TL_TEST_C_FLAGS)
plugins_fusion_tests_test_fusion_LDADD = plugins/fusion/libfusion-core.la $(TL_TEST_LIBS) $(OPENMP_CFLAGS) -lm

TESTS += plugins/fusion/tests/test-example.sh
EXTRA_DIST += plugins/fusion/tests/test-example.sh
