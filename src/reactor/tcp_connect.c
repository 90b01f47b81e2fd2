/* Connection attempts of the libuv reactor (the implementation side of
 * connector.c): resolve the host, then try its addresses in order, each
 * with uv_tcp_connect, until one connects.
 *
 *   kick (next loop iteration) ──> resolving ──> connecting to address i
 *                                                   │ refused: i + 1
 *                                                   └ connected: df__connector_connected
 *   no address left: df__connector_failed with the last address's error
 *
 * The attempt starts from a delayed call of delay 0, as Twisted's
 * BaseClient does, so that a failure (even one known at once, as a
 * refused numeric address or a hosts-table miss) reaches the factory
 * from the loop, never inside df_reactor_connect_tcp.
 *
 * Stopping (timeout, stop_connecting, shutdown) detaches the attempt from
 * its connector (a->c = NULL) and ends whatever is under way: the kick is
 * cancelled, the resolution cancelled, the connecting socket closed. The
 * attempt is then freed by whichever callback comes last, which sees it
 * detached and reports nothing. */
#include <string.h>

#include "internal.h"

typedef struct attempt {
  df_connector *c; /* NULL once stopped */
  df__uv_reactor *ur;
  df_delayed_call *kick;  /* until it runs (a reference)            */
  df_deferred *resolving; /* while resolving (a reference)          */
  df_address_list *addresses;
  size_t next;            /* the next address to try                */
  df__tcp_conn *conn;     /* while connecting                       */
  uv_connect_t req;
  df_failure *last_error;
  char what[DF_ADDRESS_TEXT_SIZE]; /* the address being tried, as text */
} attempt;

static void free_attempt(attempt *a) {
  df_address_list_free(a->addresses);
  df_failure_unref(a->last_error);
  df_deferred_unref(a->resolving);
  df_delayed_call_unref(a->kick);
  df__uv_free(a);
}

static void set_error(attempt *a, df_failure *f) {
  df_failure_unref(a->last_error);
  a->last_error = f;
}

/* Every address failed (or there was none): tell the connector. */
static void give_up(attempt *a) {
  df_connector *c = a->c;
  df_failure *why = a->last_error;
  a->last_error = NULL;
  if (!why)
    why = df_failure_new(&df_error_connect,
                         "An error occurred while connecting: %s: no address "
                         "to connect to", c->host);
  free_attempt(a);
  df__connector_failed(c, why);
  df_failure_unref(why);
}

static void connect_done(uv_connect_t *req, int status);

static void try_next(attempt *a) {
  df_address bind;
  bool bound = a->c->bind_address &&
               df_address_parse(&bind, a->c->bind_address, 0) == 0;
  while (a->addresses && a->next < a->addresses->count) {
    const df_address *to = &a->addresses->items[a->next++];
    df_address_format(to, a->what, sizeof a->what);
    df__tcp_conn *conn = df__tcp_conn_new(a->ur);
    if (!conn) {
      set_error(a, df__connect_failure(UV_ENOMEM, a->what));
      break;
    }
    uv_tcp_t *h = df__tcp_conn_handle(conn);
    if (bound) {
      int rc = uv_tcp_bind(h, &bind.u.sa, 0);
      if (rc < 0) {
        set_error(a, df_network_failure(&df_error_connect_bind, rc,
                                        "Couldn't bind: %s",
                                        a->c->bind_address));
        df__tcp_conn_discard(conn);
        continue;
      }
    }
    int rc = uv_tcp_connect(&a->req, h, &to->u.sa, connect_done);
    if (rc < 0) {
      set_error(a, df__connect_failure(rc, a->what));
      df__tcp_conn_discard(conn);
      continue;
    }
    a->conn = conn;
    return;
  }
  give_up(a);
}

static void connect_done(uv_connect_t *req, int status) {
  attempt *a = DF__CONTAINER_OF(req, attempt, req);
  df__tcp_conn *conn = a->conn;
  a->conn = NULL;
  if (!a->c) {
    /* Stopped: the socket was closed by stop_attempt (UV_ECANCELED). */
    free_attempt(a);
    return;
  }
  if (status == 0) status = df__tcp_conn_start(conn);
  if (status < 0) {
    set_error(a, df__connect_failure(status, a->what));
    df__tcp_conn_discard(conn);
    try_next(a);
    return;
  }
  df_connector *c = a->c;
  free_attempt(a);
  df__connector_connected(c, df__tcp_conn_transport(conn));
}

/* --- resolving ---------------------------------------------------------------- */

static df_result resolved(df_result r, void *arg) {
  attempt *a = arg;
  a->addresses = df_result_take(&r);
  df_result_drop(r);
  if (!a->c) {
    free_attempt(a);
    return df_none();
  }
  df_deferred_unref(a->resolving);
  a->resolving = NULL;
  try_next(a);
  return df_none();
}

static df_result resolve_failed(df_result r, void *arg) {
  attempt *a = arg;
  if (!a->c) {
    free_attempt(a); /* cancelled by stop_attempt */
    df_result_drop(r);
    return df_none();
  }
  df_deferred_unref(a->resolving);
  a->resolving = NULL;
  set_error(a, df_failure_ref(r.u.failure));
  df_result_drop(r);
  give_up(a);
  return df_none();
}

static void kick_off(void *arg) {
  attempt *a = arg;
  df_delayed_call_unref(a->kick);
  a->kick = NULL;
  df_connector *c = a->c;
  a->addresses = df__numeric_address_list(c->host, c->port);
  if (a->addresses) {
    try_next(a);
    return;
  }
  df_deferred *d = df_reactor_resolve(c->reactor, c->host, c->port);
  if (!d) {
    set_error(a, df__connect_failure(UV_ENOMEM, c->host));
    give_up(a);
    return;
  }
  /* The callbacks may run now (a hosts table answers at once). */
  a->resolving = d;
  if (df_deferred_add_callbacks(d, resolved, a, resolve_failed, a) < 0) {
    set_error(a, df__connect_failure(UV_ENOMEM, c->host));
    give_up(a);
  }
}

/* --- the connector's side --------------------------------------------------------- */

int df__uv_connect(df_connector *c) {
  attempt *a = df__uv_calloc(1, sizeof *a);
  if (!a) return DF_ENOMEM;
  a->c = c;
  a->ur = df__uv_reactor_of(c->reactor);
  int rc = df_clock_call_later(c->reactor->clock, 0, kick_off, a, &a->kick);
  if (rc < 0) {
    df__uv_free(a);
    return rc;
  }
  c->attempt = a;
  return 0;
}

void df__uv_stop_attempt(df_connector *c) {
  attempt *a = c->attempt;
  c->attempt = NULL;
  if (!a) return;
  a->c = NULL;
  if (a->kick) {
    df_delayed_call_cancel(a->kick);
    free_attempt(a);
  } else if (a->resolving) {
    /* Its errback frees the attempt (now, as a rule: the resolver's
     * deferred fails with CancelledError). */
    df_deferred_cancel(a->resolving);
  } else if (a->conn) {
    /* connect_done follows with UV_ECANCELED and frees the attempt. */
    df__tcp_conn_discard(a->conn);
  } else {
    free_attempt(a);
  }
}
