/* Ideal bounds for cases e and f2: the time the case's pattern takes on
 * this machine when no library runs it, only the least a Twisted-style
 * deferred must store and do. No library, this one or another, can go
 * below its bound here, as a library does all that and more; report.py
 * judges the two cases against the bounds measured in the same run: (e)
 * within 1.5x of the ideal gather, (f2) within 3x of the ideal chain.
 *
 * The ideal deferred is 72 bytes: a result (16), state and a reference count
 * (8), one callback/errback pair with their arguments (32), the deferred
 * waiting on it (8) and a queue pointer (8), the least that holds a pending
 * pair and a wait edge. It comes from a pre-touched arena (f2) or a free list
 * over one contiguous pool (e), never from malloc; it is fired without a
 * check, trace, observer or pause, and its callbacks are called through
 * volatile pointers, as the direct-call limit's are, so that nothing is
 * inlined or folded away. Each bound is generous to the implementation: a real
 * one does all of this and more. */
#include "bench.h"

#include <string.h>

typedef struct ideal_result {
  int64_t kind; /* IDEAL_VALUE or IDEAL_WAIT */
  union {
    int64_t i;
    struct ideal_deferred *wait_on;
  } u;
} ideal_result;

enum { IDEAL_NONE, IDEAL_VALUE, IDEAL_WAIT };

typedef ideal_result (*ideal_fn)(ideal_result r, void *arg);

typedef struct ideal_deferred {
  ideal_result result;
  uint32_t called;
  int32_t refs;
  ideal_fn callback, errback;
  void *callback_arg, *errback_arg;
  struct ideal_deferred *waiter; /* waiting on me, or NULL */
  struct ideal_deferred *next_free; /* the free list (e); the queue's place */
} ideal_deferred;
_Static_assert(sizeof(ideal_deferred) == 72, "the least a deferred holds");

/* Fire `d` with `r`: run its pair's callback; a deferred returned makes d
 * wait on it; a value is handed up to every deferred waiting, in turn (a
 * loop, as the library's, so the C stack stays flat). */
static void ideal_fire(ideal_deferred *d, ideal_result r) {
  d->called = 1;
  for (;;) {
    ideal_fn fn = d->callback;
    if (fn) {
      d->callback = NULL;
      r = fn(r, d->callback_arg);
    }
    d->result = r;
    if (r.kind == IDEAL_WAIT) {
      r.u.wait_on->waiter = d;
      r.u.wait_on->refs++;
      return;
    }
    ideal_deferred *waiter = d->waiter;
    if (!waiter) return;
    d->waiter = NULL;
    d->refs--;
    d = waiter;
  }
}

/* --- f2: a chain of n deferreds, each waiting on the next ------------------- */

static ideal_result wait_on_arg(ideal_result r, void *arg) {
  (void)r;
  ideal_result out = {IDEAL_WAIT, {.wait_on = arg}};
  return out;
}
static ideal_result add_one(ideal_result r, void *arg) {
  (void)arg;
  r.u.i += 1;
  return r;
}
static ideal_fn const volatile chain_fns[2] = {wait_on_arg, add_one};

/* The arena ideal_chain_ns() runs f2's pattern on. */
static ideal_deferred *arena;

/* One run of f2's pattern on the arena: n deferreds made (and the
 * callback added), fired in increasing order, the first's result taken
 * and every reference dropped, as huge_chain_once() does. */
static void chain_run(long n) {
  for (long i = 0; i < n; i++) {
    ideal_deferred *d = &arena[i];
    d->result.kind = IDEAL_NONE;
    d->called = 0;
    d->refs = 1;
    d->waiter = d->next_free = NULL;
    d->callback = chain_fns[i + 1 == n];
    d->callback_arg = i + 1 < n ? &arena[i + 1] : NULL;
    d->errback = NULL;
    d->errback_arg = NULL;
  }
  for (long i = 0; i < n; i++) {
    ideal_result r = {IDEAL_VALUE, {.i = i}};
    ideal_fire(&arena[i], r);
  }
  for (long i = 1; i < n; i++) arena[i].refs--;
  check(arena[0].result.kind == IDEAL_VALUE && arena[0].result.u.i == n,
        "ideal chain");
  arena[0].refs--;
  sink += arena[n - 1].refs;
}

double ideal_chain_ns(long n, int reps) {
  arena = malloc((size_t)n * sizeof *arena);
  check(arena != NULL, "ideal chain: malloc");
  memset(arena, 0, (size_t)n * sizeof *arena); /* warm, as f2's figure */
  chain_run(n);
  double best = best_run_ns(chain_run, n, reps);
  free(arena);
  arena = NULL;
  return best / (double)n;
}

/* --- e: a gather of 100 deferreds, fired one by one ------------------------- */

#define IDEAL_GATHER_N 100

typedef struct ideal_gather {
  ideal_deferred *out; /* fired with the sum once every member has fired */
  int left;
  int64_t values[IDEAL_GATHER_N];
} ideal_gather;

typedef struct ideal_member {
  ideal_gather *gather;
  int index;
} ideal_member;

static ideal_result record_member(ideal_result r, void *arg) {
  ideal_member *m = arg;
  ideal_gather *g = m->gather;
  g->values[m->index] = r.u.i;
  if (--g->left == 0) {
    ideal_result all = {IDEAL_VALUE, {.i = 0}};
    for (int k = 0; k < IDEAL_GATHER_N; k++) all.u.i += g->values[k];
    ideal_fire(g->out, all);
  }
  return r;
}
static ideal_fn const volatile record_fn = record_member;

/* The free list, filled from one contiguous pool of a gather's worth of
 * deferreds (the kindest layout for the caches) before the runs. */
static ideal_deferred *free_list;

static ideal_deferred *ideal_new(void) {
  ideal_deferred *d = free_list;
  check(d != NULL, "ideal gather: the pool");
  free_list = d->next_free;
  d->result.kind = IDEAL_NONE;
  d->called = 0;
  d->refs = 1;
  d->callback = d->errback = NULL;
  d->callback_arg = d->errback_arg = NULL;
  d->waiter = NULL;
  return d;
}

static void ideal_unref(ideal_deferred *d) {
  if (--d->refs == 0) {
    d->next_free = free_list;
    free_list = d;
  }
}

/* n gathers, as case_e() makes them: 100 members made unfired, the
 * gather (its record, a member stage on each, a callback summing), then
 * each member fired and let go, and the sum taken. */
static void gather_run(long n) {
  ideal_deferred *ds[IDEAL_GATHER_N];
  ideal_member members[IDEAL_GATHER_N];
  ideal_gather g;
  for (long i = 0; i < n; i++) {
    for (int k = 0; k < IDEAL_GATHER_N; k++) ds[k] = ideal_new();
    g.out = ideal_new();
    g.out->callback = chain_fns[1]; /* in the summing callback's place */
    g.left = IDEAL_GATHER_N;
    for (int k = 0; k < IDEAL_GATHER_N; k++) {
      members[k].gather = &g;
      members[k].index = k;
      ds[k]->callback = record_fn;
      ds[k]->callback_arg = &members[k];
      ds[k]->refs++; /* the gather's */
    }
    for (int k = 0; k < IDEAL_GATHER_N; k++) {
      ideal_result r = {IDEAL_VALUE, {.i = k}};
      ideal_fire(ds[k], r);
      ideal_unref(ds[k]); /* the caller's */
      ideal_unref(ds[k]); /* the gather's, its stage run */
    }
    check(g.out->result.kind == IDEAL_VALUE &&
              g.out->result.u.i == IDEAL_GATHER_N * (IDEAL_GATHER_N - 1) / 2 + 1,
          "ideal gather");
    sink += g.out->result.u.i;
    ideal_unref(g.out);
  }
}

double ideal_gather_ns(long n, int reps) {
  ideal_deferred *pool = malloc((IDEAL_GATHER_N + 1) * sizeof *pool);
  check(pool != NULL, "ideal gather: malloc");
  for (int k = IDEAL_GATHER_N; k >= 0; k--) {
    pool[k].next_free = free_list;
    free_list = &pool[k];
  }
  gather_run(n / 10 + 1);
  double best = best_run_ns(gather_run, n, reps);
  free_list = NULL;
  free(pool);
  return best / (double)n;
}
