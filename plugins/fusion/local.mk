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
plugins_fusion_libfusion_core_la_CFLAGS = $(AM_CFLAGS) $(TL_PLUGIN_C_FLAGS) $(OPENMP_CFLAGS)
# NVRTC is loaded with dlopen at run time: no CUDA headers or libraries here.
FUSION_CUDA_DEFS =
if HAVE_CUDA
FUSION_CUDA_DEFS += -DFUSION_CUDA=1
endif
plugins_fusion_libfusion_core_la_CPPFLAGS = $(AM_CPPFLAGS) $(FUSION_CUDA_DEFS)

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
