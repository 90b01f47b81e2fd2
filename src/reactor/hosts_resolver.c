/* The hosts-table resolver (resolver.h): names answered from a table the
 * program fills, every other name a DNSLookupError. It sends nothing, so
 * tests use it to make names resolve (or fail to) deterministically. */
#include <ctype.h>
#include <string.h>

#include "internal.h"

typedef struct host_entry {
  char *name;
  df_address address; /* port 0: the caller's port is set per lookup */
} host_entry;

typedef struct hosts_resolver {
  df_resolver base;
  host_entry *entries;
  size_t count, cap;
} hosts_resolver;

static bool same_name(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return false;
  return *a == *b;
}

static void set_port(df_address *a, int port) {
  if (a->u.sa.sa_family == AF_INET)
    a->u.in.sin_port = htons((uint16_t)port);
  else
    a->u.in6.sin6_port = htons((uint16_t)port);
}

static df_deferred *hosts_resolve(df_resolver *res, df_reactor *r,
                                  const char *host, int port) {
  (void)r;
  hosts_resolver *h = (hosts_resolver *)res;
  size_t n = 0;
  for (size_t i = 0; i < h->count; i++) n += same_name(h->entries[i].name, host);
  if (n == 0)
    return df_fail(df_failure_new(&df_error_dns_lookup,
                                  "DNS lookup failed: no address for %s", host));
  df_address_list *list = df_address_list_new(n);
  if (!list) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < h->count; i++) {
    if (!same_name(h->entries[i].name, host)) continue;
    list->items[k] = h->entries[i].address;
    set_port(&list->items[k], port);
    k++;
  }
  return df_succeed(df_address_list_result(list));
}

static void hosts_free(df_resolver *res) {
  hosts_resolver *h = (hosts_resolver *)res;
  for (size_t i = 0; i < h->count; i++) df__uv_free(h->entries[i].name);
  df__uv_free(h->entries);
  df__uv_free(h);
}

static const df_resolver_type hosts_type = {"hosts table", hosts_resolve,
                                            hosts_free};

int df_hosts_resolver_new(df_resolver **out) {
  if (!out) return DF_EINVAL;
  hosts_resolver *h = df__uv_calloc(1, sizeof *h);
  *out = h ? &h->base : NULL;
  if (!h) return DF_ENOMEM;
  h->base.type = &hosts_type;
  return 0;
}

int df_hosts_resolver_add(df_resolver *res, const char *name,
                          const char *address) {
  df_address a;
  if (!res || res->type != &hosts_type || !name ||
      df_address_parse(&a, address, 0) < 0)
    return DF_EINVAL;
  hosts_resolver *h = (hosts_resolver *)res;
  if (df__reserve((void **)&h->entries, &h->cap, h->count + 1,
                  sizeof *h->entries))
    return DF_ENOMEM;
  char *copy = df__uv_strdup(name);
  if (!copy) return DF_ENOMEM;
  h->entries[h->count++] = (host_entry){copy, a};
  return 0;
}
