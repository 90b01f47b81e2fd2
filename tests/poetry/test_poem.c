/* Poems as bytes (tools/poetry/poem.c): the growing buffer, the result
 * form, and reading a stream with a limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "poem.h"

static void test_appending_keeps_every_byte_nul_included(void **state) {
  (void)state;
  poem *p = poem_new();
  assert_non_null(p);
  assert_int_equal(p->len, 0);
  static const char piece[] = {'a', '\0', 'b'};
  size_t total = 0;
  for (int i = 0; i < 1000; i++) { /* past several doublings */
    assert_int_equal(poem_append(p, piece, sizeof piece), 0);
    total += sizeof piece;
  }
  assert_int_equal(poem_append(p, NULL, 0), 0);
  assert_int_equal(p->len, total);
  assert_true(p->cap >= p->len);
  for (size_t i = 0; i < total; i++) assert_int_equal(p->data[i], piece[i % 3]);
  poem_free(p);
  poem_free(NULL);
}

static void test_a_poem_result_owns_the_poem(void **state) {
  (void)state;
  char *text = malloc(5);
  memcpy(text, "hello", 5);
  poem *p = poem_adopt(text, 5);
  assert_non_null(p);
  df_result r = poem_result(p);
  assert_ptr_equal(poem_of(r), p);
  assert_null(poem_of(df_int(3)));
  assert_null(poem_of(df_pointer(p, NULL))); /* not the poem's destructor */
  df_result_drop(r); /* frees it: valgrind and ASan would say otherwise */
  df_result none = poem_result(NULL);
  assert_true(df_result_is_failure(none));
  assert_ptr_equal(df_failure_type(none.u.failure), &df_error_no_memory);
  df_result_drop(none);
}

static void test_reading_a_stream_stops_at_the_limit(void **state) {
  (void)state;
  char text[10000];
  for (size_t i = 0; i < sizeof text; i++) text[i] = (char)('0' + i % 10);
  FILE *in = fmemopen(text, sizeof text, "rb");
  char *data;
  size_t len;
  assert_int_equal(poem_read_stream(in, 5001, &data, &len), 0);
  assert_int_equal(len, 5001); /* one past a limit of 5000: "too long" */
  assert_memory_equal(data, text, len);
  free(data);
  fclose(in);
  in = fmemopen(text, sizeof text, "rb");
  assert_int_equal(poem_read_stream(in, 1 << 20, &data, &len), 0);
  assert_int_equal(len, sizeof text);
  assert_memory_equal(data, text, len);
  free(data);
  fclose(in);
  in = fmemopen(text, 1, "rb");
  fgetc(in); /* at its end: empty */
  assert_int_equal(poem_read_stream(in, 100, &data, &len), 0);
  assert_int_equal(len, 0);
  assert_null(data);
  fclose(in);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_appending_keeps_every_byte_nul_included),
      cmocka_unit_test(test_a_poem_result_owns_the_poem),
      cmocka_unit_test(test_reading_a_stream_stops_at_the_limit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
