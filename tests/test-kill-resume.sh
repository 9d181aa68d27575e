#!/bin/sh
# test-kill-resume.sh — a killed training job resumes from its last
# checkpoint (TAP). A deterministic tlhost job (tl.synthetic + tl.mlp with
# dropout, checkpoint_every small) is SIGKILLed mid-training once
# last.safetensors exists; the checkpoint it left must be complete, and
# rerunning the job with resume= on it must end with the same tensors
# (parameters and optimizer state, bit for bit) as an uninterrupted run.
# The job has no eval data, so the best checkpoint is selected by the mean
# training loss of each evaluation window; the kill lands mid-window, and
# the resumed run must still select the same best.safetensors (tensors and
# metrics). A job interrupted with SIGINT (Ctrl-C) stops after the current
# step, writes last.safetensors and exits 130 naming its output directory.
#
# No timing in the pass conditions: the killed and interrupted jobs are the
# same job with steps=$NEVER, which no machine finishes while this script
# waits (the schedule is constant and a checkpoint does not record the step
# count, so their first STEPS steps are those of the STEPS-step job), and
# each is signalled as soon as its first checkpoint exists. The waits are
# bounded (WAIT_POLLS x 0.02 s); running out of one is a failure, reported.
set -u
builddir=${TL_BUILDDIR:-$(pwd)}
PY="${PYTHON3:-/usr/bin/python3}"
tlhost="$builddir/hosts/tlhost"
STEPS=4000
NEVER=1000000000
WAIT_POLLS=6000

echo "1..8"
if ! "$PY" -c 'import json, struct' >/dev/null 2>&1; then
  for i in 1 2 3 4 5 6 7 8; do echo "ok $i # SKIP python3 not usable ($PY)"; done
  exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tl-kill-resume.XXXXXX") || exit 1
pid=
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
      [ -s "$tmp/int.pid" ] && [ ! -f "$tmp/int.rc" ] && kill -KILL "$(cat "$tmp/int.pid")" 2>/dev/null
      rm -rf "$tmp"' EXIT

# wait_for FILE PID: until FILE exists or process PID is gone (bounded)
wait_for () {
  _i=0
  while [ ! -f "$1" ] && kill -0 "$2" 2>/dev/null && [ $_i -lt $WAIT_POLLS ]; do
    sleep 0.02
    _i=$((_i + 1))
  done
  [ -f "$1" ]
}

fail_log () { sed 's/^/# /' "$1" | tail -20; }

cat >"$tmp/job.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<job xmlns="urn:tl:job:1" name="kill-resume">
  <dataset id="train" component="tl.synthetic">
    <set name="n_rows">4000</set>
    <set name="n_features">20</set>
    <set name="n_classes">4</set>
    <set name="noise">4.0</set>
    <set name="seed">1</set>
  </dataset>
  <model id="m" component="tl.mlp">
    <set name="input">features</set>
    <set name="hidden">128,128</set>
    <set name="dropout">0.1</set>
  </model>
  <task kind="train" model="m" data="train" steps="$STEPS" batch="128" optimizer="adam" lr="1e-3"
        seed="42" deterministic="true" threads="1" checkpoint_every="20"/>
</job>
EOF

# A stdlib-only safetensors reader: "check FILE" verifies that the file is
# complete (header, offsets tiling the data exactly) and prints its step;
# "same A B" compares every tensor (name, dtype, shape, bytes).
cat >"$tmp/st.py" <<'EOF'
import json, struct, sys

def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError("%s: %d bytes, no header" % (path, len(raw)))
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError("%s: header of %d bytes past the end" % (path, n))
    head = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = head.pop("__metadata__", {})
    data = raw[8 + n:]
    spans = sorted(tuple(v["data_offsets"]) for v in head.values())
    end = 0
    for a, b in spans:
        if a != end or b < a:
            raise ValueError("%s: tensor data at [%d, %d) after %d" % (path, a, b, end))
        end = b
    if end != len(data):
        raise ValueError("%s: tensors cover %d of %d data bytes" % (path, end, len(data)))
    return meta, {k: (v["dtype"], v["shape"], data[v["data_offsets"][0]:v["data_offsets"][1]])
                  for k, v in head.items()}

if sys.argv[1] == "check":
    meta, ts = load(sys.argv[2])
    print(meta.get("trainer.opt_step", "none"), len(ts))
else:
    (ma, a), (mb, b) = load(sys.argv[2]), load(sys.argv[3])
    if sys.argv[1] == "same-meta" and ma.get(sys.argv[4]) != mb.get(sys.argv[4]):
        print("%s differs: %s vs %s" % (sys.argv[4], ma.get(sys.argv[4]), mb.get(sys.argv[4])))
        sys.exit(1)
    bad = sorted(set(a) ^ set(b)) + sorted(k for k in set(a) & set(b) if a[k] != b[k])
    if bad:
        print("differ: " + " ".join(bad))
        sys.exit(1)
    print("%d tensors identical" % len(a))
EOF

# 1: the uninterrupted run
if "$tlhost" run -q -o "$tmp/full" "$tmp/job.xml" >"$tmp/full.log" 2>&1 &&
   [ -f "$tmp/full/m/last.safetensors" ]; then
  echo "ok 1 - uninterrupted run"
else
  echo "not ok 1 - uninterrupted run"; fail_log "$tmp/full.log"
fi

# 2: the same job (without an end), SIGKILLed once it has written a checkpoint
ck="$tmp/killed/m/last.safetensors"
"$tlhost" run -q -o "$tmp/killed" --set "task1.steps=$NEVER" "$tmp/job.xml" >"$tmp/killed.log" 2>&1 &
pid=$!
wait_for "$ck" "$pid"
killed=no
kill -KILL "$pid" 2>/dev/null && killed=yes
wait "$pid"
rc=$?
pid=
step=
if [ -f "$ck" ] && cp "$ck" "$tmp/ckpt.safetensors" &&
   out=$("$PY" "$tmp/st.py" check "$tmp/ckpt.safetensors" 2>"$tmp/check.log"); then
  step=${out%% *}
fi
if [ $killed = yes ] && [ $rc -eq 137 ] && [ -f "$ck" ]; then
  echo "ok 2 - job killed by SIGKILL mid-training"
else
  echo "not ok 2 - job killed by SIGKILL mid-training (killed: $killed, status $rc, checkpoint: $([ -f "$ck" ] && echo yes || echo no))"
  fail_log "$tmp/killed.log"
fi

# 3: the checkpoint it left is complete, from the middle of the run
case "$step" in
  '' | *[!0-9]*) ok=no ;;
  *) if [ "$step" -gt 0 ] && [ "$step" -lt $STEPS ]; then ok=yes; else ok=no; fi ;;
esac
if [ $ok = yes ]; then
  echo "ok 3 - the killed run's last.safetensors loads (step $step of $STEPS)"
else
  echo "not ok 3 - the killed run's last.safetensors loads (step '${step}' of $STEPS)"
  [ -f "$tmp/check.log" ] && fail_log "$tmp/check.log"
fi

# 4: the job rerun with resume= on that checkpoint
if [ -n "$step" ] &&
   "$tlhost" run -o "$tmp/resumed" --set "task1.resume=$tmp/ckpt.safetensors" "$tmp/job.xml" \
     >"$tmp/resumed.log" 2>&1 &&
   grep -q "resumed from .* at step $step\$" "$tmp/resumed.log"; then
  echo "ok 4 - resumed run continues from step $step"
else
  echo "not ok 4 - resumed run continues from step ${step}"; fail_log "$tmp/resumed.log"
fi

# 5: it ends where the uninterrupted run ends
if out=$("$PY" "$tmp/st.py" same "$tmp/full/m/last.safetensors" "$tmp/resumed/m/last.safetensors" 2>&1); then
  echo "ok 5 - resumed and uninterrupted runs end with identical tensors ($out)"
else
  echo "not ok 5 - resumed and uninterrupted runs end with identical tensors"; echo "$out" | sed 's/^/# /'
fi

# 6: and selects the same best checkpoint (no eval data: by the windows'
# mean training loss, the window cut by the kill included)
if out=$("$PY" "$tmp/st.py" same-meta "$tmp/full/m/best.safetensors" "$tmp/resumed/m/best.safetensors" \
           metrics 2>&1); then
  echo "ok 6 - resumed and uninterrupted runs select the same best checkpoint ($out)"
else
  echo "not ok 6 - resumed and uninterrupted runs select the same best checkpoint"; echo "$out" | sed 's/^/# /'
fi

# 7: a write cut by the kill leaves its temporary file (.last.safetensors.tl-tmp.XXXXXX,
# as large as a checkpoint); the next write of the same file removes it once
# it is a minute old and no writer holds its lock (core/fileutil.c), and
# leaves a younger one alone
temps () {
  (cd "$1" 2>/dev/null && ls -A | grep -E '^\.(last|best)\.safetensors\.tl-tmp\.[A-Za-z0-9]{6}$')
}
dir="$tmp/killed/m"
temps "$dir" | sed 's/^/# left by the killed run: /'
: >"$dir/.last.safetensors.tl-tmp.Stale1"
: >"$dir/.last.safetensors.backup" # a user's file: kept
old=$(($(date +%s) - 120))
for f in $(temps "$dir"); do touch -d "@$old" "$dir/$f"; done
touch -d "@$old" "$dir/.last.safetensors.backup"
: >"$dir/.last.safetensors.tl-tmp.Fresh1"
if "$tlhost" run -q -o "$tmp/killed" --overwrite --set task1.steps=20 "$tmp/job.xml" >"$tmp/again.log" 2>&1 &&
   left=$(temps "$dir") && [ "$left" = ".last.safetensors.tl-tmp.Fresh1" ] &&
   [ -f "$dir/.last.safetensors.backup" ]; then
  echo "ok 7 - the next checkpoint write removes stale temporary files"
else
  echo "not ok 7 - the next checkpoint write removes stale temporary files (left: $(temps "$dir" | tr '\n' ' '))"
  fail_log "$tmp/again.log"
fi

# 8: Ctrl-C (SIGINT) to a one-process job: the current step finishes, the
# job writes last.safetensors (no newer than the checkpoint seen before the
# signal), leaves no temporary file and exits 130 saying after which step
# and how to continue (resume= of that checkpoint). The job runs through
# `sh -c exec` so that its pid is known and its exit status lands in a
# file: the wait for it is bounded (a job that ignored SIGINT would run on)
# without polling a zombie with kill -0.
dir="$tmp/int/m"
ck="$dir/last.safetensors"
(sh -c 'echo $$ >"$0"; exec "$@"' "$tmp/int.pid" \
   "$tlhost" run -q -o "$tmp/int" --set "task1.steps=$NEVER" "$tmp/job.xml" >"$tmp/int.log" 2>&1
 echo $? >"$tmp/int.rc") &
sub=$!
why=
s0=
i=0
while [ ! -s "$tmp/int.pid" ] && [ $i -lt $WAIT_POLLS ]; do sleep 0.02; i=$((i + 1)); done
if ! [ -s "$tmp/int.pid" ]; then
  why="the job did not start"
elif ! wait_for "$ck" "$(cat "$tmp/int.pid")"; then
  why="no checkpoint before the signal"
else
  cp "$ck" "$tmp/int-before.safetensors" 2>/dev/null &&
    s0=$("$PY" "$tmp/st.py" check "$tmp/int-before.safetensors" 2>&1) && s0=${s0%% *}
  kill -INT "$(cat "$tmp/int.pid")"
  i=0
  while [ ! -f "$tmp/int.rc" ] && [ $i -lt $WAIT_POLLS ]; do sleep 0.02; i=$((i + 1)); done
  if ! [ -f "$tmp/int.rc" ]; then
    why="still running $((WAIT_POLLS / 50)) s after SIGINT"
    kill -KILL "$(cat "$tmp/int.pid")" 2>/dev/null
  fi
fi
wait "$sub"
rc=$(cat "$tmp/int.rc" 2>/dev/null)
step=$("$PY" "$tmp/st.py" check "$ck" 2>"$tmp/int-check.log") && step=${step%% *}
left=$(temps "$dir" | tr '\n' ' ')
case "$s0.$step" in
  *[!0-9.]* | .* | *.) steps_ok=no ;;
  *) if [ "$s0" -gt 0 ] && [ "$step" -ge "$s0" ]; then steps_ok=yes; else steps_ok=no; fi ;;
esac
if [ -z "$why" ] && [ "$rc" = 130 ] && [ $steps_ok = yes ] && [ -z "$left" ] &&
   grep -qxF "interrupted after step $step; continue with --set task1.resume=$ck" "$tmp/int.log"; then
  echo "ok 8 - SIGINT: exit 130, last.safetensors loads (step $step, seen $s0 before), no temporary file, how to continue said"
else
  echo "not ok 8 - SIGINT: exit 130, last.safetensors loads, no temporary file, how to continue said" \
       "(${why:-signalled}; status '$rc', step '$step' after '$s0', temporary files: '$left')"
  fail_log "$tmp/int.log"
  [ -f "$tmp/int-check.log" ] && fail_log "$tmp/int-check.log"
fi
