/* Cases a-e and the direct-call limit: the cases every runtime runs
 * (bench/peer_twisted.py and bench/peer_node.mjs run the same ones). */
#include "bench.h"

/* --- the callbacks -------------------------------------------------------- */

/* Ten distinct "return input + 1" functions, so that case b and the
 * direct-call limit make the same ten indirect calls (add_one_0 is also
 * bench.c's, hence no `static`). */
#define ADD_ONE(n)                                         \
  df_result add_one_##n(df_result r, void *arg) {         \
    (void)arg;                                             \
    r.u.i += 1;                                            \
    return r;                                              \
  }
ADD_ONE(0) ADD_ONE(1) ADD_ONE(2) ADD_ONE(3) ADD_ONE(4)
ADD_ONE(5) ADD_ONE(6) ADD_ONE(7) ADD_ONE(8) ADD_ONE(9)

static const df_callback_fn add_ones[10] = {
    add_one_0, add_one_1, add_one_2, add_one_3, add_one_4,
    add_one_5, add_one_6, add_one_7, add_one_8, add_one_9};

/* The direct-call limit reads the pointers through volatile, so the
 * compiler can neither inline the calls nor fold them away. */
static df_callback_fn const volatile direct_table[10] = {
    add_one_0, add_one_1, add_one_2, add_one_3, add_one_4,
    add_one_5, add_one_6, add_one_7, add_one_8, add_one_9};

DF_ERROR_TYPE(bench_error, "BenchError", &df_error_exception);

static df_result raise_bench_error(df_result r, void *arg) {
  (void)arg;
  df_result_drop(r);
  /* No message, like Twisted's `raise BenchError()`: the failure is the
   * one allocation; a formatted message would be a second. */
  return df_raise(&bench_error, NULL);
}

static df_result recover(df_result r, void *arg) {
  (void)arg;
  check(df_failure_check(r.u.failure, &bench_error) != NULL, "case c trap");
  df_result_drop(r);
  return df_int(100);
}

static df_result return_fired_deferred(df_result r, void *arg) {
  (void)arg;
  return df_wait_on(df_succeed(df_int(r.u.i + 1)));
}

/* --- the cases ------------------------------------------------------------- */

/* firing_allocs and count_firing: see bench.h. The timed runs leave
 * count_firing unset: counting is instrumentation, not part of the case
 * (and the other runtimes do not pay for it). */
uint64_t firing_allocs;
bool count_firing;
#define FIRE_COUNTED(call)                                    \
  do {                                                        \
    uint64_t before_ = count_firing ? allocations() : 0;      \
    call;                                                     \
    if (count_firing) firing_allocs += allocations() - before_; \
  } while (0)

void case_a(long n) {
  for (long i = 0; i < n; i++) {
    df_deferred *d = df_deferred_new();
    df_deferred_add_callback(d, add_one_0, NULL);
    FIRE_COUNTED(df_deferred_callback(d, df_int(i)));
    int64_t v = take_int(d);
    check(v == i + 1, "case a");
    sink += v;
  }
}

void case_b(long n) {
  for (long i = 0; i < n; i++) {
    df_deferred *d = df_deferred_new();
    for (int k = 0; k < 10; k++) df_deferred_add_callback(d, add_ones[k], NULL);
    FIRE_COUNTED(df_deferred_callback(d, df_int(i)));
    int64_t v = take_int(d);
    check(v == i + 10, "case b");
    sink += v;
  }
}

/* Stages 1-4 add one, 5 raises, 6 (a callback) is skipped, 7's errback
 * recovers with 100, 8-10 add one: the result is 103. */
void case_c(long n) {
  for (long i = 0; i < n; i++) {
    df_deferred *d = df_deferred_new();
    for (int k = 0; k < 4; k++) df_deferred_add_callback(d, add_ones[k], NULL);
    df_deferred_add_callback(d, raise_bench_error, NULL);
    df_deferred_add_callback(d, add_one_5, NULL);
    df_deferred_add_errback(d, recover, NULL);
    for (int k = 7; k < 10; k++) df_deferred_add_callback(d, add_ones[k], NULL);
    FIRE_COUNTED(df_deferred_callback(d, df_int(i)));
    int64_t v = take_int(d);
    check(v == 103, "case c");
    sink += v;
  }
}

void case_d(long n) {
  for (long i = 0; i < n; i++) {
    df_deferred *d = df_deferred_new();
    for (int k = 0; k < 10; k++)
      df_deferred_add_callback(d, return_fired_deferred, NULL);
    df_deferred_callback(d, df_int(i));
    int64_t v = take_int(d);
    check(v == i + 10, "case d");
    sink += v;
  }
}

/* Case e: gatherResults of 100 deferreds created unfired, then fired one
 * by one (each member released right after its fire), plus a callback
 * that sums the values. */
#define GATHER_N 100

static df_result sum_results(df_result r, void *arg) {
  (void)arg;
  const df_result_array *a = df_result_array_of(r);
  check(a && a->count == GATHER_N, "case e: the array");
  int64_t sum = 0;
  for (size_t k = 0; k < a->count; k++) sum += a->items[k].u.i;
  df_result_drop(r);
  return df_int(sum);
}

void case_e(long n) {
  df_deferred *ds[GATHER_N];
  for (long i = 0; i < n; i++) {
    for (int k = 0; k < GATHER_N; k++) ds[k] = df_deferred_new();
    df_deferred *g = df_gather_results(ds, GATHER_N, false);
    df_deferred_add_callback(g, sum_results, NULL);
    for (int k = 0; k < GATHER_N; k++) {
      df_deferred_callback(ds[k], df_int(k));
      df_deferred_unref(ds[k]);
    }
    int64_t v = take_int(g);
    check(v == GATHER_N * (GATHER_N - 1) / 2, "case e");
    sink += v;
  }
}

/* The direct-call limit: case b's ten callbacks, no library, each called
 * from a call site of its own (written out, so that every compiler makes
 * the same code: clang unrolls a ten-turn loop by itself, gcc does not,
 * and the ten sites take 14-20 ns here where one site takes 26-34). */
#define CALL_DIRECT(k) (r = direct_table[k](r, NULL))
void case_direct(long n) {
  for (long i = 0; i < n; i++) {
    df_result r = df_int(i);
    CALL_DIRECT(0), CALL_DIRECT(1), CALL_DIRECT(2), CALL_DIRECT(3);
    CALL_DIRECT(4), CALL_DIRECT(5), CALL_DIRECT(6), CALL_DIRECT(7);
    CALL_DIRECT(8), CALL_DIRECT(9);
    check(r.u.i == i + 10, "direct");
    sink += r.u.i;
  }
}

/* For reference, the same ten calls from one call site in a loop, as any
 * dispatcher makes them (the library's run loop too): the indirect branch
 * then has ten targets in turn, not one. The loop is kept rolled. */
void case_direct_one_site(long n) {
  for (long i = 0; i < n; i++) {
    df_result r = df_int(i);
#if defined(__clang__)
#pragma clang loop unroll(disable)
#elif defined(__GNUC__)
#pragma GCC unroll 1
#endif
    for (int k = 0; k < 10; k++) r = direct_table[k](r, NULL);
    check(r.u.i == i + 10, "direct, one call site");
    sink += r.u.i;
  }
}
