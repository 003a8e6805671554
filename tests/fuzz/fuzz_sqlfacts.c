/*
 * libFuzzer harness for sql/facts.c: the input (cut at the first NUL) is
 * a statement; libpg_query parses it and our walker reads the tree. It
 * aborts when an invariant breaks:
 *  - sqlfacts_parse returns 0 or -1, and on -1 leaves an empty result and
 *    an ERR_PARSE message;
 *  - counts stay within SQLFACTS_MAX_TABLES / SQLFACTS_MAX_COLUMNS, every
 *    column's table is SQLFACTS_UNKNOWN or a valid index, names are
 *    NUL-terminated inside their arrays and tables have a name;
 *  - the index candidate of every table has at most as many columns as
 *    the table has facts, and an empty text exactly when it returns 0;
 *  - parsing the same text twice gives the same facts.
 * libpg_query itself is not instrumented; the coverage is our walker's.
 */
#include "sql/facts.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *sql)
{
    fprintf(stderr, "fuzz_sqlfacts: %s\n input: %s\n", what, sql);
    abort();
}

static void check_facts(const struct sqlfacts *f, const char *sql)
{
    if (f->n_tables > SQLFACTS_MAX_TABLES || f->n_cols > SQLFACTS_MAX_COLUMNS)
        fail("too many tables or columns", sql);
    for (size_t i = 0; i < f->n_tables; i++) {
        const struct sqlfacts_table *t = &f->tables[i];
        if (!memchr(t->name, '\0', sizeof(t->name)) ||
            !memchr(t->schema, '\0', sizeof(t->schema)) ||
            !memchr(t->alias, '\0', sizeof(t->alias)) || !t->name[0])
            fail("bad table name", sql);
    }
    for (size_t i = 0; i < f->n_cols; i++) {
        const struct sqlfacts_column *c = &f->cols[i];
        if (c->table != SQLFACTS_UNKNOWN && (c->table < 0 || (size_t)c->table >= f->n_tables))
            fail("column with a bad table index", sql);
        if (!memchr(c->name, '\0', sizeof(c->name)))
            fail("column name not terminated", sql);
        if (!sqlfacts_op_name(c->op) || !sqlfacts_role_name(c->role) ||
            !sqlfacts_opclass_name(c->opclass))
            fail("no name for an enum", sql);
    }
    for (size_t i = 0; i < f->n_tables; i++) {
        char name[2 * SQLFACTS_NAME_MAX + 2];
        const struct sqlfacts_table *t = &f->tables[i];
        snprintf(name, sizeof(name), "%s%s%s", t->schema, t->schema[0] ? "." : "", t->name);
        if (strchr(t->schema, '.') || strchr(t->name, '.'))
            continue; /* such names are not addressable by "schema.name" */
        struct buf cols = BUF_INIT;
        int n = sqlfacts_index_candidate(f, name, &cols);
        if (n < 0 || (size_t)n > f->n_cols || (n == 0) != (cols.len == 0))
            fail("index candidate out of bounds", sql);
        buf_release(&cols);
    }
}

static bool same_facts(const struct sqlfacts *a, const struct sqlfacts *b)
{
    return a->command == b->command && a->flags == b->flags && a->n_tables == b->n_tables &&
           a->n_cols == b->n_cols && a->limit == b->limit && a->offset == b->offset &&
           (a->n_tables == 0 ||
            memcmp(a->tables, b->tables, a->n_tables * sizeof(*a->tables)) == 0) &&
           (a->n_cols == 0 || memcmp(a->cols, b->cols, a->n_cols * sizeof(*a->cols)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *sql = xmemdup(data, size);
    struct sqlfacts f, g;
    struct err err = { 0 };
    int rc = sqlfacts_parse(&f, sql, &err);
    if (rc != 0 && rc != -1)
        fail("sqlfacts_parse returned neither 0 nor -1", sql);
    if (rc == -1) {
        if (f.n_tables || f.n_cols || f.tables || f.cols || err.code != ERR_PARSE || !err.msg[0])
            fail("failure without an empty result and an ERR_PARSE message", sql);
    } else {
        check_facts(&f, sql);
        struct err err2 = { 0 };
        if (sqlfacts_parse(&g, sql, &err2) != 0 || !same_facts(&f, &g))
            fail("a second parse gave other facts", sql);
        sqlfacts_release(&g);
    }
    sqlfacts_release(&f);
    free(sql);
    return 0;
}
