/* df_address: numeric IPv4 and IPv6 addresses with a port (address.h).
 * Kept as the socket address itself; text is made on demand. */
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

int df_address_parse(df_address *out, const char *host, int port) {
  if (!out) return DF_EINVAL;
  memset(out, 0, sizeof *out);
  if (!host || port < 0 || port > 65535) return DF_EINVAL;
  if (inet_pton(AF_INET, host, &out->u.in.sin_addr) == 1) {
    out->u.in.sin_family = AF_INET;
    out->u.in.sin_port = htons((uint16_t)port);
    return 0;
  }
  /* IPv6, possibly with a zone ("fe80::1%eth0"): uv_ip6_addr knows both. */
  struct sockaddr_in6 in6;
  if (uv_ip6_addr(host, port, &in6) == 0) {
    out->u.in6 = in6;
    return 0;
  }
  memset(out, 0, sizeof *out);
  return DF_EINVAL;
}

int df_address_family(const df_address *a) {
  if (!a) return 0;
  int family = a->u.sa.sa_family;
  return family == AF_INET || family == AF_INET6 ? family : 0;
}

int df_address_port(const df_address *a) {
  switch (df_address_family(a)) {
    case AF_INET: return ntohs(a->u.in.sin_port);
    case AF_INET6: return ntohs(a->u.in6.sin6_port);
    default: return 0;
  }
}

socklen_t df_address_length(const df_address *a) {
  switch (df_address_family(a)) {
    case AF_INET: return sizeof(struct sockaddr_in);
    case AF_INET6: return sizeof(struct sockaddr_in6);
    default: return 0;
  }
}

size_t df_address_host(const df_address *a, char *buf, size_t size) {
  char text[DF_ADDRESS_TEXT_SIZE] = "";
  switch (df_address_family(a)) {
    case AF_INET:
      inet_ntop(AF_INET, &a->u.in.sin_addr, text, sizeof text);
      break;
    case AF_INET6:
      inet_ntop(AF_INET6, &a->u.in6.sin6_addr, text, sizeof text);
      if (a->u.in6.sin6_scope_id) {
        char zone[IF_NAMESIZE];
        size_t len = strlen(text);
        if (if_indextoname(a->u.in6.sin6_scope_id, zone))
          snprintf(text + len, sizeof text - len, "%%%s", zone);
        else
          snprintf(text + len, sizeof text - len, "%%%u",
                   (unsigned)a->u.in6.sin6_scope_id);
      }
      break;
    default: break;
  }
  int n = snprintf(buf, size, "%s", text);
  return n < 0 ? 0 : (size_t)n;
}

size_t df_address_format(const df_address *a, char *buf, size_t size) {
  char host[DF_ADDRESS_TEXT_SIZE];
  df_address_host(a, host, sizeof host);
  int n;
  switch (df_address_family(a)) {
    case AF_INET: n = snprintf(buf, size, "%s:%d", host, df_address_port(a)); break;
    case AF_INET6: n = snprintf(buf, size, "[%s]:%d", host, df_address_port(a)); break;
    default: n = snprintf(buf, size, "%s", ""); break;
  }
  return n < 0 ? 0 : (size_t)n;
}
