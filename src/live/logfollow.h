/*
 * struct logfollow: follows a PostgreSQL server log like `tail -F`, one of
 * the watcher's optional sources. Each logfollow_read() takes what the
 * server appended since the previous call, runs it through the ordinary
 * log parser (input/logparser.h) and adds this interval's counts to a
 * struct sample (the log_* fields).
 *
 * Following rules:
 *   - Only new lines count: an existing file is followed from its end (a
 *     partial last line there is skipped up to its newline). A file that
 *     does not exist at open, or that appears after a rotation, is read
 *     from its start.
 *   - Rotation by rename (the path now names another inode): the old file
 *     is read to its end first, then the new one from its start.
 *   - Truncation (copytruncate: the file is shorter than what was read):
 *     reading restarts at offset 0. Bytes written after the truncation but
 *     beyond the old offset before the next read cannot be told apart from
 *     appends, as with tail -F.
 *   - A missing file is not an error: the read adds a "log" problem to the
 *     sample and tries again next time.
 *   - A partial last line is kept until its newline arrives.
 *
 * Records: a stderr or syslog record goes on until the next one starts
 * (STATEMENT:, DETAIL:, tab-indented lines), so the parser holds the last
 * one back. PostgreSQL writes a record at once, so when the file has not
 * been written for 200 ms after the read, the last record is taken as
 * whole and counted in this read; on a busy server it is counted at the
 * next read, when the record after it has arrived. csvlog and jsonlog
 * records end at their own newline.
 *
 * The format and log_line_prefix are found once, from the end of the
 * existing file or else from the first complete lines that arrive, and
 * kept across rotations.
 *
 * Pointer arguments are borrowed. Not thread-safe; no callbacks. Never
 * prints.
 */
#ifndef SLEUTH_LIVE_LOGFOLLOW_H
#define SLEUTH_LIVE_LOGFOLLOW_H

#include "core/sample.h"
#include "input/logparser.h"
#include "util/compat.h"
#include "util/err.h"

#include <stdbool.h>
#include <stdint.h>

struct logfollow;

/*
 * Starts following path. fmt may be LOGFMT_AUTO; prefix is the server's
 * log_line_prefix for stderr logs, NULL to detect it. A missing file is
 * fine (it is waited for); fails only on a prefix that does not compile
 * (ERR_USAGE) or a path that exists but cannot be opened or is not a
 * regular file (ERR_IO). *out belongs to the caller (logfollow_free).
 */
MUST_CHECK int logfollow_open(struct logfollow **out, const char *path, enum log_format fmt,
                              const char *prefix, struct err *err);
void logfollow_free(struct logfollow *lf);

/*
 * Reads everything appended since the last call without blocking and adds
 * the interval's counts to s (log_errors, log_refused, log_lock_waits,
 * log_deadlocks, log_timeouts; counts are added, not assigned). Sets
 * s->has_log when a file was read. A missing or unreadable file becomes a
 * problem in s (check "log") and the call still returns 0; -1 is left for
 * failures the caller must act on, of which there are none at present.
 *
 * What is counted:
 *   log_errors      every ERROR, FATAL and PANIC record (the others below included);
 *   log_refused     connections refused for lack of slots (SQLSTATE 53300: too many
 *                   clients, reserved slots, per-role or per-database limits);
 *   log_lock_waits  "still waiting for … lock" (log_lock_waits = on);
 *   log_deadlocks   "deadlock detected" (40P01);
 *   log_timeouts    statement_timeout and lock_timeout cancellations (57014/55P03 with
 *                   "timeout" in the message: a user's cancel is not one) and sessions
 *                   ended by idle_in_transaction_session_timeout (25P03) or
 *                   idle_session_timeout (57P05).
 */
MUST_CHECK int logfollow_read(struct logfollow *lf, struct sample *s, struct err *err);

/* Totals since open, for tests and status lines. */
struct logfollow_stats {
    uint64_t bytes;     /* bytes parsed */
    uint64_t records;   /* log records (events other than unparsed lines) */
    uint64_t unparsed;  /* lines not recognised */
    uint64_t rotations; /* times the path named a new file */
    uint64_t truncations;
};
void logfollow_stats(const struct logfollow *lf, struct logfollow_stats *out);

/* The format in use (LOGFMT_AUTO until it is known). */
enum log_format logfollow_format(const struct logfollow *lf);

#endif
