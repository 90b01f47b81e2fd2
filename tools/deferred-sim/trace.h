/* deferred-sim: the firing logs of --trace.
 *
 * After the drawing, one log per firing, each line one event libdeferred's
 * observer reported while the deferred fired (fire.c), written with the
 * drawing's words: a member by its caption ("return good", "passthru"), a
 * value as drawn (a failure with its '*'):
 *
 *     Firing log of d.callback(initial):
 *       fired with initial
 *       stage 0: callback "return good" got initial, returned good
 *       stage 1: callback "fail bad" got good, returned bad*
 *       stage 2: errback "passthru" got bad*, returned bad*
 *       the chain ended with bad*
 *
 * and an empty line after each log, as after each canvas.
 */
#ifndef SIM_TRACE_H
#define SIM_TRACE_H

#include <stdio.h>

#include "draw.h"

/* Print the log of one firing (traced by sim_fire_traced) under `title`. */
void sim_trace_print_firing(FILE *out, const char *title,
                            const sim_firing *firing, const sim_pair *pairs,
                            size_t n_pairs);

/* Print both logs: d.callback(initial), then d.errback(initial*). */
void sim_trace_print(FILE *out, const sim_drawing *drawing);

#endif /* SIM_TRACE_H */
