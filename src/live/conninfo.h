/*
 * Connecting to a watched server: a libpq conninfo string or URI plus the
 * PG* environment and ~/.pgpass, as psql takes them. Every monitoring
 * session is made harmless first (statement_timeout, lock_timeout, read
 * only), and every description of a target leaves the password out.
 */
#ifndef SLEUTH_LIVE_CONNINFO_H
#define SLEUTH_LIVE_CONNINFO_H

#include "util/buf.h"
#include "util/compat.h"
#include "util/err.h"

#include <libpq-fe.h>

/*
 * Appends conninfo (a "key=value" string or a postgres:// URI; NULL or ""
 * for the environment's defaults) as "key=value" pairs without the
 * password or sslpassword, or "(invalid conninfo)" when libpq cannot parse
 * it. A value that may hold a password itself (a URI with user info or
 * "password", as in a dbname that is a connection string) shows as
 * "(hidden)". Returns whether anything but the password options was hidden
 * (a hidden value, or all of an invalid conninfo).
 */
bool conninfo_redact(struct buf *out, const char *conninfo);

/*
 * Overwrites with 'x' the password of a conninfo string (password=...) or
 * URI (postgresql://user:PASSWORD@host/db, ?password=...) in place, keeping
 * its length: for the argv copy that ps and /proc/PID/cmdline show, once
 * the caller has kept its own copy. Returns whether there was one.
 */
bool conninfo_scrub(char *conninfo);

/* Appends "user@host:port/dbname" of a live connection (never the password). */
void conninfo_describe(struct buf *out, const PGconn *conn);

/*
 * Connects with application_name "sleuth" (unless the conninfo names one),
 * then sets statement_timeout, lock_timeout and a read-only default so
 * that no monitoring query can hold up or change the watched server.
 * On failure *out is NULL and err holds libpq's reason (which never
 * contains the password) and the redacted target.
 */
MUST_CHECK int conninfo_connect(PGconn **out, const char *conninfo, int statement_timeout_ms,
                                struct err *err);

#endif
