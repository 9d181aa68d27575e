#!/bin/sh
# test-dapple-mpi.sh — the dapple runtime over 4 processes (mpirun -np 4):
# an MLP pipelined in 4 stages and in 2 stages x 2 replicas, early backward
# and GPipe; the gradients must equal one process computing the same global
# batch, and early backward must stash min(S - s, M) micro-batches per stage.
set -u
. "${TL_SRCDIR:-$(dirname "$0")/../../..}/tests/comm-lib.sh"
skip_without_mpi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
job="$srcdir/plugins/dapple/examples/run-mlp.xml"
MPI="$(mpirun_cmd) -np 4 -x TL_PLUGIN_PATH -x TL_PLUGIN_SYSTEM_PATH -x XDG_CACHE_HOME -x G_DEBUG"
echo "1..16"
for stages in 4 2; do
  for sched in early-backward gpipe; do
    timeout 300 $MPI "$builddir/hosts/tlhost" run -q -o "$tmp/out" --set p.stages=$stages \
      --set p.schedule=$sched --set task1.steps=1 "$job" >"$tmp/log" 2>&1
    rc=$?
    check "$stages stages, $sched: the job succeeds" '[ $rc = 0 ]' "$tmp/log"
    diff=$(sed -n 's/.*max_rel_diff=\([0-9.e+-]*\).*/\1/p' "$tmp/log" | head -1)
    check "$stages stages, $sched: gradients equal one process (max rel diff ${diff:-none})" \
      '[ -n "$diff" ] && awk -v d="$diff" "BEGIN { exit !(d >= 0 && d < 1e-5) }"' "$tmp/log"
    live=$(sed -n 's/.*peak_live_micro_batches=\([0-9]*\).*/\1/p' "$tmp/log" | head -1)
    if [ $sched = gpipe ]; then want=8; else want=$stages; fi
    check "$stages stages, $sched: at most $want micro-batches stashed (got ${live:-none})" \
      '[ "$live" = "$want" ]' "$tmp/log"
  done
done
# a stored plan with uneven replicas (3 + 1): rows are split and regrouped
timeout 300 $MPI "$builddir/hosts/tlhost" run -q -o "$tmp/out" \
  --set p.plan="$srcdir/plugins/dapple/tests/uneven-plan.xml" "$job" >"$tmp/log" 2>&1
rc=$?
check "uneven replicas 3+1: the job succeeds" '[ $rc = 0 ]' "$tmp/log"
diff=$(sed -n 's/.*max_rel_diff=\([0-9.e+-]*\).*/\1/p' "$tmp/log" | head -1)
check "uneven replicas 3+1: gradients equal one process (max rel diff ${diff:-none})" \
  '[ -n "$diff" ] && awk -v d="$diff" "BEGIN { exit !(d >= 0 && d < 1e-5) }"' "$tmp/log"
# planned by DAPPLE on the job's cluster, then run
timeout 300 $MPI "$builddir/hosts/tlhost" run -q -o "$tmp/out" --set task1.steps=1 \
  "$srcdir/plugins/dapple/examples/run-dapple-plan.xml" >"$tmp/log" 2>&1
rc=$?
check "DAPPLE's own plan: the job succeeds" '[ $rc = 0 ]' "$tmp/log"
diff=$(sed -n 's/.*max_rel_diff=\([0-9.e+-]*\).*/\1/p' "$tmp/log" | head -1)
check "DAPPLE's own plan: gradients equal one process (max rel diff ${diff:-none})" \
  '[ -n "$diff" ] && awk -v d="$diff" "BEGIN { exit !(d >= 0 && d < 1e-5) }"' "$tmp/log"
exit $failed
