/*
 * A log analysis as a sequence of samples (core/sample.h), so that the
 * engine that judges a live server judges logs too: one sample per step
 * of the collector's fine timeline (stats/finetl.c), whatever the report's
 * --interval. A sample holds each fingerprint's calls and time in the
 * step; the log's errors, refused connections, lock waits, deadlocks and
 * new connections (as db.sessions); the changes the log shows (DDL,
 * settings, a restart, an application_name seen for the first time); and
 * as sessions, the transactions open at the step's end (idle in
 * transaction or running, with their last statement) and the sessions
 * waiting on a lock with the pids that hold it. Rows per call come from
 * the plan auto_explain logged for the slowest call, when there is one.
 * What a log cannot tell (table and index statistics, connection counts
 * against max_connections) stays empty.
 */
#ifndef SLEUTH_STATS_TOSAMPLE_H
#define SLEUTH_STATS_TOSAMPLE_H

#include "core/sample.h"
#include "stats/collector.h"

#include <stdint.h>

typedef void collector_sample_fn(void *ctx, const struct sample *s);

/*
 * The step the diagnosis judges the log at: a multiple of the fine
 * timeline's resolution, the shortest of 1, 2, 3, 5, 10, 15, 20, 30 s,
 * 1, 2, 5, 10, 15, 30 min, 1, 2, 6 h, 1 d at which the most called query
 * has about min_calls * 3 calls a step, no shorter than the log's span
 * over 20000 and no longer than its span over 20 (so there is a stretch
 * of normal to judge against). 0 for a log without a timed call.
 */
int64_t collector_step_us(const struct collector *c, int min_calls);

/*
 * Calls fn for every step from the first fine bucket to the last, oldest
 * first, step_us wide (a multiple of c->fine_us). A step without records
 * is a sample with no work (the log would show work if there were any),
 * not a gap; a stretch of more than 120 empty steps is one gap (the server
 * was down or the log is cut). A query or an application is new in the
 * step of its first call unless that is within warmup_steps of the log's
 * start: there is no past yet to be new against. The sample is valid
 * during the call.
 */
void collector_to_samples(const struct collector *c, int64_t step_us, int warmup_steps,
                          collector_sample_fn *fn, void *ctx);

/*
 * Where a change happened in one query's fine series (fp; 0 for the whole
 * log's database time per second) near at_us: the start of the fine
 * bucket in [at_us - window_us, at_us + window_us] that best splits the
 * series there into two stretches of different mean time per call (the
 * classic two-segment mean shift), the later one higher when rising is
 * true, lower otherwise. Returns at_us when the series has too few points
 * there or no such split.
 */
int64_t collector_change_point(const struct collector *c, uint64_t fp, int64_t at_us,
                               int64_t window_us, bool rising);

#endif
