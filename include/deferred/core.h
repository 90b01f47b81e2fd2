/* libdeferred: the Deferred.
 *
 * A df_deferred is a promise of one result, plus a chain of
 * callback/errback pairs ("stages") that process it, exactly as Twisted's
 * Deferred (rule numbers refer to docs/semantics.md). When the
 * deferred is fired, stage 0's callback (for a success) or errback (for a
 * failure) runs with the result; whatever it returns is handed to stage 1,
 * whose callback runs if that was a success, its errback if it was a
 * failure; and so on down the chain.
 *
 * Threads: a deferred, and every deferred chained to it, is used from one
 * thread at a time. Different threads may use different deferreds.
 *
 * Ownership:
 *   - df_deferred_new() returns a deferred holding one reference, owned by
 *     the caller. df_deferred_ref/df_deferred_unref add and drop references.
 *     Typical use: the producer keeps the reference it fires through, and
 *     gives the consumer another one.
 *   - The library holds its own references while it needs a deferred: while
 *     callbacks run, while one deferred waits on another (both directions),
 *     and while a chain_deferred() link is pending. So a fire-and-forget
 *     chain keeps running after its owners drop their references.
 *   - When the last reference goes, pending stages are dropped without
 *     running, the result is dropped, and if the chain ended in an
 *     unhandled failure it is reported (see report.h). Deferreds that only
 *     wait on each other, with no reference from outside and so no way to
 *     ever fire, are freed together as soon as that becomes true.
 *   - Callback user-data pointers (`arg`) are borrowed: the library never
 *     frees them.
 *   - Results: see result.h. Firing hands the value to the chain.
 */
#ifndef DEFERRED_CORE_H
#define DEFERRED_CORE_H

#include "common.h"
#include "failure.h"
#include "result.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A callback or errback: takes the current result (ownership included) and
 * returns the next one. Returning a failure result (df_raise, df_failed, or
 * the input failure) sends it to the next errback; returning anything else
 * goes to the next callback; returning df_wait_on(other) makes the chain
 * wait for `other`. NULL in a stage means "pass the result through". */
typedef df_result (*df_callback_fn)(df_result result, void *arg);

/* A canceller, called by df_deferred_cancel() on a deferred that has not
 * fired. It may fire `d` (which then decides the outcome) or not (then `d`
 * fails with CancelledError). `d` is borrowed. */
typedef void (*df_canceller_fn)(df_deferred *d, void *arg);

/* --- creation and references ---------------------------------------------- */

/* Create an unfired deferred with no stages, optionally with a canceller
 * (Twisted's Deferred(canceller)). Records the caller's site. Returns a new
 * reference, or NULL if memory runs out. */
#define df_deferred_new() df_deferred_new_at(NULL, NULL, DF_HERE)
#define df_deferred_new_with_canceller(canceller, arg) \
  df_deferred_new_at((canceller), (arg), DF_HERE)
df_deferred *df_deferred_new_at(df_canceller_fn canceller, void *canceller_arg,
                                const char *file, int line, const char *func);

/* Like df_deferred_new_with_canceller, but the deferred owns `arg`:
 * `release(arg)` is called exactly once, when the deferred is freed (after
 * its stages and result are dropped and any unhandled failure reported),
 * or before returning NULL if memory runs out. Use it for the state a
 * canceller needs. `canceller` and `release` may be NULL. `release` must
 * not use the deferred being freed. */
#define df_deferred_new_owning(canceller, arg, release) \
  df_deferred_new_owning_at((canceller), (arg), (release), DF_HERE)
df_deferred *df_deferred_new_owning_at(df_canceller_fn canceller, void *arg,
                                      void (*release)(void *),
                                      const char *file, int line,
                                      const char *func);

/* Add a reference; returns `d` (NULL is ignored and returned). On a
 * deferred made in debug mode and since freed, reports the use after free
 * and aborts (common.h); outside debug mode that is undefined behaviour,
 * as for any freed memory. */
df_deferred *df_deferred_ref(df_deferred *d);
/* Drop a reference (NULL is ignored). Dropping the last reference frees
 * the deferred as described at the top of this file, reporting an
 * unhandled failure if its chain ended in one (rules U3, U4). Dropping a
 * reference that is not there (a second unref of the last reference, or
 * through a pointer kept after the last one) is a bug in the program:
 * debug mode reports it, naming the deferred, where it was created and
 * where its last reference was released (the site the macro records),
 * and aborts; outside debug mode it is undefined behaviour.
 *
 * df_deferred_unref is a macro that records the caller's site (one
 * pointer to a static record) and calls df_deferred_unref_at; it is also
 * a function, which takes the address `df_deferred_unref` or a call
 * written `(df_deferred_unref)(d)`, and records no site. */
#define df_deferred_unref(d) df_deferred_unref_at((d), DF_SITE_HERE())
void (df_deferred_unref)(df_deferred *d);
/* df_deferred_unref, naming the site of the call (static, may be NULL). */
void df_deferred_unref_at(df_deferred *d, const df_site *site);

/* --- adding stages ------------------------------------------------------- */

/* Where a stage was added: one static record per call site, made by the
 * add macros (so recording it costs one pointer store and never
 * allocates). Names are the stringified arguments ("NULL" for none). */
typedef struct df_stage_site {
  const char *file;
  const char *callback_name;
  const char *errback_name;
  const char *func;
  int line;
} df_stage_site;

#if defined(__GNUC__) || defined(__clang__)
/* A GNU statement expression (accepted by gcc and clang, and kept quiet
 * under -Wpedantic by __extension__) gives each call site its own static
 * record. */
#define DF_STAGE_SITE(callback_name, errback_name)                      \
  __extension__({                                                       \
    static const df_stage_site df_stage_site_here_ = {                  \
        __FILE__, (callback_name), (errback_name), __func__, __LINE__}; \
    &df_stage_site_here_;                                               \
  })
#else
#define DF_STAGE_SITE(callback_name, errback_name) ((const df_stage_site *)0)
#endif

/* Append one callback/errback pair (Twisted's addCallbacks; rules 1, 2).
 *
 * `callback` runs for a success, `errback` for a failure; either may be
 * NULL to pass that kind of result through. Each has its own user data.
 * If `d` has fired and is neither paused, waiting, nor inside one of its
 * own callbacks, the pair runs now, before this returns (rule 1); a pair
 * added from inside one of d's callbacks runs after the pairs already
 * queued (rule 19). Returns 0, DF_EINVAL if `d` is NULL, or DF_ENOMEM
 * (then nothing was added). The macros record the caller's site and the
 * names of the functions for tracebacks; their common case (an unfired
 * deferred with room in its current stage segment) is inlined at the
 * call site, see df__add_inline below. */
#define df_deferred_add_callbacks(d, callback, callback_arg, errback, \
                                  errback_arg)                        \
  df__add_inline((d), (callback), (callback_arg), (errback),          \
                 (errback_arg), DF_STAGE_SITE(#callback, #errback))
/* Only a callback; failures pass through (addCallback). */
#define df_deferred_add_callback(d, callback, arg)    \
  df__add_inline((d), (callback), (arg), NULL, NULL, \
                 DF_STAGE_SITE(#callback, "NULL"))
/* Only an errback; successes pass through (addErrback). */
#define df_deferred_add_errback(d, errback, arg)      \
  df__add_inline((d), NULL, NULL, (errback), (arg), \
                 DF_STAGE_SITE("NULL", #errback))
/* The same function and user data on both sides (addBoth). */
#define df_deferred_add_both(d, fn, arg)            \
  df__add_inline((d), (fn), (arg), (fn), (arg), \
                 DF_STAGE_SITE(#fn, #fn))
/* The function behind the macros. `site` (static, may be NULL) says where
 * the pair was added. */
int df_deferred_add_callbacks_at(df_deferred *d, df_callback_fn callback,
                                 void *callback_arg, df_callback_fn errback,
                                 void *errback_arg, const df_stage_site *site);

/* PRIVATE. What follows is here only so that adding a stage, the most
 * frequent operation of the library, costs a few stores in the caller
 * instead of a call: it exposes the start of the deferred's layout. Do
 * not use these names; they change between releases (so code built
 * against one version's headers must be rebuilt for another; the
 * library's soname changes with them). */
typedef struct df__stage {
  df_callback_fn callback;
  void *callback_arg;
  df_callback_fn errback;
  union {
    void *errback_arg;          /* an ordinary pair */
    void (*release)(void *arg); /* an owned pair (df_deferred_add_owned) */
  } u;
  /* The address of the pair's static df_stage_site (or 0), whose low two
   * bits (a site record is pointer-aligned) hold the stage's kind, 0 for
   * an ordinary pair: a stage is five words. */
  uintptr_t site_kind;
} df__stage;
typedef struct df__deferred_head {
  df__stage *tail;    /* where the next stage goes                    */
  df__stage *add_end; /* end of the tail segment while unfired, else
                         NULL: the inline path needs tail < add_end   */
} df__deferred_head;

/* Is `d` unfired with room in its tail segment? Then the inline adds
 * fill the slot at its tail and move the tail past it; otherwise the
 * out-of-line functions do the add. */
static inline bool df__has_slot(df_deferred *d) {
  df__deferred_head *h = (df__deferred_head *)(void *)d;
  return (uintptr_t)h->tail < (uintptr_t)h->add_end;
}

static inline df__stage *df__take_slot(df_deferred *d) {
  df__deferred_head *h = (df__deferred_head *)(void *)d;
  return h->tail++;
}

static inline void df__fill(df__stage *s, df_callback_fn callback,
                            void *callback_arg, df_callback_fn errback,
                            const df_stage_site *site, unsigned char kind) {
  s->callback = callback;
  s->callback_arg = callback_arg;
  s->errback = errback;
  s->site_kind = (uintptr_t)site | kind;
}

static inline int df__add_inline(df_deferred *d, df_callback_fn callback,
                                 void *callback_arg, df_callback_fn errback,
                                 void *errback_arg, const df_stage_site *site) {
  if (d && df__has_slot(d)) {
    df__stage *s = df__take_slot(d);
    df__fill(s, callback, callback_arg, errback, site, 0);
    s->u.errback_arg = errback_arg;
    return 0;
  }
  return df_deferred_add_callbacks_at(d, callback, callback_arg, errback,
                                      errback_arg, site);
}

int df_deferred_add_owned_at(df_deferred *d, df_callback_fn callback,
                             df_callback_fn errback, void *arg,
                             void (*release)(void *),
                             const df_stage_site *site);
static inline int df__add_owned_inline(df_deferred *d, df_callback_fn callback,
                                       df_callback_fn errback, void *arg,
                                       void (*release)(void *),
                                       const df_stage_site *site) {
  if (d && release && df__has_slot(d)) {
    df__stage *s = df__take_slot(d);
    df__fill(s, callback, arg, errback, site, 3 /* an owned pair */);
    s->u.release = release;
    return 0;
  }
  return df_deferred_add_owned_at(d, callback, errback, arg, release, site);
}

/* Add a pair whose user data the stage owns: `callback` and `errback`
 * (either may be NULL) both get `arg`, and `release(arg)` is called
 * exactly once: right after the side that ran returns (or when the pair
 * passes a result through), or when the pair is dropped without running
 * because the deferred is freed first. It takes over `arg` in every case:
 * on DF_EINVAL (NULL `d`) or DF_ENOMEM, `release(arg)` has been called
 * before this returns. With a NULL `release` this is add_callbacks with
 * `arg` on both sides. `release` must not use `d`. */
#define df_deferred_add_owned(d, callback, errback, arg, release)       \
  df__add_owned_inline((d), (callback), (errback), (arg), (release), \
                       DF_STAGE_SITE(#callback, #errback))
/* The function behind df_deferred_add_owned, for code that records its
 * own site: `site` (static, or NULL for none) says where the pair was
 * added, as df_deferred_add_callbacks_at's does. Everything else is as
 * df_deferred_add_owned says: `d` is borrowed (the stage takes no
 * reference to it); `arg` is taken over in every case, and `release(arg)`
 * runs exactly once (at once on DF_EINVAL for a NULL `d`, or DF_ENOMEM
 * when no stage can be allocated, `d` then being unchanged); a NULL
 * `release` makes it df_deferred_add_callbacks_at with `arg` on both
 * sides. Returns 0 on success. If `d` has fired and is neither paused,
 * waiting, nor inside one of its own callbacks, the pair runs before this
 * returns (rule 1); added from inside one of d's callbacks, it runs after
 * the pairs already queued (rule 19). */
int df_deferred_add_owned_at(df_deferred *d, df_callback_fn callback,
                             df_callback_fn errback, void *arg,
                             void (*release)(void *),
                             const df_stage_site *site);

/* --- firing -------------------------------------------------------------- */

/* Fire `d` with `result` (Twisted's callback; rules 4, 5). A failure result
 * selects the errback side, as in Twisted.
 *
 * `d` takes ownership of `result` in every case: if the call fails, the
 * result is dropped. Callbacks run now, in this call, unless `d` is paused.
 * Returns 0; DF_EALREADY_CALLED if `d` has fired before (rule 23: `d` is
 * unchanged and nothing runs), except for the one fire swallowed after
 * cancelling a deferred that has no canceller (rule 24), which returns 0;
 * DF_EINVAL if `d` is NULL or `result` is a deferred (rule 4). Never
 * returns an error raised by a callback: that travels down the chain. */
#define df_deferred_callback(d, result) df_deferred_callback_at((d), (result), DF_HERE)
int df_deferred_callback_at(df_deferred *d, df_result result, const char *file,
                            int line, const char *func);

/* Fire `d` with a failure (Twisted's errback; rules 3, 5). Takes over the
 * caller's reference to `f` (NULL is DF_EINVAL). Same returns as
 * df_deferred_callback. */
#define df_deferred_errback(d, f) df_deferred_errback_at((d), (f), DF_HERE)
int df_deferred_errback_at(df_deferred *d, df_failure *f, const char *file,
                           int line, const char *func);

/* The AlreadyCalledError that Twisted raises where a fire of `d` returned
 * DF_EALREADY_CALLED, as a new failure reference (raised at the caller's
 * site), for a callback to pass on:
 *
 *     if (df_deferred_callback(d, v) == DF_EALREADY_CALLED)
 *       return df_failed(df_deferred_already_called_error(d));
 *
 * Its message is "already called". For a deferred created in debug mode
 * (common.h) it goes on, in the form of Twisted's debug text, with where
 * `d` was created (lines starting " C:"), where it was first fired
 * (" I:", "First Invoker") and where the last refused fire was made
 * (" A:", "Fired again"): each the site the library recorded, as a
 * Python traceback line, then the native backtrace. A NULL or unfired
 * `d` gives the plain message. Never NULL (see df_failure_new). */
#define df_deferred_already_called_error(d) \
  df_deferred_already_called_error_at((d), DF_HERE)
df_failure *df_deferred_already_called_error_at(const df_deferred *d,
                                                const char *file, int line,
                                                const char *func);

/* --- pause --------------------------------------------------------------- */

/* Pause: no stages run until a matching unpause (rules 16-18). A pause made
 * inside a running callback takes effect when the current pass ends
 * (rule 17). Returns 0 or DF_EINVAL (NULL). */
int df_deferred_pause(df_deferred *d);
/* Undo one pause; when the count reaches 0 and `d` has fired, pending
 * stages run now. Returns 0, or DF_EINVAL if `d` is NULL or not paused
 * (Twisted lets the counter go negative; see docs/twisted-programmers.md). */
int df_deferred_unpause(df_deferred *d);

/* --- chaining and cancellation ------------------------------------------ */

/* Make `other` part of d's chain (Twisted's chainDeferred; rule 15): adds a
 * stage that fires `other` with d's current result, after which d's result
 * is None. If `other` has already fired when that stage runs, d's result
 * becomes an AlreadyCalledError failure. Unlike Twisted, this does not
 * recurse: a chain of a million chained deferreds fires in constant C
 * stack. `other` is borrowed; the stage holds its own reference.
 * Returns 0, DF_EINVAL (NULL, or d == other), or DF_ENOMEM. */
#define df_deferred_chain(d, other) \
  df_deferred_chain_at((d), (other), DF_STAGE_SITE("chain_deferred", "chain_deferred"))
int df_deferred_chain_at(df_deferred *d, df_deferred *other,
                         const df_stage_site *site);

/* Cancel `d` (Twisted's cancel; rules C1-C5):
 *   - not fired: call the canceller; if that did not fire `d` (or there is
 *     none), fail `d` with CancelledError. Without a canceller, the next
 *     callback()/errback() on `d` is silently swallowed, once (rule 24).
 *   - waiting on another deferred: cancel that one instead (rule C3), which
 *     sends its outcome back here; this walks long waiting chains without
 *     recursion. Like Twisted's recursion, it holds a reference to each
 *     deferred on the way (and to the one it cancels) until the canceller
 *     and the fire have returned, so none is freed under them.
 *   - otherwise (fired, or paused with a result): nothing.
 * Returns 0, or DF_EINVAL for NULL. */
#define df_deferred_cancel(d) df_deferred_cancel_at((d), DF_HERE)
int df_deferred_cancel_at(df_deferred *d, const char *file, int line,
                          const char *func);

/* --- state --------------------------------------------------------------- */

/* Has `d` been fired (Twisted's `called`)? */
bool df_deferred_called(const df_deferred *d);
/* The pause count set by df_deferred_pause (waiting is not counted). */
int df_deferred_paused(const df_deferred *d);
/* Is `d` waiting on the result of another deferred? If so, returns it
 * (borrowed), else NULL. */
df_deferred *df_deferred_waiting_on(const df_deferred *d);
/* Twisted's _chainedTo: the deferred `d` is waiting on, or was chained to
 * with df_deferred_chain, until d's next run starts (which is at once when
 * the chain resolves, unless `d` is paused then or had fired before);
 * informational, may be NULL. The pointer is borrowed, and always valid:
 * while it is set, the deferred it names stays alive (as Twisted's
 * attribute, it holds a reference once nothing else links the two). */
df_deferred *df_deferred_chained_to(const df_deferred *d);
/* Borrow the current result: NULL if `d` has not fired, or while its
 * callbacks are running (the running callback owns it). Do not drop it. */
const df_result *df_deferred_result(const df_deferred *d);
/* Take the result out of a fired deferred that is not running callbacks:
 * the caller owns what comes back, and `d`'s result becomes None (a failure
 * taken this way counts as handled). Returns DF_EINVAL if there is no
 * result to take, leaving *out untouched. */
int df_deferred_take_result(df_deferred *d, df_result *out);
/* Stages not yet run. */
size_t df_deferred_pending_stages(const df_deferred *d);
/* Where `d` was created. */
df_site df_deferred_created_site(const df_deferred *d);
/* Twisted's repr: "<Deferred at 0x...>", "<Deferred at 0x... current
 * result: 42>", "<Deferred at 0x... waiting on Deferred at 0x...>". */
size_t df_deferred_describe(const df_deferred *d, char *buf, size_t size);

/* --- helpers (Twisted's succeed, fail, maybeDeferred, execute) ----------- */

/* A new deferred already fired with `result` (ownership taken). A failure
 * result gives a failed deferred, as in Twisted. NULL if out of memory
 * (the result is dropped). */
#define df_succeed(result) df_succeed_at((result), DF_HERE)
df_deferred *df_succeed_at(df_result result, const char *file, int line,
                           const char *func);
/* A new deferred already failed with `f` (reference taken). */
#define df_fail(f) df_fail_at((f), DF_HERE)
df_deferred *df_fail_at(df_failure *f, const char *file, int line,
                        const char *func);

/* A function that produces a result: a value, a failure or (by returning
 * df_wait_on(d)) a deferred. */
typedef df_result (*df_function)(void *arg);
/* Call `fn(arg)` and return a deferred for its outcome: a returned
 * deferred as is (its reference passes to the caller), anything else fired
 * into a new deferred. NULL only if out of memory. */
#define df_maybe_deferred(fn, arg) df_maybe_deferred_at((fn), (arg), DF_HERE)
df_deferred *df_maybe_deferred_at(df_function fn, void *arg, const char *file,
                                  int line, const char *func);
/* Like df_maybe_deferred, but the outcome is never unwrapped: a function
 * that returns a deferred is a programming error, reported as a failed
 * deferred (ValueError) with that deferred released. (Twisted raises an
 * AssertionError at the caller instead.) */
#define df_execute(fn, arg) df_execute_at((fn), (arg), DF_HERE)
df_deferred *df_execute_at(df_function fn, void *arg, const char *file,
                           int line, const char *func);

#ifdef __cplusplus
}
#endif

#endif /* DEFERRED_CORE_H */
