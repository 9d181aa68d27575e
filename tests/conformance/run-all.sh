#!/bin/sh
# run-all.sh — `make check`: run `tlhost conformance` on every in-tree plugin
# that `tlhost list` reports from the build tree, and on the good test
# plugin tests/plugins/good. The deliberately broken test plugins (ids
# "broken-*", and every other plugin under tests/plugins/) are left out:
# tests/registry.mk checks their exact errors.
# Output: TAP (one test per plugin; the suite's own TAP lines as comments).
set -u
builddir=${TL_BUILDDIR:-$(pwd)}
tlhost="$builddir/hosts/tlhost"
if [ ! -x "$tlhost" ]; then
  echo "1..0 # SKIP tlhost not built"
  exit 0
fi
# `tlhost list --json` prints one plugin per line: pick id and manifest.
ids=$("$tlhost" list --json 2>/dev/null |
  sed -n 's/^ *{"id": "\([^"]*\)".*"manifest": "\([^"]*\)".*/\1 \2/p' |
  while read -r id manifest; do
    case "$id" in broken-*) continue ;; esac
    case "$manifest" in */tests/plugins/*) [ "$id" = good ] || continue ;; esac
    echo "$id"
  done | sort -u)
if [ -z "$ids" ]; then
  echo "1..1"
  echo "not ok 1 - tlhost list reported no plugin"
  exit 0
fi
n=0
for id in $ids; do n=$((n + 1)); done
echo "1..$n"
i=0
for id in $ids; do
  i=$((i + 1))
  out=$("$tlhost" conformance --timeout 120 "$id" 2>&1)
  rc=$?
  echo "$out" | sed 's/^/# /'
  if [ $rc -eq 0 ]; then
    echo "ok $i - conformance $id"
  else
    echo "not ok $i - conformance $id (exit $rc)"
  fi
done
