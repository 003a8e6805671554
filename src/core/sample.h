/*
 * struct sample: one interval of the timeline, the unit that the incident
 * engine (engine/engine.h) judges and the watcher stores, serves and
 * alerts from. It sits below every source: the poller (live/poll.c) reads
 * cumulative counters and gauges into a snapshot and turns two snapshots
 * into per-interval deltas; log analysis (stats/tosample.c) yields the
 * same struct per step of a log's timeline; the store reads it back. So
 * every counter here is "during [start_us, end_us)" and every gauge is
 * "at end_us", whatever the source, and one engine serves them all.
 *
 * Every string and array belongs to the sample's arena and lives until
 * sample_release. Counts are int64 (PostgreSQL's bigint); times are ms as
 * pg_stat_statements gives them.
 */
#ifndef SLEUTH_CORE_SAMPLE_H
#define SLEUTH_CORE_SAMPLE_H

#include "util/arena.h"

#include <stdbool.h>
#include <stdint.h>

/* One query fingerprint's work during the interval. */
struct sample_query {
    uint64_t fingerprint; /* fingerprint_sql of the normalised text: joins log analysis */
    int64_t queryid;      /* pg_stat_statements queryid (the busiest one folded in) */
    const char *query;    /* normalised text, $n placeholders */
    const char *db;       /* database and role of the busiest row folded in */
    const char *user;
    int64_t calls;
    double total_ms; /* execution time */
    int64_t rows;
    int64_t blks_hit, blks_read, blks_dirtied; /* shared blocks */
    int64_t temp_blks;                         /* temp blocks read + written */
    int64_t wal_bytes;
    bool is_new; /* first seen in this interval (not in the previous snapshot) */
};

/* One user table's activity during the interval (deltas) and size (gauges). */
struct sample_table {
    const char *schema, *name;
    int64_t seq_scan, seq_tup_read, idx_scan, idx_tup_fetch;
    int64_t n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del;
    int64_t n_live_tup, n_dead_tup; /* gauges */
    int64_t bytes;                  /* pg_table_size, gauge */
};

struct sample_index {
    const char *schema, *table, *name;
    const char *def;  /* pg_get_indexdef */
    int64_t idx_scan; /* delta */
    int64_t bytes;    /* gauge */
    bool unique, primary, valid;
};

/* A client session worth showing: active, waiting, idle in transaction or blocking. */
struct sample_session {
    int pid;
    const char *user, *db, *app, *client;
    const char *state;                        /* "active", "idle in transaction", ... */
    const char *wait_event_type, *wait_event; /* "" when not waiting */
    const char *query;                        /* the current or last statement, truncated */
    double query_age_s;                       /* now - query_start (-1 if unknown) */
    double xact_age_s;                        /* now - xact_start (-1 outside a transaction) */
    double state_age_s;                       /* now - state_change */
    int *blocked_by;                          /* pg_blocking_pids() */
    int nblocked_by;
    const char *wait_object; /* the relation a Lock wait is for ("" if unknown or none) */
};

/* A name and how many client sessions have it (by application, role, client). */
struct sample_count {
    const char *name;
    int count;
};

/* pg_stat_database, summed over the databases (deltas). */
struct sample_db {
    int64_t xact_commit, xact_rollback, deadlocks, conflicts;
    int64_t temp_files, temp_bytes, blks_read, blks_hit, tup_returned, tup_fetched;
    int64_t sessions, sessions_fatal, sessions_killed, sessions_abandoned; /* PG14+, else 0 */
};

/* One PgBouncer pool (SHOW POOLS), gauges. */
struct sample_pool {
    const char *db, *user;
    int cl_active, cl_waiting, sv_active, sv_idle, sv_used;
    double maxwait_s; /* how long the oldest waiting client has waited */
};

/*
 * Changes to the system: the candidates for an incident's trigger and fix.
 * X(enum, JSON name, what it is).
 */
#define SAMPLE_CHANGE_KINDS(X)                                                          \
    X(CHANGE_CREATE_INDEX, "create_index", "an index was created")                      \
    X(CHANGE_DROP_INDEX, "drop_index", "an index was dropped")                          \
    X(CHANGE_REINDEX, "reindex", "an index or a table was reindexed")                   \
    X(CHANGE_ALTER_TABLE, "alter_table", "a table's definition changed")                \
    X(CHANGE_DDL, "ddl", "another schema change (CREATE or DROP TABLE, TRUNCATE, ...)") \
    X(CHANGE_ANALYZE, "analyze", "a table's planner statistics were refreshed")         \
    X(CHANGE_SETTING, "setting", "a server, database or role setting changed")          \
    X(CHANGE_NEW_APP, "new_application", "an application_name not seen before")         \
    X(CHANGE_RESTART, "restart", "the server started")                                  \
    X(CHANGE_RELEASE, "release", "statements never seen before began (a deploy)")       \
    X(CHANGE_ROLLBACK, "rollback", "the statements of a release stopped")               \
    X(CHANGE_XACT_END, "transaction_end", "the transaction that held the lock ended")

enum sample_change_kind {
#define X(e, name, what) e,
    SAMPLE_CHANGE_KINDS(X)
#undef X
        CHANGE__COUNT
};

/*
 * One change. Live it comes from the catalog (an index that appeared or
 * went), pg_settings, pg_stat_statements and pg_stat_activity (a DDL
 * statement); from a log, from the statement and its line. The last three
 * kinds are never in a sample: the diagnosis derives them from the
 * timeline (diagnose/changes.c).
 */
struct sample_change {
    enum sample_change_kind kind;
    int64_t ts_us;         /* when: the statement's time, else the interval's start */
    const char *object;    /* the index, table, setting or application ("" if unknown) */
    const char *table;     /* the table an index change is on ("" if unknown) */
    const char *detail;    /* an index's definition or columns, a setting's value ("" if none) */
    const char *statement; /* the statement that made it, normalised ("" if none) */
    const char *app;       /* who ran it ("" if unknown) */
    const char *user;
    int pid; /* 0 if unknown */
};

/* Something the watcher could not collect, and how to fix it. */
struct sample_problem {
    const char *check;   /* "pg_stat_statements", "connection", "pg_stat_activity", ... */
    const char *message; /* what is wrong */
    const char *hint;    /* how to fix it */
};

struct sample {
    int64_t start_us, end_us; /* the interval, UTC µs */
    bool gap;                 /* no data for this interval: the server could not be polled */
    bool baseline_only;       /* the first poll: gauges only, counters not diffed yet */
    int server_version_num;

    /* settings */
    int max_connections;
    int reserved_connections; /* superuser_reserved_connections (+ reserved_connections, PG16+) */
    int64_t statement_timeout_ms, idle_in_transaction_timeout_ms, lock_timeout_ms;

    /* pg_stat_activity gauges, client backends only, the watcher's own sessions excluded */
    int connections, active, idle, idle_in_transaction, waiting;
    int distinct_clients;
    struct sample_count *by_app, *by_user, *by_client; /* most first */
    int nby_app, nby_user, nby_client;
    struct sample_session *sessions;
    int nsessions;

    struct sample_db db;
    struct sample_query *queries; /* with calls > 0 in the interval, most total time first */
    int nqueries;
    struct sample_table *tables;
    int ntables;
    struct sample_index *indexes;
    int nindexes;

    /* from the server log, when followed (or analysed) */
    bool has_log;
    int64_t log_errors, log_refused, log_lock_waits, log_deadlocks, log_timeouts;

    /* from PgBouncer's admin console, when watched */
    bool has_pgbouncer;
    struct sample_pool *pools;
    int npools;
    int64_t pgb_queries, pgb_xacts; /* SHOW STATS deltas, summed (a log: its stats lines) */
    double pgb_wait_ms;             /* client wait time during the interval */
    int64_t pgb_refused;            /* clients turned away (a PgBouncer log's pooler errors) */

    struct sample_problem *problems;
    int nproblems;

    struct sample_change *changes; /* in time order */
    int nchanges;

    struct arena arena;
};

void sample_init(struct sample *s);
void sample_release(struct sample *s);
/* A copy of str in the sample's arena ("" for NULL). */
const char *sample_strdup(struct sample *s, const char *str);
/* Records something that could not be collected (copied into the arena). */
void sample_add_problem(struct sample *s, const char *check, const char *message, const char *hint);
/* Whether s has a problem of that check ("connection", "privileges", ...). */
bool sample_has_problem(const struct sample *s, const char *check);
/* Appends a copy of c (its strings copied into the arena; NULL strings become ""). */
void sample_add_change(struct sample *s, const struct sample_change *c);
const char *sample_change_kind_name(enum sample_change_kind k);
/* Connections the application can use: max_connections minus the reserved slots. */
int sample_usable_connections(const struct sample *s);
/* The interval's length in seconds (at least 1 ms). */
double sample_seconds(const struct sample *s);

#endif
