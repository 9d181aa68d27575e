#!/bin/sh
# expect-failures.sh — the conformance suite must fail broken plugins, and
# only the affected checks: a crashing plugin (signal caught in the check's
# child), a descriptor that disagrees with its manifest, a plugin that hangs
# (killed at the timeout), an unknown plugin id (exit 2), an op that
# declares TL_OP_SAME_BYTES but changes the bytes (only that check fails).
# TAP output.
set -u
builddir=${TL_BUILDDIR:-$(pwd)}
tlhost="$builddir/hosts/tlhost"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "1..11"
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
