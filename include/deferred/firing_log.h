/* libdeferred: the firing log, a record of how a program's deferreds fired.
 *
 * Beyond Twisted, whose users have asked for it since 2010 (twisted#4304,
 * twisted#10972): turn on a log, run the program, and get back every
 * step of every firing on the thread, in order, with a time from a clock:
 * each stage that ran (which deferred, which stage, which side, what it
 * got and what it returned, where it was added), each deferred fired,
 * each wait on another deferred and each hand-off that ended one, each
 * chain_deferred, each walk stopped at a pause, each pass that finished.
 * Then write it out as a picture (Graphviz DOT: one box per deferred,
 * green and red arrows for successes and failures, dashed arrows for
 * waits and hand-offs) or as a timeline (Chrome's trace-event JSON, one
 * track per deferred, which Perfetto and chrome://tracing open):
 *
 *     df_firing_log *log;
 *     df_firing_log_start(NULL, &log);        // record on this thread
 *     run_the_program();
 *     df_firing_log_stop(log);
 *     df_firing_log_write_dot_file(log, "run.dot");    // dot -Tsvg run.dot
 *     df_firing_log_write_trace_file(log, "run.json"); // ui.perfetto.dev
 *     df_firing_log_free(log);
 *
 * docs/firing-log.md shows what the pictures look like and how to make
 * and open them.
 *
 * It is built on the observer (deferred/observe.h): recording costs
 * nothing until a log is started, and a log records exactly the events
 * the observer reports. It only watches: a log never keeps a deferred
 * alive, never reads one after the event that named it (a deferred may be
 * freed, and its memory reused by another, while the log records), and
 * copies every text it keeps. Deferreds are named by their serial
 * (df_deferred_serial, "Deferred#12") and creation site.
 *
 * Memory is bounded: a log keeps at most `max_events` events (see
 * df_firing_log_options) and counts the events it had to leave out
 * (df_firing_log_dropped), also when memory ran out for one; the exports
 * say how many. Text is cut to `max_text` bytes per result.
 *
 * Threads: a log records the firings of the thread that started it, and
 * is stopped (and freed, while recording) on that thread. Once stopped it
 * may be read and exported from any thread, one at a time.
 */
#ifndef DEFERRED_FIRING_LOG_H
#define DEFERRED_FIRING_LOG_H

#include <stdio.h>

#include "clock.h"
#include "observe.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct df_firing_log df_firing_log;

/* How a log records. A NULL `options` to df_firing_log_start, and a zero
 * in any field, mean the default. */
typedef struct df_firing_log_options {
  /* Where the times come from (borrowed: it must outlive the recording,
   * until df_firing_log_stop or df_firing_log_free returns). NULL: the
   * system's monotonic clock (CLOCK_MONOTONIC), in seconds since the log
   * started. A test clock (deferred/test_clock.h) gives the same times on
   * every run. */
  df_clock *clock;
  /* The most events the log keeps; later ones are counted as dropped.
   * Default DF_FIRING_LOG_DEFAULT_MAX_EVENTS; at most 2^30. Memory grows
   * with the events kept, so max_events bounds it: each adds its record
   * (under 100 bytes), at most two deferreds and a stage site, and a few
   * texts of at most max_text bytes (each distinct text is kept once). */
  size_t max_events;
  /* The most bytes kept of the text of each result (a value's
   * df_result_describe, a failure's "<Failure Type: message>"), cut on a
   * UTF-8 character boundary and ending in "..." when cut. Default
   * DF_FIRING_LOG_DEFAULT_MAX_TEXT; a value below 8 counts as 8, one
   * above 1024 as 1024. */
  size_t max_text;
} df_firing_log_options;

#define DF_FIRING_LOG_DEFAULT_MAX_EVENTS 100000u
#define DF_FIRING_LOG_DEFAULT_MAX_TEXT 64u

/* Start a log recording every firing on the calling thread, from now on,
 * into a new log `*out`, which the caller owns (df_firing_log_free).
 *
 * If an observer is installed (df_set_observer), the log keeps it and
 * calls it too, after recording each event; df_firing_log_stop puts it
 * back. Several logs may record at once on one thread (each gets every
 * event) and be stopped in any order. Returns 0; DF_EINVAL if `out` is
 * NULL; DF_ENOMEM (nothing started; `*out` is NULL). The log allocates
 * as it records, through the library's allocator (df_set_allocator).
 *
 * An observer installed after a log starts takes the log's place: the
 * log records only the events that observer passes on to the observer it
 * replaced, and should be removed before the log stops (see
 * df_firing_log_stop). */
int df_firing_log_start(const df_firing_log_options *options,
                        df_firing_log **out);

/* Stop recording: no event after this one is kept. The log's events stay
 * readable and exportable. When the last log recording on the thread
 * stops, the observer that was installed before the first one is put
 * back, unless another observer was installed meanwhile and still is:
 * that one stays (and whatever it passes on to the logs is forwarded, not
 * recorded). The time of the stop is read from the clock (open waits end
 * there in the exports); the clock is not used after this returns.
 * Returns 0; DF_EINVAL if `log` is NULL, is not recording (stopped
 * already), or was started on another thread (nothing changed). It may
 * be called from a callback, or from the observer the log calls after
 * recording each event. */
int df_firing_log_stop(df_firing_log *log);

/* Free a log and everything it recorded, stopping it first if it records
 * (which must then be done on its thread: a recording log freed from
 * another thread is left as it is, recording, and not freed). Pointers
 * from df_firing_log_event and df_firing_log_deferred die with it; any
 * use of the log after this is a use after free. NULL is ignored. */
void df_firing_log_free(df_firing_log *log);

/* Is the log recording (started and not stopped)? False for NULL. */
bool df_firing_log_recording(const df_firing_log *log);

/* --- what a log holds --------------------------------------------------- */

/* The index of "no deferred" in df_log_event.other. */
#define DF_LOG_NO_DEFERRED UINT32_MAX

/* A deferred the log heard of (by an event about it, or naming it), with
 * what it copied of it. The strings are the log's. */
typedef struct df_log_deferred {
  uint32_t serial;    /* df_deferred_serial                            */
  df_site created;    /* df_deferred_created_site (file NULL: unknown) */
} df_log_deferred;

/* One recorded event: an observer event (deferred/observe.h), copied.
 * The strings and the site are the log's, valid until df_firing_log_free. */
typedef struct df_log_event {
  df_event_kind kind;
  uint32_t deferred;        /* the deferred it is about: an index for
                               df_firing_log_deferred                    */
  uint32_t other;           /* the second deferred (WAITING, TOOK,
                               HANDED_OFF, CHAINED, FIRED by
                               chain_deferred; STAGE: the deferred the
                               stage returned), or DF_LOG_NO_DEFERRED    */
  uint32_t stage;           /* STAGE, PASSED: the stage's index          */
  bool errback;             /* STAGE, PASSED: the errback side           */
  df_kind input_kind;       /* STAGE, PASSED: the kind of result the
                               stage got (see below)                     */
  df_kind result_kind;      /* the kind of the event's result; DF_NONE
                               when it has none (result_text NULL)       */
  double time;              /* when, in seconds on the log's clock       */
  const char *input_text;   /* STAGE, PASSED: what the stage got, else
                               NULL                                      */
  const char *result_text;  /* the event's result: what a stage returned
                               (a deferred as "Deferred#N"), what was
                               fired, taken, handed, passed through, or
                               finished with; NULL for WAITING, PAUSED   */
  const df_stage_site *site;/* STAGE, PASSED: where the stage was added
                               and its functions' names; NULL if unknown */
  df_site fired_at;         /* FIRED: where it was fired (a cancel's site
                               for a cancel); file NULL otherwise        */
} df_log_event;

/* input_kind: the observer reports what a stage got as text only (the
 * callback consumed the value), so the log follows each deferred's result
 * from event to event (fired with, returned, taken, handed, chained
 * away) to know its kind. A deferred whose earlier history the log did
 * not see (it fired before the log started) gets DF_FAILURE on the
 * errback side and, on the callback side, the kind the text shows ("None",
 * a number, 'text', <pointer ...>), DF_INT for an integral number. */

/* How many events the log holds; event i (0 <= i < count, in the order
 * they happened) or NULL past the end. While the log records, the events
 * may move as it grows: a pointer from df_firing_log_event is good until
 * the next event is recorded (or until the log is freed, once it is
 * stopped); so is one from df_firing_log_deferred. The strings and sites
 * they point to never move. */
size_t df_firing_log_count(const df_firing_log *log);
const df_log_event *df_firing_log_event(const df_firing_log *log, size_t i);

/* How many deferreds the events name; deferred i (in the order the log
 * first heard of them) or NULL past the end. Serials are unique on a
 * thread only: two deferreds made by two threads may share one, and the
 * log tells them apart (by their addresses while they live, which it
 * compares but never follows). */
size_t df_firing_log_deferred_count(const df_firing_log *log);
const df_log_deferred *df_firing_log_deferred(const df_firing_log *log,
                                              size_t i);

/* How many events were left out: past max_events, or because memory ran
 * out while recording one. */
uint64_t df_firing_log_dropped(const df_firing_log *log);

/* The most events the log keeps (its max_events). */
size_t df_firing_log_capacity(const df_firing_log *log);

/* The time the log ends at: the clock's time now while it records, the
 * time it stopped at once stopped. NaN for NULL. */
double df_firing_log_end_time(const df_firing_log *log);

/* Event i in one line (no newline) into `buf` (snprintf rules), as
 * df_event_describe words it, after its time, e.g.
 *   "[2.000000] Deferred#3 stage 0 callback run_job: None -> 'done'"
 *   "[2.000000] Deferred#4 waits on Deferred#5"
 * Returns the length it wanted (0, and "" in buf, for no such event). */
size_t df_firing_log_describe(const df_firing_log *log, size_t i, char *buf,
                              size_t size);

/* --- exports -------------------------------------------------------------
 *
 * Each writes the whole log, as it is at the call, to `out` (left open)
 * or to the file at `path` (created or truncated), and returns 0 or a
 * negative code, as deferred/common.h describes them: DF_EINVAL (`log`,
 * `out` or `path` NULL) or DF_ENOMEM, the library's codes; or, as these
 * functions report what the system said, the negated errno value of the
 * open, write, flush or close that failed (-ENOENT, -EACCES, -ENOSPC ...;
 * -EIO if the C library gave no errno). The library's own codes lie apart
 * from errno values, so the two are never confused; df_strerror(rc)
 * describes either ("No space left on device" for -ENOSPC, as strerror
 * words it), and errno is also left set to -rc. Writing stops at the
 * first error; the file at `path` may then hold part of the text. Exporting a log that still records is allowed (from its
 * thread); the events recorded so far are written. All text is escaped
 * for the format, bytes that are not UTF-8 replaced by U+FFFD. */

/* The text form: one line per event (df_firing_log_describe), after a
 * "# firing log: N events about M deferreds, K dropped" line. */
int df_firing_log_write_text(const df_firing_log *log, FILE *out);

/* Graphviz DOT (render with `dot -Tsvg file.dot -o file.svg`): each
 * deferred is a cluster labelled with its serial and creation site,
 * holding, in order, a node for its firing, one for each stage that ran
 * (callback name on the left, errback name on the right, the side that
 * ran highlighted, as in the tutorial's figures), one for each
 * chain_deferred and pause, and one for each result a pass finished with.
 * The arrows carry the result from step to step, green for a success and
 * red for a failure, labelled with its text. Dashed arrows go between
 * clusters: from a stage to the deferred it returned (waits on, or took
 * the result of), from that deferred back to the chain it gave the result
 * to, from a chain_deferred to the deferred it fired. A deferred still
 * waiting, or never seen firing, when the log ends has a dashed border
 * and says so. The graph's label gives the counts, dropped events
 * included. */
int df_firing_log_write_dot(const df_firing_log *log, FILE *out);
int df_firing_log_write_dot_file(const df_firing_log *log, const char *path);

/* Chrome trace-event JSON ({"traceEvents": [...]}, the Trace Event
 * Format's object form): open it in Perfetto (ui.perfetto.dev, "Open
 * trace file") or chrome://tracing. Process 1 is the log; each deferred
 * is one thread-like track (tid = its serial), named by "thread_name"
 * metadata events ("Deferred#3 jobs_demo.c:80 in submit"). Each event is
 * a complete event ("ph": "X") on its deferred's track at its time (ts in
 * microseconds, dur 0; "cat" names its kind, "args" hold the rest, "seq"
 * its place in the log), except that a wait is one complete event
 * lasting from WAITING to the hand-off that ended it (or to the end of
 * the log). Arrows (flow events v2: "bind_id", "flow_out", "flow_in")
 * join a hand-off to the waiter that got the result and a chain_deferred
 * to the deferred it fired. "otherData" holds the counts, dropped events
 * included. */
int df_firing_log_write_trace(const df_firing_log *log, FILE *out);
int df_firing_log_write_trace_file(const df_firing_log *log,
                                   const char *path);

#ifdef __cplusplus
}
#endif

#endif /* DEFERRED_FIRING_LOG_H */
