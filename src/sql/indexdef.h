/*
 * The key columns of an index from its definition as pg_get_indexdef
 * writes it: "CREATE [UNIQUE] INDEX name ON [ONLY] schema.table USING
 * method (col1, col2 DESC, lower(col3)) [INCLUDE (...)] [WHERE ...]".
 * An expression key is kept as written, so it never matches a plain
 * column name.
 */
#ifndef SLEUTH_SQL_INDEXDEF_H
#define SLEUTH_SQL_INDEXDEF_H

#include <stddef.h>

#define INDEXDEF_MAX_COLS 32
#define INDEXDEF_NAME_MAX 64

struct indexdef {
    char method[16];                                 /* "btree", "hash", ... */
    char cols[INDEXDEF_MAX_COLS][INDEXDEF_NAME_MAX]; /* unquoted names, or expressions cut to fit */
    size_t ncols;
    int partial; /* has a WHERE clause */
};

/* Returns 0, or -1 when def does not look like an index definition. */
int indexdef_parse(const char *def, struct indexdef *out);
/* Whether the index has col among its first n key columns. */
int indexdef_has_column(const struct indexdef *d, const char *col, size_t n);

#endif
