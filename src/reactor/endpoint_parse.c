/* Endpoint description strings (endpoint.h): Twisted's serverFromString
 * and clientFromString for TCP.
 *
 * The grammar is Twisted's (_tokenize and _parse in endpoints.py): fields
 * are separated by ':'; in a field, the first '=' separates a keyword
 * from its value, and after it '=' is an ordinary character; a backslash
 * makes the next character literal. The first field is the endpoint type;
 * fields without '=' are positional arguments. Each error names the
 * field at fault.
 *
 * Where we are stricter than Twisted, on purpose: a field given twice
 * (as a keyword twice, or positionally and as a keyword) is an error,
 * where Twisted's keyword dictionary silently keeps one; and tcp6 with an
 * IPv4 interface is refused here rather than when listening. Messages
 * quote what the user wrote up to QUOTE_MAX bytes, cut between two UTF-8
 * characters and ending in "...", so that a pasted megabyte gives a
 * message a terminal can show. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "internal.h"

#define MAX_FIELDS 16

/* The most of a user's text a message quotes. */
#define QUOTE_MAX 80
typedef struct quote {
  char text[QUOTE_MAX + sizeof "..."];
} quote;

/* `s`, or its first QUOTE_MAX bytes (fewer if that would cut a UTF-8
 * character: continuation bytes are 10xxxxxx) followed by "...". */
static const char *quoted(const char *s, quote *q) {
  size_t len = strlen(s);
  if (len <= QUOTE_MAX) return s;
  len = QUOTE_MAX;
  while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80) len--;
  memcpy(q->text, s, len);
  memcpy(q->text + len, "...", sizeof "...");
  return q->text;
}

typedef struct field {
  char *key;   /* NULL for a positional argument */
  char *value;
} field;

typedef struct parsed {
  field fields[MAX_FIELDS];
  size_t count;
  char *text; /* the unescaped copy the fields point into */
} parsed;

/* Split `description` into fields. Returns NULL, or the problem. */
static const char *tokenize(const char *description, parsed *out) {
  memset(out, 0, sizeof *out);
  size_t len = strlen(description);
  char *text = df__uv_malloc(len + 1);
  if (!text) return "out of memory";
  out->text = text;
  char *w = text;
  field *f = &out->fields[0];
  f->value = w;
  out->count = 1;
  for (const char *p = description; *p; p++) {
    if (*p == '\\') {
      if (!p[1]) return "a backslash ends the description";
      *w++ = *++p;
    } else if (*p == ':') {
      *w++ = '\0';
      if (out->count == MAX_FIELDS) return "too many fields";
      f = &out->fields[out->count++];
      f->value = w;
    } else if (*p == '=' && !f->key) {
      *w++ = '\0';
      f->key = f->value;
      f->value = w;
    } else {
      *w++ = *p;
    }
  }
  *w = '\0';
  return NULL;
}

/* A keyword given twice, or NULL. */
static const char *repeated_keyword(const parsed *p) {
  for (size_t i = 1; i < p->count; i++)
    for (size_t j = 1; j < i && p->fields[i].key; j++)
      if (p->fields[j].key && strcmp(p->fields[i].key, p->fields[j].key) == 0)
        return p->fields[i].key;
  return NULL;
}

static const char *find(const parsed *p, const char *key) {
  for (size_t i = 1; i < p->count; i++)
    if (p->fields[i].key && strcmp(p->fields[i].key, key) == 0)
      return p->fields[i].value;
  return NULL;
}

/* The description is bad: fail with a ValueError naming it. */
static int reject(df_failure **error, const char *description, const char *fmt,
                  ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int reject(df_failure **error, const char *description, const char *fmt,
                  ...) {
  if (error) {
    char what[256]; /* long enough: every value in it is quoted() */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    quote q;
    *error = df_failure_new(&df_error_invalid_argument,
                            "invalid endpoint description \"%s\": %s",
                            quoted(description, &q), what);
  }
  return DF_EINVAL;
}

/* Integer field `name` in [lo, hi]; the error names it. */
static int parse_int(const char *text, long lo, long hi, long *out) {
  if (!text || !*text || isspace((unsigned char)*text)) return -1;
  char *end;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (*end) return -1;
  if (errno || v < lo || v > hi) return -2;
  *out = v;
  return 0;
}

/* The keywords an endpoint type takes; any other is an error. */
static const char *unknown_keyword(const parsed *p, const char *const *known) {
  for (size_t i = 1; i < p->count; i++) {
    if (!p->fields[i].key) continue;
    bool ok = false;
    for (const char *const *k = known; *k; k++) ok |= strcmp(*k, p->fields[i].key) == 0;
    if (!ok) return p->fields[i].key;
  }
  return NULL;
}

/* The positional arguments after the type, in order. */
static size_t positionals(const parsed *p, const char **out, size_t max) {
  size_t n = 0;
  for (size_t i = 1; i < p->count; i++)
    if (!p->fields[i].key) {
      if (n < max) out[n] = p->fields[i].value;
      n++;
    }
  return n;
}

static int bad_number(df_failure **error, const char *description,
                      const char *name, const char *value, int why) {
  quote q;
  return reject(error, description, "%s: %s: '%s'", name,
                why == -2 ? "out of range" : "not a number", quoted(value, &q));
}

/* The checks both parsers begin with: the type is one of theirs, every
 * keyword is known and given once. Returns 0 or rejects. */
static int check_keywords(df_failure **error, const char *description,
                          const parsed *p, const char *const *known) {
  quote q;
  const char *bad = unknown_keyword(p, known);
  if (bad)
    return reject(error, description, "unknown parameter '%s'", quoted(bad, &q));
  bad = repeated_keyword(p);
  if (bad) return reject(error, description, "%s: given twice", bad);
  return 0;
}

static int unknown_type(df_failure **error, const char *description,
                        const char *type) {
  quote q;
  return reject(error, description, "unknown endpoint type '%s'",
                quoted(type, &q));
}

static int server_from(df_reactor *r, const char *description, const parsed *p,
                       df_server_endpoint **out, df_failure **error) {
  static const char *const known[] = {"port", "interface", "backlog",
                                      "reuseport", NULL};
  const char *type = p->fields[0].value;
  bool six = strcasecmp(type, "tcp6") == 0;
  if (!six && strcasecmp(type, "tcp") != 0)
    return unknown_type(error, description, type);
  if (check_keywords(error, description, p, known) < 0) return DF_EINVAL;
  quote q;
  const char *args[2];
  size_t n = positionals(p, args, 2);
  if (n > 1) return reject(error, description, "%s: too many positional arguments", type);
  const char *port_text = n ? args[0] : find(p, "port");
  if (n && find(p, "port"))
    return reject(error, description, "port: given twice");
  if (!port_text) return reject(error, description, "port: missing");
  long port, backlog = 0, reuse = 0;
  int why = parse_int(port_text, 0, 65535, &port);
  if (why) return bad_number(error, description, "port", port_text, why);
  const char *backlog_text = find(p, "backlog");
  if (backlog_text && (why = parse_int(backlog_text, 1, 0x7fffffff, &backlog)))
    return bad_number(error, description, "backlog", backlog_text, why);
  const char *reuse_text = find(p, "reuseport");
  if (reuse_text && (why = parse_int(reuse_text, 0, 1, &reuse)))
    return reject(error, description, "reuseport: not 0 or 1: '%s'",
                  quoted(reuse_text, &q));
  const char *interface = find(p, "interface");
  if (!interface) interface = six ? "::" : "";
  df_address a;
  if (interface[0] && df_address_parse(&a, interface, 0) < 0)
    return reject(error, description,
                  "interface: not a numeric address: '%s'",
                  quoted(interface, &q));
  /* Twisted's TCP6ServerEndpoint takes one and fails when listening. */
  if (six && interface[0] && df_address_family(&a) != AF_INET6)
    return reject(error, description,
                  "interface: '%s' is an IPv4 address, and tcp6 listens on "
                  "IPv6 (use tcp for IPv4)", interface);
  int rc = df_tcp_server_endpoint_new(r, (int)port, interface, (int)backlog,
                                      reuse ? DF_LISTEN_REUSE_PORT : 0, out);
  if (rc < 0 && error)
    *error = df_failure_new(rc == DF_ENOMEM ? &df_error_no_memory
                                            : &df_error_invalid_argument,
                            "invalid endpoint description \"%s\"", description);
  return rc;
}

static int client_from(df_reactor *r, const char *description, const parsed *p,
                       df_endpoint **out, df_failure **error) {
  static const char *const known[] = {"host", "port", "timeout", "bindAddress",
                                      NULL};
  const char *type = p->fields[0].value;
  if (strcasecmp(type, "tcp") != 0)
    return unknown_type(error, description, type);
  if (check_keywords(error, description, p, known) < 0) return DF_EINVAL;
  quote q;
  const char *args[3];
  size_t n = positionals(p, args, 3);
  const char *host = find(p, "host"), *port_text = find(p, "port");
  /* Twisted's _parseClientTCP: two positionals are host and port; one is
   * the port if host= is given, else the host. Where Twisted lets a
   * positional override a keyword, it is given twice. */
  if (n > 2)
    return reject(error, description, "%s: too many positional arguments", type);
  const char *twice = NULL;
  if (n == 2) {
    twice = host ? "host" : port_text ? "port" : NULL;
    host = args[0];
    port_text = args[1];
  } else if (n == 1 && host) {
    twice = port_text ? "port" : NULL;
    port_text = args[0];
  } else if (n == 1) {
    host = args[0];
  }
  if (twice) return reject(error, description, "%s: given twice", twice);
  if (!host || !*host) return reject(error, description, "host: missing");
  if (!port_text) return reject(error, description, "port: missing");
  long port;
  int why = parse_int(port_text, 1, 65535, &port);
  if (why) return bad_number(error, description, "port", port_text, why);
  double timeout = DF_CONNECT_TIMEOUT_DEFAULT;
  const char *timeout_text = find(p, "timeout");
  if (timeout_text) {
    char *end;
    errno = 0;
    timeout = strtod(timeout_text, &end);
    if (!*timeout_text || *end || errno || !isfinite(timeout) || timeout < 0)
      return reject(error, description,
                    "timeout: not a number of seconds: '%s'",
                    quoted(timeout_text, &q));
  }
  const char *bind = find(p, "bindAddress");
  df_address a;
  if (bind && df_address_parse(&a, bind, 0) < 0)
    return reject(error, description,
                  "bindAddress: not a numeric address: '%s'", quoted(bind, &q));
  int rc = df_tcp_client_endpoint_new(r, host, (int)port, timeout, bind, out);
  if (rc < 0 && error)
    *error = df_failure_new(rc == DF_ENOMEM ? &df_error_no_memory
                                            : &df_error_invalid_argument,
                            "invalid endpoint description \"%s\"", description);
  return rc;
}

/* Both parsers: tokenise, check the common errors, hand over. */
static int from_string(df_reactor *r, const char *description, void **out,
                       df_failure **error, bool server) {
  if (error) *error = NULL;
  if (!out) return DF_EINVAL;
  *out = NULL;
  if (!r || !description) {
    if (error)
      *error = df_failure_new(&df_error_invalid_argument,
                              "invalid endpoint description: %s",
                              r ? "none given" : "no reactor");
    return DF_EINVAL;
  }
  parsed p;
  const char *problem = tokenize(description, &p);
  int rc;
  if (problem) {
    rc = reject(error, description, "%s", problem);
    if (!p.text) rc = DF_ENOMEM;
  } else if (p.fields[0].key || !p.fields[0].value[0]) {
    rc = reject(error, description, "the endpoint type is missing");
  } else if (server) {
    rc = server_from(r, description, &p, (df_server_endpoint **)out, error);
  } else {
    rc = client_from(r, description, &p, (df_endpoint **)out, error);
  }
  df__uv_free(p.text);
  return rc;
}

int df_server_from_string(df_reactor *r, const char *description,
                          df_server_endpoint **out, df_failure **error) {
  return from_string(r, description, (void **)out, error, true);
}

int df_client_from_string(df_reactor *r, const char *description,
                          df_endpoint **out, df_failure **error) {
  return from_string(r, description, (void **)out, error, false);
}
