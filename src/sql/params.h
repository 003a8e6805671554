/*
 * Parameter substitution: puts the values PostgreSQL logged for an
 * extended-protocol statement ("execute <name>: ... $1 ...", followed by
 * "DETAIL:  parameters: $1 = '42', $2 = NULL") back into its text. The
 * result is the statement as it ran, with real constants, which is what
 * EXPLAIN needs for the slowest example of a query.
 *
 * Pointer arguments are borrowed; nothing here keeps a pointer after it
 * returns. Reentrant.
 */
#ifndef SLEUTH_SQL_PARAMS_H
#define SLEUTH_SQL_PARAMS_H

#include "util/buf.h"
#include "util/str.h"

/*
 * Appends sql to out with each $n replaced by the value bound to it in
 * params, as PostgreSQL logs them: "$1 = '42', $2 = NULL, $3 = 'it''s'"
 * (each value is a quoted SQL literal, with quotes doubled inside, or NULL,
 * and is inserted as written). params may start with "DETAIL:" and anything
 * up to "parameters:", as on the log line.
 *
 * $n inside string constants, quoted identifiers, comments and dollar
 * quotes, and "$n" glued to an identifier (a$1), is left alone; so is a $n
 * with no value. $1 never matches the start of $10.
 *
 * Returns 0, or -1 if params is malformed (not a list of "$n = value"
 * separated by ", ", n from 1 to 65535 without repeats), in which case out
 * gets sql unchanged. Allocates only when more than 64 parameters are
 * given; time is linear in sql.len + params.len.
 */
int params_apply(struct str sql, struct str params, struct buf *out);

#endif
