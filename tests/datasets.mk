# Tests of the built-in plugin "tl": datasets and models (datasets helper).
TL_BUILTIN_TEST_UTIL = tests/builtin-util.c tests/builtin-util.h

check_PROGRAMS += tests/test-csv
TESTS += tests/test-csv
tests_test_csv_SOURCES = tests/test-csv.c $(TL_BUILTIN_TEST_UTIL)
tests_test_csv_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_test_csv_CFLAGS = $(TL_TEST_C_FLAGS) $(ZLIB_CFLAGS)
tests_test_csv_LDADD = $(TL_TEST_LIBS) $(ZLIB_LIBS)

EXTRA_DIST += tests/data/csv/quoted.csv tests/data/csv/bad.csv tests/data/csv/adult-mini.csv \
	tests/data/csv/mixed.tsv tests/data/csv/lists.csv

check_PROGRAMS += tests/test-idx
TESTS += tests/test-idx
tests_test_idx_SOURCES = tests/test-idx.c $(TL_BUILTIN_TEST_UTIL)
tests_test_idx_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_test_idx_CFLAGS = $(TL_TEST_C_FLAGS) $(ZLIB_CFLAGS)
tests_test_idx_LDADD = $(TL_TEST_LIBS) $(ZLIB_LIBS)

check_PROGRAMS += tests/test-builtin-models
TESTS += tests/test-builtin-models
tests_test_builtin_models_SOURCES = tests/test-builtin-models.c $(TL_BUILTIN_TEST_UTIL)
tests_test_builtin_models_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_test_builtin_models_CFLAGS = $(TL_TEST_C_FLAGS)
tests_test_builtin_models_LDADD = $(TL_TEST_LIBS)

check_PROGRAMS += tests/test-adult
TESTS += tests/test-adult
tests_test_adult_SOURCES = tests/test-adult.c $(TL_BUILTIN_TEST_UTIL)
tests_test_adult_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_test_adult_CFLAGS = $(TL_TEST_C_FLAGS)
tests_test_adult_LDADD = $(TL_TEST_LIBS)

check_PROGRAMS += tests/test-safetensors-dataset
TESTS += tests/test-safetensors-dataset
tests_test_safetensors_dataset_SOURCES = tests/test-safetensors-dataset.c $(TL_BUILTIN_TEST_UTIL)
tests_test_safetensors_dataset_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_test_safetensors_dataset_CFLAGS = $(TL_TEST_C_FLAGS)
tests_test_safetensors_dataset_LDADD = $(TL_TEST_LIBS)
