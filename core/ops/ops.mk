# Built-in ops. ops-basic: elementwise, reductions, softmax, layer norm, shape ops, losses.
# ops-rules.h: geometry and numeric rules shared with the CUDA kernels (backends/cuda/kernels/).
TL_OPS_SOURCES += core/ops/ops-common.h core/ops/ops-rules.h core/ops/ops-common.c core/ops/register-basic.c
TL_OPS_SOURCES += core/ops/elementwise.c
TL_OPS_SOURCES += core/ops/ops-nn.h core/ops/register-nn.c core/ops/matmul.c core/ops/conv.c \
	core/ops/pool.c core/ops/gather.c core/ops/spmm.c core/ops/dropout.c core/ops/gemm.c
TL_OPS_SOURCES += core/ops/reduce.c
TL_OPS_SOURCES += core/ops/shape.c
TL_OPS_SOURCES += core/ops/softmax.c core/ops/layernorm.c
TL_OPS_SOURCES += core/ops/loss.c
