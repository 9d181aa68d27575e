#!/bin/sh
# test-example.sh — the example job trains fusion.transformer with fusion on
# and, through its overlay, off; both finish, the plan task writes the plan
# XML and a DOT graph, and the final losses agree. TAP output.
set -u
builddir=${TL_BUILDDIR:-.}
srcdir=${TL_SRCDIR:-$(dirname "$0")/../../..}
tlhost=$builddir/hosts/tlhost
job=$srcdir/plugins/fusion/examples/train-transformer.xml
overlay=$srcdir/plugins/fusion/examples/no-fusion.xml
echo "1..4"
if [ ! -x "$tlhost" ]; then
  for i in 1 2 3 4; do echo "ok $i # SKIP tlhost not built"; done
  exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tl-fusion-example.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
on=$("$tlhost" run -o "$tmp/on" --set task2.epochs=1 "$job" 2>&1)
rc_on=$?
off=$("$tlhost" run -o "$tmp/off" --set task2.epochs=1 --overlay "$overlay" "$job" 2>&1)
rc_off=$?
if [ $rc_on = 0 ] && [ $rc_off = 0 ]; then echo "ok 1 - job runs with fusion on and off"; else
  echo "not ok 1 - job runs with fusion on and off (rc $rc_on/$rc_off)"; printf '%s\n%s\n' "$on" "$off" | sed 's/^/# /'; fi
if [ -s "$tmp/on/plan-p.xml" ] && grep -q 'kind="group"' "$tmp/on/plan-p.xml" && [ -s "$tmp/on/graph-m.dot" ]; then
  echo "ok 2 - plan XML with groups and DOT written"; else echo "not ok 2 - plan XML with groups and DOT written"; fi
if printf '%s\n' "$on" | grep -q 'groups fused; kernels [0-9]* -> [0-9]*; bytes moved'; then
  echo "ok 3 - kernels and bytes before/after reported"; else echo "not ok 3 - kernels and bytes before/after reported"; fi
l_on=$(printf '%s\n' "$on" | sed -n 's/^final: loss=\([^ ]*\).*/\1/p')
l_off=$(printf '%s\n' "$off" | sed -n 's/^final: loss=\([^ ]*\).*/\1/p')
if [ -n "$l_on" ] && awk -v a="$l_on" -v b="$l_off" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-4 * (b < 0 ? -b : b) + 1e-6) }'; then
  echo "ok 4 - same final loss with and without fusion ($l_on, $l_off)"; else
  echo "not ok 4 - same final loss with and without fusion ($l_on, $l_off)"; fi
