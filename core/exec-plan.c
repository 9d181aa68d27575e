/* exec-plan.c — buffer planning for the executor: liveness-based reuse of
 * intermediate buffers. */
#include "config.h"

#include <string.h>

#include "tl-private.h"
#include "graph-private.h"

static gsize
align64 (gsize n)
{
  return (n + 63) & ~(gsize) 63;
}

/* Plans one buffer per written value. A value's buffer returns to the free
 * list after the last step that reads it (right after its producer when
 * nothing reads it); pinned values (requested outputs) keep theirs. A new
 * value takes the smallest free buffer that is large enough; when none is,
 * the largest free buffer grows, and only with no free buffer at all is a new
 * one added. Without reuse every value gets its own buffer.
 *
 * An alias (alias[v] >= 0, an earlier value) gets no buffer of its own: it
 * shares its root's, and everything above applies to the group: the buffer
 * is released after the last read of any member, and kept when any member
 * is pinned. */
void
_tl_priv_plan_buffers (guint n_values, const gsize *value_bytes, const gboolean *pinned,
                       const gint *alias, guint n_steps, const TlPlanStep *steps, gboolean reuse,
                       TlBufferPlan *plan)
{
  memset (plan, 0, sizeof *plan);
  plan->value_buffer = g_new (gint, MAX (1, n_values));
  gint *last_use = g_new (gint, MAX (1, n_values));
  guint *root = g_new (guint, MAX (1, n_values));
  gboolean *keep = g_new (gboolean, MAX (1, n_values));
  for (guint v = 0; v < n_values; v++) {
    plan->value_buffer[v] = -1;
    last_use[v] = -1;
    keep[v] = pinned[v];
    /* aliases point to earlier values, so their roots are known already */
    root[v] = alias && alias[v] >= 0 && (guint) alias[v] < v ? root[alias[v]] : v;
    if (root[v] == v)
      plan->unplanned_bytes += align64 (value_bytes[v]);
  }
  /* liveness per group (its root): the last read of any member */
  for (guint s = 0; s < n_steps; s++)
    for (guint r = 0; r < steps[s].n_reads; r++)
      last_use[root[steps[s].reads[r]]] = (gint) s;
  for (guint v = 0; v < n_values; v++)
    keep[root[v]] |= pinned[v];

  GArray *sizes = g_array_new (FALSE, FALSE, sizeof (gsize));
  GArray *free_list = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint s = 0; s < n_steps; s++) {
    const TlPlanStep *st = &steps[s];
    for (guint w = 0; w < st->n_writes; w++) {
      guint v = st->writes[w];
      if (root[v] != v) {
        plan->value_buffer[v] = plan->value_buffer[root[v]];
        continue;
      }
      gsize need = align64 (value_bytes[v]);
      gint best = -1, largest = -1;
      for (guint f = 0; reuse && f < free_list->len; f++) {
        guint b = g_array_index (free_list, guint, f);
        gsize sz = g_array_index (sizes, gsize, b);
        if (sz >= need && (best < 0 || sz < g_array_index (sizes, gsize,
                                                           g_array_index (free_list, guint, best))))
          best = (gint) f;
        if (largest < 0 || sz > g_array_index (sizes, gsize, g_array_index (free_list, guint, largest)))
          largest = (gint) f;
      }
      if (best < 0 && largest >= 0)
        best = largest; /* grow it */
      guint buf;
      if (best >= 0) {
        buf = g_array_index (free_list, guint, best);
        g_array_remove_index_fast (free_list, (guint) best);
        gsize *sz = &g_array_index (sizes, gsize, buf);
        if (*sz < need)
          *sz = need;
      } else {
        buf = sizes->len;
        g_array_append_val (sizes, need);
      }
      plan->value_buffer[v] = (gint) buf;
    }
    if (!reuse)
      continue;
    /* release what died here: unread outputs, then inputs read for the last time */
    for (guint w = 0; w < st->n_writes; w++) {
      guint v = st->writes[w];
      if (root[v] == v && last_use[v] == -1 && !keep[v]) {
        guint b = (guint) plan->value_buffer[v];
        g_array_append_val (free_list, b);
      }
    }
    for (guint r = 0; r < st->n_reads; r++) {
      guint v = root[st->reads[r]];
      if (last_use[v] != (gint) s || keep[v] || plan->value_buffer[v] < 0)
        continue;
      last_use[v] = -2; /* released (a group may be read twice by one step) */
      guint b = (guint) plan->value_buffer[v];
      g_array_append_val (free_list, b);
    }
  }
  plan->n_buffers = sizes->len;
  plan->buffer_sizes = (gsize *) g_array_free (sizes, FALSE);
  for (guint b = 0; b < plan->n_buffers; b++)
    plan->peak_bytes += plan->buffer_sizes[b];
  g_array_unref (free_list);
  g_free (last_use);
  g_free (root);
  g_free (keep);
}

void
_tl_priv_plan_clear (TlBufferPlan *plan)
{
  g_free (plan->buffer_sizes);
  g_free (plan->value_buffer);
  memset (plan, 0, sizeof *plan);
}
