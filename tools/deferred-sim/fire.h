/* deferred-sim: the two firings, done by libdeferred itself.
 *
 * The paths drawn must be the ones a real Deferred takes, not a model of
 * the firing rules. So each firing builds one df_deferred with
 * one stage per pair; each stage's callback and errback are recorders
 * wrapped around the user's member: they note the member's input, do what
 * the member says (return a value, raise a failure, or pass the input on)
 * and note the output. The drawing then only replays the notes.
 *
 * With --trace a firing also keeps its firing log: the events libdeferred's
 * observer (<deferred/observe.h>) reported while the deferred fired, as
 * they came, with their values read back as the drawing shows them.
 */
#ifndef SIM_FIRE_H
#define SIM_FIRE_H

#include <stdbool.h>
#include <stddef.h>

#include "parse.h"

/* A value as it flowed down the chain: a success, or a failure whose
 * message is `text` (drawn with a '*'). */
typedef struct sim_value {
  sim_word text;
  bool failed;
} sim_value;

/* What one stage did: which member ran, with what, giving what. */
typedef struct sim_step {
  bool errback;
  sim_value in, out;
} sim_step;

/* One event of the firing log (DF_EVENT_* of <deferred/observe.h>). */
typedef enum sim_trace_kind {
  SIM_TRACE_FIRED,    /* the deferred was fired with `out`               */
  SIM_TRACE_STAGE,    /* pair `stage`'s callback (errback if `errback`)
                         ran: got `in`, returned `out`                   */
  SIM_TRACE_PASSED,   /* pair `stage` had nothing on that side: `out`
                         passed through                                  */
  SIM_TRACE_FINISHED, /* the pass over the chain ended with `out`        */
  SIM_TRACE_OTHER     /* anything else (cannot happen with the sim's
                         members): `text` is df_event_describe's line    */
} sim_trace_kind;

typedef struct sim_trace_event {
  sim_trace_kind kind;
  size_t stage;
  bool errback;
  sim_value in, out;
  char *text; /* SIM_TRACE_OTHER only (owned), else NULL */
} sim_trace_event;

typedef struct sim_firing {
  sim_value initial; /* "initial" or the failure "initial*"             */
  sim_step *steps;   /* one per pair, in order                          */
  size_t n_steps;    /* how many stages ran (all of them, normally)     */
  sim_value final;   /* the deferred's result once the chain has run    */
  sim_trace_event *trace; /* the firing log (sim_fire_traced), or NULL  */
  size_t n_trace;
} sim_firing;

/* Fire a new deferred carrying `n` pairs, with the success "initial" or,
 * if `with_failure`, the failure "initial*"; record what happened in *out.
 * `pairs` is borrowed and must outlive *out (values point into it).
 * Returns 0, or -1 if memory ran out (then *out holds nothing to free). */
int sim_fire(const sim_pair *pairs, size_t n, bool with_failure,
             sim_firing *out);

/* The same, also keeping the firing log in out->trace: the observer's
 * events, installed only while the deferred fires (the caller's observer,
 * if any, is put back after). */
int sim_fire_traced(const sim_pair *pairs, size_t n, bool with_failure,
                    sim_firing *out);

/* Free what sim_fire or sim_fire_traced allocated in `f`. */
void sim_firing_free(sim_firing *f);

#endif /* SIM_FIRE_H */
