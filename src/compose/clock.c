/* Delayed calls: the part of every clock that does not depend on the loop
 * (deferred/clock.h). This file keeps a call's state and Twisted's rules
 * for cancel, reset and delay (base.DelayedCall); the loop behind the
 * clock (the test clock, the libuv reactor, a user's own) only keeps its
 * pending calls in order and runs them when due.
 *
 * Who holds a delayed call:
 *   - the clock, from df_clock_call_later until the call runs, is
 *     cancelled or is discarded with its clock: one reference;
 *   - the caller, if it asked for the handle: one reference.
 * The function's argument is borrowed, or owned (`release`), in which case
 * it is released exactly once, when the call stops being pending.
 *
 * A call's time is Twisted's pair (time, delayed_time): a reset to a later
 * time only grows delayed_time, one to an earlier time moves time itself,
 * and df_delayed_call_time() is their sum, rounded as Twisted rounds it.
 *
 * Last, the weak references to clocks of internal.h, which df_clock_free
 * clears, for the composition layer's objects that use a clock with no
 * call pending on it. */
#include <math.h>
#include <pthread.h>

#include "internal.h"

/* struct df_delayed_call is in internal.h, for the test clock; its
 * `state` is one of these. */
enum call_state { CALL_PENDING, CALL_CALLED, CALL_CANCELLED };

double df_clock_seconds(df_clock *clock) {
  return clock ? clock->type->seconds(clock) : NAN;
}

int df_clock_call_later_owned(df_clock *clock, double delay, df_call_fn fn,
                              void *arg, void (*release)(void *),
                              df_delayed_call **out) {
  if (out) *out = NULL;
  int rc = DF_EINVAL;
  if (!clock || !fn || isnan(delay)) goto fail;
  double time = clock->type->seconds(clock) + delay;
  if (isnan(time)) goto fail; /* an infinite delay from an infinite now */
  rc = DF_ENOMEM;
  df_delayed_call *call = df__test_clock_spare(clock);
  if (!call) call = df__malloc(sizeof *call);
  if (!call) goto fail;
  *call = (df_delayed_call){.clock = clock,
                            .fn = fn,
                            .arg = arg,
                            .release = release,
                            .time = time,
                            .refs = out ? 2 : 1,
                            .state = CALL_PENDING};
  rc = clock->type->schedule(clock, call);
  if (rc < 0) {
    df__free(call);
    goto fail;
  }
  if (out) *out = call;
  return 0;
fail:
  if (release) release(arg);
  return rc;
}

int df_clock_call_later(df_clock *clock, double delay, df_call_fn fn,
                        void *arg, df_delayed_call **out) {
  return df_clock_call_later_owned(clock, delay, fn, arg, NULL, out);
}

/* The weak references (internal.h): one list for the process, as they
 * are few and a clock is freed once. */
static pthread_mutex_t refs_lock = PTHREAD_MUTEX_INITIALIZER;
static df__clock_ref *refs_head;

void df__clock_ref_init(df__clock_ref *ref, df_clock *clock) {
  ref->clock = clock;
  ref->prev = NULL;
  pthread_mutex_lock(&refs_lock);
  ref->next = refs_head;
  if (refs_head) refs_head->prev = ref;
  refs_head = ref;
  pthread_mutex_unlock(&refs_lock);
}

static void unlink_ref(df__clock_ref *ref) {
  if (ref->prev)
    ref->prev->next = ref->next;
  else
    refs_head = ref->next;
  if (ref->next) ref->next->prev = ref->prev;
  ref->prev = ref->next = NULL;
}

void df__clock_ref_clear(df__clock_ref *ref) {
  pthread_mutex_lock(&refs_lock);
  if (ref->clock) unlink_ref(ref);
  ref->clock = NULL;
  pthread_mutex_unlock(&refs_lock);
}

void df_clock_free(df_clock *clock) {
  if (!clock) return;
  pthread_mutex_lock(&refs_lock);
  for (df__clock_ref *ref = refs_head, *next; ref; ref = next) {
    next = ref->next;
    if (ref->clock == clock) {
      unlink_ref(ref);
      ref->clock = NULL;
    }
  }
  pthread_mutex_unlock(&refs_lock);
  if (clock->type->destroy) clock->type->destroy(clock);
}

/* --- state --------------------------------------------------------------------- */

/* The checks every change of a pending call starts with, in Twisted's
 * order (cancelled first). */
static int check_pending(const df_delayed_call *call) {
  if (!call) return DF_EINVAL;
  if (call->state == CALL_CANCELLED) return DF_EALREADY_CANCELLED;
  if (call->state == CALL_CALLED) return DF_EALREADY_CALLED;
  return 0;
}

/* The call stops being pending: release its argument. */
static void end(df_delayed_call *call, enum call_state state) {
  call->state = (unsigned char)state;
  void (*release)(void *) = call->release;
  call->release = NULL;
  call->fn = NULL;
  if (release) release(call->arg);
}

/* ... and the clock's reference with it. */
static void finish(df_delayed_call *call, enum call_state state) {
  end(call, state);
  df_delayed_call_unref(call);
}

/* The end of reset and delay: a new (time, delayed_time) pair, refused
 * (nothing changed) if the time it gives is NaN, as a NaN argument or
 * infinities of opposite signs make it; Twisted accepts those and then
 * sorts its calls by a NaN. The loop is told of every move, earlier or
 * later. */
static int move(df_delayed_call *call, double time, double delayed_time) {
  if (isnan(time + delayed_time)) return DF_EINVAL;
  call->time = time;
  call->delayed_time = delayed_time;
  call->clock->type->reschedule(call->clock, call);
  return 0;
}

int df_delayed_call_cancel(df_delayed_call *call) {
  int rc = check_pending(call);
  if (rc < 0) return rc;
  call->clock->type->unschedule(call->clock, call);
  finish(call, CALL_CANCELLED);
  return 0;
}

int df_delayed_call_reset(df_delayed_call *call, double seconds_from_now) {
  int rc = check_pending(call);
  if (rc < 0) return rc;
  double new_time = call->clock->type->seconds(call->clock) + seconds_from_now;
  double time = call->time, delayed_time;
  if (new_time < time) { /* earlier: the call moves (Twisted's resetter) */
    delayed_time = 0;
    time = new_time;
  } else { /* later: only the delay grows, Twisted's lazy move */
    delayed_time = new_time - time;
  }
  return move(call, time, delayed_time);
}

int df_delayed_call_delay(df_delayed_call *call, double seconds_later) {
  int rc = check_pending(call);
  if (rc < 0) return rc;
  double time = call->time, delayed_time = call->delayed_time + seconds_later;
  if (delayed_time < 0) { /* into the past: Twisted's activate_delay */
    time += delayed_time;
    delayed_time = 0;
  }
  return move(call, time, delayed_time);
}

bool df_delayed_call_active(const df_delayed_call *call) {
  return call && call->state == CALL_PENDING;
}

bool df_delayed_call_called(const df_delayed_call *call) {
  return call && call->state == CALL_CALLED;
}

bool df_delayed_call_cancelled(const df_delayed_call *call) {
  return call && call->state == CALL_CANCELLED;
}

double df_delayed_call_time(const df_delayed_call *call) {
  return call ? call->time + call->delayed_time : NAN;
}

df_clock *df_delayed_call_clock(const df_delayed_call *call) {
  return call ? call->clock : NULL;
}

df_delayed_call *df_delayed_call_ref(df_delayed_call *call) {
  if (call) call->refs++;
  return call;
}

void df_delayed_call_unref(df_delayed_call *call) {
  if (call && --call->refs == 0) df__free(call);
}

/* --- for clock implementations ------------------------------------------------- */

void df_delayed_call_run(df_delayed_call *call) {
  if (!call) return;
  if (call->state != CALL_PENDING) {
    df_delayed_call_unref(call);
    return;
  }
  /* Twisted sets `called` before calling: inside the function the call
   * is no longer active, and cancelling it is AlreadyCalled. */
  call->state = CALL_CALLED;
  call->fn(call->arg);
  finish(call, CALL_CALLED);
}

df_delayed_call *df__delayed_call_run_spent(df_delayed_call *call) {
  if (call->state == CALL_PENDING) {
    call->state = CALL_CALLED; /* as df_delayed_call_run, before the call */
    call->fn(call->arg);
    end(call, CALL_CALLED);
  }
  if (call->refs == 1) return call;
  call->refs--;
  return NULL;
}

void df_delayed_call_discard(df_delayed_call *call) {
  if (!call) return;
  if (call->state != CALL_PENDING) {
    df_delayed_call_unref(call);
    return;
  }
  finish(call, CALL_CANCELLED);
}

void df_delayed_call_activate_delay(df_delayed_call *call) {
  if (!call) return;
  call->time += call->delayed_time;
  call->delayed_time = 0;
}

void df_delayed_call_set_loop_data(df_delayed_call *call, void *data) {
  if (call) call->loop_data = data;
}

void *df_delayed_call_loop_data(const df_delayed_call *call) {
  return call ? call->loop_data : NULL;
}
