/* The slow poetry server's protocol (poetry-server(1)): to each client,
 * the poem `chunk` bytes at a time every `delay` seconds, then a clean
 * close; the Twisted tutorial's slowpoetry.py, written for a reactor.
 *
 * A slow_server is a df_factory (its first member) for one reactor: give
 * it to df_reactor_listen_tcp, and every connection gets a slow client.
 * The poem is shared, borrowed: clients hold an offset into it, never a
 * copy.
 *
 * Timing. A client gets its first chunk as soon as it connects, the next
 * one `delay` seconds later, and so on; the connection is closed (a
 * clean close, FIN) once the last chunk has been handed to the kernel.
 * So a poem of L bytes takes (ceil(L / chunk) - 1) * delay seconds.
 * Runs are due at connect time + k * delay, as LoopingCall's are; when the
 * loop is late, intervals missed are skipped, not made up.
 *
 * Shared ticks. Clients that connect within the same millisecond
 * (SLOW_TICK_JOIN_WINDOW) have the same schedule, so they share one timer,
 * a "tick": a burst of 10,000 clients costs a few hundred timers, not
 * 10,000, and a client costs its protocol struct alone (64 bytes; with the
 * transport, about 450 bytes of the server's memory; docs/poetry.md has
 * the measurements). A client's chunk may thus come up to 1 ms before
 * its own connect time + k * delay, which is within libuv's timer
 * resolution anyway.
 *
 * Backpressure. Each client is a streaming producer of its transport: a
 * client that does not read is paused once the transport's write buffer
 * passes its high-water mark (64 KiB) and skips its chunks until the
 * buffer has drained to the low-water mark, so whatever it does, a client
 * costs at most a bounded buffer. With a delay of 0 the poem is written
 * as fast as the client reads it, SLOW_STREAM_SLICE bytes at a time, also
 * through the water marks: never the whole poem at once for a slow reader.
 *
 * Stopping. slow_server_cut_off aborts (a reset, never a clean close)
 * every client that has not been sent its whole poem, so that no client
 * ever takes a cut poem for a whole one; poetry-server calls it from a
 * before-shutdown trigger, before the reactor closes the connections.
 *
 * Threads: a slow_server and its clients belong to one reactor's thread.
 */
#ifndef POETRY_SLOW_SENDER_H
#define POETRY_SLOW_SENDER_H

#include <stdint.h>
#include <stdio.h>

#include <deferred/uv.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Clients connecting within this many seconds of a tick's first client,
 * before it has run, join it. (0 gives every client a timer of its own:
 * the measurements of docs/poetry.md compare the two.) */
#ifndef SLOW_TICK_JOIN_WINDOW
#define SLOW_TICK_JOIN_WINDOW 0.001
#endif
/* With a delay of 0, the most written in one piece. */
#define SLOW_STREAM_SLICE 16384
/* The longest poem a slow_server serves (offsets are 32-bit). */
#define SLOW_MAX_POEM (64u * 1024 * 1024)

/* What happened to the clients so far. */
typedef struct slow_stats {
  uint64_t clients;   /* connections accepted                           */
  uint64_t completed; /* sent the whole poem and closed cleanly         */
  uint64_t left;      /* the client went (or the connection broke)
                         before it had the whole poem                   */
  uint64_t cut_off;   /* aborted mid-poem by slow_server_cut_off        */
  uint64_t active;    /* connected now                                  */
} slow_stats;

typedef struct slow_link {
  struct slow_link *prev, *next;
} slow_link;

typedef struct slow_tick slow_tick;

typedef struct slow_server {
  df_factory base; /* first member: give &server->base to listen_tcp */
  /* Read-only after init. */
  df_clock *clock;
  const char *poem;
  uint32_t len;
  uint32_t chunk;
  double delay;
  FILE *log; /* a line per client when it ends; NULL: none */
  /* What happened (read it any time from the reactor's thread). */
  slow_stats stats;
  /* Private: the clients by state (each list's head is a sentinel). */
  slow_link ticks;     /* every tick, oldest first                      */
  slow_link streaming; /* clients of a delay-0 server, being sent to    */
  slow_link finishing; /* clients sent everything, not yet closed       */
  slow_tick *joinable; /* the newest tick, while clients may join it    */
} slow_server;

/* Set up `s` to serve `len` bytes at `poem` (borrowed: it must outlive
 * every connection) `chunk` bytes every `delay` seconds of `clock`
 * (borrowed; normally df_reactor_clock of the reactor it listens on).
 * `log`, if not NULL, gets a line per client when its connection ends:
 *
 *     poetry-server: 127.0.0.1:53412: sent the whole poem (653 bytes)
 *     poetry-server: 127.0.0.1:53418: left after 120 of 653 bytes (Connection was lost: ...)
 *     poetry-server: 127.0.0.1:53420: cut off after 40 of 653 bytes (the server is stopping)
 *
 * Returns 0, or DF_EINVAL (NULL `s`, `clock`, or `poem` with len > 0;
 * `len` above SLOW_MAX_POEM; `chunk` 0; `delay` negative, infinite or
 * NaN). Nothing to free: a slow_server holds no memory of its own once
 * its connections have ended (the reactor's shutdown ends them). */
int slow_server_init(slow_server *s, df_clock *clock, const char *poem,
                     size_t len, size_t chunk, double delay, FILE *log);

/* Abort every connection that has not been sent the whole poem, or whose
 * last bytes are still in its write buffer: its client sees a reset.
 * Their connection_lost comes later, from the loop, as always. Returns
 * how many were cut off (also added to stats.cut_off). Calling it again
 * cuts off only clients connected since. */
size_t slow_server_cut_off(slow_server *s);

/* How many timers (ticks) are running now: one per group of clients with
 * the same schedule. For tests and the memory figures. */
size_t slow_server_tick_count(const slow_server *s);

#ifdef __cplusplus
}
#endif

#endif /* POETRY_SLOW_SENDER_H */
