/* Name resolution, the part every reactor shares (resolver.h): address
 * lists, installing a resolver, and df_reactor_resolve, which answers
 * numeric addresses itself and hands names to the installed resolver
 * (Twisted's reactor.nameResolver). */
#include "internal.h"

df_address_list *df_address_list_new(size_t count) {
  if (count == 0 || count > (SIZE_MAX - sizeof(df_address_list)) / sizeof(df_address))
    return NULL;
  df_address_list *list =
      df__uv_calloc(1, sizeof *list + count * sizeof(df_address));
  if (list) list->count = count;
  return list;
}

void df_address_list_free(df_address_list *list) { df__uv_free(list); }

static void free_address_list(void *list) { df_address_list_free(list); }

df_result df_address_list_result(df_address_list *list) {
  return df_pointer(list, free_address_list);
}

df_address_list *df__numeric_address_list(const char *host, int port) {
  df_address a;
  if (df_address_parse(&a, host, port) < 0) return NULL;
  df_address_list *list = df_address_list_new(1);
  if (list) list->items[0] = a;
  return list;
}

df_resolver *df_reactor_install_resolver(df_reactor *r, df_resolver *res) {
  if (!r) return NULL;
  df_resolver *previous = r->resolver;
  r->resolver = res;
  return previous;
}

df_deferred *df_reactor_resolve(df_reactor *r, const char *host, int port) {
  if (!r || !host || port < 0 || port > 65535)
    return df_fail(df_failure_new(&df_error_invalid_argument,
                                  "resolve: %s", r ? "bad host or port"
                                                   : "no reactor"));
  df_address a;
  if (df_address_parse(&a, host, port) == 0) {
    df_address_list *list = df_address_list_new(1);
    if (!list) return NULL;
    list->items[0] = a;
    return df_succeed(df_address_list_result(list));
  }
  df_resolver *res = r->resolver ? r->resolver : r->ops->default_resolver;
  if (!res)
    return df_fail(df_failure_new(&df_error_dns_lookup,
                                  "DNS lookup failed: %s: no resolver is "
                                  "installed on the %s",
                                  host, r->ops->name));
  return res->type->resolve(res, r, host, port);
}

void df_resolver_free(df_resolver *res) {
  if (res && res->type->free) res->type->free(res);
}
