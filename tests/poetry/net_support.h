/* Helpers shared by the poetry tools' network suites (test_slow_sender.c,
 * test_poetry_client.c, test_poetry_program.c, ...), on top of
 * ../support.h: no sockets, no sleeping.
 *
 *   clock_                 the suite's test clock (clock_setup/teardown;
 *                          the teardown fails a test that left a failure
 *                          unhandled)
 *   fake_                  a fake reactor on it (fake_setup/teardown)
 *   connect_memory(f)      a memory transport carrying a protocol of
 *                          factory f (the caller frees it)
 *   assert_value(mt, s, n) the memory transport holds exactly n bytes s
 *   advance(seconds)       move the test clock on, running what is due
 *   capture_open/text      a FILE* whose text the test reads back
 */
#ifndef POETRY_NET_SUPPORT_H
#define POETRY_NET_SUPPORT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deferred/test_clock.h"
#include "deferred/uv.h"
#include "support.h"

static df_clock *clock_;
static df_reactor *fake_;

static inline int clock_setup(void **state) {
  support_setup(state);
  clock_ = df_test_clock_new();
  assert_non_null(clock_);
  return 0;
}
/* No test leaves a failure unhandled: `reports` (support.h) counts them. */
static inline int clock_teardown(void **state) {
  df_clock_free(clock_);
  clock_ = NULL;
  assert_int_equal(reports, 0);
  return support_teardown(state);
}

static inline int fake_setup(void **state) {
  clock_setup(state);
  assert_int_equal(df_fake_reactor_new(clock_, &fake_), 0);
  return 0;
}
static inline int fake_teardown(void **state) {
  df_reactor_free(fake_);
  fake_ = NULL;
  return clock_teardown(state);
}

static inline void advance(double seconds) {
  assert_int_equal(df_test_clock_advance(clock_, seconds), 0);
}

static inline df_memory_transport *connect_memory(df_factory *f) {
  df_memory_transport *mt;
  assert_int_equal(df_memory_transport_new(&mt), 0);
  df_protocol *p = df_factory_build_protocol(f, NULL);
  assert_non_null(p);
  assert_int_equal(df_memory_transport_connect(mt, p), 0);
  return mt;
}

static inline void assert_value(const df_memory_transport *mt,
                                const char *want, size_t want_len) {
  size_t len;
  const char *got = df_memory_transport_value(mt, &len);
  if (len != want_len || memcmp(got, want, len) != 0)
    print_error("written: %zu bytes \"%.*s\"; expected %zu bytes \"%.*s\"\n",
                len, (int)(len < 200 ? len : 200), got, want_len,
                (int)(want_len < 200 ? want_len : 200), want);
  assert_int_equal(len, want_len);
  assert_memory_equal(got, want, len);
}

static inline size_t value_length(const df_memory_transport *mt) {
  size_t len;
  df_memory_transport_value(mt, &len);
  return len;
}

/* --- captured output ------------------------------------------------------------ */

typedef struct capture {
  FILE *f;
  char *text;
  size_t len;
} capture;

static inline void capture_open(capture *c) {
  c->text = NULL;
  c->len = 0;
  c->f = open_memstream(&c->text, &c->len);
  assert_non_null(c->f);
}
/* The text written so far (borrowed until the next write or close). */
static inline const char *capture_text(capture *c) {
  fflush(c->f);
  return c->text ? c->text : "";
}
static inline void capture_close(capture *c) {
  fclose(c->f);
  free(c->text);
  c->f = NULL;
  c->text = NULL;
}

static inline void assert_text(capture *c, const char *want) {
  const char *got = capture_text(c);
  if (strcmp(got, want) != 0)
    print_error("text:\n%s\nexpected:\n%s\n", got, want);
  assert_string_equal(got, want);
}

#endif /* POETRY_NET_SUPPORT_H */
