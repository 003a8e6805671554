/*
 * The collector's internals that the other aggregators of stats/ share
 * (fromsample.c folds stored intervals into a collector with them), so
 * that a stored query is counted by the same code as a logged one. Not
 * for use outside stats/. Pointer arguments are borrowed.
 */
#ifndef SLEUTH_STATS_INTERNAL_H
#define SLEUTH_STATS_INTERNAL_H

#include "collector.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * The qstat of a query known by its fingerprint and normalised text, as
 * the watcher stores them (no normalising or fingerprinting again): found
 * by fingerprint, or created with the text interned as a logged
 * statement's would be, so that logs and stored samples of one query are
 * one entry. (input, line) orders it among texts like a log position.
 */
struct qstat *collector_qstat(struct collector *c, uint64_t fingerprint, struct str text,
                              uint32_t input, uint64_t line);
/* Whether a --db/--user/--app list (NULL = any) keeps name s. */
bool collector_keeps(const char *const *list, struct str s);
/* Start of the timeline interval (opts->interval_us wide) that holds ts_us. */
int64_t collector_bucket_start(const struct collector *c, int64_t ts_us);
/* The timeline interval that holds ts_us, created empty when new. */
struct tl_bucket *collector_bucket(struct collector *c, int64_t ts_us);
/* Widens the collector's first..last period to ts_us. */
void collector_note_time(struct collector *c, int64_t ts_us);
/* Adds calls and time to q's series point of the interval starting at bucket. */
void qstat_add_point(struct qstat *q, int64_t bucket, uint64_t calls, int64_t total_us);
/* Counts name under dimension d of q, first seen at (input, line). */
void collector_count_dim(struct collector *c, struct qstat *q, enum dim d, struct str name,
                         uint64_t count, uint32_t input, uint64_t line);
/* Records [start_us, end_us) as without data, joined to the last span when they touch. */
void collector_add_gap(struct collector *c, int64_t start_us, int64_t end_us);
/*
 * Adds calls and time at bucket to a series kept sorted by bucket (a new
 * point, or added to the one of that bucket). Returns whether a point was
 * added.
 */
bool series_put(struct series_point **v, size_t *n, size_t *cap, int64_t bucket, uint64_t calls,
                int64_t total_us);

/* PgBouncer's log (pooler.c). */
void pooler_note_stats(struct collector *c, const struct event *ev);
void pooler_note_refused(struct collector *c, const struct event *ev);
void pooler_note_wait(struct collector *c, const struct event *ev);
/* Appends src's stats lines (its lines relative to its range: line_base is added). */
void pooler_merge(struct collector *dst, const struct collector *src, uint64_t line_base);
/* Puts the stats lines in time order and measures each one's period. */
void pooler_finish(struct collector *c);
void pooler_release(struct collector *c);

/* The fine timeline (finetl.c). */
void finetl_init(struct collector *c);
void finetl_release(struct collector *c);
/*
 * One call of q at ts_us that took duration_us (-1 if unknown); q NULL: a call folded into
 * `other`, counted in the buckets only.
 */
void finetl_add_call(struct collector *c, struct qstat *q, int64_t ts_us, int64_t duration_us);
/* The fine bucket that holds ts_us, created when new (for events). */
struct fine_bucket *finetl_bucket(struct collector *c, int64_t ts_us);
/* Brings dst and src to the coarser of their resolutions; call before merging qstats. */
void finetl_align(struct collector *dst, struct collector *src);
/* Folds src's fine series of one query into dst's (both aligned). */
void finetl_merge_series(struct collector *dst, struct qstat *d, const struct qstat *s);
/* Folds src's buckets into dst's, then coarsens dst until it fits. */
void finetl_merge_buckets(struct collector *dst, const struct collector *src);

/* Plan shapes (plans.c). */
/*
 * A plan of q logged at ts_us for a call of duration_us, at (input, line); without keep_text
 * (redact.h's policy) only its outline is kept as its text.
 */
void plans_note(struct collector *c, struct qstat *q, struct str plan, bool keep_text,
                int64_t ts_us, int64_t duration_us, uint32_t input, uint64_t line);
/* Moves s's shapes into d's (lines shifted by line_base). */
void plans_merge(struct qstat *d, struct qstat *s, uint64_t line_base);
void plans_release(struct qstat *q);

/* Changes and applications (changes.c). */
void changes_init(struct collector *c);
void changes_release(struct collector *c);
/*
 * A call of the query with normalised text query (raw as logged) by pid with app and user (names
 * ids) at ts_us.
 */
void changes_note_call(struct collector *c, const char *query, struct str raw, int64_t ts_us,
                       int32_t pid, uint32_t app, uint32_t user, uint32_t input, uint64_t line);
/* A LOG message that may say a setting changed or the server started. */
void changes_note_message(struct collector *c, const struct event *ev);
void changes_merge(struct collector *dst, const struct collector *src, uint64_t line_base);

/* Transactions and lock waits (xacts.c). */
void xacts_init(struct collector *c);
void xacts_release(struct collector *c);
/* A call of fingerprint fp: its normalised text query tells BEGIN, COMMIT and ROLLBACK. */
void xacts_note_call(struct collector *c, uint64_t fp, const char *query, int64_t ts_us,
                     int64_t duration_us, int32_t pid, uint32_t app, uint32_t user);
/* The session ended (a disconnection line or a FATAL error). */
void xacts_note_end(struct collector *c, int32_t pid, int64_t ts_us);
void xacts_note_lock_wait(struct collector *c, const struct event *ev);
/* The wait of pid, if any, ended at ts_us ("acquired", or its next statement or error). */
void xacts_note_wait_end(struct collector *c, int32_t pid, int64_t ts_us);
void xacts_merge(struct collector *dst, struct collector *src);
/* Sorts the records into their final order (by begin, then pid). */
void xacts_finish(struct collector *c);

#endif
