#!/bin/sh
# test-ops-cuda.sh — the op tests of the CPU engine (tests/test-ops-basic,
# tests/test-ops-nn: finite-difference gradient checks, forward values,
# determinism) with every executor on a CUDA device (TL_TEST_DEVICE=cuda,
# see tests/gradcheck.h), twice:
#
#   1. against the mock backend module (tests/mock-cuda: host memory, the
#      CPU kernels), on every machine: the device plumbing of the gradient
#      checks (host inputs converted, device outputs copied back) runs in
#      every `make check`;
#   2. against the real CUDA backend module, when a CUDA device is usable;
#      otherwise each program is one visible SKIP with the reason
#      ("no CUDA device: ...").
#
# Every TAP line of the programs is passed through, renumbered and labelled
# ("cuda (mock): test-ops-nn /ops-nn/conv/grad"). The cases that feed bad
# indices, labels or CSR structure expect the same errors on the device (the
# kernels flag them and the next wait on the stream reports them). An op
# without a kernel on the device fails its case with tl_exec_new()'s error
# naming it: nothing falls back to the CPU.
set -u
builddir=${TL_BUILDDIR:-$(pwd)}
progs="tests/test-ops-basic tests/test-ops-nn"
probe_prog="$builddir/tests/gpu/comm-nccl-check"
mock_dir="$builddir/tests/mock-cuda/.libs"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tl-ops-cuda.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0

# relay LABEL FILE RC: FILE's TAP results renumbered from n + 1 and labelled,
# everything else (plans, messages, "Bail out!") as comments; a program that
# exits non-zero without a failing result adds one.
relay () {
  awk -v n="$n" -v label="$1" -v rc="$3" -v nfile="$tmp/n" '
    /^(not )?ok [0-9]+/ {
      bad_line = ($1 == "not")
      sub (/^(not )?ok [0-9]+( - )? */, "")
      n++
      printf "%sok %d - %s %s\n", bad_line ? "not " : "", n, label, $0
      if (bad_line && $0 !~ /# *TODO/)
        bad = 1
      next
    }
    { print "# " $0 }
    END {
      if (rc != 0 && !bad) {
        n++
        printf "not ok %d - %s: exited with status %d\n", n, label, rc
      }
      print n, (bad || rc != 0) > nfile
    }' "$2"
  read -r n bad <"$tmp/n"
  [ "$bad" = 0 ] || failed=1
}

# run_all LABEL SKIP_OK: every program with TL_TEST_DEVICE=cuda in the
# current environment; when no CUDA device is usable, one SKIP per program
# with the reason (SKIP_OK=1) or one failure (SKIP_OK=0: the mock).
run_all () {
  label=$1
  probe=$("$probe_prog" probe 2>&1)
  case $probe in
    devices=*)
      for p in $progs; do
        TL_TEST_DEVICE=cuda "$builddir/$p" --tap >"$tmp/out" 2>&1
        relay "$label: ${p#tests/}" "$tmp/out" $?
      done ;;
    nodevice*)
      why=$(printf '%s\n' "${probe#nodevice }" | head -n 1 | sed 's/^device "cuda": //; s/^no CUDA device: //')
      if [ "$2" = 0 ]; then
        n=$((n + 1)); failed=1
        echo "not ok $n - $label: no CUDA device: $why"
        return
      fi
      for p in $progs; do
        n=$((n + 1))
        echo "ok $n - $label: ${p#tests/} # SKIP no CUDA device: $why"
      done ;;
    *)
      n=$((n + 1)); failed=1
      echo "not ok $n - $label: $probe_prog probe failed"
      printf '%s\n' "$probe" | sed 's/^/# /' ;;
  esac
}

if ! [ -x "$probe_prog" ]; then
  echo "1..1"
  echo "not ok 1 - $probe_prog is not built"
  exit 1
fi
# the mock module first, then the real one with TL_BACKEND_PATH as it came
be_set=${TL_BACKEND_PATH+set}
be=${TL_BACKEND_PATH-}
if [ -f "$mock_dir/tl-backend-cuda.so" ]; then
  TL_BACKEND_PATH=$mock_dir
  export TL_BACKEND_PATH
  run_all "cuda (mock)" 0
else
  n=$((n + 1))
  echo "not ok $n - cuda (mock): the mock backend module is not built ($mock_dir/tl-backend-cuda.so)"
  failed=1
fi
if [ "$be_set" = set ]; then TL_BACKEND_PATH=$be; else unset TL_BACKEND_PATH; fi
run_all "cuda" 1
echo "1..$n"
exit $failed
