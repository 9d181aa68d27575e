# tests/gpu — GPU parity tests and the one-command GPU check.

# --- the "nccl" communicator (error paths everywhere; the
# device tests skip visibly without a GPU) and the one-command GPU check.
check_PROGRAMS += tests/gpu/test-comm-nccl tests/gpu/comm-nccl-check
TESTS += tests/gpu/test-comm-nccl tests/gpu/test-comm-nccl-mpi.sh
tests_gpu_test_comm_nccl_SOURCES = tests/gpu/test-comm-nccl.c
tests_gpu_test_comm_nccl_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_gpu_test_comm_nccl_CFLAGS = $(TL_TEST_C_FLAGS)
tests_gpu_test_comm_nccl_LDADD = $(TL_TEST_LIBS)
tests_gpu_comm_nccl_check_SOURCES = tests/gpu/comm-nccl-check.c
tests_gpu_comm_nccl_check_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_gpu_comm_nccl_check_CFLAGS = $(TL_TEST_C_FLAGS)
tests_gpu_comm_nccl_check_LDADD = $(TL_TEST_LIBS)
dist_noinst_SCRIPTS += tests/gpu/test-comm-nccl-mpi.sh tests/gpu/check.sh tests/gpu/make-kit.sh
EXTRA_DIST += tests/gpu/README.md
# ---

# --- CPU vs CUDA parity of every built-in op, forward and
# backward (tests/gpu/parity.c, on the tests/parity case tables). Without a
# GPU the parity tests skip with the reason; the op-coverage and kernel-table
# checks run everywhere.
check_PROGRAMS += tests/gpu/test-cuda-parity
TESTS += tests/gpu/test-cuda-parity
tests_gpu_test_cuda_parity_SOURCES = tests/gpu/parity.c tests/parity/parity.h tests/parity/parity-input.c tests/parity/cases-basic.c \
	tests/parity/cases-nn.c tests/parity/cases-zero.c
tests_gpu_test_cuda_parity_CPPFLAGS = $(TL_TEST_CPP_FLAGS) -I$(top_srcdir) -I$(top_srcdir)/tests/parity
tests_gpu_test_cuda_parity_CFLAGS = $(TL_TEST_C_FLAGS)
tests_gpu_test_cuda_parity_LDADD = tests/libtltest.la $(TL_TEST_LIBS)
# The same kernels run on the CPU (no GPU needed), by hand:
#   tests/gpu/emu/run.sh BUILDDIR [CASE]
EXTRA_DIST += tests/gpu/emu/run.sh tests/gpu/emu/transform.py tests/gpu/emu/emu.cc tests/gpu/emu/driver.c \
	tests/gpu/emu/inc/emu.h tests/gpu/emu/inc/cuda_runtime.h tests/gpu/emu/inc/cuda_fp16.h \
	tests/gpu/emu/inc/cuda_bf16.h tests/gpu/emu/inc/cub/device/device_radix_sort.cuh
# --- end cuda-kernels

# --- the op tests of the CPU engine on a CUDA device: tests/test-ops-basic
# and tests/test-ops-nn (tests/ops.mk) with TL_TEST_DEVICE=cuda, against the
# mock backend module (tests/cuda.mk) on every machine and against the real
# one when a GPU is usable (a visible SKIP otherwise).
TESTS += tests/gpu/test-ops-cuda.sh
dist_noinst_SCRIPTS += tests/gpu/test-ops-cuda.sh
# ---
