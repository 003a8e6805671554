/*
 * The PgBouncer source of `sleuth watch` (see pgbouncer.h): SHOW POOLS
 * and SHOW STATS on the admin console, read into the watcher's struct
 * sample next to what live/poll.c reads from PostgreSQL. Pools are gauges
 * and are copied as they are; the SHOW STATS counters are kept per
 * database from one poll to the next and summed as deltas.
 */
#include "live/pgbouncer.h"

#include "util/xalloc.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* One database's SHOW STATS counters at the previous poll. */
struct pgb_counters {
    char *db;
    int64_t queries, xacts, wait_us;
};

struct pgbouncer {
    char *conninfo; /* may hold a password: never shown */
    PGconn *conn;
    struct pgb_counters *prev; /* previous poll, NULL before the first */
    size_t nprev;
    bool have_prev;
};

struct pgbouncer *pgbouncer_new(const char *conninfo)
{
    struct pgbouncer *pb = xcalloc(1, sizeof(*pb));
    pb->conninfo = xstrdup(conninfo ? conninfo : "");
    return pb;
}

static void forget_counters(struct pgbouncer *pb)
{
    for (size_t i = 0; i < pb->nprev; i++)
        free(pb->prev[i].db);
    free(pb->prev);
    pb->prev = NULL;
    pb->nprev = 0;
    pb->have_prev = false;
}

static void disconnect(struct pgbouncer *pb)
{
    PQfinish(pb->conn);
    pb->conn = NULL;
}

void pgbouncer_free(struct pgbouncer *pb)
{
    if (!pb)
        return;
    disconnect(pb);
    forget_counters(pb);
    free(pb->conninfo);
    free(pb);
}

/* "user@host:port/db" of a connection (tried or made): no password in it. */
static void describe(const PGconn *conn, char *out, size_t cap)
{
    const char *host = conn ? PQhost(conn) : NULL;
    snprintf(out, cap, "%s@%s:%s/%s", conn && PQuser(conn) ? PQuser(conn) : "?",
             host && *host ? host : "localhost", conn && PQport(conn) ? PQport(conn) : "?",
             conn && PQdb(conn) ? PQdb(conn) : "?");
}

/* libpq's message up to its first newline. */
static void first_line(char *out, size_t cap, const char *msg)
{
    size_t n = strcspn(msg ? msg : "", "\n");
    if (n >= cap)
        n = cap - 1;
    memcpy(out, msg, n);
    out[n] = '\0';
}

static int connect_console(struct pgbouncer *pb, struct err *err)
{
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(pb->conninfo, &errmsg);
    if (!opts) {
        /* libpq's message quotes no values, but keep to our own words. */
        PQfreemem(errmsg);
        return err_set(err, ERR_USAGE, "invalid PgBouncer conninfo (see --pgbouncer)");
    }
    size_t n = 0;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        n++;
    const char **keys = xcalloc(n + 4, sizeof(*keys));
    const char **vals = xcalloc(n + 4, sizeof(*vals));
    size_t k = 0;
    bool has_db = false, has_timeout = false;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || !*o->val)
            continue;
        has_db |= strcmp(o->keyword, "dbname") == 0;
        has_timeout |= strcmp(o->keyword, "connect_timeout") == 0;
        keys[k] = o->keyword;
        vals[k++] = o->val;
    }
    if (!has_db) {
        keys[k] = "dbname";
        vals[k++] = "pgbouncer";
    }
    if (!has_timeout) {
        keys[k] = "connect_timeout";
        vals[k++] = "5";
    }
    keys[k] = "fallback_application_name";
    vals[k++] = "sleuth";
    pb->conn = PQconnectdbParams(keys, vals, 0);
    free(keys);
    free(vals);
    PQconninfoFree(opts);
    if (!pb->conn)
        return err_set(err, ERR_CONN, "cannot connect to PgBouncer: out of memory");
    if (PQstatus(pb->conn) != CONNECTION_OK) {
        char target[200], reason[200];
        describe(pb->conn, target, sizeof(target));
        first_line(reason, sizeof(reason), PQerrorMessage(pb->conn));
        err_set(err, ERR_CONN, "cannot connect to PgBouncer '%s': %s", target, reason);
        err_where(err, "pgbouncer %s", target);
        disconnect(pb);
        return -1;
    }
    return 0;
}

/* SHOW <what>; NULL with err set when it failed (the result is the caller's to PQclear). */
static PGresult *show(struct pgbouncer *pb, const char *what, struct err *err)
{
    char sql[32];
    snprintf(sql, sizeof(sql), "SHOW %s", what);
    PGresult *res = PQexec(pb->conn, sql);
    if (PQresultStatus(res) == PGRES_TUPLES_OK)
        return res;
    char target[200], reason[200];
    describe(pb->conn, target, sizeof(target));
    first_line(reason, sizeof(reason), res ? PQresultErrorMessage(res) : PQerrorMessage(pb->conn));
    bool broken = PQstatus(pb->conn) != CONNECTION_OK;
    err_set(err, broken ? ERR_CONN : ERR_SQL, "PgBouncer '%s' refused SHOW %s: %s", target, what,
            reason);
    err_where(err, "pgbouncer %s", target);
    PQclear(res);
    return NULL;
}

/* A numeric column by name; 0 when the column is missing or empty. */
static int64_t col_int(const PGresult *res, int row, int col)
{
    if (col < 0 || PQgetisnull(res, row, col))
        return 0;
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static const char *col_str(const PGresult *res, int row, int col)
{
    return col < 0 ? "" : PQgetvalue(res, row, col);
}

/* The console's own pseudo-database: our polling, not the application's. */
static bool is_console(const char *db)
{
    return strcmp(db, "pgbouncer") == 0;
}

static void read_pools(const PGresult *res, struct sample *s)
{
    int rows = PQntuples(res);
    int c_db = PQfnumber(res, "database"), c_user = PQfnumber(res, "user");
    int c_cla = PQfnumber(res, "cl_active"), c_clw = PQfnumber(res, "cl_waiting");
    int c_sva = PQfnumber(res, "sv_active"), c_svi = PQfnumber(res, "sv_idle");
    int c_svu = PQfnumber(res, "sv_used");
    int c_mw = PQfnumber(res, "maxwait"), c_mwus = PQfnumber(res, "maxwait_us");
    s->pools = arena_alloc(&s->arena, (size_t)(rows ? rows : 1) * sizeof(*s->pools));
    s->npools = 0;
    for (int r = 0; r < rows; r++) {
        if (is_console(col_str(res, r, c_db)))
            continue;
        struct sample_pool *p = &s->pools[s->npools++];
        p->db = sample_strdup(s, col_str(res, r, c_db));
        p->user = sample_strdup(s, col_str(res, r, c_user));
        p->cl_active = (int)col_int(res, r, c_cla);
        p->cl_waiting = (int)col_int(res, r, c_clw);
        p->sv_active = (int)col_int(res, r, c_sva);
        p->sv_idle = (int)col_int(res, r, c_svi);
        p->sv_used = (int)col_int(res, r, c_svu);
        p->maxwait_s = (double)col_int(res, r, c_mw) + (double)col_int(res, r, c_mwus) / 1e6;
    }
}

/* The increase of a counter; one that went down was reset and counts from 0. */
static int64_t delta(int64_t now, int64_t before)
{
    return now >= before ? now - before : now;
}

static void read_stats(struct pgbouncer *pb, const PGresult *res, struct sample *s)
{
    int rows = PQntuples(res);
    int c_db = PQfnumber(res, "database");
    int c_q = PQfnumber(res, "total_query_count"), c_x = PQfnumber(res, "total_xact_count");
    int c_w = PQfnumber(res, "total_wait_time");
    if (c_q < 0)
        c_q = PQfnumber(res, "total_requests"); /* before 1.8 */
    struct pgb_counters *cur = xcalloc((size_t)(rows ? rows : 1), sizeof(*cur));
    size_t ncur = 0;
    int64_t queries = 0, xacts = 0, wait_us = 0;
    for (int r = 0; r < rows; r++) {
        const char *db = col_str(res, r, c_db);
        if (is_console(db))
            continue;
        struct pgb_counters *c = &cur[ncur++];
        c->db = xstrdup(db);
        c->queries = col_int(res, r, c_q);
        c->xacts = col_int(res, r, c_x);
        c->wait_us = col_int(res, r, c_w);
        if (!pb->have_prev)
            continue;
        /* A database not seen before started from 0 since the last poll. */
        struct pgb_counters before = { NULL, 0, 0, 0 };
        for (size_t i = 0; i < pb->nprev; i++) {
            if (strcmp(pb->prev[i].db, db) == 0) {
                before = pb->prev[i];
                break;
            }
        }
        queries += delta(c->queries, before.queries);
        xacts += delta(c->xacts, before.xacts);
        wait_us += delta(c->wait_us, before.wait_us);
    }
    forget_counters(pb);
    pb->prev = cur;
    pb->nprev = ncur;
    pb->have_prev = true;
    s->pgb_queries = queries;
    s->pgb_xacts = xacts;
    s->pgb_wait_ms = (double)wait_us / 1000.0;
}

static int poll_once(struct pgbouncer *pb, struct sample *s, struct err *err)
{
    if (!pb->conn && connect_console(pb, err) != 0)
        return -1;
    PGresult *pools = show(pb, "POOLS", err);
    if (!pools)
        return -1;
    PGresult *stats = show(pb, "STATS", err);
    if (!stats) {
        PQclear(pools);
        return -1;
    }
    read_pools(pools, s);
    read_stats(pb, stats, s);
    PQclear(pools);
    PQclear(stats);
    s->has_pgbouncer = true;
    return 0;
}

int pgbouncer_poll(struct pgbouncer *pb, struct sample *s, struct err *err)
{
    bool had_conn = pb->conn != NULL;
    if (poll_once(pb, s, err) == 0)
        return 0;
    if (had_conn && err->code == ERR_CONN) {
        /*
         * The connection broke since the last poll (PgBouncer restarted,
         * or dropped us): one fresh try, keeping the counters so that a
         * restart shows as counters that went down.
         */
        disconnect(pb);
        err_clear(err);
        if (poll_once(pb, s, err) == 0)
            return 0;
    }
    /*
     * The next successful poll sets a new baseline: its deltas would
     * span the failed intervals.
     */
    disconnect(pb);
    forget_counters(pb);
    s->has_pgbouncer = false;
    s->npools = 0;
    s->pgb_queries = s->pgb_xacts = 0;
    s->pgb_wait_ms = 0;
    sample_add_problem(
        s, "pgbouncer", err->msg,
        err->code == ERR_SQL
            ? "connect as a user listed in admin_users or stats_users of pgbouncer.ini"
            : "check --pgbouncer (host, port, user) and that PgBouncer is running; sleuth "
              "reconnects at the next interval");
    return -1;
}
