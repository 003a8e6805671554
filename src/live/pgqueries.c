/*
 * The monitoring SQL for each supported PostgreSQL and pg_stat_statements
 * version (see pgqueries.h). Every query reads statistics views only: no
 * function here takes a lock on a user table, so a poll still answers
 * while an ALTER TABLE holds one (sizes come from pg_class.relpages, not
 * pg_table_size, which would wait for the lock).
 */
#include "live/pgqueries.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

const char pgq_find_pgss[] =
    PGQ_TAG "SELECT quote_ident(n.nspname), e.extversion FROM pg_extension e "
            "JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'pg_stat_statements'";

const char pgq_server[] = PGQ_TAG "SELECT current_setting('server_version_num')::int";

const char pgq_settings_changed[] =
    PGQ_TAG "SELECT name, setting, 'server' FROM pg_settings "
            "WHERE source NOT IN ('default', 'override', 'client', 'session', 'database', 'user', "
            "'database user') "
            "UNION ALL SELECT split_part(c, '=', 1), substr(c, strpos(c, '=') + 1), "
            "concat_ws(', ', 'database ' || d.datname, 'role ' || r.rolname) "
            "FROM pg_db_role_setting s LEFT JOIN pg_database d ON d.oid = s.setdatabase "
            "LEFT JOIN pg_roles r ON r.oid = s.setrole, unnest(s.setconfig) c";

/*
 * pg_stat_activity: client backends but this session; the blockers only for
 * lock waiters. A role without pg_read_all_stats sees other roles' sessions
 * with a NULL backend_type and no state: they come back marked hidden, so
 * that the poller can tell "nobody connected" from "nothing visible".
 */
static const char activity_sql[] = PGQ_TAG
    "SELECT pid, coalesce(usename, ''), coalesce(datname, ''), coalesce(application_name, ''), "
    "coalesce(host(client_addr), CASE WHEN client_port = -1 THEN 'local' ELSE '' END), "
    "coalesce(state, ''), coalesce(wait_event_type, ''), coalesce(wait_event, ''), "
    "left(query, 2000), "
    "coalesce(extract(epoch FROM now() - query_start), -1), "
    "coalesce(extract(epoch FROM now() - xact_start), -1), "
    "coalesce(extract(epoch FROM now() - state_change), -1), "
    "CASE WHEN wait_event_type = 'Lock' THEN pg_blocking_pids(pid)::text END, "
    /* The relation a lock waiter waits for: pg_locks is a view of the lock table, no lock. */
    "CASE WHEN wait_event_type = 'Lock' THEN (SELECT l.relation::regclass::text FROM pg_locks l "
    "WHERE l.pid = a.pid AND NOT l.granted AND l.relation IS NOT NULL LIMIT 1) END, "
    "backend_type IS NULL "
    "FROM pg_stat_activity a "
    "WHERE (backend_type = 'client backend' OR backend_type IS NULL) AND pid <> pg_backend_pid()";

static const char tables_sql[] =
    PGQ_TAG "SELECT s.relid, s.schemaname, s.relname, coalesce(s.seq_scan, 0), "
            "coalesce(s.seq_tup_read, 0), coalesce(s.idx_scan, 0), coalesce(s.idx_tup_fetch, 0), "
            "s.n_tup_ins, s.n_tup_upd, s.n_tup_hot_upd, s.n_tup_del, s.n_live_tup, s.n_dead_tup, "
            "c.relpages::bigint * current_setting('block_size')::bigint "
            "FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
            "ORDER BY s.relid LIMIT 5000";

/* pg_get_indexdef costs ~40 µs an index: the definitions come from indexdefs_sql, once. */
static const char indexes_sql[] =
    PGQ_TAG "SELECT s.indexrelid, s.schemaname, s.relname, s.indexrelname, NULL, "
            "coalesce(s.idx_scan, 0), c.relpages::bigint * current_setting('block_size')::bigint, "
            "i.indisunique, i.indisprimary, i.indisvalid "
            "FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid "
            "JOIN pg_class c ON c.oid = s.indexrelid ORDER BY s.indexrelid LIMIT 10000";

const char pgq_indexdefs[] = PGQ_TAG "SELECT indexrelid, pg_get_indexdef(indexrelid) "
                                     "FROM pg_stat_user_indexes ORDER BY 1 LIMIT 10000";

int pgq_extversion_num(const char *extversion)
{
    char *end;
    long major = strtol(extversion, &end, 10);
    if (end == extversion || *end != '.')
        return 0;
    const char *minor_s = end + 1;
    long minor = strtol(minor_s, &end, 10);
    if (end == minor_s || major < 0 || major > 99 || minor < 0 || minor > 99)
        return 0;
    return (int)(major * 10000 + minor * 100);
}

static void statements_sql(char *dst, size_t cap, const char *schema, int pgss_version,
                           bool with_text)
{
    /* 1.9 (PG14) keys rows by toplevel too; nested statements would count twice. */
    const char *toplevel = pgss_version >= 10900 ? "WHERE s.toplevel" : "";
    snprintf(dst, cap,
             PGQ_TAG "SELECT s.queryid, s.userid, s.dbid, s.calls, s.total_exec_time, s.rows, "
                     "s.shared_blks_hit, s.shared_blks_read, s.shared_blks_dirtied, "
                     "s.temp_blks_read + s.temp_blks_written, s.wal_bytes, "
                     "coalesce(d.datname, ''), coalesce(r.rolname, ''), %s "
                     "FROM %s.pg_stat_statements(%s) s "
                     "LEFT JOIN pg_database d ON d.oid = s.dbid "
                     "LEFT JOIN pg_roles r ON r.oid = s.userid %s",
             with_text ? "s.query" : "NULL", schema, with_text ? "true" : "false", toplevel);
}

void pgq_init(struct pgq *q, int server_version_num, const char *pgss_schema, int pgss_version)
{
    memset(q, 0, sizeof(*q));
    q->server_version_num = server_version_num;
    q->activity = activity_sql;
    q->tables = tables_sql;
    q->indexes = indexes_sql;

    /* PG16 added reserved_connections for pg_use_reserved_connections members. */
    snprintf(q->settings, sizeof(q->settings),
             PGQ_TAG "SELECT current_setting('max_connections')::int, "
                     "current_setting('superuser_reserved_connections')::int%s, "
                     "t.statement_timeout, t.idle_in_transaction_session_timeout, "
                     "t.lock_timeout, extract(epoch FROM pg_postmaster_start_time()), "
                     "current_setting('pg_stat_statements.max', true) "
                     /* One scan of pg_settings (it builds every setting) for three timeouts. */
                     "FROM (SELECT "
                     "max(setting::bigint) FILTER (WHERE name = 'statement_timeout') "
                     "AS statement_timeout, "
                     "max(setting::bigint) FILTER "
                     "(WHERE name = 'idle_in_transaction_session_timeout') "
                     "AS idle_in_transaction_session_timeout, "
                     "max(setting::bigint) FILTER (WHERE name = 'lock_timeout') AS lock_timeout "
                     "FROM pg_settings WHERE name IN ('statement_timeout', "
                     "'idle_in_transaction_session_timeout', 'lock_timeout')) t",
             server_version_num >= 160000 ? " + current_setting('reserved_connections')::int" : "");

    /* PG14 added the session counters. */
    snprintf(q->database, sizeof(q->database),
             PGQ_TAG "SELECT coalesce(sum(xact_commit), 0), coalesce(sum(xact_rollback), 0), "
                     "coalesce(sum(deadlocks), 0), coalesce(sum(conflicts), 0), "
                     "coalesce(sum(temp_files), 0), coalesce(sum(temp_bytes), 0), "
                     "coalesce(sum(blks_read), 0), coalesce(sum(blks_hit), 0), "
                     "coalesce(sum(tup_returned), 0), coalesce(sum(tup_fetched), 0), %s "
                     "FROM pg_stat_database",
             server_version_num >= 140000
                 ? "coalesce(sum(sessions), 0), coalesce(sum(sessions_fatal), 0), "
                   "coalesce(sum(sessions_killed), 0), coalesce(sum(sessions_abandoned), 0)"
                 : "0, 0, 0, 0");

    if (pgss_schema && pgss_version >= PGQ_MIN_PGSS) {
        q->pgss_version = pgss_version;
        statements_sql(q->statements, sizeof(q->statements), pgss_schema, pgss_version, false);
        statements_sql(q->statements_text, sizeof(q->statements_text), pgss_schema, pgss_version,
                       true);
        /* pg_stat_statements_info (1.9) counts entries evicted for lack of room. */
        if (pgss_version >= 10900)
            snprintf(q->pgss_info, sizeof(q->pgss_info),
                     PGQ_TAG "SELECT dealloc, extract(epoch FROM stats_reset) "
                             "FROM %s.pg_stat_statements_info",
                     pgss_schema);
    }
}
