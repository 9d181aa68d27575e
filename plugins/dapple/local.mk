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

EXTRA_DIST += plugins/dapple/dapple.tlplugin.xml \
	plugins/dapple/README.md \
	plugins/dapple/examples/clusters/1x4-cpu.xml \
	plugins/dapple/examples/clusters/16x1-25gbe.xml \
	plugins/dapple/examples/clusters/2x8-nvlink-25gbe.xml \
	plugins/dapple/examples/clusters/2x8-pcie-10gbe.xml \
	plugins/dapple/examples/plan-mlp.xml \
	plugins/dapple/examples/run-mlp.xml \
	plugins/dapple/examples/run-dapple-plan.xml \
	plugins/dapple/examples/simulate-bert48.xml \
	plugins/dapple/examples/simulate-gnmt16.xml \
	plugins/dapple/examples/simulate-mlp-gpipe.xml \
	plugins/dapple/examples/simulate-vgg19.xml \
	plugins/dapple/profiles/bert48.profile \
	plugins/dapple/profiles/gnmt16.profile \
	plugins/dapple/profiles/vgg19.profile \
	plugins/dapple/scripts/paper-table.sh \
	plugins/dapple/scripts/measured-run.sh \
	plugins/dapple/tests/uneven-plan.xml

# Unit tests compile the planner sources in (no plugin loading).
check_PROGRAMS += plugins/dapple/tests/test-dapple
TESTS += plugins/dapple/tests/test-dapple
plugins_dapple_tests_test_dapple_SOURCES = plugins/dapple/tests/test-dapple.c $(DAPPLE_CORE_SOURCES) \
	plugins/dapple/tools/archs.c
plugins_dapple_tests_test_dapple_CPPFLAGS = $(TL_TEST_CPP_FLAGS) -I$(top_srcdir)/plugins/dapple
plugins_dapple_tests_test_dapple_CFLAGS = $(TL_TEST_C_FLAGS)
plugins_dapple_tests_test_dapple_LDADD = $(TL_TEST_LIBS) -lm

# The runtime over 4 processes (skipped without MPI).
TESTS += plugins/dapple/tests/test-dapple-mpi.sh
dist_noinst_SCRIPTS += plugins/dapple/tests/test-dapple-mpi.sh

# tl-dapple-profile: the paper's models (VGG-19, GNMT-16, BERT-48) built as
# tl train graphs and costed with tl_node_cost on a V100-like device; writes
# profiles/*.profile (scripts/paper-table.sh runs it).
noinst_PROGRAMS += plugins/dapple/tools/tl-dapple-profile
plugins_dapple_tools_tl_dapple_profile_SOURCES = plugins/dapple/tools/tl-dapple-profile.c \
	plugins/dapple/tools/archs.c plugins/dapple/profile.c plugins/dapple/dapple-private.h
plugins_dapple_tools_tl_dapple_profile_CPPFLAGS = $(TL_TEST_CPP_FLAGS) -I$(top_srcdir)/plugins/dapple
plugins_dapple_tools_tl_dapple_profile_CFLAGS = $(TL_TEST_C_FLAGS)
plugins_dapple_tools_tl_dapple_profile_LDADD = $(TL_TEST_LIBS) -lm
