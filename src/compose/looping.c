/* LoopingCall: a function called every interval on a clock, Twisted's
 * task.LoopingCall (deferred/looping.h says what users see).
 *
 * The code follows task.py's structure so that every corner of it behaves
 * the same: start() (run now, or schedule from the start time),
 * run_function() (Twisted's __call__: forget the call, run the function,
 * then loop_went_well/loop_failed, its cb and eb), schedule_from()
 * (_scheduleFrom and howLong), count_intervals() (withCount's counter),
 * stop() and reset(). Time arithmetic is Twisted's, in doubles, with
 * Python's % and int() (python_mod, whole_intervals), so that the runs
 * fall on the same times.
 *
 * One departure in the mechanics, none in the outcome: Twisted wraps the
 * function's result in a Deferred (maybeDeferred) and adds cb and eb to
 * it; here a plain value or failure is handled at once, and only a
 * deferred the function returns gets a stage (both sides, owning a
 * reference to the loop).
 *
 * The loop's clock is a weak reference (internal.h): a loop waiting on
 * its function's deferred has no call the clock could discard, and must
 * know, when the deferred fires, whether there is still a clock.
 *
 * Who holds the loop (refs):
 *   - its owners (the constructors' reference, df_looping_call_ref);
 *   - each pending delayed call of the loop (its owned argument);
 *   - the stage on a deferred the function returned, while pending;
 *   - the result its start deferred fired with (df_looping_call_of).
 * The loop holds its next call's handle and its start deferred until it
 * fires; neither holds the loop past that, so no cycle outlives a run.
 */
#include <math.h>

#include "internal.h"

struct df_looping_call {
  df__clock_ref clock;        /* .clock is NULL once the clock is freed */
  df_function fn;             /* one of fn and count_fn is set */
  df_count_function count_fn; /* withCount                     */
  void *arg;
  void (*release)(void *);
  df_delayed_call *call; /* Twisted's call: the next run, or NULL   */
  df_deferred *deferred; /* Twisted's _deferred: until it fires     */
  double interval;       /* NaN for Twisted's None                  */
  double start_time;     /* Twisted's starttime, NaN for None       */
  double real_last_time; /* withCount's _realLastTime, NaN for None */
  unsigned refs;
  bool running;
  bool run_at_start; /* Twisted's _runAtStart */
  bool busy; /* from a run until its outcome is handled: then, and only
                then, Twisted's call is None, but for a loop that lost
                its clock while busy (stop() must then fire) */
};

static void release_loop(void *arg) { df_looping_call_unref(arg); }

/* --- construction and references ------------------------------------------ */

static int loop_new(df_clock *clock, df_function fn, df_count_function count_fn,
                    void *arg, void (*release)(void *), df_looping_call **out) {
  if (out) *out = NULL;
  df_looping_call *lc = NULL;
  int rc = DF_EINVAL;
  if (clock && (fn || count_fn) && out) {
    rc = DF_ENOMEM;
    lc = df__malloc(sizeof *lc);
  }
  if (!lc) {
    if (release) release(arg);
    return rc;
  }
  *lc = (df_looping_call){.fn = fn,
                          .count_fn = count_fn,
                          .arg = arg,
                          .release = release,
                          .interval = NAN,
                          .start_time = NAN,
                          .real_last_time = NAN,
                          .refs = 1};
  df__clock_ref_init(&lc->clock, clock);
  *out = lc;
  return 0;
}

int df_looping_call_new(df_clock *clock, df_function fn, void *arg,
                        void (*release)(void *), df_looping_call **out) {
  return loop_new(clock, fn, NULL, arg, release, out);
}

int df_looping_call_with_count(df_clock *clock, df_count_function fn,
                               void *arg, void (*release)(void *),
                               df_looping_call **out) {
  return loop_new(clock, NULL, fn, arg, release, out);
}

df_looping_call *df_looping_call_ref(df_looping_call *lc) {
  if (lc) lc->refs++;
  return lc;
}

void df_looping_call_unref(df_looping_call *lc) {
  if (!lc || --lc->refs > 0) return;
  if (lc->release) lc->release(lc->arg);
  df__clock_ref_clear(&lc->clock);
  df_delayed_call_unref(lc->call);
  df_deferred_unref(lc->deferred); /* never fired: dropped silently */
  df__free(lc);
}

/* --- Twisted's time arithmetic ---------------------------------------------- */

/* Python's float `x % y` (y != 0): the remainder has the sign of y. */
static double python_mod(double x, double y) {
  double mod = fmod(x, y);
  if (mod != 0) {
    if ((y < 0) != (mod < 0)) mod += y;
  } else {
    mod = copysign(0.0, y);
  }
  return mod;
}

/* _scheduleFrom's howLong(): the delay to the end of the current interval,
 * a whole interval if that is too small to move `when` at all. */
static double delay_from(const df_looping_call *lc, double when) {
  if (lc->interval == 0) return 0; /* as fast as possible */
  double running_for = when - lc->start_time;
  double until_next = lc->interval - python_mod(running_for, lc->interval);
  if (when == when + until_next) return lc->interval;
  return until_next;
}

/* _scheduleFrom: the next run, a new call that holds the loop. Should an
 * earlier call still be pending (a loop stopped and started again while
 * its function's deferred was pending), Twisted forgets it and so do we:
 * it runs, and stop() cannot reach it. */
static void run_due(void *arg);

static int schedule_from(df_looping_call *lc, double when) {
  df_delayed_call *call;
  int rc = df_clock_call_later_owned(lc->clock.clock, delay_from(lc, when),
                                     run_due, df_looping_call_ref(lc),
                                     release_loop, &call);
  if (rc < 0) return rc; /* the loop's reference went with the error */
  df_delayed_call_unref(lc->call);
  lc->call = call;
  return 0;
}

/* Python's int(t / interval) of _intervalOf: truncation toward zero, an
 * OverflowError or ValueError where Python has no integer to give. The
 * bound keeps the counter's subtraction in range (Python's integers have
 * none; nothing real counts to 2^62 intervals). */
static bool whole_intervals(double elapsed_over_interval, int64_t *out,
                            df_failure **error) {
  double x = trunc(elapsed_over_interval);
  if (isnan(x)) {
    *error = df_failure_new(&df_error_invalid_argument,
                            "cannot convert float NaN to integer");
    return false;
  }
  if (isinf(x)) {
    *error = df_failure_new(&df_error_invalid_argument,
                            "cannot convert float infinity to integer");
    return false;
  }
  const double bound = 4611686018427387904.0; /* 2^62 */
  *out = x > bound ? (int64_t)bound : x < -bound ? -(int64_t)bound : (int64_t)x;
  return true;
}

/* withCount's counter(): call the counting function with the number of
 * intervals since its last run, or skip it (None) when that is 0. */
static df_result count_intervals(df_looping_call *lc) {
  double now = df_clock_seconds(lc->clock.clock); /* a run: it is there */
  if (lc->interval == 0) {
    lc->real_last_time = now;
    return lc->count_fn(1, lc->arg);
  }
  double last = lc->real_last_time;
  if (isnan(last)) {
    last = lc->start_time;
    if (lc->run_at_start) last -= lc->interval;
  }
  int64_t last_interval, this_interval;
  df_failure *error = NULL;
  if (!whole_intervals((last - lc->start_time) / lc->interval, &last_interval,
                       &error) ||
      !whole_intervals((now - lc->start_time) / lc->interval, &this_interval,
                       &error))
    return df_failed(error);
  int64_t count = this_interval - last_interval;
  if (count > 0) {
    lc->real_last_time = now;
    return lc->count_fn(count, lc->arg);
  }
  return df_none();
}

/* --- a run and its outcome --------------------------------------------------- */

/* Fire the start deferred with the loop (cb's else branch, stop()). */
static void fire_stopped(df_looping_call *lc) {
  df_deferred *d = lc->deferred;
  lc->deferred = NULL;
  if (!d) return; /* Twisted asserts: only a forgotten call gets here */
  df_deferred_callback(d, df_pointer(df_looping_call_ref(lc), release_loop));
  df_deferred_unref(d);
}

/* Twisted's eb: the loop is over, its deferred fails. Takes `f`. */
static void loop_failed(df_looping_call *lc, df_failure *f) {
  lc->busy = false;
  lc->running = false;
  df_deferred *d = lc->deferred;
  lc->deferred = NULL;
  if (!d) { /* as fire_stopped */
    df_failure_unref(f);
    return;
  }
  df_deferred_errback(d, f);
  df_deferred_unref(d);
}

/* Twisted's cb: schedule the next run, or, if stopped meanwhile, fire the
 * start deferred. A run that cannot be scheduled fails the loop, as the
 * exception callLater would raise reaches Twisted's eb. */
static void loop_went_well(df_looping_call *lc) {
  lc->busy = false;
  if (!lc->running) {
    fire_stopped(lc);
    return;
  }
  /* The clock was freed while the function's deferred was pending: the
   * loop ends there, as one whose next run the clock discarded. */
  if (!lc->clock.clock) return;
  int rc = schedule_from(lc, df_clock_seconds(lc->clock.clock));
  if (rc < 0) loop_failed(lc, df_failure_from_code_at(DF_HERE, rc));
}

/* cb and eb as the stage on a deferred the function returned. */
static df_result stage_went_well(df_result r, void *arg) {
  df_result_drop(r);
  loop_went_well(arg);
  return df_none();
}

static df_result stage_failed(df_result r, void *arg) {
  loop_failed(arg, r.u.failure);
  return df_none();
}

/* Twisted's __call__. The caller holds a reference to the loop. */
static void run_function(df_looping_call *lc) {
  df_delayed_call_unref(lc->call);
  lc->call = NULL;
  lc->busy = true;
  df_result r = lc->count_fn ? count_intervals(lc) : lc->fn(lc->arg);
  if (r.kind == DF_DEFERRED) {
    df_deferred *d = r.u.deferred;
    if (!d) {
      loop_failed(lc, df_failure_new(&df_error_invalid_argument,
                                     "LoopingCall: the function returned "
                                     "df_wait_on(NULL)"));
      return;
    }
    int rc = df_deferred_add_owned(d, stage_went_well, stage_failed,
                                   df_looping_call_ref(lc), release_loop);
    df_deferred_unref(d);
    if (rc < 0) loop_failed(lc, df_failure_from_code_at(DF_HERE, rc));
  } else if (df_result_is_failure(r)) {
    loop_failed(lc, r.u.failure);
  } else {
    df_result_drop(r);
    loop_went_well(lc);
  }
}

/* A scheduled run: the delayed call holds the loop while it runs. */
static void run_due(void *arg) { run_function(arg); }

/* --- start, stop, reset -------------------------------------------------------- */

int df_looping_call_start_at(df_looping_call *lc, double interval, bool now,
                             df_deferred **out, const char *file, int line,
                             const char *func) {
  if (out) *out = NULL;
  if (!lc || lc->running || !lc->clock.clock || isnan(interval) ||
      interval < 0)
    return DF_EINVAL;
  df_deferred *d = df_deferred_new_at(NULL, NULL, file, line, func);
  if (!d) return DF_ENOMEM;
  /* A loop stopped while its function's deferred was pending has not
   * fired its deferred yet; Twisted replaces it, and it never fires. */
  df_deferred *old_deferred = lc->deferred;
  double old_start = lc->start_time, old_interval = lc->interval;
  bool old_run_at_start = lc->run_at_start;
  lc->running = true;
  lc->deferred = d;
  lc->start_time = df_clock_seconds(lc->clock.clock);
  lc->interval = interval;
  lc->run_at_start = now;
  if (!now) {
    int rc = schedule_from(lc, lc->start_time);
    if (rc < 0) { /* as it was */
      lc->running = false;
      lc->deferred = old_deferred;
      lc->start_time = old_start;
      lc->interval = old_interval;
      lc->run_at_start = old_run_at_start;
      df_deferred_unref(d);
      return rc;
    }
  }
  df_deferred_unref(old_deferred);
  /* Before a run now can fire `d` and the loop let it go. */
  if (out) *out = df_deferred_ref(d);
  if (now) {
    df_looping_call_ref(lc); /* the function may drop the caller's */
    run_function(lc);
    df_looping_call_unref(lc);
  }
  return 0;
}

int df_looping_call_stop(df_looping_call *lc) {
  if (!lc || !lc->running) return DF_EINVAL;
  lc->running = false;
  if (!lc->call && lc->busy) return 0; /* the run's outcome will fire it */
  df_looping_call_ref(lc); /* cancelling drops the call's reference */
  df_delayed_call *call = lc->call;
  lc->call = NULL;
  /* DF_EALREADY_CANCELLED if the clock discarded it: nothing to stop */
  df_delayed_call_cancel(call);
  df_delayed_call_unref(call);
  fire_stopped(lc);
  df_looping_call_unref(lc);
  return 0;
}

int df_looping_call_reset(df_looping_call *lc) {
  if (!lc || !lc->running || !lc->clock.clock) return DF_EINVAL;
  if (!lc->call) return 0;
  /* Twisted cancels, then schedules; scheduling first lets a failure
   * leave everything as it was, and gives the same order of calls (a
   * cancel does not move the others, and the new call goes after every
   * call of its time either way). */
  df_delayed_call *old = lc->call;
  double old_start = lc->start_time;
  lc->call = NULL;
  lc->start_time = df_clock_seconds(lc->clock.clock);
  int rc = schedule_from(lc, lc->start_time);
  if (rc < 0) {
    lc->call = old;
    lc->start_time = old_start;
    return rc;
  }
  df_delayed_call_cancel(old); /* the new call holds the loop */
  df_delayed_call_unref(old);
  return 0;
}

/* --- state ----------------------------------------------------------------------- */

bool df_looping_call_running(const df_looping_call *lc) {
  return lc && lc->running;
}

double df_looping_call_interval(const df_looping_call *lc) {
  return lc ? lc->interval : NAN;
}

int df_looping_call_set_interval(df_looping_call *lc, double interval) {
  if (!lc || isnan(interval) || interval < 0) return DF_EINVAL;
  lc->interval = interval;
  return 0;
}

double df_looping_call_start_time(const df_looping_call *lc) {
  return lc ? lc->start_time : NAN;
}

df_delayed_call *df_looping_call_next_call(const df_looping_call *lc) {
  return lc ? lc->call : NULL;
}

df_clock *df_looping_call_clock(const df_looping_call *lc) {
  return lc ? lc->clock.clock : NULL;
}

df_looping_call *df_looping_call_of(df_result r) {
  if (r.kind != DF_POINTER || df_destructor_fn(r.destructor) != release_loop)
    return NULL;
  return r.u.p;
}
