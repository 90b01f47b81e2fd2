/* libdeferred: typed errors and failures.
 *
 * A df_failure is the error value that travels down a callback chain, the C
 * counterpart of Twisted's Failure. It has
 *
 *   - a type (df_error_type), declared statically by the user, with single
 *     inheritance: check/trap match the type or any ancestor;
 *   - a message (printf-formatted when raised);
 *   - an optional payload (pointer + destructor), owned by the failure;
 *   - an optional cause: another failure that led to this one;
 *   - the site where it was raised, and the path it has taken through the
 *     chains since (which stage turned it into a failure, which errbacks
 *     passed it on, which deferreds it was handed to). That path is what the
 *     traceback and the unhandled-failure report print.
 *
 * Failures are reference counted (df_failure_ref/df_failure_unref) and
 * immutable once they are in a chain, except for the path, which only the
 * library appends to. A failure may be shared by several chains.
 *
 * Declaring an error type:
 *
 *     DF_ERROR_TYPE(gibberish_error, "GibberishError", &df_error_exception);
 *
 * and raising it inside a callback:
 *
 *     return df_raise(&gibberish_error, "not a poem: %zu lines", n);
 */
#ifndef DEFERRED_FAILURE_H
#define DEFERRED_FAILURE_H

#include <stdarg.h>
#include <stdio.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An error type. `name` is shown in tracebacks ("GibberishError: ...");
 * `parent` is the base type, NULL only for df_error_exception. Types are
 * compared by address, so declare each once (at file scope, static
 * storage) and share it through an `extern` declaration. */
typedef struct df_error_type {
  const char *name;
  const struct df_error_type *parent;
} df_error_type;

/* Define an error type `var` named `name` deriving from `parent_ptr`. */
#define DF_ERROR_TYPE(var, name, parent_ptr) \
  const df_error_type var = {(name), (parent_ptr)}

/* The library's own error types, named as in Twisted where Twisted has
 * them. Every type derives from df_error_exception.
 *
 *   df_error_exception         "Exception": the root of all error types
 *   df_error_already_called    "AlreadyCalledError": second fire
 *   df_error_cancelled         "CancelledError": df_deferred_cancel()
 *   df_error_timeout           "TimeoutError": a timeout expired
 *   df_error_first_error       "FirstError": first failure of a list
 *   df_error_no_memory         "MemoryError": an allocation failed
 *   df_error_invalid_argument  "ValueError": a bad argument or state
 *   df_error_chain_cycle       "ChainCycleError": a callback returned its
 *                              own deferred, or one waiting on it (Twisted
 *                              hangs there; we fail the chain instead)
 *   df_error_no_result         "NoResultError": the deferred a chain was
 *                              waiting on was released without ever firing
 */
extern const df_error_type df_error_exception;
extern const df_error_type df_error_already_called;
extern const df_error_type df_error_cancelled;
extern const df_error_type df_error_timeout;
extern const df_error_type df_error_first_error;
extern const df_error_type df_error_no_memory;
extern const df_error_type df_error_invalid_argument;
extern const df_error_type df_error_chain_cycle;
extern const df_error_type df_error_no_result;

/* True if `type` is `ancestor` or derives from it. NULL gives false. */
bool df_error_type_is_a(const df_error_type *type,
                        const df_error_type *ancestor);

typedef struct df_failure df_failure;

/* Create a failure of `type` with a printf-formatted message, recording the
 * caller's site. Returns a new reference (the caller owns one reference).
 *
 * Never returns NULL: if memory runs out, it returns a reference to a
 * preallocated MemoryError failure instead, so error paths need no error
 * handling of their own. A NULL `type` means df_error_exception; a NULL
 * `fmt` means an empty message. */
#define df_failure_new(type, ...) df_failure_new_at(DF_HERE, (type), __VA_ARGS__)
df_failure *df_failure_new_at(const char *file, int line, const char *func,
                              const df_error_type *type, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
df_failure *df_failure_new_va(const char *file, int line, const char *func,
                              const df_error_type *type, const char *fmt,
                              va_list ap);

/* Reference counting. df_failure_ref returns `f`. Unref of the last
 * reference frees the failure, its message, its path, its cause reference
 * and runs the payload destructor. Both accept NULL. */
df_failure *df_failure_ref(df_failure *f);
void df_failure_unref(df_failure *f);

/* Attach a payload (any user data). The failure owns it from now on and
 * calls `destroy(payload)` when it is freed (`destroy` may be NULL for
 * borrowed data). A previous payload is destroyed first. */
void df_failure_set_payload(df_failure *f, void *payload,
                            void (*destroy)(void *));
void *df_failure_payload(const df_failure *f);

/* Set the cause: the failure that led to this one. Takes ownership of the
 * caller's reference to `cause` (pass df_failure_ref(c) to keep yours).
 * A previous cause is released. A cause that would make a cycle (`f`
 * itself, or a failure whose causes include `f`) is refused: it is
 * released and DF_EINVAL returned. Returns 0 otherwise. */
int df_failure_set_cause(df_failure *f, df_failure *cause);
df_failure *df_failure_cause(const df_failure *f); /* borrowed, or NULL */

/* The error type `f` was made with: the `type` given to df_failure_new
 * (df_error_exception for a NULL one), df_error_no_memory for the shared
 * MemoryError. The type record is borrowed: a static one, declared with
 * DF_ERROR_TYPE, that lives as long as the program. `f` is borrowed and
 * unchanged. Never fails; a NULL `f` gives NULL. Compare with
 * df_failure_check to accept derived types too. */
const df_error_type *df_failure_type(const df_failure *f);
/* The message of `f`: the printf-formatted text it was made with, "" if
 * it was made without one (a NULL or empty format). Never NULL: a NULL
 * `f` gives "". The string belongs to `f` and stays valid, unchanged,
 * until the last reference to `f` is released; copy it to keep it longer.
 * Safe to call from any callback or errback that holds `f`. */
const char *df_failure_message(const df_failure *f);
/* Where the failure was raised (the df_failure_new / df_raise call). */
df_site df_failure_site(const df_failure *f);
/* A process-wide serial number, like Twisted's Failure.count. */
unsigned long df_failure_serial(const df_failure *f);

/* Twisted's Failure.check(*types): returns the first of the given types
 * that the failure's type is or derives from, or NULL. The list ends with
 * NULL, which the macro adds:
 *
 *     if (df_failure_check(f, &gibberish_error, &df_error_timeout)) ...
 */
#define df_failure_check(f, ...) df_failure_check_list((f), __VA_ARGS__, NULL)
const df_error_type *df_failure_check_list(const df_failure *f, ...);

/* Twisted's Failure.trap: in an errback, keep handling the failure if it
 * matches, otherwise send it on unchanged. C has no exceptions, so trap is
 * a check whose "no match" branch returns the errback's input:
 *
 *     df_result on_error(df_result r, void *arg) {
 *         DF_TRAP(r, &gibberish_error);       // other failures go on
 *         ...handle GibberishError...
 *     }
 *
 * Unlike Twisted, the failure passed on is the same object, not a copy
 * with the same value (docs/twisted-programmers.md explains why). */
#define DF_TRAP(result, ...)                                             \
  do {                                                                   \
    if (!df_result_is_failure(result) ||                                 \
        !df_failure_check_list((result).u.failure, __VA_ARGS__, NULL))   \
      return (result);                                                   \
  } while (0)

/* Text renderings.
 *
 * df_failure_traceback returns a new malloc'd string (free() it) with the
 * failure's traceback in Twisted's layout:
 *
 *     Traceback (most recent call last):
 *       File "poem.c", line 88, in main
 *         fired <Deferred at 0x...>
 *     --- <exception caught here> ---
 *       File "poem.c", line 61, in main
 *         stage 1 callback byronificate
 *       File "byron.c", line 40, in byronificate
 *         raised GibberishError
 *     GibberishError: not a poem
 *
 * A failure with a cause prints the cause's traceback first, then "The
 * above failure was the direct cause of the following failure:", as Python
 * does; in debug mode each traceback ends with the native backtrace of
 * where the failure was raised. (The path a failure took through the
 * chains is part of the unhandled-failure report, see report.h.) The
 * "fired" line and the marker appear once the failure has been caught by
 * a chain: raised in a stage, or fired into a deferred. Returns NULL only
 * if memory runs out.
 *
 * df_failure_brief writes "Type: message" into `buf` (snprintf rules:
 * always terminated, returns the length it wanted). df_failure_print writes
 * the traceback to `out`. */
char *df_failure_traceback(const df_failure *f);
size_t df_failure_brief(const df_failure *f, char *buf, size_t size);
void df_failure_print(const df_failure *f, FILE *out);

/* The marker line between the stack and the frames, as in Twisted. */
#define DF_EXCEPTION_CAUGHT_HERE "--- <exception caught here> ---"

#ifdef __cplusplus
}
#endif

#endif /* DEFERRED_FAILURE_H */
