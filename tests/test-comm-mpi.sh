#!/bin/sh
# test-comm-mpi.sh — the "mpi" communicator under mpirun -np 2:
# collectives' values, a peer that dies, a peer that hangs (TL_COMM_TIMEOUT).
set -u
. "${TL_SRCDIR:-$(dirname "$0")/..}/tests/comm-lib.sh"
skip_without_mpi
prog="$builddir/tests/comm-mpi-check"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
MPI="$(mpirun_cmd) -np 2"
echo "1..8"

# every collective on 2 ranks (and 3: uneven ring, rank 2 sends to rank 0)
timeout 120 $MPI "$prog" collectives >"$tmp/out" 2>"$tmp/err"; rc=$?
check "collectives on 2 ranks: exit 0" '[ $rc = 0 ]' "$tmp/out" "$tmp/err"
check "collectives on 2 ranks: both ranks ok" \
  '[ "$(grep -c "^rank [01] of 2: ok" "$tmp/out")" = 2 ]' "$tmp/out" "$tmp/err"
check "an MPI error is a GError with MPI_Error_string" \
  'grep -q "expected error: comm mpi: rank 1 of 2: MPI_Recv failed: " "$tmp/out"' "$tmp/out"
timeout 120 $(mpirun_cmd) -np 3 "$prog" collectives >"$tmp/out" 2>"$tmp/err"; rc=$?
check "collectives on 3 ranks" '[ $rc = 0 ] && [ "$(grep -c ": ok" "$tmp/out")" = 3 ]' \
  "$tmp/out" "$tmp/err"

# rank 1 exits abruptly while rank 0 waits in an allreduce: mpirun ends the
# job (or, at worst, the watchdog after TL_COMM_TIMEOUT)
TL_COMM_TIMEOUT=5 timeout 100 $MPI -x TL_COMM_TIMEOUT "$prog" dead-peer >"$tmp/out" 2>"$tmp/err"
rc=$?
check "dead peer: the job ends with a non-zero status (not a hang)" \
  '[ $rc != 0 ] && [ $rc != 124 ]' "$tmp/out" "$tmp/err"
check "dead peer: a message names the failure" \
  'grep -Eqi "exited with non-zero status|exiting improperly|did not complete within" "$tmp/out" "$tmp/err" && ! grep -q "returned although" "$tmp/out"' \
  "$tmp/out" "$tmp/err"

# rank 1 hangs: rank 0's watchdog aborts the job after TL_COMM_TIMEOUT
TL_COMM_TIMEOUT=2 timeout 100 $MPI -x TL_COMM_TIMEOUT "$prog" hang >"$tmp/out" 2>"$tmp/err"
rc=$?
check "hung peer: the watchdog aborts the job with its message" \
  '[ $rc != 0 ] && [ $rc != 124 ] && grep -q "tl: rank 0 of 2: mpi MPI_Allreduce did not complete within 2 s (TL_COMM_TIMEOUT)" "$tmp/err"' \
  "$tmp/out" "$tmp/err"

# a TL_COMM_TIMEOUT that is not a number is an error, before any collective
TL_COMM_TIMEOUT=soon timeout 60 $MPI -x TL_COMM_TIMEOUT "$prog" collectives >"$tmp/out" 2>"$tmp/err"
rc=$?
check "bad TL_COMM_TIMEOUT: an error naming it" \
  '[ $rc != 0 ] && grep -q "TL_COMM_TIMEOUT=\"soon\" is not a number of seconds" "$tmp/err"' \
  "$tmp/out" "$tmp/err"
exit $failed
