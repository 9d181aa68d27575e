#!/bin/sh
# measured-run.sh — the dapple runtime for real: an MLP (hidden 512x3,
# 256 features) pipelined over 4 CPU processes (mpirun -np 4) in 4 stages,
# 8 micro-batches of 32 rows, early backward vs GPipe: throughput, and the
# micro-batches and bytes each rank stashes for its backward passes.
# The two schedules run alternately ROUNDS times, so a machine whose load
# changes shows it in both. Ranks yield the CPU while they wait for a peer
# (mpi_yield_when_idle): with fewer cores than processes a busy-polling wait
# would steal the core the peer it waits for needs.
#
# Usage: plugins/dapple/scripts/measured-run.sh [BUILDDIR] [STEPS] [ROUNDS]   (default: . 5 1)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-.}" && pwd)
steps=${2:-5}
rounds=${3:-1}
TL_PLUGIN_PATH=$build/plugins
TL_PLUGIN_SYSTEM_PATH=
XDG_CACHE_HOME=$build/tests/.cache
TL_PLUGIN_SCANNER=$build/hosts/tl-plugin-scanner
export TL_PLUGIN_PATH TL_PLUGIN_SYSTEM_PATH XDG_CACHE_HOME TL_PLUGIN_SCANNER
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
MPI="mpirun --oversubscribe --allow-run-as-root --mca btl self,vader --bind-to none --mca mpi_yield_when_idle 1 -np 4 \
  -x TL_PLUGIN_PATH -x TL_PLUGIN_SYSTEM_PATH -x XDG_CACHE_HOME -x TL_PLUGIN_SCANNER"
r=0
while [ "$r" -lt "$rounds" ]; do
  r=$((r + 1))
  for sched in early-backward gpipe; do
    $MPI "$build/hosts/tlhost" run -o "$tmp/out" --set p.schedule=$sched --set p.stages=4 \
      --set m.hidden=512,512,512 --set train.n_features=256 --set task1.batch=32 \
      --set task1.steps="$steps" "$here/examples/run-mlp.xml" > "$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }
    grep -E "^dapple runtime|^  rank|^  gradients" "$tmp/log"
  done
done
