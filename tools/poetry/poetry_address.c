/* get-poetry's addresses to endpoints (poetry_address.h). The short forms
 * are split here; an endpoint description goes to the reactor's own
 * parser (df_client_from_string), which names the field at fault. */
#include "poetry_address.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "options.h"

/* Does the description have a field starting with `key` ("timeout=")?
 * Fields are separated by ':' not escaped by a backslash. */
static bool has_field(const char *d, const char *key) {
  size_t n = strlen(key);
  bool field_start = true;
  for (const char *s = d; *s; s++) {
    if (field_start && strncmp(s, key, n) == 0) return true;
    field_start = false;
    if (*s == '\\' && s[1]) s++;
    else if (*s == ':') field_start = true;
  }
  return false;
}

static int from_description(df_reactor *r, const char *text, double timeout,
                            df_endpoint **out, char *why, size_t why_size) {
  char *with_timeout = NULL;
  if (!has_field(text, "timeout=")) {
    size_t size = strlen(text) + 40;
    with_timeout = malloc(size);
    if (!with_timeout) return DF_ENOMEM;
    snprintf(with_timeout, size, "%s:timeout=%.17g", text, timeout);
  }
  df_failure *error = NULL;
  int rc = df_client_from_string(r, with_timeout ? with_timeout : text, out,
                                 &error);
  if (rc == DF_EINVAL && with_timeout) {
    /* The message quotes the description: let it quote the user's. */
    df_endpoint *again = NULL;
    df_failure_unref(error);
    error = NULL;
    df_client_from_string(r, text, &again, &error);
    df_endpoint_free(again);
  }
  free(with_timeout);
  if (rc < 0) snprintf(why, why_size, "%s", error ? df_failure_message(error) : "");
  df_failure_unref(error);
  return rc;
}

/* Endpoint types of Twisted's descriptions that are not TCP clients:
 * named as such rather than taken for HOST:PORT ("unix:/tmp/s" is not the
 * host "unix" and the port "/tmp/s"). */
static const char *const other_types[] = {"unix", "ssl", "tls", "tcp6",
                                          "udp", "systemd", "tor", "onion"};

static bool other_endpoint_type(const char *text, char *why, size_t why_size) {
  const char *colon = strchr(text, ':');
  if (!colon) return false;
  size_t n = (size_t)(colon - text);
  for (size_t i = 0; i < sizeof other_types / sizeof other_types[0]; i++)
    if (strlen(other_types[i]) == n && strncasecmp(text, other_types[i], n) == 0) {
      snprintf(why, why_size, "'%.*s:' endpoints are not supported: "
               "get-poetry downloads over TCP (tcp:HOST:PORT)", (int)n, text);
      return true;
    }
  return false;
}

int poetry_address_endpoint(df_reactor *r, const char *text, double timeout,
                            df_endpoint **out, char *label, size_t label_size,
                            char *why, size_t why_size) {
  *out = NULL;
  if (why_size) why[0] = '\0';
  if (label_size) label[0] = '\0';
  int rc;
  if (other_endpoint_type(text, why, why_size)) return DF_EINVAL;
  if (strncasecmp(text, "tcp:", 4) == 0) {
    rc = from_description(r, text, timeout, out, why, why_size);
  } else {
    char host[256];
    const char *port_text;
    const char *colon = strrchr(text, ':');
    if (text[0] == '[') { /* [ADDR]:PORT */
      const char *close = strchr(text, ']');
      if (!close || close[1] != ':' || close == text + 1) {
        snprintf(why, why_size, "an IPv6 address is written [ADDR]:PORT");
        return DF_EINVAL;
      }
      snprintf(host, sizeof host, "%.*s", (int)(close - text - 1), text + 1);
      port_text = close + 2;
    } else if (!colon) { /* PORT */
      snprintf(host, sizeof host, "127.0.0.1");
      port_text = text;
    } else if (strchr(text, ':') != colon) {
      snprintf(why, why_size, "an IPv6 address needs brackets: [ADDR]:PORT");
      return DF_EINVAL;
    } else { /* HOST:PORT */
      if (colon == text || (size_t)(colon - text) >= sizeof host) {
        snprintf(why, why_size, "%s", colon == text ? "the host is missing"
                                                    : "the host is too long");
        return DF_EINVAL;
      }
      snprintf(host, sizeof host, "%.*s", (int)(colon - text), text);
      port_text = colon + 1;
    }
    long port;
    if (options_parse_integer(port_text, 1, 65535, &port) < 0) {
      snprintf(why, why_size, "not a port number (1 to 65535): '%s'",
               port_text);
      return DF_EINVAL;
    }
    rc = df_tcp_client_endpoint_new(r, host, (int)port, timeout, NULL, out);
    if (rc == DF_EINVAL) snprintf(why, why_size, "not a host: '%s'", host);
  }
  if (rc == DF_ENOMEM) snprintf(why, why_size, "out of memory");
  if (rc < 0) return rc;
  const char *host = df_endpoint_host(*out);
  snprintf(label, label_size, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host,
           df_endpoint_port(*out));
  return 0;
}
