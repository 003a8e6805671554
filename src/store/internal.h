/*
 * What the files of the store module share and nothing else may use: the
 * struct store itself, the cached statements, the column lists that keep
 * the writer, the reader and the downsampler in step, and the SQLite
 * helpers that turn a failed call into a struct err.
 */
#ifndef SLEUTH_STORE_INTERNAL_H
#define SLEUTH_STORE_INTERNAL_H

#include "store/store.h"
#include "util/hmap.h"

#include <sqlite3.h>

/*
 * The integer columns of `intervals` that mirror a sample field, and how
 * the downsampler folds them: X(column, field of struct sample, aggregate).
 * Counters are summed, gauges and settings keep their maximum, and the
 * flags `gap` and `baseline_only` hold only when they hold for every
 * folded interval. The v1 migration creates the same columns: a new
 * column needs both a migration step and an entry here.
 */
#define STORE_INTERVAL_COLS(X)                                             \
    X(gap, gap, min)                                                       \
    X(baseline_only, baseline_only, min)                                   \
    X(server_version_num, server_version_num, max)                         \
    X(max_connections, max_connections, max)                               \
    X(reserved_connections, reserved_connections, max)                     \
    X(statement_timeout_ms, statement_timeout_ms, max)                     \
    X(idle_in_transaction_timeout_ms, idle_in_transaction_timeout_ms, max) \
    X(lock_timeout_ms, lock_timeout_ms, max)                               \
    X(connections, connections, max)                                       \
    X(active, active, max)                                                 \
    X(idle, idle, max)                                                     \
    X(idle_in_transaction, idle_in_transaction, max)                       \
    X(waiting, waiting, max)                                               \
    X(distinct_clients, distinct_clients, max)                             \
    X(xact_commit, db.xact_commit, sum)                                    \
    X(xact_rollback, db.xact_rollback, sum)                                \
    X(deadlocks, db.deadlocks, sum)                                        \
    X(conflicts, db.conflicts, sum)                                        \
    X(temp_files, db.temp_files, sum)                                      \
    X(temp_bytes, db.temp_bytes, sum)                                      \
    X(blks_read, db.blks_read, sum)                                        \
    X(blks_hit, db.blks_hit, sum)                                          \
    X(tup_returned, db.tup_returned, sum)                                  \
    X(tup_fetched, db.tup_fetched, sum)                                    \
    X(sessions, db.sessions, sum)                                          \
    X(sessions_fatal, db.sessions_fatal, sum)                              \
    X(sessions_killed, db.sessions_killed, sum)                            \
    X(sessions_abandoned, db.sessions_abandoned, sum)                      \
    X(has_log, has_log, max)                                               \
    X(log_errors, log_errors, sum)                                         \
    X(log_refused, log_refused, sum)                                       \
    X(log_lock_waits, log_lock_waits, sum)                                 \
    X(log_deadlocks, log_deadlocks, sum)                                   \
    X(log_timeouts, log_timeouts, sum)                                     \
    X(has_pgbouncer, has_pgbouncer, max)                                   \
    X(pgb_queries, pgb_queries, sum)                                       \
    X(pgb_xacts, pgb_xacts, sum)

/*
 * Every statement the store runs more than once, prepared on first use and
 * finalized by store_close: X(id, SQL), each id named after the table and
 * what it does to it. A NULL SQL is built from STORE_INTERVAL_COLS by
 * stmt_build in store.c.
 */
#define STORE_STMTS(X)                                                                           \
    X(ST_BEGIN, "BEGIN IMMEDIATE") /* writers take the lock up front: no upgrade deadlock */     \
    X(ST_COMMIT, "COMMIT")                                                                       \
    X(ST_ROLLBACK, "ROLLBACK")                                                                   \
    X(ST_INTERVAL_INSERT, NULL) /* one row of intervals from a sample */                         \
    X(ST_INTERVAL_SELECT, NULL) /* the intervals overlapping a range */                          \
    X(ST_INTERVAL_FOLD, NULL)   /* one downsampled interval from a bucket */                     \
    X(ST_QUERY_UPSERT, "INSERT INTO queries(fingerprint, queryid, text, db, usr, first_seen_us," \
                       " last_seen_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"                      \
                       " ON CONFLICT(fingerprint) DO UPDATE SET queryid = excluded.queryid,"     \
                       " db = excluded.db, usr = excluded.usr,"                                  \
                       " first_seen_us = min(first_seen_us, excluded.first_seen_us),"            \
                       " last_seen_us = max(last_seen_us, excluded.last_seen_us)")               \
    X(ST_QSTAT_INSERT, "INSERT INTO query_stats VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"     \
                       " ?10, ?11)")                                                             \
    X(ST_REL_UPSERT, "INSERT INTO relations(kind, schema, tbl, name, def, is_unique,"            \
                     " is_primary) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"                          \
                     " ON CONFLICT(kind, schema, tbl, name) DO UPDATE SET def = excluded.def,"   \
                     " is_unique = excluded.is_unique, is_primary = excluded.is_primary"         \
                     " RETURNING id")                                                            \
    X(ST_TSTAT_INSERT, "INSERT INTO table_stats VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"     \
                       " ?10, ?11, ?12, ?13, ?14)")                                              \
    X(ST_ISTAT_INSERT, "INSERT INTO index_stats VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                \
    X(ST_SESSION_INSERT, "INSERT INTO sessions VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"      \
                         " ?10, ?11, ?12, ?13, ?14, ?15, ?16)")                                  \
    X(ST_CHANGE_INSERT, "INSERT INTO changes VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"   \
                        " ?11)")                                                                 \
    X(ST_INCIDENT_UPSERT, "INSERT INTO incidents VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"    \
                          " ?10) ON CONFLICT(id) DO UPDATE SET seq = excluded.seq,"              \
                          " state = excluded.state, severity = excluded.severity,"               \
                          " onset_us = excluded.onset_us, detected_us = excluded.detected_us,"   \
                          " end_us = excluded.end_us, updated_us = excluded.updated_us,"         \
                          " cause = excluded.cause, doc = excluded.doc")                         \
    X(ST_COUNT_INSERT, "INSERT INTO session_counts VALUES (?1, ?2, ?3, ?4, ?5)")                 \
    X(ST_POOL_INSERT, "INSERT INTO pools VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")      \
    X(ST_PROBLEM_INSERT, "INSERT INTO problems VALUES (?1, ?2, ?3, ?4, ?5)")                     \
    X(ST_ALERT_UPSERT, "INSERT INTO alerts VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"     \
                       " ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"                                \
                       " ON CONFLICT(id, since_us) DO UPDATE SET kind = excluded.kind,"          \
                       " key = excluded.key, severity = excluded.severity,"                      \
                       " updated_us = excluded.updated_us, resolved_us = excluded.resolved_us,"  \
                       " value = excluded.value, baseline = excluded.baseline,"                  \
                       " threshold = excluded.threshold, unit = excluded.unit,"                  \
                       " peak = excluded.peak, summary = excluded.summary,"                      \
                       " next = excluded.next, fingerprint = excluded.fingerprint,"              \
                       " query = excluded.query, table_name = excluded.table_name,"              \
                       " pid = excluded.pid")                                                    \
    X(ST_EVENT_INSERT, "INSERT INTO alert_events(alert_id, since_us, ts_us, change, severity,"   \
                       " value) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                                \
    X(ST_META_SET, "INSERT OR REPLACE INTO meta VALUES (?1, ?2)")                                \
    X(ST_META_GET, "SELECT value FROM meta WHERE key = ?1")                                      \
    X(ST_QSTAT_SELECT, "SELECT s.fingerprint, q.queryid, q.text, q.db, q.usr, s.calls,"          \
                       " s.total_ms, s.rows, s.blks_hit, s.blks_read, s.blks_dirtied,"           \
                       " s.temp_blks, s.wal_bytes, s.is_new FROM query_stats s"                  \
                       " JOIN queries q USING (fingerprint) WHERE s.interval_id = ?1"            \
                       " ORDER BY s.total_ms DESC, s.fingerprint")                               \
    X(ST_TSTAT_SELECT, "SELECT r.schema, r.name, t.seq_scan, t.seq_tup_read, t.idx_scan,"        \
                       " t.idx_tup_fetch, t.n_tup_ins, t.n_tup_upd, t.n_tup_hot_upd,"            \
                       " t.n_tup_del, t.n_live_tup, t.n_dead_tup, t.bytes FROM table_stats t"    \
                       " JOIN relations r ON r.id = t.rel_id WHERE t.interval_id = ?1"           \
                       " ORDER BY t.seq")                                                        \
    X(ST_ISTAT_SELECT, "SELECT r.schema, r.tbl, r.name, r.def, i.idx_scan, i.bytes,"             \
                       " r.is_unique, r.is_primary, i.valid FROM index_stats i"                  \
                       " JOIN relations r ON r.id = i.rel_id WHERE i.interval_id = ?1"           \
                       " ORDER BY i.seq")                                                        \
    X(ST_SESSION_SELECT, "SELECT pid, usr, db, app, client, state, wait_event_type,"             \
                         " wait_event, query, query_age_s, xact_age_s, state_age_s,"             \
                         " blocked_by, wait_object FROM sessions WHERE interval_id = ?1"         \
                         " ORDER BY seq")                                                        \
    X(ST_CHANGE_SELECT, "SELECT kind, ts_us, object, tbl, detail, statement, app, usr, pid"      \
                        " FROM changes WHERE interval_id = ?1 ORDER BY seq")                     \
    X(ST_INCIDENT_SELECT, "SELECT doc FROM incidents WHERE onset_us < ?2"                        \
                          " AND (end_us = 0 OR end_us >= ?1) ORDER BY onset_us, id")             \
    X(ST_COUNT_SELECT, "SELECT kind, name, count FROM session_counts WHERE interval_id = ?1"     \
                       " ORDER BY kind, seq")                                                    \
    X(ST_POOL_SELECT, "SELECT db, usr, cl_active, cl_waiting, sv_active, sv_idle, sv_used,"      \
                      " maxwait_s FROM pools WHERE interval_id = ?1 ORDER BY seq")               \
    X(ST_PROBLEM_SELECT, "SELECT check_name, message, hint FROM problems"                        \
                         " WHERE interval_id = ?1 ORDER BY seq")                                 \
    X(ST_ALERT_SELECT, "SELECT id, since_us, kind, key, severity, updated_us, resolved_us,"      \
                       " value, baseline, threshold, unit, peak, summary, next, fingerprint,"    \
                       " query, table_name, pid FROM alerts WHERE since_us < ?2"                 \
                       " AND (resolved_us = 0 OR resolved_us >= ?1) ORDER BY since_us, id")      \
    X(ST_RANGE, "SELECT min(start_us), max(end_us) FROM intervals")

enum store_stmt {
#define X(id, sql) id,
    STORE_STMTS(X)
#undef X
        ST__COUNT
};

/* Values of relations.kind. */
enum store_rel_kind {
    REL_TABLE = 0, /* a user table: tbl is "" */
    REL_INDEX = 1, /* an index of the table tbl */
};

/* Values of session_counts.kind: which struct sample list the row belongs to. */
enum store_count_kind {
    COUNT_APP = 0,    /* by_app */
    COUNT_USER = 1,   /* by_user */
    COUNT_CLIENT = 2, /* by_client */
};

/* A relation the store has already interned in this transaction or before. */
struct store_rel {
    char *key;     /* kind, schema, table, name joined by NULs into one string */
    size_t keylen; /* bytes of key */
    uint64_t attr; /* hash of an index's definition and flags, to notice a change */
    int64_t id;    /* relations.id */
};

/*
 * A query text this connection has written, so that a steady workload
 * costs one row per query per interval (its stats), not two. last_seen_us
 * is then refreshed only when it is STORE_LAST_SEEN_SLACK_US old, and
 * prune keeps a text that much longer than its last interval.
 */
struct store_query {
    uint64_t fingerprint;
    uint64_t attr;         /* hash of queryid, db and user as written */
    int64_t first_seen_us; /* as written */
    int64_t last_seen_us;  /* as written */
};

/* How stale queries.last_seen_us may be (see struct store_query). */
#define STORE_LAST_SEEN_SLACK_US (15LL * 60 * 1000000)

struct store {
    sqlite3 *db;
    char *path;
    int version; /* PRAGMA user_version after migration */
    sqlite3_stmt *stmts[ST__COUNT];
    /* Relation ids by name, so that a steady set of tables costs no lookup. */
    struct hmap rel_index;
    struct store_rel *rels;
    size_t nrels, relcap;
    /* Query texts known to be stored, by fingerprint. */
    struct hmap query_index;
    struct store_query *queries;
    size_t nqueries, querycap;
    /* Unit strings of alerts read back: finding.unit must outlive the finding. */
    char **units;
    size_t nunits, unitcap;
};

/*
 * The cached statement id, reset and with its bindings cleared, or NULL
 * with err set. Callers reset it again when done so that no read
 * transaction stays open.
 */
sqlite3_stmt *store_stmt(struct store *s, enum store_stmt id, struct err *err);
/* Sets err from the connection's last error: "<what> 'path': <sqlite message>"; returns -1. */
int store_fail(struct store *s, struct err *err, const char *what);
/* Steps a statement that returns no rows, then resets it. */
MUST_CHECK int store_run(struct store *s, sqlite3_stmt *st, struct err *err, const char *what);
/* Runs one or more SQL statements without caching them. */
MUST_CHECK int store_exec(struct store *s, const char *sql, struct err *err, const char *what);
/* Empties the relation and query caches, after a rollback or a prune made them stale. */
void store_forget_cache(struct store *s);
/* Rolls back the open transaction, if any; keeps err as it is. */
void store_rollback(struct store *s);

/* Binds a string, NULL as ""; the string must live until the statement is stepped. */
static inline void store_bind_str(sqlite3_stmt *st, int i, const char *str)
{
    sqlite3_bind_text(st, i, str ? str : "", -1, SQLITE_STATIC);
}

/* Binds a string, NULL as NULL. */
static inline void store_bind_opt(sqlite3_stmt *st, int i, const char *str)
{
    if (str)
        sqlite3_bind_text(st, i, str, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Column text, "" for NULL (valid until the next step). */
static inline const char *store_col_str(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

#endif
