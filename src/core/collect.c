/* Freeing groups of deferreds that wait on each other and nothing else.
 *
 * A wait edge (W waits on R, rule 10) holds two references: W's result
 * holds R, and the CONTINUE(W) stage in R's queue holds W. Both are needed:
 * R must keep W alive so that a fire-and-forget chain still runs, and W
 * must keep R alive so that cancelling W reaches R (rule C3). The price is
 * a reference cycle. If no reference from outside remains on any member of
 * such a group, nothing can ever fire or cancel it, and Twisted's garbage
 * collector would free it silently (only an unhandled failure held by the
 * group's root, a paused deferred that had fired, gets reported). We do the
 * same, deterministically, at the moment the last outside reference goes.
 *
 * The walk starts from a deferred whose references are all internal and
 * stops at the first member with an outside reference; walking towards the
 * root first makes the common case (a long chain still being built, whose
 * newest member the producer holds) cost O(1).
 */
#include "internal.h"

typedef struct walk {
  df_ptr_vec *group;
  bool out_of_memory;
} walk;

static bool push_waiter(df_stage *s, void *ctx) {
  walk *w = ctx;
  if (s->kind != DF_STAGE_CONTINUE) return true;
  df_deferred *waiter = s->callback_arg;
  if (waiter->flags & DF_F_VISITED) return true;
  waiter->flags |= DF_F_VISITED;
  if (df__ptr_vec_push(w->group, waiter) != 0) {
    waiter->flags &= ~DF_F_VISITED;
    w->out_of_memory = true;
    return false;
  }
  return true;
}

static bool has_outside_refs(const df_deferred *d) {
  return (uint32_t)d->refs > df__internal_refs(d);
}

/* Cut one CONTINUE(W) stage: W loses the reference the stage held, and
 * the stage becomes one that does nothing when dropped. */
static bool detach_waiter(df_stage *s, void *ctx) {
  (void)ctx;
  if (s->kind == DF_STAGE_CONTINUE) {
    ((df_deferred *)s->callback_arg)->refs--;
    s->kind = DF_STAGE_USER;
    s->callback = s->errback = NULL;
  }
  return true;
}

void df__collect_if_garbage(df_deferred *start) {
  df_ptr_vec *group = df__scratch_vec();
  size_t base = group->len; /* the vector may be in use further up */
  bool garbage = true;

  start->flags |= DF_F_VISITED;
  if (df__ptr_vec_push(group, start) != 0) garbage = false;
  for (size_t i = base; garbage && i < group->len; i++) {
    df_deferred *d = group->items[i];
    if (has_outside_refs(d)) {
      garbage = false;
      break;
    }
    if (df__waiting(d)) {
      df_deferred *r = d->result.u.deferred;
      if (!(r->flags & DF_F_VISITED)) {
        r->flags |= DF_F_VISITED;
        if (df__ptr_vec_push(group, r) != 0) garbage = false;
      }
    }
    if (garbage && d->n_waiters) {
      walk w = {group, false};
      df__stages_each(d, push_waiter, &w);
      if (w.out_of_memory) garbage = false;
    }
  }
  for (size_t i = base; i < group->len; i++)
    group->items[i]->flags &= ~DF_F_VISITED;
  if (!garbage) {
    group->len = base;
    return;
  }

  /* Hold every member, cut the edges, then let go: each member's count
   * drops to zero and it is destroyed the ordinary way (reporting an
   * unhandled failure if it holds one, rule U3). */
  size_t end = group->len;
  for (size_t i = base; i < end; i++) df_deferred_ref(group->items[i]);
  for (size_t i = base; i < end; i++) {
    df_deferred *d = group->items[i];
    if (d->n_waiters) {
      df__stages_each(d, detach_waiter, NULL);
      d->n_waiters = 0;
    }
  }
  for (size_t i = base; i < end; i++) {
    df_deferred *d = group->items[i];
    if (df__waiting(d)) {
      d->result.u.deferred->refs--; /* the reference the result held */
      d->result = df_none();
    }
  }
  /* Copy out before releasing: destroying may reuse the scratch vector. */
  df_deferred *stack_items[16];
  df_deferred **items = stack_items;
  size_t n = end - base;
  if (n > 16) items = df__malloc(n * sizeof *items);
  if (!items) { /* cannot copy: release in place (no re-entry possible
                   since every member's count goes straight to 0) */
    for (size_t i = base; i < end; i++) df_deferred_unref(group->items[i]);
    group->len = base;
    return;
  }
  for (size_t i = 0; i < n; i++) items[i] = group->items[base + i];
  group->len = base;
  for (size_t i = 0; i < n; i++) df_deferred_unref(items[i]);
  if (items != stack_items) df__free(items);
}
