/* Freeing groups of deferreds that hold each other and nothing else holds.
 *
 * Deferreds hold references to each other along two kinds of edge:
 *
 *   - a wait edge (W waits on R, rule 10) holds two: W's result holds R,
 *     and the CONTINUE(W) stage in R's queue holds W. Both are needed: R
 *     must keep W alive so that a fire-and-forget chain still runs, and W
 *     must keep R alive so that cancelling W reaches R (rule C3);
 *   - a chain edge (chain_deferred(a, b), rule 15): a's CHAIN stage holds b;
 *     and once that stage has run, b's chained_to may hold a (when b was
 *     paused or had fired before: DF_F_CHAINED_REF, internal.h). A waiter
 *     paused when its wait ended holds what it waited on the same way.
 *     The walk treats those references as chain edges.
 *
 * So deferreds can form reference cycles. If nothing outside such a group
 * can reach it, nothing can ever fire or cancel it, and Twisted's garbage
 * collector would free it (reporting an unhandled failure one of them
 * holds). We do the same, deterministically, at the moment the last
 * outside reference goes.
 *
 * df_deferred_unref calls us when every reference left on a deferred could
 * be one of those edges (refs <= df__internal_refs). Then:
 *
 *  1. Walk the start's wait component (wait edges, both directions). Wait
 *     edges go both ways, so if any member is held from outside (more
 *     references than edges of any kind could explain), the start is
 *     reachable from it: stop, nothing is garbage. Walking towards the
 *     waited-on end first makes the common case, a long chain still being
 *     built whose newest member the producer holds, cost O(1).
 *  2. Follow chain edges out of the group (at most MAX_CHAIN_EDGES_WALKED,
 *     so that a long chain_deferred list built from its far end costs O(1)
 *     per unref), and the wait components of what they reach. A member
 *     held from outside is marked live and not walked further.
 *  3. Count, for each member, the edges to it from the walked members.
 *     Members with more references than that are live too; everything
 *     their edges reach is live. The rest is garbage: its edges are cut
 *     and each member is destroyed the ordinary way.
 *
 * A group with more chain links than the bound is kept: erring on the side
 * of memory. Only chain_deferred can build one (wait edges cannot close a
 * cycle: rules 25-26 give a ChainCycleError instead).
 */
#include "internal.h"

#define MAX_CHAIN_EDGES_WALKED 32

typedef struct walk {
  df_ptr_vec *group;
  bool failed;          /* out of memory or over the chain bound: keep all */
  bool chain_phase;     /* phase 2: chain edges may be followed            */
  unsigned chain_edges; /* followed so far                                  */
} walk;

static void visit(walk *w, df_deferred *d) {
  if (d->flags & DF_F_VISITED) return;
  d->flags |= DF_F_VISITED;
  d->gc_count = 0;
  if (df__ptr_vec_push(w->group, d) != 0) {
    d->flags &= ~DF_F_VISITED;
    w->failed = true;
  }
}

static bool has_edge_stages(const df_deferred *d) {
  return d->n_waiters || d->n_chain_out;
}

/* Does d's chained_to hold a reference (an edge to walk)? */
static bool holds_chained_to(const df_deferred *d) {
  return (d->flags & DF_F_CHAINED_REF) != 0;
}

static bool held_from_outside(const df_deferred *d) {
  return (uint32_t)d->refs > df__internal_refs(d);
}

/* Follow one chain edge (phase 2 only), within the bound. */
static void visit_chain_edge(walk *w, df_deferred *target) {
  if (++w->chain_edges > MAX_CHAIN_EDGES_WALKED)
    w->failed = true;
  else
    visit(w, target);
}

static bool visit_stage_target(df_stage *s, void *ctx) {
  walk *w = ctx;
  if (df__stage_kind(s) == DF_STAGE_CONTINUE)
    visit(w, s->callback_arg);
  else if (df__stage_kind(s) == DF_STAGE_CHAIN && w->chain_phase)
    visit_chain_edge(w, s->callback_arg);
  return !w->failed;
}

/* Phase 2: the chain edges out of d, stages and chained_to. */
static void visit_chain_edges(walk *w, df_deferred *d) {
  if (d->n_chain_out) df__stages_each(d, visit_stage_target, w);
  if (!w->failed && holds_chained_to(d)) visit_chain_edge(w, d->chained_to);
}

/* Walk the edges out of d (wait edges both ways; chain edges in phase 2). */
static void expand(walk *w, df_deferred *d) {
  d->flags |= DF_F_EXPANDED;
  if (df__waiting(d)) visit(w, d->result.u.deferred);
  if (has_edge_stages(d)) df__stages_each(d, visit_stage_target, w);
  if (!w->failed && w->chain_phase && holds_chained_to(d))
    visit_chain_edge(w, d->chained_to);
}

static bool count_stage_edge(df_stage *s, void *ctx) {
  (void)ctx;
  if (df__stage_is_edge(s)) ((df_deferred *)s->callback_arg)->gc_count++;
  return true;
}

typedef struct spread {
  df_ptr_vec *work;
  bool out_of_memory;
} spread;

static void spread_live_to(spread *sp, df_deferred *t) {
  if ((t->flags & DF_F_VISITED) && !(t->flags & DF_F_LIVE)) {
    t->flags |= DF_F_LIVE;
    if (df__ptr_vec_push(sp->work, t) != 0) sp->out_of_memory = true;
  }
}

static bool spread_live(df_stage *s, void *ctx) {
  if (df__stage_is_edge(s)) spread_live_to(ctx, s->callback_arg);
  return !((spread *)ctx)->out_of_memory;
}

/* Cut a CONTINUE or CHAIN stage of a garbage member: its target loses the
 * reference the stage held, and the stage does nothing when dropped. */
static bool cut_stage_edge(df_stage *s, void *ctx) {
  df_deferred *owner = ctx;
  if (!df__stage_is_edge(s)) return true;
  df_deferred *target = s->callback_arg;
  target->refs--;
  if (df__stage_kind(s) == DF_STAGE_CONTINUE) {
    owner->n_waiters--;
    df__loop_reserve_free(df__stage_reserve(s));
    s->u.errback_arg = NULL;
  } else {
    target->n_chained_in--;
    owner->n_chain_out--;
    df__forget_chained_to(target, owner);
  }
  df__stage_set_kind(s, DF_STAGE_USER);
  s->callback = s->errback = NULL;
  return true;
}

/* Cut the reference d's chained_to holds, as cut_stage_edge does. */
static void cut_chained_to(df_deferred *d) {
  df_deferred *target = d->chained_to;
  target->refs--;
  target->n_chained_in--;
  d->flags &= ~DF_F_CHAINED_REF;
  d->chained_to = NULL;
}

/* Phases 1 and 2: fill the group. Returns false if the start is live or
 * the walk gave up. */
static bool walk_group(walk *w, df_deferred *start, size_t base) {
  visit(w, start);
  for (size_t i = base; !w->failed && i < w->group->len; i++) { /* phase 1 */
    df_deferred *d = w->group->items[i];
    if (held_from_outside(d)) return false;
    expand(w, d);
  }
  w->chain_phase = true;
  size_t phase1_end = w->group->len;
  for (size_t i = base; !w->failed && i < w->group->len; i++) { /* phase 2 */
    df_deferred *d = w->group->items[i];
    if (i < phase1_end) { /* wait edges done; now its chain edges */
      visit_chain_edges(w, d);
    } else if (held_from_outside(d)) {
      d->flags |= DF_F_LIVE; /* reached by a chain edge: may not reach us */
    } else {
      expand(w, d);
    }
  }
  return !w->failed;
}

/* Phase 3: mark live what the edges from the walked members cannot
 * explain, and what live members reach. Returns false if out of memory. */
static bool mark_live(walk *w, size_t base, size_t end) {
  for (size_t i = base; i < end; i++) {
    df_deferred *d = w->group->items[i];
    if (!(d->flags & DF_F_EXPANDED)) continue;
    if (df__waiting(d)) d->result.u.deferred->gc_count++;
    if (has_edge_stages(d)) df__stages_each(d, count_stage_edge, NULL);
    if (holds_chained_to(d)) d->chained_to->gc_count++;
  }
  spread sp = {w->group, false}; /* a work list above the group */
  size_t live_base = w->group->len;
  for (size_t i = base; i < end; i++) {
    df_deferred *d = w->group->items[i];
    if ((uint32_t)d->refs > d->gc_count) d->flags |= DF_F_LIVE;
    if ((d->flags & DF_F_LIVE) && df__ptr_vec_push(w->group, d) != 0)
      return false;
  }
  while (!sp.out_of_memory && w->group->len > live_base) {
    df_deferred *d = w->group->items[--w->group->len];
    if (df__waiting(d)) spread_live_to(&sp, d->result.u.deferred);
    if (has_edge_stages(d)) df__stages_each(d, spread_live, &sp);
    if (holds_chained_to(d)) spread_live_to(&sp, d->chained_to);
  }
  return !sp.out_of_memory;
}

void df__collect_if_garbage(df_deferred *start) {
  /* A freed deferred in quarantine (debug mode) has its counts poisoned
   * so that an unref of it comes here: see quarantine.c. */
  df__check_live(start, "df_deferred_unref()");
  walk w = {df__scratch_vec(), false, false, 0};
  size_t base = w.group->len; /* the vector may be in use further up */
  bool collect = walk_group(&w, start, base);
  size_t end = w.group->len;
  if (collect) collect = mark_live(&w, base, end);
  w.group->len = end;

  /* Move the garbage members to the front of [base, end), clear flags. */
  size_t n = 0;
  for (size_t i = base; i < end; i++) {
    df_deferred *d = w.group->items[i];
    bool garbage = collect && !(d->flags & DF_F_LIVE);
    d->flags &= ~(DF_F_VISITED | DF_F_LIVE | DF_F_EXPANDED);
    if (garbage) w.group->items[base + n++] = d;
  }
  if (n == 0) {
    w.group->len = base;
    return;
  }

  /* Hold every garbage member, cut its edges, then let go: each count
   * drops to zero and the member is destroyed the ordinary way (reporting
   * an unhandled failure if it holds one, rule U3). Edges to live members
   * just give back their reference. */
  for (size_t i = base; i < base + n; i++) w.group->items[i]->refs++;
  for (size_t i = base; i < base + n; i++) {
    df_deferred *d = w.group->items[i];
    if (has_edge_stages(d)) df__stages_each(d, cut_stage_edge, d);
    if (holds_chained_to(d)) cut_chained_to(d);
    if (df__waiting(d)) {
      d->result.u.deferred->refs--; /* the reference the result held */
      d->result = df_none();
    }
  }
  /* Copy out before releasing: destroying may reuse the scratch vector. */
  df_deferred *stack_items[16];
  df_deferred **items = n > 16 ? df__malloc(n * sizeof *items) : stack_items;
  if (!items) { /* cannot copy: release in place; each count goes straight
                   to 0, and a destroyed member has no edges left to walk */
    for (size_t i = base; i < base + n; i++)
      df_deferred_unref(w.group->items[i]);
    w.group->len = base;
    return;
  }
  for (size_t i = 0; i < n; i++) items[i] = w.group->items[base + i];
  w.group->len = base;
  for (size_t i = 0; i < n; i++) df_deferred_unref(items[i]);
  if (items != stack_items) df__free(items);
}
