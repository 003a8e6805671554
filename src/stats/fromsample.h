/*
 * Stored history as aggregates: folds the intervals that `sleuth watch`
 * stored (struct sample, core/sample.h) into a struct collector, so that
 * `sleuth analyze --store` and `sleuth report --store` render the same
 * reports as log analysis.
 *
 * What pg_stat_statements gives is a total per query and interval, not
 * each call: a query's calls, total and mean are exact, but its minimum,
 * maximum, standard deviation and percentiles are unknown. They are left
 * unset (the sketches stay empty) and the renderers say so rather than
 * print zeros. Not thread-safe (the collector is not).
 */
#ifndef SLEUTH_STATS_FROMSAMPLE_H
#define SLEUTH_STATS_FROMSAMPLE_H

#include "collector.h"
#include "core/sample.h"

/*
 * Folds one interval into c; s is borrowed (nothing of it is kept). Call
 * it in time order (store_read_samples does).
 *
 *   - A gap (the server could not be polled) counts in c->samples.gaps
 *     and its span in c->samples.gap_spans: it adds no timeline interval
 *     and no zeros. A baseline-only sample (the first poll, no deltas yet)
 *     counts in c->samples.baselines and adds nothing else.
 *   - Otherwise, per query: calls (all timed), total time, first and last
 *     seen (the interval's start and end), a series point at the
 *     interval's start, and its database and role. Queries of databases
 *     or roles that c's --db/--user filters leave out add their calls to
 *     c->filtered. The timeline interval holding the start gets the
 *     queries and time, log errors, refused connections, lock waits,
 *     deadlocks (the larger of the log's and pg_stat_database's count:
 *     both see the same ones), sessions as connections, and temporary
 *     files and bytes; the collector-wide counters get the same.
 *   - An interval outside c's --since/--until (no overlap) is skipped.
 *
 * Times become UTC (tz_offset_s 0).
 */
void collector_add_sample(struct collector *c, const struct sample *s);

#endif
