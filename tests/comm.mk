# Communicator (issue 4): the single backend, the MPI backend under mpirun,
# and data-parallel training compared with a single-process run.
check_PROGRAMS += tests/test-comm tests/comm-mpi-check
TESTS += tests/test-comm
tests_test_comm_SOURCES = tests/test-comm.c
tests_test_comm_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_test_comm_CFLAGS = $(TL_TEST_C_FLAGS)
tests_test_comm_LDADD = $(TL_TEST_LIBS)
tests_comm_mpi_check_SOURCES = tests/comm-mpi-check.c
tests_comm_mpi_check_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_comm_mpi_check_CFLAGS = $(TL_TEST_C_FLAGS)
tests_comm_mpi_check_LDADD = $(TL_TEST_LIBS)

TESTS += tests/test-comm-mpi.sh tests/test-dp.sh
dist_noinst_SCRIPTS += tests/test-comm-mpi.sh tests/test-dp.sh tests/comm-lib.sh

# What the scripts need to know about the build: is MPI in, and mpirun.
if HAVE_MPI
TL_COMM_HAVE_MPI = yes
else
TL_COMM_HAVE_MPI = no
endif
tests/comm-env.sh: Makefile
	$(AM_V_GEN)mkdir -p tests && { \
	  echo "TL_COMM_HAVE_MPI='$(TL_COMM_HAVE_MPI)'"; \
	  echo "MPIRUN='$(MPIRUN)'"; } > $@
check_DATA += tests/comm-env.sh
CLEANFILES += tests/comm-env.sh
