/* echo-server: an echo server on libdeferred-uv, written against the
 * public API only.
 *
 *   echo-server [--port N] [--iface ADDR]
 *
 * Listens on ADDR (default 127.0.0.1) port N (default: a free one) and
 * prints "echo-server listening on ADDR:PORT" as its first line, flushed,
 * so that a script can read the port. Each connection gets back what it
 * sends; once the client half-closes, the server closes the connection as
 * soon as the echo has been sent. A client that sends without reading is
 * throttled: the connection stops reading while its echo waits to be sent
 * (backpressure), so it costs at most a bounded buffer. Runs until
 * SIGINT or SIGTERM, then stops cleanly and exits 0. Exits 1 if it
 * cannot listen or print that first line, 2 on a usage error or when
 * started with standard output closed (standard input and error closed
 * get /dev/null, so that no connection lands on their descriptors).
 *
 * The program is a df_react main function: the deferred it returns fires
 * when the reactor begins to stop, so react's exit status is 0 unless
 * listening failed. */
#include <deferred/uv.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "std_fds.h" /* tools/common: closed standard streams */

static const char *usage_line = "usage: echo-server [--port N] [--iface ADDR]";

static void usage_error(const char *fmt, const char *what) {
  fprintf(stderr, "echo-server: ");
  fprintf(stderr, fmt, what);
  fprintf(stderr, "\n%s\ntry 'echo-server --help'\n", usage_line);
}

/* --- the protocol ----------------------------------------------------------- */

/* One connection. It is also the producer that throttles its own
 * reading: while the echo waits to be sent (the client is not reading),
 * the transport pauses it, and it stops reading in turn. */
typedef struct echo {
  df_protocol base;
  df_producer throttle;
} echo;

static echo *echo_of(df_producer *p) {
  return (echo *)(void *)((char *)p - offsetof(echo, throttle));
}
static void stop_reading(df_producer *p) {
  df_transport_pause_producing(echo_of(p)->base.transport);
}
static void read_again(df_producer *p) {
  df_transport_resume_producing(echo_of(p)->base.transport);
}
static const df_producer_type throttle_type = {stop_reading, read_again, NULL};

static void echo_made(df_protocol *p) {
  echo *e = (echo *)p;
  e->throttle.type = &throttle_type;
  /* Without its throttle a connection could buffer without bound. */
  if (df_transport_register_producer(p->transport, &e->throttle, true) < 0)
    df_transport_abort_connection(p->transport);
}

/* An echo that cannot be kept (out of memory) must not come back with a
 * hole in it: the connection is aborted instead. */
static void echo_data(df_protocol *p, const char *data, size_t len) {
  if (df_transport_write(p->transport, data, len) < 0)
    df_transport_abort_connection(p->transport);
}

/* The client half-closed: close once the echo is out. */
static void echo_eof(df_protocol *p) { df_transport_lose_connection(p->transport); }

static const df_protocol_type echo_type = {
    .name = "Echo",
    .size = sizeof(echo),
    .connection_made = echo_made,
    .data_received = echo_data,
    .read_connection_lost = echo_eof,
    .free = df_protocol_free,
};

/* --- main --------------------------------------------------------------------- */

typedef struct options {
  int port;
  const char *iface;
} options;

/* 0 and `*opts`, 1 for --help (printed), or 2 after a usage error. */
static int parse(int argc, char **argv, options *opts) {
  opts->port = 0;
  opts->iface = "127.0.0.1";
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      printf("%s\n\n"
             "Echo every connection's bytes back to it, until it half-closes.\n"
             "  --port N      listen on port N (default: any free port)\n"
             "  --iface ADDR  listen on numeric address ADDR (default 127.0.0.1;\n"
             "                :: for every IPv6 and IPv4 interface)\n"
             "The first line of output ends with the port. Stops on SIGINT or "
             "SIGTERM.\n",
             usage_line);
      return 1;
    }
    const char *value = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(arg, "--port") == 0 || strcmp(arg, "--iface") == 0) {
      if (!value) {
        usage_error("%s needs a value", arg);
        return 2;
      }
      i++;
      if (arg[2] == 'i') {
        opts->iface = value;
        continue;
      }
      char *end;
      errno = 0;
      long port = strtol(value, &end, 10);
      if (!*value || *end || errno || port < 0 || port > 65535) {
        usage_error("not a port number: '%s'", value);
        return 2;
      }
      opts->port = (int)port;
      continue;
    }
    usage_error("unknown argument '%s'", arg);
    return 2;
  }
  return 0;
}

/* A before-shutdown trigger: the program is done when the reactor stops. */
static df_deferred *finish(void *arg) {
  df_deferred_callback(arg, df_none());
  df_deferred_unref(arg);
  return NULL;
}

static df_deferred *echo_main(df_reactor *r, int argc, char **argv) {
  options opts;
  int rc = parse(argc, argv, &opts);
  if (rc == 1 && fflush(stdout) != 0) { /* the help went nowhere */
    fprintf(stderr, "echo-server: writing standard output: %s\n",
            strerror(errno));
    return df_succeed(df_system_exit(1));
  }
  if (rc) return df_succeed(rc == 1 ? df_none() : df_system_exit(2));
  static df_factory factory;
  df_factory_init_for_protocol(&factory, &echo_type);
  df_listening_port *port;
  df_failure *why;
  if (df_reactor_listen_tcp(r, opts.port, &factory, opts.iface, 0, 0, &port,
                            &why) < 0) {
    fprintf(stderr, "echo-server: %s\n", df_failure_message(why));
    df_failure_unref(why);
    return df_succeed(df_system_exit(1));
  }
  df_address bound;
  df_listening_port_get_host(port, &bound);
  df_listening_port_unref(port);
  char text[DF_ADDRESS_TEXT_SIZE];
  df_address_format(&bound, text, sizeof text);
  /* The line is how a script learns the port: not printing it is fatal. */
  if (printf("echo-server listening on %s\n", text) < 0 || fflush(stdout) != 0) {
    fprintf(stderr, "echo-server: writing standard output: %s\n",
            strerror(errno));
    return df_succeed(df_system_exit(1));
  }
  df_deferred *done = df_deferred_new();
  if (!done) return NULL;
  if (df_reactor_add_system_event_trigger(r, DF_PHASE_BEFORE,
                                          DF_SYSTEM_SHUTDOWN, finish,
                                          df_deferred_ref(done), NULL) < 0) {
    df_deferred_unref(done); /* the trigger's reference */
    df_deferred_unref(done);
    return NULL; /* out of memory: react reports it and exits 1 */
  }
  return done;
}

int main(int argc, char **argv) {
  /* A closed standard stream would become the first socket's number. */
  if (std_fds_missing("echo-server", std_fds_guard(), STD_FDS_OUT)) return 2;
  return df_react(echo_main, argc, argv);
}
