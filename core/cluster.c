/* cluster.c — cluster descriptions (TlCluster) for planners and the cost
 * model: machines, devices, links. XML format urn:tl:cluster:1:
 *
 *   <cluster xmlns="urn:tl:cluster:1">
 *     <machine count="2">
 *       <device kind="gpu" count="8" memory="16GiB" flops="15.7e12" bandwidth="900e9"/>
 *       <link scope="intra" bandwidth="150e9" latency="5e-6"/>
 *     </machine>
 *     <link scope="inter" bandwidth="1.25e9" latency="20e-6"/>
 *   </cluster>
 *
 * Quantities are numbers with an optional SI (k M G T P) or binary (Ki Mi
 * Gi Ti Pi) prefix and an optional unit: memory "16GiB", flops "15.7T" or
 * "15.7e12", bandwidth "900GB/s", latency "5us"/"5e-6"/"5s".
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#include "tl-private.h"
#include "xml-private.h"

#define CLUSTER_NS "urn:tl:cluster:1"

/* Defaults of tl_cluster_new_local() and of links a file leaves out. Rough
 * figures for a current x86-64 core and DDR4 memory: they only need to
 * rank plans, not predict run times. */
#define LOCAL_FLOPS_PER_CORE (2.0e9 * 16.0) /* 2 GHz x 16 f32 flops/cycle (AVX2 FMA) */
#define LOCAL_MEM_BANDWIDTH 20.0e9          /* bytes/s */
#define DEFAULT_INTRA_BANDWIDTH 10.0e9      /* bytes/s between devices of a machine */
#define DEFAULT_INTRA_LATENCY 5.0e-6
#define DEFAULT_INTER_BANDWIDTH 1.25e9      /* 10 Gbit/s Ethernet */
#define DEFAULT_INTER_LATENCY 20.0e-6

/* Most devices a cluster may describe: counts multiply (machines x
 * devices), so the total is checked before anything is allocated. */
#define MAX_DEVICES 1000000u

typedef struct {
  const char *kind; /* static: "cpu" or "gpu" */
  guint machine;
  double memory;
  double flops;
  double bandwidth;
} ClusterDevice;

typedef struct {
  double intra_bandwidth;
  double intra_latency;
} ClusterMachine;

struct _TlCluster {
  GArray *machines; /* ClusterMachine */
  GArray *devices;  /* ClusterDevice */
  double inter_bandwidth;
  double inter_latency;
};

static TlCluster *
cluster_alloc (void)
{
  TlCluster *c = g_new0 (TlCluster, 1);
  c->machines = g_array_new (FALSE, TRUE, sizeof (ClusterMachine));
  c->devices = g_array_new (FALSE, TRUE, sizeof (ClusterDevice));
  c->inter_bandwidth = DEFAULT_INTER_BANDWIDTH;
  c->inter_latency = DEFAULT_INTER_LATENCY;
  return c;
}

/**
 * tl_cluster_new_local:
 *
 * Describes this process's machine: one machine with one "cpu" device whose
 * memory is the physical memory (sysconf), peak flops = online cores x 2 GHz
 * x 16 f32 flops per cycle, memory bandwidth 20 GB/s. Rough constants: they
 * only rank plans.
 *
 * Returns: (transfer full): free with tl_cluster_free().
 */
TlCluster *
tl_cluster_new_local (void)
{
  TlCluster *c = cluster_alloc ();
  ClusterMachine m = { DEFAULT_INTRA_BANDWIDTH, DEFAULT_INTRA_LATENCY };
  g_array_append_val (c->machines, m);

  long pages = sysconf (_SC_PHYS_PAGES);
  long page_size = sysconf (_SC_PAGESIZE);
  double memory = (pages > 0 && page_size > 0) ? (double) pages * (double) page_size : 4.0 * 1073741824.0;
  long cores = sysconf (_SC_NPROCESSORS_ONLN);
  if (cores < 1)
    cores = 1;
  ClusterDevice d = { "cpu", 0, memory, (double) cores * LOCAL_FLOPS_PER_CORE,
                      LOCAL_MEM_BANDWIDTH };
  g_array_append_val (c->devices, d);
  return c;
}

/**
 * tl_cluster_free:
 * @c: (nullable): a cluster
 *
 * Frees @c; NULL is a no-op.
 */
void
tl_cluster_free (TlCluster *c)
{
  if (!c)
    return;
  g_array_unref (c->machines);
  g_array_unref (c->devices);
  g_free (c);
}

/* --- quantities ------------------------------------------------------------ */

typedef enum {
  Q_BYTES,     /* memory: B */
  Q_FLOPS,     /* flops, flop/s */
  Q_RATE,      /* bandwidth: B/s */
  Q_SECONDS,   /* latency: s, ms, us, ns */
  Q_COUNT      /* plain positive integer */
} QuantityKind;

static const char *
skip_unit (const char *s, QuantityKind kind)
{
  static const char *const bytes[] = { "B", "bytes", NULL };
  static const char *const flops[] = { "FLOP/s", "flop/s", "FLOPS", "flops", "FLOP", "flop", NULL };
  static const char *const rate[] = { "B/s", "bytes/s", "Bps", NULL };
  const char *const *units = kind == Q_BYTES ? bytes : kind == Q_FLOPS ? flops : kind == Q_RATE ? rate : NULL;
  if (!units)
    return s;
  for (guint i = 0; units[i]; i++)
    if (g_str_equal (s, units[i]))
      return s + strlen (s);
  return s;
}

/* Parse `text` as a quantity; FALSE with *why set (static) on error. */
static gboolean
parse_quantity (const char *text, QuantityKind kind, double *out, const char **why)
{
  char *end = NULL;
  const char *s = text;
  while (g_ascii_isspace (*s))
    s++;
  double v = g_ascii_strtod (s, &end);
  if (end == s) {
    *why = "not a number";
    return FALSE;
  }
  s = end;
  while (*s == ' ')
    s++;
  if (kind == Q_SECONDS) {
    static const struct { const char *u; double f; } tu[] = {
      { "s", 1.0 }, { "ms", 1e-3 }, { "us", 1e-6 }, { "\xc2\xb5s", 1e-6 }, { "ns", 1e-9 } };
    gboolean found = *s == '\0';
    for (guint i = 0; !found && i < G_N_ELEMENTS (tu); i++)
      if (g_str_equal (s, tu[i].u)) {
        v *= tu[i].f;
        found = TRUE;
      }
    if (!found) {
      *why = "unknown time unit (use s, ms, us or ns)";
      return FALSE;
    }
  } else if (kind == Q_COUNT) {
    if (*s != '\0' || v != floor (v) || v < 1 || v > MAX_DEVICES) {
      *why = "expected a positive integer";
      return FALSE;
    }
  } else if (*s != '\0') {
    static const char prefixes[] = "kMGTP";
    const char *p = strchr (prefixes, *s == 'K' ? 'k' : *s);
    if (p && *s != '\0') {
      int power = (int) (p - prefixes) + 1;
      s++;
      if (*s == 'i') {
        v *= pow (1024.0, power);
        s++;
      } else {
        v *= pow (1000.0, power);
      }
    }
    s = skip_unit (s, kind);
    if (*s != '\0') {
      *why = kind == Q_BYTES ? "unknown unit (use e.g. 16GiB, 512MB or bytes)"
             : kind == Q_FLOPS ? "unknown unit (use e.g. 15.7e12 or 15.7T)"
                               : "unknown unit (use e.g. 900e9 or 900GB/s)";
      return FALSE;
    }
  }
  if (!isfinite (v) || v < 0 || (v == 0 && kind != Q_SECONDS)) {
    *why = "must be positive";
    return FALSE;
  }
  *out = v;
  return TRUE;
}

/* Read attribute `name` of node as a quantity into *out (unchanged when the
 * attribute is absent and not required). Appends an error line to errs. */
static void
read_quantity (const char *file, xmlNode *node, const char *name, QuantityKind kind,
               gboolean required, double *out, GString *errs)
{
  g_autofree char *text = _tl_priv_xml_prop (node, name);
  if (!text) {
    if (required)
      _tl_priv_xml_add_error (errs, file, node, "<%s> needs attribute '%s'", (const char *) node->name, name);
    return;
  }
  const char *why = NULL;
  if (!parse_quantity (text, kind, out, &why))
    _tl_priv_xml_add_error (errs, file, node, "<%s %s=\"%s\">: %s", (const char *) node->name, name, text,
                            why);
}

static void
check_attrs (const char *file, xmlNode *node, const char *const *allowed, GString *errs)
{
  for (xmlAttr *a = node->properties; a; a = a->next) {
    if (a->ns)
      continue;
    if (!g_strv_contains (allowed, (const char *) a->name))
      _tl_priv_xml_add_error (errs, file, node, "unknown attribute '%s' on <%s>", (const char *) a->name,
                              (const char *) node->name);
  }
}

static void
read_link (const char *file, xmlNode *node, const char *expect_scope, double *bw, double *lat,
           GString *errs)
{
  static const char *const allowed[] = { "scope", "bandwidth", "latency", NULL };
  check_attrs (file, node, allowed, errs);
  g_autofree char *scope = _tl_priv_xml_prop (node, "scope");
  if (scope && !g_str_equal (scope, expect_scope))
    _tl_priv_xml_add_error (errs, file, node, "<link scope=\"%s\"> here must have scope \"%s\"", scope,
                            expect_scope);
  read_quantity (file, node, "bandwidth", Q_RATE, TRUE, bw, errs);
  read_quantity (file, node, "latency", Q_SECONDS, FALSE, lat, errs);
}

static void
read_machine (TlCluster *c, const char *file, xmlNode *mnode, GString *errs)
{
  static const char *const allowed[] = { "count", "name", NULL };
  static const char *const dev_allowed[] = { "kind", "count", "memory", "flops", "bandwidth", "name", NULL };
  check_attrs (file, mnode, allowed, errs);
  double count = 1;
  read_quantity (file, mnode, "count", Q_COUNT, FALSE, &count, errs);

  ClusterMachine m = { DEFAULT_INTRA_BANDWIDTH, DEFAULT_INTRA_LATENCY };
  g_autoptr (GArray) devs = g_array_new (FALSE, TRUE, sizeof (ClusterDevice));
  gboolean have_link = FALSE, too_many = FALSE;

  for (xmlNode *n = mnode->children; n; n = n->next) {
    if (n->type != XML_ELEMENT_NODE)
      continue;
    if (_tl_priv_xml_is (n, CLUSTER_NS, "device")) {
      check_attrs (file, n, dev_allowed, errs);
      g_autofree char *kind = _tl_priv_xml_prop (n, "kind");
      if (!kind)
        _tl_priv_xml_add_error (errs, file, n, "<device> needs attribute 'kind' (cpu or gpu)");
      else if (!g_str_equal (kind, "cpu") && !g_str_equal (kind, "gpu"))
        _tl_priv_xml_add_error (errs, file, n, "<device kind=\"%s\">: kind must be cpu or gpu", kind);
      double dcount = 1, memory = 0, flops = 0, bandwidth = 0;
      read_quantity (file, n, "count", Q_COUNT, FALSE, &dcount, errs);
      read_quantity (file, n, "memory", Q_BYTES, TRUE, &memory, errs);
      read_quantity (file, n, "flops", Q_FLOPS, TRUE, &flops, errs);
      read_quantity (file, n, "bandwidth", Q_RATE, TRUE, &bandwidth, errs);
      if (too_many)
        continue;
      /* this <machine count> times its devices so far, and the machines
       * before it: refused before a single entry is made */
      if (c->devices->len + (devs->len + dcount) * count > MAX_DEVICES) {
        _tl_priv_xml_add_error (errs, file, n, "too many devices (the cluster may have at most %u)",
                                MAX_DEVICES);
        too_many = TRUE;
        continue;
      }
      ClusterDevice d = { kind && g_str_equal (kind, "gpu") ? "gpu" : "cpu", 0, memory, flops, bandwidth };
      for (guint i = 0; i < (guint) dcount; i++)
        g_array_append_val (devs, d);
    } else if (_tl_priv_xml_is (n, CLUSTER_NS, "link")) {
      if (have_link)
        _tl_priv_xml_add_error (errs, file, n, "a <machine> has at most one <link>");
      have_link = TRUE;
      read_link (file, n, "intra", &m.intra_bandwidth, &m.intra_latency, errs);
    } else {
      _tl_priv_xml_add_error (errs, file, n, "unexpected <%s> in <machine> (expected <device> or <link>)",
                              (const char *) n->name);
    }
  }
  if (too_many)
    return;
  if (devs->len == 0)
    _tl_priv_xml_add_error (errs, file, mnode, "<machine> has no <device>");
  for (guint k = 0; k < (guint) count; k++) {
    guint machine = c->machines->len;
    g_array_append_val (c->machines, m);
    for (guint i = 0; i < devs->len; i++) {
      ClusterDevice d = g_array_index (devs, ClusterDevice, i);
      d.machine = machine;
      g_array_append_val (c->devices, d);
    }
  }
}

/* Reads a parsed document into a cluster (every problem reported at once). */
static TlCluster *
cluster_from_doc (xmlDoc *doc, const char *file, GError **error)
{
  xmlNode *root = xmlDocGetRootElement (doc);
  if (!_tl_priv_xml_is (root, CLUSTER_NS, "cluster"))
    return _tl_priv_xml_fail (error, TL_ERROR_PARSE, file, root,
                              "expected <cluster xmlns=\"" CLUSTER_NS "\">");

  static const char *const allowed[] = { "name", NULL };
  g_autoptr (GString) errs = g_string_new (NULL);
  TlCluster *c = cluster_alloc ();
  check_attrs (file, root, allowed, errs);
  gboolean have_link = FALSE;
  for (xmlNode *node = root->children; node; node = node->next) {
    if (node->type != XML_ELEMENT_NODE)
      continue;
    if (_tl_priv_xml_is (node, CLUSTER_NS, "machine")) {
      read_machine (c, file, node, errs);
    } else if (_tl_priv_xml_is (node, CLUSTER_NS, "link")) {
      if (have_link)
        _tl_priv_xml_add_error (errs, file, node, "a <cluster> has at most one <link>");
      have_link = TRUE;
      read_link (file, node, "inter", &c->inter_bandwidth, &c->inter_latency, errs);
    } else {
      _tl_priv_xml_add_error (errs, file, node, "unexpected <%s> in <cluster> (expected <machine> or <link>)",
                              (const char *) node->name);
    }
  }
  if (errs->len == 0 && c->devices->len == 0)
    _tl_priv_xml_add_error (errs, file, root, "<cluster> has no <machine>");
  if (errs->len > 0) {
    g_string_truncate (errs, errs->len - 1);
    g_set_error_literal (error, TL_ERROR, TL_ERROR_PARSE, errs->str);
    tl_cluster_free (c);
    return NULL;
  }
  return c;
}

/**
 * tl_cluster_parse:
 * @xml: document text
 * @len: its length, or -1 when NUL-terminated
 * @filename: (nullable): name used in messages
 * @error: return location for a #GError
 *
 * Parses a cluster description (urn:tl:cluster:1). Every problem is
 * reported, one "FILE:LINE: ..." line each, in one TL_ERROR_PARSE error.
 *
 * Returns: (transfer full) (nullable): the cluster, or NULL on error.
 */
TlCluster *
tl_cluster_parse (const char *xml, gssize len, const char *filename, GError **error)
{
  g_return_val_if_fail (xml != NULL, NULL);
  const char *file = filename ? filename : "<cluster>";
  gsize n = len < 0 ? strlen (xml) : (gsize) len;
  g_autoptr (xmlDoc) doc = _tl_priv_xml_read_memory (xml, n, file, error);
  if (!doc)
    return NULL;
  return cluster_from_doc (doc, file, error);
}

/**
 * tl_cluster_load:
 * @path: a cluster file
 * @error: return location for a #GError
 *
 * Reads and parses @path; see tl_cluster_parse(). The file is read like
 * every tl XML document (xml-private.h): it must be a regular file (a FIFO or
 * device is refused without waiting on it) of at most 4 MiB, refused before
 * it is read. Errors: %TL_ERROR_NOT_FOUND (no such file), %TL_ERROR_IO,
 * %TL_ERROR_INVALID_ARGUMENT (not a regular file) or %TL_ERROR_PARSE, the
 * message starting with "PATH: " or "PATH:LINE: ".
 *
 * Returns: (transfer full) (nullable): the cluster, or NULL on error.
 */
TlCluster *
tl_cluster_load (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_autoptr (xmlDoc) doc = _tl_priv_xml_read_file (path, error);
  if (!doc)
    return NULL;
  return cluster_from_doc (doc, path, error);
}

/* --- queries ------------------------------------------------------------- */

static const ClusterDevice *
device_at (const TlCluster *c, guint i)
{
  g_return_val_if_fail (c != NULL && i < c->devices->len, NULL);
  return &g_array_index (c->devices, ClusterDevice, i);
}

/** tl_cluster_n_machines: Returns: the number of machines. */
guint
tl_cluster_n_machines (const TlCluster *c)
{
  g_return_val_if_fail (c != NULL, 0);
  return c->machines->len;
}

/** tl_cluster_n_devices: Returns: the number of devices on all machines. */
guint
tl_cluster_n_devices (const TlCluster *c)
{
  g_return_val_if_fail (c != NULL, 0);
  return c->devices->len;
}

/** tl_cluster_device_machine: Returns: the machine index of @device. */
guint
tl_cluster_device_machine (const TlCluster *c, guint device)
{
  const ClusterDevice *d = device_at (c, device);
  return d ? d->machine : 0;
}

/** tl_cluster_device_kind: Returns: (transfer none): "cpu" or "gpu". */
const char *
tl_cluster_device_kind (const TlCluster *c, guint device)
{
  const ClusterDevice *d = device_at (c, device);
  return d ? d->kind : NULL;
}

/** tl_cluster_device_memory: Returns: the device's memory in bytes. */
double
tl_cluster_device_memory (const TlCluster *c, guint device)
{
  const ClusterDevice *d = device_at (c, device);
  return d ? d->memory : 0;
}

/** tl_cluster_device_flops: Returns: the device's peak flop/s. */
double
tl_cluster_device_flops (const TlCluster *c, guint device)
{
  const ClusterDevice *d = device_at (c, device);
  return d ? d->flops : 0;
}

/** tl_cluster_device_bandwidth: Returns: the device's memory bandwidth (B/s). */
double
tl_cluster_device_bandwidth (const TlCluster *c, guint device)
{
  const ClusterDevice *d = device_at (c, device);
  return d ? d->bandwidth : 0;
}

/**
 * tl_cluster_link_bandwidth:
 *
 * Returns: bytes/s between devices @a and @b: the device's memory bandwidth
 * when a == b, the machine's intra link on one machine, else the inter link.
 */
double
tl_cluster_link_bandwidth (const TlCluster *c, guint a, guint b)
{
  const ClusterDevice *da = device_at (c, a), *db = device_at (c, b);
  if (!da || !db)
    return 0;
  if (a == b)
    return da->bandwidth;
  if (da->machine == db->machine)
    return g_array_index (c->machines, ClusterMachine, da->machine).intra_bandwidth;
  return c->inter_bandwidth;
}

/**
 * tl_cluster_link_latency:
 *
 * Returns: seconds of latency between devices @a and @b (0 when a == b).
 */
double
tl_cluster_link_latency (const TlCluster *c, guint a, guint b)
{
  const ClusterDevice *da = device_at (c, a), *db = device_at (c, b);
  if (!da || !db || a == b)
    return 0;
  if (da->machine == db->machine)
    return g_array_index (c->machines, ClusterMachine, da->machine).intra_latency;
  return c->inter_latency;
}
