/* tl-parity-dump — run every parity case and dump .npy files + cases.json.
 *
 *   tl-parity-dump OUTDIR [NAME-SUBSTRING]
 *
 * Per case, OUTDIR/<name>/ holds in<i>.npy, out<k>.npy, gout<k>.npy (the
 * random upstream gradient of f32 outputs) and gin<i>.npy (the gradient of
 * float inputs). OUTDIR/cases.json lists the cases with op, attrs, tolerance
 * and file names; a case that failed carries "error" instead. Exit status 0
 * when every case ran. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "parity.h"

/* Weak fallback so the dump links before cases-nn.c exists. */
__attribute__ ((weak)) const TlParityCase *
tl_parity_cases_nn (guint *n)
{
  *n = 0;
  return NULL;
}

static const char *
npy_descr (TlDType dt)
{
  switch (dt) {
  case TL_DTYPE_F32: return "<f4";
  case TL_DTYPE_F64: return "<f8";
  case TL_DTYPE_F16: return "<f2";
  case TL_DTYPE_I8: return "|i1";
  case TL_DTYPE_I32: return "<i4";
  case TL_DTYPE_I64: return "<i8";
  case TL_DTYPE_U8: return "|u1";
  case TL_DTYPE_BOOL: return "|b1";
  default: return NULL;
  }
}

/* Write t as NumPy .npy v1.0 (atomically, via g_file_set_contents). */
static gboolean
write_npy (const char *path, TlTensor *t, GError **error)
{
  const char *descr = npy_descr (tl_tensor_dtype (t));
  if (!descr) {
    g_set_error (error, TL_ERROR, TL_ERROR_UNSUPPORTED, "%s: no .npy type for dtype %s", path,
                 tl_dtype_name (tl_tensor_dtype (t)));
    return FALSE;
  }
  TlTensor *c = tl_tensor_contiguous (t, error);
  if (!c)
    return FALSE;
  GString *h = g_string_new (NULL);
  g_string_append_printf (h, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (guint i = 0; i < tl_tensor_ndim (c); i++)
    g_string_append_printf (h, "%" G_GINT64_FORMAT "%s", tl_tensor_shape (c)[i],
                            tl_tensor_ndim (c) == 1 ? "," : (i + 1 < tl_tensor_ndim (c) ? ", " : ""));
  g_string_append (h, "), }");
  while ((10 + h->len + 1) % 64 != 0)
    g_string_append_c (h, ' ');
  g_string_append_c (h, '\n');
  gsize nbytes = tl_tensor_nbytes (c);
  gsize total = 10 + h->len + nbytes;
  guint8 *buf = g_malloc (total);
  memcpy (buf, "\x93NUMPY\x01\x00", 8);
  buf[8] = (guint8) (h->len & 0xff);
  buf[9] = (guint8) (h->len >> 8);
  memcpy (buf + 10, h->str, h->len);
  if (nbytes)
    memcpy (buf + 10 + h->len, tl_tensor_const_data (c), nbytes);
  gboolean ok = g_file_set_contents (path, (const char *) buf, total, error);
  g_free (buf);
  g_string_free (h, TRUE);
  tl_tensor_unref (c);
  return ok;
}

static void
json_string (GString *s, const char *str)
{
  g_string_append_c (s, '"');
  for (const char *p = str; *p; p++) {
    if (*p == '"' || *p == '\\')
      g_string_append_c (s, '\\');
    if ((guchar) *p < 0x20)
      g_string_append_printf (s, "\\u%04x", (guchar) *p);
    else
      g_string_append_c (s, *p);
  }
  g_string_append_c (s, '"');
}

static void
json_double (GString *s, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append (s, g_ascii_dtostr (buf, sizeof buf, v));
}

/* The attributes as a JSON object; numbers and lists in libtl's canonical
 * text (tl_attrs_value_to_string: JSON numbers and arrays). */
static void
json_attrs (GString *s, const TlAttrs *a)
{
  g_string_append_c (s, '{');
  for (guint i = 0; i < tl_attrs_size (a); i++) {
    const char *k = tl_attrs_key (a, i);
    if (i)
      g_string_append (s, ", ");
    json_string (s, k);
    g_string_append (s, ": ");
    TlAttrType type = tl_attrs_type (a, k);
    if (type == TL_ATTR_STRING) {
      json_string (s, tl_attrs_get_string (a, k, ""));
    } else if (type == TL_ATTR_INT || type == TL_ATTR_FLOAT || type == TL_ATTR_INTS ||
               type == TL_ATTR_FLOATS) {
      g_autofree char *v = tl_attrs_value_to_string (a, k);
      g_string_append (s, v);
    } else {
      g_string_append (s, "null");
    }
  }
  g_string_append_c (s, '}');
}

/* Write a list of files "name/<prefix><i>.npy" (null for NULL tensors). */
static gboolean
dump_list (GString *js, const char *key, const char *dir, const char *name, const char *prefix, TlTensor **ts,
           guint n, GError **error)
{
  g_string_append_printf (js, ", \"%s\": ", key);
  if (!ts) {
    g_string_append (js, "null");
    return TRUE;
  }
  g_string_append_c (js, '[');
  for (guint i = 0; i < n; i++) {
    if (i)
      g_string_append (js, ", ");
    if (!ts[i]) {
      g_string_append (js, "null");
      continue;
    }
    g_autofree char *rel = g_strdup_printf ("%s/%s%u.npy", name, prefix, i);
    g_autofree char *path = g_build_filename (dir, rel, NULL);
    if (!write_npy (path, ts[i], error))
      return FALSE;
    json_string (js, rel);
  }
  g_string_append_c (js, ']');
  return TRUE;
}

static gboolean
run_case (const TlParityCase *pc, const char *dir, GString *js, GError **error)
{
  TlTensor *in[TL_PARITY_MAX_INPUTS] = { NULL };
  TlTensor **outs = NULL, **gouts = NULL, **gins = NULL;
  guint n_out = 0;
  gboolean ok = FALSE;
  TlAttrs *attrs = NULL;
  guint64 seed = pc->seed ? pc->seed : tl_hash_string (pc->name);
  TlRng rng;

  tl_rng_init (&rng, seed, 0);
  g_autofree char *sub = g_build_filename (dir, pc->name, NULL);
  if (g_mkdir_with_parents (sub, 0755) != 0) {
    g_set_error (error, TL_ERROR, TL_ERROR_IO, "%s: cannot create directory", sub);
    return FALSE;
  }
  if (pc->n_inputs > TL_PARITY_MAX_INPUTS) {
    g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "too many inputs");
    return FALSE;
  }
  if (!(attrs = tl_parity_parse_attrs (pc->attrs, error)))
    return FALSE;
  gboolean any_float = FALSE;
  for (guint i = 0; i < pc->n_inputs; i++) {
    if (!(in[i] = tl_parity_make_input (&rng, &pc->inputs[i]))) {
      g_set_error (error, TL_ERROR, TL_ERROR_INVALID_ARGUMENT, "input %u: bad description", i);
      goto out;
    }
    any_float |= pc->inputs[i].dtype == TL_DTYPE_F32;
  }
  const TlOpDef *def = tl_op_lookup (pc->op);
  gboolean with_grads = def && def->backward && !(def->flags & TL_OP_NONDIFF) && any_float;
  if (!tl_test_run_op_mode (pc->op, pc->n_inputs, in, attrs, pc->training, with_grads, seed ^ 0x5eed, &n_out,
                            &outs, &gouts, &gins, error))
    goto out;

  g_string_append (js, ", \"n_outputs\": ");
  g_string_append_printf (js, "%u", n_out);
  if (!dump_list (js, "inputs", dir, pc->name, "in", in, pc->n_inputs, error) ||
      !dump_list (js, "outputs", dir, pc->name, "out", outs, n_out, error) ||
      !dump_list (js, "grad_outputs", dir, pc->name, "gout", gouts, n_out, error) ||
      !dump_list (js, "grad_inputs", dir, pc->name, "gin", gins, pc->n_inputs, error))
    goto out;
  ok = TRUE;
out:
  for (guint i = 0; i < pc->n_inputs && i < TL_PARITY_MAX_INPUTS; i++)
    tl_tensor_unref (in[i]);
  tl_test_tensors_free (outs, n_out);
  tl_test_tensors_free (gouts, n_out);
  tl_test_tensors_free (gins, pc->n_inputs);
  tl_attrs_free (attrs);
  return ok;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  if (argc < 2 || argc > 3) {
    g_printerr ("usage: %s OUTDIR [NAME-SUBSTRING]\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1], *filter = argc > 2 ? argv[2] : NULL;
  if (!tl_init (&error)) {
    g_printerr ("tl-parity-dump: %s\n", error->message);
    return 1;
  }
  if (g_mkdir_with_parents (dir, 0755) != 0) {
    g_printerr ("tl-parity-dump: cannot create %s\n", dir);
    return 1;
  }
  const TlParityCase *(*tables[]) (guint *) = { tl_parity_cases_basic, tl_parity_cases_nn };
  GString *js = g_string_new ("[\n");
  guint n_cases = 0, n_failed = 0;
  for (guint t = 0; t < G_N_ELEMENTS (tables); t++) {
    guint n = 0;
    const TlParityCase *cases = tables[t](&n);
    for (guint i = 0; i < n; i++) {
      const TlParityCase *pc = &cases[i];
      if (filter && !strstr (pc->name, filter))
        continue;
      GString *entry = g_string_new ("  {\"name\": ");
      json_string (entry, pc->name);
      g_string_append (entry, ", \"op\": ");
      json_string (entry, pc->op);
      g_string_append (entry, ", \"torch\": ");
      json_string (entry, pc->torch_name ? pc->torch_name : pc->op);
      g_string_append (entry, ", \"tol\": ");
      json_double (entry, pc->tol > 0 ? pc->tol : 1e-4);
      g_string_append_printf (entry, ", \"training\": %s", pc->training ? "true" : "false");
      g_string_append (entry, ", \"attrs\": ");
      TlAttrs *a = tl_parity_parse_attrs (pc->attrs, NULL);
      json_attrs (entry, a);
      tl_attrs_free (a);
      g_autoptr (GError) cerr = NULL;
      gsize mark = entry->len;
      if (!run_case (pc, dir, entry, &cerr)) {
        g_string_truncate (entry, mark);
        g_string_append (entry, ", \"error\": ");
        json_string (entry, cerr ? cerr->message : "failed");
        g_printerr ("tl-parity-dump: %s: %s\n", pc->name, cerr ? cerr->message : "failed");
        n_failed++;
      }
      g_string_append (entry, "}");
      g_string_append_printf (js, "%s%s", n_cases ? ",\n" : "", entry->str);
      g_string_free (entry, TRUE);
      n_cases++;
    }
  }
  g_string_append (js, "\n]\n");
  g_autofree char *index = g_build_filename (dir, "cases.json", NULL);
  if (!g_file_set_contents (index, js->str, js->len, &error)) {
    g_printerr ("tl-parity-dump: %s\n", error->message);
    g_string_free (js, TRUE);
    return 1;
  }
  g_string_free (js, TRUE);
  g_print ("tl-parity-dump: %u cases, %u failed, written to %s\n", n_cases, n_failed, dir);
  return n_failed ? 1 : 0;
}
