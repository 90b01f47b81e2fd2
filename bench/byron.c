/* The Byronification Engine's speed (docs/byronify.md, "Speed").
 *
 * The tutorial calls the engine on the reactor thread, so what matters is
 * how long one call holds it: this prints, for each bundled poem and for
 * longer poems made of their lines, the time of one call, its time per
 * KiB of input, and the throughput; then the same for inputs the engine
 * refuses (a GibberishError found at the end of a long input costs the
 * most). Times are the thread's CPU time (CLOCK_THREAD_CPUTIME_ID): what
 * a call takes from the reactor thread's core while it runs, without the
 * time other processes of a shared machine had the core. Each figure is
 * the best of several rounds (the one least disturbed by caches and
 * frequency changes).
 *
 * usage: byron_bench [--quick] [POETRY_DIR]
 *
 * POETRY_DIR defaults to the repository's examples/poetry. --quick runs
 * few rounds (ctest runs it so, to check that it runs; it judges no
 * time). Exits 1 if a poem fails to byronify or a refusal is not a
 * GibberishError.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "byron.h"

#ifndef DF_POETRY_DIR
#define DF_POETRY_DIR "examples/poetry"
#endif

static const char *const poem_names[] = {"alla_sera", "ecstasy", "fascination",
                                         "science"};
#define N_POEMS (sizeof poem_names / sizeof poem_names[0])

/* The calling thread's CPU time. */
static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = malloc(BYRON_MAX_BYTES + 1);
  size_t n = buf ? fread(buf, 1, BYRON_MAX_BYTES + 1, f) : 0;
  fclose(f);
  if (!buf) return NULL;
  *len = n;
  return buf;
}

typedef struct timing {
  double ns_per_call;
  int status; /* the calls' return value */
} timing;

/* The best, over `rounds` rounds of about `round_ns` each, of the mean
 * time of one call. */
static timing time_calls(const char *text, size_t len, int rounds,
                         double round_ns) {
  timing t = {1e300, 0};
  for (int r = 0; r < rounds; r++) {
    long calls = 0;
    double start = now_ns(), elapsed;
    do {
      char *out;
      size_t out_len;
      t.status = byron_transform(NULL, text, len, &out, &out_len, NULL);
      if (t.status == 0) free(out);
      calls++;
      elapsed = now_ns() - start;
    } while (elapsed < round_ns);
    if (elapsed / (double)calls < t.ns_per_call)
      t.ns_per_call = elapsed / (double)calls;
  }
  return t;
}

static void print_row(const char *name, size_t len, timing t) {
  double kib = (double)len / 1024.0;
  printf("%-34s %9zu %12.1f %12.1f %10.1f\n", name, len, t.ns_per_call / 1e3,
         t.ns_per_call / kib / 1e3, kib / 1024.0 / (t.ns_per_call / 1e9));
}

/* `copies` times the verse of `poem` (from its line 3 on, so without its
 * title), at most BYRON_MAX_BYTES. */
static char *long_poem(const char *poem, size_t len, size_t copies,
                       size_t *out_len) {
  const char *verse = strstr(poem, "\n\n");
  verse = verse ? verse + 2 : poem;
  size_t n = len - (size_t)(verse - poem);
  char *s = malloc(n * copies + 1);
  if (!s) return NULL;
  size_t total = 0;
  for (size_t i = 0; i < copies && total + n <= BYRON_MAX_BYTES; i++) {
    memcpy(s + total, verse, n);
    total += n;
  }
  *out_len = total;
  return s;
}

int main(int argc, char **argv) {
  bool quick = false;
  const char *dir = DF_POETRY_DIR;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) quick = true;
    else dir = argv[i];
  }
  int rounds = quick ? 2 : 7;
  double round_ns = quick ? 2e6 : 1e8;
  int failures = 0;

  printf("Byronification Engine, one call: thread CPU time, best of %d "
         "rounds of %.0f ms\n\n",
         rounds, round_ns / 1e6);
  printf("%-34s %9s %12s %12s %10s\n", "input", "bytes", "us/call",
         "us/KiB", "MiB/s");
  char *poems[N_POEMS];
  size_t lens[N_POEMS];
  for (size_t i = 0; i < N_POEMS; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.txt", dir, poem_names[i]);
    poems[i] = read_file(path, &lens[i]);
    if (!poems[i]) {
      fprintf(stderr, "byron_bench: cannot read %s\n", path);
      return 1;
    }
    timing t = time_calls(poems[i], lens[i], rounds, round_ns);
    if (t.status != 0) failures++;
    print_row(poem_names[i], lens[i], t);
  }

  /* Long poems: Donne's verse again and again. */
  const size_t copies[] = {10, 100, 380};
  for (size_t i = 0; i < sizeof copies / sizeof copies[0]; i++) {
    size_t len;
    char *text = long_poem(poems[1], lens[1], copies[i], &len);
    if (!text) return 1;
    char name[64];
    snprintf(name, sizeof name, "ecstasy's verse x %zu", copies[i]);
    timing t = time_calls(text, len, rounds, round_ns);
    if (t.status != 0) failures++;
    print_row(name, len, t);
    free(text);
  }

  /* Refusals: early (a bad byte at the start), and late (the last line
   * of a long poem is prose, found after every byte was read). */
  printf("\nrefused (GibberishError)\n");
  size_t len;
  char *text = long_poem(poems[1], lens[1], 100, &len);
  if (!text) return 1;
  text[0] = '\x01';
  timing t = time_calls(text, len, rounds, round_ns);
  if (t.status != BYRON_EGIBBERISH) failures++;
  print_row("control byte at the start", len, t);
  text[0] = 'W';
  char *prose = realloc(text, len + 300);
  if (!prose) return 1;
  text = prose;
  memset(text + len, 'a', 299);
  text[len + 299] = '\n';
  t = time_calls(text, len + 300, rounds, round_ns);
  if (t.status != BYRON_EGIBBERISH) failures++;
  print_row("prose line at the end", len + 300, t);
  free(text);

  for (size_t i = 0; i < N_POEMS; i++) free(poems[i]);
  if (failures) fprintf(stderr, "byron_bench: %d wrong results\n", failures);
  return failures ? 1 : 0;
}
