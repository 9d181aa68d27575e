# Tests of the training part: optimizers, safetensors, checkpoints, metrics, trainer.
check_PROGRAMS += tests/test-optim
TESTS += tests/test-optim
tests_test_optim_SOURCES = tests/test-optim.c
tests_test_optim_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_test_optim_CFLAGS = $(TL_TEST_C_FLAGS)
tests_test_optim_LDADD = $(TL_TEST_LIBS)

check_PROGRAMS += tests/test-safetensors
TESTS += tests/test-safetensors
tests_test_safetensors_SOURCES = tests/test-safetensors.c tests/train-fixture.c tests/train-fixture.h \
	$(TL_BUILTIN_TEST_UTIL)
tests_test_safetensors_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_test_safetensors_CFLAGS = $(TL_TEST_C_FLAGS)
tests_test_safetensors_LDADD = $(TL_TEST_LIBS)

check_PROGRAMS += tests/test-metrics
TESTS += tests/test-metrics
tests_test_metrics_SOURCES = tests/test-metrics.c
tests_test_metrics_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_test_metrics_CFLAGS = $(TL_TEST_C_FLAGS)
tests_test_metrics_LDADD = $(TL_TEST_LIBS)

check_PROGRAMS += tests/test-checkpoint
TESTS += tests/test-checkpoint
tests_test_checkpoint_SOURCES = tests/test-checkpoint.c tests/train-fixture.c tests/train-fixture.h \
	$(TL_BUILTIN_TEST_UTIL)
tests_test_checkpoint_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_test_checkpoint_CFLAGS = $(TL_TEST_C_FLAGS)
tests_test_checkpoint_LDADD = $(TL_TEST_LIBS)

check_PROGRAMS += tests/test-trainer
TESTS += tests/test-trainer
tests_test_trainer_SOURCES = tests/test-trainer.c tests/train-fixture.c tests/train-fixture.h \
	$(TL_BUILTIN_TEST_UTIL)
tests_test_trainer_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_test_trainer_CFLAGS = $(TL_TEST_C_FLAGS)
tests_test_trainer_LDADD = $(TL_TEST_LIBS)
