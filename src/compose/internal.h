/* Private to src/compose: what the composition layer (DeferredList, race,
 * lock, queue, timeout ...) shares. Users never see this header.
 *
 * The layer is built on the public API (deferred.h) and nothing else from
 * src/core, with one exception: the allocation hooks of ../private.h, so
 * that df_set_allocator() covers the composition layer's allocations too
 * (the benchmark counts them, and the out-of-memory tests fail them). */
#ifndef DF_COMPOSE_INTERNAL_H
#define DF_COMPOSE_INTERNAL_H

#include <stdio.h>

#include "../private.h"
#include "deferred.h"

/* --- list.c: the one engine behind every "many deferreds" function -------- */

/* A list flag only the layer sets (above the public DF_LIST_* bits): when
 * every member failed (also when there is no member), fail with one
 * FailureGroup of them all instead of firing with the array. race.c's
 * first success and race use it. */
#define DF__LIST_FAILURE_GROUP (1u << 16)

/* What a public function built on the list engine is: its name (for
 * messages), the flags its caller may pass, and those it always has. */
typedef struct df__list_api {
  const char *name;
  unsigned allowed;
  unsigned implied;
} df__list_api;

/* df_deferred_list_at(), for the functions described by `api`: `flags`
 * outside api->allowed give a list already failed with ValueError, as
 * other bad arguments do; api->implied is added to the rest. */
df_deferred *df__list_new(const df__list_api *api,
                          df_deferred *const *members, size_t n,
                          unsigned flags, const char *file, int line,
                          const char *func);

/* --- race.c --------------------------------------------------------------- */

/* A FailureGroup failure (deferred/race.h) of the `n` failure results in
 * `failures`, in that order, raised at the site given. It takes over each
 * failure's reference: the entries become None. Never NULL; if memory runs
 * out it has no payload (or is the MemoryError failure). */
df_failure *df__failure_group_new(df_result *failures, size_t n,
                                  const char *file, int line,
                                  const char *func);

/* --- fifo.c: the waiting lists of lock, semaphore and queue --------------- */

/* A first-in first-out sequence of fixed-size elements (deferred pointers
 * waiting on a lock, results waiting in a queue) in a ring that doubles
 * when full, so that a steady stream of push/pop allocates nothing. */
typedef struct df__fifo {
  unsigned char *ring;
  size_t elem;  /* size of an element, in bytes                    */
  size_t head;  /* ring index of the oldest element                */
  size_t count; /* elements held                                   */
  size_t cap;   /* ring size in elements: 0 or a power of two      */
} df__fifo;

/* An empty fifo of `elem`-byte elements (allocates nothing). */
void df__fifo_init(df__fifo *f, size_t elem);
/* Free the ring; the elements, if they own anything, are the caller's to
 * drop first. The fifo is empty (and usable) again. */
void df__fifo_free(df__fifo *f);
/* Append a copy of `*elem` at the back. 0, or DF_ENOMEM (nothing
 * changed). */
int df__fifo_push(df__fifo *f, const void *elem);
/* The i-th element from the front (0 is the oldest); i < count. */
void *df__fifo_at(const df__fifo *f, size_t i);
/* Copy the oldest element into `*out` and remove it; count > 0. */
void df__fifo_pop(df__fifo *f, void *out);
/* Remove the i-th element from the front, keeping the others' order. */
void df__fifo_remove(df__fifo *f, size_t i);
/* The index of the first element whose first pointer-sized bytes hold
 * `p`, or f->count if none (a linear search: cancelling a waiter is
 * O(waiters), as Twisted's list.remove). */
size_t df__fifo_find_pointer(const df__fifo *f, const void *p);

/* Remove the deferreds at the front of a fifo of waiters (df_deferred *,
 * one reference each) that have fired already (fired by their user, a
 * misuse the primitives survive), dropping their references. Returns the
 * oldest waiter still unfired, left in the fifo, or NULL if none. */
df_deferred *df__fifo_first_unfired(df__fifo *waiters);

/* A waiter is cancelled (its canceller runs): take `d` out of `waiters`
 * and drop the fifo's reference (df_deferred_cancel holds one until the
 * canceller returns). Nothing if `d` is not there. */
void df__fifo_forget_waiter(df__fifo *waiters, df_deferred *d);

/* The primitive is freed: fail each waiter still unfired with a
 * CancelledError saying `why`, oldest first (their errbacks run now),
 * dropping the fifo's references, until the fifo is empty. */
void df__fifo_cancel_waiters(df__fifo *waiters, const char *why);

/* Hand-overs: a release (or put) fires a waiter, whose callbacks may
 * release (or put) again, and so on: Twisted recurses, and so do we, up
 * to this many hand-overs nested on one thread (Twisted 22.4 itself stops
 * with RecursionError at about 200, leaving the lock held). Deeper, a
 * primitive whose own hand-over is active further down the stack leaves
 * the token (or item) to that hand-over's loop, which passes it on when
 * the current waiter's callback returns: the same waiters fire in the
 * same order, in constant C stack. */
#define DF__HAND_OVER_MAX_DEPTH 256u
extern _Thread_local unsigned df__hand_over_depth;

/* --- clock.c: a delayed call ---------------------------------------------- */

/* Defined here rather than in clock.c, which alone changes its fields
 * but `loop_data` and `moved`, so that the test clock (test_clock.c),
 * which moves a call's heap index at every step of a sift, stores it with
 * one instruction rather than a call (df_delayed_call_set_loop_data), and
 * keeps its one flag per call in the call rather than in its heap entry
 * (24 bytes an entry instead of 32). */
struct df_delayed_call {
  df_clock *clock;
  df_call_fn fn;
  void *arg;
  void (*release)(void *);
  void *loop_data;
  double time;         /* Twisted's DelayedCall.time          */
  double delayed_time; /* Twisted's DelayedCall.delayed_time  */
  unsigned refs;
  unsigned char state; /* clock.c's enum call_state           */
  bool moved;          /* the test clock's: reset or delayed since its
                          last sort (false from df_clock_call_later) */
};

/* df_delayed_call_run(), for a loop that reuses the structs of its calls:
 * the same, but if the loop's reference was the last one, the struct is
 * not freed but returned (called, its argument released: only its memory
 * is of use), for the loop to give df__test_clock_spare(); otherwise the
 * reference is dropped and NULL returned. */
df_delayed_call *df__delayed_call_run_spent(df_delayed_call *call);

/* test_clock.c: a spent call's struct that `clock`, if it is a test clock,
 * kept for its next call (df_clock_call_later overwrites every field), or
 * NULL. A test clock keeps the structs of the calls it ran that nobody
 * else held, as its heap keeps its room: at most as many as it once had
 * pending, freed with the clock. (Not those of cancelled calls: a cancel
 * releases the call's argument, whose release function may free the
 * clock before the cancel returns.) */
df_delayed_call *df__test_clock_spare(df_clock *clock);

/* src/compose/clock.c: a weak reference to a clock, for what outlives
 * the calls it schedules (a LoopingCall waiting on its function's
 * deferred has no call pending, yet will schedule one). `clock` reads
 * NULL once df_clock_free has been called on the clock. Init and clear
 * take a process-wide lock (references are made and dropped rarely: one
 * per loop); reading `clock` takes none, on the clock's own thread. */
typedef struct df__clock_ref {
  df_clock *clock;
  struct df__clock_ref *prev, *next;
} df__clock_ref;

void df__clock_ref_init(df__clock_ref *ref, df_clock *clock);
void df__clock_ref_clear(df__clock_ref *ref);

/* --- array.c: growing arrays ----------------------------------------------- */

/* Room for `need` elements of `size` bytes in the array `items` of `*cap`
 * (which may be NULL and 0): `items` itself if it has room, else the
 * array moved to one of twice the room (`first` at first), as often as
 * needed, but never more than `most` elements; `*cap` is updated. NULL
 * if `need` is over `most` or memory runs out: `items` is left as it
 * was. */
void *df__array_grow(void *items, size_t *cap, size_t size, size_t need,
                     size_t first, size_t most);

/* --- index_table.c: hash tables of indexes -------------------------------- */

/* An open-addressing hash table whose entries are indexes into an array
 * the caller keeps (the firing log's texts, sites and deferreds): the
 * table stores each entry's hash and index, the caller compares keys.
 * Reserve room first, then insert without failing, so that a caller can
 * reserve everything an operation needs before it changes anything. */
typedef struct df__index_table {
  uint32_t *hashes;  /* per slot: the entry's hash                   */
  uint32_t *indexes; /* per slot: the entry's index + 1, 0 for empty */
  size_t cap;        /* slots: 0 or a power of two                   */
  size_t count;      /* entries                                      */
} df__index_table;

/* Is the caller's entry `index` the key `key`? */
typedef bool (*df__index_equal_fn)(const void *key, uint32_t index,
                                   const void *context);

/* An empty table (allocates nothing). */
void df__index_table_init(df__index_table *t);
/* Free the slots; the table is empty (and usable) again. */
void df__index_table_free(df__index_table *t);
/* Make room for `more` inserts, keeping the table at most half full.
 * 0, or DF_ENOMEM (nothing changed). */
int df__index_table_reserve(df__index_table *t, size_t more);
/* The index of the entry with `hash` for which `equal` holds, or
 * UINT32_MAX if none. */
uint32_t df__index_table_find(const df__index_table *t, uint32_t hash,
                              df__index_equal_fn equal, const void *key,
                              const void *context);
/* Add entry `index` (< UINT32_MAX) with `hash`; room must have been
 * reserved. */
void df__index_table_insert(df__index_table *t, uint32_t hash, uint32_t index);

/* FNV-1a of `n` bytes, continuing from `hash` (start with
 * DF__HASH_START). */
#define DF__HASH_START 2166136261u
uint32_t df__hash_bytes(uint32_t hash, const void *bytes, size_t n);

/* --- text_store.c: the firing log's copies of text ------------------------ */

/* Each distinct text kept once, in blocks that never move (so the
 * pointers handed out stay valid until the store is freed), plus raw
 * aligned room for records the firing log keeps with its texts. */
typedef struct df__text_block df__text_block;
typedef struct df__text_store {
  df__text_block *blocks; /* newest first; allocation goes in the first */
  const char **texts;     /* every text kept, by index                  */
  size_t n_texts, cap_texts;
  df__index_table index;  /* texts by content                           */
} df__text_store;

void df__text_store_init(df__text_store *s);
void df__text_store_free(df__text_store *s);
/* The store's copy of the `n` bytes at `text` (no NUL among them), plus a
 * NUL: the same pointer for the same bytes every time. NULL if memory
 * runs out (nothing kept). */
const char *df__text_store_intern(df__text_store *s, const char *text,
                                  size_t n);
/* `size` bytes aligned for any object, valid until the store is freed;
 * NULL if memory runs out. */
void *df__text_store_alloc(df__text_store *s, size_t size);

/* --- firing_log_export.c: what the firing log's exporters share ----------- */

/* An output that remembers its first error, so that an exporter writes
 * on and checks once at the end. */
typedef struct df__out {
  FILE *file;
  int error; /* 0, or the negated errno of the first write that failed */
} df__out;

void df__out_printf(df__out *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void df__out_puts(df__out *o, const char *s);
/* Flush, and the first error (0 if none). */
int df__out_finish(df__out *o);

/* Text as one line of the text form (control characters written as C
 * escapes), the inside of a JSON string, a DOT quoted string (where "\n"
 * means a new line), or the text of a Graphviz HTML-like label: quotes,
 * backslashes and the format's own special characters escaped, control
 * characters escaped or replaced, and every byte that is not part of
 * well-formed UTF-8 replaced by U+FFFD. NULL writes nothing. */
void df__out_line_text(df__out *o, const char *text);
void df__out_json_text(df__out *o, const char *text);
void df__out_dot_text(df__out *o, const char *text);
void df__out_html_text(df__out *o, const char *text);

/* Open `path` for writing, run `write(log, file)`, close it: what each
 * exporter's _file form does. Returns write's result, or the negated
 * errno of the open or close that failed. */
int df__write_to_path(const df_firing_log *log, const char *path,
                      int (*write)(const df_firing_log *, FILE *));

/* A kind's name in the exports ("none", "int", ... "deferred"). */
const char *df__kind_name(df_kind kind);

/* "file:line in func" (or "file:line", or "?" when file is NULL) into
 * `buf`, snprintf rules; returns `buf`. */
const char *df__site_text(const char *file, int line, const char *func,
                          char *buf, size_t size);

#endif /* DF_COMPOSE_INTERNAL_H */
