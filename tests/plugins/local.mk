# Test plugins for the registry: one good plugin and a corpus of broken ones
# (each its own directory: .c + manifest). Built for `make check` only.
#
# Manifests are not copied into the build tree: when the program runs from
# the build tree, the registry also scans the source-tree mirror of every
# search directory under the build tree and resolves a source-tree
# manifest's library in the build-tree mirror (dir/ and dir/.libs/).
TL_TEST_PLUGIN_LD_FLAGS = $(TL_PLUGIN_LD_FLAGS) -rpath /nowhere
TL_TEST_PLUGIN_LIBADD = core/libtl-1.la $(GLIB_LIBS)

check_LTLIBRARIES += \
	tests/plugins/good/libtl-test-good.la \
	tests/plugins/bad-abi/libtl-test-bad-abi.la \
	tests/plugins/no-entry/libtl-test-no-entry.la \
	tests/plugins/crash/libtl-test-crash.la \
	tests/plugins/hang/libtl-test-hang.la \
	tests/plugins/mismatch/libtl-test-mismatch.la \
	tests/plugins/init-fails/libtl-test-init-fails.la \
	tests/plugins/future-host/libtl-test-future-host.la \
	tests/plugins/missing-dep/libtl-test-missing-dep.la \
	tests/plugins/undefined-sym/libtl-test-undefined-sym.la \
	tests/plugins/broken-same-bytes/libtl-test-broken-same-bytes.la \
	tests/plugins/broken-contracts/libtl-test-broken-contracts.la \
	tests/plugins/no-table-init/libtl-test-no-table-init.la \
	tests/plugins/op-misnamed/libtl-test-op-misnamed.la

tests_plugins_good_libtl_test_good_la_SOURCES = tests/plugins/good/good.c
tests_plugins_good_libtl_test_good_la_CFLAGS = $(AM_CFLAGS) $(TL_PLUGIN_C_FLAGS)
tests_plugins_good_libtl_test_good_la_LDFLAGS = $(TL_TEST_PLUGIN_LD_FLAGS)
tests_plugins_good_libtl_test_good_la_LIBADD = $(TL_TEST_PLUGIN_LIBADD)

tests_plugins_bad_abi_libtl_test_bad_abi_la_SOURCES = tests/plugins/bad-abi/bad-abi.c
tests_plugins_bad_abi_libtl_test_bad_abi_la_CFLAGS = $(AM_CFLAGS) $(TL_PLUGIN_C_FLAGS)
tests_plugins_bad_abi_libtl_test_bad_abi_la_LDFLAGS = $(TL_TEST_PLUGIN_LD_FLAGS)
tests_plugins_bad_abi_libtl_test_bad_abi_la_LIBADD = $(TL_TEST_PLUGIN_LIBADD)

tests_plugins_no_entry_libtl_test_no_entry_la_SOURCES = tests/plugins/no-entry/no-entry.c
tests_plugins_no_entry_libtl_test_no_entry_la_CFLAGS = $(AM_CFLAGS) $(TL_PLUGIN_C_FLAGS)
# (no -export-symbols-regex: it would match nothing)
tests_plugins_no_entry_libtl_test_no_entry_la_LDFLAGS = -module -avoid-version -shared -no-undefined -rpath /nowhere
tests_plugins_no_entry_libtl_test_no_entry_la_LIBADD = $(TL_TEST_PLUGIN_LIBADD)

tests_plugins_crash_libtl_test_crash_la_SOURCES = tests/plugins/crash/crash.c
tests_plugins_crash_libtl_test_crash_la_CFLAGS = $(AM_CFLAGS) $(TL_PLUGIN_C_FLAGS)
tests_plugins_crash_libtl_test_crash_la_LDFLAGS = $(TL_TEST_PLUGIN_LD_FLAGS)
tests_plugins_crash_libtl_test_crash_la_LIBADD = $(TL_TEST_PLUGIN_LIBADD)

tests_plugins_hang_libtl_test_hang_la_SOURCES = tests/plugins/hang/hang.c
tests_plugins_hang_libtl_test_hang_la_CFLAGS = $(AM_CFLAGS) $(TL_PLUGIN_C_FLAGS)
tests_plugins_hang_libtl_test_hang_la_LDFLAGS = $(TL_TEST_PLUGIN_LD_FLAGS)
tests_plugins_hang_libtl_test_hang_la_LIBADD = $(TL_TEST_PLUGIN_LIBADD)

tests_plugins_mismatch_libtl_test_mismatch_la_SOURCES = tests/plugins/mismatch/mismatch.c
tests_plugins_mismatch_libtl_test_mismatch_la_CFLAGS = $(AM_CFLAGS) $(TL_PLUGIN_C_FLAGS)
tests_plugins_mismatch_libtl_test_mismatch_la_LDFLAGS = $(TL_TEST_PLUGIN_LD_FLAGS)
tests_plugins_mismatch_libtl_test_mismatch_la_LIBADD = $(TL_TEST_PLUGIN_LIBADD)

tests_plugins_init_fails_libtl_test_init_fails_la_SOURCES = tests/plugins/init-fails/init-fails.c
tests_plugins_init_fails_libtl_test_init_fails_la_CFLAGS = $(AM_CFLAGS) $(TL_PLUGIN_C_FLAGS)
tests_plugins_init_fails_libtl_test_init_fails_la_LDFLAGS = $(TL_TEST_PLUGIN_LD_FLAGS)
tests_plugins_init_fails_libtl_test_init_fails_la_LIBADD = $(TL_TEST_PLUGIN_LIBADD)

tests_plugins_future_host_libtl_test_future_host_la_SOURCES = tests/plugins/future-host/future-host.c
tests_plugins_future_host_libtl_test_future_host_la_CFLAGS = $(AM_CFLAGS) $(TL_PLUGIN_C_FLAGS)
tests_plugins_future_host_libtl_test_future_host_la_LDFLAGS = $(TL_TEST_PLUGIN_LD_FLAGS)
tests_plugins_future_host_libtl_test_future_host_la_LIBADD = $(TL_TEST_PLUGIN_LIBADD)

# no-table-init and op-misnamed are refused at load with a hint each
# (registry/load.c): "start the table with TL_TABLE_INIT(...)", "it is named '...'".
tests_plugins_no_table_init_libtl_test_no_table_init_la_SOURCES = tests/plugins/no-table-init/no-table-init.c
tests_plugins_no_table_init_libtl_test_no_table_init_la_CFLAGS = $(AM_CFLAGS) $(TL_PLUGIN_C_FLAGS)
tests_plugins_no_table_init_libtl_test_no_table_init_la_LDFLAGS = $(TL_TEST_PLUGIN_LD_FLAGS)
tests_plugins_no_table_init_libtl_test_no_table_init_la_LIBADD = $(TL_TEST_PLUGIN_LIBADD)

tests_plugins_op_misnamed_libtl_test_op_misnamed_la_SOURCES = tests/plugins/op-misnamed/op-misnamed.c
tests_plugins_op_misnamed_libtl_test_op_misnamed_la_CFLAGS = $(AM_CFLAGS) $(TL_PLUGIN_C_FLAGS)
tests_plugins_op_misnamed_libtl_test_op_misnamed_la_LDFLAGS = $(TL_TEST_PLUGIN_LD_FLAGS)
tests_plugins_op_misnamed_libtl_test_op_misnamed_la_LIBADD = $(TL_TEST_PLUGIN_LIBADD)

# broken-same-bytes loads, but its op's TL_OP_SAME_BYTES claim is false:
# tests/conformance/expect-failures.sh checks that the conformance suite says so.
tests_plugins_broken_same_bytes_libtl_test_broken_same_bytes_la_SOURCES = \
	tests/plugins/broken-same-bytes/broken-same-bytes.c
tests_plugins_broken_same_bytes_libtl_test_broken_same_bytes_la_CFLAGS = $(AM_CFLAGS) $(TL_PLUGIN_C_FLAGS)
tests_plugins_broken_same_bytes_libtl_test_broken_same_bytes_la_LDFLAGS = $(TL_TEST_PLUGIN_LD_FLAGS)
tests_plugins_broken_same_bytes_libtl_test_broken_same_bytes_la_LIBADD = $(TL_TEST_PLUGIN_LIBADD)

# broken-contracts loads, but each of its components breaks one documented
# contract: tests/conformance/expect-failures.sh checks that the conformance
# suite fails exactly that check for each.
tests_plugins_broken_contracts_libtl_test_broken_contracts_la_SOURCES = \
	tests/plugins/broken-contracts/broken-contracts.c
tests_plugins_broken_contracts_libtl_test_broken_contracts_la_CFLAGS = $(AM_CFLAGS) $(TL_PLUGIN_C_FLAGS)
tests_plugins_broken_contracts_libtl_test_broken_contracts_la_LDFLAGS = $(TL_TEST_PLUGIN_LD_FLAGS)
tests_plugins_broken_contracts_libtl_test_broken_contracts_la_LIBADD = $(TL_TEST_PLUGIN_LIBADD)

# undefined-sym calls a function defined nowhere: linked without
# -no-undefined (TL_PLUGIN_LD_FLAGS has it), so only the loader notices.
tests_plugins_undefined_sym_libtl_test_undefined_sym_la_SOURCES = tests/plugins/undefined-sym/undefined-sym.c
tests_plugins_undefined_sym_libtl_test_undefined_sym_la_CFLAGS = $(AM_CFLAGS) $(TL_PLUGIN_C_FLAGS)
tests_plugins_undefined_sym_libtl_test_undefined_sym_la_LDFLAGS = \
	-module -avoid-version -shared -export-symbols-regex '^tl_plugin_query$$' -rpath /nowhere
tests_plugins_undefined_sym_libtl_test_undefined_sym_la_LIBADD = $(TL_TEST_PLUGIN_LIBADD)

# missing-dep links libtl-test-gone.so, built here without libtool with the
# SONAME libtl-test-gone-absent.so: the plugin NEEDs a file that exists
# nowhere, so loading it always fails with "cannot open shared object file"
# (robust: nothing has to be deleted, and no RUNPATH can find it).
tests_plugins_missing_dep_libtl_test_missing_dep_la_SOURCES = tests/plugins/missing-dep/missing-dep.c
tests_plugins_missing_dep_libtl_test_missing_dep_la_CFLAGS = $(AM_CFLAGS) $(TL_PLUGIN_C_FLAGS)
tests_plugins_missing_dep_libtl_test_missing_dep_la_LDFLAGS = -module -avoid-version -shared -no-undefined -rpath /nowhere
tests_plugins_missing_dep_libtl_test_missing_dep_la_LIBADD = \
	-Ltests/plugins/missing-dep/gone -ltl-test-gone $(TL_TEST_PLUGIN_LIBADD)
tests_plugins_missing_dep_libtl_test_missing_dep_la_DEPENDENCIES = \
	tests/plugins/missing-dep/gone/libtl-test-gone.so core/libtl-1.la
tests/plugins/missing-dep/gone/libtl-test-gone.so: $(srcdir)/tests/plugins/missing-dep/gone.c
	$(AM_V_CC)$(MKDIR_P) tests/plugins/missing-dep/gone && \
	$(CC) $(CFLAGS) -fPIC -shared -Wl,-soname,libtl-test-gone-absent.so \
	  -o $@ $(srcdir)/tests/plugins/missing-dep/gone.c
CLEANFILES += tests/plugins/missing-dep/gone/libtl-test-gone.so
EXTRA_DIST += tests/plugins/missing-dep/gone.c

EXTRA_DIST += \
	tests/plugins/good/good.tlplugin.xml \
	tests/plugins/bad-abi/bad-abi.tlplugin.xml \
	tests/plugins/no-entry/no-entry.tlplugin.xml \
	tests/plugins/crash/crash.tlplugin.xml \
	tests/plugins/hang/hang.tlplugin.xml \
	tests/plugins/mismatch/mismatch.tlplugin.xml \
	tests/plugins/missing-dep/missing-dep.tlplugin.xml \
	tests/plugins/undefined-sym/undefined-sym.tlplugin.xml \
	tests/plugins/init-fails/init-fails.tlplugin.xml \
	tests/plugins/future-host/future-host.tlplugin.xml \
	tests/plugins/broken-same-bytes/broken-same-bytes.tlplugin.xml \
	tests/plugins/broken-contracts/broken-contracts.tlplugin.xml \
	tests/plugins/no-table-init/no-table-init.tlplugin.xml \
	tests/plugins/op-misnamed/op-misnamed.tlplugin.xml
