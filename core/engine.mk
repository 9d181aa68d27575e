TL_ENGINE_SOURCES += core/fileutil.c core/tl-private.h
TL_ENGINE_SOURCES += core/tensor.c
TL_ENGINE_SOURCES += core/dev-stubs.c  # DEV ONLY: remove before landing
