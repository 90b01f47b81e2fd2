/* Per-thread caches: spare deferreds, stage blocks, the scratch vector.
 *
 * Creating a deferred, adding stages and firing must not call malloc once a
 * thread is warm (bench/ measures it). Each thread keeps bounded free lists
 * of deferred structs and stage blocks (df__spares; the fast paths are
 * inline in internal.h); the firing loop's stack needs no memory of its
 * own (loop_stack.c). The caches are freed when the thread exits (a
 * pthread key destructor) and, for the thread that calls exit(), by an
 * atexit handler, so valgrind sees no "still reachable" memory. After
 * that handler has run, frees bypass the caches. Debug mode's quarantine
 * of freed deferreds (quarantine.c) is flushed with them.
 *
 * Thread-local storage uses the cheap initial-exec model (DF_TLS): the
 * library is not meant to be dlopen'ed into a running program. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

DF_TLS df_spares df__spares;
/* The scratch vector (the garbage walk, the cycle check, cancel) starts
 * in a small array of its own, so that freeing a small group of
 * deferreds that hold each other needs no allocation: with none to be
 * had, it would be kept for ever. */
#define SCRATCH_INLINE 32
static DF_TLS df_ptr_vec scratch;
static DF_TLS df_deferred *scratch_inline[SCRATCH_INLINE];

/* Spare blocks bigger than the pooled size, one list per size (32, 64,
 * ... DF_BLOCK_STAGES_MAX stages), each keeping at most BIG_SPARE_STAGES
 * stages' worth: a thread that builds long chains over and over stops
 * allocating once warm, and holds at most 6 x 40 KiB for it. */
#define BIG_CLASSES 6
#define BIG_SPARE_STAGES 1024
_Static_assert((DF_BLOCK_STAGES << BIG_CLASSES) == DF_BLOCK_STAGES_MAX,
               "one spare list per doubling above the pooled size");
typedef struct big_spares {
  df_stage_block *list;
  uint32_t n;
} big_spares;
static DF_TLS big_spares big[BIG_CLASSES];

static unsigned big_class(uint32_t cap) {
  unsigned c = 0;
  while (((uint32_t)DF_BLOCK_STAGES << (c + 1)) < cap) c++;
  return c; /* 32 -> 0, 64 -> 1, ... */
}

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static bool shutting_down; /* set by the atexit handler */

/* Free the calling thread's caches (TLS is still valid in key destructors
 * and atexit handlers, which run in the thread concerned). */
static void free_caches(void) {
  df__quarantine_flush(); /* debug mode's freed deferreds */
  df__free(df__spares.born_fired);
  df__spares.born_fired = NULL;
  while (df__spares.deferreds) {
    df_deferred *d = df__spares.deferreds;
    df__spares.deferreds = d->chained_to;
    df__free(d->inline_next); /* its kept block, if any */
    df__free(d);
  }
  while (df__spares.blocks) {
    df_stage_block *b = df__spares.blocks;
    df__spares.blocks = b->next;
    df__free(b);
  }
  for (unsigned c = 0; c < BIG_CLASSES; c++) {
    while (big[c].list) {
      df_stage_block *b = big[c].list;
      big[c].list = b->next;
      df__free(b);
    }
    big[c].n = 0;
  }
  /* Empty lists: full room if the thread stays registered, else none. */
  df__spares.room_deferreds = df__spares.registered ? DF_MAX_SPARE_DEFERREDS : 0;
  df__spares.room_blocks = df__spares.registered ? DF_MAX_SPARE_BLOCKS : 0;
  if (scratch.items != scratch_inline) df__free(scratch.items);
  memset(&scratch, 0, sizeof scratch);
}

static void thread_exit(void *p) {
  (void)p;
  df__spares.registered = false;
  free_caches();
}

static void at_exit(void) {
  df__report_unhandled_at_exit();
  df__dump_waiting_at_exit();
  df__spares.registered = false;
  free_caches();
  shutting_down = true;
  df__destructors_free();
}

static void init_once(void) {
  pthread_key_create(&cache_key, thread_exit);
  atexit(at_exit);
}

void df__at_exit_register(void) { pthread_once(&cache_once, init_once); }

/* The first slow-path use in a thread registers it for clean-up. */
static bool register_thread(void) {
  if (DF_UNLIKELY(shutting_down)) return false;
  if (!df__spares.registered) {
    df__at_exit_register();
    pthread_setspecific(cache_key, &df__spares);
    df__spares.registered = true;
    /* The lists are empty: a thread's spares are only kept once it is
     * registered, and free_caches() empties them when it stops being. */
    df__spares.room_deferreds = DF_MAX_SPARE_DEFERREDS;
    df__spares.room_blocks = DF_MAX_SPARE_BLOCKS;
  }
  return true;
}

void df_release_caches(void) { free_caches(); }

bool df__thread_keeps_spares(void) { return register_thread(); }

df_deferred *df__deferred_alloc_slow(void) {
  register_thread();
  df_deferred *d = df__malloc(sizeof(df_deferred));
  if (d) d->inline_next = NULL; /* no kept block (df__stages_init) */
  return d;
}

void df__deferred_release_slow(df_deferred *d) {
  if (!register_thread() || df__spares.room_deferreds == 0) {
    if (d->inline_next) df__block_release(d->inline_next); /* kept block */
    df__free(d);
    return;
  }
  df__deferred_release(d);
}

/* A new block of `cap` stages, from the allocator. */
static df_stage_block *new_block(uint32_t cap) {
  register_thread();
  df_stage_block *b = df__malloc(df__block_bytes(cap));
  if (b) b->cap = cap;
  return b;
}

df_stage_block *df__block_alloc_slow(void) {
  return new_block(DF_BLOCK_STAGES);
}

/* A block bigger than the pooled size: a spare of its size, else new. */
df_stage_block *df__block_alloc_big(uint32_t cap) {
  big_spares *s = &big[big_class(cap)];
  if (s->list) {
    df_stage_block *b = s->list;
    s->list = b->next;
    s->n--;
    return b;
  }
  return new_block(cap);
}

void df__block_release_slow(df_stage_block *b) {
  if (!register_thread()) {
    df__free(b);
    return;
  }
  if (b->cap != DF_BLOCK_STAGES) {
    big_spares *s = &big[big_class(b->cap)];
    if ((s->n + 1) * b->cap > BIG_SPARE_STAGES) {
      df__free(b);
      return;
    }
    b->next = s->list;
    s->list = b;
    s->n++;
    return;
  }
  if (df__spares.room_blocks == 0) {
    df__free(b);
    return;
  }
  df__block_release(b);
}

df_ptr_vec *df__scratch_vec(void) {
  register_thread();
  if (!scratch.items) {
    scratch.items = scratch_inline;
    scratch.cap = SCRATCH_INLINE;
  }
  return &scratch;
}

int df__ptr_vec_push(df_ptr_vec *v, df_deferred *d) {
  if (v->len == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 16;
    bool in_place = v->items == scratch_inline; /* not the allocator's */
    df_deferred **items =
        df__realloc(in_place ? NULL : v->items, cap * sizeof *items);
    if (!items) return DF_ENOMEM;
    if (in_place) memcpy(items, v->items, v->len * sizeof *items);
    v->items = items;
    v->cap = cap;
  }
  v->items[v->len++] = d;
  return 0;
}
