# Communicator (issue 4): the interface + "single" and "nccl" backends
# always; the "mpi" backend when configure found Open MPI (then libtl-1
# links libmpi).
TL_RUNTIME_SOURCES += core/comm.c core/comm-private.h
# "nccl" (CUDA tensors): always built; the NCCL calls are in the CUDA
# backend module (backends/cuda/comm-nccl.c), loaded at run time.
TL_RUNTIME_SOURCES += core/comm-nccl.c core/backend-nccl-private.h
if HAVE_MPI
TL_RUNTIME_SOURCES += core/comm-mpi.c
core_libtl_1_la_CFLAGS += $(MPI_CFLAGS)
core_libtl_1_la_LIBADD += $(MPI_LIBS)
endif
# Data-parallel training (used by core/trainer.c).
TL_RUNTIME_SOURCES += core/train-dp.c core/train-dp.h
