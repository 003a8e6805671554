/*
 * The canonical query fingerprint: libpg_query's, computed on the
 * normalised text once per distinct text (the caller caches it), so that
 * statements libpg_query calls the same are one entry. A statement the
 * PostgreSQL 15 grammar cannot parse falls back to a hash of its
 * normalised text.
 */
#ifndef SLEUTH_SQL_FINGERPRINT_H
#define SLEUTH_SQL_FINGERPRINT_H

#include "util/str.h"

#include <stdbool.h>
#include <stdint.h>

/* Hash of a byte string (xxh3), used for every text-keyed table. */
uint64_t fingerprint_hash(struct str s);

/*
 * Every statement sleuth sends to a watched server starts with this
 * comment (the comment does not change the queryid but stays in the text
 * and in the server's log), so that its own statements can be left out of
 * the workload it judges, live and in the log.
 */
#define SQL_OWN_TAG "/* sleuth */ "

/* Whether a statement as sent or logged is one of sleuth's own. */
bool fingerprint_is_own(struct str raw);

/*
 * Fingerprint of a normalised statement (NUL-terminated). Sets *parsed to
 * whether libpg_query could parse it. Thread-safe: libpg_query keeps its
 * state in thread-local memory contexts.
 */
uint64_t fingerprint_sql(const char *normalized, size_t len, bool *parsed);

#endif
