/* Private to the library: what every layer of src/ shares (the core in
 * src/core, the composition layer in src/compose). Users never see this
 * header. */
#ifndef DF_PRIVATE_H
#define DF_PRIVATE_H

#include <stddef.h>

#if defined(__GNUC__)
#define DF_NOINLINE __attribute__((noinline))
/* For the firing loop's pieces, whose inlining gcc's size heuristics
 * otherwise decide differently from one build to the next. */
#define DF_ALWAYS_INLINE inline __attribute__((always_inline))
#define DF_LIKELY(x) __builtin_expect(!!(x), 1)
#define DF_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define DF_NOINLINE
#define DF_ALWAYS_INLINE inline
#define DF_LIKELY(x) (x)
#define DF_UNLIKELY(x) (x)
#endif

/* src/core/alloc.c: the allocator df_set_allocator() installs. Every
 * allocation of the library goes through these, so that the counting
 * allocator of the benchmark and the failing one of the out-of-memory
 * tests see them all. */
extern void *(*df__malloc)(size_t);
extern void *(*df__realloc)(void *, size_t);
extern void (*df__free)(void *);

/* The library drops its own references through the function, not the
 * public macro: the site the macro records (for debug mode's reports of a
 * use after free) would name the library's code, and cost its callers an
 * argument. */
#include "deferred/core.h"
#undef df_deferred_unref

#endif /* DF_PRIVATE_H */
