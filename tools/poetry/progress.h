/* get-poetry's progress display: how many bytes each address has sent so
 * far, on standard error, redrawn on a LoopingCall of the reactor.
 *
 *   PROGRESS_TERMINAL  one line, rewritten in place ("\r", then the line,
 *                      then erase-to-end-of-line), cut to the terminal's
 *                      width, every PROGRESS_TERMINAL_INTERVAL seconds:
 *                        127.0.0.1:10001 120 B | 127.0.0.1:10002 done 653 B | 127.0.0.1:10003 failed
 *                      Whoever writes to the terminal meanwhile (a poem
 *                      on standard output, a message on standard error)
 *                      calls progress_hide first; the next redraw brings
 *                      the line back.
 *   PROGRESS_LINES     when standard error is not a terminal but progress
 *                      was asked for (--progress): a whole line each time
 *                      something changed, at most every
 *                      PROGRESS_LINES_INTERVAL seconds, with no control
 *                      characters:
 *                        progress: 127.0.0.1:10001 120 B, 127.0.0.1:10002 connecting
 *   PROGRESS_OFF       nothing (progress_new gives a display that draws
 *                      nothing, so callers need no test of their own).
 *
 * The items are borrowed: the labels and the poetry_progress counters
 * (poetry_client.h) must outlive the display.
 */
#ifndef POETRY_PROGRESS_H
#define POETRY_PROGRESS_H

#include <stdio.h>

#include <deferred.h>

#include "poetry_client.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PROGRESS_TERMINAL_INTERVAL 0.1
#define PROGRESS_LINES_INTERVAL 1.0

typedef enum progress_mode {
  PROGRESS_OFF,
  PROGRESS_TERMINAL,
  PROGRESS_LINES
} progress_mode;

typedef struct progress progress;

/* A display in `mode` writing to `err` (borrowed), redrawn on `clock`
 * (borrowed). `shared_terminal` says that standard output is the same
 * terminal (a poem that does not end with a newline then gets one on
 * `err` before the line is drawn again, so that the line never overwrites
 * it; standard output itself gets nothing added). Returns 0 and *out, or
 * DF_ENOMEM. */
int progress_new(df_clock *clock, FILE *err, progress_mode mode,
                 bool shared_terminal, progress **out);

/* Show `label` (borrowed) and what `item` (borrowed) says. Returns 0 or
 * DF_ENOMEM. Add every item before progress_start. */
int progress_add(progress *p, const char *label, const poetry_progress *item);

/* Start redrawing (at once, then every interval); stop, erasing the
 * line. Start returns 0, or DF_ENOMEM (no display then); both do nothing
 * in PROGRESS_OFF or when already in that state. */
int progress_start(progress *p);
void progress_stop(progress *p);

/* Before writing anything else to the terminal: erase the line (terminal
 * mode; nothing otherwise). */
void progress_hide(progress *p);

/* After writing to standard output: `last` is the last byte written. */
void progress_wrote_output(progress *p, char last);

/* Stop and free (NULL is ignored). */
void progress_free(progress *p);

#ifdef __cplusplus
}
#endif

#endif /* POETRY_PROGRESS_H */
