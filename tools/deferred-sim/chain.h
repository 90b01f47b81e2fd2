/* deferred-sim: reading the list of pairs, line by line.
 *
 * The rules that span lines (docs/deferred-sim.md, "The input, exactly"):
 * lines are numbered from 1, every line read counts; a bad line is reported
 * on the error stream and skipped; an empty line ends the list, unless no
 * pair has been read yet; the end of input ends it too. parse.c judges each
 * line on its own.
 */
#ifndef SIM_CHAIN_H
#define SIM_CHAIN_H

#include <stdbool.h>
#include <stdio.h>

#include "input.h"
#include "parse.h"

/* The pairs read so far (owned; free with sim_chain_free). */
typedef struct sim_chain {
  sim_pair *pairs;
  size_t n, cap;
} sim_chain;

/* Read pairs from `in` into `chain` (empty, zero-initialised) until the
 * ending empty line or the end of input, writing one "line N: WHAT" line
 * to `errors` per bad line. Returns 0, -1 if memory ran out, or -2 if
 * reading failed (in->error says why); either way the pairs read so far
 * stay in `chain`, and a caller draws nothing from a failed read. */
int sim_chain_read(sim_chain *chain, sim_input *in, FILE *errors);

void sim_chain_free(sim_chain *chain);

#endif /* SIM_CHAIN_H */
