/* libdeferred: watching chains fire (the firing log).
 *
 * An observer installed with df_set_observer is called, synchronously, at
 * every step of every firing on the calling thread: a deferred fired, a
 * stage ran (which side, what it got, what it returned), a result passed
 * through a stage with nothing on that side, a chain started waiting on
 * another deferred or took its result, a result was handed to a waiting
 * deferred, chain_deferred fired its target, a walk stopped at a paused
 * deferred, a pass over a chain finished. Together these events are the
 * exact story of a firing, in order, as the loop lived it: what the
 * deferred simulator prints with --trace.
 *
 * With no observer installed the cost is one thread-local test per fire
 * and per stage.
 *
 *     static void log_event(const df_event *e, void *arg) {
 *         char line[256];
 *         df_event_describe(e, line, sizeof line);
 *         fprintf(arg, "%s\n", line);
 *     }
 *     ...
 *     df_set_observer(log_event, stderr);
 */
#ifndef DEFERRED_OBSERVE_H
#define DEFERRED_OBSERVE_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum df_event_kind {
  DF_EVENT_FIRED,      /* `deferred` was fired with `result` at `fired_at`
                          (callback, errback, cancel; `other` is the
                          chaining deferred when chain_deferred fired it) */
  DF_EVENT_STAGE,      /* stage `stage` ran its callback (or errback if
                          `errback`): got `input_text`, returned `result` */
  DF_EVENT_PASSED,     /* stage `stage` had nothing on that side: `result`
                          passed through unchanged */
  DF_EVENT_WAITING,    /* the chain now waits on `other` (rule 10) */
  DF_EVENT_TOOK,       /* took `result` from `other`, which had already
                          fired (rule 9) */
  DF_EVENT_HANDED_OFF, /* handed `result` to `other`, which was waiting on
                          `deferred` (rule 11) */
  DF_EVENT_CHAINED,    /* a chain_deferred stage fires `other` with `result`
                          (rule 15); a FIRED event for `other` follows */
  DF_EVENT_PAUSED,     /* the walk stops: `deferred` is paused (rules 13,
                          17) */
  DF_EVENT_FINISHED    /* a pass over the chain ended with `result` (a
                          failure here is unhandled for now, rule U1) */
} df_event_kind;

typedef struct df_event {
  df_event_kind kind;
  const df_deferred *deferred;  /* the deferred the event is about      */
  const df_deferred *other;     /* the second deferred, or NULL         */
  uint32_t stage;               /* STAGE, PASSED: the stage's index     */
  bool errback;                 /* STAGE, PASSED: the errback side      */
  const df_stage_site *site;    /* STAGE, PASSED: where it was added    */
  const char *input_text;       /* STAGE: df_result_describe of the input
                                   (the callback consumed the value)    */
  const df_result *result;      /* the value concerned, or NULL         */
  df_site fired_at;             /* FIRED: where it was fired            */
} df_event;

/* Everything in an event is borrowed and valid only during the call. The
 * observer must not fire, add to, pause, cancel, ref or unref deferreds. */
typedef void (*df_observer_fn)(const df_event *event, void *arg);

/* Install `fn` (NULL to remove) as the calling thread's observer. Returns
 * the previous one (`*old_arg`, if not NULL, gets its argument). */
df_observer_fn df_set_observer(df_observer_fn fn, void *arg, void **old_arg);

/* A short serial number for `d`, unique among the deferreds created by the
 * calling thread (1, 2, 3, ...): readable and stable from run to run,
 * unlike addresses. 0 for NULL. */
uint32_t df_deferred_serial(const df_deferred *d);

/* One line (no newline) for `event` into `buf` (snprintf rules), e.g.
 *   "Deferred#1 fired with 'initial' at sim.c:40 in fire"
 *   "Deferred#1 stage 0 callback return_value: 'initial' -> 'good'"
 *   "Deferred#1 stage 1 errback (none): <Failure Exception: bad> passed through"
 *   "Deferred#2 waits on Deferred#3"
 * Returns the length it wanted. */
size_t df_event_describe(const df_event *event, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* DEFERRED_OBSERVE_H */
