/* The Deferred: state, adding stages, firing, and the firing loop.
 *
 * This file implements the firing rules of docs/semantics.md (Twisted 22.4's
 * defer.py, rule by rule; docs/twisted-programmers.md says where we differ);
 * the comments cite its rule numbers. The loop, run_callbacks(), is Twisted's
 * _runCallbacks made fully iterative:
 *
 *   - Implicit chaining (a callback returns a deferred, rules 9-14) works as
 *     in Twisted: the waiter's result is handed over by pushing the waiter
 *     on an explicit stack, never by recursion.
 *   - chain_deferred (rule 15) is recursive in Twisted: d1's stage calls
 *     d2.callback(), which runs d2's loop nested. Here that nested run is a
 *     new *invocation* on the same explicit stack: its first frame carries
 *     DF_F_FRAME_BOUNDARY, and a "return" (a paused deferred) unwinds to
 *     that boundary only, exactly as returning from the nested call would.
 *     So a million chained deferreds fire in constant C stack.
 *
 * The stack is threaded through the deferreds on it (loop_stack.c), so
 * pushing a frame never allocates: no hand-off and no chained fire waits
 * for memory, whatever the depth. Every deferred on the stack holds a
 * reference taken by the loop, so a callback may drop the last user
 * reference to any of them.
 *
 * Most firings never touch that stack: run_callbacks() first runs a
 * deferred's stages without a frame (a success meeting ordinary callbacks
 * stays in registers), and only an edge stage, a waiter to hand the result
 * to or a chain_deferred target, moves the run to run_frames(), the
 * general loop. docs/performance.md has the measurements behind each fast
 * path.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static int run_callbacks(df_deferred *d);
static int run_ready(df_deferred *d);
static int run_one(df_deferred *d, df_stage *st);

static DF_TLS uint32_t serial_counter; /* df_deferred_serial */

/* --- creation and references ------------------------------------------------- */

/* Fill in a new deferred: field by field rather than a memset of the
 * whole header (which gcc turns into `rep stos`): the registry links and
 * gc_count are only read once set, and inline stages are written before
 * they are read. Only stores, so that the callers' fast paths need no
 * stack frame; debug mode's extra record is make_slow()'s job. */
static inline void init(df_deferred *d, const char *file, int line,
                        const char *func) {
  d->result = df_none();
  d->flags = 0;
  d->refs = 1;
  d->paused = 0;
  d->n_waiters = d->n_chained_in = d->n_chain_out = 0;
  d->serial = ++serial_counter;
  df__stages_init(d);
  d->chained_to = NULL;
  d->created.file = file;
  d->created.line = line;
  d->created.func = func;
  /* The canceller is the caller's to set (a deferred made fired never
   * reads it); fired, debug and canceller_arg_release are left alone:
   * fired is read only once CALLED is set, the other two only on COLD
   * deferreds. */
}

/* init() and the canceller: a deferred made unfired (df_deferred_new,
 * make_slow). */
static inline void init_unfired(df_deferred *d, df_canceller_fn canceller,
                                void *canceller_arg, const char *file,
                                int line, const char *func) {
  init(d, file, line, func);
  d->canceller = canceller;
  d->canceller_arg = canceller_arg;
}

/* Rule 5: `d` is called, here (the site callback()/errback() was given),
 * with `r`. What comes next (the run) is the caller's. */
static inline void set_fired(df_deferred *d, df_result r, const char *file,
                             int line, const char *func) {
  df__set_called(d);
  d->fired.file = file;
  d->fired.line = line;
  d->fired.func = func;
  d->result = r;
}

/* The general case of creating a deferred: the free list may be empty,
 * and debug mode records a backtrace. */
static DF_NOINLINE df_deferred *make_slow(df_canceller_fn canceller,
                                          void *canceller_arg,
                                          const char *file, int line,
                                          const char *func) {
  df_deferred *d = df__deferred_alloc();
  if (DF_UNLIKELY(!d)) return NULL;
  init_unfired(d, canceller, canceller_arg, file, line, func);
  d->debug = NULL;
  d->canceller_arg_release = NULL;
  if (DF_UNLIKELY(df__debugging) && df__debug_record(d))
    d->flags |= DF_F_COLD | DF_F_DEBUG;
  return d;
}

df_deferred *df_deferred_new_at(df_canceller_fn canceller, void *canceller_arg,
                                const char *file, int line, const char *func) {
  df_deferred *d;
  if (DF_UNLIKELY(df__debugging || (d = df__deferred_pop()) == NULL))
    return make_slow(canceller, canceller_arg, file, line, func);
  init_unfired(d, canceller, canceller_arg, file, line, func);
  return d;
}

static DF_NOINLINE df_deferred *succeed_slow(df_result result,
                                             const char *file, int line,
                                             const char *func) {
  df_deferred *d = make_slow(NULL, NULL, file, line, func);
  if (DF_UNLIKELY(!d)) {
    df_result_drop(result);
    return NULL;
  }
  if (df_deferred_callback_at(d, result, file, line, func) != 0) {
    /* result was a deferred (rule 4): a programming error, reported as a
     * failed deferred rather than an abort */
    df__fire(d, df_raise(&df_error_invalid_argument,
                         "df_succeed: a deferred is not a result"),
             file, line, func);
  }
  return d;
}

/* df_succeed() on a struct from the free list (or the general case).
 * Out of line, so that df_succeed_at's common case, the struct kept by
 * take_simple, needs no stack frame with any compiler (clang saved three
 * registers for this path). */
static DF_NOINLINE df_deferred *succeed_fresh(df_result result,
                                              const char *file, int line,
                                              const char *func) {
  df_deferred *d;
  if (DF_UNLIKELY((d = df__deferred_pop()) == NULL))
    return succeed_slow(result, file, line, func);
  /* All that creating a deferred and firing it with nothing queued does
   * (rules 5, U1) for a plain value, without the general paths: the
   * common `return df_wait_on(df_succeed(x))` costs little more than
   * taking a deferred from the free list. */
  init(d, file, line, func);
  /* set_fired(), without storing the site a second time; no canceller:
   * it is never called on a fired deferred (rule C4). */
  d->flags = DF_F_CALLED | DF_F_BORN_FIRED;
  d->pub.add_end = NULL;
  d->result = result;
  return d;
}

/* Twisted's succeed() (helpers.c has its relatives). */
df_deferred *df_succeed_at(df_result result, const char *file, int line,
                           const char *func) {
  df_deferred *d;
  if (DF_UNLIKELY(df__debugging || result.kind >= DF_FAILURE ||
                  df__observer != NULL))
    return succeed_slow(result, file, line, func);
  d = df__spares.born_fired;
  if (DF_UNLIKELY(d == NULL)) return succeed_fresh(result, file, line, func);
  /* What the last one left (take_simple): only what differs. */
  df__spares.born_fired = NULL;
  d->result = result;
  d->serial = ++serial_counter;
  d->created.file = file;
  d->created.line = line;
  d->created.func = func;
  return d;
}

df_deferred *df_deferred_new_owning_at(df_canceller_fn canceller, void *arg,
                                      void (*release)(void *),
                                      const char *file, int line,
                                      const char *func) {
  df_deferred *d = df_deferred_new_at(canceller, arg, file, line, func);
  if (DF_UNLIKELY(!d)) {
    if (release) release(arg);
    return NULL;
  }
  if (release) {
    d->canceller_arg_release = release;
    d->flags |= DF_F_COLD;
  }
  return d;
}

df_deferred *df_deferred_ref(df_deferred *d) {
  if (d) {
    /* One test of the flags (a deferred in quarantine, debug mode) */
    df__check_live(d, "df_deferred_ref()");
    d->refs++;
  }
  return d;
}

/* df_deferred_unref of a non-NULL deferred, inlined where the library
 * drops the references it took itself. */
static inline void unref(df_deferred *d) {
  if (DF_LIKELY(--d->refs == 0)) {
    df__deferred_destroy(d, NULL);
    return;
  }
  /* Only references other deferreds could hold? Then it may be part of an
   * unreachable group. */
  if (DF_UNLIKELY((uint32_t)d->refs <= df__internal_refs(d)))
    df__collect_if_garbage(d);
}

void (df_deferred_unref)(df_deferred *d) {
  if (d) unref(d);
}

/* The unref of a deferred with references left that other deferreds may
 * all hold; or of one in quarantine, whose poisoned counts lead here. */
static DF_NOINLINE void unref_rest(df_deferred *d, const df_site *site) {
  if (DF_UNLIKELY(d->flags & DF_F_FREED))
    df__misuse(d, "df_deferred_unref()", site ? site->file : NULL,
               site ? site->line : 0, site ? site->func : NULL);
  df__collect_if_garbage(d);
}

/* unref() with the caller's site, which the freeing records in debug
 * mode; passed on in the register it came in. */
void df_deferred_unref_at(df_deferred *d, const df_site *site) {
  if (DF_UNLIKELY(!d)) return;
  if (DF_LIKELY(--d->refs == 0)) {
    df__deferred_destroy(d, site);
    return;
  }
  if (DF_UNLIKELY((uint32_t)d->refs <= df__internal_refs(d)))
    unref_rest(d, site);
}

/* unref() of a deferred whose queue is empty and whose result is a plain
 * value, as a run that ends in success leaves it: with no CONTINUE stage
 * queued it has no waiter, and it waits on nothing, so of the references
 * other deferreds may hold only chain_deferred edges into it are left
 * for the garbage test (df__internal_refs without the two terms that are
 * 0 here). */
static inline void unref_settled(df_deferred *d) {
  if (DF_LIKELY(--d->refs == 0)) {
    df__deferred_destroy(d, NULL);
  } else if (DF_UNLIKELY((uint32_t)d->refs <= d->n_chained_in)) {
    df__collect_if_garbage(d);
  }
}

/* --- chained_to (Twisted's _chainedTo) ------------------------------------ */

/* Drop the reference chained_to holds (DF_F_CHAINED_REF). */
static DF_NOINLINE void release_chained_to(df_deferred *d) {
  df_deferred *on = d->chained_to;
  d->flags &= ~DF_F_CHAINED_REF;
  d->chained_to = NULL;
  on->n_chained_in--;
  unref(on);
}

/* The start of a run forgets chained_to (Twisted sets _chainedTo to None
 * there). */
static inline void clear_chained_to(df_deferred *d) {
  if (DF_UNLIKELY(d->flags & DF_F_CHAINED_REF)) release_chained_to(d);
  d->chained_to = NULL;
}

/* chained_to now names `on`, borrowed (see internal.h). */
static inline void set_chained_to(df_deferred *d, df_deferred *on) {
  if (DF_UNLIKELY(d->flags & DF_F_CHAINED_REF)) release_chained_to(d);
  d->chained_to = on;
}

/* Does d's chained_to name `on` without holding it? */
static inline bool borrows_chained_to(const df_deferred *d,
                                      const df_deferred *on) {
  return d->chained_to == on && !(d->flags & DF_F_CHAINED_REF);
}

/* The edge that kept `on` alive for d's chained_to (which borrows it) is
 * going, and d's run, which would forget it, does not start now (d is
 * paused, or fired before): chained_to takes the reference the caller
 * gives it. */
static inline void keep_chained_to(df_deferred *d, df_deferred *on) {
  d->flags |= DF_F_CHAINED_REF;
  on->n_chained_in++;
}

/* Freeing one deferred can free the next (its stages and result hold
 * references), so destruction recurses. Like CPython's "trashcan", the
 * first DESTROY_DEPTH levels recurse, keeping the order in which a
 * garbage collector would free them, and deeper ones wait in a list that
 * the outermost level drains: an unfired chain_deferred list of a million
 * links is freed in constant C stack. */
#define DESTROY_DEPTH 50
static DF_TLS unsigned destroy_depth;
static DF_TLS df_deferred *destroy_later; /* linked through chained_to */

/* The first step of freeing `d` when it has a debug record (note where
 * its last reference went, `released_at` or NULL for one the library
 * held, for quarantine.c's reports), is marked (rule U3: report its
 * unhandled failure) or its chained_to holds a reference (drop it). Out
 * of line, so that destroy_one() tests the three flags in one
 * instruction. */
static DF_NOINLINE void report_and_let_go(df_deferred *d,
                                          const df_site *released_at) {
  df_debug_info *dbg = df__debug_of(d);
  if (dbg) {
    if (released_at)
      dbg->released_at = *released_at;
    else
      memset(&dbg->released_at, 0, sizeof dbg->released_at);
  }
  if (d->flags & DF_F_MARKED) df__report_on_destroy(d);
  if (d->flags & DF_F_CHAINED_REF) release_chained_to(d);
}

/* Leave `d` for the outermost level to free. */
static DF_NOINLINE void destroy_later_push(df_deferred *d) {
  /* The list goes through chained_to: first let go what it holds. */
  if (d->flags & DF_F_CHAINED_REF) release_chained_to(d);
  d->chained_to = destroy_later; /* nobody reads it any more */
  destroy_later = d;
}

static void destroy_one(df_deferred *d, const df_site *released_at) {
  d->refs = 1; /* a handler or destructor must not free it again */
  if (DF_UNLIKELY(d->flags & (DF_F_DEBUG | DF_F_MARKED | DF_F_CHAINED_REF)))
    report_and_let_go(d, released_at);
  df__stages_drop_all(d);
  df_result_drop(d->result);
  d->result = df_none();
  if (DF_UNLIKELY((d->flags & DF_F_COLD) && d->canceller_arg_release)) {
    void (*release)(void *) = d->canceller_arg_release;
    d->canceller_arg_release = NULL;
    release(d->canceller_arg);
  }
  if (DF_UNLIKELY(df__debug_of(d) != NULL)) {
    df__quarantine(d); /* debug mode: not reused for a while */
    return;
  }
  df__deferred_release(d);
}

/* Called when the last reference is gone: report (rule U3), then free. */
void df__deferred_destroy(df_deferred *d, const df_site *released_at) {
  /* The common case: nothing to report, drop or release. */
  if (DF_LIKELY(!(d->flags & (DF_F_MARKED | DF_F_COLD | DF_F_CHAINED_REF)) &&
                df__stages_empty_small(d) && d->result.kind < DF_FAILURE &&
                d->result.destructor == 0)) {
    df__stages_free_empty(d);
    df__deferred_release(d);
    return;
  }
  if (DF_UNLIKELY(destroy_depth >= DESTROY_DEPTH)) {
    destroy_later_push(d);
    return;
  }
  destroy_depth++;
  destroy_one(d, released_at);
  if (destroy_depth == 1) {
    while (destroy_later) {
      df_deferred *next = destroy_later;
      destroy_later = next->chained_to;
      destroy_one(next, NULL);
    }
  }
  destroy_depth--;
}

/* --- adding stages ------------------------------------------------------------ */

/* An ordinary pair, stored as the public header's inline add stores it
 * (df__fill). */
static inline void fill_stage(df_stage *s, df_callback_fn callback,
                              void *callback_arg, df_callback_fn errback,
                              void *errback_arg, const df_stage_site *site) {
  df__fill(s, callback, callback_arg, errback, site, DF_STAGE_USER);
  s->u.errback_arg = errback_arg;
}

/* A CONTINUE or CHAIN stage: no callbacks (df__stage_is_edge), and a
 * reference to `target`, which the caller has taken. */
static inline void fill_edge_stage(df_stage *s, unsigned char kind,
                                   df_deferred *target,
                                   const df_stage_site *site) {
  df__fill(s, NULL, target, NULL, site, kind);
  s->u.errback_arg = NULL;
}

/* The general case of adding a stage: a new block may have to be
 * allocated, and a fired deferred runs the stage at once (rule 1). */
static DF_NOINLINE int add_callbacks_general(df_deferred *d,
                                             df_callback_fn callback,
                                             void *callback_arg,
                                             df_callback_fn errback,
                                             void *errback_arg,
                                             const df_stage_site *site) {
  df_stage *s = df__stage_append(d);
  if (DF_UNLIKELY(!s)) return DF_ENOMEM;
  fill_stage(s, callback, callback_arg, errback, errback_arg, site);
  /* rule 1: added after firing runs now, unless paused, waiting or
   * running (run_callbacks checks all three). */
  if (d->flags & DF_F_CALLED) run_callbacks(d);
  return 0;
}

/* Every add the inline fast path cannot do. */
static DF_NOINLINE int add_callbacks_slow(df_deferred *d,
                                          df_callback_fn callback,
                                          void *callback_arg,
                                          df_callback_fn errback,
                                          void *errback_arg,
                                          const df_stage_site *site) {
  df_stage_block *b;
  if (DF_LIKELY(d->pub.tail == d->tail_end && !(d->flags & DF_F_CALLED)) &&
      df__next_block_cap(d) == DF_BLOCK_STAGES &&
      (b = df__block_pop()) != NULL) {
    /* The inline add's only miss on an unfired deferred: its tail segment
     * is full. A pooled block, linked in with stores only (no call, so
     * no stack frame: this runs once per 16 stages of every long chain). */
    fill_stage(df__stages_link_block(d, b), callback, callback_arg, errback,
               errback_arg, site);
    return 0;
  }
  return add_callbacks_general(d, callback, callback_arg, errback,
                               errback_arg, site);
}

/* The public header inlines this fast path at every add macro; this
 * copy serves callers of the function itself. */
int df_deferred_add_callbacks_at(df_deferred *d, df_callback_fn callback,
                                 void *callback_arg, df_callback_fn errback,
                                 void *errback_arg, const df_stage_site *site) {
  if (DF_UNLIKELY(!d)) return DF_EINVAL;
  if (DF_UNLIKELY(!df__has_slot(d)))
    return add_callbacks_slow(d, callback, callback_arg, errback, errback_arg,
                              site);
  fill_stage(df__take_slot(d), callback, callback_arg, errback, errback_arg,
             site);
  return 0;
}

int df_deferred_add_owned_at(df_deferred *d, df_callback_fn callback,
                             df_callback_fn errback, void *arg,
                             void (*release)(void *),
                             const df_stage_site *site) {
  if (!release)
    return df_deferred_add_callbacks_at(d, callback, arg, errback, arg, site);
  if (DF_UNLIKELY(!d)) {
    release(arg);
    return DF_EINVAL;
  }
  df_stage *s = df__stage_append(d);
  if (DF_UNLIKELY(!s)) {
    release(arg);
    return DF_ENOMEM;
  }
  df__fill(s, callback, arg, errback, site, DF_STAGE_OWNED);
  s->u.release = release;
  if (d->flags & DF_F_CALLED) run_callbacks(d); /* rule 1 */
  return 0;
}

int df_deferred_chain_at(df_deferred *d, df_deferred *other,
                         const df_stage_site *site) {
  if (!d || !other || d == other) return DF_EINVAL;
  df_stage *s = df__stage_append(d);
  if (!s) return DF_ENOMEM;
  fill_edge_stage(s, DF_STAGE_CHAIN, df_deferred_ref(other), site);
  other->n_chained_in++;
  d->n_chain_out++;
  set_chained_to(other, d); /* rule 15: informational */
  other->flags |= DF_F_CHAIN_TARGET;
  if (d->flags & DF_F_CALLED) run_callbacks(d);
  return 0;
}

/* --- firing ------------------------------------------------------------------ */

/* A fire of `d`, which has fired before (or is freed: debug mode). */
static DF_NOINLINE int fire_again(df_deferred *d, df_result r,
                                  const char *api, const char *file,
                                  int line, const char *func) {
  if (DF_UNLIKELY(d->flags & DF_F_FREED)) df__misuse(d, api, file, line, func);
  df_result_drop(r);
  if (d->flags & DF_F_SUPPRESS) { /* rule 24: swallow one fire */
    d->flags &= ~DF_F_SUPPRESS;
    return 0;
  }
  /* rule 23: nothing changes, but debug mode notes where it happened
   * (df_deferred_already_called_error) */
  if (DF_UNLIKELY(df__debug_of(d) != NULL))
    df__debug_refired(d, file, line, func);
  return DF_EALREADY_CALLED;
}

/* Rule 5: the shared start step of callback() and errback(); `api`
 * names the caller's entry point for debug mode's reports. */
static inline int fire(df_deferred *d, df_result r, const char *api,
                       const char *file, int line, const char *func) {
  if (DF_UNLIKELY(d->flags & DF_F_CALLED))
    return fire_again(d, r, api, file, line, func);
  set_fired(d, r, file, line, func);
  if (DF_UNLIKELY(df__debug_of(d) != NULL))
    df__backtrace_capture(&d->debug->fired, 1); /* keep the caller: callback_at may be a tail call */
  if (DF_UNLIKELY(r.kind == DF_FAILURE))
    df__failure_note(r.u.failure, DF_TRACE_FIRED, d, NULL, 0, false);
  if (DF_UNLIKELY(df__observer != NULL))
    df__observe_fired(d, NULL, file, line, func);
  run_callbacks(d);
  return 0;
}

int df__fire(df_deferred *d, df_result r, const char *file, int line,
             const char *func) {
  return fire(d, r, "firing", file, line, func);
}

static DF_NOINLINE int callback_slow(df_deferred *d, df_result result,
                                     const char *file, int line,
                                     const char *func) {
  if (DF_UNLIKELY(!d || result.kind == DF_DEFERRED)) {
    df_result_drop(result); /* rule 4: a deferred is not a result */
    return DF_EINVAL;
  }
  return fire(d, result, "df_deferred_callback()", file, line, func);
}

int df_deferred_callback_at(df_deferred *d, df_result result, const char *file,
                            int line, const char *func) {
  /* fire() for the common case, a plain value into an unfired deferred
   * with no debug record and no observer: no stack frame, and the run is
   * a tail call. */
  if (DF_LIKELY(d && result.kind < DF_FAILURE &&
                !(d->flags & (DF_F_CALLED | DF_F_COLD | DF_F_CHAIN_TARGET)) &&
                df__observer == NULL)) {
    set_fired(d, result, file, line, func);
    if (DF_UNLIKELY(d->paused != 0)) return run_callbacks(d);
    /* run_callbacks() without the guards this deferred has just passed
     * (it was unfired, so it is not running; it is not paused; the
     * result is not a deferred, so it does not wait). With nothing
     * queued, its "finished" step for an unfired deferred (never marked)
     * is nothing. Its chained_to is NULL: only a chain_deferred target's
     * can be set while it is unfired. */
    df_stage *st = d->head;
    if (st == d->pub.tail) return 0;
    if (st + 1 == d->pub.tail) return run_one(d, st); /* one stage */
    return run_ready(d);
  }
  return callback_slow(d, result, file, line, func);
}

int df_deferred_errback_at(df_deferred *d, df_failure *f, const char *file,
                           int line, const char *func) {
  if (!d || !f) {
    df_failure_unref(f);
    return DF_EINVAL;
  }
  return fire(d, df_failed(f), "df_deferred_errback()", file, line, func);
}

/* --- pause ------------------------------------------------------------------ */

int df_deferred_pause(df_deferred *d) {
  if (!d) return DF_EINVAL;
  d->paused++; /* rule 16 */
  return 0;
}

int df_deferred_unpause(df_deferred *d) {
  if (!d || d->paused <= 0) return DF_EINVAL; /* no underflow, unlike Twisted */
  if (--d->paused == 0 && (d->flags & DF_F_CALLED)) run_callbacks(d);
  return 0;
}

/* --- cancellation --------------------------------------------------------- */

int df_deferred_cancel_at(df_deferred *d, const char *file, int line,
                          const char *func) {
  if (!d) return DF_EINVAL;
  if (DF_UNLIKELY(d->flags & DF_F_FREED))
    df__misuse(d, "df_deferred_cancel()", file, line, func);
  /* rule C3: waiting on a chain: cancel what it waits on instead. Walking
   * to the end of the waiting chain here is what Twisted's recursion does;
   * its frames hold every deferred on the way until the canceller returns,
   * and so does this (in the scratch vector, above whatever the callers
   * keep there), so that one the canceller's fire lets go is freed, and
   * its unhandled failure reported, when Twisted frees it: after. Were
   * the vector to fail to grow, the rest of the way is simply not held. */
  df_ptr_vec *held = df__scratch_vec();
  size_t base = held->len;
  df_deferred *target = d;
  while (df__waiting(target)) {
    if (df__ptr_vec_push(held, target) == 0) df_deferred_ref(target);
    target = target->result.u.deferred;
  }
  df_deferred_ref(target);
  if (!df__called(target)) { /* rule C1 */
    if (target->canceller)
      target->canceller(target, target->canceller_arg); /* rule C2 */
    else
      target->flags |= DF_F_SUPPRESS; /* rule 24 */
    if (!df__called(target)) {
      df_failure *f = df_failure_new_at(file, line, func, &df_error_cancelled,
                                        NULL);
      df__fire(target, df_failed(f), file, line, func);
    }
  }
  /* rule C4: fired, or paused with a plain result: nothing. */
  df_deferred_unref(target);
  /* Innermost first, as Twisted's frames return. Each is popped before
   * it is let go: freeing it may use the vector above `base`. */
  while (held->len > base) {
    df_deferred *on_the_way = held->items[--held->len];
    df_deferred_unref(on_the_way);
  }
  return 0;
}

/* --- the firing loop (docs/semantics.md, "The loop") ---------------------- */

/* Does `r`, a deferred a callback of `cur` returned, lead back to `cur`?
 * (rules 25-26: Twisted hangs for ever there; we fail the chain.)
 *
 * `cur` is running, so it waits on nothing: `r` leads back to it exactly
 * when `r` is `cur` or is in the tree of deferreds waiting on `cur`. Two
 * ways to find out: walk up from `r` to the end of its waiting chain, or
 * search `cur`'s waiters. Either can be long (a million-deferred chain
 * grows at one end or the other), so both walks advance in step and the
 * first to finish decides: the cost is the shorter of the two. */
typedef struct waiter_search {
  df_ptr_vec *found;
  const df_deferred *target;
  bool hit, out_of_memory;
  size_t steps;
} waiter_search;

static bool collect_waiter(df_stage *st, void *ctx) {
  waiter_search *ws = ctx;
  ws->steps++;
  if (df__stage_kind(st) != DF_STAGE_CONTINUE) return true;
  df_deferred *w = st->callback_arg;
  if (w == ws->target) {
    ws->hit = true;
    return false;
  }
  if (w->n_waiters && df__ptr_vec_push(ws->found, w) != 0) {
    ws->out_of_memory = true;
    return false;
  }
  return true;
}

static bool would_wait_on_itself(df_deferred *cur, const df_deferred *r) {
  if (r == cur) return true;
  if (!df__waiting(r) || cur->n_waiters == 0) return false; /* O(1) cases */
  df_ptr_vec *q = df__scratch_vec();
  size_t base = q->len;
  waiter_search ws = {q, r, false, false, 0};
  const df_deferred *up = r;
  bool cycle = false, decided = false;
  if (df__ptr_vec_push(q, cur) != 0) ws.out_of_memory = true;
  for (size_t next = base; !decided;) {
    /* one node of the waiter search ... */
    if (ws.out_of_memory) break; /* fall back to the upward walk alone */
    if (next == q->len) { decided = true; break; } /* searched them all */
    ws.steps = 0;
    df__stages_each(q->items[next++], collect_waiter, &ws);
    if (ws.hit) { cycle = decided = true; break; }
    /* ... and as many steps up from r */
    for (size_t i = 0; i <= ws.steps && !decided; i++) {
      up = df__waiting(up) ? up->result.u.deferred : NULL;
      if (up == cur) cycle = decided = true;
      else if (!up) decided = true;
    }
  }
  q->len = base;
  while (!decided && up) { /* only after running out of memory */
    up = df__waiting(up) ? up->result.u.deferred : NULL;
    if (up == cur) cycle = true;
    if (!up || up == cur) break;
  }
  return cycle;
}

/* A callback of `cur` returned deferred `r` (reference owned by `out`).
 * Either take r's result now (rule 9: returns true with *out replaced) or
 * make cur wait on r (rule 10: returns false, cur->result holds r). */
static bool take_or_wait(df_deferred *cur, df_result *out) {
  df_deferred *r = out->u.deferred;
  if (DF_UNLIKELY(!r)) {
    *out = df_raise(&df_error_invalid_argument,
                    "a callback returned df_wait_on(NULL)");
    return true;
  }
  if (DF_UNLIKELY(would_wait_on_itself(cur, r))) {
    df_deferred_unref(r);
    *out = df_raise(&df_error_chain_cycle,
                    "a callback returned a deferred that is waiting on the "
                    "deferred it was attached to; this would wait for ever");
    return true;
  }
  /* A deferred whose own callbacks are running has no result to give: the
   * running callback owns it (Twisted would take the in-flight value). */
  if (df__called(r) && !df__paused(r) && !(r->flags & DF_F_RUNNING)) {
    /* rule 9: steal the result; r keeps None and forgets its mark */
    df_result v = df__result_load(&r->result);
    r->result = df_none();
    df__mark_clear(r);
    if (v.kind == DF_FAILURE)
      df__failure_note(v.u.failure, DF_TRACE_TAKEN, cur, NULL, 0, false);
    if (DF_UNLIKELY(df__observer != NULL))
      df__observe(DF_EVENT_TOOK, cur, r, &v);
    df_deferred_unref(r);
    *out = v;
    return true;
  }
  /* rule 10: wait. CONTINUE(cur) goes at the end of r's queue without
   * running r (r has no usable result, or is paused), with the frame the
   * hand-off will need if cur may still be on the loop stack then. */
  df_loop_node *reserve = NULL;
  df_stage *s;
  if (DF_UNLIKELY(df__wait_needs_reserve(cur)) &&
      (reserve = df__loop_reserve_new()) == NULL)
    s = NULL;
  else if (DF_UNLIKELY((s = df__stage_append(r)) == NULL))
    df__loop_reserve_free(reserve);
  if (DF_UNLIKELY(!s)) {
    df_deferred_unref(r);
    *out = df_failed(df_failure_ref(df__failure_no_memory()));
    return true;
  }
  fill_edge_stage(s, DF_STAGE_CONTINUE, df_deferred_ref(cur), NULL);
  s->u.errback_arg = reserve; /* df__stage_reserve */
  r->n_waiters++;
  cur->result = *out; /* holds r: cur is now "paused" by the chain */
  set_chained_to(cur, r);
  if (DF_UNLIKELY(df__observer != NULL))
    df__observe(DF_EVENT_WAITING, cur, r, NULL);
  return false;
}

/* End of a chained run (normal or by unwinding): the chaining deferred,
 * whose frame is now the top one, resumes after its CHAIN stage, whose
 * "return value" is None (rule 15), without a pause check (rule 17). */
static void end_chained_run(void) {
  df_deferred *parent = df__loop_top;
  parent->flags = (parent->flags & ~DF_F_RUNNING) | DF_F_FRAME_RESUMING;
  parent->result = df_none();
}

/* rule 15: the CHAIN stage of `cur` fires `target` with cur's result.
 * Returns true if target is now fired and must run as a nested
 * invocation (the caller runs it, with the stage's reference to it, and
 * then resumes cur: end_chained_run); false if it had fired before (cur
 * just goes on). */
static bool start_chained(df_deferred *cur, df_deferred *target,
                          const df_stage_site *site) {
  target->n_chained_in--; /* the stage's reference is ours now */
  cur->n_chain_out--;
  /* The stage held `target`, not `cur`: if target's chained_to names cur
   * and target's run will not forget it now (it has fired before, or is
   * paused), chained_to keeps cur alive from here on. */
  bool keep = borrows_chained_to(target, cur) &&
              (df__called(target) || target->paused != 0);
  if (DF_UNLIKELY(keep)) {
    cur->refs++;
    keep_chained_to(target, cur);
  }
  if (df__called(target)) {
    /* d2.callback() raised AlreadyCalledError inside d1's stage, or was
     * swallowed after a cancel and returned None (rule 24). */
    df_result_drop(cur->result);
    if (target->flags & DF_F_SUPPRESS) {
      target->flags &= ~DF_F_SUPPRESS;
      cur->result = df_none();
    } else {
      cur->result = df_failed(df_failure_new_at(
          df__site_file(site), df__site_line(site),
          df__site_func(site), &df_error_already_called,
          "chain_deferred: the chained deferred was already called"));
    }
    df_deferred_unref(target);
    return false;
  }
  df_result v = df__result_load(&cur->result);
  cur->result = df_none();
  if (v.kind == DF_FAILURE)
    df__failure_note(v.u.failure, DF_TRACE_CHAINED, target, NULL, 0, false);
  set_fired(target, v, df__site_file(site), df__site_line(site),
            df__site_func(site));
  if (DF_UNLIKELY(df__observer != NULL)) {
    df__observe(DF_EVENT_CHAINED, cur, target, &target->result);
    df__observe_fired(target, cur, target->fired.file, target->fired.line,
                      target->fired.func);
  }
  /* Twisted runs d2.callback inside d1's try block: d1 is "running". */
  cur->flags |= DF_F_RUNNING;
  return true;
}

/* What a callback returned becomes cur's result: a deferred is taken from
 * or waited on (rules 9, 10), a failure noted for the causal trace.
 * Returns false if cur now waits. */
static bool after_call(df_deferred *cur, const df_stage *st, df_result out,
                       bool failed, const df_failure *in_failure) {
  if (DF_UNLIKELY(out.kind == DF_DEFERRED)) {
    if (!take_or_wait(cur, &out)) return false;
  } else if (DF_UNLIKELY(out.kind == DF_FAILURE)) {
    df__failure_note(out.u.failure,
                     out.u.failure == in_failure ? DF_TRACE_RETURNED
                                                 : DF_TRACE_RAISED_IN_STAGE,
                     cur, st, df__stage_index(cur, st), failed);
  }
  cur->result = out;
  return true;
}

/* One stage, with the observer told what it got and what it returned (the
 * input is described before the call, which consumes it). */
static bool run_observed(df_deferred *cur, const df_stage *st,
                         df_callback_fn fn, void *arg,
                         void (*release)(void *), bool failed,
                         const df_failure *in_failure) {
  char input[200];
  df_result_describe(cur->result, input, sizeof input);
  cur->flags |= DF_F_RUNNING;
  df_result out = fn(cur->result, arg);
  if (release) release(arg);
  cur->flags &= ~DF_F_RUNNING;
  df__observe_stage(DF_EVENT_STAGE, cur, df__stage_index(cur, st), failed,
                    df__stage_site(st), input, &out);
  return after_call(cur, st, out, failed, in_failure);
}

/* Rule 9 without the general machinery, for the common `return
 * df_wait_on(df_succeed(x))`: a returned deferred that is held by this
 * result alone, has fired with a plain value, has nothing queued and is
 * neither paused nor running gives its value and is freed here. Anything
 * else (and every case the observer must see) goes to take_or_wait().
 * Only take_simple() calls it, after keeping for the next df_succeed
 * any deferred that could be kept. */
static inline bool take_simple_general(df_result *out) {
  df_deferred *r = out->u.deferred;
  /* A callback returning its own deferred fails the tests too: that one
   * is RUNNING, and its loop holds a reference besides the user's. */
  if (!r || !df__sole_ref_unpaused(r) ||
      (r->flags & (DF_F_CALLED | DF_F_RUNNING | DF_F_COLD |
                   DF_F_CHAINED_REF)) != DF_F_CALLED ||
      r->result.kind >= DF_FAILURE || !df__stages_empty_small(r) ||
      df__observer != NULL)
    return false;
  *out = df__result_load(&r->result);
  df__stages_free_empty(r); /* and nothing to report or drop: */
  df__deferred_release(r);
  return true;
}

/* take_simple_general(), first trying the commonest case on its own: a
 * deferred as df_succeed made it, never touched since. Its flags say it
 * was made fired and is neither running, cold, marked nor a
 * chain_deferred target; its queue, still empty at the start of the
 * inline segment, says no stage was ever added (so its queue, run_base
 * and counters are as new, and it never waited: its chained_to is NULL),
 * and it holds the plain value it was made with. With one reference and
 * no pause, its struct waits for the next df_succeed as it is. Any other
 * deferred take_simple_general() takes, it frees: one that passes its
 * tests and could be kept would have passed these. */
static DF_ALWAYS_INLINE bool take_simple(df_result *out) {
  df_deferred *r = out->u.deferred;
  if (DF_LIKELY(r != NULL) && r->flags == (DF_F_CALLED | DF_F_BORN_FIRED) &&
      df__sole_ref_unpaused(r) && r->head == r->inline_stages &&
      r->pub.tail == r->inline_stages && df__observer == NULL &&
      df__spares.born_fired == NULL && df__spares.room_deferreds != 0) {
    *out = df__result_load(&r->result);
    df__spares.born_fired = r;
    return true;
  }
  return take_simple_general(out);
}

/* take_simple() on the success loop's carried result, which is left as
 * it is unless taken (take_simple() writes *out only then). */
static DF_ALWAYS_INLINE bool take_simple_halves(df__result_halves *h) {
  df_result out = df__result_join(*h);
  if (!take_simple(&out)) return false;
  *h = df__result_carry(out);
  return true;
}

/* The hottest loop of the library: `out` is a success; while the next
 * stage has a callback, run it, with the result in registers. RUNNING
 * must be set, and stays set from one callback to the next (no user code
 * can see `d` between them). A fired deferred a callback returns is taken
 * on the way (take_simple). Returns the last result; stops before
 * anything else: a failure, a deferred to wait on (then *last is the
 * stage whose callback returned it, else *last is left alone), a stage
 * without this side (pass-through) or an edge stage (which has no
 * callback at all). A failure or deferred stops it before any peek, so
 * *last is then still in the head segment, as after_call needs for its
 * trace; after a success nobody needs the stage. */
static DF_ALWAYS_INLINE df_result run_successes(df_deferred *d, df_result out,
                                      df_stage **last) {
  /* df__stage_peek, spelt out, with the head and its segment's end kept
   * in registers: only this loop moves them while d runs (adds move the
   * tail, which is read again after every call). */
  df_stage *end = d->head_end;
  df__result_halves h = df__result_carry(out);
  for (df_stage *next = d->head;; next++) {
    if (next == d->pub.tail) return df__result_join(h);
    if (DF_UNLIKELY(next == end)) {
      df__stage_advance(d);
      next = d->head;
      end = d->head_end;
    }
    if (next->callback == NULL) return df__result_join(h);
    d->head = next + 1;
    h = df__result_carry(next->callback(df__result_join(h), next->callback_arg));
    /* A stage with a callback is USER or OWNED (edges have none), and
     * OWNED is the one of the two with the low kind bit set. */
    if (DF_UNLIKELY(next->site_kind & 1))
      next->u.release(next->callback_arg);
    if (DF_UNLIKELY(df__halves_kind(h) >= DF_FAILURE) &&
        !(df__halves_kind(h) == DF_DEFERRED && take_simple_halves(&h))) {
      *last = next;
      return df__result_join(h);
    }
  }
}

/* Why run_stages() returned. */
enum run_outcome {
  RUN_DONE,   /* cur finished, or now waits: pop its frame               */
  RUN_PUSHED, /* a frame was pushed above cur (hand-off or chained run):
                 look at the top frame again                             */
  RUN_BAIL    /* frameless run only: a CONTINUE or CHAIN stage is next    */
};

/* rule 11: `cur`'s CONTINUE stage hands its result to `waiter`, whose
 * frame (taking the stage's reference to it) the caller then runs: the
 * "paused -= 1" of Twisted's loop. */
static DF_ALWAYS_INLINE void hand_off(df_deferred *cur, df_deferred *waiter) {
  cur->n_waiters--;
  df_result r = df__result_load(&cur->result);
  cur->result = df_none();
  df__mark_clear(cur);
  if (r.kind == DF_FAILURE)
    df__failure_note(r.u.failure, DF_TRACE_HANDED_OFF, waiter, NULL, 0, false);
  df_deferred *inner = waiter->result.u.deferred; /* == cur */
  waiter->result = r;
  if (DF_UNLIKELY(df__observer != NULL))
    df__observe(DF_EVENT_HANDED_OFF, cur, waiter, &waiter->result);
  /* The result's reference to cur goes to the waiter's chained_to if that
   * still names cur and the waiter is paused (its run, which forgets it,
   * does not start now); else it is dropped. Never the last: cur's own
   * frame holds it, and as no other deferred could hold that reference,
   * it is no case for the garbage test either (df_deferred_unref's). */
  if (DF_UNLIKELY(waiter->paused != 0) && borrows_chained_to(waiter, inner))
    keep_chained_to(waiter, inner);
  else
    inner->refs--;
}

/* Run the stages of one deferred until it finishes, waits or hands off:
 * the inner loop of Twisted's _runCallbacks, with no pause check between
 * stages (rule 17). `framed`: cur's top frame is the loop stack's top;
 * else it runs without a frame and stops before an edge stage (RUN_BAIL),
 * which needs one. */
static enum run_outcome run_stages(bool framed, df_deferred *cur) {
  df_stage *st;
  while ((st = df__stage_peek(cur)) != NULL) {
    void (*release)(void *) = NULL; /* an OWNED stage's */
    if (DF_UNLIKELY(df__stage_kind(st) != DF_STAGE_USER)) {
      if (df__stage_kind(st) == DF_STAGE_OWNED) {
        release = st->u.release;
      } else if (!framed) {
        return RUN_BAIL;
      } else {
        /* An edge: the hand-off or chained run it starts takes a frame,
         * which costs no memory (loop_stack.c). */
        df__stage_skip(cur);
        /* Field by field, not a struct copy: see df__result_load. */
        unsigned kind = df__stage_kind(st);
        void *target = st->callback_arg; /* the stage's reference */
        const df_stage_site *site = df__stage_site(st);
        if (kind == DF_STAGE_CONTINUE) {
          /* rule 11: hand my result to the waiter, which runs next, in
           * this same loop; my later stages wait until it is done. */
          df_loop_node *reserve = df__stage_reserve(st);
          hand_off(cur, target);
          df__frame_push_waiter(target, reserve);
          return RUN_PUSHED;
        }
        if (start_chained(cur, target, site)) {
          /* target was unfired: it has no frame yet */
          df__frame_push(target, DF_F_FRAME_BOUNDARY | DF_F_FRAME_CHAINED);
          return RUN_PUSHED;
        }
        continue;
      }
    }
    df__stage_skip(cur);

    bool failed = cur->result.kind == DF_FAILURE;
    df_callback_fn fn = failed ? st->errback : st->callback;
    void *arg = failed && !release ? st->u.errback_arg : st->callback_arg;
    if (!fn) { /* pass-through costs nothing */
      if (DF_UNLIKELY(release != NULL)) release(arg);
      if (DF_UNLIKELY(failed))
        df__failure_note(cur->result.u.failure, DF_TRACE_PASSED, cur, st,
                         df__stage_index(cur, st), true);
      if (DF_UNLIKELY(df__observer != NULL))
        df__observe_stage(DF_EVENT_PASSED, cur, df__stage_index(cur, st),
                          failed, df__stage_site(st), NULL, &cur->result);
      continue;
    }
    df_failure *in_failure = failed ? cur->result.u.failure : NULL;
    if (DF_UNLIKELY(df__observer != NULL)) {
      if (!run_observed(cur, st, fn, arg, release, failed, in_failure))
        return RUN_DONE; /* waiting: finished for now (Twisted's break) */
      continue;
    }
    cur->flags |= DF_F_RUNNING;
    df_result out = fn(cur->result, arg);
    if (DF_UNLIKELY(release != NULL)) release(arg);
    df_stage *last = st;
    if (DF_LIKELY(out.kind < DF_FAILURE) ||
        (out.kind == DF_DEFERRED && take_simple(&out)))
      out = run_successes(cur, out, &last);
    cur->flags &= ~DF_F_RUNNING;
    if (last != st) { /* a later stage, run on a success, returned out */
      st = last;
      failed = false;
      in_failure = NULL;
    }
    if (!after_call(cur, st, out, failed, in_failure))
      return RUN_DONE; /* waiting: finished for now (Twisted's break) */
  }
  return RUN_DONE;
}

/* A deferred's pass is over (finished or waiting): rules U1 (mark) and
 * U2 (clear). */
static inline void finish_pass(df_deferred *cur) {
  if (DF_UNLIKELY(cur->result.kind == DF_FAILURE))
    df__mark_set(cur);
  else
    df__mark_clear(cur);
  if (DF_UNLIKELY(df__observer != NULL) && !df__waiting(cur))
    df__observe(DF_EVENT_FINISHED, cur, NULL, &cur->result);
}

/* "return": a paused deferred will not produce a result now, so the
 * whole walk of this invocation is abandoned (rules 13, 17): pop frames
 * down to and including its boundary. Returns true if that was the
 * invocation's first frame (the invocation is over), false if it was a
 * chained run's (the chaining deferred goes on). */
static bool unwind(void) {
  uint32_t flags;
  do {
    df_deferred *d = df__loop_top;
    flags = df__frame_pop(d);
    df_deferred_unref(d);
  } while (!(flags & DF_F_FRAME_BOUNDARY));
  if (!(flags & DF_F_FRAME_CHAINED)) return true;
  end_chained_run();
  return false;
}

/* The general loop: frames on the loop stack, for hand-offs to waiters
 * and chained runs, until the invocation whose first frame is the top
 * one is over. Inside it, the only boundary frame that is not a chained
 * run's is that first frame (an invocation started by user code inside
 * it is a call of its own, which returns once its own first frame is
 * popped): popping it ends the invocation. */
static DF_ALWAYS_INLINE void run_loop(void) {
  for (;;) {
    df_deferred *cur = df__loop_top;
    uint32_t flags = cur->flags;
    if (flags & DF_F_FRAME_RESUMING) {
      cur->flags = flags & ~DF_F_FRAME_RESUMING; /* the inner loop goes on */
    } else if (df__paused(cur)) {
      /* "return": this deferred will not produce a result now, so the
       * whole walk of this invocation is abandoned (rules 13, 17). */
      if (DF_UNLIKELY(df__observer != NULL) && !df__waiting(cur))
        df__observe(DF_EVENT_PAUSED, cur, NULL, NULL);
      if (unwind()) return;
      continue;
    } else {
      clear_chained_to(cur);
    }

    if (run_stages(true, cur) == RUN_PUSHED) continue;

    finish_pass(cur);
    flags = df__frame_pop(cur);
    if (flags & DF_F_FRAME_CHAINED) end_chained_run();
    df_deferred_unref(cur);
    if ((flags & (DF_F_FRAME_BOUNDARY | DF_F_FRAME_CHAINED)) ==
        DF_F_FRAME_BOUNDARY)
      return;
  }
}

/* run_loop() from a first frame for `d`, whose reference the caller
 * took, resuming its pass. A deferred that has a frame already (it is
 * run again by re-entrant code) keeps what that frame needs in a node on
 * this call's C stack. */
static void run_frames(df_deferred *d) {
  df_loop_node node;
  uint32_t flags = DF_F_FRAME_BOUNDARY | DF_F_FRAME_RESUMING;
  if (DF_UNLIKELY(d->flags & DF_F_ON_LOOP)) {
    node.reserve = false;
    df__frame_push_again(d, flags, &node);
  } else {
    df__frame_push(d, flags);
  }
  run_loop();
}

/* Twisted's _runCallbacks. Most firings never need a loop frame: a run of
 * ordinary stages goes frameless, and only an edge stage (a waiter to hand
 * the result to, or a chain_deferred target) moves it to run_frames(). */
/* run_callbacks() found `d` paused: nothing runs (the observer hears of
 * it, unless d is waiting with stages queued: the wait itself says so). */
static int stay_paused(df_deferred *d) {
  if (DF_UNLIKELY(df__observer != NULL) &&
      (df__stages_empty(d) || !df__waiting(d)))
    df__observe(DF_EVENT_PAUSED, d, NULL, NULL);
  return 0;
}

/* run_callbacks() for a deferred that is running its callbacks (the
 * re-entrancy guard, rules 19 and 21: nothing), whose chained_to holds a
 * reference, which a run lets go as it starts, or that has a frame on the
 * loop stack already (below the top: re-entrant code runs it again). Such
 * a deferred runs in a frame of its own from the start, never frameless,
 * so that whenever a deferred with a frame runs, it runs in its top frame
 * (df__wait_needs_reserve relies on it). Out of line, so that
 * run_callbacks() tests all three in one instruction. */
static DF_NOINLINE int run_callbacks_guarded(df_deferred *d) {
  if (d->flags & DF_F_RUNNING) return 0;
  if (df__paused(d)) return stay_paused(d);
  clear_chained_to(d);
  if (DF_LIKELY(!(d->flags & DF_F_ON_LOOP))) return run_callbacks(d);
  if (df__stages_empty(d)) {
    finish_pass(d);
    return 0;
  }
  d->refs++; /* the frame's: a callback may drop the last user reference */
  run_frames(d);
  return 0;
}

static int run_callbacks(df_deferred *d) {
  if (DF_UNLIKELY(d->flags &
                  (DF_F_RUNNING | DF_F_CHAINED_REF | DF_F_ON_LOOP)))
    return run_callbacks_guarded(d);
  if (df__paused(d)) return stay_paused(d);
  d->chained_to = NULL; /* holds no reference: see above */
  if (df__stages_empty(d)) {
    /* Nothing queued (df_succeed, a deferred fired before anyone added
     * to it): only the "finished" step. */
    finish_pass(d);
    return 0;
  }
  return run_ready(d);
}

/* Where a frameless run stopped: `out` came back from stage `st` (a
 * failure or a deferred; for a success, from whichever stage ran last).
 * Puts it in d's result, or makes d wait, and ends d's pass if d now
 * waits or has nothing queued: then d's run reference is dropped and
 * this returns true. False: stages are queued, for run_stages(). */
static DF_ALWAYS_INLINE bool end_frameless(df_deferred *d, df_stage *st,
                                           df_result out) {
  if (DF_LIKELY(out.kind < DF_FAILURE)) {
    df__result_store(&d->result, out);
    if (!df__stages_empty(d)) return false;
    finish_pass(d);
    unref_settled(d);
    return true;
  }
  if (after_call(d, st, out, false, NULL) && !df__stages_empty(d))
    return false;
  finish_pass(d); /* waiting, or finished */
  unref(d);
  return true;
}

/* The rest of run_callbacks(): `d` is called, not running, not paused,
 * its chained_to cleared, and it has a stage queued. */
static int run_ready(df_deferred *d) {
  d->refs++; /* a callback may drop the last user reference */
  if (DF_LIKELY(df__observer == NULL) && d->result.kind < DF_FAILURE) {
    /* A success meeting ordinary callbacks, without a frame; anything
     * else is left to run_stages() below, which picks up where this
     * stops. */
    df_stage *st = NULL;
    d->flags |= DF_F_RUNNING;
    df_result out = run_successes(d, df__result_load(&d->result), &st);
    d->flags &= ~DF_F_RUNNING;
    /* end_frameless(), with its success end spelt out here: with the
     * whole helper inlined, gcc adds a register copy to every turn of
     * the success loop (callgrind, case b: 603 -> 613 instructions). */
    if (DF_LIKELY(out.kind < DF_FAILURE)) {
      df__result_store(&d->result, out);
      if (DF_LIKELY(df__stages_empty(d))) {
        finish_pass(d);
        unref_settled(d);
        return 0;
      }
    } else if (end_frameless(d, st, out)) {
      return 0;
    }
  }
  if (DF_LIKELY(run_stages(false, d) == RUN_DONE)) {
    finish_pass(d);
    unref(d);
    return 0;
  }
  run_frames(d);
  return 0;
}

/* run_one() met something other than the plain end: its stage returned
 * a failure or a deferred, queued more stages, or an observer appeared.
 * `d` holds the run's reference; the stage has run and released. The
 * result goes where run_ready() would have put it, and the rest of the
 * queue, if any, runs as run_ready() runs it. */
static DF_NOINLINE int run_one_rest(df_deferred *d, df_stage *st,
                                    df_result out) {
  if (end_frameless(d, st, out)) return 0;
  /* run_ready() takes its own reference: give ours back first (if the
   * callback dropped the user's, refs is 0 only until the next line). */
  d->refs--;
  return run_ready(d);
}

/* run_ready() for the commonest queue of all, one ordinary stage with a
 * callback (`st`, the head and only stage), met by callback() of an
 * unfired deferred with a plain value and no observer: the stage is
 * called directly, with no loop and no saved registers but two. If it
 * returns a plain value and queued nothing meanwhile, `d` is done here;
 * anything else goes on in run_one_rest(). */
static DF_NOINLINE int run_one(df_deferred *d, df_stage *st) {
  /* An edge (no callback) needs run_ready(); so does a head at its
   * segment's end, whose stage is in the next block (not for an unfired
   * deferred, whose head is still at the queue's start, but cheap). */
  if (DF_UNLIKELY(st->callback == NULL || st == d->head_end))
    return run_ready(d);
  d->refs++; /* a callback may drop the last user reference */
  d->flags |= DF_F_RUNNING;
  d->head = st + 1;
  df_result out = st->callback(df__result_load(&d->result), st->callback_arg);
  /* OWNED has the low kind bit set; USER does not (see run_successes) */
  if (DF_UNLIKELY(st->site_kind & 1)) st->u.release(st->callback_arg);
  d->flags &= ~DF_F_RUNNING;
  if (DF_UNLIKELY(out.kind >= DF_FAILURE || d->head != d->pub.tail ||
                  df__observer != NULL))
    return run_one_rest(d, st, out);
  df__result_store(&d->result, out);
  /* finish_pass() for a success: clear a mark (an unfired deferred has
   * none, nor can its own callback give it one, but it is two
   * instructions); the observer was tested above. */
  df__mark_clear(d);
  unref_settled(d);
  return 0;
}

/* --- state ------------------------------------------------------------------ */

bool df_deferred_called(const df_deferred *d) { return d && df__called(d); }
int df_deferred_paused(const df_deferred *d) { return d ? d->paused : 0; }
df_deferred *df_deferred_waiting_on(const df_deferred *d) {
  return d && df__waiting(d) ? d->result.u.deferred : NULL;
}
df_deferred *df_deferred_chained_to(const df_deferred *d) {
  return d ? d->chained_to : NULL;
}
const df_result *df_deferred_result(const df_deferred *d) {
  if (!d || !df__called(d) || (d->flags & DF_F_RUNNING)) return NULL;
  return &d->result;
}
int df_deferred_take_result(df_deferred *d, df_result *out) {
  /* called, not running, not waiting: one mask, one compare, and the
   * waiting test without testing CALLED again */
  if (!d || !out ||
      (d->flags & (DF_F_CALLED | DF_F_RUNNING)) != DF_F_CALLED ||
      d->result.kind == DF_DEFERRED)
    return DF_EINVAL;
  *out = df__result_load(&d->result);
  d->result = df_none();
  df__mark_clear(d);
  return 0;
}
size_t df_deferred_pending_stages(const df_deferred *d) {
  return d ? df__stages_pending(d) : 0;
}
df_site df_deferred_created_site(const df_deferred *d) {
  df_site none = {NULL, NULL, 0};
  return d ? d->created : none;
}

size_t df_deferred_describe(const df_deferred *d, char *buf, size_t size) {
  if (!d) return (size_t)snprintf(buf, size, "<Deferred NULL>");
  /* Twisted's __str__ goes by _chainedTo, which chain_deferred sets too. */
  const df_deferred *on = d->chained_to;
  if (!on && df__waiting(d)) on = d->result.u.deferred;
  if (on)
    return (size_t)snprintf(buf, size, "<Deferred at %p waiting on Deferred at %p>",
                            (const void *)d, (const void *)on);
  if (!df__called(d) || (d->flags & DF_F_RUNNING))
    return (size_t)snprintf(buf, size, "<Deferred at %p>", (const void *)d);
  char value[160];
  df_result_describe(d->result, value, sizeof value);
  return (size_t)snprintf(buf, size, "<Deferred at %p current result: %s>",
                          (const void *)d, value);
}
