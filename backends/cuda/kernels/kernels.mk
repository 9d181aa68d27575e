# backends/cuda/kernels — device kernels of the built-in ops.
# The .cu files are compiled by nvcc, table.c by the C compiler (rules in backends/cuda/local.mk).
# core/ops/ops-rules.h: the rules shared with the CPU ops (listed so that the .cu objects depend on it).
TL_CUDA_KERNEL_SOURCES += \
	core/ops/ops-rules.h \
	backends/cuda/kernels/kernels.h \
	backends/cuda/kernels/table.c \
	backends/cuda/kernels/common.cu \
	backends/cuda/kernels/elementwise.cu \
	backends/cuda/kernels/reduce.cu \
	backends/cuda/kernels/shape.cu \
	backends/cuda/kernels/softmax.cu \
	backends/cuda/kernels/layernorm.cu \
	backends/cuda/kernels/loss.cu \
	backends/cuda/kernels/matmul.cu \
	backends/cuda/kernels/conv.cu \
	backends/cuda/kernels/pool.cu \
	backends/cuda/kernels/gather.cu \
	backends/cuda/kernels/spmm.cu \
	backends/cuda/kernels/dropout.cu \
	backends/cuda/kernels/optim.cu
