#!/bin/sh
# validate-manifests.sh — every *.tlplugin.xml in the source tree (plugins/,
# tests/plugins/, core/builtin/, examples/) against sdk-headers/schema/tl-plugin.rng.
# TAP output. Broken test plugins are broken in their code, not their XML,
# so they must validate too.
srcdir=${TL_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
schema="$srcdir/sdk-headers/schema/tl-plugin.rng"
if ! command -v xmllint >/dev/null 2>&1; then
  echo "1..0 # SKIP xmllint not found"
  exit 0
fi
files=$(find "$srcdir/plugins" "$srcdir/tests/plugins" "$srcdir/core/builtin" "$srcdir/examples" \
          -name '*.tlplugin.xml' -type f 2>/dev/null | LC_ALL=C sort)
n=$(printf '%s\n' "$files" | grep -c . )
if [ "$n" -eq 0 ]; then
  echo "1..0 # SKIP no manifests found under $srcdir"
  exit 0
fi
echo "1..$n"
i=0
status=0
for f in $files; do
  i=$((i + 1))
  rel=${f#"$srcdir"/}
  if out=$(xmllint --noout --nonet --relaxng "$schema" "$f" 2>&1); then
    echo "ok $i $rel"
  else
    echo "not ok $i $rel"
    printf '%s\n' "$out" | sed 's/^/# /'
    status=1
  fi
done
exit $status
