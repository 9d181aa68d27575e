TL_SDK_EXTRA += sdk-headers/tl/tl-registry.h
