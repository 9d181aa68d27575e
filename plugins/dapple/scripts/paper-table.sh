#!/bin/sh
# paper-table.sh — the DAPPLE paper's comparison (Table/Figure "speedup of
# DAPPLE over GPipe, PipeDream and data parallelism"), estimated by the
# dapple simulator: VGG-19, GNMT-16 and BERT-48 profiles (generated at run
# time by tl-dapple-profile: the published layer shapes built as tl train
# graphs and costed with tl's cost model on a V100-like fp32 device) planned
# on three paper-style clusters. Each cell is
# the simulated step time of the baseline's plan divided by DAPPLE's
# (> 1: DAPPLE is faster); "OOM(x)" when the baseline's plan does not fit
# the 16 GiB devices (x: its speedup had memory sufficed; GPipe keeps the
# activations of all micro-batches and is run without re-computation).
#
# Usage: plugins/dapple/scripts/paper-table.sh [BUILDDIR]   (default: .)
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-.}" && pwd)
tlhost=$build/hosts/tlhost
profiler=$build/plugins/dapple/tools/tl-dapple-profile
[ -x "$tlhost" ] || { echo "paper-table.sh: $tlhost not built" >&2; exit 1; }
[ -x "$profiler" ] || { echo "paper-table.sh: $profiler not built (make plugins/dapple/tools/tl-dapple-profile)" >&2; exit 1; }
TL_PLUGIN_PATH=$build/plugins
TL_PLUGIN_SYSTEM_PATH=
XDG_CACHE_HOME=$build/tests/.cache
TL_PLUGIN_SCANNER=$build/hosts/tl-plugin-scanner
export TL_PLUGIN_PATH TL_PLUGIN_SYSTEM_PATH XDG_CACHE_HOME TL_PLUGIN_SCANNER

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
"$profiler" "$tmp/profiles" >/dev/null

printf '%-8s %-22s %-5s %-22s %4s %9s %10s %9s %8s\n' model cluster batch "DAPPLE plan (replicas)" M "step (s)" "vs GPipe" "vs PipeD." "vs DP"
for spec in vgg19:VGG-19:2048 gnmt16:GNMT-16:1024 bert48:BERT-48:128; do
  model=${spec%%:*}
  rest=${spec#*:}
  title=${rest%%:*}
  batch=${rest#*:}
  for cluster in 2x8-nvlink-25gbe 16x1-25gbe 2x8-pcie-10gbe; do
    cat > "$tmp/job.xml" <<EOF
<job xmlns="urn:tl:job:1" name="paper-$model-$cluster">
  <planner id="p" component="dapple.planner">
    <set name="profile">$tmp/profiles/$model.profile</set>
    <set name="global_batch">$batch</set>
  </planner>
  <cluster path="$here/examples/clusters/$cluster.xml"/>
  <task kind="simulate" planner="p"/>
</job>
EOF
    "$tlhost" run -o "$tmp/out" "$tmp/job.xml" > "$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }
    awk -v model="$title" -v cluster="$cluster" -v batch="$batch" '
      /^[0-9]+ / && !done { reps = reps (reps == "" ? "" : "+") $(NF-4) }
      /^plan / {
        done = 1
        for (i = 1; i <= NF; i++) {
          if ($i == "micro-batches" || $i == "micro-batch") M = $(i-1)
          if ($i == "simulated") step = $(i+1)
        }
      }
      /^(gpipe|pipedream|dp) *:/ {
        name = $1; sub(/ *:$/, "", name)
        # "...; dapple is 1.78x as fast as gpipe": the factor before "as fast"
        v = ""
        for (i = 1; i < NF; i++) if ($(i+1) == "as" && $i ~ /^[0-9.]+x$/) v = $i
        sub(/x$/, "", v)
        if ($0 ~ /DOES NOT FIT/) v = "OOM(" v ")"
        sp[name] = v
      }
      END {
        printf "%-8s %-22s %-5s %-22s %4s %9.4f %10s %9s %8s\n", model, cluster, batch, reps, M, step,
               sp["gpipe"], sp["pipedream"], sp["dp"]
      }' "$tmp/log"
  done
done
echo "(estimated by the dapple simulator; profiles from tl's cost model: V100-like device 15.7 TFLOP/s fp32 x 0.60, 900 GB/s, 16 GiB; links as in examples/clusters)"
