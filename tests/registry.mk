# Tests of the registry, manifests, hardened XML and parameters.
check_PROGRAMS += tests/test-xml tests/test-params tests/test-registry tests/test-broken-plugins
TESTS += tests/test-xml tests/test-params tests/test-registry tests/test-broken-plugins \
	tests/validate-manifests.sh

# the hardened reader is internal: compile it into the test
tests_test_xml_SOURCES = tests/test-xml.c core/xml.c core/escape.c $(TL_BUILTIN_TEST_UTIL)
tests_test_xml_CPPFLAGS = $(TL_TEST_CPP_FLAGS) -I$(top_srcdir)/core -DTL_COMPILATION
tests_test_xml_CFLAGS = $(TL_TEST_C_FLAGS)
tests_test_xml_LDADD = $(TL_TEST_LIBS)

tests_test_params_SOURCES = tests/test-params.c
tests_test_params_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_test_params_CFLAGS = $(TL_TEST_C_FLAGS)
tests_test_params_LDADD = $(TL_TEST_LIBS)

tests_test_registry_SOURCES = tests/test-registry.c $(TL_BUILTIN_TEST_UTIL)
tests_test_registry_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_test_registry_CFLAGS = $(TL_TEST_C_FLAGS)
tests_test_registry_LDADD = $(TL_TEST_LIBS)

tests_test_broken_plugins_SOURCES = tests/test-broken-plugins.c $(TL_BUILTIN_TEST_UTIL)
# white-box: reads the registry's private structs (registry-private.h)
tests_test_broken_plugins_CPPFLAGS = $(TL_TEST_CPP_FLAGS) -I$(top_srcdir)/registry -DTL_COMPILATION
tests_test_broken_plugins_CFLAGS = $(TL_TEST_C_FLAGS)
tests_test_broken_plugins_LDADD = $(TL_TEST_LIBS)

dist_noinst_SCRIPTS += tests/validate-manifests.sh
