/* deferred-sim: one input line to one callback/errback pair.
 *
 * Implements the input rules of docs/deferred-sim.md ("The input, exactly")
 * for a single line: CR dropping, word splitting, command abbreviations,
 * VALUE limits and the first problem of a bad line. Line numbering, the
 * empty-line rules and the end of the list belong to the caller (main.c),
 * which sees every line in order.
 */
#ifndef SIM_PARSE_H
#define SIM_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "text.h"

typedef enum sim_action { SIM_RETURN, SIM_FAIL, SIM_PASSTHRU } sim_action;

/* One member of a pair: what it does, and its VALUE (unused for
 * passthru). */
typedef struct sim_member {
  sim_action action;
  sim_word value;
} sim_member;

typedef struct sim_pair {
  sim_member callback;
  sim_member errback;
} sim_pair;

typedef enum sim_line_kind {
  SIM_LINE_PAIR,  /* a valid pair, in *pair                         */
  SIM_LINE_EMPTY, /* nothing before the line feed                   */
  SIM_LINE_BAD    /* a bad line; *problem says what is wrong first  */
} sim_line_kind;

typedef enum sim_problem_kind {
  SIM_BAD_UTF8,
  SIM_MISSING_COMMAND,
  SIM_UNKNOWN_COMMAND,  /* word: the command as typed       */
  SIM_MISSING_VALUE,    /* word: the command as typed       */
  SIM_VALUE_TOO_LONG,   /* word: the value                  */
  SIM_LEFT_OVER         /* word: the first word left over   */
} sim_problem_kind;

/* What is wrong with a bad line. `word` points into the caller's line. */
typedef struct sim_problem {
  sim_problem_kind kind;
  const char *word;
  size_t word_len;
} sim_problem;

/* Parse one line of `len` bytes, without its line feed; `had_newline`
 * says whether a line feed ended it (only then is a CR before it
 * dropped). The line may contain any bytes, NUL included. Fills *pair for
 * SIM_LINE_PAIR and *problem for SIM_LINE_BAD. */
sim_line_kind sim_parse_line(const char *line, size_t len, bool had_newline,
                             sim_pair *pair, sim_problem *problem);

/* Write "line N: WHAT\n" for `problem` to `out` (exactly one line). */
void sim_problem_print(FILE *out, unsigned long line_no,
                       const sim_problem *problem);

/* The full lower-case command name ("return", "fail", "passthru"). */
const char *sim_action_name(sim_action action);

#endif /* SIM_PARSE_H */
