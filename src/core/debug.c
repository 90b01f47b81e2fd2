/* Debug mode: native backtraces (backtrace(3)) of where deferreds are
 * created and fired and where failures are made, and the debug record a
 * deferred made in debug mode carries (created, fired, fired again,
 * released: for AlreadyCalledError's text here, the unhandled-failure
 * report in trace.c, and the reports of quarantine.c and waiting.c). Off
 * by default, on with df_set_debugging(true) or DF_DEBUG=1 in the
 * environment. */
#include <execinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

bool df__debugging;

#if defined(__GNUC__)
__attribute__((constructor))
#endif
static void read_environment(void) {
  const char *v = getenv("DF_DEBUG");
  if (v && *v && strcmp(v, "0") != 0) df__debugging = true;
}

void df_set_debugging(bool on) { df__debugging = on; }
bool df_get_debugging(void) { return df__debugging; }

void df__backtrace_capture(df_backtrace *bt, int skip) {
  void *frames[DF_BACKTRACE_MAX + 4];
  int n = backtrace(frames, DF_BACKTRACE_MAX + 4);
  skip++; /* this function */
  if (skip > n) skip = n;
  bt->depth = n - skip > DF_BACKTRACE_MAX ? DF_BACKTRACE_MAX : n - skip;
  memcpy(bt->frames, frames + skip, (size_t)bt->depth * sizeof(void *));
}

void df__backtrace_append(const df_backtrace *bt, const char *prefix,
                          df_strbuf *sb) {
  if (!bt || bt->depth <= 0) return;
  char **names = backtrace_symbols(bt->frames, bt->depth);
  for (int i = 0; i < bt->depth; i++) {
    if (names)
      df__sb_printf(sb, "%s%s\n", prefix, names[i]);
    else
      df__sb_printf(sb, "%s%p\n", prefix, bt->frames[i]);
  }
  free(names);
}

/* --- the debug record ---------------------------------------------------- */

bool df__debug_record(df_deferred *d) {
  df_debug_info *dbg = df__malloc(sizeof *dbg);
  if (!dbg) return false;
  memset(dbg, 0, sizeof *dbg);
  d->debug = dbg;
  /* Skip this frame and make_slow()'s: the public caller may or may not
   * be next, depending on whether it tail-called make_slow(). */
  df__backtrace_capture(&dbg->created, 2);
  df__live_add(d);
  return true;
}

void df__debug_refired(df_deferred *d, const char *file, int line,
                       const char *func) {
  df_debug_info *dbg = d->debug;
  dbg->refired_at.file = file;
  dbg->refired_at.line = line;
  dbg->refired_at.func = func;
  df__backtrace_capture(&dbg->refired, 2); /* and fire_again()'s frame */
}

/* --- AlreadyCalledError's text ------------------------------------------- */

/* One section of Twisted's DebugInfo._getDebugTracebacks: a heading and
 * a stack, each line after " X:", the innermost frame (the site the
 * library recorded) first, then the native backtrace. */
static void stack_section(df_strbuf *sb, const char *tag, const char *heading,
                          df_site site, const df_backtrace *bt) {
  df__sb_printf(sb, " %s: %s\n", tag, heading);
  df__sb_printf(sb, " %s:  File \"%s\", line %d, in %s\n", tag,
                site.file ? site.file : "?", site.line,
                site.func ? site.func : "?");
  char prefix[16];
  snprintf(prefix, sizeof prefix, " %s:    ", tag);
  df__backtrace_append(bt, prefix, sb);
}

df_failure *df_deferred_already_called_error_at(const df_deferred *d,
                                                const char *file, int line,
                                                const char *func) {
  const df_debug_info *dbg = d ? df__debug_of(d) : NULL;
  if (!dbg || !df__called(d))
    return df_failure_new_at(file, line, func, &df_error_already_called,
                             "already called");
  df_strbuf sb = {0};
  df__sb_printf(&sb, "already called\n");
  stack_section(&sb, "C", "Deferred was created:", d->created, &dbg->created);
  stack_section(&sb, "I", "First Invoker was:", df__fired_site(d),
                &dbg->fired);
  if (dbg->refired_at.file)
    stack_section(&sb, "A", "Fired again:", dbg->refired_at, &dbg->refired);
  char *text = df__sb_finish(&sb);
  df_failure *f = df_failure_new_at(file, line, func, &df_error_already_called,
                                    "%s", text ? text : "already called");
  free(text);
  return f;
}
