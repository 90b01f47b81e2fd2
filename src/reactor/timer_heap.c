/* The libuv reactor's schedule of delayed calls (internal.h): a binary
 * min-heap keyed by (time, seq), holding the call's position in the
 * call's loop data. One heap and one uv_timer_t per reactor, instead of a
 * uv_timer_t (152 bytes) per call: a server with a timer per connection
 * pays 24 bytes a call here. */
#include "internal.h"

static bool earlier(const df__timer_entry *a, const df__timer_entry *b) {
  return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static void place(df__timer_heap *h, size_t i, df__timer_entry e) {
  h->items[i] = e;
  df_delayed_call_set_loop_data(e.call, (void *)(uintptr_t)(i + 1));
}

static size_t index_of(const df_delayed_call *call) {
  return (size_t)(uintptr_t)df_delayed_call_loop_data(call) - 1;
}

static void sift_up(df__timer_heap *h, size_t i) {
  df__timer_entry e = h->items[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!earlier(&e, &h->items[parent])) break;
    place(h, i, h->items[parent]);
    i = parent;
  }
  place(h, i, e);
}

static void sift_down(df__timer_heap *h, size_t i) {
  df__timer_entry e = h->items[i];
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= h->count) break;
    if (child + 1 < h->count && earlier(&h->items[child + 1], &h->items[child]))
      child++;
    if (!earlier(&h->items[child], &e)) break;
    place(h, i, h->items[child]);
    i = child;
  }
  place(h, i, e);
}

int df__timer_heap_push(df__timer_heap *h, df_delayed_call *call) {
  if (df__reserve((void **)&h->items, &h->cap, h->count + 1, sizeof *h->items))
    return DF_ENOMEM;
  size_t i = h->count++;
  place(h, i, (df__timer_entry){df_delayed_call_time(call), h->next_seq++, call});
  sift_up(h, i);
  return 0;
}

void df__timer_heap_update(df__timer_heap *h, df_delayed_call *call) {
  size_t i = index_of(call);
  h->items[i].time = df_delayed_call_time(call);
  h->items[i].seq = h->next_seq++;
  sift_up(h, i);
  sift_down(h, index_of(call));
}

void df__timer_heap_remove(df__timer_heap *h, df_delayed_call *call) {
  size_t i = index_of(call);
  df_delayed_call_set_loop_data(call, NULL);
  df__timer_entry last = h->items[--h->count];
  if (i == h->count) return;
  place(h, i, last);
  sift_up(h, i);
  sift_down(h, index_of(last.call));
}

df_delayed_call *df__timer_heap_pop(df__timer_heap *h) {
  if (!h->count) return NULL;
  df_delayed_call *call = h->items[0].call;
  df__timer_heap_remove(h, call);
  return call;
}

void df__timer_heap_free(df__timer_heap *h) {
  df__uv_free(h->items);
  h->items = NULL;
  h->count = h->cap = 0;
}
