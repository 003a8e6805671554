/*
 * Caller-provided error records; see err.h.
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void err_clear(struct err *e)
{
    e->code = ERR_NONE;
    e->msg[0] = '\0';
    e->where[0] = '\0';
}

int err_set(struct err *e, enum err_code code, const char *fmt, ...)
{
    va_list ap;
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return -1;
}

void err_prefix(struct err *e, const char *fmt, ...)
{
    char old[sizeof(e->msg)];
    va_list ap;
    memcpy(old, e->msg, sizeof(old));
    va_start(ap, fmt);
    int n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    /* Append ": old" by hand, cutting at the buffer's end. */
    size_t at = n < 0 ? 0 : (size_t)n;
    const char *tail[] = { ": ", old };
    for (size_t k = 0; k < 2; k++)
        for (const char *p = tail[k]; *p && at + 1 < sizeof(e->msg); p++)
            e->msg[at++] = *p;
    if (at < sizeof(e->msg))
        e->msg[at] = '\0';
}

void err_where(struct err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->where, sizeof(e->where), fmt, ap);
    va_end(ap);
}
