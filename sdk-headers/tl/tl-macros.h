/* tl-macros.h — visibility, linkage and ABI-table helpers.
 *
 * Part of the tl SDK (tl-1). Self-contained; included by every other tl header.
 */
#ifndef TL_MACROS_H
#define TL_MACROS_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
#define TL_BEGIN_DECLS extern "C" {
#define TL_END_DECLS }
#else
#define TL_BEGIN_DECLS
#define TL_END_DECLS
#endif

/* TL_API marks a public libtl-1 symbol. libtl is built with -fvisibility=hidden,
 * so anything not marked is internal. */
#if defined(__GNUC__)
#define TL_API __attribute__((visibility("default")))
#else
#define TL_API
#endif

/* TL_PLUGIN_EXPORT marks the single exported entry symbol of a plugin. */
#define TL_PLUGIN_EXPORT TL_API

/* ABI version of this SDK. A host accepts a plugin whose abi_major equals
 * TL_ABI_MAJOR and whose abi_minor is <= the host's TL_ABI_MINOR. */
#define TL_ABI_MAJOR 1
#define TL_ABI_MINOR 0

/* Every table a plugin implements starts with this header. struct_size is
 * sizeof() the table as the plugin compiled it; the host never reads past it
 * and calls a slot added in minor N only if abi_minor >= N. */
#define TL_TABLE_HEADER \
  uint32_t struct_size;  \
  uint16_t abi_major;    \
  uint16_t abi_minor

/* Initialiser for TL_TABLE_HEADER, with designated initialisers:
 *   static const TlOpDef my_op = { TL_TABLE_INIT(TlOpDef), .name = "x", ... };
 * for C11 and C++20 (and C++ compilers that take designated initialisers
 * earlier as an extension, as g++ and clang++ do). Strict C++11 to C++17
 * has none: there use TL_TABLE_INIT_POSITIONAL and list the slots that
 * follow positionally too (C++ allows no mix of the two styles):
 *   static const TlOpDef my_op = { TL_TABLE_INIT_POSITIONAL(TlOpDef), "x", ... }; */
#define TL_TABLE_INIT(Type) \
  .struct_size = sizeof(Type), .abi_major = TL_ABI_MAJOR, .abi_minor = TL_ABI_MINOR
#define TL_TABLE_INIT_POSITIONAL(Type) sizeof(Type), TL_ABI_MAJOR, TL_ABI_MINOR

/* Generic view of any table's header. */
typedef struct {
  TL_TABLE_HEADER;
} TlTableHeader;

/* TRUE when a table (header + declared size/minor) provides the slot `field`
 * that was added in ABI minor `minor`. */
#define TL_TABLE_HAS(table, Type, field, minor)                                       \
  ((table) != NULL && (table)->abi_minor >= (minor) &&                                \
   (table)->struct_size >= offsetof(Type, field) + sizeof(((Type *)0)->field))

#define TL_MAX_DIMS 8

/* Compile-time checks that keep released struct layouts (C11 and C++11).
 * The SDK headers compile alone as C11 and as C++11 or later, -pedantic;
 * TL_TABLE_INIT and TL_PLUGIN_DEFINE need designated initialisers (C11,
 * C++20, or a C++ compiler's extension), TL_TABLE_INIT_POSITIONAL and
 * TL_PLUGIN_DEFINE_POSITIONAL work in strict C++11: see
 * tests/test-headers.sh. */
#ifdef __cplusplus
#define TL_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define TL_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

#endif /* TL_MACROS_H */
