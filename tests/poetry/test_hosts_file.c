/* get-poetry --hosts FILE (tools/poetry/hosts_file.c): the file's names
 * resolve to its addresses, every other name fails without a query, and
 * a file that cannot be used says where. */
#include <unistd.h>

#include "hosts_file.h"
#include "net_support.h"

static char path[64];
static char why[512];

static void write_file(const char *text) {
  snprintf(path, sizeof path, "/tmp/test_hosts_XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
}

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

static void assert_load_fails(const char *text, const char *want) {
  write_file(text);
  df_resolver *res = (df_resolver *)&res;
  assert_int_equal(poetry_hosts_load(path, &res, why, sizeof why), -1);
  assert_null(res);
  assert_string_equal(why, want);
  unlink(path);
}

static void test_a_bad_file_says_which_line(void **state) {
  (void)state;
  assert_load_fails("127.0.0.1 a\nlocalhost b\n",
                    "line 2: 'localhost' is not a numeric address");
  assert_load_fails("# only\n127.0.0.1\n", "line 2: no name after 127.0.0.1");
  df_resolver *res;
  assert_int_equal(poetry_hosts_load("/nonexistent/hosts", &res, why,
                                     sizeof why), -1);
  assert_string_equal(why, "cannot open \"/nonexistent/hosts\": No such file "
                           "or directory");
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fake_setup, fake_teardown)
      T(test_names_resolve_from_the_file_and_nowhere_else),
      T(test_a_bad_file_says_which_line),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
