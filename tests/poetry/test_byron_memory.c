/* Out of memory (tools/poetry: every allocation the engine makes): each
 * allocation of a call is refused in turn, and the call must fail with
 * DF_ENOMEM (a MemoryError in the df_result form), leaving nothing
 * allocated (ASan and valgrind check), until a run refuses none and
 * gives the poem.
 *
 * This executable is linked with -Wl,--wrap=malloc,--wrap=realloc, so
 * the engine's (and libdeferred's) malloc and realloc come here. */
#include "poetry_support.h"

void *__real_malloc(size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_realloc(void *p, size_t n);

static bool counting;
static long allocations, refuse_at;

static bool refuse(void) {
  return counting && ++allocations == refuse_at;
}

void *__wrap_malloc(size_t n) { return refuse() ? NULL : __real_malloc(n); }

void *__wrap_realloc(void *p, size_t n) {
  return refuse() ? NULL : __real_realloc(p, n);
}

/* 200 lines of a few words: the token array and the output both have to
 * grow. */
static char *long_poem(void) {
  char *s = malloc(200 * 32 + 32);
  assert_non_null(s);
  strcpy(s, "Title\n\n");
  for (int i = 0; i < 200; i++)
    strcat(s, i % 2 ? "are you over it\n" : "you love heaven\n");
  return s;
}

static void test_each_refused_allocation_gives_enomem(void **state) {
  (void)state;
  char *poem = long_poem();
  char *want = byronify(poem);
  long points = 0;
  for (refuse_at = 1;; refuse_at++) {
    char *out = (char *)"untouched";
    size_t len = 1;
    byron_error error;
    allocations = 0;
    counting = true;
    int rc = byron_transform(NULL, poem, strlen(poem), &out, &len, &error);
    counting = false;
    if (allocations < refuse_at) { /* nothing refused: done */
      assert_int_equal(rc, 0);
      assert_string_equal(out, want);
      free(out);
      break;
    }
    assert_int_equal(rc, DF_ENOMEM);
    assert_null(out);
    assert_int_equal(len, 0);
    assert_string_equal(error.message, "out of memory");
    points++;
    assert_true(refuse_at < 100);
  }
  /* lines, tokens (three times: 256 -> 512), the output (twice) */
  assert_true(points >= 5);
  free(want);
  free(poem);
}

static void test_result_form_gives_memory_error(void **state) {
  (void)state;
  char *poem = long_poem();
  for (refuse_at = 1;; refuse_at++) {
    allocations = 0;
    counting = true;
    df_result r = byron_byronificate(NULL, poem, strlen(poem));
    counting = false;
    if (!df_result_is_failure(r)) {
      assert_int_equal(r.kind, DF_STRING);
      df_result_drop(r);
      break;
    }
    assert_ptr_equal(df_failure_type(r.u.failure), &df_error_no_memory);
    df_result_drop(r);
    assert_true(refuse_at < 100);
  }
  free(poem);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_each_refused_allocation_gives_enomem),
      cmocka_unit_test(test_result_form_gives_memory_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
