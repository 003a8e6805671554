/*
 * The watcher's JSON (jansson): the documents of /api/state, /api/alerts
 * and /api/history, and the output of `sleuth watch --once`. Field names
 * are a stable interface: add fields, never rename or retype them.
 *
 * Conventions: times are ISO 8601 UTC strings ("…Z" as "+00:00"), except
 * the columns of /api/history, which are Unix seconds for the charts;
 * fingerprints are 16 lowercase hex digits; rates are per second of the
 * interval; a value that is not known is null, never 0 or NaN. Strings
 * from the database are made valid UTF-8 (bad bytes become U+FFFD).
 *
 * api_sample_json: {
 *   start, end, seconds, gap, baseline_only, server_version_num,
 *   settings: {max_connections, reserved_connections, usable_connections,
 *              statement_timeout_ms, idle_in_transaction_session_timeout_ms, lock_timeout_ms},
 *   connections: {total, usable, used_pct, active, idle, idle_in_transaction, waiting,
 *                 blocked, distinct_clients, by_app: [{name, count}], by_user, by_client},
 *   sessions: [{pid, user, db, app, client, state, wait_event_type, wait_event, query,
 *               query_age_s, xact_age_s, state_age_s, blocked_by: [pid], blocking: [pid]}],
 *   blocking: [{pid, user, db, app, state, wait_event_type, wait_event, query, xact_age_s,
 *               state_age_s, known, cycle, children: [same shape]}],   roots first
 *   queries: [{fingerprint, queryid, query, db, user, calls, calls_per_s, total_ms, mean_ms,
 *              time_pct, rows, rows_per_call, blks_hit, blks_read, blks_dirtied, temp_blks,
 *              wal_bytes, hit_pct, is_new}],                           most time first
 *   tables: [{schema, name, seq_scan, seq_tup_read, idx_scan, idx_tup_fetch, n_tup_ins,
 *             n_tup_upd, n_tup_hot_upd, n_tup_del, hot_pct, n_live_tup, n_dead_tup, bytes}],
 *   indexes: [{schema, table, name, def, idx_scan, bytes, unique, primary, valid}],
 *   db: {xact_commit, xact_rollback, deadlocks, conflicts, temp_files, temp_bytes, blks_read,
 *        blks_hit, tup_returned, tup_fetched, sessions, sessions_fatal, sessions_killed,
 *        sessions_abandoned, commits_per_s, rollbacks_per_s, hit_pct},
 *   log: null | {errors, refused, lock_waits, deadlocks, timeouts},
 *   pgbouncer: null | {queries, xacts, wait_ms, pools: [{db, user, cl_active, cl_waiting,
 *                      sv_active, sv_idle, sv_used, maxwait_s}]},
 *   problems: [{check, message, hint}]
 * }
 * The blocking tree: a root is a session that blocks others and waits for
 * no one; a session blocked by several appears under each. A blocker that
 * is not among the sessions (the watcher's own, or a background process)
 * appears with known false and only its pid. Sessions that block each
 * other in a cycle with no root get the lowest pid as root, and a node met
 * again on its own path is written once more with cycle true and no
 * children.
 *
 * api_history_json: { capacity, t: [unix s], gap: [bool], calls_per_s, mean_ms,
 *   db_time_per_s, connections, usable, active, idle_in_transaction, waiting, errors,
 *   refused, deadlocks, commits_per_s, rollbacks_per_s: [number|null],
 *   queries: [{fingerprint, query|null, calls_per_s: [..], mean_ms: [..], time_pct: [..]}] }
 * with one column entry per point, oldest first; a query's columns are
 * null where it was not among the point's top queries.
 *
 * Results of the _json functions are new references (json_decref). Pointer
 * arguments are borrowed.
 */
#ifndef SLEUTH_SINK_API_H
#define SLEUTH_SINK_API_H

#include "core/sample.h"
#include "detect/finding.h"
#include "sink/history.h"
#include "sink/httpd.h"
#include "sink/metrics.h"

#include <jansson.h>
#include <stddef.h>

json_t *api_sample_json(const struct sample *s);
/* {"firing": n, "alerts": [alert_json(a, -1) …]}, firing ones first, then most recent. */
json_t *api_alerts_json(const struct alert *alerts, size_t n);
json_t *api_history_json(const struct history *h);

/* Serialises j compactly with a final newline; the caller frees. */
char *api_dump(const json_t *j, size_t *len);

/*
 * Renders and publishes every endpoint of the watcher:
 *   /             the live page (page.h)
 *   /metrics      Prometheus exposition (metrics.h)
 *   /api/state    api_sample_json(latest), or {} before the first poll
 *   /api/alerts   api_alerts_json
 *   /api/history  api_history_json
 *   /api/incidents, /api/diagnosis
 *                 incident_list_json(incs): every incident kept, and the
 *                 causes and ruled-out suspicions of the worst one
 * latest may be NULL before the first poll. Call it from the watch loop
 * after metrics_state_add and history_add.
 */
void api_publish_all(struct httpd *h, const struct sample *latest, const struct alert *alerts,
                     size_t nalerts, const struct incident *incs, size_t nincs,
                     const struct history *hist, const struct metrics_state *st);

#endif
