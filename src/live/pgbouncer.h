/*
 * struct pgbouncer: polls a PgBouncer admin console, one of the watcher's
 * optional sources. Each pgbouncer_poll() runs SHOW POOLS (gauges: clients
 * active and waiting, servers active, idle and used, the oldest wait) and
 * SHOW STATS (cumulative counters, turned into deltas against the previous
 * poll) and fills the PgBouncer part of a struct sample.
 *
 * Columns are found by name, since they differ between PgBouncer versions
 * (maxwait_us since 1.8, total_query_count since 1.8, cl_cancel_req …);
 * a column that is missing reads as 0. Checked against PgBouncer 1.18.
 *
 * The admin console speaks the simple query protocol only; PQexec uses it.
 * The pseudo-database "pgbouncer" (the console itself) is left out of the
 * pools and the totals, so the watcher does not see its own polling.
 *
 * The conninfo may hold a password: it is kept to reconnect but never put
 * in an error message or a sample; those name the target as
 * user@host:port/db from the connection.
 *
 * Pointer arguments are borrowed. Not thread-safe. Never prints.
 */
#ifndef SLEUTH_LIVE_PGBOUNCER_H
#define SLEUTH_LIVE_PGBOUNCER_H

#include "core/sample.h"
#include "util/compat.h"
#include "util/err.h"

struct pgbouncer;

/*
 * Remembers conninfo (a keyword/value string or a URI; libpq's PG*
 * variables apply). dbname defaults to "pgbouncer", the admin console,
 * and connect_timeout to 5 s. Does not connect: the first poll does.
 * The result belongs to the caller (pgbouncer_free).
 */
struct pgbouncer *pgbouncer_new(const char *conninfo);
void pgbouncer_free(struct pgbouncer *pb);

/*
 * Connects if needed (again after a failure) and fills s: has_pgbouncer,
 * pools/npools (in s's arena, the order of SHOW POOLS), and pgb_queries,
 * pgb_xacts, pgb_wait_ms, the SHOW STATS deltas since the previous
 * successful poll, summed over the databases. The first poll, and the
 * first after a failure, only sets the baseline: the deltas are 0. A
 * counter that went down (PgBouncer restarted, or the database was
 * dropped and came back) counts from 0 again: no negative deltas.
 *
 * On failure returns -1 with err set (ERR_CONN: cannot connect or the
 * connection broke; ERR_SQL: the console refused SHOW, e.g. the user is
 * in neither admin_users nor stats_users), adds a "pgbouncer" problem to
 * s and leaves has_pgbouncer false; the connection is dropped and the
 * next poll reconnects. Blocks for the round trips (and the connect).
 */
MUST_CHECK int pgbouncer_poll(struct pgbouncer *pb, struct sample *s, struct err *err);

#endif
