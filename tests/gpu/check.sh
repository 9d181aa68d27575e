#!/bin/bash
# tests/gpu/check.sh — the one-command GPU check: on a fresh machine with a
# GPU and this repository, run at the repository root
#
#     bash tests/gpu/check.sh
#
# It configures --with-cuda into a build directory, builds what the CUDA
# tests and the GPU benchmarks need (make -j$(nproc)), runs the CUDA tests
# (every TESTS entry of tests/cuda.mk and tests/gpu/local.mk but
# tests/gpu/test-gpu-check.sh, which runs this script: tests/test-cuda,
# the CPU/CUDA parity test, the op tests' gradient checks on the device, the
# NCCL communicator tests, plus tests/test-comm-mpi.sh and tests/test-dp.sh
# with its real-GPU data-parallel case) and the GPU
# benchmarks (benchmarks/run-gpu-bench.sh), and writes a short markdown
# report — the machine, pass/fail/skip counts with every failing test and its
# message, every BENCH line — to $OUT/gpu-report.md when OUT is set, else
# ./gpu-report.md. It never stops at the first failure; the exit status is 0
# only when every step and test passed. See tests/gpu/README.md.
#
# A machine with a GPU (nvidia-smi lists one) must give tl's CUDA backend a
# usable device: the check probes it once after the build
# (tests/gpu/comm-nccl-check probe) and fails, saying why, when the backend
# cannot use the GPU (a driver older than the CUDA runtime, a module that
# does not load, a wrong TL_BACKEND_PATH); and there a test skipped for "no
# CUDA device" counts as failed (else every GPU test would skip and the
# check would pass). Without a GPU those skips are only reported.
#
# Environment (all optional):
#   TL_GPU_BUILDDIR      build directory (default /tmp/tl-gpu-build)
#   TL_GPU_CONFIGURE     extra configure arguments
#   TL_GPU_TEST_TIMEOUT  seconds per test program (default 240)
#   TL_GPU_BENCH_STEPS   timed steps of the training benchmarks (default 50)
#   TL_GPU_SKIP_BENCH=1  tests only
#   TL_GPU_TESTS         the tests to run (default: every TESTS entry of
#                        tests/cuda.mk and tests/gpu/local.mk but
#                        test-gpu-check.sh, plus test-fusion,
#                        test-comm-mpi.sh and test-dp.sh)
#   TL_GPU_MAKE_ALL=1    build `all` too (every plugin), not only what the
#                        CUDA tests and the GPU benchmarks need
#   TL_GPU_FORCE_KIT=1   use .gpu-kit/ (tests/gpu/make-kit.sh) even where the
#                        system has the build dependencies (to test the kit)
#   TL_GPU_KIT_MPI=1|0   use the kit's Open MPI (.gpu-kit/mpi-debs) even where
#                        the system has a usable one / never (default: only
#                        where it has none; validated with mpirun -np 2)
#   TL_GPU_EXPECT_DEVICE=1|0  the backend must have a usable CUDA device even
#                        where nvidia-smi lists none / never (default: where
#                        nvidia-smi lists a GPU)
#   TL_GPU_REUSE_BUILD=1 no configure, no build: run the tests (and the
#                        benchmarks) of the already built TL_GPU_BUILDDIR
#   TL_GPU_LOGDIR        the logs (default TL_GPU_BUILDDIR/gpu-check-logs)
set -u
export LC_ALL=C

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=${TL_GPU_BUILDDIR:-/tmp/tl-gpu-build}
if [ -n "${OUT:-}" ]; then outdir=$OUT; else outdir=$(pwd); fi
mkdir -p "$outdir" "$B"
report="$outdir/gpu-report.md"
logs=${TL_GPU_LOGDIR:-$B/gpu-check-logs}
rm -rf "$logs"
mkdir -p "$logs"
jobs=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 4)
test_timeout=${TL_GPU_TEST_TIMEOUT:-240}
t_start=$(date +%s)

steps_md=""      # "| step | status | seconds |" rows
tests_md=""; prereq_md=""; nccl_where=""; gpu_line=""; torch_info="not found"; cuda_driver=""; nvcc_ver=""; nvcc_bin=""
backend_md="not probed"  # what tl's CUDA backend says (comm-nccl-check probe)
expect_gpu=0     # 1: the backend must have a usable device (nvidia-smi lists a GPU)
reuse=${TL_GPU_REUSE_BUILD:-0}
finished=0       # 1 once every step ran (else the report says where it stopped)
failures_md=""   # failing tests with their messages
bench_md=""      # BENCH / SKIP / FAIL lines of the benchmarks
n_pass=0; n_fail=0; n_skip=0; n_xfail=0
overall=0

say () { printf '[gpu-check %4ds] %s\n' $(( $(date +%s) - t_start )) "$*"; }

# step NAME COMMAND...: runs COMMAND (log in $logs/NAME.log), records it.
step () {
  local name=$1; shift
  local t0=$(date +%s) rc
  say "$name: $*"
  "$@" >"$logs/$name.log" 2>&1; rc=$?
  local dt=$(( $(date +%s) - t0 ))
  if [ $rc = 0 ]; then
    steps_md+="| $name | ok | $dt |"$'\n'
  else
    steps_md+="| $name | **FAILED (exit $rc)** | $dt |"$'\n'
    failures_md+="### step $name failed (exit $rc)"$'\n\n```\n'"$(tail -n 30 "$logs/$name.log")"$'\n```\n\n'
    overall=1
    say "$name FAILED (exit $rc); last lines:"; tail -n 15 "$logs/$name.log" | sed 's/^/    /'
  fi
  write_report
  return $rc
}

# --- the report ----------------------------------------------------------------------------
# write_report: the report so far (called after every step and test, so a run
# cut off by a time limit still leaves what it did under $OUT)
write_report () {
  total=$(( $(date +%s) - t_start ))
  {
    echo "# tl GPU check — $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "**Result: $([ $finished = 0 ] && echo 'INCOMPLETE (still running, or cut off)' || { [ $overall = 0 ] && echo PASS || echo FAIL; })** — tests: $n_pass passed, $n_fail failed, $n_skip skipped$([ $n_xfail -gt 0 ] && echo ", $n_xfail expected failures"); total time ${total} s"
    echo
    echo "## Machine"
    echo
    echo "- GPU (name, driver, memory, compute capability): $gpu_line"
    echo "- tl's CUDA backend: $backend_md"
    echo "- CUDA: driver supports ${cuda_driver:-?}; nvcc ${nvcc_ver:-not found} (${nvcc_bin:-})"
    echo "- CPU: $jobs cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1); $(uname -sr)"
    echo "- torch: $torch_info"
    echo "- build: $B, make -j$jobs; prerequisites: $prereq_md; NCCL: $nccl_where"
    echo "- commit: $(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$root" && git status --porcelain 2>/dev/null | grep -q . && echo ' (with uncommitted changes)')$([ -f "$root/.gpu-kit/source.txt" ] && echo "; kit made from $(cat "$root/.gpu-kit/source.txt") (a copied tree's .git may be stale)")"
    echo
    echo "## Steps"
    echo
    echo "| step | status | seconds |"
    echo "|---|---|---|"
    printf '%s' "$steps_md"
    echo
    echo "## Tests"
    echo
    echo "| test | result | passed | failed | skipped | seconds |"
    echo "|---|---|---|---|---|---|"
    printf '%s' "$tests_md"
    echo
    if [ -n "$failures_md" ]; then
      echo "## Failures"
      echo
      printf '%s' "$failures_md"
    fi
    echo "## Benchmarks"
    echo
    echo '```'
    printf '%s\n' "${bench_md:-(not run)}"
    echo '```'
  } >"$report"
  # the full logs beside the report (one file: OUT returns at most 8)
  if [ -n "${OUT:-}" ]; then
    (cd "$logs" && for f in *.log; do echo "===== $f"; tail -n 400 "$f"; done) >"$OUT/gpu-check-logs.txt" 2>/dev/null
  fi
}

# --- the machine -------------------------------------------------------------
# (a GPU only when nvidia-smi succeeds with CSV lines: without one it
# prints "No devices were found" and exits 6)
if gpu_line=$(nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>/dev/null); then
  gpu_line=$(printf '%s\n' "$gpu_line" | grep , | head -n 4)
else
  gpu_line=""
fi
expect_why=""    # why a usable device is expected
[ -n "$gpu_line" ] && { expect_gpu=1; expect_why="nvidia-smi lists a GPU ($(printf '%s' "$gpu_line" | paste -sd';'))"; }
case ${TL_GPU_EXPECT_DEVICE:-} in
  1) expect_gpu=1; [ -n "$expect_why" ] || expect_why="TL_GPU_EXPECT_DEVICE=1" ;;
  0) expect_gpu=0 ;;
esac
if [ -z "$gpu_line" ]; then
  if command -v nvidia-smi >/dev/null 2>&1; then
    gpu_line="(nvidia-smi failed: $(nvidia-smi 2>&1 | head -n 1))"
  else
    gpu_line="(no nvidia-smi on this machine)"
  fi
fi
cuda_driver=$(nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9.]*\).*/\1/p' | head -n 1)
nvcc_bin=$(command -v nvcc || { [ -x /usr/local/cuda/bin/nvcc ] && echo /usr/local/cuda/bin/nvcc; })
nvcc_ver=$([ -n "$nvcc_bin" ] && "$nvcc_bin" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p' | head -n 1)

# python with torch (for the parity scripts and the benchmarks' anchor)
py=""; torch_info="not found"
for cand in python3 /opt/torch/.venv/bin/python3 /usr/bin/python3; do
  command -v "$cand" >/dev/null 2>&1 || continue
  [ -n "$py" ] || py=$(command -v "$cand")
  if info=$("$cand" -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda, "available" if torch.cuda.is_available() else "NOT available")' 2>/dev/null); then
    py=$(command -v "$cand"); torch_info="$info ($py)"; break
  fi
done
say "GPU: $gpu_line; driver CUDA $cuda_driver; nvcc $nvcc_ver; torch: $torch_info"

# --- prerequisites ---------------------------------------------------------------
# A machine without tl's build dependencies and without a package registry
# gets them from a carried kit (tests/gpu/make-kit.sh): its Debian packages
# are unpacked into the build directory (never into /), pkg-config looks only
# there (with that sysroot), and tl's programs find the libraries through an
# RPATH, so other programs (python, torch) keep the system's libraries.
# unpack_debs DIR DEB...: the files of each Debian package under DIR
unpack_debs () {
  local dir=$1 f m; shift
  for f in "$@"; do
    if command -v dpkg >/dev/null 2>&1; then
      dpkg -x "$f" "$dir"
    else # ar + tar where there is no dpkg
      m=$(ar t "$f" | grep '^data\.tar')
      # shellcheck disable=SC2046
      ar p "$f" "$m" | tar -x -C "$dir" $(case $m in *.xz) echo -J ;; *.zst) echo --zstd ;; *.gz) echo -z ;; esac)
    fi
  done  # absolute links (libz.so -> /lib/...libz.so.1.2.13) pointed into DIR
  find "$dir" -type l | while read -r f; do
    m=$(readlink "$f")
    case $m in /*) [ -e "$dir$m" ] && ln -sfn "$dir$m" "$f" ;; esac
  done
}
kit_md="none"
pkgconfig=pkg-config
kit_ldflags=""
if [ -d "$root/.gpu-kit/debs" ] &&
   { [ "${TL_GPU_FORCE_KIT:-0}" = 1 ] || ! pkg-config --exists glib-2.0 libxml-2.0 openblas 2>/dev/null; }; then
  kr=$B/kit-root
  rm -rf "$kr"; mkdir -p "$kr"
  unpack_debs "$kr" "$root"/.gpu-kit/debs/*.deb
  kl=$kr/usr/lib/x86_64-linux-gnu
  export PKG_CONFIG_LIBDIR="$kl/pkgconfig:$kr/usr/share/pkgconfig:$kl/openblas-pthread/pkgconfig"
  export PKG_CONFIG_SYSROOT_DIR="$kr"
  export PKG_CONFIG="$kr/usr/bin/pkgconf"
  export LD_LIBRARY_PATH_KIT="$kl:$kl/openblas-pthread"
  pkgconfig="env LD_LIBRARY_PATH=$LD_LIBRARY_PATH_KIT $PKG_CONFIG"
  # pkgconf itself needs libpkgconf from the kit: a wrapper for configure
  mkdir -p "$B/kit-bin"
  printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s "$@"\n' "$LD_LIBRARY_PATH_KIT" "$kr/usr/bin/pkgconf" > "$B/kit-bin/pkg-config"
  chmod +x "$B/kit-bin/pkg-config"
  export PKG_CONFIG="$B/kit-bin/pkg-config"
  pkgconfig=$PKG_CONFIG
  kit_ldflags="-Wl,--disable-new-dtags -Wl,-rpath,$kl -Wl,-rpath,$kl/openblas-pthread"
  kit_md="$(ls "$root"/.gpu-kit/debs/*.deb | wc -l) Debian packages unpacked into $kr"
fi
if [ -d "$root/.gpu-kit/autotools" ] && ! [ -x "$root/configure" ]; then
  cp -a "$root"/.gpu-kit/autotools/. "$root/"
  kit_md+="; generated autotools files copied from .gpu-kit/autotools"
fi
say "kit: $kit_md"
prereq_md=""
missing=""
# --- Open MPI --------------------------------------------------------------------
# The system's when it is usable (an ompi-c.pc and an mpirun that runs); else
# the kit's (.gpu-kit/mpi-debs), unpacked into $B/kit-mpi (never into /),
# relocated (OPAL_PREFIX, OPAL_SYSCONFDIR, PMIX_* name the unpacked tree) and
# run through a wrapper $B/kit-mpi/bin/mpirun that sets those and an
# LD_LIBRARY_PATH of its libraries for mpirun and its ranks only. Before
# configure --with-mpi uses it, mpirun -np 2 must run a small MPI program;
# otherwise tl is configured without MPI and the MPI tests skip visibly.
# TL_GPU_KIT_MPI=1 uses the kit's Open MPI even where the system has one,
# TL_GPU_KIT_MPI=0 never.
mpi_md=""        # for the report
mpi_conf=""      # configure arguments
mpi_ldflags=""
kit_mpi=${TL_GPU_KIT_MPI:-auto}
# sys_pc ARGS...: pkg-config on the system's .pc files (the kit's pkgconf
# otherwise looks only at the kit)
sys_pc () {
  local mdir d dirs=""
  mdir=$(dirname "$(command -v mpirun 2>/dev/null || echo /nonexistent/bin/mpirun)")/..
  for d in "$mdir/lib/pkgconfig" "$mdir/lib64/pkgconfig" /usr/local/lib/pkgconfig \
           /usr/lib/x86_64-linux-gnu/pkgconfig /usr/lib64/pkgconfig /usr/lib/pkgconfig /usr/share/pkgconfig; do
    [ -d "$d" ] && dirs+="${dirs:+:}$d"
  done
  if [ "$kit_md" = none ]; then
    pkg-config "$@"
  else
    PKG_CONFIG_LIBDIR=$dirs PKG_CONFIG_SYSROOT_DIR="" $pkgconfig "$@"
  fi
}
if [ "$kit_mpi" != 1 ] && mpirun --version >/dev/null 2>&1 && sys_pc --exists ompi-c 2>/dev/null; then
  mpi_md="system: ompi-c $(sys_pc --modversion ompi-c), mpirun $(command -v mpirun)"
  if [ "$kit_md" != none ]; then
    # the kit's pkg-config sees only the kit: the system's flags given directly
    mpi_conf="MPI_CFLAGS='$(sys_pc --cflags ompi-c)' MPI_LIBS='$(sys_pc --libs ompi-c)'"
  fi
elif [ "$kit_mpi" != 0 ] && ls "$root"/.gpu-kit/mpi-debs/*.deb >/dev/null 2>&1; then
  mr=$B/kit-mpi
  ml=$mr/usr/lib/x86_64-linux-gnu
  rm -rf "$mr"; mkdir -p "$mr/bin" "$mr/devlib"
  unpack_debs "$mr" "$root"/.gpu-kit/mpi-debs/*.deb
  # mpirun (and mpiexec) for configure, the tests and the benchmarks
  for w in mpirun mpiexec; do
    cat >"$mr/bin/$w" <<EOF
#!/bin/sh
# the Open MPI of .gpu-kit, relocated to $mr (written by tests/gpu/check.sh)
OPAL_PREFIX='$mr/usr' OPAL_SYSCONFDIR='$mr/etc/openmpi'
PMIX_PREFIX='$ml/pmix2' PMIX_LIBDIR='$ml/pmix2/lib' PMIX_PKGLIBDIR='$ml/pmix2/lib/pmix'
PMIX_DATADIR='$ml/pmix2/share' PMIX_PKGDATADIR='$ml/pmix2/share/pmix'
LD_LIBRARY_PATH='$ml:$ml/openmpi/lib:$ml/pmix2/lib'\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}
export OPAL_PREFIX OPAL_SYSCONFDIR PMIX_PREFIX PMIX_LIBDIR PMIX_PKGLIBDIR PMIX_DATADIR PMIX_PKGDATADIR LD_LIBRARY_PATH
exec '$mr/usr/bin/orterun' "\$@"
EOF
    chmod +x "$mr/bin/$w"
  done
  # libmpi's own dependencies are linked directly too (with
  # --no-as-needed, given in CC: libtool moves -Wl flags after the libraries):
  # libmpi's RUNPATH names /usr/lib/x86_64-linux-gnu/openmpi/lib, so outside
  # mpirun they are found only as libtl's (RPATH) dependencies. The kit has
  # no .so links for them: made in devlib/.
  for l in libmpi.so.40 libopen-rte.so.40 libopen-pal.so.40 libhwloc.so.15 \
           libevent_core-2.1.so.7 libevent_pthreads-2.1.so.7; do
    d=${l%%.so.*}; d=${d%-2.1}
    ln -sf "$ml/$l" "$mr/devlib/$d.so"
  done
  mpi_cflags="-I$ml/openmpi/include -I$ml/openmpi/include/openmpi"
  mpi_libs="-L$mr/devlib -lmpi -lopen-rte -lopen-pal -lhwloc -levent_core -levent_pthreads"
  mpi_rpath="-Wl,--disable-new-dtags -Wl,-rpath,$ml"
  mpi_cc="${CC:-$(command -v gcc >/dev/null 2>&1 && echo gcc || echo cc)} -Wl,--no-as-needed"
  # the check: mpirun -np 2 runs a program that allreduces over MPI
  cat >"$mr/mpi-check.c" <<'EOF'
#include <mpi.h>
#include <stdio.h>
int
main (int argc, char **argv)
{
  int rank, size, one = 1, sum = 0;
  if (argc > 1) /* "load": the libraries load without mpirun's environment */
    return 0;
  if (MPI_Init (&argc, &argv) != MPI_SUCCESS)
    return 1;
  MPI_Comm_rank (MPI_COMM_WORLD, &rank);
  MPI_Comm_size (MPI_COMM_WORLD, &size);
  MPI_Allreduce (&one, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  printf ("rank %d of %d: allreduce %d\n", rank, size, sum);
  MPI_Finalize ();
  return sum == size ? 0 : 1;
}
EOF
  # shellcheck disable=SC2086
  if ! $mpi_cc $mpi_cflags -o "$mr/mpi-check" "$mr/mpi-check.c" $mpi_rpath $mpi_libs >"$logs/kit-mpi.log" 2>&1; then
    why="the MPI check program does not build"
  elif ! "$mr/mpi-check" load >>"$logs/kit-mpi.log" 2>&1; then
    why="a program linked with it does not start"
  elif ! "$mr/bin/mpirun" --version >>"$logs/kit-mpi.log" 2>&1; then
    why="mpirun --version fails"
  elif ! timeout -k 5 60 "$mr/bin/mpirun" --allow-run-as-root --oversubscribe --mca btl self,vader \
         --bind-to none -np 2 "$mr/mpi-check" >>"$logs/kit-mpi.log" 2>&1 ||
       [ "$(grep -c '^rank [01] of 2: allreduce 2$' "$logs/kit-mpi.log")" != 2 ]; then
    why="mpirun -np 2 of a small MPI program fails"
  else
    why=""
  fi
  if [ -z "$why" ]; then
    export PATH="$mr/bin:$PATH"
    mpi_conf="--with-mpi CC='$mpi_cc' MPI_CFLAGS='$mpi_cflags' MPI_LIBS='$mpi_libs'"
    mpi_ldflags=$mpi_rpath
    mpi_md="kit: Open MPI $(sed -n 's/^Version: *//p' "$ml/openmpi/lib/pkgconfig/ompi-c.pc") unpacked into $mr, mpirun -np 2 checked"
  else
    mpi_conf="--without-mpi"
    mpi_md="**kit Open MPI unusable: $why ($(grep -v '^rank ' "$logs/kit-mpi.log" | grep . | tail -n 1 | cut -c1-160)); configured without MPI, the MPI tests skip**"
  fi
else
  mpi_md="**none** (no usable system Open MPI, no kit MPI): the MPI tests skip"
fi
say "MPI: $mpi_md"
for m in glib-2.0 gmodule-2.0 libxml-2.0 zlib openblas; do

  if $pkgconfig --exists "$m" 2>/dev/null; then
    prereq_md+="$m $($pkgconfig --modversion "$m"), "
  else
    prereq_md+="**$m missing**, "; missing+=" $m"
  fi
done
prereq_md+="MPI: $mpi_md"

# NCCL: under the CUDA prefix, else the pip wheel (nvidia-nccl-*) of the
# python that has torch: its lib has only libnccl.so.2, so a prefix with
# include/ and lib/libnccl.so is made in the build directory.
nccl_arg=""
cuda_home=$([ -n "$nvcc_bin" ] && dirname "$(dirname "$nvcc_bin")")
if [ -n "$cuda_home" ] && [ -f "$cuda_home/include/nccl.h" ]; then
  nccl_where="$cuda_home"
else
  nccl_where=""
  if [ -n "$py" ]; then
    d=$("$py" -c 'import nvidia.nccl, os; print(os.path.dirname(nvidia.nccl.__file__) if nvidia.nccl.__file__ else list(nvidia.nccl.__path__)[0])' 2>/dev/null)
    if [ -n "$d" ] && [ -f "$d/include/nccl.h" ]; then
      lib=$(ls "$d"/lib/libnccl.so* 2>/dev/null | head -n 1)
      if [ -n "$lib" ]; then
        mkdir -p "$B/nccl-prefix/lib"
        ln -sfn "$d/include" "$B/nccl-prefix/include"
        ln -sf "$lib" "$B/nccl-prefix/lib/libnccl.so"
        ln -sf "$lib" "$B/nccl-prefix/lib/$(basename "$lib")"
        nccl_where="$d (pip wheel, via $B/nccl-prefix)"; nccl_arg="--with-nccl=$B/nccl-prefix"
      fi
    fi
  fi
  [ -n "$nccl_where" ] || nccl_where="**not found** (the NCCL tests will report it)"
fi
nccl_h=""
for h in "$cuda_home/include/nccl.h" "$B/nccl-prefix/include/nccl.h"; do [ -f "$h" ] && { nccl_h=$h; break; }; done
if [ -n "$nccl_h" ]; then
  nccl_where+=" (NCCL $(sed -n 's/^#define NCCL_\(MAJOR\|MINOR\|PATCH\) *\([0-9]*\).*/\2/p' "$nccl_h" | paste -sd.))"
fi
say "prerequisites: $prereq_md; NCCL: $nccl_where"

# --- configure ---------------------------------------------------------------------
configured=0
if [ "$reuse" = 1 ]; then
  if [ -f "$B/Makefile" ]; then
    configured=1
    steps_md+="| configure, build | not run: TL_GPU_REUSE_BUILD=1 (the build in $B as it is) | 0 |"$'\n'
  else
    failures_md+="### TL_GPU_REUSE_BUILD=1 but $B has no Makefile: nothing built to test"$'\n\n'
    steps_md+="| configure, build | **not run: $B is not configured** | 0 |"$'\n'
    overall=1
  fi
elif [ -n "$missing" ] && { [[ $missing == *glib-2.0* ]] || [[ $missing == *libxml-2.0* ]]; }; then
  failures_md+="### cannot build: missing development packages:$missing"$'\n\n'
  steps_md+="| configure | **not run: missing$missing** | 0 |"$'\n'
  overall=1
else
  if ! [ -x "$root/configure" ] || ! [ -f "$root/Makefile.in" ]; then
    if command -v autoreconf >/dev/null 2>&1; then
      step autoreconf sh -c "cd '$root' && autoreconf -i"
    else
      failures_md+="### no configure script and no autoreconf: run autoreconf -i where autotools exist and carry configure Makefile.in aclocal.m4 config.h.in build-aux m4"$'\n\n'
      overall=1
    fi
  elif ! command -v automake >/dev/null 2>&1; then
    # carried generated files: make them newer than their sources so that
    # make does not try to rerun the missing autotools
    touch "$root/aclocal.m4"; sleep 1
    touch "$root/configure" "$root/config.h.in" "$root/Makefile.in"
  fi
  if [ -x "$root/configure" ]; then
    conf_ldflags="$kit_ldflags${mpi_ldflags:+ $mpi_ldflags}"
    # shellcheck disable=SC2086
    if step configure sh -c "cd '$B' && '$root/configure' --with-cuda${nvcc_bin:+=$cuda_home} $nccl_arg $mpi_conf ${conf_ldflags:+LDFLAGS='$conf_ldflags'} ${TL_GPU_CONFIGURE:-}"; then
      configured=1
    fi
    sed -n '/^  tl /,/^  werror/p' "$logs/configure.log" 2>/dev/null | sed 's/^/    /'
  fi
fi

# --- build what the tests and benchmarks need -----------------------------------
# the test entries of the CUDA fragments, with backslash continuations joined
mk_entries () { # VAR FILE...
  cat "${@:2}" 2>/dev/null | awk '/\\$/ { sub(/\\$/, ""); printf "%s", $0; next } { print }' |
    sed -n "s/^$1 *+*= *//p" | tr ' \t' '\n\n' | grep -v '^\$' | grep -v '^$'
}
frags="$root/tests/cuda.mk $root/tests/gpu/local.mk"
# plus the fusion plugin's test (its /fusion/cuda-run case launches the
# generated kernels on the GPU), and the MPI tests of tests/comm.mk:
# test-comm-mpi.sh (the mpi communicator) and test-dp.sh (data-parallel
# training; its real-GPU case trains on the device under mpirun -np 2)
# (not tests/gpu/test-gpu-check.sh: it runs this script)
tests=${TL_GPU_TESTS:-$( (mk_entries TESTS $frags
                          printf '%s\n' plugins/fusion/tests/test-fusion tests/test-comm-mpi.sh tests/test-dp.sh) |
                        grep -vx 'tests/gpu/test-gpu-check.sh' | sort -u)}
# programs and modules (the mock CUDA module of tests/test-cuda-mock and
# tests/gpu/test-ops-cuda.sh)
progs=$( (mk_entries check_PROGRAMS $frags; mk_entries check_LTLIBRARIES $frags) | sort -u)
built=0
if [ $configured = 1 ] && [ "$reuse" = 1 ]; then
  built=1
elif [ $configured = 1 ]; then
  targets="core/libtl-1.la backends/cuda/tl-backend-cuda.la hosts/tlhost hosts/tl-plugin-scanner"
  targets+=" tests/comm-env.sh tests/comm-mpi-check $progs"
  # the op test programs (tests/ops.mk) that tests/gpu/test-ops-cuda.sh runs
  # with TL_TEST_DEVICE=cuda
  targets+=" tests/test-ops-basic tests/test-ops-nn"
  [ "${TL_GPU_MAKE_ALL:-0}" = 1 ] && targets+=" all"
  targets+=" plugins/fusion/libtl-fusion.la plugins/fusion/tests/test-fusion"
  for b in benchmarks/bench-gpu-train benchmarks/bench-gpu-gemm benchmarks/bench-gpu-allreduce benchmarks/bench-fusion; do
    # built only when its automake conditionals hold (a program of a false
    # conditional still has a rule, but its am__EXEEXT line is commented out)
    grep -q "^$b\$(EXEEXT):" "$B/Makefile" && ! grep -q "^#am__EXEEXT_[0-9]* = $b\\\$(EXEEXT)" "$B/Makefile" &&
      targets+=" $b"
  done
  # the test libraries and plugins (check_LTLIBRARIES: cheap) that tests load
  targets+=" $(awk '/\\$/ { sub(/\\$/, ""); printf "%s", $0; next } { print }' "$B/Makefile" |
               sed -n 's/^check_LTLIBRARIES *= *//p' | tr -s ' \t' '  ')"
  if step build make -C "$B" -j"$jobs" -k $targets; then built=1; fi
  grep -E "error:|Error [0-9]" "$logs/build.log" | head -n 20 | sed 's/^/    /'
fi

# --- the tests ---------------------------------------------------------------------
export TL_PLUGIN_PATH="$B/plugins:$B/tests/plugins" TL_PLUGIN_SYSTEM_PATH="" \
  XDG_CACHE_HOME="$B/tests/.cache" TL_BUILDDIR="$B" TL_SRCDIR="$root" G_TEST_SRCDIR="$root" \
  G_TEST_BUILDDIR="$B" OMP_NUM_THREADS=4 OMP_WAIT_POLICY=passive G_DEBUG=fatal-criticals
[ -n "$py" ] && export PYTHON3="$py"

# --- can tl's CUDA backend use the GPU? -----------------------------------------------
# Every GPU test skips with "no CUDA device: REASON" when it cannot, so on a
# machine with a GPU that is a failure of the check, said once here with
# the reason (and each such skip counts as a failed test below).
nodev_re='no CUDA device|the CUDA backend module is not available'
if [ $configured = 1 ]; then
  probe_prog=$B/tests/gpu/comm-nccl-check
  t0=$(date +%s)
  if [ -x "$probe_prog" ]; then
    probe=$(cd "$B" && timeout -k 5 120 "$probe_prog" probe 2>"$logs/device-probe.log"); rc=$?
  else
    probe="nodevice $probe_prog is not built"; rc=0
  fi
  dt=$(( $(date +%s) - t0 ))
  # its answer (stdout), else the last line it wrote to stderr
  probe=$( { printf '%s\n' "$probe"; [ -n "$probe" ] || cat "$logs/device-probe.log"; } |
           grep . | tail -n 1 | cut -c1-300)
  be_where=${TL_BACKEND_PATH+" (TL_BACKEND_PATH=$TL_BACKEND_PATH)"}
  case $rc.$probe in
    0.devices=[1-9]*)
      backend_md="${probe#devices=} CUDA device(s) usable$be_where"
      steps_md+="| device probe | ok: ${probe#devices=} CUDA device(s) | $dt |"$'\n' ;;
    *)
      why=${probe#nodevice }
      [ $rc = 0 ] || why="$probe_prog probe failed (exit $rc): ${probe:-no output}"
      backend_md="**no usable device**: $why$be_where"
      if [ $expect_gpu = 1 ]; then
        overall=1
        steps_md+="| device probe | **FAILED: the GPU is not usable by tl** | $dt |"$'\n'
        failures_md+="### tl's CUDA backend cannot use the GPU"$'\n\n'"$expect_why, but tl's CUDA backend has no usable device$be_where: **$why**. Every GPU test skips for \"no CUDA device\" (each counted as failed below). Usual causes: the driver is older than the CUDA runtime tl was built with (\"CUDA driver version is insufficient for CUDA runtime version\": build with the CUDA toolkit matching the driver, or update the driver); backends/cuda/tl-backend-cuda.so not built or not loadable (see the build step); TL_BACKEND_PATH naming a directory without it."$'\n\n'
        say "FAILED: $expect_why but tl's CUDA backend cannot use it: $why$be_where"
      else
        steps_md+="| device probe | no usable device ($([ "${TL_GPU_EXPECT_DEVICE:-}" = 0 ] && echo 'none required: TL_GPU_EXPECT_DEVICE=0' || echo 'none expected: nvidia-smi lists no GPU')) | $dt |"$'\n'
      fi ;;
  esac
  say "tl's CUDA backend: $backend_md"
  write_report
fi
tests_md=""
if [ $configured = 1 ]; then
  for t in $tests; do
    name=$(echo "$t" | tr '/' '_')
    case $t in
      /*) src=$t; bin=$t ;;
      *) src=$root/$t; bin=$B/$t ;;
    esac
    case $t in
      *.sh) cmd=(bash "$src") ;;
      *.py) cmd=("${py:-python3}" "$src") ;;
      *) cmd=("$bin" --tap) ;;
    esac
    if [[ $t != *.sh && $t != *.py ]] && ! [ -x "$bin" ]; then
      tests_md+="| $t | **not built** | | | | |"$'\n'
      failures_md+="### $t: not built (see the build step)"$'\n\n'
      n_fail=$((n_fail + 1)); overall=1; continue
    fi
    say "test $t"
    t0=$(date +%s)
    (cd "$B" && timeout -k 10 "$test_timeout" "${cmd[@]}") >"$logs/$name.log" 2>&1; rc=$?
    dt=$(( $(date +%s) - t0 ))
    p=$(grep -cE '^ok [0-9]+' "$logs/$name.log" | head -n 1)
    s=$(grep -cE '^ok [0-9]+.*# *SKIP' "$logs/$name.log" | head -n 1)
    x=$(grep -cE '^not ok [0-9]+.*# *TODO' "$logs/$name.log" | head -n 1)
    f=$(grep -E '^not ok [0-9]+' "$logs/$name.log" | grep -vcE '# *TODO' | head -n 1)
    p=$((p - s))
    if grep -qE '^1\.\.0 *# *SKIP' "$logs/$name.log"; then s=$((s + 1)); fi
    # with a GPU, a test skipped for want of a CUDA device failed (and
    # test-comm-nccl-mpi.sh's "# no CUDA device: ..." without a skip too)
    g=0
    if [ $expect_gpu = 1 ]; then
      g=$(grep -cE "^(ok [0-9]+.*|1\.\.0 *)# *SKIP.*($nodev_re)" "$logs/$name.log" | head -n 1)
      s=$((s - g))
      g=$((g + $(grep -cE "^# *($nodev_re)" "$logs/$name.log" | head -n 1)))
      f=$((f + g))
    fi
    verdict="ok"
    if [ $rc != 0 ] || [ "$f" -gt 0 ]; then
      verdict="**FAILED (exit $rc)**"; [ $rc = 124 ] && verdict="**TIMED OUT (${test_timeout} s)**"
      [ $rc = 0 ] && [ "$f" = "$g" ] && verdict="**FAILED: no CUDA device on a machine with a GPU**"
      overall=1
      [ "$f" -gt 0 ] || f=1
      # the failing test cases and their messages
      msg=$(grep -E '^not ok|Bail out|ERROR|CRITICAL|[Aa]ssertion|FAILED|[Ee]rror:|Segmentation|Aborted|core dumped' \
              "$logs/$name.log" | grep -v '^ok ' | head -n 30)
      if [ "$g" -gt 0 ]; then
        msg+="${msg:+$'\n'}$g test(s) skipped for want of a CUDA device although the machine has a GPU, e.g.:"$'\n'
        msg+=$(grep -E "^(ok [0-9]+.*|1\.\.0 *)# *SKIP.*($nodev_re)|^# *($nodev_re)" "$logs/$name.log" | head -n 3)
      fi
      [ -n "$msg" ] || msg=$(tail -n 25 "$logs/$name.log")
      failures_md+="### $t ($verdict)"$'\n\n```\n'"$msg"$'\n```\n\n'
    fi
    n_pass=$((n_pass + p)); n_skip=$((n_skip + s)); n_fail=$((n_fail + f)); n_xfail=$((n_xfail + x))
    tests_md+="| $t | $verdict | $p | $f | $s | $dt |"$'\n'
    write_report
    # why tests were skipped: each distinct reason once, with its count
    skips=$(grep -E '# *SKIP' "$logs/$name.log" | sed 's/.*# *SKIP *//' | cut -c1-200 | sort | uniq -c |
              sort -rn | head -n 4 | sed 's/^ *\([0-9]*\) /\1 x /; s/|/\//g')
    [ -n "$skips" ] && tests_md+="$(echo "$skips" | sed 's/^/|  | skipped /; s/$/ | | | | |/')"$'\n'
  done
fi

# --- the benchmarks --------------------------------------------------------------------
if [ $configured = 1 ] && [ "${TL_GPU_SKIP_BENCH:-0}" != 1 ]; then
  t0=$(date +%s)
  say "benchmarks: benchmarks/run-gpu-bench.sh"
  (cd "$B" && TL_BENCH_PYTHON="$py" timeout -k 10 420 bash "$root/benchmarks/run-gpu-bench.sh") \
    >"$logs/bench.log" 2>&1; rc=$?
  dt=$(( $(date +%s) - t0 ))
  bench_md=$(grep -E '^(BENCH|SKIP|FAIL)' "$logs/bench.log")
  grep -E '^(BENCH|SKIP|FAIL)' "$logs/bench.log" | sed 's/^/    /'
  # (tl's benchmarks say "SKIP no CUDA device: REASON"; a torch anchor
  # without CUDA is torch's matter)
  if [ $rc = 0 ] && [ $expect_gpu = 1 ] && grep -qE "^SKIP ($nodev_re)" "$logs/bench.log"; then
    steps_md+="| benchmarks | **FAILED: skipped, no CUDA device on a machine with a GPU** | $dt |"$'\n'; overall=1
    failures_md+="### benchmarks skipped for want of a CUDA device although the machine has a GPU"$'\n\n```\n'"$(grep -E "^SKIP ($nodev_re)" "$logs/bench.log" | head -n 5)"$'\n```\n\n'
  elif [ $rc = 0 ]; then
    steps_md+="| benchmarks | ok | $dt |"$'\n'
  else
    steps_md+="| benchmarks | **FAILED (exit $rc)** | $dt |"$'\n'; overall=1
    failures_md+="### benchmarks (exit $rc)"$'\n\n```\n'"$(grep -vE '^(BENCH|SKIP)' "$logs/bench.log" | tail -n 25)"$'\n```\n\n'
  fi
fi

finished=1
write_report
say "report: $report ($([ $overall = 0 ] && echo PASS || echo FAIL); $n_pass passed, $n_fail failed, $n_skip skipped)"
exit $overall
