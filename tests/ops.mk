# Op tests (ops-basic): the shared gradient-check helper library.
check_LTLIBRARIES += tests/libtltest.la
tests_libtltest_la_SOURCES = tests/gradcheck.c tests/gradcheck.h
tests_libtltest_la_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_libtltest_la_CFLAGS = $(TL_TEST_C_FLAGS)

# ops-nn: matmul, linear, conv, pool, gather/embedding, spmm, dropout.
check_PROGRAMS += tests/test-ops-nn
TESTS += tests/test-ops-nn
tests_test_ops_nn_SOURCES = tests/test-ops-nn.c
tests_test_ops_nn_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_test_ops_nn_CFLAGS = $(TL_TEST_C_FLAGS) $(BLAS_CFLAGS)
tests_test_ops_nn_LDADD = tests/libtltest.la $(TL_TEST_LIBS) $(BLAS_LIBS)

check_PROGRAMS += tests/test-ops-basic
TESTS += tests/test-ops-basic
tests_test_ops_basic_SOURCES = tests/test-ops-basic.c
tests_test_ops_basic_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_test_ops_basic_CFLAGS = $(TL_TEST_C_FLAGS)
tests_test_ops_basic_LDADD = tests/libtltest.la $(TL_TEST_LIBS)

# PyTorch parity (ops-basic): tl-parity-dump + torch_parity.py, run by tests/parity.sh.
# The nn helper appends: tests_parity_tl_parity_dump_SOURCES += tests/parity/cases-nn.c
check_PROGRAMS += tests/parity/tl-parity-dump
tests_parity_tl_parity_dump_SOURCES = tests/parity/tl-parity-dump.c tests/parity/parity.h tests/parity/parity-input.c \
	tests/parity/cases-basic.c
tests_parity_tl_parity_dump_CPPFLAGS = $(TL_TEST_CPP_FLAGS) -I$(top_srcdir)/tests/parity
tests_parity_tl_parity_dump_CFLAGS = $(TL_TEST_C_FLAGS)
tests_parity_tl_parity_dump_LDADD = tests/libtltest.la $(TL_TEST_LIBS)
TESTS += tests/parity.sh
EXTRA_DIST += tests/parity.sh tests/parity/torch_parity.py tests/parity/torch_cases_basic.py

# ops-nn parity cases (tests/parity/cases-nn.c + torch_cases_nn.py).
tests_parity_tl_parity_dump_SOURCES += tests/parity/cases-nn.c
EXTRA_DIST += tests/parity/torch_cases_nn.py

# TL_OP_OVERWRITES: every flagged op's CPU kernel writes every output element
# (all parity cases, forward and backward, into 0x00- and 0xff-filled outputs).
check_PROGRAMS += tests/test-ops-overwrites
TESTS += tests/test-ops-overwrites
tests_test_ops_overwrites_SOURCES = tests/test-ops-overwrites.c tests/parity/parity.h tests/parity/parity-input.c \
	tests/parity/cases-basic.c tests/parity/cases-nn.c tests/parity/cases-zero.c
tests_test_ops_overwrites_CPPFLAGS = $(TL_TEST_CPP_FLAGS) -I$(top_srcdir) -I$(top_srcdir)/tests/parity
tests_test_ops_overwrites_CFLAGS = $(TL_TEST_C_FLAGS)
tests_test_ops_overwrites_LDADD = tests/libtltest.la $(TL_TEST_LIBS)
