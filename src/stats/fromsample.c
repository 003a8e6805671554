/*
 * Stored intervals into the aggregates; see fromsample.h. Sits beside the
 * log path of the aggregates stage: where a log record becomes one call,
 * a stored interval becomes every call a query made in it, counted by the
 * collector's own code (stats/internal.h), so that a query seen in logs
 * and in the store is one entry with one text.
 */
#include "fromsample.h"

#include "internal.h"
#include "util/tstamp.h"

#include <math.h>

#include "util/banned.h"

/* pg_stat_statements times are fractional ms; the aggregates keep µs. */
static int64_t ms_to_us(double ms)
{
    return ms > 0 ? (int64_t)llround(ms * 1000.0) : 0;
}

static bool in_range(const struct collector *c, const struct sample *s)
{
    const struct collector_opts *o = c->opts;
    if (o->since_us != TS_NONE && s->end_us <= o->since_us)
        return false;
    return o->until_us == TS_NONE || s->start_us < o->until_us;
}

/* Folds one query row; its position among the stored rows is (0, line). */
static void add_query(struct collector *c, const struct sample *s, const struct sample_query *sq,
                      uint64_t line)
{
    if (sq->calls <= 0)
        return;
    uint64_t calls = (uint64_t)sq->calls;
    struct str db = str_cstr(sq->db ? sq->db : ""), user = str_cstr(sq->user ? sq->user : "");
    if (!collector_keeps(c->opts->dbs, db) || !collector_keeps(c->opts->users, user)) {
        c->filtered += calls;
        return;
    }
    struct qstat *q =
        collector_qstat(c, sq->fingerprint, str_cstr(sq->query ? sq->query : ""), 0, line);
    int64_t total_us = ms_to_us(sq->total_ms);
    /*
     * Every call has a duration in pg_stat_statements, but only their sum:
     * min, max, sumsq and the sketch stay unknown (see fromsample.h).
     */
    q->calls += calls;
    q->timed += calls;
    q->total_us += total_us;
    if (s->start_us < q->first_us)
        q->first_us = s->start_us;
    if (s->end_us > q->last_us)
        q->last_us = s->end_us;
    qstat_add_point(q, collector_bucket_start(c, s->start_us), calls, total_us);
    collector_count_dim(c, q, DIM_DB, db, calls, 0, line);
    collector_count_dim(c, q, DIM_USER, user, calls, 0, line);
    c->queries += calls;
    c->timed_queries += calls;
    c->total_us += total_us;
    struct tl_bucket *t = collector_bucket(c, s->start_us);
    t->queries += calls;
    t->total_us += total_us;
}

/* The interval's server-wide counters, into its timeline interval and the totals. */
static void add_counters(struct collector *c, const struct sample *s)
{
    uint64_t errors = 0, refused = 0, lock_waits = 0, deadlocks = 0;
    if (s->has_log) {
        errors = (uint64_t)(s->log_errors > 0 ? s->log_errors : 0);
        refused = (uint64_t)(s->log_refused > 0 ? s->log_refused : 0);
        lock_waits = (uint64_t)(s->log_lock_waits > 0 ? s->log_lock_waits : 0);
        deadlocks = (uint64_t)(s->log_deadlocks > 0 ? s->log_deadlocks : 0);
    }
    if (s->db.deadlocks > 0 && (uint64_t)s->db.deadlocks > deadlocks)
        deadlocks = (uint64_t)s->db.deadlocks;
    uint64_t temp_files = (uint64_t)(s->db.temp_files > 0 ? s->db.temp_files : 0);
    int64_t temp_bytes = s->db.temp_bytes > 0 ? s->db.temp_bytes : 0;
    uint64_t sessions = (uint64_t)(s->db.sessions > 0 ? s->db.sessions : 0);

    struct tl_bucket *t = collector_bucket(c, s->start_us);
    t->errors += errors;
    t->refused += refused;
    t->lock_waits += lock_waits;
    t->deadlocks += deadlocks;
    t->temp_files += temp_files;
    t->temp_bytes += temp_bytes;
    t->connections += sessions;
    c->errors += errors;
    c->refused += refused;
    c->lock_waits += lock_waits;
    c->deadlocks += deadlocks;
    c->temp_files += temp_files;
    c->temp_bytes += temp_bytes;
    c->connections += sessions;
}

void collector_add_sample(struct collector *c, const struct sample *s)
{
    if (!in_range(c, s))
        return;
    struct interval_stat *st = &c->samples;
    /* The interval's ordinal: it orders texts and names like a log line. */
    uint64_t line = st->intervals + st->gaps + st->baselines + 1;
    if (!c->tz_known) {
        c->tz_offset_s = 0;
        c->tz_known = true;
    }
    if (s->gap) {
        st->gaps++;
        collector_add_gap(c, s->start_us, s->end_us);
        return;
    }
    if (s->baseline_only) {
        st->baselines++;
        return;
    }
    st->intervals++;
    st->covered_us += s->end_us > s->start_us ? s->end_us - s->start_us : 0;
    collector_note_time(c, s->start_us);
    collector_note_time(c, s->end_us);
    for (int i = 0; i < s->nqueries; i++)
        add_query(c, s, &s->queries[i], line);
    add_counters(c, s);
}
