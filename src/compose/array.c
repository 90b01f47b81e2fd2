/* Growing arrays (internal.h): the firing log's events, deferreds, sites
 * and texts, each an array that doubles when full, so that recording n
 * events costs O(n) copies in all. */
#include <stdint.h>

#include "internal.h"

void *df__array_grow(void *items, size_t *cap, size_t size, size_t need,
                     size_t first, size_t most) {
  if (need <= *cap) return items;
  if (need > most) return NULL;
  size_t grown = *cap ? *cap : first;
  while (grown < need) grown = grown > SIZE_MAX / 2 ? SIZE_MAX : grown * 2;
  if (grown > most) grown = most;
  if (grown > SIZE_MAX / size) return NULL;
  void *moved = df__realloc(items, grown * size);
  if (moved) *cap = grown;
  return moved;
}
