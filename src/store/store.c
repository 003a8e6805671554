/*
 * The SQLite history store: opening the file (WAL, synchronous=NORMAL,
 * busy timeout, foreign keys), the versioned schema and its migrations,
 * the statement cache, meta strings and the time range. Writing samples
 * and alerts is in write.c, reading them back in read.c and retention in
 * prune.c; all four share store/internal.h. The store sits beside the
 * pipeline: `watch` feeds it, `report --store` reads it.
 */
#include "store/store.h"

#include "store/internal.h"
#include "util/buf.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* PRAGMA application_id of a sleuth store ("slth"), so we never migrate someone else's file. */
#define STORE_APPLICATION_ID 0x736c7468
/* How long a writer waits for another connection's lock before failing. */
#define STORE_BUSY_TIMEOUT_MS 5000

/*
 * The schema, one migration step per version: step i brings a store from
 * user_version i to i + 1, in one transaction. Steps are history: never
 * edit one that has shipped, append a new one.
 *
 * Why the shape:
 *   - Child rows point at intervals(id) with ON DELETE CASCADE, and lead
 *     their primary key with interval_id, so retention deletes intervals
 *     only and the cascade finds children through the key.
 *   - query_stats.fingerprint and *_stats.rel_id are deliberately not
 *     foreign keys: deleting a parent would then scan the child table once
 *     per parent row (no index on those columns, which would cost a second
 *     b-tree per row written). Prune removes unused parents itself.
 *   - Texts are stored once: query texts in queries, table and index names
 *     in relations (a table_stats row is ~40 bytes instead of ~80 with its
 *     names inline, and there is one per table per interval).
 *   - resolution_us is 0 for a polled interval and STORE_DOWNSAMPLE_US for
 *     an hour folded by prune; merged counts the polled intervals in it.
 */
static const char *const migrations[] = {
    /* 1: the first schema */
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE intervals ("
    " id INTEGER PRIMARY KEY, start_us INTEGER NOT NULL, end_us INTEGER NOT NULL,"
    " resolution_us INTEGER NOT NULL DEFAULT 0, merged INTEGER NOT NULL DEFAULT 1,"
    " usable INTEGER NOT NULL DEFAULT 0, pgb_wait_ms REAL NOT NULL DEFAULT 0,"
    " gap INTEGER NOT NULL, baseline_only INTEGER NOT NULL, server_version_num INTEGER NOT NULL,"
    " max_connections INTEGER NOT NULL, reserved_connections INTEGER NOT NULL,"
    " statement_timeout_ms INTEGER NOT NULL, idle_in_transaction_timeout_ms INTEGER NOT NULL,"
    " lock_timeout_ms INTEGER NOT NULL, connections INTEGER NOT NULL, active INTEGER NOT NULL,"
    " idle INTEGER NOT NULL, idle_in_transaction INTEGER NOT NULL, waiting INTEGER NOT NULL,"
    " distinct_clients INTEGER NOT NULL, xact_commit INTEGER NOT NULL,"
    " xact_rollback INTEGER NOT NULL, deadlocks INTEGER NOT NULL, conflicts INTEGER NOT NULL,"
    " temp_files INTEGER NOT NULL, temp_bytes INTEGER NOT NULL, blks_read INTEGER NOT NULL,"
    " blks_hit INTEGER NOT NULL, tup_returned INTEGER NOT NULL, tup_fetched INTEGER NOT NULL,"
    " sessions INTEGER NOT NULL, sessions_fatal INTEGER NOT NULL,"
    " sessions_killed INTEGER NOT NULL, sessions_abandoned INTEGER NOT NULL,"
    " has_log INTEGER NOT NULL, log_errors INTEGER NOT NULL, log_refused INTEGER NOT NULL,"
    " log_lock_waits INTEGER NOT NULL, log_deadlocks INTEGER NOT NULL,"
    " log_timeouts INTEGER NOT NULL, has_pgbouncer INTEGER NOT NULL,"
    " pgb_queries INTEGER NOT NULL, pgb_xacts INTEGER NOT NULL);"
    "CREATE INDEX intervals_start ON intervals (start_us);"
    "CREATE INDEX intervals_end ON intervals (end_us);"
    "CREATE TABLE queries ("
    " fingerprint INTEGER PRIMARY KEY, queryid INTEGER NOT NULL, text TEXT NOT NULL,"
    " db TEXT NOT NULL, usr TEXT NOT NULL,"
    " first_seen_us INTEGER NOT NULL, last_seen_us INTEGER NOT NULL);"
    "CREATE INDEX queries_last_seen ON queries (last_seen_us);"
    "CREATE TABLE query_stats ("
    " interval_id INTEGER NOT NULL REFERENCES intervals (id) ON DELETE CASCADE,"
    " fingerprint INTEGER NOT NULL, calls INTEGER NOT NULL, total_ms REAL NOT NULL,"
    " rows INTEGER NOT NULL, blks_hit INTEGER NOT NULL, blks_read INTEGER NOT NULL,"
    " blks_dirtied INTEGER NOT NULL, temp_blks INTEGER NOT NULL, wal_bytes INTEGER NOT NULL,"
    " is_new INTEGER NOT NULL,"
    " PRIMARY KEY (interval_id, fingerprint)) WITHOUT ROWID;"
    "CREATE TABLE relations ("
    " id INTEGER PRIMARY KEY, kind INTEGER NOT NULL, schema TEXT NOT NULL, tbl TEXT NOT NULL,"
    " name TEXT NOT NULL, def TEXT NOT NULL, is_unique INTEGER NOT NULL,"
    " is_primary INTEGER NOT NULL, UNIQUE (kind, schema, tbl, name));"
    "CREATE TABLE table_stats ("
    " interval_id INTEGER NOT NULL REFERENCES intervals (id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL, rel_id INTEGER NOT NULL,"
    " seq_scan INTEGER NOT NULL, seq_tup_read INTEGER NOT NULL, idx_scan INTEGER NOT NULL,"
    " idx_tup_fetch INTEGER NOT NULL, n_tup_ins INTEGER NOT NULL, n_tup_upd INTEGER NOT NULL,"
    " n_tup_hot_upd INTEGER NOT NULL, n_tup_del INTEGER NOT NULL,"
    " n_live_tup INTEGER NOT NULL, n_dead_tup INTEGER NOT NULL, bytes INTEGER NOT NULL,"
    " PRIMARY KEY (interval_id, seq)) WITHOUT ROWID;"
    "CREATE TABLE index_stats ("
    " interval_id INTEGER NOT NULL REFERENCES intervals (id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL, rel_id INTEGER NOT NULL, idx_scan INTEGER NOT NULL,"
    " bytes INTEGER NOT NULL, valid INTEGER NOT NULL,"
    " PRIMARY KEY (interval_id, seq)) WITHOUT ROWID;"
    "CREATE TABLE sessions ("
    " interval_id INTEGER NOT NULL REFERENCES intervals (id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL, pid INTEGER NOT NULL, usr TEXT NOT NULL, db TEXT NOT NULL,"
    " app TEXT NOT NULL, client TEXT NOT NULL, state TEXT NOT NULL,"
    " wait_event_type TEXT NOT NULL, wait_event TEXT NOT NULL, query TEXT NOT NULL,"
    " query_age_s REAL NOT NULL, xact_age_s REAL NOT NULL, state_age_s REAL NOT NULL,"
    " blocked_by TEXT NOT NULL,"
    " PRIMARY KEY (interval_id, seq)) WITHOUT ROWID;"
    "CREATE TABLE session_counts ("
    " interval_id INTEGER NOT NULL REFERENCES intervals (id) ON DELETE CASCADE,"
    " kind INTEGER NOT NULL, seq INTEGER NOT NULL, name TEXT NOT NULL, count INTEGER NOT NULL,"
    " PRIMARY KEY (interval_id, kind, seq)) WITHOUT ROWID;"
    "CREATE TABLE pools ("
    " interval_id INTEGER NOT NULL REFERENCES intervals (id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL, db TEXT NOT NULL, usr TEXT NOT NULL, cl_active INTEGER NOT NULL,"
    " cl_waiting INTEGER NOT NULL, sv_active INTEGER NOT NULL, sv_idle INTEGER NOT NULL,"
    " sv_used INTEGER NOT NULL, maxwait_s REAL NOT NULL,"
    " PRIMARY KEY (interval_id, seq)) WITHOUT ROWID;"
    "CREATE TABLE problems ("
    " interval_id INTEGER NOT NULL REFERENCES intervals (id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL, check_name TEXT NOT NULL, message TEXT NOT NULL,"
    " hint TEXT NOT NULL, PRIMARY KEY (interval_id, seq)) WITHOUT ROWID;"
    "CREATE TABLE alerts ("
    " id INTEGER NOT NULL, since_us INTEGER NOT NULL, kind TEXT NOT NULL, key TEXT,"
    " severity TEXT NOT NULL, updated_us INTEGER NOT NULL, resolved_us INTEGER NOT NULL,"
    " value REAL, baseline REAL, threshold REAL, unit TEXT, peak REAL, summary TEXT,"
    " next TEXT, fingerprint INTEGER NOT NULL, query TEXT, table_name TEXT,"
    " pid INTEGER NOT NULL, PRIMARY KEY (id, since_us));"
    "CREATE INDEX alerts_since ON alerts (since_us);"
    "CREATE INDEX alerts_resolved ON alerts (resolved_us);"
    "CREATE TABLE alert_events ("
    " seq INTEGER PRIMARY KEY, alert_id INTEGER NOT NULL, since_us INTEGER NOT NULL,"
    " ts_us INTEGER NOT NULL, change TEXT NOT NULL, severity TEXT NOT NULL, value REAL,"
    " FOREIGN KEY (alert_id, since_us) REFERENCES alerts (id, since_us) ON DELETE CASCADE);"
    "CREATE INDEX alert_events_alert ON alert_events (alert_id, since_us);"
    "CREATE INDEX alert_events_ts ON alert_events (ts_us);",
    /* 2: incidents (their document is incident_json), changes, the relation a wait is for */
    "CREATE TABLE incidents ("
    " id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, state TEXT NOT NULL,"
    " severity TEXT NOT NULL, onset_us INTEGER NOT NULL, detected_us INTEGER NOT NULL,"
    " end_us INTEGER NOT NULL, updated_us INTEGER NOT NULL, cause TEXT NOT NULL,"
    " doc TEXT NOT NULL);"
    "CREATE INDEX incidents_onset ON incidents (onset_us);"
    "CREATE TABLE changes ("
    " interval_id INTEGER NOT NULL REFERENCES intervals (id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL, kind TEXT NOT NULL, ts_us INTEGER NOT NULL, object TEXT NOT NULL,"
    " tbl TEXT NOT NULL, detail TEXT NOT NULL, statement TEXT NOT NULL, app TEXT NOT NULL,"
    " usr TEXT NOT NULL, pid INTEGER NOT NULL,"
    " PRIMARY KEY (interval_id, seq)) WITHOUT ROWID;"
    "ALTER TABLE sessions ADD COLUMN wait_object TEXT NOT NULL DEFAULT '';",
};

/* The schema version migrations can reach; tests may not exceed it. */
_Static_assert(ARRAY_SIZE(migrations) == STORE_SCHEMA_VERSION, "one migration per version");

static const char *const stmt_sql[] = {
#define X(id, sql) sql,
    STORE_STMTS(X)
#undef X
};

int store_fail(struct store *s, struct err *err, const char *what)
{
    return err_set(err, ERR_IO, "%s '%s': %s", what, s->path, sqlite3_errmsg(s->db));
}

int store_exec(struct store *s, const char *sql, struct err *err, const char *what)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return store_fail(s, err, what);
    return 0;
}

int store_run(struct store *s, sqlite3_stmt *st, struct err *err, const char *what)
{
    int rc = sqlite3_step(st);
    /* RETURNING and upserts may yield a row; the caller wanted none of it. */
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
        store_fail(s, err, what);
        sqlite3_reset(st);
        return -1;
    }
    sqlite3_reset(st);
    return 0;
}

void store_rollback(struct store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* The SQL of the statements built from STORE_INTERVAL_COLS; the caller frees. */
static char *stmt_build(enum store_stmt id)
{
    struct buf b = BUF_INIT;
    switch (id) {
    case ST_INTERVAL_INSERT:
        buf_addstr(&b, "INSERT INTO intervals (start_us, end_us, resolution_us, merged, usable,"
                       " pgb_wait_ms");
#define X(col, field, agg) buf_addstr(&b, ", " #col);
        STORE_INTERVAL_COLS(X)
#undef X
        buf_addstr(&b, ") VALUES (?1, ?2, 0, 1, ?3, ?4");
#define X(col, field, agg) buf_addstr(&b, ", ?");
        STORE_INTERVAL_COLS(X)
#undef X
        buf_addstr(&b, ")");
        break;
    case ST_INTERVAL_SELECT:
        buf_addstr(&b, "SELECT id, start_us, end_us, pgb_wait_ms");
#define X(col, field, agg) buf_addstr(&b, ", " #col);
        STORE_INTERVAL_COLS(X)
#undef X
        buf_addstr(&b, " FROM intervals WHERE end_us > ?1 AND start_us < ?2"
                       " ORDER BY start_us, id");
        break;
    case ST_INTERVAL_FOLD:
        /* ?1: the resolution, ?2: the bucket in temp.fold_map */
        buf_addstr(&b, "INSERT INTO intervals (start_us, end_us, resolution_us, merged, usable,"
                       " pgb_wait_ms");
#define X(col, field, agg) buf_addstr(&b, ", " #col);
        STORE_INTERVAL_COLS(X)
#undef X
        buf_addstr(&b, ") SELECT min(start_us), max(end_us), ?1, sum(merged), max(usable),"
                       " sum(pgb_wait_ms)");
#define X(col, field, agg) buf_addstr(&b, ", " #agg "(" #col ")");
        STORE_INTERVAL_COLS(X)
#undef X
        buf_addstr(&b, " FROM intervals WHERE id IN"
                       " (SELECT old_id FROM temp.fold_map WHERE bucket = ?2)");
        break;
    default:
        BUG("statement %d has no SQL", (int)id);
    }
    return buf_detach(&b, NULL);
}

sqlite3_stmt *store_stmt(struct store *s, enum store_stmt id, struct err *err)
{
    sqlite3_stmt *st = s->stmts[id];
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return st;
    }
    char *built = stmt_sql[id] ? NULL : stmt_build(id);
    const char *sql = built ? built : stmt_sql[id];
    int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    free(built);
    if (rc != SQLITE_OK) {
        store_fail(s, err, "cannot prepare a statement for store");
        return NULL;
    }
    s->stmts[id] = st;
    return st;
}

void store_forget_cache(struct store *s)
{
    for (size_t i = 0; i < s->nrels; i++)
        free(s->rels[i].key);
    s->nrels = 0;
    hmap_release(&s->rel_index);
    hmap_init(&s->rel_index);
    s->nqueries = 0;
    hmap_release(&s->query_index);
    hmap_init(&s->query_index);
}

/* Reads one integer PRAGMA. */
static int pragma_int(struct store *s, const char *sql, int *out, struct err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, err, "cannot open store");
    int rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_fail(s, err, "cannot open store");
    return 0;
}

/* Applies the migration steps the file lacks, one transaction each. */
static int store_migrate(struct store *s, struct err *err)
{
    for (;;) {
        if (store_exec(s, "BEGIN IMMEDIATE", err, "cannot migrate store") < 0)
            return -1;
        /* Read inside the transaction: another sleuth may have migrated meanwhile. */
        int version, app_id, tables;
        if (pragma_int(s, "PRAGMA user_version", &version, err) < 0 ||
            pragma_int(s, "PRAGMA application_id", &app_id, err) < 0 ||
            pragma_int(s, "SELECT count(*) FROM sqlite_schema", &tables, err) < 0)
            goto fail;
        if (app_id != 0 && app_id != STORE_APPLICATION_ID) {
            err_set(err, ERR_IO, "cannot open store '%s': not a sleuth store", s->path);
            goto fail;
        }
        if (app_id == 0 && version == 0 && tables > 0) {
            err_set(err, ERR_IO, "cannot open store '%s': not a sleuth store (it has other tables)",
                    s->path);
            goto fail;
        }
        if (version > STORE_SCHEMA_VERSION) {
            err_set(err, ERR_IO,
                    "cannot open store '%s': its schema version %d is newer than this sleuth "
                    "supports (%d); use a newer sleuth",
                    s->path, version, STORE_SCHEMA_VERSION);
            goto fail;
        }
        if (version == STORE_SCHEMA_VERSION) {
            s->version = version;
            return store_exec(s, "COMMIT", err, "cannot migrate store");
        }
        char pragmas[128];
        snprintf(pragmas, sizeof(pragmas), "PRAGMA user_version = %d; PRAGMA application_id = %d",
                 version + 1, STORE_APPLICATION_ID);
        if (store_exec(s, migrations[version], err, "cannot migrate store") < 0 ||
            store_exec(s, pragmas, err, "cannot migrate store") < 0 ||
            store_exec(s, "COMMIT", err, "cannot migrate store") < 0)
            goto fail;
    }
fail:
    store_rollback(s);
    return -1;
}

/*
 * PRAGMA quick_check: damaged pages are found before the watcher writes
 * months of history next to them, not when a report reads them back.
 * At most QUICK_CHECK_MAX findings are listed; the first names the damage.
 */
#define QUICK_CHECK_MAX 100

static int store_check(struct store *s, struct err *err)
{
    char sql[40];
    snprintf(sql, sizeof(sql), "PRAGMA quick_check(%d)", QUICK_CHECK_MAX);
    sqlite3_stmt *st = NULL;
    char first[96] = "";
    int findings = 0;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *row = store_col_str(st, 0);
            if (strcmp(row, "ok") == 0)
                continue;
            /* The first finding starts with a "*** in database main ***" line. */
            const char *nl = strrchr(row, '\n');
            if (!findings++)
                snprintf(first, sizeof(first), "%s", nl ? nl + 1 : row);
        }
    }
    /* Damage bad enough (the schema's own pages) stops quick_check itself: one more finding. */
    if ((rc & 0xff) == SQLITE_CORRUPT) {
        if (!findings++)
            snprintf(first, sizeof(first), "%s", sqlite3_errmsg(s->db));
    } else if (rc != SQLITE_DONE) {
        sqlite3_finalize(st);
        return store_fail(s, err, "cannot open store");
    }
    sqlite3_finalize(st);
    if (!findings)
        return 0;
    return err_set(err, ERR_IO,
                   "store '%s' is damaged (quick_check: %s; %s%d finding%s): move it away, or "
                   "pass --store-force",
                   s->path, first, findings >= QUICK_CHECK_MAX ? "at least " : "", findings,
                   findings == 1 ? "" : "s");
}

int store_open(struct store **out, const char *path, bool force, struct err *err)
{
    struct store *s = xcalloc(1, sizeof(*s));
    s->path = xstrdup(path);
    hmap_init(&s->rel_index);
    hmap_init(&s->query_index);
    *out = NULL;
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        if (s->db)
            store_fail(s, err, "cannot open store");
        else
            err_set(err, ERR_IO, "cannot open store '%s': %s", path, sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
    if (!force && store_check(s, err) < 0)
        goto fail;
    /*
     * WAL with synchronous=NORMAL: a commit is durable against a crash of
     * the process (the WAL is written before COMMIT returns), and only a
     * power loss can lose the last commits. Readers (a report) never block
     * the watcher.
     */
    if (store_exec(s, "PRAGMA foreign_keys = ON", err, "cannot open store") < 0)
        goto fail;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK) {
        store_fail(s, err, "cannot open store");
        goto fail;
    }
    rc = sqlite3_step(st);
    bool wal = rc == SQLITE_ROW && strcmp(store_col_str(st, 0), "wal") == 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW) {
        store_fail(s, err, "cannot open store");
        goto fail;
    }
    if (!wal) {
        err_set(err, ERR_IO, "cannot open store '%s': cannot switch it to WAL mode", path);
        goto fail;
    }
    if (store_exec(s, "PRAGMA synchronous = NORMAL", err, "cannot open store") < 0 ||
        store_migrate(s, err) < 0)
        goto fail;
    *out = s;
    return 0;
fail:
    store_close(s);
    return -1;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    for (int i = 0; i < ST__COUNT; i++)
        sqlite3_finalize(s->stmts[i]);
    sqlite3_close(s->db);
    store_forget_cache(s);
    hmap_release(&s->rel_index);
    hmap_release(&s->query_index);
    free(s->rels);
    free(s->queries);
    for (size_t i = 0; i < s->nunits; i++)
        free(s->units[i]);
    free(s->units);
    free(s->path);
    free(s);
}

int store_schema_version(const struct store *s)
{
    return s->version;
}

int store_set_meta(struct store *s, const char *key, const char *value, struct err *err)
{
    sqlite3_stmt *st = store_stmt(s, ST_META_SET, err);
    if (!st)
        return -1;
    store_bind_str(st, 1, key);
    store_bind_str(st, 2, value);
    return store_run(s, st, err, "cannot write store");
}

int store_get_meta(struct store *s, const char *key, struct buf *value, bool *found,
                   struct err *err)
{
    sqlite3_stmt *st = store_stmt(s, ST_META_GET, err);
    if (!st)
        return -1;
    store_bind_str(st, 1, key);
    buf_reset(value);
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW)
        buf_addstr(value, store_col_str(st, 0));
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_fail(s, err, "cannot read store");
    return 0;
}

int store_time_range(struct store *s, int64_t *first_us, int64_t *last_us, struct err *err)
{
    sqlite3_stmt *st = store_stmt(s, ST_RANGE, err);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    *first_us = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    *last_us = rc == SQLITE_ROW ? sqlite3_column_int64(st, 1) : 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return store_fail(s, err, "cannot read store");
    return 0;
}
