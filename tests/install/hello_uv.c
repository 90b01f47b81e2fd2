/* Built against the installed libdeferred-uv by install_test.sh: a
 * reactor runs a delayed call whose deferred gives 42, then stops. */
#include <deferred/uv.h>
#include <stdio.h>

static int64_t answer;

static df_result forty_two(void *arg) {
  (void)arg;
  return df_int(42);
}

static df_result got(df_result r, void *arg) {
  answer = r.u.i;
  df_reactor_stop(arg);
  return r;
}

int main(void) {
  df_reactor *r;
  if (df_uv_reactor_new(&r) < 0) return 1;
  df_deferred *d = df_defer_later(df_reactor_clock(r), 0.001, forty_two, NULL);
  df_deferred_add_callback(d, got, r);
  df_reactor_run(r);
  df_deferred_unref(d);
  df_reactor_free(r);
  printf("hello from libdeferred-uv: %lld\n", (long long)answer);
  return answer == 42 ? 0 : 1;
}
