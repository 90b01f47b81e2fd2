/* First success and race (deferred/race.h), and the FailureGroup failure.
 *
 * Both are DeferredLists (list.c) that fire on their first success (and,
 * for race, on their first failure) and cancel the members still pending
 * (DF_LIST_CANCEL_PENDING); first success also fails with one
 * FailureGroup when every member failed (DF__LIST_FAILURE_GROUP), which
 * is what this file makes. So this file holds no per-member machinery of
 * its own: list.c's stage, cancel walk and lifetimes serve all of them.
 *
 * A FailureGroup's payload is one allocation: a tag that tells our
 * payloads apart from a user's (read before anything else, so a foreign
 * payload is read no further than one pointer), the public
 * df_failure_group, and the references to the failures it points at.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

DF_ERROR_TYPE(df_error_failure_group, "FailureGroup", &df_error_exception);

typedef struct group_payload {
  const void *tag;
  df_failure_group group; /* group.failures points at `held`           */
  df_failure *held[];     /* one reference each, released with the group */
} group_payload;
static const char group_tag = 0;

static void group_payload_free(void *p) {
  group_payload *g = p;
  for (size_t i = 0; i < g->group.count; i++) df_failure_unref(g->held[i]);
  df__free(g);
}

/* "FailureGroup[#0 GenericError: a; #1 TimeoutError: b]" into `buf`, the
 * entries that fit in about `size` characters, then how many did not. */
static void group_message(df_result *failures, size_t n, char *buf,
                          size_t size) {
  enum { ROOM_FOR_THE_TAIL = 32 };
  size_t len = (size_t)snprintf(buf, size, "FailureGroup[");
  size_t i = 0;
  for (; i < n; i++) {
    char brief[256];
    df_failure_brief(failures[i].u.failure, brief, sizeof brief);
    size_t want = strlen(brief) + 32; /* "; #i " and the brief */
    if (len + want + ROOM_FOR_THE_TAIL > size) break;
    len += (size_t)snprintf(buf + len, size - len, "%s#%zu %s", i ? "; " : "",
                            i, brief);
  }
  if (i < n)
    len += (size_t)snprintf(buf + len, size - len, "%s... and %zu more",
                            i ? "; " : "", n - i);
  snprintf(buf + len, size - len, "]");
}

df_failure *df__failure_group_new(df_result *failures, size_t n,
                                  const char *file, int line,
                                  const char *func) {
  char message[640];
  group_message(failures, n, message, sizeof message);
  df_failure *f = df_failure_new_at(file, line, func, &df_error_failure_group,
                                    "%s", message);
  group_payload *g = NULL;
  if (df_failure_type(f) == &df_error_failure_group && /* not MemoryError */
      n <= (SIZE_MAX - sizeof *g) / sizeof(df_failure *))
    g = df__malloc(sizeof *g + n * sizeof(df_failure *));
  for (size_t i = 0; i < n; i++) {
    df_failure *member_failure = failures[i].u.failure;
    failures[i] = df_none();
    if (g)
      g->held[i] = member_failure;
    else
      df_failure_unref(member_failure);
  }
  if (g) {
    g->tag = &group_tag;
    g->group.count = n;
    g->group.failures = g->held;
    df_failure_set_payload(f, g, group_payload_free);
  }
  return f;
}

const df_failure_group *df_failure_group_of(const df_failure *f) {
  if (!f || df_failure_type(f) != &df_error_failure_group) return NULL;
  const group_payload *g = df_failure_payload(f);
  return g && g->tag == &group_tag ? &g->group : NULL;
}

static const df__list_api first_success_api = {
    "df_first_success", DF_LIST_CONSUME_ERRORS,
    DF_LIST_FIRE_ON_ONE_CALLBACK | DF_LIST_CANCEL_PENDING |
        DF__LIST_FAILURE_GROUP};

df_deferred *df_first_success_at(df_deferred *const *members, size_t n,
                                 unsigned flags, const char *file, int line,
                                 const char *func) {
  return df__list_new(&first_success_api, members, n, flags, file, line, func);
}

/* With fireOnOneErrback too, the group can only be that of no members. */
static const df__list_api race_api = {
    "df_race", DF_LIST_CONSUME_ERRORS,
    DF_LIST_FIRE_ON_ONE_CALLBACK | DF_LIST_FIRE_ON_ONE_ERRBACK |
        DF_LIST_CANCEL_PENDING | DF__LIST_FAILURE_GROUP};

df_deferred *df_race_at(df_deferred *const *members, size_t n, unsigned flags,
                        const char *file, int line, const char *func) {
  return df__list_new(&race_api, members, n, flags, file, line, func);
}
