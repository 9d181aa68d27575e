#!/bin/sh
# run-allreduce.sh — issue 4 (c): bench-allreduce on 2 local processes
# (shared-memory transport). Prints its BENCH lines, or a note when MPI was
# not built.
builddir=${TL_BUILDDIR:-$(pwd)}
prog="$builddir/benchmarks/bench-allreduce"
if ! [ -x "$prog" ]; then
  echo "# bench-allreduce: not built (libtl without MPI)"; exit 0
fi
mpirun=$(command -v mpirun) || { echo "# bench-allreduce: mpirun not found"; exit 0; }
exec "$mpirun" --oversubscribe --allow-run-as-root --bind-to none -np 2 "$prog"
