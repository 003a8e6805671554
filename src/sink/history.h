/*
 * struct history: the watcher's recent past for the live page's charts, a
 * ring of fixed capacity (one point per interval, the oldest overwritten)
 * allocated once by history_new, so memory does not grow with uptime.
 *
 * A point summarises one struct sample: rates are per second of the
 * interval, gauges are at its end. A gap sample (the server could not be
 * polled) becomes a point with gap set and no values; the first, baseline
 * sample has gauges but no rates (has_rates false). Each point also keeps
 * the HISTORY_TOP queries with the most execution time in its interval;
 * their texts are kept in a small table of HISTORY_TEXTS entries, least
 * recently seen replaced first, so a fingerprint's text may be gone when
 * it has not been among the top queries for a long time.
 *
 * Pointer arguments are borrowed; history_add copies what it keeps. Not
 * thread-safe: the watch loop owns it (the HTTP thread only sees JSON).
 */
#ifndef SLEUTH_SINK_HISTORY_H
#define SLEUTH_SINK_HISTORY_H

#include "core/sample.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HISTORY_DEFAULT_CAPACITY 1440 /* a day of 1-minute or 24 min of 1 s intervals */
#define HISTORY_TOP              8    /* queries per point */
#define HISTORY_TEXTS            64   /* query texts kept */
#define HISTORY_TEXT_BYTES       300  /* a kept text is cut to this many bytes */

/* One top query in one interval. */
struct history_query {
    uint64_t fingerprint; /* 0: unused slot */
    double calls_per_s;
    double mean_ms;  /* execution time per call */
    double time_pct; /* share of the interval's execution time, 0-100 */
};

struct history_point {
    int64_t end_us; /* end of the interval, UTC µs */
    double seconds; /* its length */
    bool gap;       /* no data: every value below is 0 */
    bool has_rates; /* false on the baseline poll: only gauges */
    bool has_log;   /* errors and refused come from the server log */
    double calls_per_s;
    double mean_ms;       /* execution time per call over all queries */
    double db_time_per_s; /* execution seconds per wall second (1 = one backend always busy) */
    int connections, usable, active, idle_in_transaction, waiting;
    int64_t errors, refused, deadlocks; /* counts in the interval */
    double commits_per_s, rollbacks_per_s;
    struct history_query top[HISTORY_TOP]; /* most execution time first */
};

/* A query text the history remembers. */
struct history_text {
    uint64_t fingerprint; /* 0: unused */
    uint64_t last_seen;   /* sequence number of the last point that had it */
    char text[HISTORY_TEXT_BYTES + 1];
};

struct history {
    struct history_point *points; /* ring of cap points */
    size_t cap, len, head;        /* head: where the next point goes */
    uint64_t seq;                 /* points ever added */
    struct history_text texts[HISTORY_TEXTS];
};

/* A history of capacity points (HISTORY_DEFAULT_CAPACITY when 0). */
struct history *history_new(size_t capacity);
void history_free(struct history *h);
/* Summarises s into a new point, dropping the oldest one when full. */
void history_add(struct history *h, const struct sample *s);
/* Points held, and the i-th oldest (0 <= i < history_len). */
size_t history_len(const struct history *h);
const struct history_point *history_at(const struct history *h, size_t i);
/* The kept text of a fingerprint, or NULL. */
const char *history_query_text(const struct history *h, uint64_t fingerprint);

#endif
