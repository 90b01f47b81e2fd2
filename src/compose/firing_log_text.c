/* The firing log as text (deferred/firing_log.h): one line per event,
 * worded as df_event_describe (src/core/observe.c) words the live event,
 * after the time, so that a recorded log reads like the observer's trace
 * (and the suite checks that they agree, event by event). Built on the
 * log's public accessors only. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static unsigned serial(const df_firing_log *log, uint32_t i) {
  const df_log_deferred *d = df_firing_log_deferred(log, i);
  return d ? d->serial : 0;
}

/* The name of the function a stage ran, "" when it has none (as
 * df__site_name: a side added as NULL is stringified "NULL"). */
static const char *stage_name(const df_log_event *e) {
  if (!e->site) return "";
  const char *name = e->errback ? e->site->errback_name : e->site->callback_name;
  if (!name || strcmp(name, "NULL") == 0 || strcmp(name, "0") == 0) return "";
  return name;
}

static const char *text_or(const char *text) { return text ? text : "?"; }

size_t df_firing_log_describe(const df_firing_log *log, size_t i, char *buf,
                              size_t size) {
  if (size) buf[0] = '\0';
  const df_log_event *e = df_firing_log_event(log, i);
  if (!e) return 0;
  const char *side = e->errback ? "errback" : "callback";
  const char *result = text_or(e->result_text);
  unsigned other = serial(log, e->other);
  char head[64], tail[1200] = "";
  snprintf(head, sizeof head, "[%f] Deferred#%u", e->time,
           serial(log, e->deferred));
  int n = 0;
  switch (e->kind) {
  case DF_EVENT_FIRED:
    if (e->other != DF_LOG_NO_DEFERRED)
      snprintf(tail, sizeof tail, " by chain_deferred from Deferred#%u", other);
    else if (e->fired_at.file)
      snprintf(tail, sizeof tail, " at %s:%d in %s", e->fired_at.file,
               e->fired_at.line, e->fired_at.func ? e->fired_at.func : "?");
    n = snprintf(buf, size, "%s fired with %s%s", head, result, tail);
    break;
  case DF_EVENT_STAGE: {
    const char *name = stage_name(e);
    n = snprintf(buf, size, "%s stage %u %s %s: %s -> %s", head, e->stage, side,
                 *name ? name : "(unnamed)", text_or(e->input_text), result);
    break;
  }
  case DF_EVENT_PASSED:
    n = snprintf(buf, size, "%s stage %u %s (none): %s passed through", head,
                 e->stage, side, result);
    break;
  case DF_EVENT_WAITING:
    n = snprintf(buf, size, "%s waits on Deferred#%u", head, other);
    break;
  case DF_EVENT_TOOK:
    n = snprintf(buf, size, "%s took %s from Deferred#%u", head, result, other);
    break;
  case DF_EVENT_HANDED_OFF:
    n = snprintf(buf, size, "%s handed %s to Deferred#%u", head, result, other);
    break;
  case DF_EVENT_CHAINED:
    n = snprintf(buf, size, "%s chain_deferred fires Deferred#%u with %s", head,
                 other, result);
    break;
  case DF_EVENT_PAUSED:
    n = snprintf(buf, size, "%s is paused: the walk stops here", head);
    break;
  case DF_EVENT_FINISHED:
    n = snprintf(buf, size, "%s finished a pass with %s", head, result);
    break;
  }
  return n < 0 ? 0 : (size_t)n;
}

int df_firing_log_write_text(const df_firing_log *log, FILE *out) {
  if (!log || !out) return DF_EINVAL;
  df__out o = {out, 0};
  size_t count = df_firing_log_count(log);
  df__out_printf(&o, "# firing log: %zu events about %zu deferreds, %llu dropped\n",
                 count, df_firing_log_deferred_count(log),
                 (unsigned long long)df_firing_log_dropped(log));
  char line[4096];
  for (size_t i = 0; i < count && !o.error; i++) {
    size_t n = df_firing_log_describe(log, i, line, sizeof line);
    (void)n; /* a longer line is cut: texts are bounded well below this */
    df__out_line_text(&o, line);
    df__out_puts(&o, "\n");
  }
  return df__out_finish(&o);
}
