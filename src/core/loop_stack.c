/* The firing loop's stack, threaded through the deferreds on it.
 *
 * The loop (docs/semantics.md, "The loop"; deferred.c) keeps a stack of
 * frames: the deferred whose stages run now on top, below it each
 * deferred that handed its result to the one above it (rule 11) or fired
 * it through chain_deferred (rule 15) and goes on once that one is done.
 * A frame needs a place for the frame below it and for its flags. Both
 * are in the deferred itself: the flags of its top frame in its flags
 * word, the link in loop.below, where its canceller was. Only a fired
 * deferred has frames, and a fired deferred's canceller is never called
 * again (rule C4). So pushing a frame stores two words and allocates
 * nothing, and the stack is as deep as the chains it runs, with no memory
 * to run out of: a waiting chain of any depth is handed down, and a
 * chain_deferred list of any length fired, with every allocation
 * failing, in the same order as with memory and in constant C stack.
 *
 *   df__loop_top
 *     |
 *     v
 *   +--------+ loop.below +--------+ loop.below +--------+ loop.below
 *   |   W    |----------->|   R    |----------->|   D    |-----------> ...
 *   +--------+            +--------+            +--------+   (an outer
 *   runs its stages       handed its result     BOUNDARY:     invocation,
 *                         to W; goes on after   first frame   or NULL)
 *
 * A deferred on the stack twice. The frames of one invocation are pushed
 * for a waiter handed its result, or for a chain_deferred target just
 * fired (unfired until then: it had no frame). A waiter already on the
 * stack is possible only through re-entrant code: a deferred X with a
 * frame below the top (it handed its result to W above it) is added to
 * from a callback of W; X is neither running nor paused, so its stages
 * run at once, nested (rule 1). That nested run
 *
 *   (1) runs in a frame of its own for X from the start, never frameless
 *       (run_callbacks sends a deferred with a frame to run_frames), so
 *       that a deferred with a frame always runs in its top frame. That
 *       run's first frame keeps what X's older frame needs in a node on
 *       run_frames()'s C stack (one per nested call, which the re-entrant
 *       code's own C recursion already pays for);
 *   (2) may leave X waiting on a deferred Y (a callback returns Y): when Y
 *       hands X its result, X may still have its older frame, and the
 *       hand-off pushes X again. Its node is then a reserve, allocated
 *       when X started waiting (take_or_wait) and carried by the CONTINUE
 *       stage in Y's queue: making a wait edge can fail already, with a
 *       MemoryError in X's chain, so failing there is clean, and the
 *       hand-off itself never fails. The edge needs it only if X, when it
 *       starts waiting, has a frame other than the one the current run
 *       pops before any user code runs (df__wait_needs_reserve: the
 *       case here, and one where making the edge itself frees a deferred,
 *       whose unhandled-failure handler may end the wait at once): from
 *       then until its wait ends X gets no new frame, since a waiting
 *       deferred is paused (no run_frames), waits on one deferred only
 *       (one hand-off) and has fired (no chained run).
 *
 * In Twisted the same happens (its loop's `chain` list holds X twice, or
 * two nested calls each hold it): when W pauses itself and X's new
 * callback returns W, X waits on W, and W's loop, which goes on without a
 * pause check, hands X its result.
 *
 * With a node, X's link points to it, and the node holds the frame below
 * X's top frame and what X's link and frame flags were before:
 *
 *   df__loop_top
 *     |
 *     v
 *   +---------+ loop.node  +-------------+
 *   | X (DUP) |----------->| below ------+---> T ---> X ---> P ---> ...
 *   +---------+            | saved: -----+-------------------^ (X's older
 *                          | saved_flags |                      frame's
 *                          +-------------+                      link, P)
 *
 * Popping X's top frame puts them back (df__frame_pop_again): the stack
 * goes on at T, and when the loop gets down to X again, X's link is P.
 * Pushing and popping the usual frame are inline (internal.h); this file
 * has the rest. */
#include <assert.h>

#include "internal.h"

DF_TLS df_deferred *df__loop_top;

void df__frame_push_again(df_deferred *d, uint32_t frame_flags,
                          df_loop_node *node) {
  node->below = df__loop_top;
  node->saved = d->loop;
  node->saved_flags = d->flags & (DF_F_LOOP_DUP | DF_F_FRAME_BITS);
  d->loop.node = node;
  d->flags = (d->flags & ~DF_F_FRAME_BITS) | DF_F_LOOP_DUP | frame_flags;
  df__loop_top = d;
}

uint32_t df__frame_pop_again(df_deferred *d) {
  uint32_t flags = d->flags;
  df_loop_node *node = d->loop.node;
  df__loop_top = node->below;
  d->loop = node->saved;
  d->flags = (flags & ~(DF_F_LOOP_DUP | DF_F_FRAME_BITS)) | node->saved_flags;
  if (node->reserve) df__free(node);
  return flags;
}

/* df__frame_push_waiter() for a waiter with a frame already, or a wait
 * edge with a reserve: the waiter's frame takes the reserve if it needs
 * it, else the reserve is freed. */
void df__frame_push_waiter_slow(df_deferred *w, df_loop_node *reserve) {
  if (!(w->flags & DF_F_ON_LOOP)) {
    df__loop_reserve_free(reserve); /* its older frames are gone */
    df__frame_push(w, 0);
    return;
  }
  /* Its wait edge took one: df__wait_needs_reserve() knew it would still
   * be on the stack. */
  assert(reserve != NULL);
  df__frame_push_again(w, 0, reserve);
}

df_loop_node *df__loop_reserve_new(void) {
  df_loop_node *node = df__malloc(sizeof *node);
  if (node) node->reserve = true;
  return node;
}
