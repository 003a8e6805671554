/*
 * struct poller: reads a live server's statistics once per interval and
 * turns two consecutive readings into a struct sample (deltas of the
 * cumulative counters, gauges at the poll). It owns its connection and
 * reconnects with backoff; a failed poll is a gap, never a crash, and
 * every check that cannot run (no pg_stat_statements, no privilege) is a
 * problem in the sample with the way to fix it, while the others go on.
 * Rows hidden from the role (no pg_read_all_stats: other roles' sessions
 * and pg_stat_statements entries come back without their data) make the
 * interval a gap with a "privileges" problem: less than the server holds
 * is never passed off as a quiet interval.
 *
 * Nothing here writes to the server or calls pg_stat_statements_reset():
 * resets, evictions and restarts are told from the counters themselves.
 */
#ifndef SLEUTH_LIVE_POLL_H
#define SLEUTH_LIVE_POLL_H

#include "core/sample.h"
#include "util/buf.h"
#include "util/err.h"

#include <stdbool.h>
#include <stdint.h>

struct poller_opts {
    int statement_timeout_ms; /* per monitoring query */
    int max_sessions;         /* notable sessions kept per sample */
    int64_t backoff_max_us;   /* longest wait between reconnection attempts */
};

struct poller;

void poller_opts_init(struct poller_opts *o);
/* conninfo: a libpq conninfo or URI, NULL for the PG* environment. Does not connect yet. */
struct poller *poller_new(const char *conninfo, const struct poller_opts *opts);
void poller_free(struct poller *p);

/*
 * Polls at now_us (UTC µs) and fills s (sample_init'ed by the caller)
 * with the interval since the previous call. Returns 0 when the server
 * answered (s may still carry problems, and is a gap when rows were
 * hidden from the role), -1 when it did not: s is then a gap and err says
 * why. A sample right after a gap or a restart, and the
 * very first one, has baseline_only set: gauges only.
 */
int poller_poll(struct poller *p, int64_t now_us, struct sample *s, struct err *err);

/* The target without its password ("user@host:port/db" once connected). */
const char *poller_target(const struct poller *p);

#endif
