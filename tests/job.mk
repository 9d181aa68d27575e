# Jobs, plans, clusters, `tlhost validate`, the example plugin.
check_PROGRAMS += tests/test-job tests/test-plan tests/test-cluster
TESTS += tests/test-job tests/test-plan tests/test-cluster
tests_test_job_SOURCES = tests/test-job.c
tests_test_job_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_test_job_CFLAGS = $(TL_TEST_C_FLAGS)
tests_test_job_LDADD = $(TL_TEST_LIBS)
tests_test_plan_SOURCES = tests/test-plan.c
tests_test_plan_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_test_plan_CFLAGS = $(TL_TEST_C_FLAGS)
tests_test_plan_LDADD = $(TL_TEST_LIBS)
tests_test_cluster_SOURCES = tests/test-cluster.c
tests_test_cluster_CPPFLAGS = $(TL_TEST_CPP_FLAGS)
tests_test_cluster_CFLAGS = $(TL_TEST_C_FLAGS)
tests_test_cluster_LDADD = $(TL_TEST_LIBS)

TESTS += tests/tlhost-validate.sh tests/test-job-outputs.sh
dist_noinst_SCRIPTS += tests/tlhost-validate.sh tests/tlhost-lib.sh tests/test-job-outputs.sh
EXTRA_DIST += \
	tests/data/jobs/good.xml \
	tests/data/jobs/bad.xml \
	tests/data/jobs/structure.xml \
	tests/data/jobs/hostile.xml \
	tests/data/jobs/overlay-swap.xml \
	tests/data/jobs/overlay-bad.xml \
	tests/data/jobs/plan.xml \
	tests/data/clusters/two-nodes.xml

# The example plugin, built as a third party would (tests/examples.sh).
TESTS += tests/examples.sh
dist_noinst_SCRIPTS += tests/examples.sh

# `make install` relinks libraries in the build tree for the install (libtool
# swaps the uninstalled .so out and back), so no other test may dlopen the
# build tree's plugins meanwhile: the example test runs after all the others.
tests/examples.log: $(filter-out tests/examples.log,$(TEST_LOGS))
