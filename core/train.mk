# Training: optimizers, schedules, safetensors/checkpoints, metrics, instances, trainer.
TL_TRAIN_SOURCES += core/json-mini.c core/json-mini.h
TL_TRAIN_SOURCES += core/safetensors.c
TL_TRAIN_SOURCES += core/optim.c core/schedule.c
TL_TRAIN_SOURCES += core/metrics.c
TL_TRAIN_SOURCES += core/checkpoint.c
TL_TRAIN_SOURCES += core/train-private.h core/build.c core/instance.c
TL_TRAIN_SOURCES += core/train-metrics.c core/train-pass.c core/evaluate.c core/trainer.c
TL_TRAIN_SOURCES += core/train-device.c core/train-device.h
