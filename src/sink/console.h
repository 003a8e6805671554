/*
 * The console sink: an incident change as a few person-readable lines for a
 * terminal (`sleuth watch`). The first line says when, what changed, how
 * bad, the top cause and since when; indented lines name the query, the
 * trigger and the fix, the alerts that are its evidence (one line however
 * many sessions or queries), and what the data rules out:
 *
 *   [14:03:12Z] INCIDENT #1 critical missing_index on orders: mean time ... — since 14:02:50Z
 *     query     fp 1a2b3c4d5e6f7788: select ... from orders where customer_id = $1
 *     trigger   14:02:49Z drop_index orders_customer_id_idx by 'migration' (by time and table)
 *     to do     create an index on orders (customer_id, created_at); ...
 *     alerts    latency_regression, seq_scan_growth
 *     ruled out traffic surge or DDoS: ...
 *
 * All times are UTC and say so with a Z. Text that came from the database
 * (query text, summaries) is made safe for a terminal first: control bytes
 * and escape sequences become spaces, bytes that are not UTF-8 become
 * U+FFFD, runs of white space collapse to one space.
 *
 * Pointer arguments are borrowed. Nothing here fails, allocates beyond the
 * output buffer or keeps state, so every function may be called from any
 * thread or callback.
 */
#ifndef SLEUTH_SINK_CONSOLE_H
#define SLEUTH_SINK_CONSOLE_H

#include "core/incident.h"
#include "util/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Appends the block for one incident change to out, every line ending in
 * '\n'. The header line is timed at the change: the end for a resolved
 * incident, the last interval taken in otherwise. A resolved incident shows
 * how long it lasted instead of the fix to make. color adds ANSI SGR
 * sequences (the caller passes isatty(fd) and honours NO_COLOR).
 */
void console_incident_format(struct buf *out, enum incident_change_kind change,
                             const struct incident *inc, bool color);
/*
 * The header's words alone, without time or colour: "INCIDENT #1 critical
 * missing_index on orders: <summary>" or "RESOLVED incident #1 ... after
 * 1m05s". The webhook formats use it.
 */
void console_incident_headline(struct buf *out, enum incident_change_kind change,
                               const struct incident *inc);

/*
 * Appends s as one line of safe text: white space runs (newlines included)
 * become one space, other C0/C1 controls and DEL a space, invalid UTF-8
 * U+FFFD; leading and trailing blanks are dropped. At most max_chars code
 * points are kept; a cut is marked with "…" (which counts toward max_chars).
 * s may be NULL (appends nothing).
 */
void console_text_append(struct buf *out, const char *s, size_t max_chars);

/* Appends "45.0 ms", "95.0%", "1234 rows/s" or "n/a" (not finite); unit may be NULL. */
void console_value_append(struct buf *out, double v, const char *unit);

/* Appends a duration as "45s", "7m12s", "2h05m" or "3d04h"; negative counts as 0. */
void console_duration_append(struct buf *out, int64_t duration_us);

/* Appends ts_us (UTC) as "14:03:12Z", or "2026-11-22T14:03:12Z" when full is true. */
void console_time_append(struct buf *out, int64_t ts_us, bool full);

#endif
