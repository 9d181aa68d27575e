#!/bin/sh
# tlhost-validate.sh — exit codes and messages of `tlhost validate`:
# 0 and "FILE: ok" for a valid job, 2 and every problem (FILE:LINE) for bad ones.
set -u
. "${TL_SRCDIR:-$(dirname "$0")/..}/tests/tlhost-lib.sh"
echo "1..25"

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

# "ok" names the overlays and assignments checked with the job
run validate --overlay "$jobs/overlay-swap.xml" --set m.n_classes=3 "$jobs/good.xml"
check "overlay and --set: ok names them" \
  'grep -qxF "$jobs/good.xml (+ $jobs/overlay-swap.xml, --set m.n_classes=3): ok" "$tmp/out"'

# an overlay <use> naming no id of the job: reported once, and the job is
# still validated (every problem at once)
cat >"$tmp/use.xml" <<'EOF'
<overlay xmlns="urn:tl:job:1">
  <use id="model" component="tl.logreg"/>
  <set path="model.fields">features</set>
</overlay>
EOF
run validate --overlay "$tmp/use.xml" --set m.hiddn=8 "$jobs/good.xml"
check "unknown <use id>: exit 2, reported once" \
  '[ "$(cat $tmp/rc)" = 2 ] && [ "$(grep -c "use.xml:" "$tmp/err")" = 1 ] && grep -q "use.xml:2: no component with id .model." "$tmp/err"'
check "unknown <use id>: the job is validated too" \
  'grep -q "^--set m.hiddn: parameter .hiddn. is not known to component .tl.mlp.; did you mean .hidden.?" "$tmp/err"'

# a component of a plugin that is not on the search path
cat >"$tmp/hello.xml" <<'EOF'
<job xmlns="urn:tl:job:1" name="hello">
  <dataset id="train" component="hello.synthetic"/>
  <model id="m" component="tl.mlp"/>
  <task kind="train" model="m" data="train"/>
</job>
EOF
run validate "$tmp/hello.xml"
check "plugin not on the search path: says so, no did-you-mean" \
  'grep -q "hello.xml:2: dataset .train.: component .hello.synthetic.: no plugin .hello. on the search path (TL_PLUGIN_PATH=.* or the system directories); set TL_PLUGIN_PATH to the directory holding hello.tlplugin.xml\$" "$tmp/err" && ! grep -q "did you mean" "$tmp/err"'

# unknown attributes in a plugin manifest: a warning naming FILE:LINE, the
# element, the attribute and the likely one, in list and inspect; the plugin
# still loads. A TL_PLUGIN_PATH entry that is a file: a warning.
mkdir -p "$tmp/p"
sed 's/<param name="factor" type="float" default="2.0"/& minimum="0"/' \
  "$srcdir/tests/plugins/good/good.tlplugin.xml" >"$tmp/p/good.tlplugin.xml"
goodlib="$builddir/tests/plugins/good/.libs/libtl-test-good.so"
[ -f "$goodlib" ] && ln -s "$goodlib" "$tmp/p/libtl-test-good.so"
want="tlhost: warning: $tmp/p/good.tlplugin.xml:6: unknown attribute 'minimum' on <param> (did you mean 'min'?); ignored"
(TL_PLUGIN_PATH="$tmp/p:$tmp/p/good.tlplugin.xml" XDG_CACHE_HOME="$tmp/cache" run list)
check "manifest: unknown attribute warned about by list" 'grep -qxF "$want" "$tmp/err"'
check "TL_PLUGIN_PATH entry that is a file: warned about" \
  'grep -qxF "tlhost: warning: TL_PLUGIN_PATH entry '"'$tmp/p/good.tlplugin.xml'"' is not a directory (ignored): give the directory that holds the *.tlplugin.xml" "$tmp/err"'
check "manifest: unknown attribute does not skip the plugin" \
  '[ ! -f "$goodlib" ] || grep -q "^good  *1.0.0  *ok" "$tmp/out"'
(TL_PLUGIN_PATH="$tmp/p" XDG_CACHE_HOME="$tmp/cache" run inspect good.scale)
check "manifest: unknown attribute warned about by inspect" \
  '[ "$(cat $tmp/rc)" = 0 ] && grep -qxF "$want" "$tmp/err"'

# inspect: a name that is neither a plugin nor a component
run inspect nosuchthing
check "inspect: unknown plugin or component" \
  '[ "$(cat $tmp/rc)" = 2 ] && grep -q "^tlhost: inspect: unknown plugin or component .nosuchthing." "$tmp/err"'

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

# planners= of train/evaluate/predict tasks names planner components
cat >"$tmp/planners.xml" <<'EOF'
<job xmlns="urn:tl:job:1" name="planners">
  <dataset id="train" component="tl.synthetic"/>
  <model id="m" component="tl.mlp"/>
  <task kind="train" model="m" data="train" planners="p"/>
  <task kind="evaluate" model="m" data="train" planners="m"/>
  <task kind="predict" model="m" data="train" planners="m,,x"/>
  <task kind="export" model="m" planners="p"/>
</job>
EOF
run validate "$tmp/planners.xml"
check "planners=: exit 2, six errors with FILE:LINE" \
  'rc 2 && [ "$(grep -c "planners.xml:[4-7]: " "$tmp/err")" = 6 ]'
check "planners=: unknown id" \
  'grep -q "planners.xml:4: task train: planners=.p.: no planner with id .p.\$" "$tmp/err" &&
   grep -q "planners.xml:6: task predict: planners=.m,,x.: no planner with id .x.\$" "$tmp/err"'
check "planners=: an id that is not a planner" \
  'grep -q "planners.xml:5: task evaluate: planners=.m. is a model, not a planner\$" "$tmp/err" &&
   grep -q "planners.xml:6: task predict: planners=.m,,x.: .m. is a model, not a planner\$" "$tmp/err"'
check "planners=: empty id; not an attribute of export" \
  'grep -q "planners.xml:6: task predict: planners=.m,,x.: empty planner id" "$tmp/err" &&
   grep -q "planners.xml:7: task export (task4) does not use attribute .planners." "$tmp/err"'
