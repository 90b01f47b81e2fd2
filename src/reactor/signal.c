/* Signals: SIGINT and SIGTERM stop a running libuv reactor (Twisted's
 * installSignalHandlers), and SIGPIPE is ignored so that a write to a
 * connection the peer has closed ends that connection instead of the
 * process.
 *
 * The watchers are libuv's (uv_signal_t): every loop watching a signal
 * is told, so a signal stops every reactor of the process, each on its
 * own thread. They do not keep the loop alive (uv_unref), and closing
 * the last watcher of a signal puts its default disposition back. */
#include <signal.h>

#include "internal.h"

void df__ignore_sigpipe(void) {
  struct sigaction old;
  if (sigaction(SIGPIPE, NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) &&
      old.sa_handler == SIG_DFL) {
    struct sigaction ignore = {0};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPIPE, &ignore, NULL);
  }
}

struct df__uv_signals {
  df__uv_reactor *ur;
  df_reactor *r;
  uv_signal_t watchers[2]; /* SIGINT, SIGTERM */
  int open;
};

static void on_signal(uv_signal_t *w, int signum) {
  (void)signum;
  df__uv_signals *s = w->data;
  /* A second signal while stopping is ignored, as is one before the
   * reactor runs. */
  if (s->r->state == DF__REACTOR_RUNNING) df_reactor_stop(s->r);
}

static void watcher_closed(uv_handle_t *h) {
  df__uv_signals *s = h->data;
  df__uv_release(s->ur);
  if (--s->open == 0) df__uv_free(s);
}

int df__uv_signals_start(df__uv_reactor *ur, df_reactor *r,
                         df__uv_signals **out) {
  static const int signums[2] = {SIGINT, SIGTERM};
  df__uv_signals *s = df__uv_calloc(1, sizeof *s);
  *out = s;
  if (!s) return DF_ENOMEM;
  s->ur = ur;
  s->r = r;
  int rc = 0;
  /* uv_signal_init can fail (the loop's first one opens a pipe: EMFILE);
   * a watcher that was not initialised is neither counted nor closed. */
  for (int i = 0; i < 2 && rc == 0; i++) {
    rc = uv_signal_init(df__uv_loop(ur), &s->watchers[i]);
    if (rc < 0) break;
    s->watchers[i].data = s;
    s->open++;
    df__uv_hold(ur);
    uv_unref((uv_handle_t *)&s->watchers[i]);
    rc = uv_signal_start(&s->watchers[i], on_signal, signums[i]);
  }
  if (rc < 0) {
    if (s->open)
      df__uv_signals_stop(s); /* the last watcher_closed frees s */
    else
      df__uv_free(s);
    *out = NULL;
  }
  return rc;
}

void df__uv_signals_stop(df__uv_signals *s) {
  if (!s) return;
  int n = s->open; /* the close callbacks run later, from the loop */
  for (int i = 0; i < n; i++)
    uv_close((uv_handle_t *)&s->watchers[i], watcher_closed);
}
