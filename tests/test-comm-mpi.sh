#!/bin/sh
# test-comm-mpi.sh — the "mpi" communicator under mpirun -np 2:
# collectives' values, a peer that dies, a peer that hangs (TL_COMM_TIMEOUT),
# and TL_COMM_CHECK=1: the same values, and ranks whose collectives differ
# (or one of which refuses its own arguments, CUDA tensors on the mock
# backend included) all fail at once with the same message naming the
# difference.
set -u
. "${TL_SRCDIR:-$(dirname "$0")/..}/tests/comm-lib.sh"
skip_without_mpi
prog="$builddir/tests/comm-mpi-check"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
MPI="$(mpirun_cmd) -np 2"
echo "1..21"

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
# TL_COMM_CHECK=1: the same collectives give the same values (and the MPI
# error of a short receive: send/recv are not checked)
TL_COMM_CHECK=1 timeout 120 $MPI -x TL_COMM_CHECK "$prog" collectives >"$tmp/out" 2>"$tmp/err"; rc=$?
check "TL_COMM_CHECK=1, collectives on 2 ranks: exit 0, the same values" \
  '[ $rc = 0 ] && [ "$(grep -c "^rank [01] of 2: ok" "$tmp/out")" = 2 ] &&
   grep -q "expected error: comm mpi: rank 1 of 2: MPI_Recv failed: " "$tmp/out"' "$tmp/out" "$tmp/err"

# TL_COMM_CHECK=1 and the last rank's collective #2 differs (comm-mpi-check
# mismatch CASE): every rank fails that call with the same message, the
# ranks stay in step (collective #3 works), the job ends at once (exit 1 of
# the program), not at TL_COMM_TIMEOUT.
run_mismatch () {
  np=$1; shift
  TL_COMM_CHECK=1 TL_COMM_TIMEOUT=60 timeout 100 $(mpirun_cmd) -np "$np" -x TL_COMM_CHECK \
    -x TL_COMM_TIMEOUT "$prog" mismatch "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
}
# rank_said RANK LINE: RANK printed LINE once and was in step afterwards
rank_said () {
  [ "$(grep -cxF "rank $1: $2" "$tmp/out")" = 1 ] &&
    grep -qxF "rank $1: in step after the mismatch" "$tmp/out"
}
# mismatch_seen NP WANT: every rank of NP failed with "error COMM: WANT", fast
mismatch_seen () {
  [ $rc != 0 ] && [ $rc != 124 ] && ! grep -q "did not complete" "$tmp/err" || return 1
  r=0
  while [ $r -lt "$1" ]; do
    rank_said $r "error COMM: $2" || return 1
    r=$((r + 1))
  done
}
ar="allreduce(f32, 16 elements, sum)"
for run in "count|rank 0 allreduce(f32, 1024 elements, sum), rank 1 allreduce(f32, 512 elements, sum)" \
           "op|rank 0 $ar, rank 1 allreduce(f32, 16 elements, max)" \
           "dtype|rank 0 $ar, rank 1 allreduce(f64, 16 elements, sum)" \
           "root|rank 0 broadcast(f64, 16 elements, root 0), rank 1 broadcast(f64, 16 elements, root 1)" \
           "kind|rank 0 barrier(), rank 1 $ar" \
           "allgather|rank 0 allgather(i64, 3 elements), rank 1 allgather(i64, 4 elements)"; do
  case=${run%%|*}
  want="comm check: collective #2 differs between ranks: ${run#*|}"
  run_mismatch 2 "$case"
  check "TL_COMM_CHECK=1, a different $case on rank 1: every rank fails at once with the same message" \
    'mismatch_seen 2 "$want"' "$tmp/out" "$tmp/err"
done
# rank 1 refuses its own arguments: it keeps its error, rank 0 names it
run_mismatch 2 refused
check "TL_COMM_CHECK=1, rank 1 passes an unknown op: rank 1 refuses it, rank 0 names rank 1's refusal" \
  '[ $rc != 0 ] && [ $rc != 124 ] &&
   rank_said 1 "error INVALID_ARGUMENT: comm mpi: unknown reduction 42" &&
   rank_said 0 "error COMM: comm check: collective #2: rank 1'"'"'s arguments were refused: comm mpi: unknown reduction 42"' \
  "$tmp/out" "$tmp/err"
# 3 ranks, rank 2 differs: every rank names rank 2
run_mismatch 3 count
check "TL_COMM_CHECK=1, 3 ranks, a different count on rank 2: all three name rank 2" \
  'mismatch_seen 3 "comm check: collective #2 differs between ranks: rank 0 allreduce(f32, 1024 elements, sum), rank 2 allreduce(f32, 512 elements, sum)"' \
  "$tmp/out" "$tmp/err"
# TL_COMM_CHECK=1 on rank 1 only: the ranks agree (on when any rank has it)
TL_COMM_CHECK=0 TL_COMM_TIMEOUT=60 timeout 100 $MPI -x TL_COMM_CHECK -x TL_COMM_TIMEOUT \
  sh -c '[ "$OMPI_COMM_WORLD_RANK" = 1 ] && export TL_COMM_CHECK=1; exec "$0" mismatch count' \
  "$prog" >"$tmp/out" 2>"$tmp/err"; rc=$?
check "TL_COMM_CHECK=1 on rank 1 only: both ranks check" \
  'mismatch_seen 2 "comm check: collective #2 differs between ranks: rank 0 allreduce(f32, 1024 elements, sum), rank 1 allreduce(f32, 512 elements, sum)"' \
  "$tmp/out" "$tmp/err"
# TL_COMM_CHECK=1, CUDA tensors on the mock backend with 2 devices (rank R
# on cuda:R): the last rank refuses a tensor on the other device. The refusal
# rides in the check's descriptor, so every rank fails the call at once
# (rank 0 used to make the collective alone and wait in it).
mock="$builddir/tests/mock-cuda/.libs"
run_mock () {
  TL_COMM_CHECK=1 TL_COMM_TIMEOUT=20 TL_COMM=$1 timeout 100 $MPI -x TL_COMM_CHECK \
    -x TL_COMM_TIMEOUT -x TL_COMM -x TL_BACKEND_PATH="$mock" -x TL_MOCK_CUDA_DEVICES=2 \
    "$prog" mismatch "$2" >"$tmp/out" 2>"$tmp/err"
  rc=$?
}
# refused_seen N ERROR: rank 1 failed with ERROR (UNSUPPORTED), rank 0 named
# it in collective #N, both at once and in step afterwards
refused_seen () {
  [ $rc != 0 ] && [ $rc != 124 ] && ! grep -q "did not complete" "$tmp/err" &&
    rank_said 1 "error UNSUPPORTED: $2" &&
    rank_said 0 "error COMM: comm check: collective #$1: rank 1's arguments were refused: $2"
}
for run in "cuda-device|nccl|2|comm nccl: allreduce of a tensor on cuda:0, but the communicator runs on cuda:1" \
           "mpi-cuda-device|mpi|3|comm mpi: allreduce of a tensor on cuda:0, but the communicator's CUDA tensors go over NCCL on cuda:1 (the device of its first CUDA tensor)" \
           "cuda-allgather|mpi|2|comm mpi: allgather from a tensor on cuda:1 into a tensor on cuda:0 (use the same device)"; do
  IFS='|' read -r case comm seq want <<EOF
$run
EOF
  if [ -d "$mock" ]; then
    run_mock "$comm" "$case"
    check "TL_COMM_CHECK=1, $comm, mock CUDA: rank 1 refuses its tensor's device ($case), rank 0 names it at once" \
      'refused_seen "$seq" "$want"' "$tmp/out" "$tmp/err"
  else
    echo "ok $((n = n + 1)) # SKIP $case: the mock CUDA backend is not built ($mock)"
  fi
done
exit $failed
