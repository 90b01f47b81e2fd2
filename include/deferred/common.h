/* libdeferred: error codes, call sites, allocation hooks and debug mode.
 *
 * Everything in libdeferred that can fail returns an int: 0 on success or
 * a negative error code (the libuv convention): one of the DF_E* codes
 * below, or, from functions that report what the system said (a file
 * that cannot be written, a socket call), a negated errno value such as
 * -ENOSPC. The two never collide: DF_ENOMEM and DF_EINVAL are -ENOMEM
 * and -EINVAL, and the library's own codes lie below -1000.
 * df_strerror() describes both. Failures that travel down a callback
 * chain are df_failure objects instead (see failure.h); df_raise_code()
 * turns a code into one.
 */
#ifndef DEFERRED_COMMON_H
#define DEFERRED_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DF_VERSION_MAJOR 0
#define DF_VERSION_MINOR 1
#define DF_VERSION_PATCH 0
#define DF_VERSION_STRING "0.1.0"

/* Error codes. Negative, so that `if (rc < 0)` reads naturally. */
#define DF_ENOMEM (-12)            /* out of memory; nothing was changed   */
#define DF_EINVAL (-22)            /* bad argument (NULL, wrong state)     */
#define DF_EALREADY_CALLED (-1001) /* second callback()/errback(); a delayed
                                      call that has run */
#define DF_EALREADY_CANCELLED (-1002) /* a delayed call cancelled before */
#define DF_EQUEUE_OVERFLOW (-1010) /* a DeferredQueue is full (Twisted's
                                      QueueOverflow; deferred/queue.h) */

/* A short English description of a DF_E* code ("already called", ...)
 * or of a negated errno value (strerror's text: "No space left on
 * device"). Never returns NULL; unknown codes give "unknown error". The
 * text is static, or for errno values kept in a buffer of the calling
 * thread's that the next call may overwrite. */
const char *df_strerror(int code);

/* Where something happened in the user's program. The add/fire/raise
 * macros capture __FILE__, __LINE__ and __func__ for free: these are
 * string literals with static storage, so recording a site never
 * allocates. */
typedef struct df_site {
  const char *file;
  const char *func;
  int line;
} df_site;

/* Expands to the three arguments of a site, for the *_at() functions. */
#define DF_HERE __FILE__, __LINE__, __func__

/* A pointer to a static df_site for this call site (one per use of the
 * macro, so passing it costs one pointer and never allocates), for the
 * *_at() functions that take a `const df_site *`. NULL where the compiler
 * has no GNU statement expressions. */
#if defined(__GNUC__) || defined(__clang__)
#define DF_SITE_HERE()                                                   \
  __extension__({                                                        \
    static const df_site df_site_here_ = {__FILE__, __func__, __LINE__}; \
    &df_site_here_;                                                      \
  })
#else
#define DF_SITE_HERE() ((const df_site *)0)
#endif

/* Replace the allocator used for every allocation the library makes.
 *
 * Call it before the library allocates anything (typically first thing in
 * main), or after df_release_caches() with no deferred or failure alive.
 * Passing NULL for all three restores malloc/realloc/free. The hooks must
 * behave like the C library functions. Returns 0, or DF_EINVAL if only
 * some of the three are NULL. Used by bench/ to count allocations. */
int df_set_allocator(void *(*malloc_fn)(size_t),
                     void *(*realloc_fn)(void *, size_t),
                     void (*free_fn)(void *));

/* Free the calling thread's caches of spare deferreds, stage blocks and
 * scratch space. The library keeps such caches so that the hot path does
 * not allocate once warm; they are also freed automatically when a thread
 * exits and at process exit, so calling this is only needed before
 * swapping the allocator. Safe to call at any time outside a callback. */
void df_release_caches(void);

/* Debug mode (Twisted's Deferred.debug / setDebugging): when on, deferreds
 * record a native backtrace (backtrace(3)) where they are created and
 * first fired, and failures where they are created; unhandled-failure
 * reports and AlreadyCalled messages (df_deferred_already_called_error)
 * then include them. Off by default; the environment variable DF_DEBUG=1
 * turns it on at start-up. Affects objects created after the call.
 * Process-wide; not thread-safe to flip while other threads create
 * deferreds.
 *
 * Deferreds created in debug mode are also checked for use after free:
 * when the last reference to one goes, its memory is poisoned and held
 * back from reuse (each thread keeps the last 1,024 so freed, until it
 * exits or calls df_release_caches), and a later df_deferred_ref,
 * df_deferred_unref, add, fire or cancel through a pointer to it prints
 * what it was, where it was created and where its last reference was
 * released, and calls abort() (a bug in the program, like a double
 * free). Results get checked accessors (df_result_int, ...: result.h),
 * which abort on the wrong kind of result. And at exit, the deferreds
 * made in debug mode that are still waiting are listed on stderr
 * (df_dump_waiting, report.h). None of this costs anything when debug
 * mode is off. */
void df_set_debugging(bool on);
bool df_get_debugging(void);

#ifdef __cplusplus
}
#endif

#endif /* DEFERRED_COMMON_H */
