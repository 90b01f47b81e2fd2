/* libdeferred-uv: network addresses (Twisted's IPv4Address / IPv6Address).
 *
 * A df_address is a TCP endpoint address: an IPv4 or IPv6 host and a
 * port, stored as the socket address itself (so that getting one from the
 * kernel and giving one to it copies 16 or 28 bytes and formats nothing).
 * Text is made only when asked for:
 *
 *     df_address a;
 *     df_transport_get_peer(t, &a);
 *     char text[DF_ADDRESS_TEXT_SIZE];
 *     df_address_format(&a, text, sizeof text);   // "127.0.0.1:8000"
 *                                                // or "[::1]:8000"
 *
 * A df_address is a plain value: copy it with `=`, it owns nothing.
 */
#ifndef DEFERRED_UV_ADDRESS_H
#define DEFERRED_UV_ADDRESS_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Enough for any df_address_format() text, NUL included:
 * "[" + 45 characters of IPv6 host + "%" + 15 of scope + "]:65535". */
#define DF_ADDRESS_TEXT_SIZE 72

typedef struct df_address {
  union {
    struct sockaddr sa;        /* sa.sa_family: AF_INET, AF_INET6 or 0 */
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
  } u;
} df_address;

/* Set `*out` to the numeric address `host` ("127.0.0.1", "::1",
 * "fe80::1%eth0") and `port` (0-65535). Names are not looked up here: use
 * a resolver (resolver.h). Returns 0, or DF_EINVAL (then `*out` is zeroed)
 * if `host` is NULL or not a numeric address, or `port` is out of range. */
int df_address_parse(df_address *out, const char *host, int port);

/* AF_INET, AF_INET6, or 0 for a zeroed (unset) address. */
int df_address_family(const df_address *a);

/* The port, in host byte order (0 for an unset address). */
int df_address_port(const df_address *a);

/* The host as numeric text ("127.0.0.1", "::1"), snprintf rules: always
 * terminated when `size` > 0, returns the length it needed. An unset
 * address gives "". */
size_t df_address_host(const df_address *a, char *buf, size_t size);

/* "host:port" for IPv4, "[host]:port" for IPv6 (the form a browser and
 * echo-client accept), snprintf rules. */
size_t df_address_format(const df_address *a, char *buf, size_t size);

/* The length of the socket address for system calls (sizeof sockaddr_in
 * or sockaddr_in6; 0 when unset). */
socklen_t df_address_length(const df_address *a);

#ifdef __cplusplus
}
#endif

#endif /* DEFERRED_UV_ADDRESS_H */
