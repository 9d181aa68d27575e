# tlhost-lib.sh — sourced by the shell tests of tlhost (tlhost-validate.sh,
# test-cli-robust.sh, test-job-outputs.sh): where tlhost and the test jobs
# are, a scratch directory removed at exit, and the TAP helpers.
builddir=${TL_BUILDDIR:-$(pwd)}
srcdir=${TL_SRCDIR:-$(dirname "$0")/..}
tlhost="$builddir/hosts/tlhost"
jobs="$srcdir/tests/data/jobs"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
# check DESCRIPTION CONDITION: one TAP line; on failure the last run's
# output (the first 2000 bytes of each stream) as comments
check () {
  n=$((n + 1))
  if eval "$2"; then
    echo "ok $n - $1"
  else
    echo "not ok $n - $1"
    head -c 2000 "$tmp/out" | sed 's/^/# /'
    head -c 2000 "$tmp/err" | sed 's/^/# /'
  fi
}
# run ARGS...: tlhost ARGS, stdout and stderr in $tmp/out and $tmp/err, the
# exit status in $tmp/rc; a crash, critical or sanitizer report is recorded
# in $tmp/bad
run () {
  "$tlhost" "$@" >"$tmp/out" 2>"$tmp/err"
  echo $? >"$tmp/rc"
  : >"$tmp/bad"
  if [ "$(cat "$tmp/rc")" -ge 124 ] || grep -q 'Sanitizer\|runtime error\|critical\|CRITICAL' "$tmp/err"; then
    echo bad >"$tmp/bad"
  fi
}
# rc N: the last run exited N, without a crash, critical or sanitizer report
rc () { [ "$(cat "$tmp/rc")" = "$1" ] && [ ! -s "$tmp/bad" ]; }
