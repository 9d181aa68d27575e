# backends/cuda — NCCL communicator.
# comm-nccl.c is always part of the module. The module adds
# $(TL_CUDA_NCCL_CFLAGS) to its CPPFLAGS and $(TL_CUDA_NCCL_LIBS) to its
# LIBADD; the NCCL code is compiled only with both (TL_CUDA_WITH_NCCL comes
# with the flags). Without NCCL (configure found no nccl.h/libnccl) the
# file's _tl_cuda_nccl_extension() returns NULL and tl_comm_new("nccl")
# reports that the CUDA backend was built without NCCL.
TL_CUDA_MODULE_SOURCES += backends/cuda/comm-nccl.c
if HAVE_NCCL
TL_CUDA_NCCL_CFLAGS = -DTL_CUDA_WITH_NCCL=1 $(NCCL_CFLAGS)
TL_CUDA_NCCL_LIBS = $(NCCL_LIBS)
else
TL_CUDA_NCCL_CFLAGS =
TL_CUDA_NCCL_LIBS =
endif
