/*
 * struct err: the error a fallible function fills for its caller. No
 * allocation happens on the error path; messages follow git's rules
 * (lowercase, no trailing period, what failed first, subject quoted).
 */
#ifndef SLEUTH_UTIL_ERR_H
#define SLEUTH_UTIL_ERR_H

#include "compat.h"

enum err_code {
    ERR_NONE = 0, /* no error */
    ERR_USAGE,    /* bad command line or option value */
    ERR_IO,       /* a file or stream could not be read or written */
    ERR_PARSE,    /* input that could not be understood as a whole */
    ERR_CONN,     /* cannot reach the database */
    ERR_SQL,      /* the database refused a query */
    ERR_CONFIG,   /* a configuration file is wrong */
};

struct err {
    enum err_code code;
    char msg[256];
    char where[128]; /* "postgresql.csv:1234" or "db=app host=…", may be empty */
};

void err_clear(struct err *e);
/* Sets code and message; always returns -1 so callers can `return err_set(...)`. */
int err_set(struct err *e, enum err_code code, const char *fmt, ...) PRINTF_LIKE(3, 4);
/* Prepends "context: " to the message. */
void err_prefix(struct err *e, const char *fmt, ...) PRINTF_LIKE(2, 3);
void err_where(struct err *e, const char *fmt, ...) PRINTF_LIKE(2, 3);

#endif
