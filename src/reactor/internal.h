/* Private to libdeferred-uv (src/reactor): what its files share. Users
 * never see this header.
 *
 * The reactor is an interface with two implementations, the libuv
 * reactor (reactor.c and the tcp_*.c, thread.c, signal.c files) and the
 * fake reactor (fake_reactor.c). Everything that does not depend on
 * libuv is written once, against the structs below, and serves both:
 *
 *   lifecycle.c   run / start / stop, the startup and shutdown sequences,
 *                 call_when_running, the clock wrappers      (both)
 *   events.c      system event triggers, Twisted's _ThreePhaseEvent
 *   transport.c   the public df_transport_* functions, backpressure,
 *                 the end of a connection (connection_lost, free)
 *   port.c        listening ports: references, stop_listening's deferreds
 *   connector.c   connectors: the factory's client callbacks, the
 *                 timeout, stop / disconnect / connect again
 *   protocol.c    factories and protocols
 *   resolver.c    install / resolve, address lists, numeric addresses
 *
 * and each implementation fills in a df__reactor_ops (how to listen, how
 * to attempt a connection, how to run) and a df__transport_ops per kind
 * of connection (TCP in tcp.c, memory in memory_transport.c).
 *
 * Ownership inside the library, in one place:
 *   - the reactor keeps every live port, transport and connector on a
 *     list (for the shutdown and for df_reactor_free); a port or
 *     connector on its list holds one reference the reactor owns;
 *   - a transport owns its protocol (protocol.h) and, for a client
 *     connection, a reference to its connector;
 *   - an implementation's attempt state (df_connector.attempt) belongs to
 *     the implementation, which frees it when the attempt ends or is
 *     stopped.
 */
#ifndef DF_REACTOR_INTERNAL_H
#define DF_REACTOR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "deferred/uv.h"

#if defined(__GNUC__)
#define DF__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define DF__UNLIKELY(x) (x)
#endif

#define DF__CONTAINER_OF(ptr, type, member) \
  ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* --- allocation (alloc.c) ------------------------------------------------------ */

/* Every allocation of libdeferred-uv goes through these (malloc, realloc
 * and free by default), so that the out-of-memory tests can refuse them
 * one by one. They are the reactor library's own: libdeferred's
 * df_set_allocator hooks are private to libdeferred's shared object. */
extern void *(*df__uv_malloc)(size_t);
extern void *(*df__uv_realloc)(void *, size_t);
extern void (*df__uv_free)(void *);
void *df__uv_calloc(size_t n, size_t size);
/* The longest buffer handed to libuv in one uv_buf_t (tcp.c): UINT_MAX;
 * the tests lower it to split writes into many buffers. */
extern size_t df__uv_buf_max;
char *df__uv_strdup(const char *s);

/* --- intrusive lists (as libuv's queue.h) -------------------------------------- */

typedef struct df__link {
  struct df__link *prev, *next;
} df__link;

static inline void df__list_init(df__link *head) {
  head->prev = head->next = head;
}
static inline int df__list_empty(const df__link *head) {
  return head->next == head;
}
static inline void df__list_append(df__link *head, df__link *l) {
  l->prev = head->prev;
  l->next = head;
  head->prev->next = l;
  head->prev = l;
}
static inline void df__list_remove(df__link *l) {
  l->prev->next = l->next;
  l->next->prev = l->prev;
  l->prev = l->next = l;
}
static inline int df__list_linked(const df__link *l) {
  return l->next != l && l->next != NULL;
}

/* --- growable arrays ------------------------------------------------------------ */

/* Make room for `need` elements of `size` bytes in *items (capacity
 * *cap, doubled as needed). Returns 0 or DF_ENOMEM (nothing changed). */
int df__reserve(void **items, size_t *cap, size_t need, size_t size);

/* Cancel the delayed call `*slot` holds, if any, and drop the reference
 * the slot held. The slot is cleared first, so that what the call's
 * release runs finds it empty. */
static inline void df__delayed_call_drop(df_delayed_call **slot) {
  df_delayed_call *call = *slot;
  *slot = NULL;
  if (call) {
    df_delayed_call_cancel(call);
    df_delayed_call_unref(call);
  }
}

/* --- system events (events.c) --------------------------------------------------- */

typedef struct df__trigger {
  uint64_t id;
  df_trigger_fn fn; /* a trigger, or NULL for ...        */
  df_call_fn call;  /* ... a call_when_running function */
  void *arg;
} df__trigger;

typedef struct df__phase {
  df__trigger *items;
  size_t count, cap;
} df__phase;

typedef struct df__event {
  df__phase phases[3];   /* indexed by df_event_phase */
  df_deferred *waiting;  /* the DeferredList of before-phase results */
  int fired;             /* phases that have run: 0 none, 1 before ... */
} df__event;

typedef struct df__events {
  df__event events[2];   /* indexed by df_system_event */
  uint64_t next_id;
} df__events;

void df__events_init(df__events *e);
void df__events_free(df__events *e);
int df__events_add(df__events *e, df_event_phase phase, df_system_event event,
                   df_trigger_fn fn, void *arg, uint64_t *id_out);
/* Add `call(arg)` as a trigger that returns nothing (call_when_running). */
int df__events_add_call(df__events *e, df_event_phase phase,
                        df_system_event event, df_call_fn call, void *arg);
int df__events_remove(df__events *e, uint64_t id);
/* Run the before phase of `event`; `then(arg)` runs once every deferred
 * its triggers returned has fired (before this returns if there is none,
 * or out of memory). */
void df__events_run_before(df__events *e, df_system_event event,
                           void (*then)(void *arg), void *arg);
/* Run the during or after phase of `event`. */
void df__events_run_phase(df__events *e, df_system_event event,
                          df_event_phase phase);

/* --- the reactor ---------------------------------------------------------------- */

typedef struct df__listen_request {
  int port;
  df_factory *factory;
  const char *interface; /* never NULL: "" when none */
  df_address address;    /* interface + port, parsed */
  int backlog;           /* > 0 */
  unsigned flags;
} df__listen_request;

typedef struct df__reactor_ops {
  const char *name;
  /* Begin running: the startup event follows (lifecycle.c fires it). */
  int (*start)(df_reactor *r);
  /* start, then run the loop until the shutdown has completed. */
  int (*run)(df_reactor *r);
  /* The shutdown has completed (after its after phase). */
  void (*stopped)(df_reactor *r);
  /* Close every port, connection and attempt (the shutdown's own during
   * trigger, and df_reactor_free). Each, once gone, leaves the reactor's
   * lists; lifecycle.c waits for them to empty. */
  void (*disconnect_all)(df_reactor *r, df_failure *reason);
  void (*destroy)(df_reactor *r);
  int (*listen_tcp)(df_reactor *r, const df__listen_request *req,
                    df_listening_port **out, df_failure **error);
  /* Begin an attempt for `c` (state CONNECTING, c->attempt NULL). It ends
   * with df__connector_connected or df__connector_failed, never inside
   * this call. Returns 0 or DF_ENOMEM. */
  int (*connect)(df_connector *c);
  /* Abandon the attempt in progress: no df__connector_* call follows. */
  void (*stop_attempt)(df_connector *c);
  df_deferred *(*defer_to_thread)(df_reactor *r, df_thread_fn fn, void *arg);
  int (*call_from_thread)(df_reactor *r, df_call_fn fn, void *arg);
  df_resolver *default_resolver;
} df__reactor_ops;

enum df__reactor_state {
  DF__REACTOR_NEW,
  DF__REACTOR_STARTING, /* the startup event is firing               */
  DF__REACTOR_RUNNING,
  DF__REACTOR_STOPPING, /* df_reactor_stop was called                */
  DF__REACTOR_STOPPED,  /* the shutdown completed                    */
  DF__REACTOR_FREEING   /* df_reactor_free: nothing new may start    */
};

struct df_reactor {
  const df__reactor_ops *ops;
  df_clock *clock;
  df__events events;
  df_resolver *resolver; /* installed; NULL: ops->default_resolver */
  df__link ports, transports, connectors;
  int state;             /* enum df__reactor_state */
  bool handle_signals;
  bool shutdown_closing; /* between disconnect_all and the after phase */
};

void df__reactor_init(df_reactor *r, const df__reactor_ops *ops,
                      df_clock *clock);
/* Release what df__reactor_init set up (the triggers). */
void df__reactor_finish(df_reactor *r);
/* A port, transport or connector left the reactor's lists: during the
 * shutdown, the after phase may now be due. */
void df__reactor_forgot(df_reactor *r);
/* For df_reactor_free: close everything, as the shutdown's own during
 * trigger does (the lists empty as the implementation reports each). */
void df__reactor_disconnect_all(df_reactor *r, const char *why);
/* Is the reactor closing everything (the shutdown's during phase is
 * over), stopped or being freed, so that nothing new may be listened on
 * or connected? */
static inline bool df__reactor_closed(const df_reactor *r) {
  return r->shutdown_closing || r->state >= DF__REACTOR_STOPPED;
}

/* --- transports (transport.c) --------------------------------------------------- */

typedef struct df__transport_ops {
  /* Send `total` bytes in `n` pieces; the checks of df_transport_write
   * are done. Returns 0 or DF_ENOMEM. */
  int (*write)(df_transport *t, const df_buffer *pieces, size_t n,
               size_t total);
  /* lose_connection and lose_write_connection, after the flags are set:
   * close or shut down once the buffer is empty. */
  void (*lose_connection)(df_transport *t);
  void (*lose_write_connection)(df_transport *t);
  void (*abort_connection)(df_transport *t);
  /* Close now with `reason` (reference taken): the shutdown. */
  void (*close_now)(df_transport *t, df_failure *reason);
  int (*get_peer)(df_transport *t, df_address *out);
  int (*get_host)(df_transport *t, df_address *out);
  void (*pause_reading)(df_transport *t);
  void (*resume_reading)(df_transport *t);
  size_t (*buffered)(const df_transport *t);
  int (*set_nodelay)(df_transport *t, bool on);
  int (*set_keepalive)(df_transport *t, unsigned idle_seconds);
} df__transport_ops;

/* df_transport.flags */
enum {
  DF__T_DISCONNECTING = 1u << 0, /* lose_connection or abort was asked    */
  DF__T_ABORTED = 1u << 1,       /* abort_connection was asked            */
  DF__T_WRITE_CLOSED = 1u << 2,  /* lose_write_connection was asked       */
  DF__T_READ_PAUSED = 1u << 3,   /* pause_producing                       */
  DF__T_READ_EOF = 1u << 4,      /* the peer's end of input was read      */
  DF__T_CLOSED = 1u << 5,        /* closing or closed: no protocol calls  */
  DF__T_STREAMING = 1u << 6,     /* the producer is a push producer       */
  DF__T_PRODUCER_PAUSED = 1u << 7, /* we paused it (backpressure)         */
  DF__T_ATTACHED = 1u << 8,      /* connection_made has been called      */
  DF__T_SHUTDOWN_SENT = 1u << 9, /* the write side's shutdown is under way */
  DF__T_WRITE_DONE = 1u << 10,   /* the write side is shut down           */
  DF__T_IN_LIST = 1u << 11       /* on the reactor's transports list      */
};

/*   One connection, as every transport kind starts:
 *
 *   +-----+----------+---------+-----------+----------+------+----------+-------+------+
 *   | ops | protocol | reactor | connector | producer | pull | high,low | flags | link |
 *   +-----+----------+---------+-----------+----------+------+----------+-------+------+
 *   80 bytes on LP64; a TCP connection adds its uv_tcp_t (248 bytes), two
 *   write-buffer pointers, its close reason and the peer's address: 384
 *   bytes, with no read buffer (one per reactor) and no write buffer
 *   while nothing waits to be sent. Measured with examples/echo-server
 *   holding 10,000 idle connections: 462 bytes of RSS per connection,
 *   protocol and allocator included (a bare libuv server: 286). */
struct df_transport {
  const df__transport_ops *ops;
  df_protocol *protocol;
  df_reactor *reactor;     /* NULL for a standalone memory transport */
  df_connector *connector; /* client connections: a reference, else NULL */
  df_producer *producer;
  df_delayed_call *pull_call; /* a pull producer's next resume, if due */
  uint32_t high_water, low_water;
  uint32_t flags;
  df__link link;           /* in reactor->transports */
};

void df__transport_init(df_transport *t, const df__transport_ops *ops,
                        df_reactor *r);
/* Hand `p` to `t` (taken over) and call connection_made. */
void df__transport_attach(df_transport *t, df_protocol *p);
/* The write buffer grew / shrank: pause or resume the producer. */
void df__transport_buffer_grew(df_transport *t);
void df__transport_buffer_drained(df_transport *t);
/* The peer's end of input: read_connection_lost, or close (lose). */
void df__transport_read_eof(df_transport *t);
/* The write side is shut down: write_connection_lost. */
void df__transport_write_shut(df_transport *t);
/* The connection is over (the socket is closed): stop the producer,
 * connection_lost(reason), free the protocol, tell the connector, leave
 * the reactor's list. `reason` is borrowed. The implementation frees the
 * transport's memory afterwards. */
void df__transport_ended(df_transport *t, df_failure *reason);
/* Is a protocol callback allowed (connected, not closing)? */
static inline bool df__transport_live(const df_transport *t) {
  return !(t->flags & DF__T_CLOSED);
}

/* --- listening ports (port.c) ----------------------------------------------------- */

typedef struct df__port_ops {
  /* Close the socket; call df__port_closed when it is closed. */
  void (*close)(df_listening_port *p);
  /* Free the memory (last reference gone, closed). */
  void (*destroy)(df_listening_port *p);
} df__port_ops;

enum { DF__PORT_LISTENING, DF__PORT_STOPPING, DF__PORT_STOPPED };

struct df_listening_port {
  const df__port_ops *ops;
  df_reactor *reactor;
  df_factory *factory;
  df_address address; /* as bound: the real port number */
  unsigned refs;
  int state;
  df_deferred **waiters; /* stop_listening deferreds to fire */
  size_t n_waiters, cap_waiters;
  df__link link; /* in reactor->ports while not stopped */
};

/* Set up the generic part (one reference, for the reactor; the port is
 * listed and its factory started). */
void df__port_init(df_listening_port *p, const df__port_ops *ops,
                   df_reactor *r, df_factory *factory,
                   const df_address *address);
/* Begin closing (shutdown, stop_listening). */
void df__port_close(df_listening_port *p);
/* The implementation closed the socket: fire the waiters, stop the
 * factory, leave the list, drop the reactor's reference. */
void df__port_closed(df_listening_port *p);

/* --- factories and protocols (protocol.c) ------------------------------------------- */

void df__factory_do_start(df_factory *f);
void df__factory_do_stop(df_factory *f);
/* Release a protocol that was never connected. */
void df__protocol_release(df_protocol *p);

/* --- connectors (connector.c) -------------------------------------------------------- */

/* For endpoints: instead of the factory's client callbacks, the outcome
 * of the attempt goes to these (the connection's end still goes to the
 * factory's client_connection_lost, which endpoint factories lack). */
typedef struct df__connect_watch {
  void (*connected)(df_connector *c, df_protocol *p, void *arg);
  void (*failed)(df_connector *c, df_failure *reason, void *arg);
} df__connect_watch;

struct df_connector {
  df_reactor *reactor;
  df_factory *factory;
  void (*release_factory)(df_factory *f); /* an owned factory, or NULL */
  const df__connect_watch *watch;
  void *watch_arg;
  char *host;         /* in the same allocation as the connector */
  char *bind_address; /* likewise, or NULL */
  int port;
  double timeout;
  unsigned refs;
  df_connector_state state;
  bool factory_started;
  df_delayed_call *timeout_call;
  df_transport *transport; /* while connected (borrowed: it holds us) */
  void *attempt;           /* the implementation's, while connecting  */
  df__link link;           /* in reactor->connectors while not disconnected */
};

/* Make a connector and start it (connect_tcp, endpoints). */
int df__connector_start(df_reactor *r, const char *host, int port,
                        df_factory *factory, double timeout,
                        const char *bind_address,
                        const df__connect_watch *watch, void *watch_arg,
                        void (*release_factory)(df_factory *),
                        df_connector **out);
/* The attempt succeeded with `t` (its peer address known to get_peer):
 * build the protocol and connect it. */
void df__connector_connected(df_connector *c, df_transport *t);
/* The attempt failed for `reason` (borrowed). */
void df__connector_failed(df_connector *c, df_failure *reason);
/* Stop the attempt in progress and fail it with `reason` (borrowed). */
void df__connector_abandon(df_connector *c, df_failure *reason);
/* The connection it made has ended (transport.c). */
void df__connector_lost(df_connector *c, df_failure *reason);
/* Fail every attempt in progress with `reason` (disconnect_all). */
void df__reactor_abandon_attempts(df_reactor *r, df_failure *reason);

/* --- resolution (resolver.c) ---------------------------------------------------------- */

/* `host` as a one-address list if it is numeric, else NULL. */
df_address_list *df__numeric_address_list(const char *host, int port);

/* --- errors (error.c) ------------------------------------------------------------------- */

/* The typed failure for a connect attempt to `what` ("127.0.0.1:5")
 * that failed with libuv error `uv_error`. */
df_failure *df__connect_failure(int uv_error, const char *what);
/* ConnectionLost for a connection that failed with `uv_error`. */
df_failure *df__connection_lost_failure(int uv_error);
/* The shared-message failures of a connection's end. New references. */
df_failure *df__connection_done(void);
df_failure *df__connection_aborted(void);

/* --- the libuv reactor's schedule of delayed calls (timer_heap.c) ----------------- */

/* A binary min-heap of pending delayed calls, ordered by (time, seq):
 * the earliest first, and among equal times the one scheduled first. Each
 * call's loop data is its index + 1, so that moving or removing a call
 * is O(log n) with no search. */
typedef struct df__timer_entry {
  double time;
  uint64_t seq;
  df_delayed_call *call;
} df__timer_entry;

typedef struct df__timer_heap {
  df__timer_entry *items;
  size_t count, cap;
  uint64_t next_seq;
} df__timer_heap;

int df__timer_heap_push(df__timer_heap *h, df_delayed_call *call);
/* The call's time changed: move it (it gets a new seq, as re-inserted). */
void df__timer_heap_update(df__timer_heap *h, df_delayed_call *call);
void df__timer_heap_remove(df__timer_heap *h, df_delayed_call *call);
/* The earliest entry (NULL when empty), and taking it off. */
static inline const df__timer_entry *df__timer_heap_top(const df__timer_heap *h) {
  return h->count ? &h->items[0] : NULL;
}
df_delayed_call *df__timer_heap_pop(df__timer_heap *h);
void df__timer_heap_free(df__timer_heap *h);

/* --- the libuv reactor's parts, for tcp_*.c, thread.c, signal.c -------------------- */

typedef struct df__uv_reactor df__uv_reactor;
/* The libuv reactor behind `r` (r->ops is the libuv one). */
df__uv_reactor *df__uv_reactor_of(df_reactor *r);
uv_loop_t *df__uv_loop(df__uv_reactor *ur);
df_reactor *df__uv_base(df__uv_reactor *ur);
/* The reactor-wide read buffer every connection reads into. */
void df__uv_read_buffer(df__uv_reactor *ur, uv_buf_t *buf);
/* Count libuv handles and requests the reactor has open (free waits for
 * them all). */
void df__uv_hold(df__uv_reactor *ur);
void df__uv_release(df__uv_reactor *ur);

/* tcp.c: the TCP connection transport. */
typedef struct df__tcp_conn df__tcp_conn;
/* A new connection transport with its uv_tcp_t initialised on the loop
 * (not yet connected). NULL if out of memory (or uv_tcp_init failed). */
df__tcp_conn *df__tcp_conn_new(df__uv_reactor *ur);
uv_tcp_t *df__tcp_conn_handle(df__tcp_conn *c);
df_transport *df__tcp_conn_transport(df__tcp_conn *c);
/* The connection is up: learn the peer's address and start reading.
 * Returns 0 or a negative libuv error. */
int df__tcp_conn_start(df__tcp_conn *c);
/* Close a connection that never carried a protocol (failed attempt,
 * refused accept): its memory is freed once libuv has closed it. */
void df__tcp_conn_discard(df__tcp_conn *c);

/* memory_transport.c, for the fake reactor: a memory transport of `r`,
 * linked into `owner` (the list of those the fake reactor made, which it
 * frees), and back from that link. */
df_memory_transport *df__memory_transport_new_for(df_reactor *r,
                                                  df__link *owner);
df_memory_transport *df__memory_transport_of_owner_link(df__link *l);

/* tcp_listen.c, tcp_connect.c */
int df__uv_listen_tcp(df_reactor *r, const df__listen_request *req,
                      df_listening_port **out, df_failure **error);
int df__uv_connect(df_connector *c);
void df__uv_stop_attempt(df_connector *c);

/* thread.c */
typedef struct df__uv_threads df__uv_threads;
int df__uv_threads_init(df__uv_reactor *ur, df__uv_threads **out);
df__uv_threads *df__uv_threads_of(df__uv_reactor *ur);
/* Cancel queued jobs, stop taking calls; jobs still running finish. */
void df__uv_threads_close(df__uv_threads *th);
void df__uv_threads_free(df__uv_threads *th);
void df__uv_threads_ref(df__uv_threads *th, bool keep_loop_alive);
df_deferred *df__uv_defer_to_thread(df_reactor *r, df_thread_fn fn, void *arg);
int df__uv_call_from_thread(df_reactor *r, df_call_fn fn, void *arg);

/* signal.c */
void df__ignore_sigpipe(void);
typedef struct df__uv_signals df__uv_signals;
int df__uv_signals_start(df__uv_reactor *ur, df_reactor *r,
                         df__uv_signals **out);
void df__uv_signals_stop(df__uv_signals *s);

/* The system resolver (system_resolver.c). */
extern df_resolver df__system_resolver;

/* debug.c: the deferreds still waiting, listed at the end of a shutdown
 * in debug mode. */
void df__report_waiting_deferreds(void);

#endif /* DF_REACTOR_INTERNAL_H */
