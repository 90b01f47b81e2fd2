/* The stage queue of one deferred: a FIFO of callback/errback pairs.
 *
 * The queue is a list of segments. The first is the deferred's own
 * inline_stages array (DF_INLINE_STAGES long); the rest are pooled blocks
 * of DF_BLOCK_STAGES. A segment is named by its block pointer, NULL being
 * the inline one, which can only ever be the first: once the queue has
 * moved past it, it is reused only after the queue has emptied. Push
 * writes at (tail_block, tail_idx); pop reads at (head_block, head_idx).
 * Rule 6 (each pair runs at most once, in FIFO order, and is removed
 * before it runs) is this pop. */
#include <string.h>

#include "internal.h"

static inline df_stage *segment(df_deferred *d, df_stage_block *b) {
  return b ? b->stages : d->inline_stages;
}
static inline unsigned segment_cap(const df_stage_block *b) {
  return b ? DF_BLOCK_STAGES : DF_INLINE_STAGES;
}
static inline df_stage_block **segment_next(df_deferred *d, df_stage_block *b) {
  return b ? &b->next : &d->inline_next;
}

int df__stage_push(df_deferred *d, df_stage **out) {
  if (DF_UNLIKELY(d->tail_idx == segment_cap(d->tail_block))) {
    df_stage_block *b = df__block_alloc();
    if (!b) return DF_ENOMEM;
    b->next = NULL;
    *segment_next(d, d->tail_block) = b;
    d->tail_block = b;
    d->tail_idx = 0;
  }
  *out = &segment(d, d->tail_block)[d->tail_idx++];
  d->n_pending++;
  return 0;
}

/* Back to the empty state, on the inline segment. */
static void reset_empty(df_deferred *d) {
  if (d->head_block) df__block_release(d->head_block);
  d->head_block = d->tail_block = d->inline_next = NULL;
  d->head_idx = d->tail_idx = 0;
}

void df__stage_pop(df_deferred *d, df_stage *out) {
  if (DF_UNLIKELY(d->head_idx == segment_cap(d->head_block))) {
    df_stage_block *next = *segment_next(d, d->head_block);
    if (d->head_block) df__block_release(d->head_block);
    d->head_block = next;
    d->head_idx = 0;
  }
  *out = segment(d, d->head_block)[d->head_idx++];
  if (--d->n_pending == 0) reset_empty(d);
}

void df__stages_each(df_deferred *d, df__stage_visit_fn fn, void *ctx) {
  df_stage_block *b = d->head_block;
  unsigned i = d->head_idx;
  uint32_t left = d->n_pending;
  while (left) {
    if (i == segment_cap(b)) {
      b = *segment_next(d, b);
      i = 0;
    }
    if (!fn(&segment(d, b)[i], ctx)) return;
    i++;
    left--;
  }
}

/* Drop every pending stage without running it. CONTINUE and CHAIN stages
 * hold a reference to their target, released here. */
void df__stages_drop_all(df_deferred *d) {
  while (d->n_pending) {
    df_stage s;
    df__stage_pop(d, &s);
    if (s.kind == DF_STAGE_CONTINUE) {
      df_deferred *waiter = s.callback_arg;
      d->n_waiters--;
      df_deferred_unref(waiter);
    } else if (s.kind == DF_STAGE_CHAIN) {
      df_deferred *target = s.callback_arg;
      if (target->chained_to == d) target->chained_to = NULL;
      df_deferred_unref(target);
    }
  }
}
