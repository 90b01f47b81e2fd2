/* Debug mode's report at the end of a shutdown: the deferreds still
 * waiting (never fired, or waiting on another), with where they were
 * made and what waits on them, so that a program that stops with work
 * unfinished says which (df_dump_waiting, deferred/report.h). Nothing is
 * written when no deferred is left waiting. */
#include <stdio.h>

#include "internal.h"

void df__report_waiting_deferreds(void) {
  if (df_foreach_waiting(NULL, NULL) == 0) return;
  fprintf(stderr, "The reactor stopped; deferreds still waiting:\n");
  df_dump_waiting(stderr);
}
