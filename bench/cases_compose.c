/* Cases g-j: the composition layer (deferred/race.h, lock.h, clock.h,
 * test_clock.h), timed, counted and checked as cases a-e are
 * (bench/peer_twisted.py and bench/peer_node.mjs run the same ones where
 * the runtime has the feature):
 *
 *   g   df_race of 100 members with cancellers: member i % 100 fires, the
 *       race fires with (value, index) and cancels the 99 others
 *   h   a DeferredLock round, uncontended: acquire (fires at once), release
 *   h2  the same, contended: acquire, acquire again (waits), release (hands
 *       the lock to the second, which fires), release
 *   i   a DeferredSemaphore of 10 tokens and 100 acquires: 10 fire at
 *       once, 90 wait; the 100 releases each hand a token to the next
 *   j   10,000 delayed calls on the test clock, each at its own time
 *       (a permutation of 0.000 .. 9.999 s), run by one advance; per call
 *   j2  10,000 delayed calls scheduled, then cancelled in another order
 *       (none runs); per call
 *
 * Each case_* takes a count of rounds (races, lock rounds, semaphore
 * rounds, clocks of TIMER_N calls), as case_fn does, and checks what
 * every round computed: a wrong result exits with status 2. */
#include "bench.h"

/* --- g: race of 100, the losers cancelled --------------------------------- */

/* The members' canceller counts the cancels it receives and does nothing
 * else, so the library fails the member with CancelledError, as a
 * Twisted Deferred's canceller that does not fire it. */
static void count_cancel(df_deferred *d, void *arg) {
  (void)d;
  ++*(long *)arg;
}

void case_g(long n) {
  df_deferred *ds[RACE_N];
  long cancelled = 0;
  for (long i = 0; i < n; i++) {
    for (int k = 0; k < RACE_N; k++)
      ds[k] = df_deferred_new_with_canceller(count_cancel, &cancelled);
    df_deferred *race = df_race(ds, RACE_N, 0);
    int winner = (int)(i % RACE_N);
    long cancelled_before = cancelled;
    df_deferred_callback(ds[winner], df_int(i));
    check(cancelled - cancelled_before == RACE_N - 1, "case g: the cancels");
    for (int k = 0; k < RACE_N; k++) {
      /* The losers' chains go on with None (the race consumes the
       * CancelledErrors its own cancels caused); the winner keeps its
       * value (an int is copied into the race's result). */
      const df_result *r = df_deferred_result(ds[k]);
      check(r && r->kind == (k == winner ? DF_INT : DF_NONE),
            "case g: a member's result");
      df_deferred_unref(ds[k]);
    }
    df_result r;
    check(df_deferred_take_result(race, &r) == 0, "case g: the race fired");
    const df_first_result *first = df_first_result_of(r);
    check(first && first->index == (size_t)winner &&
              first->value.kind == DF_INT && first->value.u.i == i,
          "case g: (value, index)");
    sink += first->value.u.i;
    df_result_drop(r);
    df_deferred_unref(race);
  }
}

/* --- h: a DeferredLock round ------------------------------------------------ */

/* Take the result of a fired acquire: the primitive itself, borrowed. */
static void take_token(df_deferred *d, const void *primitive, const char *what) {
  df_result r;
  check(df_deferred_take_result(d, &r) == 0 && r.kind == DF_POINTER &&
            r.u.p == primitive,
        what);
  df_deferred_unref(d);
}

static df_lock *new_lock(void) {
  df_lock *lock;
  check(df_lock_new(&lock) == 0, "df_lock_new");
  return lock;
}

void case_h(long n) {
  df_lock *lock = new_lock();
  for (long i = 0; i < n; i++) {
    take_token(df_lock_acquire(lock), lock, "case h: the acquire");
    check(df_lock_release(lock) == 0, "case h: the release");
  }
  check(!df_lock_locked(lock), "case h: unlocked at the end");
  sink += (int64_t)n;
  df_lock_free(lock);
}

void case_h2(long n) {
  df_lock *lock = new_lock();
  for (long i = 0; i < n; i++) {
    df_deferred *first = df_lock_acquire(lock);
    df_deferred *second = df_lock_acquire(lock);
    check(!df_deferred_called(second) && df_lock_waiting(lock) == 1,
          "case h2: the second acquire waits");
    take_token(first, lock, "case h2: the first acquire");
    check(df_lock_release(lock) == 0, "case h2: the first release");
    take_token(second, lock, "case h2: the hand-over");
    check(df_lock_release(lock) == 0, "case h2: the second release");
  }
  check(!df_lock_locked(lock), "case h2: unlocked at the end");
  sink += (int64_t)n;
  df_lock_free(lock);
}

/* --- i: a semaphore of 10 tokens, 100 waiters --------------------------------- */

/* Each acquire's callback checks that the token came in first come,
 * first served order: acquire k is the k-th to get one. */
typedef struct turns {
  df_semaphore *sem;
  long next; /* the acquire whose turn is next */
} turns;
static turns sem_turns;

static df_result take_turn(df_result r, void *arg) {
  check(r.kind == DF_POINTER && r.u.p == sem_turns.sem &&
            (long)(intptr_t)arg == sem_turns.next,
        "case i: the order of the tokens");
  sem_turns.next++;
  return r;
}

void case_i(long n) {
  df_deferred *ds[SEM_WAITERS];
  check(df_semaphore_new(SEM_TOKENS, &sem_turns.sem) == 0, "df_semaphore_new");
  df_semaphore *sem = sem_turns.sem;
  for (long i = 0; i < n; i++) {
    sem_turns.next = 0;
    for (int k = 0; k < SEM_WAITERS; k++) {
      ds[k] = df_semaphore_acquire(sem);
      df_deferred_add_callback(ds[k], take_turn, (void *)(intptr_t)k);
    }
    check(sem_turns.next == SEM_TOKENS &&
              df_semaphore_waiting(sem) == SEM_WAITERS - SEM_TOKENS,
          "case i: 10 fired at once, 90 wait");
    /* Acquire k has its token (it fired at once, or when release k - 10
     * handed it over); its release hands one to acquire k + 10. */
    for (int k = 0; k < SEM_WAITERS; k++) {
      check(df_deferred_called(ds[k]), "case i: a token held");
      check(df_semaphore_release(sem) == 0, "case i: a release");
      df_deferred_unref(ds[k]);
    }
    check(sem_turns.next == SEM_WAITERS && df_semaphore_waiting(sem) == 0 &&
              df_semaphore_tokens(sem) == SEM_TOKENS,
          "case i: every token back");
    sink += sem_turns.next;
  }
  df_semaphore_free(sem);
  sem_turns.sem = NULL;
}

/* --- j: delayed calls on the test clock ----------------------------------- */

/* Call k of `calls` is due at a time of its own: a permutation (7919 is
 * prime, coprime with the sizes used) of `calls` steps over 10 seconds,
 * so the calls are scheduled in no particular order of time. */
static double timer_delay(long k, long calls) {
  return (double)((k * 7919) % calls) * (10.0 / (double)calls);
}

typedef struct timer_run {
  long calls; /* scheduled this round             */
  long ran;   /* run so far                        */
  double last; /* the delay of the last call run   */
} timer_run;
static timer_run timers;

/* Each call checks that it runs in time order, after every call due
 * before it. */
static void timer_fired(void *arg) {
  double delay = timer_delay((long)(intptr_t)arg, timers.calls);
  check(delay >= timers.last, "case j: time order");
  timers.last = delay;
  timers.ran++;
}

/* `rounds` rounds on one test clock, as a program keeps one clock (and
 * Twisted's peer one reactor): `calls` calls scheduled, then one advance
 * of 10 s, past the last. */
static void timers_rounds(long rounds, long calls) {
  df_clock *clock = df_test_clock_new();
  check(clock != NULL, "df_test_clock_new");
  for (long i = 0; i < rounds; i++) {
    timers = (timer_run){calls, 0, -1.0};
    for (long k = 0; k < calls; k++)
      check(df_clock_call_later(clock, timer_delay(k, calls), timer_fired,
                                (void *)(intptr_t)k, NULL) == 0,
            "case j: call_later");
    check(df_test_clock_advance(clock, 10.0) == 0 && timers.ran == calls &&
              df_test_clock_get_delayed_calls(clock, NULL, 0) == 0,
          "case j: every call ran");
    sink += timers.ran;
  }
  df_clock_free(clock);
}

void case_j(long n) { timers_rounds(n, TIMER_N); }

void case_j_small(long n) { timers_rounds(n, TIMER_N_SMALL); }

static void never_runs(void *arg) {
  (void)arg;
  check(false, "case j2: a cancelled call ran");
}

void case_j2(long n) {
  static df_delayed_call *calls[TIMER_N];
  df_clock *clock = df_test_clock_new();
  check(clock != NULL, "df_test_clock_new");
  for (long i = 0; i < n; i++) {
    for (long k = 0; k < TIMER_N; k++)
      check(df_clock_call_later(clock, timer_delay(k, TIMER_N), never_runs,
                                NULL, &calls[k]) == 0,
            "case j2: call_later");
    /* Cancelled in an order of their own: neither that of scheduling
     * nor that of their times. */
    for (long k = 0; k < TIMER_N; k++) {
      df_delayed_call *call = calls[(k * 7919) % TIMER_N];
      check(df_delayed_call_cancel(call) == 0, "case j2: cancel");
      df_delayed_call_unref(call);
    }
    check(df_test_clock_get_delayed_calls(clock, NULL, 0) == 0 &&
              df_test_clock_advance(clock, 10.0) == 0,
          "case j2: nothing left");
    sink += TIMER_N;
  }
  df_clock_free(clock);
}
