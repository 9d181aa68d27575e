#!/bin/sh
# run-gpu-bench.sh — the GPU benchmarks of issue 4, each side by side with
# its anchor in the same run (`make bench` runs it; so does tests/gpu/check.sh):
#
#   (a) BENCH gpu_train_mlp / gpu_train_transformer: a training step on
#       device "cuda" (bench-gpu-train) vs PyTorch eager on the same GPU
#       (torch_gpu_train.py), with the launch overhead per kernel and the
#       empty-kernel launch floor; ratio = tl steps/s / torch steps/s.
#   (b) BENCH gpu_gemm_overhead: one matmul node through the engine vs
#       cublasSgemm (bench-gpu-gemm); ratio = engine time / cuBLAS time.
#   (c) BENCH nccl_allreduce: tl_comm_allreduce of CUDA tensors vs
#       ncclAllReduce, 1-64 MB, one rank per GPU (at most 2) under mpirun.
#       (The CPU allreduce benchmark is run-allreduce.sh.)
#
# Without a GPU (or a build without CUDA) it prints one line
#   SKIP no CUDA device: REASON
# and exits 0. Without torch the (a) lines become "SKIP gpu_train_NAME
# anchor: REASON" after tl's half line. A half that exits non-zero (even
# after printing its line) gives a "FAIL ..." line and exit status 1.
#
# Environment: TL_BUILDDIR, TL_SRCDIR (set by make), TL_GPU_BENCH_STEPS
# (default 50), TL_BENCH_PYTHON (else the first of python3 on PATH, $PYTHON3,
# /usr/bin/python3 that imports torch).
set -u
builddir=${TL_BUILDDIR:-$(pwd)}
srcdir=${TL_SRCDIR:-$(dirname "$0")/..}
steps=${TL_GPU_BENCH_STEPS:-50}
status=0
unset MALLOC_PERTURB_ G_DEBUG

train="$builddir/benchmarks/bench-gpu-train"
gemm="$builddir/benchmarks/bench-gpu-gemm"
allreduce="$builddir/benchmarks/bench-gpu-allreduce"
if ! [ -x "$train" ] || ! [ -x "$gemm" ]; then
  echo "SKIP no CUDA device: the GPU benchmarks are not built (configure found no nvcc: --with-cuda)"
  exit 0
fi

# kv KEY LINE: the value of KEY=value in LINE (empty if absent).
kv () {
  printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1
}

# --- (a) training steps vs PyTorch eager ----------------------------------
py=""
for cand in ${TL_BENCH_PYTHON:-} python3 ${PYTHON3:-} /usr/bin/python3; do
  command -v "$cand" >/dev/null 2>&1 || continue
  [ -n "$py" ] || py=$cand
  if "$cand" -c 'import torch' >/dev/null 2>&1; then py=$cand; break; fi
done

for model in mlp transformer; do
  out=$("$train" "$model" --steps "$steps" 2>&1); rc=$?
  case $out in
    SKIP*) printf '%s\n' "$out" | head -n 1; exit 0 ;;
  esac
  tl_line=$(printf '%s\n' "$out" | grep "^gpu-$model tl ")
  if [ $rc != 0 ] || [ -z "$tl_line" ]; then
    echo "FAIL gpu_train_$model: bench-gpu-train exited $rc:"
    printf '%s\n' "$out" | sed 's/^/#   /' | tail -n 20
    status=1; continue
  fi
  echo "#   $tl_line"
  if [ -z "$py" ]; then
    echo "SKIP gpu_train_$model anchor: no python3 found"; continue
  fi
  torch_out=$("$py" "$srcdir/benchmarks/torch_gpu_train.py" "$model" --steps "$steps" 2>&1); rc=$?
  torch_line=$(printf '%s\n' "$torch_out" | grep "^gpu-$model torch ")
  if [ $rc != 0 ]; then
    # a crash is a failure even after the half line was printed
    echo "FAIL gpu_train_$model: torch_gpu_train.py exited $rc ($py):"
    printf '%s\n' "$torch_out" | sed 's/^/#   /' | tail -n 20
    status=1; continue
  fi
  if [ -z "$torch_line" ]; then
    reason=$(printf '%s\n' "$torch_out" | sed -n 's/^SKIP //p' | head -n 1)
    [ -n "$reason" ] || reason="torch_gpu_train.py failed: $(printf '%s\n' "$torch_out" | tail -n 1)"
    echo "SKIP gpu_train_$model anchor: $reason ($py)"; continue
  fi
  echo "#   $torch_line"
  # TL_GPU_BENCH_PROFILE=1: where each side's step goes, by op / kernel
  printf '%s\n' "$out" "$torch_out" | grep "^profile-$model " | sed 's/^/#   /'
  tsp=$(kv steps_per_s "$tl_line"); psp=$(kv steps_per_s "$torch_line")
  ratio=$(awk -v a="$tsp" -v b="$psp" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
  echo "BENCH gpu_train_$model device=$(kv device "$tl_line") steps=$steps" \
    "tl_ms_per_step=$(kv ms_per_step "$tl_line") torch_ms_per_step=$(kv ms_per_step "$torch_line")" \
    "tl_steps_per_s=$tsp torch_steps_per_s=$psp tl_kernels=$(kv kernels "$tl_line")" \
    "torch_kernels=$(kv kernels "$torch_line") tl_us_per_kernel=$(kv launch_us_per_kernel "$tl_line")" \
    "torch_us_per_kernel=$(kv launch_us_per_kernel "$torch_line") empty_launch_us=$(kv empty_launch_us "$tl_line")" \
    "loss_last_tl=$(kv loss_last "$tl_line") loss_last_torch=$(kv loss_last "$torch_line")" \
    "ratio=$ratio better=higher target=1.0"
done

# --- (b) cuBLAS through the engine vs directly -----------------------------
out=$("$gemm" 2>&1); rc=$?
printf '%s\n' "$out"
if [ $rc != 0 ]; then
  echo "FAIL gpu_gemm_overhead: bench-gpu-gemm exited $rc"; status=1
fi

# --- (c) NCCL allreduce through the communicator vs ncclAllReduce ----------
if ! [ -x "$allreduce" ]; then
  echo "SKIP nccl_allreduce: not built (needs NCCL and MPI: configure --with-nccl --with-mpi)"
else
  mpirun=$(command -v mpirun)
  if [ -z "$mpirun" ]; then
    echo "SKIP nccl_allreduce: mpirun not found"
  else
    ngpu=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')
    [ "${ngpu:-0}" -ge 1 ] 2>/dev/null || ngpu=1
    np=$(( ngpu >= 2 ? 2 : 1 ))
    out=$(timeout 300 "$mpirun" --oversubscribe --allow-run-as-root --bind-to none \
            --mca btl self,vader -np "$np" "$allreduce" 2>&1); rc=$?
    printf '%s\n' "$out" | grep -E '^(BENCH|SKIP)'
    if [ $rc != 0 ]; then
      echo "FAIL nccl_allreduce: mpirun -np $np bench-gpu-allreduce exited $rc:"
      printf '%s\n' "$out" | grep -vE '^(BENCH|SKIP)' | sed 's/^/#   /' | tail -n 20
      status=1
    fi
  fi
fi
# (d) the fusion plugin's generated kernels: LayerNorm 65536x1024 and
#     4096x1024 fused vs the copy roof of the same run, the rule-based
#     baseline, torch eager and torch.compile (bench-fusion.sh, GPU part).
if [ -x "$builddir/benchmarks/bench-fusion" ]; then
  fout=$(cd "$builddir" && TL_BUILDDIR="$builddir" TL_SRCDIR="$srcdir" \
           TL_BENCH_PYTHON="${TL_BENCH_PYTHON:-/usr/bin/python3}" sh "$srcdir/benchmarks/bench-fusion.sh" gpu- 2>&1)
  rc=$?
  printf '%s\n' "$fout" | grep -E '^BENCH fusion-gpu' || printf '%s\n' "$fout" | grep -E 'skipped' | sed 's/^# */SKIP /'
  [ $rc = 0 ] || { echo "FAIL fusion-gpu: bench-fusion.sh exited $rc"; printf '%s\n' "$fout" | tail -n 5; status=1; }
fi
exit $status
