/*
 * The rules judged on the whole server: deadlocks (any), rollback_spike
 * (rollbacks per transaction), error_spike (ERROR lines of the log per
 * second), database_load (seconds of execution per second: the load of
 * every query together), call_rate (calls per second of every query) and
 * connection_rate (new connections per second), the last five against the
 * server's own history.
 */
#include "detect/internal.h"

#include "sql/ddl.h"
#include "util/xalloc.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* deadlocks: any in the interval. */
static void judge_deadlocks(struct detector *d, const struct sample *s)
{
    /* The counter and the log see the same deadlocks: take the larger, do not add. */
    int64_t n = s->db.deadlocks;
    if (s->has_log && s->log_deadlocks > n)
        n = s->log_deadlocks;
    if (n <= 0)
        return;
    bool crit = n >= d->cfg.deadlocks_critical;
    struct finding *f = detect_add_finding(
        d, FK_DEADLOCKS, crit ? FINDING_CRITICAL : FINDING_WARNING, xstrdup("server"));
    f->value = (double)n;
    f->threshold = crit ? d->cfg.deadlocks_critical : 1;
    f->unit = "deadlocks";
    f->summary = detect_fmt("%" PRId64 " deadlock%s in the interval", n, n == 1 ? "" : "s");
    f->next = xstrdup("read the 'deadlock detected' lines of the server log: they name both "
                      "statements; make the transactions lock rows in the same order");
}

/* rollback_spike: rollbacks / transactions against the server's baseline. */
static void judge_rollbacks(struct detector *d, const struct sample *s)
{
    const struct detect_config *c = &d->cfg;
    int64_t xacts = s->db.xact_commit + s->db.xact_rollback;
    if (xacts < c->rollback_min_xacts)
        return;
    double ratio = (double)s->db.xact_rollback / (double)xacts;
    struct ring *r = &d->server.rings[M_ROLLBACK];
    enum metric m = M_ROLLBACK;
    struct series *se = &d->server;
    struct baseline b = detect_baseline(d, r);
    double thr = b.ok ? detect_threshold(d, b, 1, c->rollback_min_increase) : 0;
    bool unusual = b.ok && ratio > thr;
    detect_observe(d, se, m, ratio, unusual);
    if (!unusual)
        return;
    struct finding *f =
        detect_add_finding(d, FK_ROLLBACK_SPIKE, FINDING_WARNING, xstrdup("server"));
    f->value = 100 * ratio;
    f->baseline = 100 * b.median;
    f->threshold = 100 * thr;
    f->unit = "%";
    f->summary =
        detect_fmt("rollbacks are %.0f%% of transactions (usually %.1f%%): %" PRId64 " of %" PRId64,
                   100 * ratio, 100 * b.median, s->db.xact_rollback, xacts);
    f->next = xstrdup("look at the application's errors and the server log's ERROR lines: "
                      "something makes its transactions fail");
}

/* error_spike: ERROR and worse log lines per second against the baseline. */
static void judge_errors(struct detector *d, const struct sample *s)
{
    const struct detect_config *c = &d->cfg;
    if (!s->has_log)
        return;
    double rate = (double)s->log_errors / sample_seconds(s);
    struct ring *r = &d->server.rings[M_ERRORS_S];
    enum metric m = M_ERRORS_S;
    struct series *se = &d->server;
    struct baseline b = detect_baseline(d, r);
    double thr = b.ok ? detect_threshold(d, b, c->errors_ratio, c->errors_min_increase) : 0;
    bool unusual = b.ok && rate > thr;
    detect_observe(d, se, m, rate, unusual);
    if (!unusual)
        return;
    struct finding *f = detect_add_finding(d, FK_ERROR_SPIKE, FINDING_WARNING, xstrdup("server"));
    f->value = rate;
    f->baseline = b.median;
    f->threshold = thr;
    f->unit = "errors/s";
    char n0[32], n1[32];
    f->summary = detect_fmt(
        "%s errors/s in the server log (usually %s/s), %" PRId64 " in the interval",
        detect_num(n1, sizeof(n1), rate), detect_num(n0, sizeof(n0), b.median), s->log_errors);
    f->next = xstrdup("read this interval's ERROR lines of the server log: which SQLSTATE and "
                      "which statement; a timeout or a constraint points at the cause");
}

/*
 * Whether most of the interval's calls are of queries with a history.
 * Calls mostly of new queries are an application starting (or a release,
 * which new_heavy_query and call_surge judge): a surge of calls or of
 * connections is more of the traffic that ran before.
 */
static bool known_mix(const struct detector *d, const struct sample *s)
{
    int64_t calls = 0;
    for (int i = 0; i < s->nqueries; i++)
        calls += s->queries[i].calls;
    return calls == 0 || d->known_calls >= 0.5 * (double)calls;
}

/*
 * Whether the queries with a history make more calls than they usually do:
 * a surge of the server's calls is theirs, not that of queries which came
 * with the new level (an application that replaced a schema load has a
 * history by now, all of it at its own rate).
 */
static bool known_rose(const struct detector *d)
{
    return d->known_calls >= 1.5 * d->known_usual;
}

/*
 * database_load: seconds of execution per second, all queries, against the
 * server's baseline. Schema changes are left out (a CREATE INDEX is a
 * change, not load to page about), and the finding is a warning whatever
 * its size: one heavy statement in one interval is not an outage, two
 * intervals in a row may be.
 */
static void judge_db_load(struct detector *d, const struct sample *s)
{
    const struct detect_config *c = &d->cfg;
    double ms = 0;
    for (int i = 0; i < s->nqueries; i++)
        if (!ddl_candidate(s->queries[i].query))
            ms += s->queries[i].total_ms;
    double load = ms / 1000 / sample_seconds(s);
    struct series *se = &d->server;
    struct baseline b = detect_baseline(d, &se->rings[M_DB_S]);
    double thr = b.ok ? detect_threshold(d, b, c->db_load_ratio, c->db_load_min_increase) : 0;
    /*
     * An idle server that gets work is starting, not surging: judged from 1 ms
     * a second, and while most calls are of queries with a history (a schema
     * load followed by the application's start is all new work).
     */
    bool unusual = b.ok && b.median >= 0.001 && known_mix(d, s) && load > thr;
    detect_observe(d, se, M_DB_S, load, unusual);
    if (!unusual)
        return;
    struct finding *f = detect_add_finding(d, FK_DB_LOAD, FINDING_WARNING, xstrdup("server"));
    f->value = load;
    f->baseline = b.median;
    f->threshold = thr;
    f->unit = "s/s";
    char rt[32];
    f->summary =
        detect_fmt("the database spent %.2f s a second executing queries (usually %.2f, "
                   "%s) over %d queries",
                   load, b.median, detect_ratio(rt, sizeof(rt), load, b.median), s->nqueries);
    f->next = xstrdup("see which queries took the time: one slower query, more calls of one "
                      "(a release), or every query slower (more traffic, or the machine)");
}

/*
 * call_rate: calls per second of every query together, against the
 * server's baseline: more traffic, or a release that calls one statement
 * per row (N+1).
 */
static void judge_call_rate(struct detector *d, const struct sample *s)
{
    const struct detect_config *c = &d->cfg;
    int64_t calls = 0;
    for (int i = 0; i < s->nqueries; i++)
        if (!ddl_candidate(s->queries[i].query))
            calls += s->queries[i].calls;
    double rate = (double)calls / sample_seconds(s);
    struct series *se = &d->server;
    struct baseline b = detect_baseline(d, &se->rings[M_CALLS_ALL]);
    double thr = b.ok ? detect_threshold(d, b, c->call_rate_ratio, c->call_rate_min_increase) : 0;
    /*
     * A quiet server that gets calls is starting (a schema load, then the
     * application), not surging: judged once the usual rate is itself at
     * least the increase that matters.
     */
    bool unusual = b.ok && b.median >= c->call_rate_min_increase && known_mix(d, s) &&
                   known_rose(d) && rate > thr;
    /* A fall as steep stays out of the baseline: the return must not look like a surge. */
    bool fall = b.ok && rate * c->call_rate_ratio < b.median;
    detect_observe(d, se, M_CALLS_ALL, rate, unusual || fall);
    if (!unusual)
        return;
    struct finding *f = detect_add_finding(d, FK_CALL_RATE, FINDING_WARNING, xstrdup("server"));
    f->value = rate;
    f->baseline = b.median;
    f->threshold = thr;
    f->unit = "calls/s";
    char n0[32], n1[32], rt[32];
    f->summary = detect_fmt("the database ran %s calls a second (usually %s, %s) over %d queries",
                            detect_num(n1, sizeof(n1), rate), detect_num(n0, sizeof(n0), b.median),
                            detect_ratio(rt, sizeof(rt), rate, b.median), s->nqueries);
    f->next = xstrdup("see whether the same queries are called more (more traffic) or new or "
                      "multiplied ones appeared (a release, one query per row)");
}

/* connection_rate: new connections per second against the server's baseline. */
static void judge_conn_rate(struct detector *d, const struct sample *s)
{
    const struct detect_config *c = &d->cfg;
    double rate = (double)s->db.sessions / sample_seconds(s);
    struct series *se = &d->server;
    struct baseline b = detect_baseline(d, &se->rings[M_CONN_S]);
    double thr = b.ok ? detect_threshold(d, b, c->conn_rate_ratio, c->conn_rate_min_increase) : 0;
    /*
     * A server not in use is starting (its applications connect for the
     * first time), not surging: judged once it was in use, by its calls
     * or, where no query is counted (no pg_stat_statements, a log of slow
     * statements only), by at least one new connection a second; and on
     * the queries that ran before.
     */
    struct baseline calls = detect_baseline(d, &se->rings[M_CALLS_ALL]);
    bool in_use = (calls.ok && calls.median >= c->call_rate_min_increase) || b.median >= 1;
    bool unusual = b.ok && in_use && known_mix(d, s) && rate > thr;
    detect_observe(d, se, M_CONN_S, rate, unusual);
    if (!unusual)
        return;
    struct finding *f = detect_add_finding(d, FK_CONN_RATE, FINDING_WARNING, xstrdup("server"));
    f->value = rate;
    f->baseline = b.median;
    f->threshold = thr;
    f->unit = "connections/s";
    char n0[32], n1[32];
    f->summary = detect_fmt("%s new connections a second (usually %s)",
                            detect_num(n1, sizeof(n1), rate), detect_num(n0, sizeof(n0), b.median));
    f->next = xstrdup("find who connects (application_name, client address): a surge of "
                      "traffic, or an application that opens a connection per request");
}

void detect_judge_server(struct detector *d, const struct sample *s)
{
    judge_deadlocks(d, s);
    judge_rollbacks(d, s);
    judge_errors(d, s);
    judge_db_load(d, s);
    judge_call_rate(d, s);
    judge_conn_rate(d, s);
}
