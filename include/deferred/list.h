/* libdeferred: DeferredList and gatherResults, waiting for many deferreds.
 *
 * df_deferred_list() is Twisted's DeferredList: a new deferred that fires
 * once every member has a result, with all of them in input order, or as
 * soon as one member succeeds (DF_LIST_FIRE_ON_ONE_CALLBACK) or fails
 * (DF_LIST_FIRE_ON_ONE_ERRBACK). df_gather_results() is gatherResults: the
 * plain values of all members, or a FirstError at the first failure.
 * Rule numbers (DL1-DL4, 49, C6, U5) refer to docs/semantics.md.
 *
 * How it works, as in Twisted (DL2): construction adds one stage to each
 * member, in input order. A member that has already fired runs that stage
 * at once, so the list may have fired by the time the constructor returns.
 * The stage records the member's result in the list and hands the member's
 * chain a result to go on with:
 *
 *   member result           recorded in the list         member goes on with
 *   ----------------------  ---------------------------  -------------------
 *   failure                 a new reference to it        the same failure, or
 *                                                        None with
 *                                                        DF_LIST_CONSUME_ERRORS
 *   value owning nothing    a copy                       the same value
 *   (destructor 0: None,
 *   int, double, df_string,
 *   borrowed pointer)
 *   owned value (df_string  the value itself (moved)     None
 *   _dup, df_pointer with
 *   a destructor)
 *
 * Failures are shared, not consumed: without DF_LIST_CONSUME_ERRORS a
 * member's failure still travels down the member's own chain and is
 * reported as unhandled if nothing handles it there (U5). An owned value
 * cannot be in two places, so it moves into the list: the list's consumer
 * gets it, and the member's later stages see None.
 *
 * Once the list has fired (by itself, by a cancel, or by the user), later
 * member results are not recorded: they go on down the member's chain
 * unchanged, except that DF_LIST_CONSUME_ERRORS still turns a failure into
 * None (Twisted keeps recording into the list's resultList, which nothing
 * can read once the list has fired with something else).
 *
 * Lifetime: the list does not keep its members alive, and the members do
 * not need the list. While a member's stage is pending, that stage keeps
 * the list deferred alive (so a list nobody holds still fires, and its
 * unhandled failure is still reported, as in Twisted). A member released
 * before it fires simply never gives the list its result, as a member
 * nobody fires in Twisted; the list stays unfired (cancel it to end it).
 * Everything is freed once the list and its members are, in any order.
 *
 * Threads: the list and all its members are used from one thread at a time.
 */
#ifndef DEFERRED_LIST_H
#define DEFERRED_LIST_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Flags of df_deferred_list (Twisted's keyword arguments). */
enum {
  /* Fire with a df_first_result (value, index) at the first success. */
  DF_LIST_FIRE_ON_ONE_CALLBACK = 1u << 0,
  /* Fail with a FirstError (df_first_error) at the first failure. */
  DF_LIST_FIRE_ON_ONE_ERRBACK = 1u << 1,
  /* A member's failure becomes None on the member's chain once recorded. */
  DF_LIST_CONSUME_ERRORS = 1u << 2,
  /* Beyond Twisted: once the list has its outcome before every member gave
   * its result (the first success or failure it fires on), cancel the
   * members still pending, in input order, each once, before the list
   * fires. See "Cancelling the rest" below. */
  DF_LIST_CANCEL_PENDING = 1u << 3
};

/* What a list fires with when it fires with every member's result: one
 * entry per member, in input order. Entry i is a failure result
 * (DF_FAILURE) if member i failed, and its value otherwise (Twisted's
 * (success, value) pairs: success is `items[i].kind != DF_FAILURE`).
 *
 *     one allocation:  +-------+----------+----------+-----+
 *                      | count | items[0] | items[1] | ... |
 *                      +-------+----------+----------+-----+
 *
 * It reaches the list's first callback as a DF_POINTER result that owns
 * the array and every item: df_result_drop() frees them all. Read items in
 * place, move one out with df_result_array_take(), or keep the whole array
 * with df_result_take() and free it later with df_result_array_free().
 * `count` is read-only. */
typedef struct df_result_array {
  size_t count;
  df_result items[];
} df_result_array;

/* What a DF_LIST_FIRE_ON_ONE_CALLBACK list fires with at the first
 * success: Twisted's (value, index); df_race and df_first_success
 * (deferred/race.h) fire with it too. Also a DF_POINTER result owning the
 * struct and `value`; df_first_result_take() moves `value` out. */
typedef struct df_first_result {
  df_result value; /* the member's value, recorded as in the table above */
  size_t index;    /* the member's position in `members`                 */
} df_first_result;

/* The details of a FirstError failure (Twisted's FirstError.subFailure and
 * .index), kept as the failure's payload (a DF_LIST_FIRE_ON_ONE_ERRBACK
 * list's, gatherResults', and df_race's when a failure comes first).
 * `sub_failure` is also the FirstError's cause (df_failure_cause), which
 * holds the reference: it is borrowed from the FirstError and lives as
 * long as it. */
typedef struct df_first_error {
  size_t index;
  df_failure *sub_failure;
} df_first_error;

/* Create a DeferredList over `members[0..n-1]` (Twisted's DeferredList;
 * rules DL1-DL4, C6).
 *
 * `members` is borrowed and read only during this call (Twisted's snapshot
 * of the list); the same deferred may appear more than once. Each member
 * gets one stage, added now, in order (DL2). `flags` is 0 or any of the
 * DF_LIST_* flags. The list fires with:
 *   - a df_result_array of every member's result, once all have one (DL3;
 *     at once if n == 0, DL1), and also under DF_LIST_FIRE_ON_ONE_CALLBACK
 *     when every member failed;
 *   - with DF_LIST_FIRE_ON_ONE_CALLBACK, a df_first_result at the first
 *     success (an empty list then never fires, DL1);
 *   - with DF_LIST_FIRE_ON_ONE_ERRBACK, a FirstError failure at the first
 *     failure: type df_error_first_error, message "FirstError[#i, Type:
 *     message]", cause the member's failure, details in df_first_error_of().
 *
 * Cancelling the list while it has not fired cancels every member whose
 * result it has not recorded yet, in input order (C6; a member that fires
 * in its canceller is recorded as usual). If the list has still not fired
 * after that, it fails with CancelledError like any deferred (Twisted's
 * DeferredList stays unfired). Cancelling a fired list does nothing,
 * except that a list waiting on a deferred returned by one of its own
 * callbacks forwards the cancel to it, as every deferred does (rule C3).
 *
 * Cancelling the rest (DF_LIST_CANCEL_PENDING; Twisted 22.4 has no such
 * option, twisted#4919, #9329): when the list decides early (its first
 * success under DF_LIST_FIRE_ON_ONE_CALLBACK, its first failure under
 * DF_LIST_FIRE_ON_ONE_ERRBACK, or no memory for a member's stage), it
 * cancels each member whose result it has not recorded, in input order,
 * and only then fires (as Twisted 23.8's race does), so the list's
 * callbacks run with the losers already cancelled. The member that
 * decided is not cancelled. A member that fires while this goes on (in
 * another's canceller, say) is not cancelled afterwards; no member is
 * cancelled twice, however the cancels nest. A member that had fired
 * before construction decides at once, and the members after it are
 * cancelled as soon as they have been attached. With this flag, a
 * CancelledError that the list's own cancels caused is the list's to
 * consume: one a member delivers while the list cancels its members
 * (cancelling the list, C6) or once the list has its outcome is not
 * recorded, and the member's chain goes on with None, so it is never
 * reported as unhandled. A member's own failures still follow the table
 * at the top of this file. In consequence, cancelling such a list that
 * has not fired makes it fail with CancelledError (unless a member's
 * canceller gives a result that decides it), not with a FirstError of
 * the first member's CancelledError as Twisted's DeferredList does.
 *
 * Returns a new reference to the list, or NULL if memory runs out before
 * any member was touched. Bad arguments (`members` NULL with n > 0, a NULL
 * member, an unknown flag) give a list already failed with ValueError, the
 * members untouched. If memory runs out while adding a stage to member i,
 * the list fails with MemoryError (if it has not fired yet) and members
 * after i are left untouched; members before i keep their stage, which
 * records and passes results on as usual (and are cancelled first under
 * DF_LIST_CANCEL_PENDING). The macro records the caller's
 * site as the list's creation site, which also appears as the site of the
 * FirstError and of cancels the list makes. */
#define df_deferred_list(members, n, flags) \
  df_deferred_list_at((members), (n), (flags), DF_HERE)
df_deferred *df_deferred_list_at(df_deferred *const *members, size_t n,
                                 unsigned flags, const char *file, int line,
                                 const char *func);

/* Twisted's gatherResults (rule 49): a list of `members` with
 * DF_LIST_FIRE_ON_ONE_ERRBACK (and DF_LIST_CONSUME_ERRORS if
 * `consume_errors`), whose success is a df_result_array of plain values:
 * every item is a success, moved or copied out of the members as the table
 * at the top of this file says. The first failure fails it with FirstError.
 * n == 0 fires an empty array. Same ownership, cancel and errors as
 * df_deferred_list. (Twisted adds a callback that strips the pairs; here
 * the items already are the values, so there is no extra stage.) */
#define df_gather_results(members, n, consume_errors) \
  df_gather_results_at((members), (n), (consume_errors), DF_HERE)
df_deferred *df_gather_results_at(df_deferred *const *members, size_t n,
                                  bool consume_errors, const char *file,
                                  int line, const char *func);

/* gatherResults with flags: `flags` is 0 or any of DF_LIST_CONSUME_ERRORS
 * (the `consume_errors` of df_gather_results) and DF_LIST_CANCEL_PENDING,
 * which cancels every member still pending at the first failure (before
 * the FirstError fires), the option Twisted's users asked for
 * (twisted#9329). df_gather_results_ex(m, n, 0) is df_gather_results(m, n,
 * false). Any other flag gives a list already failed with ValueError.
 * Same ownership, results, cancel and errors as df_gather_results; see
 * "Cancelling the rest" above for what the flag changes, in particular
 * that cancelling the unfired list fails it with CancelledError (unless
 * every member's canceller gives it a value, which fires the array). */
#define df_gather_results_ex(members, n, flags) \
  df_gather_results_ex_at((members), (n), (flags), DF_HERE)
df_deferred *df_gather_results_ex_at(df_deferred *const *members, size_t n,
                                     unsigned flags, const char *file,
                                     int line, const char *func);

/* --- reading what a list fired with ---------------------------------------- */

/* The array inside `r` if `r` is a result a list fired with (a DF_POINTER
 * made by this file), else NULL. Borrowed from `r`: whoever owns `r` owns
 * the array. */
df_result_array *df_result_array_of(df_result r);

/* Did member `i` succeed? False for a failure entry and for i >= count. */
bool df_result_array_succeeded(const df_result_array *a, size_t i);

/* Move entry `i` out of `a`: the caller owns what comes back, and the
 * entry becomes None (dropping the array later will not touch it). An
 * index out of range (or NULL `a`) gives a ValueError failure result. */
df_result df_result_array_take(df_result_array *a, size_t i);

/* Free an array the caller took out of its result with df_result_take():
 * drops every entry still in it, then the array. NULL is ignored. Do not
 * call it on an array still inside a result (drop the result instead). */
void df_result_array_free(df_result_array *a);

/* The (value, index) inside `r` if `r` is what a
 * DF_LIST_FIRE_ON_ONE_CALLBACK list fired with, else NULL. Borrowed. */
df_first_result *df_first_result_of(df_result r);

/* Move the value out of `h`: the caller owns it, `h->value` becomes None.
 * NULL `h` gives a ValueError failure result. */
df_result df_first_result_take(df_first_result *h);

/* Free a df_first_result taken out of its result with df_result_take():
 * drops the value if still there, then the struct. NULL is ignored. */
void df_first_result_free(df_first_result *h);

/* The details of `f` if it is a FirstError made by a list, else NULL
 * (another type, a FirstError with no payload, or one made while memory
 * ran out). Borrowed: valid as long as `f`. FirstError is the lists'
 * type: a FirstError raised elsewhere must not carry a payload smaller
 * than a pointer, which this reads to recognise its own. */
const df_first_error *df_first_error_of(const df_failure *f);

#ifdef __cplusplus
}
#endif

#endif /* DEFERRED_LIST_H */
