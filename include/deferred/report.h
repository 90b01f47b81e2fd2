/* libdeferred: unhandled failures and the causal trace.
 *
 * A failure that reaches the end of a chain with no errback to handle it is
 * *unhandled* (rule U1). It is never lost: when the last reference to the
 * deferred holding it goes away, the failure is reported at that moment,
 * synchronously, through the unhandled-failure handler (rule U3). At
 * process exit, deferreds that are still alive and hold an unhandled
 * failure are reported too (with `at_exit` set). Not reported: failures
 * that were handled, taken over by another deferred (rules 9 and 11), or
 * left in a deferred that was paused when it fired (U4).
 *
 * The default handler writes to stderr:
 *
 *     Unhandled error in Deferred:
 *     Traceback (most recent call last):
 *       ...                                   (see df_failure_traceback)
 *     GibberishError: not a poem
 *     Causal trace:
 *       <Deferred at 0x...> (created at poem.c:58 in main), fired at poem.c:88 in main
 *       stage 1 callback byronificate (added at poem.c:61 in main) failed: GibberishError raised at byron.c:40 in byronificate
 *       stage 2 (added at poem.c:62 in main) has no errback: passed it on
 *       never handled: it was left in <Deferred at 0x...> (created at poem.c:58 in main), whose last reference was released
 *
 * Other lines the trace can have: "... was fired with it at ..." (a
 * failure given to errback), "stage N errback NAME (added at ...) returned
 * it", "handed to <Deferred ...>, which was waiting on it", "taken over by
 * <Deferred ...>", "passed by chain_deferred to <Deferred ...>", and "...
 * and N more steps" past the first eight. At exit the last line ends with
 * "still alive at exit".
 */
#ifndef DEFERRED_REPORT_H
#define DEFERRED_REPORT_H

#include <stdio.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct df_unhandled {
  const df_failure *failure;  /* the unhandled failure (borrowed)       */
  const df_deferred *deferred;/* where it was left (borrowed; do not fire,
                                 ref or add to it: it is being freed)   */
  df_site created;            /* where that deferred was created        */
  df_site fired;              /* where it was fired (file NULL if never) */
  bool at_exit;               /* reported by the exit sweep             */
} df_unhandled;

typedef void (*df_unhandled_handler)(const df_unhandled *report, void *arg);

/* Install `handler` (NULL restores the default, which prints to stderr).
 * Process-wide; the handler may be called from any thread that frees a
 * deferred, and must not call back into that deferred. Returns the
 * previous handler (NULL for the default). */
df_unhandled_handler df_set_unhandled_handler(df_unhandled_handler handler,
                                              void *arg);

/* The default report text ("Unhandled error in Deferred:\n" + traceback +
 * causal trace) as a new malloc'd string, or NULL if out of memory. */
char *df_unhandled_format(const df_unhandled *report);

/* Report now every live deferred holding an unhandled failure, as the exit
 * sweep does (each is reported once; its failure stays where it is).
 * Returns how many were reported. Called automatically at exit. */
size_t df_report_unhandled_now(void);

/* --- deferreds still waiting (debug mode) ------------------------------- */

/* For a program that hangs: write to `out` (NULL: stderr) one line for
 * every live deferred still waiting, that is never fired or waiting on
 * another deferred (rule 10), oldest first, with where it was created and
 * what it waits on:
 *
 *     libdeferred (debug mode): 3 deferreds still waiting, oldest first:
 *       <Deferred at 0x...> (created at poem.c:40 in get_poem) was never fired
 *       <Deferred at 0x...> (created at poem.c:52 in main) waits on <Deferred at 0x...> (created at poem.c:40 in get_poem)
 *       <Deferred at 0x...> (created at poem.c:60 in main) was never fired; chain_deferred from <Deferred at 0x...> (created at poem.c:52 in main) is to fire it
 *
 * and " (paused)" at the end of a line for a deferred paused with
 * df_deferred_pause. Only deferreds created while debug mode was on
 * (df_set_debugging, DF_DEBUG=1) are known to it: tracking costs nothing
 * otherwise. Returns how many were listed; with none it writes nothing
 * and returns 0. In debug mode it runs at process exit, to stderr (only
 * if there are such deferreds). It reads deferreds that other threads may
 * be using: call it when they are quiet. */
size_t df_dump_waiting(FILE *out);

/* The same deferreds, for programs: calls fn(d, arg) for each (`d`
 * borrowed: read it with the df_deferred_* accessors, df_deferred_describe
 * or df_deferred_serial), oldest first, and returns how many there were
 * (fn may be NULL, to count them). fn must not create, free, fire or add
 * to deferreds: the list is locked while it runs. */
size_t df_foreach_waiting(void (*fn)(const df_deferred *d, void *arg),
                          void *arg);

#ifdef __cplusplus
}
#endif

#endif /* DEFERRED_REPORT_H */
