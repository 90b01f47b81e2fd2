/* Private to src/core: the layout of deferreds, stages and failures, and
 * the helpers the core files share. Users never see this header.
 *
 * A deferred and its stage queue:
 *
 *   df_deferred                                  df_stage_block (pool)
 *   +----------------------------+               +--------------------+
 *   | pub.tail, pub.add_end -----+---(adds)----->| next ------------> ...
 *   | result, flags, refs, ...   |               | cap, stages[cap]   |
 *   | head, head_end ------------+---(runs)----->| (16, 32, ... 1024) |
 *   | tail_end, inline_next -----+-------------->+--------------------+
 *   | inline_stages[2] <-- first segment
 *   +----------------------------+
 *
 * The first stages live inside the deferred (no pointer chase for the
 * common one- or two-stage chain); longer chains continue in 16-stage
 * blocks taken from a per-thread free list, so adding a stage never calls
 * malloc once the thread is warm, and a queue that keeps growing goes on
 * in blocks twice as big as the last (up to 1,024 stages). A stage is
 * five words, 40 bytes (its site is one pointer to a static record, with
 * the stage's kind in the pointer's low bits): with a block's header and
 * back pointer, 41.5 bytes per stage in a 16-stage block and 40.0 in a
 * 1,024-stage one. A freed deferred's struct keeps the 16-stage block its
 * queue ended in, and the next deferred made from it starts there. `pub`
 * and the stage layout are also in the public header (core.h, marked
 * private), whose add macros fill a stage inline.
 */
#ifndef DF_CORE_INTERNAL_H
#define DF_CORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../private.h"
#include "deferred/core.h"
#include "deferred/observe.h" /* the observer hook the loop calls */

#define DF_INLINE_STAGES 2
#define DF_BLOCK_STAGES 16        /* a pooled block, the first after the inline segment */
#define DF_BLOCK_STAGES_MAX 1024  /* later blocks double, up to this */

/* A result as the two 8-byte halves it travels in (two registers). */
_Static_assert(sizeof(df_result) == 16, "a result is two 8-byte halves");
typedef struct df__result_halves {
  uint64_t lo, hi;
} df__result_halves;
static inline df__result_halves df__result_split(df_result r) {
  df__result_halves h;
  memcpy(&h.lo, &r, 8);
  memcpy(&h.hi, (const char *)&r + 8, 8);
  return h;
}
static inline df_result df__result_join(df__result_halves h) {
  df_result r;
  memcpy(&r, &h.lo, 8);
  memcpy((char *)&r + 8, &h.hi, 8);
  return r;
}
/* Make the compiler treat the halves as two opaque 64-bit values here,
 * so that it neither merges them into one 16-byte access nor splits
 * them into the struct's fields. */
static inline void df__halves_pin(df__result_halves *h) {
#if defined(__GNUC__)
  __asm__("" : "+r"(h->lo), "+r"(h->hi));
#else
  (void)h;
#endif
}
/* The kind: the struct's first bytes, so the first bytes of lo. */
static inline df_kind df__halves_kind(df__result_halves h) {
  df_kind k;
  memcpy(&k, &h.lo, sizeof k);
  return k;
}

/* Copy a result out of memory as two 8-byte halves. A plain struct copy
 * compiles to one 16-byte SSE load, and a result was usually just stored
 * as two 8-byte halves (it travels in two registers): the CPU cannot
 * forward two stores into one load, and stalls until both reach the cache
 * (measured: take_result 7 ns -> 2 ns after a fire). */
static inline df_result df__result_load(const df_result *p) {
  df__result_halves h;
  memcpy(&h.lo, p, 8);
  memcpy(&h.hi, (const char *)p + 8, 8);
  df__halves_pin(&h); /* keep them two scalar loads */
  return df__result_join(h);
}
/* The other way: store a result that lives in two registers as its two
 * halves, so that gcc does not first put together a kind it had kept
 * apart (it splits `kind` off a result it tests). */
static inline void df__result_store(df_result *p, df_result r) {
  df__result_halves h = df__result_split(r);
  df__halves_pin(&h);
  memcpy(p, &h.lo, 8);
  memcpy((char *)p + 8, &h.hi, 8);
}

/* The result the success loop (run_successes) carries from one callback
 * to the next, as its halves. Given the struct, clang keeps `kind` and
 * `destructor` in two registers and packs them again before every call:
 * callgrind counts case b at 694 instructions with the struct, 648 with
 * the halves pinned. gcc gets the halves unpinned, as pinning costs it
 * 10 more: 603 with the struct, 606 with the halves, 616 pinned. */
static inline df__result_halves df__result_carry(df_result r) {
  df__result_halves h = df__result_split(r);
#if defined(__clang__)
  df__halves_pin(&h);
#endif
  return h;
}

/* --- allocation (alloc.c) ------------------------------------------------ */

/* df__malloc, df__realloc, df__free: see ../private.h. */
char *df__vformat(const char *fmt, va_list ap); /* malloc'd, or NULL */

/* --- stages ----------------------------------------------------------------- */

enum df_stage_kind {
  DF_STAGE_USER = 0, /* an ordinary callback/errback pair               */
  DF_STAGE_CONTINUE, /* rule S2: hand my result to waiter callback_arg  */
  DF_STAGE_CHAIN,    /* chain_deferred: fire callback_arg with my result */
  DF_STAGE_OWNED     /* a user pair whose shared arg (callback_arg) the
                        stage owns: release(arg) once it ran or is dropped */
};

/* A stage: the public header's df__stage (so that the add macros can fill
 * one inline). `kind` is a df_stage_kind; u.errback_arg for USER stages,
 * u.release for OWNED ones. */
typedef df__stage df_stage;
_Static_assert(DF_STAGE_OWNED == 3, "core.h's df__add_owned_inline writes 3");

/* A stage's kind and site, packed in site_kind (see core.h). */
#define DF_STAGE_KIND_BITS ((uintptr_t)3)
_Static_assert(_Alignof(df_stage_site) > DF_STAGE_KIND_BITS,
               "a site record's low bits are free for the kind");
_Static_assert((DF_STAGE_OWNED & 1) && !(DF_STAGE_USER & 1),
               "run_successes tells OWNED from USER by the low kind bit");
static inline unsigned df__stage_kind(const df_stage *s) {
  return (unsigned)(s->site_kind & DF_STAGE_KIND_BITS);
}
static inline const df_stage_site *df__stage_site(const df_stage *s) {
  return (const df_stage_site *)(s->site_kind & ~DF_STAGE_KIND_BITS);
}
static inline void df__stage_set_kind(df_stage *s, unsigned kind) {
  s->site_kind = (s->site_kind & ~DF_STAGE_KIND_BITS) | kind;
}

/* CONTINUE and CHAIN stages are edges to another deferred: they hold a
 * reference to it in callback_arg (collect.c walks them). Their callback
 * and errback are always NULL, which the firing loop's fast path relies
 * on to stop at them. */
static inline bool df__stage_is_edge(const df_stage *s) {
  unsigned kind = df__stage_kind(s);
  return kind == DF_STAGE_CONTINUE || kind == DF_STAGE_CHAIN;
}

/* A segment of the queue after the inline one. Pooled blocks hold
 * DF_BLOCK_STAGES; while a queue grows longer than its head's segment,
 * each new block doubles (up to DF_BLOCK_STAGES_MAX), so a chain of a
 * million stages makes about a thousand allocations, not 62,500. After
 * the last stage comes a pointer back to the block (df__block_of_end). */
typedef struct df_stage_block {
  struct df_stage_block *next;
  uint32_t cap; /* stages */
  df_stage stages[];
} df_stage_block;

static inline size_t df__block_bytes(uint32_t cap) {
  return offsetof(df_stage_block, stages) + cap * sizeof(df_stage) +
         sizeof(df_stage_block *);
}

struct df_strbuf;

/* --- debug-mode extras (debug.c) ----------------------------------------- */

#define DF_BACKTRACE_MAX 24
typedef struct df_backtrace {
  int depth;
  void *frames[DF_BACKTRACE_MAX];
} df_backtrace;

/* A deferred's debug record (df_set_debugging): made with it in
 * make_slow(), kept with its struct in quarantine once it is freed
 * (quarantine.c), freed when the struct is. */
typedef struct df_debug_info {
  df_backtrace created;
  df_backtrace fired;
  df_backtrace refired;   /* the last fire refused with DF_EALREADY_CALLED */
  df_site refired_at;     /* ... its site (file NULL: none yet)          */
  df_backtrace released;  /* where its last reference went               */
  df_site released_at;    /* ... the df_deferred_unref() call (file NULL:
                             a reference the library held)              */
  struct df_deferred *live_prev, *live_next; /* live ones (waiting.c)  */
} df_debug_info;

/* --- the deferred ------------------------------------------------------------ */

enum {
  DF_F_CALLED = 1u << 0,      /* fired (Twisted's `called`)                 */
  DF_F_RUNNING = 1u << 1,     /* inside one of its own callbacks (rule 19)  */
  DF_F_SUPPRESS = 1u << 2,    /* swallow one fire after cancel (rule 24)    */
  DF_F_MARKED = 1u << 3,      /* holds an unhandled failure (rule U1)       */
  DF_F_CHAIN_TARGET = 1u << 4, /* chain_deferred named it as a target: its
                                 chained_to may be set though it is unfired
                                 (no other unfired deferred's is)          */
  DF_F_COLD = 1u << 5,        /* has a debug record or owned canceller state:
                                 freeing it takes the slow path            */
  DF_F_FREED = 1u << 6,       /* debug mode: freed, poisoned, in quarantine */
  /* The bits above are in the low byte, as the fast paths test them
   * together (one byte test: callgrind counts an instruction more for a
   * higher bit). */
  DF_F_CHAINED_REF = 1u << 7, /* chained_to holds a reference (counted in
                                 its n_chained_in; see below)              */
  DF_F_BORN_FIRED = 1u << 8,  /* made fired (df_succeed): its fired site is
                                 its created one, not stored twice         */
  DF_F_EXPANDED = 1u << 9,    /* scratch: edges walked (collect.c)           */
  DF_F_VISITED = 1u << 10,    /* scratch bit for the garbage walk (collect.c)*/
  DF_F_LIVE = 1u << 11,       /* scratch: reachable from outside (collect.c) */
  DF_F_DEBUG = 1u << 12,      /* has a debug record (and so is COLD)         */
  /* The loop stack (loop_stack.c): */
  DF_F_ON_LOOP = 1u << 13,    /* has a frame on this thread's loop stack     */
  DF_F_LOOP_DUP = 1u << 14,   /* has more than one: loop.node keeps what the
                                 frames below its top one need             */
  /* The flags of its top frame: */
  DF_F_FRAME_BOUNDARY = 1u << 15, /* the first frame of an invocation      */
  DF_F_FRAME_CHAINED = 1u << 16,  /* ...of a chained run (rule 15): the
                                     frame below is the chaining deferred's */
  DF_F_FRAME_RESUMING = 1u << 17  /* go on without the pause check (rule 17):
                                     back from a chained run, or the first
                                     frame of an invocation (run_frames)  */
};
#define DF_F_FRAME_BITS                                                    \
  (DF_F_FRAME_BOUNDARY | DF_F_FRAME_CHAINED | DF_F_FRAME_RESUMING)

/* A deferred's link in the loop stack, which takes the place of its
 * canceller once it has fired (loop_stack.c). */
struct df_loop_node;
typedef union df_loop_link {
  df_deferred *below;        /* the frame below my top frame (NULL: none) */
  struct df_loop_node *node; /* with DF_F_LOOP_DUP                        */
} df_loop_link;

struct df_deferred {
  /* First, so that the public header's inline add can find it: the tail
   * of the queue, and add_end, which is tail_end while the deferred is
   * unfired and NULL once it is (the inline add needs tail < add_end). */
  df__deferred_head pub;
  df_result result; /* valid once called; DF_DEFERRED while waiting   */
  uint32_t flags;
  int32_t refs;
  int32_t paused;     /* user pauses only; waiting is result.kind      */
  uint32_t n_waiters; /* CONTINUE stages in my queue: deferreds waiting on me */
  uint32_t n_chained_in; /* CHAIN stages anywhere that will fire me, and
                            chained_to references to me (DF_F_CHAINED_REF) */
  uint32_t n_chain_out;  /* CHAIN stages in my queue                        */
  uint32_t gc_count;     /* scratch for the garbage walk (collect.c)        */
  uint32_t serial;       /* df_deferred_serial: per-thread creation count   */
  uint32_t run_base;  /* stages popped before the head segment's start */
  /* The queue (stages.c): run from head, add at pub.tail; each pointer
   * has the end of its segment beside it. */
  df_stage *head, *head_end;
  df_stage *tail_end;
  df_stage_block *inline_next; /* block after the inline segment        */
  union {
    df_canceller_fn canceller; /* read only while unfired (rules C1, C4) */
    df_loop_link loop;         /* valid only with DF_F_ON_LOOP           */
  };
  void *canceller_arg;
  /* Set only on COLD deferreds (df_deferred_new_owning), else garbage:
   * creating a deferred does not pay for the rare fields. */
  void (*canceller_arg_release)(void *);
  /* Twisted's _chainedTo: what this deferred waits on or was chained to,
   * until its next run starts. Borrowed while the edge that links the two
   * holds the other (a waiter's result holds what it waits on; the
   * chaining deferred, which nothing here holds, clears it when freed).
   * When that edge goes first (this deferred was paused, or had already
   * fired, when the chain resolved), chained_to takes a reference of its
   * own, as Twisted's attribute is one: DF_F_CHAINED_REF, counted in the
   * other's n_chained_in so that the garbage walk sees it (collect.c). */
  df_deferred *chained_to;
  df_site created;
  df_site fired; /* valid once CALLED: read it with df__fired_site()   */
  df_deferred *unhandled_prev, *unhandled_next; /* registry (unhandled.c) */
  df_debug_info *debug; /* DEBUG only: read it with df__debug_of()      */
  df_stage inline_stages[DF_INLINE_STAGES];
};

static inline bool df__called(const df_deferred *d) {
  return (d->flags & DF_F_CALLED) != 0;
}
/* refs == 1 && paused == 0, in one 8-byte compare: the two fields are
 * neighbours (checked below), and the run loop asks this of every
 * deferred a callback returns. */
static inline bool df__sole_ref_unpaused(const df_deferred *d) {
  const int32_t want_fields[2] = {1, 0};
  uint64_t have, want;
  memcpy(&have, &d->refs, sizeof have);
  memcpy(&want, want_fields, sizeof want);
  return have == want;
}
_Static_assert(offsetof(df_deferred, paused) ==
                   offsetof(df_deferred, refs) + sizeof(int32_t),
               "df__sole_ref_unpaused reads refs and paused together");
/* Where `d` was first fired; all NULL while unfired. */
static inline df_site df__fired_site(const df_deferred *d) {
  df_site none = {NULL, NULL, 0};
  if (!df__called(d)) return none;
  return (d->flags & DF_F_BORN_FIRED) ? d->created : d->fired;
}
/* The debug record (df_set_debugging), or NULL. */
static inline df_debug_info *df__debug_of(const df_deferred *d) {
  return (d->flags & DF_F_DEBUG) ? d->debug : NULL;
}
/* quarantine.c: debug mode's freed deferreds, and reports of their use. */
void df__quarantine(df_deferred *d); /* debug->released_at is set */
void df__quarantine_flush(void); /* free this thread's (cache.c) */
#if defined(__GNUC__)
__attribute__((noreturn, cold))
#endif
void df__misuse(const df_deferred *d, const char *what, const char *file,
                int line, const char *func);
/* A freed deferred is in use: report it and abort (debug mode only; a
 * deferred freed outside debug mode is never marked). */
static inline void df__check_live(const df_deferred *d, const char *what) {
  if (DF_UNLIKELY(d->flags & DF_F_FREED)) df__misuse(d, what, NULL, 0, NULL);
}

static inline bool df__waiting(const df_deferred *d) {
  return (d->flags & DF_F_CALLED) && d->result.kind == DF_DEFERRED;
}
/* Twisted's `paused != 0`: a user pause or waiting on a chain (rule 10). */
static inline bool df__paused(const df_deferred *d) {
  return d->paused != 0 || df__waiting(d);
}
/* References held by wait edges (collect.c): one per waiter, plus one if I
 * am waiting (the waiter's result holds me, the CONTINUE stage holds it). */
static inline uint32_t df__wait_refs(const df_deferred *d) {
  return d->n_waiters + (df__waiting(d) ? 1u : 0u);
}
/* References that other deferreds may hold on me: wait edges, the CHAIN
 * stages of chain_deferred and chained_to references. When all my
 * references could be these, I may be part of an unreachable group
 * (collect.c). */
static inline uint32_t df__internal_refs(const df_deferred *d) {
  return df__wait_refs(d) + d->n_chained_in;
}

/* `owner`, which `target`'s chained_to may name, is being freed, or the
 * CHAIN stage by which it would have fired `target` is being dropped:
 * forget it, unless chained_to holds its own reference (then it names
 * something that stays alive). */
static inline void df__forget_chained_to(df_deferred *target,
                                         const df_deferred *owner) {
  if (target->chained_to == owner && !(target->flags & DF_F_CHAINED_REF))
    target->chained_to = NULL;
}

/* cache.c: per-thread free lists. The fast paths are inline; the slow
 * ones register the thread for clean-up and call the allocator. */
#if defined(__GNUC__)
#define DF_TLS _Thread_local __attribute__((tls_model("initial-exec")))
#else
#define DF_TLS _Thread_local
#endif
#define DF_MAX_SPARE_DEFERREDS 256
#define DF_MAX_SPARE_BLOCKS 256
typedef struct df_spares {
  /* Linked through ->chained_to, which creation sets anyway and which
   * sits in the cache lines creating and firing touch, unlike the
   * registry links after it (case e: 4 % fewer L1 misses). */
  df_deferred *deferreds;
  df_stage_block *blocks;
  /* How many more spares each list takes: DF_MAX_SPARE_* less what it
   * holds, and 0 while the thread is not registered (so one test sends
   * a release to the slow path for either reason). */
  uint32_t room_deferreds, room_blocks;
  bool registered; /* this thread's caches will be freed at its exit */
  /* One struct of a deferred made by df_succeed and taken by the firing
   * loop untouched (take_simple), left as df_succeed makes one but for
   * its result, serial and site: `return df_wait_on(df_succeed(x))`
   * reuses it without initialising it again. */
  df_deferred *born_fired;
} df_spares;
extern DF_TLS df_spares df__spares;
df_deferred *df__deferred_alloc_slow(void);
/* Registers the thread for clean-up at its exit; false once the process
 * exit handler has run (frees then go straight to the allocator). */
bool df__thread_keeps_spares(void);
void df__deferred_release_slow(df_deferred *d);
df_stage_block *df__block_alloc_slow(void);
void df__block_release_slow(df_stage_block *b);

/* A spare deferred, or NULL if there is none (no call to the allocator,
 * so that callers' fast paths stay leaf functions). */
static inline df_deferred *df__deferred_pop(void) {
  df_deferred *d = df__spares.deferreds;
  if (DF_LIKELY(d != NULL)) {
    df__spares.deferreds = d->chained_to;
    df__spares.room_deferreds++;
  }
  return d;
}
static inline df_deferred *df__deferred_alloc(void) {
  df_deferred *d = df__deferred_pop();
  return DF_LIKELY(d != NULL) ? d : df__deferred_alloc_slow();
}
static inline void df__deferred_release(df_deferred *d) {
  if (DF_UNLIKELY(df__spares.room_deferreds == 0)) {
    df__deferred_release_slow(d);
    return;
  }
  d->chained_to = df__spares.deferreds;
  df__spares.deferreds = d;
  df__spares.room_deferreds--;
}
/* A spare stage block, or NULL if there is none (no allocator call). */
static inline df_stage_block *df__block_pop(void) {
  df_stage_block *b = df__spares.blocks;
  if (DF_LIKELY(b != NULL)) {
    df__spares.blocks = b->next;
    df__spares.room_blocks++;
  }
  return b;
}
static inline df_stage_block *df__block_alloc(void) {
  df_stage_block *b = df__block_pop();
  return DF_LIKELY(b != NULL) ? b : df__block_alloc_slow();
}
static inline void df__block_release(df_stage_block *b) {
  if (DF_UNLIKELY(df__spares.room_blocks == 0 || b->cap != DF_BLOCK_STAGES)) {
    df__block_release_slow(b);
    return;
  }
  b->next = df__spares.blocks;
  df__spares.blocks = b;
  df__spares.room_blocks--;
}

/* The queue's segments: the inline one, then blocks (stages.c has the
 * rest). Crossing into the next segment is inline too: case b crosses
 * once when adding and once when running. */
static inline bool df__is_inline_end(const df_deferred *d,
                                     const df_stage *end) {
  return end == d->inline_stages + DF_INLINE_STAGES;
}

/* The block whose stages end at `end` (not the inline segment's end). */
static inline df_stage_block *df__block_of_end(const df_stage *end) {
  df_stage_block *b;
  memcpy(&b, end, sizeof b);
  return b;
}
static inline df_stage *df__block_end(df_stage_block *b) {
  return b->stages + b->cap;
}

/* The segment after the one that ends at `end`. */
static inline df_stage_block *df__next_segment(df_deferred *d,
                                               df_stage *end) {
  return df__is_inline_end(d, end) ? d->inline_next
                                   : df__block_of_end(end)->next;
}

/* Make `b` the new tail segment (the old one is full) and take its first
 * slot. */
static inline df_stage *df__stages_link_block(df_deferred *d,
                                              df_stage_block *b) {
  b->next = NULL;
  if (df__is_inline_end(d, d->tail_end))
    d->inline_next = b;
  else
    df__block_of_end(d->tail_end)->next = b;
  d->pub.tail = b->stages;
  d->tail_end = df__block_end(b);
  memcpy(d->tail_end, &b, sizeof b); /* the way back (df__block_of_end) */
  if (!(d->flags & DF_F_CALLED)) d->pub.add_end = d->tail_end;
  return d->pub.tail++;
}

/* How many stages the next block of d's queue gets: a pooled one while
 * the whole queue fits in its tail segment (a queue that runs as fast as
 * it grows), else twice the tail segment, up to DF_BLOCK_STAGES_MAX. */
static inline uint32_t df__next_block_cap(const df_deferred *d) {
  if (d->head_end == d->tail_end || df__is_inline_end(d, d->tail_end))
    return DF_BLOCK_STAGES;
  uint32_t cap = df__block_of_end(d->tail_end)->cap * 2;
  return cap < DF_BLOCK_STAGES_MAX ? cap : DF_BLOCK_STAGES_MAX;
}
df_stage_block *df__block_alloc_big(uint32_t cap); /* cache.c */

/* The tail segment is full: continue in a new block. (Even when the queue
 * is empty this takes a block rather than rewinding to the inline
 * segment: the stage that just ran may live in the tail block and is still
 * read by the loop after its callback returns. The old block goes back to
 * the pool when the head moves past it.) */
static inline df_stage *df__stage_append_slow(df_deferred *d) {
  /* A freed deferred in quarantine has no room (quarantine.c): every add
   * comes here. */
  df__check_live(d, "an add (df_deferred_add_*)");
  uint32_t cap = df__next_block_cap(d);
  df_stage_block *b =
      cap == DF_BLOCK_STAGES ? df__block_alloc() : df__block_alloc_big(cap);
  return b ? df__stages_link_block(d, b) : NULL;
}

static inline void df__stage_advance(df_deferred *d) {
  df_stage *end = d->head_end;
  df_stage_block *next = df__next_segment(d, end);
  if (!df__is_inline_end(d, end)) {
    df_stage_block *old = df__block_of_end(end);
    d->run_base += old->cap;
    df__block_release(old);
  } else {
    d->inline_next = NULL;
    d->run_base += DF_INLINE_STAGES;
  }
  d->head = next->stages;
  d->head_end = df__block_end(next);
}

/* --- the loop stack (loop_stack.c has the picture) ------------------------ */

/* The firing loop's stack of frames (docs/semantics.md, "The loop") is a
 * list threaded through the deferreds: a frame is a deferred flagged
 * DF_F_ON_LOOP, the flags of its top frame in its flags word and the
 * frame below it in loop.below, where its canceller was (only a fired
 * deferred has a frame, and a fired deferred's canceller is never called
 * again, rule C4). Pushing a frame never allocates, so no hand-off and no
 * chained run waits for memory, and the stack is as deep as the chains.
 * A deferred on the stack twice at once (loop_stack.c says how re-entrant
 * code gets there) keeps what its lower frames need in a df_loop_node:
 * one on the C stack, or a reserve its wait edge took when it was made. */
typedef struct df_loop_node {
  df_deferred *below;   /* the frame below the deferred's top frame     */
  df_loop_link saved;   /* its link before that frame was pushed ...    */
  uint32_t saved_flags; /* ... and its frame flags then (with LOOP_DUP) */
  bool reserve;         /* a wait edge's (df__loop_reserve_new): freed
                           when the frame pops                          */
} df_loop_node;

/* The top frame of this thread's loop stack (NULL: empty). */
extern DF_TLS df_deferred *df__loop_top;

/* Push a frame with `frame_flags` for `d`, which has none; the frame
 * takes over a reference to `d` that the caller had. */
static inline void df__frame_push(df_deferred *d, uint32_t frame_flags) {
  d->loop.below = df__loop_top;
  d->flags |= DF_F_ON_LOOP | frame_flags;
  df__loop_top = d;
}
/* The same for a deferred that has a frame already, with `node` (on the
 * C stack, or a reserve) for what its frames below need. */
void df__frame_push_again(df_deferred *d, uint32_t frame_flags,
                          df_loop_node *node);
uint32_t df__frame_pop_again(df_deferred *d);

/* Pop the top frame, `d`'s, and return its flags; the caller gets the
 * frame's reference to `d`. */
static inline uint32_t df__frame_pop(df_deferred *d) {
  uint32_t flags = d->flags;
  if (DF_UNLIKELY(flags & DF_F_LOOP_DUP)) return df__frame_pop_again(d);
  df__loop_top = d->loop.below;
  d->flags = flags & ~(DF_F_ON_LOOP | DF_F_FRAME_BITS);
  return flags;
}

/* A waiter's frame for a hand-off (rule 11). A CONTINUE stage carries, in
 * u.errback_arg, the reserve its waiter needs if it is still on the stack
 * when its wait ends (NULL: none; df__wait_needs_reserve). */
static inline df_loop_node *df__stage_reserve(const df_stage *s) {
  return s->u.errback_arg;
}
void df__frame_push_waiter_slow(df_deferred *w, df_loop_node *reserve);
static inline void df__frame_push_waiter(df_deferred *w,
                                         df_loop_node *reserve) {
  if (DF_LIKELY(!(w->flags & DF_F_ON_LOOP) && reserve == NULL))
    df__frame_push(w, 0);
  else
    df__frame_push_waiter_slow(w, reserve);
}

/* `w` starts waiting. Will it still have a frame on the stack when its
 * wait ends? A deferred with a frame runs only in its top frame (never
 * frameless: run_callbacks), so w's frames then are the ones it has now
 * but the current run's, which is popped before any code that may fire
 * a deferred runs (an observer, called in between, must not: observe.h),
 * and a waiting deferred gets no new frame (loop_stack.c). So a deferred
 * on the stack twice needs one (LOOP_DUP implies ON_LOOP); so does one
 * on the stack whose chained_to holds a reference: making the edge lets
 * it go (set_chained_to), which may free a deferred and so run a user's
 * unhandled-failure handler or destructor, which may fire what w now
 * waits on while w's frame is still there. */
static inline bool df__wait_needs_reserve(const df_deferred *w) {
  return (w->flags & DF_F_LOOP_DUP) ||
         (w->flags & (DF_F_ON_LOOP | DF_F_CHAINED_REF)) ==
             (DF_F_ON_LOOP | DF_F_CHAINED_REF);
}
df_loop_node *df__loop_reserve_new(void); /* NULL if out of memory */
static inline void df__loop_reserve_free(df_loop_node *reserve) {
  if (DF_UNLIKELY(reserve != NULL)) df__free(reserve);
}

typedef struct df_ptr_vec {
  df_deferred **items;
  size_t len, cap;
} df_ptr_vec;
df_ptr_vec *df__scratch_vec(void);
int df__ptr_vec_push(df_ptr_vec *v, df_deferred *d);
void df__report_unhandled_at_exit(void);
void df__destructors_free(void); /* result.c, at exit */
/* Make sure the atexit handler that frees the caches and the destructor
 * table is installed (cache.c; once per process, cheap after). */
void df__at_exit_register(void);

/* stages.c: the queue. The fast paths are inline here because they are
 * most of the cost of a stage; the slow paths cross a segment boundary. */
void df__stages_drop_all_slow(df_deferred *d);

/* An empty queue. It starts in the block the struct kept from its last
 * life (df__stages_free_empty), if any, else in the inline segment: a
 * program that builds long chains over and over crosses no segment. */
static inline void df__stages_init(df_deferred *d) {
  df_stage_block *kept = d->inline_next;
  df_stage *first;
  if (kept != NULL) {
    first = kept->stages;
    d->tail_end = first + DF_BLOCK_STAGES;
    d->inline_next = NULL;
  } else {
    first = d->inline_stages;
    d->tail_end = first + DF_INLINE_STAGES;
  }
  d->head = d->pub.tail = first;
  d->head_end = d->tail_end;
  d->pub.add_end = (d->flags & DF_F_CALLED) ? NULL : d->tail_end;
  d->run_base = 0;
}
/* Mark `d` fired: from now on every add goes through the slow path,
 * which runs the stage (rule 1). */
static inline void df__set_called(df_deferred *d) {
  d->flags |= DF_F_CALLED;
  d->pub.add_end = NULL;
}
/* Drop every pending stage without running it (unrefs CONTINUE/CHAIN
 * targets, releases OWNED arguments) and give back the blocks. */
static inline void df__stages_drop_all(df_deferred *d) {
  if (DF_LIKELY(d->head == d->pub.tail &&
                df__is_inline_end(d, d->head_end)))
    return; /* empty, and still on the inline segment */
  df__stages_drop_all_slow(d);
}
typedef bool (*df__stage_visit_fn)(df_stage *s, void *ctx);
void df__stages_each(df_deferred *d, df__stage_visit_fn fn, void *ctx);

/* A slot for one more stage at the end of the queue, or NULL (ENOMEM). */
static inline df_stage *df__stage_append(df_deferred *d) {
  if (DF_UNLIKELY(d->pub.tail == d->tail_end)) return df__stage_append_slow(d);
  return d->pub.tail++;
}

static inline bool df__stages_empty(const df_deferred *d) {
  return d->head == d->pub.tail;
}

/* The next stage to run, removed from the queue (rule 6), or NULL. The
 * pointer stays valid until the next call. */
static inline df_stage *df__stage_next(df_deferred *d) {
  if (d->head == d->pub.tail) return NULL;
  if (DF_UNLIKELY(d->head == d->head_end)) df__stage_advance(d);
  return d->head++;
}

/* The next stage without removing it (NULL if none). May move the head to
 * the next segment, releasing the one it leaves: any stage pointer taken
 * earlier is then invalid. */
static inline df_stage *df__stage_peek(df_deferred *d) {
  if (d->head == d->pub.tail) return NULL;
  if (DF_UNLIKELY(d->head == d->head_end)) df__stage_advance(d);
  return d->head;
}
/* Remove the stage df__stage_peek returned. */
static inline void df__stage_skip(df_deferred *d) { d->head++; }

/* The index in d's chain (0 = the first stage ever added) of `st`, a
 * stage just taken from the head segment. Counting this way costs nothing
 * per stage; only traces and the observer ask. */
static inline uint32_t df__stage_index(const df_deferred *d,
                                       const df_stage *st) {
  const df_stage *start = df__is_inline_end(d, d->head_end)
                              ? d->inline_stages
                              : df__block_of_end(d->head_end)->stages;
  return d->run_base + (uint32_t)(st - start);
}

uint32_t df__stages_pending(const df_deferred *d);

/* The fast paths that free a deferred ask this first: is its queue empty
 * and held in the inline segment or one pooled-size block? (A bigger
 * block goes back to malloc on the general path, destroy_one.) */
static inline bool df__stages_empty_small(const df_deferred *d) {
  return d->head == d->pub.tail &&
         (df__is_inline_end(d, d->head_end) ||
          df__block_of_end(d->head_end)->cap == DF_BLOCK_STAGES);
}

/* Before the struct of a deferred goes back to the free list with an
 * empty queue (only when df__stages_empty_small(d)): when empty, the
 * head's segment is the only one left, and it is a block unless it is the
 * inline one. A block is kept, in inline_next (unused while the struct is
 * spare), for the next deferred made from this struct to start its queue
 * in (df__stages_init). The struct and its block are then reused
 * together: LIFO free lists hand the same struct to the next loop
 * iteration. The head block of an empty queue is its last, so its next is
 * already NULL. */
static inline void df__stages_free_empty(df_deferred *d) {
  if (!df__is_inline_end(d, d->head_end))
    d->inline_next = df__block_of_end(d->head_end);
}

/* observe.c: the firing observer (deferred.c reports only if set). */
extern DF_TLS df_observer_fn df__observer;
void df__observe_fired(const df_deferred *d, const df_deferred *by,
                       const char *file, int line, const char *func);
void df__observe_stage(df_event_kind kind, const df_deferred *d,
                       uint32_t index, bool errback, const df_stage_site *site,
                       const char *input_text, const df_result *result);
void df__observe(df_event_kind kind, const df_deferred *d,
                 const df_deferred *other, const df_result *result);

/* deferred.c. `released_at` is the df_deferred_unref() call that dropped
 * the last reference, or NULL (one the library held). */
void df__deferred_destroy(df_deferred *d, const df_site *released_at);
int df__fire(df_deferred *d, df_result r, const char *file, int line,
             const char *func);

/* collect.c */
void df__collect_if_garbage(df_deferred *d);

/* unhandled.c */
void df__mark_set(df_deferred *d);
void df__mark_clear_slow(df_deferred *d);
static inline void df__mark_clear(df_deferred *d) {
  if (DF_UNLIKELY(d->flags & DF_F_MARKED)) df__mark_clear_slow(d);
}
void df__report_on_destroy(df_deferred *d);

/* debug.c */
extern bool df__debugging;
void df__backtrace_capture(df_backtrace *bt, int skip);
void df__backtrace_append(const df_backtrace *bt, const char *prefix,
                          struct df_strbuf *sb);
bool df__debug_record(df_deferred *d); /* make d's record; false if no memory */
void df__debug_refired(df_deferred *d, const char *file, int line,
                       const char *func);


/* waiting.c: the live deferreds made in debug mode. */
void df__live_add(df_deferred *d);
void df__live_remove(df_deferred *d);
void df__dump_waiting_at_exit(void);

/* --- failures -------------------------------------------------------------- */

enum df_trace_kind {
  DF_TRACE_NONE = 0,
  DF_TRACE_RAISED_IN_STAGE, /* a stage returned a new failure          */
  DF_TRACE_FIRED,           /* the deferred was fired with it          */
  DF_TRACE_PASSED,          /* an absent errback passed it through     */
  DF_TRACE_RETURNED,        /* an errback returned it again            */
  DF_TRACE_HANDED_OFF,      /* given to a waiting deferred (rule 11)   */
  DF_TRACE_TAKEN,           /* taken by a deferred that waited (rule 9)*/
  DF_TRACE_CHAINED          /* fired into a chain_deferred target      */
};

typedef struct df_trace_entry {
  uint8_t kind;
  bool errback_side;
  uint32_t stage_index;
  const df_stage_site *site; /* the stage's, or NULL */
  const void *deferred;      /* identity only: may be freed by now */
  df_site deferred_created;
  df_site deferred_fired;
} df_trace_entry;

#define DF_FAILURE_PATH_MAX 8

struct df_failure {
  uint32_t refs;
  uint32_t n_as_cause; /* failures whose cause this is (cycle check)      */
  bool is_static;  /* the preallocated MemoryError: never freed or traced */
  bool caught;     /* origin recorded                                      */
  const df_error_type *type;
  char *message;
  void *payload;
  void (*payload_destroy)(void *);
  df_failure *cause;
  df_site raised;
  unsigned long serial;
  df_trace_entry origin;
  uint32_t path_len; /* entries recorded, may exceed DF_FAILURE_PATH_MAX */
  df_trace_entry path[DF_FAILURE_PATH_MAX];
  df_backtrace *backtrace;
};

/* failure.c: trace bookkeeping called by the loop (all no-ops for the
 * static MemoryError failure). */
void df__failure_note(df_failure *f, uint8_t kind, const df_deferred *d,
                      const df_stage *stage, uint32_t index, bool errback_side);
df_failure *df__failure_no_memory(void);

/* strbuf.c: a growable string for reports; on allocation failure it stops
 * growing and keeps what it has (reports must not fail). */
typedef struct df_strbuf {
  char *data;
  size_t len, cap;
  bool failed;
} df_strbuf;
void df__sb_printf(df_strbuf *sb, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void df__sb_site(df_strbuf *sb, const char *file, int line, const char *func);
char *df__sb_finish(df_strbuf *sb); /* caller frees; NULL if nothing */

/* A stage site's file and function names, "?" when unknown, and the
 * name of the function on one side ("" when none). */
const char *df__site_file(const df_stage_site *site);
const char *df__site_func(const df_stage_site *site);
int df__site_line(const df_stage_site *site);
const char *df__site_name(const df_stage_site *site, bool errback_side);

#endif /* DF_CORE_INTERNAL_H */
