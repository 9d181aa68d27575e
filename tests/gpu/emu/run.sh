#!/bin/sh
# run.sh BUILDDIR [CASE] — run the CUDA kernels of backends/cuda/kernels/ on
# the CPU and compare them with the CPU kernels, without a GPU.
#
# Each .cu file is rewritten (transform.py: kernel launches become
# emu_launch calls) and compiled as C++ against emu.h, which runs every
# block's threads as cooperative fibers (__syncthreads and warp shuffles
# are barriers), with stand-ins for the module's runtime services (scratch,
# a reference GEMM, a CPU stable sort for CUB). driver.c then evaluates
# every node of every CUDA parity case graph (tests/gpu/parity.c: forward
# and backward ops) with the CPU kernel and the emulated CUDA kernel on the
# same inputs — also with ctx->deterministic and non-contiguous inputs of
# the view ops, the emulated outputs pre-filled with 0xff bytes so that an
# unwritten element fails (TL_OP_OVERWRITES) — and checks the optimizer update kernels against
# tl_optimizer_step. EMU_SMS sets the multiprocessor count the kernels size
# their grids for (default 2; try 132 for an H100).
#
# What it cannot see: data races, real warp timing, launch limits,
# alignment faults, cuBLAS; those need the GPU (tests/gpu/test-cuda-parity).
# It links BUILDDIR's core/libtl-1.la and tests/libtltest.la, and builds
# them there first (make) when they are missing or out of date.
set -e
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
build=$(cd "${1:?usage: run.sh BUILDDIR [CASE]}" && pwd)
shift
work=$(mktemp -d "${TMPDIR:-/tmp}/tl-cuda-emu.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src" "$work/obj"
if ! ${MAKE:-make} -C "$build" core/libtl-1.la tests/libtltest.la >"$work/make.log" 2>&1; then
  cat "$work/make.log" >&2
  echo "run.sh: could not build core/libtl-1.la and tests/libtltest.la in $build (the emulator links them): run 'make core/libtl-1.la tests/libtltest.la' there" >&2
  exit 1
fi
glib=$(pkg-config --cflags glib-2.0 gmodule-2.0)
inc="-I$here/inc -I$top/backends/cuda/kernels -I$top/tests -I$top/tests/gpu -I$top/tests/parity -I$build -I$top -I$top/sdk-headers $glib"
cxx="${CXX:-g++} -std=c++20 -O1 -D__CUDACC__ -include $here/inc/emu.h -w $inc"
cc="${CC:-gcc} -std=gnu11 -O1 -DTL_BUILDDIR=\"$build\" -w $inc"
for f in "$top"/backends/cuda/kernels/*.cu; do
  b=$(basename "$f" .cu)
  python3 "$here/transform.py" "$f" "$work/src/$b.cc"
  $cxx -c "$work/src/$b.cc" -o "$work/obj/$b.o"
done
$cxx -c "$here/emu.cc" -o "$work/obj/emu.o"
$cc -c "$top/backends/cuda/kernels/table.c" -o "$work/obj/table.o"
$cc -c "$here/driver.c" -o "$work/obj/driver.o"
$cc -c "$top/tests/parity/cases-basic.c" -o "$work/obj/cases-basic.o"
$cc -c "$top/tests/parity/cases-nn.c" -o "$work/obj/cases-nn.o"
$cc -c "$top/tests/parity/cases-zero.c" -o "$work/obj/cases-zero.o"
$cc -c "$top/tests/parity/parity-input.c" -o "$work/obj/parity-input.o"
${CXX:-g++} -o "$work/emu-parity" "$work"/obj/*.o "$build/tests/.libs/libtltest.a" -L"$build/core/.libs" -ltl-1 \
  $(pkg-config --libs glib-2.0 gmodule-2.0) -Wl,-rpath,"$build/core/.libs" -lm
"$work/emu-parity" "$@"
