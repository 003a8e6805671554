/*
 * Diagnostics on stderr with a level: log_error .. log_debug skip the
 * formatting below the current level. Core code logs at debug level at
 * most; the errors it returns are printed by cmd/ only, once.
 */
#ifndef SLEUTH_UTIL_LOG_H
#define SLEUTH_UTIL_LOG_H

#include "compat.h"

enum log_level {
    LOG_LEVEL_ERROR, /* the job failed */
    LOG_LEVEL_WARN,  /* the job goes on, with something the user should know */
    LOG_LEVEL_INFO,  /* progress worth a line (-v) */
    LOG_LEVEL_DEBUG, /* internals (-vv) */
};

extern enum log_level log_current_level;

void log_write(enum log_level level, const char *fmt, ...) PRINTF_LIKE(2, 3);

#define log_at(lvl, ...)                   \
    do {                                   \
        if ((lvl) <= log_current_level)    \
            log_write((lvl), __VA_ARGS__); \
    } while (0)
#define log_error(...) log_at(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_at(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)  log_at(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
