/*
 * The hot-path SQL normaliser: one pass over a statement's bytes that turns
 * literals into $n placeholders, drops comments, folds unquoted words to
 * lower case and collapses whitespace, so that executions of the same query
 * with different constants produce the same text. That text is the key the
 * aggregates are hashed on; only the first time a text is seen does it go to
 * libpg_query for the canonical fingerprint, so the output must still parse
 * wherever the input did, and must fingerprint the same.
 *
 * Pointer arguments are borrowed. Nothing here allocates except by growing
 * the caller's buffer. normalize_sql is reentrant and thread-safe (no
 * global state), so reader threads may call it concurrently.
 */
#ifndef SLEUTH_SQL_NORMALIZE_H
#define SLEUTH_SQL_NORMALIZE_H

#include "util/buf.h"
#include "util/str.h"

/* X(name, bit, json_name, what it means) */
#define NORMALIZE_FLAG_MAP(X)                                                                  \
    X(TRUNCATED, 1u << 0, "truncated",                                                         \
      "the input ended inside a string, quoted identifier, dollar quote or comment, or with "  \
      "parentheses still open")                                                                \
    X(HAS_PARAMS, 1u << 1, "has_params", "$n parameters were already present in the input")    \
    X(MULTI, 1u << 2, "multi", "several statements separated by ';'")                          \
    X(UTILITY, 1u << 3, "utility",                                                             \
      "a statement other than DML and SET (DDL, COPY, VACUUM, ...) kept its literals")         \
    X(COLLAPSED, 1u << 4, "collapsed", "an IN list, ARRAY[...] or VALUES rows were collapsed") \
    X(LIMIT, 1u << 5, "limit",                                                                 \
      "the output reached 2 * input + 64 bytes and stops at a token boundary")                 \
    X(SET_LITERAL, 1u << 6, "set_literal",                                                     \
      "a SET kept a constant that stands before any '=' or TO (SET ROLE 'r', SET TIME ZONE "   \
      "'UTC', or a statement that does not parse)")                                            \
    X(OPTION_LITERAL, 1u << 7, "option_literal",                                               \
      "EXPLAIN's option list kept a string (EXPLAIN (FORMAT 'json') ...)")

/* Flags describing what normalize_sql saw; see NORMALIZE_FLAG_MAP. */
enum normalize_flag {
#define NORMALIZE_FLAG_ENUM(name, bit, json, doc) NORM_##name = (bit),
    NORMALIZE_FLAG_MAP(NORMALIZE_FLAG_ENUM)
#undef NORMALIZE_FLAG_ENUM
};

/* The comment that stands for the elements or rows a list lost. */
#define NORMALIZE_MARKER "/*, ... */"

/* The output never exceeds this many bytes for an input of len bytes. */
#define NORMALIZE_MAX_OUT(len) (2 * (size_t)(len) + 64)

/*
 * Appends the normalized form of sql to out (does not reset it) and returns
 * the enum normalize_flag bits that describe it. Never fails: any bytes
 * (NULs, invalid UTF-8, unterminated constructs) are accepted, in time
 * linear in sql.len and without recursion. out grows once, and at most
 * NORMALIZE_MAX_OUT(sql.len) bytes are appended: a statement that would
 * need more (thousands of one-character literals outside any list) stops
 * at a token boundary with NORM_LIMIT set; use the raw text for it.
 *
 * The rules, in short:
 *  - Literals become $1, $2, ... in order of appearance: '...', E'...',
 *    B'...', X'...', N'...', U&'...', dollar quotes, numbers (a minus sign
 *    in front of a number belongs to it when the previous token is not an
 *    operand). Parameters already present ($n) stay as they are and do not
 *    change the numbering. A type word in front stays: interval '1 day' ->
 *    interval $1; type modifiers stay: x::numeric(10, 2).
 *  - Only statements that start with a DML word (SELECT, INSERT, UPDATE,
 *    DELETE, WITH, VALUES, TABLE, MERGE, EXPLAIN, PREPARE, EXECUTE,
 *    DECLARE, CALL) or '(', and the value after SET ... = or TO, are
 *    normalized. Every other statement keeps its literals (NORM_UTILITY):
 *    DDL puts constants where PostgreSQL's grammar takes no parameter
 *    (WITH (fillfactor=100), char(84)); pg_stat_statements keeps them too.
 *  - IN (...) and ARRAY[...] lists of literals or parameters collapse to
 *    their first element followed by NORMALIZE_MARKER, as PostgreSQL 18's
 *    pg_stat_statements shows them. Several VALUES rows of literals
 *    collapse to the first row followed by the marker. The marker is the
 *    only comment kept; libpg_query ignores it.
 *  - Unquoted words are folded to lower case (ASCII only); quoted
 *    identifiers are kept verbatim. Whitespace and comments collapse to a
 *    single space between tokens, none after '(' '[' '.' '::' and none
 *    before ')' ']' ',' ';' '.' '::'. A word and the '(' after it stay
 *    together only if they were together in the input ("count(*)",
 *    "in ("). Empty statements and trailing ';' are dropped.
 *  - normalize_sql(normalize_sql(x)) == normalize_sql(x).
 */
unsigned normalize_sql(struct str sql, struct buf *out);

/* The JSON name of one flag bit ("truncated"), or NULL if f is not one bit. */
const char *normalize_flag_name(enum normalize_flag f);

#endif
