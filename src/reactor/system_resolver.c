/* The system resolver (resolver.h): getaddrinfo(3) through libuv's
 * uv_getaddrinfo, which runs it on the thread pool so that the loop
 * never waits for a lookup. The addresses come in the system's order
 * (RFC 6724 and /etc/gai.conf), of both families, TCP only.
 *
 * Cancelling the deferred calls uv_cancel: a lookup still queued never
 * runs; one already running cannot be stopped, and its answer is dropped
 * when it comes. The request lives until libuv's callback either way. */
#include <netdb.h>
#include <string.h>

#include "internal.h"

typedef struct lookup {
  uv_getaddrinfo_t req;
  df__uv_reactor *ur;
  df_deferred *d; /* a reference, until the callback */
  int port;
  char host[];
} lookup;

static df_result lookup_failure(const char *host, int status) {
  return df_failed(df_network_failure(&df_error_dns_lookup, status,
                                      "DNS lookup failed: %s", host));
}

static df_result addresses_of(const struct addrinfo *ai, const char *host,
                              int port) {
  size_t n = 0;
  for (const struct addrinfo *p = ai; p; p = p->ai_next)
    n += p->ai_family == AF_INET || p->ai_family == AF_INET6;
  if (n == 0) return lookup_failure(host, UV_EAI_NODATA);
  df_address_list *list = df_address_list_new(n);
  if (!list) return df_raise(&df_error_no_memory, "resolving %s", host);
  size_t k = 0;
  for (const struct addrinfo *p = ai; p; p = p->ai_next) {
    df_address *a = &list->items[k];
    if (p->ai_family == AF_INET) {
      memcpy(&a->u.in, p->ai_addr, sizeof a->u.in);
      a->u.in.sin_port = htons((uint16_t)port);
    } else if (p->ai_family == AF_INET6) {
      memcpy(&a->u.in6, p->ai_addr, sizeof a->u.in6);
      a->u.in6.sin6_port = htons((uint16_t)port);
    } else {
      continue;
    }
    k++;
  }
  return df_address_list_result(list);
}

static void lookup_done(uv_getaddrinfo_t *req, int status,
                        struct addrinfo *ai) {
  lookup *l = DF__CONTAINER_OF(req, lookup, req);
  df__uv_release(l->ur);
  if (!df_deferred_called(l->d)) {
    /* Not cancelled meanwhile (a cancelled one has failed already). */
    df_result r = status < 0 ? lookup_failure(l->host, status)
                             : addresses_of(ai, l->host, l->port);
    df_deferred_callback(l->d, r);
  }
  uv_freeaddrinfo(ai);
  df_deferred_unref(l->d);
  df__uv_free(l);
}

static void cancel_lookup(df_deferred *d, void *arg) {
  (void)d;
  lookup *l = arg;
  uv_cancel((uv_req_t *)&l->req);
}

static df_deferred *system_resolve(df_resolver *res, df_reactor *r,
                                   const char *host, int port) {
  (void)res;
  uv_loop_t *loop = df_uv_reactor_loop(r);
  if (!loop)
    return df_fail(df_failure_new(&df_error_dns_lookup,
                                  "DNS lookup failed: %s: the system resolver "
                                  "needs a libuv reactor",
                                  host));
  size_t len = strlen(host) + 1;
  lookup *l = df__uv_malloc(sizeof *l + len);
  if (!l) return NULL;
  memcpy(l->host, host, len);
  l->ur = df__uv_reactor_of(r);
  l->port = port;
  df_deferred *d = df_deferred_new_with_canceller(cancel_lookup, l);
  if (!d) {
    df__uv_free(l);
    return NULL;
  }
  l->d = df_deferred_ref(d);
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int rc = uv_getaddrinfo(loop, &l->req, lookup_done, host, NULL, &hints);
  if (rc < 0) {
    df_deferred_unref(l->d);
    df__uv_free(l);
    df_deferred_callback(d, lookup_failure(host, rc));
    return d;
  }
  df__uv_hold(l->ur);
  return d;
}

static const df_resolver_type system_type = {"system", system_resolve, NULL};

df_resolver df__system_resolver = {&system_type};

df_resolver *df_system_resolver(void) { return &df__system_resolver; }
