/* The word transforms: what makes the verse Byronic (byron.h, "The
 * transformation", lists them for the user).
 *
 * Three steps. Tokenise: every word of the verse becomes a byron_token
 * recording where it is and what lies between it and the word before
 * (only white space? a sentence break? the same line?). Look up: each
 * word written only in ASCII letters is looked up, lower-cased, in the
 * lexicon, a sorted table of the words the engine knows with their roles
 * (a possessive "'s" is looked up without it). Decide: with the words on
 * either side as context, each token gets a replacement, a capital, or is
 * merged into the word before it. Writing a line (byron__words_write_line)
 * then copies the line's bytes with the decided changes, so everything
 * that is not a changed word - spacing, punctuation, non-ASCII text -
 * comes out byte for byte.
 *
 * The context rules look one word either side and only across white
 * space: "you, are" is not "you are". A sentence break (. ! ? ; :) or the
 * start of the verse makes the next word open a sentence.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "byron_internal.h"

/* --- the lexicon ---------------------------------------------------------- */

enum {
  MARKER = 1 << 0,         /* a common English function word (the verse is
                              English if one word in ten is one) */
  INVERTS = 1 << 1,        /* an auxiliary that questions invert: "are you" */
  SUBJECT_BEFORE = 1 << 2, /* "you" after it is a subject: "if you" */
  LOWER_AFTER = 1 << 3,    /* an abstraction after it is no person: a verb
                              after a pronoun or an auxiliary ("I love"),
                              a possession after a possessive ("my love") */
  ABSTRACT = 1 << 4,       /* a personified abstraction: capitalised */
  POSSESSIVE = 1 << 5,     /* its change applies to "word's" too */
  YOU = 1 << 6,            /* "you": thou or thee */
  YOUR = 1 << 7,           /* "your": thy or thine */
  IT = 1 << 8,             /* "it": merges with a following is/was */
  SILENT_H = 1 << 9        /* starts with a silent h: "thine honour" */
};

typedef struct entry {
  const char *key;           /* lower case, ASCII apostrophes */
  unsigned roles;
  const char *replacement;   /* the word's new form anywhere, or NULL */
  const char *second_person; /* its form after "thou", or NULL */
  const char *after_it;      /* "it" and this word become this, or NULL */
} entry;

#define ELISION(word, elided) {word, POSSESSIVE, elided, NULL, NULL}
#define ABSTRACTION(word) {word, ABSTRACT | POSSESSIVE, NULL, NULL, NULL}
#define AUXILIARY(word, roles, thou) \
  {word, INVERTS | LOWER_AFTER | (roles), NULL, thou, NULL}
#define VERB(word, thou) {word, 0, NULL, thou, NULL}
#define WORD(word, roles) {word, roles, NULL, NULL, NULL}

/* Sorted by strcmp, for the reader, and so unique: a second entry for a
 * key would never be found (byron__lexicon_is_sorted checks both; the
 * tests call it). */
static const entry lexicon[] = {
    ELISION("against", "'gainst"),
    ELISION("among", "'mongst"),
    WORD("and", MARKER),
    ELISION("anything", "aught"),
    AUXILIARY("are", MARKER, "art"),
    WORD("as", MARKER | SUBJECT_BEFORE),
    WORD("at", MARKER),
    WORD("be", MARKER),
    ABSTRACTION("beauty"),
    WORD("because", SUBJECT_BEFORE),
    ELISION("beneath", "'neath"),
    ELISION("between", "betwixt"),
    WORD("but", MARKER),
    WORD("by", MARKER),
    AUXILIARY("can", 0, "canst"),
    VERB("come", "comest"),
    AUXILIARY("could", 0, "couldst"),
    ABSTRACTION("death"),
    ABSTRACTION("despair"),
    AUXILIARY("did", 0, "didst"),
    AUXILIARY("do", 0, "dost"),
    {"does", LOWER_AFTER, "doth", NULL, NULL},
    WORD("dost", LOWER_AFTER),
    WORD("doth", LOWER_AFTER),
    WORD("ere", SUBJECT_BEFORE),
    ELISION("even", "e'en"),
    ELISION("evening", "ev'ning"),
    ELISION("ever", "e'er"),
    ELISION("every", "ev'ry"),
    ABSTRACTION("faith"),
    ABSTRACTION("fame"),
    ABSTRACTION("fate"),
    ABSTRACTION("fear"),
    VERB("feel", "feelest"),
    ELISION("flower", "flow'r"),
    ELISION("flowers", "flow'rs"),
    ABSTRACTION("folly"),
    WORD("for", MARKER),
    ABSTRACTION("fortune"),
    ABSTRACTION("freedom"),
    WORD("from", MARKER),
    ELISION("given", "giv'n"),
    ABSTRACTION("glory"),
    VERB("go", "goest"),
    ABSTRACTION("grief"),
    AUXILIARY("had", MARKER, "hadst"),
    {"has", MARKER, "hath", NULL, NULL},
    AUXILIARY("have", MARKER, "hast"),
    WORD("he", MARKER | LOWER_AFTER),
    VERB("hear", "hearest"),
    {"heaven", ABSTRACT | POSSESSIVE, "heav'n", NULL, NULL},
    ELISION("heavenly", "heav'nly"),
    ELISION("heavens", "heav'ns"),
    WORD("heir", SILENT_H),
    WORD("heirs", SILENT_H),
    WORD("her", MARKER | LOWER_AFTER),
    WORD("his", MARKER | LOWER_AFTER),
    WORD("honest", SILENT_H),
    WORD("honesty", SILENT_H),
    WORD("honor", SILENT_H),
    WORD("honors", SILENT_H),
    {"honour", ABSTRACT | POSSESSIVE | SILENT_H, NULL, NULL, NULL},
    WORD("honours", SILENT_H),
    ABSTRACTION("hope"),
    WORD("hour", SILENT_H),
    WORD("hours", SILENT_H),
    WORD("how", MARKER),
    ELISION("however", "howe'er"),
    WORD("i", LOWER_AFTER),
    WORD("if", MARKER | SUBJECT_BEFORE),
    {"is", MARKER, NULL, NULL, "'tis"},
    WORD("it", MARKER | IT | LOWER_AFTER),
    WORD("its", LOWER_AFTER),
    ABSTRACTION("joy"),
    ABSTRACTION("justice"),
    VERB("know", "knowest"),
    WORD("lest", SUBJECT_BEFORE),
    ABSTRACTION("liberty"),
    ABSTRACTION("life"),
    {"love", ABSTRACT | POSSESSIVE, NULL, "lovest", NULL},
    AUXILIARY("may", 0, "mayst"),
    {"maybe", 0, "perchance", NULL, NULL},
    ABSTRACTION("memory"),
    ABSTRACTION("mercy"),
    AUXILIARY("might", 0, "mightst"),
    AUXILIARY("must", 0, "must"),
    WORD("my", MARKER | LOWER_AFTER),
    ABSTRACTION("nature"),
    {"never", POSSESSIVE | LOWER_AFTER, "ne'er", NULL, NULL},
    ABSTRACTION("night"),
    WORD("not", MARKER | LOWER_AFTER),
    ELISION("nothing", "naught"),
    WORD("of", MARKER),
    ELISION("often", "oft"),
    WORD("or", MARKER),
    WORD("our", MARKER | LOWER_AFTER),
    ELISION("over", "o'er"),
    ABSTRACTION("passion"),
    ABSTRACTION("peace"),
    {"perhaps", 0, "perchance", NULL, NULL},
    ABSTRACTION("pity"),
    ABSTRACTION("pleasure"),
    ELISION("power", "pow'r"),
    ELISION("powers", "pow'rs"),
    ABSTRACTION("reason"),
    VERB("say", "sayest"),
    ABSTRACTION("science"),
    VERB("see", "seest"),
    VERB("seem", "seemest"),
    AUXILIARY("shall", MARKER, "shalt"),
    WORD("she", MARKER | LOWER_AFTER),
    AUXILIARY("should", 0, "shouldst"),
    WORD("since", SUBJECT_BEFORE),
    ABSTRACTION("sorrow"),
    ELISION("taken", "ta'en"),
    WORD("than", MARKER | SUBJECT_BEFORE),
    WORD("that", MARKER | SUBJECT_BEFORE),
    WORD("the", MARKER),
    WORD("thee", MARKER),
    WORD("their", MARKER | LOWER_AFTER),
    WORD("them", MARKER),
    WORD("then", MARKER),
    WORD("there", MARKER),
    WORD("they", MARKER | LOWER_AFTER),
    WORD("thine", LOWER_AFTER),
    VERB("think", "thinkest"),
    WORD("this", MARKER),
    WORD("thou", MARKER | LOWER_AFTER),
    WORD("though", SUBJECT_BEFORE),
    WORD("thy", MARKER | LOWER_AFTER),
    WORD("till", SUBJECT_BEFORE),
    ABSTRACTION("time"),
    WORD("to", MARKER | LOWER_AFTER),
    ABSTRACTION("truth"),
    WORD("unless", SUBJECT_BEFORE),
    WORD("until", SUBJECT_BEFORE),
    ABSTRACTION("virtue"),
    ABSTRACTION("war"),
    {"was", MARKER, NULL, "wast", "'twas"},
    WORD("we", MARKER | LOWER_AFTER),
    {"were", MARKER | INVERTS, NULL, "wert", NULL},
    WORD("what", MARKER),
    ELISION("whatever", "whate'er"),
    WORD("when", MARKER | SUBJECT_BEFORE),
    {"whenever", POSSESSIVE | SUBJECT_BEFORE, "whene'er", NULL, NULL},
    WORD("where", MARKER | SUBJECT_BEFORE),
    {"wherever", POSSESSIVE | SUBJECT_BEFORE, "where'er", NULL, NULL},
    WORD("whether", SUBJECT_BEFORE),
    WORD("which", MARKER),
    WORD("while", SUBJECT_BEFORE),
    WORD("whilst", SUBJECT_BEFORE),
    WORD("who", MARKER | LOWER_AFTER),
    ELISION("whoever", "whoe'er"),
    WORD("whose", MARKER),
    AUXILIARY("will", MARKER, "wilt"),
    ABSTRACTION("wisdom"),
    WORD("with", MARKER),
    AUXILIARY("would", 0, "wouldst"),
    WORD("ye", LOWER_AFTER),
    WORD("you", MARKER | YOU | LOWER_AFTER),
    {"you'd", 0, "thou'dst", NULL, NULL},
    {"you'll", 0, "thou'lt", NULL, NULL},
    {"you're", 0, "thou'rt", NULL, NULL},
    {"you've", 0, "thou'st", NULL, NULL},
    WORD("your", MARKER | YOUR | LOWER_AFTER),
    {"yours", 0, "thine", NULL, NULL},
    {"yourself", 0, "thyself", NULL, NULL},
    ABSTRACTION("youth"),
};

#define LEXICON_SIZE (sizeof lexicon / sizeof lexicon[0])

/* Every ASCII word fits: at most 40 letters (rule 6) and an apostrophe
 * between each two. */
#define MAX_KEY (2 * BYRON_MAX_WORD_LETTERS)

bool byron__lexicon_is_sorted(void) {
  for (size_t i = 1; i < LEXICON_SIZE; i++)
    if (strcmp(lexicon[i - 1].key, lexicon[i].key) >= 0) return false;
  return true;
}

/* The lexicon hashed (FNV-1a, open addressing), so that a lookup is the
 * hash of the word, made while token_key() lower-cases it, and about one
 * comparison: a binary search's eight strcmp calls were a tenth of the
 * engine's time. Built once per process. */
#define LEXICON_SLOTS 512 /* a power of two, over twice the lexicon */
#define FNV_BASIS 2166136261u
#define FNV_PRIME 16777619u
_Static_assert(LEXICON_SIZE < 255 && 2 * LEXICON_SIZE < LEXICON_SLOTS,
               "an entry's index + 1 fits a byte; the slots stay sparse");
static uint8_t slots[LEXICON_SLOTS]; /* lexicon index + 1, 0 if empty */
static pthread_once_t slots_once = PTHREAD_ONCE_INIT;

static void build_slots(void) {
  for (size_t i = 0; i < LEXICON_SIZE; i++) {
    uint32_t h = FNV_BASIS;
    for (const char *p = lexicon[i].key; *p; p++)
      h = (h ^ (unsigned char)*p) * FNV_PRIME;
    while (slots[h & (LEXICON_SLOTS - 1)]) h++;
    slots[h & (LEXICON_SLOTS - 1)] = (uint8_t)(i + 1);
  }
}

static const entry *lookup(const char *key, uint32_t hash) {
  for (;; hash++) {
    uint8_t slot = slots[hash & (LEXICON_SLOTS - 1)];
    if (slot == 0) return NULL;
    if (strcmp(lexicon[slot - 1].key, key) == 0) return &lexicon[slot - 1];
  }
}

/* --- tokens --------------------------------------------------------------- */

enum { LOWER, CAPITALISED, ALL_CAPS }; /* byron_token.spelling */

#define TOKEN_CONJUGATED 0x40 /* its form was chosen by a "you" next to it */
#define TOKEN_ELIDE_ED 0x80   /* a past tense written -'d ("dragg'd") */

static int add_token(byron_words *w, size_t *cap, const byron_token *t) {
  if (w->n_tokens == *cap) {
    size_t grown = *cap ? *cap * 2 : 256;
    byron_token *p = realloc(w->tokens, grown * sizeof *p);
    if (!p) return DF_ENOMEM;
    w->tokens = p;
    *cap = grown;
  }
  w->tokens[w->n_tokens++] = *t;
  return 0;
}

static bool is_sentence_break(uint32_t cp) {
  return cp == '.' || cp == '!' || cp == '?' || cp == ';' || cp == ':';
}

/* Every word of the verse, in order, with what separates it from the one
 * before; and which apostrophe the verse prefers. */
static int tokenise(byron_words *w, const byron_poem *poem) {
  size_t cap = 0, ascii_apostrophes = 0, curly_apostrophes = 0;
  bool punctuation = false, sentence = true, first = true;
  uint32_t last_line = 0;
  for (size_t li = poem->first_verse; li < poem->end_verse; li++) {
    const byron_line *line = &poem->lines[li];
    byron_piece p;
    for (size_t i = line->start;
         byron__next_piece(poem->text, &i, line->start + line->len, &p);) {
      if (!p.word) {
        if (p.cp == ' ' || p.cp == '\t') continue;
        punctuation = true;
        if (is_sentence_break(p.cp)) sentence = true;
        if (p.cp == '\'') ascii_apostrophes++;
        if (p.cp == 0x2019) curly_apostrophes++;
        continue;
      }
      uint16_t len = (uint16_t)(p.end - p.start); /* 40 letters at most */
      byron_token t = {.start = (uint32_t)p.start, .line = (uint32_t)li,
                       .len = len, .stem = len, .spelling = LOWER};
      if (p.ascii) t.flags |= BYRON__TOKEN_ASCII;
      if (!first && !punctuation) t.flags |= BYRON__TOKEN_ADJACENT;
      if (sentence) t.flags |= BYRON__TOKEN_SENTENCE;
      if (!first && last_line == li) t.flags |= BYRON__TOKEN_SAME_LINE;
      ascii_apostrophes += p.straight;
      curly_apostrophes += p.curly;
      if (add_token(w, &cap, &t) < 0) return DF_ENOMEM;
      first = punctuation = sentence = false;
      last_line = (uint32_t)li;
    }
  }
  w->curly = curly_apostrophes > ascii_apostrophes;
  return 0;
}

/* The first `len` bytes of the token lower-cased into key (U+2019 read as
 * '), its length in *n and its hash for lookup() in *hash. */
static void token_key(const char *s, const byron_token *t, size_t len,
                      char key[MAX_KEY + 1], size_t *n, uint32_t *hash) {
  size_t k = 0;
  uint32_t h = FNV_BASIS;
  /* k < MAX_KEY always (rule 6); the bound keeps key safe whatever */
  for (size_t i = t->start; i < t->start + len && k < MAX_KEY;) {
    unsigned char c = (unsigned char)s[i];
    if (c == 0xE2) { /* U+2019, the only non-ASCII in an ASCII word */
      c = '\'';
      i += 3;
    } else {
      c = (unsigned char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
      i++;
    }
    key[k++] = (char)c;
    h = (h ^ c) * FNV_PRIME;
  }
  key[k] = '\0';
  *n = k;
  *hash = h;
}

static int spelling_of(const char *s, const byron_token *t) {
  size_t upper = 0, letters = 0;
  bool first_upper = false;
  for (size_t i = t->start; i < t->start + t->stem; i++) {
    unsigned char c = (unsigned char)s[i];
    bool is_upper = c >= 'A' && c <= 'Z';
    if (!is_upper && !(c >= 'a' && c <= 'z')) continue;
    if (letters == 0) first_upper = is_upper;
    letters++;
    upper += is_upper;
  }
  if (letters >= 2 && upper == letters) return ALL_CAPS;
  return first_upper ? CAPITALISED : LOWER;
}

/* The bytes of a possessive ending ("'s" 2, "’s" 4) if the token has
 * one after a stem of two letters or more, else 0. */
static size_t possessive_suffix(const char *s, const byron_token *t) {
  const char *end = s + t->start + t->len;
  if (t->len < 4 || (end[-1] != 's' && end[-1] != 'S')) return 0;
  if (end[-2] == '\'') return 2;
  if (t->len >= 6 && memcmp(end - 4, "\xE2\x80\x99", 3) == 0) return 4;
  return 0;
}

/* Words ending in -ed whose -ed is sounded, or is not a past tense, that
 * the rule of silent_ed() would take. Sorted by strcmp. */
static const char *const sounded_ed[] = {
    "biped",     "bloodshed", "childbed",  "crabbed",    "crooked",
    "deathbed",  "dogged",    "embed",     "featherbed", "flowerbed",
    "hotbed",    "imbed",     "infrared",  "jagged",     "naked",
    "quadruped", "ragged",    "riverbed",  "roadbed",    "rugged",
    "seabed",    "seedbed",   "sickbed",   "sunbed",     "toolshed",
    "unwed",     "waterbed",  "watershed", "wicked",     "woodshed",
    "wretched",
};

static int compare_keys(const void *key, const void *element) {
  return strcmp(key, *(const char *const *)element);
}

static bool is_vowel(char c) {
  return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y';
}

/* Is `key` (lower case, ASCII, `n` bytes) a past tense whose -ed is
 * silent, to be written -'d? Five letters or more, no apostrophe, and
 * before the -ed neither d nor t (twisted: sounded) nor e or i (need,
 * dried); before -led and -red not a consonant other than l or r
 * (tangled, sacred, hundred: sounded; jewelled, stirred: silent); and
 * not one of sounded_ed. */
static bool silent_ed(const char *key, size_t n) {
  if (n < 5 || key[n - 2] != 'e' || key[n - 1] != 'd' || strchr(key, '\''))
    return false;
  char x = key[n - 3], y = key[n - 4];
  if (x == 'd' || x == 't' || x == 'e' || x == 'i') return false;
  if ((x == 'l' || x == 'r') && !is_vowel(y) && y != x) return false;
  return !bsearch(key, sounded_ed, sizeof sounded_ed / sizeof sounded_ed[0],
                  sizeof sounded_ed[0], compare_keys);
}

bool byron__sounded_ed_is_sorted(void) {
  for (size_t i = 1; i < sizeof sounded_ed / sizeof sounded_ed[0]; i++)
    if (strcmp(sounded_ed[i - 1], sounded_ed[i]) >= 0) return false;
  return true;
}

/* Look up every ASCII word; count the English markers. */
static size_t look_up(byron_words *w, const byron_poem *poem) {
  pthread_once(&slots_once, build_slots);
  char key[MAX_KEY + 1];
  size_t markers = 0, n;
  uint32_t hash;
  for (size_t i = 0; i < w->n_tokens; i++) {
    byron_token *t = &w->tokens[i];
    if (!(t->flags & BYRON__TOKEN_ASCII)) continue;
    token_key(poem->text, t, t->len, key, &n, &hash);
    const entry *e = lookup(key, hash);
    if (!e && silent_ed(key, n)) t->flags |= TOKEN_ELIDE_ED;
    size_t suffix = possessive_suffix(poem->text, t);
    if (!e && suffix) {
      /* "heaven's": the stem's change, if it has one for possessives */
      token_key(poem->text, t, t->len - suffix, key, &n, &hash);
      e = lookup(key, hash);
      if (e && (e->roles & POSSESSIVE)) t->stem = (uint16_t)(t->len - suffix);
      else e = NULL;
    }
    if (!e) continue;
    t->entry = (uint8_t)(e - lexicon + 1);
    t->spelling = (uint8_t)spelling_of(poem->text, t);
    if (e->roles & MARKER) markers++;
  }
  return markers;
}

/* --- decisions ------------------------------------------------------------ */

static const entry *entry_of(const byron_token *t) {
  return t->entry ? &lexicon[t->entry - 1] : NULL;
}

static bool is_possessive(const byron_token *t) { return t->stem != t->len; }

/* The entry of the word just before token i, if only white space comes
 * between them and it is not a possessive. */
static const entry *before(const byron_words *w, size_t i) {
  if (i == 0 || !(w->tokens[i].flags & BYRON__TOKEN_ADJACENT) ||
      is_possessive(&w->tokens[i - 1]))
    return NULL;
  return entry_of(&w->tokens[i - 1]);
}

/* The same for the word just after token i. */
static const entry *after(const byron_words *w, size_t i) {
  if (i + 1 >= w->n_tokens ||
      !(w->tokens[i + 1].flags & BYRON__TOKEN_ADJACENT) ||
      is_possessive(&w->tokens[i + 1]))
    return NULL;
  return entry_of(&w->tokens[i + 1]);
}

static void conjugate(byron_token *t, const entry *e) {
  t->replacement = e->second_person;
  t->flags |= TOKEN_CONJUGATED;
  t->flags &= (uint8_t)~BYRON__TOKEN_CAPITAL;
}

/* "you": thou as a subject, thee otherwise (byron.h). The verb next to
 * a thou takes the second person. */
static void decide_you(byron_words *w, size_t i) {
  byron_token *tokens = w->tokens;
  const entry *prev = before(w, i), *next = after(w, i);
  const char *pronoun = "thee";
  if (prev && (prev->roles & INVERTS)) { /* "are you" -> "art thou" */
    conjugate(&tokens[i - 1], prev);
    pronoun = "thou";
  } else if (next && next->second_person) { /* "you are" -> "thou art" */
    conjugate(&tokens[i + 1], next);
    pronoun = "thou";
  } else if ((tokens[i].flags & BYRON__TOKEN_SENTENCE) ||
             (prev && (prev->roles & SUBJECT_BEFORE))) {
    pronoun = "thou";
  }
  tokens[i].replacement = pronoun;
}

/* Does the word after token i (if only white space comes between) start
 * with a vowel sound: a vowel letter, or a silent h ("thine honour")? */
static bool vowel_follows(const byron_words *w, const char *text, size_t i) {
  if (i + 1 >= w->n_tokens) return false;
  const byron_token *t = &w->tokens[i + 1];
  if (!(t->flags & BYRON__TOKEN_ADJACENT) || !(t->flags & BYRON__TOKEN_ASCII))
    return false;
  char c = (char)(text[t->start] | 0x20);
  if (c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u') return true;
  const entry *e = after(w, i);
  return e && (e->roles & SILENT_H);
}

static void decide(byron_words *w, const byron_poem *poem) {
  for (size_t i = 0; i < w->n_tokens; i++) {
    byron_token *t = &w->tokens[i];
    const entry *e = entry_of(t);
    if (!e || (t->flags & (TOKEN_CONJUGATED | BYRON__TOKEN_DELETED))) continue;
    if (!is_possessive(t)) {
      if (e->roles & YOU) {
        decide_you(w, i);
        continue;
      }
      if (e->roles & YOUR) {
        t->replacement = vowel_follows(w, poem->text, i) ? "thine" : "thy";
        continue;
      }
      const entry *next = after(w, i);
      if ((e->roles & IT) && next && next->after_it &&
          (w->tokens[i + 1].flags & BYRON__TOKEN_SAME_LINE)) {
        t->replacement = next->after_it; /* "it is" -> 'tis */
        w->tokens[i + 1].flags |= BYRON__TOKEN_DELETED;
        continue;
      }
    }
    t->replacement = e->replacement;
    const entry *prev = before(w, i);
    if ((e->roles & ABSTRACT) && t->spelling == LOWER &&
        !(prev && (prev->roles & LOWER_AFTER)))
      t->flags |= BYRON__TOKEN_CAPITAL;
  }
}

int byron__words_decide(byron_words *words, const byron_poem *poem) {
  memset(words, 0, sizeof *words);
  if (tokenise(words, poem) < 0) {
    byron__words_free(words);
    return DF_ENOMEM;
  }
  size_t markers = look_up(words, poem);
  words->english = words->n_tokens > 0 && markers * 10 >= words->n_tokens;
  if (words->english) decide(words, poem);
  return 0;
}

/* --- writing -------------------------------------------------------------- */

static void write_replacement(byron_buf *out, const char *word, int spelling,
                              bool capital, bool curly) {
  bool first_letter = true;
  for (const char *p = word; *p; p++) {
    char c = *p;
    if (c == '\'') {
      if (curly) byron__buf_add(out, "\xE2\x80\x99", 3);
      else byron__buf_add(out, "'", 1);
      continue;
    }
    if (spelling == ALL_CAPS ||
        (first_letter && (spelling == CAPITALISED || capital)))
      c = (char)(c - 32);
    first_letter = false;
    byron__buf_add(out, &c, 1);
  }
}

static void write_token(byron_buf *out, const byron_words *w,
                        const char *text, const byron_token *t) {
  const char *word = text + t->start;
  if (t->replacement) {
    write_replacement(out, t->replacement, t->spelling,
                      (t->flags & BYRON__TOKEN_CAPITAL) != 0, w->curly);
    byron__buf_add(out, word + t->stem, t->len - t->stem); /* 's */
  } else if (t->flags & TOKEN_ELIDE_ED) { /* dragged -> dragg'd */
    byron__buf_add(out, word, t->len - 2u);
    write_replacement(out, "'", LOWER, false, w->curly);
    byron__buf_add(out, word + t->len - 1, 1); /* d or D, as it was */
  } else if (t->flags & BYRON__TOKEN_CAPITAL) {
    char c = (char)(word[0] - 32); /* a lower-case ASCII letter */
    byron__buf_add(out, &c, 1);
    byron__buf_add(out, word + 1, t->len - 1);
  } else {
    byron__buf_add(out, word, t->len);
  }
}

void byron__words_write_line(byron_words *words, const byron_poem *poem,
                             size_t line, byron_buf *out) {
  const byron_line *l = &poem->lines[line];
  const char *text = poem->text;
  size_t pos = l->start;
  for (; words->next < words->n_tokens &&
         words->tokens[words->next].line == line;
       words->next++) {
    const byron_token *t = &words->tokens[words->next];
    /* A merged word goes with the white space before it: "it is" ->
     * "'tis", not "'tis ". */
    if (!(t->flags & BYRON__TOKEN_DELETED)) {
      byron__buf_add(out, text + pos, t->start - pos);
      write_token(out, words, text, t);
    }
    pos = t->start + t->len;
  }
  byron__buf_add(out, text + pos, l->start + l->len - pos);
}

void byron__words_free(byron_words *words) {
  free(words->tokens);
  memset(words, 0, sizeof *words);
}
