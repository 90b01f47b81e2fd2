/* The firing log's text store (internal.h): every text the log keeps
 * (file and function names, stage names, the short text of each result),
 * each distinct one kept once, and the few records the log keeps beside
 * them (stage sites).
 *
 * Memory comes in blocks that never move or shrink, so a pointer handed
 * out stays valid until the store is freed; a block is at least 4 KiB,
 * larger for a larger request:
 *
 *     blocks -> [next | used | size | bytes ...........]   newest first,
 *                  `-> [next | used | size | bytes ...]    filled in order
 *
 * The index finds a text by its bytes (FNV-1a hash, then a compare), so
 * the same bytes give the same pointer, and the exporters may compare
 * texts by pointer. */
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

struct df__text_block {
  df__text_block *next;
  size_t used, size;
  alignas(max_align_t) unsigned char bytes[];
};

#define BLOCK_MIN 4096u

void df__text_store_init(df__text_store *s) {
  s->blocks = NULL;
  s->texts = NULL;
  s->n_texts = s->cap_texts = 0;
  df__index_table_init(&s->index);
}

void df__text_store_free(df__text_store *s) {
  while (s->blocks) {
    df__text_block *b = s->blocks;
    s->blocks = b->next;
    df__free(b);
  }
  df__free(s->texts);
  df__index_table_free(&s->index);
  df__text_store_init(s);
}

static void *take(df__text_store *s, size_t size, size_t align) {
  df__text_block *b = s->blocks;
  if (b) {
    size_t at = (b->used + align - 1) & ~(align - 1);
    if (at <= b->size && size <= b->size - at) {
      b->used = at + size;
      return b->bytes + at;
    }
  }
  if (size > SIZE_MAX / 2 - sizeof *b) return NULL;
  size_t room = size > BLOCK_MIN ? size : BLOCK_MIN;
  b = df__malloc(sizeof *b + room);
  if (!b) return NULL;
  b->size = room;
  b->used = size;
  b->next = s->blocks;
  s->blocks = b;
  return b->bytes;
}

void *df__text_store_alloc(df__text_store *s, size_t size) {
  return take(s, size, alignof(max_align_t));
}

typedef struct text_key {
  const char *bytes;
  size_t n;
} text_key;

static bool same_text(const void *key, uint32_t index, const void *context) {
  const text_key *k = key;
  const char *kept = ((const df__text_store *)context)->texts[index];
  return strncmp(kept, k->bytes, k->n) == 0 && kept[k->n] == '\0';
}

const char *df__text_store_intern(df__text_store *s, const char *text,
                                  size_t n) {
  text_key key = {text, n};
  uint32_t hash = df__hash_bytes(DF__HASH_START, text, n);
  uint32_t found = df__index_table_find(&s->index, hash, same_text, &key, s);
  if (found != UINT32_MAX) return s->texts[found];
  /* Room in the index and the list first: after that nothing can fail
   * but the copy, which then leaves them as they were. */
  if (df__index_table_reserve(&s->index, 1) != 0) return NULL;
  const char **texts = df__array_grow(s->texts, &s->cap_texts, sizeof *texts,
                                      s->n_texts + 1, 64, SIZE_MAX);
  if (!texts) return NULL;
  s->texts = texts;
  if (n == SIZE_MAX) return NULL;
  char *copy = take(s, n + 1, 1);
  if (!copy) return NULL;
  memcpy(copy, text, n);
  copy[n] = '\0';
  df__index_table_insert(&s->index, hash, (uint32_t)s->n_texts);
  s->texts[s->n_texts++] = copy;
  return copy;
}
