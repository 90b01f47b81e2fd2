/* Unhandled failures: the registry of marked deferreds, the handler, and
 * the report made when a marked deferred is freed (rules U1-U4).
 *
 * A deferred is "marked" when a pass over its chain finishes with a
 * failure (U1) and unmarked when a later pass finishes with a success, or
 * its failure is handed off or taken (U2). Marked deferreds are kept in a
 * process-wide list so that the exit sweep can report the ones still
 * alive; the list is touched only when a failure is left at the end of a
 * chain or leaves it, never on the success path. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "deferred/report.h"
#include "internal.h"

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static df_deferred *registry; /* doubly linked through unhandled_prev/next */

static df_unhandled_handler handler;
static void *handler_arg;

void df__mark_set(df_deferred *d) {
  if (d->flags & DF_F_MARKED) return;
  d->flags |= DF_F_MARKED;
  pthread_mutex_lock(&registry_lock);
  d->unhandled_prev = NULL;
  d->unhandled_next = registry;
  if (registry) registry->unhandled_prev = d;
  registry = d;
  pthread_mutex_unlock(&registry_lock);
}

void df__mark_clear_slow(df_deferred *d) {
  d->flags &= ~DF_F_MARKED;
  pthread_mutex_lock(&registry_lock);
  if (d->unhandled_prev)
    d->unhandled_prev->unhandled_next = d->unhandled_next;
  else
    registry = d->unhandled_next;
  if (d->unhandled_next) d->unhandled_next->unhandled_prev = d->unhandled_prev;
  d->unhandled_prev = d->unhandled_next = NULL;
  pthread_mutex_unlock(&registry_lock);
}

df_unhandled_handler df_set_unhandled_handler(df_unhandled_handler h,
                                              void *arg) {
  df_unhandled_handler old = handler;
  handler = h;
  handler_arg = arg;
  return old;
}

static void default_handler(const df_unhandled *report) {
  char *text = df_unhandled_format(report);
  if (text) {
    fputs(text, stderr);
    free(text);
  } else { /* out of memory: say what we can */
    char brief[256];
    df_failure_brief(report->failure, brief, sizeof brief);
    fprintf(stderr, "Unhandled error in Deferred:\n%s\n", brief);
  }
  fflush(stderr);
}

static void report(df_deferred *d, bool at_exit) {
  df_unhandled r;
  r.failure = d->result.u.failure;
  r.deferred = d;
  r.created = d->created;
  r.fired = df__fired_site(d);
  r.at_exit = at_exit;
  if (handler)
    handler(&r, handler_arg);
  else
    default_handler(&r);
}

void df__report_on_destroy(df_deferred *d) {
  df__mark_clear_slow(d);
  if (d->result.kind == DF_FAILURE) report(d, false);
}

static size_t sweep(bool at_exit) {
  size_t n = 0;
  for (;;) {
    pthread_mutex_lock(&registry_lock);
    df_deferred *d = registry;
    pthread_mutex_unlock(&registry_lock);
    if (!d) return n;
    df__mark_clear_slow(d);
    if (d->result.kind == DF_FAILURE) {
      report(d, at_exit);
      n++;
    }
  }
}

size_t df_report_unhandled_now(void) { return sweep(false); }
void df__report_unhandled_at_exit(void) { sweep(true); }
