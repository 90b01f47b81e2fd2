/* What the network benchmarks' load clients share (bench/net/load.c, the
 * echo client; bench/poetry/load.c, the poetry client): small pieces on
 * libuv alone, so that a client costs the same whatever server it drives.
 *
 *   bench_client_raise_nofile   enough descriptors for the connections
 *   bench_client_connect        a connection from 127.0.0.1, or from one
 *                               of several loopback source addresses
 *   bench_client_buffer         one receive buffer for every connection
 *   bench_client_watch_stdin    the driver closing our standard input
 *   bench_client_close_all      let go of every handle of a loop
 *
 * Each function that can fail prints what failed, prefixed with the
 * program's name (bench_client_name), and returns a negative libuv error
 * code; the client then gives up: a benchmark that loses a connection is
 * not a result. */
#ifndef BENCH_NET_CLIENT_H
#define BENCH_NET_CLIENT_H

#include <uv.h>

/* The most descriptors a client may ask for: what `ulimit -n` may be
 * raised to on the machine the project is developed on. */
#define BENCH_CLIENT_MAX_FILES 20000

/* The program's name in messages ("net_load", "poetry_load"). */
extern const char *bench_client_name;

/* Make sure `need` descriptors can be open at once: raises the soft
 * RLIMIT_NOFILE (and the hard one if it is lower and we may) to `need`,
 * never lowering it. Returns 0, or UV_EMFILE after saying so if `need` is
 * above BENCH_CLIENT_MAX_FILES or the limit cannot be raised. */
int bench_client_raise_nofile(long need);

/* Initialise `tcp` on `loop` and start connecting it to `server`, calling
 * `cb` with `req` as libuv does. With `source` 0 the kernel chooses the
 * source address and port; with `source` k > 0 the connection leaves from
 * 127.0.0.(k+1), its port chosen at connect time
 * (IP_BIND_ADDRESS_NO_PORT), so that each source address has the whole
 * ephemeral port range to itself (net.ipv4.ip_local_port_range): that is
 * how one client opens more loopback connections to a port than the range
 * holds. Returns 0 or a negative libuv error code (then `tcp` is
 * initialised and must be closed). */
int bench_client_connect(uv_loop_t *loop, uv_tcp_t *tcp, uv_connect_t *req,
                         const struct sockaddr_in *server, unsigned source,
                         uv_connect_cb cb);

/* A libuv alloc_cb that hands every read the same 64 KiB buffer: the
 * clients count or compare what they read, and keep none of it. */
void bench_client_buffer(uv_handle_t *handle, size_t suggested, uv_buf_t *buf);

/* Call `on_eof` once, when the standard input reaches its end (the driver
 * closed it, or died). Returns 0 or a negative libuv error code. */
int bench_client_watch_stdin(uv_loop_t *loop, void (*on_eof)(void));

/* Close every handle of `loop` not already closing: what is left of a
 * client once it has its answer. TCP handles (the connections, each its
 * own allocation) are closed with `close_tcp`, which frees them; the
 * others (the client's static timers and pipes) with no callback. uv_run
 * then returns. */
void bench_client_close_all(uv_loop_t *loop, uv_close_cb close_tcp);

#endif
