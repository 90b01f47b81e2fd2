/* The destructor table (src/core/result.c) in a program that owns strings
 * in results but never makes a deferred: the table is freed at exit all
 * the same. This suite is its own process and makes no deferred; what it
 * pins shows under valgrind (.ci/run step 4 runs the core suites with
 * --errors-for-leak-kinds=all, where a table left at exit is an error),
 * as the Byronification Engine's result form found. */
#include "support.h"

static void test_owned_strings_without_deferreds_run_their_destructor(void **state) {
  (void)state;
  char *text = malloc(6);
  assert_non_null(text);
  memcpy(text, "verse", 6);
  df_result r = df_string_take(text);
  assert_int_not_equal(r.destructor, 0);
  assert_ptr_equal(df_destructor_fn(r.destructor), free);
  df_result_drop(r); /* frees text: valgrind sees no leak */
  df_result copy = df_string_dup("verse");
  assert_string_equal(copy.u.s, "verse");
  assert_int_equal(copy.destructor, r.destructor); /* the same entry */
  df_result_drop(copy);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_owned_strings_without_deferreds_run_their_destructor),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
