/* Hash tables of indexes (internal.h), for the firing log's lookups: a
 * text by its bytes, a stage site by its fields, a deferred by its serial
 * and creation site.
 *
 * Linear probing in two parallel arrays of `cap` slots (a power of two):
 * the hash of each entry, and its index + 1 (0 marks an empty slot). The
 * caller keeps the entries and says, through an equality function, which
 * one is the key; the stored hash spares it most comparisons and lets the
 * table grow without asking the caller for hashes again. Entries are
 * never removed: the firing log only adds until it is freed. */
#include <stdint.h>
#include <string.h>

#include "internal.h"

void df__index_table_init(df__index_table *t) {
  *t = (df__index_table){.hashes = NULL, .indexes = NULL, .cap = 0, .count = 0};
}

void df__index_table_free(df__index_table *t) {
  df__free(t->hashes);
  df__free(t->indexes);
  df__index_table_init(t);
}

static void put(uint32_t *hashes, uint32_t *indexes, size_t cap, uint32_t hash,
                uint32_t slot_value) {
  size_t i = hash & (cap - 1);
  while (indexes[i] != 0) i = (i + 1) & (cap - 1);
  hashes[i] = hash;
  indexes[i] = slot_value;
}

int df__index_table_reserve(df__index_table *t, size_t more) {
  /* Indexes are 32-bit, and so is the slot count at most. */
  if (more > UINT32_MAX / 4 || t->count + more > UINT32_MAX / 4)
    return DF_ENOMEM;
  size_t need = (t->count + more) * 2; /* at most half full */
  if (need <= t->cap) return 0;
  size_t cap = t->cap ? t->cap : 16;
  while (cap < need) cap *= 2;
  uint32_t *hashes = df__malloc(cap * sizeof *hashes);
  uint32_t *indexes = df__malloc(cap * sizeof *indexes);
  if (!hashes || !indexes) {
    df__free(hashes);
    df__free(indexes);
    return DF_ENOMEM;
  }
  memset(indexes, 0, cap * sizeof *indexes);
  for (size_t i = 0; i < t->cap; i++)
    if (t->indexes[i] != 0)
      put(hashes, indexes, cap, t->hashes[i], t->indexes[i]);
  df__free(t->hashes);
  df__free(t->indexes);
  t->hashes = hashes;
  t->indexes = indexes;
  t->cap = cap;
  return 0;
}

uint32_t df__index_table_find(const df__index_table *t, uint32_t hash,
                              df__index_equal_fn equal, const void *key,
                              const void *context) {
  if (t->cap == 0) return UINT32_MAX;
  for (size_t i = hash & (t->cap - 1); t->indexes[i] != 0;
       i = (i + 1) & (t->cap - 1)) {
    if (t->hashes[i] == hash && equal(key, t->indexes[i] - 1, context))
      return t->indexes[i] - 1;
  }
  return UINT32_MAX;
}

void df__index_table_insert(df__index_table *t, uint32_t hash, uint32_t index) {
  put(t->hashes, t->indexes, t->cap, hash, index + 1);
  t->count++;
}

uint32_t df__hash_bytes(uint32_t hash, const void *bytes, size_t n) {
  const unsigned char *p = bytes;
  for (size_t i = 0; i < n; i++) {
    hash ^= p[i];
    hash *= 16777619u;
  }
  return hash;
}
