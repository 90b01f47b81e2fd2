/* Text: failure tracebacks (rule FA3, in C terms) and the unhandled-failure
 * report with its causal trace.
 *
 * C has no frames to walk, so a traceback is made of the sites the library
 * recorded for free: where the deferred that caught the failure was fired
 * (the "stack" above the catch point), the "--- <exception caught here> ---"
 * marker, the stage whose callback turned the result into a failure, and
 * the df_raise site. The causal trace then tells the rest of the story:
 * every errback it passed, every deferred it was handed to, and where it
 * was left unhandled. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deferred/report.h"
#include "internal.h"

/* --- a small growable string ------------------------------------------- */

void df__sb_printf(df_strbuf *sb, const char *fmt, ...) {
  if (sb->failed) return;
  va_list ap;
  va_start(ap, fmt);
  char tmp[1];
  va_list again;
  va_copy(again, ap);
  int n = vsnprintf(tmp, 0, fmt, ap);
  va_end(ap);
  if (n < 0) {
    va_end(again);
    return;
  }
  if (sb->len + (size_t)n + 1 > sb->cap) {
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < sb->len + (size_t)n + 1) cap *= 2;
    char *data = df__realloc(sb->data, cap);
    if (!data) {
      sb->failed = true;
      va_end(again);
      return;
    }
    sb->data = data;
    sb->cap = cap;
  }
  vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, again);
  va_end(again);
  sb->len += (size_t)n;
}

void df__sb_site(df_strbuf *sb, const char *file, int line, const char *func) {
  df__sb_printf(sb, "%s:%d in %s", file ? file : "?", line,
                func ? func : "?");
}

/* Hand the text to the caller, allocated with plain malloc so that they
 * can free() it whatever allocator the library uses. */
char *df__sb_finish(df_strbuf *sb) {
  char *out = NULL;
  if (sb->data && !sb->failed) {
    out = malloc(sb->len + 1);
    if (out) memcpy(out, sb->data, sb->len + 1);
  }
  df__free(sb->data);
  sb->data = NULL;
  sb->len = sb->cap = 0;
  return out;
}

const char *df__site_file(const df_stage_site *site) {
  return site && site->file ? site->file : "?";
}
const char *df__site_func(const df_stage_site *site) {
  return site && site->func ? site->func : "?";
}
int df__site_line(const df_stage_site *site) { return site ? site->line : 0; }

const char *df__site_name(const df_stage_site *site, bool errback_side) {
  if (!site) return "";
  const char *name = errback_side ? site->errback_name : site->callback_name;
  if (!name || strcmp(name, "NULL") == 0 || strcmp(name, "0") == 0) return "";
  return name;
}

/* --- tracebacks ---------------------------------------------------------- */

static void frame(df_strbuf *sb, const char *file, int line, const char *func) {
  df__sb_printf(sb, "  File \"%s\", line %d, in %s\n", file ? file : "?", line,
                func ? func : "?");
}

static void stage_words(df_strbuf *sb, const df_trace_entry *e) {
  const char *name = df__site_name(e->site, e->errback_side);
  df__sb_printf(sb, "stage %u %s%s%s", e->stage_index,
                e->errback_side ? "errback" : "callback", *name ? " " : "",
                name);
}

static void traceback_one(df_strbuf *sb, const df_failure *f) {
  df__sb_printf(sb, "Traceback (most recent call last):\n");
  if (f->caught && f->origin.deferred_fired.file) {
    const df_trace_entry *o = &f->origin;
    frame(sb, o->deferred_fired.file, o->deferred_fired.line,
          o->deferred_fired.func);
    df__sb_printf(sb, "    fired <Deferred at %p>\n", o->deferred);
  }
  if (f->caught) df__sb_printf(sb, "%s\n", DF_EXCEPTION_CAUGHT_HERE);
  if (f->caught && f->origin.kind == DF_TRACE_RAISED_IN_STAGE) {
    const df_trace_entry *o = &f->origin;
    frame(sb, df__site_file(o->site), df__site_line(o->site),
          df__site_func(o->site));
    df__sb_printf(sb, "    ");
    stage_words(sb, o);
    df__sb_printf(sb, "\n");
  }
  if (!f->is_static) {
    frame(sb, f->raised.file, f->raised.line, f->raised.func);
    df__sb_printf(sb, "    raised %s\n", f->type->name);
  }
  df__sb_printf(sb, "%s: %s\n", f->type->name, df_failure_message(f));
  if (f->backtrace) {
    df__sb_printf(sb, "Native backtrace where it was raised:\n");
    df__backtrace_append(f->backtrace, "    ", sb);
  }
}

/* Causes first, as Python prints chained exceptions. */
static void traceback_chain(df_strbuf *sb, const df_failure *f) {
  const df_failure *chain[64];
  int n = 0;
  for (const df_failure *c = f; c && n < 64; c = c->cause) chain[n++] = c;
  for (int i = n - 1; i >= 0; i--) {
    traceback_one(sb, chain[i]);
    if (i > 0)
      df__sb_printf(sb, "\nThe above failure was the direct cause of the "
                        "following failure:\n\n");
  }
}

char *df_failure_traceback(const df_failure *f) {
  if (!f) return NULL;
  df_strbuf sb = {0};
  traceback_chain(&sb, f);
  return df__sb_finish(&sb);
}

size_t df_failure_brief(const df_failure *f, char *buf, size_t size) {
  int n = f ? snprintf(buf, size, "%s: %s", f->type->name,
                       df_failure_message(f))
            : snprintf(buf, size, "(no failure)");
  return n < 0 ? 0 : (size_t)n;
}

void df_failure_print(const df_failure *f, FILE *out) {
  char *text = df_failure_traceback(f);
  if (text) {
    fputs(text, out);
    free(text);
  } else {
    char brief[256];
    df_failure_brief(f, brief, sizeof brief);
    fprintf(out, "%s\n", brief);
  }
}

/* --- the causal trace -------------------------------------------------- */

static void deferred_words(df_strbuf *sb, const void *d, df_site created) {
  df__sb_printf(sb, "<Deferred at %p> (created at ", d);
  df__sb_site(sb, created.file, created.line, created.func);
  df__sb_printf(sb, ")");
}

static void added_at(df_strbuf *sb, const df_trace_entry *e) {
  df__sb_printf(sb, " (added at ");
  df__sb_site(sb, df__site_file(e->site), df__site_line(e->site),
              df__site_func(e->site));
  df__sb_printf(sb, ")");
}

static void trace_entry(df_strbuf *sb, const df_trace_entry *e,
                        const df_failure *f) {
  df__sb_printf(sb, "  ");
  switch (e->kind) {
  case DF_TRACE_RAISED_IN_STAGE:
    deferred_words(sb, e->deferred, e->deferred_created);
    if (e->deferred_fired.file) {
      df__sb_printf(sb, ", fired at ");
      df__sb_site(sb, e->deferred_fired.file, e->deferred_fired.line,
                  e->deferred_fired.func);
    }
    df__sb_printf(sb, "\n  ");
    stage_words(sb, e);
    added_at(sb, e);
    df__sb_printf(sb, " failed: %s raised at ", f->type->name);
    df__sb_site(sb, f->raised.file, f->raised.line, f->raised.func);
    break;
  case DF_TRACE_FIRED:
    deferred_words(sb, e->deferred, e->deferred_created);
    df__sb_printf(sb, " was fired with it at ");
    df__sb_site(sb, e->deferred_fired.file, e->deferred_fired.line,
                e->deferred_fired.func);
    df__sb_printf(sb, " (%s raised at ", f->type->name);
    df__sb_site(sb, f->raised.file, f->raised.line, f->raised.func);
    df__sb_printf(sb, ")");
    break;
  case DF_TRACE_PASSED:
    df__sb_printf(sb, "stage %u", e->stage_index);
    added_at(sb, e);
    df__sb_printf(sb, " has no errback: passed it on");
    break;
  case DF_TRACE_RETURNED:
    stage_words(sb, e);
    added_at(sb, e);
    df__sb_printf(sb, " returned it");
    break;
  case DF_TRACE_HANDED_OFF:
    df__sb_printf(sb, "handed to ");
    deferred_words(sb, e->deferred, e->deferred_created);
    df__sb_printf(sb, ", which was waiting on it");
    break;
  case DF_TRACE_TAKEN:
    df__sb_printf(sb, "taken over by ");
    deferred_words(sb, e->deferred, e->deferred_created);
    df__sb_printf(sb, ", whose callback returned the deferred holding it");
    break;
  case DF_TRACE_CHAINED:
    df__sb_printf(sb, "passed by chain_deferred to ");
    deferred_words(sb, e->deferred, e->deferred_created);
    break;
  default:
    break;
  }
  df__sb_printf(sb, "\n");
}

char *df_unhandled_format(const df_unhandled *r) {
  if (!r || !r->failure) return NULL;
  const df_failure *f = r->failure;
  df_strbuf sb = {0};
  df__sb_printf(&sb, "Unhandled error in Deferred:\n");
  traceback_chain(&sb, f);
  df__sb_printf(&sb, "Causal trace:\n");
  if (f->caught) trace_entry(&sb, &f->origin, f);
  uint32_t shown = f->path_len < DF_FAILURE_PATH_MAX ? f->path_len
                                                     : DF_FAILURE_PATH_MAX;
  for (uint32_t i = 0; i < shown; i++) trace_entry(&sb, &f->path[i], f);
  if (f->path_len > shown)
    df__sb_printf(&sb, "  ... and %u more steps\n",
                  (unsigned)(f->path_len - shown));
  df__sb_printf(&sb, "  never handled: it was left in ");
  deferred_words(&sb, r->deferred, r->created);
  df__sb_printf(&sb, r->at_exit ? ", still alive at exit\n"
                                : ", whose last reference was released\n");
  const df_deferred *d = r->deferred;
  if (df__debug_of(d)) {
    df__sb_printf(&sb, "Native backtrace where that deferred was created:\n");
    df__backtrace_append(&d->debug->created, "    ", &sb);
    df__sb_printf(&sb, "Native backtrace where it was first fired:\n");
    df__backtrace_append(&d->debug->fired, "    ", &sb);
  }
  return df__sb_finish(&sb);
}
