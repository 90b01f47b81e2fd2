/* get-poetry's program: every download at once, one deferred chain per
 * address, written as the Twisted tutorial lists the program (part 9):
 *
 *   1. Try to download the poem.
 *   2. If the download fails, tell the user we couldn't get the poem.
 *   3. If we do get the poem, transform it with the Byronification Engine.
 *   4. If the engine throws a GibberishError, tell the user we couldn't
 *      get the poem.
 *   5. If the engine throws another exception, just keep the original poem.
 *   6. If we have a poem, print it out.
 *   7. End the program (when every download has ended).
 *
 * Steps 3 and 5 are there with --byronify only. poetry_program.c builds
 * each chain and comments each stage with its step; the engine is called
 * inside the chain, so its failures travel down it and the errbacks do
 * the work.
 *
 * Output: each poem goes to `out` (or, with a writer, to `out_fd` off
 * the loop's thread) as soon as its chain reaches step 6, exactly as
 * received (or as the engine made it), nothing added; every
 * message goes to `err`, before a display of progress is drawn again:
 *
 *   Task 4: the poem from 127.0.0.1:10004 could not be downloaded: ConnectionRefusedError: ...
 *   Task 3: the poem from 127.0.0.1:10003 could not be downloaded: it is not a poem: GibberishError: ...
 *   Task 2: the Byronification Engine failed (CannotByronifyError: ...): printing the poem as received
 *
 * and poetry_program_summary writes a line per task at the end.
 */
#ifndef POETRY_PROGRAM_H
#define POETRY_PROGRAM_H

#include <stdatomic.h>
#include <stdio.h>

#include <deferred/lock.h>
#include <deferred/uv.h>

#include "byron.h"
#include "poetry_client.h"
#include "progress.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "IOError": a poem could not be written to the output. */
extern const df_error_type poetry_output_error;

/* One address: what the caller sets, then the outcome. */
typedef struct poetry_task {
  /* Set by the caller before poetry_program_start (borrowed). */
  const char *label;      /* "127.0.0.1:10001", for messages */
  df_endpoint *endpoint;  /* where to download from */
  /* Kept up to date while it runs (progress.h reads it). */
  poetry_progress progress;
  /* The outcome, once its chain has ended. */
  bool ended;
  bool printed;           /* a poem was printed (step 6) */
  bool byronified;        /* ... the engine's (step 3) */
  size_t received;        /* bytes downloaded, when a poem came */
  size_t printed_bytes;
  const df_error_type *failure_type; /* why not printed (steps 2, 4), or
                                        the engine's error kept (step 5) */
  char failure[256];      /* its "Type: message" */
  double started, finished; /* the clock's seconds */
  /* Private. */
  size_t number;          /* 1-based: "Task 1" */
  struct poetry_program *program;
  poem *original;         /* the poem given to the engine, until step 5 */
  poem *printing;         /* with a writer: the poem being written */
} poetry_task;

typedef struct poetry_program {
  /* Set by the caller (all borrowed; they must outlive the program's
   * deferred). */
  df_clock *clock;        /* the reactor's */
  double timeout;         /* poetry_get's: the longest wait for bytes */
  bool byronify;          /* steps 3 and 5 */
  byron_engine engine;    /* its fault injection (byron.h) */
  FILE *out, *err;
  progress *progress;     /* NULL: none */
  poetry_task *tasks;     /* each with label and endpoint set */
  size_t count;
  /* NULL: each poem is written to `out` on the reactor's thread, a
   * blocking write (the tests, and a terminal). Set: to `out_fd` (out's
   * descriptor) on a thread of this reactor's pool, one poem at a time
   * in the order they are ready, so that a reader slower than the
   * downloads (a paused pager) holds up neither them nor their timeouts
   * (poetry_program.c, print_poem). */
  df_reactor *writer;
  int out_fd;
  /* Private. */
  df_lock *output_lock;   /* one poem at a time, in their order */
  atomic_bool output_stopped; /* poetry_program_stop_output was called */
} poetry_program;

/* Start every task's chain at once (steps 1 to 6) and return a new
 * reference to a deferred that fires, when every chain has ended (step
 * 7), with df_int(the number of tasks that printed no poem). The progress
 * display, if any, is started now and stopped before it fires. Returns
 * NULL only if out of memory before anything started. */
df_deferred *poetry_program_start(poetry_program *prog);

/* With prog->writer: make the poem being written, if any, give up
 * within 0.1 s with an IOError ("interrupted") instead of waiting for a
 * reader that may never read, and the poems after it at once. For the
 * reactor's before-shutdown trigger (SIGINT, SIGTERM): the reactor waits
 * for its pool's jobs. Safe from any thread. */
void poetry_program_stop_output(poetry_program *prog);

/* Free what poetry_program_start made for the output, once the reactor
 * has stopped (its pool jobs have ended). Safe when nothing was made. */
void poetry_program_free_output(poetry_program *prog);

/* A line per task on prog->err, then the total:
 *
 *   Task 1: got 653 bytes of poetry from 127.0.0.1:10001 in 4.2 s, Byronified (702 bytes) and printed
 *   Task 2: got 577 bytes of poetry from 127.0.0.1:10002 in 3.9 s, printed as received (CannotByronifyError)
 *   Task 3: got 615 bytes of poetry from 127.0.0.1:10003 in 0.1 s, printed
 *   Task 4: no poem from 127.0.0.1:10004 (ConnectionRefusedError) after 0.0 s
 *   get-poetry: 3 of 4 poems printed
 */
void poetry_program_summary(const poetry_program *prog);

#ifdef __cplusplus
}
#endif

#endif /* POETRY_PROGRAM_H */
