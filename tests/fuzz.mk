# Seeded mutation fuzzing of every parser of user-supplied input (fuzz helper).
check_PROGRAMS += tests/test-fuzz-inputs
TESTS += tests/test-fuzz-inputs

# the JSON reader (and the escaping helpers of core/escape.c it uses) is
# internal: compile it into the test
tests_test_fuzz_inputs_SOURCES = tests/test-fuzz-inputs.c core/json-mini.c core/xml.c core/escape.c \
	$(TL_BUILTIN_TEST_UTIL)
tests_test_fuzz_inputs_CPPFLAGS = $(TL_TEST_CPP_FLAGS) -I$(top_srcdir)/core -DTL_COMPILATION
tests_test_fuzz_inputs_CFLAGS = $(TL_TEST_C_FLAGS) $(ZLIB_CFLAGS)
tests_test_fuzz_inputs_LDADD = $(TL_TEST_LIBS) $(ZLIB_LIBS)
