#!/bin/sh
# test-example.sh — the example job trains fusion.transformer with fusion on
# and, through its overlay, off; both finish, the plan task writes the plan
# XML and a DOT graph, and the final losses agree. A third run builds the
# unfused model (m.fusion=none) and has the train and evaluate tasks run the
# planner p on their graphs (planners="p"): it fuses the training graph
# (forward and backward) and reaches the same loss. TAP output.
set -u
builddir=${TL_BUILDDIR:-.}
srcdir=${TL_SRCDIR:-$(dirname "$0")/../../..}
tlhost=$builddir/hosts/tlhost
job=$srcdir/plugins/fusion/examples/train-transformer.xml
overlay=$srcdir/plugins/fusion/examples/no-fusion.xml
echo "1..8"
if [ ! -x "$tlhost" ]; then
  for i in 1 2 3 4 5 6 7 8; do echo "ok $i # SKIP tlhost not built"; done
  exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tl-fusion-example.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
on=$("$tlhost" run -o "$tmp/on" --set task2.epochs=1 "$job" 2>&1)
rc_on=$?
off=$("$tlhost" run -o "$tmp/off" --set task2.epochs=1 --overlay "$overlay" "$job" 2>&1)
rc_off=$?
if [ $rc_on = 0 ] && [ $rc_off = 0 ]; then echo "ok 1 - job runs with fusion on and off"; else
  echo "not ok 1 - job runs with fusion on and off (rc $rc_on/$rc_off)"; printf '%s\n%s\n' "$on" "$off" | sed 's/^/# /'; fi
if [ -s "$tmp/on/plan-p.xml" ] && grep -q 'kind="group"' "$tmp/on/plan-p.xml" && [ -s "$tmp/on/graph-m.dot" ]; then
  echo "ok 2 - plan XML with groups and DOT written"; else echo "not ok 2 - plan XML with groups and DOT written"; fi
if printf '%s\n' "$on" | grep -q 'groups fused; kernels [0-9]* -> [0-9]*; bytes moved'; then
  echo "ok 3 - kernels and bytes before/after reported"; else echo "not ok 3 - kernels and bytes before/after reported"; fi
l_on=$(printf '%s\n' "$on" | sed -n 's/^final: loss=\([^ ]*\).*/\1/p')
l_off=$(printf '%s\n' "$off" | sed -n 's/^final: loss=\([^ ]*\).*/\1/p')
if [ -n "$l_on" ] && awk -v a="$l_on" -v b="$l_off" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-4 * (b < 0 ? -b : b) + 1e-6) }'; then
  echo "ok 4 - same final loss with and without fusion ($l_on, $l_off)"; else
  echo "not ok 4 - same final loss with and without fusion ($l_on, $l_off)"; fi

# planners="p" on the train and evaluate tasks of the unfused model
pl=$("$tlhost" run -o "$tmp/pl" --set task2.epochs=1 --set m.fusion=none --set task2.planners=p \
       --set task3.planners=p "$job" 2>&1)
rc_pl=$?
if [ $rc_pl = 0 ] && printf '%s\n' "$pl" | grep -q '^task2 train: planners p applied (fusion.stitch)$' &&
   printf '%s\n' "$pl" | grep -q '^task3 evaluate: planners p applied (fusion.stitch)$'; then
  echo "ok 5 - train and evaluate run with planners=\"p\""; else
  echo "not ok 5 - train and evaluate run with planners=\"p\" (rc $rc_pl)"; printf '%s\n' "$pl" | sed 's/^/# /'; fi
# the planner's reports during task2 and task3 (after the plan task's): the
# first is the training graph's (built before any evaluation graph, and the
# largest: it holds the backward pass), then the evaluation graphs'; each
# with fewer kernels after fusion
fused=$(printf '%s\n' "$pl" | awk '/^task2 train: model/ { t = 1 }
  t && match($0, /groups fused; kernels [0-9]+ -> [0-9]+/) {
    split(substr($0, RSTART, RLENGTH), w, " "); r++
    if (w[6] + 0 >= w[4] + 0) bad = 1
    if (r == 1) first = w[4] + 0; else if (w[4] + 0 >= first) bad = 1 }
  END { print (bad ? 0 : r + 0) }')
if [ "$fused" -ge 3 ]; then
  echo "ok 6 - the training graph (backward included) and the evaluation graphs were fused ($fused reports)"; else
  echo "not ok 6 - the training graph (backward included) and the evaluation graphs were fused ($fused reports)"; fi
# the train task's loss (metrics.jsonl, full precision) of the three runs:
# fusion changes the order of summation only
train_loss() { sed -n 's/^{"step":2,"phase":"train","loss":\([^,]*\),.*/\1/p' "$1/metrics.jsonl" 2>/dev/null; }
j_pl=$(train_loss "$tmp/pl"); j_on=$(train_loss "$tmp/on"); j_off=$(train_loss "$tmp/off")
if [ -n "$j_pl" ] && [ -n "$j_on" ] && [ -n "$j_off" ] &&
   awk -v a="$j_pl" -v b="$j_on" -v c="$j_off" 'function near(x, y) { d = x - y; if (d < 0) d = -d;
       return d <= 1e-5 * (y < 0 ? -y : y) + 1e-7 } BEGIN { exit !(near(a, b) && near(a, c)) }'; then
  echo "ok 7 - planners=\"p\" reaches the loss of in-model fusion and of no fusion ($j_pl, $j_on, $j_off)"; else
  echo "not ok 7 - planners=\"p\" reaches the loss of in-model fusion and of no fusion ($j_pl, $j_on, $j_off)"; fi
# a misspelt planner id: exit 2 and the id it likely means
val=$("$tlhost" validate --set task2.planners=pp "$job" 2>&1)
rc_val=$?
if [ $rc_val = 2 ] && printf '%s\n' "$val" | grep -q "planners=\"pp\": no planner with id 'pp' (did you mean 'p'?)"; then
  echo "ok 8 - planners= naming no planner: did-you-mean, exit 2"; else
  echo "not ok 8 - planners= naming no planner: did-you-mean, exit 2 (rc $rc_val)"; printf '%s\n' "$val" | sed 's/^/# /'; fi
