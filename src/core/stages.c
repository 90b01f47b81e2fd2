/* The stage queue of one deferred: a FIFO of callback/errback pairs.
 *
 * The queue is a list of segments. The first is the deferred's own
 * inline_stages array (DF_INLINE_STAGES long); the rest are blocks: of
 * DF_BLOCK_STAGES, pooled, while the queue fits in its tail segment, and
 * twice the tail segment (up to DF_BLOCK_STAGES_MAX) while it grows past
 * it, so that long chains make few allocations and short-lived queues no
 * big ones. `head` walks forward through them as stages run
 * (rule 6: each pair is removed before it runs), `tail` as stages are
 * added; each carries the end of its segment, so the common case of both
 * operations is a compare and an increment (the inline functions in
 * internal.h). This file has the rest: crossing into the next segment,
 * walking the queue, and dropping it.
 *
 * A block the head has left is returned at once (to the pool, or to
 * malloc if it is bigger), so a million-stage chain gives its memory
 * back as it runs. */
#include <stddef.h>

#include "internal.h"

/* Release every block from the head's segment on (the queue is empty). */
static void release_blocks(df_deferred *d) {
  df_stage *end = d->head_end;
  df_stage_block *b =
      df__is_inline_end(d, end) ? d->inline_next : df__block_of_end(end);
  while (b) {
    df_stage_block *next = b->next;
    df__block_release(b);
    b = next;
  }
}

void df__stages_each(df_deferred *d, df__stage_visit_fn fn, void *ctx) {
  df_stage *p = d->head, *end = d->head_end;
  while (p != d->pub.tail) {
    if (p == end) {
      df_stage_block *next = df__next_segment(d, end);
      p = next->stages;
      end = df__block_end(next);
    }
    if (!fn(p, ctx)) return;
    p++;
  }
}

/* Drop every pending stage without running it. CONTINUE and CHAIN stages
 * hold a reference to their target, released here (and a CONTINUE stage
 * its reserve, if any: loop_stack.c); an OWNED stage's argument is
 * released. */
void df__stages_drop_all_slow(df_deferred *d) {
  df_stage *s;
  while ((s = df__stage_next(d)) != NULL) {
    if (df__stage_kind(s) == DF_STAGE_CONTINUE) {
      df_deferred *waiter = s->callback_arg;
      d->n_waiters--;
      df__loop_reserve_free(df__stage_reserve(s));
      df_deferred_unref(waiter);
    } else if (df__stage_kind(s) == DF_STAGE_CHAIN) {
      df_deferred *target = s->callback_arg;
      df__forget_chained_to(target, d);
      target->n_chained_in--;
      d->n_chain_out--;
      df_deferred_unref(target);
    } else if (df__stage_kind(s) == DF_STAGE_OWNED) {
      s->u.release(s->callback_arg);
    }
  }
  release_blocks(d);
  d->inline_next = NULL; /* released above, or already NULL */
  df__stages_init(d);
}

static bool count_stage(df_stage *s, void *ctx) {
  (void)s;
  (*(uint32_t *)ctx)++;
  return true;
}

/* Not kept as a counter: that would cost an increment per stage added and
 * per stage run, for a figure only df_deferred_pending_stages asks for. */
uint32_t df__stages_pending(const df_deferred *d) {
  uint32_t n = 0;
  df__stages_each((df_deferred *)d, count_stage, &n);
  return n;
}
