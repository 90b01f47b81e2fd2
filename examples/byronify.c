/* The main demo: the tutorial's Byronification chain (Part 9/10), on
 * in-memory poems, with no network.
 *
 * The program, as the tutorial states it:
 *   1. Try to download the poem.
 *   2. If the download fails, tell the user we couldn't get the poem.
 *   3. If we do get the poem, transform it with the Byronification Engine.
 *   4. If the engine raises a GibberishError, tell the user we couldn't get
 *      the poem.
 *   5. If the engine raises another error, just keep the original poem.
 *   6. If we have a poem, print it out.
 *   7. End the program.
 *
 * Each "download" is a deferred fired later from a little queue of pending
 * events, the way a reactor would fire it. At the end, one chain is left
 * without an errback so that you can see an unhandled-failure report and
 * its causal trace. */
#include <ctype.h>
#include <deferred.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

DF_ERROR_TYPE(download_error, "DownloadError", &df_error_exception);
DF_ERROR_TYPE(gibberish_error, "GibberishError", &df_error_exception);
DF_ERROR_TYPE(engine_bug, "EngineBug", &df_error_exception);

/* --- the Byronification Engine -------------------------------------------
 * A toy: like the tutorial's, it only has to fail on gibberish and, now
 * and then, on a corner case. */

static bool looks_like_poetry(const char *poem) {
  size_t letters = 0, lines = 0;
  for (const char *p = poem; *p; p++) {
    if (isalpha((unsigned char)*p)) letters++;
    if (*p == '\n') lines++;
  }
  return lines >= 2 && letters * 2 > strlen(poem);
}

/* Return a new poem like `poem` but in the style of Lord Byron. Raises
 * GibberishError if the input is not a genuine poem, and, like most
 * bleeding-edge software, sometimes another error on a corner case. */
static df_result byronificate(const char *poem) {
  if (!looks_like_poetry(poem))
    return df_raise(&gibberish_error, "that is not a genuine poem");
  if (strstr(poem, "Vulture"))
    return df_raise(&engine_bug, "unexpected vulture in line 4");
  char *out = malloc(strlen(poem) * 2 + 1);
  if (!out) return df_raise(&df_error_no_memory, "no room for Byron");
  char *w = out;
  for (const char *line = poem; *line;) {
    size_t n = strcspn(line, "\n");
    memcpy(w, line, n);
    w += n;
    if (n > 0 && isalpha((unsigned char)line[n - 1])) w += sprintf(w, ", alas!");
    if (line[n] == '\n') *w++ = '\n';
    line += n + (line[n] == '\n');
  }
  *w = '\0';
  return df_string_take(out);
}

/* --- the client's chain (tutorial Part 10) --------------------------------- */

typedef struct download {
  const char *name;
  const char *poem;      /* NULL: the download fails */
  df_deferred *deferred; /* fired by the "reactor" below */
} download;

static int downloads_left;

/* Stage 0, callback: steps 3, 4 and 5. */
static df_result try_to_byronify(df_result poem, void *arg) {
  (void)arg;
  df_result byronic = byronificate(poem.u.s);
  if (df_result_is_failure(byronic) &&
      !df_failure_check(byronic.u.failure, &gibberish_error)) {
    char brief[160];
    df_failure_brief(byronic.u.failure, brief, sizeof brief);
    printf("(the engine failed: %s; keeping the original poem)\n", brief);
    df_result_drop(byronic);
    return poem; /* step 5: keep the original */
  }
  df_result_drop(poem);
  return byronic; /* the new poem, or GibberishError for stage 1 */
}

/* Stage 1, callback: step 6. */
static df_result got_poem(df_result poem, void *arg) {
  printf("%s:\n%s\n", ((download *)arg)->name, poem.u.s);
  df_result_drop(poem);
  return df_none();
}

/* Stage 1, errback: steps 2 and 4. Handles the failure (returns a value),
 * so the chain switches back to the callback line. */
static df_result poem_failed(df_result failure, void *arg) {
  char brief[160];
  df_failure_brief(failure.u.failure, brief, sizeof brief);
  printf("%s: The poem download failed. (%s)\n\n", ((download *)arg)->name,
         brief);
  df_result_drop(failure);
  return df_none();
}

/* Stage 2, both: step 7 once every download is done. */
static df_result poem_done(df_result r, void *arg) {
  (void)arg;
  if (--downloads_left == 0) printf("All downloads done.\n\n");
  return r;
}

static const char science[] =
    "Science! true daughter of Old Time thou art!\n"
    "Who alterest all things with thy peering eyes.\n"
    "Why preyest thou thus upon the poet's heart,\n"
    "Vulture, whose wings are dull realities?\n";
static const char fascination[] =
    "The fascination of what's difficult\n"
    "Has dried the sap out of my veins, and rent\n"
    "Spontaneous joy and natural content\n"
    "Out of my heart. There's something ails our colt\n";

/* A chain with a bug at its end and no errback after it. */
static df_result archive_poem(df_result poem, void *arg) {
  (void)arg;
  df_result_drop(poem);
  return df_raise(&df_error_exception, "the archive is full");
}

int main(void) {
  download downloads[] = {
      {"fascination.txt", fascination, NULL},
      {"science.txt", science, NULL},
      {"gibberish.txt", "#$%^&*()!\n@@@ ###\n!!!\n", NULL},
      {"missing.txt", NULL, NULL},
  };
  size_t n = sizeof downloads / sizeof downloads[0];

  /* Step 1: start every download; each returns a deferred. */
  for (size_t i = 0; i < n; i++) {
    download *dl = &downloads[i];
    dl->deferred = df_deferred_new();
    df_deferred_add_callback(dl->deferred, try_to_byronify, NULL);
    df_deferred_add_callbacks(dl->deferred, got_poem, dl, poem_failed, dl);
    df_deferred_add_both(dl->deferred, poem_done, NULL);
    downloads_left++;
  }
  /* The "reactor": the downloads finish, in reverse order. */
  for (size_t i = n; i-- > 0;) {
    download *dl = &downloads[i];
    if (dl->poem)
      df_deferred_callback(dl->deferred, df_string(dl->poem));
    else
      df_deferred_errback(dl->deferred,
                          df_failure_new(&download_error,
                                         "connection refused by %s", dl->name));
    df_deferred_unref(dl->deferred);
  }

  /* And a chain that nobody handles: its report appears when the last
   * reference goes, with the causal trace. */
  printf("Archiving one poem with a chain that has no errback...\n");
  df_deferred *archive = df_deferred_new();
  df_deferred_add_callback(archive, try_to_byronify, NULL);
  df_deferred_add_callback(archive, archive_poem, NULL);
  df_deferred_callback(archive, df_string(fascination));
  printf("Finished\n");
  fflush(stdout);
  df_deferred_unref(archive); /* the unhandled failure is reported here */
  return 0;
}
