/* get-poetry --hosts FILE: names resolved from a file instead of DNS.
 *
 * The file has the form of /etc/hosts: one address a line followed by
 * the names it answers for, separated by spaces or tabs; '#' starts a
 * comment; blank lines are allowed:
 *
 *     # the demo's servers
 *     127.0.0.1   poetry.test  byron.test
 *     ::1         poetry6.test
 *
 * With --hosts, every name get-poetry looks up is answered from the file
 * alone: a name it does not list fails with DNSLookupError, and nothing is
 * ever sent to a name server (which is what the tests rely on).
 */
#ifndef POETRY_HOSTS_FILE_H
#define POETRY_HOSTS_FILE_H

#include <stddef.h>

#include <deferred/uv.h>

/* The largest file read (ad-blocking hosts files run to a few MiB), and
 * the longest name (DNS's limit for a name written out). */
#define HOSTS_MAX_BYTES (16 << 20)
#define HOSTS_MAX_NAME 253

#ifdef __cplusplus
extern "C" {
#endif

/* Read `path` into a new hosts-table resolver (df_hosts_resolver_new) in
 * *out; install it with df_reactor_install_resolver and free it with
 * df_resolver_free after the reactor. Returns 0; -1 with `why` set
 * (snprintf rules) if the file cannot be read ("cannot open ...: No such
 * file or directory", "cannot read ...: Is a directory"), is larger than
 * HOSTS_MAX_BYTES (it is not read past that: /dev/zero is refused), or a
 * line is wrong, named by the file and its number ("\"h\", line 3:
 * 'local' is not a numeric address", "\"h\", line 4: no name after
 * 127.0.0.1", "\"h\", line 5 has a NUL byte", a name longer than
 * HOSTS_MAX_NAME); DF_ENOMEM. Every message names the file, so that a
 * caller can print it as it is. On an error *out is NULL. */
int poetry_hosts_load(const char *path, df_resolver **out, char *why,
                      size_t why_size);

#ifdef __cplusplus
}
#endif

#endif /* POETRY_HOSTS_FILE_H */
