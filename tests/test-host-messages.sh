#!/bin/sh
# test-host-messages.sh — tlhost's messages as a first-time user meets them
# (TAP): `tlhost version` says whether the CUDA backend has a device; an
# unset ${TL_DATA_DIR} names the directories tried; a batch larger than the
# data suggests the job's drop_last="false" (which then trains); resuming a
# finished run says there is nothing to do; a file that is not a checkpoint
# says so; past a file-size limit (ulimit -f) tlhost reports the failed write
# and keeps the old checkpoint instead of dying of SIGXFSZ.
set -u
. "${TL_SRCDIR:-$(dirname "$0")/..}/tests/tlhost-lib.sh"
XDG_CACHE_HOME="$tmp/cache"
export XDG_CACHE_HOME
unset TL_DATA_DIR TL_NUM_THREADS
echo "1..9"
# one line on stderr
one () { [ "$(wc -l <"$tmp/err")" -le 1 ]; }
skip () { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }

# job FILE ROWS FEATURES HIDDEN [TASK-ATTRIBUTES]: a small training job
job () {
  cat >"$1" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<job xmlns="urn:tl:job:1" name="msgs">
  <dataset id="train" component="tl.synthetic">
    <set name="n_rows">$2</set>
    <set name="n_features">$3</set>
    <set name="n_classes">2</set>
  </dataset>
  <model id="m" component="tl.mlp">
    <set name="input">features</set>
    <set name="hidden">$4</set>
  </model>
  <task kind="train" model="m" data="train" epochs="2" batch="16" seed="1" $5/>
</job>
EOF
}
job "$tmp/small.xml" 64 4 4 ""

# --- tlhost version: the CUDA feature says whether it has a device --------
run version
if grep -q "^features:.* cuda" "$tmp/out"; then
  check "version: cuda is followed by its availability" \
    'rc 0 && grep -Eq "^features:.* cuda \((no device: .+|not usable: .+|[0-9]+ devices?)\)( |$)" "$tmp/out" &&
     { ! grep -q "CUDA driver version is insufficient" "$tmp/out" ||
       grep -q "cuda (no device: the NVIDIA driver is missing or older than this build.s CUDA runtime [0-9]*\.[0-9]* (CUDA: CUDA driver version is insufficient for CUDA runtime version))" "$tmp/out"; }'
  (TL_BACKEND_PATH=; export TL_BACKEND_PATH; run version)
  check "version, TL_BACKEND_PATH empty: cuda (not usable: the module is not available)" \
    'rc 0 && grep -q "^features:.* cuda (not usable: the CUDA backend module is not available (TL_BACKEND_PATH is empty))" "$tmp/out"'
  (TL_BACKEND_PATH="$builddir/tests/mock-cuda/.libs" TL_MOCK_CUDA_DEVICES=2
   export TL_BACKEND_PATH TL_MOCK_CUDA_DEVICES; run version)
  check "version, the mock backend with two devices: cuda (2 devices)" \
    'rc 0 && grep -q "^features:.* cuda (2 devices)" "$tmp/out"'
else
  for i in 1 2 3; do skip "version: cuda availability" "built without CUDA"; done
fi

# --- ${TL_DATA_DIR} unset: what was tried ------------------------------------
cat >"$tmp/data.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<job xmlns="urn:tl:job:1" name="data">
  <dataset id="train" component="tl.csv">
    <set name="path">${TL_DATA_DIR}/x.csv</set>
    <set name="schema">a:float,y:label</set>
  </dataset>
  <model id="m" component="tl.logreg"><set name="label">y</set></model>
  <task kind="train" model="m" data="train"/>
</job>
EOF
mkdir -p "$tmp/a/b"
(cd "$tmp/a/b" && env -u TL_SRCDIR "$tlhost" validate "$tmp/data.xml" >"$tmp/out" 2>"$tmp/err"; echo $? >"$tmp/rc")
: >"$tmp/bad"
check "unset \${TL_DATA_DIR}: says how to set it and which directories were tried" \
  'rc 2 && one && grep -qF "\${TL_DATA_DIR}: the data directory is not set (set TL_DATA_DIR to the shared datasets folder; ../shared/data and ../../shared/data from the current directory ($tmp/a/b) were not found)" "$tmp/err"'

# --- a batch larger than the data: the job's own syntax, which works --------
run run -q -o "$tmp/o-batch" --set task1.batch=100 "$tmp/small.xml"
check "fewer rows than a batch: suggests drop_last=\"false\"" \
  'rc 1 && one && grep -qF "64 rows, fewer than one batch of 100 (set drop_last=\"false\" on the task, or a smaller batch)" "$tmp/err"'
run run -q -o "$tmp/o-batch" --set task1.batch=100 --set task1.drop_last=false "$tmp/small.xml"
check "... and drop_last=\"false\" then trains" 'rc 0'

# --- resuming a finished run -------------------------------------------------
run run -o "$tmp/o1" "$tmp/small.xml"
run run -o "$tmp/o2" --set "task1.resume=$tmp/o1/m" "$tmp/small.xml"
check "resuming a finished run: nothing to do, not an error, no \"done (0 steps\"" \
  'rc 0 && grep -qF "train: nothing to do: the checkpoint is at step 8 of 8 (raise epochs or steps)" "$tmp/err" &&
   ! grep -q "done (0 steps" "$tmp/err"'

# --- a file that is not a checkpoint -----------------------------------------
printf 'this is a text file, not a checkpoint\n' >"$tmp/notes.txt"
run run -q -o "$tmp/o3" --set "task1.resume=$tmp/notes.txt" "$tmp/small.xml"
check "resume from a text file: not a safetensors file" \
  'rc 1 && one && grep -qF "$tmp/notes.txt: not a safetensors file (header length " "$tmp/err"'

# --- a file-size limit: an error with the file's name, the old file kept -----
# (the checkpoints of this model are hundreds of KiB; the limit is 32 or 64
# KiB whether the shell counts ulimit -f in 512- or 1024-byte blocks)
job "$tmp/big.xml" 64 64 512 ""
run run -q -o "$tmp/o-big" "$tmp/big.xml"
cp "$tmp/o-big/m/best.safetensors" "$tmp/best.before" 2>/dev/null
if [ "$(cat "$tmp/rc")" = 0 ] && (ulimit -f 64) 2>/dev/null; then
  (ulimit -f 64; exec "$tlhost" run -q --overwrite -o "$tmp/o-big" --set task1.seed=2 "$tmp/big.xml") \
    >"$tmp/out" 2>"$tmp/err"
  echo $? >"$tmp/rc"
  : >"$tmp/bad"
  check "ulimit -f: exit 1 saying the write failed (not killed by SIGXFSZ), the old checkpoint kept" \
    'rc 1 && one && grep -q "best.safetensors: write failed: File too large" "$tmp/err" &&
     cmp -s "$tmp/best.before" "$tmp/o-big/m/best.safetensors"'
else
  skip "ulimit -f" "no unlimited first run (exit $(cat "$tmp/rc")) or no ulimit -f"
fi
