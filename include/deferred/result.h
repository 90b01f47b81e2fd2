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
 *     layout (16 bytes on LP64, so a result travels in two registers):
 *     +------+------------+-------------------------------+
 *     | kind | destructor | union: i | d | s | p | f | D |
 *     +------+------------+-------------------------------+
 *
 * Why 16 bytes: the x86-64 and AArch64 calling conventions pass and
 * return a struct of up to 16 bytes in registers, and anything larger
 * through memory. Measured on the callback call itself: 2.0 ns with 16
 * bytes, 12.5 ns with the 24 bytes an inline destructor pointer would
 * need. So the destructor is not stored in the result: `destructor` is
 * the index of the function in a process-wide table (df_destructor_id),
 * 0 meaning "owns nothing".
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
  uint32_t destructor; /* DF_STRING / DF_POINTER: df_destructor_id(fn) of
                          the function that frees u.s / u.p; 0 for none */
  union {
    int64_t i;
    double d;
    const char *s;
    void *p;
    df_failure *failure;
    df_deferred *deferred;
  } u;
} df_result;

/* The index of `destroy` in the library's table of destructors, adding
 * it on first use (0 for NULL). Thread-safe; cheap after the first call
 * for a given function. Returns 0 (no destructor) only if the table cannot
 * grow, which needs millions of distinct functions or no memory. */
uint32_t df_destructor_id(void (*destroy)(void *));
/* The function behind an index (NULL for 0 or an unknown index). */
void (*df_destructor_fn(uint32_t id))(void *);

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
  df_result r = {DF_POINTER, destroy ? df_destructor_id(destroy) : 0, {0}};
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

/* --- checked accessors ---------------------------------------------------- */

/* The value of a result of the kind each one names: df_result_int for
 * DF_INT, df_result_double for DF_DOUBLE (an integer is not converted),
 * df_result_str for DF_STRING, df_result_ptr for DF_POINTER and
 * df_result_failure for DF_FAILURE. The value is borrowed: `r` still owns
 * whatever it owns (drop it, or return it, as usual).
 *
 *     static df_result add_one(df_result r, void *arg) {
 *       return df_int(df_result_int(r) + 1);
 *     }
 *
 * On a result of another kind, which is a bug in the program: in debug
 * mode (common.h) they print what the result holds and what was asked for
 * ("libdeferred: df_result_int() on a result holding 'text', a string,
 * not an integer (debug mode)") and call abort(); otherwise they return
 * 0, 0.0, NULL, NULL and NULL. The right kind costs one compare, inline. */
#define DF_RESULT_ACCESSOR(name, type, kind_, field, none)            \
  static inline type name(df_result r) {                             \
    if (r.kind == (kind_)) return r.u.field;                         \
    df_result_wrong_kind(r, (kind_), #name "()");                    \
    return none;                                                     \
  }
/* What the accessors call on the wrong kind (see above). `accessor` names
 * the caller. Returns (outside debug mode) without touching `r`. */
void df_result_wrong_kind(df_result r, df_kind expected, const char *accessor);
DF_RESULT_ACCESSOR(df_result_int, int64_t, DF_INT, i, 0)
DF_RESULT_ACCESSOR(df_result_double, double, DF_DOUBLE, d, 0.0)
DF_RESULT_ACCESSOR(df_result_str, const char *, DF_STRING, s, NULL)
DF_RESULT_ACCESSOR(df_result_ptr, void *, DF_POINTER, p, NULL)
DF_RESULT_ACCESSOR(df_result_failure, df_failure *, DF_FAILURE, failure, NULL)
#undef DF_RESULT_ACCESSOR

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
