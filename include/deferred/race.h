/* libdeferred: first success and race, with the losers cancelled.
 *
 * Beyond Twisted 22.4, which has neither (its users asked for years:
 * twisted#9329, #4919, #11817, #7856):
 *
 *   df_first_success()  fires with the first member to SUCCEED and its
 *                       index; fails with one FailureGroup holding every
 *                       member's failure if all of them fail. This is
 *                       Twisted 23.8's `race(ds)`.
 *   df_race()           fires with the first member to give a RESULT,
 *                       success or failure, and its index. Twisted has no
 *                       such function: a failure that comes first wins
 *                       here, where Twisted 23.8's race waits for a
 *                       success.
 *
 * Both cancel the members still pending once the outcome is known, each
 * exactly once, in input order, before the combined deferred fires; and
 * cancelling the combined deferred cancels every pending member. Both are
 * DeferredLists underneath (deferred/list.h), with
 * DF_LIST_FIRE_ON_ONE_CALLBACK (and, for df_race,
 * DF_LIST_FIRE_ON_ONE_ERRBACK) and DF_LIST_CANCEL_PENDING, so the rules
 * of that header hold: one stage added to each member now, in input
 * order; what the members' chains go on with (failures shared, values
 * owning nothing copied, owned values moved into the winner's result);
 * lifetimes (the combined deferred does not keep its members alive; a
 * pending member stage keeps the combined deferred alive).
 *
 *     df_deferred *mirrors[3] = {fetch(a), fetch(b), fetch(c)};
 *     df_deferred *d = df_first_success(mirrors, 3, DF_LIST_CONSUME_ERRORS);
 *     for (int i = 0; i < 3; i++) df_deferred_unref(mirrors[i]);
 *     df_deferred_add_callbacks(d, got_page, NULL, all_mirrors_failed, NULL);
 *
 * What the members' chains see. The CancelledError our own cancels cause
 * (a loser's, or every member's when the combined deferred is cancelled)
 * is ours: it is consumed at the member's stage (the member's chain goes
 * on with None) and is never reported as unhandled. A member's own
 * failure is shared, as in a DeferredList: without DF_LIST_CONSUME_ERRORS
 * it still travels down the member's chain, where it is reported as
 * unhandled if nothing handles it; pass DF_LIST_CONSUME_ERRORS (Twisted
 * 23.8's race consumes every member result) to end it at the member.
 *
 * Threads: the combined deferred and its members are used from one
 * thread at a time.
 */
#ifndef DEFERRED_RACE_H
#define DEFERRED_RACE_H

#include "core.h"
#include "list.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "FailureGroup": every member of a df_first_success failed (Twisted
 * 23.8's FailureGroup). Derives from df_error_exception. */
extern const df_error_type df_error_failure_group;

/* The failures a FailureGroup holds: `count` of them, `failures[i]` being
 * member i's, in input order. Borrowed from the FailureGroup: valid as
 * long as it is (take a df_failure_ref to keep one longer). */
typedef struct df_failure_group {
  size_t count;
  df_failure *const *failures;
} df_failure_group;

/* The failures inside `f` if it is a FailureGroup made by this library,
 * else NULL (another type, or one made while memory ran out, which has
 * only its message). Borrowed: valid as long as `f`. A FailureGroup
 * raised by the user must not carry a payload smaller than a pointer,
 * which this reads to recognise its own. */
const df_failure_group *df_failure_group_of(const df_failure *f);

/* Fire with the first member to succeed (Twisted 23.8's race).
 *
 * `members[0..n-1]` is borrowed and read only during this call; each
 * member gets one stage, added now, in input order. `flags` is 0 or
 * DF_LIST_CONSUME_ERRORS (see the top of this file); any other flag gives
 * a deferred already failed with ValueError, as do `members` NULL with
 * n > 0 and a NULL member, the members then untouched.
 *
 * The combined deferred (a new reference) fires:
 *   - at the first success, with a df_first_result (value, index): read
 *     it with df_first_result_of(); the members still pending are
 *     cancelled first;
 *   - when every member has failed, with a FailureGroup failure whose
 *     df_failure_group_of() gives each member's failure in input order,
 *     and whose message sums them up: "FailureGroup[#0 GenericError: a;
 *     #1 TimeoutError: b]" (long lists end with "... and 7 more");
 *   - at once, if a member had already succeeded (or all had failed)
 *     before the call: the constructor returns it fired;
 *   - n == 0: at once, with an empty FailureGroup ("FailureGroup[]"), as
 *     "every member failed" holds of no members. Twisted 23.8's race([])
 *     never fires; a deferred that can never fire is never what a program
 *     wants.
 *
 * Cancelling the combined deferred before it fires cancels every pending
 * member, in input order. Their CancelledErrors do not count as failures;
 * a member whose canceller fires it decides as usual (a success wins, a
 * failure counts towards the group). If the outcome is still unknown
 * after that, the combined deferred fails with CancelledError, like any
 * cancelled deferred (Twisted 23.8 fails it with a FailureGroup of
 * CancelledErrors instead). Cancelling it once fired does nothing, except
 * forwarding to a deferred one of its own callbacks returned (rule C3).
 *
 * Firing the combined deferred yourself is allowed (the later member
 * results are then not recorded) but cancels no member.
 *
 * Returns NULL only if memory runs out before any member was touched. If
 * memory runs out while adding member i's stage, the combined deferred
 * fails with MemoryError (unless decided already), the members before i
 * are cancelled and those after i are left untouched. The macro records
 * the caller's site as the combined deferred's creation site, also used
 * for the cancels it makes and the failures it raises. */
#define df_first_success(members, n, flags) \
  df_first_success_at((members), (n), (flags), DF_HERE)
df_deferred *df_first_success_at(df_deferred *const *members, size_t n,
                                 unsigned flags, const char *file, int line,
                                 const char *func);

/* Fire with the first member to give a result, success or failure.
 *
 * Everything is as for df_first_success except what decides: the first
 * result of either kind. A success fires the combined deferred with a
 * df_first_result (value, index); a failure fails it with a FirstError
 * (deferred/list.h: df_first_error_of() gives `index` and `sub_failure`,
 * which is also its cause; message "FirstError[#i, Type: message]"), the
 * member's failure being shared as the top of this file says. The members
 * still pending are cancelled first in both cases. n == 0 fails at once
 * with an empty FailureGroup, as df_first_success does (JavaScript's
 * Promise.race([]) never settles). Cancelling the combined deferred
 * before it fires cancels every pending member; their CancelledErrors do
 * not count as results, so unless a canceller fires its member (which
 * then decides), it fails with CancelledError. */
#define df_race(members, n, flags) df_race_at((members), (n), (flags), DF_HERE)
df_deferred *df_race_at(df_deferred *const *members, size_t n, unsigned flags,
                        const char *file, int line, const char *func);

#ifdef __cplusplus
}
#endif

#endif /* DEFERRED_RACE_H */
