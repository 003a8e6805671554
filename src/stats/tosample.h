/*
 * A log analysis as a sequence of samples: one struct sample per timeline
 * bucket, with each fingerprint's calls and time in that bucket and the
 * log's errors, refused connections, lock waits and deadlocks, so that the
 * detectors and the diagnosis that judge a live server judge logs too.
 * Rows per call come from the plan auto_explain logged for the slowest
 * call, when there is one. What a log cannot tell (table and index
 * statistics, sessions) stays empty.
 */
#ifndef SLEUTH_STATS_TOSAMPLE_H
#define SLEUTH_STATS_TOSAMPLE_H

#include "live/sample.h"
#include "stats/collector.h"

typedef void collector_sample_fn(void *ctx, const struct sample *s);

/*
 * Calls fn for every bucket from the first to the last, oldest first; a
 * bucket without records is a sample with no work (the log would show
 * work if there were any), not a gap. A query is marked new in the bucket
 * of its first call, unless that is within warmup_buckets of the log's
 * start: there is no past yet to be new against. The sample is valid
 * during the call.
 */
void collector_to_samples(const struct collector *c, int warmup_buckets, collector_sample_fn *fn,
                          void *ctx);

#endif
