/* The slow poetry server's protocol and factory (slow_sender.h).
 *
 * Every client is in exactly one list of its server, by state:
 *
 *   connect ──> a tick's list ──(last chunk written)──> finishing ──> lost
 *               (delay > 0)                               ^
 *            or streaming ──(whole poem written)──────────┘
 *               (delay 0)
 *   cut off: out of every list, aborted; lost comes later from the loop
 *
 * A tick is one delayed call and the list of the clients that connected
 * within SLOW_TICK_JOIN_WINDOW of its first one: when it runs, each of
 * them that is not paused by backpressure gets its next chunk, and the
 * tick schedules its next run at start + k * delay (the next such time
 * still ahead, so a late loop skips intervals as LoopingCall does). A
 * tick whose last client has gone is freed at once.
 *
 * A client is its protocol struct and nothing else (64 bytes):
 *
 *   +-------------+----------+------------+------+------+-------+--------+
 *   | df_protocol | producer | prev, next | tick | sent | state | paused |
 *   |     24      |    8     |     16     |  8   |  4   |   1   |   1    |
 *   +-------------+----------+------------+------+------+-------+--------+
 *
 * Invariants: a client is SENDING while in a tick's list or `streaming`,
 * FINISHED in `finishing`, CUT_OFF in no list; `tick` is set exactly
 * while it is in a tick's list. A list node that is in no list points to
 * itself, so removing it again does nothing. Writes never end a
 * connection inside the call (connection_lost always comes from the
 * loop), so a tick may walk its list while writing. */
#include "slow_sender.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum client_state { SENDING, FINISHED, CUT_OFF };

typedef struct slow_client {
  df_protocol base;
  df_producer producer;
  slow_link link;
  slow_tick *tick;
  uint32_t sent;
  uint8_t state;
  uint8_t paused;
} slow_client;

/* The layout drawn above, on LP64: what a client costs is its size. */
_Static_assert(sizeof(void *) != 8 || sizeof(slow_client) == 64,
               "a slow client is 64 bytes");

struct slow_tick {
  slow_link link;    /* in server->ticks */
  slow_link clients; /* sentinel of its clients' list */
  slow_server *server;
  df_delayed_call *call; /* the next run (a reference), or NULL */
  double start;          /* when its first client got its first chunk */
  bool ran;              /* it has run once: nobody may join any more */
  bool running;          /* its list is being walked: do not free it yet */
};

/* --- lists ---------------------------------------------------------------------- */

static void list_init(slow_link *l) { l->prev = l->next = l; }
static bool list_empty(const slow_link *head) { return head->next == head; }

static void list_append(slow_link *head, slow_link *l) {
  l->prev = head->prev;
  l->next = head;
  head->prev->next = l;
  head->prev = l;
}

static void list_remove(slow_link *l) {
  l->prev->next = l->next;
  l->next->prev = l->prev;
  list_init(l);
}

#define CONTAINER(ptr, type, member) \
  ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static slow_client *client_of_link(slow_link *l) {
  return CONTAINER(l, slow_client, link);
}
static slow_client *client_of_producer(df_producer *p) {
  return CONTAINER(p, slow_client, producer);
}
static slow_server *server_of(const slow_client *c) {
  return (slow_server *)(void *)c->base.factory;
}

/* --- ticks ---------------------------------------------------------------------- */

static void tick_run(void *arg);

static void tick_free(slow_tick *t) {
  slow_server *s = t->server;
  if (t->call) {
    df_delayed_call_cancel(t->call); /* harmless if it ran or was discarded */
    df_delayed_call_unref(t->call);
  }
  if (s->joinable == t) s->joinable = NULL;
  list_remove(&t->link);
  free(t);
}

/* Take `c` out of its tick, freeing the tick if that was its last client
 * (unless its list is being walked: the walker frees it when done). */
static void tick_leave(slow_client *c) {
  slow_tick *t = c->tick;
  if (!t) return;
  list_remove(&c->link);
  c->tick = NULL;
  if (list_empty(&t->clients) && !t->running) tick_free(t);
}

/* Schedule the tick's next run: the first start + k * delay still ahead. */
static int tick_schedule(slow_tick *t) {
  slow_server *s = t->server;
  double now = df_clock_seconds(s->clock);
  double k = floor((now - t->start) / s->delay) + 1;
  if (k < 1) k = 1;
  double due = t->start + k * s->delay;
  /* The division may round down to the run that is due now (3 * 0.7 is
   * 0.7 + 1.4 in doubles): that one has run, so the next is after it. */
  while (due <= now) due = t->start + ++k * s->delay;
  if (t->call) df_delayed_call_unref(t->call);
  t->call = NULL;
  return df_clock_call_later(s->clock, due - now, tick_run, t, &t->call);
}

static slow_tick *tick_new(slow_server *s, double now) {
  slow_tick *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->server = s;
  t->start = now;
  list_init(&t->clients);
  if (tick_schedule(t) < 0) {
    free(t);
    return NULL;
  }
  list_append(&s->ticks, &t->link);
  return t;
}

/* The tick a client connecting now joins: the newest, if it started
 * within the join window and has not run, else a new one. */
static slow_tick *tick_to_join(slow_server *s) {
  double now = df_clock_seconds(s->clock);
  slow_tick *t = s->joinable;
  if (t && !t->ran && now - t->start < SLOW_TICK_JOIN_WINDOW) return t;
  t = tick_new(s, now);
  if (t) s->joinable = t;
  return t;
}

/* --- sending ---------------------------------------------------------------------- */

/* Everything is written: close cleanly once the write buffer is sent. */
static void finish(slow_client *c) {
  slow_server *s = server_of(c);
  if (c->tick) tick_leave(c);
  else list_remove(&c->link);
  c->state = FINISHED;
  list_append(&s->finishing, &c->link);
  df_transport_lose_connection(c->base.transport);
}

/* The next chunk. A refused write (no memory: nothing was sent; or the
 * connection is already closing) leaves the client as it was: the next
 * tick tries again, or connection_lost comes. */
static void send_chunk(slow_client *c) {
  slow_server *s = server_of(c);
  uint32_t n = s->len - c->sent < s->chunk ? s->len - c->sent : s->chunk;
  if (n && df_transport_write(c->base.transport, s->poem + c->sent, n) < 0)
    return;
  c->sent += n;
  if (c->sent == s->len) finish(c);
}

/* Delay 0: write until the poem is out or backpressure pauses us (a
 * write that fills the buffer past the high-water mark pauses the
 * producer inside the call). */
static void pump(slow_client *c) {
  slow_server *s = server_of(c);
  while (c->state == SENDING && !c->paused && c->sent < s->len) {
    uint32_t left = s->len - c->sent;
    uint32_t n = left < SLOW_STREAM_SLICE ? left : SLOW_STREAM_SLICE;
    int rc = df_transport_write(c->base.transport, s->poem + c->sent, n);
    if (rc == DF_ENOMEM) { /* nothing sent, and no tick to retry from */
      df_transport_abort_connection(c->base.transport);
      return;
    }
    if (rc < 0) return; /* closing: connection_lost follows */
    c->sent += n;
  }
  if (c->state == SENDING && c->sent == s->len) finish(c);
}

static void tick_run(void *arg) {
  slow_tick *t = arg;
  slow_server *s = t->server;
  t->ran = true;
  t->running = true;
  if (s->joinable == t) s->joinable = NULL;
  for (slow_link *l = t->clients.next, *next; l != &t->clients; l = next) {
    next = l->next; /* send_chunk may move this client to `finishing` */
    slow_client *c = client_of_link(l);
    if (!c->paused) send_chunk(c);
  }
  t->running = false;
  if (list_empty(&t->clients)) {
    tick_free(t);
    return;
  }
  if (tick_schedule(t) < 0) {
    /* No memory for the next run: its clients would wait for ever. */
    for (slow_link *l = t->clients.next; l != &t->clients; l = l->next)
      df_transport_abort_connection(client_of_link(l)->base.transport);
  }
}

/* --- the producer (backpressure) ---------------------------------------------------- */

static void pause_client(df_producer *p) { client_of_producer(p)->paused = 1; }

static void resume_client(df_producer *p) {
  slow_client *c = client_of_producer(p);
  c->paused = 0;
  if (server_of(c)->delay == 0) pump(c);
}

static const df_producer_type client_producer = {pause_client, resume_client,
                                                 NULL};

/* --- the protocol ----------------------------------------------------------------- */

static void client_made(df_protocol *p) {
  slow_client *c = (slow_client *)p;
  slow_server *s = server_of(c);
  list_init(&c->link);
  c->producer.type = &client_producer;
  df_transport_register_producer(p->transport, &c->producer, true);
  s->stats.clients++;
  s->stats.active++;
  if (s->delay == 0) {
    list_append(&s->streaming, &c->link);
    pump(c);
    return;
  }
  slow_tick *t = tick_to_join(s);
  if (!t) { /* no memory for its timer: it could never be served */
    df_transport_abort_connection(p->transport);
    return;
  }
  list_append(&t->clients, &c->link);
  c->tick = t;
  send_chunk(c); /* the first chunk at once, as slowpoetry.py does */
}

/* What the client sends is not read by anyone. */
static void client_data(df_protocol *p, const char *data, size_t len) {
  (void)p;
  (void)data;
  (void)len;
}

/* The client half-closed (`nc host port < /dev/null` does): the poem
 * goes on. */
static void client_eof(df_protocol *p) { (void)p; }

static void client_lost(df_protocol *p, df_failure *reason) {
  slow_client *c = (slow_client *)p;
  slow_server *s = server_of(c);
  if (c->tick) tick_leave(c);
  else list_remove(&c->link);
  s->stats.active--;
  bool clean = df_failure_check(reason, &df_error_connection_done) != NULL;
  if (c->state == FINISHED && clean) s->stats.completed++;
  else if (c->state != CUT_OFF) s->stats.left++;
  if (!s->log) return;
  df_address peer;
  char who[DF_ADDRESS_TEXT_SIZE] = "?";
  if (df_transport_get_peer(p->transport, &peer) == 0)
    df_address_format(&peer, who, sizeof who);
  char why[256];
  df_failure_brief(reason, why, sizeof why);
  if (c->state == CUT_OFF)
    fprintf(s->log, "poetry-server: %s: cut off after %u of %u bytes (the "
            "server is stopping)\n", who, (unsigned)c->sent, (unsigned)s->len);
  else if (c->state == FINISHED && clean)
    fprintf(s->log, "poetry-server: %s: sent the whole poem (%u bytes)\n", who,
            (unsigned)s->len);
  else if (c->state == FINISHED)
    fprintf(s->log, "poetry-server: %s: lost with the end of the poem still "
            "unsent (%s)\n", who, why);
  else
    fprintf(s->log, "poetry-server: %s: left after %u of %u bytes (%s)\n", who,
            (unsigned)c->sent, (unsigned)s->len, why);
}

static void client_free(df_protocol *p) { free(p); }

static const df_protocol_type slow_client_type = {
    .name = "SlowPoetry",
    .size = sizeof(slow_client),
    .connection_made = client_made,
    .data_received = client_data,
    .read_connection_lost = client_eof,
    .connection_lost = client_lost,
    .free = client_free,
};

static df_protocol *build_client(df_factory *f, const df_address *peer) {
  (void)f;
  (void)peer;
  slow_client *c = calloc(1, sizeof *c);
  if (!c) return NULL; /* the connection is refused */
  c->base.type = &slow_client_type;
  return &c->base;
}

static const df_factory_type slow_factory_type = {
    .name = "SlowPoetryFactory",
    .build_protocol = build_client,
};

/* --- the server ---------------------------------------------------------------- */

int slow_server_init(slow_server *s, df_clock *clock, const char *poem,
                     size_t len, size_t chunk, double delay, FILE *log) {
  if (!s || !clock || (!poem && len) || len > SLOW_MAX_POEM || chunk == 0 ||
      !(delay >= 0) || !isfinite(delay))
    return DF_EINVAL;
  memset(s, 0, sizeof *s);
  df_factory_init(&s->base, &slow_factory_type);
  s->clock = clock;
  s->poem = poem;
  s->len = (uint32_t)len;
  s->chunk = chunk > SLOW_MAX_POEM ? SLOW_MAX_POEM : (uint32_t)chunk;
  s->delay = delay;
  s->log = log;
  list_init(&s->ticks);
  list_init(&s->streaming);
  list_init(&s->finishing);
  return 0;
}

static void cut(slow_client *c) {
  slow_server *s = server_of(c);
  size_t unsent = df_transport_write_buffer_size(c->base.transport);
  c->sent -= unsent < c->sent ? (uint32_t)unsent : c->sent; /* what left us */
  if (c->tick) tick_leave(c);
  else list_remove(&c->link);
  c->state = CUT_OFF;
  s->stats.cut_off++;
  df_transport_abort_connection(c->base.transport);
}

/* Cut off every client of `head`'s list (or, with `only_buffered`, those
 * whose write buffer still holds bytes). */
static size_t cut_list(slow_link *head, bool only_buffered) {
  size_t n = 0;
  for (slow_link *l = head->next, *next; l != head; l = next) {
    next = l->next;
    slow_client *c = client_of_link(l);
    if (only_buffered && df_transport_write_buffer_size(c->base.transport) == 0)
      continue;
    cut(c);
    n++;
  }
  return n;
}

size_t slow_server_cut_off(slow_server *s) {
  if (!s) return 0;
  size_t n = 0;
  for (slow_link *l = s->ticks.next, *next; l != &s->ticks; l = next) {
    next = l->next;
    slow_tick *t = CONTAINER(l, slow_tick, link);
    t->running = true; /* kept while its list is walked */
    n += cut_list(&t->clients, false);
    t->running = false;
    tick_free(t); /* empty now */
  }
  n += cut_list(&s->streaming, false);
  n += cut_list(&s->finishing, true);
  return n;
}

size_t slow_server_tick_count(const slow_server *s) {
  size_t n = 0;
  for (const slow_link *l = s->ticks.next; l != &s->ticks; l = l->next) n++;
  return n;
}
