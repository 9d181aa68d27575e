/* checks-plugin.c — plugin-level checks (manifest, descriptor, exported
 * symbols, ABI) and the checks every component gets (create/destroy
 * lifecycle, close/destroy(NULL), parameter ranges: out-of-range values
 * refused, declared ones accepted). */
#include "config.h"

#include <elf.h>
#include <string.h>
#include <gmodule.h>
#include <libxml/parser.h>
#include <libxml/relaxng.h>

#include "conformance.h"

#ifndef TL_SCHEMADIR
#define TL_SCHEMADIR ""
#endif

static gboolean
is_builtin (const TlPluginInfo *p)
{
  return tl_plugin_info_library_path (p) == NULL && g_strcmp0 (tl_plugin_info_id (p), "tl") == 0;
}

/* TRUE when no problem was collected in `errs` (lines, each ending in a
 * newline); otherwise FALSE with them as one error of `code`. */
static gboolean
report_errs (GString *errs, gint code, GError **error)
{
  if (!errs->len)
    return TRUE;
  g_string_truncate (errs, errs->len - 1);
  g_set_error_literal (error, TL_ERROR, code, errs->str);
  return FALSE;
}

/* --- manifest ------------------------------------------------------------- */

static char *
find_schema (const char *name)
{
  /* $TL_SCHEMA_DIR, the source tree's when libtl-1 runs from its build tree
   * (the registry's rule for tl-plugin-scanner), the installed copy: an
   * installed tlhost never reads the source tree's */
  const char *dirs[] = { g_getenv ("TL_SCHEMA_DIR"),
#ifdef TL_SRCDIR
                         _tl_registry_uninstalled () ? TL_SRCDIR "/sdk-headers/schema" : NULL,
#endif
                         TL_SCHEMADIR, NULL };
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++) {
    if (!dirs[i] || !*dirs[i])
      continue;
    char *p = g_build_filename (dirs[i], name, NULL);
    if (g_file_test (p, G_FILE_TEST_EXISTS))
      return p;
    g_free (p);
  }
  return NULL;
}

static void
collect_rng_error (void *ctx, const char *fmt, ...)
{
  GString *s = ctx;
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *m = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (s->len < 4096)
    g_string_append (s, m);
}

static gboolean
check_manifest (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  const TlPluginInfo *p = s->plugin;
  if (tl_plugin_info_status (p) == TL_PLUGIN_STATUS_SKIPPED) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "the registry refused the plugin: %s",
                 tl_plugin_info_skip_reason (p));
    return FALSE;
  }
  if (is_builtin (p)) {
    tlc_note ("built-in manifest: validated when libtl-1 is built");
    return TRUE;
  }
  const char *path = tl_plugin_info_manifest_path (p);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *want = g_strdup_printf ("%s.tlplugin.xml", tl_plugin_info_id (p));
  if (!g_str_equal (base, want))
    tlc_warn ("manifest file is named %s; expected %s", base, want);
  if (!tl_plugin_info_license (p) || !*tl_plugin_info_license (p))
    tlc_warn ("manifest has no license");
  if (!tl_plugin_info_description (p) || !*tl_plugin_info_description (p))
    tlc_warn ("manifest has no <description>");

  g_autofree char *schema_path = find_schema ("tl-plugin.rng");
  if (!schema_path) {
    tlc_warn ("schema tl-plugin.rng not found (installed in %s; $TL_SCHEMA_DIR overrides): checked the "
              "manifest with the registry's parser only", *TL_SCHEMADIR ? TL_SCHEMADIR : "no directory");
    return TRUE;
  }
  g_autoptr (GString) errs = g_string_new (NULL);
  xmlRelaxNGParserCtxtPtr pctx = xmlRelaxNGNewParserCtxt (schema_path);
  xmlRelaxNGSetParserErrors (pctx, collect_rng_error, collect_rng_error, errs);
  xmlRelaxNGPtr schema = xmlRelaxNGParse (pctx);
  xmlRelaxNGFreeParserCtxt (pctx);
  if (!schema) {
    tlc_warn ("%s: cannot read the schema: %s", schema_path, errs->str);
    return TRUE;
  }
  /* The registry already read this manifest with the hardened parser; read
   * it again without network access or entity substitution. */
  xmlDocPtr doc = xmlReadFile (path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  gboolean ok = FALSE;
  if (!doc) {
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "%s: not well-formed", path);
  } else {
    xmlRelaxNGValidCtxtPtr vctx = xmlRelaxNGNewValidCtxt (schema);
    xmlRelaxNGSetValidErrors (vctx, collect_rng_error, collect_rng_error, errs);
    ok = xmlRelaxNGValidateDoc (vctx, doc) == 0;
    xmlRelaxNGFreeValidCtxt (vctx);
    xmlFreeDoc (doc);
    if (ok)
      tlc_note ("valid against %s", schema_path);
    else
      g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "%s: not valid against %s: %s", path, schema_path,
                   g_strstrip (errs->str));
  }
  xmlRelaxNGFree (schema);
  return ok;
}

/* --- descriptor -------------------------------------------------------------- */

static const TlPluginDesc *
open_descriptor (const TlPluginInfo *p, GModule **module, GError **error)
{
  const char *lib = tl_plugin_info_library_path (p);
  if (!lib) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "the manifest's library was not found");
    return NULL;
  }
  *module = g_module_open (lib, G_MODULE_BIND_LOCAL);
  if (!*module) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "%s: %s", lib, g_module_error ());
    return NULL;
  }
  gpointer sym = NULL;
  if (!g_module_symbol (*module, TL_PLUGIN_ENTRY_SYMBOL, &sym) || !sym) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "%s: no symbol %s", lib, TL_PLUGIN_ENTRY_SYMBOL);
    return NULL;
  }
  const TlPluginDesc *d = ((TlPluginQueryFunc) sym) ();
  if (!d)
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "%s: %s() returned NULL", lib, TL_PLUGIN_ENTRY_SYMBOL);
  return d;
}

static gboolean
check_descriptor (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  const TlPluginInfo *p = s->plugin;
  if (is_builtin (p)) {
    tlc_skip ("built-in plugin (its descriptor is compiled into libtl-1)");
    return TRUE;
  }
  GModule *module = NULL;
  const TlPluginDesc *d = open_descriptor (p, &module, error);
  if (!d)
    return FALSE;
  g_autoptr (GString) errs = g_string_new (NULL);
  if (g_strcmp0 (d->id, tl_plugin_info_id (p)) != 0)
    g_string_append_printf (errs, "descriptor id '%s' != manifest id '%s'\n", d->id, tl_plugin_info_id (p));
  if (g_strcmp0 (d->version, tl_plugin_info_version (p)) != 0)
    g_string_append_printf (errs, "descriptor version '%s' != manifest version '%s'\n", d->version,
                            tl_plugin_info_version (p));
  guint n_desc = 0;
  for (const TlComponent *c = d->components; c && c->kind != TL_COMPONENT_NONE; c++) {
    n_desc++;
    gboolean found = FALSE;
    for (guint i = 0; i < tl_plugin_info_n_components (p); i++) {
      const TlComponentInfo *mi = tl_plugin_info_component (p, i);
      if (g_strcmp0 (tl_component_info_name (mi), c->name) == 0) {
        found = TRUE;
        if ((guint) tl_component_info_kind (mi) != c->kind)
          g_string_append_printf (errs, "component '%s' is a %s in the descriptor, a %s in the manifest\n",
                                  c->name, tl_component_kind_name (c->kind),
                                  tl_component_kind_name (tl_component_info_kind (mi)));
      }
    }
    if (!found)
      g_string_append_printf (errs, "descriptor component '%s' is not in the manifest\n", c->name);
    if (!c->table)
      g_string_append_printf (errs, "descriptor component '%s' has no table\n", c->name);
    if (n_desc > 10000)
      break;
  }
  for (guint i = 0; i < tl_plugin_info_n_components (p); i++) {
    const TlComponentInfo *mi = tl_plugin_info_component (p, i);
    gboolean found = FALSE;
    for (const TlComponent *c = d->components; c && c->kind != TL_COMPONENT_NONE; c++)
      found = found || g_strcmp0 (c->name, tl_component_info_name (mi)) == 0;
    if (!found)
      g_string_append_printf (errs, "manifest component '%s' is not in the descriptor\n",
                              tl_component_info_name (mi));
  }
  return report_errs (errs, TL_ERROR_PLUGIN, error);
}

static gboolean
check_abi (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  const TlPluginInfo *p = s->plugin;
  if (!is_builtin (p)) {
    GModule *module = NULL;
    const TlPluginDesc *d = open_descriptor (p, &module, error);
    if (!d)
      return FALSE;
    if (d->abi_major != TL_ABI_MAJOR || d->abi_minor > TL_ABI_MINOR || d->min_host_minor > TL_ABI_MINOR) {
      g_set_error (error, TL_ERROR, TL_ERROR_ABI, "plugin ABI %u.%u (needs host minor %u); host is %d.%d",
                   d->abi_major, d->abi_minor, d->min_host_minor, TL_ABI_MAJOR, TL_ABI_MINOR);
      return FALSE;
    }
    if (d->struct_size < offsetof (TlPluginDesc, components) + sizeof (void *)) {
      g_set_error (error, TL_ERROR, TL_ERROR_ABI, "descriptor struct_size %u is too small", d->struct_size);
      return FALSE;
    }
    for (const TlComponent *c = d->components; c && c->kind != TL_COMPONENT_NONE; c++) {
      const TlTableHeader *h = c->table;
      if (h && (h->abi_major != TL_ABI_MAJOR || h->abi_minor > TL_ABI_MINOR || h->struct_size < 8 ||
                h->struct_size > 65536)) {
        g_set_error (error, TL_ERROR, TL_ERROR_ABI, "table of '%s': ABI %u.%u, struct_size %u", c->name,
                     h->abi_major, h->abi_minor, h->struct_size);
        return FALSE;
      }
    }
  }
  for (guint i = 0; i < tl_plugin_info_n_components (p); i++)
    if (!tlc_load (s, tl_plugin_info_component (p, i), error))
      return FALSE;
  return TRUE;
}

/* --- exported symbols (ELF .dynsym) ------------------------------------------- */

static gboolean
allowed_symbol (const char *name)
{
  static const char *const ok[] = { TL_PLUGIN_ENTRY_SYMBOL, "_init", "_fini", "_edata", "_end",
                                    "__bss_start", "_DYNAMIC", "_GLOBAL_OFFSET_TABLE_", NULL };
  return g_strv_contains (ok, name);
}

#define IN_FILE(off, size, len) ((off) <= (len) && (size) <= (len) - (off))

/* List defined global/weak FUNC/OBJECT symbols of an ELF64 shared object. */
static gboolean
elf_exports (const guint8 *data, gsize len, GPtrArray *out, GError **error)
{
  if (len < sizeof (Elf64_Ehdr) || memcmp (data, ELFMAG, SELFMAG) != 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "not an ELF file");
    return FALSE;
  }
  if (data[EI_CLASS] != ELFCLASS64) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "only 64-bit ELF is supported");
    return FALSE;
  }
  Elf64_Ehdr eh;
  memcpy (&eh, data, sizeof eh);
  if (eh.e_shentsize != sizeof (Elf64_Shdr) || !IN_FILE (eh.e_shoff, (guint64) eh.e_shnum * sizeof (Elf64_Shdr), len)) {
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "bad section header table");
    return FALSE;
  }
  const Elf64_Shdr *sh = (const Elf64_Shdr *) (data + eh.e_shoff);
  gboolean found = FALSE;
  for (guint i = 0; i < eh.e_shnum; i++) {
    Elf64_Shdr s;
    memcpy (&s, &sh[i], sizeof s);
    if (s.sh_type != SHT_DYNSYM)
      continue;
    found = TRUE;
    if (s.sh_link >= eh.e_shnum || s.sh_entsize != sizeof (Elf64_Sym) || !IN_FILE (s.sh_offset, s.sh_size, len)) {
      g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "bad .dynsym section");
      return FALSE;
    }
    Elf64_Shdr str;
    memcpy (&str, &sh[s.sh_link], sizeof str);
    if (!IN_FILE (str.sh_offset, str.sh_size, len)) {
      g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "bad .dynstr section");
      return FALSE;
    }
    const char *strtab = (const char *) data + str.sh_offset;
    guint64 n = s.sh_size / sizeof (Elf64_Sym);
    for (guint64 k = 0; k < n; k++) {
      Elf64_Sym sym;
      memcpy (&sym, data + s.sh_offset + k * sizeof (Elf64_Sym), sizeof sym);
      int bind = ELF64_ST_BIND (sym.st_info), type = ELF64_ST_TYPE (sym.st_info);
      if (sym.st_shndx == SHN_UNDEF || (bind != STB_GLOBAL && bind != STB_WEAK && bind != STB_GNU_UNIQUE))
        continue;
      if (type != STT_FUNC && type != STT_OBJECT && type != STT_GNU_IFUNC && type != STT_TLS)
        continue;
      if (ELF64_ST_VISIBILITY (sym.st_other) != STV_DEFAULT && ELF64_ST_VISIBILITY (sym.st_other) != STV_PROTECTED)
        continue;
      if (sym.st_name >= str.sh_size || !memchr (strtab + sym.st_name, '\0', str.sh_size - sym.st_name))
        continue;
      g_ptr_array_add (out, g_strdup (strtab + sym.st_name));
    }
  }
  if (!found) {
    g_set_error (error, TL_ERROR, TL_ERROR_PARSE, "no .dynsym section");
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_symbols (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  const char *lib = tl_plugin_info_library_path (s->plugin);
  if (!lib && is_builtin (s->plugin)) {
    tlc_skip ("no library (built-in plugin)");
    return TRUE;
  }
  if (!lib) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "the manifest's library was not found");
    return FALSE;
  }
  g_autofree char *data = NULL;
  gsize len = 0;
  if (!g_file_get_contents (lib, &data, &len, error))
    return FALSE;
  g_autoptr (GPtrArray) syms = g_ptr_array_new_with_free_func (g_free);
  if (!elf_exports ((const guint8 *) data, len, syms, error)) {
    g_prefix_error (error, "%s: ", lib);
    return FALSE;
  }
  g_autoptr (GString) extra = g_string_new (NULL);
  guint n_extra = 0;
  gboolean has_entry = FALSE;
  for (guint i = 0; i < syms->len; i++) {
    const char *name = syms->pdata[i];
    if (g_str_equal (name, TL_PLUGIN_ENTRY_SYMBOL))
      has_entry = TRUE;
    if (allowed_symbol (name))
      continue;
    if (n_extra++ < 20)
      g_string_append_printf (extra, "%s%s", extra->len ? ", " : "", name);
  }
  if (!has_entry) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "%s does not export %s", lib, TL_PLUGIN_ENTRY_SYMBOL);
    return FALSE;
  }
  if (n_extra > 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN,
                 "%s exports %u symbol%s besides %s: %s%s (build with -fvisibility=hidden)", lib, n_extra,
                 n_extra == 1 ? "" : "s", TL_PLUGIN_ENTRY_SYMBOL, extra->str, n_extra > 20 ? ", ..." : "");
    return FALSE;
  }
  return TRUE;
}

static gboolean check_lifecycle_all (TlcSuite *s, const TlComponentInfo *unused, GError **error);

void
tlc_checks_plugin (TlcSuite *s)
{
  tlc_run (s, "manifest: valid", check_manifest, NULL);
  tlc_run (s, "manifest: consistent with the descriptor", check_descriptor, NULL);
  tlc_run (s, "library: only the entry symbol exported", check_symbols, NULL);
  tlc_run (s, "abi: accepted", check_abi, NULL);
  tlc_run (s, "components: all alive together, destroyed in odd orders", check_lifecycle_all, NULL);
}

/* --- every component: lifecycle and parameters ------------------------------ */

static gboolean
check_op_registered (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  const TlOpDef *def = tlc_load (s, ci, error);
  if (!def)
    return FALSE;
  if (!def->name || !def->infer || !def->forward_cpu) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "op table lacks name, infer or forward_cpu");
    return FALSE;
  }
  if (!g_str_equal (def->name, tl_component_info_full_name (ci)))
    tlc_warn ("op table name '%s' differs from the component's full name '%s'", def->name,
              tl_component_info_full_name (ci));
  if (tl_op_lookup (def->name) != def) {
    g_set_error (error, TL_ERROR, TL_ERROR_PLUGIN, "op '%s' is not in the op registry after loading", def->name);
    return FALSE;
  }
  return TRUE;
}

typedef gboolean (*LifecycleFunc) (TlcSuite *s, const TlComponentInfo *ci, TlParams *p, GError **error);

/* Runs `body` with the component's default parameters; TRUE (skipped) when
 * a parameter has no default. */
static gboolean
with_default_params (TlcSuite *s, const TlComponentInfo *ci, LifecycleFunc body, GError **error)
{
  GError *local = NULL;
  TlParams *p = tlc_default_params (ci, &local);
  if (!p) {
    if (!local)
      return TRUE; /* skipped: required parameters */
    g_propagate_error (error, local);
    return FALSE;
  }
  gboolean ok = body (s, ci, p, error);
  tl_params_free (p);
  return ok;
}

static gboolean
lifecycle_repeat (TlcSuite *s, const TlComponentInfo *ci, TlParams *p, GError **error)
{
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < 3; i++) {
    gpointer inst = tlc_create (s, ci, p, error);
    ok = inst != NULL;
    tlc_destroy (ci, inst);
  }
  return ok;
}

static gboolean
check_lifecycle_repeat (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  return with_default_params (s, ci, lifecycle_repeat, error);
}

static gboolean
lifecycle_odd (TlcSuite *s, const TlComponentInfo *ci, TlParams *p, GError **error)
{
  gboolean ok = FALSE;
  gpointer a = NULL, b = NULL, c = NULL;
  a = tlc_create (s, ci, p, error);
  if (!a)
    goto out;
  b = tlc_create (s, ci, p, error);
  if (!b)
    goto out;
  tlc_destroy (ci, a); /* first created, first destroyed */
  a = NULL;
  c = tlc_create (s, ci, p, error);
  if (!c)
    goto out;
  tlc_destroy (ci, b);
  b = NULL;
  tlc_destroy (ci, c);
  c = NULL;
  ok = TRUE;
out:
  tlc_destroy (ci, c);
  tlc_destroy (ci, b);
  tlc_destroy (ci, a);
  return ok;
}

static gboolean
check_lifecycle_odd (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  return with_default_params (s, ci, lifecycle_odd, error);
}

/* A value must be refused with an error that names the parameter. */
static void
expect_refused (const TlComponentInfo *ci, const TlParamSpec *sp, const char *value, const char *what,
                GString *errs)
{
  const char *name = tl_param_spec_name (sp);
  const char *names[1] = { name };
  const char *values[1] = { value };
  g_autoptr (GError) e = NULL;
  TlParams *p = tl_component_info_make_params (ci, 1, names, values, NULL, &e);
  if (p) {
    g_string_append_printf (errs, "%s=%s (%s) was accepted\n", name, value, what);
    tl_params_free (p);
  } else if (!strstr (e->message, name)) {
    g_string_append_printf (errs, "%s=%s refused, but the message does not name the parameter: %s\n", name,
                            value, e->message);
  }
}

/* The int or float parameter bound `bound` plus `delta`, as text. (transfer full) */
static char *
bound_plus (TlParamType t, const char *bound, gint delta)
{
  if (t == TL_PARAM_INT)
    return g_strdup_printf ("%" G_GINT64_FORMAT, g_ascii_strtoll (bound, NULL, 10) + delta);
  return g_strdup_printf ("%.17g", g_ascii_strtod (bound, NULL) + (double) delta);
}

/* A value every other required parameter can take, so one parameter can
 * be set alone: its min, else its max, else one of its choices, else a
 * value of its type. */
static const char *
filler_value (const TlParamSpec *sp)
{
  const char *const *choices = tl_param_spec_choices (sp);
  if (tl_param_spec_min (sp))
    return tl_param_spec_min (sp);
  if (tl_param_spec_max (sp))
    return tl_param_spec_max (sp);
  if (choices && choices[0])
    return choices[0];
  switch (tl_param_spec_type (sp)) {
  case TL_PARAM_INT:
  case TL_PARAM_FLOAT:
    return "0";
  case TL_PARAM_BOOL:
    return "false";
  default:
    return "x";
  }
}

/* A declared value (min, max, default, a choice) set explicitly must be
 * accepted; every other parameter without a default gets a filler. */
static void
expect_accepted (const TlComponentInfo *ci, const TlParamSpec *sp, const char *value, const char *what,
                 GString *errs)
{
  guint n = tl_component_info_n_params (ci);
  g_autofree const char **names = g_new0 (const char *, n);
  g_autofree const char **values = g_new0 (const char *, n);
  guint k = 0;
  names[k] = tl_param_spec_name (sp);
  values[k++] = value;
  for (guint i = 0; i < n; i++) {
    const TlParamSpec *other = tl_component_info_param (ci, i);
    if (other == sp || tl_param_spec_default (other))
      continue;
    names[k] = tl_param_spec_name (other);
    values[k++] = filler_value (other);
  }
  g_autoptr (GError) e = NULL;
  TlParams *p = tl_component_info_make_params (ci, k, names, values, NULL, &e);
  if (!p)
    g_string_append_printf (errs, "%s=%s (%s, set explicitly) was refused: %s\n", tl_param_spec_name (sp), value,
                            what, e ? e->message : "no message");
  tl_params_free (p);
}

static gboolean
check_params (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  guint n = tl_component_info_n_params (ci);
  if (n == 0) {
    tlc_note ("no parameters");
    return TRUE;
  }
  g_autoptr (GString) errs = g_string_new (NULL);
  for (guint i = 0; i < n; i++) {
    const TlParamSpec *sp = tl_component_info_param (ci, i);
    TlParamType t = tl_param_spec_type (sp);
    const char *min = tl_param_spec_min (sp), *max = tl_param_spec_max (sp);
    const char *dflt = tl_param_spec_default (sp);
    const char *const *choices = tl_param_spec_choices (sp);
    if (min)
      expect_accepted (ci, sp, min, "min", errs);
    if (max)
      expect_accepted (ci, sp, max, "max", errs);
    if (dflt)
      expect_accepted (ci, sp, dflt, "default", errs);
    for (guint c = 0; choices && choices[c]; c++)
      expect_accepted (ci, sp, choices[c], "a choice", errs);
    if (t == TL_PARAM_INT || t == TL_PARAM_FLOAT) {
      if (min) {
        g_autofree char *v = bound_plus (t, min, -1);
        expect_refused (ci, sp, v, "min - 1", errs);
      }
      if (max) {
        g_autofree char *v = bound_plus (t, max, 1);
        expect_refused (ci, sp, v, "max + 1", errs);
      }
      expect_refused (ci, sp, "not-a-number", "wrong type", errs);
      if (t == TL_PARAM_INT)
        expect_refused (ci, sp, "1.5", "not an integer", errs);
    } else if (t == TL_PARAM_BOOL) {
      expect_refused (ci, sp, "maybe", "wrong type", errs);
    } else if (t == TL_PARAM_CHOICE) {
      expect_refused (ci, sp, "no-such-choice-xyz", "bad choice", errs);
    }
  }
  return report_errs (errs, TL_ERROR_INVALID_ARGUMENT, error);
}

/* Instances of all the plugin's components alive together, destroyed in
 * creation order, then created again and destroyed in reverse order. */
static gboolean
check_lifecycle_all (TlcSuite *s, const TlComponentInfo *unused, GError **error)
{
  const TlPluginInfo *p = s->plugin;
  g_autoptr (GPtrArray) cis = g_ptr_array_new ();
  g_autoptr (GPtrArray) params = g_ptr_array_new_with_free_func ((GDestroyNotify) tl_params_free);
  for (guint i = 0; i < tl_plugin_info_n_components (p); i++) {
    const TlComponentInfo *ci = tl_plugin_info_component (p, i);
    if (tl_component_info_kind (ci) == TL_COMPONENT_OP)
      continue;
    gboolean required = FALSE;
    for (guint k = 0; k < tl_component_info_n_params (ci); k++)
      required = required || !tl_param_spec_default (tl_component_info_param (ci, k));
    if (required)
      continue;
    TlParams *pp = tlc_make_params (ci, NULL, error);
    if (!pp)
      return FALSE;
    g_ptr_array_add (cis, (gpointer) ci);
    g_ptr_array_add (params, pp);
  }
  if (cis->len < 2) {
    tlc_skip ("fewer than two components creatable with defaults");
    return TRUE;
  }
  gpointer *inst = g_new0 (gpointer, cis->len);
  gboolean ok = TRUE;
  for (guint round = 0; ok && round < 2; round++) {
    for (guint i = 0; ok && i < cis->len; i++) {
      inst[i] = tlc_create (s, cis->pdata[i], params->pdata[i], error);
      ok = inst[i] != NULL;
    }
    for (guint k = 0; k < cis->len; k++) {
      guint i = round == 0 ? k : cis->len - 1 - k; /* FIFO, then LIFO */
      tlc_destroy (cis->pdata[i], inst[i]);
      inst[i] = NULL;
    }
  }
  g_free (inst);
  return ok;
}

/* tl-dataset.h, tl-model.h, tl-planner.h: close()/destroy() are NULL-safe.
 * Called on the raw table (the host wrappers never pass NULL); a crash
 * fails this check only. */
static gboolean
check_destroy_null (TlcSuite *s, const TlComponentInfo *ci, GError **error)
{
  const void *table = tlc_load (s, ci, error);
  if (!table)
    return FALSE;
  switch (tl_component_info_kind (ci)) {
  case TL_COMPONENT_DATASET: {
    const TlDatasetDef *d = table;
    if (d->close)
      d->close (NULL);
    break;
  }
  case TL_COMPONENT_MODEL: {
    const TlModelDef *d = table;
    if (d->destroy)
      d->destroy (NULL);
    break;
  }
  case TL_COMPONENT_PLANNER: {
    const TlPlannerDef *d = table;
    if (d->destroy)
      d->destroy (NULL);
    break;
  }
  default:
    break;
  }
  return TRUE;
}

void
tlc_checks_component (TlcSuite *s, const TlComponentInfo *ci)
{
  const char *name = tl_component_info_full_name (ci);
  g_autofree char *n1 = g_strdup_printf ("%s: create/destroy with defaults, repeatedly", name);
  g_autofree char *n2 = g_strdup_printf ("%s: create/destroy in odd orders", name);
  g_autofree char *n3 = g_strdup_printf ("%s: parameter ranges enforced, declared values accepted", name);
  if (tl_component_info_kind (ci) == TL_COMPONENT_OP) {
    g_autofree char *n0 = g_strdup_printf ("%s: registered in the op registry", name);
    tlc_run (s, n0, check_op_registered, ci);
  } else {
    tlc_run (s, n1, check_lifecycle_repeat, ci);
    tlc_run (s, n2, check_lifecycle_odd, ci);
    g_autofree char *n4 = g_strdup_printf ("%s: %s(NULL) is a no-op", name,
                                           tl_component_info_kind (ci) == TL_COMPONENT_DATASET ? "close"
                                                                                               : "destroy");
    tlc_run (s, n4, check_destroy_null, ci);
  }
  tlc_run (s, n3, check_params, ci);
}
