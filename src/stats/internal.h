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

#endif
