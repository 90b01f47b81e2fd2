/* Built against the installed library by install_test.sh. */
#include <deferred.h>
#include <stdio.h>

static df_result add_one(df_result r, void *arg) {
  (void)arg;
  return df_int(r.u.i + 1);
}

int main(void) {
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, add_one, NULL);
  df_deferred_callback(d, df_int(41));
  const df_result *r = df_deferred_result(d);
  int ok = r && r->kind == DF_INT && r->u.i == 42;
  printf("%s\n", ok ? "hello from libdeferred: 42" : "wrong result");
  df_deferred_unref(d);
  return ok ? 0 : 1;
}
