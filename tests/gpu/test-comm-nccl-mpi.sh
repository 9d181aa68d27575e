#!/bin/sh
# test-comm-nccl-mpi.sh — the "nccl" communicator on 2 processes (mpirun).
#
# Needs MPI (a visible SKIP otherwise). Without a GPU it checks that the
# set-up fails on both ranks with the same message. With a GPU: every
# collective on one rank under mpirun, an mpi communicator moving CUDA
# tensors, TL_COMM_DEVICE / TL_COMM_TIMEOUT errors, and two ranks: on two
# GPUs, or on one GPU with NCCL_MULTI_RANK_GPU_ENABLE=1 (NCCL >= 2.30), every
# collective, a mismatched send/recv and a hung peer ended by the timeout;
# an older NCCL refuses two ranks on one GPU, and then the test checks that
# the refusal ends the job cleanly (the same one-line message on both ranks,
# no hang).
set -u
. "${TL_SRCDIR:-$(dirname "$0")/../..}/tests/comm-lib.sh"
skip_without_mpi
prog="$builddir/tests/gpu/comm-nccl-check"
probe=$("$prog" probe 2>&1)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
MPI="$(mpirun_cmd)"
case $probe in
  devices=*) ndev=${probe#devices=} ;;
  *)
    # no GPU: the set-up must fail on every rank with the same one-line
    # message (the ranks agree over MPI before touching NCCL), not hang
    echo "1..2"
    echo "# no CUDA device: ${probe#nodevice } (the device checks are skipped)"
    timeout 120 $MPI -np 2 "$prog" collectives >"$tmp/out" 2>"$tmp/err"; rc=$?
    check "no GPU, 2 ranks: both fail at set-up with the same message (no hang)" \
      '[ $rc != 0 ] && [ $rc != 124 ] && [ "$(grep -c "^rank [01] of 2: set-up failed: comm nccl: set-up: rank 0 of 2: " "$tmp/out")" = 2 ] &&
       [ "$(sed -n "s/^rank [01] of 2: set-up failed: //p" "$tmp/out" | sort -u | wc -l)" = 1 ]' \
      "$tmp/out" "$tmp/err"
    sed -n 's/^/# /p' "$tmp/out" | head -n 1
    # rank 0 without the backend module, rank 1 without a GPU: both report
    # rank 0's reason, and that one other rank failed
    timeout 120 $MPI -np 1 -x TL_BACKEND_PATH= "$prog" collectives : -np 1 "$prog" collectives \
      >"$tmp/out" 2>"$tmp/err"; rc=$?
    check "no GPU, 2 ranks failing differently: rank 0's reason on both ranks, the other counted" \
      '[ $rc != 0 ] && [ $rc != 124 ] &&
       [ "$(grep -c "set-up: rank 0 of 2: the CUDA backend module is not available.*(1 other rank failed too)" "$tmp/out")" = 2 ]' \
      "$tmp/out" "$tmp/err"
    exit $failed ;;
esac
echo "# $ndev CUDA device(s)"
# NCCL >= 2.30 accepts several ranks on one GPU when asked (experimental);
# older ones refuse: both outcomes are checked below
MULTI="-x NCCL_MULTI_RANK_GPU_ENABLE=1"

timeout 120 $MPI -np 1 "$prog" collectives >"$tmp/out" 2>"$tmp/err"; rc=$?
check "one rank under mpirun: every collective" \
  '[ $rc = 0 ] && grep -q "^rank 0 of 1: ok" "$tmp/out"' "$tmp/out" "$tmp/err"

two=0
timeout 120 $MPI -np 2 -x TL_COMM_TIMEOUT=60 $MULTI "$prog" collectives >"$tmp/out" 2>"$tmp/err"; rc=$?
if [ "$ndev" -ge 2 ] || grep -q "^rank [01] of 2: ok" "$tmp/out"; then
  where=$([ "$ndev" -ge 2 ] && echo "two GPUs" || echo "one GPU (NCCL_MULTI_RANK_GPU_ENABLE)")
  check "two ranks on $where: every collective on CUDA tensors" \
    '[ $rc = 0 ] && [ "$(grep -c "^rank [01] of 2: ok" "$tmp/out")" = 2 ]' "$tmp/out" "$tmp/err"
  two=1
else
  check "two ranks on one GPU: NCCL's refusal ends the job cleanly on both ranks (no hang)" \
    '[ $rc != 124 ] && [ "$(grep -c "^rank [01] of 2: set-up failed: comm nccl: " "$tmp/out")" = 2 ] &&
     [ "$(sed -n "s/^rank [01] of 2: set-up failed: //p" "$tmp/out" | sort -u | wc -l)" = 1 ]' \
    "$tmp/out" "$tmp/err"
  sed -n 's/^/# /p' "$tmp/out" | head -n 4
fi

timeout 120 $MPI -np 1 "$prog" mpi-lazy >"$tmp/out" 2>"$tmp/err"; rc=$?
check "an mpi communicator moves CUDA tensors over NCCL" \
  '[ $rc = 0 ] && grep -q "^rank 0 of 1: ok (mpi)" "$tmp/out"' "$tmp/out" "$tmp/err"

# an unknown TL_COMM_DEVICE, a bad TL_COMM_TIMEOUT
TL_COMM_DEVICE=77 timeout 60 $MPI -np 1 -x TL_COMM_DEVICE "$prog" collectives >"$tmp/out" 2>"$tmp/err"
rc=$?
check "TL_COMM_DEVICE naming no device: a clear error" \
  '[ $rc != 0 ] && [ $rc != 124 ] && grep -q "TL_COMM_DEVICE=\"77\" is not a CUDA device" "$tmp/out"' "$tmp/out" "$tmp/err"

TL_COMM_TIMEOUT=never timeout 60 $MPI -np 1 -x TL_COMM_TIMEOUT "$prog" collectives >"$tmp/out" 2>"$tmp/err"
rc=$?
check "bad TL_COMM_TIMEOUT: an error naming it" \
  '[ $rc != 0 ] && [ $rc != 124 ] && grep -q "TL_COMM_TIMEOUT=\"never\"" "$tmp/out"' "$tmp/out" "$tmp/err"

if [ $two = 1 ]; then
  timeout 120 $MPI -np 2 $MULTI "$prog" tag-mismatch >"$tmp/out" 2>"$tmp/err"; rc=$?
  check "mismatched send/recv: both ranks fail with a message" \
    '[ $rc = 0 ] && grep -q "^rank 0: expected error: .*does not match" "$tmp/out" &&
     grep -q "^rank 1: expected error: .*met a send of 64 bytes with tag 1" "$tmp/out"' \
    "$tmp/out" "$tmp/err"
  TL_COMM_TIMEOUT=10 timeout 100 $MPI -np 2 -x TL_COMM_TIMEOUT $MULTI "$prog" hang >"$tmp/out" 2>"$tmp/err"
  rc=$?
  check "hung peer: rank 0 ends the job after TL_COMM_TIMEOUT with a message" \
    '[ $rc != 0 ] && [ $rc != 124 ] && ! grep -q "returned although" "$tmp/out" &&
     grep -q "tl: rank 0 of 2: comm nccl: rank 0 of 2: ncclAllReduce did not complete within 10 s (TL_COMM_TIMEOUT).*aborting the job" "$tmp/err"' \
    "$tmp/out" "$tmp/err"
fi
echo "1..$n"
exit $failed
