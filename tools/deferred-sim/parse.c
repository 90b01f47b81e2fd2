/* deferred-sim: one input line to one callback/errback pair (parse.h).
 *
 * The line is checked for UTF-8 first, as a whole: every later rule counts
 * code points, which only makes sense on valid text. Words are then taken
 * from the raw bytes: the white space characters of the input rules are all
 * ASCII, and an ASCII byte never occurs inside a multi-byte sequence, so
 * splitting bytes splits code points correctly without decoding the line (a
 * huge line costs no extra memory).
 */
#include "parse.h"

#include <string.h>

static const char *const command_names[] = {"return", "fail", "passthru"};

const char *sim_action_name(sim_action action) {
  return command_names[action];
}

/* The ASCII space, tab, vertical tab and form feed. Not CR, not
 * NUL, not the other Unicode spaces: those are part of a word. */
static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

/* Cursor over the words of a line. */
typedef struct words {
  const char *p, *end;
} words;

/* The next word, or false at the end of the line. */
static bool next_word(words *w, const char **word, size_t *len) {
  while (w->p < w->end && is_space(*w->p)) w->p++;
  if (w->p == w->end) return false;
  *word = w->p;
  while (w->p < w->end && !is_space(*w->p)) w->p++;
  *len = (size_t)(w->p - *word);
  return true;
}

static char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* A command word is a case-insensitive prefix of a command name. The
 * names start with different letters, so at most one matches. */
static bool match_command(const char *word, size_t len, sim_action *action) {
  for (int a = SIM_RETURN; a <= SIM_PASSTHRU; a++) {
    const char *name = command_names[a];
    size_t i = 0;
    if (len > strlen(name)) continue;
    while (i < len && ascii_lower(word[i]) == name[i]) i++;
    if (i == len) {
      *action = (sim_action)a;
      return true;
    }
  }
  return false;
}

static sim_line_kind bad(sim_problem *problem, sim_problem_kind kind,
                         const char *word, size_t len) {
  problem->kind = kind;
  problem->word = word;
  problem->word_len = len;
  return SIM_LINE_BAD;
}

/* Read one member (a command and, unless passthru, its VALUE). */
static sim_line_kind parse_member(words *w, sim_member *m,
                                  sim_problem *problem) {
  const char *word;
  size_t len;
  if (!next_word(w, &word, &len))
    return bad(problem, SIM_MISSING_COMMAND, NULL, 0);
  if (!match_command(word, len, &m->action))
    return bad(problem, SIM_UNKNOWN_COMMAND, word, len);
  m->value.len = 0;
  if (m->action == SIM_PASSTHRU) return SIM_LINE_PAIR;
  const char *command = word;
  size_t command_len = len;
  if (!next_word(w, &word, &len))
    return bad(problem, SIM_MISSING_VALUE, command, command_len);
  if (sim_utf8_count(word, len) > SIM_VALUE_MAX)
    return bad(problem, SIM_VALUE_TOO_LONG, word, len);
  m->value.len = (size_t)sim_utf8_decode(word, len, m->value.cp);
  return SIM_LINE_PAIR;
}

sim_line_kind sim_parse_line(const char *line, size_t len, bool had_newline,
                             sim_pair *pair, sim_problem *problem) {
  /* The CR of a CRLF is dropped before anything else, so "\r\n" is an
   * empty line, as it is to a Windows user. */
  if (had_newline && len > 0 && line[len - 1] == '\r') len--;
  if (len == 0) return SIM_LINE_EMPTY;
  if (!sim_utf8_valid(line, len)) return bad(problem, SIM_BAD_UTF8, NULL, 0);

  words w = {line, line + len};
  sim_pair p;
  if (parse_member(&w, &p.callback, problem) == SIM_LINE_BAD)
    return SIM_LINE_BAD;
  if (parse_member(&w, &p.errback, problem) == SIM_LINE_BAD)
    return SIM_LINE_BAD;
  const char *word;
  size_t word_len;
  if (next_word(&w, &word, &word_len))
    return bad(problem, SIM_LEFT_OVER, word, word_len);
  *pair = p;
  return SIM_LINE_PAIR;
}

/* Print a word between double quotes, as typed (cut if long). */
static void print_quoted(FILE *out, const sim_problem *problem) {
  sim_quote(out, problem->word, problem->word_len);
}

void sim_problem_print(FILE *out, unsigned long line_no,
                       const sim_problem *problem) {
  fprintf(out, "line %lu: ", line_no);
  switch (problem->kind) {
  case SIM_BAD_UTF8:
    fputs("not valid UTF-8", out);
    break;
  case SIM_MISSING_COMMAND:
    fputs("missing command", out);
    break;
  case SIM_UNKNOWN_COMMAND:
    fputs("unknown command ", out);
    print_quoted(out, problem);
    break;
  case SIM_MISSING_VALUE:
    fputs("missing value after ", out);
    print_quoted(out, problem);
    break;
  case SIM_VALUE_TOO_LONG:
    fputs("value ", out);
    print_quoted(out, problem);
    fprintf(out, " is longer than %d characters", SIM_VALUE_MAX);
    break;
  case SIM_LEFT_OVER:
    fputs("unexpected ", out);
    print_quoted(out, problem);
    fputs(" after the pair", out);
    break;
  }
  fputc('\n', out);
}
