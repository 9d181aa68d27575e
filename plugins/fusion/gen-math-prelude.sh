#!/bin/sh
# gen-math-prelude.sh TL_MATH_H OUTPUT — turn the SDK's tl-math.h into the C
# string fusion_math_prelude[] that codegen-c.c puts at the top of every
# generated kernel (the system compiler that builds the kernels at run time
# may have no tl SDK headers). tl-math.h stays the only source of the fast
# float math, so compiled kernels and the interpreter compute the same bits.
#
# The `#include <tl/tl-macros.h>` line is dropped: the generated C defines
# TL_BEGIN_DECLS and TL_END_DECLS (all tl-math.h takes from it) itself. Any
# other tl include would not resolve at run time, so it is an error.
# Backslashes and double quotes are escaped; each line becomes "...\n".
# Plain POSIX sh and sed: no python at build time.
set -e
in=$1
out=$2
if test -z "$in" || test -z "$out"; then
  echo "usage: $0 TL_MATH_H OUTPUT" >&2
  exit 2
fi
if ! grep -q '^#include <tl/tl-macros\.h>' "$in"; then
  echo "$0: $in: no '#include <tl/tl-macros.h>' line (update the generator)" >&2
  exit 1
fi
if sed -e '/^#include <tl\/tl-macros\.h>/d' "$in" | grep -n '^[ 	]*#[ 	]*include[ 	]*[<"]tl' >&2; then
  echo "$0: $in: includes another tl header, which generated kernels cannot see" >&2
  exit 1
fi
tmp=$out.tmp
{
  echo '/* generated from sdk-headers/tl/tl-math.h by plugins/fusion/gen-math-prelude.sh: do not edit */'
  echo 'static const char fusion_math_prelude[] ='
  sed -e '/^#include <tl\/tl-macros\.h>/d' \
      -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' \
      -e 's/^/  "/' -e 's/$/\\n"/' "$in"
  echo '  ;'
} > "$tmp"
mv -f "$tmp" "$out"
