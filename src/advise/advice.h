/*
 * struct advice: one fix sleuth advise proposes (an index to create, drop
 * or replace, a setting, a query rewrite), with the exact SQL as text (it
 * is never executed), the evidence in numbers and a confidence. The
 * advice families (advise/index.c, harmful.c, pool.c, fetch.c) fill a
 * struct advice_list; the renderers (advise/render.c) and advice_json
 * only format it.
 *
 * This file also holds the pure parts the families share: identifier
 * quoting, the CREATE/DROP INDEX text and the prefix-redundancy test of
 * two indexes' key columns.
 *
 * Pointer arguments are borrowed. Every string and JSON value in a struct
 * advice belongs to it (advice_list_release frees them).
 */
#ifndef SLEUTH_ADVISE_ADVICE_H
#define SLEUTH_ADVISE_ADVICE_H

#include "util/buf.h"
#include "util/compat.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* X(enum, JSON name, what it asks for) */
#define ADVICE_KINDS(X)                                                                      \
    X(ADVICE_CREATE_INDEX, "create_index", "create a missing index")                         \
    X(ADVICE_DROP_INDEX, "drop_index", "drop a harmful, unused, redundant or invalid index") \
    X(ADVICE_REPLACE_INDEX, "replace_index", "replace an index by a better one")             \
    X(ADVICE_SETTING, "setting", "change a server, role or pool setting")                    \
    X(ADVICE_REWRITE_QUERY, "rewrite_query", "fetch fewer columns or rows")

enum advice_kind {
#define X(e, name, what) e,
    ADVICE_KINDS(X)
#undef X
};

/* Confidence words: high >= 0.8, medium >= 0.5, low below. */
#define ADVICE_HIGH   0.9
#define ADVICE_MEDIUM 0.6
#define ADVICE_LOW    0.3

struct advice {
    enum advice_kind kind;
    char *sql;      /* the exact statement(s) to run, or a commented setting for a pooler */
    char *table;    /* "schema.table", or NULL (settings) */
    char **columns; /* the columns concerned ("*" for SELECT *); may be empty */
    size_t ncolumns;
    char *index;       /* the index concerned (drop, replace), or NULL */
    json_t *evidence;  /* an object of numbers and names that led to the advice */
    double confidence; /* 0..1 */
    char *summary;     /* one line: what and why */
    char *reasoning;   /* a few sentences: the rule that fired and how it was checked, or NULL */
};

struct advice_list {
    struct advice *items;
    size_t n, cap;
    json_t *notes;   /* array of strings: what could not be checked, and why */
    json_t *context; /* object: server, extensions, thresholds, statements considered */
};

void advice_list_init(struct advice_list *l);
void advice_list_release(struct advice_list *l);
/*
 * Appends a zeroed advice of the given kind and returns it (borrowed from
 * the list, valid until the next append). evidence starts as an empty object.
 */
struct advice *advice_list_add(struct advice_list *l, enum advice_kind kind);
/* Adds a note (printf-style) to l->notes. */
void advice_list_note(struct advice_list *l, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Whether some advice of the given kind already names this index ("schema.name"). */
bool advice_list_has_index(const struct advice_list *l, const char *index);
/* Sorts the list: create, replace, drop, setting, rewrite; higher confidence first. */
void advice_list_sort(struct advice_list *l);

/* Sets a's columns from an array of names (copied). */
void advice_set_columns(struct advice *a, const char *const *cols, size_t n);
/* Appends one column name (copied). */
void advice_add_column(struct advice *a, const char *col);

const char *advice_kind_name(enum advice_kind k);
/* "high", "medium" or "low". */
const char *advice_confidence_word(double confidence);

/*
 * One advice as a JSON object {kind, sql, table, columns[], index,
 * evidence, confidence, confidence_word, summary, reasoning}. A new reference.
 */
json_t *advice_json(const struct advice *a);
/* {"advice": [...], "notes": [...], "context": {...}}. A new reference. */
json_t *advice_list_json(const struct advice_list *l);

/*
 * Renderers: append the list as text for a terminal or as Markdown. They
 * format only; target is the redacted server description for the title.
 */
void advice_render_text(struct buf *out, const struct advice_list *l, const char *target);
void advice_render_markdown(struct buf *out, const struct advice_list *l, const char *target);

/*
 * Appends name as an SQL identifier: as is when it is a plain lowercase
 * identifier that is not a reserved word, else in double quotes with
 * inner quotes doubled (what quote_ident does).
 */
void advice_quote_ident(struct buf *out, const char *name);
/* Appends "schema.name" with both parts quoted as needed. */
void advice_quote_qualified(struct buf *out, const char *schema, const char *name);
/*
 * Appends "CREATE INDEX CONCURRENTLY ON schema.table (c1, c2);"; a column
 * given as "c DESC" keeps its direction after the quoted name.
 */
void advice_create_index_sql(struct buf *out, const char *schema, const char *table,
                             const char *const *cols, size_t ncols);
/* Appends "DROP INDEX CONCURRENTLY schema.index;". */
void advice_drop_index_sql(struct buf *out, const char *schema, const char *index);

/*
 * Whether an index with key columns a[0..na) is made redundant by one with
 * b[0..nb): a is a prefix of b (equal lists count). Both must be plain
 * column lists; an empty a is never redundant. Names compare exactly.
 */
bool advice_cols_prefix(const char *const *a, size_t na, const char *const *b, size_t nb);

/*
 * Splits a column list as sqlfacts_index_candidate writes it ("a, \"B c\"
 * DESC") into names with their direction kept ("a", "B c DESC"); quotes
 * are removed. Returns the number of columns stored (at most max); each
 * entry is a new string the caller frees.
 */
size_t advice_split_columns(const char *list, char **cols, size_t max);

#endif
