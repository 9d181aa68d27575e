# plugins/fives: FIVES (Feature Interaction Via Edge Search) and baselines.
# Built as a module like any third-party plugin (SDK only). The manifest is
# found beside the built library through the registry's source-tree mirror
# in VPATH builds (as for tests/plugins); installed with tlplugin_DATA.
tlplugin_LTLIBRARIES += plugins/fives/libtl-fives.la
tlplugin_DATA += plugins/fives/fives.tlplugin.xml

plugins_fives_libtl_fives_la_SOURCES = \
	plugins/fives/fives-private.h \
	plugins/fives/fives.c \
	plugins/fives/common.c \
	plugins/fives/crosses.c \
	plugins/fives/model-fives.c \
	plugins/fives/baselines.c \
	plugins/fives/planted.c \
	plugins/fives/readout.c
plugins_fives_libtl_fives_la_CFLAGS = $(AM_CFLAGS) $(TL_PLUGIN_C_FLAGS)
plugins_fives_libtl_fives_la_LDFLAGS = $(TL_PLUGIN_LD_FLAGS)
plugins_fives_libtl_fives_la_LIBADD = $(TL_PLUGIN_LIBS) $(LIBM)

EXTRA_DIST += \
	plugins/fives/README.md \
	plugins/fives/fives.tlplugin.xml \
	plugins/fives/examples/adult.xml \
	plugins/fives/examples/planted.xml \
	plugins/fives/examples/criteo.xml \
	plugins/fives/examples/avazu.xml \
	plugins/fives/scripts/adult-table.sh

check_PROGRAMS += plugins/fives/tests/test-fives
TESTS += plugins/fives/tests/test-fives
plugins_fives_tests_test_fives_SOURCES = plugins/fives/tests/test-fives.c
plugins_fives_tests_test_fives_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
plugins_fives_tests_test_fives_CFLAGS = $(TL_TEST_C_FLAGS)
plugins_fives_tests_test_fives_LDADD = $(TL_TEST_LIBS)
