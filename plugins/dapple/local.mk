# plugins/dapple: DAPPLE pipelined data parallel planner, baselines and
# pipeline simulator. Built as a module like any third-party plugin (SDK
# only); the manifest is found beside it through the registry's
# source-tree mirror (see plugins/fives/local.mk).
tlplugin_LTLIBRARIES += plugins/dapple/libtl-dapple.la
tlplugin_DATA += plugins/dapple/dapple.tlplugin.xml

DAPPLE_CORE_SOURCES = \
	plugins/dapple/dapple-private.h \
	plugins/dapple/profile.c \
	plugins/dapple/placement.c \
	plugins/dapple/cost.c \
	plugins/dapple/dp.c \
	plugins/dapple/baselines.c \
	plugins/dapple/simulator.c \
	plugins/dapple/svg.c \
	plugins/dapple/runtime.c \
	plugins/dapple/planner.c

plugins_dapple_libtl_dapple_la_SOURCES = plugins/dapple/dapple.c $(DAPPLE_CORE_SOURCES)
plugins_dapple_libtl_dapple_la_CFLAGS = $(AM_CFLAGS) $(TL_PLUGIN_C_FLAGS)
plugins_dapple_libtl_dapple_la_LDFLAGS = $(TL_PLUGIN_LD_FLAGS)
plugins_dapple_libtl_dapple_la_LIBADD = $(TL_PLUGIN_LIBS) -lm

EXTRA_DIST += \
	plugins/dapple/README.md

# Unit tests compile the planner sources in (no plugin loading).
check_PROGRAMS += plugins/dapple/tests/test-dapple
TESTS += plugins/dapple/tests/test-dapple
plugins_dapple_tests_test_dapple_SOURCES = plugins/dapple/tests/test-dapple.c $(DAPPLE_CORE_SOURCES)
plugins_dapple_tests_test_dapple_CPPFLAGS = $(TL_TEST_CPP_FLAGS) -I$(top_srcdir)/plugins/dapple
plugins_dapple_tests_test_dapple_CFLAGS = $(TL_TEST_C_FLAGS)
plugins_dapple_tests_test_dapple_LDADD = $(TL_TEST_LIBS) -lm
