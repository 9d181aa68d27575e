#!/bin/sh
# bench-fusion.sh — fusion planner benchmarks (plugins/fusion) against PyTorch
# CPU eager. Runs benchmarks/bench-fusion (tl: unfused / stitch / baseline)
# and benchmarks/torch_fusion.py (torch eager with the same primitive ops,
# and torch's native fused ops) and prints per benchmark
#   BENCH fusion-NAME threads=N unfused_ms=.. stitch_ms=.. stitch_cc_ms=.. baseline_ms=.. baseline_cc_ms=..
#     torch_eager_ms=.. torch_native_ms=.. kernels_*=.. speedup=unfused/stitch vs_baseline=baseline/stitch
#     vs_baseline_cc=baseline_cc/stitch_cc (the same CPU code path on both sides)
#     ratio=torch_eager_ms/stitch_ms better=higher
# (ratio > 1: tl with fusion is faster than torch eager.)
# Environment: TL_BUILDDIR, TL_SRCDIR (set by make), TL_BENCH_THREADS,
# TL_BENCH_PYTHON (default /usr/bin/python3). Arguments: a name filter.
set -u
builddir=${TL_BUILDDIR:-.}
srcdir=${TL_SRCDIR:-$(dirname "$0")/..}
py=${TL_BENCH_PYTHON:-/usr/bin/python3}
threads=${TL_BENCH_THREADS:-$(getconf _NPROCESSORS_ONLN)}
unset MALLOC_PERTURB_
OPENBLAS_NUM_THREADS=$threads
export OPENBLAS_NUM_THREADS

# Each half's exit status is checked (not only its output): a half that
# fails, even after printing its lines, is reported as
# "BENCH fusion failed=tl|torch|torch-gpu" and the script exits 1 (the other
# half's lines are still printed when tl's half succeeded).
tl_out=$("$builddir/benchmarks/bench-fusion" --threads "$threads" "$@") || {
  echo "BENCH fusion failed=tl threads=$threads"; exit 1; }
failed=""
have_torch=0
"$py" -c 'import torch' >/dev/null 2>&1 && have_torch=1
torch_out=""
if [ $have_torch = 1 ]; then
  torch_out=$(cd "$srcdir/benchmarks" && FUSION_BENCH_ONLY="${1:-}" "$py" torch_fusion.py --threads "$threads") ||
    { failed="torch"; torch_out=""; }
fi
gpu_torch=""
if printf '%s\n' "$tl_out" | grep -q '^fusion-gpu-' && [ $have_torch = 1 ]; then
  gpu_torch=$(cd "$srcdir/benchmarks" && FUSION_BENCH_ONLY="${1:-}" "$py" torch_fusion_gpu.py) ||
    { failed="${failed:+$failed,}torch-gpu"; gpu_torch=""; }
fi
printf '%s\n' "$tl_out" | sed 's/^/#   /'
[ -n "$gpu_torch" ] && printf '%s\n' "$gpu_torch" | sed 's/^/#   /'
[ -n "$torch_out" ] && printf '%s\n' "$torch_out" | sed 's/^/#   /'
# GPU lines: stitch vs the copy roof of the same run, vs torch eager and
# torch.compile on the same GPU (ratio = torch.compile / stitch, higher is
# better). Both sides are timed the same way: host wall clock around blocks
# of back-to-back runs ended by one synchronisation, median per run.
printf '%s\n' "$tl_out" | grep '^fusion-gpu-' | while read -r name tl rest; do
  t=$(printf '%s\n' "$gpu_torch" | grep "^$name torch " || true)
  printf '%s %s\n' "$rest" "$t" | awk -v name="$name" '{
    for (i = 1; i <= NF; i++) if (split($i, kv, "=") == 2) v[kv[1]] = kv[2]
    line = sprintf ("BENCH %s device=cuda unfused_us=%s stitch_us=%s baseline_us=%s roof_us=%s kernels_stitch=%s kernels_baseline=%s stitch_vs_roof=%.2f vs_baseline=%.2f",
                    name, v["unfused_us"], v["stitch_us"], v["baseline_us"], v["roof_us"], v["kernels_stitch"],
                    v["kernels_baseline"], v["stitch_us"] / v["roof_us"], v["baseline_us"] / v["stitch_us"])
    if ("eager_us" in v)
      line = line sprintf (" torch_eager_us=%s torch_native_us=%s torch_compiled_us=%s torch_roof_us=%s ratio=%.2f better=higher",
                           v["eager_us"], v["native_us"], v["compiled_us"], v["torch_roof_us"], v["compiled_us"] / v["stitch_us"])
    print line }'
done
printf '%s\n' "$tl_out" | grep -v '^fusion-gpu-' | grep -v '^#' | while read -r name tl rest; do
  t=$(printf '%s\n' "$torch_out" | grep "^$name torch " || true)
  printf '%s %s\n' "$rest" "$t" | awk -v name="$name" '{
    for (i = 1; i <= NF; i++) if (split($i, kv, "=") == 2) v[kv[1]] = kv[2]
    line = "BENCH " name " threads=" v["threads"] " unfused_ms=" v["unfused_ms"] " stitch_ms=" v["stitch_ms"] " stitch_cc_ms=" v["stitch_cc_ms"] \
           " baseline_ms=" v["baseline_ms"] " baseline_cc_ms=" v["baseline_cc_ms"]
    if ("eager_ms" in v) line = line " torch_eager_ms=" v["eager_ms"] " torch_native_ms=" v["native_ms"]
    line = line " kernels_unfused=" v["kernels_unfused"] " kernels_stitch=" v["kernels_stitch"] \
           " kernels_baseline=" v["kernels_baseline"] " mbytes_unfused=" v["mbytes_unfused"] \
           " mbytes_stitch=" v["mbytes_stitch"]
    line = line sprintf (" speedup=%.2f speedup_cc=%.2f vs_baseline=%.2f vs_baseline_cc=%.2f",
                         v["unfused_ms"] / v["stitch_ms"], v["unfused_ms"] / v["stitch_cc_ms"],
                         v["baseline_ms"] / v["stitch_ms"], v["baseline_cc_ms"] / v["stitch_cc_ms"])
    if ("eager_ms" in v) line = line sprintf (" ratio=%.2f better=higher", v["eager_ms"] / v["stitch_ms"])
    print line }'
done
if [ -n "$failed" ]; then
  echo "BENCH fusion failed=$failed threads=$threads"
  exit 1
fi
exit 0
