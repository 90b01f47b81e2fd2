/* The firing log (deferred/firing_log.h): recording, and reading back.
 *
 * The logs recording on a thread hang off one thread-local recorder,
 * which installs one observer for all of them (record(), below) when the
 * first starts and puts the previous observer back when the last stops:
 *
 *     df_set_observer slot -> record() -> every log of here.logs
 *                                      -> here.previous (the observer
 *                                         the first log replaced)
 *
 * So logs nest and stop in any order, and record() never reaches a log
 * that has stopped or been freed: it only walks the list. An observer
 * installed after a log started may forward to record(); one that is left
 * installed when the logs stop keeps forwarding to here.previous.
 *
 * Each event is copied whole at the moment it is reported (observe.h: the
 * event's pointers are borrowed, and the deferreds it names may be freed
 * and their memory reused later): texts into the log's text store,
 * deferreds as an index into its table of (serial, creation site,
 * address: see make_key). An event is kept entirely or not at all:
 * everything it needs is reserved or copied before anything is
 * committed, and an event that cannot be (the cap is reached, memory ran
 * out) is only counted. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* A deferred the log knows, with the kind of result it last saw it hold
 * (to tell each stage what kind of result it got: the observer gives
 * only the text of a stage's input). */
typedef struct deferred_entry {
  df_log_deferred pub; /* first: df_firing_log_deferred returns it */
  uintptr_t address;   /* compared, never followed: see make_key */
  df_kind kind;
  bool kind_known;
} deferred_entry;

struct df_firing_log {
  df_firing_log *next_recording; /* here.logs, newest first */
  bool recording;
  df_clock *clock;        /* borrowed while recording, then NULL     */
  double monotonic_start; /* without a clock: CLOCK_MONOTONIC at start */
  double end_time;        /* set by stop                              */
  size_t max_events, max_text;
  uint64_t dropped;

  df_log_event *events;
  size_t n_events, cap_events;

  deferred_entry *deferreds;
  size_t n_deferreds, cap_deferreds;
  df__index_table deferred_index;

  const df_stage_site **sites; /* records in the text store */
  size_t n_sites, cap_sites;
  df__index_table site_index;

  df__text_store text;
};

/* The longest text kept of a site's strings (file, function, names). */
#define SITE_TEXT_MAX 512u
/* The bounds of max_text. */
#define TEXT_MIN 8u
#define TEXT_MAX 1024u

/* --- the thread's recorder --------------------------------------------- */

typedef struct recorder {
  df_firing_log *logs;     /* recording on this thread, newest first */
  df_observer_fn previous; /* what the first log replaced            */
  void *previous_arg;
  bool in_event;           /* inside record(): see there             */
} recorder;

static _Thread_local recorder here;

static void add_event(df_firing_log *log, const df_event *e);

/* The observer of every log on the thread. The guard makes it run once
 * per event: an observer that was installed after a log and forwards to
 * it, and that record() then reaches again through here.previous, would
 * otherwise go round for ever. */
static void record(const df_event *e, void *arg) {
  (void)arg;
  if (here.in_event) return;
  here.in_event = true;
  for (df_firing_log *log = here.logs; log; log = log->next_recording)
    add_event(log, e);
  if (here.previous) here.previous(e, here.previous_arg);
  here.in_event = false;
}

static double monotonic_seconds(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0.0;
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(const df_firing_log *log) {
  if (log->clock) return df_clock_seconds(log->clock);
  return monotonic_seconds() - log->monotonic_start;
}

/* --- start, stop, free ------------------------------------------------- */

int df_firing_log_start(const df_firing_log_options *options,
                        df_firing_log **out) {
  if (!out) return DF_EINVAL;
  *out = NULL;
  df_firing_log *log = df__malloc(sizeof *log);
  if (!log) return DF_ENOMEM;
  memset(log, 0, sizeof *log);
  df_firing_log_options o = {0};
  if (options) o = *options;
  log->clock = o.clock;
  log->max_events = o.max_events ? o.max_events : DF_FIRING_LOG_DEFAULT_MAX_EVENTS;
  if (log->max_events > UINT32_MAX / 4) log->max_events = UINT32_MAX / 4;
  log->max_text = o.max_text ? o.max_text : DF_FIRING_LOG_DEFAULT_MAX_TEXT;
  if (log->max_text < TEXT_MIN) log->max_text = TEXT_MIN;
  if (log->max_text > TEXT_MAX) log->max_text = TEXT_MAX;
  df__index_table_init(&log->deferred_index);
  df__index_table_init(&log->site_index);
  df__text_store_init(&log->text);
  log->end_time = NAN;
  if (!log->clock) log->monotonic_start = monotonic_seconds();

  if (!here.logs) {
    void *previous_arg;
    df_observer_fn previous = df_set_observer(record, NULL, &previous_arg);
    /* record() already there: an observer left above the last log was
     * removed since, putting record() back; here.previous still holds
     * the observer before it. */
    if (previous != record) {
      here.previous = previous;
      here.previous_arg = previous_arg;
    }
  }
  log->recording = true;
  log->next_recording = here.logs;
  here.logs = log;
  *out = log;
  return 0;
}

int df_firing_log_stop(df_firing_log *log) {
  if (!log || !log->recording) return DF_EINVAL;
  df_firing_log **link = &here.logs;
  while (*link && *link != log) link = &(*link)->next_recording;
  if (!*link) return DF_EINVAL; /* recording on another thread */
  log->end_time = now(log);
  *link = log->next_recording;
  log->next_recording = NULL;
  log->recording = false;
  log->clock = NULL;
  if (!here.logs) {
    void *current_arg;
    df_observer_fn current = df_set_observer(NULL, NULL, &current_arg);
    if (current == record) {
      df_set_observer(here.previous, here.previous_arg, NULL);
      here.previous = NULL;
      here.previous_arg = NULL;
    } else {
      /* Installed after the logs, still there: it stays, and whatever
       * it forwards to record() goes on to here.previous. */
      df_set_observer(current, current_arg, NULL);
    }
  }
  return 0;
}

void df_firing_log_free(df_firing_log *log) {
  if (!log) return;
  if (log->recording && df_firing_log_stop(log) != 0)
    return; /* recording on another thread: freeing it would leave that
               thread's recorder pointing at freed memory */
  df__free(log->events);
  df__free(log->deferreds);
  df__index_table_free(&log->deferred_index);
  df__free(log->sites);
  df__index_table_free(&log->site_index);
  df__text_store_free(&log->text);
  df__free(log);
}

bool df_firing_log_recording(const df_firing_log *log) {
  return log && log->recording;
}

/* --- copying an event --------------------------------------------------- */

/* The log's copy of `text`, cut to `max` bytes on a character boundary
 * (with "..." at the end when cut); NULL if memory runs out. */
static const char *keep_text(df_firing_log *log, const char *text, size_t max) {
  size_t n = strlen(text);
  if (n <= max) return df__text_store_intern(&log->text, text, n);
  char cut[TEXT_MAX + 1];
  size_t keep = max - 3;
  /* back off UTF-8 continuation bytes (10xxxxxx), so as not to split a
   * character */
  while (keep > 0 && ((unsigned char)text[keep] & 0xC0) == 0x80) keep--;
  memcpy(cut, text, keep);
  memcpy(cut + keep, "...", 3);
  return df__text_store_intern(&log->text, cut, keep + 3);
}

/* keep_text for a string that may be NULL (kept as NULL): true if kept. */
static bool keep_name(df_firing_log *log, const char *name, const char **out) {
  *out = name ? keep_text(log, name, SITE_TEXT_MAX) : NULL;
  return !name || *out;
}

static bool keep_site(df_firing_log *log, df_site site, df_site *out) {
  out->line = site.line;
  return keep_name(log, site.file, &out->file) &&
         keep_name(log, site.func, &out->func);
}

static uint32_t hash_pointer(uint32_t hash, const void *p) {
  return df__hash_bytes(hash, &p, sizeof p);
}

static uint32_t hash_int(uint32_t hash, uint32_t i) {
  return df__hash_bytes(hash, &i, sizeof i);
}

/* Sites are compared field by field, on the log's copies of their
 * strings (the same text is the same pointer in the store). */
static bool same_site(const void *key, uint32_t index, const void *context) {
  const df_stage_site *a = key;
  const df_stage_site *b = ((const df_firing_log *)context)->sites[index];
  return a->file == b->file && a->func == b->func && a->line == b->line &&
         a->callback_name == b->callback_name &&
         a->errback_name == b->errback_name;
}

/* The log's copy of a stage site, one per distinct site; NULL if memory
 * runs out. */
static const df_stage_site *keep_stage_site(df_firing_log *log,
                                            const df_stage_site *site) {
  df_stage_site copy = {NULL, NULL, NULL, NULL, site->line};
  if (!keep_name(log, site->file, &copy.file) ||
      !keep_name(log, site->func, &copy.func) ||
      !keep_name(log, site->callback_name, &copy.callback_name) ||
      !keep_name(log, site->errback_name, &copy.errback_name))
    return NULL;
  uint32_t hash = hash_pointer(DF__HASH_START, copy.file);
  hash = hash_pointer(hash, copy.func);
  hash = hash_pointer(hash, copy.callback_name);
  hash = hash_pointer(hash, copy.errback_name);
  hash = hash_int(hash, (uint32_t)copy.line);
  uint32_t found =
      df__index_table_find(&log->site_index, hash, same_site, &copy, log);
  if (found != UINT32_MAX) return log->sites[found];
  if (df__index_table_reserve(&log->site_index, 1) != 0) return NULL;
  const df_stage_site **sites = df__array_grow(
      log->sites, &log->cap_sites, sizeof *sites, log->n_sites + 1, 32, SIZE_MAX);
  if (!sites) return NULL;
  log->sites = sites;
  df_stage_site *kept = df__text_store_alloc(&log->text, sizeof *kept);
  if (!kept) return NULL;
  *kept = copy;
  df__index_table_insert(&log->site_index, hash, (uint32_t)log->n_sites);
  log->sites[log->n_sites++] = kept;
  return kept;
}

/* What identifies a deferred for the log: copied at event time, so that
 * the event's pointer is never needed again. */
typedef struct deferred_key {
  df_log_deferred d;
  uintptr_t address;
  uint32_t hash;
} deferred_key;

static bool same_deferred(const void *key, uint32_t index,
                          const void *context) {
  const df_log_deferred *a = &((const deferred_key *)key)->d;
  const df_log_deferred *b =
      &((const df_firing_log *)context)->deferreds[index].pub;
  return a->serial == b->serial && a->created.file == b->created.file &&
         a->created.func == b->created.func &&
         a->created.line == b->created.line &&
         ((const deferred_key *)key)->address ==
             ((const df_firing_log *)context)->deferreds[index].address;
}

/* A serial is unique on its thread only: two deferreds made at the same
 * line by two threads may share it. Its address tells them apart while
 * both live (a deferred keeps its address for life), and a struct reused
 * later, on the same thread, has a new serial. The address is only ever
 * compared. */
static bool make_key(df_firing_log *log, const df_deferred *d,
                     deferred_key *key) {
  key->d.serial = df_deferred_serial(d);
  key->address = (uintptr_t)d;
  if (!keep_site(log, df_deferred_created_site(d), &key->d.created))
    return false;
  uint32_t hash = hash_int(DF__HASH_START, key->d.serial);
  hash = hash_pointer(hash, key->d.created.file);
  hash = hash_pointer(hash, key->d.created.func);
  hash = df__hash_bytes(hash, &key->address, sizeof key->address);
  key->hash = hash_int(hash, (uint32_t)key->d.created.line);
  return true;
}

/* Room for one more event and two more deferreds, so that committing an
 * event cannot fail. */
static int reserve(df_firing_log *log) {
  df_log_event *events =
      df__array_grow(log->events, &log->cap_events, sizeof *events,
                     log->n_events + 1, 64, log->max_events);
  if (!events) return DF_ENOMEM;
  log->events = events;
  deferred_entry *ds =
      df__array_grow(log->deferreds, &log->cap_deferreds, sizeof *ds,
                     log->n_deferreds + 2, 64, SIZE_MAX);
  if (!ds) return DF_ENOMEM;
  log->deferreds = ds;
  return df__index_table_reserve(&log->deferred_index, 2);
}

static uint32_t find_or_add(df_firing_log *log, const deferred_key *key) {
  uint32_t i = df__index_table_find(&log->deferred_index, key->hash,
                                    same_deferred, key, log);
  if (i != UINT32_MAX) return i;
  i = (uint32_t)log->n_deferreds++;
  log->deferreds[i] = (deferred_entry){key->d, key->address, DF_NONE, false};
  df__index_table_insert(&log->deferred_index, key->hash, i);
  return i;
}

/* What the observer says a result is, as observe.c says it: a deferred
 * by its serial, anything else as df_result_describe writes it. */
static void describe_result(const df_result *r, char *buf, size_t size) {
  if (r->kind == DF_DEFERRED)
    snprintf(buf, size, "Deferred#%u", df_deferred_serial(r->u.deferred));
  else
    df_result_describe(*r, buf, size);
}

/* The kind of a success from its df_result_describe text alone. */
static df_kind kind_of_text(const char *text) {
  if (strcmp(text, "None") == 0) return DF_NONE;
  if (text[0] == '\'' || strcmp(text, "NULL") == 0) return DF_STRING;
  if (strncmp(text, "<pointer", 8) == 0) return DF_POINTER;
  if (strncmp(text, "<Failure", 8) == 0) return DF_FAILURE;
  if (strncmp(text, "Deferred#", 9) == 0) return DF_DEFERRED;
  return strpbrk(text, ".eEnNiI") ? DF_DOUBLE : DF_INT;
}

static void set_kind(deferred_entry *d, df_kind kind) {
  d->kind = kind;
  d->kind_known = true;
}

/* Follow the results from deferred to deferred (observe.h says where
 * each event leaves them), and give a stage the kind of what it got. */
static void follow_results(df_firing_log *log, df_log_event *ev) {
  deferred_entry *d = &log->deferreds[ev->deferred];
  deferred_entry *other =
      ev->other != DF_LOG_NO_DEFERRED ? &log->deferreds[ev->other] : NULL;
  switch (ev->kind) {
  case DF_EVENT_STAGE:
    if (ev->errback)
      ev->input_kind = DF_FAILURE;
    else if (d->kind_known && d->kind != DF_FAILURE && d->kind != DF_DEFERRED)
      ev->input_kind = d->kind;
    else
      ev->input_kind = kind_of_text(ev->input_text);
    set_kind(d, ev->result_kind);
    break;
  case DF_EVENT_FIRED:
  case DF_EVENT_PASSED:
  case DF_EVENT_TOOK:
  case DF_EVENT_FINISHED:
    set_kind(d, ev->result_kind);
    if (ev->kind == DF_EVENT_TOOK && other) set_kind(other, DF_NONE); /* rule 9 */
    break;
  case DF_EVENT_WAITING:
    set_kind(d, DF_DEFERRED);
    break;
  case DF_EVENT_HANDED_OFF: /* rule 11: the waiter has it, `d` None */
    if (other) set_kind(other, ev->result_kind);
    set_kind(d, DF_NONE);
    break;
  case DF_EVENT_CHAINED: /* rule 15: `d` goes on with None */
    set_kind(d, DF_NONE);
    break;
  case DF_EVENT_PAUSED:
    break;
  }
}

static void add_event(df_firing_log *log, const df_event *e) {
  if (log->n_events >= log->max_events || !e || !e->deferred) {
    log->dropped++;
    return;
  }
  if (reserve(log) != 0) {
    log->dropped++;
    return;
  }
  df_log_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = e->kind;
  ev.other = DF_LOG_NO_DEFERRED;
  ev.time = now(log);
  bool staged = e->kind == DF_EVENT_STAGE || e->kind == DF_EVENT_PASSED;
  if (staged) {
    ev.stage = e->stage;
    ev.errback = e->errback;
  }
  /* A stage that returned a deferred names it as its `other`. */
  const df_deferred *other = e->other;
  if (e->kind == DF_EVENT_STAGE && e->result && e->result->kind == DF_DEFERRED)
    other = e->result->u.deferred;

  deferred_key key, other_key;
  bool copied = make_key(log, e->deferred, &key) &&
                (!other || make_key(log, other, &other_key));
  if (copied && e->result) {
    char text[TEXT_MAX + 64];
    describe_result(e->result, text, sizeof text);
    ev.result_kind = e->result->kind;
    copied = (ev.result_text = keep_text(log, text, log->max_text)) != NULL;
  }
  if (copied && e->kind == DF_EVENT_STAGE)
    copied = (ev.input_text = keep_text(log, e->input_text ? e->input_text : "?",
                                        log->max_text)) != NULL;
  if (copied && e->kind == DF_EVENT_PASSED) {
    ev.input_text = ev.result_text;
    ev.input_kind = ev.result_kind;
  }
  if (copied && staged && e->site)
    copied = (ev.site = keep_stage_site(log, e->site)) != NULL;
  if (copied && e->kind == DF_EVENT_FIRED && e->fired_at.file)
    copied = keep_site(log, e->fired_at, &ev.fired_at);
  if (!copied) {
    log->dropped++;
    return;
  }
  /* Everything is copied and room reserved: commit. */
  ev.deferred = find_or_add(log, &key);
  if (other) ev.other = find_or_add(log, &other_key);
  follow_results(log, &ev);
  log->events[log->n_events++] = ev;
}

/* --- reading ------------------------------------------------------------ */

size_t df_firing_log_count(const df_firing_log *log) {
  return log ? log->n_events : 0;
}

const df_log_event *df_firing_log_event(const df_firing_log *log, size_t i) {
  return log && i < log->n_events ? &log->events[i] : NULL;
}

size_t df_firing_log_deferred_count(const df_firing_log *log) {
  return log ? log->n_deferreds : 0;
}

const df_log_deferred *df_firing_log_deferred(const df_firing_log *log,
                                              size_t i) {
  return log && i < log->n_deferreds ? &log->deferreds[i].pub : NULL;
}

uint64_t df_firing_log_dropped(const df_firing_log *log) {
  return log ? log->dropped : 0;
}

size_t df_firing_log_capacity(const df_firing_log *log) {
  return log ? log->max_events : 0;
}

double df_firing_log_end_time(const df_firing_log *log) {
  if (!log) return NAN;
  return log->recording ? now(log) : log->end_time;
}
