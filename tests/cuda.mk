# CUDA backend tests (owned by the cuda-core helper). They run everywhere:
# without a GPU each GPU test is skipped with the reason.
check_PROGRAMS += tests/test-cuda
TESTS += tests/test-cuda
tests_test_cuda_SOURCES = tests/test-cuda.c $(TL_BUILTIN_TEST_UTIL)
tests_test_cuda_CPPFLAGS = $(TL_TEST_CPP_FLAGS) -I$(top_srcdir)
tests_test_cuda_CFLAGS = $(TL_TEST_C_FLAGS)
tests_test_cuda_LDADD = $(TL_TEST_LIBS)

# The same tests against a mock backend module (host memory, CPU kernels,
# recorded "graphs"): libtl's device paths run on every machine.
check_LTLIBRARIES += tests/mock-cuda/tl-backend-cuda.la
tests_mock_cuda_tl_backend_cuda_la_SOURCES = tests/mock-cuda/mock-cuda.c
tests_mock_cuda_tl_backend_cuda_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)
tests_mock_cuda_tl_backend_cuda_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
tests_mock_cuda_tl_backend_cuda_la_LDFLAGS = -module -avoid-version -shared -no-undefined \
	-rpath /nowhere -export-symbols-regex '^tl_backend_query$$'
tests_mock_cuda_tl_backend_cuda_la_LIBADD = core/libtl-1.la $(GLIB_LIBS) $(LIBM)

check_PROGRAMS += tests/test-cuda-mock
TESTS += tests/test-cuda-mock
tests_test_cuda_mock_SOURCES = tests/test-cuda.c $(TL_BUILTIN_TEST_UTIL)
tests_test_cuda_mock_CPPFLAGS = $(TL_TEST_CPP_FLAGS) -I$(top_srcdir) \
	-DTL_CUDA_MOCK_DIR=\"$(abs_top_builddir)/tests/mock-cuda/.libs\"
tests_test_cuda_mock_CFLAGS = $(TL_TEST_C_FLAGS)
tests_test_cuda_mock_LDADD = $(TL_TEST_LIBS)

# tests/gpu/check.sh's verdict where nvidia-smi lists a GPU that tl's CUDA
# backend cannot use (a fake nvidia-smi; check.sh on this build, no GPU
# needed): it must fail and say why. check.sh leaves this test out.
TESTS += tests/gpu/test-gpu-check.sh
dist_noinst_SCRIPTS += tests/gpu/test-gpu-check.sh
