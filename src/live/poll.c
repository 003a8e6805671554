/*
 * The live poller (see poll.h): one libpq connection, the version-aware
 * queries of pgqueries.c, and two snapshots of the cumulative counters,
 * the previous and the current, whose difference is the sample.
 *
 * pg_stat_statements rows are keyed by (queryid, userid, dbid); their
 * deltas are folded per sleuth fingerprint (fingerprint_sql of the
 * normalised text), which is what log analysis keys on, so a query has
 * one identity live and in logs. The query text is read only when a
 * queryid shows up that the watcher has not seen: the text-less form of
 * pg_stat_statements does not read the query file, which is most of its
 * cost on a busy server.
 */
#include "live/poll.h"

#include "live/changes.h"
#include "live/conninfo.h"
#include "live/pgqueries.h"
#include "sql/fingerprint.h"
#include "sql/redact.h"
#include "util/hmap.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/banned.h"

/*
 * The watcher forgets the texts of queryids no longer in pg_stat_statements
 * once it holds this many, or this many bytes of them (long texts, such as
 * IN lists of every length, are each their own queryid before PG 18).
 */
#define TEXT_CACHE_MAX   50000
#define TEXT_CACHE_BYTES (16u << 20)

struct stmt_row {
    int64_t queryid;
    uint32_t userid, dbid;
    int64_t calls, rows, blks_hit, blks_read, blks_dirtied, temp_blks, wal_bytes;
    double total_ms;
    const char *db, *user; /* snapshot arena */
};

struct rel_row {
    uint32_t relid;
    int64_t c[8]; /* counters, in the order of the table/index query */
};

struct snapshot {
    bool valid;
    int64_t ts_us;
    double started_s;    /* postmaster start: a change means a restart */
    double pgss_reset_s; /* pg_stat_statements_info.stats_reset (1.9+), 0 if unknown */
    struct arena arena;
    struct stmt_row *stmts;
    size_t nstmts, capstmts;
    struct hmap stmt_index;
    struct rel_row *tables, *indexes;
    size_t ntables, captables, nindexes, capindexes;
    struct hmap table_index, index_index;
    int64_t db[PGQ_DB_SESSIONS_ABANDONED + 1];
};

struct qtext {
    int64_t queryid;
    uint64_t fingerprint; /* 0 until needed: libpg_query costs ~30 µs a text */
    char *text;           /* normalised, malloc'd */
    bool seen;            /* in the current snapshot */
    bool own;             /* one of the watcher's own statements (PGQ_TAG) */
};

struct idef {
    uint32_t relid;
    char *def; /* pg_get_indexdef, malloc'd */
};

struct poller {
    char *conninfo; /* as given; only ever passed to libpq */
    struct poller_opts opts;
    PGconn *conn;
    struct pgq q;
    char target[200];
    int64_t next_attempt_us, backoff_us;
    bool after_gap;
    struct snapshot snaps[2];
    int cur; /* index of the snapshot being filled */
    struct qtext *texts;
    size_t ntexts, captexts;
    struct hmap text_index;
    size_t text_bytes; /* held by texts[].text */
    struct idef *defs; /* index definitions by indexrelid */
    size_t ndefs, capdefs;
    struct hmap def_index;
    struct live_changes *changes; /* indexes, settings and DDL seen between polls */
    struct buf scratch;
};

void poller_opts_init(struct poller_opts *o)
{
    o->statement_timeout_ms = 5000;
    o->max_sessions = 200;
    o->backoff_max_us = 60 * 1000000LL;
}

static void snapshot_init(struct snapshot *s)
{
    memset(s, 0, sizeof(*s));
    arena_init(&s->arena, 64 * 1024);
    hmap_init(&s->stmt_index);
    hmap_init(&s->table_index);
    hmap_init(&s->index_index);
}

static void snapshot_release(struct snapshot *s)
{
    arena_release(&s->arena);
    hmap_release(&s->stmt_index);
    hmap_release(&s->table_index);
    hmap_release(&s->index_index);
    free(s->stmts);
    free(s->tables);
    free(s->indexes);
}

static void snapshot_reset(struct snapshot *s)
{
    snapshot_release(s);
    snapshot_init(s);
}

struct poller *poller_new(const char *conninfo, const struct poller_opts *opts)
{
    struct poller *p = xcalloc(1, sizeof(*p));
    p->conninfo = conninfo ? xstrdup(conninfo) : NULL;
    p->opts = *opts;
    snapshot_init(&p->snaps[0]);
    snapshot_init(&p->snaps[1]);
    hmap_init(&p->text_index);
    hmap_init(&p->def_index);
    p->changes = live_changes_new();
    buf_init(&p->scratch, 1024);
    struct buf t = BUF_INIT;
    conninfo_redact(&t, conninfo);
    snprintf(p->target, sizeof(p->target), "%s", t.ptr);
    buf_release(&t);
    p->after_gap = true;
    return p;
}

void poller_free(struct poller *p)
{
    if (!p)
        return;
    if (p->conn)
        PQfinish(p->conn);
    snapshot_release(&p->snaps[0]);
    snapshot_release(&p->snaps[1]);
    for (size_t i = 0; i < p->ntexts; i++)
        free(p->texts[i].text);
    free(p->texts);
    hmap_release(&p->text_index);
    for (size_t i = 0; i < p->ndefs; i++)
        free(p->defs[i].def);
    free(p->defs);
    hmap_release(&p->def_index);
    live_changes_free(p->changes);
    buf_release(&p->scratch);
    if (p->conninfo) {
        /* The conninfo may hold a password: do not leave it in freed memory. */
        memset(p->conninfo, 0, strlen(p->conninfo));
        free(p->conninfo);
    }
    free(p);
}

const char *poller_target(const struct poller *p)
{
    return p->target;
}

/* --- small helpers --------------------------------------------------- */

static int64_t cell_i64(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static double cell_f(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    return strtod(PQgetvalue(r, row, col), NULL);
}

static bool cell_bool(const PGresult *r, int row, int col)
{
    return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

static bool connection_lost(const struct poller *p)
{
    return PQstatus(p->conn) != CONNECTION_OK;
}

/* Runs a query; on failure records a problem for check and returns NULL. */
static PGresult *run(struct poller *p, struct sample *s, const char *check, const char *sql,
                     const char *hint)
{
    PGresult *r = PQexec(p->conn, sql);
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        return r;
    char msg[300];
    const char *e = PQresultErrorMessage(r);
    snprintf(msg, sizeof(msg), "%.*s", (int)strcspn(e, "\n"), e);
    PQclear(r);
    if (!connection_lost(p))
        sample_add_problem(s, check, msg, hint);
    return NULL;
}

/* --- connecting ------------------------------------------------------- */

static void disconnect(struct poller *p)
{
    if (p->conn)
        PQfinish(p->conn);
    p->conn = NULL;
}

/* Finds the server version and pg_stat_statements; sets up the queries. */
static int discover(struct poller *p, struct err *err)
{
    PGresult *r = PQexec(p->conn, pgq_server);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        err_set(err, ERR_SQL, "cannot read the server version: %.*s",
                (int)strcspn(PQresultErrorMessage(r), "\n"), PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    int version = (int)cell_i64(r, 0, 0);
    PQclear(r);

    char schema[130] = "";
    int pgss_version = 0;
    r = PQexec(p->conn, pgq_find_pgss);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        snprintf(schema, sizeof(schema), "%s", PQgetvalue(r, 0, 0));
        pgss_version = pgq_extversion_num(PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    pgq_init(&p->q, version, *schema ? schema : NULL, pgss_version);
    return 0;
}

static int ensure_connected(struct poller *p, int64_t now_us, struct err *err)
{
    if (p->conn && !connection_lost(p))
        return 0;
    disconnect(p);
    if (now_us < p->next_attempt_us)
        return err_set(err, ERR_CONN, "not connected to '%s' (next attempt in %.0f s)", p->target,
                       (double)(p->next_attempt_us - now_us) / 1e6);
    PGconn *conn;
    if (conninfo_connect(&conn, p->conninfo, p->opts.statement_timeout_ms, err) < 0 ||
        (p->conn = conn, discover(p, err) < 0)) {
        disconnect(p);
        p->backoff_us = p->backoff_us ? p->backoff_us * 2 : 1000000;
        if (p->backoff_us > p->opts.backoff_max_us)
            p->backoff_us = p->opts.backoff_max_us;
        p->next_attempt_us = now_us + p->backoff_us;
        return -1;
    }
    p->backoff_us = 0;
    struct buf t = BUF_INIT;
    conninfo_describe(&t, p->conn);
    snprintf(p->target, sizeof(p->target), "%s", t.ptr);
    buf_release(&t);
    return 0;
}

/* --- reading ---------------------------------------------------------- */

static bool read_settings(struct poller *p, struct sample *s, struct snapshot *snap)
{
    PGresult *r = run(p, s, "settings", p->q.settings, "");
    if (!r)
        return false;
    if (PQntuples(r) == 1) {
        s->max_connections = (int)cell_i64(r, 0, PGQ_SET_MAX_CONNECTIONS);
        s->reserved_connections = (int)cell_i64(r, 0, PGQ_SET_RESERVED);
        s->statement_timeout_ms = cell_i64(r, 0, PGQ_SET_STATEMENT_TIMEOUT_MS);
        s->idle_in_transaction_timeout_ms = cell_i64(r, 0, PGQ_SET_IDLE_IN_TX_TIMEOUT_MS);
        s->lock_timeout_ms = cell_i64(r, 0, PGQ_SET_LOCK_TIMEOUT_MS);
        snap->started_s = cell_f(r, 0, PGQ_SET_STARTED_S);
    }
    PQclear(r);
    return true;
}

static int cmp_count(const void *a, const void *b)
{
    const struct sample_count *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->name, y->name);
}

struct count_ctx {
    const struct sample_count *items;
    const char *name;
};

static bool count_eq(const void *ctx, uint32_t val)
{
    const struct count_ctx *c = ctx;
    return strcmp(c->items[val].name, c->name) == 0;
}

/*
 * Counts sessions per name (app, user or client); most first, at most 20 kept. Returns the distinct
 * names.
 */
static int count_by(struct sample *s, const PGresult *r, int col, struct sample_count **out,
                    int *nout)
{
    int n = PQntuples(r), nc = 0;
    struct sample_count *c = arena_alloc(&s->arena, sizeof(*c) * (size_t)(n ? n : 1));
    struct hmap idx;
    hmap_init(&idx);
    for (int i = 0; i < n; i++) {
        const char *name = PQgetvalue(r, i, col);
        struct count_ctx ctx = { c, name };
        uint32_t j;
        if (!hmap_get(&idx, fingerprint_hash(str_cstr(name)), count_eq, &ctx, &j)) {
            j = (uint32_t)nc++;
            c[j] = (struct sample_count){ sample_strdup(s, name), 0 };
            hmap_put(&idx, fingerprint_hash(str_cstr(name)), j);
        }
        c[j].count++;
    }
    hmap_release(&idx);
    qsort(c, (size_t)nc, sizeof(*c), cmp_count);
    *out = c;
    *nout = nc < 20 ? nc : 20;
    return nc;
}

static int parse_pids(struct sample *s, const char *arr, int **out)
{
    int n = 0;
    for (const char *c = arr; *c; c++)
        n += *c == ',';
    int *pids = arena_alloc(&s->arena, sizeof(int) * (size_t)(n + 1));
    int k = 0;
    for (const char *c = arr; *c;) {
        if (isdigit((unsigned char)*c)) {
            char *end;
            pids[k++] = (int)strtol(c, &end, 10);
            c = end;
        } else {
            c++;
        }
    }
    *out = pids;
    return k;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* The pids that block someone, sorted, from every waiter's pg_blocking_pids(). */
static int blocker_pids(struct sample *s, const PGresult *r, int **out)
{
    int *all = NULL, n = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        if (PQgetisnull(r, i, PGQ_ACT_BLOCKED_BY))
            continue;
        int *pids;
        int k = parse_pids(s, PQgetvalue(r, i, PGQ_ACT_BLOCKED_BY), &pids);
        int *grown = arena_alloc(&s->arena, sizeof(int) * (size_t)(n + k + 1));
        if (n)
            memcpy(grown, all, sizeof(int) * (size_t)n);
        memcpy(grown + n, pids, sizeof(int) * (size_t)k);
        all = grown;
        n += k;
    }
    if (n)
        qsort(all, (size_t)n, sizeof(int), cmp_int);
    *out = all;
    return n;
}

static const char *session_query(struct poller *p, struct sample *s, const char *raw)
{
    /* Literals can be personal data or secrets: sessions show the normalised text. */
    buf_reset(&p->scratch);
    redact_normalize(str_cstr(raw), &p->scratch, NULL);
    return sample_strdup(s, p->scratch.ptr);
}

static int cmp_session_age(const void *a, const void *b)
{
    const struct sample_session *x = a, *y = b;
    double ax = x->nblocked_by ? 1e12 : x->query_age_s, ay = y->nblocked_by ? 1e12 : y->query_age_s;
    if (ax != ay)
        return ax > ay ? -1 : 1;
    return x->pid - y->pid;
}

/* Reads pg_stat_activity; returns how many sessions were hidden from this role. */
static int read_activity(struct poller *p, struct sample *s)
{
    PGresult *r = run(p, s, "pg_stat_activity", p->q.activity, "");
    if (!r)
        return 0;
    int n = PQntuples(r), hidden = 0;
    for (int i = 0; i < n; i++)
        hidden += cell_bool(r, i, PGQ_ACT_HIDDEN);
    if (hidden) {
        char msg[160];
        snprintf(msg, sizeof(msg), "%d of %d sessions are hidden from this role", hidden, n);
        sample_add_problem(s, "pg_stat_activity", msg, "");
        PQclear(r);
        return hidden;
    }
    s->connections = n;
    int *blockers;
    int nblockers = blocker_pids(s, r, &blockers);
    s->sessions = arena_alloc(&s->arena, sizeof(*s->sessions) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        const char *state = PQgetvalue(r, i, PGQ_ACT_STATE);
        bool in_tx = strncmp(state, "idle in transaction", 19) == 0;
        bool waiting = strcmp(PQgetvalue(r, i, PGQ_ACT_WAIT_TYPE), "Lock") == 0;
        s->active += strcmp(state, "active") == 0;
        s->idle += strcmp(state, "idle") == 0;
        s->idle_in_transaction += in_tx;
        s->waiting += waiting;
        int pid = (int)cell_i64(r, i, PGQ_ACT_PID);
        double age = cell_f(r, i, PGQ_ACT_QUERY_AGE_S);
        bool notable =
            (strcmp(state, "active") == 0 && age >= 1) || in_tx || waiting ||
            (nblockers && bsearch(&pid, blockers, (size_t)nblockers, sizeof(int), cmp_int));
        if (!notable)
            continue;
        struct sample_session *x = &s->sessions[s->nsessions++];
        x->pid = pid;
        x->user = sample_strdup(s, PQgetvalue(r, i, PGQ_ACT_USER));
        x->db = sample_strdup(s, PQgetvalue(r, i, PGQ_ACT_DB));
        x->app = sample_strdup(s, PQgetvalue(r, i, PGQ_ACT_APP));
        x->client = sample_strdup(s, PQgetvalue(r, i, PGQ_ACT_CLIENT));
        x->state = sample_strdup(s, state);
        x->wait_event_type = sample_strdup(s, PQgetvalue(r, i, PGQ_ACT_WAIT_TYPE));
        x->wait_event = sample_strdup(s, PQgetvalue(r, i, PGQ_ACT_WAIT_EVENT));
        x->query = session_query(p, s, PQgetvalue(r, i, PGQ_ACT_QUERY));
        x->query_age_s = age;
        x->xact_age_s = cell_f(r, i, PGQ_ACT_XACT_AGE_S);
        x->state_age_s = cell_f(r, i, PGQ_ACT_STATE_AGE_S);
        x->nblocked_by = PQgetisnull(r, i, PGQ_ACT_BLOCKED_BY)
                             ? 0
                             : parse_pids(s, PQgetvalue(r, i, PGQ_ACT_BLOCKED_BY), &x->blocked_by);
        x->wait_object = sample_strdup(s, PQgetvalue(r, i, PGQ_ACT_WAIT_OBJECT));
    }
    /* Waiters and the longest-running first, so the cap keeps what matters. */
    qsort(s->sessions, (size_t)s->nsessions, sizeof(*s->sessions), cmp_session_age);
    if (s->nsessions > p->opts.max_sessions)
        s->nsessions = p->opts.max_sessions;
    count_by(s, r, PGQ_ACT_APP, &s->by_app, &s->nby_app);
    count_by(s, r, PGQ_ACT_USER, &s->by_user, &s->nby_user);
    s->distinct_clients = count_by(s, r, PGQ_ACT_CLIENT, &s->by_client, &s->nby_client);
    PQclear(r);
    return 0;
}

static bool read_database(struct poller *p, struct sample *s, struct snapshot *snap)
{
    PGresult *r = run(p, s, "pg_stat_database", p->q.database, "");
    if (!r)
        return false;
    if (PQntuples(r) == 1)
        for (int c = 0; c <= PGQ_DB_SESSIONS_ABANDONED; c++)
            snap->db[c] = cell_i64(r, 0, c);
    PQclear(r);
    return true;
}

static int64_t delta(int64_t cur, int64_t prev)
{
    /* A counter that went down was reset (pg_stat_reset, an evicted entry): count from zero. */
    return cur >= prev ? cur - prev : cur;
}

static bool rel_eq(const void *ctx, uint32_t val)
{
    const struct rel_row *rows = ((const void *const *)ctx)[0];
    const uint32_t *relid = ((const void *const *)ctx)[1];
    return rows[val].relid == *relid;
}

static const struct rel_row *rel_find(const struct rel_row *rows, const struct hmap *index,
                                      uint32_t relid)
{
    const void *ctx[2] = { rows, &relid };
    uint32_t v;
    return hmap_get(index, hmap_mix64(relid), rel_eq, ctx, &v) ? &rows[v] : NULL;
}

static void rel_add(struct rel_row **rows, size_t *n, size_t *cap, struct hmap *index,
                    const struct rel_row *row)
{
    *rows = xgrow(*rows, cap, *n + 1, sizeof(**rows));
    (*rows)[*n] = *row;
    hmap_put(index, hmap_mix64(row->relid), (uint32_t)*n);
    (*n)++;
}

static bool read_tables(struct poller *p, struct sample *s, struct snapshot *snap,
                        const struct snapshot *prev)
{
    PGresult *r = run(p, s, "pg_stat_user_tables", p->q.tables, "");
    if (!r)
        return false;
    int n = PQntuples(r);
    s->tables = arena_alloc(&s->arena, sizeof(*s->tables) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        struct rel_row row = { .relid = (uint32_t)cell_i64(r, i, PGQ_TAB_RELID) };
        for (int c = 0; c < 8; c++)
            row.c[c] = cell_i64(r, i, PGQ_TAB_SEQ_SCAN + c);
        rel_add(&snap->tables, &snap->ntables, &snap->captables, &snap->table_index, &row);
        const struct rel_row *old =
            prev->valid ? rel_find(prev->tables, &prev->table_index, row.relid) : NULL;
        int64_t d[8];
        for (int c = 0; c < 8; c++)
            d[c] = delta(row.c[c], old ? old->c[c] : 0);
        struct sample_table *t = &s->tables[s->ntables++];
        t->schema = sample_strdup(s, PQgetvalue(r, i, PGQ_TAB_SCHEMA));
        t->name = sample_strdup(s, PQgetvalue(r, i, PGQ_TAB_NAME));
        t->seq_scan = d[0];
        t->seq_tup_read = d[1];
        t->idx_scan = d[2];
        t->idx_tup_fetch = d[3];
        t->n_tup_ins = d[4];
        t->n_tup_upd = d[5];
        t->n_tup_hot_upd = d[6];
        t->n_tup_del = d[7];
        t->n_live_tup = cell_i64(r, i, PGQ_TAB_LIVE);
        t->n_dead_tup = cell_i64(r, i, PGQ_TAB_DEAD);
        t->bytes = cell_i64(r, i, PGQ_TAB_BYTES);
    }
    PQclear(r);
    return true;
}

static bool def_eq(const void *ctx, uint32_t val)
{
    const struct idef *defs = ((const void *const *)ctx)[0];
    const uint32_t *relid = ((const void *const *)ctx)[1];
    return defs[val].relid == *relid;
}

static const char *def_find(const struct poller *p, uint32_t relid)
{
    const void *ctx[2] = { p->defs, &relid };
    uint32_t v;
    return hmap_get(&p->def_index, hmap_mix64(relid), def_eq, ctx, &v) ? p->defs[v].def : NULL;
}

/* Reads every index definition again (an index is new, or was rebuilt under a new oid). */
static void read_indexdefs(struct poller *p, struct sample *s)
{
    PGresult *r = run(p, s, "pg_stat_user_indexes", pgq_indexdefs, "");
    if (!r)
        return;
    for (size_t i = 0; i < p->ndefs; i++)
        free(p->defs[i].def);
    p->ndefs = 0;
    hmap_release(&p->def_index);
    hmap_init(&p->def_index);
    for (int i = 0; i < PQntuples(r); i++) {
        p->defs = xgrow(p->defs, &p->capdefs, p->ndefs + 1, sizeof(*p->defs));
        uint32_t relid = (uint32_t)cell_i64(r, i, 0);
        p->defs[p->ndefs] = (struct idef){ relid, xstrdup(PQgetvalue(r, i, 1)) };
        hmap_put(&p->def_index, hmap_mix64(relid), (uint32_t)p->ndefs);
        p->ndefs++;
    }
    PQclear(r);
}

static bool read_indexes(struct poller *p, struct sample *s, struct snapshot *snap,
                         const struct snapshot *prev)
{
    PGresult *r = run(p, s, "pg_stat_user_indexes", p->q.indexes, "");
    if (!r)
        return false;
    int n = PQntuples(r);
    bool unknown = false;
    for (int i = 0; i < n && !unknown; i++)
        unknown = def_find(p, (uint32_t)cell_i64(r, i, PGQ_IDX_RELID)) == NULL;
    if (unknown)
        read_indexdefs(p, s);
    s->indexes = arena_alloc(&s->arena, sizeof(*s->indexes) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        struct rel_row row = { .relid = (uint32_t)cell_i64(r, i, PGQ_IDX_RELID) };
        row.c[0] = cell_i64(r, i, PGQ_IDX_SCAN);
        rel_add(&snap->indexes, &snap->nindexes, &snap->capindexes, &snap->index_index, &row);
        const struct rel_row *old =
            prev->valid ? rel_find(prev->indexes, &prev->index_index, row.relid) : NULL;
        struct sample_index *x = &s->indexes[s->nindexes++];
        x->schema = sample_strdup(s, PQgetvalue(r, i, PGQ_IDX_SCHEMA));
        x->table = sample_strdup(s, PQgetvalue(r, i, PGQ_IDX_TABLE));
        x->name = sample_strdup(s, PQgetvalue(r, i, PGQ_IDX_NAME));
        x->def = sample_strdup(s, def_find(p, row.relid));
        x->idx_scan = delta(row.c[0], old ? old->c[0] : 0);
        x->bytes = cell_i64(r, i, PGQ_IDX_BYTES);
        x->unique = cell_bool(r, i, PGQ_IDX_UNIQUE);
        x->primary = cell_bool(r, i, PGQ_IDX_PRIMARY);
        x->valid = cell_bool(r, i, PGQ_IDX_VALID);
    }
    PQclear(r);
    return true;
}

/* --- pg_stat_statements --------------------------------------------------- */

static uint64_t stmt_hash(int64_t queryid, uint32_t userid, uint32_t dbid)
{
    return hmap_mix64((uint64_t)queryid ^ hmap_mix64(((uint64_t)userid << 32) | dbid));
}

struct stmt_key {
    const struct stmt_row *rows;
    int64_t queryid;
    uint32_t userid, dbid;
};

static bool stmt_eq(const void *ctx, uint32_t val)
{
    const struct stmt_key *k = ctx;
    const struct stmt_row *r = &k->rows[val];
    return r->queryid == k->queryid && r->userid == k->userid && r->dbid == k->dbid;
}

static const struct stmt_row *stmt_find(const struct snapshot *snap, const struct stmt_row *row)
{
    struct stmt_key k = { snap->stmts, row->queryid, row->userid, row->dbid };
    uint32_t v;
    if (!hmap_get(&snap->stmt_index, stmt_hash(row->queryid, row->userid, row->dbid), stmt_eq, &k,
                  &v))
        return NULL;
    return &snap->stmts[v];
}

static bool text_eq(const void *ctx, uint32_t val)
{
    const struct qtext *texts = ((const void *const *)ctx)[0];
    const int64_t *queryid = ((const void *const *)ctx)[1];
    return texts[val].queryid == *queryid;
}

static struct qtext *text_find(struct poller *p, int64_t queryid)
{
    const void *ctx[2] = { p->texts, &queryid };
    uint32_t v;
    if (!hmap_get(&p->text_index, hmap_mix64((uint64_t)queryid), text_eq, ctx, &v))
        return NULL;
    return &p->texts[v];
}

static void text_add(struct poller *p, int64_t queryid, const char *raw)
{
    buf_reset(&p->scratch);
    redact_normalize(str_cstr(raw), &p->scratch, NULL);
    p->texts = xgrow(p->texts, &p->captexts, p->ntexts + 1, sizeof(*p->texts));
    struct qtext *t = &p->texts[p->ntexts];
    t->queryid = queryid;
    t->fingerprint = 0;
    t->text = xstrdup(p->scratch.ptr);
    p->text_bytes += p->scratch.len + 1;
    t->seen = true;
    t->own = strncmp(raw, PGQ_TAG, sizeof(PGQ_TAG) - 1) == 0;
    hmap_put(&p->text_index, hmap_mix64((uint64_t)queryid), (uint32_t)p->ntexts);
    p->ntexts++;
}

/* Keeps only the queryids of the current snapshot once the cache is full. */
static void text_trim(struct poller *p)
{
    if (p->ntexts <= TEXT_CACHE_MAX && p->text_bytes <= TEXT_CACHE_BYTES)
        return;
    size_t k = 0;
    hmap_release(&p->text_index);
    hmap_init(&p->text_index);
    for (size_t i = 0; i < p->ntexts; i++) {
        if (!p->texts[i].seen) {
            p->text_bytes -= strlen(p->texts[i].text) + 1;
            free(p->texts[i].text);
            continue;
        }
        p->texts[k] = p->texts[i];
        hmap_put(&p->text_index, hmap_mix64((uint64_t)p->texts[k].queryid), (uint32_t)k);
        k++;
    }
    p->ntexts = k;
}

static void read_stmt_row(struct snapshot *snap, const PGresult *r, int i, struct stmt_row *row)
{
    row->queryid = cell_i64(r, i, PGQ_STMT_QUERYID);
    row->userid = (uint32_t)cell_i64(r, i, PGQ_STMT_USERID);
    row->dbid = (uint32_t)cell_i64(r, i, PGQ_STMT_DBID);
    row->calls = cell_i64(r, i, PGQ_STMT_CALLS);
    row->total_ms = cell_f(r, i, PGQ_STMT_TOTAL_MS);
    row->rows = cell_i64(r, i, PGQ_STMT_ROWS);
    row->blks_hit = cell_i64(r, i, PGQ_STMT_BLKS_HIT);
    row->blks_read = cell_i64(r, i, PGQ_STMT_BLKS_READ);
    row->blks_dirtied = cell_i64(r, i, PGQ_STMT_BLKS_DIRTIED);
    row->temp_blks = cell_i64(r, i, PGQ_STMT_TEMP_BLKS);
    row->wal_bytes = cell_i64(r, i, PGQ_STMT_WAL_BYTES);
    const char *db = PQgetvalue(r, i, PGQ_STMT_DB), *user = PQgetvalue(r, i, PGQ_STMT_USER);
    row->db = arena_strdup(&snap->arena, str_cstr(db));
    row->user = arena_strdup(&snap->arena, str_cstr(user));
}

/*
 * Reads pg_stat_statements into snap; the texts of unknown queryids into the
 * cache. Sets *hidden to the entries of other roles this role may not read.
 */
static bool read_statements(struct poller *p, struct sample *s, struct snapshot *snap, int *hidden)
{
    static const char hint[] =
        "add pg_stat_statements to shared_preload_libraries in postgresql.conf, restart the "
        "server, then run CREATE EXTENSION pg_stat_statements in this database";
    if (!p->q.pgss_version) {
        sample_add_problem(s, "pg_stat_statements",
                           "the pg_stat_statements extension is not installed", hint);
        return false;
    }
    if (p->q.pgss_info[0]) {
        PGresult *info = run(p, s, "pg_stat_statements", p->q.pgss_info, hint);
        if (info && PQntuples(info) == 1)
            snap->pgss_reset_s = cell_f(info, 0, 1);
        PQclear(info);
    }
    PGresult *r = run(p, s, "pg_stat_statements", p->q.statements, hint);
    if (!r)
        return false;
    bool unknown = false;
    int nhidden = 0;
    for (size_t i = 0; i < p->ntexts; i++)
        p->texts[i].seen = false;
    for (int i = 0; i < PQntuples(r); i++) {
        if (PQgetisnull(r, i, PGQ_STMT_QUERYID)) {
            nhidden++;
            continue;
        }
        snap->stmts = xgrow(snap->stmts, &snap->capstmts, snap->nstmts + 1, sizeof(*snap->stmts));
        struct stmt_row *row = &snap->stmts[snap->nstmts];
        read_stmt_row(snap, r, i, row);
        hmap_put(&snap->stmt_index, stmt_hash(row->queryid, row->userid, row->dbid),
                 (uint32_t)snap->nstmts);
        snap->nstmts++;
        struct qtext *t = text_find(p, row->queryid);
        if (t)
            t->seen = true;
        else
            unknown = true;
    }
    PQclear(r);
    if (nhidden) {
        char msg[160];
        snprintf(msg, sizeof(msg), "%d entries of other roles are hidden from this role", nhidden);
        sample_add_problem(s, "pg_stat_statements", msg, "");
    }
    *hidden = nhidden;
    if (!unknown)
        return true;
    r = run(p, s, "pg_stat_statements", p->q.statements_text, hint);
    if (!r)
        return true; /* the counters are read; the new texts come at the next poll */
    for (int i = 0; i < PQntuples(r); i++) {
        int64_t queryid = cell_i64(r, i, PGQ_STMT_QUERYID);
        if (!PQgetisnull(r, i, PGQ_STMT_QUERYID) && !text_find(p, queryid))
            text_add(p, queryid, PQgetvalue(r, i, PGQ_STMT_QUERY));
    }
    PQclear(r);
    return true;
}

struct fp_acc {
    struct sample_query q;
    double best_ms; /* the busiest row's time, to choose db, user and queryid */
};

static int cmp_query_time(const void *a, const void *b)
{
    const struct sample_query *x = a, *y = b;
    if (x->total_ms != y->total_ms)
        return x->total_ms > y->total_ms ? -1 : 1;
    return x->fingerprint < y->fingerprint ? -1 : x->fingerprint > y->fingerprint;
}

/* Folds the rows' deltas per fingerprint into s->queries. */
static void diff_statements(struct poller *p, struct sample *s, const struct snapshot *snap,
                            const struct snapshot *prev, const bool *known_before)
{
    struct fp_acc *acc = xcalloc(snap->nstmts ? snap->nstmts : 1, sizeof(*acc));
    size_t nacc = 0;
    /* pg_stat_statements_reset() since the last poll: every counter started again. */
    bool all_reset = snap->pgss_reset_s > 0 && prev->pgss_reset_s > 0 &&
                     snap->pgss_reset_s != prev->pgss_reset_s;
    struct hmap idx;
    hmap_init(&idx);
    for (size_t i = 0; i < snap->nstmts; i++) {
        const struct stmt_row *row = &snap->stmts[i];
        const struct stmt_row *old = stmt_find(prev, row);
        int64_t calls = all_reset ? row->calls : delta(row->calls, old ? old->calls : 0);
        if (calls <= 0)
            continue;
        bool reset = all_reset || !old || row->calls < old->calls;
        struct qtext *t = text_find(p, row->queryid);
        if (!t || t->own)
            continue; /* no text (the problem is recorded), or the watcher's own statement */
        if (!t->fingerprint) {
            bool parsed;
            t->fingerprint = fingerprint_sql(t->text, strlen(t->text), &parsed);
        }
        uint32_t v;
        struct fp_acc *a;
        if (hmap_get(&idx, t->fingerprint, NULL, NULL, &v)) {
            a = &acc[v];
        } else {
            hmap_put(&idx, t->fingerprint, (uint32_t)nacc);
            a = &acc[nacc++];
            a->q.fingerprint = t->fingerprint;
            a->q.query = t->text;
            a->q.is_new = true;
            a->best_ms = -1;
        }
        double ms = reset ? row->total_ms : row->total_ms - old->total_ms;
        if (ms < 0)
            ms = 0;
        a->q.calls += calls;
        a->q.total_ms += ms;
        a->q.rows += reset ? row->rows : delta(row->rows, old->rows);
        a->q.blks_hit += reset ? row->blks_hit : delta(row->blks_hit, old->blks_hit);
        a->q.blks_read += reset ? row->blks_read : delta(row->blks_read, old->blks_read);
        a->q.blks_dirtied +=
            reset ? row->blks_dirtied : delta(row->blks_dirtied, old->blks_dirtied);
        a->q.temp_blks += reset ? row->temp_blks : delta(row->temp_blks, old->temp_blks);
        a->q.wal_bytes += reset ? row->wal_bytes : delta(row->wal_bytes, old->wal_bytes);
        if (known_before[t - p->texts])
            a->q.is_new = false;
        if (ms > a->best_ms) {
            a->best_ms = ms;
            a->q.queryid = row->queryid;
            a->q.db = row->db;
            a->q.user = row->user;
        }
    }
    hmap_release(&idx);
    s->queries = arena_alloc(&s->arena, sizeof(*s->queries) * (nacc ? nacc : 1));
    for (size_t i = 0; i < nacc; i++) {
        s->queries[i] = acc[i].q;
        s->queries[i].query = sample_strdup(s, acc[i].q.query);
        s->queries[i].db = sample_strdup(s, acc[i].q.db);
        s->queries[i].user = sample_strdup(s, acc[i].q.user);
    }
    s->nqueries = (int)nacc;
    qsort(s->queries, nacc, sizeof(*s->queries), cmp_query_time);
    free(acc);
}

/* --- the poll ------------------------------------------------------------- */

static void carry_forward(struct snapshot *snap, const struct snapshot *prev, bool settings_ok,
                          bool db_ok, bool tables_ok, bool indexes_ok, bool stmts_ok)
{
    if (!settings_ok)
        snap->started_s = prev->started_s;
    if (!db_ok)
        memcpy(snap->db, prev->db, sizeof(snap->db));
    if (!tables_ok)
        for (size_t i = 0; i < prev->ntables; i++)
            rel_add(&snap->tables, &snap->ntables, &snap->captables, &snap->table_index,
                    &prev->tables[i]);
    if (!indexes_ok)
        for (size_t i = 0; i < prev->nindexes; i++)
            rel_add(&snap->indexes, &snap->nindexes, &snap->capindexes, &snap->index_index,
                    &prev->indexes[i]);
    if (!stmts_ok) {
        snap->pgss_reset_s = prev->pgss_reset_s;
        for (size_t i = 0; i < prev->nstmts; i++) {
            snap->stmts =
                xgrow(snap->stmts, &snap->capstmts, snap->nstmts + 1, sizeof(*snap->stmts));
            struct stmt_row *row = &snap->stmts[snap->nstmts];
            *row = prev->stmts[i];
            row->db = arena_strdup(&snap->arena, str_cstr(row->db));
            row->user = arena_strdup(&snap->arena, str_cstr(row->user));
            hmap_put(&snap->stmt_index, stmt_hash(row->queryid, row->userid, row->dbid),
                     (uint32_t)snap->nstmts);
            snap->nstmts++;
        }
    }
}

static void fill_db(struct sample *s, const struct snapshot *cur, const struct snapshot *prev)
{
    int64_t d[PGQ_DB_SESSIONS_ABANDONED + 1];
    for (int c = 0; c <= PGQ_DB_SESSIONS_ABANDONED; c++)
        d[c] = delta(cur->db[c], prev->db[c]);
    s->db = (struct sample_db){
        .xact_commit = d[PGQ_DB_XACT_COMMIT],
        .xact_rollback = d[PGQ_DB_XACT_ROLLBACK],
        .deadlocks = d[PGQ_DB_DEADLOCKS],
        .conflicts = d[PGQ_DB_CONFLICTS],
        .temp_files = d[PGQ_DB_TEMP_FILES],
        .temp_bytes = d[PGQ_DB_TEMP_BYTES],
        .blks_read = d[PGQ_DB_BLKS_READ],
        .blks_hit = d[PGQ_DB_BLKS_HIT],
        .tup_returned = d[PGQ_DB_TUP_RETURNED],
        .tup_fetched = d[PGQ_DB_TUP_FETCHED],
        .sessions = d[PGQ_DB_SESSIONS],
        .sessions_fatal = d[PGQ_DB_SESSIONS_FATAL],
        .sessions_killed = d[PGQ_DB_SESSIONS_KILLED],
        .sessions_abandoned = d[PGQ_DB_SESSIONS_ABANDONED],
    };
}

static void mark_gap(struct poller *p, struct sample *s, const struct err *err)
{
    s->gap = true;
    p->after_gap = true;
    sample_add_problem(s, "connection", err->msg,
                       "check that the server is up and reachable with the same conninfo (psql "
                       "takes it too); sleuth keeps retrying with backoff");
}

/*
 * Rows were hidden from the role (it lost pg_monitor): what was read is less
 * than the interval held, so the whole interval becomes a gap that keeps
 * only the problems. Zeros would look like a quiet server, and detectors
 * would learn them as normal.
 */
static void mark_hidden(struct poller *p, struct sample *s)
{
    struct sample g;
    sample_init(&g);
    g.start_us = s->start_us;
    g.end_us = s->end_us;
    g.server_version_num = s->server_version_num;
    g.gap = true;
    for (int i = 0; i < s->nproblems; i++)
        sample_add_problem(&g, s->problems[i].check, s->problems[i].message, s->problems[i].hint);
    sample_add_problem(&g, "privileges",
                       "this role cannot see other roles' sessions and statements: the interval "
                       "is a gap",
                       "GRANT pg_monitor TO the role sleuth connects as");
    sample_release(s);
    *s = g;
    p->after_gap = true;
}

int poller_poll(struct poller *p, int64_t now_us, struct sample *s, struct err *err)
{
    struct snapshot *prev = &p->snaps[p->cur ^ 1], *snap = &p->snaps[p->cur];
    s->start_us = prev->valid ? prev->ts_us : now_us;
    s->end_us = now_us;
    if (ensure_connected(p, now_us, err) < 0) {
        mark_gap(p, s, err);
        return -1;
    }
    snapshot_reset(snap);
    snap->ts_us = now_us;
    s->server_version_num = p->q.server_version_num;
    bool settings_ok = read_settings(p, s, snap);
    int hidden = read_activity(p, s), hidden_stmts = 0;
    bool db_ok = read_database(p, s, snap);
    bool tables_ok = read_tables(p, s, snap, prev);
    bool indexes_ok = read_indexes(p, s, snap, prev);
    size_t nknown = p->ntexts;
    bool have_stmts = read_statements(p, s, snap, &hidden_stmts);
    hidden += hidden_stmts;
    /*
     * A source that failed (a timeout in the middle of an outage) keeps the
     * previous counters, so the next poll diffs against them instead of
     * counting everything since the last reset as one interval's work.
     */
    if (prev->valid)
        carry_forward(snap, prev, settings_ok, db_ok, tables_ok, indexes_ok, have_stmts);
    if (connection_lost(p)) {
        err_set(err, ERR_CONN, "lost the connection to '%s' during the poll", p->target);
        mark_gap(p, s, err);
        return -1;
    }
    if (hidden) {
        /* The next interval starts here, and is a baseline: hidden rows have no counters. */
        mark_hidden(p, s);
        snap->valid = true;
        p->cur ^= 1;
        return 0;
    }
    bool restarted = prev->valid && prev->started_s != snap->started_s;
    if (restarted)
        sample_add_problem(s, "restart", "the server restarted since the previous poll",
                           "counters start again; this interval shows gauges only");
    s->baseline_only = !prev->valid || p->after_gap || restarted;
    if (!s->baseline_only) {
        fill_db(s, snap, prev);
        if (have_stmts) {
            bool *known = xcalloc(p->ntexts ? p->ntexts : 1, sizeof(bool));
            for (size_t i = 0; i < nknown; i++)
                known[i] = true;
            diff_statements(p, s, snap, prev, known);
            free(known);
        }
    } else {
        /* Table and index "deltas" against nothing are totals since the stats reset. */
        for (int i = 0; i < s->ntables; i++) {
            struct sample_table *t = &s->tables[i];
            t->seq_scan = t->seq_tup_read = t->idx_scan = t->idx_tup_fetch = 0;
            t->n_tup_ins = t->n_tup_upd = t->n_tup_hot_upd = t->n_tup_del = 0;
        }
        for (int i = 0; i < s->nindexes; i++)
            s->indexes[i].idx_scan = 0;
    }
    PGresult *settings = run(p, s, "pg_settings", pgq_settings_changed, "");
    live_changes_note(p->changes, s, indexes_ok, settings);
    PQclear(settings);
    text_trim(p);
    snap->valid = true;
    p->after_gap = false;
    p->cur ^= 1;
    return 0;
}
