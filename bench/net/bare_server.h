/* What the benchmarks' bare libuv servers share (bench/net's echo server,
 * bench/poetry's poetry server): listening on loopback and running until
 * a signal, the part of a server that is the same whatever it serves. */
#ifndef BENCH_NET_BARE_SERVER_H
#define BENCH_NET_BARE_SERVER_H

#include <uv.h>

/* Listen on 127.0.0.1, a free port, with `backlog` (the kernel caps it at
 * net.core.somaxconn), on libuv's default loop; print "listening on
 * 127.0.0.1:PORT", flushed; call `accepted` for each connection; run
 * until SIGTERM or SIGINT. SIGPIPE is ignored. Returns the exit status:
 * 0 once stopped by a signal, 1 (after a message naming `name`) if it
 * cannot listen. */
int bench_bare_serve(const char *name, int backlog, uv_connection_cb accepted);

#endif
