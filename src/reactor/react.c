/* df_react: Twisted's task.react, a command-line program as one function
 * returning a deferred.
 *
 * As in Twisted, a before-shutdown trigger notes that the reactor is
 * stopping by itself (a signal, df_reactor_stop); when main's deferred
 * fires, the reactor is stopped unless it already is, from a
 * call_when_running function so that a deferred that fired before the
 * loop started still stops it once it runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct react_state {
  df_reactor *r;
  int status;
  bool stopping;
} react_state;

static df_deferred *note_stopping(void *arg) {
  ((react_state *)arg)->stopping = true;
  return NULL;
}

static void stop_reactor(void *arg) { df_reactor_stop(arg); }

static df_result main_finished(df_result result, void *arg) {
  react_state *st = arg;
  if (df_result_is_failure(result)) {
    df_failure *f = result.u.failure;
    if (df_failure_check(f, &df_error_system_exit)) {
      st->status = df_system_exit_status(f);
    } else {
      char *text = df_failure_traceback(f);
      fprintf(stderr, "main function encountered error\n%s", text ? text : "");
      if (text && text[0] && text[strlen(text) - 1] != '\n') fputc('\n', stderr);
      free(text);
      st->status = 1;
    }
  }
  df_result_drop(result);
  if (!st->stopping) df_reactor_call_when_running(st->r, stop_reactor, st->r);
  return df_none();
}

int df_react(df_react_main main, int argc, char **argv) {
  df_reactor *r;
  int rc = df_uv_reactor_new(&r);
  if (rc < 0) {
    fprintf(stderr, "react: could not make a reactor: %s\n", uv_strerror(rc));
    return 1;
  }
  react_state st = {r, 0, false};
  df_reactor_add_system_event_trigger(r, DF_PHASE_BEFORE, DF_SYSTEM_SHUTDOWN,
                                      note_stopping, &st, NULL);
  df_deferred *d = main ? main(r, argc, argv) : NULL;
  if (!d) {
    fprintf(stderr, "main function encountered error\n%s\n",
            main ? "it returned no deferred (out of memory?)"
                 : "no main function");
    df_reactor_free(r);
    return 1;
  }
  if (df_deferred_add_both(d, main_finished, &st) < 0) {
    fprintf(stderr, "react: out of memory\n");
    df_deferred_unref(d);
    df_reactor_free(r);
    return 1;
  }
  df_deferred_unref(d);
  df_reactor_run(r);
  df_reactor_free(r);
  return st.status;
}
