/* deferred-sim: reading the list of pairs, line by line (chain.h). */
#include "chain.h"

#include <stdlib.h>

static bool push(sim_chain *c, const sim_pair *p) {
  if (c->n == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 16;
    sim_pair *grown = realloc(c->pairs, cap * sizeof *grown);
    if (!grown) return false;
    c->pairs = grown;
    c->cap = cap;
  }
  c->pairs[c->n++] = *p;
  return true;
}

int sim_chain_read(sim_chain *chain, sim_input *in, FILE *errors) {
  unsigned long line_no = 0;
  const char *line;
  size_t len;
  bool had_newline;
  sim_read got;
  while ((got = sim_input_next(in, &line, &len, &had_newline)) !=
         SIM_READ_EOF) {
    line_no++;
    if (got == SIM_READ_ERROR) return -2;
    if (got == SIM_READ_NOMEM) {
      fprintf(errors, "line %lu: too long to read (out of memory)\n", line_no);
      continue;
    }
    sim_pair pair;
    sim_problem problem;
    switch (sim_parse_line(line, len, had_newline, &pair, &problem)) {
    case SIM_LINE_EMPTY:
      if (chain->n > 0) return 0; /* the end of the list */
      /* Not the end: an empty line before any pair is reported and
       * reading goes on (the next line is not read ahead of time, so
       * input after the ending empty line stays unread). */
      fprintf(errors, "line %lu: empty line, but no pair yet\n", line_no);
      break;
    case SIM_LINE_BAD:
      sim_problem_print(errors, line_no, &problem);
      break;
    case SIM_LINE_PAIR:
      if (!push(chain, &pair)) return -1;
      break;
    }
  }
  return 0;
}

void sim_chain_free(sim_chain *chain) {
  free(chain->pairs);
  chain->pairs = NULL;
  chain->n = chain->cap = 0;
}
