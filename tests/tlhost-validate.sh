#!/bin/sh
# tlhost-validate.sh — exit codes and messages of `tlhost validate`:
# 0 and "FILE: ok" for a valid job, 2 and every problem (FILE:LINE) for bad ones.
set -u
. "${TL_SRCDIR:-$(dirname "$0")/..}/tests/tlhost-lib.sh"
echo "1..12"

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

# What validate cannot see (it reads manifests, not data): a misspelt label
# field or a binary task on a 4-class label fail `tlhost run` before any
# training, with the dataset's own message, instead of an empty result.
run run -q -o "$tmp/o1" --set m.label=lable "$jobs/good.xml"
check "run: misspelt label field: exit 1" '[ "$(cat $tmp/rc)" = 1 ] && [ ! -s "$tmp/bad" ]'
check "run: misspelt label field: the dataset's fields named" \
  'grep -q "task train: model tl.mlp: the dataset has no field .lable. (fields: features, label)" "$tmp/err"'
run run -q -o "$tmp/o2" --set m.task=binary --set train.n_classes=4 --set test.n_classes=4 "$jobs/good.xml"
check "run: binary task on 4 classes: exit 1" '[ "$(cat $tmp/rc)" = 1 ] && [ ! -s "$tmp/bad" ]'
check "run: binary task on 4 classes: message" \
  'grep -q "task binary needs 0/1 labels; field .label. has 4 categories" "$tmp/err"'
