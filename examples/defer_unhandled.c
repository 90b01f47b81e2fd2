/* The tutorial's twisted-deferred/defer-unhandled.py, in C:
 *
 *     def callback(res):
 *         raise Exception('oops')
 *     d = Deferred()
 *     d.addCallback(callback)
 *     d.callback('Here is your result.')
 *     print("Finished")
 *
 * "Finished" comes first: the report is made when the deferred's last
 * reference goes (here, right after; in Python, when it is collected). */
#include <deferred.h>
#include <stdio.h>
static int other_arguments(int argc, char **argv); /* --help, or a mistake */

static df_result callback(df_result res, void *arg) {
  (void)arg;
  df_result_drop(res);
  return df_raise(&df_error_exception, "oops");
}
int main(int argc, char **argv) { /* the sites above and below are pinned */
  if (argc > 1) return other_arguments(argc, argv);
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, callback, NULL);
  df_deferred_callback(d, df_string("Here is your result."));
  printf("Finished\n");
  fflush(stdout);
  df_deferred_unref(d);
  return 0;
}

/* --- the command line: none but --help ------------------------------------ */

#include <stdbool.h>
#include <string.h>

static const char usage[] = "usage: defer_unhandled [--help]";

static int other_arguments(int argc, char **argv) {
  bool help = strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0;
  if (help && argc == 2) {
    printf("%s\n\n"
           "The Twisted tutorial's defer-unhandled.py: a callback raises, no\n"
           "errback handles the failure, and when the deferred's last\n"
           "reference goes libdeferred reports it on standard error\n"
           "(\"Unhandled error in Deferred\", its traceback and causal trace),\n"
           "after \"Finished\" on standard output. It takes no arguments.\n",
           usage);
    return fflush(stdout) == 0 ? 0 : 1;
  }
  const char *arg = argv[help ? 2 : 1];
  fprintf(stderr, "defer_unhandled: %s \"%s\"\n%s\n"
          "try \"defer_unhandled --help\" for more\n",
          arg[0] == '-' ? "unknown option" : "unexpected argument", arg, usage);
  return 2;
}
