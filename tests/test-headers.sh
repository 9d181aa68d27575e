#!/bin/sh
# Every SDK header compiles on its own, as C11 and as C++11, with warnings as
# errors: the SDK is self-contained. TAP output.
srcdir=${TL_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
CC=${CC:-cc}
CXX=${CXX:-c++}
flags=$(pkg-config --cflags glib-2.0 gmodule-2.0)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
headers=$(cd "$srcdir/sdk-headers" && ls tl/*.h)
n=0
for h in $headers; do n=$((n + 2)); done
if ! command -v "$CXX" >/dev/null 2>&1; then cxx_ok=no; else cxx_ok=yes; fi
echo "1..$n"
i=0
for h in $headers; do
  i=$((i + 1))
  printf '#include <%s>\n#include <%s>\nint tl_header_test_dummy;\n' "$h" "$h" > "$tmp/t.c"
  if $CC -std=c11 -Wall -Wextra -Werror -pedantic-errors -Wno-variadic-macros -I"$srcdir/sdk-headers" $flags -c "$tmp/t.c" -o "$tmp/t.o" 2>"$tmp/err"; then
    echo "ok $i - $h compiles alone (C11)"
  else
    echo "not ok $i - $h compiles alone (C11)"; sed 's/^/# /' "$tmp/err" | head -20
  fi
  i=$((i + 1))
  if [ "$cxx_ok" = no ]; then echo "ok $i - $h (C++11) # SKIP no C++ compiler"; continue; fi
  cp "$tmp/t.c" "$tmp/t.cc"
  if $CXX -std=c++11 -Wall -Werror -I"$srcdir/sdk-headers" $flags -c "$tmp/t.cc" -o "$tmp/t.o" 2>"$tmp/err"; then
    echo "ok $i - $h compiles alone (C++11)"
  else
    echo "not ok $i - $h compiles alone (C++11)"; sed 's/^/# /' "$tmp/err" | head -20
  fi
done
