#!/bin/sh
# expect-failures.sh — the conformance suite must fail broken plugins, and
# only the affected checks: a crashing plugin (signal caught in the check's
# child), a descriptor that disagrees with its manifest, a plugin that hangs
# (killed at the timeout), an unknown plugin id (exit 2), an op that
# declares TL_OP_SAME_BYTES but changes the bytes (only that check fails),
# the components of broken-contracts, each breaking one documented contract
# (only the check of that contract fails for each; a check that ends with
# exit(0) is not a pass; an infer returning FALSE without setting its error
# is no refusal; an op refusing another dtype with TL_ERROR_UNSUPPORTED, as
# the built-in ops do, passes), a check that skips with a warning: "ok ...
# # SKIP", or "not ok" under --fatal-warnings, a directory or a manifest not
# named *.tlplugin.xml given as the plugin (exit 2, saying so), and the
# schema the manifest check reads: the source tree's when libtl-1 runs from
# the build tree, never when it runs from elsewhere (installed).
# TAP output.
set -u
builddir=${TL_BUILDDIR:-$(pwd)}
tlhost="$builddir/hosts/tlhost"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "1..31"
n=0
check () { # description, condition
  n=$((n + 1))
  if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; sed 's/^/# /' "$tmp/out"; fi
}

"$tlhost" conformance --timeout 2 crash mismatch hang >"$tmp/out" 2>"$tmp/err"
rc=$?
check "broken plugins: exit 1" '[ $rc = 1 ]'
check "crash: the crash is reported, not suffered" 'grep -q "^# crashed: signal" "$tmp/out"'
check "crash: checks that do not load code still pass" \
  'grep -q "^ok [0-9]* - library: only the entry symbol exported" "$tmp/out"'
check "mismatch: descriptor disagreement named" \
  'grep -q "descriptor component .other. is not in the manifest" "$tmp/out"'
check "hang: killed at the timeout" 'grep -q "^# timed out after 2 s" "$tmp/out"'
check "TAP plan at the end" 'tail -n 1 "$tmp/out" | grep -q "^1\.\.[0-9][0-9]*$"'

"$tlhost" conformance no-such-plugin >"$tmp/out" 2>&1
rc=$?
check "unknown plugin: exit 2" '[ $rc = 2 ] && grep -q "no plugin .no-such-plugin." "$tmp/out"'

"$tlhost" conformance broken-same-bytes >"$tmp/out" 2>&1
rc=$?
sb="broken-same-bytes.negate"
check "false TL_OP_SAME_BYTES: exit 1" '[ $rc = 1 ]'
check "false TL_OP_SAME_BYTES: its check fails, naming the claim" \
  'grep -q "^not ok [0-9]* - $sb: output is input.s bytes if it says so" "$tmp/out" &&
   grep -q "output 0 is not input 0.s bytes, but the op declares TL_OP_SAME_BYTES" "$tmp/out"'
check "false TL_OP_SAME_BYTES: the op's other checks pass" \
  'grep -q "^ok [0-9]* - $sb: infer consistent with kernel outputs" "$tmp/out" &&
   grep -q "^ok [0-9]* - $sb: deterministic forward" "$tmp/out" &&
   grep -q "^ok [0-9]* - $sb: gradients match finite differences" "$tmp/out"'
check "false TL_OP_SAME_BYTES: one check fails" '[ "$(grep -c "^not ok" "$tmp/out")" = 1 ]'

"$tlhost" conformance broken-contracts >"$tmp/out" 2>&1
rc=$?
bc="broken-contracts"
check "broken contracts: exit 1" '[ $rc = 1 ]'
check "planner corrupting gradients in apply(): caught, naming the gradient" \
  'grep -q "^not ok [0-9]* - $bc.grad-doubler: valid plan for an MLP on the local cluster" "$tmp/out" &&
   grep -q "^# applying the plan changed output .grad/" "$tmp/out" &&
   grep -q "^not ok [0-9]* - $bc.grad-doubler: plan XML round trip" "$tmp/out"'
check "planner writing to the graph in plan(): named" \
  'grep -q "^not ok [0-9]* - $bc.graph-writer: plan() leaves its graph unchanged" "$tmp/out" &&
   grep -q "^# plan() modified the graph it was given" "$tmp/out" &&
   grep -q "^ok [0-9]* - $bc.graph-writer: valid plan for an MLP on the local cluster" "$tmp/out"'
check "destroy(NULL) crashing: reported" \
  'grep -A1 "^not ok [0-9]* - $bc.null-unsafe: destroy(NULL) is a no-op" "$tmp/out" | grep -q "^# crashed: "'
check "declared bounds refused when set explicitly: named" \
  'grep -q "^not ok [0-9]* - $bc.bad-range: parameter ranges enforced, declared values accepted" "$tmp/out" &&
   grep -q "^# stages=10 (min, set explicitly) was refused" "$tmp/out" &&
   grep -q "^# stages=1 (max, set explicitly) was refused" "$tmp/out"'
check "model building the train graph only: its modes check fails, the others pass" \
  'grep -q "^not ok [0-9]* - $bc.train-only: builds in train, eval and predict mode" "$tmp/out" &&
   grep -q "^# eval build: .*only the train graph builds" "$tmp/out" &&
   grep -q "^ok [0-9]* - $bc.train-only: SGD steps on a fixed batch lower the loss" "$tmp/out" &&
   grep -q "^ok [0-9]* - $bc.train-only: checkpoint save/load round trip" "$tmp/out"'
check "initial values not deterministic in the seed: named" \
  'grep -q "^not ok [0-9]* - $bc.unseeded: initial parameters deterministic in the seed" "$tmp/out" &&
   grep -q "^# two instances with seed 42: the values of parameter .w. differ" "$tmp/out" &&
   grep -q "^ok [0-9]* - $bc.unseeded: builds in train, eval and predict mode" "$tmp/out"'
check "exit(0) in the middle of a check: no verdict, not a pass" \
  'grep -A1 "^not ok [0-9]* - $bc.exits: destroy(NULL) is a no-op" "$tmp/out" |
   grep -q "^# crashed: exited with status 0 without a verdict"'
check "infer refusing a bad input with another code: named" \
  'grep -q "^not ok [0-9]* - $bc.wrong-code: infer refuses bad inputs" "$tmp/out" &&
   grep -q "i64.3,4. instead of f32.3,4.: infer failed with TL_ERROR code 6, not TL_ERROR_SHAPE, TL_ERROR_INVALID_ARGUMENT or TL_ERROR_UNSUPPORTED: $bc: f32 only" "$tmp/out" &&
   grep -q "^ok [0-9]* - $bc.wrong-code: gradients match finite differences" "$tmp/out"'
check "infer refusing a bad shape with TL_ERROR_UNSUPPORTED (for dtypes only): named" \
  'grep -q "^not ok [0-9]* - $bc.unsupported-rank: infer refuses bad inputs" "$tmp/out" &&
   grep -q "f32.. instead of f32.3,4.: infer failed with TL_ERROR code 7, not TL_ERROR_SHAPE or TL_ERROR_INVALID_ARGUMENT: $bc: no scalars" "$tmp/out"'
check "infer refusing another dtype with TL_ERROR_UNSUPPORTED, as the built-in ops do: every check passes" \
  'grep -A1 "^ok [0-9]* - $bc.unsupported-dtype: infer refuses bad inputs with the documented error codes$" "$tmp/out" |
   grep -q "^# [1-9][0-9]* of [0-9]* malformed input sets refused" &&
   [ "$(grep -c "^ok [0-9]* - $bc.unsupported-dtype: " "$tmp/out")" -ge 8 ] &&
   ! grep -q "^not ok [0-9]* - $bc.unsupported-dtype: " "$tmp/out"'
check "infer returning FALSE without setting its error: no refusal, named" \
  'grep -q "^not ok [0-9]* - $bc.silent-refusal: infer refuses bad inputs" "$tmp/out" &&
   grep -q "^# sample 0 with input 0 i64.3,4. instead of f32.3,4.: infer returned FALSE without setting error" "$tmp/out" &&
   grep -q "^ok [0-9]* - $bc.silent-refusal: infer consistent with kernel outputs" "$tmp/out" &&
   grep -q "^ok [0-9]* - $bc.silent-refusal: gradients match finite differences" "$tmp/out"'
check "broken contracts: exactly the eleven checks of the broken contracts fail" \
  '[ "$(grep "^not ok" "$tmp/out" | sed "s/^not ok [0-9]* - //" | sort | tr "\n" "|")" = \
"$bc.bad-range: parameter ranges enforced, declared values accepted|\
$bc.exits: destroy(NULL) is a no-op|\
$bc.grad-doubler: plan XML round trip|\
$bc.grad-doubler: valid plan for an MLP on the local cluster|\
$bc.graph-writer: plan() leaves its graph unchanged|\
$bc.null-unsafe: destroy(NULL) is a no-op|\
$bc.silent-refusal: infer refuses bad inputs with the documented error codes|\
$bc.train-only: builds in train, eval and predict mode on one parameter store|\
$bc.unseeded: initial parameters deterministic in the seed|\
$bc.unsupported-rank: infer refuses bad inputs with the documented error codes|\
$bc.wrong-code: infer refuses bad inputs with the documented error codes|" ]'

# good.scale has no samples: its op checks skip with a warning
"$tlhost" conformance good >"$tmp/out" 2>&1
rc=$?
sk="good.scale: infer consistent with kernel outputs"
check "skipped with a warning: ok with a SKIP directive, then the warning" \
  '[ $rc = 0 ] && grep -A1 "^ok [0-9]* - $sk # SKIP no samples$" "$tmp/out" | grep -q "^# WARN no samples"'
"$tlhost" conformance --fatal-warnings good >"$tmp/out" 2>&1
rc=$?
check "skipped with a warning under --fatal-warnings: not ok, the skip reason kept" \
  '[ $rc = 1 ] && grep -A1 "^not ok [0-9]* - $sk$" "$tmp/out" | grep -q "^# skipped: no samples"'

# a directory, or a manifest not named *.tlplugin.xml, given as the plugin
srcdir=${TL_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
good_dir="$srcdir/tests/plugins/good"
"$tlhost" conformance "$good_dir/" >"$tmp/out" 2>&1
rc=$?
check "a directory: exit 2, naming the manifest to give" \
  '[ $rc = 2 ] && grep -q "^# $good_dir is a directory: give $good_dir/NAME.tlplugin.xml, the plugin.s library or its id (it holds good.tlplugin.xml)$" "$tmp/out"'
mkdir "$tmp/no-plugin"
(cd "$tmp" && "$tlhost" conformance no-plugin) >"$tmp/out" 2>&1
rc=$?
check "a directory named without a slash: exit 2, a directory all the same" \
  '[ $rc = 2 ] && grep -q "^# no-plugin is a directory: give no-plugin/NAME.tlplugin.xml, the plugin.s library or its id$" "$tmp/out"'
cp "$good_dir/good.tlplugin.xml" "$tmp/good.xml"
"$tlhost" conformance "$tmp/good.xml" >"$tmp/out" 2>&1
rc=$?
check "a manifest not named *.tlplugin.xml: exit 2, saying so" \
  '[ $rc = 2 ] && grep -q "^# $tmp/good.xml: manifests must be named \*\.tlplugin\.xml" "$tmp/out"'

# the schema: the source tree's uninstalled; with libtl-1 from elsewhere
# (as installed), never the source tree's
env -u TL_SCHEMA_DIR "$tlhost" conformance good >"$tmp/out" 2>&1
check "uninstalled: the manifest checked against the source tree's schema" \
  'grep -A1 "^ok [0-9]* - manifest: valid$" "$tmp/out" | grep -q "^# valid against $srcdir/sdk-headers/schema/tl-plugin.rng$"'
bin="$builddir/hosts/.libs/tlhost"
[ -x "$builddir/hosts/.libs/lt-tlhost" ] && bin="$builddir/hosts/.libs/lt-tlhost"
mkdir "$tmp/lib"
cp -P "$builddir"/core/.libs/libtl-1.so* "$tmp/lib/" 2>/dev/null
if [ -x "$bin" ] && ls "$tmp/lib/" | grep -q .; then
  env -u TL_SCHEMA_DIR LD_LIBRARY_PATH="$tmp/lib" TL_PLUGIN_SCANNER="$builddir/hosts/tl-plugin-scanner" \
    "$bin" conformance good >"$tmp/out" 2>&1
  check "installed: the manifest never checked against the source tree's schema" \
    'grep -q "^ok [0-9]* - manifest: valid$" "$tmp/out" && ! grep -q "sdk-headers/schema" "$tmp/out" &&
     grep -A1 "^ok [0-9]* - manifest: valid$" "$tmp/out" | grep -q "^# \(WARN schema tl-plugin.rng not found (installed in /\|valid against /\)"'
else
  n=$((n + 1))
  echo "ok $n - installed: the manifest never checked against the source tree's schema # SKIP no libtool .libs/ layout"
fi
