/* Debug mode's report at the end of a shutdown: the deferreds still
 * waiting (never fired, or waiting on another), with where they were
 * made and what waits on them, so that a program that stops with work
 * unfinished says which.
 *
 * THE ONE PLACE that calls df_dump_waiting (deferred/report.h, from the
 * core's branch). It is declared weak here so that libdeferred-uv builds
 * and links against a libdeferred that does not have it yet; then
 * nothing is listed. Once the core has it, the weak declaration can go. */
#include <stdio.h>

#include "internal.h"

size_t df_dump_waiting(FILE *out)
#if defined(__GNUC__)
    __attribute__((weak))
#endif
    ;

void df__report_waiting_deferreds(void) {
#if defined(__GNUC__)
  if (!df_dump_waiting) return;
#endif
  fprintf(stderr, "The reactor stopped; deferreds still waiting:\n");
  size_t n = df_dump_waiting(stderr);
  if (n == 0) fprintf(stderr, "  (none)\n");
}
