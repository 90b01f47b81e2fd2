/* Freeing groups of deferreds that hold each other and nothing else holds.
 *
 * Deferreds hold references to each other along two kinds of edge:
 *
 *   - a wait edge (W waits on R, rule 10) holds two: W's result holds R,
 *     and the CONTINUE(W) stage in R's queue holds W. Both are needed: R
 *     must keep W alive so that a fire-and-forget chain still runs, and W
 *     must keep R alive so that cancelling W reaches R (rule C3);
 *   - a chain edge (chain_deferred(a, b), rule 15): a's CHAIN stage holds b.
 *
 * So deferreds can form reference cycles. If no reference from outside
 * remains on any member of such a group, nothing can ever fire or cancel
 * it, and Twisted's garbage collector would free it (reporting an
 * unhandled failure one of them holds). We do the same, deterministically,
 * at the moment the last outside reference goes.
 *
 * df_deferred_unref calls us when every reference left on a deferred could
 * be one of those edges (refs <= df__internal_refs). We walk the group it
 * belongs to: wait edges in both directions, chain edges forwards. The
 * walk stops at the first member that must have an outside reference (more
 * references than edges of any kind could explain); walking towards the
 * waited-on end first makes the common case, a long chain still being
 * built whose newest member the producer holds, cost O(1). If the walk
 * completes, each member's references are compared with the edges to it
 * from inside the group: when all match, the group is garbage.
 *
 * Two limits, both erring on the side of keeping memory: a garbage group
 * that also holds on to a live deferred is kept (the walk stops at the
 * live one), and so is one with more than MAX_CHAIN_EDGES_WALKED
 * chain_deferred links. Only chain_deferred links can build either: wait
 * edges cannot make a cycle (rules 25-26 give a ChainCycleError instead).
 */
#include "internal.h"

/* Chain edges followed before giving up. A list of chain_deferred links
 * built from its far end makes every unref start a walk down the whole
 * list (the deferred holding it from outside is behind, not ahead), so
 * the walk over chain edges is bounded; wait edges are not (see above). A
 * garbage group with more chain links than this stays allocated. */
#define MAX_CHAIN_EDGES_WALKED 32

typedef struct walk {
  df_ptr_vec *group;
  bool out_of_memory;
  unsigned chain_edges; /* followed so far */
} walk;

static void visit(walk *w, df_deferred *d) {
  if (d->flags & DF_F_VISITED) return;
  d->flags |= DF_F_VISITED;
  d->gc_count = 0;
  if (df__ptr_vec_push(w->group, d) != 0) {
    d->flags &= ~DF_F_VISITED;
    w->out_of_memory = true;
  }
}

static bool visit_stage_target(df_stage *s, void *ctx) {
  walk *w = ctx;
  if (s->kind == DF_STAGE_CHAIN && ++w->chain_edges > MAX_CHAIN_EDGES_WALKED)
    w->out_of_memory = true; /* give up, as if out of memory */
  else if (s->kind != DF_STAGE_USER)
    visit(w, s->callback_arg);
  return !w->out_of_memory;
}

static bool count_stage_edge(df_stage *s, void *ctx) {
  (void)ctx;
  if (s->kind != DF_STAGE_USER) ((df_deferred *)s->callback_arg)->gc_count++;
  return true;
}

/* Cut a CONTINUE or CHAIN stage of a garbage member: its target loses the
 * reference the stage held, and the stage does nothing when dropped. */
static bool cut_stage_edge(df_stage *s, void *ctx) {
  df_deferred *owner = ctx;
  if (s->kind == DF_STAGE_USER) return true;
  df_deferred *target = s->callback_arg;
  target->refs--;
  if (s->kind == DF_STAGE_CONTINUE) {
    owner->n_waiters--;
  } else {
    target->n_chained_in--;
    owner->n_chain_out--;
    if (target->chained_to == owner) target->chained_to = NULL;
  }
  s->kind = DF_STAGE_USER;
  s->callback = s->errback = NULL;
  return true;
}

static bool has_edge_stages(const df_deferred *d) {
  return d->n_waiters || d->n_chain_out;
}

void df__collect_if_garbage(df_deferred *start) {
  walk w = {df__scratch_vec(), false, 0};
  size_t base = w.group->len; /* the vector may be in use further up */
  bool garbage = true;

  visit(&w, start);
  for (size_t i = base; garbage && !w.out_of_memory && i < w.group->len; i++) {
    df_deferred *d = w.group->items[i];
    if ((uint32_t)d->refs > df__internal_refs(d)) {
      garbage = false; /* held from outside: the group lives */
      break;
    }
    if (df__waiting(d)) visit(&w, d->result.u.deferred);
    if (has_edge_stages(d)) df__stages_each(d, visit_stage_target, &w);
  }
  if (w.out_of_memory) garbage = false;
  size_t end = w.group->len;
  if (garbage) {
    for (size_t i = base; i < end; i++) {
      df_deferred *d = w.group->items[i];
      if (df__waiting(d)) d->result.u.deferred->gc_count++;
      if (has_edge_stages(d)) df__stages_each(d, count_stage_edge, NULL);
    }
    for (size_t i = base; garbage && i < end; i++)
      if ((uint32_t)w.group->items[i]->refs != w.group->items[i]->gc_count)
        garbage = false;
  }
  for (size_t i = base; i < end; i++)
    w.group->items[i]->flags &= ~DF_F_VISITED;
  if (!garbage) {
    w.group->len = base;
    return;
  }

  /* Hold every member, cut the edges, then let go: each member's count
   * drops to zero and it is destroyed the ordinary way (reporting an
   * unhandled failure if it holds one, rule U3). */
  for (size_t i = base; i < end; i++) w.group->items[i]->refs++;
  for (size_t i = base; i < end; i++) {
    df_deferred *d = w.group->items[i];
    if (has_edge_stages(d)) df__stages_each(d, cut_stage_edge, d);
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
  if (!items) { /* cannot copy: release in place; each count goes straight
                   to 0, and a destroyed member has no edges left to walk */
    for (size_t i = base; i < end; i++) df_deferred_unref(w.group->items[i]);
    w.group->len = base;
    return;
  }
  for (size_t i = 0; i < n; i++) items[i] = w.group->items[base + i];
  w.group->len = base;
  for (size_t i = 0; i < n; i++) df_deferred_unref(items[i]);
  if (items != stack_items) df__free(items);
}
