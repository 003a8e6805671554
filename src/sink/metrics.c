/*
 * GET /metrics (see metrics.h): the Prometheus view of the watcher. It sits
 * beside the store and the alert sinks at the end of the watch pipeline:
 * metrics_state_add turns each sample's deltas into running totals, and
 * metrics_render writes them with the latest sample's gauges. Counter
 * families are tables of (name, help, field of struct sample) so a new
 * counter is one line.
 */
#include "sink/metrics.h"

#include "util/utf8.h"
#include "util/xalloc.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* ------------------------------------------------------------------------ */
/* Counters summed over the server                                          */

enum counter_src {
    SRC_ALWAYS,    /* pg_stat_database: every successful poll */
    SRC_LOG,       /* the server log, when followed */
    SRC_PGBOUNCER, /* PgBouncer's SHOW STATS, when watched */
};

struct counter_def {
    const char *name;
    const char *help;
    size_t off; /* of an int64_t in struct sample */
    enum counter_src src;
};

#define SAMPLE_FIELD(f) offsetof(struct sample, f)

static const struct counter_def counters[] = {
    { "sleuth_xact_commit_total", "Transactions committed (pg_stat_database).",
      SAMPLE_FIELD(db.xact_commit), SRC_ALWAYS },
    { "sleuth_xact_rollback_total", "Transactions rolled back (pg_stat_database).",
      SAMPLE_FIELD(db.xact_rollback), SRC_ALWAYS },
    { "sleuth_deadlocks_total", "Deadlocks detected (pg_stat_database).",
      SAMPLE_FIELD(db.deadlocks), SRC_ALWAYS },
    { "sleuth_conflicts_total", "Queries cancelled by recovery conflicts (pg_stat_database).",
      SAMPLE_FIELD(db.conflicts), SRC_ALWAYS },
    { "sleuth_temp_files_total", "Temporary files created (pg_stat_database).",
      SAMPLE_FIELD(db.temp_files), SRC_ALWAYS },
    { "sleuth_temp_bytes_total", "Bytes written to temporary files (pg_stat_database).",
      SAMPLE_FIELD(db.temp_bytes), SRC_ALWAYS },
    { "sleuth_blks_read_total", "Blocks read from disk or the OS cache (pg_stat_database).",
      SAMPLE_FIELD(db.blks_read), SRC_ALWAYS },
    { "sleuth_blks_hit_total", "Blocks found in shared buffers (pg_stat_database).",
      SAMPLE_FIELD(db.blks_hit), SRC_ALWAYS },
    { "sleuth_tup_returned_total", "Rows returned by scans (pg_stat_database).",
      SAMPLE_FIELD(db.tup_returned), SRC_ALWAYS },
    { "sleuth_tup_fetched_total", "Rows fetched by index scans (pg_stat_database).",
      SAMPLE_FIELD(db.tup_fetched), SRC_ALWAYS },
    { "sleuth_sessions_fatal_total", "Sessions ended by a fatal error (PostgreSQL 14+).",
      SAMPLE_FIELD(db.sessions_fatal), SRC_ALWAYS },
    { "sleuth_sessions_killed_total", "Sessions terminated by an operator (PostgreSQL 14+).",
      SAMPLE_FIELD(db.sessions_killed), SRC_ALWAYS },
    { "sleuth_sessions_abandoned_total", "Sessions whose client went away (PostgreSQL 14+).",
      SAMPLE_FIELD(db.sessions_abandoned), SRC_ALWAYS },
    { "sleuth_log_errors_total", "ERROR, FATAL and PANIC messages in the server log.",
      SAMPLE_FIELD(log_errors), SRC_LOG },
    { "sleuth_log_connections_refused_total", "Connections refused for lack of slots (server log).",
      SAMPLE_FIELD(log_refused), SRC_LOG },
    { "sleuth_log_lock_waits_total", "Lock waits logged by log_lock_waits.",
      SAMPLE_FIELD(log_lock_waits), SRC_LOG },
    { "sleuth_log_deadlocks_total", "Deadlocks reported in the server log.",
      SAMPLE_FIELD(log_deadlocks), SRC_LOG },
    { "sleuth_log_timeouts_total", "Statement and lock timeouts reported in the server log.",
      SAMPLE_FIELD(log_timeouts), SRC_LOG },
    { "sleuth_pgbouncer_queries_total", "Queries through PgBouncer (SHOW STATS).",
      SAMPLE_FIELD(pgb_queries), SRC_PGBOUNCER },
    { "sleuth_pgbouncer_transactions_total", "Transactions through PgBouncer (SHOW STATS).",
      SAMPLE_FIELD(pgb_xacts), SRC_PGBOUNCER },
};

/* ------------------------------------------------------------------------ */
/* Bounded labelled series                                                  */

#define MAX_VALUES 5

/* One fingerprint's or table's running totals. */
struct series {
    uint64_t fp; /* queries: the fingerprint; tables: 0 */
    char *a, *b; /* labels: db and user, or schema and table (first seen) */
    double v[MAX_VALUES];
    double score;    /* decayed activity, ranks the series */
    bool top;        /* exported under its own labels */
    int64_t touched; /* the last poll that had work for it */
};

/* A family of labelled counters sharing one set of series. */
struct series_set {
    struct series *s;
    size_t n, cap;
    double other[MAX_VALUES]; /* work done outside the top N */
    int nvalues;
};

struct metrics_state {
    int top_n;
    int64_t totals[ARRAY_SIZE(counters)];
    int64_t polls, gaps;
    int64_t last_ok_us; /* end of the last interval that was polled, 0 if none */
    bool seen_log, seen_pgbouncer;
    bool has_webhook;
    uint64_t webhook[4];       /* sent, failed, dropped, queued */
    struct series_set queries; /* calls, exec seconds, rows */
    struct series_set tables;  /* seq_scan, seq_tup_read, idx_scan, n_tup_upd, n_tup_hot_upd */
};

struct metrics_state *metrics_state_new(int top_n)
{
    struct metrics_state *st = xcalloc(1, sizeof(*st));
    st->top_n = top_n > 0 ? top_n : METRICS_DEFAULT_TOP;
    /* Eviction needs series outside the top. */
    if (st->top_n > METRICS_TRACKED / 2)
        st->top_n = METRICS_TRACKED / 2;
    st->queries.nvalues = 3;
    st->tables.nvalues = 5;
    return st;
}

static void series_set_release(struct series_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        free(set->s[i].a);
        free(set->s[i].b);
    }
    free(set->s);
}

void metrics_state_free(struct metrics_state *st)
{
    if (!st)
        return;
    series_set_release(&st->queries);
    series_set_release(&st->tables);
    free(st);
}

/*
 * The index of the series for (fp, a, b): queries match on fp alone,
 * tables on both names. A new one takes a free slot or, when
 * METRICS_TRACKED are followed, the place of the least busy series that is
 * outside the top N and not yet touched in this interval (poll). Returns
 * -1 when there is no such place: the work then counts under "other" only.
 */
static long series_get(struct series_set *set, uint64_t fp, const char *a, const char *b,
                       int64_t poll)
{
    for (size_t i = 0; i < set->n; i++) {
        struct series *s = &set->s[i];
        if (fp ? s->fp == fp : (strcmp(s->a, a) == 0 && strcmp(s->b, b) == 0)) {
            s->touched = poll;
            return (long)i;
        }
    }
    struct series *s = NULL;
    if (set->n < METRICS_TRACKED) {
        set->s = xgrow(set->s, &set->cap, set->n + 1, sizeof(*set->s));
        s = &set->s[set->n++];
    } else {
        for (size_t i = 0; i < set->n; i++) {
            struct series *c = &set->s[i];
            if (!c->top && c->touched != poll && (!s || c->score < s->score))
                s = c;
        }
        if (!s)
            return -1;
        free(s->a);
        free(s->b);
    }
    memset(s, 0, sizeof(*s));
    s->fp = fp;
    s->a = xstrdup(a ? a : "");
    s->b = xstrdup(b ? b : "");
    s->touched = poll;
    return (long)(s - set->s);
}

static int by_score_desc(const void *x, const void *y)
{
    const struct series *a = *(const struct series *const *)x;
    const struct series *b = *(const struct series *const *)y;
    if (a->score != b->score)
        return a->score < b->score ? 1 : -1;
    if (a->fp != b->fp)
        return a->fp < b->fp ? -1 : 1;
    int c = strcmp(a->a, b->a);
    return c ? c : strcmp(a->b, b->b);
}

/* The series in rank order (malloc'd array of n pointers). */
static struct series **series_ranked(const struct series_set *set)
{
    struct series **r = xmalloc((set->n ? set->n : 1) * sizeof(*r));
    for (size_t i = 0; i < set->n; i++)
        r[i] = &set->s[i];
    qsort(r, set->n, sizeof(*r), by_score_desc);
    return r;
}

static void series_decay(struct series_set *set, double seconds)
{
    double f = pow(0.5, seconds / METRICS_HALF_LIFE_S);
    for (size_t i = 0; i < set->n; i++)
        set->s[i].score *= f;
}

static void series_pick_top(struct series_set *set, int top_n)
{
    struct series **r = series_ranked(set);
    for (size_t i = 0; i < set->n; i++)
        r[i]->top = i < (size_t)top_n && r[i]->score > 0;
    free(r);
}

/*
 * One interval's work for one series (an index: the array may move while
 * the interval's series are looked up; -1 for no series). The work counts
 * under "other" too when the series is outside the top N after the
 * interval.
 */
struct delta {
    long at;
    double score;
    double v[MAX_VALUES];
};

static void series_apply(struct series_set *set, const struct delta *d, size_t n, int top_n)
{
    for (size_t i = 0; i < n; i++) {
        if (d[i].at < 0)
            continue;
        struct series *s = &set->s[d[i].at];
        s->score += d[i].score;
        for (int k = 0; k < set->nvalues; k++)
            s->v[k] += d[i].v[k];
    }
    series_pick_top(set, top_n);
    for (size_t i = 0; i < n; i++)
        if (d[i].at < 0 || !set->s[d[i].at].top)
            for (int k = 0; k < set->nvalues; k++)
                set->other[k] += d[i].v[k];
}

static void add_queries(struct metrics_state *st, const struct sample *s)
{
    struct series_set *set = &st->queries;
    series_decay(set, sample_seconds(s));
    struct delta *d = xcalloc((size_t)s->nqueries + 1, sizeof(*d));
    size_t n = 0;
    for (int i = 0; i < s->nqueries; i++) {
        const struct sample_query *q = &s->queries[i];
        if (q->calls <= 0 && q->total_ms <= 0)
            continue;
        /* A fingerprint of 0 would be taken for a table's key: give it one of its own. */
        d[n].at = series_get(set, q->fingerprint ? q->fingerprint : 1, q->db, q->user, st->polls);
        d[n].score = q->total_ms;
        d[n].v[0] = (double)q->calls;
        d[n].v[1] = q->total_ms / 1000.0;
        d[n].v[2] = (double)q->rows;
        n++;
    }
    series_apply(set, d, n, st->top_n);
    free(d);
}

static void add_tables(struct metrics_state *st, const struct sample *s)
{
    struct series_set *set = &st->tables;
    series_decay(set, sample_seconds(s));
    struct delta *d = xcalloc((size_t)s->ntables + 1, sizeof(*d));
    size_t n = 0;
    for (int i = 0; i < s->ntables; i++) {
        const struct sample_table *t = &s->tables[i];
        d[n].at = series_get(set, 0, t->schema ? t->schema : "", t->name ? t->name : "", st->polls);
        d[n].score = (double)(t->seq_tup_read + t->n_tup_upd);
        d[n].v[0] = (double)t->seq_scan;
        d[n].v[1] = (double)t->seq_tup_read;
        d[n].v[2] = (double)t->idx_scan;
        d[n].v[3] = (double)t->n_tup_upd;
        d[n].v[4] = (double)t->n_tup_hot_upd;
        n++;
    }
    series_apply(set, d, n, st->top_n);
    free(d);
}

void metrics_state_set_webhook(struct metrics_state *st, uint64_t sent, uint64_t failed,
                               uint64_t dropped, uint64_t queued)
{
    st->has_webhook = true;
    st->webhook[0] = sent;
    st->webhook[1] = failed;
    st->webhook[2] = dropped;
    st->webhook[3] = queued;
}

void metrics_state_add(struct metrics_state *st, const struct sample *s)
{
    st->polls++;
    if (s->gap) {
        st->gaps++;
        return;
    }
    st->last_ok_us = s->end_us;
    st->seen_log |= s->has_log;
    st->seen_pgbouncer |= s->has_pgbouncer;
    /* The baseline poll has gauges only: its counters are not deltas yet. */
    if (s->baseline_only)
        return;
    for (size_t i = 0; i < ARRAY_SIZE(counters); i++) {
        int64_t v;
        memcpy(&v, (const char *)s + counters[i].off, sizeof(v));
        if (v > 0)
            st->totals[i] += v;
    }
    add_queries(st, s);
    add_tables(st, s);
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                  */

void metrics_escape_label(struct buf *out, const char *v)
{
    const unsigned char *p = (const unsigned char *)(v ? v : "");
    size_t n = strlen((const char *)p);
    for (size_t i = 0; i < n;) {
        size_t len = 1;
        if (p[i] == '\\')
            buf_addstr(out, "\\\\");
        else if (p[i] == '"')
            buf_addstr(out, "\\\"");
        else if (p[i] == '\n')
            buf_addstr(out, "\\n");
        else if (p[i] < 0x80)
            buf_addch(out, (char)p[i]);
        else if ((len = utf8_len(p + i, n - i)) > 0)
            buf_add(out, p + i, len);
        else {
            buf_addstr(out, UTF8_REPLACEMENT);
            len = 1;
        }
        i += len;
    }
}

/* The shortest of %.15g and %.17g that reads back as v; NaN and ±Inf as the format spells them. */
static void add_value(struct buf *out, double v)
{
    if (isnan(v)) {
        buf_addstr(out, "NaN");
        return;
    }
    if (isinf(v)) {
        buf_addstr(out, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    char tmp[40];
    snprintf(tmp, sizeof(tmp), "%.15g", v);
    if (strtod(tmp, NULL) != v)
        snprintf(tmp, sizeof(tmp), "%.17g", v);
    buf_addstr(out, tmp);
}

static void family(struct buf *out, const char *name, const char *type, const char *help)
{
    buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample_line(struct buf *out, const char *name, double v)
{
    buf_addstr(out, name);
    buf_addch(out, ' ');
    add_value(out, v);
    buf_addch(out, '\n');
}

static void gauge(struct buf *out, const char *name, const char *help, double v)
{
    family(out, name, "gauge", help);
    sample_line(out, name, v);
}

/* name{k1="v1",k2="v2",k3="v3"} v, with NULL keys left out. */
static void labelled(struct buf *out, const char *name, const char *const keys[3],
                     const char *const vals[3], double v)
{
    buf_addstr(out, name);
    buf_addch(out, '{');
    for (int i = 0; i < 3 && keys[i]; i++) {
        buf_addf(out, "%s%s=\"", i ? "," : "", keys[i]);
        metrics_escape_label(out, vals[i]);
        buf_addch(out, '"');
    }
    buf_addstr(out, "} ");
    add_value(out, v);
    buf_addch(out, '\n');
}

static void render_server_gauges(struct buf *out, const struct sample *s)
{
    gauge(out, "sleuth_server_version_num", "server_version_num of the watched server.",
          s->server_version_num);
    gauge(out, "sleuth_max_connections", "The max_connections setting.", s->max_connections);
    gauge(out, "sleuth_connections_usable",
          "Connections clients can use: max_connections minus the reserved slots.",
          sample_usable_connections(s));
    gauge(out, "sleuth_connections", "Client connections (the watcher's own excluded).",
          s->connections);
    family(out, "sleuth_sessions", "gauge", "Client sessions by state.");
    const char *const key[3] = { "state", NULL, NULL };
    struct {
        const char *state;
        int n;
    } by_state[] = { { "active", s->active },
                     { "idle", s->idle },
                     { "idle in transaction", s->idle_in_transaction } };
    for (size_t i = 0; i < ARRAY_SIZE(by_state); i++) {
        const char *const val[3] = { by_state[i].state, NULL, NULL };
        labelled(out, "sleuth_sessions", key, val, by_state[i].n);
    }
    gauge(out, "sleuth_sessions_waiting", "Sessions waiting for a lock or another event.",
          s->waiting);
    int blocked = 0;
    double oldest_xact = 0;
    for (int i = 0; i < s->nsessions; i++) {
        blocked += s->sessions[i].nblocked_by > 0;
        if (s->sessions[i].xact_age_s > oldest_xact)
            oldest_xact = s->sessions[i].xact_age_s;
    }
    gauge(out, "sleuth_sessions_blocked", "Sessions blocked by another session's lock.", blocked);
    gauge(out, "sleuth_oldest_transaction_seconds",
          "Age of the oldest open transaction among the sessions shown.", oldest_xact);
    gauge(out, "sleuth_clients_distinct", "Distinct client addresses.", s->distinct_clients);
    gauge(out, "sleuth_problems", "Things the watcher could not collect (see /api/state).",
          s->nproblems);
    if (s->has_pgbouncer) {
        int waiting = 0;
        double maxwait = 0;
        for (int i = 0; i < s->npools; i++) {
            waiting += s->pools[i].cl_waiting;
            if (s->pools[i].maxwait_s > maxwait)
                maxwait = s->pools[i].maxwait_s;
        }
        gauge(out, "sleuth_pgbouncer_clients_waiting", "Clients waiting for a server connection.",
              waiting);
        gauge(out, "sleuth_pgbouncer_max_wait_seconds",
              "How long the oldest waiting client has waited.", maxwait);
    }
}

struct labelled_def {
    const char *name;
    const char *help;
};

static const struct labelled_def query_families[] = {
    { "sleuth_query_calls_total", "Calls of a query fingerprint (pg_stat_statements)." },
    { "sleuth_query_exec_seconds_total", "Execution time of a query fingerprint." },
    { "sleuth_query_rows_total", "Rows returned or affected by a query fingerprint." },
};

static const struct labelled_def table_families[] = {
    { "sleuth_table_seq_scan_total", "Sequential scans of a table." },
    { "sleuth_table_seq_tup_read_total", "Rows read by sequential scans of a table." },
    { "sleuth_table_idx_scan_total", "Index scans of a table." },
    { "sleuth_table_n_tup_upd_total", "Rows updated in a table." },
    { "sleuth_table_n_tup_hot_upd_total", "Rows updated in a table as HOT updates." },
};

static void render_set(struct buf *out, const struct series_set *set,
                       const struct labelled_def *defs, bool queries)
{
    struct series **r = series_ranked(set);
    const char *const qkeys[3] = { "fingerprint", "db", "user" };
    const char *const tkeys[3] = { "schema", "table", NULL };
    for (int k = 0; k < set->nvalues; k++) {
        family(out, defs[k].name, "counter", defs[k].help);
        for (size_t i = 0; i < set->n; i++) {
            const struct series *s = r[i];
            if (!s->top)
                continue;
            char hex[17];
            snprintf(hex, sizeof(hex), "%016" PRIx64, s->fp);
            const char *const qv[3] = { hex, s->a, s->b };
            const char *const tv[3] = { s->a, s->b, NULL };
            labelled(out, defs[k].name, queries ? qkeys : tkeys, queries ? qv : tv, s->v[k]);
        }
        const char *const qo[3] = { "other", "", "" };
        const char *const to[3] = { "", "other", NULL };
        labelled(out, defs[k].name, queries ? qkeys : tkeys, queries ? qo : to, set->other[k]);
    }
    free(r);
}

static void render_alerts(struct buf *out, const struct alert *alerts, size_t nalerts)
{
    family(out, "sleuth_alerts_firing", "gauge", "Alerts firing now, by kind and severity.");
    const char *const keys[3] = { "kind", "severity", NULL };
    for (int k = 0; k < FK__COUNT; k++) {
        for (int sev = FINDING_WARNING; sev <= FINDING_CRITICAL; sev++) {
            int n = 0;
            for (size_t i = 0; i < nalerts; i++)
                n += !alerts[i].resolved_us && (int)alerts[i].f.kind == k &&
                     (int)alerts[i].f.severity == sev;
            const char *const vals[3] = { finding_kind_name((enum finding_kind)k),
                                          finding_severity_name((enum finding_severity)sev), NULL };
            labelled(out, "sleuth_alerts_firing", keys, vals, n);
        }
    }
}

/* The open incident by its top cause, and how many incidents the watcher has opened. */
static void render_incidents(struct buf *out, const struct incident *incs, size_t n)
{
    family(out, "sleuth_incident_open", "gauge",
           "1 while an incident is open, by its most likely cause and severity.");
    const char *const keys[3] = { "cause", "severity", NULL };
    int opened = 0;
    for (size_t i = 0; i < n; i++) {
        if (incs[i].seq > opened)
            opened = incs[i].seq;
        if (incs[i].state != INCIDENT_OPEN)
            continue;
        const char *const vals[3] = { incs[i].ncauses ? cause_kind_name(incs[i].causes[0].kind)
                                                      : "unknown",
                                      incs[i].critical ? "critical" : "warning", NULL };
        labelled(out, "sleuth_incident_open", keys, vals, 1);
    }
    family(out, "sleuth_incidents_total", "counter", "Incidents opened since the watcher started.");
    sample_line(out, "sleuth_incidents_total", opened);
}

/*
 * What the last poll could read, source by source: a source is down when the
 * server was unreachable or the source had a problem (an error, rows hidden
 * from the role). Problems name their source in their check.
 */
static void render_sources(struct buf *out, const struct metrics_state *st,
                           const struct sample *latest)
{
    static const char *const sources[] = {
        "connection",
        "settings",
        "pg_stat_activity",
        "pg_stat_statements",
        "pg_stat_database",
        "pg_stat_user_tables",
        "pg_stat_user_indexes",
        "log",
        "pgbouncer",
    };
    bool reached = latest && !sample_has_problem(latest, "connection");
    family(out, "sleuth_source_up", "gauge",
           "1 if the last poll read this source in full: no error and no row hidden from the "
           "role.");
    const char *const keys[3] = { "source", NULL, NULL };
    for (size_t i = 0; i < ARRAY_SIZE(sources); i++) {
        if ((strcmp(sources[i], "log") == 0 && !st->seen_log) ||
            (strcmp(sources[i], "pgbouncer") == 0 && !st->seen_pgbouncer))
            continue;
        const char *const vals[3] = { sources[i], NULL, NULL };
        labelled(out, "sleuth_source_up", keys, vals,
                 reached && !sample_has_problem(latest, sources[i]));
    }
    gauge(out, "sleuth_privileges_ok",
          "1 if the last poll's role could see every session and statement (pg_monitor).",
          reached && !sample_has_problem(latest, "privileges"));
}

void metrics_render(const struct metrics_state *st, const struct sample *latest,
                    const struct alert *alerts, size_t nalerts, const struct incident *incs,
                    size_t nincs, struct buf *out)
{
    bool up = latest && !latest->gap;
    gauge(out, "sleuth_up",
          "1 if the last poll gave an interval (0: a gap, the server unreachable or rows hidden "
          "from the role).",
          up);
    if (st->last_ok_us)
        gauge(out, "sleuth_last_poll_timestamp_seconds",
              "Unix time of the end of the last successful poll.", (double)st->last_ok_us / 1e6);
    family(out, "sleuth_polls_total", "counter", "Polls of the server since the watcher started.");
    sample_line(out, "sleuth_polls_total", (double)st->polls);
    family(out, "sleuth_poll_failures_total", "counter",
           "Polls that gave a gap: the server unreachable or rows hidden from the role.");
    sample_line(out, "sleuth_poll_failures_total", (double)st->gaps);
    render_sources(out, st, latest);
    if (up)
        render_server_gauges(out, latest);
    for (size_t i = 0; i < ARRAY_SIZE(counters); i++) {
        if ((counters[i].src == SRC_LOG && !st->seen_log) ||
            (counters[i].src == SRC_PGBOUNCER && !st->seen_pgbouncer))
            continue;
        family(out, counters[i].name, "counter", counters[i].help);
        sample_line(out, counters[i].name, (double)st->totals[i]);
    }
    render_set(out, &st->queries, query_families, true);
    render_set(out, &st->tables, table_families, false);
    render_alerts(out, alerts, nalerts);
    render_incidents(out, incs, nincs);
    if (st->has_webhook) {
        static const char *const names[3][2] = {
            { "sleuth_webhook_sent_total", "Alert changes the webhook delivered." },
            { "sleuth_webhook_failed_total",
              "Alert changes the webhook gave up on after retries." },
            { "sleuth_webhook_dropped_total",
              "Alert changes dropped unsent: the queue was full (a dead or slow receiver)." },
        };
        for (int i = 0; i < 3; i++) {
            family(out, names[i][0], "counter", names[i][1]);
            sample_line(out, names[i][0], (double)st->webhook[i]);
        }
        gauge(out, "sleuth_webhook_queued", "Alert changes waiting to be sent.",
              (double)st->webhook[3]);
    }
}
