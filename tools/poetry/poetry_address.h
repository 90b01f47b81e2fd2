/* get-poetry's addresses, as the command line gives them:
 *
 *   PORT                    127.0.0.1, that port ("10000")
 *   HOST:PORT               a name or numeric IPv4 address ("localhost:10000")
 *   [ADDR]:PORT             a numeric IPv6 address ("[::1]:10000")
 *   tcp:...                 a client endpoint description, as Twisted's
 *                           clientFromString ("tcp:host=example.org:port=10000")
 *
 * A port is 1 to 65535. An IPv6 address without brackets is refused: in
 * "::1:10000" the port cannot be told apart. An endpoint description
 * without a timeout= field gets the command line's --timeout, so that the
 * connection attempt is bounded the same way in every form.
 */
#ifndef POETRY_ADDRESS_H
#define POETRY_ADDRESS_H

#include <stddef.h>

#include <deferred/uv.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Make a client endpoint on `r` for `text`, with `timeout` seconds for the
 * connection attempt (0: none) unless the description sets its own.
 * `label` receives the address as messages name it ("127.0.0.1:10000",
 * "[::1]:10000", "example.org:10000"), snprintf rules. Returns 0 and a new
 * endpoint in *out (df_endpoint_free it), or DF_EINVAL (a bad address:
 * `why` receives the reason, e.g. "not a port number: 'http'") or
 * DF_ENOMEM, with *out NULL. */
int poetry_address_endpoint(df_reactor *r, const char *text, double timeout,
                            df_endpoint **out, char *label, size_t label_size,
                            char *why, size_t why_size);

#ifdef __cplusplus
}
#endif

#endif /* POETRY_ADDRESS_H */
