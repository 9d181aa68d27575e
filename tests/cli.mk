# tlhost and the TL_* environment against bad input (tests/test-cli-robust.sh).
TESTS += tests/test-cli-robust.sh
dist_noinst_SCRIPTS += tests/test-cli-robust.sh
