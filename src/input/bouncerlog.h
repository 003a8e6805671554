/*
 * The PgBouncer log reader: the file PgBouncer writes with `logfile`, one
 * line per message,
 *
 *   2026-12-07 06:59:13.936 UTC [1458] LOG stats: 40 xacts/s, 40 queries/s, in 2679 B/s, …
 *   2026-12-07 06:59:44.601 UTC [1458] WARNING C-0x55…: shop/app@10.0.0.7:40112 pooler error:
 * query_wait_timeout
 *
 * (PgBouncer before 1.12 wrote the pid without brackets and no zone). The
 * level has no colon after it, which tells the line from a PostgreSQL
 * stderr line with a "%m [%p] " prefix.
 *
 * Events: a "stats:" line is EV_POOL_STATS with its averages; a "pooler
 * error:" is EV_ERROR (PgBouncer logs it as a WARNING, but the client got
 * an error and lost its connection), flagged EVF_POOL_REFUSED when it
 * turned a client away for want of a server or a slot (max_client_conn,
 * query_wait_timeout, client_login_timeout, no more connections allowed);
 * PgBouncer's own ERROR and FATAL lines are EV_ERROR too; the line before
 * a query_wait_timeout ("closing because: query_wait_timeout (age=20s)") is
 * EV_OTHER flagged EVF_POOL_WAITED with the wait in duration_us; the rest
 * (logins, closings, server connections) EV_OTHER. The client's database,
 * user and address ("db/user@addr:port") go into the event. Every event has
 * pid 0: PgBouncer's pid is not a backend's.
 *
 * Pointer arguments are borrowed; events point into the caller's buffer.
 */
#ifndef SLEUTH_INPUT_BOUNCERLOG_H
#define SLEUTH_INPUT_BOUNCERLOG_H

#include "event.h"
#include "util/tstamp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Embedded in the caller's struct; bouncerlog_init() it. Owns nothing. */
struct bouncerlog_reader {
    uint64_t line;  /* 1-based line number of buf[0] of the next feed; the caller may set it */
    uint32_t input; /* copied into every event */
    struct tstamp_cache tc;
};

void bouncerlog_init(struct bouncerlog_reader *r, uint32_t input);

/*
 * Emits every complete line at the front of buf[0..len) and returns the
 * bytes used; with eof it uses all of them (see logparser_feed). Parsing is
 * total: a line that is not a PgBouncer log line (or a last line cut short
 * at eof) becomes an EV_UNPARSED event. Empty lines are skipped.
 */
size_t bouncerlog_feed(struct bouncerlog_reader *r, const char *buf, size_t len, bool eof,
                       event_fn *emit, void *ctx);

/* Whether line (without its newline) is a PgBouncer log line. */
bool bouncerlog_is_line(const char *line, size_t len);

/* Offset of the first line after buf[0]'s line that is a PgBouncer log line, or len. */
size_t bouncerlog_sync(const char *buf, size_t len);

#endif
