/*
 * The sink for BUG() and ASSERT(): a broken invariant is reported with its
 * source location and the process aborts rather than print a wrong report.
 */
#include "compat.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void bug_fl(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "sleuth: BUG at %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}
