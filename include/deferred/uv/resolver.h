/* libdeferred-uv: name resolution (Twisted's IHostnameResolver and
 * installNameResolver).
 *
 * A reactor resolves a host name through its resolver when
 * df_reactor_connect_tcp (or an endpoint) is given a name instead of a
 * numeric address. The default resolver of the libuv reactor asks the
 * system (getaddrinfo, run on libuv's thread pool so the loop never
 * waits for it). A program, or a test, installs its own with
 * df_reactor_install_resolver: a resolver is a type with one function
 * that returns a deferred. The library also provides a hosts-table
 * resolver (df_hosts_resolver_new), which answers from a table and fails
 * every other name with DNSLookupError without sending anything: tests
 * use it so that no test ever sends a DNS query.
 *
 * A resolution fires with a DF_POINTER result owning a df_address_list
 * (at least one address, in the order to try them, each with the port
 * set), or fails with a DNSLookupError whose message names the host.
 * Cancelling it (as a connector does when it times out) ends it with
 * CancelledError.
 */
#ifndef DEFERRED_UV_RESOLVER_H
#define DEFERRED_UV_RESOLVER_H

#include "../core.h"
#include "address.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct df_reactor df_reactor;
typedef struct df_resolver df_resolver;

/* The addresses a name resolved to.
 *
 *     one allocation: +-------+----------+----------+-----+
 *                     | count | items[0] | items[1] | ... |
 *                     +-------+----------+----------+-----+
 */
typedef struct df_address_list {
  size_t count;
  df_address items[];
} df_address_list;

/* A list of `count` zeroed addresses (malloc), or NULL if out of memory
 * (or count is 0). Free it with df_address_list_free. */
df_address_list *df_address_list_new(size_t count);
void df_address_list_free(df_address_list *list);

/* The result a resolver fires with: a DF_POINTER that owns `list`. */
df_result df_address_list_result(df_address_list *list);

typedef struct df_resolver_type {
  const char *name;
  /* Resolve `host` (borrowed for the call) for TCP `port` on reactor `r`
   * (whose loop and clock it may use). Returns a new reference to a
   * deferred as described at the top of this file; NULL counts as out of
   * memory. Called on the reactor's thread. */
  df_deferred *(*resolve)(df_resolver *res, df_reactor *r, const char *host,
                          int port);
  /* Free the resolver (df_resolver_free). May be NULL for a static one. */
  void (*free)(df_resolver *res);
} df_resolver_type;

/* The library's part of a resolver; the first member of an
 * implementation's struct. */
struct df_resolver {
  const df_resolver_type *type;
};

/* Make `r` resolve names with `res` (borrowed: it must outlive its use by
 * the reactor; resolutions already started go on with the old one).
 * NULL puts the default back (the system's for a libuv reactor; for the
 * fake reactor, one that fails every name). Returns the resolver that was
 * installed (NULL for the default). */
df_resolver *df_reactor_install_resolver(df_reactor *r, df_resolver *res);

/* Resolve through `r`'s resolver. A numeric `host` ("127.0.0.1", "::1")
 * is answered at once without asking it. Returns a new reference to the
 * deferred (a failed one for a NULL host or bad port); NULL only if out
 * of memory. */
df_deferred *df_reactor_resolve(df_reactor *r, const char *host, int port);

/* The system resolver: getaddrinfo(3) on libuv's thread pool, TCP
 * addresses of both families in the system's order (so "localhost" gives
 * ::1 and 127.0.0.1 as /etc/hosts says). Static; needs a libuv reactor
 * (on the fake reactor it fails with DNSLookupError). Never NULL. */
df_resolver *df_system_resolver(void);

/* A resolver that answers from a table: `df_hosts_resolver_add(res,
 * "example.org", "192.0.2.7")` (numeric addresses, several per name
 * allowed, tried in the order added). Names are matched ignoring ASCII
 * case; any other name fails with DNSLookupError ("DNS lookup failed:
 * no address for nowhere.invalid."). Answers fire before resolve returns.
 * df_hosts_resolver_new returns 0 or DF_ENOMEM/DF_EINVAL; _add returns 0,
 * DF_EINVAL (a non-numeric address, NULL) or DF_ENOMEM. Free it with
 * df_resolver_free. */
int df_hosts_resolver_new(df_resolver **out);
int df_hosts_resolver_add(df_resolver *res, const char *name,
                          const char *address);

/* Free a resolver through its type's free. NULL is ignored. */
void df_resolver_free(df_resolver *res);

#ifdef __cplusplus
}
#endif

#endif /* DEFERRED_UV_RESOLVER_H */
