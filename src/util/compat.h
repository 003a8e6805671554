/*
 * Compiler helpers shared by every module: must-check results, printf
 * checking, and the always-on BUG/ASSERT macros.
 */
#ifndef SLEUTH_UTIL_COMPAT_H
#define SLEUTH_UTIL_COMPAT_H

#include <stddef.h>

#define MUST_CHECK        __attribute__((warn_unused_result))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define NORETURN          __attribute__((noreturn))
#define NOINLINE          __attribute__((noinline)) /* a cold path kept out of a hot loop */
#define LIKELY(x)         __builtin_expect(!!(x), 1)
#define UNLIKELY(x)       __builtin_expect(!!(x), 0)
#define ARRAY_SIZE(a)     (sizeof(a) / sizeof((a)[0]))

/* Reports a programmer error with its location and aborts (exit code 70 path). */
NORETURN void bug_fl(const char *file, int line, const char *fmt, ...) PRINTF_LIKE(3, 4);

#define BUG(...) bug_fl(__FILE__, __LINE__, __VA_ARGS__)
/* Stays on in release builds: a broken invariant must not produce a wrong report. */
#define ASSERT(cond)                                                   \
    do {                                                               \
        if (UNLIKELY(!(cond)))                                         \
            bug_fl(__FILE__, __LINE__, "assertion failed: %s", #cond); \
    } while (0)

#endif
