TL_SDK_EXTRA += sdk-headers/tl/tl-registry.h
TL_SDK_EXTRA += sdk-headers/tl/tl-job.h
TL_SDK_EXTRA += sdk-headers/tl/tl-conformance.h
tljobschemadir = $(tldatadir)/schema
dist_tljobschema_DATA = sdk-headers/schema/tl-job.rng
# registry helper: the plugin manifest schema and the ABI rules
tlpluginschemadir = $(tldatadir)/schema
dist_tlpluginschema_DATA = sdk-headers/schema/tl-plugin.rng
dist_doc_DATA += sdk-headers/ABI.md
TL_SDK_EXTRA += sdk-headers/tl/tl-comm.h
TL_SDK_EXTRA += sdk-headers/tl/tl-math.h
