#!/bin/sh
# Every SDK header compiles on its own, as C11 and as C++11, with warnings as
# errors and -pedantic: the SDK is self-contained. Then a minimal plugin that
# uses the macros third-party plugins use (TL_PLUGIN_DEFINE, TL_TABLE_INIT,
# TL_TABLE_HAS) compiles as C11, strict C++11 (the positional macros), C++17
# with the designated macros (a g++/clang++ extension before C++20) and C++20,
# and exports tl_plugin_query with C linkage. Last, every code example of
# the header comments that is marked as below compiles (C, gnu11, -Wall
# -Wextra -Werror -Wincompatible-pointer-types) against these headers, so that
# the examples cannot go stale. TAP output.
#
# Marking an example in a header comment: put it between a line
# ` * @example-begin NAME` and a line ` * @example-end` (exactly so, at the
# start of the line); the lines between lose their leading ` *`. NAME
# (letters, digits, '-') is unique over the SDK.
# - `@example-begin NAME`: file-scope code (tables, static functions); it is
#   compiled after `#include <tl/tl.h>`.
# - `@example-begin NAME (PARAMS)`: statements, compiled as the body of
#   `int f (PARAMS)` that also declares `GError *error = NULL;` and returns
#   0 after them (so an example may `return FALSE;` or `return 2;`). PARAMS
#   names what the example takes as given; it may continue on the next lines
#   up to its closing parenthesis; `(void)` for nothing.
# Mark only examples that are complete (no `...` standing for code; write
# `// ...` instead). Unused variables, parameters and functions are fine.
srcdir=${TL_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
CC=${CC:-cc}
CXX=${CXX:-c++}
NM=${NM:-nm}
flags=$(pkg-config --cflags glib-2.0 gmodule-2.0)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
headers=$(cd "$srcdir/sdk-headers" && ls tl/*.h)
# Extract the marked examples into $tmp/examples/NAME.c (wrapped) and list
# "NAME HEADER" in $tmp/examples/list; malformed markers go to .../errors.
mkdir "$tmp/examples"
for h in $headers; do
  awk -v hdr="$h" -v dir="$tmp/examples" '
    function fail(msg) { print hdr ":" FNR ": " msg >> (dir "/errors") }
    function strip(line) { sub(/^ \*/, "", line); return line }
    function start() {
      if (params == "") {
        print "#include <tl/tl.h>" > out
      } else {
        print "#include <tl/tl.h>\nint tl_example_" fn " " params ";\nint\ntl_example_" fn " " params "\n{\n  GError *error = NULL;" > out
      }
      print "#line " FNR + 1 " \"sdk-headers/" hdr "\"" > out
    }
    /^ \* @example-begin/ {
      if (name != "") fail("@example-begin inside example " name)
      line = $0; sub(/^ \* @example-begin[ \t]*/, "", line)
      name = line; sub(/[ \t(].*/, "", name)
      if (name !~ /^[A-Za-z0-9-]+$/) { fail("bad example name \"" name "\""); name = "" ; next }
      if (seen[name]++) fail("example " name " defined twice")
      fn = name; gsub(/-/, "_", fn)
      params = line; sub(/^[A-Za-z0-9-]+[ \t]*/, "", params)
      out = dir "/" name ".c"
      print name " " hdr >> (dir "/list")
      open_params = (params != "" && gsub(/\(/, "(", params) > gsub(/\)/, ")", params))
      if (!open_params) start()
      next
    }
    name != "" && open_params {
      cont = strip($0); sub(/^[ \t]+/, " ", cont); params = params cont
      open_params = gsub(/\(/, "(", params) > gsub(/\)/, ")", params)
      if (!open_params) start()
      next
    }
    /^ \* @example-end[ \t]*$/ {
      if (name == "") { fail("@example-end without @example-begin"); next }
      if (params != "") print "  g_clear_error (&error);\n  return 0;\n}" > out
      close(out); name = ""; next
    }
    name != "" { print strip($0) > out }
    END { if (name != "") fail("example " name ": no @example-end") }
  ' "$srcdir/sdk-headers/$h"
done
touch "$tmp/examples/list"
awk '{ print $1 }' "$tmp/examples/list" | sort | uniq -d |
  sed 's/^/example name used twice: /' >>"$tmp/examples/errors"
n_examples=$(wc -l < "$tmp/examples/list")

n=$((5 + n_examples))
for h in $headers; do n=$((n + 2)); done
if ! command -v "$CXX" >/dev/null 2>&1; then cxx_ok=no; else cxx_ok=yes; fi
cflags="-std=c11 -Wall -Wextra -Werror -pedantic-errors -I$srcdir/sdk-headers $flags"
cxxflags="-Wall -Wextra -Werror -pedantic -I$srcdir/sdk-headers $flags"
echo "1..$n"
i=0
for h in $headers; do
  i=$((i + 1))
  printf '#include <%s>\n#include <%s>\nint tl_header_test_dummy;\n' "$h" "$h" > "$tmp/t.c"
  if $CC $cflags -c "$tmp/t.c" -o "$tmp/t.o" 2>"$tmp/err"; then
    echo "ok $i - $h compiles alone (C11)"
  else
    echo "not ok $i - $h compiles alone (C11)"; sed 's/^/# /' "$tmp/err" | head -20
  fi
  i=$((i + 1))
  if [ "$cxx_ok" = no ]; then echo "ok $i - $h (C++11) # SKIP no C++ compiler ($CXX)"; continue; fi
  cp "$tmp/t.c" "$tmp/t.cc"
  if $CXX -std=c++11 $cxxflags -c "$tmp/t.cc" -o "$tmp/t.o" 2>"$tmp/err"; then
    echo "ok $i - $h compiles alone (C++11)"
  else
    echo "not ok $i - $h compiles alone (C++11)"; sed 's/^/# /' "$tmp/err" | head -20
  fi
done

# A minimal plugin: one dataset table and the descriptor, with designated
# initialisers, or positional ones (TL_TABLE_INIT_POSITIONAL,
# TL_PLUGIN_DEFINE_POSITIONAL) where TL_TEST_POSITIONAL is defined.
cat >"$tmp/plugin.c" <<'EOF'
#include <tl/tl.h>

static TlDataset *
t_open (const TlParams *params, GError **error)
{
  (void) params;
  (void) error;
  return NULL;
}

static void
t_close (TlDataset *ds)
{
  (void) ds;
}

static uint32_t
t_n_fields (TlDataset *ds)
{
  (void) ds;
  return 0;
}

static const TlField *
t_field (TlDataset *ds, uint32_t i)
{
  (void) ds;
  (void) i;
  return NULL;
}

static int64_t
t_size (TlDataset *ds)
{
  (void) ds;
  return 0;
}

static gboolean
t_read (TlDataset *ds, int64_t n_rows, const int64_t *rows, TlTensor *const *fields, GError **error)
{
  (void) ds;
  (void) n_rows;
  (void) rows;
  (void) fields;
  (void) error;
  return FALSE;
}

#ifdef TL_TEST_POSITIONAL
static const TlDatasetDef ds_def = { TL_TABLE_INIT_POSITIONAL (TlDatasetDef), t_open, t_close, t_n_fields,
                                     t_field, t_size, t_read, NULL };
static const TlComponent components[] = { { TL_COMPONENT_DATASET, 0, "ds", &ds_def },
                                          { TL_COMPONENT_NONE, 0, NULL, NULL } };
TL_PLUGIN_DEFINE_POSITIONAL (0, 0, 0, "header-test", "1.0.0", "MIT", "SDK macro test", components,
                             NULL, NULL)
#else
static const TlDatasetDef ds_def = {
  TL_TABLE_INIT (TlDatasetDef),
  .open = t_open,
  .close = t_close,
  .n_fields = t_n_fields,
  .field = t_field,
  .size = t_size,
  .read = t_read,
  .get_extension = NULL,
};
static const TlComponent components[] = { { TL_COMPONENT_DATASET, 0, "ds", &ds_def },
                                          { TL_COMPONENT_NONE, 0, NULL, NULL } };
TL_PLUGIN_DEFINE (.id = "header-test", .version = "1.0.0", .license = "MIT",
                  .description = "SDK macro test", .components = components)
#endif

int tl_header_test_has (void);

int
tl_header_test_has (void)
{
  const TlPluginDesc *desc = tl_plugin_query ();
  return TL_TABLE_HAS (desc, TlPluginDesc, get_extension, 0) &&
         TL_TABLE_HAS (&ds_def, TlDatasetDef, read, 0) &&
         !TL_TABLE_HAS (&ds_def, TlDatasetDef, get_extension, 1);
}
EOF

# macro_test N DESCRIPTION COMPILER FLAGS...: compiles plugin.c (as .cc for
# C++) and checks that tl_plugin_query is defined, unmangled
macro_test () {
  num=$1; desc=$2; shift 2
  case "$1" in "$CXX") src="$tmp/plugin.cc"; cp "$tmp/plugin.c" "$src" ;; *) src="$tmp/plugin.c" ;; esac
  if ! "$@" -c "$src" -o "$tmp/p.o" 2>"$tmp/err"; then
    echo "not ok $num - $desc"; sed 's/^/# /' "$tmp/err" | head -20
  elif ! command -v "$NM" >/dev/null 2>&1; then
    echo "ok $num - $desc (symbol not checked: no $NM)"
  elif ! "$NM" -g "$tmp/p.o" | grep -q ' T tl_plugin_query$'; then
    echo "not ok $num - $desc: tl_plugin_query is not exported with C linkage"
    "$NM" -g "$tmp/p.o" | sed 's/^/# /'
  else
    echo "ok $num - $desc"
  fi
}

what="a plugin using TL_PLUGIN_DEFINE, TL_TABLE_INIT, TL_TABLE_HAS"
macro_test $((i + 1)) "$what (C11 -pedantic-errors)" $CC $cflags
if [ "$cxx_ok" = no ]; then
  echo "ok $((i + 2)) - $what (C++11) # SKIP no C++ compiler ($CXX)"
  echo "ok $((i + 3)) - $what (C++17) # SKIP no C++ compiler ($CXX)"
  echo "ok $((i + 4)) - $what (C++20) # SKIP no C++ compiler ($CXX)"
else
  macro_test $((i + 2)) "$what (C++11 -pedantic, positional initialisers)" \
    $CXX -std=c++11 $cxxflags -DTL_TEST_POSITIONAL
  # g++ 12 warns under -Wextra about members a C++ designated initialiser
  # leaves out (C does not): the plugin's own choice, not the SDK's
  macro_test $((i + 3)) "$what (C++17, designated initialisers as an extension)" \
    $CXX -std=c++17 -Wall -Wextra -Werror -Wno-missing-field-initializers -Wno-pedantic \
    -I"$srcdir/sdk-headers" $flags
  if echo 'int x;' | $CXX -std=c++20 -x c++ -c - -o "$tmp/x.o" 2>/dev/null; then
    macro_test $((i + 4)) "$what (C++20 -pedantic, designated initialisers)" \
      $CXX -std=c++20 $cxxflags -Wno-missing-field-initializers
  else
    echo "ok $((i + 4)) - $what (C++20) # SKIP $CXX has no -std=c++20"
  fi
fi

# The examples of the header comments (see the top of this file).
i=$((i + 5))
if [ -s "$tmp/examples/errors" ] || [ "$n_examples" -eq 0 ]; then
  echo "not ok $i - header comment examples are well marked (found $n_examples)"
  sed 's/^/# /' "$tmp/examples/errors" 2>/dev/null
else
  echo "ok $i - header comment examples are well marked (found $n_examples)"
fi
exflags="-std=gnu11 -Wall -Wextra -Werror -Wincompatible-pointer-types -Wno-unused-parameter"
exflags="$exflags -Wno-unused-variable -Wno-unused-but-set-variable -Wno-unused-function"
exflags="$exflags -Wno-unused-const-variable -I$srcdir/sdk-headers $flags"
while read -r name h; do
  i=$((i + 1))
  if $CC $exflags -c "$tmp/examples/$name.c" -o "$tmp/ex.o" 2>"$tmp/err"; then
    echo "ok $i - example $name of $h compiles"
  else
    echo "not ok $i - example $name of $h compiles"
    sed 's/^/# /' "$tmp/err" | head -30
  fi
done < "$tmp/examples/list"
