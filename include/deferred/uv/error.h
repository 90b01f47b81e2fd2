/* libdeferred-uv: the network's typed errors (twisted.internet.error).
 *
 * Failures the reactor produces have one of these types, arranged as in
 * Twisted so that an errback can trap a whole family:
 *
 *   Exception
 *    +- ConnectError                 a connection attempt failed
 *    |   +- ConnectionRefusedError   nothing listens there (ECONNREFUSED)
 *    |   +- TCPTimedOutError         the attempt's timeout expired, or the
 *    |   |                           kernel's (ETIMEDOUT)
 *    |   +- NoRouteError             ENETUNREACH, EHOSTUNREACH
 *    |   +- DNSLookupError           the name did not resolve (*)
 *    |   +- ConnectBindError         the bind address could not be used
 *    |   +- UserError                the attempt was stopped by its owner
 *    +- ConnectingCancelledError     an endpoint's connect deferred was
 *    |                               cancelled
 *    +- ConnectionClosed             a connection ended; the reason given
 *    |   |                           to connection_lost is one of:
 *    |   +- ConnectionDone           a clean close (either side)
 *    |   +- ConnectionLost           a reset, an error, or the reactor
 *    |       |                       shutting down with it open
 *    |       +- ConnectionAborted    abort_connection() on this side
 *    +- BindError
 *    |   +- CannotListenError        listen_tcp failed (port in use ...)
 *    +- SystemExit                   ends df_react() with a given status
 *
 * (*) In Twisted DNSLookupError derives from IOError; here it is a
 * ConnectError, so that one trap of ConnectError catches every way a
 * connect can fail (see docs/twisted-programmers.md).
 *
 * Messages start as Twisted's do, then say where and libuv's reason:
 * "Connection was refused by other side: 127.0.0.1:4: connection
 * refused", "Couldn't listen on 127.0.0.1:8000: address already in use",
 * "TCP connection timed out: example.org:80: no connection after 5
 * seconds". A failure that comes from the operating
 * system also carries the code, read with df_network_error_code(): a
 * negated errno value (UV_ECONNREFUSED is -ECONNREFUSED), or for a name
 * lookup one of libuv's UV_EAI_* codes; its text is uv_strerror()'s.
 */
#ifndef DEFERRED_UV_ERROR_H
#define DEFERRED_UV_ERROR_H

#include "../failure.h"
#include "../result.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const df_error_type df_error_connect;              /* ConnectError */
extern const df_error_type df_error_connection_refused;   /* ConnectionRefusedError */
extern const df_error_type df_error_tcp_timed_out;        /* TCPTimedOutError */
extern const df_error_type df_error_no_route;             /* NoRouteError */
extern const df_error_type df_error_dns_lookup;           /* DNSLookupError */
extern const df_error_type df_error_connect_bind;         /* ConnectBindError */
extern const df_error_type df_error_user;                 /* UserError */
extern const df_error_type df_error_connecting_cancelled; /* ConnectingCancelledError */
extern const df_error_type df_error_connection_closed;    /* ConnectionClosed */
extern const df_error_type df_error_connection_done;      /* ConnectionDone */
extern const df_error_type df_error_connection_lost;      /* ConnectionLost */
extern const df_error_type df_error_connection_aborted;   /* ConnectionAborted */
extern const df_error_type df_error_bind;                 /* BindError */
extern const df_error_type df_error_cannot_listen;        /* CannotListenError */
extern const df_error_type df_error_system_exit;          /* SystemExit */

/* The error code behind a failure the reactor made from an
 * operating-system error: a negated errno value (-ECONNREFUSED, which is
 * libuv's UV_ECONNREFUSED), described by df_strerror; or, for a failed
 * name lookup (DNSLookupError), libuv's UV_EAI_* code (-3000 and below,
 * which df_strerror calls "unknown error": uv_strerror describes it).
 * 0 if it has none (a timeout of the attempt's own, a clean close, a
 * user's failure). NULL gives 0. */
int df_network_error_code(const df_failure *f);

/* A new failure of `type` whose message is `what` followed by libuv's
 * text for `uv_error` ("what: connection refused"), carrying `uv_error`
 * for df_network_error_code(). For protocol and resolver authors who turn
 * an OS error into a typed failure. Returns a new reference (never NULL:
 * out of memory gives the shared MemoryError). */
#define df_network_failure(type, uv_error, ...) \
  df_network_failure_at(DF_HERE, (type), (uv_error), __VA_ARGS__)
df_failure *df_network_failure_at(const char *file, int line, const char *func,
                                  const df_error_type *type, int uv_error,
                                  const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

/* The ConnectError subtype Twisted picks for an errno (its errnoMapping):
 * ConnectionRefusedError for UV_ECONNREFUSED, TCPTimedOutError for
 * UV_ETIMEDOUT, NoRouteError for UV_ENETUNREACH and UV_EHOSTUNREACH,
 * ConnectError for anything else (0 too). Static; never NULL. */
const df_error_type *df_connect_error_type(int uv_error);

/* A SystemExit failure as a result: returned from (or fired into) the
 * deferred that df_react()'s main function returned, it ends the program
 * with `status` and no error report (Python's `raise SystemExit(status)`).
 * df_system_exit_status() reads the status back (1 for a failure of
 * another type, or NULL). */
#define df_system_exit(status) df_failed(df_system_exit_failure_at(DF_HERE, (status)))
df_failure *df_system_exit_failure_at(const char *file, int line,
                                      const char *func, int status);
int df_system_exit_status(const df_failure *f);

#ifdef __cplusplus
}
#endif

#endif /* DEFERRED_UV_ERROR_H */
