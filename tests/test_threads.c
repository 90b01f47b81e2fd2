/* Threads: different threads use different deferreds at the same time
 * (core.h: a deferred, and every deferred chained to it, is used from one
 * thread at a time). What they share must then be safe: the failure
 * serial counter, the destructor table, the unhandled-failure registry
 * and handler, each thread's caches (freed when it exits), and a deferred
 * that passes from one thread to the next.
 *
 * The workers only record what they see; every assertion is made by the
 * main thread once they are joined (cmocka is not thread-safe). CI also
 * runs this suite (label "threads") under ThreadSanitizer. */
#define _POSIX_C_SOURCE 200809L /* pthread barriers */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "deferred.h"
#include "support.h"

#define THREADS 4

/* All workers start together, so that they do overlap. */
static pthread_barrier_t start_line;

static void run_workers(void *(*worker)(void *), void *args, size_t arg_size) {
  pthread_t threads[THREADS];
  assert_int_equal(pthread_barrier_init(&start_line, NULL, THREADS), 0);
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&threads[i], NULL, worker,
                                    (char *)args + (size_t)i * arg_size),
                     0);
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(pthread_join(threads[i], NULL), 0);
  pthread_barrier_destroy(&start_line);
}

/* --- failure serials --------------------------------------------------------- */

#define FAILURES_PER_THREAD 100000

typedef struct serial_worker {
  unsigned long serials[FAILURES_PER_THREAD];
} serial_worker;

static void *make_failures(void *arg) {
  serial_worker *w = arg;
  pthread_barrier_wait(&start_line);
  for (int i = 0; i < FAILURES_PER_THREAD; i++) {
    df_failure *f = df_failure_new(&generic_error, NULL);
    w->serials[i] = df_failure_serial(f);
    df_failure_unref(f);
  }
  return NULL;
}

static int compare_serials(const void *a, const void *b) {
  unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;
  return (x > y) - (x < y);
}

/* Twisted's Failure.count: every failure gets a serial of its own, from
 * whichever thread it is made (the counter was a plain increment: two
 * threads making 10,000 failures each gave repeated serials). */
static void test_failure_serials_are_distinct_across_threads(void **state) {
  (void)state;
  serial_worker *workers = test_malloc(THREADS * sizeof *workers);
  run_workers(make_failures, workers, sizeof *workers);
  size_t n = (size_t)THREADS * FAILURES_PER_THREAD;
  unsigned long *all = (unsigned long *)workers;
  /* each thread's serials increase ... */
  for (int t = 0; t < THREADS; t++)
    for (int i = 1; i < FAILURES_PER_THREAD; i++)
      assert_true(workers[t].serials[i] > workers[t].serials[i - 1]);
  /* ... and together they are n consecutive numbers, none twice */
  qsort(all, n, sizeof *all, compare_serials);
  for (size_t i = 1; i < n; i++) assert_int_equal(all[i], all[i - 1] + 1);
  test_free(workers);
}

/* --- chains on every thread at once ------------------------------------------ */

#define ROUNDS 2000

static atomic_int unhandled_reports;

static void count_report_atomically(const df_unhandled *report, void *arg) {
  (void)arg;
  if (df_failure_type(report->failure) == &generic_error)
    atomic_fetch_add(&unhandled_reports, 1);
}

static df_result add_index(df_result r, void *arg) {
  return df_int(r.u.i + (int64_t)(intptr_t)arg);
}

static df_result fail_now(df_result r, void *arg) {
  (void)arg;
  df_result_drop(r);
  return df_raise(&generic_error, "left unhandled");
}

/* Per-thread destructors: the table is shared, each id registered by the
 * first thread that asks. */
static atomic_int freed_values;
static void free_value(void *p) {
  free(p);
  atomic_fetch_add(&freed_values, 1);
}
static void free_value_too(void *p) { free_value(p); }

typedef struct chain_worker {
  int64_t sums; /* what the chains ended with, added up */
  int waits;    /* waits that ended with the expected value */
} chain_worker;

static void *run_chains(void *arg) {
  chain_worker *w = arg;
  pthread_barrier_wait(&start_line);
  for (int round = 0; round < ROUNDS; round++) {
    /* a chain of 20 stages (inline, then a block) */
    df_deferred *d = df_deferred_new();
    for (intptr_t k = 0; k < 20; k++) df_deferred_add_callback(d, add_index, (void *)k);
    df_deferred_callback(d, df_int(round));
    w->sums += df_deferred_result(d)->u.i;
    df_deferred_unref(d);

    /* an owned value handed from inner to outer, which waits on it, and
     * passed on by outer's chain_deferred stage to linked */
    df_deferred *outer = df_deferred_new(), *inner = df_deferred_new();
    df_deferred *linked = df_deferred_new();
    df_deferred_add_callback(outer, return_deferred, inner);
    df_deferred_callback(outer, df_none());
    df_deferred_chain(outer, linked);
    int *value = malloc(sizeof *value);
    df_deferred_callback(inner, df_pointer(value, round % 2 ? free_value
                                                            : free_value_too));
    const df_result *r = df_deferred_result(linked);
    if (r && r->kind == DF_POINTER && r->u.p == value) w->waits++;
    df_deferred_unref(outer);
    df_deferred_unref(inner);
    df_deferred_unref(linked);

    /* an unhandled failure, reported from this thread */
    df_deferred *f = df_deferred_new();
    df_deferred_add_callback(f, fail_now, NULL);
    df_deferred_callback(f, df_none());
    df_deferred_unref(f);
  }
  return NULL; /* the thread's caches are freed as it exits */
}

static void test_threads_run_their_own_chains_at_the_same_time(void **state) {
  (void)state;
  atomic_store(&unhandled_reports, 0);
  atomic_store(&freed_values, 0);
  df_set_unhandled_handler(count_report_atomically, NULL);
  chain_worker workers[THREADS] = {{0, 0}};
  run_workers(run_chains, workers, sizeof workers[0]);
  df_set_unhandled_handler(NULL, NULL);
  /* each round: round + (0 + 1 + ... + 19) */
  int64_t expected = (int64_t)ROUNDS * (ROUNDS - 1) / 2 + (int64_t)ROUNDS * 190;
  for (int t = 0; t < THREADS; t++) {
    assert_int_equal(workers[t].sums, expected);
    assert_int_equal(workers[t].waits, ROUNDS);
  }
  assert_int_equal(atomic_load(&unhandled_reports), THREADS * ROUNDS);
  assert_int_equal(atomic_load(&freed_values), THREADS * ROUNDS);
}

/* --- debug mode on every thread -------------------------------------------- */

typedef struct debug_worker {
  df_deferred *left; /* one deferred left waiting, for the main thread */
} debug_worker;

static void *run_debug_chains(void *arg) {
  debug_worker *w = arg;
  pthread_barrier_wait(&start_line);
  for (int round = 0; round < ROUNDS / 4; round++) {
    df_deferred *inner = df_deferred_new(), *outer = df_deferred_new();
    df_deferred_add_callback(outer, return_deferred, inner);
    df_deferred_callback(outer, df_none());
    df_deferred_callback(inner, df_int(round));
    df_deferred_unref(outer); /* into this thread's quarantine */
    df_deferred_unref(inner);
  }
  w->left = df_deferred_new();
  return NULL; /* the quarantine is flushed as the thread exits */
}

/* The list of live deferreds made in debug mode is shared by the threads
 * (each has its own quarantine): four threads making and freeing them at
 * once leave exactly the four they kept. */
static void test_debug_mode_tracks_deferreds_of_every_thread(void **state) {
  (void)state;
  df_set_debugging(true);
  debug_worker workers[THREADS] = {{NULL}};
  run_workers(run_debug_chains, workers, sizeof workers[0]);
  df_set_debugging(false);
  assert_int_equal(df_foreach_waiting(NULL, NULL), THREADS);
  for (int t = 0; t < THREADS; t++) df_deferred_unref(workers[t].left);
  assert_int_equal(df_foreach_waiting(NULL, NULL), 0);
}

/* --- a deferred that passes from thread to thread ---------------------------- */

typedef struct relay {
  df_deferred *d;
  int step;
} relay;

static df_result note_step(df_result r, void *arg) {
  relay *rl = arg;
  rl->step++;
  return df_int(r.u.i * 10 + rl->step);
}

static void *relay_build(void *arg) {
  relay *rl = arg;
  rl->d = df_deferred_new();
  df_deferred_add_callback(rl->d, note_step, rl);
  return NULL;
}

static void *relay_fire(void *arg) {
  relay *rl = arg;
  df_deferred_callback(rl->d, df_int(4));
  df_deferred_add_callback(rl->d, note_step, rl);
  return NULL;
}

static void *relay_release(void *arg) {
  relay *rl = arg;
  df_deferred_unref(rl->d);
  rl->d = NULL;
  return NULL;
}

/* One thread at a time, each after the last has exited: made and given a
 * stage in one, fired in the next, freed in a third (whose cache keeps the
 * struct until it exits). */
static void test_deferred_can_move_from_thread_to_thread(void **state) {
  (void)state;
  relay rl = {NULL, 0};
  void *(*steps[2])(void *) = {relay_build, relay_fire};
  for (int i = 0; i < 2; i++) {
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, steps[i], &rl), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
  }
  assert_int_equal(rl.step, 2);
  assert_int_equal(df_deferred_result(rl.d)->u.i, 412); /* (4*10+1)*10+2 */
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, relay_release, &rl), 0);
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_null(rl.d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_failure_serials_are_distinct_across_threads),
      cmocka_unit_test(test_threads_run_their_own_chains_at_the_same_time),
      cmocka_unit_test(test_debug_mode_tracks_deferreds_of_every_thread),
      cmocka_unit_test(test_deferred_can_move_from_thread_to_thread),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
