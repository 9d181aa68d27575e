# comm-lib.sh — sourced by test-comm-mpi.sh and test-dp.sh: TAP helpers and
# the mpirun command line (MPIRUN and TL_COMM_HAVE_MPI from tests/comm-env.sh,
# written by make).
builddir=${TL_BUILDDIR:-$(pwd)}
srcdir=${TL_SRCDIR:-$(dirname "$0")/..}
TL_COMM_HAVE_MPI=no
MPIRUN=
[ -f "$builddir/tests/comm-env.sh" ] && . "$builddir/tests/comm-env.sh"
# mpirun in a test: as root too, more ranks than cores allowed, only the
# shared-memory and self transports (no network probing). In sanitizer
# builds the ranks run without LeakSanitizer: Open MPI never frees its own
# start-up allocations (ompi_comm_set_nb, its dlopened components), which
# would fail every rank; everything else in make check runs with it.
mpirun_cmd () {
  echo "env ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 $MPIRUN --oversubscribe --allow-run-as-root --mca btl self,vader --bind-to none"
}
# Print "1..1" + a visible SKIP and exit when MPI is not usable.
skip_without_mpi () {
  if [ "$TL_COMM_HAVE_MPI" != yes ]; then
    echo "1..0 # SKIP libtl was built without MPI (configure --with-mpi)"; exit 0
  fi
  if [ -z "$MPIRUN" ] || ! [ -x "$MPIRUN" ]; then
    echo "1..0 # SKIP mpirun not found"; exit 0
  fi
}
n=0
failed=0
# check DESCRIPTION CONDITION [FILES TO SHOW ON FAILURE...]
check () {
  n=$((n + 1))
  desc=$1; cond=$2; shift 2
  if eval "$cond"; then
    echo "ok $n - $desc"
  else
    echo "not ok $n - $desc"; failed=1
    for f in "$@"; do [ -f "$f" ] && sed 's/^/# /' "$f" | tail -40; done
  fi
}
