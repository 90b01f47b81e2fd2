/* The deferreds made in debug mode that are still alive, and the list of
 * those still waiting: for a program that hangs (df_dump_waiting,
 * df_foreach_waiting; report.h), and at exit in debug mode.
 *
 * The list is process-wide (deferreds may move between threads), oldest
 * first, linked through the debug records: a deferred joins it when
 * make_slow() gives it a record (debug.c) and leaves it when freed
 * (quarantine.c). Outside debug mode nothing is tracked, so nothing is
 * paid. */
#include <pthread.h>
#include <stdio.h>

#include "internal.h"

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static df_deferred *first_live, *last_live;

void df__live_add(df_deferred *d) {
  df_debug_info *dbg = d->debug;
  pthread_mutex_lock(&live_lock);
  dbg->live_prev = last_live;
  dbg->live_next = NULL;
  if (last_live)
    last_live->debug->live_next = d;
  else
    first_live = d;
  last_live = d;
  pthread_mutex_unlock(&live_lock);
}

void df__live_remove(df_deferred *d) {
  df_debug_info *dbg = d->debug;
  pthread_mutex_lock(&live_lock);
  if (dbg->live_prev)
    dbg->live_prev->debug->live_next = dbg->live_next;
  else
    first_live = dbg->live_next;
  if (dbg->live_next)
    dbg->live_next->debug->live_prev = dbg->live_prev;
  else
    last_live = dbg->live_prev;
  dbg->live_prev = dbg->live_next = NULL;
  pthread_mutex_unlock(&live_lock);
}

/* Never fired, or fired and waiting on another deferred (rule 10). */
static bool still_waiting(const df_deferred *d) {
  return !df__called(d) || df__waiting(d);
}

size_t df_foreach_waiting(void (*fn)(const df_deferred *d, void *arg),
                          void *arg) {
  size_t n = 0;
  pthread_mutex_lock(&live_lock);
  for (df_deferred *d = first_live; d; d = d->debug->live_next) {
    if (!still_waiting(d)) continue;
    n++;
    if (fn) fn(d, arg);
  }
  pthread_mutex_unlock(&live_lock);
  return n;
}

static void deferred_words(FILE *out, const df_deferred *d) {
  df_site c = d->created;
  fprintf(out, "<Deferred at %p> (created at %s:%d in %s)", (const void *)d,
          c.file ? c.file : "?", c.line, c.func ? c.func : "?");
}

/* One line: the deferred, and what it waits for. */
static void dump_one(const df_deferred *d, FILE *out) {
  fprintf(out, "  ");
  deferred_words(out, d);
  if (df__waiting(d)) {
    fprintf(out, " waits on ");
    deferred_words(out, d->result.u.deferred);
  } else if (d->chained_to) { /* an unfired chain_deferred target */
    fprintf(out, " was never fired; chain_deferred from ");
    deferred_words(out, d->chained_to);
    fprintf(out, " is to fire it");
  } else {
    fprintf(out, " was never fired");
  }
  if (d->paused) fprintf(out, " (paused)");
  fprintf(out, "\n");
}

size_t df_dump_waiting(FILE *out) {
  if (!out) out = stderr;
  pthread_mutex_lock(&live_lock); /* the count is the number of lines */
  size_t n = 0;
  for (df_deferred *d = first_live; d; d = d->debug->live_next)
    n += still_waiting(d);
  if (n > 0) {
    fprintf(out,
            "libdeferred (debug mode): %zu deferred%s still waiting, oldest "
            "first:\n",
            n, n == 1 ? "" : "s");
    for (df_deferred *d = first_live; d; d = d->debug->live_next)
      if (still_waiting(d)) dump_one(d, out);
    fflush(out);
  }
  pthread_mutex_unlock(&live_lock);
  return n;
}

void df__dump_waiting_at_exit(void) {
  if (df__debugging) df_dump_waiting(stderr);
}
