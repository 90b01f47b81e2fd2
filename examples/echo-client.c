/* echo-client: an echo client on libdeferred-uv, written against the
 * public API only.
 *
 *   echo-client HOST:PORT        (an IPv6 host in brackets: [::1]:8000)
 *
 * Connects, sends its standard input, half-closes once it reaches the end
 * of it, and prints everything that comes back to standard output. Exits
 * 0 when the server closes the connection cleanly, 1 on a connection
 * error (refused, timed out, reset, a name that does not resolve) or a
 * local one (standard input cannot be read, standard output cannot be
 * written: a full disk, /dev/full) with the reason on standard error, 2
 * on a usage error or when started with standard output closed (a
 * closed standard input reads as empty). A local error aborts the
 * connection at once: nothing that came back is silently dropped.
 *
 * How it is put together:
 *   - df_react runs the program; its main connects with an endpoint
 *     (df_connect_protocol) and returns a deferred that fires when the
 *     connection ends: with None after a clean close, with the reason
 *     otherwise (react prints nothing for SystemExit: we print the
 *     reason ourselves, briefly, and exit 1);
 *   - standard input is read on a pool thread (df_reactor_defer_to_thread),
 *     64 KiB at a time, and the protocol is a pull producer of its
 *     transport: it asks for the next block only once the previous one
 *     is sent, so a slow server throttles the reading. The read waits for
 *     input with poll() and a short timeout, so that a read in progress
 *     when the connection ends returns soon even on a terminal. */
#include <deferred/uv.h>
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "std_fds.h" /* tools/common: closed standard streams */

static const char *usage_line = "usage: echo-client HOST:PORT";

#define BLOCK 65536

/* --- reading standard input on a thread ------------------------------------- */

typedef struct block {
  size_t len;
  bool eof;
  int error;
  char data[BLOCK];
} block;

static atomic_bool stop_reading; /* set when the connection has ended */

static void free_block(void *b) { free(b); }

/* On a pool thread: the next block of standard input. */
static df_result read_block(void *arg) {
  (void)arg;
  block *b = malloc(sizeof *b);
  if (!b) return df_raise(&df_error_no_memory, "reading standard input");
  b->len = 0;
  b->eof = false;
  b->error = 0;
  for (;;) {
    if (atomic_load(&stop_reading)) break;
    struct pollfd p = {0, POLLIN, 0};
    int ready = poll(&p, 1, 200);
    if (ready == 0 || (ready < 0 && errno == EINTR)) continue;
    ssize_t n = read(0, b->data, sizeof b->data);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) b->error = errno;
    if (n <= 0) b->eof = true;
    if (n > 0) b->len = (size_t)n;
    break;
  }
  return df_pointer(b, free_block);
}

/* --- the protocol -------------------------------------------------------------- */

typedef struct client {
  df_protocol base;
  df_producer input; /* a pull producer of its transport */
  df_reactor *reactor;
  df_deferred *done;  /* fires when the connection ends */
  bool reading;       /* a block is being read */
  bool input_over;
  bool released;      /* its transport let go of it while reading */
} client;

static client *client_of(df_producer *p) {
  return (client *)(void *)((char *)p - offsetof(client, input));
}

/* Set once a local error has been reported: the exit status is then 1,
 * whatever the connection ended with (report() says nothing more). */
static bool local_error;

/* Standard input or output failed (`what`, because `why`): say so, once. */
static void report_local_error(const char *what, const char *why) {
  if (!local_error) fprintf(stderr, "echo-client: %s: %s\n", what, why);
  local_error = true;
}

/* The same, and abort the connection, whose end finishes the program. */
static void fail_locally(client *c, const char *what, const char *why) {
  report_local_error(what, why);
  c->input_over = true;
  if (c->base.transport) df_transport_abort_connection(c->base.transport);
}

static df_result got_block(df_result r, void *arg) {
  client *c = arg;
  c->reading = false;
  if (c->released) { /* the connection ended meanwhile: ours to free */
    free(c);
    df_result_drop(r);
    return df_none();
  }
  if (c->input_over) { /* a local error came first */
    df_result_drop(r);
    return df_none();
  }
  block *b = df_result_is_failure(r) ? NULL : r.u.p;
  int rc = 0;
  if (!b || b->error)
    fail_locally(c, "reading standard input",
                 b ? strerror(b->error) : df_failure_message(r.u.failure));
  else if (b->len &&
           (rc = df_transport_write(c->base.transport, b->data, b->len)) < 0)
    fail_locally(c, "sending standard input", df_strerror(rc));
  else if (b->eof) {
    c->input_over = true;
    df_transport_unregister_producer(c->base.transport);
    df_transport_lose_write_connection(c->base.transport);
  }
  df_result_drop(r);
  return df_none();
}

/* The transport has room for more: read the next block. */
static void more_input(df_producer *p) {
  client *c = client_of(p);
  if (c->reading || c->input_over) return;
  df_deferred *d = df_reactor_defer_to_thread(c->reactor, read_block, NULL);
  if (!d) {
    fail_locally(c, "reading standard input", df_strerror(DF_ENOMEM));
    return;
  }
  c->reading = true;
  df_deferred_add_both(d, got_block, c);
  df_deferred_unref(d);
}

static const df_producer_type input_type = {NULL, more_input, NULL};

static void client_made(df_protocol *p) {
  client *c = (client *)p;
  c->input.type = &input_type;
  int rc = df_transport_register_producer(p->transport, &c->input, false);
  if (rc < 0) fail_locally(c, "reading standard input", df_strerror(rc));
}

/* What comes back goes to standard output; a write that fails (a full
 * disk, /dev/full, a closed pipe) ends the program with an error. */
static void client_data(df_protocol *p, const char *data, size_t len) {
  if (local_error) return; /* aborting: the rest is not wanted */
  if (fwrite(data, 1, len, stdout) != len)
    fail_locally((client *)p, "writing standard output", strerror(errno));
}

static void client_lost(df_protocol *p, df_failure *reason) {
  client *c = (client *)p;
  atomic_store(&stop_reading, true);
  /* fflush reports a failure of the buffered part; ferror one that an
   * earlier fwrite hid. */
  errno = 0;
  if (fflush(stdout) != 0 || ferror(stdout))
    report_local_error("writing standard output",
                       strerror(errno ? errno : EIO));
  df_deferred *done = c->done;
  c->done = NULL;
  if (df_failure_check(reason, &df_error_connection_done))
    df_deferred_callback(done, df_none());
  else
    df_deferred_errback(done, df_failure_ref(reason));
  df_deferred_unref(done);
}

/* Released by its transport (or, unconnected, by a failed connect).
 * While a block is being read, got_block still needs it and frees it. */
static void client_free(df_protocol *p) {
  client *c = (client *)p;
  df_deferred_unref(c->done); /* still set if connection_lost never ran */
  c->done = NULL;
  if (c->reading)
    c->released = true;
  else
    free(c);
}

static const df_protocol_type client_type = {
    .name = "EchoClient",
    .connection_made = client_made,
    .data_received = client_data,
    .connection_lost = client_lost,
    .free = client_free,
};

/* --- main ------------------------------------------------------------------------ */

/* Split "host:port" or "[v6 host]:port". Returns 0 or -1. */
static int split_address(char *arg, char **host, int *port) {
  char *colon;
  if (arg[0] == '[') {
    char *close = strchr(arg, ']');
    if (!close || close[1] != ':') return -1;
    *close = '\0';
    *host = arg + 1;
    colon = close + 1;
  } else {
    colon = strrchr(arg, ':');
    if (!colon) return -1;
    *colon = '\0';
    *host = arg;
  }
  char *end;
  errno = 0;
  long p = strtol(colon + 1, &end, 10);
  if (!**host || !colon[1] || *end || errno || p < 1 || p > 65535) return -1;
  *port = (int)p;
  return 0;
}

/* The outcome: a clean close exits 0; anything else is reported here. */
static df_result report(df_result r, void *arg) {
  (void)arg;
  if (local_error) { /* reported already */
    df_result_drop(r);
    return df_system_exit(1);
  }
  if (!df_result_is_failure(r)) return r;
  fprintf(stderr, "echo-client: %s\n", df_failure_message(r.u.failure));
  df_result_drop(r);
  return df_system_exit(1);
}

static df_result connect_failed(df_result r, void *arg) {
  df_deferred *done = arg;
  df_deferred_errback(done, df_failure_ref(r.u.failure));
  df_result_drop(r);
  return df_none();
}

static void release_deferred(void *d) { df_deferred_unref(d); }

static df_deferred *client_main(df_reactor *r, int argc, char **argv) {
  if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    printf("%s\n\nSend standard input to an echo server, half-close, and print\n"
           "what comes back. Exit 0 when the server closes the connection,\n"
           "1 on a connection error (the reason on standard error).\n",
           usage_line);
    if (fflush(stdout) != 0) {
      fprintf(stderr, "echo-client: writing standard output: %s\n",
              strerror(errno));
      return df_succeed(df_system_exit(1));
    }
    return df_succeed(df_none());
  }
  char *host;
  int port;
  if (argc != 2 || argv[1][0] == '-' || split_address(argv[1], &host, &port) < 0) {
    fprintf(stderr, "echo-client: %s\n%s\ntry 'echo-client --help'\n",
            argc != 2 ? "one HOST:PORT argument is needed"
                      : "not HOST:PORT",
            usage_line);
    return df_succeed(df_system_exit(2));
  }
  df_endpoint *ep;
  if (df_tcp_client_endpoint_new(r, host, port, 30, NULL, &ep) < 0) {
    fprintf(stderr, "echo-client: cannot connect to %s:%d\n", host, port);
    return df_succeed(df_system_exit(1));
  }
  client *c = calloc(1, sizeof *c);
  df_deferred *done = df_deferred_new();
  if (!c || !done) {
    free(c);
    df_deferred_unref(done);
    df_endpoint_free(ep);
    return NULL;
  }
  df_protocol_init(&c->base, &client_type);
  c->reactor = r;
  c->done = df_deferred_ref(done);
  df_deferred *connected = df_connect_protocol(ep, &c->base);
  df_endpoint_free(ep);
  if (!connected) { /* out of memory; the protocol was released */
    df_deferred_unref(done);
    return NULL;
  }
  /* A failed connect never reaches connection_lost: end `done` here
   * (the protocol was released unconnected, with its reference: the
   * stage holds one of its own). */
  df_deferred_add_owned(connected, NULL, connect_failed, df_deferred_ref(done),
                        release_deferred);
  df_deferred_unref(connected);
  df_deferred_add_both(done, report, NULL);
  return done;
}

int main(int argc, char **argv) {
  /* A closed standard stream would become the first socket's number. */
  if (std_fds_missing("echo-client", std_fds_guard(),
                      STD_FDS_IN | STD_FDS_OUT))
    return 2;
  return df_react(client_main, argc, argv);
}
