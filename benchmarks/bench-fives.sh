#!/bin/sh
# bench-fives.sh — BENCH fives: FIVES training throughput, tl (tlhost +
# plugins/fives) vs the same model in PyTorch, same data, batch, epochs and
# threads (TL_BENCH_THREADS, default 2). Run from the build directory
# (`make bench` does); see benchmarks/fives_torch.py.
set -eu
srcdir=${TL_SRCDIR:-$(dirname "$0")/..}
python=${PYTHON3:-/usr/bin/python3}
if ! "$python" -c 'import torch' 2>/dev/null; then
  echo "# bench-fives: skipped (no torch for $python)"
  exit 0
fi
exec "$python" "$srcdir/benchmarks/fives_torch.py" --tlhost "${TLHOST:-./hosts/tlhost}" "$@"
