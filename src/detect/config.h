/*
 * struct detect_config: every threshold of the detectors (detect.h) and of
 * the alert book (alerts.h), with its default, and the parser for the
 * small configuration file that overrides them.
 *
 * File format (postgresql.conf-like): one `name = value` per line, the `=`
 * optional, `#` starts a comment, blank lines are ignored, names are
 * case-insensitive and a value may be single-quoted. Value types:
 *
 *   count     a whole number: `30`
 *   number    a decimal number, for ratios optionally with an `x`: `5`, `2.5x`
 *   fraction  `80%` or `0.8` (a plain number must be at most 1)
 *   duration  a number with a unit `us`, `ms`, `s`, `m` or `min`, `h`, `d`,
 *             or a plain number of seconds: `500ms`, `10s`, `1m`, `2h`, `90`
 *
 * Every key, its type, default and meaning ("interval" is one poll; every
 * per-interval count is for the interval, whatever its length):
 *
 * General (robust baselines)
 *   history = 30                      count, 5..240: intervals of history kept per key (ring size)
 *   min_history = 5                   count, 2..history: intervals of history before a key is
 *                                     judged against its baseline
 *   max_keys = 2000                   count, 16..1000000: fingerprints (and, separately,
 *                                     tables) tracked; the least recently seen are forgotten
 *   baseline_k = 4                    number: a value is unusual above median + k * MAD (the MAD
 *                                     scaled by 1.4826 to estimate a standard deviation)
 *   mad_floor = 10%                   fraction: the MAD is taken as at least this share of the
 *                                     median, so a flat series does not make noise look unusual
 *   relearn = 60                      count, 0..100000: consecutive unusual intervals after which
 *                                     the new level joins the baseline (0: never); until then
 *                                     unusual values are kept out of it
 *   min_calls = 10                    count: calls in the interval before a query's mean time or
 *                                     rows per call are judged
 *
 * Alert book
 *   alert_for_critical = 1            count, 1..100: consecutive intervals a critical finding
 *                                     must hold before its alert fires
 *   alert_for_warning = 2             count, 1..100: the same for warnings (deadlocks, new heavy
 *                                     queries and refused connections are events: they fire at
 *                                     once)
 *   alert_clear = 3                   count, 1..1000: consecutive clear intervals before an alert
 *                                     resolves (and before a critical alert steps down to
 *                                     warning); as many with no alert before an incident does
 *   alert_resolved_max = 100          count, 0..10000: recently resolved alerts kept for the API
 *
 * latency_regression (per fingerprint, mean ms per call)
 *   latency_ratio = 2                 number: mean time at least this multiple of the baseline
 *   latency_min_increase = 5ms        duration: and at least this much above it
 *   latency_critical_ratio = 10       number: critical from this multiple on
 *
 * call_surge (per fingerprint, calls per second, on a server in use: at least 1 call/s or
 * new_query_min_load in its baseline; an idle server that gets calls is starting)
 *   surge_ratio = 5                   number: calls/s at least this multiple of the baseline
 *   surge_min_increase = 20           number: and at least this many calls/s above it
 *   surge_critical_ratio = 50         number: critical from this multiple on
 *
 * new_heavy_query (a fingerprint first seen after warm-up on a server in use, for its first
 * relearn intervals)
 *   new_query_share = 20%             fraction: of the interval's database time, at least
 *   new_query_min_load = 0.05         number: and at least this many seconds of execution a
 *                                     second (5% of a core; 0.5 s over a 10 s interval); once
 *                                     heavy, its share alone keeps it so (no gap over
 *                                     alert_clear intervals)
 *
 * connection_saturation and connections_refused (connections / usable slots)
 *   connections_warning = 80%         fraction: warning at this share of the usable slots
 *   connections_critical = 95%        fraction: critical at this share
 *
 * pooler_saturation (PgBouncer: clients waiting for a server connection; any client it
 * turned away, query_wait_timeout or max_client_conn in its log, is critical)
 *   pool_wait = 250ms                 duration: warning when the clients' mean wait per
 *                                     transaction (SHOW STATS or the log's stats lines), or the
 *                                     oldest waiting client's wait (SHOW POOLS), reaches this
 *   pool_wait_critical = 2s           duration: critical from this wait
 *
 * long_running_query and idle_in_transaction (per session)
 *   long_running = 60s                duration: an active statement older than this
 *   long_running_critical = 10m       duration: critical from this age
 *   idle_in_transaction = 30s         duration: idle in a transaction for longer than this
 *   idle_in_transaction_critical = 10m  duration: critical from this age
 *
 * blocking_chain (per root blocker) and lock_waits (server)
 *   blocking_min_wait = 5s            duration: a root blocker is reported once a session it
 *                                     blocks has waited this long
 *   blocking_critical_sessions = 3    count: critical when it blocks this many sessions
 *   blocking_critical_wait = 5m       duration: or when one has waited this long
 *   lock_waits_sessions = 5           count: sessions waiting on a Lock at the end of the interval
 *   lock_waits_share = 50%            fraction: or, when at least two wait, this share of the
 *                                     active sessions (a small pool is stuck with fewer; 0: off)
 *   lock_waits_logged = 3             count: or lock waits logged during it (log_lock_waits)
 *   lock_waits_critical = 20          count: critical from this many waiting sessions
 *
 * deadlocks (server)
 *   deadlocks_critical = 5            count: any deadlock is a warning; critical from this many
 *
 * rollback_spike (server, rollbacks / transactions)
 *   rollback_min_xacts = 100          count: transactions in the interval before judging
 *   rollback_min_increase = 10%       fraction: the ratio must rise this much above the baseline
 *
 * error_spike (server, ERROR and worse lines in the log, per second)
 *   errors_ratio = 5                  number: errors/s at least this multiple of the baseline
 *   errors_min_increase = 1           number: and at least this many errors/s above it
 *
 * seq_scan_growth (per table, rows read by sequential scans per second)
 *   seq_scan_min_table_rows = 10000   count: tables with fewer live rows are ignored
 *   seq_scan_table_fraction = 25%     fraction: rows per scan must be at least this share of the
 *                                     table (a parallel scan counts once per process)
 *   seq_scan_ratio = 5                number: rows/s at least this multiple of the baseline
 *   seq_scan_min_increase = 100000    number: and at least this many rows/s above it
 *
 * hot_ratio_drop (per table, HOT updates / updates)
 *   hot_baseline = 80%                fraction: the baseline HOT ratio must be at least this
 *   hot_drop = 50%                    fraction: and the interval's ratio below this
 *   hot_min_updates = 20              count: updates in the interval before judging
 *
 * rows_per_call (per SELECT fingerprint)
 *   rows_per_call = 1000              number: rows per call that is always worth a look
 *   rows_ratio = 10                   number: or this multiple of the baseline
 *   rows_min_increase = 100           number: and at least this many rows/call above it
 *
 * database_load (server, seconds of execution per second, all queries but DDL; a warning)
 *   db_load_ratio = 3                 number: at least this multiple of the baseline
 *   db_load_min_increase = 0.05       number: and at least this many s/s above it (5% of a core)
 *
 * call_rate (server, calls per second of every query but DDL; a warning; judged when
 * most calls are of queries with a history: an application starting is no surge)
 *   call_rate_ratio = 5               number: at least this multiple of the baseline
 *   call_rate_min_increase = 20       number: and at least this many calls/s above it; a server
 *                                     usually below this rate is not judged (it is starting)
 *
 * connection_rate (server, new connections per second: PG14+ sessions, or the log's
 * connection lines; judged on a server in use (calls as for call_rate, or at least one
 * new connection a second) and, like call_rate, on the queries that ran before)
 *   conn_rate_ratio = 5               number: at least this multiple of the baseline
 *   conn_rate_min_increase = 5        number: and at least this many connections/s above it
 *
 * Pointer arguments are borrowed. No function keeps a pointer to its
 * arguments.
 */
#ifndef SLEUTH_DETECT_CONFIG_H
#define SLEUTH_DETECT_CONFIG_H

#include "util/buf.h"
#include "util/compat.h"
#include "util/err.h"

#include <stddef.h>

struct detect_config {
    /* general */
    int history;
    int min_history;
    int max_keys;
    double baseline_k;
    double mad_floor;
    int relearn;
    int min_calls;
    /* alert book */
    int alert_for_critical;
    int alert_for_warning;
    int alert_clear;
    int alert_resolved_max;
    /* latency_regression */
    double latency_ratio;
    double latency_min_increase_ms;
    double latency_critical_ratio;
    /* call_surge */
    double surge_ratio;
    double surge_min_increase; /* calls/s */
    double surge_critical_ratio;
    /* new_heavy_query */
    double new_query_share;
    double new_query_min_load;
    /* connections */
    double connections_warning;
    double connections_critical;
    double pool_wait_ms, pool_wait_critical_ms;
    /* sessions */
    double long_running_s;
    double long_running_critical_s;
    double idle_in_transaction_s;
    double idle_in_transaction_critical_s;
    double blocking_min_wait_s;
    int blocking_critical_sessions;
    double blocking_critical_wait_s;
    int lock_waits_sessions;
    double lock_waits_share;
    int lock_waits_logged;
    int lock_waits_critical;
    int deadlocks_critical;
    /* rollback_spike */
    int rollback_min_xacts;
    double rollback_min_increase;
    /* error_spike */
    double errors_ratio;
    double errors_min_increase; /* errors/s */
    /* seq_scan_growth */
    int seq_scan_min_table_rows;
    double seq_scan_table_fraction;
    double seq_scan_ratio;
    double seq_scan_min_increase; /* rows/s */
    /* hot_ratio_drop */
    double hot_baseline;
    double hot_drop;
    int hot_min_updates;
    /* rows_per_call */
    double rows_per_call;
    double rows_ratio;
    double rows_min_increase;
    /* database_load */
    double db_load_ratio;
    double db_load_min_increase; /* s/s */
    /* call_rate */
    double call_rate_ratio;
    double call_rate_min_increase; /* calls/s */
    /* connection_rate */
    double conn_rate_ratio;
    double conn_rate_min_increase; /* connections/s */
};

/* Fills cfg with the defaults listed above. */
void detect_config_init(struct detect_config *cfg);

/*
 * Reads the file at path over cfg. All or nothing: on error cfg is left
 * as it was. Errors: ERR_IO when the file cannot be read; ERR_CONFIG for
 * an unknown name, a bad or out-of-range value or inconsistent settings,
 * with msg "path:line: reason" and where "path:line".
 */
MUST_CHECK int detect_config_load(struct detect_config *cfg, const char *path, struct err *err);

/*
 * The same for text in memory (len bytes, NULs allowed, need not end with
 * a newline); name is used in messages ("path:line: reason").
 */
MUST_CHECK int detect_config_parse(struct detect_config *cfg, const char *text, size_t len,
                                   const char *name, struct err *err);

/*
 * Sets one key from its text value, as `--set name=value` does. All or
 * nothing. Errors: ERR_USAGE for an unknown name or a bad value, with msg
 * "--set name: reason".
 */
MUST_CHECK int detect_config_set(struct detect_config *cfg, const char *name, const char *value,
                                 struct err *err);
/* detect_config_set for a "name=value" argument. */
MUST_CHECK int detect_config_set_arg(struct detect_config *cfg, const char *arg, struct err *err);

/* Appends every key and its value in the file format (loading it gives cfg back). */
void detect_config_dump(const struct detect_config *cfg, struct buf *out);

#endif
