# Engine unit tests (tensor, dtype, attrs, rng, graph, executor, autodiff).
TL_ENGINE_TESTS = tests/test-tensor tests/test-dtype tests/test-attrs tests/test-rng \
	tests/test-graph tests/test-exec tests/test-autodiff
check_PROGRAMS += $(TL_ENGINE_TESTS)
TESTS += $(TL_ENGINE_TESTS)

tests_test_tensor_SOURCES = tests/test-tensor.c
tests_test_tensor_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_test_tensor_CFLAGS = $(TL_TEST_C_FLAGS)
tests_test_tensor_LDADD = $(TL_TEST_LIBS)

tests_test_dtype_SOURCES = tests/test-dtype.c
tests_test_dtype_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_test_dtype_CFLAGS = $(TL_TEST_C_FLAGS)
tests_test_dtype_LDADD = $(TL_TEST_LIBS)

tests_test_attrs_SOURCES = tests/test-attrs.c
tests_test_attrs_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_test_attrs_CFLAGS = $(TL_TEST_C_FLAGS)
tests_test_attrs_LDADD = $(TL_TEST_LIBS)

tests_test_rng_SOURCES = tests/test-rng.c
tests_test_rng_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_test_rng_CFLAGS = $(TL_TEST_C_FLAGS)
tests_test_rng_LDADD = $(TL_TEST_LIBS)

tests_test_graph_SOURCES = tests/test-graph.c tests/engine-test-ops.c tests/engine-test-ops.h
tests_test_graph_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_test_graph_CFLAGS = $(TL_TEST_C_FLAGS)
tests_test_graph_LDADD = $(TL_TEST_LIBS)

tests_test_exec_SOURCES = tests/test-exec.c tests/engine-test-ops.c tests/engine-test-ops.h
tests_test_exec_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_test_exec_CFLAGS = $(TL_TEST_C_FLAGS)
tests_test_exec_LDADD = $(TL_TEST_LIBS)

tests_test_autodiff_SOURCES = tests/test-autodiff.c tests/engine-test-ops.c tests/engine-test-ops.h
tests_test_autodiff_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_test_autodiff_CFLAGS = $(TL_TEST_C_FLAGS)
tests_test_autodiff_LDADD = $(TL_TEST_LIBS)
