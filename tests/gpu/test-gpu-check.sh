#!/bin/sh
# test-gpu-check.sh — tests/gpu/check.sh's verdict where nvidia-smi lists a
# GPU that tl's CUDA backend cannot use (TAP). A fake nvidia-smi first in
# PATH lists a GPU (or, for the control case, fails the way it does on a
# machine without one); check.sh runs on this build as it is
# (TL_GPU_REUSE_BUILD=1), tests/test-cuda only, no benchmarks. With the
# listed GPU the check must fail, saying that the backend cannot use it and
# why, and count test-cuda's "no CUDA device" skips as failures; without
# one it passes and only reports the skips.
#
# Where the backend has a usable device the fake GPU would be usable too:
# then everything is skipped (the real GPU check is check.sh itself, which
# leaves this test out of its list).
set -u
builddir=${TL_BUILDDIR:-$(pwd)}
srcdir=${TL_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
probe_prog=$builddir/tests/gpu/comm-nccl-check

if ! command -v bash >/dev/null 2>&1; then
  echo "1..0 # SKIP no bash (check.sh needs it)"; exit 0
fi
for f in "$probe_prog" "$builddir/tests/test-cuda"; do
  if ! [ -x "$f" ]; then
    echo "1..1"; echo "not ok 1 - $f is not built"; exit 1
  fi
done
probe=$("$probe_prog" probe 2>&1)
case $probe in
  devices=*)
    echo "1..0 # SKIP a CUDA device is usable here ($probe): no fake GPU to tell apart"; exit 0 ;;
  nodevice*) ;;
  *) echo "1..1"; echo "not ok 1 - $probe_prog probe: $probe" | head -n 1; exit 1 ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tl-gpu-check.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/gpu" "$tmp/nogpu" "$tmp/empty"
# nvidia-smi with a GPU: the --query-gpu line and a "CUDA Version" banner
cat >"$tmp/gpu/nvidia-smi" <<'EOF'
#!/bin/sh
case "$*" in
  *--query-gpu*) echo "NVIDIA H100 80GB HBM3, 550.54.15, 81559 MiB, 9.0" ;;
  *) echo "| NVIDIA-SMI 550.54.15    Driver Version: 550.54.15    CUDA Version: 12.4 |" ;;
esac
EOF
# nvidia-smi without a GPU
printf '#!/bin/sh\necho "No devices were found"\nexit 6\n' >"$tmp/nogpu/nvidia-smi"
chmod +x "$tmp/gpu/nvidia-smi" "$tmp/nogpu/nvidia-smi"

n=0
failed=0
# check DESCRIPTION CONDITION: with the report and the log's tail on failure
check () {
  n=$((n + 1))
  if eval "$2"; then
    echo "ok $n - $1"
  else
    echo "not ok $n - $1 (exit $rc)"; failed=1
    for f in "$out/gpu-report.md" "$tmp/log"; do [ -f "$f" ] && sed 's/^/# /' "$f" | tail -n 40; done
  fi
}
# gpu_check NAME FAKE-DIR [VAR=VALUE...]: check.sh with that nvidia-smi
gpu_check () {
  out=$tmp/out-$1; fake=$2; shift 2
  env PATH="$fake:$PATH" OUT="$out" TL_GPU_BUILDDIR="$builddir" TL_GPU_REUSE_BUILD=1 \
    TL_GPU_LOGDIR="$tmp/logs" TL_GPU_SKIP_BENCH=1 TL_GPU_TESTS=tests/test-cuda TL_GPU_KIT_MPI=0 \
    TL_GPU_TEST_TIMEOUT=120 "$@" timeout -k 10 300 bash "$srcdir/tests/gpu/check.sh" >"$tmp/log" 2>&1
  rc=$?
}
has () { grep -qF -- "$1" "$out/gpu-report.md"; }
reason=${probe#nodevice }

echo "1..5"
gpu_check nogpu "$tmp/nogpu"
check "no GPU listed: the check passes and reports the skips" \
  '[ $rc = 0 ] && has "**Result: PASS**" && has "none expected" &&
   grep -q "^| tests/test-cuda | ok | [0-9]* | 0 | [1-9]" "$out/gpu-report.md"'

gpu_check gpu "$tmp/gpu"
check "a GPU listed that the backend cannot use: the check fails and says why" \
  '[ $rc = 1 ] && has "**Result: FAIL**" && has "### tl'"'"'s CUDA backend cannot use the GPU" &&
   has "$reason" && grep -q "FAILED: nvidia-smi lists a GPU (NVIDIA H100.*) but tl.s CUDA backend cannot use it" "$tmp/log"'
check "a GPU listed: test-cuda's no-CUDA-device skips count as failures" \
  'grep -q "^| tests/test-cuda | \*\*FAILED: no CUDA device on a machine with a GPU\*\* | [0-9]* | [1-9][0-9]* | 0 |" \
     "$out/gpu-report.md" && has "skipped for want of a CUDA device although the machine has a GPU"'

gpu_check backend-path "$tmp/gpu" TL_BACKEND_PATH="$tmp/empty"
check "a GPU listed, TL_BACKEND_PATH without the module: the check fails naming it" \
  '[ $rc = 1 ] && has "**Result: FAIL**" && has "(TL_BACKEND_PATH=$tmp/empty)" &&
   has "the CUDA backend module is not available ($tmp/empty/tl-backend-cuda.so"'

gpu_check expect "$tmp/nogpu" TL_GPU_EXPECT_DEVICE=1
check "no GPU listed, TL_GPU_EXPECT_DEVICE=1: the check fails naming the setting" \
  '[ $rc = 1 ] && has "**Result: FAIL**" && has "TL_GPU_EXPECT_DEVICE=1, but tl'"'"'s CUDA backend has no usable device"'
exit $failed
