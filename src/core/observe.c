/* The firing observer: who is watching on this thread, the events the loop
 * reports to it, and their one-line descriptions.
 *
 * deferred.c calls the df__observe_* functions only when df__observer is
 * set (one thread-local test), so a thread nobody watches pays nothing
 * else. */
#include <stdio.h>

#include "internal.h"

DF_TLS df_observer_fn df__observer;
static DF_TLS void *observer_arg;

df_observer_fn df_set_observer(df_observer_fn fn, void *arg, void **old_arg) {
  df_observer_fn old = df__observer;
  if (old_arg) *old_arg = observer_arg;
  df__observer = fn;
  observer_arg = fn ? arg : NULL;
  return old;
}

uint32_t df_deferred_serial(const df_deferred *d) { return d ? d->serial : 0; }

static void emit(df_event *e) {
  df_observer_fn fn = df__observer;
  if (fn) fn(e, observer_arg);
}

static df_event event(df_event_kind kind, const df_deferred *d) {
  df_event e = {0};
  e.kind = kind;
  e.deferred = d;
  return e;
}

void df__observe_fired(const df_deferred *d, const df_deferred *by,
                       const char *file, int line, const char *func) {
  df_event e = event(DF_EVENT_FIRED, d);
  e.other = by;
  e.result = &d->result;
  e.fired_at.file = file;
  e.fired_at.line = line;
  e.fired_at.func = func;
  emit(&e);
}

void df__observe_stage(df_event_kind kind, const df_deferred *d,
                       uint32_t index, bool errback, const df_stage_site *site,
                       const char *input_text, const df_result *result) {
  df_event e = event(kind, d);
  e.stage = index;
  e.errback = errback;
  e.site = site;
  e.input_text = input_text;
  e.result = result;
  emit(&e);
}

void df__observe(df_event_kind kind, const df_deferred *d,
                 const df_deferred *other, const df_result *result) {
  df_event e = event(kind, d);
  e.other = other;
  e.result = result;
  emit(&e);
}

/* --- descriptions ------------------------------------------------------- */

static size_t put(char *buf, size_t size, size_t at, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static size_t put(char *buf, size_t size, size_t at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(at < size ? buf + at : NULL, at < size ? size - at : 0,
                    fmt, ap);
  va_end(ap);
  return at + (n < 0 ? 0 : (size_t)n);
}

static size_t put_result(char *buf, size_t size, size_t at,
                         const df_result *r) {
  char text[200];
  if (r && r->kind == DF_DEFERRED)
    snprintf(text, sizeof text, "Deferred#%u", df_deferred_serial(r->u.deferred));
  else if (r)
    df_result_describe(*r, text, sizeof text);
  else
    snprintf(text, sizeof text, "?");
  return put(buf, size, at, "%s", text);
}

size_t df_event_describe(const df_event *e, char *buf, size_t size) {
  if (size) buf[0] = '\0';
  if (!e) return 0;
  size_t n = put(buf, size, 0, "Deferred#%u ", df_deferred_serial(e->deferred));
  const char *name = df__site_name(e->site, e->errback);
  switch (e->kind) {
  case DF_EVENT_FIRED:
    n = put(buf, size, n, "fired with ");
    n = put_result(buf, size, n, e->result);
    if (e->other)
      n = put(buf, size, n, " by chain_deferred from Deferred#%u",
              df_deferred_serial(e->other));
    else if (e->fired_at.file)
      n = put(buf, size, n, " at %s:%d in %s", e->fired_at.file,
              e->fired_at.line, e->fired_at.func ? e->fired_at.func : "?");
    break;
  case DF_EVENT_STAGE:
    n = put(buf, size, n, "stage %u %s %s: %s -> ", e->stage,
            e->errback ? "errback" : "callback", *name ? name : "(unnamed)",
            e->input_text ? e->input_text : "?");
    n = put_result(buf, size, n, e->result);
    break;
  case DF_EVENT_PASSED:
    n = put(buf, size, n, "stage %u %s (none): ", e->stage,
            e->errback ? "errback" : "callback");
    n = put_result(buf, size, n, e->result);
    n = put(buf, size, n, " passed through");
    break;
  case DF_EVENT_WAITING:
    n = put(buf, size, n, "waits on Deferred#%u", df_deferred_serial(e->other));
    break;
  case DF_EVENT_TOOK:
    n = put(buf, size, n, "took ");
    n = put_result(buf, size, n, e->result);
    n = put(buf, size, n, " from Deferred#%u", df_deferred_serial(e->other));
    break;
  case DF_EVENT_HANDED_OFF:
    n = put(buf, size, n, "handed ");
    n = put_result(buf, size, n, e->result);
    n = put(buf, size, n, " to Deferred#%u", df_deferred_serial(e->other));
    break;
  case DF_EVENT_CHAINED:
    n = put(buf, size, n, "chain_deferred fires Deferred#%u with ",
            df_deferred_serial(e->other));
    n = put_result(buf, size, n, e->result);
    break;
  case DF_EVENT_PAUSED:
    n = put(buf, size, n, "is paused: the walk stops here");
    break;
  case DF_EVENT_FINISHED:
    n = put(buf, size, n, "finished a pass with ");
    n = put_result(buf, size, n, e->result);
    break;
  }
  return n;
}
