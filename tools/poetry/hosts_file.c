/* get-poetry --hosts FILE (hosts_file.h): an /etc/hosts-style file into
 * the reactor's hosts-table resolver, line by line. */
#include "hosts_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char blanks[] = " \t\r\n";

/* Add one line's address and names. Returns 0, -1 (a bad line, `why`
 * says) or DF_ENOMEM. */
static int add_line(df_resolver *res, char *line, size_t number, char *why,
                    size_t why_size) {
  char *comment = strchr(line, '#');
  if (comment) *comment = '\0';
  char *save = NULL;
  char *address = strtok_r(line, blanks, &save);
  if (!address) return 0; /* blank */
  df_address check;
  if (df_address_parse(&check, address, 0) < 0) {
    snprintf(why, why_size, "line %zu: '%s' is not a numeric address", number,
             address);
    return -1;
  }
  size_t names = 0;
  for (char *name; (name = strtok_r(NULL, blanks, &save)); names++) {
    int rc = df_hosts_resolver_add(res, name, address);
    if (rc < 0) return rc == DF_ENOMEM ? DF_ENOMEM : -1;
  }
  if (names == 0) {
    snprintf(why, why_size, "line %zu: no name after %s", number, address);
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
  df_resolver *res;
  int rc = df_hosts_resolver_new(&res);
  if (rc < 0) {
    fclose(in);
    return DF_ENOMEM;
  }
  char *line = NULL;
  size_t cap = 0, number = 0;
  errno = 0;
  while (rc == 0 && getline(&line, &cap, in) >= 0)
    rc = add_line(res, line, ++number, why, why_size);
  if (rc == 0 && ferror(in)) {
    snprintf(why, why_size, "cannot read \"%s\": %s", path, strerror(errno));
    rc = -1;
  }
  if (rc == DF_ENOMEM) snprintf(why, why_size, "out of memory");
  free(line);
  fclose(in);
  if (rc < 0) {
    df_resolver_free(res);
    return rc;
  }
  *out = res;
  return 0;
}
