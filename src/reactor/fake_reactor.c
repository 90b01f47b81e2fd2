/* The fake reactor (fake_reactor.h): Twisted's MemoryReactorClock. It is
 * a df_reactor whose clock is the test's, whose network is recorded
 * instead of opened, and whose threads are a queue the test runs. The
 * generic parts (lifecycle.c, connector.c, port.c, transport.c) are the
 * same code the libuv reactor runs, so a connect timeout, the factory's
 * client callbacks or the shutdown sequence behave here exactly as there.
 *
 *   listen_tcp ──> a server record (+ a port that closes at once when told)
 *   connect_tcp ──> a client record, the connector's attempt; the test
 *                  completes it (connect_client) or fails it (fail_client),
 *                  or the clock runs out its timeout
 *   accept / connect_client ──> a memory transport the fake owns */
#include <string.h>

#include "internal.h"

typedef struct client_record {
  df_fake_tcp_client pub; /* pub.connector: a reference */
} client_record;

typedef struct server_record {
  df_fake_tcp_server pub; /* pub.listening_port: a reference */
  char *interface;
} server_record;

/* A queued defer_to_thread job or call_from_thread call. */
typedef struct thread_item {
  df__link link;
  df_thread_fn job; /* a job: its function and deferred (a reference) */
  df_deferred *d;
  df_call_fn call;  /* or a call */
  void *arg;
} thread_item;

typedef struct fake_reactor {
  df_reactor base;
  df__link made; /* memory transports made by accept / connect_client */
  server_record **servers;
  size_t n_servers, cap_servers;
  client_record **clients;
  size_t n_clients, cap_clients;
  df__link queue; /* thread items, in order */
} fake_reactor;

static const df__reactor_ops fake_ops;

static fake_reactor *fake_of(const df_reactor *r) {
  return r && r->ops == &fake_ops ? (fake_reactor *)(void *)r : NULL;
}

/* --- running --------------------------------------------------------------------- */

static int fake_start(df_reactor *r) {
  (void)r;
  return 0;
}

/* No loop to run: the test drives the clock. */
static int fake_run(df_reactor *r) {
  (void)r;
  return 0;
}

static void fake_stopped(df_reactor *r) { (void)r; }

static void fake_disconnect_all(df_reactor *r, df_failure *reason) {
  while (!df__list_empty(&r->ports)) {
    df_listening_port *p = DF__CONTAINER_OF(r->ports.next, df_listening_port, link);
    df__port_close(p); /* closes, and leaves the list, at once */
  }
  df__reactor_abandon_attempts(r, reason);
  /* Closing a memory transport runs connection_lost now, which may close
   * others: take the first one each time. */
  while (!df__list_empty(&r->transports)) {
    df_transport *t = DF__CONTAINER_OF(r->transports.next, df_transport, link);
    t->ops->close_now(t, df_failure_ref(reason));
  }
}

/* --- threads ----------------------------------------------------------------------- */

static void cancel_queued_job(df_deferred *d, void *arg) {
  (void)d;
  thread_item *item = arg;
  df__list_remove(&item->link);
  df_deferred_unref(item->d);
  df__uv_free(item);
}

static thread_item *queue_item(fake_reactor *f) {
  thread_item *item = df__uv_calloc(1, sizeof *item);
  if (!item) return NULL;
  df__list_append(&f->queue, &item->link);
  return item;
}

static df_deferred *fake_defer_to_thread(df_reactor *r, df_thread_fn fn,
                                         void *arg) {
  fake_reactor *f = fake_of(r);
  thread_item *item = queue_item(f);
  if (!item) return NULL;
  df_deferred *d = df_deferred_new_with_canceller(cancel_queued_job, item);
  if (!d) {
    df__list_remove(&item->link);
    df__uv_free(item);
    return NULL;
  }
  item->job = fn;
  item->arg = arg;
  item->d = df_deferred_ref(d);
  return d;
}

static int fake_call_from_thread(df_reactor *r, df_call_fn fn, void *arg) {
  thread_item *item = queue_item(fake_of(r));
  if (!item) return DF_ENOMEM;
  item->call = fn;
  item->arg = arg;
  return 0;
}

size_t df_fake_reactor_pending_threads(const df_reactor *r) {
  const fake_reactor *f = fake_of(r);
  size_t n = 0;
  if (f)
    for (const df__link *l = f->queue.next; l != &f->queue; l = l->next) n++;
  return n;
}

size_t df_fake_reactor_run_threads(df_reactor *r) {
  fake_reactor *f = fake_of(r);
  size_t ran = 0;
  while (f && !df__list_empty(&f->queue)) {
    thread_item *item = DF__CONTAINER_OF(f->queue.next, thread_item, link);
    df__list_remove(&item->link);
    if (item->job) {
      /* The deferred can no longer be taken off the queue: a cancel now
       * fails it and the result is dropped, as for a running job. */
      df_result result = item->job(item->arg);
      df_deferred *d = item->d;
      df__uv_free(item);
      if (df_deferred_called(d)) {
        df_result_drop(result);
      } else if (result.kind == DF_DEFERRED) {
        df_result_drop(result);
        df_deferred_errback(d, df_failure_new(&df_error_invalid_argument,
                                              "defer_to_thread: the function "
                                              "returned a deferred"));
      } else {
        df_deferred_callback(d, result);
      }
      df_deferred_unref(d);
    } else {
      df_call_fn call = item->call;
      void *arg = item->arg;
      df__uv_free(item);
      call(arg);
    }
    ran++;
  }
  return ran;
}

/* --- listening ----------------------------------------------------------------------- */

static void fake_port_close(df_listening_port *p) { df__port_closed(p); }
static void fake_port_destroy(df_listening_port *p) { df__uv_free(p); }
static const df__port_ops fake_port_ops = {fake_port_close, fake_port_destroy};

static int fake_listen_tcp(df_reactor *r, const df__listen_request *req,
                           df_listening_port **out, df_failure **error) {
  fake_reactor *f = fake_of(r);
  server_record *rec = df__uv_calloc(1, sizeof *rec);
  df_listening_port *p = df__uv_calloc(1, sizeof *p);
  char *interface = df__uv_strdup(req->interface);
  if (!rec || !p || !interface ||
      df__reserve((void **)&f->servers, &f->cap_servers, f->n_servers + 1,
                  sizeof *f->servers)) {
    df__uv_free(rec);
    df__uv_free(p);
    df__uv_free(interface);
    if (error) *error = df_failure_new(&df_error_no_memory, "listen_tcp");
    return DF_ENOMEM;
  }
  df__port_init(p, &fake_port_ops, r, req->factory, &req->address);
  rec->interface = interface;
  rec->pub = (df_fake_tcp_server){req->port, req->factory, req->backlog,
                                  interface, req->flags,
                                  df_listening_port_ref(p)};
  f->servers[f->n_servers++] = rec;
  if (out) *out = df_listening_port_ref(p);
  return 0;
}

/* --- connecting ----------------------------------------------------------------------- */

static int fake_connect(df_connector *c) {
  fake_reactor *f = fake_of(c->reactor);
  client_record *rec = df__uv_calloc(1, sizeof *rec);
  if (!rec || df__reserve((void **)&f->clients, &f->cap_clients,
                          f->n_clients + 1, sizeof *f->clients)) {
    df__uv_free(rec);
    return DF_ENOMEM;
  }
  rec->pub = (df_fake_tcp_client){c->host, c->port, c->factory, c->timeout,
                                  c->bind_address, df_connector_ref(c)};
  f->clients[f->n_clients++] = rec;
  c->attempt = rec;
  return 0;
}

static void fake_stop_attempt(df_connector *c) { c->attempt = NULL; }

/* The record's attempt, if it is still the connector's attempt. */
static df_connector *attempt_in_progress(fake_reactor *f, size_t i) {
  if (!f || i >= f->n_clients) return NULL;
  df_connector *c = f->clients[i]->pub.connector;
  return c->state == DF_CONNECTOR_CONNECTING && c->attempt == f->clients[i]
             ? c
             : NULL;
}

int df_fake_reactor_connect_client(df_reactor *r, size_t i,
                                   df_memory_transport **out) {
  if (out) *out = NULL;
  fake_reactor *f = fake_of(r);
  df_connector *c = attempt_in_progress(f, i);
  if (!c) return DF_EINVAL;
  df_memory_transport *mt = df__memory_transport_new_for(r, &f->made);
  if (!mt) return DF_ENOMEM;
  df_address peer;
  if (df_address_parse(&peer, c->host, c->port) < 0)
    df_address_parse(&peer, "192.168.1.1", c->port);
  df_memory_transport_set_addresses(mt, NULL, &peer);
  c->attempt = NULL;
  df__connector_connected(c, df_memory_transport_transport(mt));
  if (out) *out = mt;
  return 0;
}

int df_fake_reactor_fail_client(df_reactor *r, size_t i, df_failure *reason) {
  fake_reactor *f = fake_of(r);
  df_connector *c = attempt_in_progress(f, i);
  if (!c) return DF_EINVAL;
  df_failure *refused =
      reason ? NULL
             : df_failure_new(&df_error_connection_refused,
                              "Connection was refused by other side: %s:%d",
                              c->host, c->port);
  c->attempt = NULL;
  df__connector_failed(c, reason ? reason : refused);
  df_failure_unref(refused);
  return 0;
}

int df_fake_reactor_accept(df_reactor *r, size_t i, const df_address *peer,
                           df_memory_transport **out) {
  if (out) *out = NULL;
  fake_reactor *f = fake_of(r);
  if (!f || i >= f->n_servers ||
      !df_listening_port_listening(f->servers[i]->pub.listening_port))
    return DF_EINVAL;
  df_listening_port *port = f->servers[i]->pub.listening_port;
  df_memory_transport *mt = df__memory_transport_new_for(r, &f->made);
  if (!mt) return DF_ENOMEM;
  df_memory_transport_set_addresses(mt, &port->address, peer);
  df_address from;
  df_transport_get_peer(df_memory_transport_transport(mt), &from);
  df_protocol *p = df_factory_build_protocol(port->factory, &from);
  if (!p) {
    df_memory_transport_free(mt);
    return DF_EINVAL;
  }
  df__transport_attach(df_memory_transport_transport(mt), p);
  if (out) *out = mt;
  return 0;
}

/* --- records ---------------------------------------------------------------------------- */

size_t df_fake_reactor_tcp_server_count(const df_reactor *r) {
  const fake_reactor *f = fake_of(r);
  return f ? f->n_servers : 0;
}

const df_fake_tcp_server *df_fake_reactor_tcp_server(const df_reactor *r,
                                                     size_t i) {
  const fake_reactor *f = fake_of(r);
  return f && i < f->n_servers ? &f->servers[i]->pub : NULL;
}

size_t df_fake_reactor_tcp_client_count(const df_reactor *r) {
  const fake_reactor *f = fake_of(r);
  return f ? f->n_clients : 0;
}

const df_fake_tcp_client *df_fake_reactor_tcp_client(const df_reactor *r,
                                                     size_t i) {
  const fake_reactor *f = fake_of(r);
  return f && i < f->n_clients ? &f->clients[i]->pub : NULL;
}

/* --- making and freeing ---------------------------------------------------------------------- */

static void fake_destroy(df_reactor *r) {
  fake_reactor *f = fake_of(r);
  r->state = DF__REACTOR_FREEING;
  r->shutdown_closing = false;
  df__reactor_disconnect_all(r, "the reactor was freed");
  /* Jobs still queued fail with CancelledError (as on the libuv
   * reactor); calls are dropped. */
  while (!df__list_empty(&f->queue)) {
    thread_item *item = DF__CONTAINER_OF(f->queue.next, thread_item, link);
    df__list_remove(&item->link);
    df_deferred *d = item->d;
    df__uv_free(item);
    if (d) {
      df_deferred_errback(d, df_failure_new(&df_error_cancelled,
                                            "the thread job was cancelled"));
      df_deferred_unref(d);
    }
  }
  while (!df__list_empty(&f->made))
    df_memory_transport_free(df__memory_transport_of_owner_link(f->made.next));
  for (size_t i = 0; i < f->n_servers; i++) {
    df_listening_port_unref(f->servers[i]->pub.listening_port);
    df__uv_free(f->servers[i]->interface);
    df__uv_free(f->servers[i]);
  }
  for (size_t i = 0; i < f->n_clients; i++) {
    df_connector_unref(f->clients[i]->pub.connector);
    df__uv_free(f->clients[i]);
  }
  df__uv_free(f->servers);
  df__uv_free(f->clients);
  df__reactor_finish(r);
  df__uv_free(f);
}

static const df__reactor_ops fake_ops = {
    .name = "fake reactor",
    .start = fake_start,
    .run = fake_run,
    .stopped = fake_stopped,
    .disconnect_all = fake_disconnect_all,
    .destroy = fake_destroy,
    .listen_tcp = fake_listen_tcp,
    .connect = fake_connect,
    .stop_attempt = fake_stop_attempt,
    .defer_to_thread = fake_defer_to_thread,
    .call_from_thread = fake_call_from_thread,
    .default_resolver = NULL,
};

int df_fake_reactor_new(df_clock *clock, df_reactor **out) {
  if (!out) return DF_EINVAL;
  *out = NULL;
  if (!clock) return DF_EINVAL;
  fake_reactor *f = df__uv_calloc(1, sizeof *f);
  if (!f) return DF_ENOMEM;
  df__reactor_init(&f->base, &fake_ops, clock);
  df__list_init(&f->made);
  df__list_init(&f->queue);
  *out = &f->base;
  return 0;
}
