#!/bin/sh
# tlhost-validate.sh — exit codes and messages of `tlhost validate`:
# 0 and "FILE: ok" for a valid job, 2 and every problem (FILE:LINE) for bad ones.
set -u
. "${TL_SRCDIR:-$(dirname "$0")/..}/tests/tlhost-lib.sh"
echo "1..8"

run validate "$jobs/good.xml"
check "good job: exit 0" '[ "$(cat $tmp/rc)" = 0 ]'
check "good job: prints FILE: ok" 'grep -q "good.xml: ok" "$tmp/out"'

run validate "$jobs/bad.xml"
check "bad job: exit 2" '[ "$(cat $tmp/rc)" = 2 ]'
check "bad job: all 10 errors with FILE:LINE" '[ "$(grep -c "bad.xml:[0-9][0-9]*: " "$tmp/err")" = 10 ]'
check "bad job: did-you-mean" 'grep -q "did you mean .optimizer.?" "$tmp/err"'

run validate "$jobs/hostile.xml"
check "hostile job: exit 2" '[ "$(cat $tmp/rc)" = 2 ]'

run validate --set m.hidden=8 --set task1.epochs=0 --overlay "$jobs/overlay-bad.xml" "$jobs/good.xml"
check "bad overlay and --set: exit 2 with each error" \
  '[ "$(cat $tmp/rc)" = 2 ] && [ "$(grep -c "overlay-bad.xml:[0-9]*: " "$tmp/err")" = 2 ]'

run validate
check "no argument: usage, exit 2" '[ "$(cat $tmp/rc)" = 2 ]'
