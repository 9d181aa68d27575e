#!/bin/sh
# PyTorch parity of the built-in ops (TAP). Skips visibly when torch is not importable.
PY="${PYTHON3:-/usr/bin/python3}"
BUILDDIR="${TL_BUILDDIR:-.}"
SRCDIR="${TL_SRCDIR:-$(dirname "$0")/..}"
if ! "$PY" -c 'import torch, numpy' >/dev/null 2>&1; then
  echo "1..0 # SKIP torch not importable ($PY)"
  exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tl-parity.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
if ! "$BUILDDIR/tests/parity/tl-parity-dump" "$tmp" >"$tmp/dump.log" 2>&1; then
  sed 's/^/# /' "$tmp/dump.log"
  # go on: failed cases are listed in cases.json and reported as not ok
fi
[ -f "$tmp/cases.json" ] || { echo "1..1"; echo "not ok 1 - tl-parity-dump wrote no cases.json"; exit 1; }
"$PY" "$SRCDIR/tests/parity/torch_parity.py" --tap "$tmp"
