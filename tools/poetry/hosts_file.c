/* get-poetry --hosts FILE (hosts_file.h): an /etc/hosts-style file into
 * the reactor's hosts-table resolver, line by line. */
#include "hosts_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poem.h"

static const char blanks[] = " \t\r\n";

/* Add one line's address and names. Returns 0, -1 (a bad line, `why`
 * says) or DF_ENOMEM. */
static int add_line(df_resolver *res, const char *path, char *line,
                    size_t number, char *why, size_t why_size) {
  char *comment = strchr(line, '#');
  if (comment) *comment = '\0';
  char *save = NULL;
  char *address = strtok_r(line, blanks, &save);
  if (!address) return 0; /* blank */
  df_address check;
  if (df_address_parse(&check, address, 0) < 0) {
    snprintf(why, why_size, "\"%s\", line %zu: '%s' is not a numeric address",
             path, number, address);
    return -1;
  }
  size_t names = 0;
  for (char *name; (name = strtok_r(NULL, blanks, &save)); names++) {
    if (strlen(name) > HOSTS_MAX_NAME) {
      snprintf(why, why_size, "\"%s\", line %zu: a name of %zu bytes (a host "
               "name has at most %d)", path, number, strlen(name),
               HOSTS_MAX_NAME);
      return -1;
    }
    int rc = df_hosts_resolver_add(res, name, address);
    if (rc == DF_ENOMEM) return DF_ENOMEM;
    if (rc < 0) {
      snprintf(why, why_size, "\"%s\", line %zu: cannot add '%s': %s", path,
               number, name, df_strerror(rc));
      return -1;
    }
  }
  if (names == 0) {
    snprintf(why, why_size, "\"%s\", line %zu: no name after %s", path,
             number, address);
    return -1;
  }
  return 0;
}

int poetry_hosts_load(const char *path, df_resolver **out, char *why,
                      size_t why_size) {
  *out = NULL;
  FILE *in = fopen(path, "r");
  if (!in) {
    snprintf(why, why_size, "cannot open \"%s\": %s", path, strerror(errno));
    return -1;
  }
  /* The whole file at once, at most one byte past the limit: an endless
   * file (/dev/zero, a pipe that never ends) is refused, not read until
   * memory runs out. */
  char *text;
  size_t len;
  int rc = poem_read_stream(in, (size_t)HOSTS_MAX_BYTES + 1, &text, &len);
  int read_errno = errno;
  fclose(in);
  if (rc < 0) {
    if (read_errno == ENOMEM) return DF_ENOMEM;
    snprintf(why, why_size, "cannot read \"%s\": %s", path,
             strerror(read_errno));
    return -1;
  }
  if (len > HOSTS_MAX_BYTES) {
    snprintf(why, why_size, "\"%s\" is larger than %d MiB: not a hosts file",
             path, HOSTS_MAX_BYTES >> 20);
    free(text);
    return -1;
  }
  df_resolver *res;
  rc = df_hosts_resolver_new(&res);
  size_t number = 0;
  for (char *line = text, *end = text + len; rc == 0 && line < end;) {
    char *newline = memchr(line, '\n', (size_t)(end - line));
    char *stop = newline ? newline : end;
    number++;
    if (memchr(line, '\0', (size_t)(stop - line))) {
      snprintf(why, why_size, "\"%s\", line %zu has a NUL byte", path,
               number);
      rc = -1;
      break;
    }
    /* A line of its own, as a string: the last one has room for its NUL
     * only if a newline ended it; otherwise copy it. */
    char *own = newline ? line : strndup(line, (size_t)(stop - line));
    if (!own) {
      rc = DF_ENOMEM;
      break;
    }
    if (newline) *newline = '\0';
    rc = add_line(res, path, own, number, why, why_size);
    if (own != line) free(own);
    line = stop + 1;
  }
  if (rc == DF_ENOMEM) snprintf(why, why_size, "out of memory");
  free(text);
  if (rc < 0) {
    df_resolver_free(res);
    return rc;
  }
  *out = res;
  return 0;
}
