/* get-poetry --hosts FILE (tools/poetry/hosts_file.c): the file's names
 * resolve to its addresses, every other name fails without a query, and
 * a file that cannot be used says where. */
#include <unistd.h>

#include "hosts_file.h"
#include "net_support.h"

static char path[64];
static char why[512];

static void write_bytes(const char *text, size_t len) {
  snprintf(path, sizeof path, "/tmp/test_hosts_XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, len), (ssize_t)len);
  close(fd);
}

static void write_file(const char *text) { write_bytes(text, strlen(text)); }

/* What `name` resolves to through `res` on the fake reactor: its first
 * address as text, or the failure's type name. */
static void assert_resolves(df_resolver *res, const char *name,
                            const char *want) {
  df_reactor_install_resolver(fake_, res);
  df_deferred *d = df_reactor_resolve(fake_, name, 80);
  const df_result *r = df_deferred_result(d);
  assert_non_null(r);
  char got[DF_ADDRESS_TEXT_SIZE + 64];
  if (df_result_is_failure(*r)) {
    snprintf(got, sizeof got, "%s", df_failure_type(r->u.failure)->name);
  } else {
    df_address_list *list = r->u.p;
    df_address_format(&list->items[0], got, sizeof got);
  }
  assert_string_equal(got, want);
  df_result taken;
  df_deferred_take_result(d, &taken);
  df_result_drop(taken);
  df_deferred_unref(d);
  df_reactor_install_resolver(fake_, NULL);
}

static void test_names_resolve_from_the_file_and_nowhere_else(void **state) {
  (void)state;
  write_file("# the demo's servers\n"
             "\n"
             "127.0.0.1   poetry.test byron.test   # two names\n"
             "\t::1\tpoetry6.test\r\n"
             "192.0.2.7 far.test");
  df_resolver *res;
  assert_int_equal(poetry_hosts_load(path, &res, why, sizeof why), 0);
  assert_resolves(res, "poetry.test", "127.0.0.1:80");
  assert_resolves(res, "BYRON.test", "127.0.0.1:80"); /* ASCII case ignored */
  assert_resolves(res, "poetry6.test", "[::1]:80");
  assert_resolves(res, "far.test", "192.0.2.7:80"); /* no final newline */
  assert_resolves(res, "example.org", "DNSLookupError");
  assert_resolves(res, "two", "DNSLookupError"); /* a comment is no name */
  df_resolver_free(res);
  unlink(path);
}

static void assert_path_fails(const char *file, const char *want) {
  df_resolver *res = (df_resolver *)&res;
  assert_int_equal(poetry_hosts_load(file, &res, why, sizeof why), -1);
  assert_null(res);
  assert_string_equal(why, want);
}

/* `want` names the file as %s: the temporary file's name goes there. */
static void assert_bytes_fail(const char *text, size_t len, const char *want) {
  write_bytes(text, len);
  char expected[512];
  snprintf(expected, sizeof expected, want, path);
  assert_path_fails(path, expected);
  unlink(path);
}

static void assert_load_fails(const char *text, const char *want) {
  assert_bytes_fail(text, strlen(text), want);
}

static void test_a_bad_file_says_which_line(void **state) {
  (void)state;
  assert_load_fails("127.0.0.1 a\nlocalhost b\n",
                    "\"%s\", line 2: 'localhost' is not a numeric address");
  assert_load_fails("# only\n127.0.0.1\n",
                    "\"%s\", line 2: no name after 127.0.0.1");
  assert_path_fails("/nonexistent/hosts", "cannot open \"/nonexistent/hosts\": "
                    "No such file or directory");
  static const char nul[] = "127.0.0.1 a\n127.0.0.1 b\0c\n";
  assert_bytes_fail(nul, sizeof nul - 1, "\"%s\", line 2 has a NUL byte");
  char line[300];
  snprintf(line, sizeof line, "::1 %0254d\n", 0); /* one byte too many */
  assert_load_fails(line, "\"%s\", line 1: a name of 254 bytes (a host "
                          "name has at most 253)");
}

static void test_a_file_that_is_no_hosts_file_is_refused(void **state) {
  (void)state;
  assert_path_fails("/tmp", "cannot read \"/tmp\": Is a directory");
  /* endless: refused once past the limit, not read until memory runs out */
  assert_path_fails("/dev/zero", "\"/dev/zero\" is larger than 16 MiB: not a "
                                 "hosts file");
  /* the last name a file may have, and an empty file: no names at all */
  char line[300];
  snprintf(line, sizeof line, "::1 %0253d", 0);
  write_file(line);
  df_resolver *res;
  assert_int_equal(poetry_hosts_load(path, &res, why, sizeof why), 0);
  assert_resolves(res, line + 4, "[::1]:80");
  df_resolver_free(res);
  unlink(path);
  write_file("");
  assert_int_equal(poetry_hosts_load(path, &res, why, sizeof why), 0);
  assert_resolves(res, "localhost", "DNSLookupError");
  df_resolver_free(res);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fake_setup, fake_teardown)
      T(test_names_resolve_from_the_file_and_nowhere_else),
      T(test_a_bad_file_says_which_line),
      T(test_a_file_that_is_no_hosts_file_is_refused),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
