/* get-poetry's program (poetry_program.h): one chain per address, the
 * tutorial's seven steps, and the list that ends the program.
 *
 * The chain of one address, stage by stage (with --byronify):
 *
 *            callback line                 errback line
 *   (1)  poetry_get: the poem         or  why the download failed
 *   (3)  byronify_poem: the engine's  ->  its failure (the poem is kept
 *        new poem                          in the task for step 5)
 *   (5)        |                          keep_the_original: an engine
 *              |                          error other than GibberishError
 *              |                  <-----  gives the original poem back
 *   (6)  print_poem                   (2, 4) poem_failed: tell the user
 *   (7)  task_ended (both lines): the outcome is recorded
 *
 * and the program is a DeferredList of the chains: when every one has
 * ended, it stops the progress display and fires with the number of
 * tasks that printed nothing. Each stage gets the task as its argument;
 * the task outlives its chain (the caller's). */
#include "poetry_program.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

DF_ERROR_TYPE(poetry_output_error, "IOError", &df_error_exception);

/* A message on `err`, the progress line out of its way. */
static void say(const poetry_program *prog, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void say(const poetry_program *prog, const char *fmt, ...) {
  if (prog->progress) progress_hide(prog->progress);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(prog->err, fmt, ap);
  va_end(ap);
  fflush(prog->err);
}

static void record_failure(poetry_task *t, const df_failure *f) {
  t->failure_type = df_failure_type(f);
  df_failure_brief(f, t->failure, sizeof t->failure);
}

/* --- the stages, in the order of the chain ------------------------------------ */

/* (3) If we do get the poem, transform it with the Byronification Engine.
 * The engine's failure is this stage's: GibberishError or another. */
static df_result byronify_poem(df_result downloaded, void *arg) {
  poetry_task *t = arg;
  poem *original = poem_of(downloaded);
  t->received = original->len;
  df_result byronic = byron_byronificate(&t->program->engine, original->data,
                                         original->len);
  if (df_result_is_failure(byronic)) {
    t->original = df_result_take(&downloaded); /* for step 5 */
    return byronic;
  }
  df_result_drop(downloaded);
  t->byronified = true;
  size_t len = strlen(df_result_str(byronic)); /* the engine writes no NUL */
  return poem_result(poem_adopt(df_result_take(&byronic), len));
}

/* (5) If the engine throws another exception, just keep the original
 * poem. Not ours: a download failure (the engine never had the poem) and
 * a GibberishError (there was no poem), which go on to step 2/4. */
static df_result keep_the_original(df_result failure, void *arg) {
  poetry_task *t = arg;
  if (!t->original ||
      df_failure_check(failure.u.failure, &byron_gibberish_error))
    return failure;
  record_failure(t, failure.u.failure);
  say(t->program, "Task %zu: the Byronification Engine failed (%s): printing "
      "the poem as received\n", t->number, t->failure);
  df_result_drop(failure);
  poem *original = t->original;
  t->original = NULL;
  return poem_result(original);
}

/* --- (6) printing: on the loop's thread, or off it --------------------------- */

/* Why each poem is not simply written where it is ready. Standard output
 * blocks: a pipe whose reader is slow or paused (`get-poetry ... | less`
 * left on its first page) does not take a poem until it reads. A write
 * on the reactor's thread then stops the whole loop, and when the reader
 * reads again the loop's timers run first: every download still in
 * progress, its bytes waiting in the kernel, fails with a TimeoutError
 * it never earned. Making standard output non-blocking is no cure: the
 * flag belongs to the open file, which the shell and the rest of the
 * pipeline share (their own writes would then fail with EAGAIN), and
 * poems would wait in memory all the same. So, with prog->writer, a poem
 * is written on a thread of the reactor's pool (df_reactor_defer_to_
 * thread, libuv's), one at a time under a DeferredLock so that they come
 * out whole and in the order they were ready, and the loop goes on
 * downloading; the poem's chain waits for its write. What a slow reader
 * costs is then only memory for poems that are done (each download is
 * held whole anyway, at most POETRY_MAX_POEM). get-poetry writes on the
 * loop's thread when standard output is a terminal, which takes output
 * at once and shares the screen with the progress line and the messages,
 * or the same file as standard error: a message written meanwhile would
 * land inside a poem. */

/* The longest write: what a pipe takes in one piece once poll(2) says it
 * has room (PIPE_BUF), so that a write never blocks the pool thread and
 * poetry_program_stop_output is seen within POLL_MS. */
enum { WRITE_CHUNK = 4096, POLL_MS = 100 };

/* On a pool thread: write t->printing to prog->out_fd. Touches neither
 * the reactor nor any deferred (df_reactor_defer_to_thread's rule). */
static df_result write_off_the_loop(void *arg) {
  poetry_task *t = arg;
  poetry_program *prog = t->program;
  const char *data = t->printing->data;
  size_t left = t->printing->len;
  while (left > 0) {
    if (atomic_load(&prog->output_stopped))
      return df_raise(&poetry_output_error, "cannot write the poem to the "
                      "output: interrupted");
    struct pollfd pfd = {.fd = prog->out_fd, .events = POLLOUT};
    int ready = poll(&pfd, 1, POLL_MS);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    ssize_t n = write(prog->out_fd, data, left < WRITE_CHUNK ? left
                                                              : WRITE_CHUNK);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
      continue; /* a non-blocking descriptor inherited from the shell */
    if (n <= 0) break;
    data += n;
    left -= (size_t)n;
  }
  if (left == 0) return df_none();
  int why = errno;
  return df_raise(&poetry_output_error, "cannot write the poem to the "
                  "output: %s", why ? strerror(why) : "write error");
}

/* The lock is ours: hand the write to the pool; the lock is held until
 * it is done. */
static df_result start_write(void *arg) {
  poetry_task *t = arg;
  df_deferred *d = df_reactor_defer_to_thread(t->program->writer,
                                              write_off_the_loop, t);
  if (!d) return df_raise(&df_error_no_memory, "cannot start writing a poem");
  return df_wait_on(d);
}

/* (6) with a writer: the chain waits for the poem's turn and its write;
 * task_ended records the outcome and frees the poem, so that nothing
 * frees it while a pool thread may still be writing it. */
static df_result print_off_the_loop(poetry_task *t, df_result r) {
  t->printing = df_result_take(&r);
  df_deferred *d = df_lock_run(t->program->output_lock, start_write, t);
  if (!d) return df_raise(&df_error_no_memory, "cannot print the poem");
  return df_wait_on(d);
}

/* (6) If we have a poem, print it out: exactly its bytes, nothing added. */
static df_result print_poem(df_result r, void *arg) {
  poetry_task *t = arg;
  const poetry_program *prog = t->program;
  poem *p = poem_of(r);
  if (!prog->byronify) t->received = p->len;
  if (prog->output_lock) return print_off_the_loop(t, r);
  if (prog->progress) progress_hide(prog->progress);
  errno = 0;
  if ((p->len && fwrite(p->data, 1, p->len, prog->out) != p->len) ||
      fflush(prog->out) != 0) {
    int why = errno;
    df_result_drop(r);
    return df_raise(&poetry_output_error, "cannot write the poem to the "
                    "output: %s", why ? strerror(why) : "write error");
  }
  if (p->len && prog->progress)
    progress_wrote_output(prog->progress, p->data[p->len - 1]);
  t->printed = true;
  t->printed_bytes = p->len;
  df_result_drop(r);
  return df_none();
}

/* (2) If the download fails, and (4) if the engine throws a
 * GibberishError, tell the user we couldn't get the poem. Handled: the
 * chain goes on with None. */
static df_result poem_failed(df_result failure, void *arg) {
  poetry_task *t = arg;
  df_failure *f = failure.u.failure;
  record_failure(t, f);
  bool gibberish = df_failure_check(f, &byron_gibberish_error) != NULL;
  say(t->program, "Task %zu: the poem from %s could not be downloaded: %s%s\n",
      t->number, t->label, gibberish ? "it is not a poem: " : "", t->failure);
  df_result_drop(failure);
  return df_none();
}

/* (7) This download has ended, one way or the other. A failure here can
 * only be print_poem's (the output is gone). */
static df_result task_ended(df_result r, void *arg) {
  poetry_task *t = arg;
  t->finished = df_clock_seconds(t->program->clock);
  t->ended = true;
  if (t->printing) { /* print_off_the_loop's poem: its write has ended */
    if (!df_result_is_failure(r)) {
      t->printed = true;
      t->printed_bytes = t->printing->len;
    }
    poem_free(t->printing);
    t->printing = NULL;
  }
  if (df_result_is_failure(r)) {
    record_failure(t, r.u.failure);
    say(t->program, "Task %zu: %s\n", t->number, t->failure);
  }
  poem_free(t->original); /* a GibberishError's poem */
  t->original = NULL;
  df_result_drop(r);
  return df_none();
}

/* --- one chain per address ------------------------------------------------------- */

/* The chain of task `t`, or NULL if out of memory (nothing left running). */
static df_deferred *download_chain(poetry_task *t) {
  poetry_program *prog = t->program;
  t->started = df_clock_seconds(prog->clock);
  /* (1) Try to download the poem. */
  df_deferred *d = poetry_get(t->endpoint, prog->clock, prog->timeout,
                              &t->progress);
  if (!d) return NULL;
  int rc = 0; /* each add gives 0 or a negative code: OR-ing keeps the sign */
  if (prog->byronify) {
    /* (3) If we do get the poem, transform it with the engine. */
    rc |= df_deferred_add_callback(d, byronify_poem, t);
    /* (5) If the engine throws another exception, keep the original. */
    rc |= df_deferred_add_errback(d, keep_the_original, t);
  }
  /* (6) If we have a poem, print it out; (2) if the download failed, and
   * (4) if the engine said GibberishError, tell the user. */
  rc |= df_deferred_add_callbacks(d, print_poem, t, poem_failed, t);
  /* (7) The download has ended: the program ends when all have. */
  rc |= df_deferred_add_both(d, task_ended, t);
  if (rc < 0) {
    df_deferred_cancel(d); /* out of memory: stop it, drop what it gives */
    df_result outcome;
    if (df_deferred_take_result(d, &outcome) == 0) df_result_drop(outcome);
    df_deferred_unref(d);
    return NULL;
  }
  return d;
}

/* (7) End the program: every download has ended. */
static df_result every_download_ended(df_result list, void *arg) {
  poetry_program *prog = arg;
  df_result_drop(list);
  if (prog->progress) progress_stop(prog->progress);
  int64_t failed = 0;
  for (size_t i = 0; i < prog->count; i++)
    if (!prog->tasks[i].printed) failed++;
  return df_int(failed);
}

void poetry_program_stop_output(poetry_program *prog) {
  atomic_store(&prog->output_stopped, true);
}

void poetry_program_free_output(poetry_program *prog) {
  df_lock_free(prog->output_lock);
  prog->output_lock = NULL;
}

df_deferred *poetry_program_start(poetry_program *prog) {
  if (prog->writer && !prog->output_lock &&
      df_lock_new(&prog->output_lock) < 0)
    return NULL;
  df_deferred **chains = calloc(prog->count ? prog->count : 1, sizeof *chains);
  if (!chains) return NULL;
  for (size_t i = 0; i < prog->count; i++) {
    poetry_task *t = &prog->tasks[i];
    t->number = i + 1;
    t->program = prog;
    if (prog->progress) progress_add(prog->progress, t->label, &t->progress);
  }
  if (prog->progress) progress_start(prog->progress);
  bool out_of_memory = false;
  for (size_t i = 0; i < prog->count; i++) {
    chains[i] = download_chain(&prog->tasks[i]);
    if (!chains[i]) {
      /* This one never started; the others run as usual. */
      poetry_task *t = &prog->tasks[i];
      t->ended = true;
      t->failure_type = &df_error_no_memory;
      snprintf(t->failure, sizeof t->failure, "MemoryError: cannot start");
      t->progress.stage = POETRY_FAILED;
      chains[i] = df_succeed(df_none());
      out_of_memory |= chains[i] == NULL;
    }
  }
  df_deferred *all = NULL;
  if (!out_of_memory) all = df_deferred_list(chains, prog->count, 0);
  if (all && df_deferred_add_callback(all, every_download_ended, prog) < 0) {
    df_deferred_unref(all);
    all = NULL;
  }
  for (size_t i = 0; i < prog->count; i++) df_deferred_unref(chains[i]);
  free(chains);
  return all;
}

void poetry_program_summary(const poetry_program *prog) {
  size_t printed = 0;
  for (size_t i = 0; i < prog->count; i++) {
    const poetry_task *t = &prog->tasks[i];
    double took = t->finished - t->started;
    if (!t->ended) took = df_clock_seconds(prog->clock) - t->started;
    if (took < 0) took = 0;
    if (!t->printed) {
      fprintf(prog->err, "Task %zu: no poem from %s (%s) after %.1f s\n",
              t->number, t->label,
              t->failure_type ? t->failure_type->name : "not ended", took);
      continue;
    }
    printed++;
    fprintf(prog->err, "Task %zu: got %zu bytes of poetry from %s in %.1f s, ",
            t->number, t->received, t->label, took);
    if (t->byronified)
      fprintf(prog->err, "Byronified (%zu bytes) and printed\n",
              t->printed_bytes);
    else if (t->failure_type)
      fprintf(prog->err, "printed as received (%s)\n", t->failure_type->name);
    else
      fprintf(prog->err, "printed\n");
  }
  fprintf(prog->err, "get-poetry: %zu of %zu poem%s printed\n", printed,
          prog->count, prog->count == 1 ? "" : "s");
  fflush(prog->err);
}
