/* deferred-sim: the two firings, done by libdeferred itself.
 *
 * The spec wants the paths drawn to be the ones a real Deferred takes, not
 * a model of the firing rules. So each firing builds one df_deferred with
 * one stage per pair; each stage's callback and errback are recorders
 * wrapped around the user's member: they note the member's input, do what
 * the member says (return a value, raise a failure, or pass the input on)
 * and note the output. The drawing then only replays the notes.
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

typedef struct sim_firing {
  sim_value initial; /* "initial" or the failure "initial*"             */
  sim_step *steps;   /* one per pair, in order                          */
  size_t n_steps;    /* how many stages ran (all of them, normally)     */
  sim_value final;   /* the deferred's result once the chain has run    */
} sim_firing;

/* Fire a new deferred carrying `n` pairs, with the success "initial" or,
 * if `with_failure`, the failure "initial*"; record what happened in *out.
 * `pairs` is borrowed and must outlive *out (values point into it).
 * Returns 0, or -1 if memory ran out (then *out holds nothing to free). */
int sim_fire(const sim_pair *pairs, size_t n, bool with_failure,
             sim_firing *out);

/* Free what sim_fire allocated in `f`. */
void sim_firing_free(sim_firing *f);

#endif /* SIM_FIRE_H */
