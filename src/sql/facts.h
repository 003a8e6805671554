/*
 * Facts about one SQL statement, read from libpg_query's parse tree: the
 * command, the tables it touches, and for each table the columns it
 * filters, joins, sorts, groups, writes and selects, with the operator
 * class of every comparison. The diagnosis and the index advisor start
 * here: "orders is filtered by customer_id = $1 and sorted by created_at
 * DESC" is what turns a slow queryid into "create index on orders
 * (customer_id, created_at)".
 *
 * The input is a normalised statement ($n parameters, as
 * pg_stat_statements shows it or normalize_sql produces it, possibly with
 * a NORMALIZE_MARKER comment); literal SQL works too. Only the first
 * statement of a multi-statement text is described (SQLFACTS_MULTI).
 *
 * Attribution. A qualified column (o.id, public.orders.id) goes to the
 * table its qualifier names, searched from the innermost query outwards,
 * aliases first. An unqualified column goes to the only table of the
 * innermost query with a FROM list when that query reads exactly one
 * table; otherwise its table is SQLFACTS_UNKNOWN, to be resolved against
 * the catalog by the caller. Columns of CTEs and subqueries in FROM are
 * not table columns and are not recorded; facts from inside a CTE body or
 * a subquery are recorded with SQLFACTS_COL_NESTED.
 *
 * Bounded: at most SQLFACTS_MAX_TABLES tables and SQLFACTS_MAX_COLUMNS
 * column facts are kept, names longer than 63 bytes are cut (PostgreSQL
 * cuts them too), and the walk stops descending below SQLFACTS_MAX_DEPTH
 * levels of the tree; anything dropped sets SQLFACTS_TRUNCATED. The walk's
 * recursion depth is bounded by SQLFACTS_MAX_DEPTH whatever the input.
 *
 * Pointer arguments are borrowed. Reentrant and thread-safe as far as
 * libpg_query is (it keeps per-thread state).
 */
#ifndef SLEUTH_SQL_FACTS_H
#define SLEUTH_SQL_FACTS_H

#include "util/buf.h"
#include "util/compat.h"
#include "util/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SQLFACTS_MAX_TABLES  32
#define SQLFACTS_MAX_COLUMNS 256
#define SQLFACTS_MAX_DEPTH   400
#define SQLFACTS_NAME_MAX    64 /* bytes with the NUL; NAMEDATALEN */
/* The table index of a column that cannot be attributed without the catalog. */
#define SQLFACTS_UNKNOWN (-1)

/*
 * The enums below come from X-macro lists, X(NAME, "json name", meaning),
 * that also give their names for JSON output (sqlfacts_*_name).
 */
#define SQLFACTS_COMMAND_MAP(X)                                                       \
    X(OTHER, "other", "utility statements (SET, BEGIN, DDL, EXPLAIN, ...): no facts") \
    X(SELECT, "select", "SELECT, VALUES, set operations")                             \
    X(INSERT, "insert", "INSERT; the target is the table with SQLFACTS_TAB_TARGET")   \
    X(UPDATE, "update", "UPDATE; the SET columns have SQLFACTS_ROLE_SET")             \
    X(DELETE, "delete", "DELETE")

/* Where a column appears. */
#define SQLFACTS_ROLE_MAP(X)                                                                   \
    X(FILTER, "filter", "compared with a parameter, constant or column-free expression")       \
    X(JOIN, "join", "compared with another column (JOIN ON, USING, WHERE, IN (SELECT ...))")   \
    X(ORDER, "order", "an item of a single-table ORDER BY")                                    \
    X(GROUP, "group", "used in GROUP BY")                                                      \
    X(SET, "set", "written by UPDATE SET or ON CONFLICT DO UPDATE SET: breaks HOT if indexed") \
    X(INSERT, "insert", "in the INSERT column list")                                           \
    X(SELECT, "select", "used in the select list or RETURNING")

/* What a btree index advisor can do with a comparison. */
#define SQLFACTS_OPCLASS_MAP(X)                                                           \
    X(NONE, "none", "not a comparison (order, group, set, insert and select roles)")      \
    X(EQ, "eq", "=, IN, = ANY, IS NULL: may lead an index, in any order")                 \
    X(RANGE, "range", "<, >, <=, >=, BETWEEN, LIKE 'prefix%': one, after the equalities") \
    X(OTHER, "other", "<>, NOT IN, LIKE $1, IS NOT NULL, other operators, expressions")

/* The comparison as seen from the column: $1 < a is recorded as a > $1 (GT). */
#define SQLFACTS_OP_MAP(X)                                                      \
    X(NONE, "none", "not a comparison")                                         \
    X(EQ, "=", "equality")                                                      \
    X(IN, "in", "IN (list) or IN (SELECT ...)")                                 \
    X(ANY, "any", "= ANY (array)")                                              \
    X(LT, "<", "less than")                                                     \
    X(GT, ">", "greater than")                                                  \
    X(LE, "<=", "less or equal")                                                \
    X(GE, ">=", "greater or equal")                                             \
    X(BETWEEN, "between", "BETWEEN or BETWEEN SYMMETRIC")                       \
    X(IS_NULL, "is null", "IS NULL")                                            \
    X(LIKE_PREFIX, "like prefix", "LIKE 'constant prefix%'")                    \
    X(NE, "<>", "<>, NOT IN, <> ALL")                                           \
    X(OTHER, "other", "any other operator, LIKE with a parameter, IS NOT NULL") \
    X(EXPR, "expr", "the column is inside an expression: lower(email) = $1, WHERE flag")

#define SQLFACTS_ENUM_COMMAND(name, json, doc) SQLFACTS_CMD_##name,
#define SQLFACTS_ENUM_ROLE(name, json, doc)    SQLFACTS_ROLE_##name,
#define SQLFACTS_ENUM_OPCLASS(name, json, doc) SQLFACTS_OPC_##name,
#define SQLFACTS_ENUM_OP(name, json, doc)      SQLFACTS_OP_##name,
enum sqlfacts_command { SQLFACTS_COMMAND_MAP(SQLFACTS_ENUM_COMMAND) };
enum sqlfacts_role { SQLFACTS_ROLE_MAP(SQLFACTS_ENUM_ROLE) };
enum sqlfacts_opclass { SQLFACTS_OPCLASS_MAP(SQLFACTS_ENUM_OPCLASS) };
enum sqlfacts_op { SQLFACTS_OP_MAP(SQLFACTS_ENUM_OP) };
#undef SQLFACTS_ENUM_COMMAND
#undef SQLFACTS_ENUM_ROLE
#undef SQLFACTS_ENUM_OPCLASS
#undef SQLFACTS_ENUM_OP

/* sqlfacts_column.flags */
enum sqlfacts_col_flag {
    SQLFACTS_COL_NESTED = 1u << 0, /* inside a CTE body or a subquery */
    SQLFACTS_COL_OR = 1u << 1,     /* under OR or NOT: not a conjunct of its WHERE/ON */
    SQLFACTS_COL_DESC = 1u << 2,   /* ORDER BY ... DESC */
};

/* sqlfacts_table.flags */
enum sqlfacts_tab_flag {
    SQLFACTS_TAB_NESTED = 1u << 0, /* read only inside CTE bodies or subqueries */
    SQLFACTS_TAB_TARGET = 1u << 1, /* the table INSERT, UPDATE or DELETE writes */
    SQLFACTS_TAB_STAR = 1u << 2,   /* t.* in the top-level select list or RETURNING */
};

/* sqlfacts.flags */
enum sqlfacts_flag {
    SQLFACTS_SELECT_STAR = 1u << 0, /* a bare * in the top-level select list or RETURNING */
    SQLFACTS_SUBQUERY = 1u << 1,    /* has a subquery (FROM, WHERE, select list, ...) */
    SQLFACTS_CTE = 1u << 2,         /* has a WITH clause */
    SQLFACTS_SETOP = 1u << 3,       /* UNION / INTERSECT / EXCEPT at the top */
    SQLFACTS_ORDER_MIXED =
        1u << 4,                  /* the top-level ORDER BY spans tables or sorts on expressions */
    SQLFACTS_MULTI = 1u << 5,     /* several statements; only the first is described */
    SQLFACTS_TRUNCATED = 1u << 6, /* a cap was hit: some facts were dropped */
};

/* How a LIMIT or OFFSET is given. */
enum sqlfacts_limit {
    SQLFACTS_LIMIT_NONE = 0, /* absent (LIMIT ALL and LIMIT NULL count as absent) */
    SQLFACTS_LIMIT_CONST,    /* an integer constant, in limit_value / offset_value */
    SQLFACTS_LIMIT_PARAM,    /* a $n parameter (possibly cast) */
    SQLFACTS_LIMIT_EXPR,     /* any other expression */
};

struct sqlfacts_table {
    char schema[SQLFACTS_NAME_MAX]; /* "" when not written */
    char name[SQLFACTS_NAME_MAX];
    char alias[SQLFACTS_NAME_MAX]; /* the first alias it was given, "" if none */
    unsigned flags;                /* enum sqlfacts_tab_flag */
};

struct sqlfacts_column {
    int table; /* index into sqlfacts.tables, or SQLFACTS_UNKNOWN */
    char name[SQLFACTS_NAME_MAX];
    enum sqlfacts_role role;
    enum sqlfacts_opclass opclass;
    enum sqlfacts_op op;
    unsigned flags; /* enum sqlfacts_col_flag */
};

struct sqlfacts {
    enum sqlfacts_command command;
    unsigned flags; /* enum sqlfacts_flag */
    /* Real tables, in order of first appearance; one entry per schema.name. */
    struct sqlfacts_table *tables;
    size_t n_tables;
    /*
     * Column facts in order of appearance; a (table, name, role, op, flags)
     * combination appears once. The select list gives SQLFACTS_ROLE_SELECT
     * entries; whether it has * is in flags and the table flags.
     */
    struct sqlfacts_column *cols;
    size_t n_cols;
    enum sqlfacts_limit limit; /* the top-level LIMIT / FETCH FIRST */
    enum sqlfacts_limit offset;
    int64_t limit_value; /* valid when limit == SQLFACTS_LIMIT_CONST */
    int64_t offset_value;
};

/*
 * Parses sql (NUL-terminated) with libpg_query and fills *out, which need
 * not be initialised; out is always left in a state sqlfacts_release
 * accepts, also on failure. Returns 0, or -1 with ERR_PARSE when
 * libpg_query rejects the text (the message is libpg_query's, with the
 * byte offset), when the text holds no statement, or when the parse tree
 * is nested too deeply to be read. Never aborts on any input.
 */
MUST_CHECK int sqlfacts_parse(struct sqlfacts *out, const char *sql, struct err *err);

/* Frees what sqlfacts_parse allocated and zeroes f. */
void sqlfacts_release(struct sqlfacts *f);

/*
 * The index of the table named name ("orders", or "public.orders" to
 * require the schema), or -1. An unqualified name matches any schema.
 */
int sqlfacts_find_table(const struct sqlfacts *f, const char *name);

/*
 * Proposes the column order of a btree index on one table (named as for
 * sqlfacts_find_table) and appends it to cols as "a, b, c DESC" (quoted
 * where the name needs it). Returns the number of columns, 0 when the
 * table is unknown or has nothing an index could use. The rules:
 *  - equality columns first, in order of appearance: those compared with
 *    constants or parameters (FILTER), or, when there are none, the join
 *    columns (the table is then the inner side of a nested loop);
 *  - then at most one range column, from the FILTER comparisons;
 *  - then, when the equalities came from filters (or there are none), the
 *    top-level ORDER BY columns of this table, if the range column is
 *    absent or is the first of them; DESC is written only when the ORDER
 *    BY mixes directions (a backward scan serves a uniform DESC).
 * Predicates under OR or NOT are ignored; nested ones (CTE, subquery)
 * count, since they scan the same table.
 */
int sqlfacts_index_candidate(const struct sqlfacts *f, const char *table, struct buf *cols);

/* Names for JSON output and messages: "select", "filter", "eq", "between", ... */
const char *sqlfacts_command_name(enum sqlfacts_command c);
const char *sqlfacts_role_name(enum sqlfacts_role r);
const char *sqlfacts_opclass_name(enum sqlfacts_opclass c);
const char *sqlfacts_op_name(enum sqlfacts_op op);

#endif
