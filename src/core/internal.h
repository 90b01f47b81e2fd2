/* Private to src/core: the layout of deferreds, stages and failures, and
 * the helpers the core files share. Users never see this header.
 *
 * A deferred and its stage queue:
 *
 *   df_deferred                                  stage_block (pool)
 *   +----------------------------+               +--------------------+
 *   | result, refs, paused, ...  |               | next ------------> ...
 *   | head_block, head_idx ------+--(NULL=inline)| stages[16]         |
 *   | tail_block, tail_idx       |               +--------------------+
 *   | inline_next ---------------+-------------->^
 *   | inline_stages[2]           |
 *   +----------------------------+
 *
 * The first stages live inside the deferred (no pointer chase for the
 * common one- or two-stage chain); longer chains continue in 16-stage
 * blocks taken from a per-thread free list, so adding a stage never calls
 * malloc once the thread is warm. A stage is 56 bytes: with the block
 * header that is 56.5 bytes per pending stage.
 */
#ifndef DF_CORE_INTERNAL_H
#define DF_CORE_INTERNAL_H

#include <stdint.h>

#include "deferred.h"

#define DF_INLINE_STAGES 2
#define DF_BLOCK_STAGES 16

#if defined(__GNUC__)
#define DF_LIKELY(x) __builtin_expect(!!(x), 1)
#define DF_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define DF_LIKELY(x) (x)
#define DF_UNLIKELY(x) (x)
#endif

/* --- allocation (alloc.c) ------------------------------------------------ */

extern void *(*df__malloc)(size_t);
extern void *(*df__realloc)(void *, size_t);
extern void (*df__free)(void *);
char *df__strdup(const char *s);
char *df__vformat(const char *fmt, va_list ap); /* malloc'd, or NULL */

/* --- stages ----------------------------------------------------------------- */

enum df_stage_kind {
  DF_STAGE_USER = 0, /* an ordinary callback/errback pair               */
  DF_STAGE_CONTINUE, /* rule S2: hand my result to waiter callback_arg  */
  DF_STAGE_CHAIN     /* chain_deferred: fire callback_arg with my result */
};

/* `where` is "file\0callback-name\0errback-name" (see core.h macros). */
typedef struct df_stage {
  df_callback_fn callback;
  void *callback_arg;
  df_callback_fn errback;
  void *errback_arg;
  const char *where;
  const char *func;
  int32_t line;
  uint8_t kind;
} df_stage;

typedef struct df_stage_block {
  struct df_stage_block *next;
  df_stage stages[DF_BLOCK_STAGES];
} df_stage_block;

struct df_strbuf;

/* --- debug-mode extras (debug.c) ----------------------------------------- */

#define DF_BACKTRACE_MAX 24
typedef struct df_backtrace {
  int depth;
  void *frames[DF_BACKTRACE_MAX];
} df_backtrace;

typedef struct df_debug_info {
  df_backtrace created;
  df_backtrace fired;
} df_debug_info;

/* --- the deferred ------------------------------------------------------------ */

enum {
  DF_F_CALLED = 1u << 0,      /* fired (Twisted's `called`)                 */
  DF_F_RUNNING = 1u << 1,     /* inside one of its own callbacks (rule 19)  */
  DF_F_SUPPRESS = 1u << 2,    /* swallow one fire after cancel (rule 24)    */
  DF_F_MARKED = 1u << 3,      /* holds an unhandled failure (rule U1)       */
  DF_F_VISITED = 1u << 4,     /* scratch bit for the garbage walk (collect.c)*/
  DF_F_FIRED_FAILURE = 1u << 5/* first fire was a failure (for reports)     */
};

struct df_deferred {
  df_result result; /* valid once called; DF_DEFERRED while waiting   */
  int32_t refs;
  int32_t paused;     /* user pauses only; waiting is result.kind      */
  uint32_t flags;
  uint32_t n_waiters; /* CONTINUE stages in my queue: deferreds waiting on me */
  uint32_t n_pending; /* stages queued                                 */
  uint32_t stages_run;/* stages popped so far: the next stage's index  */
  uint16_t head_idx, tail_idx;
  df_stage_block *head_block; /* NULL: the inline segment               */
  df_stage_block *tail_block;
  df_stage_block *inline_next;/* block after the inline segment         */
  df_canceller_fn canceller;
  void *canceller_arg;
  df_deferred *chained_to;    /* informational (Twisted's _chainedTo)   */
  df_site created;
  df_site fired;
  df_deferred *unhandled_prev, *unhandled_next; /* registry (unhandled.c) */
  df_debug_info *debug;
  df_stage inline_stages[DF_INLINE_STAGES];
};

static inline bool df__called(const df_deferred *d) {
  return (d->flags & DF_F_CALLED) != 0;
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
static inline uint32_t df__internal_refs(const df_deferred *d) {
  return d->n_waiters + (df__waiting(d) ? 1u : 0u);
}

/* stages.c */
int df__stage_push(df_deferred *d, df_stage **out);
void df__stage_pop(df_deferred *d, df_stage *out);
void df__stages_drop_all(df_deferred *d); /* unrefs CONTINUE/CHAIN targets */
typedef bool (*df__stage_visit_fn)(df_stage *s, void *ctx);
void df__stages_each(df_deferred *d, df__stage_visit_fn fn, void *ctx);

/* cache.c: per-thread free lists */
df_deferred *df__deferred_alloc(void);
void df__deferred_release(df_deferred *d);
df_stage_block *df__block_alloc(void);
void df__block_release(df_stage_block *b);
typedef struct df_loop_frame {
  df_deferred *d;
  uint32_t flags;
} df_loop_frame;
typedef struct df_loop_stack {
  df_loop_frame *frames;
  size_t len, cap;
} df_loop_stack;
df_loop_stack *df__loop_stack(void);
int df__loop_stack_reserve(df_loop_stack *s, size_t extra);
typedef struct df_ptr_vec {
  df_deferred **items;
  size_t len, cap;
} df_ptr_vec;
df_ptr_vec *df__scratch_vec(void);
int df__ptr_vec_push(df_ptr_vec *v, df_deferred *d);
void df__report_unhandled_at_exit(void);
void df__destructors_free(void); /* result.c, at exit */

/* deferred.c */
void df__deferred_destroy(df_deferred *d);
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
  const char *where; /* stage "file\0cb\0eb", or a plain file name */
  const char *func;
  int32_t line;
  const void *deferred; /* identity only: may be freed by now */
  df_site deferred_created;
  df_site deferred_fired;
} df_trace_entry;

#define DF_FAILURE_PATH_MAX 8

struct df_failure {
  uint32_t refs;
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

/* The parts of a stage's `where` text. */
static inline const char *df__where_file(const char *where) {
  return where ? where : "?";
}
const char *df__where_name(const char *where, bool errback_side);

#endif /* DF_CORE_INTERNAL_H */
