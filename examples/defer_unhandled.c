/* The tutorial's twisted-deferred/defer-unhandled.py, in C:
 *
 *     def callback(res):
 *         raise Exception('oops')
 *     d = Deferred()
 *     d.addCallback(callback)
 *     d.callback('Here is your result.')
 *     print("Finished")
 *
 * "Finished" comes first: the report is made when the last reference to
 * the deferred goes (here, explicitly, right after; in Python, when the
 * garbage collector frees it). */
#include <deferred.h>
#include <stdio.h>

static df_result callback(df_result res, void *arg) {
  (void)arg;
  df_result_drop(res);
  return df_raise(&df_error_exception, "oops");
}

int main(void) {
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, callback, NULL);
  df_deferred_callback(d, df_string("Here is your result."));
  printf("Finished\n");
  fflush(stdout);
  df_deferred_unref(d);
  return 0;
}
