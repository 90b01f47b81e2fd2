/* The test clock: Twisted's task.Clock as a df_clock (deferred/test_clock.h
 * says what users see).
 *
 * task.Clock keeps a Python list, `calls`, and stably sorts it by getTime()
 * when a call is scheduled, when advance() starts and after each call
 * advance() runs; cancel removes from it, reset and delay change a time in
 * place. Everything observable (which call runs next, the order of
 * getDelayedCalls()) follows from the list's order, so this file keeps
 * that order, and nothing else, in a min-heap (4-ary, below):
 *
 *   heap[i] = { key, seq, call }     ordered by (key, seq)
 *
 * where `key` is the call's time at the last sort (or when it was
 * scheduled) and `seq` a number that stands for its place in the list
 * among calls of equal key. Sorting the list by (key, seq) gives Twisted's
 * list at every moment, by these invariants:
 *
 *   - a call scheduled gets seq = next_seq++, above every other: appended
 *     then stably sorted, Twisted's call goes after the calls of equal time;
 *   - cancelling removes an entry and leaves the others' order alone;
 *   - reset and delay leave the entry as it is and only note the call in
 *     `moved` (once): until the next sort the list is unchanged;
 *   - the sort (flush_moved) gives each moved call its new time as key and
 *     a seq that puts it where Twisted's stable sort does. The unmoved
 *     calls keep their order. Among calls of the new key, a moved call
 *     that came from a smaller key was before all of them in the list and
 *     stays so (seq = low_seq--, the moved ones taken in reverse list
 *     order so that they keep theirs); one from a larger key was after
 *     them (seq = next_seq++, in list order); one whose key did not
 *     change keeps its seq.
 *
 * Between sorts, so, the heap is ordered by stale keys, but only advance()
 * pops it, and it sorts first. Each call's heap index lives in its loop
 * data, (void *)index, so that cancel and the sort find its entry.
 *
 * `spares` keeps the structs of the calls advance() ran that nobody else
 * held (df__delayed_call_run_spent), for df_clock_call_later to reuse
 * (df__test_clock_spare): each once a pending call, so at most as many as
 * the clock once had pending. A cancelled call's struct is not kept: the
 * cancel releases its argument, whose release function may free the clock
 * before the cancel returns; inside advance() the clock outlives whatever
 * a call does.
 *
 * `moved` has room for as many calls as the heap: calls are only moved
 * between sorts, every sort empties it, and scheduling sorts first, so it
 * holds at most the calls pending at the last sort. It keeps a reference
 * to each call, since one may be cancelled and released before the sort.
 */
#include <math.h>

#include "internal.h"

typedef struct entry {
  double key;     /* the call's time at the last sort   */
  int64_t seq;    /* its place among calls of equal key */
  df_delayed_call *call; /* call->moved: it is in `moved` */
} entry;

typedef struct test_clock {
  df_clock base; /* first: a df_clock * is a test_clock * */
  double now;    /* Twisted's rightNow                    */
  entry *heap;
  size_t len, cap;
  df_delayed_call **moved; /* reset or delayed since the last sort */
  size_t n_moved, moved_cap;
  int64_t next_seq, low_seq;
  df_delayed_call *spares; /* spent calls' structs, linked through
                              their loop data (internal.h)          */
  unsigned advancing; /* depth of nested advance() calls    */
  bool freeing;       /* df_clock_free came during an advance */
  bool in_order;      /* heap[] is sorted by (key, seq)     */
} test_clock;

static const df_clock_type test_clock_type;

static test_clock *test_clock_of(df_clock *clock) {
  return df_test_clock_is(clock) ? (test_clock *)(void *)clock : NULL;
}

bool df_test_clock_is(const df_clock *clock) {
  return clock && clock->type == &test_clock_type;
}

/* --- a call's place: its heap index ------------------------------------ */

/* Kept in the call's loop data, written straight into the call
 * (internal.h) as entries move. */
static inline size_t index_of(const df_delayed_call *call) {
  return (uintptr_t)call->loop_data;
}

static inline entry *entry_of(test_clock *c, const df_delayed_call *call) {
  return &c->heap[index_of(call)];
}

/* --- the heap ---------------------------------------------------------- */

/* A 4-ary heap: the children of entry i are entries 4i+1 .. 4i+4, its
 * parent (i - 1) / 4. Half the levels of a binary heap for a pop to go
 * down, each level's children side by side in memory; a pop at 10,000
 * calls costs 7 levels of 3 comparisons where a binary heap costs 13 of
 * one, and it is the levels that cost (an entry moved and its call's
 * index written per level; bench case j). */
#define ARITY 4

static inline size_t parent_of(size_t i) { return (i - 1) / ARITY; }
static inline size_t first_child_of(size_t i) { return ARITY * i + 1; }

/* Ordered by (key, seq). Both comparisons are made, with no branch
 * between them, so that choosing a child compiles to flags and
 * conditional moves: keys come in no order, and a branch on them would
 * be mispredicted half the time. */
static inline bool before(const entry *a, const entry *b) {
  return (a->key < b->key) | ((a->key == b->key) & (a->seq < b->seq));
}

/* The first of the children of the entry whose first child is `first`
 * (first < len): a tournament of two pairs when all four are there. */
static inline size_t first_of_children(const entry *heap, size_t first,
                                       size_t len) {
  if (DF_LIKELY(first + ARITY <= len)) {
    size_t a = first + before(&heap[first + 1], &heap[first]);
    size_t b = first + 2 + before(&heap[first + 3], &heap[first + 2]);
    return before(&heap[b], &heap[a]) ? b : a;
  }
  size_t best = first;
  for (size_t k = first + 1; k < len; k++)
    best = before(&heap[k], &heap[best]) ? k : best;
  return best;
}

static inline void put(test_clock *c, size_t i, entry e) {
  c->heap[i] = e;
  e.call->loop_data = (void *)(uintptr_t)i;
}

static void sift_up(test_clock *c, size_t i) {
  entry e = c->heap[i];
  while (i > 0) {
    size_t parent = parent_of(i);
    if (!before(&e, &c->heap[parent])) break;
    put(c, i, c->heap[parent]);
    i = parent;
  }
  put(c, i, e);
}

static void sift_down(test_clock *c, size_t i) {
  entry e = c->heap[i];
  for (size_t child; (child = first_child_of(i)) < c->len; i = child) {
    child = first_of_children(c->heap, child, c->len);
    if (!before(&c->heap[child], &e)) break;
    put(c, i, c->heap[child]);
  }
  put(c, i, e);
}

/* Entry i changed its key or seq: restore the heap around it. */
static void sift(test_clock *c, size_t i) {
  if (i > 0 && before(&c->heap[i], &c->heap[parent_of(i)]))
    sift_up(c, i);
  else
    sift_down(c, i);
}

/* Take the first entry out: its hole goes down to a leaf along the
 * first children (no comparison with the entry that will fill it), then
 * the last entry fills it from there (Floyd's trick: the last entry
 * rarely climbs far). */
static df_delayed_call *pop_first(test_clock *c) {
  df_delayed_call *first = c->heap[0].call;
  c->in_order = false;
  size_t hole = 0, n = --c->len;
  for (size_t child; (child = first_child_of(hole)) < n; hole = child) {
    child = first_of_children(c->heap, child, n);
    put(c, hole, c->heap[child]);
  }
  if (hole < n) {
    put(c, hole, c->heap[n]);
    sift_up(c, hole);
  }
  return first;
}

static void remove_at(test_clock *c, size_t i) {
  c->in_order = false;
  c->len--;
  if (i == c->len) return;
  put(c, i, c->heap[c->len]);
  sift(c, i);
}

/* --- sorting ------------------------------------------------------------ */

/* An in-place heapsort of n items seen through less/swap: the clock sorts
 * its moved calls by their place in the list, and, for
 * df_test_clock_get_delayed_calls, the heap itself (a sorted array is a
 * valid heap). Neither may allocate. */
typedef struct sorter {
  bool (*less)(void *ctx, size_t i, size_t j);
  void (*swap)(void *ctx, size_t i, size_t j);
  void *ctx;
} sorter;

static void sort_sift(const sorter *s, size_t i, size_t n) {
  for (size_t child; (child = 2 * i + 1) < n; i = child) {
    if (child + 1 < n && s->less(s->ctx, child, child + 1)) child++;
    if (!s->less(s->ctx, i, child)) return;
    s->swap(s->ctx, i, child);
  }
}

static void heap_sort(const sorter *s, size_t n) {
  for (size_t i = n / 2; i-- > 0;) sort_sift(s, i, n);
  for (size_t end = n; end-- > 1;) {
    s->swap(s->ctx, 0, end);
    sort_sift(s, 0, end);
  }
}

static bool moved_less(void *ctx, size_t i, size_t j) {
  test_clock *c = ctx;
  return before(entry_of(c, c->moved[i]), entry_of(c, c->moved[j]));
}

static void moved_swap(void *ctx, size_t i, size_t j) {
  test_clock *c = ctx;
  df_delayed_call *t = c->moved[i];
  c->moved[i] = c->moved[j];
  c->moved[j] = t;
}

static bool heap_less(void *ctx, size_t i, size_t j) {
  test_clock *c = ctx;
  return before(&c->heap[i], &c->heap[j]);
}

static void heap_swap(void *ctx, size_t i, size_t j) {
  test_clock *c = ctx;
  entry t = c->heap[i];
  c->heap[i] = c->heap[j];
  c->heap[j] = t;
}

/* Give moved call i's entry its new time and `seq`, and forget the move. */
static void settle(test_clock *c, size_t i, int64_t seq) {
  df_delayed_call *call = c->moved[i];
  entry *e = entry_of(c, call);
  e->key = df_delayed_call_time(call);
  e->seq = seq;
  call->moved = false;
  sift(c, index_of(call));
}

/* Twisted's _sortCalls, for the calls reset or delayed since the last
 * one (the others are in order already); see the top of this file. */
static void flush_moved(test_clock *c) {
  if (c->n_moved == 0) return;
  /* The moved calls cancelled since are out of the heap: forget them. */
  size_t n = 0;
  for (size_t i = 0; i < c->n_moved; i++) {
    if (df_delayed_call_active(c->moved[i]))
      c->moved[n++] = c->moved[i];
    else
      df_delayed_call_unref(c->moved[i]);
  }
  c->n_moved = n;
  /* Their places in the list, from the entries still as at the last sort. */
  heap_sort(&(sorter){moved_less, moved_swap, c}, n);
  /* Every entry changes once; `key` below is read before its change. */
  for (size_t i = 0; i < n; i++) {
    const entry *e = entry_of(c, c->moved[i]);
    double time = df_delayed_call_time(c->moved[i]);
    if (time < e->key)
      settle(c, i, c->next_seq++);
    else if (time == e->key)
      settle(c, i, e->seq);
  }
  for (size_t i = n; i-- > 0;) {
    if (c->moved[i]->moved) settle(c, i, c->low_seq--);
  }
  for (size_t i = 0; i < n; i++) df_delayed_call_unref(c->moved[i]);
  c->n_moved = 0;
  c->in_order = false;
}

/* --- the df_clock_type ------------------------------------------------------ */

static double clock_seconds(df_clock *clock) {
  return ((test_clock *)(void *)clock)->now;
}

/* Room for one more call in the heap, and in `moved` for all it holds. */
static int reserve(test_clock *c) {
  if (c->len == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 16;
    if (cap > SIZE_MAX / sizeof(entry)) return DF_ENOMEM;
    entry *heap = df__realloc(c->heap, cap * sizeof *heap);
    if (!heap) return DF_ENOMEM;
    c->heap = heap;
    c->cap = cap;
  }
  if (c->moved_cap < c->cap) {
    /* `moved` is empty here (scheduling sorts first): nothing to keep. */
    df_delayed_call **moved = df__malloc(c->cap * sizeof *moved);
    if (!moved) return DF_ENOMEM;
    df__free(c->moved);
    c->moved = moved;
    c->moved_cap = c->cap;
  }
  return 0;
}

/* Twisted's callLater: append, then sort. */
static int clock_schedule(df_clock *clock, df_delayed_call *call) {
  test_clock *c = (test_clock *)(void *)clock;
  if (c->freeing) return DF_EINVAL;
  flush_moved(c);
  int rc = reserve(c);
  if (rc < 0) return rc;
  entry e = {df_delayed_call_time(call), c->next_seq++, call};
  put(c, c->len++, e);
  /* The new call sorts after every call of its time or earlier: the heap
   * stays in order exactly when nothing comes after it. */
  c->in_order = c->in_order && (c->len == 1 || !before(&e, &c->heap[c->len - 2]));
  if (!c->in_order) sift_up(c, c->len - 1);
  return 0;
}

/* Twisted's Clock passes `lambda c: None` as the resetter: the list is
 * sorted again only at the next callLater or advance. */
static void clock_reschedule(df_clock *clock, df_delayed_call *call) {
  test_clock *c = (test_clock *)(void *)clock;
  if (c->freeing) return; /* no sort will come */
  if (call->moved) return;
  call->moved = true;
  c->moved[c->n_moved++] = df_delayed_call_ref(call);
}

/* Twisted's canceller: self.calls.remove. */
static void clock_unschedule(df_clock *clock, df_delayed_call *call) {
  remove_at((test_clock *)(void *)clock, index_of(call));
}

static void destroy_now(test_clock *c) {
  c->freeing = true;
  for (size_t i = 0; i < c->n_moved; i++) df_delayed_call_unref(c->moved[i]);
  c->n_moved = 0;
  /* Discarding releases owned arguments, which may cancel other calls of
   * this clock (AlreadyCancelled once discarded, still pending before):
   * take each call out of the heap before it is discarded. */
  while (c->len > 0) {
    df_delayed_call *call = c->heap[c->len - 1].call;
    c->len--;
    df_delayed_call_discard(call);
  }
  while (c->spares) {
    df_delayed_call *spare = c->spares;
    c->spares = spare->loop_data;
    df__free(spare);
  }
  df__free(c->heap);
  df__free(c->moved);
  df__free(c);
}

static void clock_destroy(df_clock *clock) {
  test_clock *c = (test_clock *)(void *)clock;
  if (c->advancing > 0)
    c->freeing = true; /* the outermost advance frees it */
  else
    destroy_now(c);
}

static const df_clock_type test_clock_type = {
    .name = "test clock",
    .seconds = clock_seconds,
    .schedule = clock_schedule,
    .reschedule = clock_reschedule,
    .unschedule = clock_unschedule,
    .destroy = clock_destroy,
};

/* --- the public functions -------------------------------------------------- */

df_clock *df_test_clock_new(void) {
  test_clock *c = df__malloc(sizeof *c);
  if (!c) return NULL;
  *c = (test_clock){.base = {&test_clock_type},
                    .now = 0.0,
                    .low_seq = -1,
                    .in_order = true};
  return &c->base;
}

/* Twisted's advance, inside an enter/leave pair. */
static void advance(test_clock *c, double amount) {
  c->now += amount;
  flush_moved(c);
  while (!c->freeing && c->len > 0 && c->heap[0].key <= c->now) {
    /* The clock lives at least until the outermost advance returns,
     * whatever the call does: its struct, if spent, can be kept. */
    df_delayed_call *spent = df__delayed_call_run_spent(pop_first(c));
    if (spent) {
      spent->loop_data = c->spares;
      c->spares = spent;
    }
    flush_moved(c);
  }
}

df_delayed_call *df__test_clock_spare(df_clock *clock) {
  test_clock *c = test_clock_of(clock);
  if (!c || !c->spares) return NULL;
  df_delayed_call *spare = c->spares;
  c->spares = spare->loop_data;
  return spare;
}

/* While the clock advances, df_clock_free only marks it: the outermost
 * advance (or pump) frees it on leaving. */
static void enter(test_clock *c) { c->advancing++; }

static void leave(test_clock *c) {
  if (--c->advancing == 0 && c->freeing) destroy_now(c);
}

int df_test_clock_advance(df_clock *clock, double amount) {
  test_clock *c = test_clock_of(clock);
  if (!c || isnan(c->now + amount)) return DF_EINVAL;
  enter(c);
  advance(c, amount);
  leave(c);
  return 0;
}

int df_test_clock_pump(df_clock *clock, const double *amounts, size_t n) {
  test_clock *c = test_clock_of(clock);
  if (!c || (n > 0 && !amounts)) return DF_EINVAL;
  double now = c->now;
  for (size_t i = 0; i < n; i++)
    if (isnan(now += amounts[i])) return DF_EINVAL;
  int rc = 0;
  enter(c);
  for (size_t i = 0; i < n && !c->freeing; i++) {
    if (isnan(c->now + amounts[i])) { /* a call moved time meanwhile */
      rc = DF_EINVAL;
      break;
    }
    advance(c, amounts[i]);
  }
  leave(c);
  return rc;
}

size_t df_test_clock_get_delayed_calls(df_clock *clock,
                                       df_delayed_call **calls, size_t size) {
  test_clock *c = test_clock_of(clock);
  if (!c) return 0;
  if (size > 0 && calls) {
    if (!c->in_order) {
      heap_sort(&(sorter){heap_less, heap_swap, c}, c->len);
      for (size_t i = 0; i < c->len; i++) put(c, i, c->heap[i]);
      c->in_order = true;
    }
    for (size_t i = 0; i < size && i < c->len; i++) calls[i] = c->heap[i].call;
  }
  return c->len;
}
