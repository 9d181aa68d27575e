#!/bin/sh
# run-bench.sh — the engine benchmarks side by side with their PyTorch anchors.
#
# For each benchmark NAME (mlp, convnet, dispatch) it runs the C program
# benchmarks/bench-NAME (tl's half) and benchmarks/torch_NAME.py (the
# anchor's half) with the same thread count, alternately, TL_BENCH_ROUNDS
# times, keeps the best figure of each side and prints
#   BENCH NAME threads=N ... tl_<metric>=A torch_<metric>=B ratio=R better=higher target=T
# where R is how many times tl is better than torch (see README.md).
#
# Usage: run-bench.sh [NAME...]          (from the build directory; `make bench` runs it)
# Environment: TL_BUILDDIR, TL_SRCDIR (set by make), TL_BENCH_THREADS (default:
# number of CPUs), TL_BENCH_ROUNDS (default 3), TL_BENCH_PYTHON (default /usr/bin/python3).
set -u

builddir=${TL_BUILDDIR:-.}
srcdir=${TL_SRCDIR:-$(dirname "$0")/..}
py=${TL_BENCH_PYTHON:-/usr/bin/python3}
threads=${TL_BENCH_THREADS:-$(getconf _NPROCESSORS_ONLN)}
rounds=${TL_BENCH_ROUNDS:-3}
names=${*:-mlp convnet dispatch}
status=0

# Benchmarks, not tests: no malloc debugging (make's test environment sets
# it), and OpenBLAS pinned to the same thread count on both sides (tl's
# tl_set_num_threads() does it for tl; torch_bench.py does it for torch).
unset MALLOC_PERTURB_
OPENBLAS_NUM_THREADS=$threads
export OPENBLAS_NUM_THREADS

# kv KEY LINE: the value of KEY=value in LINE (empty if absent).
kv () {
  printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1
}

# better higher|lower A B: the better of A and B (B may be empty).
better () {
  awk -v d="$1" -v a="$2" -v b="$3" 'BEGIN {
    if (b == "" || (d == "higher" ? a + 0 >= b + 0 : a + 0 <= b + 0)) print a; else print b }'
}

if "$py" -c 'import torch' >/dev/null 2>&1; then
  have_torch=1
else
  have_torch=0
fi
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo unknown)
echo "# run-bench: threads=$threads rounds=$rounds loadavg=$load python=$py torch=$have_torch"

for name in $names; do
  case $name in
    mlp|convnet) metric=steps_per_s; dir=higher; extra="" ;;
    dispatch) metric=us_per_op; dir=lower; extra="ops=100" ;;
    *) echo "run-bench: unknown benchmark '$name'" >&2; status=1; continue ;;
  esac
  case $name in
    mlp) target=1.5; extra="batch=128 optim=adam" ;;
    convnet) target=1.5; extra="batch=64 optim=sgd-momentum" ;;
    dispatch) target=5 ;;
  esac
  # load average before this benchmark: other work on the machine makes
  # OpenMP/OpenBLAS workers spin against each other (see README.md)
  load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo unknown)
  tl_best=""; torch_best=""; tl_line=""; failed=""
  r=0
  while [ $r -lt "$rounds" ]; do
    r=$((r + 1))
    # a half fails when its program exits non-zero (even after printing
    # its line) or prints no line
    if ! out=$("$builddir/benchmarks/bench-$name" --threads "$threads") ||
       ! tl_line=$(printf '%s\n' "$out" | grep "^$name tl "); then
      failed=tl; break
    fi
    echo "#   $tl_line"
    tl_best=$(better "$dir" "$(kv "$metric" "$tl_line")" "$tl_best")
    [ $have_torch = 1 ] || continue
    if ! out=$("$py" "$srcdir/benchmarks/torch_$name.py" --threads "$threads") ||
       ! torch_line=$(printf '%s\n' "$out" | grep "^$name torch "); then
      failed=torch; break
    fi
    echo "#   $torch_line"
    torch_best=$(better "$dir" "$(kv "$metric" "$torch_line")" "$torch_best")
  done
  if [ -n "$failed" ]; then
    echo "BENCH $name failed=$failed threads=$threads"
    status=1
    continue
  fi
  if [ $have_torch = 0 ]; then
    echo "BENCH $name skipped=torch-missing threads=$threads $extra tl_$metric=$tl_best"
    continue
  fi
  # ratio > 1 always means tl is better: throughput ratio for steps/s,
  # inverse time ratio (speedup) for us/op.
  if [ "$dir" = higher ]; then
    ratio=$(awk -v a="$tl_best" -v b="$torch_best" 'BEGIN { printf "%.3f", a / b }')
    dirinfo=""
  else
    ratio=$(awk -v a="$tl_best" -v b="$torch_best" 'BEGIN { printf "%.3f", b / a }')
    dirinfo="speedup=$ratio"
  fi
  echo "BENCH $name threads=$threads $extra tl_$metric=$tl_best torch_$metric=$torch_best" \
       "kernels=$(kv kernels "$tl_line") loadavg=$load $dirinfo ratio=$ratio better=higher" \
       "target=$target" | tr -s ' '
done
exit $status
