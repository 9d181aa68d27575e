# GPU benchmarks: issue 4 (a) training
# steps vs PyTorch eager on the same GPU, (b) cuBLAS through the engine vs
# cublasSgemm, (c) NCCL allreduce through the communicator vs ncclAllReduce.
# `make bench` runs benchmarks/run-gpu-bench.sh, which prints one
# "SKIP no CUDA device: ..." line on a machine without a GPU.
TL_BENCH_SHELL += benchmarks/run-gpu-bench.sh
EXTRA_DIST += benchmarks/run-gpu-bench.sh benchmarks/torch_gpu_train.py \
	benchmarks/gpu-empty-kernel.cu

if HAVE_CUDA
noinst_PROGRAMS += benchmarks/bench-gpu-train benchmarks/bench-gpu-gemm
benchmarks_bench_gpu_train_SOURCES = benchmarks/bench-gpu-train.c benchmarks/bench-util.c \
	benchmarks/bench-util.h
benchmarks_bench_gpu_train_CPPFLAGS = $(TL_BENCH_ENGINE_CPP_FLAGS)
benchmarks_bench_gpu_train_LDADD = benchmarks/gpu-empty-kernel.$(OBJEXT) $(TL_BENCH_ENGINE_LIBS) \
	$(CUDA_LIBS) -lstdc++
benchmarks_bench_gpu_gemm_SOURCES = benchmarks/bench-gpu-gemm.c
benchmarks_bench_gpu_gemm_CPPFLAGS = $(AM_CPPFLAGS) $(CUDA_CFLAGS)
benchmarks_bench_gpu_gemm_LDADD = core/libtl-1.la $(GLIB_LIBS) $(CUDA_LIBS)
# the empty kernel of the launch-overhead baseline
benchmarks/gpu-empty-kernel.$(OBJEXT): benchmarks/gpu-empty-kernel.cu
	@$(MKDIR_P) benchmarks
	$(AM_V_CC)$(NVCC) $(TL_NVCC_ARCH) -O2 $(CUDA_CFLAGS) -c $(srcdir)/benchmarks/gpu-empty-kernel.cu -o $@
CLEANFILES += benchmarks/gpu-empty-kernel.$(OBJEXT)
if HAVE_NCCL
if HAVE_MPI
noinst_PROGRAMS += benchmarks/bench-gpu-allreduce
benchmarks_bench_gpu_allreduce_SOURCES = benchmarks/bench-gpu-allreduce.c
benchmarks_bench_gpu_allreduce_CPPFLAGS = $(AM_CPPFLAGS) $(CUDA_CFLAGS) $(NCCL_CFLAGS)
benchmarks_bench_gpu_allreduce_CFLAGS = $(AM_CFLAGS) $(MPI_CFLAGS)
benchmarks_bench_gpu_allreduce_LDADD = core/libtl-1.la $(GLIB_LIBS) $(NCCL_LIBS) $(CUDA_LIBS) \
	$(MPI_LIBS)
endif
endif
endif
