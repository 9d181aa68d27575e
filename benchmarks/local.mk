# Benchmarks: `make bench` runs every TL_BENCH_PROGS program and TL_BENCH_SHELL script.

# Engine benchmarks (issue 3): C programs print tl's half, torch_*.py the
# PyTorch anchor's half; run-bench.sh pairs them into BENCH lines.
TL_BENCH_ENGINE_PROGS = benchmarks/bench-mlp benchmarks/bench-convnet benchmarks/bench-dispatch
noinst_PROGRAMS += $(TL_BENCH_ENGINE_PROGS)
TL_BENCH_SHELL += benchmarks/run-bench.sh
TL_BENCH_ENGINE_CPP_FLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/benchmarks
TL_BENCH_ENGINE_LIBS = core/libtl-1.la $(GLIB_LIBS) $(LIBM)
benchmarks_bench_mlp_SOURCES = benchmarks/bench-mlp.c benchmarks/bench-util.c benchmarks/bench-util.h
benchmarks_bench_mlp_CPPFLAGS = $(TL_BENCH_ENGINE_CPP_FLAGS)
benchmarks_bench_mlp_LDADD = $(TL_BENCH_ENGINE_LIBS)
benchmarks_bench_convnet_SOURCES = benchmarks/bench-convnet.c benchmarks/bench-util.c benchmarks/bench-util.h
benchmarks_bench_convnet_CPPFLAGS = $(TL_BENCH_ENGINE_CPP_FLAGS)
benchmarks_bench_convnet_LDADD = $(TL_BENCH_ENGINE_LIBS)
benchmarks_bench_dispatch_SOURCES = benchmarks/bench-dispatch.c benchmarks/bench-util.c benchmarks/bench-util.h
benchmarks_bench_dispatch_CPPFLAGS = $(TL_BENCH_ENGINE_CPP_FLAGS)
benchmarks_bench_dispatch_LDADD = $(TL_BENCH_ENGINE_LIBS)
EXTRA_DIST += benchmarks/run-bench.sh benchmarks/README.md benchmarks/torch_bench.py \
	benchmarks/torch_mlp.py benchmarks/torch_convnet.py benchmarks/torch_dispatch.py

# ops-nn: sgemm through the engine (one matmul node) vs cblas_sgemm directly.
noinst_PROGRAMS += benchmarks/bench-sgemm
TL_BENCH_PROGS += benchmarks/bench-sgemm
benchmarks_bench_sgemm_SOURCES = benchmarks/bench-sgemm.c
benchmarks_bench_sgemm_CPPFLAGS = $(AM_CPPFLAGS)
benchmarks_bench_sgemm_CFLAGS = $(AM_CFLAGS) $(BLAS_CFLAGS)
benchmarks_bench_sgemm_LDADD = core/libtl-1.la $(GLIB_LIBS) $(BLAS_LIBS) $(LIBM)

# Communicator (issue 4 c): allreduce through tl_comm vs MPI_Allreduce, 2 processes.
if HAVE_MPI
noinst_PROGRAMS += benchmarks/bench-allreduce
benchmarks_bench_allreduce_SOURCES = benchmarks/bench-allreduce.c
benchmarks_bench_allreduce_CPPFLAGS = $(AM_CPPFLAGS)
benchmarks_bench_allreduce_CFLAGS = $(AM_CFLAGS) $(MPI_CFLAGS)
benchmarks_bench_allreduce_LDADD = core/libtl-1.la $(GLIB_LIBS) $(MPI_LIBS)
endif
TL_BENCH_SHELL += benchmarks/run-allreduce.sh
EXTRA_DIST += benchmarks/run-allreduce.sh

# plugins/fusion: fused vs unfused vs the rule-based baseline vs PyTorch
# eager (bench-fusion.sh pairs bench-fusion with torch_fusion.py).
noinst_PROGRAMS += benchmarks/bench-fusion
TL_BENCH_SHELL += benchmarks/bench-fusion.sh
benchmarks_bench_fusion_SOURCES = benchmarks/bench-fusion.c benchmarks/bench-util.c benchmarks/bench-util.h
benchmarks_bench_fusion_CPPFLAGS = $(TL_BENCH_ENGINE_CPP_FLAGS) -I$(top_srcdir)/plugins/fusion
benchmarks_bench_fusion_LDADD = plugins/fusion/libfusion-core.la $(TL_BENCH_ENGINE_LIBS) $(OPENMP_CFLAGS)
EXTRA_DIST += benchmarks/bench-fusion.sh benchmarks/torch_fusion.py benchmarks/torch_fusion_gpu.py

# plugins/fives: FIVES training throughput, tl vs the same model in PyTorch.
TL_BENCH_SHELL += benchmarks/bench-fives.sh
EXTRA_DIST += benchmarks/bench-fives.sh benchmarks/fives_torch.py
