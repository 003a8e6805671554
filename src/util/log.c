/*
 * The stderr logger; see log.h.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

enum log_level log_current_level = LOG_LEVEL_WARN;

void log_write(enum log_level level, const char *fmt, ...)
{
    static const char *const names[] = { "error", "warning", "info", "debug" };
    va_list ap;
    fprintf(stderr, "sleuth: %s: ", names[level]);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
