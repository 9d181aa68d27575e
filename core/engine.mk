TL_ENGINE_SOURCES += core/fileutil.c core/tl-private.h
TL_ENGINE_SOURCES += core/tensor.c core/dtype.c core/attrs.c core/op-registry.c core/parallel.c \
	core/rng.c core/host.c core/graph-private.h \
	core/graph.c core/graph-rewrite.c core/graph-export.c core/exec.c core/exec-plan.c \
	core/autodiff.c core/backend.c core/backend-private.h
