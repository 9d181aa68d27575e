#!/bin/sh
# test-dp.sh — data-parallel training: the same job (tl.synthetic + tl.mlp,
# global batch 32, same seed) once in one process and once under
# mpirun -np 2 (16 rows per rank, gradients allreduced); the per-step
# training loss of the two runs must agree within a relative 1e-5 (the only
# difference is the summation order of the gradient mean).
# The same job with device="cuda" on the mock CUDA backend (tests/mock-cuda:
# "device" memory is host memory, its NCCL runs over MPI) checks that the
# gradients are allreduced on the device, that TL_DP_STAGE=host and a
# communicator that cannot take device tensors stage them through host
# memory instead, all with the one-process CPU losses.
# When a real CUDA device is usable (tests/gpu/comm-nccl-check probe; a
# visible "SKIP no CUDA device: REASON" otherwise), the same job trains with
# device="cuda" on the real backend module under mpirun -np 2: one GPU per
# rank (device="cuda:LOCAL_RANK") with two or more GPUs; with one, both ranks
# share cuda:0, which NCCL before 2.30 refuses, so the gradients then go
# through host memory. Either path is accepted and printed; rank 0 must
# report it once, and the per-step loss must match the one-process CPU run
# within a relative TL_DP_GPU_TOLERANCE (default 1e-4: the GPU kernels and
# cuBLAS sum in other orders than the CPU kernels and OpenBLAS, and the f32
# rounding differences of 40 Adam steps stay well under that; TF32 is off).
# Ranks that would make different numbers of collectives (other models,
# steps, eval_every, or resumed from different checkpoints) fail at once
# with a message naming the setting; a SIGINT to one rank stops every rank
# after the same step (exit 130, last.safetensors written by rank 0), not
# at TL_COMM_TIMEOUT (set low here, so that a regression fails, not hangs).
set -u
. "${TL_SRCDIR:-$(dirname "$0")/..}/tests/comm-lib.sh"
skip_without_mpi
tlhost="$builddir/hosts/tlhost"
tmp=$(mktemp -d)
trap '[ -n "${mpi:-}" ] && kill "$mpi" 2>/dev/null; rm -rf "$tmp"' EXIT
TOL=${TL_DP_TOLERANCE:-1e-5}
cat >"$tmp/dp.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<job xmlns="urn:tl:job:1" name="dp">
  <dataset id="train" component="tl.synthetic">
    <set name="n_rows">512</set>
    <set name="n_features">8</set>
    <set name="n_classes">3</set>
    <set name="noise">4.0</set>
    <set name="seed">3</set>
  </dataset>
  <model id="m" component="tl.mlp">
    <set name="input">features</set>
    <set name="hidden">16</set>
  </model>
  <task kind="train" model="m" data="train" steps="40" batch="32" accum="ACC" optimizer="OPT" lr="LR" seed="7"/>
</job>
XML
# The loss of each training step, "STEP LOSS" per line.
losses () {
  sed -n 's/.*"step":\([0-9]*\),"phase":"train","loss":\([^,}]*\).*/\1 \2/p' "$1"
}
# compare A B: every step of A in B, max relative difference <= TOL
compare () {
  awk -v tol="$TOL" 'NR == FNR { a[$1] = $2; n++; next }
    ($1 in a) { d = $2 - a[$1]; if (d < 0) d = -d; s = a[$1] < 0 ? -a[$1] : a[$1];
                r = d / (s > 1e-30 ? s : 1e-30); if (r > max) max = r; m++ }
    END { printf "# steps %d/%d, max relative loss difference %.3g (tolerance %s)\n", m, n, max, tol;
          exit !(n >= 40 && m == n && max <= tol) }' "$1" "$2"
}
echo "1..35"
OMP_NUM_THREADS=1; export OMP_NUM_THREADS
# optimizer:lr:ranks:accum — 3 ranks split the batch of 32 unevenly
# (10/11/11 rows), which the share-weighted gradient sum must still get
# right; accum 2 reduces after the accumulated micro-batches, with
# TL_COMM_CHECK=1: every collective of the trainer is compared across the
# ranks first (any difference would fail the run)
for run in sgd:0.1:2:1 adam:0.01:2:1 adam:0.01:3:1 adam:0.01:2:2; do
  o=${run%%:*}; rest=${run#*:}; lr=${rest%%:*}; rest=${rest#*:}; np=${rest%%:*}; acc=${rest#*:}
  key=$o-$acc
  check_env=TL_COMM_CHECK=0; [ "$acc" = 2 ] && check_env=TL_COMM_CHECK=1
  sed -e "s/OPT/$o/" -e "s/LR/$lr/" -e "s/ACC/$acc/" "$tmp/dp.xml" >"$tmp/$key.xml"
  if ! [ -f "$tmp/m1-$key.jsonl" ]; then
    "$tlhost" run -q -o "$tmp/out1-$key" --metrics "$tmp/m1-$key.jsonl" "$tmp/$key.xml" \
      >"$tmp/out1" 2>"$tmp/err1" || echo "# one-process run of $key failed"
  fi
  rm -f "$tmp/m2.jsonl"
  timeout 300 $(mpirun_cmd) -np $np -x OMP_NUM_THREADS -x TL_PLUGIN_PATH -x TL_PLUGIN_SYSTEM_PATH \
    -x XDG_CACHE_HOME -x $check_env "$tlhost" run -o "$tmp/out2-$key-$np" --metrics "$tmp/m2.jsonl" \
    "$tmp/$key.xml" >"$tmp/out2" 2>"$tmp/err2"; rc2=$?
  o="$o (accum $acc)"; [ "$acc" = 2 ] && o="$o, $check_env"
  check "$o, $np ranks: one process and mpirun -np $np both succeed" \
    '[ -s "$tmp/m1-$key.jsonl" ] && [ $rc2 = 0 ]' "$tmp/err1" "$tmp/out2" "$tmp/err2"
  check "$o, $np ranks: trained data-parallel, reported once" \
    '[ "$(grep -c "^data-parallel: $np ranks (mpi), 32 rows per global batch" "$tmp/err2")" = 1 ] &&
     [ "$(grep -c "^final: " "$tmp/out2")" = 1 ]' "$tmp/out2" "$tmp/err2"
  losses "$tmp/m1-$key.jsonl" >"$tmp/l1"
  cp "$tmp/l1" "$tmp/m1-$key.l"
  losses "$tmp/m2.jsonl" >"$tmp/l2"
  paste "$tmp/l1" "$tmp/l2" | awk 'NR % 10 == 1 { printf "# step %s: 1 process %s, N processes %s\n", $1, $2, $4 }'
  check "$o, $np ranks: per-step loss matches 1 process within $TOL" 'compare "$tmp/l1" "$tmp/l2"' \
    "$tmp/l1" "$tmp/l2"
done

# GPU (mock backend). case|environment|path|what rank 0 says (a grep pattern)
mock="$builddir/tests/mock-cuda/.libs"
sed -e 's/seed="7"/seed="7" device="cuda"/' "$tmp/adam-1.xml" >"$tmp/gpu.xml"
for run in "device|TL_DP_STAGE=device|on the device|on cuda:0 (NCCL)" \
           "TL_DP_STAGE=host|TL_DP_STAGE=host|through host memory|through host memory (TL_DP_STAGE=host on rank 0)" \
           "module without NCCL|TL_MOCK_NCCL=off|through host memory|through host memory (.*built without NCCL" \
           "NCCL refuses the ranks|TL_MOCK_NCCL=refuse|through host memory|through host memory (.*ncclCommInitRank: rank 0 of 2"; do
  IFS='|' read -r case env path want <<EOF
$run
EOF
  rm -f "$tmp/m2.jsonl"
  timeout 300 $(mpirun_cmd) -np 2 -x OMP_NUM_THREADS -x TL_PLUGIN_PATH -x TL_PLUGIN_SYSTEM_PATH \
    -x XDG_CACHE_HOME -x TL_BACKEND_PATH="$mock" -x "$env" \
    "$tlhost" run -o "$tmp/out-gpu" --overwrite --metrics "$tmp/m2.jsonl" "$tmp/gpu.xml" \
    >"$tmp/out2" 2>"$tmp/err2"; rc2=$?
  check "GPU (mock), 2 ranks, $case: mpirun -np 2 succeeds" '[ $rc2 = 0 ]' "$tmp/out2" "$tmp/err2"
  check "GPU (mock), 2 ranks, $case: gradients allreduced $path, reported once" \
    '[ "$(grep -c "^data-parallel: gradients allreduced $want" "$tmp/err2")" = 1 ] &&
     [ "$(grep -c "^data-parallel: gradients" "$tmp/err2")" = 1 ]' "$tmp/err2"
  losses "$tmp/m2.jsonl" >"$tmp/l2"
  same=", identical to the device path"
  [ "$case" = device ] && { cp "$tmp/l2" "$tmp/l-device"; same=; }
  check "GPU (mock), 2 ranks, $case: per-step loss matches 1 CPU process within $TOL$same" \
    'compare "$tmp/m1-adam-1.l" "$tmp/l2" && { [ "$case" = device ] || cmp -s "$tmp/l-device" "$tmp/l2"; }' \
    "$tmp/l2"
done

# A rank that differs on its own must not leave the others waiting in a
# collective it skipped: a bad TL_DP_STAGE on rank 1 only ends the run on
# both ranks; a module without NCCL on rank 1 only sends both through host
# memory.
timeout 120 $(mpirun_cmd) -np 2 -x OMP_NUM_THREADS -x TL_PLUGIN_PATH -x TL_PLUGIN_SYSTEM_PATH \
  -x XDG_CACHE_HOME -x TL_BACKEND_PATH="$mock" \
  sh -c '[ "$OMPI_COMM_WORLD_RANK" = 1 ] && export TL_DP_STAGE=bogus; exec "$0" run -q -o "$1" "$2"' \
  "$tlhost" "$tmp/out-stage" "$tmp/gpu.xml" >"$tmp/stage.log" 2>&1; rc=$?
check "GPU (mock), TL_DP_STAGE=bogus on rank 1 only: every rank fails with a clear message, no hang" \
  '[ $rc != 0 ] && [ $rc != 124 ] &&
   grep -q "^tl: rank 1 of 2: .*TL_DP_STAGE=\"bogus\" is neither host nor device" "$tmp/stage.log" &&
   grep -q "^tl: rank 0 of 2: .*rank 1: TL_DP_STAGE is neither host nor device" "$tmp/stage.log"' \
  "$tmp/stage.log"
rm -f "$tmp/m2.jsonl"
timeout 120 $(mpirun_cmd) -np 2 -x OMP_NUM_THREADS -x TL_PLUGIN_PATH -x TL_PLUGIN_SYSTEM_PATH \
  -x XDG_CACHE_HOME -x TL_BACKEND_PATH="$mock" \
  sh -c '[ "$OMPI_COMM_WORLD_RANK" = 1 ] && export TL_MOCK_NCCL=off; exec "$0" run -o "$1" --metrics "$2" "$3"' \
  "$tlhost" "$tmp/out-nccl1" "$tmp/m2.jsonl" "$tmp/gpu.xml" >"$tmp/out2" 2>"$tmp/err2"; rc2=$?
losses "$tmp/m2.jsonl" >"$tmp/l2"
check "GPU (mock), module without NCCL on rank 1 only: both ranks stage through host memory, same losses" \
  '[ $rc2 = 0 ] && [ "$(grep -c "^data-parallel: gradients allreduced through host memory" "$tmp/err2")" = 1 ] &&
   cmp -s "$tmp/l-device" "$tmp/l2"' "$tmp/out2" "$tmp/err2" "$tmp/l2"

# GPU (the real backend module): only where a CUDA device is usable
GTOL=${TL_DP_GPU_TOLERANCE:-1e-4}
probe_prog="$builddir/tests/gpu/comm-nccl-check"
if [ -x "$probe_prog" ]; then probe=$("$probe_prog" probe 2>&1); else probe="nodevice $probe_prog is not built"; fi
case $probe in
  devices=*)
    ndev=${probe#devices=}
    # one GPU per rank where there are two; else both ranks on cuda:0
    for r in 0 1; do
      d=cuda; [ "$ndev" -ge 2 ] && d=cuda:$r
      sed -e "s/seed=\"7\"/seed=\"7\" device=\"$d\"/" "$tmp/adam-1.xml" >"$tmp/real-$r.xml"
    done
    where=$([ "$ndev" -ge 2 ] && echo "cuda:0 and cuda:1" || echo "both on cuda:0")
    rm -f "$tmp/m2.jsonl"
    timeout 300 $(mpirun_cmd) -np 2 -x OMP_NUM_THREADS -x TL_PLUGIN_PATH -x TL_PLUGIN_SYSTEM_PATH \
      -x XDG_CACHE_HOME -x TL_CUDA_TF32=0 ${TL_BACKEND_PATH+-x TL_BACKEND_PATH} \
      sh -c 'exec "$0" run -o "$1" --metrics "$2" "$3-${OMPI_COMM_WORLD_LOCAL_RANK:-0}.xml"' \
      "$tlhost" "$tmp/out-real" "$tmp/m2.jsonl" "$tmp/real" >"$tmp/out2" 2>"$tmp/err2"; rc2=$?
    check "GPU (real, $where), 2 ranks: mpirun -np 2 succeeds" '[ $rc2 = 0 ]' "$tmp/out2" "$tmp/err2"
    check "GPU (real, $where), 2 ranks: rank 0 reports the gradient path once" \
      '[ "$(grep -c "^data-parallel: gradients allreduced " "$tmp/err2")" = 1 ]' "$tmp/err2"
    sed -n 's/^data-parallel: gradients allreduced /# gradient path: /p' "$tmp/err2"
    losses "$tmp/m2.jsonl" >"$tmp/l2"
    paste "$tmp/m1-adam-1.l" "$tmp/l2" |
      awk 'NR % 10 == 1 { printf "# step %s: 1 CPU process %s, 2 GPU ranks %s\n", $1, $2, $4 }'
    check "GPU (real, $where), 2 ranks: per-step loss matches 1 CPU process within $GTOL" \
      '(TOL=$GTOL; compare "$tmp/m1-adam-1.l" "$tmp/l2")' "$tmp/l2" ;;
  *)
    why=$(printf '%s\n' "${probe#nodevice }" | head -n 1 | sed 's/^device "cuda": //; s/^no CUDA device: //')
    for what in "mpirun -np 2 succeeds" "rank 0 reports the gradient path once" \
                "per-step loss matches 1 CPU process within $GTOL"; do
      n=$((n + 1))
      echo "ok $n - GPU (real), 2 ranks: $what # SKIP no CUDA device: $why"
    done ;;
esac

# ranks that do not run the same model: a clear error on every rank, no hang
timeout 120 $(mpirun_cmd) -np 2 -x TL_PLUGIN_PATH -x TL_PLUGIN_SYSTEM_PATH -x XDG_CACHE_HOME \
  sh -c 'exec "$0" run -q -o "$1" --set m.hidden=$((16 + OMPI_COMM_WORLD_RANK)) "$2"' \
  "$tlhost" "$tmp/out3" "$tmp/sgd-1.xml" >"$tmp/out3.log" 2>&1; rc=$?
check "ranks running different models: the job fails with a clear message, no hang" \
  '[ $rc != 0 ] && [ $rc != 124 ] && [ "$(grep -c "^tl: rank [01] of 2: .*the 2 ranks do not run the same training" "$tmp/out3.log")" -ge 1 ]' \
  "$tmp/out3.log"
# settings that change how many collectives a rank makes: named at once, no
# hang (TL_COMM_TIMEOUT=30: without the check the rank that went on would
# wait that long, and the job would end with "did not complete")
"$tlhost" run -q -o "$tmp/res16" --set task1.steps=16 "$tmp/sgd-1.xml" >/dev/null 2>&1
"$tlhost" run -q -o "$tmp/res32" --set task1.steps=32 "$tmp/sgd-1.xml" >/dev/null 2>&1
for run in 'steps|task1.steps=$((40 + OMPI_COMM_WORLD_RANK))|steps differ (40 vs 41)' \
           'eval_every|task1.eval_every=$((5 + OMPI_COMM_WORLD_RANK))|eval_every values differ (5 vs 6)' \
           'resumed checkpoints|task1.resume=$2/res$((16 + 16 * OMPI_COMM_WORLD_RANK))/m|start steps (resumed checkpoints) differ (16 vs 32)'; do
  IFS='|' read -r case set want <<EOF
$run
EOF
  timeout 120 $(mpirun_cmd) -np 2 -x TL_PLUGIN_PATH -x TL_PLUGIN_SYSTEM_PATH -x XDG_CACHE_HOME \
    -x TL_COMM_TIMEOUT=30 sh -c "exec \"\$0\" run -q -o \"\$1\" --set task1.steps=48 --set $set \"\$2/sgd-1.xml\"" \
    "$tlhost" "$tmp/out4" "$tmp" >"$tmp/out4.log" 2>&1; rc=$?
  check "ranks with different $case: the job fails at once naming the setting, no timeout" \
    '[ $rc != 0 ] && [ $rc != 124 ] && ! grep -q "did not complete" "$tmp/out4.log" &&
     grep -q "^tl: rank [01] of 2: .*the 2 ranks do not run the same training: $want" "$tmp/out4.log"' \
    "$tmp/out4.log"
done

# A SIGINT to rank 1 only: the stop travels with the step's loss, so both
# ranks stop after the same step and exit normally (130); rank 0 writes
# last.safetensors and says, once, after which step and how to continue. Without that, rank
# 0 would wait for rank 1 in the next allreduce until TL_COMM_TIMEOUT (60 s
# here) and the job would end with "did not complete".
rm -f "$tmp/pid-0" "$tmp/pid-1"
timeout 170 $(mpirun_cmd) -np 2 -x OMP_NUM_THREADS -x TL_PLUGIN_PATH -x TL_PLUGIN_SYSTEM_PATH \
  -x XDG_CACHE_HOME -x TL_COMM_TIMEOUT=60 \
  sh -c 'echo $$ >"$1/pid-$OMPI_COMM_WORLD_RANK"; exec "$0" run -o "$1/out-stop" --set task1.steps=1000000000 "$2"' \
  "$tlhost" "$tmp" "$tmp/sgd-1.xml" >"$tmp/stop.out" 2>"$tmp/stop.err" &
mpi=$!
# rank 0 starts training once both ranks are past their set-up collectives
i=0
while [ $i -lt 1200 ] && ! { [ -s "$tmp/pid-1" ] && grep -q "^train: started" "$tmp/stop.err"; }; do
  sleep 0.1; i=$((i + 1))
done
t0=$(date +%s)
[ -s "$tmp/pid-1" ] && kill -INT "$(cat "$tmp/pid-1")"
wait $mpi; rc=$?; mpi=
echo "# SIGINT to rank 1 after $((i / 10)) s; the job ended $(($(date +%s) - t0)) s later with exit $rc"
check "SIGINT to rank 1 only: every rank stops after the same step, exit 130, no abort, no timeout" \
  '[ $rc = 130 ] && ! grep -q "did not complete" "$tmp/stop.err" && ! grep -q "^tl: rank" "$tmp/stop.err"' \
  "$tmp/stop.out" "$tmp/stop.err"
check "SIGINT to rank 1 only: rank 0 wrote last.safetensors and says how to continue, once" \
  '[ -s "$tmp/out-stop/m/last.safetensors" ] &&
   [ "$(grep -c "^interrupted after step [0-9]*; continue with --set task1.resume=$tmp/out-stop/m/last.safetensors\$" "$tmp/stop.err")" = 1 ]' \
  "$tmp/stop.err"
exit $failed
