# Unit tests (GLib g_test, TAP). Each area adds its programs in its fragment.
TL_TEST_CPP_FLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
TL_TEST_C_FLAGS = $(AM_CFLAGS) $(OPENMP_CFLAGS)
TL_TEST_LIBS = core/libtl-1.la $(GLIB_LIBS) $(XML_LIBS) $(LIBM)

include tests/engine.mk
include tests/ops.mk
include tests/train.mk
include tests/registry.mk
include tests/job.mk
include tests/conformance/local.mk
include tests/plugins/local.mk

# The SDK headers are self-contained (C11 and C++11).
TESTS += tests/test-headers.sh
EXTRA_DIST += tests/test-headers.sh
include tests/datasets.mk
include tests/comm.mk
include tests/resume.mk
include tests/cuda.mk
include tests/fuzz.mk
include tests/cli.mk

# tlhost's run-time messages as a first-time user meets them (version's CUDA
# availability, ${TL_DATA_DIR}, drop_last, a finished resume, a file that is
# not a checkpoint, ulimit -f).
TESTS += tests/test-host-messages.sh
dist_noinst_SCRIPTS += tests/test-host-messages.sh
