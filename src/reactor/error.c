/* The network's error types (error.h) and the failures the reactor makes
 * from libuv's error codes.
 *
 * A failure made from an operating-system error keeps its libuv code so
 * that df_network_error_code() can give it back. The code is stored as
 * the failure's payload without allocating: the payload points into
 * `code_marks`, at the offset -code, and only a pointer into that array
 * is read back as a code (a user's payload on a failure of one of these
 * types is never mistaken for one). SystemExit's status is kept the same
 * way, in `status_marks`. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

DF_ERROR_TYPE(df_error_connect, "ConnectError", &df_error_exception);
DF_ERROR_TYPE(df_error_connection_refused, "ConnectionRefusedError",
              &df_error_connect);
DF_ERROR_TYPE(df_error_tcp_timed_out, "TCPTimedOutError", &df_error_connect);
DF_ERROR_TYPE(df_error_no_route, "NoRouteError", &df_error_connect);
DF_ERROR_TYPE(df_error_dns_lookup, "DNSLookupError", &df_error_connect);
DF_ERROR_TYPE(df_error_connect_bind, "ConnectBindError", &df_error_connect);
DF_ERROR_TYPE(df_error_user, "UserError", &df_error_connect);
DF_ERROR_TYPE(df_error_connecting_cancelled, "ConnectingCancelledError",
              &df_error_exception);
DF_ERROR_TYPE(df_error_connection_closed, "ConnectionClosed",
              &df_error_exception);
DF_ERROR_TYPE(df_error_connection_done, "ConnectionDone",
              &df_error_connection_closed);
DF_ERROR_TYPE(df_error_connection_lost, "ConnectionLost",
              &df_error_connection_closed);
DF_ERROR_TYPE(df_error_connection_aborted, "ConnectionAborted",
              &df_error_connection_lost);
DF_ERROR_TYPE(df_error_bind, "BindError", &df_error_exception);
DF_ERROR_TYPE(df_error_cannot_listen, "CannotListenError", &df_error_bind);
DF_ERROR_TYPE(df_error_system_exit, "SystemExit", &df_error_exception);

/* libuv's codes are negative errno values (down to about -133) and its
 * own UV_EAI_* (-3000...) and UV_E* (-4095...) codes. */
#define CODE_RANGE 4096
static const unsigned char code_marks[CODE_RANGE];
#define STATUS_RANGE 256
static const unsigned char status_marks[STATUS_RANGE];

static void mark_code(df_failure *f, int uv_error) {
  if (uv_error < 0 && uv_error > -CODE_RANGE)
    df_failure_set_payload(f, (void *)(code_marks - uv_error), NULL);
}

int df_network_error_code(const df_failure *f) {
  const unsigned char *p = f ? df_failure_payload(f) : NULL;
  if (p >= code_marks + 1 && p < code_marks + CODE_RANGE)
    return -(int)(p - code_marks);
  return 0;
}

df_failure *df_network_failure_at(const char *file, int line, const char *func,
                                  const df_error_type *type, int uv_error,
                                  const char *fmt, ...) {
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  what[0] = '\0';
  if (fmt) vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  df_failure *f =
      uv_error ? df_failure_new_at(file, line, func, type, "%s: %s", what,
                                   uv_strerror(uv_error))
               : df_failure_new_at(file, line, func, type, "%s", what);
  mark_code(f, uv_error);
  return f;
}

const df_error_type *df_connect_error_type(int uv_error) {
  switch (uv_error) {
    case UV_ECONNREFUSED: return &df_error_connection_refused;
    case UV_ETIMEDOUT: return &df_error_tcp_timed_out;
    case UV_ENETUNREACH:
    case UV_EHOSTUNREACH: return &df_error_no_route;
    default: return &df_error_connect;
  }
}

/* Twisted's MESSAGE of each ConnectError type, which its str() starts
 * with. */
static const char *connect_message(const df_error_type *type) {
  if (type == &df_error_connection_refused)
    return "Connection was refused by other side";
  if (type == &df_error_tcp_timed_out) return "TCP connection timed out";
  if (type == &df_error_no_route) return "No route to host";
  return "An error occurred while connecting";
}

df_failure *df__connect_failure(int uv_error, const char *what) {
  const df_error_type *type = df_connect_error_type(uv_error);
  return df_network_failure(type, uv_error, "%s: %s", connect_message(type),
                            what);
}

df_failure *df__connection_lost_failure(int uv_error) {
  return df_network_failure(&df_error_connection_lost, uv_error,
                            "Connection to the other side was lost in a "
                            "non-clean fashion");
}

df_failure *df__connection_done(void) {
  return df_failure_new(&df_error_connection_done,
                        "Connection was closed cleanly");
}

df_failure *df__connection_aborted(void) {
  return df_failure_new(&df_error_connection_aborted,
                        "Connection was aborted locally using "
                        "abort_connection");
}

df_failure *df_system_exit_failure_at(const char *file, int line,
                                      const char *func, int status) {
  df_failure *f =
      df_failure_new_at(file, line, func, &df_error_system_exit, "%d", status);
  if (status >= 0 && status < STATUS_RANGE)
    df_failure_set_payload(f, (void *)(status_marks + status), NULL);
  return f;
}

int df_system_exit_status(const df_failure *f) {
  if (!f || !df_failure_check(f, &df_error_system_exit)) return 1;
  const unsigned char *p = df_failure_payload(f);
  if (p >= status_marks && p < status_marks + STATUS_RANGE)
    return (int)(p - status_marks);
  return 1;
}
