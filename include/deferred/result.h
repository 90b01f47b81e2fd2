/* libdeferred: results, the values that flow down a callback chain.
 *
 * A df_result is a small tagged value passed *by value*. It is either a
 * success (none, an integer, a double, a string, or any pointer) or a
 * failure. A callback returns a df_result; a callback may also return a
 * deferred (df_wait_on) to make the chain wait for it.
 *
 * Ownership moves with the value, like a baton:
 *
 *     df_deferred_callback(d, v)   v now belongs to d's chain
 *     callback(r, arg)             r belongs to the callback ...
 *       return out;                ... and `out` belongs to the chain again
 *
 * so a callback must either return its input (pass-through, free) or drop
 * it with df_result_drop() and return something else. Whatever is left
 * when the chain is freed is dropped by the library. Dropping a result
 * runs its destructor: free() for df_string_dup/df_string_take strings,
 * the given function for df_pointer, df_failure_unref for failures,
 * df_deferred_unref for df_wait_on. Integers, doubles, df_none and
 * df_string (static or borrowed text) own nothing.
 *
 *     layout (24 bytes on LP64):
 *     +------+---------+------------------------------+
 *     | kind | destroy | union: i | d | s | p | f | D |
 *     +------+---------+------------------------------+
 */
#ifndef DEFERRED_RESULT_H
#define DEFERRED_RESULT_H

#include "common.h"
#include "failure.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct df_deferred df_deferred;

typedef enum df_kind {
  DF_NONE = 0,   /* no value: Python's None                          */
  DF_INT,        /* u.i, int64_t                                     */
  DF_DOUBLE,     /* u.d                                              */
  DF_STRING,     /* u.s, NUL-terminated; owned if destroy != NULL    */
  DF_POINTER,    /* u.p, any data; owned if destroy != NULL          */
  DF_FAILURE,    /* u.failure, one reference owned by the result     */
  DF_DEFERRED    /* u.deferred: "wait on this deferred" (callbacks only) */
} df_kind;

typedef struct df_result {
  df_kind kind;
  void (*destroy)(void *); /* DF_STRING / DF_POINTER: how to free u.s/u.p */
  union {
    int64_t i;
    double d;
    const char *s;
    void *p;
    df_failure *failure;
    df_deferred *deferred;
  } u;
} df_result;

/* --- constructors: all cheap, none allocate except df_string_dup ------- */

static inline df_result df_none(void) {
  df_result r = {DF_NONE, 0, {0}};
  return r;
}
static inline df_result df_int(int64_t i) {
  df_result r = {DF_INT, 0, {0}};
  r.u.i = i;
  return r;
}
static inline df_result df_double(double d) {
  df_result r = {DF_DOUBLE, 0, {0}};
  r.u.d = d;
  return r;
}
/* A string the result does not own (a literal, or text that outlives the
 * chain). */
static inline df_result df_string(const char *s) {
  df_result r = {DF_STRING, 0, {0}};
  r.u.s = s;
  return r;
}
/* A malloc'd string the result takes over; it is free()d when dropped. */
df_result df_string_take(char *s);
/* A copy of `s` owned by the result. Out of memory gives a MemoryError
 * failure result instead (which the chain then carries as a failure). */
df_result df_string_dup(const char *s);
/* Any data: the result owns `p` and calls destroy(p) when dropped, unless
 * destroy is NULL (borrowed data). */
static inline df_result df_pointer(void *p, void (*destroy)(void *)) {
  df_result r = {DF_POINTER, destroy, {0}};
  r.u.p = p;
  return r;
}
/* A failure result; takes over the caller's reference to `f`. */
static inline df_result df_failed(df_failure *f) {
  df_result r = {DF_FAILURE, 0, {0}};
  r.u.failure = f;
  return r;
}
/* Raise: a new failure of `type` as a result, recording this site.
 *     return df_raise(&gibberish_error, "bad rhyme at line %d", n); */
#define df_raise(type, ...) df_failed(df_failure_new_at(DF_HERE, (type), __VA_ARGS__))
/* A failure result for a DF_E* error code (DF_EALREADY_CALLED gives an
 * AlreadyCalledError, DF_ENOMEM a MemoryError, anything else ValueError),
 * so that a callback can pass on an error it got from the library. */
#define df_raise_code(code) df_failed(df_failure_from_code_at(DF_HERE, (code)))
df_failure *df_failure_from_code_at(const char *file, int line,
                                    const char *func, int code);
/* From a callback: make the chain wait for `d` and continue with its
 * result (Twisted's "return a Deferred from a callback"). Takes over the
 * caller's reference to `d`. Only meaningful as a callback's return value;
 * firing a deferred with it is DF_EINVAL. */
static inline df_result df_wait_on(df_deferred *d) {
  df_result r = {DF_DEFERRED, 0, {0}};
  r.u.deferred = d;
  return r;
}

/* --- inspection ---------------------------------------------------------- */

static inline bool df_result_is_failure(df_result r) {
  return r.kind == DF_FAILURE;
}

/* Drop a result: run its destructor as described above. */
void df_result_drop(df_result r);

/* Take the pointer out of a DF_POINTER or DF_STRING result without running
 * its destructor: the caller now owns it. `*r` becomes df_none(). Returns
 * NULL for other kinds (and leaves *r alone). */
void *df_result_take(df_result *r);

/* Write a short human-readable form of `r` into `buf` (snprintf rules):
 * None, 42, 1.5, 'text', <pointer 0x...>, <Failure Type: message>,
 * <Deferred ...>. Used by traces and reports. */
size_t df_result_describe(df_result r, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* DEFERRED_RESULT_H */
