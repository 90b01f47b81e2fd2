/* Debug mode's defence against use after free: the quarantine of freed
 * deferreds, and the report made when one is used.
 *
 * A deferred made in debug mode (it has a debug record, DF_F_DEBUG) is not
 * given back to the free list when its last reference goes. Its struct is
 * poisoned and kept, with its debug record, in a per-thread queue of the
 * last QUARANTINE_MAX such structs; when a new one comes, the oldest goes
 * back to the allocator. So a pointer kept past the last unref still
 * points at this deferred's memory, and says so, for at least the next
 * 1,024 deferreds freed on the thread.
 *
 * Poisoning fills the struct with 0xdb bytes (a pointer read from it is
 * not a canonical address: anything that follows one faults at once),
 * but for the fields that make every entry point a program may call
 * through a stale pointer reach a test of DF_F_FREED on a path it only
 * takes in the rare case anyway, so the hot paths pay nothing:
 *
 *   - refs is far below zero: df_deferred_ref's increment leaves it
 *     negative (its one test, ref_freed), and df_deferred_unref's
 *     decrement leaves it neither 0 nor above n_waiters, which is
 *     UINT32_MAX (so "maybe garbage": unref_rest, df__collect_if_garbage);
 *   - flags are FREED | COLD | CALLED | RUNNING: a fire is a second fire
 *     (fire_again), takes and runs are refused as for a running deferred;
 *   - the queue has no room (tail, add_end and tail_end are NULL), so an
 *     add goes to df__stage_append_slow;
 *   - df_deferred_cancel tests the flag first.
 *
 * Each of them calls df__misuse(), which prints what the deferred was,
 * where it was created and where its last reference was released, and
 * aborts: a use after free is a bug in the program, like a double free,
 * and going on would use memory that means nothing.
 *
 * Flushed (every struct freed) when the thread exits, at process exit and
 * by df_release_caches() (cache.c); after the exit handler has run, a
 * freed debug deferred goes straight back to the allocator. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define QUARANTINE_MAX 1024

/* Oldest first, linked through unhandled_next (the registry of marked
 * deferreds, unhandled.c, is done with a freed one). */
static DF_TLS df_deferred *oldest, *newest;
static DF_TLS unsigned held;

static void free_struct(df_deferred *d) {
  df__free(d->debug);
  df__free(d);
}

static void poison(df_deferred *d) {
  df_debug_info *dbg = d->debug;
  df_site created = d->created;
  memset(d, 0xdb, sizeof *d);
  d->flags = DF_F_FREED | DF_F_COLD | DF_F_DEBUG | DF_F_CALLED | DF_F_RUNNING;
  d->refs = INT32_MIN / 2;
  d->paused = 0;
  d->n_waiters = UINT32_MAX;
  d->n_chained_in = d->n_chain_out = 0;
  d->pub.tail = d->pub.add_end = NULL;
  d->head = d->head_end = d->tail_end = NULL;
  d->inline_next = NULL;
  d->result = df_none();
  d->chained_to = NULL;
  d->canceller = NULL;
  d->canceller_arg = NULL;
  d->canceller_arg_release = NULL;
  d->created = created;
  d->unhandled_prev = d->unhandled_next = NULL;
  d->debug = dbg;
}

/* From destroy_one(): `d` has been freed but for its struct (stages and
 * result dropped, any owned argument released; its queue holds no block),
 * and df__deferred_destroy() noted where its last reference went. */
void df__quarantine(df_deferred *d) {
  df_debug_info *dbg = d->debug;
  df__live_remove(d);
  df__backtrace_capture(&dbg->released, 1);
  if (!df__thread_keeps_spares()) { /* after the exit handler: no queue */
    free_struct(d);
    return;
  }
  poison(d);
  if (newest)
    newest->unhandled_next = d;
  else
    oldest = d;
  newest = d;
  if (++held > QUARANTINE_MAX) {
    df_deferred *out = oldest;
    oldest = out->unhandled_next;
    held--;
    free_struct(out);
  }
}

void df__quarantine_flush(void) {
  while (oldest) {
    df_deferred *d = oldest;
    oldest = d->unhandled_next;
    free_struct(d);
  }
  newest = NULL;
  held = 0;
}

void df__misuse(const df_deferred *d, const char *what, const char *file,
                int line, const char *func) {
  const df_debug_info *dbg = d->debug;
  df_strbuf sb = {0};
  df__sb_printf(&sb,
                "libdeferred: %s on a freed deferred, <Deferred at %p> "
                "(debug mode)\n",
                what, (const void *)d);
  df__sb_printf(&sb, "  created at ");
  df__sb_site(&sb, d->created.file, d->created.line, d->created.func);
  df__sb_printf(&sb, "\n");
  if (dbg->released_at.file) {
    df__sb_printf(&sb, "  last reference released at ");
    df__sb_site(&sb, dbg->released_at.file, dbg->released_at.line,
               dbg->released_at.func);
    df__sb_printf(&sb, "\n");
  } else {
    df__sb_printf(&sb, "  last reference released by libdeferred (one it "
                       "held: see the backtrace)\n");
  }
  if (file) {
    df__sb_printf(&sb, "  used again at ");
    df__sb_site(&sb, file, line, func);
    df__sb_printf(&sb, "\n");
  }
  df_backtrace now;
  df__backtrace_capture(&now, 1);
  df__sb_printf(&sb, "Native backtrace where it was created:\n");
  df__backtrace_append(&dbg->created, "    ", &sb);
  df__sb_printf(&sb, "Native backtrace where its last reference was "
                     "released:\n");
  df__backtrace_append(&dbg->released, "    ", &sb);
  df__sb_printf(&sb, "Native backtrace of this use:\n");
  df__backtrace_append(&now, "    ", &sb);
  if (sb.data) fwrite(sb.data, 1, sb.len, stderr);
  if (sb.failed || !sb.data)
    fprintf(stderr, "libdeferred: %s on a freed deferred at %p (out of "
                    "memory for the rest of this report)\n",
            what, (const void *)d);
  fflush(stderr);
  abort();
}
