#!/bin/sh
# Every SDK header compiles on its own, as C11 and as C++11, with warnings as
# errors and -pedantic: the SDK is self-contained. Then a minimal plugin that
# uses the macros third-party plugins use (TL_PLUGIN_DEFINE, TL_TABLE_INIT,
# TL_TABLE_HAS) compiles as C11, strict C++11 (the positional macros), C++17
# with the designated macros (a g++/clang++ extension before C++20) and C++20,
# and exports tl_plugin_query with C linkage. TAP output.
srcdir=${TL_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
CC=${CC:-cc}
CXX=${CXX:-c++}
NM=${NM:-nm}
flags=$(pkg-config --cflags glib-2.0 gmodule-2.0)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
headers=$(cd "$srcdir/sdk-headers" && ls tl/*.h)
n=4
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
