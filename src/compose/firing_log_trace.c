/* The firing log as Chrome trace-event JSON (deferred/firing_log.h), the
 * object form of the Trace Event Format that Perfetto and
 * chrome://tracing open:
 *
 *     {"traceEvents": [
 *       {"name": "process_name", "ph": "M", ...}     the log
 *       {"name": "thread_name", "ph": "M", ...}      one per deferred: its
 *       {"name": "thread_sort_index", "ph": "M", ...} track, by serial
 *       {"name": "run_job", "cat": "callback", "ph": "X", "ts": ..., ...}
 *       ...                                          one per event, in order
 *     ],
 *     "displayTimeUnit": "ms",
 *     "otherData": {...}}                            the counts
 *
 * Every event is a complete event ("X") of no duration on the track of
 * its deferred, except a wait, which lasts until the hand-off that ends
 * it (found by a first pass) or the end of the log. A hand-off is also
 * shown on the waiter's track ("got result"), joined to the giver's by a
 * flow (v2: "bind_id" with "flow_out" / "flow_in", which binds to the
 * slice itself), as is a chain_deferred to the FIRED of its target.
 *
 * Numbers are written without printf's %f, whose decimal point follows
 * the program's locale: a timestamp is an integer count of nanoseconds
 * written as microseconds with three decimals. Built on the log's public
 * accessors only. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

typedef struct trace {
  const df_firing_log *log;
  df__out *o;
  uint32_t *tids;       /* per deferred: its track                      */
  double *wait_ends;    /* per event: when a WAITING event's wait ended */
  uint64_t *flow_into;  /* per deferred: the flow its next FIRED ends   */
  uint64_t next_flow;
  bool first;           /* no event written yet: no comma before it     */
} trace;

/* --- numbers and strings ----------------------------------------------- */

/* `seconds` as microseconds with three decimals ("1500000.000"); 0 for
 * a time that is not finite (a clock of the program's own may give one). */
static void put_us(df__out *o, double seconds) {
  double ns = seconds * 1e9;
  if (!isfinite(ns)) ns = 0;
  if (ns > 9e18) ns = 9e18;
  if (ns < -9e18) ns = -9e18;
  int64_t v = (int64_t)(ns < 0 ? ns - 0.5 : ns + 0.5);
  uint64_t m = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
  df__out_printf(o, "%s%llu.%03llu", v < 0 ? "-" : "",
                 (unsigned long long)(m / 1000), (unsigned long long)(m % 1000));
}

static void put_string(df__out *o, const char *text) {
  if (!text) {
    df__out_puts(o, "null");
    return;
  }
  df__out_puts(o, "\"");
  df__out_json_text(o, text);
  df__out_puts(o, "\"");
}

static void put_site(df__out *o, const char *file, int line, const char *func) {
  char text[1200];
  put_string(o, df__site_text(file, line, func, text, sizeof text));
}

static unsigned serial_of(const df_firing_log *log, uint32_t d) {
  const df_log_deferred *ld = df_firing_log_deferred(log, d);
  return ld ? ld->serial : 0;
}

static void put_deferred(df__out *o, const df_firing_log *log, uint32_t d) {
  df__out_printf(o, "\"Deferred#%u\"", serial_of(log, d));
}

/* --- events -------------------------------------------------------------- */

/* The start of an event up to its args: `{"name": ..., "cat": ...,
 * "ph": "X", "ts": ..., "dur": ..., "pid": 1, "tid": ...`, the flow
 * fields when `flow` is not 0, then `"args": {"seq": i`. The caller adds
 * the other args and closes with end_event(). */
static void begin_event(trace *t, const char *name, const char *cat,
                        double time, double duration, uint32_t d, size_t seq,
                        uint64_t flow, bool flow_in) {
  df__out *o = t->o;
  df__out_puts(o, t->first ? "\n" : ",\n");
  t->first = false;
  df__out_puts(o, "{\"name\": ");
  put_string(o, name);
  df__out_printf(o, ", \"cat\": \"%s\", \"ph\": \"X\", \"ts\": ", cat);
  put_us(o, time);
  df__out_puts(o, ", \"dur\": ");
  put_us(o, duration > 0 ? duration : 0);
  df__out_printf(o, ", \"pid\": 1, \"tid\": %lu", (unsigned long)t->tids[d]);
  if (flow)
    df__out_printf(o, ", \"bind_id\": %llu, \"%s\": true",
                   (unsigned long long)flow, flow_in ? "flow_in" : "flow_out");
  df__out_printf(o, ", \"args\": {\"seq\": %zu", seq);
}

static void end_event(trace *t) { df__out_puts(t->o, "}}"); }

static void put_result(trace *t, const char *key, const df_log_event *e) {
  df__out_printf(t->o, ", \"%s\": ", key);
  put_string(t->o, e->result_text);
  df__out_printf(t->o, ", \"%s_kind\": \"%s\"", key,
                 df__kind_name(e->result_kind));
}

static void put_other(trace *t, const char *key, uint32_t other) {
  if (other == DF_LOG_NO_DEFERRED) return;
  df__out_printf(t->o, ", \"%s\": ", key);
  put_deferred(t->o, t->log, other);
}

static void put_stage(trace *t, const df_log_event *e) {
  df__out_printf(t->o, ", \"stage\": %u, \"side\": \"%s\"", e->stage,
                 e->errback ? "errback" : "callback");
  df__out_puts(t->o, ", \"added_at\": ");
  if (e->site)
    put_site(t->o, e->site->file, e->site->line, e->site->func);
  else
    df__out_puts(t->o, "null");
}

static const char *stage_name(const df_log_event *e) {
  const char *name = NULL;
  if (e->site) name = e->errback ? e->site->errback_name : e->site->callback_name;
  return name && *name ? name : "(unnamed)";
}

static void write_event(trace *t, size_t i) {
  const df_log_event *e = df_firing_log_event(t->log, i);
  df__out *o = t->o;
  uint32_t d = e->deferred;
  switch (e->kind) {
  case DF_EVENT_FIRED: {
    uint64_t flow = t->flow_into[d];
    t->flow_into[d] = 0;
    begin_event(t, "fired", "fired", e->time, 0, d, i, flow, true);
    put_result(t, "result", e);
    if (e->other != DF_LOG_NO_DEFERRED) {
      put_other(t, "by_chain_deferred_from", e->other);
    } else {
      df__out_puts(o, ", \"at\": ");
      if (e->fired_at.file)
        put_site(o, e->fired_at.file, e->fired_at.line, e->fired_at.func);
      else
        df__out_puts(o, "null");
    }
    break;
  }
  case DF_EVENT_STAGE:
    begin_event(t, stage_name(e), e->errback ? "errback" : "callback", e->time,
                0, d, i, 0, false);
    put_stage(t, e);
    df__out_puts(o, ", \"input\": ");
    put_string(o, e->input_text);
    df__out_printf(o, ", \"input_kind\": \"%s\"", df__kind_name(e->input_kind));
    put_result(t, "output", e);
    put_other(t, "returned", e->other);
    break;
  case DF_EVENT_PASSED:
    begin_event(t, "passthru", "passed", e->time, 0, d, i, 0, false);
    put_stage(t, e);
    put_result(t, "result", e);
    break;
  case DF_EVENT_WAITING: {
    char name[64];
    snprintf(name, sizeof name, "waits on Deferred#%u",
             serial_of(t->log, e->other));
    double end = t->wait_ends[i];
    bool ended = !isnan(end);
    if (!ended) end = df_firing_log_end_time(t->log);
    begin_event(t, name, "wait", e->time, isnan(end) ? 0 : end - e->time, d,
                i, 0, false);
    put_other(t, "on", e->other);
    df__out_printf(o, ", \"ended\": \"%s\"",
                   ended ? "by a hand-off" : "not by the end of the log");
    break;
  }
  case DF_EVENT_TOOK:
    begin_event(t, "took", "took", e->time, 0, d, i, 0, false);
    put_result(t, "result", e);
    put_other(t, "from", e->other);
    break;
  case DF_EVENT_HANDED_OFF: {
    uint64_t flow = e->other != DF_LOG_NO_DEFERRED ? ++t->next_flow : 0;
    begin_event(t, "handed off", "hand-off", e->time, 0, d, i, flow, false);
    put_result(t, "result", e);
    put_other(t, "to", e->other);
    if (flow) { /* and where it arrived */
      end_event(t);
      begin_event(t, "got result", "hand-off", e->time, 0, e->other, i, flow,
                  true);
      put_result(t, "result", e);
      put_other(t, "from", d);
    }
    break;
  }
  case DF_EVENT_CHAINED: {
    uint64_t flow = 0;
    if (e->other != DF_LOG_NO_DEFERRED) t->flow_into[e->other] = flow = ++t->next_flow;
    begin_event(t, "chain_deferred", "chained", e->time, 0, d, i, flow, false);
    put_result(t, "result", e);
    put_other(t, "fires", e->other);
    break;
  }
  case DF_EVENT_PAUSED:
    begin_event(t, "paused", "paused", e->time, 0, d, i, 0, false);
    break;
  case DF_EVENT_FINISHED:
    begin_event(t, "finished", "finished", e->time, 0, d, i, 0, false);
    put_result(t, "result", e);
    break;
  }
  end_event(t);
}

/* --- tracks ------------------------------------------------------------------ */

static bool same_serial(const void *key, uint32_t index, const void *context) {
  const df_firing_log *log = context;
  return df_firing_log_deferred(log, index)->serial == *(const uint32_t *)key;
}

/* Track ids: each deferred's serial, except that a second deferred with
 * the serial of another (made on another thread) gets a number above
 * every serial. DF_ENOMEM if the table cannot be made. */
static int assign_tracks(trace *t) {
  size_t n = df_firing_log_deferred_count(t->log);
  uint32_t max = 0;
  for (size_t d = 0; d < n; d++) {
    uint32_t s = df_firing_log_deferred(t->log, d)->serial;
    if (s > max) max = s;
  }
  df__index_table seen;
  df__index_table_init(&seen);
  if (df__index_table_reserve(&seen, n) != 0) return DF_ENOMEM;
  uint32_t spare = max;
  for (uint32_t d = 0; d < n; d++) {
    uint32_t s = df_firing_log_deferred(t->log, d)->serial;
    uint32_t hash = df__hash_bytes(DF__HASH_START, &s, sizeof s);
    if (df__index_table_find(&seen, hash, same_serial, &s, t->log) != UINT32_MAX) {
      t->tids[d] = ++spare;
    } else {
      df__index_table_insert(&seen, hash, d);
      t->tids[d] = s;
    }
  }
  df__index_table_free(&seen);
  return 0;
}

/* When each wait ended: at the first hand-off to its waiter after it. */
static void find_wait_ends(trace *t, uint32_t *open_wait) {
  size_t count = df_firing_log_count(t->log);
  size_t n = df_firing_log_deferred_count(t->log);
  for (size_t d = 0; d < n; d++) open_wait[d] = UINT32_MAX;
  for (size_t i = 0; i < count; i++) {
    const df_log_event *e = df_firing_log_event(t->log, i);
    t->wait_ends[i] = NAN;
    if (e->kind == DF_EVENT_WAITING) {
      open_wait[e->deferred] = (uint32_t)i;
    } else if (e->kind == DF_EVENT_HANDED_OFF && e->other != DF_LOG_NO_DEFERRED &&
               open_wait[e->other] != UINT32_MAX) {
      t->wait_ends[open_wait[e->other]] = e->time;
      open_wait[e->other] = UINT32_MAX;
    }
  }
}

static void write_tracks(trace *t) {
  df__out *o = t->o;
  df__out_puts(o, "\n{\"name\": \"process_name\", \"ph\": \"M\", \"ts\": 0, "
                  "\"pid\": 1, \"tid\": 0, \"args\": {\"name\": \"libdeferred "
                  "firing log\"}}");
  t->first = false;
  size_t n = df_firing_log_deferred_count(t->log);
  for (uint32_t d = 0; d < n; d++) {
    const df_log_deferred *ld = df_firing_log_deferred(t->log, d);
    char site[1200], name[1300];
    snprintf(name, sizeof name, "Deferred#%u %s", ld->serial,
             df__site_text(ld->created.file, ld->created.line, ld->created.func,
                           site, sizeof site));
    df__out_printf(o, ",\n{\"name\": \"thread_name\", \"ph\": \"M\", \"ts\": 0, "
                      "\"pid\": 1, \"tid\": %lu, \"args\": {\"name\": ",
                   (unsigned long)t->tids[d]);
    put_string(o, name);
    df__out_printf(o, "}},\n{\"name\": \"thread_sort_index\", \"ph\": \"M\", "
                      "\"ts\": 0, \"pid\": 1, \"tid\": %lu, \"args\": "
                      "{\"sort_index\": %u}}",
                   (unsigned long)t->tids[d], d);
  }
}

int df_firing_log_write_trace(const df_firing_log *log, FILE *out) {
  if (!log || !out) return DF_EINVAL;
  size_t count = df_firing_log_count(log);
  size_t n = df_firing_log_deferred_count(log);
  trace t = {log, NULL, NULL, NULL, NULL, 0, true};
  uint32_t *open_wait = NULL;
  int rc = DF_ENOMEM;
  t.tids = df__malloc((n ? n : 1) * sizeof *t.tids);
  t.flow_into = df__malloc((n ? n : 1) * sizeof *t.flow_into);
  t.wait_ends = df__malloc((count ? count : 1) * sizeof *t.wait_ends);
  open_wait = df__malloc((n ? n : 1) * sizeof *open_wait);
  if (!t.tids || !t.flow_into || !t.wait_ends || !open_wait ||
      assign_tracks(&t) != 0)
    goto done;
  memset(t.flow_into, 0, (n ? n : 1) * sizeof *t.flow_into);
  find_wait_ends(&t, open_wait);
  df__out o = {out, 0};
  t.o = &o;
  df__out_puts(&o, "{\"traceEvents\": [");
  write_tracks(&t);
  for (size_t i = 0; i < count && !o.error; i++) write_event(&t, i);
  df__out_printf(&o, "\n],\n\"displayTimeUnit\": \"ms\",\n\"otherData\": "
                     "{\"recorder\": \"libdeferred firing log\", \"version\": "
                     "\"%s\", \"events\": %zu, \"deferreds\": %zu, "
                     "\"dropped_events\": %llu, \"max_events\": %zu}}\n",
                 DF_VERSION_STRING, count, n,
                 (unsigned long long)df_firing_log_dropped(log),
                 df_firing_log_capacity(log));
  rc = df__out_finish(&o);
done:
  df__free(t.tids);
  df__free(t.flow_into);
  df__free(t.wait_ends);
  df__free(open_wait);
  if (rc == DF_ENOMEM) errno = ENOMEM;
  return rc;
}

int df_firing_log_write_trace_file(const df_firing_log *log,
                                   const char *path) {
  return df__write_to_path(log, path, df_firing_log_write_trace);
}
