/* DeferredList and gatherResults (rules DL1-DL4, 49, C6, U5 of
 * docs/semantics.md; deferred/list.h says what users see).
 *
 * Built on the public core API: one owned stage per member
 * (df_deferred_add_owned) and a list deferred that owns the shared state
 * (df_deferred_new_owning, whose canceller cancels the members). Nothing
 * is allocated per member: one allocation holds the state, one slot per
 * member (the stages' argument), and the result array the list fires with.
 *
 *   list_state          slots[n]                  owner   df_result_array
 *   +---------------+   +--------+--------+---+   +-----+ +-------+----------+---+
 *   | list, holds,  |   | member | member |...|   |  o--+-> count | items[0] |...|
 *   | finished,     |   | state  | state  |   |   +-----+ +-------+----------+---+
 *   | refs, first.. |   +--------+--------+---+   (points back to list_state)
 *   +---------------+
 *
 * Who holds whom (no cycle that nothing breaks):
 *   - the list deferred owns the state: release_state() when it is freed;
 *   - the state holds a reference to the list deferred while `holds` > 0:
 *     one hold per pending member stage, plus one during construction. A
 *     pending stage thus keeps the list alive (as Twisted's bound method
 *     does), and the last stage to run or be dropped lets it go;
 *   - a slot's `member` is a weak pointer, valid while that member's stage
 *     is pending (release_slot() clears it); only cancel uses it;
 *   - the array, or the first result, once the list fired with it, is
 *     owned by that result and lives in the state's allocation: it counts
 *     in `refs`, with the list deferred.
 *
 * Cancelling members: every cancel the list makes (cancelling the list,
 * rule C6; and, with DF_LIST_CANCEL_PENDING, the members still pending once
 * the list has its outcome) goes through cancel_pending(), whose cursor
 * `next_cancel` walks the attached slots once in input order, however the
 * cancels nest (a member's canceller may fire another member and so decide
 * the list, which then continues the same walk). So no member is cancelled
 * twice. race.c's race and first success are lists with that flag.
 */
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

typedef struct list_state list_state;

typedef struct list_slot {
  df_deferred *member; /* weak: set while this member's stage is pending */
  list_state *state;
} list_slot;

struct list_state {
  df_deferred *list; /* a reference, held while holds > 0; NULL after */
  size_t n;
  size_t holds;    /* pending member stages, + 1 while constructing   */
  size_t finished; /* members recorded so far (Twisted's finishedCount) */
  size_t owning;   /* entries recorded that own something (failures and
                      owned values): 0 spares a walk when dropping them */
  size_t attached;    /* slots filled in: members given their stage    */
  size_t next_cancel; /* cancel_pending()'s cursor: slots before it have
                         had their one chance to be cancelled          */
  unsigned flags;  /* DF_LIST_* and DF__LIST_*                        */
  unsigned refs;   /* the list deferred + the result it fired with    */
  unsigned cancelling; /* depth of cancel_members() (rule C6) calls   */
  bool decided;    /* DF_LIST_CANCEL_PENDING: has its outcome, about to
                      fire with it (or fired)                         */
  bool array_out;  /* fired with the array: it owns the entries now   */
  df_result_array *results; /* in this allocation, after the slots    */
  df_first_result first;    /* fireOnOneCallback's (value, index)     */
  df_site site;             /* where the list was created             */
  list_slot slots[];
};

/* --- the state ---------------------------------------------------------- */

/* Where the array goes: after the slots and one back pointer to the state
 * (so that an array freed on its own finds its allocation). */
static size_t array_offset(size_t n) {
  size_t after_slots = offsetof(list_state, slots) + n * sizeof(list_slot);
  size_t a = alignof(df_result_array);
  return (after_slots + sizeof(list_state *) + a - 1) / a * a;
}

static list_state *array_owner(df_result_array *a) {
  return ((list_state **)(void *)a)[-1];
}

static list_state *state_new(size_t n, unsigned flags, df_site site) {
  size_t per_member = sizeof(list_slot) + sizeof(df_result);
  if (n > (SIZE_MAX - 1024) / per_member) return NULL;
  size_t at = array_offset(n);
  list_state *s =
      df__malloc(at + offsetof(df_result_array, items) + n * sizeof(df_result));
  if (DF_UNLIKELY(!s)) return NULL;
  s->list = NULL;
  s->n = n;
  s->holds = 0;
  s->finished = 0;
  s->owning = 0;
  s->attached = 0;
  s->next_cancel = 0;
  s->flags = flags;
  s->refs = 1; /* the list deferred's, given to df_deferred_new_owning */
  s->cancelling = 0;
  s->decided = false;
  s->array_out = false;
  s->results = (df_result_array *)(void *)((char *)s + at);
  ((list_state **)(void *)s->results)[-1] = s;
  s->results->count = n;
  s->first.value = df_none();
  s->first.index = 0;
  s->site = site;
  /* All zero bits is df_none() (DF_NONE, no destructor, u.i == 0). The
   * slots are filled as members are attached. */
  memset(s->results->items, 0, n * sizeof(df_result));
  return s;
}

/* df_result_drop, without the call for entries that own nothing (an
 * entry is never a df_wait_on). */
static inline void drop_entry(df_result r) {
  if (r.kind == DF_FAILURE || r.destructor != 0) df_result_drop(r);
}

/* The last owner is gone: whatever the list recorded and never delivered
 * goes now (a delivered first result has left None behind). */
static void state_unref(list_state *s) {
  if (--s->refs > 0) return;
  if (!s->array_out && s->owning > 0)
    for (size_t i = 0; i < s->n; i++) drop_entry(s->results->items[i]);
  drop_entry(s->first.value);
  df__free(s);
}

static void release_state(void *arg) { state_unref(arg); }

/* One hold less; the last one drops the state's reference to the list,
 * which may free the list and with it `s`: do not touch `s` after. */
static void end_hold(list_state *s) {
  if (--s->holds > 0) return;
  df_deferred *list = s->list;
  s->list = NULL;
  df_deferred_unref(list);
}

/* --- what the list fires with ------------------------------------------- */

static void array_destroy(void *p) {
  df_result_array *a = p;
  list_state *s = array_owner(a);
  if (s->owning > 0) { /* entries may have been taken out: walk them all */
    size_t n = a->count; /* read once: drop_entry's call could alias it */
    for (size_t i = 0; i < n; i++) drop_entry(a->items[i]);
  }
  state_unref(s);
}

static void first_destroy(void *p) {
  df_first_result *h = p;
  list_state *s = (list_state *)(void *)((char *)h - offsetof(list_state, first));
  df_result_drop(h->value);
  h->value = df_none();
  state_unref(s);
}

/* Fire the list with `p`, part of the state's allocation, as an owned
 * pointer result: the result now shares the state. */
static void fire_with_part(list_state *s, void *p, void (*destroy)(void *)) {
  df_result r = df_pointer(p, destroy);
  if (DF_UNLIKELY(r.destructor == 0)) { /* destructor table full: no way to own it */
    df_deferred_errback_at(s->list,
                           df_failure_new_at(s->site.file, s->site.line,
                                             s->site.func, &df_error_no_memory,
                                             "no destructor id for a list result"),
                           s->site.file, s->site.line, s->site.func);
    return;
  }
  s->refs++;
  if (p == s->results) s->array_out = true;
  df_deferred_callback_at(s->list, r, s->site.file, s->site.line,
                          s->site.func);
}

/* FirstError's payload: a tag that tells our payloads apart from anything
 * else a FirstError might carry (read first, so a foreign payload is read
 * no further than one pointer), then the public details. */
typedef struct first_error_payload {
  const void *tag;
  df_first_error details;
} first_error_payload;
static const char first_error_tag = 0;

/* Twisted's Failure(FirstError(failure, index)). Takes over `sub`. */
static df_failure *first_error_new(const list_state *s, df_failure *sub,
                                   size_t index) {
  char brief[256];
  df_failure_brief(sub, brief, sizeof brief);
  df_failure *f = df_failure_new_at(s->site.file, s->site.line, s->site.func,
                                    &df_error_first_error, "FirstError[#%zu, %s]",
                                    index, brief);
  if (df_failure_type(f) != &df_error_first_error) { /* the MemoryError */
    df_failure_unref(sub);
    return f;
  }
  df_failure_set_cause(f, sub); /* a new failure: never a cycle */
  first_error_payload *p = df__malloc(sizeof *p);
  if (p) {
    p->details.index = index;
    p->details.sub_failure = sub;
    p->tag = &first_error_tag;
    df_failure_set_payload(f, p, df__free);
  }
  return f;
}

/* --- deciding early, and cancelling the rest ------------------------------ */

/* Has the list its outcome? Fired (by itself, by a cancel, or by the
 * user), or, under DF_LIST_CANCEL_PENDING, decided and cancelling the
 * members still pending before it fires. Results that come after are not
 * recorded (Twisted's `if not self.called`). */
static inline bool settled(const list_state *s) {
  return s->decided || df_deferred_called(s->list);
}

/* Cancel each attached member whose stage is still pending, in input
 * order, continuing the walk where an enclosing call left it, so that
 * nested calls (a canceller that fires another member, which decides the
 * list) never cancel a member twice. The caller keeps the state alive (a
 * pending stage's hold, construction's, or df_deferred_cancel's hold on
 * the list). */
static void cancel_pending(list_state *s) {
  while (s->next_cancel < s->attached) {
    df_deferred *member = s->slots[s->next_cancel++].member;
    if (member)
      df_deferred_cancel_at(member, s->site.file, s->site.line, s->site.func);
  }
}

/* The list has its outcome before every member gave its result (a first
 * success or failure it fires on, or no memory for a stage). Under
 * DF_LIST_CANCEL_PENDING the members still pending are cancelled now,
 * before the list fires, as Twisted 23.8's race does: by the time the
 * list's callbacks see the outcome, the losers have been told. `winner`
 * (NULL for none) is the slot whose stage decided: it is skipped (its
 * member is running its callbacks, so a cancel would do nothing). */
static void decide_early(list_state *s, list_slot *winner) {
  if (!(s->flags & DF_LIST_CANCEL_PENDING)) return;
  s->decided = true;
  if (winner) winner->member = NULL;
  cancel_pending(s);
}

/* A CancelledError that the list's own cancels caused (under
 * DF_LIST_CANCEL_PENDING: while it cancels its members, rule C6, or after
 * it has its outcome): not the member's outcome but the list's doing, so
 * it ends at the member's stage. */
static bool caused_by_our_cancel(const list_state *s, df_result r,
                                 bool settled_now) {
  return (s->flags & DF_LIST_CANCEL_PENDING) &&
         (settled_now || s->cancelling > 0) &&
         df_error_type_is_a(df_failure_type(r.u.failure), &df_error_cancelled);
}

/* Every member failed under DF__LIST_FAILURE_GROUP (also with no member):
 * fail with one FailureGroup of them all, which takes the entries. */
static void fail_with_group(list_state *s) {
  df_failure *group = df__failure_group_new(s->results->items, s->n,
                                            s->site.file, s->site.line,
                                            s->site.func);
  df_deferred_errback_at(s->list, group, s->site.file, s->site.line,
                         s->site.func);
}

/* --- the member stage (rule DL3) ------------------------------------------ */

/* The last member is in: fire with the array (or the group of failures),
 * unless the list has its outcome already. Returns `r` so that the caller
 * can tail-call it. */
static DF_NOINLINE df_result all_recorded(list_state *s, df_result r) {
  if (settled(s)) return r;
  if (s->flags & DF__LIST_FAILURE_GROUP)
    fail_with_group(s); /* no success: it would have decided */
  else
    fire_with_part(s, s->results, array_destroy);
  return r;
}

/* Every case but the common one: failures, owned values, and successes
 * under fireOnOneCallback. */
static DF_NOINLINE df_result record_slow(list_slot *slot, df_result r) {
  list_state *s = slot->state;
  bool failed = r.kind == DF_FAILURE;
  bool consume = failed && (s->flags & DF_LIST_CONSUME_ERRORS);
  bool settled_now = settled(s);
  if (failed && caused_by_our_cancel(s, r, settled_now)) {
    df_result_drop(r);
    return df_none();
  }
  if (settled_now) {
    /* nothing can read a record any more, so the result goes on
     * unchanged (DL4: a consumed failure becomes None) */
    if (!consume) return r;
    df_result_drop(r);
    return df_none();
  }
  /* What the list keeps, and what the member's chain goes on with (DL4):
   * failures are shared, values owning nothing copied, owned ones moved. */
  df_result entry = r, goes_on = r;
  if (failed) {
    if (consume)
      goes_on = df_none();
    else
      df_failure_ref(r.u.failure);
  } else if (r.destructor != 0) {
    goes_on = df_none();
  }
  size_t i = (size_t)(slot - s->slots);
  s->finished++;
  if (!failed && (s->flags & DF_LIST_FIRE_ON_ONE_CALLBACK)) {
    s->first.value = entry;
    s->first.index = i;
    decide_early(s, slot);
    fire_with_part(s, &s->first, first_destroy);
  } else if (failed && (s->flags & DF_LIST_FIRE_ON_ONE_ERRBACK)) {
    df_failure *first_error = first_error_new(s, entry.u.failure, i);
    decide_early(s, slot);
    df_deferred_errback_at(s->list, first_error, s->site.file, s->site.line,
                           s->site.func);
  } else {
    s->results->items[i] = entry;
    s->owning++;
    if (s->finished == s->n) return all_recorded(s, goes_on);
  }
  return goes_on;
}

/* Both sides of every member's stage: Twisted's _cbDeferred. The common
 * case, a value that owns nothing and no fireOnOneCallback, stays a leaf
 * function with no call to the core: it records a copy and the member
 * keeps the value (about 20 instructions; bench case e). It does not ask
 * whether the list has fired: a copy recorded after that is never read
 * and owns nothing, so only the final fire needs the check. */
static df_result record_in_list(df_result r, void *arg) {
  list_slot *slot = arg;
  list_state *s = slot->state;
  if (DF_UNLIKELY(r.kind == DF_FAILURE || r.destructor != 0 ||
                  (s->flags & DF_LIST_FIRE_ON_ONE_CALLBACK)))
    return record_slow(slot, r);
  s->results->items[slot - s->slots] = r;
  if (DF_UNLIKELY(++s->finished == s->n)) return all_recorded(s, r);
  return r;
}

/* The stage's argument is released once, after the stage ran or when the
 * member is freed with the stage still pending. */
static void release_slot(void *arg) {
  list_slot *slot = arg;
  slot->member = NULL;
  end_hold(slot->state);
}

/* rule C6: the list's canceller. The list is held by df_deferred_cancel,
 * so the state outlives the walk even if the last stage goes inside it. */
static void cancel_members(df_deferred *list, void *arg) {
  list_state *s = arg;
  (void)list;
  s->cancelling++;
  cancel_pending(s);
  s->cancelling--;
}

/* --- construction (rules DL1, DL2) ----------------------------------------- */

static const char *bad_arguments(df_deferred *const *members, size_t n,
                                 unsigned flags, unsigned allowed) {
  if (flags & ~allowed) return "unknown flag";
  if (n > 0 && !members) return "members is NULL";
  for (size_t i = 0; i < n; i++)
    if (!members[i]) return "a member is NULL";
  return NULL;
}

/* Adding member i's stage ran out of memory (its release_slot has run):
 * the members after it are left alone, and the list fails, once the
 * members before it are cancelled under DF_LIST_CANCEL_PENDING. */
static DF_NOINLINE void attach_failed(list_state *s, df_deferred *list,
                                      const char *name, size_t i) {
  s->holds -= s->n - 1 - i; /* the holds of stages never added */
  s->attached = i;          /* the cancel walks stop before slot i */
  if (settled(s)) return;
  decide_early(s, NULL);
  df_deferred_errback_at(
      list,
      df_failure_new_at(s->site.file, s->site.line, s->site.func,
                        &df_error_no_memory,
                        "%s: no memory for member %zu's stage", name, i),
      s->site.file, s->site.line, s->site.func);
}

/* DL2: give each member its stage, in input order. Only a list that
 * cancels its pending members can have a walk over its slots start while
 * it is being built (a member that had fired decides it), so only such a
 * list counts the slots attached as it goes (`count_attached`, a constant
 * in each call, keeps the store out of bench case e's loop); for the
 * others every slot counts as attached from the start, which nothing can
 * observe before the constructor returns. */
static DF_ALWAYS_INLINE void attach_members(list_state *s, df_deferred *list,
                                            const char *name,
                                            df_deferred *const *members,
                                            size_t n, bool count_attached) {
  if (!count_attached) s->attached = n;
  for (size_t i = 0; i < n; i++) {
    s->slots[i].member = members[i]; /* before the stage can run */
    s->slots[i].state = s;
    if (count_attached) s->attached = i + 1;
    if (DF_UNLIKELY(df_deferred_add_owned(members[i], record_in_list,
                                          record_in_list, &s->slots[i],
                                          release_slot) != 0)) {
      attach_failed(s, list, name, i);
      return;
    }
  }
}

df_deferred *df__list_new(const df__list_api *api,
                          df_deferred *const *members, size_t n,
                          unsigned flags, const char *file, int line,
                          const char *func) {
  const char *bad = bad_arguments(members, n, flags, api->allowed);
  if (DF_UNLIKELY(bad != NULL))
    return df_fail_at(df_failure_new_at(file, line, func,
                                        &df_error_invalid_argument, "%s: %s",
                                        api->name, bad),
                      file, line, func);
  flags |= api->implied;
  df_site site = {file, func, line};
  list_state *s = state_new(n, flags, site);
  if (DF_UNLIKELY(!s)) return NULL;
  df_deferred *list =
      df_deferred_new_owning_at(cancel_members, s, release_state, file, line, func);
  if (DF_UNLIKELY(!list)) return NULL; /* s was released */
  s->list = df_deferred_ref(list);
  /* One hold per stage about to be added, and construction's own, so the
   * list stays held even if every stage runs at once. */
  s->holds = n + 1;
  if (n == 0) { /* DL1 */
    if (flags & DF__LIST_FAILURE_GROUP)
      fail_with_group(s); /* every one of no members failed */
    else if (!(flags & DF_LIST_FIRE_ON_ONE_CALLBACK))
      fire_with_part(s, s->results, array_destroy);
  }
  if (flags & DF_LIST_CANCEL_PENDING) {
    attach_members(s, list, api->name, members, n, true);
    /* A member that had fired decided the list while later members were
     * still to be attached: those are cancelled now, the walk going on
     * where it stopped. Nobody can have seen the outcome yet: the list
     * has no callbacks before it is returned. */
    if (s->decided) cancel_pending(s);
  } else {
    attach_members(s, list, api->name, members, n, false);
  }
  end_hold(s);
  return list;
}

static const df__list_api list_api = {
    "df_deferred_list",
    DF_LIST_FIRE_ON_ONE_CALLBACK | DF_LIST_FIRE_ON_ONE_ERRBACK |
        DF_LIST_CONSUME_ERRORS | DF_LIST_CANCEL_PENDING,
    0};

df_deferred *df_deferred_list_at(df_deferred *const *members, size_t n,
                                 unsigned flags, const char *file, int line,
                                 const char *func) {
  return df__list_new(&list_api, members, n, flags, file, line, func);
}

/* rule 49: the values need no extra stage, they are the entries */
static const df__list_api gather_api = {
    "df_gather_results", DF_LIST_CONSUME_ERRORS | DF_LIST_CANCEL_PENDING,
    DF_LIST_FIRE_ON_ONE_ERRBACK};

df_deferred *df_gather_results_ex_at(df_deferred *const *members, size_t n,
                                     unsigned flags, const char *file,
                                     int line, const char *func) {
  return df__list_new(&gather_api, members, n, flags, file, line, func);
}

df_deferred *df_gather_results_at(df_deferred *const *members, size_t n,
                                  bool consume_errors, const char *file,
                                  int line, const char *func) {
  return df_gather_results_ex_at(members, n,
                                 consume_errors ? DF_LIST_CONSUME_ERRORS : 0,
                                 file, line, func);
}

/* --- reading what a list fired with ---------------------------------------- */

df_result_array *df_result_array_of(df_result r) {
  if (r.kind != DF_POINTER || df_destructor_fn(r.destructor) != array_destroy)
    return NULL;
  return r.u.p;
}

bool df_result_array_succeeded(const df_result_array *a, size_t i) {
  return a && i < a->count && a->items[i].kind != DF_FAILURE;
}

df_result df_result_array_take(df_result_array *a, size_t i) {
  if (!a || i >= a->count)
    return df_raise(&df_error_invalid_argument,
                    "df_result_array_take: no entry %zu", i);
  df_result r = a->items[i];
  a->items[i] = df_none();
  return r;
}

void df_result_array_free(df_result_array *a) {
  if (a) array_destroy(a);
}

df_first_result *df_first_result_of(df_result r) {
  if (r.kind != DF_POINTER || df_destructor_fn(r.destructor) != first_destroy)
    return NULL;
  return r.u.p;
}

df_result df_first_result_take(df_first_result *h) {
  if (!h)
    return df_raise(&df_error_invalid_argument, "df_first_result_take: NULL");
  df_result r = h->value;
  h->value = df_none();
  return r;
}

void df_first_result_free(df_first_result *h) {
  if (h) first_destroy(h);
}

const df_first_error *df_first_error_of(const df_failure *f) {
  if (!f || df_failure_type(f) != &df_error_first_error) return NULL;
  const first_error_payload *p = df_failure_payload(f);
  return p && p->tag == &first_error_tag ? &p->details : NULL;
}
