/*
 * The watcher's JSON documents (see api.h for their shape) and the helper
 * that publishes every endpoint after a poll. Like the report renderers,
 * this file computes nothing the detectors rely on: it only reshapes a
 * sample (rates per second, the blocking tree from pg_blocking_pids) and
 * the history ring into what the live page and `watch --once` read.
 */
#include "sink/api.h"

#include "sink/page.h"
#include "util/buf.h"
#include "util/hmap.h"
#include "util/jsonstr.h"
#include "util/tstamp.h"
#include "util/xalloc.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* Nodes written into one blocking tree at most: a dense wait graph expands as a tree. */
#define TREE_BUDGET 2000
/* Query series in /api/history, by their execution time over the window. */
#define HISTORY_SERIES 10

/* ------------------------------------------------------------------------ */
/* Values                                                                   */

/* v rounded to 3 decimals (µs for ms, 1/1000 for rates); null unless finite. */
static json_t *num(double v)
{
    return isfinite(v) ? json_real(round(v * 1000.0) / 1000.0) : json_null();
}

static json_t *num_or_null(bool known, double v)
{
    return known ? num(v) : json_null();
}

static json_t *time_json(int64_t ts_us)
{
    if (!ts_us)
        return json_null();
    struct buf b = BUF_INIT;
    tstamp_format(&b, ts_us, 0);
    json_t *j = json_stringn(b.ptr, b.len);
    buf_release(&b);
    return j;
}

static json_t *fingerprint_json(uint64_t fp)
{
    char hex[17];
    snprintf(hex, sizeof(hex), "%016" PRIx64, fp);
    return json_string(hex);
}

static double pct(double part, double whole)
{
    return whole > 0 ? 100.0 * part / whole : NAN;
}

#define SET(o, k, v) json_object_set_new((o), (k), (v))
#define INT(v)       json_integer((json_int_t)(v))

char *api_dump(const json_t *j, size_t *len)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));
    if (!s)
        BUG("json_dumps failed");
    size_t n = strlen(s);
    char *out = xmalloc(n + 2);
    memcpy(out, s, n);
    out[n] = '\n';
    out[n + 1] = '\0';
    free(s);
    *len = n + 1;
    return out;
}

/* ------------------------------------------------------------------------ */
/* Sessions and the blocking tree                                           */

static const struct sample_session *find_session(const struct sample *s, int pid)
{
    for (int i = 0; i < s->nsessions; i++)
        if (s->sessions[i].pid == pid)
            return &s->sessions[i];
    return NULL;
}

static bool is_blocked_by(const struct sample_session *x, int pid)
{
    for (int i = 0; i < x->nblocked_by; i++)
        if (x->blocked_by[i] == pid)
            return true;
    return false;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* The pids blocked by pid, ascending (malloc'd, *n of them). */
static int *blocked_pids(const struct sample *s, int pid, int *n)
{
    int *v = xmalloc(((size_t)s->nsessions + 1) * sizeof(*v));
    *n = 0;
    for (int i = 0; i < s->nsessions; i++)
        if (is_blocked_by(&s->sessions[i], pid))
            v[(*n)++] = s->sessions[i].pid;
    qsort(v, (size_t)*n, sizeof(*v), cmp_int);
    return v;
}

static json_t *pid_array(const int *pids, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_integer(pids[i]));
    return a;
}

static json_t *age_json(double age_s)
{
    return num_or_null(age_s >= 0, age_s);
}

static json_t *session_json(const struct sample *s, const struct sample_session *x)
{
    json_t *o = json_object();
    SET(o, "pid", json_integer(x->pid));
    SET(o, "user", jsonstr_new(x->user));
    SET(o, "db", jsonstr_new(x->db));
    SET(o, "app", jsonstr_new(x->app));
    SET(o, "client", jsonstr_new(x->client));
    SET(o, "state", jsonstr_new(x->state));
    SET(o, "wait_event_type", jsonstr_new(x->wait_event_type));
    SET(o, "wait_event", jsonstr_new(x->wait_event));
    SET(o, "query", jsonstr_new(x->query));
    SET(o, "query_age_s", age_json(x->query_age_s));
    SET(o, "xact_age_s", age_json(x->xact_age_s));
    SET(o, "state_age_s", age_json(x->state_age_s));
    SET(o, "blocked_by", pid_array(x->blocked_by, x->nblocked_by));
    int n;
    int *blocks = blocked_pids(s, x->pid, &n);
    SET(o, "blocking", pid_array(blocks, n));
    free(blocks);
    return o;
}

struct tree_walk {
    const struct sample *s;
    int *path; /* pids from the root to the current node */
    int depth;
    int budget; /* nodes still allowed */
    int *seen;  /* distinct pids written so far, for rootless cycles */
    int nseen;
};

static bool was_seen(const struct tree_walk *w, int pid)
{
    for (int i = 0; i < w->nseen; i++)
        if (w->seen[i] == pid)
            return true;
    return false;
}

static bool on_path(const struct tree_walk *w, int pid)
{
    for (int i = 0; i < w->depth; i++)
        if (w->path[i] == pid)
            return true;
    return false;
}

static json_t *tree_node(struct tree_walk *w, int pid)
{
    const struct sample_session *x = find_session(w->s, pid);
    json_t *o = json_object();
    w->budget--;
    if (!was_seen(w, pid))
        w->seen[w->nseen++] = pid;
    SET(o, "pid", json_integer(pid));
    SET(o, "known", json_boolean(x != NULL));
    if (x) {
        SET(o, "user", jsonstr_new(x->user));
        SET(o, "db", jsonstr_new(x->db));
        SET(o, "app", jsonstr_new(x->app));
        SET(o, "state", jsonstr_new(x->state));
        SET(o, "wait_event_type", jsonstr_new(x->wait_event_type));
        SET(o, "wait_event", jsonstr_new(x->wait_event));
        SET(o, "query", jsonstr_new(x->query));
        SET(o, "xact_age_s", age_json(x->xact_age_s));
        SET(o, "state_age_s", age_json(x->state_age_s));
    }
    bool cycle = on_path(w, pid);
    SET(o, "cycle", json_boolean(cycle));
    json_t *children = json_array();
    if (!cycle) {
        int n;
        int *kids = blocked_pids(w->s, pid, &n);
        w->path[w->depth++] = pid;
        for (int i = 0; i < n && w->budget > 0; i++)
            json_array_append_new(children, tree_node(w, kids[i]));
        w->depth--;
        free(kids);
    }
    SET(o, "children", children);
    return o;
}

/* Every pid that blocks a session, ascending and distinct (malloc'd). */
static int *blocker_pids(const struct sample *s, int *n)
{
    size_t total = 0;
    for (int i = 0; i < s->nsessions; i++)
        total += (size_t)s->sessions[i].nblocked_by;
    int *v = xmalloc((total + 1) * sizeof(*v));
    size_t k = 0;
    for (int i = 0; i < s->nsessions; i++)
        for (int j = 0; j < s->sessions[i].nblocked_by; j++)
            v[k++] = s->sessions[i].blocked_by[j];
    qsort(v, k, sizeof(*v), cmp_int);
    size_t m = 0;
    for (size_t i = 0; i < k; i++)
        if (m == 0 || v[m - 1] != v[i])
            v[m++] = v[i];
    *n = (int)m;
    return v;
}

static json_t *blocking_json(const struct sample *s)
{
    json_t *roots = json_array();
    int nb;
    int *blockers = blocker_pids(s, &nb);
    struct tree_walk w = { s, NULL, 0, TREE_BUDGET, NULL, 0 };
    w.path = xmalloc(((size_t)s->nsessions + 2) * sizeof(int));
    /* A pid in the trees is a session or a blocker. */
    w.seen = xmalloc(((size_t)s->nsessions + (size_t)nb + 1) * sizeof(int));
    /* Roots: blockers that wait for no one (or that we do not see). */
    for (int i = 0; i < nb && w.budget > 0; i++) {
        const struct sample_session *x = find_session(s, blockers[i]);
        if (!x || x->nblocked_by == 0)
            json_array_append_new(roots, tree_node(&w, blockers[i]));
    }
    /*
     * Sessions waiting for each other in a cycle have no root; PostgreSQL's
     * deadlock detector breaks the cycle within deadlock_timeout, but a
     * poll may see it first. Root each such group at its lowest pid.
     */
    for (int i = 0; i < nb && w.budget > 0; i++)
        if (!was_seen(&w, blockers[i]))
            json_array_append_new(roots, tree_node(&w, blockers[i]));
    free(w.path);
    free(w.seen);
    free(blockers);
    return roots;
}

/* ------------------------------------------------------------------------ */
/* The sample                                                               */

static json_t *counts_json(const struct sample_count *c, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++) {
        json_t *o = json_object();
        SET(o, "name", jsonstr_new(c[i].name));
        SET(o, "count", json_integer(c[i].count));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *settings_json(const struct sample *s)
{
    json_t *o = json_object();
    SET(o, "max_connections", json_integer(s->max_connections));
    SET(o, "reserved_connections", json_integer(s->reserved_connections));
    SET(o, "usable_connections", json_integer(sample_usable_connections(s)));
    SET(o, "statement_timeout_ms", INT(s->statement_timeout_ms));
    SET(o, "idle_in_transaction_session_timeout_ms", INT(s->idle_in_transaction_timeout_ms));
    SET(o, "lock_timeout_ms", INT(s->lock_timeout_ms));
    return o;
}

static json_t *connections_json(const struct sample *s)
{
    int blocked = 0;
    for (int i = 0; i < s->nsessions; i++)
        blocked += s->sessions[i].nblocked_by > 0;
    int usable = sample_usable_connections(s);
    json_t *o = json_object();
    SET(o, "total", json_integer(s->connections));
    SET(o, "usable", json_integer(usable));
    SET(o, "used_pct", num(pct(s->connections, usable)));
    SET(o, "active", json_integer(s->active));
    SET(o, "idle", json_integer(s->idle));
    SET(o, "idle_in_transaction", json_integer(s->idle_in_transaction));
    SET(o, "waiting", json_integer(s->waiting));
    SET(o, "blocked", json_integer(blocked));
    SET(o, "distinct_clients", json_integer(s->distinct_clients));
    SET(o, "by_app", counts_json(s->by_app, s->nby_app));
    SET(o, "by_user", counts_json(s->by_user, s->nby_user));
    SET(o, "by_client", counts_json(s->by_client, s->nby_client));
    return o;
}

static json_t *queries_json(const struct sample *s)
{
    double secs = sample_seconds(s), total_ms = 0;
    for (int i = 0; i < s->nqueries; i++)
        total_ms += s->queries[i].total_ms;
    json_t *a = json_array();
    for (int i = 0; i < s->nqueries; i++) {
        const struct sample_query *q = &s->queries[i];
        json_t *o = json_object();
        bool called = q->calls > 0;
        SET(o, "fingerprint", fingerprint_json(q->fingerprint));
        SET(o, "queryid", INT(q->queryid));
        SET(o, "query", jsonstr_new(q->query));
        SET(o, "db", jsonstr_new(q->db));
        SET(o, "user", jsonstr_new(q->user));
        SET(o, "calls", INT(q->calls));
        SET(o, "calls_per_s", num((double)q->calls / secs));
        SET(o, "total_ms", num(q->total_ms));
        SET(o, "mean_ms", num_or_null(called, q->total_ms / (double)q->calls));
        SET(o, "time_pct", num(pct(q->total_ms, total_ms)));
        SET(o, "rows", INT(q->rows));
        SET(o, "rows_per_call", num_or_null(called, (double)q->rows / (double)q->calls));
        SET(o, "blks_hit", INT(q->blks_hit));
        SET(o, "blks_read", INT(q->blks_read));
        SET(o, "blks_dirtied", INT(q->blks_dirtied));
        SET(o, "temp_blks", INT(q->temp_blks));
        SET(o, "wal_bytes", INT(q->wal_bytes));
        SET(o, "hit_pct", num(pct((double)q->blks_hit, (double)(q->blks_hit + q->blks_read))));
        SET(o, "is_new", json_boolean(q->is_new));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *tables_json(const struct sample *s)
{
    json_t *a = json_array();
    for (int i = 0; i < s->ntables; i++) {
        const struct sample_table *t = &s->tables[i];
        json_t *o = json_object();
        SET(o, "schema", jsonstr_new(t->schema));
        SET(o, "name", jsonstr_new(t->name));
        SET(o, "seq_scan", INT(t->seq_scan));
        SET(o, "seq_tup_read", INT(t->seq_tup_read));
        SET(o, "idx_scan", INT(t->idx_scan));
        SET(o, "idx_tup_fetch", INT(t->idx_tup_fetch));
        SET(o, "n_tup_ins", INT(t->n_tup_ins));
        SET(o, "n_tup_upd", INT(t->n_tup_upd));
        SET(o, "n_tup_hot_upd", INT(t->n_tup_hot_upd));
        SET(o, "n_tup_del", INT(t->n_tup_del));
        SET(o, "hot_pct", num(pct((double)t->n_tup_hot_upd, (double)t->n_tup_upd)));
        SET(o, "n_live_tup", INT(t->n_live_tup));
        SET(o, "n_dead_tup", INT(t->n_dead_tup));
        SET(o, "bytes", INT(t->bytes));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *indexes_json(const struct sample *s)
{
    json_t *a = json_array();
    for (int i = 0; i < s->nindexes; i++) {
        const struct sample_index *x = &s->indexes[i];
        json_t *o = json_object();
        SET(o, "schema", jsonstr_new(x->schema));
        SET(o, "table", jsonstr_new(x->table));
        SET(o, "name", jsonstr_new(x->name));
        SET(o, "def", jsonstr_new(x->def));
        SET(o, "idx_scan", INT(x->idx_scan));
        SET(o, "bytes", INT(x->bytes));
        SET(o, "unique", json_boolean(x->unique));
        SET(o, "primary", json_boolean(x->primary));
        SET(o, "valid", json_boolean(x->valid));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *db_json(const struct sample *s)
{
    const struct sample_db *d = &s->db;
    double secs = sample_seconds(s);
    json_t *o = json_object();
    SET(o, "xact_commit", INT(d->xact_commit));
    SET(o, "xact_rollback", INT(d->xact_rollback));
    SET(o, "deadlocks", INT(d->deadlocks));
    SET(o, "conflicts", INT(d->conflicts));
    SET(o, "temp_files", INT(d->temp_files));
    SET(o, "temp_bytes", INT(d->temp_bytes));
    SET(o, "blks_read", INT(d->blks_read));
    SET(o, "blks_hit", INT(d->blks_hit));
    SET(o, "tup_returned", INT(d->tup_returned));
    SET(o, "tup_fetched", INT(d->tup_fetched));
    SET(o, "sessions", INT(d->sessions));
    SET(o, "sessions_fatal", INT(d->sessions_fatal));
    SET(o, "sessions_killed", INT(d->sessions_killed));
    SET(o, "sessions_abandoned", INT(d->sessions_abandoned));
    SET(o, "commits_per_s", num((double)d->xact_commit / secs));
    SET(o, "rollbacks_per_s", num((double)d->xact_rollback / secs));
    SET(o, "hit_pct", num(pct((double)d->blks_hit, (double)(d->blks_hit + d->blks_read))));
    return o;
}

static json_t *log_json(const struct sample *s)
{
    if (!s->has_log)
        return json_null();
    json_t *o = json_object();
    SET(o, "errors", INT(s->log_errors));
    SET(o, "refused", INT(s->log_refused));
    SET(o, "lock_waits", INT(s->log_lock_waits));
    SET(o, "deadlocks", INT(s->log_deadlocks));
    SET(o, "timeouts", INT(s->log_timeouts));
    return o;
}

static json_t *pgbouncer_json(const struct sample *s)
{
    if (!s->has_pgbouncer)
        return json_null();
    json_t *o = json_object();
    SET(o, "queries", INT(s->pgb_queries));
    SET(o, "xacts", INT(s->pgb_xacts));
    SET(o, "wait_ms", num(s->pgb_wait_ms));
    json_t *pools = json_array();
    for (int i = 0; i < s->npools; i++) {
        const struct sample_pool *p = &s->pools[i];
        json_t *po = json_object();
        SET(po, "db", jsonstr_new(p->db));
        SET(po, "user", jsonstr_new(p->user));
        SET(po, "cl_active", json_integer(p->cl_active));
        SET(po, "cl_waiting", json_integer(p->cl_waiting));
        SET(po, "sv_active", json_integer(p->sv_active));
        SET(po, "sv_idle", json_integer(p->sv_idle));
        SET(po, "sv_used", json_integer(p->sv_used));
        SET(po, "maxwait_s", num(p->maxwait_s));
        json_array_append_new(pools, po);
    }
    SET(o, "pools", pools);
    return o;
}

static json_t *problems_json(const struct sample *s)
{
    json_t *a = json_array();
    for (int i = 0; i < s->nproblems; i++) {
        json_t *o = json_object();
        SET(o, "check", jsonstr_new(s->problems[i].check));
        SET(o, "message", jsonstr_new(s->problems[i].message));
        SET(o, "hint", jsonstr_new(s->problems[i].hint));
        json_array_append_new(a, o);
    }
    return a;
}

json_t *api_sample_json(const struct sample *s)
{
    json_t *o = json_object();
    SET(o, "start", time_json(s->start_us));
    SET(o, "end", time_json(s->end_us));
    SET(o, "seconds", num(sample_seconds(s)));
    SET(o, "gap", json_boolean(s->gap));
    SET(o, "baseline_only", json_boolean(s->baseline_only));
    SET(o, "server_version_num", json_integer(s->server_version_num));
    SET(o, "settings", settings_json(s));
    SET(o, "connections", connections_json(s));
    json_t *sessions = json_array();
    for (int i = 0; i < s->nsessions; i++)
        json_array_append_new(sessions, session_json(s, &s->sessions[i]));
    SET(o, "sessions", sessions);
    SET(o, "blocking", blocking_json(s));
    SET(o, "queries", queries_json(s));
    SET(o, "tables", tables_json(s));
    SET(o, "indexes", indexes_json(s));
    SET(o, "db", db_json(s));
    SET(o, "log", log_json(s));
    SET(o, "pgbouncer", pgbouncer_json(s));
    SET(o, "problems", problems_json(s));
    return o;
}

/* ------------------------------------------------------------------------ */
/* Alerts                                                                   */

static int alert_order(const void *x, const void *y)
{
    const struct alert *a = *(const struct alert *const *)x;
    const struct alert *b = *(const struct alert *const *)y;
    bool fa = !a->resolved_us, fb = !b->resolved_us;
    if (fa != fb)
        return fa ? -1 : 1;
    if (a->f.severity != b->f.severity)
        return a->f.severity == FINDING_CRITICAL ? -1 : 1;
    if (a->updated_us != b->updated_us)
        return a->updated_us > b->updated_us ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

json_t *api_alerts_json(const struct alert *alerts, size_t n)
{
    const struct alert **v = xmalloc((n ? n : 1) * sizeof(*v));
    int firing = 0;
    for (size_t i = 0; i < n; i++) {
        v[i] = &alerts[i];
        firing += !alerts[i].resolved_us;
    }
    qsort(v, n, sizeof(*v), alert_order);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, alert_json(v[i], -1));
    free(v);
    json_t *o = json_object();
    SET(o, "firing", json_integer(firing));
    SET(o, "alerts", a);
    return o;
}

/* ------------------------------------------------------------------------ */
/* History                                                                  */

struct fp_score {
    uint64_t fp;
    double ms; /* execution time over the window, estimated from the points */
};

static int by_ms_desc(const void *x, const void *y)
{
    const struct fp_score *a = x, *b = y;
    if (a->ms != b->ms)
        return a->ms < b->ms ? 1 : -1;
    return a->fp < b->fp ? -1 : a->fp > b->fp;
}

/* The HISTORY_SERIES fingerprints with the most execution time in the window. */
static size_t history_top_fps(const struct history *h, uint64_t *out)
{
    size_t len = history_len(h), n = 0, cap = 0;
    struct fp_score *v = NULL;
    struct hmap idx;
    hmap_init(&idx);
    for (size_t i = 0; i < len; i++) {
        const struct history_point *p = history_at(h, i);
        for (int k = 0; k < HISTORY_TOP && p->top[k].fingerprint; k++) {
            const struct history_query *q = &p->top[k];
            uint32_t at;
            if (!hmap_get(&idx, hmap_mix64(q->fingerprint), NULL, NULL, &at)) {
                v = xgrow(v, &cap, n + 1, sizeof(*v));
                at = (uint32_t)n++;
                v[at] = (struct fp_score){ q->fingerprint, 0 };
                hmap_put(&idx, hmap_mix64(q->fingerprint), at);
            }
            v[at].ms += q->calls_per_s * p->seconds * q->mean_ms;
        }
    }
    hmap_release(&idx);
    if (n)
        qsort(v, n, sizeof(*v), by_ms_desc);
    size_t m = n < HISTORY_SERIES ? n : HISTORY_SERIES;
    for (size_t i = 0; i < m; i++)
        out[i] = v[i].fp;
    free(v);
    return m;
}

enum hcol {
    HC_CALLS_PER_S,
    HC_MEAN_MS,
    HC_DB_TIME_PER_S,
    HC_CONNECTIONS,
    HC_USABLE,
    HC_ACTIVE,
    HC_IDLE_IN_TX,
    HC_WAITING,
    HC_ERRORS,
    HC_REFUSED,
    HC_DEADLOCKS,
    HC_COMMITS_PER_S,
    HC_ROLLBACKS_PER_S,
    HC__COUNT
};

static const char *const hcol_names[HC__COUNT] = {
    "calls_per_s",         "mean_ms", "db_time_per_s", "connections", "usable",    "active",
    "idle_in_transaction", "waiting", "errors",        "refused",     "deadlocks", "commits_per_s",
    "rollbacks_per_s",
};

/* The value of column c at point p, or null when the point does not have it. */
static json_t *hcol_value(const struct history_point *p, enum hcol c)
{
    if (p->gap)
        return json_null();
    bool rates = p->has_rates;
    switch (c) {
    case HC_CALLS_PER_S:
        return num_or_null(rates, p->calls_per_s);
    case HC_MEAN_MS:
        return num_or_null(rates && p->calls_per_s > 0, p->mean_ms);
    case HC_DB_TIME_PER_S:
        return num_or_null(rates, p->db_time_per_s);
    case HC_CONNECTIONS:
        return json_integer(p->connections);
    case HC_USABLE:
        return json_integer(p->usable);
    case HC_ACTIVE:
        return json_integer(p->active);
    case HC_IDLE_IN_TX:
        return json_integer(p->idle_in_transaction);
    case HC_WAITING:
        return json_integer(p->waiting);
    case HC_ERRORS:
        return rates && p->has_log ? INT(p->errors) : json_null();
    case HC_REFUSED:
        return rates && p->has_log ? INT(p->refused) : json_null();
    case HC_DEADLOCKS:
        return rates ? INT(p->deadlocks) : json_null();
    case HC_COMMITS_PER_S:
        return num_or_null(rates, p->commits_per_s);
    case HC_ROLLBACKS_PER_S:
        return num_or_null(rates, p->rollbacks_per_s);
    case HC__COUNT:
        break;
    }
    return json_null();
}

static json_t *history_query_json(const struct history *h, uint64_t fp)
{
    json_t *o = json_object();
    SET(o, "fingerprint", fingerprint_json(fp));
    SET(o, "query", jsonstr_new(history_query_text(h, fp)));
    json_t *calls = json_array(), *mean = json_array(), *share = json_array();
    for (size_t i = 0; i < history_len(h); i++) {
        const struct history_point *p = history_at(h, i);
        const struct history_query *q = NULL;
        for (int k = 0; k < HISTORY_TOP && p->top[k].fingerprint && !q; k++)
            if (p->top[k].fingerprint == fp)
                q = &p->top[k];
        json_array_append_new(calls, q ? num(q->calls_per_s) : json_null());
        json_array_append_new(mean, q ? num(q->mean_ms) : json_null());
        json_array_append_new(share, q ? num(q->time_pct) : json_null());
    }
    SET(o, "calls_per_s", calls);
    SET(o, "mean_ms", mean);
    SET(o, "time_pct", share);
    return o;
}

json_t *api_history_json(const struct history *h)
{
    json_t *o = json_object();
    size_t len = history_len(h);
    SET(o, "capacity", INT(h->cap));
    json_t *t = json_array(), *gap = json_array();
    json_t *cols[HC__COUNT];
    for (int c = 0; c < HC__COUNT; c++)
        cols[c] = json_array();
    for (size_t i = 0; i < len; i++) {
        const struct history_point *p = history_at(h, i);
        json_array_append_new(t, num((double)p->end_us / 1e6));
        json_array_append_new(gap, json_boolean(p->gap));
        for (int c = 0; c < HC__COUNT; c++)
            json_array_append_new(cols[c], hcol_value(p, (enum hcol)c));
    }
    SET(o, "t", t);
    SET(o, "gap", gap);
    for (int c = 0; c < HC__COUNT; c++)
        SET(o, hcol_names[c], cols[c]);
    uint64_t fps[HISTORY_SERIES];
    size_t nfp = history_top_fps(h, fps);
    json_t *queries = json_array();
    for (size_t i = 0; i < nfp; i++)
        json_array_append_new(queries, history_query_json(h, fps[i]));
    SET(o, "queries", queries);
    return o;
}

/* ------------------------------------------------------------------------ */
/* Publishing                                                               */

static void publish_json(struct httpd *h, const char *path, json_t *j)
{
    size_t len;
    char *body = api_dump(j, &len);
    json_decref(j);
    httpd_publish(h, path, "application/json; charset=utf-8", body, len);
    free(body);
}

void api_publish_all(struct httpd *h, const struct sample *latest, const struct alert *alerts,
                     size_t nalerts, const struct incident *incs, size_t nincs,
                     const struct history *hist, const struct metrics_state *st)
{
    struct buf m = BUF_INIT;
    metrics_render(st, latest, alerts, nalerts, incs, nincs, &m);
    httpd_publish(h, "/metrics", METRICS_CONTENT_TYPE, m.ptr, m.len);
    buf_release(&m);
    publish_json(h, "/api/state", latest ? api_sample_json(latest) : json_object());
    publish_json(h, "/api/alerts", api_alerts_json(alerts, nalerts));
    publish_json(h, "/api/history", api_history_json(hist));
    json_t *inc = incident_list_json(incs, nincs);
    publish_json(h, "/api/incidents", json_incref(inc));
    publish_json(h, "/api/diagnosis", inc);
    httpd_publish(h, "/", "text/html; charset=utf-8", page_html, page_html_len);
}
