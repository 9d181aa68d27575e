#!/bin/sh
# test-job-outputs.sh — what `tlhost run` leaves a user to rely on: a second
# run does not replace the first one's checkpoints (exit 1 before any task,
# one line saying how to continue, write elsewhere or --overwrite);
# weights= uses trained parameters; a checkpoint directory it cannot write
# and a device that is not there fail before the first task; "final:" only
# on success; no doubled prefix in run-time errors; a parameter a component
# refuses at run time is named where it was set. TAP output.
set -u
. "${TL_SRCDIR:-$(dirname "$0")/..}/tests/tlhost-lib.sh"
echo "1..11"
job="$jobs/good.xml"
o="$tmp/o"

run run -q -o "$o" --set task1.epochs=1 "$job"
check "a first run writes its checkpoints" 'rc 0 && [ -s "$o/m/best.safetensors" ] && [ -s "$o/m/last.safetensors" ]'
cp "$o/m/best.safetensors" "$tmp/best-1"

run run -q -o "$o" "$job"
check "a second run into the same directory: exit 1 before any task, one line, the checkpoints kept" \
  'rc 1 && [ "$(wc -l <"$tmp/err")" = 1 ] && ! grep -q "^final:" "$tmp/out" &&
   grep -qxF "$o/m already holds the checkpoints of an earlier run (best.safetensors, last.safetensors): continue it with --set task1.resume=$o/m/last.safetensors, write elsewhere with -o NEWDIR, or replace them with --overwrite" "$tmp/err" &&
   cmp -s "$o/m/best.safetensors" "$tmp/best-1"'

run run -q -o "$o" --set "task1.resume=$o/m/last.safetensors" --set task1.epochs=2 "$job"
check "resume= from that directory continues the run there" 'rc 0 && grep -q "^final:" "$tmp/out"'

run run -q -o "$o" --overwrite --set task1.epochs=1 "$job"
check "--overwrite replaces them" 'rc 0 && grep -q "^final:" "$tmp/out"'

# a task that fails after task 1 trained: no "final:" line
run run -q -o "$tmp/o2" --set "task2.weights=$tmp/missing.safetensors" "$job"
check "a failed job prints no final metrics" \
  'rc 1 && ! grep -q "final:" "$tmp/out" && grep -q "good.xml:18: task evaluate: .*missing.safetensors" "$tmp/err"'

# an evaluate-only job on the trained weights: the metrics of the evaluate
# task that followed the training (the final weights are last.safetensors)
sed -e '/kind="train"/d' -e '/<dataset id="train"/,/<\/dataset>/d' -e 's/name="synthetic-mlp"/name="ev"/' \
  "$job" >"$tmp/ev.xml"
run run -q -o "$tmp/o3" --set task1.epochs=1 "$job"
want=$(sed -n 's/^final: //p' "$tmp/out")
run run -q -o "$tmp/o4" --set "task1.weights=$tmp/o3/m/last.safetensors" "$tmp/ev.xml"
check "evaluate with weights= of last.safetensors gives the metrics of the evaluate after training" \
  'rc 0 && [ -n "$want" ] && [ "$(sed -n "s/^final: //p" "$tmp/out")" = "$want" ]'

# a checkpoint directory no one can create files in (not even root)
mkdir -p "$tmp/o5" && ln -s /proc/self/fd "$tmp/o5/m"
run run -q -o "$tmp/o5" "$job"
check "an unwritable checkpoint directory fails before the first task" \
  'rc 1 && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "^$tmp/o5/m: cannot write checkpoints here: " "$tmp/err"'

run run -o "$tmp/o6" --set task2.device=cuda:100 "$job"
check "a device that is not there fails before task 1 trains, naming the task" \
  'rc 1 && ! grep -q "train: started" "$tmp/err" && [ ! -e "$tmp/o6" ] &&
   grep -q "good.xml:18: task evaluate (task2): device \"cuda:100\": " "$tmp/err"'

run run -q -o "$tmp/o7" --set task1.batch=1000 "$job"
check "a trainer error is prefixed once" \
  'rc 1 && grep -q "good.xml:17: task train: dataset " "$tmp/err" && ! grep -q "train: train:" "$tmp/err"'

# a component that refuses a parameter at run time: the error names where
# the value was set (the <set> line, or the --set), not the component's line
run run -q -o "$tmp/o8" --set m.hidden=abc "$job"
check "a parameter refused at run time names its --set" \
  'rc 1 && grep -q "^--set m.hidden: model .m. (tl.mlp): hidden: " "$tmp/err"'
sed 's#<set name="hidden">16</set>#<set name="hidden">1x6</set>#' "$job" >"$tmp/bad-hidden.xml"
run run -q -o "$tmp/o9" "$tmp/bad-hidden.xml"
check "a parameter refused at run time names its <set> line" \
  'rc 1 && grep -q "bad-hidden.xml:15: model .m. (tl.mlp): hidden: " "$tmp/err"'
