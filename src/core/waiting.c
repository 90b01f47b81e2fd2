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
