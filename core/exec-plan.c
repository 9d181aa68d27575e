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
 * one added. Without reuse every value gets its own buffer. */
void
_tl_priv_plan_buffers (guint n_values, const gsize *value_bytes, const gboolean *pinned,
                       guint n_steps, const TlPlanStep *steps, gboolean reuse, TlBufferPlan *plan)
{
  memset (plan, 0, sizeof *plan);
  plan->value_buffer = g_new (gint, MAX (1, n_values));
  gint *last_use = g_new (gint, MAX (1, n_values));
  for (guint v = 0; v < n_values; v++) {
    plan->value_buffer[v] = -1;
    last_use[v] = -1;
    plan->unplanned_bytes += align64 (value_bytes[v]);
  }
  for (guint s = 0; s < n_steps; s++)
    for (guint r = 0; r < steps[s].n_reads; r++)
      last_use[steps[s].reads[r]] = (gint) s;

  GArray *sizes = g_array_new (FALSE, FALSE, sizeof (gsize));
  GArray *free_list = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint s = 0; s < n_steps; s++) {
    const TlPlanStep *st = &steps[s];
    for (guint w = 0; w < st->n_writes; w++) {
      guint v = st->writes[w];
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
      if (last_use[v] < 0 && !pinned[v]) {
        guint b = (guint) plan->value_buffer[v];
        g_array_append_val (free_list, b);
      }
    }
    for (guint r = 0; r < st->n_reads; r++) {
      guint v = st->reads[r];
      if (last_use[v] != (gint) s || pinned[v] || plan->value_buffer[v] < 0)
        continue;
      last_use[v] = -2; /* released (a value may be read twice by one step) */
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
}

void
_tl_priv_plan_clear (TlBufferPlan *plan)
{
  g_free (plan->buffer_sizes);
  g_free (plan->value_buffer);
  memset (plan, 0, sizeof *plan);
}
