/* Per-thread caches: spare deferreds, stage blocks, the loop stack.
 *
 * Creating a deferred, adding stages and firing must not call malloc once a
 * thread is warm (bench/ measures it). Each thread keeps bounded free lists
 * of deferred structs and stage blocks, and one loop stack that the firing
 * loop reuses. The caches are freed when the thread exits (a pthread key
 * destructor) and, for the thread that calls exit(), by an atexit handler,
 * so valgrind sees no "still reachable" memory. After that handler has run,
 * frees bypass the caches. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_SPARE_DEFERREDS 256
#define MAX_SPARE_BLOCKS 256

/* Thread-local storage with the cheap model: the library is not meant to
 * be dlopen'ed after start-up by a program that already has many threads. */
#if defined(__GNUC__)
#define DF_TLS _Thread_local __attribute__((tls_model("initial-exec")))
#else
#define DF_TLS _Thread_local
#endif

typedef struct df_thread_cache {
  df_deferred *spare_deferreds; /* linked through ->unhandled_next */
  unsigned n_spare_deferreds;
  df_stage_block *spare_blocks;
  unsigned n_spare_blocks;
  df_loop_stack loop;
  df_ptr_vec scratch;
  bool registered;
} df_thread_cache;

static DF_TLS df_thread_cache cache;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static bool shutting_down; /* set by the atexit handler */

static void free_cache(df_thread_cache *c) {
  while (c->spare_deferreds) {
    df_deferred *d = c->spare_deferreds;
    c->spare_deferreds = d->unhandled_next;
    df__free(d);
  }
  while (c->spare_blocks) {
    df_stage_block *b = c->spare_blocks;
    c->spare_blocks = b->next;
    df__free(b);
  }
  df__free(c->loop.frames);
  df__free(c->scratch.items);
  memset(c, 0, sizeof *c);
}

static void thread_exit(void *p) { free_cache(p); }

static void at_exit(void) {
  df__report_unhandled_at_exit();
  free_cache(&cache);
  shutting_down = true;
  df__destructors_free();
}

static void init_once(void) {
  pthread_key_create(&cache_key, thread_exit);
  atexit(at_exit);
}

/* The first use in a thread registers it for clean-up at thread exit. */
static df_thread_cache *get_cache(void) {
  if (DF_UNLIKELY(!cache.registered)) {
    pthread_once(&cache_once, init_once);
    pthread_setspecific(cache_key, &cache);
    cache.registered = true;
  }
  return &cache;
}

void df_release_caches(void) {
  bool registered = cache.registered;
  free_cache(&cache);
  cache.registered = registered;
}

df_deferred *df__deferred_alloc(void) {
  df_thread_cache *c = get_cache();
  df_deferred *d = c->spare_deferreds;
  if (DF_LIKELY(d)) {
    c->spare_deferreds = d->unhandled_next;
    c->n_spare_deferreds--;
    return d;
  }
  return df__malloc(sizeof(df_deferred));
}

void df__deferred_release(df_deferred *d) {
  df_thread_cache *c = &cache;
  if (DF_UNLIKELY(shutting_down || !c->registered ||
                  c->n_spare_deferreds >= MAX_SPARE_DEFERREDS)) {
    df__free(d);
    return;
  }
  d->unhandled_next = c->spare_deferreds;
  c->spare_deferreds = d;
  c->n_spare_deferreds++;
}

df_stage_block *df__block_alloc(void) {
  df_thread_cache *c = get_cache();
  df_stage_block *b = c->spare_blocks;
  if (DF_LIKELY(b)) {
    c->spare_blocks = b->next;
    c->n_spare_blocks--;
    return b;
  }
  return df__malloc(sizeof(df_stage_block));
}

void df__block_release(df_stage_block *b) {
  df_thread_cache *c = &cache;
  if (DF_UNLIKELY(shutting_down || !c->registered ||
                  c->n_spare_blocks >= MAX_SPARE_BLOCKS)) {
    df__free(b);
    return;
  }
  b->next = c->spare_blocks;
  c->spare_blocks = b;
  c->n_spare_blocks++;
}

df_loop_stack *df__loop_stack(void) { return &get_cache()->loop; }

int df__loop_stack_reserve(df_loop_stack *s, size_t extra) {
  if (DF_LIKELY(s->len + extra <= s->cap)) return 0;
  size_t cap = s->cap ? s->cap : 32;
  while (cap < s->len + extra) cap *= 2;
  df_loop_frame *frames = df__realloc(s->frames, cap * sizeof *frames);
  if (!frames) return DF_ENOMEM;
  s->frames = frames;
  s->cap = cap;
  return 0;
}

df_ptr_vec *df__scratch_vec(void) { return &get_cache()->scratch; }

int df__ptr_vec_push(df_ptr_vec *v, df_deferred *d) {
  if (v->len == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 16;
    df_deferred **items = df__realloc(v->items, cap * sizeof *items);
    if (!items) return DF_ENOMEM;
    v->items = items;
    v->cap = cap;
  }
  v->items[v->len++] = d;
  return 0;
}
