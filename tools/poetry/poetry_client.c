/* Downloading one poem (poetry_client.h): the tutorial's PoetryProtocol
 * and get_poetry, on an endpoint.
 *
 * Two deferreds make a download, so that the caller gets one:
 *
 *   connect (df_connect_protocol)  fires with the protocol once connected
 *      │ callback: wait on ──────> done (the receiver's), fired by
 *      │                           connection_lost: the poem, or why not
 *      └ note_end: the progress says received / failed
 *
 * The receiver (the protocol) accumulates the bytes and keeps one delayed
 * call, the timeout, pushed back each time bytes arrive. When it expires
 * (or the poem grows too long) the receiver records why in `why` and
 * aborts the connection; connection_lost then fails `done` with that
 * reason instead of the ConnectionAborted it is given. The transport owns
 * the receiver (protocol.h); `done` is held by the receiver until it is
 * fired and by the connect deferred's stage until that has run, so it
 * outlives whichever goes first. */
#include "poetry_client.h"

#include <stdlib.h>

DF_ERROR_TYPE(poetry_too_long_error, "PoemTooLongError", &df_error_exception);

typedef struct receiver {
  df_protocol base;
  poem *poem;
  df_deferred *done;     /* our reference, until fired */
  df_clock *clock;
  double timeout;        /* 0: none */
  df_delayed_call *idle; /* the timeout while connected (a reference) */
  poetry_progress *progress;
  df_failure *why;       /* why we aborted, for connection_lost */
  char peer[DF_ADDRESS_TEXT_SIZE];
} receiver;

static void stop_timer(receiver *r) {
  if (!r->idle) return;
  df_delayed_call_cancel(r->idle); /* harmless once it has run */
  df_delayed_call_unref(r->idle);
  r->idle = NULL;
}

/* End the connection now because of `why` (reference taken). */
static void give_up(receiver *r, df_failure *why) {
  if (r->why) {
    df_failure_unref(why); /* the first reason stands */
    return;
  }
  r->why = why;
  df_transport_abort_connection(r->base.transport);
}

static void timed_out(void *arg) {
  receiver *r = arg;
  give_up(r, df_failure_new(&df_error_timeout, "no bytes from %s for %g seconds",
                            r->peer, r->timeout));
}

static void receiver_made(df_protocol *p) {
  receiver *r = (receiver *)p;
  df_address peer;
  if (df_transport_get_peer(p->transport, &peer) == 0)
    df_address_format(&peer, r->peer, sizeof r->peer);
  if (r->progress) r->progress->stage = POETRY_RECEIVING;
  if (r->timeout > 0 &&
      df_clock_call_later(r->clock, r->timeout, timed_out, r, &r->idle) < 0)
    give_up(r, df_failure_new(&df_error_no_memory, "no memory for a timer"));
}

static void receiver_data(df_protocol *p, const char *data, size_t len) {
  receiver *r = (receiver *)p;
  if (r->why) return; /* aborting */
  if (len > POETRY_MAX_POEM - r->poem->len) {
    give_up(r, df_failure_new(&poetry_too_long_error, "%s sent more than %u "
                              "bytes: too long for a poem", r->peer,
                              POETRY_MAX_POEM));
    return;
  }
  if (poem_append(r->poem, data, len) < 0) {
    give_up(r, df_failure_new(&df_error_no_memory, "no memory for the poem "
                              "from %s", r->peer));
    return;
  }
  if (r->progress) r->progress->bytes = r->poem->len;
  if (r->idle) df_delayed_call_reset(r->idle, r->timeout);
}

static void receiver_lost(df_protocol *p, df_failure *reason) {
  receiver *r = (receiver *)p;
  stop_timer(r);
  df_deferred *done = r->done;
  r->done = NULL;
  if (df_deferred_called(done)) { /* cancelled: it has its CancelledError */
  } else if (r->why) {
    df_deferred_errback(done, r->why);
    r->why = NULL;
  } else if (df_failure_check(reason, &df_error_connection_done)) {
    df_deferred_callback(done, poem_result(r->poem));
    r->poem = NULL;
  } else {
    df_deferred_errback(done, df_failure_ref(reason));
  }
  df_deferred_unref(done);
}

/* Also the release of a receiver that never connected. */
static void receiver_free(df_protocol *p) {
  receiver *r = (receiver *)p;
  stop_timer(r);
  df_deferred_unref(r->done);
  df_failure_unref(r->why);
  poem_free(r->poem);
  free(r);
}

static const df_protocol_type receiver_type = {
    .name = "PoetryReceiver",
    .size = sizeof(receiver),
    .connection_made = receiver_made,
    .data_received = receiver_data,
    .connection_lost = receiver_lost,
    .free = receiver_free,
};

/* Cancelling `done` (the caller cancelled while connected): abort; the
 * library fails `done` with CancelledError, and connection_lost, which
 * comes later, finds it fired. */
static void cancel_download(df_deferred *d, void *arg) {
  (void)d;
  receiver *r = arg;
  stop_timer(r);
  df_transport_abort_connection(r->base.transport);
}

static void release_deferred(void *d) { df_deferred_unref(d); }

/* Connected: the result is the protocol (owning nothing); wait on `done`. */
static df_result wait_for_poem(df_result connected, void *done) {
  df_result_drop(connected);
  return df_wait_on(df_deferred_ref(done));
}

/* Stop an attempt and drop its outcome (a failure nobody will see is
 * not reported: taking the result handles it). */
static void abandon(df_deferred *d) {
  df_deferred_cancel(d);
  df_result outcome;
  if (df_deferred_take_result(d, &outcome) == 0) df_result_drop(outcome);
  df_deferred_unref(d);
}

static df_result note_end(df_result r, void *arg) {
  poetry_progress *progress = arg;
  progress->stage = df_result_is_failure(r) ? POETRY_FAILED : POETRY_RECEIVED;
  return r;
}

df_deferred *poetry_get(df_endpoint *ep, df_clock *clock, double timeout,
                        poetry_progress *progress) {
  receiver *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  df_protocol_init(&r->base, &receiver_type);
  r->clock = clock;
  r->timeout = timeout > 0 ? timeout : 0;
  r->progress = progress;
  r->poem = poem_new();
  r->done = r->poem ? df_deferred_new_with_canceller(cancel_download, r) : NULL;
  if (!r->done) {
    receiver_free(&r->base);
    return NULL;
  }
  if (progress) *progress = (poetry_progress){0, POETRY_CONNECTING};
  df_deferred *done = df_deferred_ref(r->done);
  df_deferred *d = df_connect_protocol(ep, &r->base); /* takes over r */
  if (!d) {
    df_deferred_unref(done);
    return NULL;
  }
  if (df_deferred_add_owned(d, wait_for_poem, NULL, done, release_deferred) < 0 ||
      (progress && df_deferred_add_both(d, note_end, progress) < 0)) {
    abandon(d); /* out of memory: undo the attempt */
    return NULL;
  }
  return d;
}
