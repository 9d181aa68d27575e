# (filled in by its owner)
# registry helper: hardened XML, parameters
TL_RUNTIME_SOURCES += core/xml.c core/xml-private.h core/escape.c core/env.c core/params.c
TL_RUNTIME_SOURCES += core/plan.c core/cluster.c
# built-in plugin "tl" (datasets helper): descriptor, datasets, models
TL_RUNTIME_SOURCES += core/builtin.c core/builtin/tl-builtin.h
TL_RUNTIME_SOURCES += core/datasets/columns.c core/datasets/columns.h \
	core/datasets/csv.c core/datasets/csv.h core/datasets/csv-read.c core/datasets/csv-schema.c \
	core/datasets/idx.c core/datasets/safetensors-ds.c core/datasets/synthetic.c
TL_RUNTIME_SOURCES += core/models/layers.c core/models/layers.h core/models/mlp.c \
	core/models/convnet.c core/models/logreg.c
EXTRA_DIST += core/builtin/tl.tlplugin.xml
