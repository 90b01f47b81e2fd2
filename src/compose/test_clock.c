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
 * pops it, and it sorts first.
 *
 * When an advance finds many calls due (a quarter of the heap or more),
 * it takes them out of the heap at once (take_due_in_bulk) into `run`, a
 * sorted array of the same entries, and the rest is made a heap again:
 * popping each down the heap's levels would move an entry, and write its
 * call's new index, at every level. Nothing above depends on where an
 * entry is, only on its (key, seq): the list is the merge of the run and
 * the heap, and each step of advance() takes the first of the run's head
 * and the heap's top (a call may schedule one that sorts before the
 * run's rest). A call cancelled in the run leaves a hole (its entry's
 * call NULL, skipped); one reset or delayed there goes to the heap at
 * the sort, with the key and seq the sort gives it. A bulk take waits
 * until the run is empty (in a nested advance, it may not be).
 *
 * Each call's place lives in its loop data, the index of its entry in
 * the heap or the run and which of the two (index_of, in_run), so that
 * cancel and the sort find its entry.
 *
 * `spares` keeps the structs of the calls advance() ran that nobody else
 * held (df__delayed_call_run_spent), for df_clock_call_later to reuse
 * (df__test_clock_spare): each once a pending call, so at most as many as
 * the clock once had pending. A cancelled call's struct is not kept: the
 * cancel releases its argument, whose release function may free the clock
 * before the cancel returns; inside advance() the clock outlives whatever
 * a call does.
 *
 * `moved` has room for as many calls as are pending (`cap`): calls are
 * only moved between sorts, every sort empties it, and scheduling sorts
 * first, so it holds at most the calls pending at the last sort. It keeps
 * a reference to each call, since one may be cancelled and released
 * before the sort. A bulk take, right after a sort, uses its memory for
 * the counts of its bucket sort. All of the room an advance needs (the
 * run, a copy of the due entries in the heap's unused end, the counts)
 * is reserved when calls are scheduled: advance() allocates nothing.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

/* take_due_in_bulk counts in `moved`'s memory. */
_Static_assert(sizeof(size_t) <= sizeof(df_delayed_call *),
               "a size_t fits where a pointer does");

typedef struct entry {
  double key;     /* the call's time at the last sort   */
  int64_t seq;    /* its place among calls of equal key */
  df_delayed_call *call; /* call->moved: it is in `moved` */
} entry;

typedef struct test_clock {
  df_clock base; /* first: a df_clock * is a test_clock * */
  double now;    /* Twisted's rightNow                    */
  entry *heap;
  size_t len, cap;   /* len + run_live <= cap: see reserve()  */
  entry *run;        /* run[run_head .. run_end): due calls taken out of
                        the heap in bulk, sorted; holes have call NULL */
  size_t run_head, run_end, run_live;
  df_delayed_call **moved; /* reset or delayed since the last sort */
  size_t n_moved;
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

/* --- a call's place ------------------------------------------------------ */

/* Kept in the call's loop data, written straight into the call
 * (internal.h) as entries move: (index << 1) | 1 for run[index],
 * index << 1 for heap[index]. */
static inline size_t index_of(const df_delayed_call *call) {
  return (uintptr_t)call->loop_data >> 1;
}

static inline bool in_run(const df_delayed_call *call) {
  return (uintptr_t)call->loop_data & 1;
}

static inline void place(df_delayed_call *call, size_t i, bool run) {
  call->loop_data = (void *)(((uintptr_t)i << 1) | (uintptr_t)run);
}

static inline entry *entry_of(test_clock *c, const df_delayed_call *call) {
  return in_run(call) ? &c->run[index_of(call)] : &c->heap[index_of(call)];
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

/* heap[i] = e, and, if `track`, e's call told where it is. */
static inline void set(entry *heap, size_t i, entry e, bool track) {
  heap[i] = e;
  if (track) place(e.call, i, false);
}

static inline void put(test_clock *c, size_t i, entry e) {
  set(c->heap, i, e, true);
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

static inline void sift_down_in(entry *heap, size_t len, size_t i,
                                bool track) {
  entry e = heap[i];
  for (size_t child; (child = first_child_of(i)) < len; i = child) {
    child = first_of_children(heap, child, len);
    if (!before(&heap[child], &e)) break;
    set(heap, i, heap[child], track);
  }
  set(heap, i, e, track);
}

static void sift_down(test_clock *c, size_t i) {
  sift_down_in(c->heap, c->len, i, true);
}

/* Floyd's heap construction, O(len), telling no call where it is. */
static void heapify(entry *heap, size_t len) {
  if (len < 2) return;
  for (size_t i = parent_of(len - 1) + 1; i-- > 0;)
    sift_down_in(heap, len, i, false);
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

/* --- the run ------------------------------------------------------------ */

/* Take run[j] out; the run's head stays on a call (or the run empties). */
static void run_remove(test_clock *c, size_t j) {
  c->run[j].call = NULL;
  if (--c->run_live == 0) {
    c->run_head = c->run_end = 0;
    return;
  }
  while (!c->run[c->run_head].call) c->run_head++;
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

/* Entries by (key, seq), for what sort_run (below) cannot spread over
 * buckets: a bottom-up merge sort of a[0..n) through tmp[0..n)
 * (sequential passes; (key, seq) pairs are distinct, so stability does
 * not matter), blocks of SORT_BLOCK sorted first by insertion. */
#define SORT_BLOCK 16

static void insertion_sort(entry *a, size_t n) {
  for (size_t i = 1; i < n; i++) {
    entry e = a[i];
    size_t j = i;
    for (; j > 0 && before(&e, &a[j - 1]); j--) a[j] = a[j - 1];
    a[j] = e;
  }
}

/* a's entries come before b's in memory. Each step chooses without a
 * branch (a branch on keys in no order is mispredicted half the time),
 * by an offset from a rather than a conditional, which gcc makes a
 * branch. */
static void merge(const entry *a, const entry *a_end, const entry *b,
                  const entry *b_end, entry *out) {
  while (a < a_end && b < b_end) {
    bool take_b = before(b, a);
    *out++ = a[(ptrdiff_t)take_b * (b - a)];
    a += !take_b;
    b += take_b;
  }
  while (a < a_end) *out++ = *a++;
  while (b < b_end) *out++ = *b++;
}

/* Merging a[0..n) and b[0..n) (n > 0) from both ends at once: two
 * chains of dependent loads in each step where merge() has one, and no
 * bound to check (of 2n entries, n steps take the n smallest from the
 * front and n the n largest from the back, and neither end can run
 * out before its last step). */
static void merge_halves(const entry *a, const entry *b, size_t n,
                         entry *out) {
  const entry *a_back = a + n - 1, *b_back = b + n - 1;
  entry *out_back = out + 2 * n - 1;
  for (size_t k = 0; k < n; k++) {
    bool take_b = before(b, a);
    *out++ = a[(ptrdiff_t)take_b * (b - a)];
    a += !take_b;
    b += take_b;
    bool take_a = before(b_back, a_back);
    *out_back-- = b_back[(ptrdiff_t)take_a * (a_back - b_back)];
    a_back -= take_a;
    b_back -= !take_a;
  }
}

static void sort_entries(entry *a, entry *tmp, size_t n) {
  for (size_t lo = 0; lo < n; lo += SORT_BLOCK)
    insertion_sort(a + lo, n - lo < SORT_BLOCK ? n - lo : SORT_BLOCK);
  entry *from = a, *to = tmp;
  for (size_t width = SORT_BLOCK; width < n; width *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      size_t mid = n - lo < width ? n : lo + width;
      size_t hi = n - mid < width ? n : mid + width;
      if (hi - mid == width)
        merge_halves(from + lo, from + mid, width, to + lo);
      else
        merge(from + lo, from + mid, from + mid, from + hi, to + lo);
    }
    entry *t = from;
    from = to;
    to = t;
  }
  if (from != a) memcpy(a, from, n * sizeof *a);
}

/* The due calls of a bulk take, a[0..n) (n >= 2), sorted by (key, seq),
 * with tmp[0..n) and counts[0..n) as room: a bucket sort, n buckets
 * spread evenly over the keys' span, each bucket's entries in their
 * place after two passes (count, then move) and sorted within it by
 * insertion, or by sort_entries if it holds more than SORT_BLOCK. Times
 * spread about evenly (bench case j) take a few sequential passes; ones
 * that bunch, in few buckets, cost what sort_entries costs, as do equal
 * or infinite spans. bucket_of is monotonic (a subtraction and a
 * product by a positive number, rounded, keep their order), so the
 * buckets are in key order, and entries of equal keys share one. */
static inline size_t bucket_of(double key, double lo, double scale,
                               size_t n) {
  size_t b = (size_t)((key - lo) * scale);
  return b < n ? b : n - 1;
}

static void sort_run(entry *a, entry *tmp, size_t *counts, size_t n) {
  double lo = a[0].key, hi = a[0].key;
  for (size_t i = 1; i < n; i++) {
    lo = a[i].key < lo ? a[i].key : lo;
    hi = a[i].key > hi ? a[i].key : hi;
  }
  double scale = (double)n / (hi - lo);
  if (!(hi > lo) || !isfinite(hi - lo) || !isfinite(scale)) {
    sort_entries(a, tmp, n);
    return;
  }
  memset(counts, 0, n * sizeof *counts);
  for (size_t i = 0; i < n; i++) counts[bucket_of(a[i].key, lo, scale, n)]++;
  for (size_t b = 0, sum = 0; b < n; b++) {
    size_t count = counts[b];
    counts[b] = sum; /* where bucket b starts */
    sum += count;
  }
  for (size_t i = 0; i < n; i++)
    tmp[counts[bucket_of(a[i].key, lo, scale, n)]++] = a[i];
  /* counts[b] is where bucket b ends now. */
  for (size_t b = 0, start = 0; b < n; start = counts[b++]) {
    if (counts[b] - start > SORT_BLOCK)
      sort_entries(tmp + start, a + start, counts[b] - start);
  }
  insertion_sort(tmp, n); /* within buckets; the big ones are sorted */
  memcpy(a, tmp, n * sizeof *a);
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
  entry e = {df_delayed_call_time(call), seq, call};
  call->moved = false;
  if (in_run(call)) {
    /* The run stays sorted without it; the heap has room (reserve). */
    run_remove(c, index_of(call));
    put(c, c->len++, e);
    sift_up(c, c->len - 1);
  } else {
    c->heap[index_of(call)] = e;
    sift(c, index_of(call));
  }
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

/* Room for one more pending call (reserve, below): `cap` of them in the
 * heap, in `moved`, and in the run, for the heap's calls at the next
 * advance (so that advance() does not allocate). `cap` bounds the
 * pending calls, heap and run together: a call the run gives back to the
 * heap finds room there, and at a bulk take the heap's unused end has
 * room for a copy of the due calls. Growing is out of line: reserve is
 * on every df_clock_call_later's path. */
static DF_NOINLINE int grow(test_clock *c) {
  size_t cap = c->cap ? 2 * c->cap : 16;
  if (cap > SIZE_MAX / sizeof(entry)) return DF_ENOMEM;
  /* The three grow together, and `cap` only once all have: a run grown
   * alone is only larger than it need be. The run may hold calls (a call
   * of the advance is scheduling); `moved` is empty here (scheduling
   * sorts first): nothing to keep. */
  entry *run = df__realloc(c->run, cap * sizeof *run);
  if (!run) return DF_ENOMEM;
  c->run = run;
  df_delayed_call **moved = df__malloc(cap * sizeof *moved);
  if (!moved) return DF_ENOMEM;
  entry *heap = df__realloc(c->heap, cap * sizeof *heap);
  if (!heap) {
    df__free(moved);
    return DF_ENOMEM;
  }
  df__free(c->moved);
  c->moved = moved;
  c->heap = heap;
  c->cap = cap;
  return 0;
}

static inline int reserve(test_clock *c) {
  return DF_LIKELY(c->len + c->run_live < c->cap) ? 0 : grow(c);
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
  test_clock *c = (test_clock *)(void *)clock;
  if (in_run(call))
    run_remove(c, index_of(call));
  else
    remove_at(c, index_of(call));
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
  while (c->run_live > 0) {
    df_delayed_call *call = c->run[c->run_end - 1].call;
    c->run_end--;
    if (!call) continue;
    if (--c->run_live == 0) c->run_head = c->run_end = 0;
    df_delayed_call_discard(call);
  }
  while (c->spares) {
    df_delayed_call *spare = c->spares;
    c->spares = spare->loop_data;
    df__free(spare);
  }
  df__free(c->heap);
  df__free(c->run);
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

/* How many of the heap's calls are due, counting up to `enough`: the
 * due entries are a subtree at the root (an entry's parent is due
 * before it), walked depth first without a stack. */
static size_t count_due(const entry *heap, size_t len, double now,
                        size_t enough) {
  if (len == 0 || heap[0].key > now) return 0;
  size_t count = 1, i = 0;
  while (count < enough) {
    size_t child = first_child_of(i);
    if (child < len && heap[child].key <= now) {
      i = child;
      count++;
      continue;
    }
    /* On to the next due sibling of i or of an ancestor of i. */
    for (;;) {
      if (i == 0) return count;
      if (i % ARITY != 0 && i + 1 < len) { /* i is not its parent's last */
        if (heap[++i].key <= now) break;
      } else {
        i = parent_of(i);
      }
    }
    count++;
  }
  return count;
}

/* When a quarter of the heap or more is due (two calls at least), take
 * the due calls out at once into a sorted run, rather than popping each
 * down the heap's levels, every level a cache miss on a call to tell it
 * its new index (bench case j): one pass splits the heap into due and
 * not due, the due entries are sorted, the others made a heap again,
 * and each call is told its place once. The clock's list is the merge
 * of the run and the heap by (key, seq) (take_next_due). */
static void take_due_in_bulk(test_clock *c) {
  size_t enough = c->len / 4 > 2 ? c->len / 4 : 2;
  if (c->run_live > 0 || count_due(c->heap, c->len, c->now, enough) < enough)
    return;
  size_t kept = 0, due = 0;
  for (size_t i = 0; i < c->len; i++) {
    entry e = c->heap[i];
    bool is_due = e.key <= c->now;
    c->run[due] = e;   /* the run has room for cap >= len  */
    c->heap[kept] = e; /* kept <= i: read already          */
    due += is_due;
    kept += !is_due;
  }
  /* heap[kept .. cap) is free and at least `due` long; `moved`, empty
   * (flushed), has room for `cap` pointers, each as big as a size_t. */
  sort_run(c->run, c->heap + kept, (size_t *)(void *)c->moved, due);
  heapify(c->heap, kept);
  c->len = kept;
  c->in_order = kept <= 1;
  for (size_t i = 0; i < kept; i++) place(c->heap[i].call, i, false);
  for (size_t j = 0; j < due; j++) place(c->run[j].call, j, true);
  c->run_head = 0;
  c->run_end = c->run_live = due;
}

/* The first call of the list, out of the clock, if it is due; or NULL. */
static df_delayed_call *take_next_due(test_clock *c) {
  const entry *next = c->len > 0 ? &c->heap[0] : NULL;
  bool from_run = c->run_live > 0 &&
                  (!next || before(&c->run[c->run_head], next));
  if (from_run) next = &c->run[c->run_head];
  if (!next || next->key > c->now) return NULL;
  if (!from_run) return pop_first(c);
  df_delayed_call *call = next->call;
  run_remove(c, c->run_head);
  return call;
}

/* Twisted's advance, inside an enter/leave pair. */
static void advance(test_clock *c, double amount) {
  c->now += amount;
  flush_moved(c);
  take_due_in_bulk(c);
  for (df_delayed_call *call; !c->freeing && (call = take_next_due(c));) {
    /* The clock lives at least until the outermost advance returns,
     * whatever the call does: its struct, if spent, can be kept. */
    df_delayed_call *spent = df__delayed_call_run_spent(call);
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
    /* Twisted's order: the merge of the run and the (sorted) heap. */
    size_t i = 0, j = c->run_head;
    for (size_t k = 0; k < size && (i < c->len || j < c->run_end);) {
      if (j < c->run_end && !c->run[j].call) {
        j++;
      } else if (j < c->run_end &&
                 (i == c->len || before(&c->run[j], &c->heap[i]))) {
        calls[k++] = c->run[j++].call;
      } else {
        calls[k++] = c->heap[i++].call;
      }
    }
  }
  return c->len + c->run_live;
}
