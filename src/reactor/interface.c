/* The df_reactor functions that only check their arguments and hand
 * over to the implementation (libuv or fake): free, listen_tcp,
 * defer_to_thread, call_from_thread. The reactor's life is in
 * lifecycle.c, connecting in connector.c. */
#include "internal.h"

void df_reactor_free(df_reactor *r) {
  if (r) r->ops->destroy(r);
}


int df_reactor_listen_tcp(df_reactor *r, int port, df_factory *factory,
                          const char *interface, int backlog, unsigned flags,
                          df_listening_port **out, df_failure **error) {
  if (out) *out = NULL;
  if (error) *error = NULL;
  df__listen_request req = {.port = port,
                            .factory = factory,
                            .interface = interface ? interface : "",
                            .backlog = backlog > 0 ? backlog
                                                   : DF_LISTEN_BACKLOG_DEFAULT,
                            .flags = flags};
  const char *host = req.interface[0] ? req.interface : "0.0.0.0";
  if (!r || !factory || port < 0 || port > 65535 || df__reactor_closed(r) ||
      (flags & ~(unsigned)(DF_LISTEN_REUSE_PORT | DF_LISTEN_IPV6_ONLY)) ||
      df_address_parse(&req.address, host, port) < 0) {
    if (error)
      *error = df_failure_new(&df_error_cannot_listen,
                              "Couldn't listen on %s:%d: %s",
                              req.interface[0] ? req.interface : "any", port,
                              !r || !factory ? "no reactor or factory"
                              : r && df__reactor_closed(r)
                                  ? "the reactor has stopped"
                                  : "invalid argument");
    return DF_EINVAL;
  }
  return r->ops->listen_tcp(r, &req, out, error);
}

df_deferred *df_reactor_defer_to_thread(df_reactor *r, df_thread_fn fn,
                                        void *arg) {
  if (!r || !fn || df__reactor_closed(r))
    return df_fail(df_failure_new(&df_error_invalid_argument,
                                  "defer_to_thread: %s",
                                  !r ? "no reactor"
                                  : !fn ? "no function"
                                        : "the reactor has stopped"));
  return r->ops->defer_to_thread(r, fn, arg);
}

int df_reactor_call_from_thread(df_reactor *r, df_call_fn fn, void *arg) {
  if (!r || !fn) return DF_EINVAL;
  return r->ops->call_from_thread(r, fn, arg);
}
