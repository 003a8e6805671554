/*
 * The monitoring queries, and the one place where PostgreSQL versions
 * differ. Each query returns the same columns on every supported version
 * (13 to 17; a column a version lacks comes back as a constant), so the
 * poller reads them by position without knowing the version.
 *
 * Column names follow the server version, except for pg_stat_statements,
 * whose columns follow the extension's own version: a server upgraded in
 * place keeps the old extension until ALTER EXTENSION … UPDATE.
 */
#ifndef SLEUTH_LIVE_PGQUERIES_H
#define SLEUTH_LIVE_PGQUERIES_H

#include "sql/fingerprint.h"

#include <stdbool.h>

/* Every monitoring statement starts with sleuth's own comment (sql/fingerprint.h). */
#define PGQ_TAG SQL_OWN_TAG

/* Oldest supported server and pg_stat_statements (total_exec_time appeared in 1.8, PG13). */
#define PGQ_MIN_SERVER 130000
#define PGQ_MIN_PGSS   10800

/* Columns of pgq.statements, in order. */
enum pgq_stmt_col {
    PGQ_STMT_QUERYID,
    PGQ_STMT_USERID,
    PGQ_STMT_DBID,
    PGQ_STMT_CALLS,
    PGQ_STMT_TOTAL_MS,
    PGQ_STMT_ROWS,
    PGQ_STMT_BLKS_HIT,
    PGQ_STMT_BLKS_READ,
    PGQ_STMT_BLKS_DIRTIED,
    PGQ_STMT_TEMP_BLKS,
    PGQ_STMT_WAL_BYTES,
    PGQ_STMT_DB,
    PGQ_STMT_USER,
    PGQ_STMT_QUERY, /* NULL in the text-less form */
};
/*
 * A role without pg_read_all_stats still gets the rows of other roles'
 * statements, with their counters but a NULL queryid and the text
 * "<insufficient privilege>": the poller counts them as hidden.
 */

enum pgq_activity_col {
    PGQ_ACT_PID,
    PGQ_ACT_USER,
    PGQ_ACT_DB,
    PGQ_ACT_APP,
    PGQ_ACT_CLIENT,
    PGQ_ACT_STATE,
    PGQ_ACT_WAIT_TYPE,
    PGQ_ACT_WAIT_EVENT,
    PGQ_ACT_QUERY,
    PGQ_ACT_QUERY_AGE_S,
    PGQ_ACT_XACT_AGE_S,
    PGQ_ACT_STATE_AGE_S,
    PGQ_ACT_BLOCKED_BY,  /* "{12,13}" or NULL when not waiting on a lock */
    PGQ_ACT_WAIT_OBJECT, /* the relation a lock waiter waits for, or NULL */
    PGQ_ACT_HIDDEN,      /* "t": a session this role may not read (backend_type is NULL) */
};

enum pgq_settings_col {
    PGQ_SET_MAX_CONNECTIONS,
    PGQ_SET_RESERVED,
    PGQ_SET_STATEMENT_TIMEOUT_MS,
    PGQ_SET_IDLE_IN_TX_TIMEOUT_MS,
    PGQ_SET_LOCK_TIMEOUT_MS,
    PGQ_SET_STARTED_S, /* pg_postmaster_start_time(), epoch seconds */
    PGQ_SET_PGSS_MAX,  /* pg_stat_statements.max, NULL without the extension */
};

enum pgq_db_col {
    PGQ_DB_XACT_COMMIT,
    PGQ_DB_XACT_ROLLBACK,
    PGQ_DB_DEADLOCKS,
    PGQ_DB_CONFLICTS,
    PGQ_DB_TEMP_FILES,
    PGQ_DB_TEMP_BYTES,
    PGQ_DB_BLKS_READ,
    PGQ_DB_BLKS_HIT,
    PGQ_DB_TUP_RETURNED,
    PGQ_DB_TUP_FETCHED,
    PGQ_DB_SESSIONS, /* PG14+, else 0 (and the three below) */
    PGQ_DB_SESSIONS_FATAL,
    PGQ_DB_SESSIONS_KILLED,
    PGQ_DB_SESSIONS_ABANDONED,
};

enum pgq_table_col {
    PGQ_TAB_RELID,
    PGQ_TAB_SCHEMA,
    PGQ_TAB_NAME,
    PGQ_TAB_SEQ_SCAN,
    PGQ_TAB_SEQ_TUP_READ,
    PGQ_TAB_IDX_SCAN,
    PGQ_TAB_IDX_TUP_FETCH,
    PGQ_TAB_INS,
    PGQ_TAB_UPD,
    PGQ_TAB_HOT_UPD,
    PGQ_TAB_DEL,
    PGQ_TAB_LIVE,
    PGQ_TAB_DEAD,
    PGQ_TAB_BYTES,
};

enum pgq_index_col {
    PGQ_IDX_RELID,
    PGQ_IDX_SCHEMA,
    PGQ_IDX_TABLE,
    PGQ_IDX_NAME,
    PGQ_IDX_DEF, /* NULL: see pgq_indexdefs */
    PGQ_IDX_SCAN,
    PGQ_IDX_BYTES,
    PGQ_IDX_UNIQUE,
    PGQ_IDX_PRIMARY,
    PGQ_IDX_VALID,
};

/* Finds pg_stat_statements: its quoted schema and version (e.g. "1.10"). */
extern const char pgq_find_pgss[];
/* indexrelid and pg_get_indexdef of every user index, read when one is new. */
extern const char pgq_indexdefs[];
/* The server version. */
extern const char pgq_server[];
/*
 * The settings that differ from their defaults, server-wide (name,
 * setting, "server") and per database or role (ALTER DATABASE / ROLE ...
 * SET: name, value, "database d, role r"); live/changes.c diffs them.
 */
extern const char pgq_settings_changed[];

struct pgq {
    int server_version_num;
    int pgss_version; /* 10800 for "1.8"; 0 when the extension is not usable */
    char statements[1024];
    char statements_text[1024];
    char pgss_info[256]; /* "" before 1.9 */
    char settings[1024];
    char database[768];
    const char *activity;
    const char *tables;
    const char *indexes;
};

/* "1.10" -> 11000; 0 when it cannot be read. */
int pgq_extversion_num(const char *extversion);
/*
 * Fills q for a server version (server_version_num) and, when pgss_schema
 * is not NULL, the extension's quoted schema and version number.
 */
void pgq_init(struct pgq *q, int server_version_num, const char *pgss_schema, int pgss_version);

#endif
